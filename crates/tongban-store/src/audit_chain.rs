//! The statements of the audit chain (审计链, migration `0004_audit_chain`): the chainer's
//! reads and appends, the signed checkpoints, and the pages an auditor reads. The hashing and
//! signing are pure and live in `tongban_cert::audit_chain`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::StoreError;

/// One audit log row, with its chain record when it has one.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    /// Chain position; `None` while not yet chained.
    pub seq: Option<i64>,
    /// Audit log row id.
    pub audit_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// Their office.
    pub office_id: String,
    /// What was done.
    pub action: String,
    /// Kind of thing changed.
    pub entity: String,
    /// Its id.
    pub entity_id: String,
    /// The case the step was on.
    pub case_id: Option<Uuid>,
    /// State before.
    pub before: Option<Value>,
    /// State after.
    pub after: Option<Value>,
    /// The stored chain hash; `None` while not yet chained.
    pub hash: Option<Vec<u8>>,
}

/// One position of the chain as stored: its record, and the audit row when it still exists
/// (`row` is `None` when the row was deleted under the chain).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedRow {
    /// Chain position.
    pub seq: i64,
    /// The audit row id the chain recorded.
    pub audit_id: i64,
    /// The stored hash.
    pub hash: Vec<u8>,
    /// The row, when present.
    pub row: Option<AuditRow>,
}

/// A stored signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckpointRow {
    /// Last chain position covered.
    pub seq: i64,
    /// Chain hash at that position.
    pub head_hash: Vec<u8>,
    /// Signing time, microseconds since the epoch.
    pub at_micros: i64,
    /// Signing key id.
    pub key_id: String,
    /// Signing key, SEC1 hex.
    pub public_key: String,
    /// SM2 signature.
    pub signature: Vec<u8>,
}

const ROW_COLUMNS: &str = "a.id AS audit_id, a.at, a.actor, a.role, a.office_id, a.action, \
                           a.entity, a.entity_id, a.case_id, a.before, a.after";

/// Takes the chain for the rest of the caller's transaction (one chainer at a time per schema,
/// even with several replicas) and returns its head: the last position and hash, or `None` for
/// an empty chain. Steps never touch `audit_chain`, so they are not held up by it.
///
/// # Errors
/// A failing statement.
pub async fn lock_chain_head(
    conn: &mut PgConnection,
) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    sqlx::query("LOCK TABLE audit_chain IN EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await?;
    let head = sqlx::query_as("SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(head)
}

/// Up to `limit` committed audit rows not yet chained, in id order.
///
/// # Errors
/// A failing statement.
pub async fn unchained(conn: &mut PgConnection, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT NULL::bigint AS seq, {ROW_COLUMNS}, NULL::bytea AS hash
         FROM audit_log a
         WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)
         ORDER BY a.id LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// Appends `(seq, audit_id, hash)` links to the chain, in one statement.
///
/// # Errors
/// A failing statement (a position or row already chained).
pub async fn append_chain(
    conn: &mut PgConnection,
    links: &[(i64, i64, Vec<u8>)],
) -> Result<(), StoreError> {
    if links.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = links.iter().map(|l| l.0).collect();
    let ids: Vec<i64> = links.iter().map(|l| l.1).collect();
    let hashes: Vec<&[u8]> = links.iter().map(|l| l.2.as_slice()).collect();
    sqlx::query(
        "INSERT INTO audit_chain (seq, audit_id, hash)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bytea[])",
    )
    .bind(&seqs)
    .bind(&ids)
    .bind(&hashes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The latest checkpoint, if any.
///
/// # Errors
/// A failing statement.
pub async fn last_checkpoint(conn: &mut PgConnection) -> Result<Option<CheckpointRow>, StoreError> {
    let row = sqlx::query_as(
        "SELECT seq, head_hash, at_micros, key_id, public_key, signature
         FROM audit_checkpoint ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Stores a checkpoint.
///
/// # Errors
/// A failing statement (a checkpoint at that position exists).
pub async fn insert_checkpoint(
    conn: &mut PgConnection,
    checkpoint: &CheckpointRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_checkpoint (seq, head_hash, at_micros, key_id, public_key, signature)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(checkpoint.seq)
    .bind(&checkpoint.head_hash)
    .bind(checkpoint.at_micros)
    .bind(&checkpoint.key_id)
    .bind(&checkpoint.public_key)
    .bind(&checkpoint.signature)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Up to `limit` checkpoints after position `after_seq`, in order.
///
/// # Errors
/// A failing statement.
pub async fn list_checkpoints(
    conn: &mut PgConnection,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<CheckpointRow>, StoreError> {
    let rows = sqlx::query_as(
        "SELECT seq, head_hash, at_micros, key_id, public_key, signature
         FROM audit_checkpoint WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// Up to `limit` chain positions after `after_seq`, in order, each with its audit row when the
/// row still exists.
///
/// # Errors
/// A failing statement.
pub async fn list_chain(
    conn: &mut PgConnection,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<ChainedRow>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Joined {
        chain_seq: i64,
        chain_audit_id: i64,
        chain_hash: Vec<u8>,
        present: bool,
        #[sqlx(flatten)]
        row: AuditRowNullable,
    }
    let rows: Vec<Joined> = sqlx::query_as(
        "SELECT c.seq AS chain_seq, c.audit_id AS chain_audit_id, c.hash AS chain_hash,
                a.id IS NOT NULL AS present,
                a.at, a.actor, a.role, a.office_id, a.action, a.entity, a.entity_id, a.case_id,
                a.before, a.after
         FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id
         WHERE c.seq > $1 ORDER BY c.seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|j| ChainedRow {
            seq: j.chain_seq,
            audit_id: j.chain_audit_id,
            hash: j.chain_hash.clone(),
            row: j
                .present
                .then(|| j.row.into_row(j.chain_seq, j.chain_audit_id, j.chain_hash)),
        })
        .collect())
}

/// The columns of an audit row as a LEFT JOIN gives them (all nullable).
#[derive(sqlx::FromRow)]
struct AuditRowNullable {
    at: Option<DateTime<Utc>>,
    actor: Option<String>,
    role: Option<String>,
    office_id: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    case_id: Option<Uuid>,
    before: Option<Value>,
    after: Option<Value>,
}

impl AuditRowNullable {
    fn into_row(self, seq: i64, audit_id: i64, hash: Vec<u8>) -> AuditRow {
        AuditRow {
            seq: Some(seq),
            audit_id,
            at: self.at.unwrap_or_default(),
            actor: self.actor.unwrap_or_default(),
            role: self.role.unwrap_or_default(),
            office_id: self.office_id.unwrap_or_default(),
            action: self.action.unwrap_or_default(),
            entity: self.entity.unwrap_or_default(),
            entity_id: self.entity_id.unwrap_or_default(),
            case_id: self.case_id,
            before: self.before,
            after: self.after,
            hash: Some(hash),
        }
    }
}

/// Up to `limit` audit rows about case `case_id` (rows written in a step joined to the case, and
/// rows whose entity is the case) with an id above `after_id`, in id order, with their chain
/// position when chained.
///
/// # Errors
/// A failing statement.
pub async fn list_case_audit(
    conn: &mut PgConnection,
    case_id: Uuid,
    after_id: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.seq, {ROW_COLUMNS}, c.hash
         FROM audit_log a LEFT JOIN audit_chain c ON c.audit_id = a.id
         WHERE (a.case_id = $1 OR (a.entity = 'case' AND a.entity_id = $1::text)) AND a.id > $2
         ORDER BY a.id LIMIT $3"
    )))
    .bind(case_id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}
