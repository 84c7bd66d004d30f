//! Human views of the proto messages, in the chosen language. Each returns the text to print.

use tongban_proto::catalog::v1::{Matter, Office, ResolveRouteResponse};
use tongban_proto::common::v1::{ChecklistItem, MaskedApplicant, PresentedMaterial, TimelineEntry};
use tongban_proto::hotline::v1::CaseStatusView;
use tongban_proto::intake::v1::Case;
use tongban_proto::review::v1::Assignment;

use crate::output::{
    Fields, Label, Lang, Table, assignment_state, case_status, decision, delivery_method, due, fee,
    heading, material_form, mode, scope, t, time, working_days, yes_no,
};

/// `name（code）`, or whichever of the two is present.
fn named(lang: Lang, name: &str, code: &str) -> String {
    match (name.is_empty(), code.is_empty()) {
        (false, false) => format!("{name}{}", lang.paren(code)),
        (true, _) => code.to_owned(),
        (false, true) => name.to_owned(),
    }
}

/// `王*明  1409**********1234  138****5678` (already masked by the server).
fn applicant(a: Option<&MaskedApplicant>) -> String {
    a.map(|a| {
        [
            a.name.as_str(),
            a.id_number_masked.as_str(),
            a.phone_masked.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("  ")
    })
    .unwrap_or_default()
}

/// Remaining working days, or how far past due.
fn remaining(lang: Lang, days: i32, overdue: bool) -> String {
    if days < 0 || overdue {
        format!(
            "{}{}",
            t(lang, Label::Overdue),
            lang.paren(working_days(lang, days.unsigned_abs()))
        )
    } else {
        working_days(lang, days)
    }
}

fn list_of(lang: Lang, items: &[i32], name: fn(Lang, i32) -> String) -> String {
    let sep = lang.pick(("、", ", "));
    items
        .iter()
        .map(|v| name(lang, *v))
        .collect::<Vec<_>>()
        .join(sep)
}

/// A matter with all its 五统一 fields: materials, review points, stages, limits, fee, delivery.
pub fn matter(lang: Lang, m: &Matter) -> String {
    let mut f = Fields::new();
    f.add(t(lang, Label::MatterCode), &m.code)
        .add(t(lang, Label::MatterName), &m.name)
        .add(
            t(lang, Label::Department),
            named(lang, &m.department_name, &m.department),
        )
        .add_nonempty(t(lang, Label::Version), &m.version)
        .add_nonempty(t(lang, Label::ValidFrom), &m.valid_from)
        .add(t(lang, Label::Scopes), list_of(lang, &m.scopes, scope))
        .add(t(lang, Label::Modes), list_of(lang, &m.modes, mode))
        .add_nonempty(t(lang, Label::Conditions), &m.conditions)
        .add(
            t(lang, Label::LegalLimit),
            working_days(lang, m.legal_limit_days),
        )
        .add(
            t(lang, Label::PromisedLimit),
            working_days(lang, m.promised_limit_days),
        )
        .add(t(lang, Label::Fee), fee(lang, m.fee_fen))
        .add(
            t(lang, Label::DeliveryMethods),
            list_of(lang, &m.delivery_methods, delivery_method),
        )
        .add_nonempty(t(lang, Label::LegalBasis), &m.legal_basis);
    let mut out = f.render();

    let mut materials = Table::new([
        t(lang, Label::Code),
        t(lang, Label::Name),
        t(lang, Label::Required),
        t(lang, Label::PaperOriginal),
        t(lang, Label::AcceptedCertificates),
        t(lang, Label::Notes),
    ]);
    for x in &m.materials {
        materials.row([
            x.code.clone(),
            x.name.clone(),
            yes_no(lang, x.required).to_owned(),
            yes_no(lang, x.paper_original_required).to_owned(),
            x.accepted_certificate_types.join(", "),
            x.notes.clone(),
        ]);
    }
    out.push('\n');
    out.push_str(&heading(lang, Label::Materials));
    out.push('\n');
    out.push_str(&materials.render(2));

    let mut points = Table::new([
        t(lang, Label::Code),
        t(lang, Label::Question),
        t(lang, Label::Required),
    ]);
    for p in &m.review_points {
        points.row([
            p.code.clone(),
            p.question.clone(),
            yes_no(lang, p.required).to_owned(),
        ]);
    }
    out.push('\n');
    out.push_str(&heading(lang, Label::ReviewPoints));
    out.push('\n');
    out.push_str(&points.render(2));

    let mut stages = Table::new([
        t(lang, Label::Step),
        t(lang, Label::Code),
        t(lang, Label::Stage),
        t(lang, Label::WorkingDays),
    ]);
    for (i, s) in m.stages.iter().enumerate() {
        stages.row([
            (i + 1).to_string(),
            s.code.clone(),
            s.name.clone(),
            s.working_days.to_string(),
        ]);
    }
    out.push('\n');
    out.push_str(&heading(lang, Label::Stages));
    out.push('\n');
    out.push_str(&stages.render(2));
    out
}

/// One line per matter.
pub fn matters(lang: Lang, list: &[Matter], catalog_version: &str) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoMatters));
    }
    let mut table = Table::new([
        t(lang, Label::Code),
        t(lang, Label::Name),
        t(lang, Label::Department),
        t(lang, Label::Scopes),
        t(lang, Label::PromisedLimit),
    ]);
    for m in list {
        let dept = if m.department_name.is_empty() {
            &m.department
        } else {
            &m.department_name
        };
        table.row([
            m.code.clone(),
            m.name.clone(),
            dept.clone(),
            list_of(lang, &m.scopes, scope),
            working_days(lang, m.promised_limit_days),
        ]);
    }
    let mut out = table.render(0);
    let colon = lang.colon();
    out.push_str(&format!("\n{}{colon}{}", t(lang, Label::Count), list.len()));
    if !catalog_version.is_empty() {
        out.push_str(&format!(
            "  {}{colon}{catalog_version}",
            t(lang, Label::CatalogVersion)
        ));
    }
    out.push('\n');
    out
}

/// One line per office.
pub fn offices(lang: Lang, list: &[Office]) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoOffices));
    }
    let mut table = Table::new([
        "ID",
        t(lang, Label::Name),
        t(lang, Label::Division),
        t(lang, Label::Departments),
        t(lang, Label::Window),
    ]);
    for o in list {
        table.row([
            o.id.clone(),
            o.name.clone(),
            named(lang, &o.division_name, &o.division),
            o.departments.join(", "),
            yes_no(lang, o.is_window).to_owned(),
        ]);
    }
    table.render(0)
}

/// Where a case would go.
pub fn route(lang: Lang, r: &ResolveRouteResponse) -> String {
    let office = r.responsible_office.as_ref().map_or_else(
        || r.responsible_office_id.clone(),
        |o| named(lang, &o.name, &o.id),
    );
    let mut f = Fields::new();
    f.add(t(lang, Label::Scope), scope(lang, r.scope))
        .add(t(lang, Label::ResponsibleOffice), office)
        .add_nonempty(t(lang, Label::Agreement), &r.agreement_id);
    if let Some(o) = &r.responsible_office {
        f.add(
            t(lang, Label::Division),
            named(lang, &o.division_name, &o.division),
        );
    }
    f.render()
}

/// Presented materials (电子/纸质/电子证照), without certificate tokens.
pub fn presented(lang: Lang, materials: &[PresentedMaterial]) -> String {
    let mut table = Table::new([
        t(lang, Label::Code),
        t(lang, Label::Form),
        t(lang, Label::Pages),
        t(lang, Label::Sha256),
    ]);
    for m in materials {
        let pages = if m.pages == 0 {
            String::new()
        } else {
            m.pages.to_string()
        };
        // The first 16 hex digits identify a file well enough on screen; --json has all 64.
        let sha: String = m.sha256.chars().take(16).collect();
        let sha = if m.sha256.len() > 16 {
            format!("{sha}…")
        } else {
            sha
        };
        // 两个免提交: the certificate that satisfied the material, when one did.
        let form = if m.certificate_identifier.is_empty() {
            material_form(lang, m.form)
        } else {
            format!(
                "{} {}",
                material_form(lang, m.form),
                m.certificate_identifier
            )
        };
        table.row([m.material_code.clone(), form, pages, sha]);
    }
    table.render(2)
}

/// 办理过程: one line per step, the description in the chosen language.
pub fn timeline(lang: Lang, entries: &[TimelineEntry]) -> String {
    let mut table = Table::new([
        t(lang, Label::Time),
        t(lang, Label::Status),
        t(lang, Label::Description),
        t(lang, Label::Office),
    ]);
    for e in entries {
        table.row([
            time(e.at.as_ref()),
            case_status(lang, e.status),
            lang.pick_text(&e.description, &e.description_en).to_owned(),
            e.office_id.clone(),
        ]);
    }
    table.render(2)
}

fn checklist(lang: Lang, items: &[ChecklistItem]) -> String {
    let mut table = Table::new([
        t(lang, Label::Code),
        t(lang, Label::Status),
        t(lang, Label::Note),
    ]);
    for c in items {
        let verdict = t(
            lang,
            if c.passed {
                Label::Passed
            } else {
                Label::Failed
            },
        );
        table.row([
            c.review_point_code.clone(),
            verdict.to_owned(),
            c.note.clone(),
        ]);
    }
    table.render(2)
}

fn decision_line(lang: Lang, value: i32, reason: &str) -> String {
    if value == 0 {
        return String::new();
    }
    let d = decision(lang, value);
    if reason.is_empty() {
        d
    } else {
        format!("{d}{}{reason}", lang.colon())
    }
}

/// Appends a titled section when it has content.
fn section(out: &mut String, lang: Lang, label: Label, body: String, has_rows: bool) {
    if has_rows {
        out.push('\n');
        out.push_str(&heading(lang, label));
        out.push('\n');
        out.push_str(&body);
    }
}

/// A case as the window sees it: every field, materials, timeline, remaining days, decision.
pub fn case(lang: Lang, c: &Case) -> String {
    let mut f = Fields::new();
    let delivery = c.delivery.as_ref().map_or_else(String::new, |d| {
        let method = delivery_method(lang, d.method);
        if d.address.is_empty() {
            method
        } else {
            format!("{method}{}", lang.paren(&d.address))
        }
    });
    f.add(t(lang, Label::CaseNumber), &c.case_number)
        .add(t(lang, Label::CaseId), &c.case_id)
        .add(
            t(lang, Label::Matter),
            named(lang, &c.matter_name, &c.matter_code),
        )
        .add(t(lang, Label::Status), case_status(lang, c.status))
        .add(t(lang, Label::Scope), scope(lang, c.scope))
        .add(t(lang, Label::Mode), mode(lang, c.mode))
        .add(t(lang, Label::WindowOffice), &c.window_office_id)
        .add(t(lang, Label::ResponsibleOffice), &c.responsible_office_id)
        .add_nonempty(t(lang, Label::Agreement), &c.agreement_id)
        .add_nonempty(t(lang, Label::Applicant), applicant(c.applicant.as_ref()))
        .add_nonempty(t(lang, Label::HomeDivision), &c.home_division)
        .add(t(lang, Label::AcceptedAt), time(c.accepted_at.as_ref()))
        .add(t(lang, Label::DueAt), due(c.due_at.as_ref()))
        .add(
            t(lang, Label::RemainingDays),
            remaining(lang, c.remaining_working_days, false),
        )
        .add_nonempty(
            t(lang, Label::Decision),
            decision_line(lang, c.decision, &c.decision_reason),
        )
        .add_nonempty(
            t(lang, Label::SupplementItems),
            c.supplement_items.join(lang.pick(("、", ", "))),
        )
        .add_nonempty(t(lang, Label::SupplementReason), &c.supplement_reason)
        .add_nonempty(t(lang, Label::Delivery), delivery)
        .add_nonempty(
            lang.pick(("结果电子证照", "Result certificate")),
            &c.result_certificate_identifier,
        )
        .add_nonempty(t(lang, Label::Traceparent), &c.traceparent);
    let mut out = f.render();
    section(
        &mut out,
        lang,
        Label::Materials,
        presented(lang, &c.materials),
        !c.materials.is_empty(),
    );
    section(
        &mut out,
        lang,
        Label::Timeline,
        timeline(lang, &c.timeline),
        !c.timeline.is_empty(),
    );
    out
}

/// One line per case of a window.
pub fn cases(lang: Lang, list: &[Case]) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoCases));
    }
    let mut table = Table::new([
        t(lang, Label::CaseNumber),
        t(lang, Label::Matter),
        t(lang, Label::Scope),
        t(lang, Label::Status),
        t(lang, Label::ResponsibleOffice),
        t(lang, Label::AcceptedAt),
        t(lang, Label::DueAt),
        t(lang, Label::RemainingDays),
    ]);
    for c in list {
        table.row([
            c.case_number.clone(),
            named(lang, &c.matter_name, &c.matter_code),
            scope(lang, c.scope),
            case_status(lang, c.status),
            c.responsible_office_id.clone(),
            time(c.accepted_at.as_ref()),
            due(c.due_at.as_ref()),
            c.remaining_working_days.to_string(),
        ]);
    }
    table.render(0)
}

/// An assignment as the responsible office sees it.
pub fn assignment(lang: Lang, a: &Assignment) -> String {
    let mut f = Fields::new();
    f.add(t(lang, Label::CaseNumber), &a.case_number)
        .add(t(lang, Label::CaseId), &a.case_id)
        .add(
            t(lang, Label::Matter),
            named(lang, &a.matter_name, &a.matter_code),
        )
        .add(t(lang, Label::State), assignment_state(lang, a.state))
        .add(t(lang, Label::Status), case_status(lang, a.case_status))
        .add(t(lang, Label::Scope), scope(lang, a.scope))
        .add(t(lang, Label::Mode), mode(lang, a.mode))
        .add(t(lang, Label::Office), &a.office_id)
        .add(t(lang, Label::WindowOffice), &a.window_office_id)
        .add_nonempty(t(lang, Label::Applicant), applicant(a.applicant.as_ref()))
        .add_nonempty(t(lang, Label::HomeDivision), &a.home_division)
        .add(t(lang, Label::RoutedAt), time(a.routed_at.as_ref()))
        .add(t(lang, Label::DueAt), due(a.due_at.as_ref()))
        .add_nonempty(t(lang, Label::ClaimedBy), &a.claimed_by)
        .add_nonempty(
            t(lang, Label::SupplementItems),
            a.supplement_items.join(lang.pick(("、", ", "))),
        )
        .add_nonempty(t(lang, Label::SupplementReason), &a.supplement_reason)
        .add_nonempty(
            t(lang, Label::Decision),
            decision_line(lang, a.decision, &a.decision_reason),
        );
    if a.decided_at.is_some() {
        f.add(t(lang, Label::DecidedAt), time(a.decided_at.as_ref()));
    }
    let mut out = f.render();
    section(
        &mut out,
        lang,
        Label::Materials,
        presented(lang, &a.materials),
        !a.materials.is_empty(),
    );
    section(
        &mut out,
        lang,
        Label::Checklist,
        checklist(lang, &a.checklist),
        !a.checklist.is_empty(),
    );
    out
}

/// One line per assignment of an office (the inbox).
pub fn assignments(lang: Lang, list: &[Assignment]) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoAssignments));
    }
    let mut table = Table::new([
        t(lang, Label::CaseNumber),
        t(lang, Label::Matter),
        t(lang, Label::Scope),
        t(lang, Label::State),
        t(lang, Label::WindowOffice),
        t(lang, Label::DueAt),
        t(lang, Label::ClaimedBy),
        t(lang, Label::CaseId),
    ]);
    for a in list {
        table.row([
            a.case_number.clone(),
            named(lang, &a.matter_name, &a.matter_code),
            scope(lang, a.scope),
            assignment_state(lang, a.state),
            a.window_office_id.clone(),
            due(a.due_at.as_ref()),
            a.claimed_by.clone(),
            a.case_id.clone(),
        ]);
    }
    table.render(0)
}

/// One line for a change of an assignment (`office watch`).
pub fn assignment_line(lang: Lang, a: &Assignment) -> String {
    let colon = lang.colon();
    let mut line = format!(
        "[{}] {}  {}  {}  {}  {}{colon}{}",
        crate::output::to_shanghai(Some(&now()))
            .map_or_else(String::new, |at| at.format("%H:%M:%S").to_string()),
        assignment_state(lang, a.state),
        a.case_number,
        named(lang, &a.matter_name, &a.matter_code),
        scope(lang, a.scope),
        t(lang, Label::DueAt),
        due(a.due_at.as_ref()),
    );
    if !a.claimed_by.is_empty() {
        line.push_str(&format!(
            "  {}{colon}{}",
            t(lang, Label::ClaimedBy),
            a.claimed_by
        ));
    }
    line.push_str(&format!("  {}", a.case_id));
    line
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(std::time::SystemTime::now())
}

/// The hotline's masked view of a case.
pub fn status_view(lang: Lang, v: &CaseStatusView) -> String {
    let office = |name: &str, id: &str| named(lang, name, id);
    let mut f = Fields::new();
    f.add(t(lang, Label::CaseNumber), &v.case_number)
        .add(
            t(lang, Label::Matter),
            named(lang, &v.matter_name, &v.matter_code),
        )
        .add_nonempty(t(lang, Label::ApplicantName), &v.applicant_name_masked)
        .add(t(lang, Label::Scope), scope(lang, v.scope))
        .add(t(lang, Label::Mode), mode(lang, v.mode))
        .add(
            t(lang, Label::WindowOffice),
            office(&v.window_office_name, &v.window_office_id),
        )
        .add(
            t(lang, Label::ResponsibleOffice),
            office(&v.responsible_office_name, &v.responsible_office_id),
        )
        .add(t(lang, Label::Status), case_status(lang, v.status))
        .add_nonempty(t(lang, Label::Stage), lang.pick_text(&v.stage, &v.stage_en))
        .add(t(lang, Label::AcceptedAt), time(v.accepted_at.as_ref()))
        .add(t(lang, Label::DueAt), due(v.due_at.as_ref()))
        .add(
            t(lang, Label::RemainingDays),
            remaining(lang, v.remaining_working_days, v.overdue),
        )
        .add(
            t(lang, Label::Overdue),
            t(
                lang,
                if v.overdue {
                    Label::Overdue
                } else {
                    Label::NotOverdue
                },
            ),
        )
        .add_nonempty(
            t(lang, Label::Decision),
            decision_line(lang, v.decision, &v.decision_reason),
        )
        .add_nonempty(
            lang.pick(("结果电子证照", "Result certificate")),
            &v.result_certificate_identifier,
        );
    // 寄递: each waybill and where it is.
    for w in &v.waybills {
        f.add(
            lang.pick(("运单", "Waybill")),
            format!(
                "{} {} {}",
                w.tracking_number,
                match w.purpose.as_str() {
                    "originals" => lang.pick(("纸质原件", "paper originals")),
                    "result" => lang.pick(("办理结果", "result")),
                    _ => lang.pick(("其他", "other")),
                },
                lang.pick_text(&w.status_label, &w.status_label_en)
            ),
        );
    }
    let mut out = f.render();
    section(
        &mut out,
        lang,
        Label::Timeline,
        timeline(lang, &v.timeline),
        !v.timeline.is_empty(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_proto::catalog::v1::{Material, ReviewPoint, Stage};
    use tongban_proto::common::v1::{CaseStatus, MaterialForm, Scope};

    #[test]
    fn matter_view_shows_every_section() {
        let m = Matter {
            code: "shebaoka".into(),
            name: "社保卡申领".into(),
            department_name: "人社".into(),
            department: "renshe".into(),
            scopes: vec![Scope::CrossProvince as i32, Scope::ProvinceWide as i32],
            materials: vec![Material {
                code: "id_card".into(),
                name: "居民身份证".into(),
                required: true,
                ..Default::default()
            }],
            review_points: vec![ReviewPoint {
                code: "identity".into(),
                question: "身份是否一致".into(),
                required: true,
            }],
            stages: vec![Stage {
                code: "review".into(),
                name: "审查".into(),
                working_days: 3,
            }],
            legal_limit_days: 20,
            promised_limit_days: 5,
            ..Default::default()
        };
        let text = matter(Lang::Zh, &m);
        for needle in [
            "社保卡申领",
            "人社（renshe）",
            "跨省通办、全省通办",
            "20 个工作日",
            "不收费",
            "申请材料：",
            "居民身份证",
            "审查要点：",
            "身份是否一致",
            "审批流程：",
            "审查",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn case_view_is_localised_and_hides_tokens() {
        let c = Case {
            case_number: "140922-20261128-00001-7".into(),
            status: CaseStatus::SupplementRequested as i32,
            remaining_working_days: -2,
            materials: vec![PresentedMaterial {
                material_code: "hukou".into(),
                form: MaterialForm::Certificate as i32,
                certificate_token: "secret-token".into(),
                ..Default::default()
            }],
            timeline: vec![TimelineEntry {
                status: CaseStatus::Accepted as i32,
                description: "窗口受理".into(),
                description_en: "accepted at the window".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let zh = case(Lang::Zh, &c);
        assert!(
            zh.contains("待补正") && zh.contains("窗口受理") && zh.contains("已超期（2 个工作日）")
        );
        assert!(!zh.contains("secret-token"));
        let en = case(Lang::En, &c);
        assert!(en.contains("supplement requested") && en.contains("accepted at the window"));
    }
}
