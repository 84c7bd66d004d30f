//! What every service starts with: settings, reference data, its schema migrated, JetStream,
//! the deployment's keys and a bound listener. A service's `Application::build` starts a
//! [`Platform`] and adds its own handlers.

use std::net::SocketAddr;
use std::sync::Arc;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tongban_bus::{Bus, BusConfig};
use tongban_domain::reference::ReferenceData;

use crate::auth::TokenKeys;
use crate::pii::PiiKeys;
use crate::settings::Settings;

/// Why a service could not start. Each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Reference data under the deploy directory is missing or invalid.
    #[error("reference data in {dir} cannot be loaded")]
    Reference {
        /// The deploy directory.
        dir: String,
        /// Cause.
        #[source]
        source: tongban_domain::data::DataError,
    },
    /// The database is unreachable or a migration failed.
    #[error("database")]
    Store(#[from] tongban_store::StoreError),
    /// NATS is unreachable or has no JetStream.
    #[error("messaging")]
    Bus(#[from] tongban_bus::BusError),
    /// The token keys cannot be read or created.
    #[error("token keys")]
    Auth(#[from] crate::auth::AuthError),
    /// The personal-data keys cannot be read or created.
    #[error("personal-data keys")]
    Pii(#[from] crate::pii::PiiError),
    /// The listen address is taken or not allowed.
    #[error("cannot listen on {addr}")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server")]
    Serve(#[from] crate::server::ServeError),
}

/// The started foundations of one service.
#[derive(Debug)]
pub struct Platform {
    /// Settings it was started with.
    pub settings: Settings,
    /// Divisions, calendar, catalog and directory.
    pub reference: Arc<ReferenceData>,
    /// Pool on the service's schema (migrated).
    pub pool: PgPool,
    /// JetStream with the stream configured.
    pub bus: Bus,
    /// Bearer-token keys.
    pub tokens: Arc<TokenKeys>,
    /// Personal-data keys.
    pub pii: Arc<PiiKeys>,
    /// Bound listener (port 0 in tests gives a free port).
    pub listener: TcpListener,
}

impl Platform {
    /// Loads, connects, migrates and binds, in that order, failing on the first problem.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn start(settings: Settings, migrator: &Migrator) -> Result<Self, StartError> {
        let reference =
            ReferenceData::load(&settings.deploy_dir).map_err(|source| StartError::Reference {
                dir: settings.deploy_dir.display().to_string(),
                source,
            })?;
        let pool = tongban_store::connect(&settings.database_url, &settings.schema, 10).await?;
        tongban_store::migrate(&pool, migrator).await?;
        let bus = Bus::connect(BusConfig {
            url: settings.nats_url.clone(),
            stream: settings.stream.clone(),
            subject_root: settings.subject_root.clone(),
        })
        .await?;
        let tokens = TokenKeys::load_or_create(&settings.state_dir)?;
        let pii = PiiKeys::load_or_create(&settings.state_dir)?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: settings.listen,
                    source,
                })?;
        Ok(Self {
            settings,
            reference: Arc::new(reference),
            pool,
            bus,
            tokens: Arc::new(tokens),
            pii: Arc::new(pii),
            listener,
        })
    }

    /// The port actually bound.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(self.settings.listen.port())
    }
}

/// The background work of a running service — the outbox relay, the durable consumers and any
/// loops — all stopped by one cancellation token. [`Tasks::serve`] runs the gRPC server beside
/// them and, once it stops, waits for every task and reports the first failure.
#[derive(Debug)]
pub struct Tasks {
    shutdown: CancellationToken,
    loops: Vec<JoinHandle<()>>,
    consumers: Vec<JoinHandle<Result<(), tongban_bus::BusError>>>,
}

impl Tasks {
    /// No tasks yet; all of them will stop when `shutdown` is cancelled.
    #[must_use]
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            loops: Vec::new(),
            consumers: Vec::new(),
        }
    }

    /// The token every task selects on.
    #[must_use]
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Starts the outbox relay of `schema`.
    pub fn relay(&mut self, pool: &PgPool, schema: &str, bus: &Bus) {
        self.spawn(tongban_bus::run_relay(
            pool.clone(),
            schema.to_owned(),
            bus.clone(),
            self.shutdown.clone(),
        ));
    }

    /// Starts a durable consumer.
    pub fn consume<H: tongban_bus::EventHandler>(
        &mut self,
        bus: &Bus,
        pool: &PgPool,
        spec: tongban_bus::ConsumerSpec,
        handler: H,
    ) {
        self.consumers.push(tokio::spawn(tongban_bus::run_consumer(
            bus.clone(),
            pool.clone(),
            spec,
            handler,
            self.shutdown.clone(),
        )));
    }

    /// Starts a loop that ends by itself once the token is cancelled.
    pub fn spawn(&mut self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        self.loops.push(tokio::spawn(work));
    }

    /// Serves until the token is cancelled (or the server fails, which cancels it), then waits
    /// for every task to finish the work in hand.
    ///
    /// # Errors
    /// The server failed, or a consumer could not run.
    pub async fn serve(
        self,
        listener: TcpListener,
        routes: tonic::service::Routes,
        health: crate::server::Health,
    ) -> Result<(), StartError> {
        let served = crate::server::serve(listener, routes, health, self.shutdown.clone()).await;
        self.shutdown.cancel();
        for task in self.loops {
            let _ = task.await;
        }
        let mut outcome = served.map_err(StartError::from);
        for consumer in self.consumers {
            if let Ok(Err(err)) = consumer.await
                && outcome.is_ok()
            {
                outcome = Err(err.into());
            }
        }
        outcome
    }
}
