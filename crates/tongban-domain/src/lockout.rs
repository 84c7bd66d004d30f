//! 核验锁定 (verification lockout) of the 12345 hotline: five failed verifications of one case
//! number within an hour lock that number for an hour.
//!
//! The rule is a pure function of the failures recorded so far and the moment of the attempt
//! ([`decide`]); the service serializes the attempts of one number, asks [`decide`] before it
//! checks a proof, and records a failure (timed by the same moment it asked with) before it
//! answers. Nothing here depends on how the moments were read: a failure recorded with a moment
//! *after* `now` (another attempt that read the clock a little later) counts like any other, so
//! a sixth attempt cannot slip through between two readings of the clock.

use chrono::{DateTime, TimeDelta, Utc};

/// Failed verifications within [`window`] that lock a case number.
pub const MAX_FAILURES: usize = 5;

/// How close together [`MAX_FAILURES`] failures must be to lock: one hour.
#[must_use]
pub fn window() -> TimeDelta {
    TimeDelta::hours(1)
}

/// How long a lock lasts, from the failure that set it: one hour.
#[must_use]
pub fn lock_duration() -> TimeDelta {
    TimeDelta::hours(1)
}

/// How far back the failures handed to [`decide`] must reach for its answer to be the same as
/// with the whole history: a lock still running at `now` was set by a failure after
/// `now - lock_duration`, and the failures that made it were within [`window`] before that one.
#[must_use]
pub fn lookback() -> TimeDelta {
    window() + lock_duration()
}

/// What [`decide`] says about an attempt at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The proof may be checked; `tries_left` failures (this attempt's included) may still
    /// happen before the number locks.
    Allowed {
        /// Failures left before the lock, at least 1.
        tries_left: usize,
    },
    /// The number is locked: the proof is not checked at all, whatever it is.
    Locked {
        /// The moment the lock ends (the first moment an attempt is allowed again).
        until: DateTime<Utc>,
    },
}

impl Verdict {
    /// Whether the attempt is refused.
    #[must_use]
    pub fn is_locked(self) -> bool {
        matches!(self, Verdict::Locked { .. })
    }
}

/// The lockout at `now` of a case number whose failed verifications happened at `failures`
/// (in any order; failures older than [`lookback`] may be left out, failures after `now` count).
///
/// Failures are taken in time order: whenever [`MAX_FAILURES`] of them lie within less than
/// [`window`], the last one locks the number until it plus [`lock_duration`], and the failures up
/// to it are spent (they never count towards another lock). Attempts refused while locked are no
/// failures, so a lock is never extended by knocking on it.
#[must_use]
pub fn decide(failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Verdict {
    let mut sorted = failures.to_vec();
    sorted.sort_unstable();
    let mut run_start = 0;
    let mut locked_until: Option<DateTime<Utc>> = None;
    for (i, &at) in sorted.iter().enumerate() {
        while sorted
            .get(run_start)
            .is_some_and(|&first| first <= at - window())
        {
            run_start += 1;
        }
        if i + 1 - run_start >= MAX_FAILURES {
            locked_until = Some(at + lock_duration());
            run_start = i + 1;
        }
    }
    if let Some(until) = locked_until.filter(|&until| now < until) {
        return Verdict::Locked { until };
    }
    let counted = sorted
        .get(run_start..)
        .unwrap_or_default()
        .iter()
        .filter(|&&at| at > now - window())
        .count();
    Verdict::Allowed {
        tries_left: MAX_FAILURES.saturating_sub(counted).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_793_581_200, 0).unwrap_or_default()
    }

    fn mins(m: i64) -> DateTime<Utc> {
        t0() + TimeDelta::minutes(m)
    }

    #[test]
    fn no_failures_allows_five() {
        assert_eq!(decide(&[], t0()), Verdict::Allowed { tries_left: 5 });
    }

    #[test]
    fn the_fifth_failure_locks_for_an_hour() {
        let four = [mins(0), mins(1), mins(2), mins(3)];
        assert_eq!(decide(&four, mins(4)), Verdict::Allowed { tries_left: 1 });
        let five = [mins(0), mins(1), mins(2), mins(3), mins(4)];
        assert_eq!(decide(&five, mins(4)), Verdict::Locked { until: mins(64) });
        assert!(decide(&five, mins(63)).is_locked());
        assert_eq!(decide(&five, mins(64)), Verdict::Allowed { tries_left: 5 });
    }

    #[test]
    fn a_failure_timed_after_now_still_counts() {
        // The bug this module replaces: the fifth failure was recorded a few microseconds after
        // the moment the count used, so it was left out and a sixth attempt got through.
        let now = t0();
        let later = now + TimeDelta::microseconds(3);
        let five = [now, now, now, now, later];
        assert!(decide(&five, now).is_locked());
    }

    #[test]
    fn failures_spread_over_more_than_an_hour_do_not_lock() {
        let spread = [mins(0), mins(20), mins(40), mins(59), mins(60)];
        assert_eq!(
            decide(&spread, mins(60)),
            Verdict::Allowed { tries_left: 1 }
        );
    }
}
