//! A tiny, self-contained pseudo-random number generator (splitmix64).
//!
//! The generator must produce the same users on every platform and for every
//! build, forever: fixtures and the simulator depend on it. A dependency such as
//! `rand` may change its algorithms between versions, so the crate carries its
//! own generator. splitmix64 is small, fast, statistically good enough for test
//! data, and seeding it from any 64-bit value is safe (no bad seeds).

/// The splitmix64 increment (the golden ratio in 64-bit fixed point).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 output function: a bijective 64-bit mixer.
///
/// Being a bijection matters: ids derived as `mix(index ^ key)` are unique for
/// a fixed key, which gives unique `braze_id`s without bookkeeping.
#[inline]
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A splitmix64 stream.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A stream seeded with `seed` (any value is fine).
    #[inline]
    pub(crate) const fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        mix(self.0)
    }

    /// A value in `0..n` (`n > 0`), by multiply-shift. The bias (at most
    /// n / 2^64) is irrelevant for test data and avoids a rejection loop.
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A signed value in `lo..hi`; `lo` when the range is empty.
    #[inline]
    pub(crate) fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo.wrapping_add(self.below(hi.abs_diff(lo)) as i64)
        }
    }

    /// True with probability `per_mille / 1000`.
    #[inline]
    pub(crate) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// A uniformly chosen element of a non-empty slice.
    #[inline]
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index chosen with the given relative weights (not all zero).
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            let w = u64::from(w);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Up to `k` distinct indices out of `0..n` (`n <= 64`), in random order,
    /// written into `buf`; returns how many were written (`min(k, n)`).
    ///
    /// Lists such as `custom_events` must not repeat a name, as Braze keys them
    /// by name; a partial Fisher–Yates shuffle over a stack array does that
    /// without allocating.
    pub(crate) fn distinct(&mut self, n: usize, k: usize, buf: &mut [u8; 64]) -> usize {
        let n = n.min(64);
        for (i, slot) in buf.iter_mut().enumerate().take(n) {
            *slot = i as u8;
        }
        let k = k.min(n);
        for i in 0..k {
            let j = i + self.below((n - i) as u64) as usize;
            buf.swap(i, j);
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // Reference outputs of splitmix64 seeded with 0 (from the public
        // reference implementation), so the stream can never drift silently.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn below_and_distinct_stay_in_range() {
        let mut r = Rng::new(7);
        for n in 1..50u64 {
            assert!(r.below(n) < n);
        }
        let mut buf = [0u8; 64];
        let k = r.distinct(10, 4, &mut buf);
        assert_eq!(k, 4);
        let mut seen = [false; 10];
        for &i in &buf[..k] {
            assert!(!seen[i as usize]);
            seen[i as usize] = true;
        }
        assert_eq!(r.distinct(3, 10, &mut buf), 3);
    }

    #[test]
    fn weighted_respects_zero_weights() {
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            assert_ne!(r.weighted(&[5, 0, 5]), 1);
        }
    }
}
