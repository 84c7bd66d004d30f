//! 消费死信 (`consumer_dead_letter`): deliveries a consumer could not apply, kept in the
//! consuming service's schema for an operator to see and replay.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::StoreError;

/// Why a delivery is dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadKind {
    /// The handler rejected the event (`HandleError::Reject`).
    Rejected,
    /// The payload is no event.
    Undecodable,
    /// It still failed on its last allowed delivery (`max_deliver`).
    MaxDeliveries,
    /// The server reports it terminated, and the consumer left no record of why.
    Terminated,
}

impl DeadKind {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Undecodable => "undecodable",
            Self::MaxDeliveries => "max_deliveries",
            Self::Terminated => "terminated",
        }
    }
}

/// A dead delivery to record.
#[derive(Debug, Clone)]
pub struct NewDeadLetter<'a> {
    /// Durable consumer name.
    pub consumer: &'a str,
    /// Sequence of the message in the main stream.
    pub stream_seq: u64,
    /// Subject below the configured root.
    pub subject: &'a str,
    /// The event's id, when the payload decodes.
    pub event_id: Option<Uuid>,
    /// The event's case number, when the payload decodes.
    pub case_number: Option<&'a str>,
    /// The encoded event as received.
    pub payload: &'a [u8],
    /// Why it is dead.
    pub kind: DeadKind,
    /// The rejection or last error.
    pub reason: &'a str,
    /// Deliveries so far.
    pub deliveries: u64,
}

/// A recorded dead delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadLetter {
    /// Row id, what an operator replays by.
    pub id: i64,
    /// Durable consumer name.
    pub consumer: String,
    /// Sequence of the message in the main stream.
    pub stream_seq: i64,
    /// Subject below the configured root.
    pub subject: String,
    /// The event's id, when the payload decodes.
    pub event_id: Option<Uuid>,
    /// The event's case number, when the payload decodes.
    pub case_number: Option<String>,
    /// The encoded event.
    pub payload: Vec<u8>,
    /// The rejection, last error or advisory.
    pub reason: String,
    /// `rejected`, `undecodable`, `max_deliveries` or `terminated`.
    pub kind: String,
    /// Deliveries made.
    pub deliveries: i64,
    /// When it was recorded.
    pub dead_at: DateTime<Utc>,
    /// When the server's advisory about it was seen.
    pub advised_at: Option<DateTime<Utc>>,
    /// When it was replayed.
    pub replayed_at: Option<DateTime<Utc>>,
    /// What came of the replay.
    pub replay_result: Option<String>,
}

const COLUMNS: &str = "id, consumer, stream_seq, subject, event_id, case_number, payload, reason, \
     kind, deliveries, dead_at, advised_at, replayed_at, replay_result";

fn seq(value: u64) -> i64 {
    // Stream sequences and delivery counts stay far below 2^63.
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Records a dead delivery inside the caller's transaction; a second record of the same
/// message by the same consumer (a redelivery whose end was lost) updates its reason and
/// count. Returns the row id.
///
/// # Errors
/// A failing statement.
pub async fn record_dead_letter(
    conn: &mut PgConnection,
    dead: &NewDeadLetter<'_>,
) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        "INSERT INTO consumer_dead_letter
             (consumer, stream_seq, subject, event_id, case_number, payload, reason, kind, deliveries)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (consumer, stream_seq) DO UPDATE
             SET reason = EXCLUDED.reason, kind = EXCLUDED.kind,
                 deliveries = GREATEST(consumer_dead_letter.deliveries, EXCLUDED.deliveries)
         RETURNING id",
    )
    .bind(dead.consumer)
    .bind(seq(dead.stream_seq))
    .bind(dead.subject)
    .bind(dead.event_id)
    .bind(dead.case_number)
    .bind(dead.payload)
    .bind(dead.reason)
    .bind(dead.kind.as_str())
    .bind(seq(dead.deliveries))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Notes that the server's advisory about `consumer`'s message `stream_seq` was seen. Returns
/// `false` when there is no record of it yet (the consumer died before it could write one).
///
/// # Errors
/// A failing statement.
pub async fn mark_advised(
    conn: &mut PgConnection,
    consumer: &str,
    stream_seq: u64,
    deliveries: u64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE consumer_dead_letter
         SET advised_at = coalesce(advised_at, now()), deliveries = GREATEST(deliveries, $3)
         WHERE consumer = $1 AND stream_seq = $2",
    )
    .bind(consumer)
    .bind(seq(stream_seq))
    .bind(seq(deliveries))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Dead deliveries, newest first: of `consumer` only when given, at most `limit`.
///
/// # Errors
/// A failing statement.
pub async fn list_dead_letters(
    conn: &mut PgConnection,
    consumer: Option<&str>,
    limit: i64,
) -> Result<Vec<DeadLetter>, StoreError> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM consumer_dead_letter
         WHERE $1::text IS NULL OR consumer = $1 ORDER BY id DESC LIMIT $2"
    )))
    .bind(consumer)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// Dead delivery `id`; `None` if unknown.
///
/// # Errors
/// A failing statement.
pub async fn get_dead_letter(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<DeadLetter>, StoreError> {
    let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM consumer_dead_letter WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Locks dead delivery `id` for a replay inside the caller's transaction; `None` if unknown.
///
/// # Errors
/// A failing statement.
pub async fn lock_dead_letter(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<DeadLetter>, StoreError> {
    let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM consumer_dead_letter WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Marks dead delivery `id` replayed with `result`.
///
/// # Errors
/// A failing statement.
pub async fn mark_replayed(
    conn: &mut PgConnection,
    id: i64,
    result: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE consumer_dead_letter SET replayed_at = now(), replay_result = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(result)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether `consumer` has recorded `event_id` in its inbox (the event took effect).
///
/// # Errors
/// A failing statement.
pub async fn delivery_recorded(
    conn: &mut PgConnection,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, StoreError> {
    let found: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2)",
    )
    .bind(consumer)
    .bind(event_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(found)
}
