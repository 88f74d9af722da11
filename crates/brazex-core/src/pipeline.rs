//! The runner: decode → frame → parse/select on N workers → ordered writer.
//!
//! ```text
//!  decode thread                 workers (--jobs)               calling thread
//!  read, sniff, inflate, frame ─► Block ─► validate, select ─► OutBlock ─► reorder by seq, write
//!                     bounded channel                 bounded channel
//! ```
//! Channels hold at most `2 × jobs` blocks each and the reorder buffer at most as many
//! as are in flight, so memory is bounded by the block size, the line limit and the
//! job count, never by the input. Parsing is CPU work and runs on plain threads.
//! Output order is input order: blocks are numbered when cut and written by number.

use std::collections::BTreeMap;
use std::io::Write;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::cancel;
use crate::decode::{decode_all, ReadAhead, Route};
use crate::encode::{Encoder, NdjsonEncoder, Sink, WriteSink};
use crate::error::{Error, LinePlace, Result};
use crate::filter::{Filter, FilterScratch, Prefilter};
use crate::frame::{Block, Recycler, Seq};
use crate::input::Input;
use crate::record::RecordParser;
use crate::select::Selection;

/// What to do with a line that is not a JSON object (or is too long).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop with an error naming the line.
    #[default]
    Fail,
    /// Skip it, count it, and record it when an errors output is given.
    Skip,
}

impl Summary {
    /// Adds what a decoder counted (entries and bytes).
    pub(crate) fn add_decoded(&mut self, counted: &Summary) {
        self.entries += counted.entries;
        self.bytes_in += counted.bytes_in;
        self.bytes_decoded += counted.bytes_decoded;
    }

    /// The writer's counts (these) with the decoder's, timed from `started`.
    fn with_decoded(mut self, decoded: &Summary, started: Instant) -> Summary {
        self.inputs = decoded.inputs;
        self.add_decoded(decoded);
        self.elapsed = started.elapsed();
        self
    }
}

/// How the pipeline runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads for parse and select, and threads inflating a zip file's
    /// entries side by side; 1 runs the whole pipeline on the calling thread.
    pub jobs: usize,
    /// Longest line accepted (`--max-line-bytes`).
    pub max_line_bytes: usize,
    /// Target size of a block of lines.
    pub block_bytes: usize,
    /// Size of each read from an input.
    pub read_bytes: usize,
    pub on_error: OnError,
    /// `--where`; `None` keeps every record.
    pub filter: Option<Filter>,
    /// Skip lines (and blocks) that lack the literals `--where` implies, before
    /// parsing them ([`crate::filter::Prefilter`]); `--no-prefilter` turns it off.
    pub prefilter: bool,
    /// `--select`; `None` passes records through byte for byte.
    pub selection: Option<Selection>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: crate::cpus::default_jobs(),
            max_line_bytes: 16 << 20,
            block_bytes: 512 << 10,
            read_bytes: 256 << 10,
            on_error: OnError::Fail,
            filter: None,
            prefilter: true,
            selection: None,
        }
    }
}

/// Counts of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub inputs: u64,
    pub entries: u64,
    /// Bytes read from the inputs (compressed).
    pub bytes_in: u64,
    /// Bytes of NDJSON after decompression.
    pub bytes_decoded: u64,
    /// Non-blank lines.
    pub rows_read: u64,
    pub rows_written: u64,
    /// Valid rows that `--where` left out.
    pub rows_filtered: u64,
    /// Bad lines skipped under [`OnError::Skip`].
    pub rows_skipped: u64,
    pub elapsed: Duration,
}

/// A skipped line, as recorded in `--errors-to`.
#[derive(Debug, Clone)]
pub struct BadLine {
    pub place: LinePlace,
    pub error: String,
    pub text: Vec<u8>,
}

/// Receives each skipped line, in input order.
pub type BadLineSink<'a> = &'a mut dyn FnMut(&BadLine) -> Result<()>;

/// What a worker sends the writer: a block's place and what became of it.
type Out<B> = (Seq, bool, bool, Result<OutBlock<B>>);

/// What a worker made of a block.
#[derive(Debug)]
struct OutBlock<B> {
    data: B,
    rows_read: u64,
    rows_written: u64,
    rows_filtered: u64,
    bad: Vec<BadLine>,
}

/// Runs the pipeline over `inputs`, writing NDJSON (`options.selection` applied) to
/// `out` and skipped lines to `bad_lines` (when given). Returns the counts; on error,
/// what was written before the error is complete lines in input order.
pub fn run(
    inputs: &[Input],
    options: &Options,
    out: &mut dyn Write,
    bad_lines: Option<BadLineSink<'_>>,
) -> Result<Summary> {
    run_ndjson_through(options, out, |make_encoder, sink| {
        run_with(inputs, options, make_encoder, sink, bad_lines)
    })
}

/// The NDJSON encoders and sink of [`run`], handed to `runner`, which runs the
/// pipeline with them ([`run_with`], or a wrapper that adds to each block); then
/// `out` is flushed.
pub fn run_ndjson_through(
    options: &Options,
    out: &mut dyn Write,
    runner: impl FnOnce(&(dyn Fn() -> NdjsonEncoder + Sync), &mut dyn Sink<Vec<u8>>) -> Result<Summary>,
) -> Result<Summary> {
    let selection = options.selection.clone().map(Arc::new);
    // Output buffers go round between the writer and the workers, as input blocks do.
    let recycler = Recycler::new(4 * options.jobs.max(1) + 4);
    let make_encoder = {
        let recycler = recycler.clone();
        move || NdjsonEncoder::new(selection.clone()).recycling(recycler.clone())
    };
    let summary = runner(&make_encoder, &mut WriteSink::new(out, Some(recycler)))?;
    out.flush()
        .map_err(|e| Error::io(crate::encode::WRITE_FAILED, e))?;
    Ok(summary)
}

/// Runs the pipeline with any output format: `make_encoder` gives each worker its
/// [`Encoder`]; `sink` receives the encoded blocks in input order.
pub fn run_with<E: Encoder>(
    inputs: &[Input],
    options: &Options,
    make_encoder: &(dyn Fn() -> E + Sync),
    sink: &mut dyn Sink<E::Block>,
    mut bad_lines: Option<BadLineSink<'_>>,
) -> Result<Summary> {
    let started = Instant::now();
    let jobs = options.jobs.max(1);
    if jobs == 1 {
        return run_on_one_thread(inputs, options, make_encoder, sink, bad_lines);
    }
    let (block_tx, block_rx) = bounded::<Block>(2 * jobs);
    let (out_tx, out_rx) = bounded::<Out<E::Block>>(2 * jobs);
    let gate = ReadAhead::new(4 * jobs + 8);
    // Enough buffers for every block that can be in flight at once.
    let recycler = Recycler::new(8 * jobs + 8);

    let (decoded, written) = std::thread::scope(|scope| {
        let gate = &gate;
        let decoder = std::thread::Builder::new()
            .name("brazex-decode".into())
            .spawn_scoped(scope, {
                let recycler = recycler.clone();
                move || {
                    let route = Route {
                        blocks: block_tx,
                        gate,
                    };
                    let mut emit = |block: Block| route.send(block);
                    decode_all(inputs, options, &mut emit, Some(&route), &recycler)
                }
            })
            .map_err(|e| Error::io("cannot start a thread", e))?;
        let mut workers = Vec::with_capacity(jobs);
        for n in 0..jobs {
            let block_rx = block_rx.clone();
            let out_tx = out_tx.clone();
            let recycler = recycler.clone();
            let worker = std::thread::Builder::new()
                .name(format!("brazex-work-{n}"))
                .spawn_scoped(scope, move || {
                    work(options, make_encoder(), block_rx, out_tx, &recycler)
                })
                .map_err(|e| Error::io("cannot start a thread", e))?;
            workers.push(worker);
        }
        drop(block_rx);
        drop(out_tx);
        let written = write_in_order(out_rx, sink, &mut bad_lines, gate);
        // Decoders waiting for the writer must not wait for ever once it stopped.
        gate.close();
        let decoded = decoder
            .join()
            .unwrap_or(Err(Error::Internal("the decode thread panicked")));
        // Joined, not left to the scope: the scope returns once each closure has
        // returned, while its thread may still be running its thread-local destructors
        // (a caller that checks for leaks right after, as the fuzzer does, sees them).
        // The writer and the decoder are gone, so each worker's channels are closed.
        let mut workers_ok = true;
        for worker in workers {
            workers_ok &= worker.join().is_ok();
        }
        let written = match (written, workers_ok) {
            (Ok(_), false) => Err(Error::Internal("a worker thread panicked")),
            (written, _) => written,
        };
        Ok::<_, Error>((decoded, written))
    })?;
    // Every error reaches the writer in its place (a decoder's error as a block of
    // its own), so the writer's is the first in input order. The decoder's own
    // result is `Stopped` then; had the writer got no error, the decoder has none.
    let summary = written?;
    let decoded = decoded.map_err(|e| match e {
        Error::Stopped => Error::Internal("decoding stopped before the input ended"),
        e => e,
    })?;
    Ok(summary.with_decoded(&decoded, started))
}

/// A worker: parses and selects blocks until the input ends or the writer goes away.
fn work<E: Encoder>(
    options: &Options,
    mut encoder: E,
    blocks: Receiver<Block>,
    out: Sender<Out<E::Block>>,
    recycler: &Recycler,
) {
    let mut scratch = Scratch::new(options);
    // A worker goes on after a block that failed: an earlier block, on another
    // worker, may hold an earlier error, and only the writer, which meets them in
    // order, knows which is first. It stops when the writer does.
    for mut block in blocks {
        let (seq, last, ahead) = (block.seq, block.last, block.ahead);
        let result = match block.error.take() {
            Some(error) => Err(error),
            None => process_block(&mut block, options, &mut scratch, &mut encoder),
        };
        recycler.give(block.data);
        if out.send((seq, last, ahead, result)).is_err() {
            return;
        }
    }
}

/// `--jobs 1`: decode, parse, encode and write on the calling thread, block by block.
/// No channel, no reordering: blocks come in input order, and the one thread is all
/// the run uses (a Parquet sink still has its encoder thread).
fn run_on_one_thread<E: Encoder>(
    inputs: &[Input],
    options: &Options,
    make_encoder: &(dyn Fn() -> E + Sync),
    sink: &mut dyn Sink<E::Block>,
    mut bad_lines: Option<BadLineSink<'_>>,
) -> Result<Summary> {
    let started = Instant::now();
    let recycler = Recycler::new(2);
    let mut encoder = make_encoder();
    let mut scratch = Scratch::new(options);
    let mut summary = Summary::default();
    let mut emit = |mut block: Block| {
        if let Some(error) = block.error.take() {
            return Err(error);
        }
        cancel::check()?;
        let result = process_block(&mut block, options, &mut scratch, &mut encoder);
        recycler.give(block.data);
        write_block(result?, sink, &mut bad_lines, &mut summary)
    };
    let decoded = decode_all(inputs, options, &mut emit, None, &recycler)?;
    Ok(summary.with_decoded(&decoded, started))
}

/// A worker's buffers, reused from record to record.
#[derive(Debug, Default)]
struct Scratch {
    parser: RecordParser,
    filter: FilterScratch,
    /// The literal pre-check of `--where`, when it has one and it is on.
    prefilter: Option<Prefilter>,
}

impl Scratch {
    fn new(options: &Options) -> Scratch {
        Scratch {
            prefilter: options
                .filter
                .as_ref()
                .filter(|_| options.prefilter)
                .and_then(Filter::prefilter),
            ..Scratch::default()
        }
    }
}

/// Parses, filters and encodes one block. For an encoder whose rows are their lines
/// ([`Encoder::line_rows`]), lines are not copied while every line of the block is a
/// row as it is: the block itself becomes the output (its buffer swapped for one of
/// the encoder's), and only a block with a line that is not (blank, `\r`, filtered
/// out, skipped, or last without `\n`) is copied, from the first such line on.
fn process_block<E: Encoder>(
    block: &mut Block,
    options: &Options,
    scratch: &mut Scratch,
    encoder: &mut E,
) -> Result<OutBlock<E::Block>> {
    let Scratch {
        parser,
        filter,
        prefilter,
    } = scratch;
    let mut rows_read = 0;
    let mut rows_written = 0;
    let mut rows_filtered = 0;
    let mut bad = Vec::new();
    // No line of the block can match: count its rows and go (lines over the limit
    // would be cut by the framer or are reported below, so only check short blocks'
    // lines for length here).
    let block_cannot_match = prefilter
        .as_ref()
        .is_some_and(|p| !p.may_match(&block.data));
    let mut line_no = block.first_line;
    let mut start = 0;
    let data = &block.data;
    // Every line so far is a row as it is, in an encoder of such rows: nothing copied.
    let mut whole = encoder.line_rows().is_some();
    // The lines before `at` were rows as they are: copy them, and go on row by row.
    let copy_from_here = |whole: &mut bool, encoder: &mut E, at: usize| {
        if std::mem::take(whole) {
            if let Some(rows) = encoder.line_rows() {
                rows.push_lines(&data[..at]);
            }
        }
    };
    while start < data.len() {
        let line_start = start;
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let mut line = &data[start..end];
        let as_is = end < data.len() && line.last() != Some(&b'\r');
        start = end + 1;
        let this_line = line_no;
        line_no += 1;
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.first() != Some(&b'{') && line.iter().all(u8::is_ascii_whitespace) {
            copy_from_here(&mut whole, encoder, line_start);
            continue;
        }
        rows_read += 1;
        let place = || LinePlace {
            entry: block.entry.clone(),
            line: this_line,
        };
        let outcome = if line.len() > options.max_line_bytes {
            Err(Error::LineTooLong {
                place: place(),
                limit: options.max_line_bytes,
            })
        } else if block_cannot_match || prefilter.as_ref().is_some_and(|p| !p.may_match(line)) {
            copy_from_here(&mut whole, encoder, line_start);
            rows_filtered += 1;
            continue;
        } else {
            match parser.parse(line) {
                Ok(record) => {
                    if let Some(expr) = &options.filter {
                        if !expr.matches(&record, filter) {
                            copy_from_here(&mut whole, encoder, line_start);
                            rows_filtered += 1;
                            continue;
                        }
                    }
                    if whole && as_is {
                        // The row is the line, where it is.
                        Ok(())
                    } else {
                        copy_from_here(&mut whole, encoder, line_start);
                        encoder.row(&record, &place)
                    }
                }
                Err(e) => Err(Error::InvalidJson {
                    place: place(),
                    message: e.to_string(),
                }),
            }
        };
        match outcome {
            Ok(()) => rows_written += 1,
            Err(e) if options.on_error == OnError::Skip && e.is_skippable() => {
                copy_from_here(&mut whole, encoder, line_start);
                bad.push(BadLine {
                    place: place(),
                    error: e.to_string(),
                    text: line.to_vec(),
                })
            }
            Err(e) => {
                // The run ends at this error, but a worker is handed later blocks
                // until the writer gets here: the rows the encoder holds of this
                // block go now, or the next block would start with them (and a block
                // handed over whole finds its encoder not empty).
                drop(encoder.finish_block());
                return Err(e);
            }
        }
    }
    let data = match encoder.line_rows() {
        Some(rows) if whole && !block.data.is_empty() => {
            let (out, spare) = rows.take_lines(std::mem::take(&mut block.data));
            // The caller gives the block's buffer back to the framers: this one.
            block.data = spare;
            out
        }
        _ => encoder.finish_block(),
    };
    Ok(OutBlock {
        data,
        rows_read,
        rows_written,
        rows_filtered,
        bad,
    })
}

/// Writes the workers' blocks in sequence order: unit by unit, block by block.
fn write_in_order<B>(
    results: Receiver<Out<B>>,
    sink: &mut dyn Sink<B>,
    bad_lines: &mut Option<BadLineSink<'_>>,
    gate: &ReadAhead,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut waiting: BTreeMap<Seq, (bool, bool, Result<OutBlock<B>>)> = BTreeMap::new();
    let mut next = Seq::default();
    for (seq, last, ahead, result) in results {
        cancel::check()?;
        waiting.insert(seq, (last, ahead, result));
        while let Some((last, ahead, result)) = waiting.remove(&next) {
            if ahead {
                gate.release();
            }
            write_block(result?, sink, bad_lines, &mut summary)?;
            next = if last {
                gate.advance(next.unit + 1);
                Seq {
                    unit: next.unit + 1,
                    index: 0,
                }
            } else {
                Seq {
                    index: next.index + 1,
                    ..next
                }
            };
        }
    }
    Ok(summary)
}

/// Writes one processed block to the sink, its skipped lines to `bad_lines`, and
/// counts its rows.
fn write_block<B>(
    block: OutBlock<B>,
    sink: &mut dyn Sink<B>,
    bad_lines: &mut Option<BadLineSink<'_>>,
    summary: &mut Summary,
) -> Result<()> {
    sink.write_block(block.data, block.rows_written)?;
    summary.rows_read += block.rows_read;
    summary.rows_written += block.rows_written;
    summary.rows_filtered += block.rows_filtered;
    summary.rows_skipped += block.bad.len() as u64;
    if let Some(record) = bad_lines.as_mut() {
        for bad in &block.bad {
            record(bad)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::StreamInput;
    use crate::record::Record;

    /// Panics on its second row.
    struct Panics(u32);

    impl Encoder for Panics {
        type Block = ();

        fn row(&mut self, _: &Record<'_>, _: &dyn Fn() -> LinePlace) -> Result<()> {
            self.0 += 1;
            assert!(self.0 < 2, "the encoder's planned panic");
            Ok(())
        }

        fn finish_block(&mut self) {}
    }

    struct Discard;

    impl Sink<()> for Discard {
        fn write_block(&mut self, (): (), _rows: u64) -> Result<()> {
            Ok(())
        }
    }

    fn block(first_line: u64, data: &[u8]) -> Block {
        Block {
            seq: Seq::default(),
            last: false,
            ahead: false,
            entry: Arc::from("lines"),
            first_line,
            data: data.to_vec(),
            error: None,
        }
    }

    #[test]
    fn a_block_that_fails_leaves_no_row_to_the_next_one() {
        // A worker goes on after a block that failed (the writer decides which error
        // is first). Its encoder took the rows before the bad line (copied: a blank
        // line came before them); the next block, handed over whole, holds its own
        // lines and nothing of the failed one.
        let options = Options {
            jobs: 2,
            ..Options::default()
        };
        let mut scratch = Scratch::new(&options);
        let mut encoder = NdjsonEncoder::new(None);
        let mut failed = block(1, b"\n{\"a\":1}\n{\"a\":2}\n{\"a\":\n");
        let error = process_block(&mut failed, &options, &mut scratch, &mut encoder);
        assert!(
            matches!(&error, Err(Error::InvalidJson { place, .. }) if place.line == 4),
            "{:?}",
            error.err()
        );
        let mut next = block(5, b"{\"b\":1}\n{\"b\":2}\n");
        let out = process_block(&mut next, &options, &mut scratch, &mut encoder);
        let out = out.map(|o| (o.data, o.rows_written));
        assert_eq!(out.ok(), Some((b"{\"b\":1}\n{\"b\":2}\n".to_vec(), 2)));
        // And a block that is copied row by row (its last line has no newline).
        let mut failed = block(7, b"\n{\"a\":3}\n{\"a\":\n");
        assert!(process_block(&mut failed, &options, &mut scratch, &mut encoder).is_err());
        let mut next = block(10, b"{\"c\":1}");
        let out = process_block(&mut next, &options, &mut scratch, &mut encoder);
        let out = out.map(|o| (o.data, o.rows_written));
        assert_eq!(out.ok(), Some((b"{\"c\":1}\n".to_vec(), 1)));
    }

    #[test]
    fn a_worker_that_panics_is_an_error_of_the_run_not_a_panic_of_the_caller() {
        let lines = "{\"a\":1}\n".repeat(1000);
        let input = Input::Stream(StreamInput::new(
            "lines",
            Box::new(std::io::Cursor::new(lines.into_bytes())),
        ));
        let options = Options {
            jobs: 2,
            block_bytes: 64,
            ..Options::default()
        };
        let result = run_with(&[input], &options, &|| Panics(0), &mut Discard, None);
        assert!(
            matches!(result, Err(Error::Internal("a worker thread panicked"))),
            "{result:?}"
        );
    }
}
