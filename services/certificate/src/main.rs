//! `tongban-certificate`: the e-certificate service.

use tokio_util::sync::CancellationToken;
use tongban_certificate::{Application, DEFAULT_PORT, SERVICE};
use tongban_runtime::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = tongban_telemetry::init("tongban-certificate");
    let settings = Settings::from_env(SERVICE, DEFAULT_PORT)?;
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "certificate listening");
    let shutdown = CancellationToken::new();
    tongban_runtime::shutdown::cancel_on_signal(shutdown.clone());
    let result = app.run_until_stopped(shutdown).await;
    telemetry.shutdown();
    Ok(result?)
}
