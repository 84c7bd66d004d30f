//! Service settings from the environment, with defaults that work on a developer machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{OffsetClock, SharedClock, SystemClock};

/// Settings shared by every tongban service.
#[derive(Clone)]
pub struct Settings {
    /// PostgreSQL URL (`TONGBAN_DATABASE_URL`).
    pub database_url: String,
    /// NATS URL (`TONGBAN_NATS_URL`).
    pub nats_url: String,
    /// JetStream stream name (`TONGBAN_STREAM`).
    pub stream: String,
    /// Subject root (`TONGBAN_SUBJECT_ROOT`).
    pub subject_root: String,
    /// Directory with the reference data, catalog and directory (`TONGBAN_DEPLOY_DIR`).
    pub deploy_dir: PathBuf,
    /// Directory with this deployment's keys (`TONGBAN_STATE_DIR`).
    pub state_dir: PathBuf,
    /// Address to listen on (`TONGBAN_<SERVICE>_ADDR`).
    pub listen: SocketAddr,
    /// Schema of the service in the database (`TONGBAN_<SERVICE>_SCHEMA`, default the service name).
    pub schema: String,
    /// Source of "now": the system clock, or as of `TONGBAN_AS_OF` (RFC 3339) when set.
    pub clock: SharedClock,
    /// Endpoint of the certificate service (`TONGBAN_CERTIFICATE_URL`), which intake asks to
    /// verify presented e-certificates.
    pub certificate_url: String,
    /// The server's TLS certificate and key (`TONGBAN_TLS_CERT`, `TONGBAN_TLS_KEY`); without
    /// them the service serves plaintext.
    pub tls: Option<crate::tls::ServerFiles>,
    /// The CA that service-to-service clients verify `https://` servers by (`TONGBAN_TLS_CA`).
    pub tls_ca: Option<PathBuf>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("nats_url", &self.nats_url)
            .field("stream", &self.stream)
            .field("subject_root", &self.subject_root)
            .field("deploy_dir", &self.deploy_dir)
            .field("state_dir", &self.state_dir)
            .field("listen", &self.listen)
            .field("schema", &self.schema)
            .field("tls", &self.tls)
            .field("tls_ca", &self.tls_ca)
            .finish_non_exhaustive()
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {reason}")]
pub struct SettingsError {
    /// Variable name.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

impl Settings {
    /// Reads the settings of `service` (e.g. `intake`) whose default port is `default_port`.
    ///
    /// # Errors
    /// A listen address that does not parse, or only one of `TONGBAN_TLS_CERT` and
    /// `TONGBAN_TLS_KEY` set.
    pub fn from_env(service: &str, default_port: u16) -> Result<Self, SettingsError> {
        let upper = service.to_ascii_uppercase();
        let addr_var = format!("TONGBAN_{upper}_ADDR");
        let addr = var_or(&addr_var, &format!("0.0.0.0:{default_port}"));
        let listen = addr.parse().map_err(|e| SettingsError {
            name: addr_var,
            reason: format!("{addr:?}: {e}"),
        })?;
        let clock: SharedClock = match std::env::var("TONGBAN_AS_OF")
            .ok()
            .filter(|v| !v.is_empty())
        {
            None => Arc::new(SystemClock),
            Some(raw) => {
                let as_of =
                    chrono::DateTime::parse_from_rfc3339(&raw).map_err(|e| SettingsError {
                        name: "TONGBAN_AS_OF".to_owned(),
                        reason: format!("{raw:?} is not an RFC 3339 time: {e}"),
                    })?;
                Arc::new(OffsetClock::starting_at(as_of.with_timezone(&chrono::Utc)))
            }
        };
        let tls = crate::tls::ServerFiles::from_pair(
            path_var("TONGBAN_TLS_CERT"),
            path_var("TONGBAN_TLS_KEY"),
        )
        .map_err(|e| SettingsError {
            name: "TONGBAN_TLS_CERT".to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            clock,
            tls,
            tls_ca: path_var("TONGBAN_TLS_CA"),
            database_url: var_or(
                "TONGBAN_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/tongban",
            ),
            nats_url: var_or("TONGBAN_NATS_URL", "nats://127.0.0.1:4222"),
            stream: var_or("TONGBAN_STREAM", "TONGBAN"),
            subject_root: var_or("TONGBAN_SUBJECT_ROOT", "tongban"),
            deploy_dir: PathBuf::from(var_or("TONGBAN_DEPLOY_DIR", "deploy")),
            state_dir: PathBuf::from(var_or("TONGBAN_STATE_DIR", "var/state")),
            listen,
            schema: var_or(&format!("TONGBAN_{upper}_SCHEMA"), service),
            certificate_url: var_or("TONGBAN_CERTIFICATE_URL", "http://127.0.0.1:50053"),
        })
    }
}

fn path_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn var_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}
