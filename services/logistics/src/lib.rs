//! The logistics service (寄递, LogisticsService): waybills for paper originals travelling from
//! the 通办 window to the responsible office (异地代收代办) and for results mailed to the
//! applicant, made from the case events; the carrier's tracking callbacks, idempotent and
//! tolerant of duplicates and late arrivals; the chain of custody (物料流转备案); postage by the
//! tariff (省内免费邮寄); and a simulated carrier that moves waybills along on the clock.
//! Time in transit stops the case clock (特殊环节: `case.clock_suspended` kind `transit`).

pub mod carrier;
mod config;
mod error;
mod events;
pub mod limits;
mod logistics_api;
mod repo;
mod view;
mod waybill;

use std::sync::Arc;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_bus::ConsumerSpec;
use tongban_domain::reference::ReferenceData;
use tongban_proto::logistics::v1::logistics_service_server::LogisticsServiceServer;
use tongban_runtime::auth::interceptor;
use tongban_runtime::pii::PiiKeys;
use tongban_runtime::platform::{Platform, StartError, Tasks};
use tongban_runtime::settings::Settings;
use tonic::service::interceptor::InterceptedService;

pub use config::{Config, ConfigError};
pub use error::LogisticsError;

/// Name of this service: schema, producer of its events, consumer label.
pub const SERVICE: &str = "logistics";
/// Default gRPC port.
pub const DEFAULT_PORT: u16 = 50054;

/// The one executor every step of this service goes through.
pub(crate) const EXECUTOR: tongban_step::Executor = tongban_step::Executor::new(SERVICE);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct State {
    pub reference: Arc<ReferenceData>,
    pub pool: PgPool,
    pub pii: Arc<PiiKeys>,
    pub clock: tongban_runtime::clock::SharedClock,
    pub config: Arc<Config>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogisticsStartError {
    /// The platform (database, NATS, keys, listener) failed.
    #[error(transparent)]
    Platform(#[from] StartError),
    /// The tariff or a `TONGBAN_LOGISTICS_*` setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The logistics service, built and bound, not yet serving.
pub struct Application {
    platform: Platform,
    config: Config,
}

impl Application {
    /// Reads [`Config::load`] from the deploy directory, then as [`Application::build_with`].
    ///
    /// # Errors
    /// See [`LogisticsStartError`].
    pub async fn build(settings: Settings) -> Result<Self, LogisticsStartError> {
        let config = Config::load(&settings.deploy_dir)?;
        Self::build_with(settings, config).await
    }

    /// Loads reference data, migrates the `logistics` schema, connects JetStream, opens the
    /// durable consumer of case events and binds.
    ///
    /// # Errors
    /// See [`LogisticsStartError`].
    pub async fn build_with(
        settings: Settings,
        config: Config,
    ) -> Result<Self, LogisticsStartError> {
        let platform = Platform::start(settings, &MIGRATOR).await?;
        tongban_bus::open_consumer(&platform.bus, &consumer_spec())
            .await
            .map_err(StartError::from)?;
        Ok(Self { platform, config })
    }

    /// The port bound.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.platform.port()
    }

    /// Serves until `shutdown` is cancelled, with the outbox relay, the consumer of case events
    /// and (when configured) the simulated carrier running beside the server.
    ///
    /// # Errors
    /// The server or the consumer fails.
    pub async fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> Result<(), LogisticsStartError> {
        let Platform {
            settings,
            pool,
            bus,
            tokens,
            pii,
            reference,
            listener,
        } = self.platform;
        let state = State {
            clock: settings.clock.clone(),
            reference,
            pool: pool.clone(),
            pii,
            config: Arc::new(self.config),
        };
        let mut tasks = Tasks::new(shutdown);
        tasks.operations(&tokens);
        tasks.audit(SERVICE, &pool, &settings.state_dir)?;
        tasks.relay(&pool, &settings.schema, &bus);
        tasks.consume(
            &bus,
            &pool,
            consumer_spec(),
            events::CaseEvents::new(state.clone()),
        );
        if state.config.simulate {
            tasks.spawn(carrier::run(
                state.clone(),
                carrier::SimulatedCarrier,
                tasks.shutdown().clone(),
            ));
        }
        let (routes, health) = tongban_runtime::server::base_routes().map_err(StartError::from)?;
        // Message sizes set deliberately (limits.rs): tonic refuses a larger request with
        // OUT_OF_RANGE before decoding it.
        let server = LogisticsServiceServer::new(logistics_api::Logistics::new(state))
            .max_decoding_message_size(limits::MAX_DECODING_MESSAGE_BYTES)
            .max_encoding_message_size(limits::MAX_ENCODING_MESSAGE_BYTES);
        let routes = routes.add_service(InterceptedService::new(server, interceptor(tokens)));
        health
            .serving::<LogisticsServiceServer<logistics_api::Logistics>>()
            .await;
        Ok(tasks.serve(listener, routes, health).await?)
    }
}

/// The case events [`events::CaseEvents`] acts on: routing (waybills for originals) and
/// decisions (the result's delivery); logistics' own transit clock events are not among them.
fn consumer_spec() -> ConsumerSpec {
    use tongban_proto::events::v1::{self as ev, event::Body};
    ConsumerSpec::for_events(
        "logistics-case-events",
        &[
            Body::CaseRouted(ev::CaseRouted::default()),
            Body::CaseDecided(ev::CaseDecided::default()),
        ],
    )
}
