//! Bounded consumers against a real JetStream stream and PostgreSQL database: a delivery that
//! keeps failing (an event about a case the service does not know yet), that its handler
//! rejects or that is no event at all ends in `consumer_dead_letter` and the consumer goes on
//! with the events behind it; the server's advisories fill in what the consumer could not
//! record; an operator's replay goes through the inbox and takes effect once.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use futures::StreamExt as _;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tongban_bus::{
    Bus, BusConfig, ConsumerOptions, ConsumerSpec, EventHandler, HandleError, ReplayError,
    Replayed, replay_dead_letter, run_consumer_with,
};
use tongban_proto::events::v1::{self as ev, Event, event::Body};
use tongban_testkit::{TestEnv, eventually};
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DURABLE: &str = "dead-letter-test";
const WAIT: Duration = Duration::from_secs(20);

/// Acts on the reviewer field of a `CaseClaimed`: `retry` always fails transiently (a case it
/// does not know), `reject` is refused, `flaky` fails while `broken` is set; anything else is
/// applied.
struct Scripted {
    broken: Arc<AtomicBool>,
}

impl EventHandler for Scripted {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        let what = match &event.body {
            Some(Body::CaseClaimed(c)) => c.reviewer.clone(),
            _ => String::new(),
        };
        match what.as_str() {
            "retry" => return Err(HandleError::Retry("unknown case".into())),
            "reject" => return Err(HandleError::Reject("refers to nothing".to_owned())),
            "flaky" if self.broken.load(Ordering::SeqCst) => {
                return Err(HandleError::Retry("not yet".into()));
            }
            _ => {}
        }
        sqlx::query("INSERT INTO applied (event_id, what) VALUES ($1, $2)")
            .bind(&event.event_id)
            .bind(&what)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

struct Fixture {
    env: TestEnv,
    pool: PgPool,
    bus: Bus,
}

async fn fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let pool = tongban_store::connect(env.database_url(), "dlq_test", 4).await?;
    tongban_store::migrate(&pool, &sqlx::migrate::Migrator::with_migrations(Vec::new())).await?;
    sqlx::query("CREATE TABLE applied (event_id TEXT PRIMARY KEY, what TEXT NOT NULL)")
        .execute(&pool)
        .await?;
    let bus = Bus::connect(BusConfig {
        url: std::env::var("TONGBAN_TEST_NATS_URL")
            .unwrap_or_else(|_| "nats://127.0.0.1:4223".to_owned()),
        stream: env.stream().to_owned(),
        subject_root: env.subject_root().to_owned(),
    })
    .await?;
    Ok(Fixture { env, pool, bus })
}

/// Short delays: three tries, 50 ms apart at first.
fn options() -> ConsumerOptions {
    ConsumerOptions {
        max_deliver: 3,
        retry_delay: Duration::from_millis(50),
        retry_delay_max: Duration::from_millis(200),
        ack_wait: Duration::from_secs(5),
    }
}

async fn publish_raw(bus: &Bus, id: &str, payload: Vec<u8>) -> TestResult {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    bus.jetstream()
        .publish_with_headers(bus.subject("case.claimed"), headers, payload.into())
        .await?
        .await?;
    Ok(())
}

async fn publish(bus: &Bus, what: &str) -> Result<Event, Box<dyn std::error::Error>> {
    let event = tongban_bus::new_event(
        Uuid::now_v7(),
        "TB-DLQ",
        "test",
        "test",
        chrono::Utc::now(),
        Body::CaseClaimed(ev::CaseClaimed {
            office_id: String::new(),
            reviewer: what.to_owned(),
        }),
    );
    publish_raw(bus, &event.event_id, event.encode_to_vec()).await?;
    Ok(event)
}

fn start(f: &Fixture, broken: &Arc<AtomicBool>, shutdown: &CancellationToken) -> Consumer {
    tokio::spawn(run_consumer_with(
        f.bus.clone(),
        f.pool.clone(),
        ConsumerSpec {
            durable: DURABLE.to_owned(),
            filter_subjects: vec!["case.>".to_owned()],
        },
        Arc::new(Scripted {
            broken: Arc::clone(broken),
        }),
        options(),
        shutdown.clone(),
    ))
}

type Consumer = tokio::task::JoinHandle<Result<(), tongban_bus::BusError>>;

async fn applied(pool: &PgPool, event: &Event) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM applied WHERE event_id = $1)")
        .bind(&event.event_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// (kind, deliveries, advised) of the dead letter of `event_id`, once there is one.
async fn dead_letter_of(pool: &PgPool, event: &Event) -> Option<(i64, String, i64, bool)> {
    sqlx::query_as(
        "SELECT id, kind, deliveries, advised_at IS NOT NULL FROM consumer_dead_letter
         WHERE event_id = $1",
    )
    .bind(Uuid::parse_str(&event.event_id).unwrap())
    .fetch_optional(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_always_retries_is_dead_lettered_after_max_deliver_and_the_rest_flow_on()
-> TestResult {
    let f = fixture().await?;
    let broken = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();
    let consumer = start(&f, &broken, &shutdown);
    let stuck = publish(&f.bus, "retry").await?;
    let before = publish(&f.bus, "ok").await?;

    let (_, kind, deliveries, _) = eventually(WAIT, || dead_letter_of(&f.pool, &stuck)).await?;
    assert_eq!(kind, "max_deliveries");
    assert_eq!(deliveries, 3, "dead-lettered on its last allowed delivery");
    // The server's advisory about the terminated message confirms the row.
    eventually(WAIT, || async {
        dead_letter_of(&f.pool, &stuck)
            .await
            .filter(|(_, _, _, advised)| *advised)
    })
    .await?;
    // The consumer goes on: what came before and after is applied, the stuck one never.
    let after = publish(&f.bus, "ok").await?;
    eventually(WAIT, || async {
        applied(&f.pool, &after).await.then_some(())
    })
    .await?;
    assert!(applied(&f.pool, &before).await);
    assert!(!applied(&f.pool, &stuck).await);
    let in_inbox: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM inbox WHERE event_id = $1)")
            .bind(Uuid::parse_str(&stuck.event_id)?)
            .fetch_one(&f.pool)
            .await?;
    assert!(!in_inbox, "a dead-lettered event never took effect");

    shutdown.cancel();
    consumer.await??;
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_event_and_a_payload_that_is_no_event_are_dead_lettered_at_once() -> TestResult {
    let f = fixture().await?;
    let broken = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();
    let consumer = start(&f, &broken, &shutdown);
    let rejected = publish(&f.bus, "reject").await?;
    publish_raw(&f.bus, "garbage-1", vec![0xff, 0xff, 0xff]).await?;

    let (_, kind, deliveries, _) = eventually(WAIT, || dead_letter_of(&f.pool, &rejected)).await?;
    assert_eq!((kind.as_str(), deliveries), ("rejected", 1));
    let (kind, reason, payload): (String, String, Vec<u8>) = eventually(WAIT, || async {
        sqlx::query_as(
            "SELECT kind, reason, payload FROM consumer_dead_letter WHERE event_id IS NULL",
        )
        .fetch_optional(&f.pool)
        .await
        .unwrap()
    })
    .await?;
    assert_eq!(kind, "undecodable");
    assert!(reason.contains("undecodable"), "{reason}");
    assert_eq!(payload, vec![0xff, 0xff, 0xff]);

    shutdown.cancel();
    consumer.await??;
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_goes_through_the_inbox_and_takes_effect_once() -> TestResult {
    let f = fixture().await?;
    let broken = Arc::new(AtomicBool::new(true));
    let shutdown = CancellationToken::new();
    let consumer = start(&f, &broken, &shutdown);
    let flaky = publish(&f.bus, "flaky").await?;
    let (id, ..) = eventually(WAIT, || dead_letter_of(&f.pool, &flaky)).await?;

    // Still broken: the replay fails and changes nothing.
    let handler = Scripted {
        broken: Arc::clone(&broken),
    };
    let err = replay_dead_letter(&f.pool, DURABLE, &handler, id)
        .await
        .unwrap_err();
    assert!(matches!(err, ReplayError::Failed(_)), "{err:?}");
    // Fixed: the replay applies it, through the inbox.
    broken.store(false, Ordering::SeqCst);
    let replayed = replay_dead_letter(&f.pool, DURABLE, &handler, id).await?;
    assert_eq!(replayed, Replayed::Applied);
    assert!(applied(&f.pool, &flaky).await);
    let in_inbox: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2)",
    )
    .bind(DURABLE)
    .bind(Uuid::parse_str(&flaky.event_id)?)
    .fetch_one(&f.pool)
    .await?;
    assert!(in_inbox);
    // Once only; an unknown id is not found.
    let again = replay_dead_letter(&f.pool, DURABLE, &handler, id).await;
    assert!(
        matches!(again, Err(ReplayError::AlreadyReplayed(_))),
        "{again:?}"
    );
    let unknown = replay_dead_letter(&f.pool, DURABLE, &handler, id + 1000).await;
    assert!(
        matches!(unknown, Err(ReplayError::NotFound(_))),
        "{unknown:?}"
    );

    shutdown.cancel();
    consumer.await??;
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_server_gave_up_without_a_record_is_recorded_from_its_advisory() -> TestResult
{
    let f = fixture().await?;
    // A consumer that dies on its last try leaves no record: stand-in, a delivery nak'ed on
    // its one allowed try by hand.
    let spec = ConsumerSpec {
        durable: DURABLE.to_owned(),
        filter_subjects: vec!["case.>".to_owned()],
    };
    let bounded = ConsumerOptions {
        max_deliver: 1,
        ..options()
    };
    let consumer = tongban_bus::open_consumer_with(&f.bus, &spec, &bounded).await?;
    let lost = publish(&f.bus, "ok").await?;
    let mut batch = consumer
        .fetch()
        .max_messages(1)
        .expires(Duration::from_secs(2))
        .messages()
        .await?;
    let message = batch.next().await.unwrap().unwrap();
    message
        .ack_with(async_nats::jetstream::AckKind::Nak(None))
        .await
        .unwrap();
    // The next pull makes the server see the bound and send MAX_DELIVERIES.
    let mut empty = consumer
        .fetch()
        .max_messages(1)
        .expires(Duration::from_millis(500))
        .messages()
        .await?;
    while empty.next().await.is_some() {}

    let stop = CancellationToken::new();
    let recorder = tokio::spawn(tongban_bus::dead_letter::run_recorder(
        f.bus.clone(),
        f.pool.clone(),
        DURABLE.to_owned(),
        stop.clone(),
    ));
    let (_, kind, _, advised) = eventually(WAIT, || dead_letter_of(&f.pool, &lost)).await?;
    assert_eq!(kind, "max_deliveries");
    assert!(advised);
    let (subject, payload): (String, Vec<u8>) =
        sqlx::query_as("SELECT subject, payload FROM consumer_dead_letter")
            .fetch_one(&f.pool)
            .await?;
    assert_eq!(subject, "case.claimed");
    assert_eq!(Event::decode(payload.as_slice())?, lost);

    stop.cancel();
    recorder.await??;
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_created_without_a_bound_gets_one() -> TestResult {
    let f = fixture().await?;
    // As an older version created it: no max_deliver.
    let stream = f.bus.jetstream().get_stream(f.env.stream()).await?;
    stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some(DURABLE.to_owned()),
            filter_subject: f.bus.subject("case.>"),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await?;
    let spec = ConsumerSpec {
        durable: DURABLE.to_owned(),
        filter_subjects: vec!["case.>".to_owned()],
    };
    let consumer = tongban_bus::open_consumer_with(&f.bus, &spec, &options()).await?;
    assert_eq!(consumer.cached_info().config.max_deliver, 3);
    assert_eq!(consumer.get_info().await?.config.max_deliver, 3);
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_advisory_consumer_with_both_filters_replaces_the_two_of_earlier_versions() -> TestResult
{
    let f = fixture().await?;
    let main = f.env.stream().to_owned();
    let advisories = f
        .bus
        .jetstream()
        .get_stream(tongban_bus::dead_letter::advisory_stream_name(&main))
        .await?;
    // As an earlier version left them: one advisory consumer per kind.
    for (kind, legacy) in [
        ("MAX_DELIVERIES", "max-deliveries"),
        ("MSG_TERMINATED", "msg-terminated"),
    ] {
        advisories
            .create_consumer(async_nats::jetstream::consumer::pull::Config {
                durable_name: Some(format!("{DURABLE}-{legacy}")),
                filter_subject: format!("$JS.EVENT.ADVISORY.CONSUMER.{kind}.{main}.{DURABLE}"),
                ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await?;
    }
    let broken = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();
    let consumer = start(&f, &broken, &shutdown);
    let advisories_ref = &advisories;
    let names = eventually(WAIT, move || async move {
        let names: Vec<String> = advisories_ref
            .consumer_names()
            .filter_map(|name| async move { name.ok() })
            .collect()
            .await;
        names
            .iter()
            .all(|n| !n.ends_with("-max-deliveries") && !n.ends_with("-msg-terminated"))
            .then_some(names)
    })
    .await
    .map_err(|e| format!("the per-kind advisory consumers removed: {e}"))?;
    assert_eq!(names, [format!("{DURABLE}-advisories")]);
    let info = advisories
        .consumer_info(format!("{DURABLE}-advisories"))
        .await?;
    let mut filters = info.config.filter_subjects.clone();
    filters.sort();
    assert_eq!(
        filters,
        [
            format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{main}.{DURABLE}"),
            format!("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{main}.{DURABLE}"),
        ]
    );
    shutdown.cancel();
    consumer.await??;
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}
