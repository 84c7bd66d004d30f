//! 好差评 rules (12345): when a case may be rated, what a 差评 sets off, call-backs, the rates.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use proptest::prelude::*;
use tongban_domain::case::CaseStatus;
use tongban_domain::rating::{
    Counts, RatingLevel, RatingOccasion, RatingRefusal, RectificationState, ScoreError, callback,
    check_scores, rate,
};

#[test]
fn completion_is_rated_only_once_decided() {
    for status in CaseStatus::ALL {
        let completion = rate(status, RatingOccasion::Completion, RatingLevel::Satisfied);
        if status.is_decided() {
            assert!(completion.is_ok(), "{status:?}");
        } else {
            assert_eq!(completion, Err(RatingRefusal::NotCompleted), "{status:?}");
        }
        assert!(
            rate(status, RatingOccasion::Acceptance, RatingLevel::Satisfied).is_ok(),
            "acceptance may be rated in {status:?}"
        );
    }
}

#[test]
fn a_bad_rating_opens_a_rectification() {
    for level in RatingLevel::ALL.iter().copied() {
        let rated = rate(CaseStatus::Accepted, RatingOccasion::Acceptance, level).unwrap();
        assert_eq!(
            rated.opens_rectification,
            matches!(
                level,
                RatingLevel::Dissatisfied | RatingLevel::VeryDissatisfied
            ),
            "{level:?}"
        );
    }
}

#[test]
fn a_call_back_closes_only_with_a_satisfied_rater() {
    assert_eq!(
        callback(RectificationState::Open, true),
        Ok(RectificationState::Rectified)
    );
    assert_eq!(
        callback(RectificationState::Open, false),
        Ok(RectificationState::Open)
    );
    for satisfied in [true, false] {
        assert_eq!(
            callback(RectificationState::Rectified, satisfied),
            Err(RatingRefusal::AlreadyRectified)
        );
    }
}

#[test]
fn codes_round_trip_and_unknown_codes_are_errors() {
    for level in RatingLevel::ALL {
        assert_eq!(level.as_str().parse::<RatingLevel>(), Ok(*level));
    }
    for occasion in RatingOccasion::ALL {
        assert_eq!(occasion.as_str().parse::<RatingOccasion>(), Ok(*occasion));
    }
    for state in RectificationState::ALL {
        assert_eq!(state.as_str().parse::<RectificationState>(), Ok(*state));
    }
    assert!("unknown".parse::<RatingLevel>().is_err());
    assert!("".parse::<RatingOccasion>().is_err());
    assert!("closed".parse::<RectificationState>().is_err());
}

#[test]
fn rates() {
    let mut c = Counts::default();
    assert_eq!(c.good_rate(), 0.0);
    assert_eq!(c.rectification_rate(), 1.0);
    c.add(RatingLevel::VerySatisfied, 2);
    c.add(RatingLevel::Satisfied, 1);
    c.add(RatingLevel::BasicallySatisfied, 1);
    c.add(RatingLevel::Dissatisfied, 1);
    c.add(RatingLevel::VeryDissatisfied, 1);
    c.rectified = 1;
    assert_eq!(c.total(), 6);
    assert_eq!(c.bad(), 2);
    assert!((c.good_rate() - 0.5).abs() < 1e-9);
    assert!((c.rectification_rate() - 0.5).abs() < 1e-9);
    let mut all = Counts::default();
    all.merge(&c);
    all.merge(&c);
    assert_eq!(all.total(), 12);
    assert_eq!(all.rectified, 2);
}

#[test]
fn scores_name_known_indicators_once_from_one_to_five() {
    assert!(check_scores(&[("efficiency", 5), ("attitude", 1)]).is_empty());
    assert_eq!(
        check_scores(&[("efficiency", 3), ("speed", 0), ("efficiency", 6),]),
        vec![
            (1, ScoreError::UnknownIndicator),
            (1, ScoreError::OutOfRange),
            (2, ScoreError::Repeated),
            (2, ScoreError::OutOfRange),
        ]
    );
}

fn level() -> impl Strategy<Value = RatingLevel> {
    prop::sample::select(RatingLevel::ALL)
}

proptest! {
    /// The rates are shares: between 0 and 1, and the good and bad ratings never exceed the
    /// total.
    #[test]
    fn rates_are_shares(levels in prop::collection::vec((level(), 0u32..50), 0..20)) {
        let mut counts = Counts::default();
        for (level, n) in &levels {
            counts.add(*level, *n);
        }
        counts.rectified = counts.bad() / 2;
        let total: u32 = levels.iter().map(|(_, n)| n).sum();
        prop_assert_eq!(counts.total(), total);
        prop_assert!(counts.bad() <= counts.total());
        prop_assert!((0.0..=1.0).contains(&counts.good_rate()));
        prop_assert!((0.0..=1.0).contains(&counts.rectification_rate()));
    }

    /// Whatever the case's status, an acceptance rating is taken and a 差评 opens rectification.
    #[test]
    fn acceptance_is_always_rated(status in prop::sample::select(CaseStatus::ALL.to_vec()), level in level()) {
        let rated = rate(status, RatingOccasion::Acceptance, level).unwrap();
        prop_assert_eq!(rated.opens_rectification, level.is_bad());
        prop_assert!(!(level.is_bad() && level.is_good()));
    }
}
