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

/// Lanes a consumer works in parallel: events of one case always go to the same lane, so a
/// case's events are applied in the order the stream holds them while other cases go on.
const LANES: usize = 4;
/// Most deliveries one lane applies in one transaction (one commit for all of them).
const BATCH: usize = 64;

/// A delivery with its decoded envelope, on its way to a lane.
struct Delivery {
    message: Message,
    subject: String,
    /// Why the payload is no event, when it is not (terminated without touching the database).
    event: Result<(Event, Uuid), String>,
}

/// Consumes until `shutdown` is cancelled; the deliveries in hand are finished first.
///
/// Deliveries are spread over [`LANES`] lanes by case id (per-case order holds); each lane
/// applies up to [`BATCH`] waiting deliveries in one transaction — each recorded in the inbox,
/// so a redelivery after a crash changes nothing twice — then acknowledges them. When any
/// delivery of a batch fails, the batch is rolled back and applied again one delivery per
/// transaction, so one bad event never holds up or undoes the others.
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
    let handler = std::sync::Arc::new(handler);
    let mut lanes = Vec::with_capacity(LANES);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..LANES {
        let (tx, rx) = tokio::sync::mpsc::channel::<Delivery>(BATCH * 2);
        lanes.push(tx);
        workers.spawn(run_lane(
            pool.clone(),
            spec.clone(),
            std::sync::Arc::clone(&handler),
            rx,
        ));
    }
    let result = dispatch(&consumer, &spec, root_len, &lanes, &shutdown).await;
    // Closing the lanes lets each finish what it holds, then stop.
    drop(lanes);
    while workers.join_next().await.is_some() {}
    result
}

/// Reads the consumer's deliveries and hands each to the lane of its case.
async fn dispatch(
    consumer: &async_nats::jetstream::consumer::Consumer<pull::Config>,
    spec: &ConsumerSpec,
    root_len: usize,
    lanes: &[tokio::sync::mpsc::Sender<Delivery>],
    shutdown: &CancellationToken,
) -> Result<(), BusError> {
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
                    let event = decode(&message);
                    let lane = match &event {
                        Ok((event, _)) => lane_of(&event.case_id),
                        Err(_) => 0,
                    };
                    let delivery = Delivery {
                        message,
                        subject,
                        event,
                    };
                    if lanes[lane].send(delivery).await.is_err() {
                        // A lane only stops when the consumer does.
                        break 'reconnect;
                    }
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

/// The envelope and its id, or why the payload is no event.
fn decode(message: &Message) -> Result<(Event, Uuid), String> {
    let event =
        Event::decode(message.payload.as_ref()).map_err(|e| format!("undecodable event: {e}"))?;
    let event_id = Uuid::parse_str(&event.event_id)
        .map_err(|_| format!("event id {:?} is not a UUID", event.event_id))?;
    Ok((event, event_id))
}

/// The lane of a case: a stable hash of its id, so one case always lands in one lane.
fn lane_of(case_id: &str) -> usize {
    // FNV-1a: stable across runs and processes, unlike the std hasher's random keys.
    let hash = case_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % LANES as u64).unwrap_or(0)
}

/// One lane: takes what is waiting (at most [`BATCH`]) and applies it as one batch, until its
/// channel closes and is drained.
async fn run_lane<H: EventHandler>(
    pool: PgPool,
    spec: ConsumerSpec,
    handler: std::sync::Arc<H>,
    mut rx: tokio::sync::mpsc::Receiver<Delivery>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        apply_batch(&pool, &spec, handler.as_ref(), std::mem::take(&mut batch)).await;
    }
}

/// Applies `batch` in one transaction and ends each delivery; falls back to one transaction per
/// delivery when any of them fails.
async fn apply_batch<H: EventHandler>(
    pool: &PgPool,
    spec: &ConsumerSpec,
    handler: &H,
    batch: Vec<Delivery>,
) {
    let (events, malformed): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .partition(|delivery| delivery.event.is_ok());
    for delivery in malformed {
        if let Err(reason) = &delivery.event {
            let span = consume_span(spec, &delivery);
            finish(&delivery.message, Outcome::Term(reason.clone()), &span).await;
        }
    }
    if events.len() > 1 {
        let spans: Vec<tracing::Span> = events.iter().map(|d| consume_span(spec, d)).collect();
        match handle_all(pool, spec, handler, &events, &spans).await {
            Ok(()) => {
                for (delivery, span) in events.iter().zip(&spans) {
                    finish(&delivery.message, Outcome::Ack, span).await;
                }
                return;
            }
            Err(err) => {
                tracing::debug!(
                    durable = %spec.durable,
                    error = %err,
                    "batch failed; applying its deliveries one at a time"
                );
            }
        }
    }
    for delivery in &events {
        deliver(pool, spec, handler, delivery).await;
    }
}

/// All of `events` in one transaction: recorded in the inbox and handled, or none of it.
async fn handle_all<H: EventHandler>(
    pool: &PgPool,
    spec: &ConsumerSpec,
    handler: &H,
    events: &[Delivery],
    spans: &[tracing::Span],
) -> Result<(), HandleError> {
    let mut tx = pool.begin().await?;
    for (delivery, span) in events.iter().zip(spans) {
        let Ok((event, event_id)) = &delivery.event else {
            continue;
        };
        async {
            if tongban_store::record_delivery(&mut tx, &spec.durable, *event_id, &delivery.subject)
                .await?
            {
                handler.handle(&mut tx, event, &delivery.subject).await?;
            }
            Ok::<_, HandleError>(())
        }
        .instrument(span.clone())
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The span of one delivery, in the trace its headers carry.
fn consume_span(spec: &ConsumerSpec, delivery: &Delivery) -> tracing::Span {
    let message = &delivery.message;
    let span = tracing::info_span!(
        "consume",
        otel.name = %format!("consume {}", delivery.subject),
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
    if let Ok((event, _)) = &delivery.event {
        span.record("tongban.case_number", event.case_number.as_str());
        span.record("messaging.message.id", event.event_id.as_str());
    }
    span
}

/// One delivery in its own transaction, ended by its outcome.
async fn deliver<H: EventHandler>(
    pool: &PgPool,
    spec: &ConsumerSpec,
    handler: &H,
    delivery: &Delivery,
) {
    let span = consume_span(spec, delivery);
    let outcome = async {
        let (event, event_id) = match &delivery.event {
            Ok(decoded) => decoded,
            Err(reason) => return Outcome::Term(reason.clone()),
        };
        match handle_once(pool, spec, handler, event, *event_id, &delivery.subject).await {
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
    finish(&delivery.message, outcome, &span).await;
}

/// Ends a delivery: exactly one of ack, nak with a growing delay, or term.
async fn finish(message: &Message, outcome: Outcome, span: &tracing::Span) {
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
