//! `tongban.ops.v1.OperationsService`, served by every service for itself: the dead letters of
//! its own consumers (消费死信) and their replay, and the rebuild of its read model (读模型重建)
//! into a fresh schema. Admin role only.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::PgPool;
use tongban_access::auth::{Role, authorize};
use tongban_access::convert::timestamp;
use tongban_access::status;
use tongban_bus::{RebuildConsumer, ReplayError, Replayed, Replayer};
use tongban_domain::i18n::Lang;
use tongban_proto::ops::v1 as pb;
use tongban_proto::ops::v1::operations_service_server::OperationsService;
use tonic::{Request, Response, Status};

use crate::status::{FieldViolation, PreconditionViolation};

/// Rows a listing returns when the caller names no limit.
const DEFAULT_LIMIT: u32 = 50;
/// Most rows one listing returns.
const MAX_LIMIT: u32 = 500;

/// The read model of a service (读模型): the tables only its consumers write, so that replaying
/// the events they take rebuilds them exactly. A service that keeps one declares it with
/// [`crate::platform::Tasks::read_model`].
#[derive(Clone)]
pub struct ReadModel {
    /// Database of the service (the fresh schema is created there, beside the producers').
    pub database_url: String,
    /// The service's migrations, run on the fresh schema.
    pub migrator: &'static sqlx::migrate::Migrator,
    /// The tables that make up the read model.
    pub tables: &'static [&'static str],
}

impl std::fmt::Debug for ReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadModel")
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

/// What a rebuild needs: the read model and the consumers that build it.
#[derive(Debug)]
struct Rebuild {
    model: ReadModel,
    consumers: Vec<RebuildConsumer>,
}

/// The operations of one service: its schema, a replay for each of its consumers, and the
/// rebuild of its read model when it keeps one.
#[derive(Clone)]
pub struct Operations {
    pool: PgPool,
    replayers: Arc<BTreeMap<String, Replayer>>,
    rebuild: Option<Arc<Rebuild>>,
}

impl std::fmt::Debug for Operations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operations")
            .field("consumers", &self.replayers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Operations {
    /// Operations on the service schema behind `pool`, replaying through `replayers` (by
    /// durable consumer name).
    #[must_use]
    pub fn new(pool: PgPool, replayers: BTreeMap<String, Replayer>) -> Self {
        Self {
            pool,
            replayers: Arc::new(replayers),
            rebuild: None,
        }
    }

    /// The same operations, able to rebuild `model` by replaying through `consumers`.
    #[must_use]
    pub fn with_read_model(self, model: ReadModel, consumers: Vec<RebuildConsumer>) -> Self {
        Self {
            rebuild: Some(Arc::new(Rebuild { model, consumers })),
            ..self
        }
    }

    /// Checks the request, creates and migrates the fresh schema, replays into it and counts.
    async fn rebuild_into(
        &self,
        request: pb::RebuildReadModelRequest,
        lang: Lang,
    ) -> Result<pb::RebuildReadModelResponse, Status> {
        let en = matches!(lang, Lang::En);
        let schema = request.schema.trim().to_owned();
        let mut violations = Vec::new();
        if !tongban_bus::rebuild::is_plain_schema(&schema) {
            violations.push(FieldViolation::new(
                "schema",
                if en {
                    "must be a lowercase identifier (a-z, 0-9, _; at most 63, not starting with a digit)"
                } else {
                    "须为小写标识符（a-z、0-9、_，至多 63 个字符，不以数字开头）"
                },
            ));
        }
        for (i, producer) in request.producer_schemas.iter().enumerate() {
            if !tongban_bus::rebuild::is_plain_schema(producer) {
                violations.push(FieldViolation::new(
                    format!("producer_schemas[{i}]"),
                    if en {
                        "must be a lowercase identifier"
                    } else {
                        "须为小写标识符"
                    },
                ));
            }
        }
        if !violations.is_empty() {
            return Err(status::invalid_argument(lang, violations));
        }
        let Some(rebuild) = self.rebuild.as_deref() else {
            return Err(rebuild_refused(
                lang,
                "本服务没有可重建的读模型".to_owned(),
                "this service keeps no rebuildable read model".to_owned(),
            ));
        };
        let internal = |e: &(dyn std::error::Error + 'static)| status::internal(lang, e);
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM information_schema.schemata WHERE schema_name = $1)",
        )
        .bind(&schema)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| internal(&e))?;
        if exists {
            return Err(rebuild_refused(
                lang,
                format!("模式 {schema} 已存在，请指定一个新的模式"),
                format!("schema {schema} already exists; name a fresh one"),
            ));
        }
        let producers = if request.producer_schemas.is_empty() {
            tongban_bus::rebuild::outbox_schemas(&self.pool)
                .await
                .map_err(|e| internal(&e))?
        } else {
            request.producer_schemas.clone()
        };
        let target = tongban_store::connect(&rebuild.model.database_url, &schema, 2)
            .await
            .map_err(|e| internal(&e))?;
        let built = async {
            tongban_store::migrate(&target, rebuild.model.migrator)
                .await
                .map_err(|e| internal(&e))?;
            let report =
                tongban_bus::rebuild::rebuild(&self.pool, &producers, &target, &rebuild.consumers)
                    .await
                    .map_err(|e| internal(&e))?;
            let mut read_model = Vec::with_capacity(rebuild.model.tables.len());
            for table in rebuild.model.tables {
                // Both names are plain identifiers: the schema was checked above, the tables
                // are the service's own constants.
                let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM \"{schema}\".\"{table}\""
                )))
                .fetch_one(&target)
                .await
                .map_err(|e| internal(&e))?;
                read_model.push(pb::TableRows {
                    table: (*table).to_owned(),
                    rows: u64::try_from(rows).unwrap_or(0),
                });
            }
            Ok::<_, Status>((report, read_model))
        }
        .await;
        target.close().await;
        let (report, read_model) = built?;
        Ok(pb::RebuildReadModelResponse {
            schema,
            producer_schemas: producers,
            events_read: report.events_read,
            consumers: report
                .consumers
                .into_iter()
                .map(|c| pb::ConsumerRebuild {
                    consumer: c.durable,
                    applied: c.applied,
                    rejected: c.rejected,
                    failed: c.failed,
                })
                .collect(),
            read_model,
        })
    }

    async fn dead_letter(&self, id: i64, lang: Lang) -> Result<pb::DeadLetter, Status> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| status::internal(lang, &e))?;
        match tongban_store::get_dead_letter(&mut conn, id).await {
            Ok(Some(row)) => Ok(to_pb(row)),
            Ok(None) => Err(not_found(lang)),
            Err(err) => Err(status::internal(lang, &err)),
        }
    }
}

fn not_found(lang: Lang) -> Status {
    status::not_found(lang, "该死信", "dead letter")
}

fn rebuild_refused(lang: Lang, zh: String, en: String) -> Status {
    let text = if matches!(lang, Lang::En) { en } else { zh };
    status::failed_precondition(
        text.clone(),
        vec![PreconditionViolation::new(
            "READ_MODEL_REBUILD",
            "schema",
            text,
        )],
    )
}

fn kind_to_pb(kind: &str) -> pb::DeadLetterKind {
    match kind {
        "rejected" => pb::DeadLetterKind::Rejected,
        "undecodable" => pb::DeadLetterKind::Undecodable,
        "max_deliveries" => pb::DeadLetterKind::MaxDeliveries,
        "terminated" => pb::DeadLetterKind::Terminated,
        _ => pb::DeadLetterKind::Unspecified,
    }
}

fn to_pb(row: tongban_store::DeadLetter) -> pb::DeadLetter {
    pb::DeadLetter {
        id: row.id,
        consumer: row.consumer,
        stream_sequence: u64::try_from(row.stream_seq).unwrap_or(0),
        subject: row.subject,
        event_id: row.event_id.map(|id| id.to_string()).unwrap_or_default(),
        case_number: row.case_number.unwrap_or_default(),
        kind: kind_to_pb(&row.kind).into(),
        reason: row.reason,
        deliveries: u64::try_from(row.deliveries).unwrap_or(0),
        dead_at: Some(timestamp(row.dead_at)),
        advised: row.advised_at.is_some(),
        replayed_at: row.replayed_at.map(timestamp),
        replay_result: row.replay_result.unwrap_or_default(),
    }
}

fn precondition(lang: Lang, zh: String, en: String) -> Status {
    let text = if matches!(lang, Lang::En) { en } else { zh };
    status::failed_precondition(
        text.clone(),
        vec![PreconditionViolation::new(
            "DEAD_LETTER_STATE",
            "dead_letter",
            text,
        )],
    )
}

#[tonic::async_trait]
impl OperationsService for Operations {
    #[tracing::instrument(skip_all, fields(rpc = "ListDeadLetters"))]
    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        let (_, lang) = authorize(&request, &[Role::Admin])?;
        let request = request.into_inner();
        let limit = match request.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let consumer = Some(request.consumer.trim()).filter(|c| !c.is_empty());
        // A filter names one of this service's consumers, or nothing could match.
        if consumer.is_some_and(|c| !self.replayers.contains_key(c)) {
            return Err(status::invalid_argument(
                lang,
                vec![status::FieldViolation::new(
                    "consumer",
                    lang.pick(
                        "不是本服务的消费者（见 consumers）",
                        "not a consumer of this service (see consumers)",
                    ),
                )],
            ));
        }
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| status::internal(lang, &e))?;
        let rows = tongban_store::list_dead_letters(&mut conn, consumer, i64::from(limit))
            .await
            .map_err(|e| status::internal(lang, &e))?;
        Ok(Response::new(pb::ListDeadLettersResponse {
            dead_letters: rows.into_iter().map(to_pb).collect(),
            consumers: self.replayers.keys().cloned().collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ReplayDeadLetter", dead_letter = tracing::field::Empty))]
    async fn replay_dead_letter(
        &self,
        request: Request<pb::ReplayDeadLetterRequest>,
    ) -> Result<Response<pb::ReplayDeadLetterResponse>, Status> {
        let (claims, lang) = authorize(&request, &[Role::Admin])?;
        let id = request.into_inner().id;
        tracing::Span::current().record("dead_letter", id);
        let row = self.dead_letter(id, lang).await?;
        let Some(replay) = self.replayers.get(&row.consumer) else {
            return Err(precondition(
                lang,
                format!("消费者 {} 不在本服务中运行，无法重放", row.consumer),
                format!(
                    "consumer {} does not run in this service; cannot replay",
                    row.consumer
                ),
            ));
        };
        let applied = match replay(id).await {
            Ok(Replayed::Applied) => true,
            Ok(Replayed::AlreadyApplied) => false,
            Err(ReplayError::NotFound(_)) => return Err(not_found(lang)),
            Err(ReplayError::AlreadyReplayed(_)) => {
                return Err(precondition(
                    lang,
                    format!("死信 {id} 已重放过"),
                    format!("dead letter {id} was already replayed"),
                ));
            }
            Err(ReplayError::Undecodable { reason, .. }) => {
                return Err(precondition(
                    lang,
                    format!("死信 {id} 不是可解析的事件，无法重放：{reason}"),
                    format!("dead letter {id} holds no event and cannot be replayed: {reason}"),
                ));
            }
            Err(ReplayError::Rejected(reason)) => {
                return Err(precondition(
                    lang,
                    format!("处理程序再次拒绝了该事件：{reason}"),
                    format!("the handler rejected the event again: {reason}"),
                ));
            }
            Err(ReplayError::Failed(err)) => {
                tracing::warn!(error = %err, dead_letter = id, "replay failed; the dead letter is unchanged");
                return Err(status::unavailable(
                    lang,
                    "处理程序暂时失败，死信未变，请稍后重试",
                    "the handler failed for now; the dead letter is unchanged, try again later",
                ));
            }
            Err(err @ ReplayError::Store(_)) => return Err(status::internal(lang, &err)),
        };
        tracing::info!(
            dead_letter = id,
            consumer = %row.consumer,
            actor = %claims.user,
            applied,
            "dead letter replayed by an operator"
        );
        let dead_letter = self.dead_letter(id, lang).await?;
        Ok(Response::new(pb::ReplayDeadLetterResponse {
            dead_letter: Some(dead_letter),
            applied,
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RebuildReadModel", schema = tracing::field::Empty))]
    async fn rebuild_read_model(
        &self,
        request: Request<pb::RebuildReadModelRequest>,
    ) -> Result<Response<pb::RebuildReadModelResponse>, Status> {
        let (claims, lang) = authorize(&request, &[Role::Admin])?;
        let request = request.into_inner();
        tracing::Span::current().record("schema", request.schema.trim());
        let response = self.rebuild_into(request, lang).await?;
        tracing::info!(
            schema = %response.schema,
            events_read = response.events_read,
            actor = %claims.user,
            "read model rebuilt by an operator"
        );
        Ok(Response::new(response))
    }
}
