//! tongban-cli: the `tongban` command for window clerks (窗口人员), remote reviewers (属地审批人员),
//! 12345 hotline operators and operators (运维: `tongban ops`). A gRPC client of the public API in `proto/`.
//!
//! `main.rs` holds the top-level command line and dispatches to one module per command group;
//! [`output`] holds every label and format, [`client`] the channels and request metadata.

pub mod args;
pub mod audit;
pub mod catalog;
pub mod cert;
pub mod client;
pub mod error;
pub mod hotline;
pub mod json;
pub mod logistics;
pub mod office;
pub mod ops;
pub mod output;
pub mod supervise;
pub mod token;
pub mod views;
pub mod window;

use client::{Conn, Endpoints, Metadata, Service};
use error::CliError;
use output::Lang;

/// What every command needs: language, output format, credentials and addresses.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `--lang`.
    pub lang: Lang,
    /// `--json`.
    pub json: bool,
    /// `--token`.
    pub token: Option<String>,
    /// Service addresses.
    pub endpoints: Endpoints,
}

impl Ctx {
    /// A connection to `service` whose requests carry the token and language.
    ///
    /// # Errors
    /// [`CliError::Connect`] when the service cannot be reached, [`CliError::Usage`] for an
    /// unusable token or address.
    pub async fn conn(&self, service: Service) -> Result<Conn, CliError> {
        let metadata = Metadata::new(self.token.as_deref(), self.lang)?;
        client::connect(
            service,
            self.endpoints.url(service),
            self.endpoints.tls_ca.as_deref(),
            metadata,
            self.lang,
        )
        .await
    }

    /// Prints `value` as JSON with `--json`, else the human view built by `human`.
    pub fn emit(&self, value: serde_json::Value, human: impl FnOnce() -> String) {
        if self.json {
            output::print_json(&value);
        } else {
            output::out(&human());
        }
    }

    /// Prints `list` as a JSON array of each item's `json` with `--json`, else the human view
    /// built by `human`.
    pub fn emit_list<T>(
        &self,
        list: &[T],
        json: impl Fn(&T) -> serde_json::Value,
        human: impl FnOnce() -> String,
    ) {
        self.emit(list.iter().map(json).collect(), human);
    }
}
