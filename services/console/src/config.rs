//! Where the console listens, which services it talks to and where its files are.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The console's settings (`tongban-console --help` lists the flags and environment variables).
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`TONGBAN_CONSOLE_ADDR`, default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// IntakeService and CatalogService (`TONGBAN_INTAKE_URL`).
    pub intake_url: String,
    /// ReviewService (`TONGBAN_REVIEW_URL`).
    pub review_url: String,
    /// HotlineService (`TONGBAN_HOTLINE_URL`).
    pub hotline_url: String,
    /// SupervisionService (`TONGBAN_SUPERVISION_URL`).
    pub supervision_url: String,
    /// The deployment's state directory holding the token signing key (`TONGBAN_STATE_DIR`).
    pub state_dir: PathBuf,
    /// The deploy directory with the reference data (`TONGBAN_DEPLOY_DIR`).
    pub deploy_dir: PathBuf,
    /// The staff accounts file (default `<deploy>/directory/staff.toml`).
    pub staff_file: PathBuf,
    /// How long a session (and the token minted for it) lasts.
    pub session_ttl: Duration,
    /// Whether the session cookie carries `Secure` (always, unless a developer turns it off).
    pub secure_cookie: bool,
    /// The CA that `https://` service URLs are verified against (`TONGBAN_TLS_CA`); an
    /// `https://` URL without it is refused at start.
    pub tls_ca: Option<PathBuf>,
}

impl Config {
    /// Settings for a console on 127.0.0.1 with a port chosen by the system, talking to the
    /// services on the given ports (tests).
    #[must_use]
    pub fn local(
        intake_port: u16,
        review_port: u16,
        hotline_port: u16,
        supervision_port: u16,
        state_dir: PathBuf,
        deploy_dir: PathBuf,
    ) -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            intake_url: format!("http://127.0.0.1:{intake_port}"),
            review_url: format!("http://127.0.0.1:{review_port}"),
            hotline_url: format!("http://127.0.0.1:{hotline_port}"),
            supervision_url: format!("http://127.0.0.1:{supervision_port}"),
            staff_file: deploy_dir.join("directory").join("staff.toml"),
            state_dir,
            deploy_dir,
            session_ttl: Duration::from_secs(4 * 3600),
            secure_cookie: true,
            tls_ca: None,
        }
    }
}
