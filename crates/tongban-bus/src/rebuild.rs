//! Read-model rebuild (读模型重建): the events a service's consumers take, replayed from the
//! beginning through the consumers' own handlers into a fresh schema.
//!
//! The durable event log is the producers' outbox tables, not the stream: a producer marks a
//! row published and keeps it (only a row that can never be published moves to
//! `outbox_dead_letter`), so the log does not depend on how long JetStream keeps messages.
//!
//! **Order.** The live consumers see each producer's rows in `id` order (the relay publishes in
//! that order), and an event caused by another (review's decision caused by intake's routing)
//! is always published later: its row is written after the cause was delivered, which is after
//! the relay transaction that published the cause began — and `published_at` is that
//! transaction's start. So ordering every published row by `(published_at, producer, id)`
//! keeps each case's events in the order its consumers saw them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::TryStreamExt as _;
use prost::Message as _;
use sqlx::{PgConnection, PgPool, Row as _};
use tongban_proto::events::v1::Event;
use uuid::Uuid;

use crate::{ConsumerSpec, EventHandler, HandleError};

/// Events applied in one transaction of the rebuilt schema.
const PAGE: usize = 256;

/// A handler whose type is erased, so that one rebuild drives every consumer of a service.
pub trait ErasedHandler: Send + Sync {
    /// [`EventHandler::handle`], boxed.
    fn handle_erased<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a Event,
        subject: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), HandleError>> + Send + 'a>>;
}

impl<H: EventHandler> ErasedHandler for H {
    fn handle_erased<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a Event,
        subject: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), HandleError>> + Send + 'a>> {
        Box::pin(self.handle(conn, event, subject))
    }
}

/// One consumer of a service, as a rebuild replays it: what it takes and who handles it.
#[derive(Clone)]
pub struct RebuildConsumer {
    /// Durable name, also the inbox label in the rebuilt schema.
    pub durable: String,
    /// Subject filters below the root (NATS wildcards `*` and `>`).
    pub filters: Vec<String>,
    /// The consumer's own handler.
    pub handler: Arc<dyn ErasedHandler>,
}

impl std::fmt::Debug for RebuildConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RebuildConsumer")
            .field("durable", &self.durable)
            .field("filters", &self.filters)
            .finish_non_exhaustive()
    }
}

impl RebuildConsumer {
    /// The consumer `spec` handled by `handler`.
    #[must_use]
    pub fn new<H: EventHandler>(spec: &ConsumerSpec, handler: Arc<H>) -> Self {
        Self {
            durable: spec.durable.clone(),
            filters: spec.filter_subjects.clone(),
            handler,
        }
    }

    fn takes(&self, subject: &str) -> bool {
        self.filters.iter().any(|f| subject_matches(f, subject))
    }
}

/// What each consumer did during a rebuild.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerCounts {
    /// Durable name.
    pub durable: String,
    /// Events applied.
    pub applied: u64,
    /// Events the handler refused, or payloads that are no event.
    pub rejected: u64,
    /// Events the handler could not apply for now.
    pub failed: u64,
}

/// The outcome of a rebuild.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Published outbox rows read.
    pub events_read: u64,
    /// Per consumer, in the order given.
    pub consumers: Vec<ConsumerCounts>,
}

/// Why a rebuild stopped.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// A producer schema name is no plain lowercase identifier.
    #[error("schema {0:?} is not a plain lowercase identifier")]
    Schema(String),
    /// Reading the log or writing the rebuilt schema failed.
    #[error("database")]
    Sql(#[from] sqlx::Error),
    /// Recording a delivery in the rebuilt inbox failed.
    #[error("inbox")]
    Store(#[from] tongban_store::StoreError),
}

/// Whether `schema` is a plain lowercase identifier (the names tongban gives its schemas).
#[must_use]
pub fn is_plain_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Every schema of the database behind `pool` that holds an `outbox` table, by name.
///
/// # Errors
/// The catalog cannot be read.
pub async fn outbox_schemas(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables
         WHERE table_name = 'outbox' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
}

/// One row of the log.
struct Logged {
    event_id: Uuid,
    subject: String,
    payload: Vec<u8>,
}

/// Replays every published row of the `producers`' outbox tables (read through `log`) that
/// `consumers` take, in publication order, into the migrated schema behind `target`: each
/// delivery recorded in the target's inbox under the consumer's durable name and applied by its
/// handler, [`PAGE`] events per transaction (one event per transaction when any of a page fails,
/// so one refused event never undoes the others).
///
/// # Errors
/// A producer schema name is not plain, or the database fails.
pub async fn rebuild(
    log: &PgPool,
    producers: &[String],
    target: &PgPool,
    consumers: &[RebuildConsumer],
) -> Result<RebuildReport, RebuildError> {
    let mut report = RebuildReport {
        events_read: 0,
        consumers: consumers
            .iter()
            .map(|c| ConsumerCounts {
                durable: c.durable.clone(),
                ..ConsumerCounts::default()
            })
            .collect(),
    };
    if producers.is_empty() || consumers.is_empty() {
        return Ok(report);
    }
    let mut selects = Vec::with_capacity(producers.len());
    for (rank, schema) in producers.iter().enumerate() {
        if !is_plain_schema(schema) {
            return Err(RebuildError::Schema(schema.clone()));
        }
        selects.push(format!(
            "SELECT published_at, {rank} AS producer, id, event_id, subject, payload
             FROM \"{schema}\".outbox WHERE published_at IS NOT NULL"
        ));
    }
    // Checked above: every name is a plain identifier.
    let sql = format!(
        "{} ORDER BY published_at, producer, id",
        selects.join(" UNION ALL ")
    );
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(log);
    let mut page = Vec::with_capacity(PAGE);
    while let Some(row) = rows.try_next().await? {
        report.events_read += 1;
        let logged = Logged {
            event_id: row.try_get("event_id")?,
            subject: row.try_get("subject")?,
            payload: row.try_get("payload")?,
        };
        if consumers.iter().any(|c| c.takes(&logged.subject)) {
            page.push(logged);
        }
        if page.len() == PAGE {
            apply_page(target, consumers, &std::mem::take(&mut page), &mut report).await?;
        }
    }
    apply_page(target, consumers, &page, &mut report).await?;
    Ok(report)
}

/// Applies `page` in one transaction, or one event per transaction when any of it fails.
async fn apply_page(
    target: &PgPool,
    consumers: &[RebuildConsumer],
    page: &[Logged],
    report: &mut RebuildReport,
) -> Result<(), RebuildError> {
    if page.is_empty() {
        return Ok(());
    }
    let decoded: Vec<_> = page
        .iter()
        .map(|logged| (logged, Event::decode(logged.payload.as_slice()).ok()))
        .collect();
    let mut tx = target.begin().await?;
    let mut counts = vec![0_u64; consumers.len()];
    let mut whole = true;
    'page: for (logged, event) in &decoded {
        for (i, consumer) in consumers.iter().enumerate() {
            if !consumer.takes(&logged.subject) {
                continue;
            }
            let Some(event) = event else {
                whole = false;
                break 'page;
            };
            match apply_one(&mut tx, consumer, logged, event).await {
                Ok(()) => counts[i] += 1,
                Err(_) => {
                    whole = false;
                    break 'page;
                }
            }
        }
    }
    if whole {
        tx.commit().await?;
        for (count, applied) in report.consumers.iter_mut().zip(counts) {
            count.applied += applied;
        }
        return Ok(());
    }
    tx.rollback().await?;
    for (logged, event) in &decoded {
        for (consumer, count) in consumers.iter().zip(report.consumers.iter_mut()) {
            if !consumer.takes(&logged.subject) {
                continue;
            }
            let Some(event) = event else {
                tracing::warn!(consumer = %consumer.durable, event_id = %logged.event_id, "logged payload is no event; skipped");
                count.rejected += 1;
                continue;
            };
            let mut tx = target.begin().await?;
            match apply_one(&mut tx, consumer, logged, event).await {
                Ok(()) => {
                    tx.commit().await?;
                    count.applied += 1;
                }
                Err(HandleError::Reject(reason)) => {
                    tracing::warn!(consumer = %consumer.durable, event_id = %logged.event_id, %reason, "event refused during rebuild");
                    count.rejected += 1;
                }
                Err(HandleError::Retry(err)) => {
                    tracing::warn!(consumer = %consumer.durable, event_id = %logged.event_id, error = %err, "event not applied during rebuild");
                    count.failed += 1;
                }
            }
        }
    }
    Ok(())
}

/// Records the delivery in the rebuilt inbox and applies it.
async fn apply_one(
    conn: &mut PgConnection,
    consumer: &RebuildConsumer,
    logged: &Logged,
    event: &Event,
) -> Result<(), HandleError> {
    if tongban_store::record_delivery(conn, &consumer.durable, logged.event_id, &logged.subject)
        .await?
    {
        consumer
            .handler
            .handle_erased(conn, event, &logged.subject)
            .await?;
    }
    Ok(())
}

/// Whether `subject` matches the NATS subject `filter` (`*` one token, `>` the rest).
#[must_use]
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject = subject.split('.');
    for token in filter.split('.') {
        if token == ">" {
            return subject.next().is_some();
        }
        match subject.next() {
            Some(s) if token == "*" || token == s => {}
            _ => return false,
        }
    }
    subject.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_wildcards_match_as_the_server_does() {
        assert!(subject_matches("case.>", "case.routed"));
        assert!(subject_matches("case.>", "case.part.updated"));
        assert!(!subject_matches("case.>", "case"));
        assert!(!subject_matches("case.>", "complaint.filed"));
        assert!(subject_matches("case.*", "case.routed"));
        assert!(!subject_matches("case.*", "case.part.updated"));
        assert!(subject_matches("case.routed", "case.routed"));
        assert!(!subject_matches("case.routed", "case.routed.x"));
    }

    #[test]
    fn only_plain_schema_names_are_read() {
        assert!(is_plain_schema("hotline"));
        assert!(is_plain_schema("hotline_rebuilt_2"));
        assert!(!is_plain_schema(""));
        assert!(!is_plain_schema("Hotline"));
        assert!(!is_plain_schema("a\"; DROP"));
        assert!(!is_plain_schema("1abc"));
    }
}
