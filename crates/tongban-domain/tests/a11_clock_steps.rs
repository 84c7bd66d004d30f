//! The responsible office's clock steps (`clock_steps`): 延长 within the matter's allowance over
//! the whole case (Art. 42, at most 10 working days, one allowance over a 多地联办 case), the
//! Art. 45 special procedures that stop the clock while the case (the office's part) is under
//! review, and their resumption.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use proptest::prelude::*;
use tongban_domain::case::CaseStatus;
use tongban_domain::clock::{MAX_EXTENSION_DAYS, SuspensionKind};
use tongban_domain::clock_steps::{
    ClockChange, ClockCommand, ClockRefusal, ClockState, clock_step, extension_allowance,
    extension_days_valid, is_running, is_special_procedure,
};
use tongban_domain::i18n::{Lang, Localized};
use tongban_domain::joint::PartState;

fn extend(working_days: u32) -> ClockCommand {
    ClockCommand::Extend {
        working_days,
        allowance: MAX_EXTENSION_DAYS,
    }
}

#[test]
fn an_extension_adds_to_the_office_entry_within_the_allowance_over_the_case() {
    let clock = ClockState::of(&[(3, None), (4, None)], 1);
    assert_eq!(clock.extension_days, 4);
    assert_eq!(clock.case_extension_days, 7);
    assert_eq!(
        clock_step(CaseStatus::Claimed, None, &clock, extend(3)),
        Ok(ClockChange {
            extension_days: 7,
            suspension: None,
            resumed: None,
        })
    );
    let refused = clock_step(CaseStatus::Claimed, None, &clock, extend(4));
    assert_eq!(
        refused,
        Err(ClockRefusal::OverAllowance {
            allowance: MAX_EXTENSION_DAYS
        })
    );
    let refused = refused.unwrap_err();
    assert_eq!(refused.subject(), "extension_days");
    assert_eq!(
        refused.text(Lang::Zh),
        "该事项延长总天数不得超过 10 个工作日"
    );
}

#[test]
fn the_allowance_is_the_matters_or_ten_days() {
    assert_eq!(extension_allowance(None), MAX_EXTENSION_DAYS);
    assert!(!extension_days_valid(0));
    assert!(extension_days_valid(1));
    assert!(extension_days_valid(MAX_EXTENSION_DAYS));
    assert!(!extension_days_valid(MAX_EXTENSION_DAYS + 1));
}

#[test]
fn a_closed_case_has_no_clock_to_change() {
    for status in [
        CaseStatus::Approved,
        CaseStatus::Denied,
        CaseStatus::Completed,
        CaseStatus::Withdrawn,
        CaseStatus::Submitted,
    ] {
        assert!(!is_running(status));
        for command in [
            extend(1),
            ClockCommand::Suspend {
                kind: SuspensionKind::Appraisal,
            },
            ClockCommand::Resume,
        ] {
            let refused = clock_step(status, None, &ClockState::default(), command);
            assert_eq!(refused, Err(ClockRefusal::Closed), "{status:?} {command:?}");
        }
    }
    assert_eq!(ClockRefusal::Closed.subject(), "state");
}

#[test]
fn a_special_procedure_stops_the_clock_only_under_review_and_one_at_a_time() {
    let appraisal = ClockCommand::Suspend {
        kind: SuspensionKind::Appraisal,
    };
    let open = ClockState::default();
    assert_eq!(
        clock_step(CaseStatus::Claimed, None, &open, appraisal),
        Ok(ClockChange {
            extension_days: 0,
            suspension: Some(SuspensionKind::Appraisal),
            resumed: None,
        })
    );
    assert!(clock_step(CaseStatus::Supplemented, None, &open, appraisal).is_ok());
    for status in [CaseStatus::Routed, CaseStatus::SupplementRequested] {
        assert_eq!(
            clock_step(status, None, &open, appraisal),
            Err(ClockRefusal::NotSuspendable)
        );
    }
    // Another office of the case has one open.
    let suspended = ClockState::of(&[(0, None), (0, Some(SuspensionKind::PublicNotice))], 0);
    assert_eq!(
        clock_step(CaseStatus::Claimed, None, &suspended, appraisal),
        Err(ClockRefusal::NotSuspendable)
    );
    // 多地联办: the office's own part must be under review.
    assert_eq!(
        clock_step(
            CaseStatus::Claimed,
            Some(PartState::Routed),
            &open,
            appraisal
        ),
        Err(ClockRefusal::NotSuspendable)
    );
    assert!(
        clock_step(
            CaseStatus::Routed,
            Some(PartState::Claimed),
            &open,
            appraisal
        )
        .is_ok()
    );
    // 补正 and 材料在途 are no office's to open.
    for kind in [SuspensionKind::Supplement, SuspensionKind::Transit] {
        assert!(!is_special_procedure(kind));
        assert_eq!(
            clock_step(
                CaseStatus::Claimed,
                None,
                &open,
                ClockCommand::Suspend { kind }
            ),
            Err(ClockRefusal::NotSpecialProcedure(kind))
        );
    }
}

#[test]
fn only_the_office_that_opened_a_procedure_resumes_it() {
    let entries = [(2, Some(SuspensionKind::Inspection)), (0, None)];
    assert_eq!(
        clock_step(
            CaseStatus::Claimed,
            None,
            &ClockState::of(&entries, 0),
            ClockCommand::Resume
        ),
        Ok(ClockChange {
            extension_days: 2,
            suspension: None,
            resumed: Some(SuspensionKind::Inspection),
        })
    );
    let refused = clock_step(
        CaseStatus::Claimed,
        None,
        &ClockState::of(&entries, 1),
        ClockCommand::Resume,
    );
    assert_eq!(refused, Err(ClockRefusal::NothingToResume));
    assert_eq!(
        refused.unwrap_err().text(Lang::En),
        "no special procedure is in progress"
    );
}

proptest! {
    /// However the offices of a case extend, the case never passes its allowance.
    #[test]
    fn extensions_never_pass_the_allowance(
        allowance in 0_u32..=MAX_EXTENSION_DAYS,
        asks in proptest::collection::vec((0_usize..3, 1_u32..=MAX_EXTENSION_DAYS), 0..20),
    ) {
        let mut entries = [(0_u32, None::<SuspensionKind>); 3];
        for (office, days) in asks {
            let clock = ClockState::of(&entries, office);
            let command = ClockCommand::Extend { working_days: days, allowance };
            if let Ok(change) = clock_step(CaseStatus::Claimed, None, &clock, command) {
                entries[office].0 = change.extension_days;
            }
            let total: u32 = entries.iter().map(|(d, _)| d).sum();
            prop_assert!(total <= allowance, "{total} > {allowance}");
        }
    }
}
