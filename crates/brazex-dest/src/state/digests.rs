//! The prefilter of pass 1: which rows are certainly unchanged.
//!
//! Spooling every row (and replaying it) cost more than the rest of the run; but on a
//! typical night most users did not change, and their lines are the same bytes as the
//! night before. So before pass 1, the earlier state's (key, line hash) pairs are
//! read into a sorted array of 8-byte digests
//! ([`brazex_core::fingerprint::digest`], salted anew each run); a worker that finds
//! a row's digest there neither fingerprints nor spools it. The comparison, exact and
//! partitioned on disk, checks the line hash of every such row against the state's:
//! a row whose digest matched by chance (a collision, about 2^-64 per pair) fails
//! the run, which the next run, with another salt, gets past. Nothing is ever
//! dropped silently.
//!
//! Memory: 8.5 bytes per user of the state (85 MB at 10 million), within
//! `--state-memory`; a larger state spools every row instead.

use brazex_core::error::Result;
use brazex_core::fingerprint::digest;

use super::{io_error, open_reader, read_user, Generation};

/// Bytes per user a [`Digests`] takes.
pub const BYTES_PER_USER: u64 = 9;

/// The digests of a state, sorted, with an index of their top bits.
#[derive(Debug)]
pub struct Digests {
    salt: u64,
    sorted: Vec<u64>,
    /// `starts[b]..starts[b + 1]`: the digests whose top `bits` bits are `b`.
    starts: Vec<u32>,
    bits: u32,
}

impl Digests {
    /// Reads `generation`'s pairs, salted with `salt`; `None` when they would take
    /// more than `limit` bytes.
    pub fn load(generation: &Generation, salt: u64, limit: u64) -> Result<Option<Digests>> {
        let users = generation.meta.users;
        if users.saturating_mul(BYTES_PER_USER) > limit || users > u64::from(u32::MAX) {
            return Ok(None);
        }
        let mut sorted = Vec::with_capacity(users as usize);
        let mut key = Vec::new();
        for p in 0..generation.meta.partitions {
            let path = generation.part(p);
            let mut input = open_reader(&path)?;
            while let Some((_, raw)) =
                read_user(&mut input, &mut key).map_err(|e| io_error("read", &path, e))?
            {
                sorted.push(digest(salt, &key, u128::from(raw)));
            }
        }
        sorted.sort_unstable();
        // About eight digests per index slot.
        let bits = (sorted.len() / 8).max(2).ilog2().min(24);
        let mut starts = vec![0u32; (1usize << bits) + 1];
        let mut at = 0usize;
        for (b, start) in starts.iter_mut().enumerate() {
            while at < sorted.len() && ((sorted[at] >> (64 - bits)) as usize) < b {
                at += 1;
            }
            *start = at as u32;
        }
        Ok(Some(Digests {
            salt,
            sorted,
            starts,
            bits,
        }))
    }

    /// True when the state had exactly this key with this line hash (or, about once
    /// in 2^64, another pair with the same digest).
    pub fn contains(&self, key: &[u8], raw: u64) -> bool {
        let d = digest(self.salt, key, u128::from(raw));
        let b = (d >> (64 - self.bits)) as usize;
        let (start, end) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        self.sorted[start..end].binary_search(&d).is_ok()
    }
}
