//! The change feed behind WatchAssignments: every insert or update of an assignment NOTIFYs its
//! case id (a trigger in the schema), one listener per process fans the ids out to watchers.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// NOTIFY channel of the assignments trigger.
const CHANNEL: &str = "tongban_review_assignments";

/// Fan-out of changed case ids.
#[derive(Clone)]
pub struct Changes {
    sender: broadcast::Sender<Uuid>,
}

impl Changes {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
        }
    }

    /// A new receiver of changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}

/// Listens for changes until `shutdown`; reconnects after errors.
pub async fn run_feed(pool: PgPool, changes: Changes, shutdown: CancellationToken) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(err) => {
                tracing::warn!(error = %err, "assignment feed cannot connect; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %err, "assignment feed cannot LISTEN; retrying");
            continue;
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                next = listener.recv() => match next {
                    Ok(n) => {
                        if let Ok(id) = Uuid::parse_str(n.payload()) {
                            // No receiver is fine: nobody is watching.
                            let _ = changes.sender.send(id);
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "assignment feed lost; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}
