//! Subject filters per consumer against a real nats-server (≥ 2.10) and PostgreSQL: a consumer
//! receives exactly the event types its spec lists, a durable an older version created with one
//! wide filter is narrowed in place when it starts with the new spec, and a server older than
//! 2.10 is refused at connect with its version named.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::time::Duration;

use async_nats::HeaderMap;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio_util::sync::CancellationToken;
use tongban_bus::{
    Bus, BusConfig, BusError, ConsumerSpec, EventHandler, HandleError, consumer_filters,
    run_consumer,
};
use tongban_proto::events::v1::{self as ev, Event, event::Body};
use tongban_testkit::{TestEnv, eventually};
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DURABLE: &str = "filters-test";

/// Records the subject of every event it is handed.
struct Seen;

impl EventHandler for Seen {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        subject: &str,
    ) -> Result<(), HandleError> {
        sqlx::query("INSERT INTO seen (event_id, subject) VALUES ($1, $2)")
            .bind(&event.event_id)
            .bind(subject)
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
    let pool = tongban_store::connect(env.database_url(), "bus_test", 4).await?;
    tongban_store::migrate(&pool, &sqlx::migrate::Migrator::with_migrations(Vec::new())).await?;
    sqlx::query("CREATE TABLE seen (event_id TEXT PRIMARY KEY, subject TEXT NOT NULL)")
        .execute(&pool)
        .await?;
    let bus = Bus::connect(BusConfig {
        url: env.settings("bus_test").nats_url,
        stream: env.stream().to_owned(),
        subject_root: env.subject_root().to_owned(),
    })
    .await?;
    Ok(Fixture { env, pool, bus })
}

/// Publishes one event with `body` on its subject; its event id.
async fn publish(bus: &Bus, case: Uuid, body: Body) -> Result<String, Box<dyn std::error::Error>> {
    let subject = bus.subject(tongban_bus::subject_of(&body));
    let event = tongban_bus::new_event(case, "TB-TEST", "test", "test", chrono::Utc::now(), body);
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", event.event_id.as_str());
    bus.jetstream()
        .publish_with_headers(subject, headers, event.encode_to_vec().into())
        .await?
        .await?;
    Ok(event.event_id)
}

/// One event of every type there is.
fn every_body() -> Vec<Body> {
    vec![
        Body::CaseSubmitted(ev::CaseSubmitted::default()),
        Body::CaseAccepted(ev::CaseAccepted::default()),
        Body::CaseRouted(ev::CaseRouted::default()),
        Body::CaseClaimed(ev::CaseClaimed::default()),
        Body::SupplementRequested(ev::SupplementRequested::default()),
        Body::CaseSupplemented(ev::CaseSupplemented::default()),
        Body::CaseDecided(ev::CaseDecided::default()),
        Body::CaseCompleted(ev::CaseCompleted::default()),
        Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
        Body::DeadlineExtended(ev::DeadlineExtended::default()),
        Body::ClockSuspended(ev::ClockSuspended::default()),
        Body::ClockResumed(ev::ClockResumed::default()),
        Body::CasePartUpdated(ev::CasePartUpdated::default()),
        Body::CertificateIssued(ev::CertificateIssued::default()),
        Body::CertificateRevoked(ev::CertificateRevoked::default()),
        Body::CertificateKeyRotated(ev::CertificateKeyRotated::default()),
        Body::LogisticsTracked(ev::LogisticsTracked::default()),
        Body::DeadlineWarning(ev::DeadlineWarning::default()),
        Body::DeadlineBreached(ev::DeadlineBreached::default()),
        Body::TicketOpened(ev::TicketOpened::default()),
        Body::TicketEscalated(ev::TicketEscalated::default()),
        Body::ComplaintFiled(ev::ComplaintFiled::default()),
        Body::ComplaintAdvanced(ev::ComplaintAdvanced::default()),
        Body::ServiceRated(ev::ServiceRated::default()),
    ]
}

#[test]
fn a_spec_lists_the_subjects_of_its_event_types_once_each() {
    let spec = ConsumerSpec::for_events(
        "x",
        &[
            Body::CaseRouted(ev::CaseRouted::default()),
            Body::CertificateIssued(ev::CertificateIssued::default()),
            Body::CaseRouted(ev::CaseRouted {
                summary: Some(ev::CaseSummary {
                    matter_code: "GA-HJ-ZM".to_owned(),
                    ..Default::default()
                }),
            }),
        ],
    );
    assert_eq!(spec.durable, "x");
    assert_eq!(spec.filter_subjects, ["case.routed", "cert.issued"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_wide_durable_is_narrowed_and_receives_only_its_event_types() -> TestResult {
    let f = fixture().await?;
    // As the previous version created it: one wide filter.
    let stream = f.bus.jetstream().get_stream(f.env.stream()).await?;
    stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some(DURABLE.to_owned()),
            filter_subject: f.bus.subject("case.>"),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await?;
    let wanted = [
        Body::CaseRouted(ev::CaseRouted::default()),
        Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
        Body::LogisticsTracked(ev::LogisticsTracked::default()),
    ];
    let spec = ConsumerSpec::for_events(DURABLE, &wanted);
    let consumer = tongban_bus::open_consumer(&f.bus, &spec).await?;
    let info = consumer.get_info().await?;
    assert_eq!(
        consumer_filters(&info.config, f.env.subject_root()),
        ["case.routed", "case.withdrawn", "logistics.tracked"],
        "the server holds the new filters"
    );

    // Every event type once, the wanted ones among them, then a wanted one last: when that
    // last one is in, everything before it has been passed over or delivered.
    let case = Uuid::now_v7();
    let mut published = Vec::new();
    for body in every_body() {
        let subject = tongban_bus::subject_of(&body);
        published.push((publish(&f.bus, case, body).await?, subject));
    }
    let last = publish(&f.bus, case, Body::CaseRouted(ev::CaseRouted::default())).await?;

    let shutdown = CancellationToken::new();
    let running = tokio::spawn(run_consumer(
        f.bus.clone(),
        f.pool.clone(),
        spec.clone(),
        Seen,
        shutdown.clone(),
    ));
    let pool = &f.pool;
    let last_ref = &last;
    eventually(Duration::from_secs(20), move || async move {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2::uuid)",
        )
        .bind(DURABLE)
        .bind(last_ref)
        .fetch_one(pool)
        .await
        .ok()
        .filter(|recorded| *recorded)
    })
    .await
    .map_err(|e| format!("the last wanted event recorded: {e}"))?;
    shutdown.cancel();
    running.await??;

    let mut seen: Vec<(String, String)> =
        sqlx::query_as("SELECT event_id, subject FROM seen ORDER BY subject, event_id")
            .fetch_all(&f.pool)
            .await?;
    seen.sort();
    let mut expected: Vec<(String, String)> = published
        .iter()
        .filter(|(_, subject)| spec.filter_subjects.iter().any(|s| s == subject))
        .map(|(id, subject)| (id.clone(), (*subject).to_owned()))
        .chain(std::iter::once((last.clone(), "case.routed".to_owned())))
        .collect();
    expected.sort();
    assert_eq!(
        seen, expected,
        "exactly the wanted event types were handled"
    );
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE consumer = $1")
        .bind(DURABLE)
        .fetch_one(&f.pool)
        .await?;
    assert_eq!(inbox, 4, "the inbox holds the four wanted deliveries only");
    // The server delivered nothing else: one delivery per wanted message.
    let info = consumer.get_info().await?;
    assert_eq!(info.delivered.consumer_sequence, 4, "deliveries");
    assert_eq!(info.num_pending, 0, "nothing left for it");
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_without_subjects_is_refused() -> TestResult {
    let f = fixture().await?;
    let spec = ConsumerSpec {
        durable: DURABLE.to_owned(),
        filter_subjects: Vec::new(),
    };
    let err = tongban_bus::open_consumer(&f.bus, &spec).await.unwrap_err();
    assert!(
        matches!(&err, BusError::Consumer { durable, .. } if durable == DURABLE),
        "{err:?}"
    );
    assert!(
        std::error::Error::source(&err)
            .is_some_and(|s| s.to_string().contains("no subject filter")),
        "{err:?}"
    );
    f.pool.close().await;
    f.env.cleanup().await?;
    Ok(())
}

/// A server that greets like nats-server 2.9.10 and answers the handshake's PING; enough for
/// a client to connect and read the version.
async fn old_server() -> Result<u16, std::io::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let info = r#"INFO {"server_id":"OLD","server_name":"old","version":"2.9.10","go":"go1.19","host":"127.0.0.1","port":4222,"headers":true,"max_payload":1048576,"proto":1,"jetstream":true}"#;
                if write
                    .write_all(format!("{info}\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.starts_with("PING") && write.write_all(b"PONG\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_older_than_2_10_is_refused_with_its_version() -> TestResult {
    let port = old_server().await?;
    let url = format!("nats://127.0.0.1:{port}");
    let err = Bus::connect(BusConfig {
        url: url.clone(),
        stream: "TB_OLD".to_owned(),
        subject_root: "tbt_old".to_owned(),
    })
    .await
    .unwrap_err();
    match &err {
        BusError::ServerTooOld {
            url: refused,
            version,
        } => {
            assert_eq!(refused, &url);
            assert_eq!(version, "2.9.10");
        }
        other => panic!("expected ServerTooOld, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("2.9.10"), "{message}");
    assert!(message.contains("2.10"), "{message}");
    Ok(())
}
