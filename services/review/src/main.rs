//! `tongban-review`: the review service of the responsible offices.

use tokio_util::sync::CancellationToken;
use tongban_review::{Application, DEFAULT_PORT, SERVICE, WatchLimits};
use tongban_runtime::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = tongban_telemetry::init("tongban-review");
    let settings = Settings::from_env(SERVICE, DEFAULT_PORT)?;
    let watch = WatchLimits::from_env()?;
    let app = Application::build(settings).await?.with_watch_limits(watch);
    tracing::info!(port = app.port(), "review listening");
    let shutdown = CancellationToken::new();
    tongban_runtime::shutdown::cancel_on_signal(shutdown.clone());
    let result = app.run_until_stopped(shutdown).await;
    telemetry.shutdown();
    Ok(result?)
}
