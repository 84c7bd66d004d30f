//! `tongban-supervision`: the supervision (督办) service.

use tokio_util::sync::CancellationToken;
use tongban_runtime::settings::Settings;
use tongban_supervision::{Application, DEFAULT_PORT, SERVICE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = tongban_telemetry::init("tongban-supervision");
    let settings = Settings::from_env(SERVICE, DEFAULT_PORT)?;
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "supervision listening");
    let shutdown = CancellationToken::new();
    tongban_runtime::shutdown::cancel_on_signal(shutdown.clone());
    let result = app.run_until_stopped(shutdown).await;
    telemetry.shutdown();
    Ok(result?)
}
