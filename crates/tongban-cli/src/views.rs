//! Human views of the proto messages, in the chosen language. Each returns the text to print.

use std::collections::HashMap;

use tongban_proto::catalog::v1::{
    BundleDefinition, JointPart, Matter, Office, ResolveRouteResponse, ReviewPoint,
};
use tongban_proto::common::v1::{
    BundleSummary, CasePart, ChecklistItem, MaskedApplicant, PresentedMaterial, TimelineEntry,
};
use tongban_proto::hotline::v1::CaseStatusView;
use tongban_proto::intake::v1::{Bundle, Case};
use tongban_proto::review::v1::{Assignment, AssignmentState};

use crate::output::{
    Fields, Label, Lang, Table, assignment_state, bundle_status, case_status, decision,
    delivery_method, due, fee, heading, locality, material_form, mode, part_state, scope, t, time,
    working_days, yes_no,
};

/// Office names by id from the directory (`ListOffices`), so that a part or a bundle member
/// reads `银川市公安局（640100-gongan）` rather than a bare id. Empty when the directory could not
/// be read: ids are shown then.
#[derive(Debug, Clone, Default)]
pub struct OfficeNames(HashMap<String, String>);

impl OfficeNames {
    /// The names of `offices`.
    pub fn from_offices(offices: &[Office]) -> Self {
        Self(
            offices
                .iter()
                .map(|o| (o.id.clone(), o.name.clone()))
                .collect(),
        )
    }

    /// `name（id）` when the name is known, else the id; empty for an empty id.
    pub fn label(&self, lang: Lang, id: &str) -> String {
        match self.0.get(id) {
            Some(name) if !id.is_empty() => named(lang, name, id),
            _ => id.to_owned(),
        }
    }
}

/// Matter names by code (from `ListMatters`), for bundle members; empty when unknown.
#[derive(Debug, Clone, Default)]
pub struct MatterNames(HashMap<String, String>);

impl MatterNames {
    /// The names of `matters`.
    pub fn from_matters(matters: &[Matter]) -> Self {
        Self(
            matters
                .iter()
                .map(|m| (m.code.clone(), m.name.clone()))
                .collect(),
        )
    }

    /// `name（code）` when the name is known, else the code.
    pub fn label(&self, lang: Lang, code: &str) -> String {
        self.0
            .get(code)
            .map_or_else(|| code.to_owned(), |name| named(lang, name, code))
    }

    /// The name alone when it is known, else the code.
    pub fn name<'a>(&'a self, code: &'a str) -> &'a str {
        self.0.get(code).map_or(code, String::as_str)
    }
}

/// `name（code）`, or whichever of the two is present.
fn named(lang: Lang, name: &str, code: &str) -> String {
    match (name.is_empty(), code.is_empty()) {
        (false, false) => format!("{name}{}", lang.paren(code)),
        (true, _) => code.to_owned(),
        (false, true) => name.to_owned(),
    }
}

/// Names in 「」 joined by `、` in Chinese (`「A」、「B」`); joined by `, ` in English.
fn quoted(lang: Lang, names: &[&str]) -> String {
    match lang {
        Lang::Zh => names
            .iter()
            .map(|n| format!("「{n}」"))
            .collect::<Vec<_>>()
            .join("、"),
        Lang::En => names.join(", "),
    }
}

/// A material of a bundle that a member's result stands for: `由「出生医学证明首次签发」出具` /
/// `issued by 出生医学证明首次签发 (WJ-CSYXZM-QF)`.
fn provided_by(lang: Lang, provider: &str, matters: &MatterNames) -> String {
    match lang {
        Lang::Zh => format!("由{}出具", quoted(lang, &[matters.name(provider)])),
        Lang::En => format!("issued by {}", matters.label(lang, provider)),
    }
}

/// When a bundle member is handled: `在「出生医学证明首次签发」准予后办理` / `after 出生医学证明首次签发
/// (WJ-CSYXZM-QF) is approved`, or at once when it waits for no member.
fn member_order(lang: Lang, after: &[String], matters: &MatterNames) -> String {
    if after.is_empty() {
        return t(lang, Label::AtOnce).to_owned();
    }
    match lang {
        Lang::Zh => {
            let names: Vec<&str> = after.iter().map(|c| matters.name(c)).collect();
            format!("在{}准予后办理", quoted(lang, &names))
        }
        Lang::En => {
            let labels: Vec<String> = after.iter().map(|c| matters.label(lang, c)).collect();
            let verb = if after.len() == 1 { "is" } else { "are" };
            format!("after {} {verb} approved", labels.join(", "))
        }
    }
}

/// A bundle member's status, with the members it waits for while it does:
/// `已提交（待「出生医学证明首次签发」准予）` / `submitted (waiting for 出生医学证明首次签发 to be
/// approved)`.
pub fn member_status(lang: Lang, status: i32, waiting_for: &[String]) -> String {
    let status = case_status(lang, status);
    if waiting_for.is_empty() {
        return status;
    }
    let names: Vec<&str> = waiting_for.iter().map(String::as_str).collect();
    let waiting = match lang {
        Lang::Zh => format!("待{}准予", quoted(lang, &names)),
        Lang::En => format!("waiting for {} to be approved", quoted(lang, &names)),
    };
    format!("{status}{}", lang.paren(waiting))
}

/// What a bundle member case waits for, from its bundle's member list (the member with its
/// case id, else its case number); nothing for a case that waits for nothing or has no bundle.
fn own_waiting(c: &Case) -> &[String] {
    c.bundle
        .as_ref()
        .and_then(|b| {
            b.members.iter().find(|m| {
                (!c.case_id.is_empty() && m.case_id == c.case_id)
                    || (!c.case_number.is_empty() && m.case_number == c.case_number)
            })
        })
        .map_or(&[], |m| m.waiting_for.as_slice())
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
    section(&mut out, lang, Label::Materials, materials.render(2), true);
    section(
        &mut out,
        lang,
        Label::ReviewPoints,
        review_points(lang, &m.review_points),
        true,
    );

    section(
        &mut out,
        lang,
        Label::Parts,
        matter_parts(lang, &m.parts),
        !m.parts.is_empty(),
    );

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
    section(&mut out, lang, Label::Stages, stages.render(2), true);
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
    out.push('\n');
    out.push_str(&count_line(lang, list.len(), catalog_version));
    out
}

/// `共计：21  目录版本：2026.11.3`, the last line of a catalog listing.
fn count_line(lang: Lang, count: usize, catalog_version: &str) -> String {
    let colon = lang.colon();
    let mut line = format!("{}{colon}{count}", t(lang, Label::Count));
    if !catalog_version.is_empty() {
        line.push_str(&format!(
            "  {}{colon}{catalog_version}",
            t(lang, Label::CatalogVersion)
        ));
    }
    line.push('\n');
    line
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

/// Where a case would go; for 多地联办 also where each part goes.
pub fn route(lang: Lang, r: &ResolveRouteResponse, offices: &OfficeNames) -> String {
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
    let mut out = f.render();
    section(
        &mut out,
        lang,
        Label::Parts,
        route_parts(lang, &r.parts, offices),
        !r.parts.is_empty(),
    );
    out
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

/// The 多地联办 parts and the 一件事 bundle of a case, each a section when the case has it; the
/// window's [`case`] and the hotline's [`status_view`] show them alike.
fn joint_sections(
    out: &mut String,
    lang: Lang,
    list: &[CasePart],
    bundle: Option<&BundleSummary>,
    offices: &OfficeNames,
) {
    parts_section(out, lang, list, offices);
    bundle_section(out, lang, bundle, offices);
}

/// 多地联办环节 of a case as a section ([`parts`]); nothing for a case of one office.
pub fn parts_section(out: &mut String, lang: Lang, list: &[CasePart], offices: &OfficeNames) {
    section(
        out,
        lang,
        Label::Parts,
        parts(lang, list, offices),
        !list.is_empty(),
    );
}

/// The 一件事 a case belongs to, as a section; nothing when it belongs to none.
fn bundle_section(
    out: &mut String,
    lang: Lang,
    bundle: Option<&BundleSummary>,
    offices: &OfficeNames,
) {
    if let Some(b) = bundle {
        section(
            out,
            lang,
            Label::Bundle,
            bundle_summary(lang, b, offices),
            true,
        );
    }
}

/// The presented materials as a section, when there are any.
fn materials_section(out: &mut String, lang: Lang, materials: &[PresentedMaterial]) {
    section(
        out,
        lang,
        Label::Materials,
        presented(lang, materials),
        !materials.is_empty(),
    );
}

/// 办理过程 as a section, when it has steps.
fn timeline_section(out: &mut String, lang: Lang, entries: &[TimelineEntry]) {
    section(
        out,
        lang,
        Label::Timeline,
        timeline(lang, entries),
        !entries.is_empty(),
    );
}

/// A case as the window sees it: every field, its 多地联办 parts and 一件事 bundle, materials,
/// timeline, remaining days, decision.
pub fn case(lang: Lang, c: &Case, offices: &OfficeNames) -> String {
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
        .add(
            t(lang, Label::Status),
            member_status(lang, c.status, own_waiting(c)),
        )
        .add(t(lang, Label::Scope), scope(lang, c.scope))
        .add(t(lang, Label::Mode), mode(lang, c.mode))
        .add(
            t(lang, Label::WindowOffice),
            offices.label(lang, &c.window_office_id),
        )
        .add(
            t(lang, Label::ResponsibleOffice),
            offices.label(lang, &c.responsible_office_id),
        )
        .add_nonempty(t(lang, Label::Agreement), &c.agreement_id)
        .add_nonempty(t(lang, Label::Applicant), applicant(c.applicant.as_ref()))
        .add_nonempty(t(lang, Label::HomeDivision), &c.home_division)
        .add_nonempty(t(lang, Label::DestinationDivision), &c.destination_division)
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
    joint_sections(&mut out, lang, &c.parts, c.bundle.as_ref(), offices);
    materials_section(&mut out, lang, &c.materials);
    timeline_section(&mut out, lang, &c.timeline);
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
    assignment_with(lang, a, None)
}

/// An assignment as the responsible office sees it; with the matter, its 审查要点 (the part's
/// own for a 多地联办 part) are listed with their questions.
pub fn assignment_with(lang: Lang, a: &Assignment, matter: Option<&Matter>) -> String {
    let sep = lang.pick(("、", ", "));
    let mut f = Fields::new();
    f.add(t(lang, Label::CaseNumber), &a.case_number)
        .add(t(lang, Label::CaseId), &a.case_id)
        .add(
            t(lang, Label::Matter),
            named(lang, &a.matter_name, &a.matter_code),
        )
        .add_nonempty(
            t(lang, Label::Part),
            if a.part_code.is_empty() {
                String::new()
            } else {
                named(lang, &a.part_name, &a.part_code)
            },
        )
        .add(t(lang, Label::State), assignment_state(lang, a.state))
        .add_nonempty(t(lang, Label::WaitingFor), a.waiting_for.join(sep))
        .add(
            t(lang, Label::WholeCaseStatus),
            case_status(lang, a.case_status),
        )
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
    let points = assignment_points(a, matter);
    if points.is_empty() {
        f.add_nonempty(t(lang, Label::ReviewPoints), a.review_point_codes.join(sep));
    }
    let mut out = f.render();
    section(
        &mut out,
        lang,
        Label::ReviewPoints,
        review_points(lang, points.iter().copied()),
        !points.is_empty(),
    );
    // Office ids as the server sends them (a reviewer learns only its own member's office).
    bundle_section(&mut out, lang, a.bundle.as_ref(), &OfficeNames::default());
    materials_section(&mut out, lang, &a.materials);
    section(
        &mut out,
        lang,
        Label::Checklist,
        checklist(lang, &a.checklist),
        !a.checklist.is_empty(),
    );
    out
}

/// The 审查要点 an assignment answers: the part's own for a 多地联办 part, else every point of
/// the matter; none without the matter.
fn assignment_points<'a>(a: &'a Assignment, matter: Option<&'a Matter>) -> Vec<&'a ReviewPoint> {
    matter.map_or_else(Vec::new, |m| {
        own_review_points(m, &a.review_point_codes).collect()
    })
}

/// The review points of `matter` an office answers: those of its part for 多地联办 (`own`, the
/// assignment's `review_point_codes`, non-empty) — the others belong to other offices — else all.
pub fn own_review_points<'a>(
    matter: &'a Matter,
    own: &'a [String],
) -> impl Iterator<Item = &'a ReviewPoint> {
    matter
        .review_points
        .iter()
        .filter(move |p| own.is_empty() || own.contains(&p.code))
}

/// 审查要点: code, question, whether it must pass.
fn review_points<'a>(lang: Lang, points: impl IntoIterator<Item = &'a ReviewPoint>) -> String {
    let mut table = Table::new([
        t(lang, Label::Code),
        t(lang, Label::Question),
        t(lang, Label::Required),
    ]);
    for p in points {
        table.row([
            p.code.clone(),
            p.question.clone(),
            yes_no(lang, p.required).to_owned(),
        ]);
    }
    table.render(2)
}

/// One line per assignment of an office (the inbox).
pub fn assignments(lang: Lang, list: &[Assignment]) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoAssignments));
    }
    // The 多地联办 column only when some assignment is a part, so a plain inbox stays as it was.
    let joint = list.iter().any(|a| !a.part_code.is_empty());
    let mut header = vec![t(lang, Label::CaseNumber), t(lang, Label::Matter)];
    if joint {
        header.push(t(lang, Label::Part));
    }
    header.extend([
        t(lang, Label::Scope),
        t(lang, Label::State),
        t(lang, Label::WindowOffice),
        t(lang, Label::DueAt),
        t(lang, Label::ClaimedBy),
        t(lang, Label::CaseId),
    ]);
    let mut table = Table::new(header);
    for a in list {
        let mut row = vec![
            a.case_number.clone(),
            named(lang, &a.matter_name, &a.matter_code),
        ];
        if joint {
            row.push(a.part_name.clone());
        }
        row.extend([
            scope(lang, a.scope),
            inbox_state(lang, a),
            a.window_office_id.clone(),
            due(a.due_at.as_ref()),
            a.claimed_by.clone(),
            a.case_id.clone(),
        ]);
        table.row(row);
    }
    table.render(0)
}

/// The state of an assignment, with the parts it waits for: `待前序环节办结（迁入地审批）`.
fn inbox_state(lang: Lang, a: &Assignment) -> String {
    let state = assignment_state(lang, a.state);
    if a.state == AssignmentState::Waiting as i32 && !a.waiting_for.is_empty() {
        format!(
            "{state}{}",
            lang.paren(a.waiting_for.join(lang.pick(("、", ", "))))
        )
    } else {
        state
    }
}

/// One line for a change of an assignment (`office watch`).
pub fn assignment_line(lang: Lang, a: &Assignment) -> String {
    let colon = lang.colon();
    let mut line = format!(
        "[{}] {}  {}  {}  {}  {}{colon}{}",
        crate::output::to_shanghai(Some(&now()))
            .map_or_else(String::new, |at| at.format("%H:%M:%S").to_string()),
        inbox_state(lang, a),
        a.case_number,
        if a.part_code.is_empty() {
            named(lang, &a.matter_name, &a.matter_code)
        } else {
            format!(
                "{} {}",
                named(lang, &a.matter_name, &a.matter_code),
                lang.paren(&a.part_name).trim_start()
            )
        },
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

/// The hotline's masked view of a case, with its 多地联办 parts and 一件事 bundle.
pub fn status_view(lang: Lang, v: &CaseStatusView, offices: &OfficeNames) -> String {
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
    joint_sections(&mut out, lang, &v.parts, v.bundle.as_ref(), offices);
    timeline_section(&mut out, lang, &v.timeline);
    out
}

/// `text` with every line indented by two spaces (a block under a section heading).
fn indent(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_owned()
            } else {
                format!("  {line}\n")
            }
        })
        .collect()
}

/// A part's name in the chosen language with its code: `迁入地审批（QR）`.
fn part_name(lang: Lang, code: &str, name: &str, name_en: &str) -> String {
    named(lang, lang.pick_text(name, name_en), code)
}

/// Codes of the parts another comes after, or `—` when it starts at once.
fn after(lang: Lang, codes: &[String]) -> String {
    if codes.is_empty() {
        t(lang, Label::None).to_owned()
    } else {
        codes.join(lang.pick(("、", ", ")))
    }
}

/// 多地联办环节 as a matter defines them: department, locality, order, review points.
fn matter_parts(lang: Lang, list: &[JointPart]) -> String {
    let mut table = Table::new([
        t(lang, Label::Code),
        t(lang, Label::Part),
        t(lang, Label::Department),
        t(lang, Label::Locality),
        t(lang, Label::After),
        t(lang, Label::ReviewPoints),
    ]);
    for p in list {
        table.row([
            p.code.clone(),
            lang.pick_text(&p.name, &p.name_en).to_owned(),
            p.department.clone(),
            locality(lang, &p.locality),
            after(lang, &p.after),
            p.review_point_codes.join(", "),
        ]);
    }
    table.render(2)
}

/// Where each part of a 多地联办 case would go.
fn route_parts(lang: Lang, list: &[CasePart], offices: &OfficeNames) -> String {
    let mut table = Table::new([
        t(lang, Label::Part),
        t(lang, Label::Locality),
        t(lang, Label::ResponsibleOffice),
        t(lang, Label::Scope),
        t(lang, Label::Agreement),
        t(lang, Label::After),
    ]);
    for p in list {
        let place = if p.division.is_empty() {
            locality(lang, &p.locality)
        } else {
            format!("{} {}", locality(lang, &p.locality), p.division)
        };
        table.row([
            part_name(lang, &p.part_code, &p.name, &p.name_en),
            place,
            offices.label(lang, &p.office_id),
            scope(lang, p.scope),
            p.agreement_id.clone(),
            after(lang, &p.after),
        ]);
    }
    table.render(2)
}

/// 多地联办环节 of a case: each part's office, scope, state and — once decided — the decision
/// with its reason.
pub fn parts(lang: Lang, list: &[CasePart], offices: &OfficeNames) -> String {
    let decided = list.iter().any(|p| p.decision != 0);
    let mut header = vec![
        t(lang, Label::Part),
        t(lang, Label::ResponsibleOffice),
        t(lang, Label::Scope),
        t(lang, Label::State),
    ];
    if decided {
        header.push(t(lang, Label::Decision));
    }
    let mut table = Table::new(header);
    for p in list {
        let mut row = vec![
            part_name(lang, &p.part_code, &p.name, &p.name_en),
            offices.label(lang, &p.office_id),
            scope(lang, p.scope),
            part_state(lang, p.state),
        ];
        if decided {
            row.push(decision_line(lang, p.decision, &p.reason));
        }
        table.row(row);
    }
    table.render(2)
}

/// The 一件事 a case belongs to: number, name, derived status and every member as the caller
/// may see it (a reviewer gets other members without case number or office).
pub fn bundle_summary(lang: Lang, b: &BundleSummary, offices: &OfficeNames) -> String {
    let mut f = Fields::new();
    f.add(t(lang, Label::BundleNumber), &b.bundle_number)
        .add(t(lang, Label::Name), named(lang, &b.name, &b.bundle_code))
        .add(t(lang, Label::BundleStatus), bundle_status(lang, b.status));
    let mut out = indent(&f.render());
    let mut table = Table::new([
        t(lang, Label::CaseNumber),
        t(lang, Label::Matter),
        t(lang, Label::Status),
        t(lang, Label::ResponsibleOffice),
    ]);
    for m in &b.members {
        table.row([
            m.case_number.clone(),
            named(lang, &m.matter_name, &m.matter_code),
            member_status(lang, m.status, &m.waiting_for),
            offices.label(lang, &m.responsible_office_id),
        ]);
    }
    out.push_str(&indent(&heading(lang, Label::Members)));
    out.push_str(&indent(&table.render(2)));
    out
}

/// A 一件事 as the window sees it: its number, derived status and each member case with its
/// own route and time limit.
pub fn bundle(lang: Lang, b: &Bundle, offices: &OfficeNames) -> String {
    let mut f = Fields::new();
    f.add(t(lang, Label::BundleNumber), &b.bundle_number)
        .add_nonempty(lang.pick(("一件事标识", "Bundle id")), &b.bundle_id)
        .add(
            t(lang, Label::Bundle),
            named(lang, &b.bundle_name, &b.bundle_code),
        )
        .add(t(lang, Label::BundleStatus), bundle_status(lang, b.status))
        .add(
            t(lang, Label::WindowOffice),
            offices.label(lang, &b.window_office_id),
        )
        .add(t(lang, Label::SubmittedAt), time(b.submitted_at.as_ref()));
    let mut out = f.render();
    let mut table = Table::new([
        t(lang, Label::CaseNumber),
        t(lang, Label::Matter),
        t(lang, Label::ResponsibleOffice),
        t(lang, Label::Scope),
        t(lang, Label::Status),
        t(lang, Label::DueAt),
    ]);
    for c in &b.cases {
        table.row([
            c.case_number.clone(),
            named(lang, &c.matter_name, &c.matter_code),
            offices.label(lang, &c.responsible_office_id),
            scope(lang, c.scope),
            member_status(lang, c.status, own_waiting(c)),
            due(c.due_at.as_ref()),
        ]);
    }
    section(
        &mut out,
        lang,
        Label::Members,
        table.render(2),
        !b.cases.is_empty(),
    );
    out
}

/// A 一件事 of the catalog: its members (and, when some wait for another's result, the order),
/// the modes and delivery methods they all allow, and the union of their materials — each once,
/// with the members that need it and, for a member's result, the member issuing it.
pub fn bundle_definition(lang: Lang, b: &BundleDefinition, matters: &MatterNames) -> String {
    let sep = lang.pick(("、", ", "));
    let mut f = Fields::new();
    f.add(t(lang, Label::BundleCode), &b.code)
        .add(t(lang, Label::Name), lang.pick_text(&b.name, &b.name_en))
        .add_nonempty(t(lang, Label::Description), &b.description)
        .add(t(lang, Label::Modes), list_of(lang, &b.modes, mode))
        .add(
            t(lang, Label::DeliveryMethods),
            list_of(lang, &b.delivery_methods, delivery_method),
        );
    let mut out = f.render();
    // The order column only when some member waits for another.
    let ordered = !b.prerequisites.is_empty();
    let mut header = vec![t(lang, Label::Step), t(lang, Label::Matter)];
    if ordered {
        header.push(t(lang, Label::MemberOrder));
    }
    let mut members = Table::new(header);
    for (i, code) in b.matter_codes.iter().enumerate() {
        let mut row = vec![(i + 1).to_string(), matters.label(lang, code)];
        if ordered {
            let after = b
                .prerequisites
                .iter()
                .find(|o| &o.matter_code == code)
                .map_or(&[][..], |o| o.after.as_slice());
            row.push(member_order(lang, after, matters));
        }
        members.row(row);
    }
    section(
        &mut out,
        lang,
        Label::MemberMatters,
        members.render(2),
        !b.matter_codes.is_empty(),
    );
    let mut materials = Table::new([
        t(lang, Label::Code),
        t(lang, Label::Name),
        t(lang, Label::Required),
        t(lang, Label::AcceptedCertificates),
        t(lang, Label::NeededBy),
    ]);
    for x in &b.materials {
        let Some(m) = &x.material else { continue };
        // A material a member's result stands for is not asked of the applicant.
        let required = if x.provided_by.is_empty() {
            yes_no(lang, m.required).to_owned()
        } else {
            provided_by(lang, &x.provided_by, matters)
        };
        materials.row([
            m.code.clone(),
            m.name.clone(),
            required,
            m.accepted_certificate_types.join(", "),
            x.matter_codes.join(sep),
        ]);
    }
    section(
        &mut out,
        lang,
        Label::Materials,
        materials.render(2),
        !materials.is_empty(),
    );
    out
}

/// Every 一件事 of the catalog, each as [`bundle_definition`].
pub fn bundles(
    lang: Lang,
    list: &[BundleDefinition],
    catalog_version: &str,
    matters: &MatterNames,
) -> String {
    if list.is_empty() {
        return format!("{}\n", t(lang, Label::NoBundles));
    }
    let rule = "-".repeat(72);
    let mut out = String::new();
    for b in list {
        out.push_str(&rule);
        out.push('\n');
        out.push_str(&bundle_definition(lang, b, matters));
    }
    out.push_str(&rule);
    out.push('\n');
    out.push_str(&count_line(lang, list.len(), catalog_version));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_proto::catalog::v1::{BundleMaterial, BundleOrder, Material, ReviewPoint, Stage};
    use tongban_proto::common::v1::{
        BundleMember, BundleStatus, CaseStatus, Decision, MaterialForm, PartState, Scope,
    };

    fn offices() -> OfficeNames {
        let office = |id: &str, name: &str| Office {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        };
        OfficeNames::from_offices(&[
            office("140922-gongan", "五台县公安局"),
            office("640100-gongan", "银川市公安局"),
        ])
    }

    fn joint_parts(qr: PartState, qc: PartState) -> Vec<CasePart> {
        vec![
            CasePart {
                part_code: "QR".into(),
                name: "迁入地审批".into(),
                name_en: "Approval at the destination".into(),
                office_id: "140922-gongan".into(),
                scope: Scope::Local as i32,
                state: qr as i32,
                ..Default::default()
            },
            CasePart {
                part_code: "QC".into(),
                name: "迁出地办理迁出".into(),
                name_en: "Moving the record out at the home locality".into(),
                office_id: "640100-gongan".into(),
                scope: Scope::CrossProvince as i32,
                after: vec!["QR".into()],
                state: qc as i32,
                ..Default::default()
            },
        ]
    }

    fn birth_bundle() -> BundleSummary {
        BundleSummary {
            bundle_id: "b-1".into(),
            bundle_number: "140922-20261102-00007-3".into(),
            bundle_code: "YJS-CS".into(),
            name: "出生一件事".into(),
            status: BundleStatus::PartlyDenied as i32,
            members: vec![
                BundleMember {
                    case_number: "140922-20261102-00008-1".into(),
                    matter_code: "GA-HJ-CSDJ".into(),
                    matter_name: "出生登记（新生儿入户）".into(),
                    status: CaseStatus::Approved as i32,
                    responsible_office_id: "140922-gongan".into(),
                    ..Default::default()
                },
                // As a reviewer of another office sees it: no case number, no office.
                BundleMember {
                    matter_code: "RS-SBK-SL".into(),
                    matter_name: "社会保障卡申领".into(),
                    status: CaseStatus::Denied as i32,
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn a_joint_case_shows_each_part_with_office_state_and_decision() {
        let mut parts = joint_parts(PartState::Approved, PartState::Cancelled);
        parts[0].decision = Decision::Approve as i32;
        parts[0].reason = "符合迁入条件".into();
        let c = Case {
            case_number: "140922-20261102-00001-7".into(),
            destination_division: "140922".into(),
            parts,
            ..Default::default()
        };
        let zh = case(Lang::Zh, &c, &offices());
        for needle in [
            "迁入/转入地区划",
            "多地联办环节：",
            "迁入地审批（QR）",
            "五台县公安局（140922-gongan）",
            "银川市公安局（640100-gongan）",
            "跨省通办",
            "准予：符合迁入条件",
            "已取消",
        ] {
            assert!(zh.contains(needle), "missing {needle} in\n{zh}");
        }
        let en = case(Lang::En, &c, &OfficeNames::default());
        assert!(
            en.contains("Approval at the destination (QR)") && en.contains("cancelled"),
            "{en}"
        );
        assert!(en.contains("640100-gongan") && !en.contains("银川市公安局"));
    }

    #[test]
    fn parts_without_decisions_have_no_decision_column() {
        let text = parts(
            Lang::Zh,
            &joint_parts(PartState::Routed, PartState::Waiting),
            &offices(),
        );
        assert!(!text.contains("审批决定"), "{text}");
        assert!(text.contains("已分派") && text.contains("待前序环节办结"));
    }

    #[test]
    fn a_bundle_member_shows_its_bundle_and_members() {
        let c = Case {
            case_number: "140922-20261102-00008-1".into(),
            bundle: Some(birth_bundle()),
            ..Default::default()
        };
        let zh = case(Lang::Zh, &c, &offices());
        for needle in [
            "一件事：",
            "一件事编号  140922-20261102-00007-3",
            "出生一件事（YJS-CS）",
            "部分不予",
            "成员办件：",
            "出生登记（新生儿入户）（GA-HJ-CSDJ）",
            "五台县公安局（140922-gongan）",
            "社会保障卡申领（RS-SBK-SL）",
        ] {
            assert!(zh.contains(needle), "missing {needle} in\n{zh}");
        }
        assert!(case(Lang::En, &c, &offices()).contains("partly denied"));
    }

    #[test]
    fn an_office_sees_its_part_its_points_and_what_it_waits_for() {
        let a = Assignment {
            case_number: "140922-20261102-00001-7".into(),
            matter_code: "GA-HJ-QY-GZDD".into(),
            state: AssignmentState::Waiting as i32,
            part_code: "QC".into(),
            part_name: "迁出地办理迁出".into(),
            waiting_for: vec!["迁入地审批".into()],
            review_point_codes: vec!["R_QC".into()],
            bundle: Some(birth_bundle()),
            ..Default::default()
        };
        let text = assignment(Lang::Zh, &a);
        for needle in [
            "联办环节",
            "迁出地办理迁出（QC）",
            "待前序环节办结",
            "待前序环节  迁入地审批",
            "审查要点",
            "R_QC",
            "出生一件事",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        let matter = Matter {
            review_points: vec![
                ReviewPoint {
                    code: "R1".into(),
                    question: "申请人身份与迁出地户籍信息是否一致？".into(),
                    required: true,
                },
                ReviewPoint {
                    code: "R_QC".into(),
                    question: "是否存在不予迁出情形？".into(),
                    required: true,
                },
            ],
            ..Default::default()
        };
        let text = assignment_with(Lang::Zh, &a, Some(&matter));
        assert!(text.contains("是否存在不予迁出情形？"), "{text}");
        assert!(
            !text.contains("R1") && !text.contains("申请人身份"),
            "another office's point: {text}"
        );
    }

    #[test]
    fn the_inbox_shows_parts_only_when_there_are_some() {
        let plain = Assignment {
            case_number: "140922-20261102-00002-5".into(),
            state: AssignmentState::Routed as i32,
            ..Default::default()
        };
        assert!(!assignments(Lang::Zh, std::slice::from_ref(&plain)).contains("联办环节"));
        let waiting = Assignment {
            case_number: "140922-20261102-00001-7".into(),
            state: AssignmentState::Waiting as i32,
            part_code: "QC".into(),
            part_name: "迁出地办理迁出".into(),
            waiting_for: vec!["迁入地审批".into()],
            ..Default::default()
        };
        let cancelled = Assignment {
            state: AssignmentState::Cancelled as i32,
            part_code: "QX".into(),
            part_name: "转出".into(),
            ..Default::default()
        };
        let text = assignments(Lang::Zh, &[plain, waiting.clone(), cancelled]);
        for needle in [
            "联办环节",
            "迁出地办理迁出",
            "待前序环节办结（迁入地审批）",
            "已取消",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        let line = assignment_line(Lang::En, &waiting);
        assert!(
            line.contains("waiting for earlier parts (迁入地审批)")
                && line.contains("(迁出地办理迁出)"),
            "{line}"
        );
    }

    #[test]
    fn a_bundle_lists_each_material_once_with_the_members_needing_it() {
        let material = |code: &str, name: &str| Material {
            code: code.into(),
            name: name.into(),
            required: true,
            ..Default::default()
        };
        let b = BundleDefinition {
            code: "YJS-CS".into(),
            name: "出生一件事".into(),
            name_en: "Having a baby".into(),
            matter_codes: vec!["WJ-SY-DJ".into(), "GA-HJ-CSDJ".into()],
            materials: vec![
                BundleMaterial {
                    material: Some(material("SFZ", "居民身份证")),
                    matter_codes: vec!["WJ-SY-DJ".into(), "GA-HJ-CSDJ".into()],
                    ..Default::default()
                },
                BundleMaterial {
                    material: Some(material("HKB", "居民户口簿")),
                    matter_codes: vec!["GA-HJ-CSDJ".into()],
                    ..Default::default()
                },
            ],
            modes: vec![tongban_proto::common::v1::Mode::Online as i32],
            ..Default::default()
        };
        let names = MatterNames::from_matters(&[Matter {
            code: "WJ-SY-DJ".into(),
            name: "生育登记".into(),
            ..Default::default()
        }]);
        let text = bundles(Lang::Zh, std::slice::from_ref(&b), "2026.11.3", &names);
        assert_eq!(text.matches("SFZ").count(), 1, "{text}");
        for needle in [
            "出生一件事",
            "成员事项：",
            "生育登记（WJ-SY-DJ）",
            "GA-HJ-CSDJ",
            "所需事项",
            "WJ-SY-DJ、GA-HJ-CSDJ",
            "全程网办",
            "共计：1",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(bundle_definition(Lang::En, &b, &names).contains("Having a baby"));
        assert_eq!(bundles(Lang::En, &[], "", &names), "No bundles.\n");
    }

    #[test]
    fn a_joint_route_lists_each_part() {
        let mut parts = joint_parts(PartState::Routed, PartState::Waiting);
        parts[0].locality = "destination_division".into();
        parts[0].division = "140922".into();
        parts[1].locality = "home_division".into();
        parts[1].division = "640104".into();
        let r = ResolveRouteResponse {
            scope: Scope::CrossProvince as i32,
            responsible_office_id: "140922-gongan".into(),
            parts,
            ..Default::default()
        };
        let text = route(Lang::Zh, &r, &offices());
        for needle in [
            "迁入/转入地 140922",
            "户籍地（迁出/转出地） 640104",
            "银川市公安局（640100-gongan）",
            "前序环节",
            "QR",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    /// 出生一件事 as the catalog serves it: CSZM issued by the 出生医学证明 member, and 生育登记
    /// waiting for that member.
    fn ordered_birth_bundle() -> BundleDefinition {
        let material = |code: &str, name: &str, required: bool| Material {
            code: code.into(),
            name: name.into(),
            required,
            ..Default::default()
        };
        BundleDefinition {
            code: "YJS-CS".into(),
            name: "出生一件事".into(),
            name_en: "Having a baby".into(),
            matter_codes: vec!["WJ-CSYXZM-QF".into(), "WJ-SY-DJ".into(), "RS-SBK-SL".into()],
            materials: vec![
                BundleMaterial {
                    material: Some(material("SFZ", "居民身份证", true)),
                    matter_codes: vec!["WJ-CSYXZM-QF".into(), "WJ-SY-DJ".into()],
                    provided_by: String::new(),
                },
                BundleMaterial {
                    material: Some(material("CSZM", "出生医学证明", false)),
                    matter_codes: vec!["WJ-SY-DJ".into()],
                    provided_by: "WJ-CSYXZM-QF".into(),
                },
            ],
            prerequisites: vec![BundleOrder {
                matter_code: "WJ-SY-DJ".into(),
                after: vec!["WJ-CSYXZM-QF".into()],
            }],
            ..Default::default()
        }
    }

    fn birth_names() -> MatterNames {
        let matter = |code: &str, name: &str| Matter {
            code: code.into(),
            name: name.into(),
            ..Default::default()
        };
        MatterNames::from_matters(&[
            matter("WJ-CSYXZM-QF", "出生医学证明首次签发"),
            matter("WJ-SY-DJ", "生育登记"),
        ])
    }

    /// The line of `text` that contains `needle`.
    fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle} in\n{text}"))
    }

    #[test]
    fn a_bundle_shows_which_member_issues_a_material_and_the_member_order() {
        let b = ordered_birth_bundle();
        let zh = bundle_definition(Lang::Zh, &b, &birth_names());
        let cszm = line_with(&zh, "CSZM");
        assert!(cszm.contains("由「出生医学证明首次签发」出具"), "{zh}");
        assert!(!cszm.contains(" 否 "), "not 必需 是/否: {zh}");
        assert!(line_with(&zh, "SFZ").contains("是"), "{zh}");
        for needle in ["办理顺序", "受理后即办理"] {
            assert!(zh.contains(needle), "missing {needle} in\n{zh}");
        }
        assert!(
            line_with(&zh, "生育登记（WJ-SY-DJ）").contains("在「出生医学证明首次签发」准予后办理"),
            "{zh}"
        );
        assert!(
            line_with(&zh, "RS-SBK-SL").contains("受理后即办理"),
            "a member without prerequisites starts at once: {zh}"
        );

        let en = bundle_definition(Lang::En, &b, &birth_names());
        assert!(
            line_with(&en, "CSZM").contains("issued by 出生医学证明首次签发 (WJ-CSYXZM-QF)"),
            "{en}"
        );
        assert!(
            line_with(&en, "生育登记 (WJ-SY-DJ)")
                .contains("after 出生医学证明首次签发 (WJ-CSYXZM-QF) is approved"),
            "{en}"
        );
        assert!(en.contains("Order") && en.contains("at once"), "{en}");

        // Without the catalog's names (a failed look-up) the codes stand in.
        let bare = bundle_definition(Lang::Zh, &b, &MatterNames::default());
        assert!(bare.contains("由「WJ-CSYXZM-QF」出具"), "{bare}");
        assert!(bare.contains("在「WJ-CSYXZM-QF」准予后办理"), "{bare}");
    }

    #[test]
    fn a_bundle_without_order_has_no_order_column() {
        let mut b = ordered_birth_bundle();
        b.prerequisites.clear();
        b.materials.retain(|m| m.provided_by.is_empty());
        let zh = bundle_definition(Lang::Zh, &b, &birth_names());
        assert!(!zh.contains("办理顺序") && !zh.contains("出具"), "{zh}");
    }

    #[test]
    fn member_status_names_what_a_member_waits_for() {
        let submitted = CaseStatus::Submitted as i32;
        assert_eq!(member_status(Lang::Zh, submitted, &[]), "已提交");
        assert_eq!(
            member_status(Lang::Zh, submitted, &["出生医学证明首次签发".into()]),
            "已提交（待「出生医学证明首次签发」准予）"
        );
        assert_eq!(
            member_status(Lang::Zh, submitted, &["甲".into(), "乙".into()]),
            "已提交（待「甲」、「乙」准予）"
        );
        assert_eq!(
            member_status(Lang::En, submitted, &["出生医学证明首次签发".into()]),
            "submitted (waiting for 出生医学证明首次签发 to be approved)"
        );
    }

    /// 出生一件事 as the window holds it: the 出生医学证明 member routed, 生育登记 waiting for it.
    fn waiting_window_bundle() -> Bundle {
        let summary = BundleSummary {
            bundle_id: "b-1".into(),
            bundle_number: "140922-20261102-00007-3".into(),
            bundle_code: "YJS-CS".into(),
            name: "出生一件事".into(),
            status: BundleStatus::InProgress as i32,
            members: vec![
                BundleMember {
                    case_id: "c-1".into(),
                    case_number: "140922-20261102-00008-1".into(),
                    matter_code: "WJ-CSYXZM-QF".into(),
                    matter_name: "出生医学证明首次签发".into(),
                    status: CaseStatus::Routed as i32,
                    responsible_office_id: "640100-weijian".into(),
                    waiting_for: Vec::new(),
                },
                BundleMember {
                    case_id: "c-2".into(),
                    case_number: "140922-20261102-00009-X".into(),
                    matter_code: "WJ-SY-DJ".into(),
                    matter_name: "生育登记".into(),
                    status: CaseStatus::Submitted as i32,
                    responsible_office_id: "640100-weijian".into(),
                    waiting_for: vec!["出生医学证明首次签发".into()],
                },
            ],
        };
        let member = |m: &BundleMember| Case {
            case_id: m.case_id.clone(),
            case_number: m.case_number.clone(),
            matter_code: m.matter_code.clone(),
            matter_name: m.matter_name.clone(),
            status: m.status,
            responsible_office_id: m.responsible_office_id.clone(),
            bundle: Some(summary.clone()),
            ..Default::default()
        };
        Bundle {
            bundle_number: summary.bundle_number.clone(),
            bundle_code: "YJS-CS".into(),
            bundle_name: "出生一件事".into(),
            status: BundleStatus::InProgress as i32,
            cases: summary.members.iter().map(member).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_window_bundle_shows_what_a_waiting_member_waits_for() {
        let b = waiting_window_bundle();
        let zh = bundle(Lang::Zh, &b, &offices());
        assert!(
            line_with(&zh, "140922-20261102-00009-X")
                .contains("已提交（待「出生医学证明首次签发」准予）"),
            "{zh}"
        );
        let routed = line_with(&zh, "140922-20261102-00008-1");
        assert!(
            routed.contains("已分派") && !routed.contains("待「"),
            "{zh}"
        );
        let en = bundle(Lang::En, &b, &offices());
        assert!(
            line_with(&en, "140922-20261102-00009-X")
                .contains("submitted (waiting for 出生医学证明首次签发 to be approved)"),
            "{en}"
        );
    }

    #[test]
    fn a_waiting_member_case_shows_what_it_waits_for() {
        let b = waiting_window_bundle();
        let waiting = &b.cases[1];
        let zh = case(Lang::Zh, waiting, &offices());
        let status = zh
            .lines()
            .find(|l| l.starts_with("状态"))
            .unwrap_or_else(|| panic!("a status line in\n{zh}"));
        assert!(
            status.contains("已提交（待「出生医学证明首次签发」准予）"),
            "{zh}"
        );
        // The bundle's member list says it too, and the routed member waits for nothing.
        assert_eq!(
            zh.matches("待「出生医学证明首次签发」准予").count(),
            2,
            "{zh}"
        );
        let first = case(Lang::Zh, &b.cases[0], &offices());
        let status = first
            .lines()
            .find(|l| l.starts_with("状态"))
            .unwrap_or_else(|| panic!("a status line in\n{first}"));
        assert!(
            status.contains("已分派") && !status.contains("待「"),
            "{first}"
        );
        let en = case(Lang::En, waiting, &offices());
        assert!(
            en.contains("submitted (waiting for 出生医学证明首次签发 to be approved)"),
            "{en}"
        );
    }

    #[test]
    fn a_window_bundle_lists_every_member_case() {
        let member = |number: &str, matter: &str, office: &str| Case {
            case_number: number.into(),
            matter_code: matter.into(),
            responsible_office_id: office.into(),
            scope: Scope::Local as i32,
            status: CaseStatus::Routed as i32,
            ..Default::default()
        };
        let b = Bundle {
            bundle_number: "140922-20261102-00007-3".into(),
            bundle_code: "YJS-CS".into(),
            bundle_name: "出生一件事".into(),
            status: BundleStatus::InProgress as i32,
            window_office_id: "140922-zwfw".into(),
            cases: vec![
                member("140922-20261102-00008-1", "GA-HJ-CSDJ", "140922-gongan"),
                member("140922-20261102-00009-X", "RS-SBK-SL", "140922-renshe"),
            ],
            ..Default::default()
        };
        let text = bundle(Lang::Zh, &b, &offices());
        for needle in [
            "一件事编号",
            "出生一件事（YJS-CS）",
            "办理中",
            "140922-20261102-00008-1",
            "140922-20261102-00009-X",
            "五台县公安局（140922-gongan）",
            "140922-renshe",
            "本地办理",
            "已分派",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

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
        let zh = case(Lang::Zh, &c, &OfficeNames::default());
        assert!(
            zh.contains("待补正") && zh.contains("窗口受理") && zh.contains("已超期（2 个工作日）")
        );
        assert!(!zh.contains("secret-token"));
        let en = case(Lang::En, &c, &OfficeNames::default());
        assert!(en.contains("supplement requested") && en.contains("accepted at the window"));
    }
}
