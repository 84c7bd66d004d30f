//! PostgreSQL for tongban services: one database, one schema per service. Connects with the
//! service's schema as `search_path`, runs the shared messaging migrations (outbox, inbox, audit
//! log) and then the service's own, and offers the few statements every service needs: enqueue
//! an event in the outbox, record a delivery in the inbox, record a dead delivery
//! (`consumer_dead_letter`), append to the audit log. The
//! [`timeline`] line is shared by the services that keep a case timeline.

use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub mod audit_chain;
mod dead_letter;
pub mod timeline;

/// Column `column` of `row` as a domain value stored by its code: a code the domain does not
/// know is a decode error naming the column and the value, never a default.
///
/// # Errors
/// The column is missing, not text, or its code does not parse.
pub fn decoded<T>(row: &sqlx::postgres::PgRow, column: &str) -> Result<T, sqlx::Error>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use sqlx::Row as _;
    let code: String = row.try_get(column)?;
    code.parse()
        .map_err(|err: T::Err| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: Box::new(err),
        })
}

/// Like [`decoded`], the empty code meaning none (a value an event did not carry).
///
/// # Errors
/// As [`decoded`].
pub fn decoded_optional<T>(
    row: &sqlx::postgres::PgRow,
    column: &str,
) -> Result<Option<T>, sqlx::Error>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use sqlx::Row as _;
    let code: String = row.try_get(column)?;
    if code.is_empty() {
        return Ok(None);
    }
    decoded(row, column).map(Some)
}

pub use dead_letter::{
    DeadKind, DeadLetter, NewDeadLetter, delivery_recorded, get_dead_letter, list_dead_letters,
    lock_dead_letter, mark_advised, mark_replayed, record_dead_letter,
};

/// Shared migrations, tracked in their own table so they never clash with a service's.
static MESSAGING: Migrator = sqlx::migrate!("./migrations");

/// Table that tracks the shared messaging migrations in each schema.
const MESSAGING_MIGRATIONS_TABLE: &str = "_tongban_store_migrations";

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL could not be parsed.
    #[error("invalid database URL: {0}")]
    Url(#[source] sqlx::Error),
    /// The schema name is not a plain identifier.
    #[error("invalid schema name {0:?}: use lower-case letters, digits and underscores")]
    Schema(String),
    /// A statement failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An event is larger than the bus carries; the step that made it must not commit.
    #[error("event on {subject} is {size} bytes, more than the {limit} bytes the bus carries")]
    EventTooLarge {
        /// Subject of the event.
        subject: String,
        /// Its encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// Largest encoded event the outbox accepts: NATS refuses messages over 1 MiB by default, and
/// headers travel too. A step whose event would be larger fails before it commits.
pub const MAX_EVENT_BYTES: usize = 512 * 1024;

/// How long one statement may run before PostgreSQL cancels it: no request or event can hold
/// a connection and its locks indefinitely.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects a pool whose connections use `schema` (created if absent) as their search path and
/// [`DEFAULT_STATEMENT_TIMEOUT`] as their statement timeout.
///
/// # Errors
/// An invalid URL or schema name, or a database that cannot be reached.
pub async fn connect(
    database_url: &str,
    schema: &str,
    max_connections: u32,
) -> Result<PgPool, StoreError> {
    connect_with_timeout(
        database_url,
        schema,
        max_connections,
        DEFAULT_STATEMENT_TIMEOUT,
    )
    .await
}

/// [`connect`] with another statement timeout.
///
/// # Errors
/// An invalid URL or schema name, or a database that cannot be reached.
pub async fn connect_with_timeout(
    database_url: &str,
    schema: &str,
    max_connections: u32,
    statement_timeout: Duration,
) -> Result<PgPool, StoreError> {
    if schema.is_empty()
        || !schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::Schema(schema.to_owned()));
    }
    let base = PgConnectOptions::from_str(database_url).map_err(StoreError::Url)?;
    {
        let mut admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await?
            .acquire()
            .await?;
        // A service's own database role (deploy/up.sh) may use its schema but not create
        // schemas: create it only when it is missing.
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                .bind(schema)
                .fetch_one(&mut *admin)
                .await?;
        if !exists {
            // The name was checked to be a plain identifier above.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}"
            )))
            .execute(&mut *admin)
            .await
            .or_else(ignore_concurrent_create)?;
        }
    }
    let timeout = format!("{}ms", statement_timeout.as_millis());
    let options = base
        .options([
            ("search_path", schema),
            ("statement_timeout", timeout.as_str()),
        ])
        .application_name(&format!("tongban-{schema}"));
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Two services starting at once may both try to create a schema; the loser's unique violation is harmless.
fn ignore_concurrent_create(
    err: sqlx::Error,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    match &err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            Ok(Default::default())
        }
        _ => Err(err),
    }
}

/// Runs the shared messaging migrations, then the service's own.
///
/// # Errors
/// A migration that fails or was changed after it was applied.
pub async fn migrate(pool: &PgPool, service: &Migrator) -> Result<(), StoreError> {
    let mut shared = Migrator::with_migrations(MESSAGING.iter().cloned().collect());
    shared.dangerous_set_table_name(MESSAGING_MIGRATIONS_TABLE);
    shared.run(pool).await?;
    service.run(pool).await?;
    Ok(())
}

/// One event waiting in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    /// Event id: also the `Nats-Msg-Id` header.
    pub event_id: Uuid,
    /// Subject below the configured root, e.g. `case.routed`.
    pub subject: String,
    /// Encoded `tongban.events.v1.Event`.
    pub payload: Vec<u8>,
    /// Headers to send (W3C trace context).
    pub headers: Vec<(String, String)>,
}

/// Name of the `NOTIFY` channel the relay of `schema` listens on.
#[must_use]
pub fn outbox_channel(schema: &str) -> String {
    format!("tongban_outbox_{schema}")
}

/// Adds a message to the outbox inside the caller's transaction, and wakes the relay when the
/// transaction commits.
///
/// # Errors
/// A failing statement, or [`StoreError::EventTooLarge`] for a payload over [`MAX_EVENT_BYTES`].
pub async fn enqueue(conn: &mut PgConnection, message: &OutboxMessage) -> Result<(), StoreError> {
    enqueue_all(conn, std::slice::from_ref(message)).await
}

/// Adds `messages` to the outbox in this order, in one statement, inside the caller's
/// transaction, and wakes the relay when the transaction commits.
///
/// # Errors
/// A failing statement, or [`StoreError::EventTooLarge`] for a payload over [`MAX_EVENT_BYTES`]
/// (then nothing is added).
pub async fn enqueue_all(
    conn: &mut PgConnection,
    messages: &[OutboxMessage],
) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    if let Some(large) = messages.iter().find(|m| m.payload.len() > MAX_EVENT_BYTES) {
        return Err(StoreError::EventTooLarge {
            subject: large.subject.clone(),
            size: large.payload.len(),
            limit: MAX_EVENT_BYTES,
        });
    }
    let ids: Vec<Uuid> = messages.iter().map(|m| m.event_id).collect();
    let subjects: Vec<&str> = messages.iter().map(|m| m.subject.as_str()).collect();
    let payloads: Vec<&[u8]> = messages.iter().map(|m| m.payload.as_slice()).collect();
    let headers: Vec<Value> = messages
        .iter()
        .map(|m| {
            Value::Object(
                m.headers
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        })
        .collect();
    // WITH ORDINALITY … ORDER BY keeps the rows' ids (the relay's order) in the given order.
    sqlx::query(
        "INSERT INTO outbox (event_id, subject, payload, headers)
         SELECT e, s, p, h
         FROM UNNEST($1::uuid[], $2::text[], $3::bytea[], $4::jsonb[])
              WITH ORDINALITY AS m (e, s, p, h, n)
         ORDER BY n",
    )
    .bind(&ids)
    .bind(&subjects)
    .bind(&payloads)
    .bind(&headers)
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify('tongban_outbox_' || current_schema(), '')")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A message read back from the outbox by the relay.
#[derive(Debug, Clone)]
pub struct PendingMessage {
    /// Outbox row id.
    pub id: i64,
    /// The message.
    pub message: OutboxMessage,
}

/// Locks up to `limit` unpublished messages, oldest first, skipping rows another relay holds.
///
/// # Errors
/// A failing statement.
pub async fn lock_pending(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<PendingMessage>, StoreError> {
    let rows: Vec<(i64, Uuid, String, Vec<u8>, Value)> = sqlx::query_as(
        "SELECT id, event_id, subject, payload, headers FROM outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, event_id, subject, payload, headers)| PendingMessage {
            id,
            message: OutboxMessage {
                event_id,
                subject,
                payload,
                headers: match headers {
                    Value::Object(map) => map
                        .into_iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                        .collect(),
                    _ => Vec::new(),
                },
            },
        })
        .collect())
}

/// Records a failed attempt to publish outbox row `id`; once it has failed `max_attempts`
/// times (or `permanent` says it never can succeed) the row moves to `outbox_dead_letter` and
/// `true` is returned: the relay goes on with the rows behind it.
///
/// # Errors
/// A failing statement.
pub async fn record_publish_failure(
    conn: &mut PgConnection,
    id: i64,
    error: &str,
    permanent: bool,
    max_attempts: i32,
) -> Result<bool, StoreError> {
    let attempts: i32 = sqlx::query_scalar(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1
         RETURNING attempts",
    )
    .bind(id)
    .bind(error)
    .fetch_one(&mut *conn)
    .await?;
    if !permanent && attempts < max_attempts {
        return Ok(false);
    }
    sqlx::query(
        "WITH moved AS (DELETE FROM outbox WHERE id = $1 RETURNING *)
         INSERT INTO outbox_dead_letter
             (id, event_id, subject, payload, headers, created_at, attempts, last_error)
         SELECT id, event_id, subject, payload, headers, created_at, attempts, last_error
         FROM moved",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Marks outbox rows as published.
///
/// # Errors
/// A failing statement.
pub async fn mark_published(conn: &mut PgConnection, ids: &[i64]) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records that `consumer` received `event_id`. Returns `false` when it had already been
/// recorded: the delivery is a duplicate and must not be handled again.
///
/// # Errors
/// A failing statement.
pub async fn record_delivery(
    conn: &mut PgConnection,
    consumer: &str,
    event_id: Uuid,
    subject: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO inbox (consumer, event_id, subject) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(subject)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One entry of the audit log (审计).
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    /// User from the bearer token, or the service for automatic steps.
    pub actor: &'a str,
    /// Role of the actor.
    pub role: &'a str,
    /// Office of the actor.
    pub office_id: &'a str,
    /// What was done, e.g. `case.claim`.
    pub action: &'a str,
    /// Kind of thing changed, e.g. `case`.
    pub entity: &'a str,
    /// Its id.
    pub entity_id: &'a str,
    /// State before (no unmasked personal data).
    pub before: Option<Value>,
    /// State after (no unmasked personal data).
    pub after: Option<Value>,
    /// The case the step was on, when it was on one (what an auditor pages a case's audit by).
    pub case_id: Option<Uuid>,
}

/// Appends to the audit log inside the caller's transaction.
///
/// # Errors
/// A failing statement.
pub async fn audit(conn: &mut PgConnection, record: &AuditRecord<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log
             (actor, role, office_id, action, entity, entity_id, before, after, case_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(record.actor)
    .bind(record.role)
    .bind(record.office_id)
    .bind(record.action)
    .bind(record.entity)
    .bind(record.entity_id)
    .bind(&record.before)
    .bind(&record.after)
    .bind(record.case_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
