//! What a run does: the deployment it targets, the load and the floor measurement.

use std::path::PathBuf;
use std::time::Duration;

use tongban_domain::i18n::Lang;

use crate::BenchError;

/// Which cases the window clerks submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadMode {
    /// Several online matters and scopes (跨省, 全省, 区域) from two windows (五台, 忻州),
    /// decided by several offices.
    #[default]
    Mixed,
    /// 开具户籍类证明 (GA-HJ-ZM) online at the 五台 window only, decided by 银川市公安局.
    SingleWindow,
}

impl LoadMode {
    /// The flag value (`mixed`, `single-window`).
    pub fn as_str(self) -> &'static str {
        match self {
            LoadMode::Mixed => "mixed",
            LoadMode::SingleWindow => "single-window",
        }
    }
}

/// One kind of case the clerks submit: a matter at a window for applicants of a locality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    /// 通办窗口 (office id).
    pub window_office_id: String,
    /// Matter code.
    pub matter_code: String,
    /// The applicants' GB/T 2260 county (also the region of their ID numbers).
    pub home_division: String,
}

impl Combination {
    fn new(window: &str, matter: &str, home: &str) -> Self {
        Self {
            window_office_id: window.to_owned(),
            matter_code: matter.to_owned(),
            home_division: home.to_owned(),
        }
    }
}

impl LoadMode {
    /// The combinations of this mode. Every one is an online matter (全程网办) whose required
    /// materials are plain electronic scans (no paper original, no e-certificate) and whose result
    /// is picked up at the window, so a case completes (办结) as soon as it is approved. The
    /// catalog confirms each at start (GetNotice), and names its responsible office.
    pub fn combinations(self) -> Vec<Combination> {
        match self {
            LoadMode::SingleWindow => vec![Combination::new("140922-zwfw", "GA-HJ-ZM", "640104")],
            LoadMode::Mixed => vec![
                // 跨省通办: 五台 → 银川市公安局.
                Combination::new("140922-zwfw", "GA-HJ-ZM", "640104"),
                // 全省通办: 五台 → 太原市住房公积金管理中心.
                Combination::new("140922-zwfw", "GJJ-TQ-TX", "140105"),
                // 区域通办 (忻州—鄂尔多斯 agreement): 五台 → 鄂尔多斯市教育局.
                Combination::new("140922-zwfw", "JY-XJ-GZZM", "150602"),
                // 区域通办 from the 忻州 city window: → 鄂尔多斯 民政.
                Combination::new("140900-zwfw", "MZ-LNR-YDZ", "150602"),
                // 全省通办 from the 忻州 city window: → 太原市人社局.
                Combination::new("140900-zwfw", "RS-ZC-ZSCX", "140105"),
            ],
        }
    }
}

/// A lifecycle benchmark run.
#[derive(Debug, Clone)]
pub struct Config {
    /// IntakeService and CatalogService (`http://127.0.0.1:50051`).
    pub intake_url: String,
    /// ReviewService (`http://127.0.0.1:50052`).
    pub review_url: String,
    /// HotlineService (`http://127.0.0.1:50055`).
    pub hotline_url: String,
    /// PostgreSQL for the floor (a scratch schema is created and dropped there).
    pub database_url: String,
    /// NATS with JetStream for the floor (a scratch stream is created and deleted).
    pub nats_url: String,
    /// The deployment's state directory, holding `token-signing.key`.
    pub state_dir: PathBuf,
    /// Which cases are submitted.
    pub mode: LoadMode,
    /// Concurrent window clerks (each submits one case after another).
    pub clerks: usize,
    /// Reviewers per responsible office.
    pub reviewers: usize,
    /// 12345 status look-ups per second (0: none).
    pub hotline_rate: f64,
    /// How long clerks submit.
    pub duration: Duration,
    /// How long, after that, cases in flight may take to complete.
    pub drain: Duration,
    /// Length of each of the three floor measurements (zero: skip the floor).
    pub floor: Duration,
    /// Concurrent connections (and publishers) of the floor.
    pub floor_connections: usize,
    /// Commit-then-acked-publish pairs one lifecycle needs, for the ratio to the floor.
    pub pairs_per_lifecycle: f64,
    /// How often the reviewers' inbox and the completions are re-checked, for changes the watch
    /// stream did not deliver.
    pub sweep_interval: Duration,
    /// Language of the `accept-language` header (the services' error text).
    pub lang: Lang,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            intake_url: "http://127.0.0.1:50051".to_owned(),
            review_url: "http://127.0.0.1:50052".to_owned(),
            hotline_url: "http://127.0.0.1:50055".to_owned(),
            database_url: "postgres://postgres@127.0.0.1:5432/tongban".to_owned(),
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            state_dir: PathBuf::from("var/state"),
            mode: LoadMode::Mixed,
            clerks: 16,
            reviewers: 8,
            hotline_rate: 0.0,
            duration: Duration::from_secs(30),
            drain: Duration::from_secs(30),
            floor: Duration::from_secs(5),
            floor_connections: 8,
            pairs_per_lifecycle: 7.0,
            sweep_interval: Duration::from_secs(2),
            lang: Lang::Zh,
        }
    }
}

impl Config {
    /// Checks the numbers and that every address is on this machine.
    ///
    /// # Errors
    /// [`BenchError::Config`] for unusable numbers, [`BenchError::NotLoopback`] for an address
    /// that is not 127.0.0.1 (or `localhost`, `[::1]`).
    pub fn validate(&self) -> Result<(), BenchError> {
        if self.clerks == 0 || self.reviewers == 0 {
            return Err(BenchError::Config(
                "--clerks 与 --reviewers 至少为 1 / --clerks and --reviewers must be at least 1"
                    .to_owned(),
            ));
        }
        if self.duration.is_zero() {
            return Err(BenchError::Config(
                "--duration 必须大于 0 / --duration must be positive".to_owned(),
            ));
        }
        if !(self.hotline_rate.is_finite() && (0.0..=10_000.0).contains(&self.hotline_rate)) {
            return Err(BenchError::Config(
                "--hotline-rate 应在 0 到 10000 之间 / --hotline-rate must be within 0..=10000"
                    .to_owned(),
            ));
        }
        if !(self.pairs_per_lifecycle.is_finite() && self.pairs_per_lifecycle > 0.0) {
            return Err(BenchError::Config(
                "--pairs-per-lifecycle 必须大于 0 / --pairs-per-lifecycle must be positive"
                    .to_owned(),
            ));
        }
        if self.floor_connections == 0 || self.sweep_interval.is_zero() {
            return Err(BenchError::Config(
                "--floor-connections 与清扫间隔必须大于 0 / --floor-connections and the sweep interval must be positive"
                    .to_owned(),
            ));
        }
        for url in [
            &self.intake_url,
            &self.review_url,
            &self.hotline_url,
            &self.database_url,
            &self.nats_url,
        ] {
            if !is_loopback(url) {
                return Err(BenchError::NotLoopback(redact(url)));
            }
        }
        Ok(())
    }
}

/// Whether the host of `url` (`scheme://[user[:password]@]host[:port][/…]`) is this machine.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `url` without a password, for messages.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{scheme}://…@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Parses a duration such as `30s`, `2m`, `500ms`, `1h` or a plain number of seconds.
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("无效的时长 / invalid duration `{text}` (e.g. 30s, 2m, 500ms)"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "无效的时间单位 / unknown unit `{other}` (ms, s, m, h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("无效的时长 / invalid duration `{text}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback() {
        assert!(is_loopback("http://127.0.0.1:50051"));
        assert!(is_loopback("postgres://postgres@127.0.0.1:5432/postgres"));
        assert!(is_loopback("postgres://u:p@localhost/tongban"));
        assert!(is_loopback("nats://127.0.0.1:4222"));
        assert!(is_loopback("http://[::1]:50051"));
        assert!(!is_loopback("http://10.0.0.5:50051"));
        assert!(!is_loopback("postgres://postgres@db.example:5432/x"));
        assert!(!is_loopback("http://127.0.0.1.example.com:1"));
        assert_eq!(redact("postgres://u:secret@h/x"), "postgres://…@h/x");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn defaults_are_valid() {
        assert!(Config::default().validate().is_ok());
        let remote = Config {
            review_url: "http://192.168.1.2:50052".to_owned(),
            ..Config::default()
        };
        assert!(matches!(remote.validate(), Err(BenchError::NotLoopback(_))));
    }
}
