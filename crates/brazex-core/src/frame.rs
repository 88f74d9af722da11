//! Line framing: cuts each entry's decompressed bytes into blocks of whole lines.
//!
//! A block is the unit of parallel work: a few hundred KiB of complete lines of one
//! entry, with the number of its first line so that errors can name `ENTRY:LINE`.
//! The only bytes kept between blocks are the start of an unfinished line, and that
//! is capped by `--max-line-bytes`, so memory does not grow with the input.

use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::archive::{EntrySink, INFLATE_CHUNK};
use crate::error::{Error, LinePlace, Result};

/// Where a block stands in the output order. Output is written unit by unit (an input,
/// or one zip entry when entries are decoded in parallel) and, within a unit, block by
/// block; a unit's last block lets the next unit begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Seq {
    pub unit: u64,
    pub index: u64,
}

/// Complete lines of one entry.
#[derive(Debug)]
pub struct Block {
    /// Position in the whole run: the writer restores input order by it.
    pub seq: Seq,
    /// The unit's last block (it may be empty).
    pub last: bool,
    /// Sent ahead of the unit being written, under the pipeline's read-ahead bound.
    pub ahead: bool,
    /// `ARCHIVE!ENTRY`, or the input's name.
    pub entry: Arc<str>,
    /// One-based number of the first line in `data`.
    pub first_line: u64,
    /// Whole lines, each ended by `\n` except perhaps the entry's last one.
    pub data: Vec<u8>,
    /// The error decoding met here: the unit ends with it, and the writer reports
    /// it when it reaches this place, after every line before it.
    pub error: Option<Error>,
}

/// Byte buffers handed back to where they are filled: input blocks from the workers
/// to the framers, NDJSON output from the writer to the workers.
///
/// Without it every block is a fresh allocation, written once and freed on another
/// thread: page faults on every block, and glibc keeping the freed blocks in
/// per-thread arenas. With it the pipeline allocates about as many buffers as can be
/// in flight, once. Holds at most `buffers` idle buffers.
#[derive(Debug, Clone)]
pub struct Recycler {
    give: Sender<Vec<u8>>,
    take: Receiver<Vec<u8>>,
}

impl Recycler {
    pub fn new(buffers: usize) -> Recycler {
        let (give, take) = bounded(buffers);
        Recycler { give, take }
    }

    /// An empty buffer of at least `capacity` bytes: a returned one when there is one.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        match self.take.try_recv() {
            Ok(mut buffer) => {
                buffer.clear();
                // Exactly: `reserve` may double, and a caller that asks for what its
                // last buffer held would then double its buffers without end.
                buffer.reserve_exact(capacity);
                buffer
            }
            Err(_) => Vec::with_capacity(capacity),
        }
    }

    /// Hands a buffer back (dropped when enough are idle already).
    pub fn give(&self, buffer: Vec<u8>) {
        if buffer.capacity() > 0 {
            let _ = self.give.try_send(buffer);
        }
    }
}

/// Cuts entries into [`Block`]s and hands them to `emit`.
pub struct Framer<'e> {
    input: Arc<str>,
    entry: Arc<str>,
    next_line: u64,
    buf: Vec<u8>,
    block_bytes: usize,
    max_line_bytes: usize,
    next_seq: Seq,
    recycler: Option<Recycler>,
    /// Decompressed bytes seen, in all entries.
    pub bytes: u64,
    /// Entries seen.
    pub entries: u64,
    /// `emit` failed: the receiving side has its own error and wants no more blocks.
    stopped: bool,
    emit: &'e mut dyn FnMut(Block) -> Result<()>,
}

impl std::fmt::Debug for Framer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framer")
            .field("entry", &self.entry)
            .field("next_line", &self.next_line)
            .finish_non_exhaustive()
    }
}

impl<'e> Framer<'e> {
    /// `block_bytes` is the target block size; blocks belong to unit 0 until
    /// [`Framer::start_unit`] says otherwise.
    pub fn new(
        block_bytes: usize,
        max_line_bytes: usize,
        emit: &'e mut dyn FnMut(Block) -> Result<()>,
    ) -> Framer<'e> {
        Framer {
            input: Arc::from(""),
            entry: Arc::from(""),
            next_line: 1,
            buf: Vec::new(),
            block_bytes: block_bytes.max(1),
            max_line_bytes,
            next_seq: Seq::default(),
            recycler: None,
            bytes: 0,
            entries: 0,
            stopped: false,
            emit,
        }
    }

    /// Takes block buffers from `recycler` (see [`Recycler`]).
    pub fn recycling(mut self, recycler: Recycler) -> Self {
        self.recycler = Some(recycler);
        self
    }

    /// Names the input whose entries come next.
    pub fn set_input(&mut self, input: Arc<str>) {
        self.input = input;
    }

    /// The blocks that follow belong to `unit`.
    pub fn start_unit(&mut self, unit: u64) {
        self.next_seq = Seq { unit, index: 0 };
    }

    /// Ends the current unit with its last (empty) block, so that the writer can go on
    /// to the next unit even when this one had no lines.
    pub fn finish_unit(&mut self) -> Result<()> {
        self.send_block(Vec::new(), true, None)
    }

    /// Ends the unit with `error`, which decoding met after the bytes given so far:
    /// the complete lines before it are sent first, then the error in a block of its
    /// own. So the writer meets errors in input order, whichever stage found them,
    /// and the first one is the same however the work was split. When the receiving
    /// side already stopped, `error` is returned as it is.
    pub fn fail(&mut self, error: Error) -> Result<()> {
        if self.stopped {
            return Err(error);
        }
        self.send_lines()?;
        self.buf.clear();
        self.send_block(Vec::new(), true, Some(error))
    }

    fn send(&mut self, data: Vec<u8>) -> Result<()> {
        self.send_block(data, false, None)
    }

    fn send_block(&mut self, data: Vec<u8>, last: bool, error: Option<Error>) -> Result<()> {
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        let block = Block {
            seq: self.next_seq,
            last,
            ahead: false,
            entry: self.entry.clone(),
            first_line: self.next_line,
            data,
            error,
        };
        self.next_seq.index += 1;
        self.next_line += lines;
        let sent = (self.emit)(block);
        self.stopped |= sent.is_err();
        sent
    }

    /// Sends the complete lines in `buf` and checks the unfinished rest against the limit.
    fn send_complete_lines(&mut self) -> Result<()> {
        self.send_lines()?;
        if self.buf.len() > self.max_line_bytes {
            return Err(Error::LineTooLong {
                place: LinePlace {
                    entry: self.entry.clone(),
                    line: self.next_line,
                },
                limit: self.max_line_bytes,
            });
        }
        Ok(())
    }

    /// Sends the complete lines in `buf`, keeping the unfinished rest.
    fn send_lines(&mut self) -> Result<()> {
        if let Some(last_newline) = memchr::memrchr(b'\n', &self.buf) {
            let mut next = match &self.recycler {
                Some(recycler) => recycler.take(self.block_bytes),
                None => Vec::with_capacity(self.block_bytes),
            };
            next.extend_from_slice(&self.buf[last_newline + 1..]);
            let mut data = std::mem::replace(&mut self.buf, next);
            data.truncate(last_newline + 1);
            self.send(data)?;
        }
        Ok(())
    }
}

impl EntrySink for Framer<'_> {
    fn start_entry(&mut self, name: Option<&str>) -> Result<()> {
        self.entry = match name {
            Some(name) => Arc::from(format!("{}!{}", self.input, name)),
            None => self.input.clone(),
        };
        self.next_line = 1;
        self.entries += 1;
        self.buf.clear();
        Ok(())
    }

    fn data(&mut self, mut bytes: &[u8]) -> Result<()> {
        self.bytes += bytes.len() as u64;
        while !bytes.is_empty() {
            // Fill the block up to its size and no further, so that it never grows
            // (and copies itself) past its buffer; only a line longer than a block
            // makes it grow, up to --max-line-bytes.
            let room = self.block_bytes.saturating_sub(self.buf.len());
            let take = if room == 0 {
                bytes.len()
            } else {
                room.min(bytes.len())
            };
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() >= self.block_bytes {
                self.send_complete_lines()?;
            }
        }
        Ok(())
    }

    /// The block being filled, with room up to the block size (or, while a line
    /// longer than a block is read, for [`INFLATE_CHUNK`] more bytes of it).
    fn buffer(&mut self) -> Option<&mut Vec<u8>> {
        match self.block_bytes.checked_sub(self.buf.len()) {
            Some(room) if room > 0 => self.buf.reserve_exact(room),
            _ => self.buf.reserve(INFLATE_CHUNK),
        }
        Some(&mut self.buf)
    }

    fn appended(&mut self, bytes: usize) -> Result<()> {
        self.bytes += bytes as u64;
        if self.buf.len() >= self.block_bytes {
            self.send_complete_lines()?;
        }
        Ok(())
    }

    fn end_entry(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.send_complete_lines()?;
        }
        if !self.buf.is_empty() {
            // The entry's last line, without a newline.
            let data = std::mem::take(&mut self.buf);
            self.send(data)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(entries: &[&[u8]], chunk: usize, block: usize, max_line: usize) -> Result<Vec<Block>> {
        let mut blocks = Vec::new();
        let mut emit = |b: Block| {
            blocks.push(b);
            Ok(())
        };
        let mut framer = Framer::new(block, max_line, &mut emit);
        framer.set_input(Arc::from("in.zip"));
        for (i, entry) in entries.iter().enumerate() {
            framer.start_entry(Some(&format!("e{i}")))?;
            for piece in entry.chunks(chunk) {
                framer.data(piece)?;
            }
            framer.end_entry()?;
        }
        drop(framer);
        Ok(blocks)
    }

    #[test]
    fn blocks_hold_whole_lines_and_number_them() {
        let entry: &[u8] = b"a1\nb22\n\nc333\r\nd4444";
        for chunk in [1, 3, 7, 64 * 1024] {
            for block in [1, 4, 1024] {
                let blocks = frame(&[entry, b"x\ny\n"], chunk, block, 100).expect("frames");
                let first: Vec<u8> = blocks
                    .iter()
                    .filter(|b| &*b.entry == "in.zip!e0")
                    .flat_map(|b| b.data.clone())
                    .collect();
                assert_eq!(first, entry, "chunk {chunk} block {block}");
                for b in &blocks {
                    assert!(b.data.ends_with(b"\n") || b.data.ends_with(b"d4444"));
                    // first_line matches the count of newlines before the block.
                    let before: usize = blocks
                        .iter()
                        .filter(|o| o.entry == b.entry && o.seq < b.seq)
                        .map(|o| o.data.iter().filter(|&&c| c == b'\n').count())
                        .sum();
                    assert_eq!(b.first_line, before as u64 + 1);
                }
                let seqs: Vec<u64> = blocks.iter().map(|b| b.seq.index).collect();
                assert_eq!(seqs, (0..blocks.len() as u64).collect::<Vec<_>>());
                assert!(blocks
                    .iter()
                    .any(|b| &*b.entry == "in.zip!e1" && b.first_line == 1));
            }
        }
    }

    #[test]
    fn recycled_buffers_frame_the_same_blocks_without_growing() {
        let entry: Vec<u8> = (0..500)
            .flat_map(|i| {
                format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 37)).into_bytes()
            })
            .collect();
        let plain = frame(&[&entry], 1000, 256, 1 << 20).expect("frame");
        let recycler = Recycler::new(4);
        let mut blocks = Vec::new();
        let mut emit = |b: Block| {
            blocks.push((b.first_line, b.data.clone()));
            // As a worker does: the buffer goes back once the block is processed.
            recycler.give(b.data);
            Ok(())
        };
        let mut framer = Framer::new(256, 1 << 20, &mut emit).recycling(recycler.clone());
        framer.set_input(Arc::from("in.zip"));
        framer.start_entry(Some("e0")).expect("start");
        for piece in entry.chunks(1000) {
            framer.data(piece).expect("data");
        }
        framer.end_entry().expect("end");
        drop(framer);
        let want: Vec<(u64, Vec<u8>)> = plain.into_iter().map(|b| (b.first_line, b.data)).collect();
        assert_eq!(blocks, want);
        // Blocks are filled to their size, never past it (a line may finish a block).
        let longest_line = entry
            .split(|&b| b == b'\n')
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0);
        assert!(blocks
            .iter()
            .all(|(_, data)| data.len() <= 256 + longest_line));
        // A recycled buffer is handed out again.
        let reused = recycler.take(16);
        assert!(reused.is_empty() && reused.capacity() >= 256);
    }

    #[test]
    fn recycled_buffers_do_not_grow_from_round_to_round() {
        // Ask for as much as the last buffer could hold and give that one back, with a
        // slightly smaller buffer in circulation: capacities must stay put, not double
        // each time the smaller buffer comes round.
        let recycler = Recycler::new(4);
        recycler.give(Vec::with_capacity(999));
        let mut held: Vec<u8> = Vec::with_capacity(1000);
        for round in 0..50 {
            held.push(b'x');
            let next = recycler.take(held.capacity());
            recycler.give(std::mem::replace(&mut held, next));
            assert!(held.capacity() < 4096, "round {round}: {}", held.capacity());
        }
    }

    #[test]
    fn an_unfinished_line_over_the_limit_is_an_error_naming_it() {
        let entry = b"ok\nok\n0123456789abcdef".to_vec();
        for chunk in [1, 3, 7] {
            let err = frame(&[&entry], chunk, 1, 10).expect_err("too long");
            assert_eq!(
                err.to_string(),
                "in.zip!e0:3: line is longer than 10 bytes (raise the limit with --max-line-bytes)"
            );
        }
    }
}
