//! Starting a service's `Application` for a test, and stopping or killing it.
//!
//! Each service runs on its own Tokio runtime in its own thread. `Application::run_until_stopped`
//! spawns its relay and consumers as separate tasks, so aborting only the task that runs it
//! would leave those running; shutting the whole runtime down in the background drops every task
//! of the service at once, with no shutdown work — the closest a test gets to `kill -9`.

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tongban_runtime::settings::Settings;

use crate::{TestkitError, error_chain};

/// How long a service may take to build (migrate, connect, bind).
const BUILD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop may take before the test gives up on it.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Worker threads of each service's runtime (the test machine has two cores).
const WORKER_THREADS: usize = 2;

/// A tongban service that tests can start: the shape every service's `Application` has
/// (STYLE habit 3).
pub trait Service: Sized + 'static {
    /// Service name: its schema and the label of its thread.
    const NAME: &'static str;
    /// Why it failed to build or run.
    type Error: std::error::Error + 'static;

    /// `Application::build(settings)`: loads, migrates, connects and binds.
    fn build(settings: Settings) -> impl Future<Output = Result<Self, Self::Error>>;

    /// The port actually bound.
    fn port(&self) -> u16;

    /// `Application::run_until_stopped(shutdown)`.
    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), Self::Error>>;
}

/// A started service.
///
/// Dropping it kills the service (no graceful shutdown); call [`Running::stop`] for a graceful
/// one.
pub struct Running {
    service: &'static str,
    port: u16,
    shutdown: CancellationToken,
    kill: Option<oneshot::Sender<()>>,
    finished: Option<oneshot::Receiver<Result<(), String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("service", &self.service)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// How the service's thread ended its runtime.
enum Ending {
    /// `run_until_stopped` returned (graceful stop or failure): let the runtime finish its tasks.
    Returned,
    /// Killed, or it never started: drop every task at once.
    Killed,
}

impl Running {
    /// Builds `S` with `settings` on a runtime of its own and starts serving.
    ///
    /// # Errors
    /// [`TestkitError::Service`] when the runtime cannot be created or the service fails to
    /// build (or takes longer than 30 s).
    pub async fn start<S: Service>(settings: Settings) -> Result<Self, TestkitError> {
        let service = S::NAME;
        let failed = |reason: String| TestkitError::Service { service, reason };
        let shutdown = CancellationToken::new();
        let (ready_tx, ready_rx) = oneshot::channel::<Result<u16, String>>();
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (finished_tx, finished_rx) = oneshot::channel::<Result<(), String>>();
        let token = shutdown.clone();
        let thread = std::thread::Builder::new()
            .name(format!("tb-{service}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(WORKER_THREADS)
                    .thread_name(format!("tb-{service}-worker"))
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(format!("cannot create a Tokio runtime: {err}")));
                        return;
                    }
                };
                let ending = runtime.block_on(async move {
                    let app = match S::build(settings).await {
                        Ok(app) => app,
                        Err(err) => {
                            let _ = ready_tx.send(Err(error_chain(&err)));
                            return Ending::Killed;
                        }
                    };
                    let _ = ready_tx.send(Ok(app.port()));
                    tokio::select! {
                        result = app.run_until_stopped(token) => {
                            let _ = finished_tx.send(result.map_err(|err| error_chain(&err)));
                            Ending::Returned
                        }
                        // A kill request, or the handle was dropped: either way, stop now.
                        _ = kill_rx => Ending::Killed,
                    }
                });
                match ending {
                    Ending::Returned => runtime.shutdown_timeout(STOP_TIMEOUT),
                    Ending::Killed => runtime.shutdown_background(),
                }
            })
            .map_err(|err| failed(format!("cannot start a thread: {err}")))?;
        let port = match tokio::time::timeout(BUILD_TIMEOUT, ready_rx).await {
            Ok(Ok(Ok(port))) => port,
            Ok(Ok(Err(reason))) => return Err(failed(reason)),
            Ok(Err(_)) => {
                return Err(failed(
                    "the service thread ended before it was ready".to_owned(),
                ));
            }
            Err(_) => return Err(failed(format!("not ready within {BUILD_TIMEOUT:?}"))),
        };
        tracing::debug!(service, port, "test service started");
        Ok(Self {
            service,
            port,
            shutdown,
            kill: Some(kill_tx),
            finished: Some(finished_rx),
            thread: Some(thread),
        })
    }

    /// The port the service listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service's shutdown token: cancelling it starts a graceful shutdown.
    #[must_use]
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Graceful stop: cancels the shutdown token and waits (at most 15 s) for
    /// `run_until_stopped` to return.
    ///
    /// # Errors
    /// [`TestkitError::Service`] when the service returned an error or did not stop in time.
    pub async fn stop(mut self) -> Result<(), TestkitError> {
        let service = self.service;
        self.shutdown.cancel();
        let result = match self.finished.take() {
            Some(finished) => match tokio::time::timeout(STOP_TIMEOUT, finished).await {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(reason))) => Err(TestkitError::Service { service, reason }),
                Ok(Err(_)) => Err(TestkitError::Service {
                    service,
                    reason: "the service thread ended abruptly".to_owned(),
                }),
                Err(_) => Err(TestkitError::Service {
                    service,
                    reason: format!("did not stop within {STOP_TIMEOUT:?}"),
                }),
            },
            None => Ok(()),
        };
        self.join().await;
        result
    }

    /// Kills the service: every task of it is dropped at once, nothing is flushed, no consumer
    /// acknowledges what it holds, no health status changes. Like a crashed process, it leaves
    /// its work to whoever starts next.
    pub async fn kill(mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.join().await;
    }

    async fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            // Joining blocks; do it off the test's runtime.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Dropping the kill sender ends the service at once (see `start`); the thread is left to
        // finish on its own rather than blocking here.
        self.kill.take();
    }
}

#[cfg(feature = "intake")]
impl Service for tongban_intake::Application {
    const NAME: &'static str = tongban_intake::SERVICE;
    type Error = tongban_runtime::platform::StartError;

    fn build(settings: Settings) -> impl Future<Output = Result<Self, Self::Error>> {
        tongban_intake::Application::build(settings)
    }

    fn port(&self) -> u16 {
        tongban_intake::Application::port(self)
    }

    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), Self::Error>> {
        tongban_intake::Application::run_until_stopped(self, shutdown)
    }
}

#[cfg(feature = "review")]
impl Service for tongban_review::Application {
    const NAME: &'static str = tongban_review::SERVICE;
    type Error = tongban_runtime::platform::StartError;

    fn build(settings: Settings) -> impl Future<Output = Result<Self, Self::Error>> {
        tongban_review::Application::build(settings)
    }

    fn port(&self) -> u16 {
        tongban_review::Application::port(self)
    }

    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), Self::Error>> {
        tongban_review::Application::run_until_stopped(self, shutdown)
    }
}

#[cfg(feature = "hotline")]
impl Service for tongban_hotline::Application {
    const NAME: &'static str = tongban_hotline::SERVICE;
    type Error = tongban_runtime::platform::StartError;

    fn build(settings: Settings) -> impl Future<Output = Result<Self, Self::Error>> {
        tongban_hotline::Application::build(settings)
    }

    fn port(&self) -> u16 {
        tongban_hotline::Application::port(self)
    }

    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), Self::Error>> {
        tongban_hotline::Application::run_until_stopped(self, shutdown)
    }
}

#[cfg(feature = "supervision")]
impl Service for tongban_supervision::Application {
    const NAME: &'static str = tongban_supervision::SERVICE;
    type Error = tongban_supervision::SupervisionStartError;

    fn build(settings: Settings) -> impl Future<Output = Result<Self, Self::Error>> {
        tongban_supervision::Application::build(settings)
    }

    fn port(&self) -> u16 {
        tongban_supervision::Application::port(self)
    }

    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), Self::Error>> {
        tongban_supervision::Application::run_until_stopped(self, shutdown)
    }
}

#[cfg(feature = "certificate")]
impl Service for tongban_certificate::Application {
    const NAME: &'static str = tongban_certificate::SERVICE;
    type Error = tongban_certificate::CertificateStartError;

    fn build(settings: Settings) -> impl Future<Output = Result<Self, Self::Error>> {
        tongban_certificate::Application::build(settings)
    }

    fn port(&self) -> u16 {
        tongban_certificate::Application::port(self)
    }

    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), Self::Error>> {
        tongban_certificate::Application::run_until_stopped(self, shutdown)
    }
}

#[cfg(feature = "logistics")]
impl Service for tongban_logistics::Application {
    const NAME: &'static str = tongban_logistics::SERVICE;
    type Error = tongban_logistics::LogisticsStartError;

    fn build(settings: Settings) -> impl Future<Output = Result<Self, Self::Error>> {
        tongban_logistics::Application::build(settings)
    }

    fn port(&self) -> u16 {
        tongban_logistics::Application::port(self)
    }

    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), Self::Error>> {
        tongban_logistics::Application::run_until_stopped(self, shutdown)
    }
}
