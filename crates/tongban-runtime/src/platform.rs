//! What every service starts with: settings, reference data, its schema migrated, JetStream,
//! the deployment's keys and a bound listener. A service's `Application::build` starts a
//! [`Platform`] and adds its own handlers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tongban_bus::{Bus, BusConfig};
use tongban_domain::reference::ReferenceData;
use tongban_proto::ops::v1::operations_service_server::OperationsServiceServer;

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
    /// The audit trail's signing key cannot be read or created.
    #[error("audit trail")]
    Audit(#[from] crate::audit::AuditError),
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
    /// Bound listener (port 0 in tests gives a free port), serving TLS when the settings name a
    /// certificate and key.
    pub listener: crate::server::Listener,
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
        let reference = Arc::new(reference);
        let pool = tongban_store::connect(&settings.database_url, &settings.schema, 10).await?;
        tongban_store::migrate(&pool, migrator).await?;
        let bus = Bus::connect(BusConfig {
            url: settings.nats_url.clone(),
            stream: settings.stream.clone(),
            subject_root: settings.subject_root.clone(),
        })
        .await?;
        // Tokens must name an office of this directory (issue 13 item 13).
        let tokens =
            TokenKeys::load_or_create(&settings.state_dir)?.with_directory(Arc::clone(&reference));
        let pii = PiiKeys::load_or_create(&settings.state_dir)?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: settings.listen,
                    source,
                })?;
        let listener = crate::server::Listener::new(listener, settings.tls.as_ref())?;
        Ok(Self {
            settings,
            reference,
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

/// How consumers are run and restarted: the same for every consumer of a service.
#[derive(Debug, Clone)]
pub struct Supervision {
    /// Delivery bound and retry delays ([`tongban_bus::ConsumerOptions::from_env`] by default).
    pub options: tongban_bus::ConsumerOptions,
    /// Pause before the first restart of a consumer that stopped; doubled after each further
    /// failed start. Default 1 s.
    pub restart_delay: Duration,
    /// Longest pause between restarts. Default 30 s.
    pub restart_delay_max: Duration,
}

impl Default for Supervision {
    fn default() -> Self {
        Self {
            options: tongban_bus::ConsumerOptions::from_env(),
            restart_delay: Duration::from_secs(1),
            restart_delay_max: Duration::from_secs(30),
        }
    }
}

/// The background work of a running service — the outbox relay, the durable consumers and any
/// loops — all stopped by one cancellation token. [`Tasks::serve`] runs the gRPC server beside
/// them and, once it stops, waits for every task and reports the first failure.
///
/// Each consumer runs under supervision: when it stops for any reason (an error, a panic, its
/// durable deleted on the server) it is restarted after a growing pause, and while any consumer
/// is down the server's overall health is NOT_SERVING. With [`Tasks::operations`], the server
/// also serves `tongban.ops.v1.OperationsService` over the service's own dead letters.
pub struct Tasks {
    shutdown: CancellationToken,
    loops: Vec<JoinHandle<()>>,
    consumers: Vec<JoinHandle<()>>,
    supervision: Supervision,
    /// Durable names of the consumers that are down now.
    down: Arc<tokio::sync::watch::Sender<BTreeSet<String>>>,
    replayers: BTreeMap<String, tongban_bus::Replayer>,
    /// The service's schema, for the operations service.
    pool: Option<PgPool>,
    tokens: Option<Arc<TokenKeys>>,
    /// The read model the operations service can rebuild, and the consumers that build it.
    read_model: Option<crate::ops::ReadModel>,
    rebuild: Vec<tongban_bus::RebuildConsumer>,
    /// The hash-chained audit, served as `tongban.ops.v1.AuditService` when set.
    audit: Option<crate::audit::AuditTrail>,
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks")
            .field("loops", &self.loops.len())
            .field("consumers", &self.replayers.keys().collect::<Vec<_>>())
            .field("supervision", &self.supervision)
            .finish_non_exhaustive()
    }
}

impl Tasks {
    /// No tasks yet; all of them will stop when `shutdown` is cancelled.
    #[must_use]
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            loops: Vec::new(),
            consumers: Vec::new(),
            supervision: Supervision::default(),
            down: Arc::new(tokio::sync::watch::Sender::new(BTreeSet::new())),
            replayers: BTreeMap::new(),
            pool: None,
            tokens: None,
            read_model: None,
            rebuild: Vec::new(),
            audit: None,
        }
    }

    /// Runs the consumers started after this call with `supervision` (tests: short delays).
    pub fn set_supervision(&mut self, supervision: Supervision) {
        self.supervision = supervision;
    }

    /// The token every task selects on.
    #[must_use]
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Serves `tongban.ops.v1.OperationsService` (admin role only, checked with `tokens`) beside
    /// the service's own: the dead letters of the consumers started here, and their replay.
    pub fn operations(&mut self, tokens: &Arc<TokenKeys>) {
        self.tokens = Some(Arc::clone(tokens));
    }

    /// Declares the service's read model: the operations service then rebuilds it on request
    /// (`RebuildReadModel`) by replaying, into a fresh schema, the events the consumers started
    /// here take, through their handlers.
    pub fn read_model(&mut self, model: crate::ops::ReadModel) {
        self.read_model = Some(model);
    }

    /// Chains `service`'s audit log and signs its checkpoints in the background (keys in
    /// `state_dir`, policy from the environment), and serves `tongban.ops.v1.AuditService`
    /// (see [`crate::audit`]).
    ///
    /// # Errors
    /// The audit signing key cannot be read or created.
    pub fn audit(
        &mut self,
        service: &'static str,
        pool: &PgPool,
        state_dir: &std::path::Path,
    ) -> Result<(), StartError> {
        let trail = crate::audit::AuditTrail::open(
            service,
            pool.clone(),
            state_dir,
            crate::audit::CheckpointPolicy::from_env(),
        )?;
        self.spawn(trail.clone().run(self.shutdown.clone()));
        self.audit = Some(trail);
        Ok(())
    }

    /// Starts the outbox relay of `schema`.
    pub fn relay(&mut self, pool: &PgPool, schema: &str, bus: &Bus) {
        self.pool.get_or_insert_with(|| pool.clone());
        self.spawn(tongban_bus::run_relay(
            pool.clone(),
            schema.to_owned(),
            bus.clone(),
            self.shutdown.clone(),
        ));
    }

    /// Starts a durable consumer under supervision, and registers its replay of dead letters.
    pub fn consume<H: tongban_bus::EventHandler>(
        &mut self,
        bus: &Bus,
        pool: &PgPool,
        spec: tongban_bus::ConsumerSpec,
        handler: H,
    ) {
        self.pool.get_or_insert_with(|| pool.clone());
        let handler = Arc::new(handler);
        self.rebuild.push(tongban_bus::RebuildConsumer::new(
            &spec,
            Arc::clone(&handler),
        ));
        self.replayers.insert(
            spec.durable.clone(),
            tongban_bus::replayer(pool.clone(), spec.durable.clone(), Arc::clone(&handler)),
        );
        self.consumers.push(tokio::spawn(supervise(
            bus.clone(),
            pool.clone(),
            spec,
            handler,
            self.supervision.clone(),
            Arc::clone(&self.down),
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
    /// The server failed.
    pub async fn serve(
        self,
        listener: impl Into<crate::server::Listener>,
        routes: tonic::service::Routes,
        health: crate::server::Health,
    ) -> Result<(), StartError> {
        let routes = match (self.audit, &self.tokens) {
            (Some(trail), Some(tokens)) => routes.add_service(
                tongban_proto::ops::v1::audit_service_server::AuditServiceServer::with_interceptor(
                    crate::audit::Audit::new(trail),
                    crate::auth::interceptor(Arc::clone(tokens)),
                ),
            ),
            _ => routes,
        };
        let routes = match (self.tokens, self.pool) {
            (Some(tokens), Some(pool)) => {
                let operations = crate::ops::Operations::new(pool, self.replayers);
                let operations = match self.read_model {
                    Some(model) => operations.with_read_model(model, self.rebuild),
                    None => operations,
                };
                routes.add_service(OperationsServiceServer::with_interceptor(
                    operations,
                    crate::auth::interceptor(tokens),
                ))
            }
            _ => routes,
        };
        let watcher = tokio::spawn(report_consumers(
            self.down.subscribe(),
            health.clone(),
            self.shutdown.clone(),
        ));
        let served = crate::server::serve(listener, routes, health, self.shutdown.clone()).await;
        self.shutdown.cancel();
        let _ = watcher.await;
        for task in self.loops {
            let _ = task.await;
        }
        for consumer in self.consumers {
            let _ = consumer.await;
        }
        served.map_err(StartError::from)
    }
}

/// Passes every change of the set of consumers that are down on to `health`.
async fn report_consumers(
    mut down: tokio::sync::watch::Receiver<BTreeSet<String>>,
    health: crate::server::Health,
    shutdown: CancellationToken,
) {
    let mut reported = BTreeSet::new();
    loop {
        let now = down.borrow_and_update().clone();
        for durable in reported.difference(&now) {
            health.consumer(durable, false).await;
        }
        for durable in now.difference(&reported) {
            health.consumer(durable, true).await;
        }
        reported = now;
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = down.changed() => if changed.is_err() { return },
        }
    }
}

/// Runs one consumer until shutdown, restarting it after a growing pause whenever it stops
/// (an error, a panic, its durable deleted on the server); it counts as down from the moment
/// it stops until it has opened its durable again.
async fn supervise<H: tongban_bus::EventHandler>(
    bus: Bus,
    pool: PgPool,
    spec: tongban_bus::ConsumerSpec,
    handler: Arc<H>,
    supervision: Supervision,
    down: Arc<tokio::sync::watch::Sender<BTreeSet<String>>>,
    shutdown: CancellationToken,
) {
    let durable = spec.durable.clone();
    let set_down = |is_down: bool| {
        down.send_if_modified(|set| {
            if is_down {
                set.insert(durable.clone())
            } else {
                set.remove(&durable)
            }
        });
    };
    let mut pause = supervision.restart_delay;
    let mut first = true;
    loop {
        if !first {
            // Opened again: the consumer is back before it takes its first delivery.
            match tongban_bus::open_consumer_with(&bus, &spec, &supervision.options).await {
                Ok(_) => set_down(false),
                Err(err) => {
                    tracing::error!(%durable, error = %error_chain(&err), alert = "consumer_down", "consumer cannot be restarted; will retry");
                    if !wait(&shutdown, &mut pause, &supervision).await {
                        return;
                    }
                    continue;
                }
            }
        }
        first = false;
        let started = tokio::time::Instant::now();
        let run = tokio::spawn(tongban_bus::run_consumer_with(
            bus.clone(),
            pool.clone(),
            spec.clone(),
            Arc::clone(&handler),
            supervision.options.clone(),
            shutdown.clone(),
        ))
        .await;
        if shutdown.is_cancelled() {
            return;
        }
        set_down(true);
        match run {
            Ok(Ok(())) => {
                tracing::error!(%durable, alert = "consumer_down", "consumer stopped by itself; restarting")
            }
            Ok(Err(err)) => {
                tracing::error!(%durable, error = %error_chain(&err), alert = "consumer_down", "consumer stopped; restarting")
            }
            Err(err) => {
                tracing::error!(%durable, error = %err, alert = "consumer_down", "consumer panicked; restarting")
            }
        }
        if started.elapsed() > supervision.restart_delay_max {
            // It ran a good while: this is a new failure, not the same one again.
            pause = supervision.restart_delay;
        }
        if !wait(&shutdown, &mut pause, &supervision).await {
            return;
        }
    }
}

/// Sleeps `pause` (then doubles it, up to the maximum); `false` when shutdown came first.
async fn wait(
    shutdown: &CancellationToken,
    pause: &mut Duration,
    supervision: &Supervision,
) -> bool {
    let slept = tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(*pause) => true,
    };
    *pause = (*pause * 2).min(supervision.restart_delay_max);
    slept
}

/// The error and its sources, joined with `: `.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
