//! The window clerk's (窗口人员) views: a case, the cases of a window, a 一件事 bundle.

use tongban_proto::intake::v1::{Bundle, Case};

use super::common::{
    OfficeNames, applicant, decision_line, joint_sections, materials_section, member_status, named,
    remaining, section, timeline_section,
};
use crate::output::{
    Fields, Label, Lang, Table, bundle_status, case_status, delivery_method, due, mode, scope, t,
    time,
};

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
    let mut table = Table::labelled(
        lang,
        [
            Label::CaseNumber,
            Label::Matter,
            Label::Scope,
            Label::Status,
            Label::ResponsibleOffice,
            Label::AcceptedAt,
            Label::DueAt,
            Label::RemainingDays,
        ],
    );
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
    let mut table = Table::labelled(
        lang,
        [
            Label::CaseNumber,
            Label::Matter,
            Label::ResponsibleOffice,
            Label::Scope,
            Label::Status,
            Label::DueAt,
        ],
    );
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

#[cfg(test)]
mod tests {
    use tongban_proto::common::v1::{
        BundleMember, BundleStatus, BundleSummary, CaseStatus, Decision, MaterialForm, PartState,
        PresentedMaterial, Scope, TimelineEntry,
    };

    use super::*;
    use crate::views::fixtures::{birth_bundle, joint_parts, line_with, offices};

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
            en.contains("Approval at the destination (QR)") && en.contains("Cancelled"),
            "{en}"
        );
        assert!(en.contains("640100-gongan") && !en.contains("银川市公安局"));
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
        assert!(case(Lang::En, &c, &offices()).contains("Partly denied"));
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
                .contains("Submitted (waiting for 出生医学证明首次签发 to be approved)"),
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
            en.contains("Submitted (waiting for 出生医学证明首次签发 to be approved)"),
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
        assert!(en.contains("Supplement requested") && en.contains("accepted at the window"));
    }
}
