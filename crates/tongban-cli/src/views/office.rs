//! The responsible office's (属地审批人员) views: an assignment, the inbox, a watched change.

use tongban_proto::catalog::v1::{Matter, ReviewPoint};
use tongban_proto::common::v1::ChecklistItem;
use tongban_proto::review::v1::{Assignment, AssignmentState};

use super::common::{
    OfficeNames, applicant, bundle_section, decision_line, materials_section, named, review_points,
    section,
};
use crate::output::{
    Fields, Label, Lang, Table, assignment_state, case_status, due, mode, scope, t, time,
};

fn checklist(lang: Lang, items: &[ChecklistItem]) -> String {
    let mut table = Table::labelled(lang, [Label::Code, Label::Status, Label::Note]);
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

#[cfg(test)]
mod tests {
    use tongban_proto::catalog::v1::ReviewPoint;

    use super::*;
    use crate::views::fixtures::birth_bundle;

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
}
