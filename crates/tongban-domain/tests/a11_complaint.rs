//! 投诉 closed loop (12345): 受理 → 转办 → 办理 → 回复 → 回访 → 办结, one step at a time, by the
//! right side.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use proptest::prelude::*;
use tongban_domain::complaint::{AdvanceError, ComplaintState as S, Side, advance};

#[test]
fn the_loop_goes_one_step_at_a_time_by_the_right_side() {
    let steps = [
        (S::Received, S::Assigned, Side::Hotline),
        (S::Assigned, S::Handling, Side::Office),
        (S::Handling, S::Replied, Side::Office),
        (S::Replied, S::FollowedUp, Side::Hotline),
        (S::FollowedUp, S::Closed, Side::Hotline),
    ];
    for (from, to, side) in steps {
        assert_eq!(advance(from, to, side, "已处理"), Ok(to), "{from:?}→{to:?}");
        let other = if side == Side::Hotline {
            Side::Office
        } else {
            Side::Hotline
        };
        assert_eq!(
            advance(from, to, other, "已处理"),
            Err(AdvanceError::WrongSide { required: side })
        );
    }
    assert!(matches!(
        advance(S::Received, S::Handling, Side::Office, ""),
        Err(AdvanceError::NotNext { .. })
    ));
    assert!(matches!(
        advance(S::Replied, S::Handling, Side::Office, ""),
        Err(AdvanceError::NotNext { .. })
    ));
    assert_eq!(
        advance(S::Handling, S::Replied, Side::Office, "  "),
        Err(AdvanceError::NoteRequired)
    );
    assert_eq!(S::Closed.next(), None);
    assert_eq!(S::FIRST, S::Received);
    let naming: Vec<S> = S::ALL.into_iter().filter(|s| s.takes_office()).collect();
    assert_eq!(naming, [S::Assigned], "only 转办 names the office");
}

#[test]
fn codes_round_trip_and_unknown_codes_are_errors() {
    for state in S::ALL {
        assert_eq!(state.as_str().parse::<S>(), Ok(state));
        assert!(!state.label().0.is_empty());
    }
    assert!("nonsense".parse::<S>().is_err());
    assert!("".parse::<S>().is_err());
}

proptest! {
    /// Any move is allowed exactly when it is the next state, by its side, with a note for a
    /// reply; and then it ends in the state asked for.
    #[test]
    fn only_the_next_step_is_taken(
        from in prop::sample::select(S::ALL.to_vec()),
        to in prop::sample::select(S::ALL.to_vec()),
        office in any::<bool>(),
        note in "\\PC{0,3}",
    ) {
        let side = if office { Side::Office } else { Side::Hotline };
        let allowed = from.next() == Some(to)
            && to.side() == side
            && !(to == S::Replied && note.trim().is_empty());
        let outcome = advance(from, to, side, &note);
        prop_assert_eq!(outcome.is_ok(), allowed);
        if let Ok(state) = outcome {
            prop_assert_eq!(state, to);
            prop_assert!(state > from, "the loop never goes back");
        }
    }
}
