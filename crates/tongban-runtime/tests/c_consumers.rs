//! Consumers of a running server, against real PostgreSQL, JetStream and a tonic server on
//! port 0: a consumer that stops is restarted under supervision while the server's health says
//! NOT_SERVING; the dead letters of the service's consumers are listed and replayed through
//! `tongban.ops.v1.OperationsService`, by an admin only.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is the test failing, with its message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tongban_bus::{Bus, BusConfig, ConsumerOptions, ConsumerSpec, EventHandler, HandleError};
use tongban_proto::events::v1::{self as ev, Event, event::Body};
use tongban_proto::ops::v1 as ops;
use tongban_proto::ops::v1::operations_service_client::OperationsServiceClient;
use tongban_runtime::auth::{Role, TokenKeys};
use tongban_runtime::platform::{Supervision, Tasks};
use tongban_testkit::{Bearer, TestEnv, channel, eventually};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DURABLE: &str = "ops-test-events";
const WAIT: Duration = Duration::from_secs(20);

/// Fails transiently while `broken` is set (a case it does not know yet), else applies.
struct Handler {
    broken: Arc<AtomicBool>,
}

impl EventHandler for Handler {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Event,
        _subject: &str,
    ) -> Result<(), HandleError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(HandleError::Retry("unknown case".into()));
        }
        sqlx::query("INSERT INTO applied (event_id) VALUES ($1)")
            .bind(&event.event_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

struct Server {
    env: TestEnv,
    pool: PgPool,
    bus: Bus,
    port: u16,
    broken: Arc<AtomicBool>,
    shutdown: CancellationToken,
    served: tokio::task::JoinHandle<Result<(), tongban_runtime::platform::StartError>>,
}

/// A service as the platform builds it: one supervised consumer, the relay, operations.
async fn start() -> Result<Server, Box<dyn std::error::Error>> {
    let env = TestEnv::new().await?;
    let settings = env.settings("ops_test");
    let pool = tongban_store::connect(env.database_url(), "ops_test", 4).await?;
    tongban_store::migrate(&pool, &sqlx::migrate::Migrator::with_migrations(Vec::new())).await?;
    sqlx::query("CREATE TABLE applied (event_id TEXT PRIMARY KEY)")
        .execute(&pool)
        .await?;
    let bus = Bus::connect(BusConfig {
        url: settings.nats_url.clone(),
        stream: env.stream().to_owned(),
        subject_root: env.subject_root().to_owned(),
    })
    .await?;
    let tokens = Arc::new(TokenKeys::load_or_create(&settings.state_dir)?);
    let broken = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();
    let mut tasks = Tasks::new(shutdown.clone());
    tasks.set_supervision(Supervision {
        options: ConsumerOptions {
            max_deliver: 2,
            retry_delay: Duration::from_millis(50),
            retry_delay_max: Duration::from_millis(100),
            ack_wait: Duration::from_secs(5),
        },
        // Long enough for the test to see the consumer down.
        restart_delay: Duration::from_millis(1500),
        restart_delay_max: Duration::from_secs(3),
    });
    tasks.operations(&tokens);
    tasks.relay(&pool, "ops_test", &bus);
    tasks.consume(
        &bus,
        &pool,
        ConsumerSpec {
            durable: DURABLE.to_owned(),
            filter_subjects: vec!["case.>".to_owned()],
        },
        Handler {
            broken: Arc::clone(&broken),
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (routes, health) = tongban_runtime::server::base_routes()?;
    let served = tokio::spawn(tasks.serve(listener, routes, health));
    Ok(Server {
        env,
        pool,
        bus,
        port,
        broken,
        shutdown,
        served,
    })
}

impl Server {
    async fn stop(self) -> TestResult {
        self.shutdown.cancel();
        self.served.await??;
        self.pool.close().await;
        self.env.cleanup().await?;
        Ok(())
    }

    async fn publish(&self) -> Result<Event, Box<dyn std::error::Error>> {
        let event = tongban_bus::new_event(
            Uuid::now_v7(),
            "TB-OPS",
            "test",
            "test",
            chrono::Utc::now(),
            Body::CaseClaimed(ev::CaseClaimed {
                office_id: String::new(),
                reviewer: "r".to_owned(),
            }),
        );
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.event_id.as_str());
        self.bus
            .jetstream()
            .publish_with_headers(
                self.bus.subject("case.claimed"),
                headers,
                event.encode_to_vec().into(),
            )
            .await?
            .await?;
        Ok(event)
    }

    async fn overall(&self) -> Option<ServingStatus> {
        let mut client = HealthClient::new(channel(self.port));
        let response = client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()?;
        ServingStatus::try_from(response.into_inner().status).ok()
    }

    async fn applied(&self, event: &Event) -> bool {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM applied WHERE event_id = $1)")
            .bind(&event.event_id)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    fn ops(
        &self,
        role: Role,
    ) -> OperationsServiceClient<
        tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>,
    > {
        OperationsServiceClient::with_interceptor(
            channel(self.port),
            Bearer::new(&self.env.mint(role, "140922")),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_deleted_on_the_server_is_restarted_and_health_follows() -> TestResult {
    let server = start().await?;
    // Running: the durable exists and an event goes through.
    let first = server.publish().await?;
    eventually(WAIT, || async {
        server.applied(&first).await.then_some(())
    })
    .await?;
    assert_eq!(server.overall().await, Some(ServingStatus::Serving));

    // The durable disappears (an operator's mistake, a server that lost it).
    server
        .bus
        .jetstream()
        .delete_consumer_from_stream(DURABLE, server.env.stream())
        .await?;
    eventually(WAIT, || async {
        (server.overall().await == Some(ServingStatus::NotServing)).then_some(())
    })
    .await?;
    // Restarted: serving again, and it consumes.
    eventually(WAIT, || async {
        (server.overall().await == Some(ServingStatus::Serving)).then_some(())
    })
    .await?;
    let event = server.publish().await?;
    eventually(WAIT, || async {
        server.applied(&event).await.then_some(())
    })
    .await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_lists_and_replays_the_services_dead_letters() -> TestResult {
    let server = start().await?;
    server.broken.store(true, Ordering::SeqCst);
    let event = server.publish().await?;
    let listing = eventually(WAIT, || async {
        let list = server
            .ops(Role::Admin)
            .list_dead_letters(ops::ListDeadLettersRequest {
                consumer: DURABLE.to_owned(),
                limit: 10,
            })
            .await
            .ok()?
            .into_inner();
        (!list.dead_letters.is_empty()).then_some(list)
    })
    .await?;
    assert_eq!(listing.consumers, vec![DURABLE.to_owned()]);
    let dead = &listing.dead_letters[0];
    assert_eq!(dead.event_id, event.event_id);
    assert_eq!(dead.case_number, "TB-OPS");
    assert_eq!(dead.kind(), ops::DeadLetterKind::MaxDeliveries);
    assert_eq!(dead.deliveries, 2);

    // Admin only.
    let denied = server
        .ops(Role::Clerk)
        .list_dead_letters(ops::ListDeadLettersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = server
        .ops(Role::Supervisor)
        .replay_dead_letter(ops::ReplayDeadLetterRequest { id: dead.id })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let unknown = server
        .ops(Role::Admin)
        .replay_dead_letter(ops::ReplayDeadLetterRequest { id: dead.id + 1000 })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // The case is known now: the replay applies the event through the inbox, once.
    server.broken.store(false, Ordering::SeqCst);
    let replayed = server
        .ops(Role::Admin)
        .replay_dead_letter(ops::ReplayDeadLetterRequest { id: dead.id })
        .await?
        .into_inner();
    assert!(replayed.applied);
    let row = replayed.dead_letter.unwrap();
    assert!(row.replayed_at.is_some());
    assert_eq!(row.replay_result, "applied");
    assert!(server.applied(&event).await);
    let again = server
        .ops(Role::Admin)
        .replay_dead_letter(ops::ReplayDeadLetterRequest { id: dead.id })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    server.stop().await
}
