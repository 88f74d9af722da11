//! Compares tonight's keys with the state's, one partition at a time.
//!
//! Partition `p` of the old state (keys and fingerprints) and partition `p` of
//! tonight's run (keys, fingerprints, seqs, in input order) hold the same keys' users,
//! since both are cut by the same hash: only one partition's users are in memory at
//! once. For each partition the comparison writes the rows to replay (`seq`, op, in
//! seq order: the replay merges the partitions back into input order), the keys that
//! are gone (deletes), and the new state's partition.

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use std::sync::Arc;

use brazex_core::cancel;
use brazex_core::error::{LinePlace, Result};
use brazex_core::fingerprint::KeyField;

use super::spool::KNOWN;
use super::{
    io_error, open_reader, read_key, read_u128, read_u64, read_user, write_key, Generation,
    NewGeneration, Scratch, Spooled,
};

/// What the replay does with a row (the rows without an op are unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Op {
    Insert = 1,
    Update = 2,
    /// A key that an earlier row of the export had: skipped (`--on-error skip`).
    Skip = 3,
}

impl Op {
    pub(super) fn from_byte(b: u8) -> Option<Op> {
        match b {
            1 => Some(Op::Insert),
            2 => Some(Op::Update),
            3 => Some(Op::Skip),
            _ => None,
        }
    }
}

/// The change counts of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    pub unchanged: u64,
    /// Rows whose key an earlier row of the export had.
    pub duplicates: u64,
}

/// A key that repeats: the first repetition in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    /// The row that repeats the key, and where it is.
    pub seq: u64,
    pub place: LinePlace,
    /// Where the row that had it first is.
    pub first: LinePlace,
}

impl Duplicate {
    /// The error a repeated key is when repeats are not skipped, placed at the repeat.
    pub fn to_error(&self, key: KeyField) -> brazex_core::Error {
        brazex_core::Error::Key {
            place: self.place.clone(),
            message: format!(
                "{} {:?} repeats: {} had it first (a user appears once in an export; --on-error skip skips the repeats)",
                key.name(),
                self.key,
                self.first
            ),
        }
    }
}

/// What the comparison found.
#[derive(Debug)]
pub struct Compared {
    pub counts: Counts,
    /// The first repeated key (in input order), if any.
    pub duplicate: Option<Duplicate>,
    /// The repeated rows (seq and place), when skipped (few: kept in memory).
    pub skipped: Vec<(u64, LinePlace)>,
    pub(super) ops: Vec<PathBuf>,
    pub(super) deletes: PathBuf,
}

/// Compares `spooled` with `old` (none: every row is new), writing `new`'s partitions
/// when given. With `changes`, the inserts and updates are written for the replay;
/// without, only the repeated keys (the replay writes every other row). Repeated
/// keys are skipped when `skip_duplicates`, else only the first is reported.
pub fn compare(
    spooled: &Spooled,
    old: Option<&Generation>,
    mut new: Option<&mut NewGeneration>,
    scratch: &Scratch,
    changes: bool,
    skip_duplicates: bool,
) -> Result<Compared> {
    let mut counts = Counts::default();
    let mut duplicate: Option<Duplicate> = None;
    let mut skipped = Vec::new();
    let partitions = spooled.parts.len();
    if old.is_some_and(|old| old.meta.partitions != partitions) {
        return Err(brazex_core::Error::Internal(
            "the run's keys were cut into another number of partitions than the state's",
        ));
    }
    let mut ops = Vec::with_capacity(partitions);
    let (deletes_path, mut deletes) = scratch.create("deletes.keys")?;
    let mut key = Vec::new();
    for p in 0..partitions {
        cancel::check()?;
        // The old partition: key → (fingerprint, line hash, position), and where each
        // of its users was first seen tonight.
        let mut before: HashMap<Vec<u8>, (u128, u64, usize)> = HashMap::new();
        let mut seen: Vec<Option<(u32, u64)>> = Vec::new();
        if let Some(old) = old {
            let path = old.part(p);
            let mut input = open_reader(&path)?;
            while let Some((fp, raw)) =
                read_user(&mut input, &mut key).map_err(|e| io_error("read", &path, e))?
            {
                before.insert(key.clone(), (fp, raw, seen.len()));
                seen.push(None);
            }
        }
        let (ops_path, mut ops_out) = scratch.create(&format!("ops-{p:03}"))?;
        // Tonight's users the state did not have, and where each was first seen.
        let mut added: HashMap<Vec<u8>, (u32, u64)> = HashMap::new();
        let place = |(entry, line): (u32, u64)| LinePlace {
            entry: spooled
                .entries
                .get(entry as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from("?")),
            line,
        };
        let run_path = &spooled.parts[p];
        let mut input = open_reader(run_path)?;
        while let Some(row) =
            read_row(&mut input, &mut key).map_err(|e| io_error("read", run_path, e))?
        {
            let old_user = before.get(&key).copied();
            let first = match old_user {
                Some((_, _, at)) => seen[at],
                None => added.get(&key).copied(),
            };
            if let Some(first) = first {
                counts.duplicates += 1;
                if duplicate.as_ref().is_none_or(|d| row.seq < d.seq) {
                    duplicate = Some(Duplicate {
                        key: String::from_utf8_lossy(&key).into_owned(),
                        seq: row.seq,
                        place: place(row.at),
                        first: place(first),
                    });
                }
                if skip_duplicates {
                    skipped.push((row.seq, place(row.at)));
                    write_op(&mut ops_out, row.seq, Op::Skip)
                        .map_err(|e| io_error("write", &ops_path, e))?;
                }
                continue;
            }
            let mut fp = row.fp;
            let op = match (old_user, row.spooled) {
                // The line the state had: the state's fingerprint is its.
                (Some((old_fp, old_raw, at)), KNOWN) if old_raw == row.raw => {
                    seen[at] = Some(row.at);
                    fp = old_fp;
                    None
                }
                // The prefilter took a new line for the state's: its digest collided
                // with another pair's (see `digests`); the row is neither spooled nor
                // fingerprinted. Another run has another salt.
                (_, KNOWN) => {
                    return Err(brazex_core::Error::Internal(
                        "a row's digest collided with the earlier state's (about once in 2^64 rows); run again: the next run draws another salt",
                    ))
                }
                (None, _) => {
                    added.insert(key.clone(), row.at);
                    Some(Op::Insert)
                }
                (Some((old_fp, _, at)), _) => {
                    seen[at] = Some(row.at);
                    (old_fp != fp).then_some(Op::Update)
                }
            };
            match op {
                Some(Op::Insert) => counts.inserts += 1,
                Some(_) => counts.updates += 1,
                None => counts.unchanged += 1,
            }
            if let (Some(op), true) = (op, changes) {
                write_op(&mut ops_out, row.seq, op).map_err(|e| io_error("write", &ops_path, e))?;
            }
            if let Some(new) = new.as_deref_mut() {
                new.write(&key, fp, row.raw)?;
            }
        }
        ops_out
            .into_inner()
            .map_err(|e| io_error("write", &ops_path, e.into_error()))?;
        ops.push(ops_path);
        // The users of the old partition that tonight's export does not have, in the
        // old state's order.
        if let Some(old) = old.filter(|_| seen.iter().any(Option::is_none)) {
            let path = old.part(p);
            let mut input = open_reader(&path)?;
            let mut at = 0;
            while read_user(&mut input, &mut key)
                .map_err(|e| io_error("read", &path, e))?
                .is_some()
            {
                if seen[at].is_none() {
                    counts.deletes += 1;
                    write_key(&mut deletes, &key)
                        .map_err(|e| io_error("write", &deletes_path, e))?;
                }
                at += 1;
            }
        }
    }
    deletes
        .into_inner()
        .map_err(|e| io_error("write", &deletes_path, e.into_error()))?;
    skipped.sort_unstable_by_key(|(seq, _)| *seq);
    Ok(Compared {
        counts,
        duplicate,
        skipped,
        ops,
        deletes: deletes_path,
    })
}

/// A row of a run partition (see `spool`): its key is read into the caller's buffer.
struct RunRow {
    fp: u128,
    raw: u64,
    seq: u64,
    spooled: u8,
    /// Entry and line.
    at: (u32, u64),
}

fn read_row(input: &mut impl Read, key: &mut Vec<u8>) -> std::io::Result<Option<RunRow>> {
    if !read_key(input, key)? {
        return Ok(None);
    }
    let (fp, raw, seq) = (read_u128(input)?, read_u64(input)?, read_u64(input)?);
    let mut more = [0u8; 13];
    input.read_exact(&mut more)?;
    let mut line = [0u8; 8];
    line.copy_from_slice(&more[5..]);
    Ok(Some(RunRow {
        fp,
        raw,
        seq,
        spooled: more[0],
        at: (
            u32::from_le_bytes([more[1], more[2], more[3], more[4]]),
            u64::from_le_bytes(line),
        ),
    }))
}

fn write_op(out: &mut BufWriter<std::fs::File>, seq: u64, op: Op) -> std::io::Result<()> {
    out.write_all(&seq.to_le_bytes())?;
    out.write_all(&[op as u8])
}
