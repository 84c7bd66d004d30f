//! Durable JetStream consumers that are idempotent on `event_id`: each delivery is recorded in
//! the inbox in the same transaction as its effects, so a redelivery after a crash changes
//! nothing twice.
//!
//! Every durable consumer is bounded: a delivery is tried at most
//! [`ConsumerOptions::max_deliver`] times, with a growing nak delay between tries. A delivery
//! that still fails on its last allowed try, that its handler rejects, or whose payload is no
//! event is a dead letter (消费死信). Where it is recorded, and why there:
//!
//! - **The consumer records it itself**, in its own transaction, *before* it ends the delivery
//!   (term). The row and the end of the delivery are ordered: if the row cannot be written the
//!   delivery is nak'ed instead of terminated, so it comes back and nothing is lost silently.
//!   Only the consumer knows why (the rejection, the last error) and has the payload in hand.
//! - **The recorder** ([`crate::dead_letter`]) reads the server's `MAX_DELIVERIES` and
//!   `MSG_TERMINATED` advisories, captured in the `<stream>_ADVISORIES` stream, and fills in
//!   what only the server knows: that a message was given up while no consumer could say so —
//!   its handler panicked or its process died on the last try, or the row could not be written
//!   on the last try. It marks a row the consumer wrote as confirmed by the server, and writes
//!   the row itself (payload read back from the stream) when there is none. A message whose
//!   event is in the inbox took effect and is not a dead letter.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{AckKind, consumer::pull, message::Message};
use futures::StreamExt as _;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tongban_proto::events::v1::{Event, event::Body};
use tongban_store::{DeadKind, NewDeadLetter};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::{Bus, BusError};

/// What a consumer listens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Durable consumer name, also the inbox's consumer label (e.g. `review-case-events`).
    pub durable: String,
    /// The subjects below the root the consumer receives (JetStream `filter_subjects`, one
    /// consumer with several filters, nats-server ≥ 2.10), e.g. `["case.routed",
    /// "case.withdrawn"]`: exactly the event types its handler acts on, so nothing else is
    /// delivered to it. Build them with [`ConsumerSpec::for_events`] from the event bodies
    /// ([`crate::subject_of`]); wildcards such as `case.>` also work. Never empty.
    pub filter_subjects: Vec<String>,
}

impl ConsumerSpec {
    /// The consumer `durable` of exactly the event types of `bodies` (each subject is
    /// [`crate::subject_of`] its body; the bodies' contents do not matter, pass
    /// `Body::X(Default::default())`), in that order without repeats.
    #[must_use]
    pub fn for_events(durable: &str, bodies: &[Body]) -> Self {
        let mut filter_subjects: Vec<String> = Vec::with_capacity(bodies.len());
        for body in bodies {
            let subject = crate::subject_of(body);
            if !filter_subjects.iter().any(|s| s == subject) {
                filter_subjects.push(subject.to_owned());
            }
        }
        Self {
            durable: durable.to_owned(),
            filter_subjects,
        }
    }
}

/// The subject filters a consumer's configuration holds, below `root` and sorted: the server
/// keeps a single filter in `filter_subject` and several in `filter_subjects`. A filter outside
/// the root is returned whole.
#[must_use]
pub fn consumer_filters(
    config: &async_nats::jetstream::consumer::Config,
    root: &str,
) -> Vec<String> {
    let prefix = format!("{root}.");
    let mut filters: Vec<String> = std::iter::once(&config.filter_subject)
        .filter(|f| !f.is_empty())
        .chain(&config.filter_subjects)
        .map(|f| f.strip_prefix(&prefix).unwrap_or(f).to_owned())
        .collect();
    filters.sort();
    filters.dedup();
    filters
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

impl<H: EventHandler> EventHandler for Arc<H> {
    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a Event,
        subject: &'a str,
    ) -> impl Future<Output = Result<(), HandleError>> + Send + 'a {
        (**self).handle(conn, event, subject)
    }
}

/// How hard a consumer tries before a delivery is a dead letter. The same for every consumer of
/// a deployment (kept out of [`ConsumerSpec`], which services build by struct literal);
/// [`ConsumerOptions::from_env`] reads overrides, tests set short delays directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerOptions {
    /// Deliveries of one message at most (JetStream `max_deliver`); the last failing one is a
    /// dead letter. Env `TONGBAN_CONSUMER_MAX_DELIVER`, default 10.
    pub max_deliver: i64,
    /// Nak delay after the first failed delivery; doubled after each further one. Env
    /// `TONGBAN_CONSUMER_RETRY_DELAY_MS`, default 500 ms.
    pub retry_delay: Duration,
    /// Longest nak delay. Env `TONGBAN_CONSUMER_RETRY_DELAY_MAX_MS`, default 60 s.
    pub retry_delay_max: Duration,
    /// How long the server waits for a delivery's end before it redelivers it (a crashed or
    /// stuck handler). Env `TONGBAN_CONSUMER_ACK_WAIT_MS`, default 30 s.
    pub ack_wait: Duration,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            max_deliver: 10,
            retry_delay: Duration::from_millis(500),
            retry_delay_max: Duration::from_secs(60),
            ack_wait: Duration::from_secs(30),
        }
    }
}

impl ConsumerOptions {
    /// The defaults with the `TONGBAN_CONSUMER_*` environment overrides applied; a value that
    /// is not a positive whole number is ignored with a warning.
    #[must_use]
    pub fn from_env() -> Self {
        fn var(name: &str) -> Option<u64> {
            let raw = std::env::var(name).ok()?;
            match raw.trim().parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    tracing::warn!(%name, value = %raw, "ignored: not a positive whole number");
                    None
                }
            }
        }
        let mut options = Self::default();
        if let Some(n) = var("TONGBAN_CONSUMER_MAX_DELIVER") {
            options.max_deliver = i64::try_from(n).unwrap_or(i64::MAX);
        }
        if let Some(ms) = var("TONGBAN_CONSUMER_RETRY_DELAY_MS") {
            options.retry_delay = Duration::from_millis(ms);
        }
        if let Some(ms) = var("TONGBAN_CONSUMER_RETRY_DELAY_MAX_MS") {
            options.retry_delay_max = Duration::from_millis(ms);
        }
        if let Some(ms) = var("TONGBAN_CONSUMER_ACK_WAIT_MS") {
            options.ack_wait = Duration::from_millis(ms);
        }
        options
    }

    /// The nak delay after delivery number `delivered` (1-based) failed.
    #[must_use]
    pub fn retry_delay_after(&self, delivered: u64) -> Duration {
        let doublings = u32::try_from(delivered.saturating_sub(1).min(20)).unwrap_or(20);
        self.retry_delay
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.retry_delay_max)
    }
}

/// Creates (or opens) the durable consumer with [`ConsumerOptions::from_env`]. Call before
/// serving so no event is missed.
///
/// # Errors
/// The consumer cannot be created.
pub async fn open_consumer(
    bus: &Bus,
    spec: &ConsumerSpec,
) -> Result<async_nats::jetstream::consumer::Consumer<pull::Config>, BusError> {
    open_consumer_with(bus, spec, &ConsumerOptions::from_env()).await
}

/// Creates the durable consumer, or brings an existing one to `spec` and `options`: its subject
/// filters (a consumer created by an older version with one wide filter such as `case.>` is
/// narrowed to the spec's list), `max_deliver` and `ack_wait`.
///
/// # Errors
/// The spec has no subject filter, the stream cannot be read, or the server refuses to create
/// or update the consumer.
pub async fn open_consumer_with(
    bus: &Bus,
    spec: &ConsumerSpec,
    options: &ConsumerOptions,
) -> Result<async_nats::jetstream::consumer::Consumer<pull::Config>, BusError> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| BusError::Consumer {
        durable: spec.durable.clone(),
        source,
    };
    if spec.filter_subjects.is_empty() || spec.filter_subjects.iter().any(String::is_empty) {
        // An empty list would deliver every subject of the stream.
        return Err(failed(
            "no subject filter (or an empty one) in the spec".into(),
        ));
    }
    let stream = bus
        .jetstream()
        .get_stream(&bus.config().stream)
        .await
        .map_err(|e| failed(Box::new(e)))?;
    let config = pull::Config {
        durable_name: Some(spec.durable.clone()),
        filter_subjects: spec
            .filter_subjects
            .iter()
            .map(|subject| bus.subject(subject))
            .collect(),
        ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
        ack_wait: options.ack_wait,
        max_deliver: options.max_deliver,
        max_ack_pending: 1000,
        ..Default::default()
    };
    // Create or update: a durable of that name with other filters or bounds is brought to
    // these (nats-server ≥ 2.10 edits filters in place, keeping the consumer's position).
    stream
        .create_consumer(config)
        .await
        .map_err(|e| failed(Box::new(e)))
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

/// What every lane of one consumer shares.
struct Lane<H> {
    pool: PgPool,
    spec: ConsumerSpec,
    handler: Arc<H>,
    options: ConsumerOptions,
    /// The bound the server holds for this consumer (`max_deliver`, -1 for none).
    max_deliver: i64,
}

/// Consumes with [`ConsumerOptions::from_env`] until `shutdown` is cancelled; see
/// [`run_consumer_with`].
///
/// # Errors
/// As [`run_consumer_with`].
pub async fn run_consumer<H: EventHandler>(
    bus: Bus,
    pool: PgPool,
    spec: ConsumerSpec,
    handler: H,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    run_consumer_with(
        bus,
        pool,
        spec,
        Arc::new(handler),
        ConsumerOptions::from_env(),
        shutdown,
    )
    .await
}

/// Consumes until `shutdown` is cancelled; the deliveries in hand are finished first.
///
/// Deliveries are spread over [`LANES`] lanes by case id (per-case order holds); each lane
/// applies up to [`BATCH`] waiting deliveries in one transaction — each recorded in the inbox,
/// so a redelivery after a crash changes nothing twice — then acknowledges them. When any
/// delivery of a batch fails, the batch is rolled back and applied again one delivery per
/// transaction, so one bad event never holds up or undoes the others. Beside the lanes runs
/// the dead-letter recorder of this consumer's advisories ([`crate::dead_letter`]).
///
/// # Errors
/// The consumer cannot be created, its message stream cannot be opened, the server deleted
/// it, a lane panicked, or the recorder stopped: the consumer is down and its supervisor
/// restarts it.
pub async fn run_consumer_with<H: EventHandler>(
    bus: Bus,
    pool: PgPool,
    spec: ConsumerSpec,
    handler: Arc<H>,
    options: ConsumerOptions,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let consumer = open_consumer_with(&bus, &spec, &options).await?;
    let max_deliver = consumer.cached_info().config.max_deliver;
    let root_len = bus.config().subject_root.len() + 1;
    let lane = Arc::new(Lane {
        pool: pool.clone(),
        spec: spec.clone(),
        handler,
        options,
        max_deliver,
    });
    // Stops the recorder when the lanes stop, whatever the reason.
    let stop = shutdown.child_token();
    let recorder = tokio::spawn(crate::dead_letter::run_recorder(
        bus.clone(),
        pool,
        spec.durable.clone(),
        stop.clone(),
    ));
    let mut lanes = Vec::with_capacity(LANES);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..LANES {
        let (tx, rx) = tokio::sync::mpsc::channel::<Delivery>(BATCH * 2);
        lanes.push(tx);
        workers.spawn(run_lane(Arc::clone(&lane), rx));
    }
    let mut recorder = std::pin::pin!(recorder);
    let result = dispatch(
        &consumer,
        &spec,
        root_len,
        &lanes,
        &mut workers,
        &mut recorder,
        &shutdown,
    )
    .await;
    // Closing the lanes lets each finish what it holds, then stop.
    drop(lanes);
    let mut result = result;
    while let Some(joined) = workers.join_next().await {
        if let Err(err) = joined
            && result.is_ok()
        {
            result = Err(lane_failed(&spec, err));
        }
    }
    stop.cancel();
    result
}

fn lane_failed(spec: &ConsumerSpec, err: tokio::task::JoinError) -> BusError {
    BusError::Consumer {
        durable: spec.durable.clone(),
        source: format!("a lane stopped: {err}").into(),
    }
}

type Recorder = tokio::task::JoinHandle<Result<(), BusError>>;

/// Reads the consumer's deliveries and hands each to the lane of its case, until shutdown or
/// until the consumer is down (deleted on the server, a lane or the recorder stopped).
async fn dispatch(
    consumer: &async_nats::jetstream::consumer::Consumer<pull::Config>,
    spec: &ConsumerSpec,
    root_len: usize,
    lanes: &[tokio::sync::mpsc::Sender<Delivery>],
    workers: &mut tokio::task::JoinSet<()>,
    recorder: &mut std::pin::Pin<&mut Recorder>,
    shutdown: &CancellationToken,
) -> Result<(), BusError> {
    let down = |source: Box<dyn std::error::Error + Send + Sync>| BusError::Consumer {
        durable: spec.durable.clone(),
        source,
    };
    'reconnect: loop {
        let mut messages = consumer.messages().await.map_err(|e| down(Box::new(e)))?;
        loop {
            let next = tokio::select! {
                biased;
                () = shutdown.cancelled() => break 'reconnect,
                Some(joined) = workers.join_next() => {
                    return Err(match joined {
                        Err(err) => lane_failed(spec, err),
                        Ok(()) => down("a lane stopped".into()),
                    });
                }
                stopped = recorder.as_mut() => {
                    if shutdown.is_cancelled() {
                        // It stopped because everything stops.
                        break 'reconnect;
                    }
                    return Err(match stopped {
                        Ok(Err(err)) => err,
                        Ok(Ok(())) => down("the dead-letter recorder stopped".into()),
                        Err(err) => down(format!("the dead-letter recorder stopped: {err}").into()),
                    });
                }
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    if let Ok(info) = message.info() {
                        crate::metrics::CONSUMER_LAG
                            .with_label_values(&[spec.durable.as_str()])
                            .set(i64::try_from(info.pending).unwrap_or(i64::MAX));
                    }
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
                        return Err(down("a lane stopped".into()));
                    }
                }
                Some(Err(err)) if err.kind() == pull::MessagesErrorKind::ConsumerDeleted => {
                    return Err(down(Box::new(err)));
                }
                Some(Err(err)) => {
                    tracing::warn!(durable = %spec.durable, error = %err, "consumer stream error");
                    // A durable deleted while no pull was waiting sends no "consumer deleted":
                    // the pulls only go unanswered. Ask the server whether it is still there.
                    if gone(consumer).await {
                        return Err(down(Box::new(err)));
                    }
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

/// Whether the server says the durable (or its stream) no longer exists.
async fn gone(consumer: &async_nats::jetstream::consumer::Consumer<pull::Config>) -> bool {
    use async_nats::jetstream::context::ConsumerInfoErrorKind as Kind;
    match consumer.get_info().await {
        Ok(_) => false,
        Err(err) => matches!(err.kind(), Kind::NotFound | Kind::StreamNotFound),
    }
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
    lane: Arc<Lane<H>>,
    mut rx: tokio::sync::mpsc::Receiver<Delivery>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let sizes = crate::metrics::CONSUMER_BATCH.with_label_values(&[lane.spec.durable.as_str()]);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        sizes.observe(batch.len() as f64);
        apply_batch(&lane, std::mem::take(&mut batch)).await;
    }
}

/// Applies `batch` in one transaction and ends each delivery; falls back to one transaction per
/// delivery when any of them fails.
async fn apply_batch<H: EventHandler>(lane: &Lane<H>, batch: Vec<Delivery>) {
    let (events, malformed): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .partition(|delivery| delivery.event.is_ok());
    for delivery in malformed {
        if let Err(reason) = &delivery.event {
            let span = consume_span(&lane.spec, &delivery);
            let outcome = Outcome::Term(DeadKind::Undecodable, reason.clone());
            finish(lane, &delivery, outcome, &span).await;
        }
    }
    if events.len() > 1 {
        let spans: Vec<tracing::Span> =
            events.iter().map(|d| consume_span(&lane.spec, d)).collect();
        match handle_all(lane, &events, &spans).await {
            Ok(()) => {
                for (delivery, span) in events.iter().zip(&spans) {
                    finish(lane, delivery, Outcome::Ack, span).await;
                }
                return;
            }
            Err(err) => {
                tracing::debug!(
                    durable = %lane.spec.durable,
                    error = %err,
                    "batch failed; applying its deliveries one at a time"
                );
            }
        }
    }
    for delivery in &events {
        deliver(lane, delivery).await;
    }
}

/// All of `events` in one transaction: recorded in the inbox and handled, or none of it.
async fn handle_all<H: EventHandler>(
    lane: &Lane<H>,
    events: &[Delivery],
    spans: &[tracing::Span],
) -> Result<(), HandleError> {
    let mut tx = lane.pool.begin().await?;
    for (delivery, span) in events.iter().zip(spans) {
        let Ok((event, event_id)) = &delivery.event else {
            continue;
        };
        async {
            if tongban_store::record_delivery(
                &mut tx,
                &lane.spec.durable,
                *event_id,
                &delivery.subject,
            )
            .await?
            {
                lane.handler
                    .handle(&mut tx, event, &delivery.subject)
                    .await?;
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
async fn deliver<H: EventHandler>(lane: &Lane<H>, delivery: &Delivery) {
    let span = consume_span(&lane.spec, delivery);
    let outcome = async {
        let (event, event_id) = match &delivery.event {
            Ok(decoded) => decoded,
            Err(reason) => return Outcome::Term(DeadKind::Undecodable, reason.clone()),
        };
        match handle_once(lane, event, *event_id, &delivery.subject).await {
            Ok(true) => Outcome::Ack,
            Ok(false) => {
                tracing::debug!("duplicate delivery ignored");
                Outcome::Ack
            }
            Err(HandleError::Reject(reason)) => Outcome::Term(DeadKind::Rejected, reason),
            Err(HandleError::Retry(err)) => {
                tracing::warn!(error = %err, "event handling failed; will retry");
                Outcome::Retry(error_chain(err.as_ref()))
            }
        }
    }
    .instrument(span.clone())
    .await;
    finish(lane, delivery, outcome, &span).await;
}

/// The error and its sources, joined with `: `.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// Ends a delivery: exactly one of ack, nak with a growing delay, or term. A delivery to be
/// terminated, or failing on its last allowed try, is recorded as a dead letter first; when
/// that record cannot be written it is nak'ed instead, so it is not given up unrecorded (on
/// the very last try the server then reports it, and the recorder writes the row).
async fn finish<H: EventHandler>(
    lane: &Lane<H>,
    delivery: &Delivery,
    outcome: Outcome,
    span: &tracing::Span,
) {
    let message = &delivery.message;
    let delivered = message.info().map(|i| i.delivered).unwrap_or(1).max(1);
    let retry = lane
        .options
        .retry_delay_after(u64::try_from(delivered).unwrap_or(1));
    let counted = match &outcome {
        Outcome::Ack => "ack",
        Outcome::Retry(_) if lane.max_deliver > 0 && delivered >= lane.max_deliver => "dead",
        Outcome::Retry(_) => "retry",
        Outcome::Term(..) => "dead",
    };
    crate::metrics::CONSUMER_DELIVERIES
        .with_label_values(&[lane.spec.durable.as_str(), counted])
        .inc();
    let dead = match outcome {
        Outcome::Ack => None,
        Outcome::Retry(reason) if lane.max_deliver > 0 && delivered >= lane.max_deliver => Some((
            DeadKind::MaxDeliveries,
            format!(
                "已投递 {delivered} 次仍失败 / still failing after {delivered} deliveries: {reason}"
            ),
        )),
        Outcome::Retry(_) => {
            let _enter = span.enter();
            if let Err(err) = message.ack_with(AckKind::Nak(Some(retry))).await {
                tracing::warn!(error = %err, "nak failed; the event will be redelivered");
            }
            return;
        }
        Outcome::Term(kind, reason) => Some((kind, reason)),
    };
    let ack = match dead {
        None => message.ack().await,
        Some((kind, reason)) => {
            match record_dead(lane, delivery, kind, &reason)
                .instrument(span.clone())
                .await
            {
                Ok(id) => {
                    let _enter = span.enter();
                    tracing::error!(
                        %reason,
                        dead_letter = id,
                        alert = "consumer_dead_letter",
                        "event dead-lettered; the events behind it flow on"
                    );
                    message.ack_with(AckKind::Term).await
                }
                Err(err) => {
                    let _enter = span.enter();
                    tracing::error!(
                        %reason,
                        error = %err,
                        "dead letter not recorded; the event will be redelivered"
                    );
                    message.ack_with(AckKind::Nak(Some(retry))).await
                }
            }
        }
    };
    if let Err(err) = ack {
        let _enter = span.enter();
        tracing::warn!(error = %err, "acknowledgement failed; the event will be redelivered");
    }
}

/// Writes the dead letter of `delivery` in its own transaction.
async fn record_dead<H: EventHandler>(
    lane: &Lane<H>,
    delivery: &Delivery,
    kind: DeadKind,
    reason: &str,
) -> Result<i64, tongban_store::StoreError> {
    let message = &delivery.message;
    let info = message.info().ok();
    let (event_id, case_number) = match &delivery.event {
        Ok((event, id)) => (Some(*id), Some(event.case_number.as_str())),
        Err(_) => (None, None),
    };
    let mut tx = lane.pool.begin().await?;
    let id = tongban_store::record_dead_letter(
        &mut tx,
        &NewDeadLetter {
            consumer: &lane.spec.durable,
            stream_seq: info.as_ref().map_or(0, |i| i.stream_sequence),
            subject: &delivery.subject,
            event_id,
            case_number,
            payload: message.payload.as_ref(),
            kind,
            reason,
            deliveries: info
                .as_ref()
                .map_or(1, |i| u64::try_from(i.delivered).unwrap_or(1)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

enum Outcome {
    Ack,
    /// A transient failure, with its error chain.
    Retry(String),
    /// Never to be handled: why.
    Term(DeadKind, String),
}

/// Records the delivery and applies it in one transaction. `Ok(false)`: already handled.
async fn handle_once<H: EventHandler>(
    lane: &Lane<H>,
    event: &Event,
    event_id: Uuid,
    subject: &str,
) -> Result<bool, HandleError> {
    let mut tx = lane.pool.begin().await?;
    if !tongban_store::record_delivery(&mut tx, &lane.spec.durable, event_id, subject).await? {
        return Ok(false);
    }
    lane.handler.handle(&mut tx, event, subject).await?;
    tx.commit().await?;
    Ok(true)
}
