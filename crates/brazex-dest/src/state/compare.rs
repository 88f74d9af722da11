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
use brazex_core::fingerprint::{subpartition_of, KeyField};

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
        let place = |(entry, line): (u32, u64)| LinePlace {
            entry: spooled
                .entries
                .get(entry as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from("?")),
            line,
        };
        // Tonight's keys of this partition; without a state, in parts small enough for
        // memory (a first night's partitions are cut before the count of users is known).
        let runs = match old {
            None => {
                let most = new.as_deref().map_or(1, |n| n.partitions() / partitions);
                split(&spooled.parts[p], p, partitions, most, SPLIT_BYTES, scratch)?
            }
            Some(_) => vec![spooled.parts[p].clone()],
        };
        for (part, run_path) in runs.iter().enumerate() {
            let (ops_path, mut ops_out) = scratch.create(&format!("ops-{p:03}-{part:03}"))?;
            // Tonight's users the state did not have, and where each was first seen.
            let mut added: HashMap<Vec<u8>, (u32, u64)> = HashMap::new();
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
                        return Err(brazex_core::Error::Internal(concat!(
                            "a row's digest collided with the earlier state's (about once in ",
                            "2^64 rows); run again: the next run draws another salt"
                        )))
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
                    write_op(&mut ops_out, row.seq, op)
                        .map_err(|e| io_error("write", &ops_path, e))?;
                }
                if let Some(new) = new.as_deref_mut() {
                    new.write(&key, fp, row.raw)?;
                }
            }
            ops_out
                .into_inner()
                .map_err(|e| io_error("write", &ops_path, e.into_error()))?;
            ops.push(ops_path);
        }
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

/// The most bytes of keys compared at once without an earlier state: about 110,000
/// users (at about 70 bytes a partition record), about 11 MB in the comparison's map.
const SPLIT_BYTES: u64 = 8 << 20;

/// The run partition `path` (partition `p` of `partitions`), or, when it is larger than
/// `limit` bytes ([`SPLIT_BYTES`]), its keys split by other bits of their hash into
/// parts each about that size (a power of two, at most `most`), in the scratch folder:
/// every key's rows in one part, in seq order. With `most` the new state's partitions per run partition,
/// each new partition takes its users from one part, so they stay in the export's
/// order there (which the deletes of the next night follow).
fn split(
    path: &std::path::Path,
    p: usize,
    partitions: usize,
    most: usize,
    limit: u64,
    scratch: &Scratch,
) -> Result<Vec<PathBuf>> {
    let size = std::fs::metadata(path)
        .map_err(|e| io_error("read", path, e))?
        .len();
    let parts = (size.div_ceil(limit.max(1)) as usize)
        .next_power_of_two()
        .min(most.max(1));
    if parts <= 1 {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut outs = (0..parts)
        .map(|part| scratch.create(&format!("run-{p:03}-{part:03}.keys")))
        .collect::<Result<Vec<_>>>()?;
    let mut input = open_reader(path)?;
    let mut key = Vec::new();
    while let Some(row) = read_row(&mut input, &mut key).map_err(|e| io_error("read", path, e))? {
        let (out_path, out) = &mut outs[subpartition_of(&key, partitions, parts)];
        write_row(out, &key, &row).map_err(|e| io_error("write", out_path, e))?;
    }
    drop(input);
    // The whole partition is in its parts now: its own bytes are free.
    std::fs::remove_file(path).map_err(|e| io_error("remove", path, e))?;
    outs.into_iter()
        .map(|(out_path, out)| {
            out.into_inner()
                .map(drop)
                .map_err(|e| io_error("write", &out_path, e.into_error()))
                .map(|()| out_path)
        })
        .collect()
}

/// Writes a row as `spool` wrote it (read back by [`read_row`]).
fn write_row(out: &mut impl Write, key: &[u8], row: &RunRow) -> std::io::Result<()> {
    write_key(out, key)?;
    out.write_all(&row.fp.to_le_bytes())?;
    out.write_all(&row.raw.to_le_bytes())?;
    out.write_all(&row.seq.to_le_bytes())?;
    out.write_all(&[row.spooled])?;
    out.write_all(&row.at.0.to_le_bytes())?;
    out.write_all(&row.at.1.to_le_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDir;

    #[test]
    fn a_large_run_partition_splits_with_every_key_in_one_part_in_seq_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::lock(dir.path(), true).expect("state folder");
        let scratch = Scratch::new(&state).expect("scratch");
        let (path, mut out) = scratch.create("run-000.keys").expect("run file");
        // 3,000 rows of 1,000 keys (each key three times), in seq order.
        let rows: Vec<(Vec<u8>, RunRow)> = (0..3000u64)
            .map(|seq| {
                let key = format!("user-{}", seq % 1000).into_bytes();
                let row = RunRow {
                    fp: u128::from(seq) << 64 | 7,
                    raw: seq * 3,
                    seq,
                    spooled: 1,
                    at: ((seq / 500) as u32, seq % 500 + 1),
                };
                (key, row)
            })
            .collect();
        for (key, row) in &rows {
            write_row(&mut out, key, row).expect("write");
        }
        out.into_inner().expect("flush");
        let size = std::fs::metadata(&path).expect("size").len();

        // Under the limit, or with no room for parts: the partition as it is.
        let whole = vec![path.clone()];
        assert_eq!(
            split(&path, 0, 16, 16, size, &scratch).expect("split"),
            whole
        );
        assert_eq!(split(&path, 0, 16, 1, 1, &scratch).expect("split"), whole);

        // A third of its size: four parts (a power of two), at most `most`.
        let parts = split(&path, 0, 16, 16, size / 3, &scratch).expect("split");
        assert_eq!(parts.len(), 4);
        assert!(!path.exists(), "the partition's own file is removed");
        let mut seen = Vec::new();
        let mut part_of = HashMap::new();
        for (i, part) in parts.iter().enumerate() {
            let mut input = open_reader(part).expect("part");
            let mut key = Vec::new();
            let mut last = None;
            while let Some(row) = read_row(&mut input, &mut key).expect("read") {
                assert!(last < Some(row.seq), "seq order within a part");
                last = Some(row.seq);
                assert_eq!(
                    *part_of.entry(key.clone()).or_insert(i),
                    i,
                    "a key in one part"
                );
                assert_eq!(subpartition_of(&key, 16, 4), i);
                seen.push((key.clone(), row.fp, row.raw, row.seq, row.spooled, row.at));
            }
        }
        seen.sort_by_key(|r| r.3);
        let want: Vec<_> = rows
            .iter()
            .map(|(k, r)| (k.clone(), r.fp, r.raw, r.seq, r.spooled, r.at))
            .collect();
        assert_eq!(seen, want, "every row once, unchanged");
        assert!(part_of.values().all(|&i| i < 4) && part_of.len() == 1000);
    }
}
