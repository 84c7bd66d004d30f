//! The rate of status lookups per operator (查询限流): an operator (the token's user id) may look
//! up at most so many case statuses a minute ([`Limits`]), so a hotline seat cannot be used to
//! sweep case numbers even below the per-number lockout.
//!
//! Counted in this process's memory, by the service's clock: with several replicas behind one
//! address each counts on its own, so the effective limit is the configured one times the
//! replicas an operator's calls reach. A lookup refused here is answered before any verification,
//! and is not written to the lookup audit (it checked nothing); it is logged.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use tongban_runtime::clock::Clock;
use tongban_runtime::settings::SettingsError;

use crate::rules;

/// Environment variable of the lookup limit.
pub const LOOKUPS_PER_MINUTE_VAR: &str = "TONGBAN_HOTLINE_LOOKUPS_PER_MINUTE";

/// Operators tracked before idle ones are forgotten.
const TRACKED_OPERATORS: usize = 1024;

/// The hotline's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Status lookups (QueryCaseStatus) one operator may make per minute.
    pub lookups_per_minute: NonZeroU32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            lookups_per_minute: NonZeroU32::new(rules::DEFAULT_LOOKUPS_PER_PERIOD)
                .unwrap_or(NonZeroU32::MIN),
        }
    }
}

impl Limits {
    /// The limits from `TONGBAN_HOTLINE_LOOKUPS_PER_MINUTE` (a positive whole number; unset or
    /// empty: 60).
    ///
    /// # Errors
    /// The variable is set to something else.
    pub fn from_env() -> Result<Self, SettingsError> {
        match std::env::var(LOOKUPS_PER_MINUTE_VAR) {
            Ok(raw) if !raw.trim().is_empty() => Self::parse(&raw),
            _ => Ok(Self::default()),
        }
    }

    fn parse(raw: &str) -> Result<Self, SettingsError> {
        raw.trim()
            .parse::<NonZeroU32>()
            .map(|lookups_per_minute| Self { lookups_per_minute })
            .map_err(|e| SettingsError {
                name: LOOKUPS_PER_MINUTE_VAR.to_owned(),
                reason: format!("{raw:?} is not a positive whole number: {e}"),
            })
    }
}

/// The lookups of the last minute of each operator.
#[derive(Debug)]
pub(crate) struct LookupLimiter {
    limit: u32,
    recent: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl LookupLimiter {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limit: limits.lookups_per_minute.get(),
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// The limit per minute.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// Admits one lookup by `operator` now, or says how long until one would be admitted.
    pub(crate) fn admit(&self, operator: &str, clock: &dyn Clock) -> Result<(), TimeDelta> {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Read under the lock, so each operator's moments are in order.
        let now = clock.now();
        if recent.len() >= TRACKED_OPERATORS && !recent.contains_key(operator) {
            recent.retain(|_, seen| {
                seen.back()
                    .is_some_and(|&at| at > now - rules::lookup_period())
            });
        }
        let seen = recent.entry(operator.to_owned()).or_default();
        rules::admit_lookup(seen, now, self.limit)
    }
}

#[cfg(test)]
mod tests {
    use tongban_runtime::clock::ManualClock;

    use super::*;

    #[test]
    fn limits_parse() {
        assert_eq!(Limits::default().lookups_per_minute.get(), 60);
        assert_eq!(
            Limits::parse(" 120 ")
                .ok()
                .map(|l| l.lookups_per_minute.get()),
            Some(120)
        );
        for bad in ["0", "-1", "many", "1.5"] {
            assert!(Limits::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_operator_has_their_own_minute() {
        let clock = ManualClock::new(Utc::now());
        let limiter = LookupLimiter::new(Limits {
            lookups_per_minute: NonZeroU32::MIN.saturating_add(1),
        });
        assert_eq!(limiter.admit("a", &clock), Ok(()));
        assert_eq!(limiter.admit("a", &clock), Ok(()));
        assert_eq!(limiter.admit("a", &clock), Err(TimeDelta::minutes(1)));
        assert_eq!(limiter.admit("b", &clock), Ok(()));
        clock.advance(TimeDelta::minutes(1));
        assert_eq!(limiter.admit("a", &clock), Ok(()));
    }
}
