//! Service settings from the environment, with defaults that work on a developer machine.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Settings shared by every tongban service.
#[derive(Debug, Clone)]
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
    /// A listen address that does not parse.
    pub fn from_env(service: &str, default_port: u16) -> Result<Self, SettingsError> {
        let upper = service.to_ascii_uppercase();
        let addr_var = format!("TONGBAN_{upper}_ADDR");
        let addr = var_or(&addr_var, &format!("0.0.0.0:{default_port}"));
        let listen = addr.parse().map_err(|e| SettingsError {
            name: addr_var,
            reason: format!("{addr:?}: {e}"),
        })?;
        Ok(Self {
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
        })
    }
}

fn var_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}
