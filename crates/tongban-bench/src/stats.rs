//! Latency samples and their percentiles, computed exactly from the sorted samples (a run records
//! at most a few hundred thousand samples, so no histogram approximation is needed).

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Latencies of one kind, recorded from many tasks.
#[derive(Debug, Default)]
pub struct Samples {
    micros: Mutex<Vec<u64>>,
}

impl Samples {
    /// Records one latency.
    pub fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        // A poisoned lock only means another task panicked mid-push; the samples are still usable.
        let mut guard = self.micros.lock().unwrap_or_else(|e| e.into_inner());
        guard.push(micros);
    }

    /// p50, p99 and max of what was recorded.
    pub fn percentiles(&self) -> Percentiles {
        let mut sorted = self
            .micros
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        sorted.sort_unstable();
        Percentiles::of_sorted(&sorted)
    }
}

/// Summary of a latency distribution, in milliseconds (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl Percentiles {
    /// Percentiles of samples in microseconds, sorted ascending; all zero when there are none.
    pub fn of_sorted(sorted: &[u64]) -> Self {
        let Some(&max) = sorted.last() else {
            return Self::default();
        };
        let rank = |q: f64| {
            // Nearest rank: the smallest sample with at least q of all samples at or below it.
            let n = sorted.len() as f64;
            let index = ((q * n).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted.get(index).copied().unwrap_or(max)
        };
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: sorted.len() as u64,
            p50_ms: ms(rank(0.50)),
            p99_ms: ms(rank(0.99)),
            max_ms: ms(max),
        }
    }

    /// Whether p50 ≤ p99 ≤ max (always true of values built here; tests check reports with it).
    pub fn is_ordered(&self) -> bool {
        self.p50_ms <= self.p99_ms && self.p99_ms <= self.max_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let samples: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let p = Percentiles::of_sorted(&samples);
        assert_eq!(p.count, 100);
        assert_eq!(p.p50_ms, 50.0);
        assert_eq!(p.p99_ms, 99.0);
        assert_eq!(p.max_ms, 100.0);
        assert!(p.is_ordered());
        assert_eq!(Percentiles::of_sorted(&[]), Percentiles::default());
        let one = Percentiles::of_sorted(&[1500]);
        assert_eq!((one.p50_ms, one.p99_ms, one.max_ms), (1.5, 1.5, 1.5));
    }

    #[test]
    fn samples_from_many_recorders() {
        let samples = Samples::default();
        for ms in [3, 1, 2] {
            samples.record(Duration::from_millis(ms));
        }
        let p = samples.percentiles();
        assert_eq!((p.count, p.p50_ms, p.max_ms), (3, 2.0, 3.0));
    }
}
