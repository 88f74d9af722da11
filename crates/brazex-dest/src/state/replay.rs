//! Pass 2's inputs: the spool read back in input order, as the export's own entries.
//!
//! Each entry of the export becomes one NDJSON stream with the entry's name, whose
//! line `n` is the entry's line `n`: a row to write is there (with `_op` first, for
//! changes), any other line is blank, which the pipeline skips. So an error of pass 2
//! (a value that does not fit a pinned column) names the place the row has in the
//! export, as it would without `--changes-since`. The streams share one cursor over
//! the spool; the pipeline reads them one after the other. A last stream holds the
//! deletes: `{"_op":"delete","braze_id":"…"}`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use brazex_core::error::{LinePlace, Result};
use brazex_core::fingerprint::KeyField;
use brazex_core::input::{Input, StreamInput};

use super::compare::{Compared, Op};
use super::spool::{next_row, Frame};
use super::{io_error, open_reader, read_key, Spooled};

/// What pass 2 writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// The inserts and updates with `_op` first, then the deletes.
    Changes,
    /// Every row as it was (but repeated keys skipped): `--state` without
    /// `--changes-since`.
    All,
}

/// Bytes a stream hands the pipeline per fill.
const FILL: usize = 256 << 10;

/// The inputs of pass 2: one per entry of the export, then the deletes (`Changes`).
pub fn replay(
    spooled: &Spooled,
    compared: &Compared,
    mode: ReplayMode,
    key: KeyField,
    deletes_label: &str,
) -> Result<Vec<Input>> {
    let cursor = Arc::new(Mutex::new(Cursor {
        path: spooled.spool.clone(),
        spool: open_reader(&spooled.spool)?,
        header: None,
        rows: Vec::new(),
        pos: 0,
        left: 0,
        frame_entry: 0,
        first: 0,
        entry: None,
        line: 1,
        ops: Ops::open(&compared.ops)?,
        mode,
        out: Vec::new(),
        out_pos: 0,
        out_entry: 0,
    }));
    let mut inputs: Vec<Input> = spooled
        .entries
        .iter()
        .enumerate()
        .filter(|(i, _)| spooled.spooled_entries[*i])
        .map(|(i, label)| {
            // The entries share one cursor over the spool: read one after the other.
            Input::Stream(StreamInput::in_order(
                label.clone(),
                Box::new(EntryReader {
                    entry: i as u32,
                    cursor: cursor.clone(),
                }),
            ))
        })
        .collect();
    if mode == ReplayMode::Changes && compared.counts.deletes > 0 {
        inputs.push(Input::Stream(StreamInput::new(
            deletes_label,
            Box::new(Deletes {
                path: compared.deletes.clone(),
                input: open_reader(&compared.deletes)?,
                prefix: format!("{{\"_op\":\"delete\",\"{}\":", key.name()).into_bytes(),
                key: Vec::new(),
                out: Vec::new(),
                out_pos: 0,
            }),
        )));
    }
    Ok(inputs)
}

struct Cursor {
    path: PathBuf,
    spool: BufReader<File>,
    /// The next frame's header, once read.
    header: Option<Frame>,
    /// The current frame's rows, decompressed; `pos` the next row's offset.
    rows: Vec<u8>,
    pos: usize,
    left: u32,
    /// The entry of the current frame, and the seq of its block's first row.
    frame_entry: u32,
    first: u64,
    /// The entry whose lines are being written, and its next line number.
    entry: Option<u32>,
    line: u64,
    ops: Ops,
    mode: ReplayMode,
    /// Bytes for entry `out_entry` not read yet.
    out: Vec<u8>,
    out_pos: usize,
    out_entry: u32,
}

impl Cursor {
    /// The next frame's header, if the spool has one.
    fn peek(&mut self) -> io::Result<Option<Frame>> {
        if self.header.is_none() {
            self.header = Frame::read(&mut self.spool)?;
        }
        Ok(self.header)
    }

    /// Writes the lines of `entry` into `out` up to about [`FILL`] bytes; false when
    /// the entry has no more.
    fn fill(&mut self, entry: u32) -> io::Result<bool> {
        self.out.clear();
        self.out_pos = 0;
        self.out_entry = entry;
        while self.out.len() < FILL {
            if self.left > 0 && self.frame_entry != entry {
                break;
            }
            if self.left == 0 {
                match self.peek()? {
                    Some(header) if header.entry == entry => {}
                    _ => break,
                }
                let Some(header) = self.header.take() else {
                    break;
                };
                self.rows = header.rows(&mut self.spool)?;
                self.pos = 0;
                self.left = header.rows;
                self.frame_entry = header.entry;
                self.first = header.first;
                if self.entry != Some(entry) {
                    self.entry = Some(entry);
                    self.line = 1;
                }
                continue;
            }
            let Some((index, line, text)) = next_row(&self.rows, &mut self.pos) else {
                return Err(io::Error::other(format!(
                    "{}: a spooled row is cut short",
                    self.path.display()
                )));
            };
            while self.line < line {
                self.out.push(b'\n');
                self.line += 1;
            }
            let op = self.ops.take(self.first + index)?;
            match (self.mode, op) {
                (ReplayMode::Changes, Some(Op::Insert)) => with_op(&mut self.out, text, "insert"),
                (ReplayMode::Changes, Some(Op::Update)) => with_op(&mut self.out, text, "update"),
                (ReplayMode::All, None) => self.out.extend_from_slice(text),
                // Unchanged, or a repeated key: a blank line in its place.
                _ => {}
            }
            self.out.push(b'\n');
            self.line = line + 1;
            self.left -= 1;
        }
        Ok(!self.out.is_empty())
    }
}

/// Appends `line` (a JSON object) with `"_op":"OP"` as its first member.
fn with_op(out: &mut Vec<u8>, line: &[u8], op: &str) {
    let open = memchr::memchr(b'{', line).unwrap_or(0);
    out.extend_from_slice(&line[..=open.min(line.len().saturating_sub(1))]);
    out.extend_from_slice(b"\"_op\":\"");
    out.extend_from_slice(op.as_bytes());
    out.push(b'"');
    let rest = line.get(open + 1..).unwrap_or_default();
    if rest.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(rest);
}

/// One entry's stream.
struct EntryReader {
    entry: u32,
    cursor: Arc<Mutex<Cursor>>,
}

impl Read for EntryReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut cursor = self
            .cursor
            .lock()
            .map_err(|_| io::Error::other("the replay's cursor was poisoned"))?;
        loop {
            if cursor.out_pos < cursor.out.len() {
                if cursor.out_entry != self.entry {
                    // Another entry's bytes are pending (type inference sampled it and
                    // went on): this entry's turn comes after.
                    return Ok(0);
                }
                let n = buf.len().min(cursor.out.len() - cursor.out_pos);
                let start = cursor.out_pos;
                buf[..n].copy_from_slice(&cursor.out[start..start + n]);
                cursor.out_pos += n;
                return Ok(n);
            }
            if !cursor.fill(self.entry)? {
                return Ok(0);
            }
        }
    }
}

/// The replay's ops, merged from the partitions back into seq order.
struct Ops {
    inputs: Vec<(PathBuf, BufReader<File>)>,
    heap: BinaryHeap<Reverse<(u64, u8, usize)>>,
}

impl Ops {
    fn open(paths: &[PathBuf]) -> Result<Ops> {
        let mut ops = Ops {
            inputs: Vec::with_capacity(paths.len()),
            heap: BinaryHeap::with_capacity(paths.len()),
        };
        for (i, path) in paths.iter().enumerate() {
            // Small buffers: 256 of them are open at once.
            let file = File::open(path).map_err(|e| io_error("read", path, e))?;
            ops.inputs
                .push((path.clone(), BufReader::with_capacity(4 << 10, file)));
            ops.advance(i).map_err(|e| io_error("read", path, e))?;
        }
        Ok(ops)
    }

    /// Reads partition `i`'s next op into the heap.
    fn advance(&mut self, i: usize) -> io::Result<()> {
        let mut record = [0u8; 9];
        match self.inputs[i].1.read_exact(&mut record) {
            Ok(()) => {
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&record[..8]);
                self.heap
                    .push(Reverse((u64::from_le_bytes(seq), record[8], i)));
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The op of row `seq` (rows are asked for in seq order), if it has one.
    fn take(&mut self, seq: u64) -> io::Result<Option<Op>> {
        match self.heap.peek() {
            Some(Reverse((next, op, i))) if *next == seq => {
                let (op, i) = (*op, *i);
                self.heap.pop();
                self.advance(i)?;
                Op::from_byte(op).map(Some).ok_or_else(|| {
                    io::Error::other(format!("{}: not an op", self.inputs[i].0.display()))
                })
            }
            Some(Reverse((next, _, i))) if *next < seq => Err(io::Error::other(format!(
                "{}: ops out of order",
                self.inputs[*i].0.display()
            ))),
            _ => Ok(None),
        }
    }
}

/// The deletes' stream.
struct Deletes {
    path: PathBuf,
    input: BufReader<File>,
    prefix: Vec<u8>,
    key: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
}

impl Read for Deletes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            while self.out.len() < FILL && read_key(&mut self.input, &mut self.key)? {
                let key = String::from_utf8_lossy(&self.key);
                self.out.extend_from_slice(&self.prefix);
                serde_json::to_writer(&mut self.out, &key)
                    .map_err(|e| io::Error::other(format!("{}: {e}", self.path.display())))?;
                self.out.extend_from_slice(b"}\n");
            }
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// What [`for_rows`] calls for each row: its seq, place and text.
pub type EachRow<'a> = &'a mut dyn FnMut(u64, LinePlace, &[u8]) -> Result<()>;

/// Calls `each(seq, place, text)` for the spooled rows `seqs` (sorted), reading the
/// spool once: the text of skipped repeated keys.
pub fn for_rows(spooled: &Spooled, seqs: &[u64], each: EachRow<'_>) -> Result<()> {
    let path = &spooled.spool;
    let mut input = open_reader(path)?;
    let damaged = || io_error("read", path, io::Error::other("the spool is cut short"));
    let mut wanted = seqs.iter().copied().peekable();
    // Rare (errors and skipped repeats): every frame up to the last row wanted is
    // read; a frame's rows are those of its block that were spooled.
    while wanted.peek().is_some() {
        let Some(frame) = Frame::read(&mut input).map_err(|e| io_error("read", path, e))? else {
            break;
        };
        let rows = frame
            .rows(&mut input)
            .map_err(|e| io_error("read", path, e))?;
        let label = spooled
            .entries
            .get(frame.entry as usize)
            .cloned()
            .ok_or_else(damaged)?;
        let mut pos = 0;
        for _ in 0..frame.rows {
            let (index, line, text) = next_row(&rows, &mut pos).ok_or_else(damaged)?;
            let seq = frame.first + index;
            while wanted.peek().is_some_and(|&w| w < seq) {
                // Not spooled: not a row this can tell about.
                wanted.next();
            }
            if wanted.peek() == Some(&seq) {
                wanted.next();
                let place = LinePlace {
                    entry: label.clone(),
                    line,
                };
                each(seq, place, text)?;
            }
        }
    }
    Ok(())
}
