//! The supervision service (督办, SupervisionService): keeps the clock of every case from the case
//! events (stages, 补正 and Art. 45 suspensions, 延长), raises `deadline.warning` and
//! `deadline.breached` for each stage and for the whole case exactly once, opens 13710 tickets
//! for breaches and complaints and escalates a ticket one level (county → city → province) for
//! each milestone missed, and answers alerts, tickets and statistics. A 多地联办 case is
//! supervised as one clock, but its alerts and tickets go to the office whose part holds it up.

pub mod clock;
mod config;
mod error;
mod evaluate;
mod events;
mod level;
pub mod limits;
mod parts;
mod repo;
mod supervision_api;
mod tickets;

use std::sync::Arc;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_bus::ConsumerSpec;
use tongban_domain::reference::ReferenceData;
use tongban_proto::supervision::v1::supervision_service_server::SupervisionServiceServer;
use tongban_runtime::auth::interceptor;
use tongban_runtime::platform::{Platform, StartError, Tasks};
use tongban_runtime::settings::Settings;
use tonic::service::interceptor::InterceptedService;

pub use config::{Config, ConfigError};
pub use error::SupervisionError;
pub use evaluate::{Evaluator, PassReport};

/// Name of this service: schema, producer of its events, consumer label.
pub const SERVICE: &str = "supervision";
/// Default gRPC port.
pub const DEFAULT_PORT: u16 = 50056;

/// The one executor every step of this service goes through.
pub(crate) const EXECUTOR: tongban_step::Executor = tongban_step::Executor::new(SERVICE);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The migrations of the `supervision` schema (for the benchmark, which prepares its own).
#[must_use]
pub fn migrator() -> &'static sqlx::migrate::Migrator {
    &MIGRATOR
}

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct State {
    pub reference: Arc<ReferenceData>,
    pub pool: PgPool,
    pub clock: tongban_runtime::clock::SharedClock,
    pub config: Config,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum SupervisionStartError {
    /// The platform (database, NATS, keys, listener) failed.
    #[error(transparent)]
    Platform(#[from] StartError),
    /// A `TONGBAN_SUPERVISION_*` setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The supervision service, built and bound, not yet serving.
pub struct Application {
    platform: Platform,
    config: Config,
}

impl Application {
    /// Reads [`Config::from_env`], then as [`Application::build_with`].
    ///
    /// # Errors
    /// See [`SupervisionStartError`].
    pub async fn build(settings: Settings) -> Result<Self, SupervisionStartError> {
        let config = Config::from_env()?;
        Self::build_with(settings, config).await
    }

    /// Loads reference data, migrates the `supervision` schema, connects JetStream, opens the
    /// durable consumers (case events, complaints) and binds.
    ///
    /// # Errors
    /// See [`SupervisionStartError`].
    pub async fn build_with(
        settings: Settings,
        config: Config,
    ) -> Result<Self, SupervisionStartError> {
        let platform = Platform::start(settings, &MIGRATOR).await?;
        for spec in consumer_specs() {
            tongban_bus::open_consumer(&platform.bus, &spec)
                .await
                .map_err(StartError::from)?;
        }
        Ok(Self { platform, config })
    }

    /// The port bound.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.platform.port()
    }

    /// Serves until `shutdown` is cancelled, with the outbox relay, the consumers and the
    /// evaluation loop (driven by the configured clock) running beside the server.
    ///
    /// # Errors
    /// The server or a consumer fails.
    pub async fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> Result<(), SupervisionStartError> {
        let Platform {
            settings,
            pool,
            bus,
            tokens,
            reference,
            listener,
            ..
        } = self.platform;
        let state = State {
            clock: settings.clock.clone(),
            reference,
            pool: pool.clone(),
            config: self.config,
        };
        let mut tasks = Tasks::new(shutdown);
        tasks.operations(&tokens);
        tasks.read_model(read_model(&settings));
        tasks.audit(SERVICE, &pool, &settings.state_dir)?;
        tasks.relay(&pool, &settings.schema, &bus);
        let [cases, complaints, ratings] = consumer_specs();
        tasks.consume(&bus, &pool, cases, events::CaseEvents::new(state.clone()));
        tasks.consume(
            &bus,
            &pool,
            complaints,
            events::Complaints::new(state.clone()),
        );
        tasks.consume(&bus, &pool, ratings, events::Complaints::new(state.clone()));
        let evaluator = Evaluator::new(
            state.pool.clone(),
            state.reference.clone(),
            state.config.clone(),
        );
        tasks.spawn(evaluator.run(state.clock.clone(), tasks.shutdown().clone()));
        let (routes, health) = tongban_runtime::server::base_routes().map_err(StartError::from)?;
        // Message sizes set deliberately (limits.rs): tonic refuses a larger request with
        // OUT_OF_RANGE before decoding it.
        let server = SupervisionServiceServer::new(supervision_api::Supervision::new(state))
            .max_decoding_message_size(limits::MAX_DECODING_MESSAGE_BYTES)
            .max_encoding_message_size(limits::MAX_ENCODING_MESSAGE_BYTES);
        let routes = routes.add_service(InterceptedService::new(server, interceptor(tokens)));
        health
            .serving::<SupervisionServiceServer<supervision_api::Supervision>>()
            .await;
        Ok(tasks.serve(listener, routes, health).await?)
    }
}

/// The read model (读模型) that replaying the consumed events rebuilds: the case clocks, kept
/// from the case events. Not part of it, because they depend on when the evaluation loop ran
/// and not only on the events: the alerts (warnings, breaches), the loop's marks on a clock
/// (`tracked` deadlines' `warned` / `breached`, `next_check_at`, `case_breached`), and the
/// tickets, which operators move on. Those are published as events themselves (`deadline.*`,
/// `supervision.ticket_*`), exactly once.
pub const READ_MODEL_TABLES: &[&str] = &["case_clocks"];

fn read_model(settings: &Settings) -> tongban_runtime::ops::ReadModel {
    tongban_runtime::ops::ReadModel {
        database_url: settings.database_url.clone(),
        migrator: &MIGRATOR,
        tables: READ_MODEL_TABLES,
    }
}

/// The consumers of [`events::CaseEvents`] (the steps that move a case's clock, from routing
/// on), and of [`events::Complaints`] for complaints filed and for ratings (a bad one opens 督办).
fn consumer_specs() -> [ConsumerSpec; 3] {
    use tongban_proto::events::v1::{self as ev, event::Body};
    [
        ConsumerSpec::for_events(
            "supervision-case-events",
            &[
                Body::CaseRouted(ev::CaseRouted::default()),
                Body::CaseClaimed(ev::CaseClaimed::default()),
                Body::SupplementRequested(ev::SupplementRequested::default()),
                Body::CaseSupplemented(ev::CaseSupplemented::default()),
                Body::CasePartUpdated(ev::CasePartUpdated::default()),
                Body::ClockSuspended(ev::ClockSuspended::default()),
                Body::ClockResumed(ev::ClockResumed::default()),
                Body::DeadlineExtended(ev::DeadlineExtended::default()),
                Body::CaseDecided(ev::CaseDecided::default()),
                Body::CaseCompleted(ev::CaseCompleted::default()),
                Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
            ],
        ),
        ConsumerSpec::for_events(
            "supervision-complaints",
            &[Body::ComplaintFiled(ev::ComplaintFiled::default())],
        ),
        ConsumerSpec::for_events(
            "supervision-ratings",
            &[Body::ServiceRated(ev::ServiceRated::default())],
        ),
    ]
}
