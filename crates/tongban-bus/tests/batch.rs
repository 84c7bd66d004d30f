//! Batched, partitioned consumption against a real JetStream stream and PostgreSQL database:
//! events of one case are applied in stream order while cases run in parallel lanes, and a
//! batch that fails part-way through is rolled back and applied again so that every event takes
//! effect exactly once.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_nats::HeaderMap;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tongban_bus::{Bus, BusConfig, ConsumerSpec, EventHandler, HandleError, run_consumer};
use tongban_proto::events::v1::{self as ev, Event, event::Body};
use tongban_testkit::TestEnv;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const CASES: usize = 8;
const EVENTS_PER_CASE: usize = 40;

/// Records every event it handles, in the order it handles them; fails the first delivery of
/// each event listed in `fail_once` (a transient failure in the middle of a batch).
struct Recorder {
    fail_once: Mutex<HashSet<String>>,
}

impl EventHandler for Recorder {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        sqlx::query("INSERT INTO applied (event_id, case_id, seq) VALUES ($1, $2, $3)")
            .bind(&event.event_id)
            .bind(&event.case_id)
            .bind(seq_of(event))
            .execute(&mut *conn)
            .await?;
        // Fails after its own write, so the batch holds work that must be rolled back.
        let fail = self.fail_once.lock().unwrap().remove(&event.event_id);
        if fail {
            return Err(HandleError::Retry("injected failure".into()));
        }
        Ok(())
    }
}

fn seq_of(event: &Event) -> i32 {
    match &event.body {
        Some(Body::CaseClaimed(c)) => c.reviewer.parse().unwrap(),
        _ => -1,
    }
}

struct Fixture {
    env: TestEnv,
    pool: PgPool,
    bus: Bus,
    events: Vec<Event>,
}

/// A database with an `applied` table, the stream, and every case's events published in an
/// interleaved order (case 0 seq 0, case 1 seq 0, …, case 0 seq 1, …) before any consumer runs,
/// so that the consumer receives them in large batches.
async fn fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let pool = tongban_store::connect(env.database_url(), "bus_test", 8).await?;
    tongban_store::migrate(&pool, &sqlx::migrate::Migrator::with_migrations(Vec::new())).await?;
    sqlx::query(
        "CREATE TABLE applied (n BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL,
            case_id TEXT NOT NULL, seq INT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    let bus = Bus::connect(BusConfig {
        url: std::env::var("TONGBAN_TEST_NATS_URL")
            .unwrap_or_else(|_| "nats://127.0.0.1:4223".to_owned()),
        stream: env.stream().to_owned(),
        subject_root: env.subject_root().to_owned(),
    })
    .await?;
    let cases: Vec<Uuid> = (0..CASES).map(|_| Uuid::now_v7()).collect();
    let mut events = Vec::new();
    for seq in 0..EVENTS_PER_CASE {
        for case in &cases {
            let event = tongban_bus::new_event(
                *case,
                "TB-TEST",
                "test",
                "test",
                chrono::Utc::now(),
                Body::CaseClaimed(ev::CaseClaimed {
                    office_id: String::new(),
                    reviewer: seq.to_string(),
                }),
            );
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", event.event_id.as_str());
            bus.jetstream()
                .publish_with_headers(
                    bus.subject("case.claimed"),
                    headers,
                    event.encode_to_vec().into(),
                )
                .await?
                .await?;
            events.push(event);
        }
    }
    Ok(Fixture {
        env,
        pool,
        bus,
        events,
    })
}

/// Runs a consumer with `recorder` until every event was recorded in the inbox (bounded wait).
async fn consume_all(f: &Fixture, recorder: Recorder) -> TestResult {
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(run_consumer(
        f.bus.clone(),
        f.pool.clone(),
        ConsumerSpec {
            durable: "batch-test".to_owned(),
            filter_subjects: vec!["case.>".to_owned()],
        },
        recorder,
        shutdown.clone(),
    ));
    let total = i64::try_from(f.events.len())?;
    let mut handled = 0;
    for _ in 0..300 {
        handled = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM inbox")
            .fetch_one(&f.pool)
            .await?;
        if handled >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    consumer.await??;
    assert_eq!(handled, total, "every event recorded in the inbox");
    Ok(())
}

/// Each event's effect stands exactly once: rolled-back attempts left nothing behind.
async fn assert_applied_once(f: &Fixture) -> TestResult {
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT event_id) FROM applied")
            .fetch_one(&f.pool)
            .await?;
    let total = i64::try_from(f.events.len())?;
    assert_eq!(distinct, total, "every event applied");
    assert_eq!(rows, total, "no event applied twice");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_one_case_are_applied_in_stream_order_across_parallel_lanes() -> TestResult {
    let f = fixture().await?;
    consume_all(
        &f,
        Recorder {
            fail_once: Mutex::new(HashSet::new()),
        },
    )
    .await?;
    assert_applied_once(&f).await?;
    let order: Vec<(String, i32)> = sqlx::query_as("SELECT case_id, seq FROM applied ORDER BY n")
        .fetch_all(&f.pool)
        .await?;
    let mut last: HashMap<String, i32> = HashMap::new();
    for (case, seq) in &order {
        let previous = last.insert(case.clone(), *seq);
        assert_eq!(
            previous.map_or(0, |p| p + 1),
            *seq,
            "case {case}: events applied out of order"
        );
    }
    assert_eq!(last.len(), CASES);
    // Several events went in one transaction: the inbox stamps each delivery with its
    // transaction's start (`now()`), so a batch shares one timestamp.
    let transactions: i64 = sqlx::query_scalar("SELECT count(DISTINCT received_at) FROM inbox")
        .fetch_one(&f.pool)
        .await?;
    assert!(
        transactions < i64::try_from(f.events.len())?,
        "deliveries were batched: {transactions} transactions for {} events",
        f.events.len()
    );
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_in_the_middle_of_a_batch_loses_nothing_and_applies_nothing_twice() -> TestResult
{
    let f = fixture().await?;
    // Every seventh event fails once, after writing its effect.
    let failing: HashSet<String> = f
        .events
        .iter()
        .step_by(7)
        .map(|e| e.event_id.clone())
        .collect();
    consume_all(
        &f,
        Recorder {
            fail_once: Mutex::new(failing),
        },
    )
    .await?;
    assert_applied_once(&f).await?;
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}
