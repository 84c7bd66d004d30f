//! check_decision: the reviewer's checklist against the matter's 审查要点.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

mod a2_fixtures;

use tongban_domain::case::Decision;
use tongban_domain::catalog::Matter;
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::review::{ChecklistEntry, ChecklistProblem, check_decision};

/// 户口迁移（工作调动）: R1 and R2 required, R3 optional.
fn matter() -> Matter {
    a2_fixtures::catalog()
        .matter("GA-HJ-QY-GZDD")
        .unwrap()
        .clone()
}

fn entry(code: &str, passed: bool) -> ChecklistEntry {
    ChecklistEntry {
        review_point_code: code.into(),
        passed,
        note: String::new(),
    }
}

#[test]
fn approve_with_every_required_point_passed() {
    let m = matter();
    assert_eq!(
        check_decision(
            &m,
            Decision::Approve,
            &[entry("R1", true), entry("R2", true)]
        ),
        Ok(())
    );
    // An optional point may fail without stopping approval.
    assert_eq!(
        check_decision(
            &m,
            Decision::Approve,
            &[entry("R1", true), entry("R2", true), entry("R3", false)]
        ),
        Ok(())
    );
}

#[test]
fn missing_required_points_are_all_listed() {
    let m = matter();
    assert_eq!(
        check_decision(&m, Decision::Approve, &[entry("R3", true)]),
        Err(vec![
            ChecklistProblem::Missing {
                code: "R1".into(),
                question: "申请人身份与户籍信息是否一致？".into()
            },
            ChecklistProblem::Missing {
                code: "R2".into(),
                question: "调动证明是否真实有效？".into()
            },
        ])
    );
}

#[test]
fn approve_with_a_failed_required_point_is_refused() {
    let m = matter();
    assert_eq!(
        check_decision(
            &m,
            Decision::Approve,
            &[entry("R1", true), entry("R2", false)]
        ),
        Err(vec![ChecklistProblem::NotPassed { code: "R2".into() }])
    );
}

#[test]
fn unknown_and_duplicate_codes_are_reported_with_everything_else() {
    let m = matter();
    let checklist = [
        entry("R1", true),
        entry("R9", true),
        entry("R1", true),
        entry("R1", false),
        entry("R9", false),
    ];
    assert_eq!(
        check_decision(&m, Decision::Approve, &checklist),
        Err(vec![
            ChecklistProblem::Unknown { code: "R9".into() },
            ChecklistProblem::Duplicate { code: "R1".into() },
            ChecklistProblem::NotPassed { code: "R1".into() },
            ChecklistProblem::Missing {
                code: "R2".into(),
                question: "调动证明是否真实有效？".into()
            },
        ])
    );
}

#[test]
fn deny_with_failed_points_is_fine() {
    let m = matter();
    assert_eq!(
        check_decision(&m, Decision::Deny, &[entry("R1", true), entry("R2", false)]),
        Ok(())
    );
    assert_eq!(
        check_decision(
            &m,
            Decision::Deny,
            &[entry("R1", false), entry("R2", false)]
        ),
        Ok(())
    );
    // A failed optional point is a reason too.
    assert_eq!(
        check_decision(
            &m,
            Decision::Deny,
            &[entry("R1", true), entry("R2", true), entry("R3", false)]
        ),
        Ok(())
    );
}

#[test]
fn deny_still_needs_the_full_checklist_and_a_failed_point() {
    let m = matter();
    assert_eq!(
        check_decision(&m, Decision::Deny, &[entry("R1", true), entry("R2", true)]),
        Err(vec![ChecklistProblem::DenyWithoutFailure])
    );
    assert_eq!(
        check_decision(&m, Decision::Deny, &[entry("R1", false)]),
        Err(vec![ChecklistProblem::Missing {
            code: "R2".into(),
            question: "调动证明是否真实有效？".into()
        }])
    );
    // An unknown code that "failed" is no reason.
    assert_eq!(
        check_decision(
            &m,
            Decision::Deny,
            &[entry("R1", true), entry("R2", true), entry("X", false)]
        ),
        Err(vec![
            ChecklistProblem::Unknown { code: "X".into() },
            ChecklistProblem::DenyWithoutFailure
        ])
    );
}

#[test]
fn problems_read_in_both_languages() {
    let p = ChecklistProblem::Missing {
        code: "R2".into(),
        question: "调动证明是否真实有效？".into(),
    };
    assert_eq!(
        p.text(Lang::Zh),
        "必审要点 R2（调动证明是否真实有效？）未作答"
    );
    assert!(p.text(Lang::En).contains("R2"));
    assert_eq!(p.to_string(), p.text(Lang::Zh));
    assert!(
        ChecklistProblem::NotPassed { code: "R1".into() }
            .text(Lang::Zh)
            .contains("准予")
    );
}
