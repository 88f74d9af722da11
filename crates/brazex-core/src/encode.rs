//! The seam between the pipeline and output formats.
//!
//! An [`Encoder`] runs on each worker: it receives every row that passed `--where`,
//! already parsed, and builds one encoded block per input block (NDJSON or CSV bytes,
//! an Arrow record batch). A [`Sink`] runs on the writer thread and receives the blocks
//! in input order (a file, rotating parts, a Parquet writer). Formats live in their own
//! modules or crates (`brazex-parquet`); the pipeline knows only these two traits.

use std::io::Write;
use std::sync::Arc;

use crate::contract::KeyLog;
use crate::error::{Error, LinePlace, Result};
use crate::frame::Recycler;
use crate::record::Record;
use crate::select::Selection;

/// Encodes rows on a worker thread.
pub trait Encoder: Send {
    /// What one input block becomes.
    type Block: Send;

    /// Appends one row. An error concerns this row only (with `--on-error skip` the row
    /// is skipped), so an encoder must leave no part of a failed row behind.
    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()>;

    /// The rows appended since the last call, as one block.
    fn finish_block(&mut self) -> Self::Block;

    /// The custom attribute keys the rows since the last call sent to
    /// `custom_attributes__rest` (typed encoders of a plan with custom attribute
    /// columns; see [`crate::contract::Watched`]).
    fn take_keys(&mut self) -> KeyLog {
        KeyLog::default()
    }

    /// The encoder as one whose every row is its input line as it is, then `\n`
    /// (NDJSON without `--select`); `None` (the default) for any other. The pipeline
    /// then hands such an encoder a block whose lines are all rows as they are, whole,
    /// instead of copying it row by row.
    fn line_rows(&mut self) -> Option<&mut dyn LineRows<Self::Block>> {
        None
    }
}

/// An encoder whose rows are their input lines (see [`Encoder::line_rows`]).
pub trait LineRows<B> {
    /// Appends `lines` (whole lines, each ending in `\n`) as the rows they are.
    fn push_lines(&mut self, lines: &[u8]);

    /// Takes `lines`, a whole input block whose every line is a row as it is, as the
    /// encoded block of a block to which no row was appended; returns it, and in its
    /// place an empty buffer for the input side (so that the buffers going round the
    /// pipeline stay as many).
    fn take_lines(&mut self, lines: Vec<u8>) -> (B, Vec<u8>);
}

/// Receives encoded blocks in input order, on the writer thread.
pub trait Sink<B> {
    /// Writes one block holding `rows` rows.
    fn write_block(&mut self, block: B, rows: u64) -> Result<()>;
}

/// NDJSON: each record byte for byte (less any `\r`), or the `--select`ed object.
#[derive(Debug)]
pub struct NdjsonEncoder {
    selection: Option<Arc<Selection>>,
    slots: Vec<Option<usize>>,
    out: Vec<u8>,
    recycler: Option<Recycler>,
}

impl NdjsonEncoder {
    pub fn new(selection: Option<Arc<Selection>>) -> NdjsonEncoder {
        NdjsonEncoder {
            selection,
            slots: Vec::new(),
            out: Vec::new(),
            recycler: None,
        }
    }

    /// Takes output buffers from `recycler`, which the [`WriteSink`] fills back: a
    /// pass-through run writes as many bytes as it reads, and fresh buffers cost a
    /// page fault per 4 KiB.
    pub fn recycling(mut self, recycler: Recycler) -> NdjsonEncoder {
        self.recycler = Some(recycler);
        self
    }
}

impl Encoder for NdjsonEncoder {
    type Block = Vec<u8>;

    fn row(&mut self, record: &Record<'_>, _place: &dyn Fn() -> LinePlace) -> Result<()> {
        match &self.selection {
            None => {
                self.out.extend_from_slice(record.line());
                self.out.push(b'\n');
            }
            Some(selection) => selection.write(record, &mut self.slots, &mut self.out),
        }
        Ok(())
    }

    fn finish_block(&mut self) -> Vec<u8> {
        // The next block is about as large as this one.
        let size = self.out.len();
        let next = self.buffer(size);
        std::mem::replace(&mut self.out, next)
    }

    fn line_rows(&mut self) -> Option<&mut dyn LineRows<Vec<u8>>> {
        match self.selection {
            None => Some(self),
            Some(_) => None,
        }
    }
}

impl NdjsonEncoder {
    /// An empty output buffer of `size` bytes, from the writer's when it gives them back.
    fn buffer(&self, size: usize) -> Vec<u8> {
        match &self.recycler {
            Some(recycler) => recycler.take(size),
            None => Vec::with_capacity(size),
        }
    }
}

impl LineRows<Vec<u8>> for NdjsonEncoder {
    fn push_lines(&mut self, lines: &[u8]) {
        self.out.extend_from_slice(lines);
    }

    fn take_lines(&mut self, lines: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
        // `out` holds no row of this block: it goes to the input side in the block's
        // place, and the next block's buffer comes from the writer's, as after any
        // block (the writer gives this one back there).
        debug_assert!(self.out.is_empty(), "rows appended before a whole block");
        let next = self.buffer(lines.len());
        let spare = std::mem::replace(&mut self.out, next);
        (lines, spare)
    }
}

/// Writes byte blocks to a [`Write`] (stdout, a file), handing the written buffers
/// back to the encoders when given a recycler.
pub struct WriteSink<'w> {
    out: &'w mut dyn Write,
    recycler: Option<Recycler>,
}

/// What a write error of a [`WriteSink`] (and [`crate::pipeline::run`]) says was
/// being done: callers that know the output's name put it in its place.
pub const WRITE_FAILED: &str = "cannot write the output";

impl<'w> WriteSink<'w> {
    pub fn new(out: &'w mut dyn Write, recycler: Option<Recycler>) -> WriteSink<'w> {
        WriteSink { out, recycler }
    }
}

impl std::fmt::Debug for WriteSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteSink")
    }
}

impl Sink<Vec<u8>> for WriteSink<'_> {
    fn write_block(&mut self, block: Vec<u8>, _rows: u64) -> Result<()> {
        let written = self
            .out
            .write_all(&block)
            .map_err(|e| Error::io(WRITE_FAILED, e));
        if let Some(recycler) = &self.recycler {
            recycler.give(block);
        }
        written
    }
}

/// Encoded rows of one table: the bytes and where each row ends.
#[derive(Debug, Default)]
pub struct Rows {
    pub data: Vec<u8>,
    pub ends: Vec<usize>,
}

/// The rows a typed encoder builds for each table of its plan, block by block: a
/// record whose row fails is cut back out of every table ([`TableRows::mark`],
/// [`TableRows::cut_back`]), so no part of it is left behind.
#[derive(Debug, Default)]
pub struct TableRows {
    data: Vec<Vec<u8>>,
    ends: Vec<Vec<usize>>,
}

/// Where each table of a [`TableRows`] stood.
#[derive(Debug)]
pub struct Mark(Vec<(usize, usize)>);

impl TableRows {
    pub fn new(tables: usize) -> TableRows {
        TableRows {
            data: vec![Vec::new(); tables],
            ends: vec![Vec::new(); tables],
        }
    }

    /// Where every table stands now.
    pub fn mark(&self) -> Mark {
        Mark(
            self.data
                .iter()
                .zip(&self.ends)
                .map(|(d, e)| (d.len(), e.len()))
                .collect(),
        )
    }

    /// Removes what was appended since `mark`.
    pub fn cut_back(&mut self, mark: Mark) {
        for ((data, ends), (len, count)) in self.data.iter_mut().zip(&mut self.ends).zip(mark.0) {
            data.truncate(len);
            ends.truncate(count);
        }
    }

    /// The bytes of `table`'s rows, to append the next row to.
    pub fn data(&mut self, table: usize) -> &mut Vec<u8> {
        &mut self.data[table]
    }

    /// Ends `table`'s row where its bytes now end.
    pub fn end_row(&mut self, table: usize) {
        self.ends[table].push(self.data[table].len());
    }

    /// The rows since the last call, one [`Rows`] per table.
    pub fn take(&mut self) -> Vec<Rows> {
        self.data
            .iter_mut()
            .zip(&mut self.ends)
            .map(|(data, ends)| Rows {
                data: std::mem::take(data),
                ends: std::mem::take(ends),
            })
            .collect()
    }
}
