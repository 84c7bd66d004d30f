//! Prometheus metrics of the backbone, in the process's default registry (served by each
//! service's `/metrics`, `tongban_runtime::metrics`): the outbox a relay leaves behind (depth
//! and age of the oldest row) and what each consumer takes (batch sizes, lag, outcomes).

use std::sync::LazyLock;

use prometheus::core::Collector;
use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};

/// `metric` registered in the default registry. Every metric here is one static built from
/// constant options that are valid (checked by the test below), so building one cannot fail;
/// a registration that fails (a name taken by another collector) is logged, and the metric
/// still counts, unseen.
pub fn registered<M: Collector + Clone + 'static>(metric: Result<M, prometheus::Error>) -> M {
    #[allow(clippy::expect_used)] // Constant, valid options: see above.
    let metric = metric.expect("constant metric options are valid");
    if let Err(err) = prometheus::register(Box::new(metric.clone())) {
        tracing::warn!(error = %err, "metric not registered");
    }
    metric
}

/// Outbox rows not yet published, by schema.
pub static OUTBOX_DEPTH: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    registered(IntGaugeVec::new(
        Opts::new("tongban_outbox_depth", "Outbox rows not yet published"),
        &["schema"],
    ))
});

/// Age in seconds of the oldest unpublished outbox row, 0 when the outbox is drained.
pub static OUTBOX_AGE: LazyLock<GaugeVec> = LazyLock::new(|| {
    registered(GaugeVec::new(
        Opts::new(
            "tongban_outbox_age_seconds",
            "Age of the oldest unpublished outbox row (0 when drained)",
        ),
        &["schema"],
    ))
});

/// Outbox rows relayed, by schema: published and acknowledged, or moved to the dead letters.
pub static OUTBOX_PUBLISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    registered(IntCounterVec::new(
        Opts::new(
            "tongban_outbox_published_total",
            "Outbox rows relayed (published and acknowledged, or moved to the dead letters)",
        ),
        &["schema"],
    ))
});

/// Deliveries one consumer lane applied together, by consumer.
pub static CONSUMER_BATCH: LazyLock<HistogramVec> = LazyLock::new(|| {
    registered(HistogramVec::new(
        HistogramOpts::new(
            "tongban_consumer_batch_size",
            "Deliveries a consumer lane applied in one batch",
        )
        .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        &["consumer"],
    ))
});

/// Messages pending for a consumer on the server, as of its last delivery.
pub static CONSUMER_LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    registered(IntGaugeVec::new(
        Opts::new(
            "tongban_consumer_lag",
            "Messages pending for the consumer on the server, as of its last delivery",
        ),
        &["consumer"],
    ))
});

/// Deliveries ended, by consumer and outcome (`ack`, `retry`, `dead`).
pub static CONSUMER_DELIVERIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    registered(IntCounterVec::new(
        Opts::new(
            "tongban_consumer_deliveries_total",
            "Deliveries a consumer ended, by outcome (ack, retry, dead)",
        ),
        &["consumer", "outcome"],
    ))
});

/// Reads the depth and age of the outbox of `schema` (through `pool`) into the gauges.
pub(crate) async fn observe_outbox(pool: &sqlx::PgPool, schema: &str) {
    let read: Result<(i64, Option<f64>), sqlx::Error> = sqlx::query_as(
        "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at))::float8
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(pool)
    .await;
    match read {
        Ok((depth, age)) => {
            OUTBOX_DEPTH.with_label_values(&[schema]).set(depth);
            OUTBOX_AGE
                .with_label_values(&[schema])
                .set(age.unwrap_or(0.0).max(0.0));
        }
        Err(err) => tracing::debug!(error = %err, "outbox depth not read"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_builds_and_is_gathered() {
        OUTBOX_DEPTH.with_label_values(&["t"]).set(3);
        OUTBOX_AGE.with_label_values(&["t"]).set(1.5);
        OUTBOX_PUBLISHED.with_label_values(&["t"]).inc();
        CONSUMER_BATCH.with_label_values(&["c"]).observe(4.0);
        CONSUMER_LAG.with_label_values(&["c"]).set(2);
        CONSUMER_DELIVERIES.with_label_values(&["c", "ack"]).inc();
        let names: Vec<String> = prometheus::gather()
            .iter()
            .map(|family| family.name().to_owned())
            .collect();
        for name in [
            "tongban_outbox_depth",
            "tongban_outbox_age_seconds",
            "tongban_outbox_published_total",
            "tongban_consumer_batch_size",
            "tongban_consumer_lag",
            "tongban_consumer_deliveries_total",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
    }
}
