//! 消费死信: what the server knows about given-up deliveries, and replaying them.
//!
//! The bus keeps a stream of its own, `<stream>_ADVISORIES`, next to the main stream, that
//! captures the server's `MAX_DELIVERIES` and `MSG_TERMINATED` advisories for the main
//! stream's consumers (kept 30 days at most). Each consumer runs a recorder over the
//! advisories about itself ([`run_recorder`]): the consumer writes the dead letter itself
//! before it terminates a delivery (see [`crate::consumer`]); the recorder confirms that row,
//! and writes it when the consumer could not — a handler that panicked or a process that died
//! on the last try, a row that could not be written on the last try.
//!
//! An operator replays a dead letter through [`replay_dead_letter`]: the stored event goes to
//! the consumer's handler through the normal inbox path, in one transaction with the mark
//! that it was replayed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{AckKind, consumer::pull, stream};
use futures::StreamExt as _;
use prost::Message as _;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_proto::events::v1::Event;
use tongban_store::{DeadKind, NewDeadLetter, StoreError};
use uuid::Uuid;

use crate::{Bus, BusError, EventHandler, HandleError};

/// How long the advisory stream keeps an advisory.
const ADVISORY_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most bytes the advisory stream keeps (the oldest go first).
const ADVISORY_MAX_BYTES: i64 = 64 * 1024 * 1024;

/// The name of the advisory stream next to `stream`.
#[must_use]
pub fn advisory_stream_name(stream: &str) -> String {
    format!("{stream}_ADVISORIES")
}

/// Creates (or opens) the advisory stream of `main`, with a retention limit.
pub(crate) async fn ensure_advisory_stream(
    jetstream: &async_nats::jetstream::Context,
    main: &str,
) -> Result<(), BusError> {
    let name = advisory_stream_name(main);
    jetstream
        .get_or_create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![
                format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{main}.*"),
                format!("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{main}.*"),
            ],
            storage: stream::StorageType::File,
            max_age: ADVISORY_MAX_AGE,
            max_bytes: ADVISORY_MAX_BYTES,
            discard: stream::DiscardPolicy::Old,
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::Stream {
            stream: name,
            source: Box::new(e),
        })?;
    Ok(())
}

/// The fields of a `MAX_DELIVERIES` or `MSG_TERMINATED` advisory this recorder uses.
#[derive(Debug, serde::Deserialize)]
struct Advisory {
    stream_seq: u64,
    #[serde(default)]
    deliveries: u64,
}

/// Records what the server reports about `durable`'s given-up deliveries until `stop` is
/// cancelled.
///
/// # Errors
/// The advisory consumer cannot be created or read.
pub async fn run_recorder(
    bus: Bus,
    pool: PgPool,
    durable: String,
    stop: CancellationToken,
) -> Result<(), BusError> {
    let main = bus.config().stream.clone();
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| BusError::Consumer {
        durable: format!("{durable}-advisories"),
        source: e,
    };
    let advisories = bus
        .jetstream()
        .get_stream(advisory_stream_name(&main))
        .await
        .map_err(|e| failed(Box::new(e)))?;
    // One consumer of both kinds of advisory about `durable` (filter_subjects, nats-server
    // ≥ 2.10). It reads the advisory stream from its start: recording an advisory again only
    // confirms the row it wrote the first time.
    let name = format!("{durable}-advisories");
    let consumer = advisories
        .create_consumer(pull::Config {
            durable_name: Some(name.clone()),
            filter_subjects: ["MAX_DELIVERIES", "MSG_TERMINATED"]
                .iter()
                .map(|kind| format!("$JS.EVENT.ADVISORY.CONSUMER.{kind}.{main}.{durable}"))
                .collect(),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .map_err(|e| failed(Box::new(e)))?;
    // Earlier versions kept one advisory consumer per kind (nats-server 2.9 took one filter
    // per consumer); the new one has taken over what they held.
    for legacy in ["max-deliveries", "msg-terminated"] {
        let _ = advisories
            .delete_consumer(&format!("{durable}-{legacy}"))
            .await;
    }
    let mut messages = consumer.messages().await.map_err(|e| failed(Box::new(e)))?;
    let stream = bus
        .jetstream()
        .get_stream(&main)
        .await
        .map_err(|e| failed(Box::new(e)))?;
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(err)) if err.kind() == pull::MessagesErrorKind::ConsumerDeleted => {
                return Err(failed(Box::new(err)));
            }
            Some(Err(err)) => {
                tracing::warn!(%durable, error = %err, "advisory stream error");
                continue;
            }
            None => return Err(failed("advisory stream ended".into())),
        };
        let kind = if message.subject.as_str().contains(".MAX_DELIVERIES.") {
            DeadKind::MaxDeliveries
        } else {
            DeadKind::Terminated
        };
        let advisory: Advisory = match serde_json::from_slice(&message.payload) {
            Ok(advisory) => advisory,
            Err(err) => {
                tracing::warn!(%durable, error = %err, "unreadable advisory skipped");
                let _ = message.ack().await;
                continue;
            }
        };
        let ack = match record_advisory(&bus, &stream, &pool, &durable, kind, &advisory).await {
            Ok(()) => message.ack().await,
            Err(err) => {
                tracing::warn!(%durable, error = %err, "advisory not recorded; will retry");
                message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(5))))
                    .await
            }
        };
        if let Err(err) = ack {
            tracing::warn!(%durable, error = %err, "advisory acknowledgement failed");
        }
    }
}

/// Confirms the consumer's row for the advised message, or writes it from the stream.
async fn record_advisory(
    bus: &Bus,
    stream: &async_nats::jetstream::stream::Stream,
    pool: &PgPool,
    durable: &str,
    kind: DeadKind,
    advisory: &Advisory,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if tongban_store::mark_advised(&mut tx, durable, advisory.stream_seq, advisory.deliveries)
        .await?
    {
        tx.commit().await?;
        return Ok(());
    }
    let (subject, payload) = match stream.get_raw_message(advisory.stream_seq).await {
        Ok(raw) => {
            let root_len = bus.config().subject_root.len() + 1;
            let subject = raw
                .subject
                .as_str()
                .get(root_len..)
                .unwrap_or_default()
                .to_owned();
            (subject, raw.payload.to_vec())
        }
        Err(err) => {
            tracing::warn!(%durable, seq = advisory.stream_seq, error = %err, "advised message no longer in the stream");
            (String::new(), Vec::new())
        }
    };
    let event = Event::decode(payload.as_slice()).ok();
    let event_id = event
        .as_ref()
        .and_then(|e| Uuid::parse_str(&e.event_id).ok());
    if let Some(id) = event_id
        && tongban_store::delivery_recorded(&mut tx, durable, id).await?
    {
        // In the inbox: it took effect, only its acknowledgement was lost.
        tx.commit().await?;
        return Ok(());
    }
    let reason = match kind {
        DeadKind::MaxDeliveries => format!(
            "服务器通告：已投递 {} 次，消费者未留下原因（处理中崩溃或超时）/ server advisory: given up after {} deliveries; the consumer left no reason (it crashed or timed out)",
            advisory.deliveries, advisory.deliveries
        ),
        _ => "服务器通告：消息被终止，消费者未留下原因 / server advisory: terminated; the consumer left no reason".to_owned(),
    };
    let id = tongban_store::record_dead_letter(
        &mut tx,
        &NewDeadLetter {
            consumer: durable,
            stream_seq: advisory.stream_seq,
            subject: &subject,
            event_id,
            case_number: event.as_ref().map(|e| e.case_number.as_str()),
            payload: &payload,
            kind,
            reason: &reason,
            deliveries: advisory.deliveries,
        },
    )
    .await?;
    tongban_store::mark_advised(&mut tx, durable, advisory.stream_seq, advisory.deliveries).await?;
    tx.commit().await?;
    tracing::error!(%durable, dead_letter = id, alert = "consumer_dead_letter", %reason, "event dead-lettered (from the server's advisory)");
    Ok(())
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// The handler applied the event; it is now in the inbox.
    Applied,
    /// The event was already in the consumer's inbox: it had taken effect, nothing was done.
    AlreadyApplied,
}

/// Why a replay did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// No dead letter of this consumer has that id.
    #[error("no dead letter {0}")]
    NotFound(i64),
    /// It was replayed before.
    #[error("dead letter {0} was already replayed")]
    AlreadyReplayed(i64),
    /// Its payload is no event: there is nothing to hand to the handler.
    #[error("dead letter {id} holds no event: {reason}")]
    Undecodable {
        /// Row id.
        id: i64,
        /// Why.
        reason: String,
    },
    /// The handler rejected the event again.
    #[error("the handler rejected the event again: {0}")]
    Rejected(String),
    /// The handler failed transiently; the dead letter is unchanged.
    #[error("the handler failed; try again later")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReplayError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Sql(err))
    }
}

/// Hands dead letter `id` of `consumer` to `handler` through the inbox, in one transaction with
/// the mark that it was replayed. A dead letter's event was never recorded in the inbox (its
/// transaction rolled back), so the inbox lets it through; if it is there after all — it took
/// effect and only its end was lost — nothing is applied twice and the replay says so.
///
/// # Errors
/// See [`ReplayError`]; on any error nothing changes.
pub async fn replay_dead_letter<H: EventHandler>(
    pool: &PgPool,
    consumer: &str,
    handler: &H,
    id: i64,
) -> Result<Replayed, ReplayError> {
    let mut tx = pool.begin().await?;
    let Some(dead) = tongban_store::lock_dead_letter(&mut tx, id).await? else {
        return Err(ReplayError::NotFound(id));
    };
    if dead.consumer != consumer {
        return Err(ReplayError::NotFound(id));
    }
    if dead.replayed_at.is_some() {
        return Err(ReplayError::AlreadyReplayed(id));
    }
    let undecodable = |reason: String| ReplayError::Undecodable { id, reason };
    let event = Event::decode(dead.payload.as_slice()).map_err(|e| undecodable(e.to_string()))?;
    let event_id = Uuid::parse_str(&event.event_id)
        .map_err(|_| undecodable(format!("event id {:?} is not a UUID", event.event_id)))?;
    if !tongban_store::record_delivery(&mut tx, consumer, event_id, &dead.subject).await? {
        tongban_store::mark_replayed(&mut tx, id, "already_applied").await?;
        tx.commit().await?;
        return Ok(Replayed::AlreadyApplied);
    }
    match handler.handle(&mut tx, &event, &dead.subject).await {
        Ok(()) => {}
        Err(HandleError::Reject(reason)) => return Err(ReplayError::Rejected(reason)),
        Err(HandleError::Retry(err)) => return Err(ReplayError::Failed(err)),
    }
    tongban_store::mark_replayed(&mut tx, id, "applied").await?;
    tx.commit().await?;
    tracing::info!(%consumer, dead_letter = id, event_id = %event_id, "dead letter replayed");
    Ok(Replayed::Applied)
}

/// A replay of one consumer's dead letters by id, with the handler's type erased so that a
/// service's consumers of different handler types sit in one registry.
pub type Replayer = Arc<
    dyn Fn(i64) -> Pin<Box<dyn Future<Output = Result<Replayed, ReplayError>> + Send>>
        + Send
        + Sync,
>;

/// The [`Replayer`] of `consumer`, handing events to `handler`.
#[must_use]
pub fn replayer<H: EventHandler>(pool: PgPool, consumer: String, handler: Arc<H>) -> Replayer {
    Arc::new(move |id| {
        let pool = pool.clone();
        let consumer = consumer.clone();
        let handler = Arc::clone(&handler);
        Box::pin(async move { replay_dead_letter(&pool, &consumer, handler.as_ref(), id).await })
    })
}
