//! NATS JetStream for tongban: the stream, the outbox relay that publishes what services wrote
//! to their outbox (deduplicated by `Nats-Msg-Id`, acknowledged before the row is marked
//! published), and durable consumers that record every delivery in the inbox and end it with
//! exactly one of ack, nak with delay, or term.

mod consumer;
pub mod dead_letter;
mod event;
pub mod metrics;
pub mod rebuild;
mod relay;
pub mod retention;

use std::time::Duration;

use async_nats::jetstream::{self, stream};

pub use consumer::{
    ConsumerOptions, ConsumerSpec, EventHandler, HandleError, consumer_filters, open_consumer,
    open_consumer_with, run_consumer, run_consumer_with,
};
pub use dead_letter::{ReplayError, Replayed, Replayer, replay_dead_letter, replayer};
pub use event::{event_message, new_event, subject_of};
pub use rebuild::{RebuildConsumer, RebuildReport};
pub use relay::run_relay;

/// The oldest nats-server tongban runs on: consumers with several subject filters
/// (`filter_subjects`) came with 2.10.
pub const MIN_SERVER_VERSION: &str = "2.10.0";

/// Whether `version` (as a server announces it, e.g. `2.9.10` or `2.11.0-beta.1`) is at least
/// [`MIN_SERVER_VERSION`]; a version that does not parse is not.
#[must_use]
pub fn server_version_supported(version: &str) -> bool {
    let mut parts = version
        .split(['.', '-', '+'])
        .map(|part| part.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (2, 10),
        _ => false,
    }
}

/// Where the stream lives and how its subjects are named.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// NATS server URL, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// JetStream stream name (default `TONGBAN`).
    pub stream: String,
    /// Root of every subject (default `tongban`): events go to `<root>.<aggregate>.<event>`.
    pub subject_root: String,
}

/// Errors talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The server could not be reached.
    #[error("cannot connect to NATS at {url}")]
    Connect {
        /// Server URL.
        url: String,
        /// Cause.
        #[source]
        source: async_nats::ConnectError,
    },
    /// The server is older than [`MIN_SERVER_VERSION`]: its consumers cannot hold several
    /// subject filters.
    #[error(
        "NATS server at {url} is version {version}; tongban needs nats-server {MIN_SERVER_VERSION} or newer (deploy/lib/deps.sh ensure_nats starts the pinned release)"
    )]
    ServerTooOld {
        /// Server URL.
        url: String,
        /// The version the server announced.
        version: String,
    },
    /// The stream could not be created or read (is JetStream enabled on the server? start it with `-js`).
    #[error(
        "cannot create or open JetStream stream {stream} (is JetStream enabled on the server? start nats-server with -js)"
    )]
    Stream {
        /// Stream name.
        stream: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The consumer could not be created.
    #[error("cannot create consumer {durable}")]
    Consumer {
        /// Durable name.
        durable: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A connection to JetStream with the tongban stream configured.
#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    config: BusConfig,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// Connects, refuses a server older than [`MIN_SERVER_VERSION`], and makes sure the stream
    /// exists with `<root>.>` as its subjects, and beside it the advisory stream
    /// `<stream>_ADVISORIES` ([`dead_letter`]).
    ///
    /// # Errors
    /// The server cannot be reached, is older than [`MIN_SERVER_VERSION`]
    /// ([`BusError::ServerTooOld`]) or has no JetStream.
    pub async fn connect(config: BusConfig) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name("tongban")
            .connection_timeout(Duration::from_secs(5))
            .connect(&config.url)
            .await
            .map_err(|source| BusError::Connect {
                url: config.url.clone(),
                source,
            })?;
        let version = client.server_info().version;
        if !server_version_supported(&version) {
            return Err(BusError::ServerTooOld {
                url: config.url.clone(),
                version,
            });
        }
        let jetstream = jetstream::new(client.clone());
        // Events are kept for a bounded time (retention.rs); the record is in PostgreSQL.
        let max_age = retention::max_age_from_env().map_err(|e| BusError::Stream {
            stream: config.stream.clone(),
            source: e.into(),
        })?;
        retention::open_stream(
            &jetstream,
            stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.subject_root)],
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                max_age,
                ..Default::default()
            },
        )
        .await?;
        dead_letter::ensure_advisory_stream(&jetstream, &config.stream).await?;
        Ok(Self {
            client,
            jetstream,
            config,
        })
    }

    /// The full subject for a suffix such as `case.routed`.
    #[must_use]
    pub fn subject(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.config.subject_root)
    }

    /// The JetStream context.
    #[must_use]
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// The core NATS client.
    #[must_use]
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The configuration this bus was built with.
    #[must_use]
    pub fn config(&self) -> &BusConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::server_version_supported;

    #[test]
    fn versions_from_2_10_on_are_supported() {
        for version in ["2.10.0", "2.10.29", "2.11.0-beta.1", "2.15.1", "3.0.0"] {
            assert!(server_version_supported(version), "{version}");
        }
        for version in ["2.9.10", "2.9.25", "1.4.1", "2", "", "v2.10.0", "x.y.z"] {
            assert!(!server_version_supported(version), "{version}");
        }
    }
}
