//! 核验锁定: five failed verifications for one case number within an hour lock it for an hour.
//! The lock is keyed by the case number as typed, known or not, and a locked number gets the
//! same NOT_FOUND as an unknown one, so neither the lock nor its absence tells whether a case
//! exists. Failures are the `not_found` rows of the lookup audit, timed by the service's clock.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::rules;

/// Whether `case_number` is locked at `now`.
pub async fn is_locked(
    conn: &mut PgConnection,
    case_number: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let locked: Option<bool> = sqlx::query_scalar(
        "SELECT locked_until > $2 FROM verification_locks WHERE case_number = $1",
    )
    .bind(case_number)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(locked.unwrap_or(false))
}

/// After a failed verification (already recorded in the audit): locks the number when the
/// failures of the last hour reach the limit. Returns whether it is now locked.
pub async fn after_failure(
    conn: &mut PgConnection,
    case_number: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let failures: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM status_lookups
         WHERE case_number = $1 AND result = 'not_found' AND at > $2 AND at <= $3",
    )
    .bind(case_number)
    .bind(now - rules::lock_window())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let Some(until) = rules::lock_until(failures, now) else {
        return Ok(false);
    };
    sqlx::query(
        "INSERT INTO verification_locks (case_number, locked_at, locked_until) VALUES ($1, $2, $3)
         ON CONFLICT (case_number) DO UPDATE SET locked_at = $2, locked_until = $3",
    )
    .bind(case_number)
    .bind(now)
    .bind(until)
    .execute(conn)
    .await?;
    tracing::warn!(
        failures,
        locked_until = %until,
        "case number locked after repeated failed verifications"
    );
    Ok(true)
}
