//! The certificate service (CertificateService, 电子证照): issues certificates signed with the
//! issuing office's SM2 key, verifies compact tokens against the trust list of every
//! province's root and its issuers (failing closed), records status changes (暂扣, 撤销, …)
//! and publishes `cert.issued` / `cert.revoked` through the outbox.

mod api;
mod error;
pub mod keystore;
pub mod pins;
mod results;

use std::sync::Arc;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tongban_domain::reference::ReferenceData;
use tongban_proto::certificate::v1::certificate_service_server::CertificateServiceServer;
use tongban_runtime::auth::{TokenKeys, interceptor};
use tongban_runtime::pii::PiiKeys;
use tongban_runtime::platform::{Platform, StartError, Tasks};
use tongban_runtime::settings::Settings;

/// Name of this service: schema, producer of its events.
pub const SERVICE: &str = "certificate";
/// Default gRPC port.
pub const DEFAULT_PORT: u16 = 50053;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct State {
    pub reference: Arc<ReferenceData>,
    pub pool: PgPool,
    pub pii: Arc<PiiKeys>,
    pub clock: tongban_runtime::clock::SharedClock,
    pub keys: Arc<keystore::Keystore>,
}

/// Why the certificate service could not start.
#[derive(Debug, thiserror::Error)]
pub enum CertificateStartError {
    /// The common foundations failed.
    #[error(transparent)]
    Platform(#[from] StartError),
    /// The trust list could not be loaded.
    #[error("trust list")]
    Keys(#[from] keystore::KeystoreError),
}

/// The certificate service, built and bound, not yet serving.
pub struct Application {
    platform: Platform,
    keys: Arc<keystore::Keystore>,
}

impl Application {
    /// Loads reference data, migrates the `certificate` schema, connects JetStream, loads the
    /// trust list and binds.
    ///
    /// # Errors
    /// See [`CertificateStartError`].
    pub async fn build(settings: Settings) -> Result<Self, CertificateStartError> {
        let platform = Platform::start(settings, &MIGRATOR).await?;
        // Create the durable consumer now so no routed or decided case is missed.
        tongban_bus::open_consumer(&platform.bus, &results::consumer_spec())
            .await
            .map_err(StartError::from)?;
        let keys = keystore::Keystore::load(
            &platform.pool,
            platform.settings.state_dir.clone(),
            &platform.settings.deploy_dir,
        )
        .await?;
        Ok(Self {
            platform,
            keys: Arc::new(keys),
        })
    }

    /// The port bound.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.platform.port()
    }

    /// Serves until `shutdown` is cancelled, with the outbox relay beside the server.
    ///
    /// # Errors
    /// The server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> Result<(), CertificateStartError> {
        let Platform {
            settings,
            pool,
            tokens,
            pii,
            reference,
            listener,
            bus,
        } = self.platform;
        let state = State {
            clock: settings.clock.clone(),
            reference,
            pool,
            pii,
            keys: self.keys,
        };
        let mut tasks = Tasks::new(shutdown);
        tasks.operations(&tokens);
        tasks.audit(SERVICE, &state.pool, &settings.state_dir)?;
        tasks.relay(&state.pool, &settings.schema, &bus);
        tasks.consume(
            &bus,
            &state.pool,
            results::consumer_spec(),
            results::CaseEvents::new(state.clone()),
        );
        let (routes, health) = tongban_runtime::server::base_routes().map_err(StartError::from)?;
        let auth = interceptor(Arc::clone(&tokens) as Arc<TokenKeys>);
        let routes = routes.add_service(CertificateServiceServer::with_interceptor(
            api::Certificates::new(state),
            auth,
        ));
        health
            .serving::<CertificateServiceServer<api::Certificates>>()
            .await;
        Ok(tasks.serve(listener, routes, health).await?)
    }
}
