//! The outbox relay: publishes committed outbox rows to JetStream in order, with `Nats-Msg-Id`
//! so a row published twice (a crash between the ack and the update) is deduplicated by the
//! server, and marks a row published only after JetStream acknowledged it. A row that cannot be
//! published while others can (too large for the server, or refused several times) moves to the
//! dead-letter table with an alert, and the rows behind it flow on.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::Bus;

/// Rows published per transaction.
const BATCH: i64 = 100;
/// Failed publishes of one row (while others go through) before it moves to the dead letters.
const MAX_ATTEMPTS: i32 = 5;
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
    let published = crate::metrics::OUTBOX_PUBLISHED.with_label_values(&[schema.as_str()]);
    loop {
        let relayed = relay_batch(&pool, &bus).await;
        if let Ok(n) = &relayed {
            published.inc_by(*n as u64);
        }
        crate::metrics::observe_outbox(&pool, &schema).await;
        match relayed {
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
    let mut sent = Vec::with_capacity(pending.len());
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
            .await;
        sent.push((row, subject, ack));
    }
    let mut published = Vec::with_capacity(sent.len());
    let mut failed = Vec::new();
    for (row, subject, ack) in sent {
        let outcome = match ack {
            Ok(ack) => ack.await.map(|_| ()),
            Err(err) => Err(err),
        };
        match outcome {
            Ok(()) => {
                tracing::debug!(%subject, event_id = %row.message.event_id, "event published");
                published.push(row.id);
            }
            Err(err) => failed.push((row, subject, err)),
        }
    }
    let row_at_fault = |err: &PublishError| err.kind() == PublishErrorKind::MaxPayloadExceeded;
    let server_away = published
        .is_empty()
        .then(|| failed.iter().position(|(_, _, e)| !row_at_fault(e)))
        .flatten();
    if let Some(i) = server_away {
        // Nothing went through and no row is at fault: the server is away or the stream is
        // missing. Nothing is counted against the rows; the whole batch is tried again later.
        let (_, subject, err) = failed.swap_remove(i);
        return Err(RelayError::Publish {
            subject,
            source: Box::new(err),
        });
    }
    tongban_store::mark_published(&mut tx, &published).await?;
    let mut moved = 0;
    for (row, subject, err) in &failed {
        let dead = tongban_store::record_publish_failure(
            &mut tx,
            row.id,
            &err.to_string(),
            row_at_fault(err),
            MAX_ATTEMPTS,
        )
        .await?;
        if dead {
            moved += 1;
            // An alert for the operator: the event will not reach its consumers by itself.
            tracing::error!(
                %subject,
                event_id = %row.message.event_id,
                error = %err,
                alert = "outbox_dead_letter",
                "event moved to the outbox dead-letter table; the rows behind it flow on"
            );
        } else {
            tracing::warn!(%subject, event_id = %row.message.event_id, error = %err, "publish failed; will retry");
        }
    }
    tx.commit().await?;
    Ok(published.len() + moved)
}
