//! Durable JetStream consumers that are idempotent on `event_id`: each delivery is recorded in
//! the inbox in the same transaction as its effects, so a redelivery after a crash changes
//! nothing twice.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{AckKind, consumer::pull, message::Message};
use futures::StreamExt as _;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tongban_proto::events::v1::Event;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::{Bus, BusError};

/// What a consumer listens to.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Durable consumer name, also the inbox's consumer label (e.g. `review-routed`).
    pub durable: String,
    /// Subject filter below the root, e.g. `case.>`.
    pub filter: String,
}

/// Why a handler did not handle an event.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A transient failure (database unavailable…): the delivery is retried later.
    #[error("transient failure, will retry")]
    Retry(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The event can never be handled (malformed, refers to nothing): it is terminated.
    #[error("event rejected: {0}")]
    Reject(String),
}

impl From<sqlx::Error> for HandleError {
    fn from(err: sqlx::Error) -> Self {
        Self::Retry(Box::new(err))
    }
}

impl From<tongban_store::StoreError> for HandleError {
    fn from(err: tongban_store::StoreError) -> Self {
        Self::Retry(Box::new(err))
    }
}

/// Handles one event inside the transaction that also records its delivery.
pub trait EventHandler: Send + Sync + 'static {
    /// Applies `event` (received on `subject`, the suffix below the root) using `conn`.
    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a Event,
        subject: &'a str,
    ) -> impl Future<Output = Result<(), HandleError>> + Send + 'a;
}

/// Creates (or opens) the durable consumer. Call before serving so no event is missed.
///
/// # Errors
/// The consumer cannot be created.
pub async fn open_consumer(
    bus: &Bus,
    spec: &ConsumerSpec,
) -> Result<async_nats::jetstream::consumer::Consumer<pull::Config>, BusError> {
    let stream = bus
        .jetstream()
        .get_stream(&bus.config().stream)
        .await
        .map_err(|e| BusError::Consumer {
            durable: spec.durable.clone(),
            source: Box::new(e),
        })?;
    stream
        .get_or_create_consumer(
            &spec.durable,
            pull::Config {
                durable_name: Some(spec.durable.clone()),
                filter_subject: bus.subject(&spec.filter),
                ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                max_ack_pending: 1000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| BusError::Consumer {
            durable: spec.durable.clone(),
            source: Box::new(e),
        })
}

/// Consumes until `shutdown` is cancelled; the message in hand is finished first.
///
/// # Errors
/// The consumer cannot be created or its message stream cannot be opened.
pub async fn run_consumer<H: EventHandler>(
    bus: Bus,
    pool: PgPool,
    spec: ConsumerSpec,
    handler: H,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let consumer = open_consumer(&bus, &spec).await?;
    let root_len = bus.config().subject_root.len() + 1;
    'reconnect: loop {
        let mut messages = consumer.messages().await.map_err(|e| BusError::Consumer {
            durable: spec.durable.clone(),
            source: Box::new(e),
        })?;
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => break 'reconnect,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    let subject = message
                        .subject
                        .as_str()
                        .get(root_len..)
                        .unwrap_or_default()
                        .to_owned();
                    deliver(&pool, &spec, &handler, &message, &subject).await;
                }
                Some(Err(err)) => {
                    tracing::warn!(durable = %spec.durable, error = %err, "consumer stream error");
                }
                None => {
                    tracing::warn!(durable = %spec.durable, "consumer stream ended; reopening");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue 'reconnect;
                }
            }
        }
    }
    Ok(())
}

async fn deliver<H: EventHandler>(
    pool: &PgPool,
    spec: &ConsumerSpec,
    handler: &H,
    message: &Message,
    subject: &str,
) {
    let span = tracing::info_span!(
        "consume",
        otel.name = %format!("consume {subject}"),
        messaging.system = "nats",
        messaging.destination.name = %message.subject,
        messaging.consumer.group.name = %spec.durable,
        tongban.case_number = tracing::field::Empty,
        messaging.message.id = tracing::field::Empty,
    );
    if let Some(headers) = &message.headers {
        let pairs: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(name, values)| {
                values
                    .first()
                    .map(|v| (name.to_string(), v.as_str().to_owned()))
            })
            .collect();
        tongban_telemetry::set_parent_from_headers(
            &span,
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }
    let outcome = async {
        let event = match Event::decode(message.payload.as_ref()) {
            Ok(event) => event,
            Err(err) => return Outcome::Term(format!("undecodable event: {err}")),
        };
        tracing::Span::current().record("tongban.case_number", event.case_number.as_str());
        tracing::Span::current().record("messaging.message.id", event.event_id.as_str());
        let Ok(event_id) = Uuid::parse_str(&event.event_id) else {
            return Outcome::Term(format!("event id {:?} is not a UUID", event.event_id));
        };
        match handle_once(pool, spec, handler, &event, event_id, subject).await {
            Ok(true) => Outcome::Ack,
            Ok(false) => {
                tracing::debug!("duplicate delivery ignored");
                Outcome::Ack
            }
            Err(HandleError::Reject(reason)) => Outcome::Term(reason),
            Err(HandleError::Retry(err)) => {
                tracing::warn!(error = %err, "event handling failed; will retry");
                Outcome::Retry
            }
        }
    }
    .instrument(span.clone())
    .await;
    let _enter = span.enter();
    let ack = match outcome {
        Outcome::Ack => message.ack().await,
        Outcome::Retry => {
            let delivered = message.info().map(|i| i.delivered).unwrap_or(1).clamp(1, 6);
            let delay =
                Duration::from_millis(250 * 2u64.pow(u32::try_from(delivered).unwrap_or(6)));
            message.ack_with(AckKind::Nak(Some(delay))).await
        }
        Outcome::Term(reason) => {
            tracing::error!(%reason, "event terminated");
            message.ack_with(AckKind::Term).await
        }
    };
    if let Err(err) = ack {
        tracing::warn!(error = %err, "acknowledgement failed; the event will be redelivered");
    }
}

enum Outcome {
    Ack,
    Retry,
    Term(String),
}

/// Records the delivery and applies it in one transaction. `Ok(false)`: already handled.
async fn handle_once<H: EventHandler>(
    pool: &PgPool,
    spec: &ConsumerSpec,
    handler: &H,
    event: &Event,
    event_id: Uuid,
    subject: &str,
) -> Result<bool, HandleError> {
    let mut tx = pool.begin().await?;
    if !tongban_store::record_delivery(&mut tx, &spec.durable, event_id, subject).await? {
        return Ok(false);
    }
    handler.handle(&mut tx, event, subject).await?;
    tx.commit().await?;
    Ok(true)
}
