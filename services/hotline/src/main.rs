//! `tongban-hotline`: the 12345 hotline service.

use tokio_util::sync::CancellationToken;
use tongban_hotline::{Application, DEFAULT_PORT, Limits, SERVICE};
use tongban_runtime::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = tongban_telemetry::init("tongban-hotline");
    let settings = Settings::from_env(SERVICE, DEFAULT_PORT)?;
    let limits = Limits::from_env()?;
    let app = Application::build(settings).await?.with_limits(limits);
    tracing::info!(port = app.port(), "hotline listening");
    let shutdown = CancellationToken::new();
    tongban_runtime::shutdown::cancel_on_signal(shutdown.clone());
    let result = app.run_until_stopped(shutdown).await;
    telemetry.shutdown();
    Ok(result?)
}
