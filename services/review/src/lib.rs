//! The review service (属地审批): the inbox of cases routed to each responsible office; a
//! reviewer of that office — and only of that office — claims a case, asks for 补正, and
//! approves or denies it against the matter's 审查要点 checklist. A 多地联办 case is in the
//! inbox of every office that handles a part of it, each office seeing and acting on its own
//! part only; a 一件事 member shows its bundle's status. Every step is taken through one
//! executor ([`step`]) that publishes through the outbox.

mod api;
mod clock_api;
mod error;
mod events;
mod joint;
pub mod limits;
mod members;
mod originals;
mod repo;
mod step;
mod view;
pub mod watch;

use std::sync::Arc;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_bus::ConsumerSpec;
use tongban_domain::reference::ReferenceData;
use tongban_proto::review::v1::review_service_server::ReviewServiceServer;
use tongban_runtime::auth::interceptor;
use tongban_runtime::platform::{Platform, StartError, Tasks};
use tongban_runtime::settings::Settings;
use tonic::service::interceptor::InterceptedService;
pub use watch::WatchLimits;

/// Name of this service: schema, producer of its events, consumer label.
pub const SERVICE: &str = "review";
/// Default gRPC port.
pub const DEFAULT_PORT: u16 = 50052;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct State {
    pub reference: Arc<ReferenceData>,
    pub pool: PgPool,
    pub watchers: watch::Hub,
    pub clock: tongban_runtime::clock::SharedClock,
}

/// The review service, built and bound, not yet serving.
pub struct Application {
    platform: Platform,
    watch: WatchLimits,
}

impl Application {
    /// Loads reference data, migrates the `review` schema, connects JetStream and binds.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let platform = Platform::start(settings, &MIGRATOR).await?;
        tongban_bus::open_consumer(&platform.bus, &consumer_spec()).await?;
        tongban_bus::open_consumer(&platform.bus, &originals::consumer_spec()).await?;
        Ok(Self {
            platform,
            watch: WatchLimits::default(),
        })
    }

    /// The same service with WatchAssignments limited by `watch` instead of the defaults (see
    /// [`WatchLimits::from_env`]).
    #[must_use]
    pub fn with_watch_limits(self, watch: WatchLimits) -> Self {
        Self { watch, ..self }
    }

    /// The port bound.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.platform.port()
    }

    /// Serves until `shutdown` is cancelled, with the outbox relay, the consumer of routed cases
    /// and the change feed for watchers running beside the server.
    ///
    /// # Errors
    /// The server or the consumer fails.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), StartError> {
        let Platform {
            settings,
            pool,
            bus,
            tokens,
            reference,
            listener,
            ..
        } = self.platform;
        let clock = settings.clock.clone();
        let mut tasks = Tasks::new(shutdown);
        tasks.operations(&tokens);
        tasks.audit(SERVICE, &pool, &settings.state_dir)?;
        let watchers = watch::Hub::new(
            pool.clone(),
            reference.clone(),
            clock.clone(),
            self.watch,
            tasks.shutdown().clone(),
        );
        tasks.spawn(watchers.clone().run_feed());
        let state = State {
            clock,
            reference,
            pool: pool.clone(),
            watchers,
        };
        tasks.relay(&pool, &settings.schema, &bus);
        tasks.consume(
            &bus,
            &pool,
            originals::consumer_spec(),
            originals::Deliveries,
        );
        tasks.consume(
            &bus,
            &pool,
            consumer_spec(),
            events::CaseEvents::new(state.clone()),
        );
        let (routes, health) = tongban_runtime::server::base_routes()?;
        // Message sizes set deliberately (limits.rs): tonic refuses a larger request with
        // OUT_OF_RANGE before decoding it.
        let server = ReviewServiceServer::new(api::Review::new(state))
            .max_decoding_message_size(limits::MAX_DECODING_MESSAGE_BYTES)
            .max_encoding_message_size(limits::MAX_ENCODING_MESSAGE_BYTES);
        let routes = routes.add_service(InterceptedService::new(server, interceptor(tokens)));
        health.serving::<ReviewServiceServer<api::Review>>().await;
        tasks.serve(listener, routes, health).await
    }
}

/// The window's steps on a case that [`events::CaseEvents`] (and its 一件事 members) act on;
/// claims, 补正 requests and decisions are review's own and not among them.
fn consumer_spec() -> ConsumerSpec {
    use tongban_proto::events::v1::{self as ev, event::Body};
    ConsumerSpec::for_events(
        "review-case-events",
        &[
            Body::CaseSubmitted(ev::CaseSubmitted::default()),
            Body::CaseAccepted(ev::CaseAccepted::default()),
            Body::CaseRouted(ev::CaseRouted::default()),
            Body::CaseSupplemented(ev::CaseSupplemented::default()),
            Body::CaseCompleted(ev::CaseCompleted::default()),
            Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
        ],
    )
}
