//! The outbox relay: publishes committed outbox rows to JetStream in order, with `Nats-Msg-Id`
//! so a row published twice (a crash between the ack and the update) is deduplicated by the
//! server, and marks a row published only after JetStream acknowledged it.

use std::time::Duration;

use async_nats::HeaderMap;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::Bus;

/// Rows published per transaction.
const BATCH: i64 = 100;
/// Poll interval when no notification arrives (notifications can be missed across reconnects).
const POLL: Duration = Duration::from_millis(500);

/// Relays the outbox of `schema` until `shutdown` is cancelled; the batch in hand finishes first.
pub async fn run_relay(pool: PgPool, schema: String, bus: Bus, shutdown: CancellationToken) {
    let channel = tongban_store::outbox_channel(&schema);
    let mut listener = match PgListener::connect_with(&pool).await {
        Ok(mut l) => match l.listen(&channel).await {
            Ok(()) => Some(l),
            Err(err) => {
                tracing::warn!(error = %err, "outbox relay cannot LISTEN; polling only");
                None
            }
        },
        Err(err) => {
            tracing::warn!(error = %err, "outbox relay cannot LISTEN; polling only");
            None
        }
    };
    let mut backoff = POLL;
    loop {
        match relay_batch(&pool, &bus).await {
            Ok(n) if n as i64 == BATCH => {
                backoff = POLL;
                continue;
            }
            Ok(_) => backoff = POLL,
            Err(err) => {
                tracing::warn!(error = %err, "outbox relay failed; will retry");
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
        let wait = async {
            match listener.as_mut() {
                Some(l) => {
                    let _ = tokio::time::timeout(backoff, l.recv()).await;
                }
                None => tokio::time::sleep(backoff).await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = wait => {}
        }
    }
    // Publish whatever was committed before shutdown, once, without waiting.
    if let Err(err) = relay_batch(&pool, &bus).await {
        tracing::warn!(error = %err, "final outbox relay pass failed");
    }
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Store(#[from] tongban_store::StoreError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("publish to {subject} failed")]
    Publish {
        subject: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

async fn relay_batch(pool: &PgPool, bus: &Bus) -> Result<usize, RelayError> {
    let mut tx = pool.begin().await?;
    let pending = tongban_store::lock_pending(&mut tx, BATCH).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    // Send the whole batch, then await the acknowledgements in order: one round trip, same order.
    let mut acks = Vec::with_capacity(pending.len());
    for row in &pending {
        let subject = bus.subject(&row.message.subject);
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", row.message.event_id.to_string().as_str());
        for (name, value) in &row.message.headers {
            headers.insert(name.as_str(), value.as_str());
        }
        let ack = bus
            .jetstream()
            .publish_with_headers(subject.clone(), headers, row.message.payload.clone().into())
            .await
            .map_err(|e| RelayError::Publish {
                subject: subject.clone(),
                source: Box::new(e),
            })?;
        acks.push((row, subject, ack));
    }
    let mut published = Vec::with_capacity(acks.len());
    for (row, subject, ack) in acks {
        ack.await.map_err(|e| RelayError::Publish {
            subject: subject.clone(),
            source: Box::new(e),
        })?;
        tracing::debug!(%subject, event_id = %row.message.event_id, "event published");
        published.push(row.id);
    }
    tongban_store::mark_published(&mut tx, &published).await?;
    tx.commit().await?;
    Ok(published.len())
}
