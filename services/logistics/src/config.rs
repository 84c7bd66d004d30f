//! The logistics settings beyond the common ones: the tariff (`deploy/logistics/tariff.toml`)
//! and the simulated carrier.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tongban_domain::logistics::{Tariff, TariffError};

/// Default interval at which the simulated carrier reads the clock.
pub const DEFAULT_TICK: Duration = Duration::from_millis(300);

/// Logistics settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// 资费表 (`TONGBAN_LOGISTICS_TARIFF`, default `<deploy>/logistics/tariff.toml`).
    pub tariff: Tariff,
    /// Whether the simulated carrier moves waybills (`TONGBAN_LOGISTICS_SIMULATE`, default on).
    pub simulate: bool,
    /// How often the simulated carrier reads the clock (`TONGBAN_LOGISTICS_TICK_MS`).
    pub tick: Duration,
}

/// An invalid logistics setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The tariff file cannot be read.
    #[error("无法读取资费表 / cannot read the tariff {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The tariff file is invalid.
    #[error("资费表无效 / invalid tariff {path}")]
    Tariff {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: TariffError,
    },
    /// A variable is set but invalid.
    #[error("{name}: {reason}")]
    Variable {
        /// The variable.
        name: &'static str,
        /// What is wrong with it (zh / en).
        reason: &'static str,
    },
}

impl Config {
    /// Reads the tariff under `deploy_dir` (or `TONGBAN_LOGISTICS_TARIFF`) and the variables.
    ///
    /// # Errors
    /// See [`ConfigError`].
    pub fn load(deploy_dir: &Path) -> Result<Self, ConfigError> {
        let read = |name: &'static str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let path = read("TONGBAN_LOGISTICS_TARIFF").map_or_else(
            || deploy_dir.join("logistics").join("tariff.toml"),
            PathBuf::from,
        );
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let tariff =
            Tariff::from_toml(&text).map_err(|source| ConfigError::Tariff { path, source })?;
        let simulate = match read("TONGBAN_LOGISTICS_SIMULATE").as_deref() {
            None | Some("1" | "true" | "on") => true,
            Some("0" | "false" | "off") => false,
            Some(_) => {
                return Err(ConfigError::Variable {
                    name: "TONGBAN_LOGISTICS_SIMULATE",
                    reason: "应为 true 或 false / true or false",
                });
            }
        };
        let tick = match read("TONGBAN_LOGISTICS_TICK_MS") {
            None => DEFAULT_TICK,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|ms| (10..=3_600_000).contains(ms))
                .map(Duration::from_millis)
                .ok_or(ConfigError::Variable {
                    name: "TONGBAN_LOGISTICS_TICK_MS",
                    reason: "应为 10 至 3600000 毫秒 / 10 to 3600000 milliseconds",
                })?,
        };
        Ok(Self {
            tariff,
            simulate,
            tick,
        })
    }
}
