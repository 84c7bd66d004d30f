//! tongban-console: the web console (网上办事控制台) for the people of the service hall, the
//! responsible offices, the 12345 hotline and the public.
//!
//! It is a backend-for-frontend: pages are rendered on the server (axum + askama, htmx for the
//! parts that update in place) and every fact they show or change goes through the suite's gRPC
//! APIs with the signed-in person's own short-lived bearer token. The token never leaves the
//! server: the browser holds only an opaque session id in an `HttpOnly; Secure; SameSite=Strict`
//! cookie.
//!
//! `main.rs` is wiring: [`Application::build`], [`Application::port`],
//! [`Application::run_until_stopped`], so tests start the real console on port 0.

pub mod backend;
pub mod config;
pub mod hotline;
pub mod labels;
pub mod office;
pub mod public;
pub mod session;
pub mod staff;
pub mod supervisor;
pub mod web;
pub mod window;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;

/// The service's name in logs and traces.
pub const SERVICE: &str = "console";
/// The port the console listens on unless told otherwise (`TONGBAN_CONSOLE_ADDR`).
pub const DEFAULT_PORT: u16 = 8080;

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The reference data (divisions, directory) under the deploy directory could not be read.
    #[error("cannot load the reference data: {0}")]
    Reference(#[from] tongban_domain::data::DataError),
    /// The staff accounts file is missing or invalid.
    #[error(transparent)]
    Staff(#[from] staff::StaffError),
    /// The token signing key could not be read or created.
    #[error("cannot load the token key: {0}")]
    Keys(#[from] tongban_access::auth::AuthError),
    /// A service address is not a URI.
    #[error("invalid service address {url}: {reason}")]
    Address {
        /// The address as configured.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// The console, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: Arc<web::AppState>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Loads the staff accounts, the reference data and the signing key, connects (lazily) to
    /// the services and binds the listening socket.
    ///
    /// # Errors
    /// [`StartError`] naming what could not be loaded or bound.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let state = web::AppState::load(&config)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?;
        Ok(Self {
            listener,
            state: Arc::new(state),
        })
    }

    /// The port the console listens on (the real one when built with port 0).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    /// Serves until `shutdown` is cancelled; requests in hand finish first.
    ///
    /// # Errors
    /// The server failed while serving.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let router = web::router(self.state);
        axum::serve(self.listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}
