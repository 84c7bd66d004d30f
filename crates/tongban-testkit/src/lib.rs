//! tongban-testkit: test-only helpers for running the real services against the real PostgreSQL
//! and NATS JetStream, each test isolated (STYLE habit 8).
//!
//! - [`TestEnv`]: a fresh database, JetStream stream, subject root and state directory per test,
//!   [`Settings`](tongban_runtime::settings::Settings) that point a service at them, and bearer
//!   tokens signed with the environment's keys. Everything is removed by
//!   [`TestEnv::cleanup`], or best-effort when the environment is dropped (a failing test).
//! - [`Service`] and [`Running`]: start a service's `Application` on port 0 in its own Tokio
//!   runtime; stop it gracefully or kill it without any shutdown work.
//! - [`channel`] and [`Bearer`]: a gRPC channel to a started service and an interceptor adding
//!   `authorization: Bearer <token>` (and optionally `accept-language`).
//! - [`eventually`]: bounded polling instead of sleeps.

mod client;
mod env;
mod poll;
mod spawn;

pub use client::{Bearer, channel};
pub use env::{TestEnv, init_telemetry};
pub use poll::{TimedOut, eventually};
pub use spawn::{Running, Service};

/// Why the test environment or a service in it could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// PostgreSQL refused a statement or could not be reached.
    #[error("PostgreSQL ({what})")]
    Database {
        /// What was being done.
        what: &'static str,
        /// Cause.
        #[source]
        source: sqlx::Error,
    },
    /// NATS refused a request or could not be reached.
    #[error("NATS ({what}): {reason}")]
    Nats {
        /// What was being done.
        what: &'static str,
        /// Cause, as text (async-nats errors are generic over their kind).
        reason: String,
    },
    /// The state directory could not be created or removed.
    #[error("state directory {path}")]
    Io {
        /// The directory.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The token keys could not be created.
    #[error("token keys")]
    Auth(#[from] tongban_runtime::auth::AuthError),
    /// A service failed to build or while running.
    #[error("service {service}: {reason}")]
    Service {
        /// Service name.
        service: &'static str,
        /// The error chain, as text (the error crossed a thread boundary).
        reason: String,
    },
}

/// The error and all its sources, joined with `: `.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
