//! 核验锁定 in the store: the rule is the domain's ([`tongban_domain::lockout::decide`]); this
//! module serializes the attempts on one case number and reads and writes what the rule needs.
//!
//! The lock is keyed by the case number as typed, known or not, and a locked number gets the
//! same NOT_FOUND as an unknown one, so neither the lock nor its absence tells whether a case
//! exists. Failures are the `not_found` rows of the lookup audit (`status_lookups`).
//!
//! # Why five means five
//!
//! An attempt runs in one transaction that first takes a transaction-scoped advisory lock on
//! the case number ([`serialize`]). Only then does it read the moment of the attempt, the
//! failures so far ([`recent_failures`]) and the case, and it records its own outcome before it
//! commits and lets go of the number. A concurrent attempt on the same number waits at
//! [`serialize`] and, in PostgreSQL's read-committed mode, its later statements see the commit
//! it waited for. So the check, the look-up and the count act as one, and twenty attempts at
//! once get five tries, not twenty.
//!
//! # Durability of what is recorded (the read path)
//!
//! A failed verification is committed synchronously: the answer goes out only once the failure
//! is on disk, so no crash of PostgreSQL can hand a guesser a fresh set of tries. A found case,
//! a refusal while locked and malformed input count toward no lock; their audit row is
//! committed with `synchronous_commit = off` ([`commit_without_waiting`]), which spares the read
//! path the wait for a WAL flush. The row is visible to every other transaction at once (the
//! lockout reads nothing of it anyway), and it reaches the disk with the next flush — at most
//! three `wal_writer_delay`s (600 ms by default) later, and immediately with the next
//! synchronous commit of any transaction, since the WAL is flushed in order. The trade-off, said
//! plainly: if PostgreSQL itself crashes (not merely the service), the audit rows of lookups
//! answered in that last fraction of a second can be lost, though their answers went out. The
//! lockout loses nothing: every failure it counts was committed synchronously.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tongban_domain::lockout;

/// The first key of the advisory locks taken here (the second is the case number's hash): the
/// hotline's number. Locks of other classes never collide with these; two case numbers with
/// the same hash merely wait for each other.
const LOCK_CLASS: i32 = 12345;

/// Waits until no other attempt on `case_number` is in progress, and keeps the number until the
/// transaction ends.
///
/// # Errors
/// The database fails.
pub async fn serialize(conn: &mut PgConnection, case_number: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(case_number)
        .execute(conn)
        .await?;
    Ok(())
}

/// The moments of the failed verifications of `case_number` that can still matter at `now`
/// (within [`lockout::lookback`]), including any timed after `now`.
///
/// # Errors
/// The database fails.
pub async fn recent_failures(
    conn: &mut PgConnection,
    case_number: &str,
    now: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT at FROM status_lookups
         WHERE case_number = $1 AND result = 'not_found' AND at > $2",
    )
    .bind(case_number)
    .bind(now - lockout::lookback())
    .fetch_all(conn)
    .await
}

/// Keeps a record of the lock a failure set (`verification_locks`: which numbers were locked,
/// when and until when). The lock itself is derived from the failures each time; this row is
/// for people reading the database, and is not consulted.
///
/// # Errors
/// The database fails.
pub async fn record_lock(
    conn: &mut PgConnection,
    case_number: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO verification_locks (case_number, locked_at, locked_until) VALUES ($1, $2, $3)
         ON CONFLICT (case_number) DO UPDATE SET locked_at = $2, locked_until = $3",
    )
    .bind(case_number)
    .bind(now)
    .bind(until)
    .execute(conn)
    .await?;
    Ok(())
}

/// Lets the transaction on `conn` commit without waiting for its WAL to reach the disk (see the
/// module documentation for why only lookups that count toward no lock may do this).
///
/// # Errors
/// The database fails.
pub async fn commit_without_waiting(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(conn)
        .await?;
    Ok(())
}
