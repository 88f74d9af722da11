//! The fault counters: how many of each configured fault are left.
//!
//! Faults are "the first K requests that qualify", global across requests and
//! connections, so a client's retry sees the next request's fate, exactly as
//! the test that configured K expects. The counters are atomics because
//! requests are served concurrently.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use super::config::Faults;
use crate::rng::Rng;

/// A fault drawn for one download GET ([`super::config::RandomFaults`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RandomFault {
    /// Close the connection after this many body bytes.
    Drop(u64),
    /// Pause after this many body bytes.
    Stall(u64),
    /// Answer with this status and no body.
    Status(u16),
    /// Answer a ranged request with the whole archive.
    WholeBody,
}

/// Faults left to inject.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub(crate) config: Faults,
    trigger_5xx_left: AtomicU32,
    trigger_429_left: AtomicU32,
    drop_left: AtomicU32,
    stall_left: AtomicU32,
    ranges_left: AtomicU32,
    /// The random draws and how many random faults are left.
    random: Mutex<(Rng, u32)>,
}

/// Takes one from `counter` if it is not zero; true when one was taken.
fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl FaultState {
    pub(crate) fn new(config: Faults) -> Self {
        FaultState {
            trigger_5xx_left: AtomicU32::new(config.trigger_5xx_first),
            trigger_429_left: AtomicU32::new(config.trigger_429_first),
            drop_left: AtomicU32::new(config.drop_times),
            stall_left: AtomicU32::new(config.stall_times),
            ranges_left: AtomicU32::new(config.ignore_range_after.unwrap_or(0)),
            random: Mutex::new(match &config.random {
                Some(r) => (Rng::new(r.seed), r.count),
                None => (Rng::new(0), 0),
            }),
            config,
        }
    }

    /// Whether this trigger request answers 503.
    pub(crate) fn trigger_5xx(&self) -> bool {
        take(&self.trigger_5xx_left)
    }

    /// Whether this trigger request answers 429.
    pub(crate) fn trigger_429(&self) -> bool {
        take(&self.trigger_429_left)
    }

    /// Whether a download request's `Range` of more than one byte is honoured
    /// (see `ignore_range_after`; `ignore_range` is the download's own check).
    pub(crate) fn honours_range(&self) -> bool {
        match self.config.ignore_range_after {
            None => true,
            Some(_) => take(&self.ranges_left),
        }
    }

    /// Where a download GET whose body is `body_len` bytes is cut, if it is.
    /// Only bodies that would pass the point qualify (and use up one of K).
    pub(crate) fn drop_at(&self, body_len: u64) -> Option<u64> {
        let at = self.config.drop_after_bytes?;
        (body_len > at && take(&self.drop_left)).then_some(at)
    }

    /// The random fault of a download GET whose body is `body_len` bytes, if it
    /// gets one; `ranged` when it asked for a range (and would get it).
    pub(crate) fn random(&self, body_len: u64, ranged: bool) -> Option<RandomFault> {
        let percent = u64::from(self.config.random.as_ref()?.percent);
        if body_len < 2 {
            return None;
        }
        let mut guard = self.random.lock().unwrap_or_else(|p| p.into_inner());
        let (rng, left) = &mut *guard;
        if *left == 0 || rng.next_u64() % 100 >= percent {
            return None;
        }
        *left -= 1;
        let at = 1 + rng.next_u64() % (body_len - 1);
        Some(match rng.next_u64() % 10 {
            0..=3 => RandomFault::Drop(at),
            4 | 5 => RandomFault::Stall(at),
            6 => RandomFault::Status(500),
            7 => RandomFault::Status(503),
            8 => RandomFault::Status(429),
            _ if ranged => RandomFault::WholeBody,
            _ => RandomFault::Drop(at),
        })
    }

    /// Where a download GET whose body is `body_len` bytes stalls, if it does.
    pub(crate) fn stall_at(&self, body_len: u64) -> Option<u64> {
        let at = self.config.stall_after_bytes?;
        (body_len > at && take(&self.stall_left)).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_k_then_none() {
        let f = FaultState::new(Faults {
            drop_after_bytes: Some(10),
            drop_times: 2,
            trigger_5xx_first: 1,
            ..Faults::default()
        });
        assert_eq!(f.drop_at(5), None, "short bodies do not qualify");
        assert_eq!(f.drop_at(11), Some(10));
        assert_eq!(f.drop_at(100), Some(10));
        assert_eq!(f.drop_at(100), None);
        assert_eq!(f.stall_at(100), None);
        assert!(f.trigger_5xx());
        assert!(!f.trigger_5xx());
        assert!(!f.trigger_429());
    }

    #[test]
    fn ranges_honoured_first_n_then_ignored() {
        let f = FaultState::new(Faults {
            ignore_range_after: Some(2),
            ..Faults::default()
        });
        let answers: Vec<bool> = (0..4).map(|_| f.honours_range()).collect();
        assert_eq!(answers, [true, true, false, false]);
        assert!(FaultState::new(Faults::default()).honours_range());
    }
}
