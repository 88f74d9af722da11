//! Pass 1: every row's key and fingerprint into partitions, every row into the spool.
//!
//! The [`SpoolEncoder`] runs on the pipeline's workers: it reads each row's key,
//! fingerprints it, and compresses the block's rows (zstd: smaller than the export's own
//! deflate). The [`SpoolSink`] runs on
//! the writer thread and gets the blocks in input order: it numbers the rows (`seq`),
//! appends the block to the spool file, and each key to its partition's file.
//!
//! Each row's line is hashed as it is (XXH3-64, a few GB/s). With the earlier
//! state's [`Digests`], a row whose key and line hash the state has is the same line
//! as the night before: it is neither fingerprinted nor spooled (the comparison takes
//! the state's fingerprint for it). Every other row is fingerprinted and spooled.
//!
//! Spool frame: entry (u32), the block's first seq (u64), rows spooled (u32),
//! compressed length (u32), then the compressed rows, each `varint index in the
//! block, varint line, varint length, bytes`.
//! Partition record: key (u16 length, bytes), fingerprint (16 bytes; 0 for a line
//! the state had), line hash (u64), seq (u64), spooled (u8: 1 spooled, 2 the state's
//! line), entry (u32), line (u64): where the row was, for repeated keys.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use brazex_core::encode::{Encoder, Sink};
use brazex_core::error::{Error, LinePlace, Result};
use brazex_core::fingerprint::{partition_of, Fingerprinter};
use brazex_core::record::Record;

use twox_hash::XxHash3_64;

use super::digests::Digests;
use super::{io_error, write_key, Scratch, MAX_PARTITIONS};

/// A row in the spool (or, tapped, fingerprinted beside the output that has it).
pub(super) const SPOOLED: u8 = 1;
/// A row whose line the earlier state had (neither spooled nor fingerprinted).
pub(super) const KNOWN: u8 = 2;

/// One block of rows, encoded on a worker.
#[derive(Debug)]
pub struct SpoolBlock {
    entry: Option<Arc<str>>,
    /// Rows of the block (each has a key).
    rows: u32,
    /// Rows spooled.
    spooled: u32,
    /// The rows, compressed (an error only if zstd could not allocate).
    payload: std::io::Result<Vec<u8>>,
    /// For each row in order: partition (u16), key (u16 length, bytes), fingerprint,
    /// line hash (u64), spooled (u8), line (u64).
    keys: Vec<u8>,
}

/// Pass 1's encoder (one per worker).
#[derive(Debug)]
pub struct SpoolEncoder {
    fingerprinter: Fingerprinter,
    digests: Option<Arc<Digests>>,
    partitions: usize,
    /// False for a [`super::tap`]: the rows go to the output, only the keys here.
    spool_rows: bool,
    entry: Option<Arc<str>>,
    rows: u32,
    spooled: u32,
    raw: Vec<u8>,
    keys: Vec<u8>,
}

impl SpoolEncoder {
    /// Spools every row, or with `digests` only those not certainly unchanged.
    pub fn new(
        fingerprinter: Fingerprinter,
        digests: Option<Arc<Digests>>,
        partitions: usize,
    ) -> SpoolEncoder {
        SpoolEncoder {
            fingerprinter,
            digests,
            partitions,
            spool_rows: true,
            entry: None,
            rows: 0,
            spooled: 0,
            raw: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// Keys and fingerprints only, every row fingerprinted: the rows themselves go
    /// to the output beside it ([`super::tap`]).
    pub(super) fn keys_only(fingerprinter: Fingerprinter, partitions: usize) -> SpoolEncoder {
        SpoolEncoder {
            spool_rows: false,
            ..SpoolEncoder::new(fingerprinter, None, partitions)
        }
    }

    /// Where the next row starts: for [`SpoolEncoder::undo_row`].
    pub(super) fn mark(&self) -> RowMark {
        RowMark {
            keys: self.keys.len(),
            raw: self.raw.len(),
            rows: self.rows,
            spooled: self.spooled,
            entry: self.entry.is_some(),
        }
    }

    /// Takes back the rows after `mark` (the output beside it refused that row).
    pub(super) fn undo_row(&mut self, mark: RowMark) {
        self.keys.truncate(mark.keys);
        self.raw.truncate(mark.raw);
        self.rows = mark.rows;
        self.spooled = mark.spooled;
        if !mark.entry {
            self.entry = None;
        }
    }
}

/// The encoder's state before a row ([`SpoolEncoder::mark`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct RowMark {
    keys: usize,
    raw: usize,
    rows: u32,
    spooled: u32,
    entry: bool,
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at `*pos`, moving past it.
pub(super) fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let byte = *data.get(*pos)?;
        *pos += 1;
        n |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(n);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// A spool frame's header: the entry, the seq of the block's first row, the rows
/// spooled, and the compressed length that follows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    pub entry: u32,
    pub first: u64,
    pub rows: u32,
    pub len: u32,
}

impl Frame {
    fn to_bytes(self) -> [u8; 20] {
        let mut bytes = [0u8; 20];
        bytes[..4].copy_from_slice(&self.entry.to_le_bytes());
        bytes[4..12].copy_from_slice(&self.first.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.rows.to_le_bytes());
        bytes[16..].copy_from_slice(&self.len.to_le_bytes());
        bytes
    }

    /// The next frame's header; `None` at the end of the spool.
    pub(super) fn read(input: &mut impl Read) -> io::Result<Option<Frame>> {
        let mut bytes = [0u8; 20];
        match input.read_exact(&mut bytes) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes[4..12]);
        Ok(Some(Frame {
            entry: u32_at(0),
            first: u64::from_le_bytes(first),
            rows: u32_at(12),
            len: u32_at(16),
        }))
    }

    /// Reads the frame's rows (after its header) and decompresses them.
    pub(super) fn rows(&self, input: &mut impl Read) -> io::Result<Vec<u8>> {
        let mut payload = vec![0u8; self.len as usize];
        input.read_exact(&mut payload)?;
        zstd::stream::decode_all(payload.as_slice())
    }
}

/// The spooled row at `*pos` of a frame's rows: its index in the block, its line and
/// its text; `None` when the rows are cut short.
pub(super) fn next_row<'a>(rows: &'a [u8], pos: &mut usize) -> Option<(u64, u64, &'a [u8])> {
    let index = get_varint(rows, pos)?;
    let line = get_varint(rows, pos)?;
    let len = usize::try_from(get_varint(rows, pos)?).ok()?;
    let text = rows.get(*pos..pos.checked_add(len)?)?;
    *pos += len;
    Some((index, line, text))
}

impl Encoder for SpoolEncoder {
    type Block = SpoolBlock;

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        let field = self.fingerprinter.key_field().name();
        let key = self.fingerprinter.key(record).map_err(|why| Error::Key {
            place: place(),
            message: format!(
                "{field} {why}: --key {field} names the users of --state and --changes-since"
            ),
        })?;
        let Ok(len) = u16::try_from(key.len()) else {
            return Err(Error::Key {
                place: place(),
                message: format!("{field} is longer than 65535 bytes"),
            });
        };
        let line = record.line();
        let raw = XxHash3_64::oneshot(line);
        let known = self
            .digests
            .as_ref()
            .is_some_and(|d| d.contains(key.as_bytes(), raw));
        let (fp, spool) = match known {
            true => (0, false),
            false => (self.fingerprinter.fingerprint(record), self.spool_rows),
        };
        if self.entry.is_none() {
            self.entry = Some(place().entry);
        }
        let line_no = place().line;
        if spool {
            put_varint(&mut self.raw, u64::from(self.rows));
            put_varint(&mut self.raw, line_no);
            put_varint(&mut self.raw, line.len() as u64);
            self.raw.extend_from_slice(line);
            self.spooled += 1;
        }
        let part = partition_of(key.as_bytes(), self.partitions) as u16;
        self.keys.extend_from_slice(&part.to_le_bytes());
        self.keys.extend_from_slice(&len.to_le_bytes());
        self.keys.extend_from_slice(key.as_bytes());
        self.keys.extend_from_slice(&fp.to_le_bytes());
        self.keys.extend_from_slice(&raw.to_le_bytes());
        // A tapped row is fingerprinted like a spooled one (the output has its text).
        self.keys.push(if known { KNOWN } else { SPOOLED });
        self.keys.extend_from_slice(&line_no.to_le_bytes());
        self.rows += 1;
        Ok(())
    }

    fn finish_block(&mut self) -> SpoolBlock {
        // Without digests (a first night) every row is spooled: the scratch came to
        // 1.07 times the export zip's bytes at level 1 with the partitions, 1.04 at
        // level 3 and 0.98 at level 5, which made the first night 6 times a plain run
        // (3 at level 3): level 3. With digests few rows are spooled: level 1.
        let level = if self.digests.is_some() { 1 } else { 3 };
        let payload = match self.spooled {
            0 => Ok(Vec::new()),
            _ => zstd::bulk::compress(&self.raw, level),
        };
        self.raw.clear();
        SpoolBlock {
            entry: self.entry.take(),
            rows: std::mem::take(&mut self.rows),
            spooled: std::mem::take(&mut self.spooled),
            payload,
            keys: std::mem::take(&mut self.keys),
        }
    }
}

/// Pass 1's sink: the spool file and the partition files, in the scratch folder.
#[derive(Debug)]
pub struct SpoolSink {
    spool_path: PathBuf,
    spool: BufWriter<File>,
    part_paths: Vec<PathBuf>,
    parts: Vec<BufWriter<File>>,
    entries: Vec<Arc<str>>,
    /// Which entries have rows in the spool.
    spooled_entries: Vec<bool>,
    rows: u64,
}

/// What pass 1 left: the spool, the partitions, and the entries' names in order.
#[derive(Debug)]
pub struct Spooled {
    pub(super) spool: PathBuf,
    /// The keys' partitions (as many as the earlier state has).
    pub(super) parts: Vec<PathBuf>,
    pub(super) entries: Vec<Arc<str>>,
    pub(super) spooled_entries: Vec<bool>,
    /// Rows read.
    pub rows: u64,
}

impl SpoolSink {
    /// Into `scratch`, the keys in `partitions` (the earlier state's count).
    pub fn new(scratch: &Scratch, partitions: usize) -> Result<SpoolSink> {
        let partitions = partitions.clamp(1, MAX_PARTITIONS);
        let (spool_path, spool) = scratch.create("rows.spool")?;
        let mut part_paths = Vec::with_capacity(partitions);
        let mut parts = Vec::with_capacity(partitions);
        for p in 0..partitions {
            let (path, file) = scratch.create(&format!("run-{p:03}.keys"))?;
            part_paths.push(path);
            parts.push(file);
        }
        Ok(SpoolSink {
            spool_path,
            spool,
            part_paths,
            parts,
            entries: Vec::new(),
            spooled_entries: Vec::new(),
            rows: 0,
        })
    }

    /// Flushes the files; what the comparison reads.
    pub fn finish(self) -> Result<Spooled> {
        let flush = |out: BufWriter<File>, path: &PathBuf| {
            out.into_inner()
                .map(drop)
                .map_err(|e| io_error("write", path, e.into_error()))
        };
        flush(self.spool, &self.spool_path)?;
        for (out, path) in self.parts.into_iter().zip(&self.part_paths) {
            flush(out, path)?;
        }
        Ok(Spooled {
            spool: self.spool_path,
            parts: self.part_paths,
            entries: self.entries,
            spooled_entries: self.spooled_entries,
            rows: self.rows,
        })
    }
}

impl Sink<SpoolBlock> for SpoolSink {
    fn write_block(&mut self, block: SpoolBlock, _rows: u64) -> Result<()> {
        let first = self.rows;
        let Some(entry) = block.entry.filter(|_| block.rows > 0) else {
            return Ok(());
        };
        if self.entries.last().is_none_or(|last| **last != *entry) {
            self.entries.push(entry);
            self.spooled_entries.push(false);
        }
        let entry_index = (self.entries.len() - 1) as u32;
        if block.spooled > 0 {
            self.spooled_entries[entry_index as usize] = true;
            let payload = block
                .payload
                .map_err(|e| io_error("compress rows into", &self.spool_path, e))?;
            let spool_error = |e| io_error("write", &self.spool_path, e);
            let len = u32::try_from(payload.len())
                .map_err(|_| Error::Internal("a spool block over 4 GiB"))?;
            let header = Frame {
                entry: entry_index,
                first,
                rows: block.spooled,
                len,
            }
            .to_bytes();
            self.spool.write_all(&header).map_err(spool_error)?;
            self.spool.write_all(&payload).map_err(spool_error)?;
        }

        let keys = &block.keys;
        let mut pos = 0;
        for i in 0..u64::from(block.rows) {
            let bad = || Error::Internal("a spool block's keys are cut short");
            let part = keys.get(pos..pos + 2).ok_or_else(bad)?;
            let part = usize::from(u16::from_le_bytes([part[0], part[1]]));
            let len = keys.get(pos + 2..pos + 4).ok_or_else(bad)?;
            let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
            let key = keys.get(pos + 4..pos + 4 + len).ok_or_else(bad)?;
            // Fingerprint and line hash, as the partition record has them.
            let hashes = keys.get(pos + 4 + len..pos + 28 + len).ok_or_else(bad)?;
            let spooled = *keys.get(pos + 28 + len).ok_or_else(bad)?;
            let line = keys.get(pos + 29 + len..pos + 37 + len).ok_or_else(bad)?;
            pos += 37 + len;
            let out = self.parts.get_mut(part).ok_or_else(bad)?;
            write_key(out, key)
                .and_then(|()| out.write_all(hashes))
                .and_then(|()| out.write_all(&(first + i).to_le_bytes()))
                .and_then(|()| out.write_all(&[spooled]))
                .and_then(|()| out.write_all(&entry_index.to_le_bytes()))
                .and_then(|()| out.write_all(line))
                .map_err(|e| io_error("write", &self.part_paths[part], e))?;
        }
        self.rows += u64::from(block.rows);
        Ok(())
    }
}
