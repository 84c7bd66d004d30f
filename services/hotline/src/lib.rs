//! The 12345 hotline service (HotlineService): a masked status read model of every case, built
//! from the case events on the stream, that a hotline operator queries by case number once the
//! caller has proved who they are (last six characters of the ID number or last four digits of
//! the phone); complaints (投诉) and 好差评 ratings about a case. Every verification attempt is
//! audited.

mod complaints;
mod error;
mod events;
mod filters;
mod hotline_api;
mod lockout;
mod notices;
mod parts;
mod ratings;
mod repo;
mod rules;
mod stored;
#[cfg(test)]
mod stored_tests;
mod throttle;
mod verify;
mod view;
mod waybills;

use std::sync::Arc;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_bus::ConsumerSpec;
use tongban_domain::reference::ReferenceData;
use tongban_proto::hotline::v1::hotline_service_server::HotlineServiceServer;
use tongban_runtime::auth::{TokenKeys, interceptor};
use tongban_runtime::pii::PiiKeys;
use tongban_runtime::platform::{Platform, StartError, Tasks};
use tongban_runtime::settings::Settings;

pub use crate::throttle::{LOOKUPS_PER_MINUTE_VAR, Limits};

/// Name of this service: schema, producer of its events, consumer label.
pub const SERVICE: &str = "hotline";
/// Default gRPC port.
pub const DEFAULT_PORT: u16 = 50055;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct State {
    pub reference: Arc<ReferenceData>,
    pub pool: PgPool,
    pub pii: Arc<PiiKeys>,
    pub clock: tongban_runtime::clock::SharedClock,
    /// 查询限流: status lookups per operator.
    pub limiter: Arc<throttle::LookupLimiter>,
}

/// The hotline service, built and bound, not yet serving.
pub struct Application {
    platform: Platform,
    limits: Limits,
}

impl Application {
    /// Loads reference data, migrates the `hotline` schema, connects JetStream, opens the
    /// durable consumer of case events and binds.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let platform = Platform::start(settings, &MIGRATOR).await?;
        // Create the durable consumer now so nothing published from here on is missed.
        tongban_bus::open_consumer(&platform.bus, &consumer_spec()).await?;
        tongban_bus::open_consumer(&platform.bus, &waybills::consumer_spec()).await?;
        Ok(Self {
            platform,
            limits: Limits::default(),
        })
    }

    /// The same service with `limits` instead of the defaults (see [`Limits::from_env`]).
    #[must_use]
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// The port bound.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.platform.port()
    }

    /// Serves until `shutdown` is cancelled, with the outbox relay (complaint and rating events)
    /// and the consumer of case events running beside the server.
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
        tracing::info!(
            lookups_per_minute = self.limits.lookups_per_minute.get(),
            "status lookups limited per operator"
        );
        let state = State {
            clock: settings.clock.clone(),
            reference,
            pool: pool.clone(),
            pii,
            limiter: Arc::new(throttle::LookupLimiter::new(self.limits)),
        };
        let mut tasks = Tasks::new(shutdown);
        tasks.operations(&tokens);
        tasks.read_model(read_model(&settings));
        tasks.audit(SERVICE, &pool, &settings.state_dir)?;
        tasks.relay(&pool, &settings.schema, &bus);
        tasks.consume(&bus, &pool, waybills::consumer_spec(), waybills::Waybills);
        tasks.consume(
            &bus,
            &pool,
            consumer_spec(),
            events::CaseEvents::new(state.clone()),
        );
        let (routes, health) = tongban_runtime::server::base_routes()?;
        let auth = interceptor(Arc::clone(&tokens) as Arc<TokenKeys>);
        let routes = routes.add_service(HotlineServiceServer::with_interceptor(
            hotline_api::Hotline::new(state),
            auth,
        ));
        health
            .serving::<HotlineServiceServer<hotline_api::Hotline>>()
            .await;
        tasks.serve(listener, routes, health).await
    }
}

/// The read model (读模型): the tables only the consumers write — the case status view and its
/// timeline from `case.>`, the waybills from `logistics.>`. Lookups, complaints, ratings,
/// rectifications and lockouts are the service's own records, written by its RPCs.
pub const READ_MODEL_TABLES: &[&str] = &["case_status", "case_timeline", "waybills"];

fn read_model(settings: &Settings) -> tongban_runtime::ops::ReadModel {
    tongban_runtime::ops::ReadModel {
        database_url: settings.database_url.clone(),
        migrator: &MIGRATOR,
        tables: READ_MODEL_TABLES,
    }
}

/// The case events the hotline's status view follows ([`events::CaseEvents`]): every step of
/// a case, not the clock events (the view keeps no clock).
fn consumer_spec() -> ConsumerSpec {
    use tongban_proto::events::v1::{self as ev, event::Body};
    ConsumerSpec::for_events(
        "hotline-case-events",
        &[
            Body::CaseSubmitted(ev::CaseSubmitted::default()),
            Body::CaseAccepted(ev::CaseAccepted::default()),
            Body::CaseRouted(ev::CaseRouted::default()),
            Body::CaseClaimed(ev::CaseClaimed::default()),
            Body::SupplementRequested(ev::SupplementRequested::default()),
            Body::CaseSupplemented(ev::CaseSupplemented::default()),
            Body::CaseDecided(ev::CaseDecided::default()),
            Body::CaseCompleted(ev::CaseCompleted::default()),
            Body::CaseWithdrawn(ev::CaseWithdrawn::default()),
            Body::CasePartUpdated(ev::CasePartUpdated::default()),
        ],
    )
}
