//! Bounded polling: wait for something to become true without guessing how long it takes.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// First pause between two attempts; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);
/// Longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// The condition did not hold within the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "条件在 {timeout:?} 内未满足（共尝试 {attempts} 次） / condition not met within {timeout:?} ({attempts} attempts)"
)]
pub struct TimedOut {
    /// The bound that passed.
    pub timeout: Duration,
    /// How often the probe ran.
    pub attempts: u32,
}

/// Runs `probe` until it returns `Some`, at most for `timeout` (the probe always runs at least
/// once, and once more at the deadline), pausing a little longer after each `None`.
///
/// # Errors
/// [`TimedOut`] when every attempt returned `None`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut probe: F) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_PAUSE;
    let mut attempts = 0u32;
    loop {
        attempts = attempts.saturating_add(1);
        if let Some(found) = probe().await {
            return Ok(found);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(TimedOut { timeout, attempts });
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_the_first_value() {
        let calls = AtomicU32::new(0);
        let found = eventually(Duration::from_secs(5), || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            (n >= 2).then_some(n)
        })
        .await;
        assert_eq!(found, Ok(2));
    }

    #[tokio::test]
    async fn gives_up_at_the_bound() {
        let bound = Duration::from_millis(100);
        let err = eventually(bound, || async { None::<()> })
            .await
            .unwrap_err();
        assert_eq!(err.timeout, bound);
        assert!(err.attempts >= 2);
    }
}
