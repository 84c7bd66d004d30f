//! The retention limit of the event stream (issue 13 item 10): events carry case data, so they
//! are kept in JetStream only as long as consumers may still need a redelivery, not for ever.
//! The record of a case is PostgreSQL (each service's tables, outbox and inbox, the audit log),
//! which is where the archive (归档) and any replay are served from; the stream is transport.
//!
//! The limit is the stream's `max_age`: `TONGBAN_STREAM_MAX_AGE_DAYS` whole days, default
//! [`DEFAULT_MAX_AGE_DAYS`] (30: the time a stopped consumer has to catch up from the stream;
//! anything older is served from PostgreSQL). An existing stream whose limit differs is updated
//! when a service connects.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::BusError;

/// Variable holding the stream's retention in whole days.
pub const MAX_AGE_DAYS_VAR: &str = "TONGBAN_STREAM_MAX_AGE_DAYS";
/// Days an event stays in the stream unless configured otherwise.
pub const DEFAULT_MAX_AGE_DAYS: u64 = 30;

/// The stream's `max_age` from `raw` (the variable's value, if set): whole days, at least one.
///
/// # Errors
/// The value is set but is not a positive whole number of days.
pub fn max_age(raw: Option<&str>) -> Result<Duration, String> {
    let days = match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => DEFAULT_MAX_AGE_DAYS,
        Some(value) => match value.parse::<u64>() {
            Ok(days) if (1..=36_500).contains(&days) => days,
            _ => {
                return Err(format!(
                    "{MAX_AGE_DAYS_VAR}={value:?} is not a whole number of days from 1 to 36500"
                ));
            }
        },
    };
    Ok(Duration::from_secs(days * 24 * 60 * 60))
}

/// The stream's `max_age` from the environment ([`MAX_AGE_DAYS_VAR`]).
///
/// # Errors
/// The variable is set to something else than a positive whole number of days.
pub fn max_age_from_env() -> Result<Duration, String> {
    max_age(std::env::var(MAX_AGE_DAYS_VAR).ok().as_deref())
}

/// Creates the stream `config` describes, or brings an existing one to its `max_age`.
pub(crate) async fn open_stream(
    jetstream: &jetstream::Context,
    config: stream::Config,
) -> Result<(), BusError> {
    let name = config.name.clone();
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| BusError::Stream {
        stream: name.clone(),
        source: e,
    };
    let max_age = config.max_age;
    let mut existing = jetstream
        .get_or_create_stream(config)
        .await
        .map_err(|e| failed(Box::new(e)))?;
    let info = existing.info().await.map_err(|e| failed(Box::new(e)))?;
    if info.config.max_age != max_age {
        let mut updated = info.config.clone();
        updated.max_age = max_age;
        jetstream
            .update_stream(updated)
            .await
            .map_err(|e| failed(Box::new(e)))?;
        tracing::info!(stream = %name, max_age_days = max_age.as_secs() / 86_400, "stream retention set");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_days_unless_configured() {
        assert_eq!(max_age(None), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(max_age(Some(" ")), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(max_age(Some("7")), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["0", "-1", "30d", "36501"] {
            assert!(max_age(Some(bad)).is_err(), "{bad}");
        }
    }
}
