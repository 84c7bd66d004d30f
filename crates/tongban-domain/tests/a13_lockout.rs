//! 核验锁定 (issue 13 item 8): at most five failed verifications of one case number per hour,
//! whatever the timing of the attempts; a lock lasts an hour and is not extended by attempts
//! refused while it runs.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use tongban_domain::lockout::{MAX_FAILURES, Verdict, decide, lock_duration, lookback, window};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_793_581_200, 0).unwrap()
}

/// Runs attempts (all with a wrong proof) at `moments` through the rule the way the service
/// does: ask, and record a failure only when allowed. Returns the failures recorded.
fn wrong_attempts(moments: &[DateTime<Utc>]) -> Vec<DateTime<Utc>> {
    let mut failures = Vec::new();
    for &now in moments {
        let recent: Vec<_> = failures
            .iter()
            .copied()
            .filter(|&at| at > now - lookback())
            .collect();
        if let Verdict::Allowed { .. } = decide(&recent, now) {
            failures.push(now);
        }
    }
    failures
}

#[test]
fn exactly_five_tries_then_locked_for_an_hour() {
    let moments: Vec<_> = (0..20).map(|i| t0() + TimeDelta::seconds(i)).collect();
    let failures = wrong_attempts(&moments);
    assert_eq!(failures.len(), MAX_FAILURES);
    let fifth = failures[MAX_FAILURES - 1];
    assert_eq!(
        decide(&failures, fifth + TimeDelta::minutes(59)),
        Verdict::Locked {
            until: fifth + lock_duration()
        }
    );
    assert_eq!(
        decide(&failures, fifth + lock_duration()),
        Verdict::Allowed {
            tries_left: MAX_FAILURES
        }
    );
}

#[test]
fn the_sixth_attempt_is_refused_even_when_the_clock_ticks_between_readings() {
    // Under a real clock each failure is timed a little after the moment the previous decision
    // used; every one of them counts.
    let moments: Vec<_> = (0..6)
        .map(|i| t0() + TimeDelta::microseconds(i * 7))
        .collect();
    let failures = wrong_attempts(&moments);
    assert_eq!(failures.len(), MAX_FAILURES);
    assert!(decide(&failures, moments[5]).is_locked());
    // Even a decision made with a moment read *before* the last failure was timed.
    assert!(decide(&failures, moments[3]).is_locked());
}

#[test]
fn unordered_failures_are_the_same_as_ordered_ones() {
    let ordered: Vec<_> = (0..5).map(|i| t0() + TimeDelta::minutes(i)).collect();
    let mut shuffled = ordered.clone();
    shuffled.swap(0, 4);
    shuffled.swap(1, 3);
    let now = t0() + TimeDelta::minutes(10);
    assert_eq!(decide(&ordered, now), decide(&shuffled, now));
    assert!(decide(&shuffled, now).is_locked());
}

#[test]
fn the_window_is_an_hour() {
    let at = |m: i64| t0() + TimeDelta::minutes(m);
    // Five failures within 59 minutes lock; five whose first is an hour before the fifth do not.
    assert!(decide(&[at(0), at(1), at(2), at(3), at(59)], at(59)).is_locked());
    assert!(!decide(&[at(0), at(1), at(2), at(3), at(60)], at(60)).is_locked());
    assert_eq!(window(), TimeDelta::hours(1));
}

proptest! {
    /// Whatever the moments of the attempts (sorted, as the service serializes them), no window
    /// of an hour ever holds more than five recorded failures, and after a lock ends the next
    /// wrong attempt is allowed again.
    #[test]
    fn never_more_than_five_failures_an_hour(gaps in prop::collection::vec(0i64..1_800, 1..60)) {
        let mut now = t0();
        let mut moments = Vec::new();
        for gap in gaps {
            now += TimeDelta::seconds(gap);
            moments.push(now);
        }
        let failures = wrong_attempts(&moments);
        for (i, &start) in failures.iter().enumerate() {
            let within = failures[i..].iter().filter(|&&at| at < start + window()).count();
            prop_assert!(within <= MAX_FAILURES, "{within} failures within an hour of {start}");
        }
        let last = *moments.last().unwrap();
        let after = last + lookback();
        prop_assert!(!decide(&failures, after).is_locked());
    }
}
