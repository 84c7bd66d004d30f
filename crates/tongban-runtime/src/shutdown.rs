//! Turning SIGINT/SIGTERM into a cancellation that every loop of a service selects on.

use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot listen for SIGTERM");
                        let _ = interrupt.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = interrupt => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
        tracing::info!("shutting down");
        token.cancel();
    });
}
