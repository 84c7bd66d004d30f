//! The supervision settings beyond the common ones: when to warn, the 13710 milestones and how
//! often the evaluation loop looks at the clock.

use std::time::Duration;

/// Default warning threshold: one working day or less remains.
pub const DEFAULT_WARN_DAYS: u32 = 1;
/// 13710: act within 1, report back within 3, settle within 7, close within 10 working days.
pub const DEFAULT_MILESTONES: [u32; 4] = [1, 3, 7, 10];
/// Default interval of the evaluation loop.
pub const DEFAULT_TICK: Duration = Duration::from_millis(500);

/// Supervision settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Warn when this many working days or fewer remain (`TONGBAN_SUPERVISION_WARN_DAYS`).
    pub warn_days: u32,
    /// Working days to each 13710 milestone from the ticket's opening
    /// (`TONGBAN_SUPERVISION_MILESTONES`, e.g. `1,3,7,10`; non-decreasing).
    pub milestones: [u32; 4],
    /// How often the evaluation loop reads the clock (`TONGBAN_SUPERVISION_TICK_MS`).
    pub tick: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            warn_days: DEFAULT_WARN_DAYS,
            milestones: DEFAULT_MILESTONES,
            tick: DEFAULT_TICK,
        }
    }
}

/// An invalid `TONGBAN_SUPERVISION_*` variable.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong with it (zh / en).
    pub reason: String,
}

impl Config {
    /// Reads the variables, each optional.
    ///
    /// # Errors
    /// A variable that is set but invalid.
    pub fn from_env() -> Result<Self, ConfigError> {
        let read = |name: &'static str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut config = Self::default();
        if let Some(raw) = read("TONGBAN_SUPERVISION_WARN_DAYS") {
            config.warn_days =
                raw.parse()
                    .ok()
                    .filter(|d| *d <= 30)
                    .ok_or_else(|| ConfigError {
                        name: "TONGBAN_SUPERVISION_WARN_DAYS",
                        reason: "应为 0 至 30 的整数 / an integer from 0 to 30".to_owned(),
                    })?;
        }
        if let Some(raw) = read("TONGBAN_SUPERVISION_MILESTONES") {
            config.milestones = parse_milestones(&raw).ok_or_else(|| ConfigError {
                name: "TONGBAN_SUPERVISION_MILESTONES",
                reason: "应为四个不减的工作日数，如 1,3,7,10 / four non-decreasing working-day counts such as 1,3,7,10".to_owned(),
            })?;
        }
        if let Some(raw) = read("TONGBAN_SUPERVISION_TICK_MS") {
            config.tick = raw
                .parse::<u64>()
                .ok()
                .filter(|ms| (10..=3_600_000).contains(ms))
                .map(Duration::from_millis)
                .ok_or_else(|| ConfigError {
                    name: "TONGBAN_SUPERVISION_TICK_MS",
                    reason: "应为 10 至 3600000 毫秒 / 10 to 3600000 milliseconds".to_owned(),
                })?;
        }
        Ok(config)
    }
}

fn parse_milestones(raw: &str) -> Option<[u32; 4]> {
    let days: Vec<u32> = raw
        .split(',')
        .map(|part| part.trim().parse().ok())
        .collect::<Option<_>>()?;
    let days: [u32; 4] = days.try_into().ok()?;
    (days[0] >= 1 && days.windows(2).all(|w| w[0] <= w[1]) && days[3] <= 60).then_some(days)
}

#[cfg(test)]
mod tests {
    use super::parse_milestones;

    #[test]
    fn milestones() {
        assert_eq!(parse_milestones("1,3,7,10"), Some([1, 3, 7, 10]));
        assert_eq!(parse_milestones(" 2, 4 ,8,12"), Some([2, 4, 8, 12]));
        assert_eq!(parse_milestones("1,3,7"), None);
        assert_eq!(parse_milestones("3,1,7,10"), None);
        assert_eq!(parse_milestones("0,3,7,10"), None);
    }
}
