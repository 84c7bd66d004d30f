//! 审计链: the chainer and the checkpoints of one service's audit log, and
//! `tongban.ops.v1.AuditService`, through which an auditor pages through it.
//!
//! Why a chainer instead of chaining in the step: a step writes its audit rows with a plain
//! INSERT (tongban-step), as it always did. If each step had to read the previous entry's hash
//! and write the next, every step of the service would queue on one lock, and the backbone
//! would be as fast as one transaction at a time. Instead the chainer, a background loop of
//! the service, takes the committed rows that are not yet chained in id order, and appends
//! them to `audit_chain` with the next position and `SM3(previous hash ‖ canonical entry)`
//! (`tongban_cert::audit_chain`). The chain's order is the chainer's order: a row whose
//! transaction commits late is chained late, which is fine, since the chain proves what was
//! recorded and that nothing changed since, not the order steps started in. Chaining runs
//! about once a second ([`CheckpointPolicy::tick`]); one chainer at a time holds the chain
//! (`LOCK TABLE audit_chain`, which steps never take), so replicas may all run one.
//!
//! Every [`CheckpointPolicy::entries`] entries, or every [`CheckpointPolicy::every`] when the
//! chain has moved, the chainer signs a checkpoint (position, head hash, time) with the
//! service's SM2 key (`<state>/audit-<service>.key`, its public half in `audit-<service>.pub`
//! for auditors to pin), stores it and publishes it as `tongban.audit.checkpointed`. Checkpoint
//! times are the system clock's: a signature's time is when it was made, also in a rehearsal
//! deployment running on `TONGBAN_AS_OF`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_access::auth::{Role, authorize};
use tongban_access::convert::timestamp;
use tongban_access::status::{self, FieldViolation};
use tongban_cert::audit_chain::{self, ChainEntry, HASH_LEN};
use tongban_cert::keys::{KeyError, KeyPair};
use tongban_domain::i18n::Lang;
use tongban_proto::events::v1::AuditCheckpointed;
use tongban_proto::events::v1::event::Body;
use tongban_proto::ops::v1 as pb;
use tongban_proto::ops::v1::audit_service_server::AuditService;
use tongban_step::{Actor, CaseRef, Effects, Executor};
use tongban_store::StoreError;
use tongban_store::audit_chain::{AuditRow, CheckpointRow};
use tonic::{Request, Response, Status};

use crate::keyfile::{self, KeyFileError};

/// Rows the chainer takes per transaction.
const CHAIN_BATCH: i64 = 500;
/// Entries a page holds when the caller names no size.
const DEFAULT_PAGE: u32 = 100;
/// Most entries one page holds.
const MAX_PAGE: u32 = 1000;

/// Why the audit trail cannot start or a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The signing key file cannot be read or created.
    #[error("audit signing key")]
    KeyFile(#[from] KeyFileError),
    /// The key file holds no valid SM2 key, or no random bytes could be had.
    #[error("audit signing key")]
    Key(#[from] KeyError),
    /// The public key file cannot be written.
    #[error("cannot write the audit public key to {path}")]
    PublicKey {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A statement failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A transaction could not begin or commit.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A stored hash is not 32 bytes (the chain table was written by something else).
    #[error("stored audit chain hash at position {0} is not {HASH_LEN} bytes")]
    BadHash(i64),
}

/// When checkpoints are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Sign once this many entries were chained since the last checkpoint (default 100,
    /// `TONGBAN_AUDIT_CHECKPOINT_ENTRIES`).
    pub entries: i64,
    /// Sign when the chain moved and this long passed since the last checkpoint (default 5
    /// minutes, `TONGBAN_AUDIT_CHECKPOINT_SECS`).
    pub every: Duration,
    /// How often the chainer looks for new rows (1 s).
    pub tick: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            entries: 100,
            every: Duration::from_secs(300),
            tick: Duration::from_secs(1),
        }
    }
}

impl CheckpointPolicy {
    /// The defaults, overridden by `TONGBAN_AUDIT_CHECKPOINT_ENTRIES` and
    /// `TONGBAN_AUDIT_CHECKPOINT_SECS` when they hold positive integers (others are ignored
    /// with a warning).
    #[must_use]
    pub fn from_env() -> Self {
        let mut policy = Self::default();
        if let Some(n) = positive_env("TONGBAN_AUDIT_CHECKPOINT_ENTRIES") {
            policy.entries = i64::try_from(n).unwrap_or(i64::MAX);
        }
        if let Some(n) = positive_env("TONGBAN_AUDIT_CHECKPOINT_SECS") {
            policy.every = Duration::from_secs(n);
        }
        policy
    }
}

fn positive_env(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    match raw.trim().parse::<u64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            tracing::warn!(variable = name, value = %raw, "not a positive integer; using the default");
            None
        }
    }
}

/// The file holding `service`'s audit signing secret.
#[must_use]
pub fn key_path(state_dir: &Path, service: &str) -> PathBuf {
    state_dir.join(format!("audit-{service}.key"))
}

/// The file holding `service`'s audit public key (SEC1 hex), for auditors to pin.
#[must_use]
pub fn public_key_path(state_dir: &Path, service: &str) -> PathBuf {
    state_dir.join(format!("audit-{service}.pub"))
}

/// The audit trail of one service: its chain, its key and its checkpoint policy.
#[derive(Clone)]
pub struct AuditTrail {
    service: &'static str,
    pool: PgPool,
    key: Arc<KeyPair>,
    policy: CheckpointPolicy,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail")
            .field("service", &self.service)
            .field("key", &self.key)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl AuditTrail {
    /// The trail of `service` over the schema behind `pool`, signing with the key in
    /// `state_dir` (created at first start, its public half written beside it).
    ///
    /// # Errors
    /// The key file cannot be read, created or holds no valid key; the public file cannot be
    /// written.
    pub fn open(
        service: &'static str,
        pool: PgPool,
        state_dir: &Path,
        policy: CheckpointPolicy,
    ) -> Result<Self, AuditError> {
        let fresh = KeyPair::generate_secret()?;
        let secret = keyfile::load_or_create(&key_path(state_dir, service), || fresh)?;
        let key = KeyPair::from_secret(&format!("audit-{service}"), &secret)?;
        let public = public_key_path(state_dir, service);
        let text = format!("{}\n", key.public().to_hex());
        if std::fs::read_to_string(&public).ok().as_deref() != Some(text.as_str()) {
            // Written to a temporary name and renamed, so a reader never sees half a key.
            let tmp = public.with_extension(format!("pub.{}", std::process::id()));
            std::fs::write(&tmp, &text)
                .and_then(|()| std::fs::rename(&tmp, &public))
                .map_err(|source| AuditError::PublicKey {
                    path: public.clone(),
                    source,
                })?;
        }
        Ok(Self {
            service,
            pool,
            key: Arc::new(key),
            policy,
        })
    }

    /// The service whose trail it is.
    #[must_use]
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// Chains every committed row not yet chained. Returns how many were chained.
    ///
    /// # Errors
    /// A failing statement; what was chained in earlier batches stays chained.
    pub async fn chain_pending(&self) -> Result<usize, AuditError> {
        let mut total = 0;
        loop {
            let mut tx = self.pool.begin().await?;
            let head = tongban_store::audit_chain::lock_chain_head(&mut tx).await?;
            let (mut seq, mut previous) = match head {
                Some((seq, hash)) => (seq, to_hash(seq, &hash)?),
                None => (0, audit_chain::GENESIS),
            };
            let rows = tongban_store::audit_chain::unchained(&mut tx, CHAIN_BATCH).await?;
            let taken = rows.len();
            let mut links = Vec::with_capacity(taken);
            for row in rows {
                seq += 1;
                let entry = chain_entry(seq, &row);
                previous = audit_chain::link(&previous, &entry);
                links.push((seq, row.audit_id, previous.to_vec()));
            }
            tongban_store::audit_chain::append_chain(&mut tx, &links).await?;
            tx.commit().await?;
            total += taken;
            if i64::try_from(taken).unwrap_or(i64::MAX) < CHAIN_BATCH {
                return Ok(total);
            }
        }
    }

    /// Signs, stores and publishes a checkpoint of the head when the policy (or `force`) asks
    /// for one and the head moved since the last. Returns the latest checkpoint and whether it
    /// is new.
    ///
    /// # Errors
    /// A failing statement.
    pub async fn checkpoint(
        &self,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<(Option<CheckpointRow>, bool), AuditError> {
        let mut step = Executor::new(self.service)
            .begin(&self.pool, Actor::service(self.service), now)
            .await?;
        let head = tongban_store::audit_chain::lock_chain_head(step.conn()).await?;
        let last = tongban_store::audit_chain::last_checkpoint(step.conn()).await?;
        let Some((seq, hash)) = head else {
            return Ok((last, false));
        };
        let last_seq = last.as_ref().map_or(0, |c| c.seq);
        if seq == last_seq {
            return Ok((last, false));
        }
        let due = force
            || seq - last_seq >= self.policy.entries
            || last.as_ref().is_none_or(|c| {
                let since = now.timestamp_micros().saturating_sub(c.at_micros);
                u128::try_from(since).unwrap_or(0) >= self.policy.every.as_micros()
            });
        if !due {
            return Ok((last, false));
        }
        let signed = audit_chain::sign_checkpoint(
            &self.key,
            self.service,
            seq,
            to_hash(seq, &hash)?,
            now.timestamp_micros(),
        );
        let row = CheckpointRow {
            seq,
            head_hash: signed.head_hash.to_vec(),
            at_micros: signed.at_micros,
            key_id: signed.key_id,
            public_key: signed.public_key,
            signature: signed.signature,
        };
        tongban_store::audit_chain::insert_checkpoint(step.conn(), &row).await?;
        let mut effects = Effects::new();
        effects.emit(
            &CaseRef::none(),
            Body::AuditCheckpointed(AuditCheckpointed {
                service: self.service.to_owned(),
                seq: row.seq,
                head_hash: row.head_hash.clone(),
                at_micros: row.at_micros,
                key_id: row.key_id.clone(),
                public_key: row.public_key.clone(),
                signature: row.signature.clone(),
            }),
        );
        step.apply(effects).await?;
        step.commit().await?;
        tracing::info!(service = self.service, seq, "audit checkpoint signed");
        Ok((Some(row), true))
    }

    /// Chains and checkpoints on every tick until `shutdown`. The first pass that finds a chain
    /// with no checkpoint signs one.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.policy.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if let Err(err) = self.pass().await {
                tracing::warn!(service = self.service, error = %err, cause = ?err, "audit chain pass failed; retrying on the next tick");
            }
        }
    }

    async fn pass(&self) -> Result<(), AuditError> {
        self.chain_pending().await?;
        self.checkpoint(false, Utc::now()).await?;
        Ok(())
    }
}

fn to_hash(seq: i64, bytes: &[u8]) -> Result<[u8; HASH_LEN], AuditError> {
    bytes.try_into().map_err(|_| AuditError::BadHash(seq))
}

fn json_text(value: Option<&serde_json::Value>) -> String {
    value.map(ToString::to_string).unwrap_or_default()
}

/// The chain's view of `row` at position `seq`.
#[must_use]
pub fn chain_entry(seq: i64, row: &AuditRow) -> ChainEntry {
    ChainEntry {
        seq,
        audit_id: row.audit_id,
        at_micros: row.at.timestamp_micros(),
        actor: row.actor.clone(),
        role: row.role.clone(),
        office_id: row.office_id.clone(),
        action: row.action.clone(),
        entity: row.entity.clone(),
        entity_id: row.entity_id.clone(),
        case_id: row.case_id.map(|id| id.to_string()).unwrap_or_default(),
        before: json_text(row.before.as_ref()),
        after: json_text(row.after.as_ref()),
    }
}

fn entry_to_pb(service: &str, row: &AuditRow, present: bool) -> pb::AuditEntry {
    let entry = chain_entry(row.seq.unwrap_or(0), row);
    pb::AuditEntry {
        seq: entry.seq,
        audit_id: entry.audit_id,
        at: Some(timestamp(row.at)),
        at_micros: entry.at_micros,
        actor: entry.actor,
        role: entry.role,
        office_id: entry.office_id,
        action: entry.action,
        entity: entry.entity,
        entity_id: entry.entity_id,
        case_id: entry.case_id,
        before: entry.before,
        after: entry.after,
        hash: row.hash.clone().unwrap_or_default(),
        present,
        service: service.to_owned(),
    }
}

fn checkpoint_to_pb(service: &str, row: CheckpointRow) -> pb::AuditCheckpoint {
    pb::AuditCheckpoint {
        service: service.to_owned(),
        seq: row.seq,
        head_hash: row.head_hash,
        at_micros: row.at_micros,
        key_id: row.key_id,
        public_key: row.public_key,
        signature: row.signature,
    }
}

/// `tongban.ops.v1.AuditService` over one service's trail.
#[derive(Debug, Clone)]
pub struct Audit {
    trail: AuditTrail,
}

impl Audit {
    /// The service over `trail`.
    #[must_use]
    pub fn new(trail: AuditTrail) -> Self {
        Self { trail }
    }
}

/// The position a page token holds: a non-negative integer, empty for the first page.
fn page_after(token: &str, lang: Lang) -> Result<i64, Status> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(0);
    }
    token
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            status::invalid_argument(
                lang,
                vec![FieldViolation::new(
                    "page_token",
                    lang.pick(
                        "不是本服务给出的翻页标记",
                        "not a page token this service handed out",
                    ),
                )],
            )
        })
}

fn page_size(size: u32) -> i64 {
    i64::from(match size {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    })
}

/// The next page's token: the last position when the page was full, else none.
fn next_token(last: Option<i64>, taken: usize, size: i64) -> String {
    match last {
        Some(last) if i64::try_from(taken).unwrap_or(i64::MAX) >= size => last.to_string(),
        _ => String::new(),
    }
}

#[tonic::async_trait]
impl AuditService for Audit {
    #[tracing::instrument(skip_all, fields(rpc = "ListAuditEntries"))]
    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        let (_, lang) = authorize(&request, &[Role::Auditor])?;
        let request = request.into_inner();
        let case_id = crate::input::parse_case_id(&request.case_id, lang)?;
        let after = page_after(&request.page_token, lang)?;
        let size = page_size(request.page_size);
        let mut conn = self
            .trail
            .pool
            .acquire()
            .await
            .map_err(|e| status::internal(lang, &e))?;
        let rows = tongban_store::audit_chain::list_case_audit(&mut conn, case_id, after, size)
            .await
            .map_err(|e| status::internal(lang, &e))?;
        let next = next_token(rows.last().map(|r| r.audit_id), rows.len(), size);
        Ok(Response::new(pb::ListAuditEntriesResponse {
            entries: rows
                .iter()
                .map(|r| entry_to_pb(self.trail.service, r, true))
                .collect(),
            next_page_token: next,
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListAuditChain"))]
    async fn list_audit_chain(
        &self,
        request: Request<pb::ListAuditChainRequest>,
    ) -> Result<Response<pb::ListAuditChainResponse>, Status> {
        let (_, lang) = authorize(&request, &[Role::Auditor])?;
        let request = request.into_inner();
        let after = page_after(&request.page_token, lang)?;
        let size = page_size(request.page_size);
        let mut conn = self
            .trail
            .pool
            .acquire()
            .await
            .map_err(|e| status::internal(lang, &e))?;
        let rows = tongban_store::audit_chain::list_chain(&mut conn, after, size)
            .await
            .map_err(|e| status::internal(lang, &e))?;
        let next = next_token(rows.last().map(|r| r.seq), rows.len(), size);
        let service = self.trail.service;
        let entries = rows
            .into_iter()
            .map(|chained| match chained.row {
                Some(row) => entry_to_pb(service, &row, true),
                None => pb::AuditEntry {
                    seq: chained.seq,
                    audit_id: chained.audit_id,
                    hash: chained.hash,
                    present: false,
                    service: service.to_owned(),
                    ..Default::default()
                },
            })
            .collect();
        Ok(Response::new(pb::ListAuditChainResponse {
            entries,
            next_page_token: next,
            service: service.to_owned(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListAuditCheckpoints"))]
    async fn list_audit_checkpoints(
        &self,
        request: Request<pb::ListAuditCheckpointsRequest>,
    ) -> Result<Response<pb::ListAuditCheckpointsResponse>, Status> {
        let (_, lang) = authorize(&request, &[Role::Auditor])?;
        let request = request.into_inner();
        let after = page_after(&request.page_token, lang)?;
        let size = page_size(request.page_size);
        let mut conn = self
            .trail
            .pool
            .acquire()
            .await
            .map_err(|e| status::internal(lang, &e))?;
        let rows = tongban_store::audit_chain::list_checkpoints(&mut conn, after, size)
            .await
            .map_err(|e| status::internal(lang, &e))?;
        let next = next_token(rows.last().map(|r| r.seq), rows.len(), size);
        let service = self.trail.service;
        Ok(Response::new(pb::ListAuditCheckpointsResponse {
            checkpoints: rows
                .into_iter()
                .map(|r| checkpoint_to_pb(service, r))
                .collect(),
            next_page_token: next,
            service: service.to_owned(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "SealAudit"))]
    async fn seal_audit(
        &self,
        request: Request<pb::SealAuditRequest>,
    ) -> Result<Response<pb::SealAuditResponse>, Status> {
        let (claims, lang) = authorize(&request, &[Role::Auditor, Role::Admin])?;
        self.trail
            .chain_pending()
            .await
            .map_err(|e| status::internal(lang, &e))?;
        let (latest, signed) = self
            .trail
            .checkpoint(true, Utc::now())
            .await
            .map_err(|e| status::internal(lang, &e))?;
        tracing::info!(actor = %claims.user, signed, "audit sealed on request");
        Ok(Response::new(pb::SealAuditResponse {
            checkpoint: latest.map(|r| checkpoint_to_pb(self.trail.service, r)),
            signed,
        }))
    }
}
