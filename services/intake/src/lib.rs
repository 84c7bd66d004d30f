//! The intake service (收件/受理): the catalog (CatalogService) and case intake at the 通办
//! window (IntakeService). It validates and routes submissions, accepts cases with their time
//! limit, keeps the window's view of each case up to date from the review office's events, and
//! publishes every change through its outbox.

mod accept;
mod bundles;
mod catalog_api;
mod certificates;
mod clock_events;
mod error;
mod events;
mod intake_api;
mod limits;
mod parts;
mod repo;
mod results;
mod validation;
mod view;

use std::sync::Arc;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_bus::ConsumerSpec;
use tongban_domain::reference::ReferenceData;
use tongban_proto::catalog::v1::catalog_service_server::CatalogServiceServer;
use tongban_proto::intake::v1::intake_service_server::IntakeServiceServer;
use tongban_runtime::auth::{TokenKeys, interceptor};
use tongban_runtime::pii::PiiKeys;
use tongban_runtime::platform::{Platform, StartError, Tasks};
use tongban_runtime::settings::Settings;

/// Name of this service: schema, producer of its events, consumer label.
pub const SERVICE: &str = "intake";
/// Default gRPC port.
pub const DEFAULT_PORT: u16 = 50051;

/// The one step executor every handler and consumer of this service takes its steps through.
pub(crate) const EXECUTOR: tongban_step::Executor = tongban_step::Executor::new(SERVICE);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct State {
    pub reference: Arc<ReferenceData>,
    pub pool: PgPool,
    pub pii: Arc<PiiKeys>,
    pub clock: tongban_runtime::clock::SharedClock,
    /// Client of the certificate service (两个免提交).
    pub certificates: certificates::Verifier,
}

/// The intake service, built and bound, not yet serving.
pub struct Application {
    platform: Platform,
}

impl Application {
    /// Loads reference data, migrates the `intake` schema, connects JetStream and binds.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let platform = Platform::start(settings, &MIGRATOR).await?;
        // Create the durable consumer now so nothing published from here on is missed.
        tongban_bus::open_consumer(&platform.bus, &consumer_spec()).await?;
        tongban_bus::open_consumer(&platform.bus, &results::consumer_spec()).await?;
        Ok(Self { platform })
    }

    /// The port bound.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.platform.port()
    }

    /// Serves until `shutdown` is cancelled, with the outbox relay and the consumer of review
    /// events running beside the server.
    ///
    /// # Errors
    /// The server or the consumer fails.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), StartError> {
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
            reference,
            pool: pool.clone(),
            pii,
            clock: settings.clock.clone(),
            certificates: certificates::Verifier::new(
                &settings.certificate_url,
                settings.tls_ca.as_deref(),
            ),
        };
        let mut tasks = Tasks::new(shutdown);
        tasks.operations(&tokens);
        tasks.audit(SERVICE, &pool, &settings.state_dir)?;
        tasks.relay(&pool, &settings.schema, &bus);
        tasks.consume(
            &bus,
            &pool,
            consumer_spec(),
            events::ReviewEvents::new(state.clone()),
        );
        tasks.consume(
            &bus,
            &pool,
            results::consumer_spec(),
            results::CertificateEvents::new(state.clone()),
        );
        let (routes, health) = tongban_runtime::server::base_routes()?;
        let auth = interceptor(Arc::clone(&tokens) as Arc<TokenKeys>);
        let routes = routes
            .add_service(CatalogServiceServer::with_interceptor(
                catalog_api::Catalog::new(state.clone()),
                auth.clone(),
            ))
            .add_service(IntakeServiceServer::with_interceptor(
                intake_api::Intake::new(state),
                auth,
            ));
        health
            .serving::<CatalogServiceServer<catalog_api::Catalog>>()
            .await;
        health
            .serving::<IntakeServiceServer<intake_api::Intake>>()
            .await;
        tasks.serve(listener, routes, health).await
    }
}

/// The review office's steps on a case and the clock changes (from review and, for transit,
/// logistics) that [`events::ReviewEvents`] applies; intake's own case events are not among
/// them.
fn consumer_spec() -> ConsumerSpec {
    use tongban_proto::events::v1::{self as ev, event::Body};
    ConsumerSpec::for_events(
        "intake-case-events",
        &[
            Body::CaseClaimed(ev::CaseClaimed::default()),
            Body::SupplementRequested(ev::SupplementRequested::default()),
            Body::CaseDecided(ev::CaseDecided::default()),
            Body::CasePartUpdated(ev::CasePartUpdated::default()),
            Body::DeadlineExtended(ev::DeadlineExtended::default()),
            Body::ClockSuspended(ev::ClockSuspended::default()),
            Body::ClockResumed(ev::ClockResumed::default()),
        ],
    )
}
