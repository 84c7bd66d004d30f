//! `tongban.ops.v1.OperationsService`, served by every service for itself: the dead letters of
//! its own consumers (消费死信) and their replay. Admin role only.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::PgPool;
use tongban_access::auth::{Role, authorize};
use tongban_access::convert::timestamp;
use tongban_access::status;
use tongban_bus::{ReplayError, Replayed, Replayer};
use tongban_domain::i18n::Lang;
use tongban_proto::ops::v1 as pb;
use tongban_proto::ops::v1::operations_service_server::OperationsService;
use tonic::{Request, Response, Status};

/// Rows a listing returns when the caller names no limit.
const DEFAULT_LIMIT: u32 = 50;
/// Most rows one listing returns.
const MAX_LIMIT: u32 = 500;

/// The operations of one service: its schema and a replay for each of its consumers.
#[derive(Clone)]
pub struct Operations {
    pool: PgPool,
    replayers: Arc<BTreeMap<String, Replayer>>,
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
        }
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
        vec![status::PreconditionViolation::new(
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
}
