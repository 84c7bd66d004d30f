//! The outbox relay against a real JetStream stream and PostgreSQL database: one event the
//! server cannot take must not stop the events behind it. It moves to the dead-letter table, and
//! the outbox refuses such an event before its transaction commits in the first place.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_bus::{Bus, BusConfig, run_relay};
use tongban_proto::events::v1::{self as ev, event::Body};
use tongban_store::{OutboxMessage, StoreError};
use tongban_testkit::TestEnv;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SCHEMA: &str = "relay_test";

async fn setup() -> Result<(TestEnv, PgPool, Bus), Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let pool = tongban_store::connect(env.database_url(), SCHEMA, 4).await?;
    tongban_store::migrate(&pool, &sqlx::migrate::Migrator::with_migrations(Vec::new())).await?;
    let bus = Bus::connect(BusConfig {
        url: std::env::var("TONGBAN_TEST_NATS_URL")
            .unwrap_or_else(|_| "nats://127.0.0.1:4223".to_owned()),
        stream: env.stream().to_owned(),
        subject_root: env.subject_root().to_owned(),
    })
    .await?;
    Ok((env, pool, bus))
}

fn message(reviewer: &str) -> OutboxMessage {
    tongban_bus::event_message(
        Uuid::now_v7(),
        "TB-TEST",
        "test",
        "test",
        chrono::Utc::now(),
        Body::CaseClaimed(ev::CaseClaimed {
            office_id: String::new(),
            reviewer: reviewer.to_owned(),
        }),
        Vec::new(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_too_large_for_the_server_is_dead_lettered_and_the_rest_flow_on() -> TestResult {
    let (env, pool, bus) = setup().await?;
    // A row as an older version could have written it: 1.5 MB, more than NATS carries.
    let huge = message(&"x".repeat(1_500_000));
    sqlx::query("INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, $3)")
        .bind(huge.event_id)
        .bind(&huge.subject)
        .bind(&huge.payload)
        .execute(&pool)
        .await?;
    let mut tx = pool.begin().await?;
    for i in 0..3 {
        tongban_store::enqueue(&mut tx, &message(&i.to_string())).await?;
    }
    tx.commit().await?;

    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(run_relay(
        pool.clone(),
        SCHEMA.to_owned(),
        bus.clone(),
        shutdown.clone(),
    ));
    let mut waiting = i64::MAX;
    for _ in 0..200 {
        waiting = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&pool)
            .await?;
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    relay.await?;
    assert_eq!(waiting, 0, "the rows behind the huge one were published");

    let dead: Vec<(Uuid, i32, String)> =
        sqlx::query_as("SELECT event_id, attempts, last_error FROM outbox_dead_letter")
            .fetch_all(&pool)
            .await?;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0, huge.event_id);
    assert!(dead[0].2.contains("max payload"), "{}", dead[0].2);
    let mut stream = bus.jetstream().get_stream(env.stream()).await?;
    assert_eq!(stream.info().await?.state.messages, 3);

    pool.close().await;
    env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_refuses_an_event_too_large_before_the_step_commits() -> TestResult {
    let (env, pool, _bus) = setup().await?;
    let mut tx = pool.begin().await?;
    let refused = tongban_store::enqueue(&mut tx, &message(&"x".repeat(600 * 1024))).await;
    assert!(
        matches!(refused, Err(StoreError::EventTooLarge { size, limit, .. }) if size > limit),
        "{refused:?}"
    );
    drop(tx);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await?;
    assert_eq!(rows, 0);
    pool.close().await;
    env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steps_events_enter_the_outbox_in_one_statement_in_their_order() -> TestResult {
    let (env, pool, _bus) = setup().await?;
    let messages: Vec<OutboxMessage> = (0..5).map(|i| message(&i.to_string())).collect();
    let mut tx = pool.begin().await?;
    tongban_store::enqueue_all(&mut tx, &messages).await?;
    tx.commit().await?;
    let stored: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM outbox ORDER BY id")
        .fetch_all(&pool)
        .await?;
    let sent: Vec<Uuid> = messages.iter().map(|m| m.event_id).collect();
    assert_eq!(stored, sent);
    // One oversize message refuses them all.
    let mut tx = pool.begin().await?;
    let mixed = [message("ok"), message(&"x".repeat(600 * 1024))];
    let refused = tongban_store::enqueue_all(&mut tx, &mixed).await;
    assert!(
        matches!(refused, Err(StoreError::EventTooLarge { .. })),
        "{refused:?}"
    );
    drop(tx);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await?;
    assert_eq!(rows, 5);
    pool.close().await;
    env.cleanup().await?;
    Ok(())
}
