//! `tongban-logistics`: the courier logistics (寄递) service.

use tokio_util::sync::CancellationToken;
use tongban_logistics::{Application, DEFAULT_PORT, SERVICE};
use tongban_runtime::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = tongban_telemetry::init("tongban-logistics");
    let settings = Settings::from_env(SERVICE, DEFAULT_PORT)?;
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "logistics listening");
    let shutdown = CancellationToken::new();
    tongban_runtime::shutdown::cancel_on_signal(shutdown.clone());
    let result = app.run_until_stopped(shutdown).await;
    telemetry.shutdown();
    Ok(result?)
}
