//! Retry and backoff policy for Braze REST calls and polls.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How transient failures are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts for a request that fails with 5xx or a connection error.
    pub max_attempts: u32,
    /// First backoff delay; doubled at each attempt, with jitter.
    pub base_delay: Duration,
    /// Longest single backoff delay.
    pub max_delay: Duration,
    /// How long 429 answers are waited out in all (their `X-RateLimit-Reset`, or backoff).
    pub rate_limit_deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            rate_limit_deadline: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1 for the first retry): exponential,
    /// capped, with "equal jitter" (half fixed, half random) so that many clients do not
    /// retry in step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(
                1u32.checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(jitter())
    }
}

/// A number in [0, 1) from the clock's nanoseconds: enough to spread retries, and no
/// random-number crate for it.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // splitmix-style scramble of the nanoseconds.
    let mut x = u64::from(nanos).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The wait until `X-RateLimit-Reset` (UTC epoch seconds), if the header says when.
pub fn until_reset(reset_epoch_secs: Option<u64>) -> Option<Duration> {
    let reset = reset_epoch_secs?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for attempt in 1..=10 {
            let d = policy.backoff(attempt);
            let full = Duration::from_millis(100 * (1 << (attempt - 1).min(4)))
                .min(Duration::from_millis(1000));
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d:?} vs {full:?}"
            );
        }
        assert!(policy.backoff(40) <= Duration::from_millis(1000));
        assert_eq!(until_reset(Some(0)), Some(Duration::from_secs(1)));
        assert_eq!(until_reset(None), None);
    }
}
