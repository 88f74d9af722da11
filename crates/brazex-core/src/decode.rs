//! Reading and decoding the inputs into blocks of lines, on the decode side of the
//! pipeline: inputs side by side, and the entries of a zip file in parallel.
//!
//! A stream (stdin, an HTTP body, a pipe) is decoded front to back by one thread. A
//! zip *file*, or a zip behind a URL that answers ranged requests (a [`RangeSource`]),
//! can be read at random, so when there are several entries and several jobs, its
//! central directory gives each entry's byte range and `jobs` threads decode entries
//! side by side, each entry its own output unit: the writer still emits entry after
//! entry. Several inputs of any other kind (a folder of `.gz` files or single-entry
//! zips, the objects of a bucket export: Braze writes one archive per ~5,000 users)
//! are decoded side by side the same way, each input its own unit, so a bucket export
//! goes as fast as one zip. Units decoded ahead of the one being written are held
//! back by a [`ReadAhead`] bound, so memory stays bounded even when one is huge.

use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crossbeam_channel::Sender;

use crate::archive::{read_central_directory, CentralDirectory, Decoder, Format, ZipDecoder};
use crate::cancel;
use crate::error::{Error, Result};
use crate::frame::{Block, Framer, Recycler};
use crate::input::{FileRanges, Input, Opened, RangeSeek, RangeSource};
use crate::pipeline::{Options, Summary};

/// The workers' channel, under the read-ahead bound: where entries decoded in
/// parallel put their blocks.
pub(crate) struct Route<'a> {
    pub blocks: Sender<Block>,
    pub gate: &'a ReadAhead,
}

impl Route<'_> {
    /// Sends a block, waiting first if it would run too far ahead of the writer.
    pub(crate) fn send(&self, mut block: Block) -> Result<()> {
        block.ahead = self.gate.acquire(block.seq.unit)?;
        self.blocks.send(block).map_err(|_| Error::Stopped)
    }
}

/// Reads, decodes and frames every input in turn, handing blocks to `emit` in input
/// order; returns what it counted. With `parallel` (and `jobs` > 1), the entries of
/// a zip file are decoded side by side and their blocks go there instead. Blocks are
/// framed into buffers from `recycler`.
pub(crate) fn decode_all(
    inputs: &[Input],
    options: &Options,
    emit: &mut dyn FnMut(Block) -> Result<()>,
    parallel: Option<&Route<'_>>,
    recycler: &Recycler,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut next_unit = 0u64;
    let mut buf = vec![0u8; options.read_bytes.max(Format::SNIFF_LEN)];
    // Inputs waiting to be decoded side by side (with `parallel`), each a unit.
    let mut waiting: Vec<&Input> = Vec::new();
    for input in inputs {
        let label = input.label();
        // A zip that can be read at random (a file, or a URL answering ranged
        // requests) with several entries: its entries side by side.
        if let (Some(route), true) = (parallel, options.jobs > 1) {
            let source: Option<Arc<dyn RangeSource>> = match input {
                Input::File(path) => std::fs::File::open(path)
                    .and_then(|file| FileRanges::new(&file))
                    .ok()
                    .map(|ranges| Arc::new(ranges) as Arc<dyn RangeSource>),
                Input::Ranged(ranged) => Some(Arc::clone(ranged.source())),
                Input::Stdin | Input::Stream(_) => None,
            };
            let central = source.as_ref().and_then(|source| {
                ranged_zip_directory(source.as_ref()).filter(|central| central.len() > 1)
            });
            if let (Some(source), Some(central)) = (source, central) {
                decode_waiting(
                    &mut waiting,
                    &mut next_unit,
                    options,
                    route,
                    recycler,
                    &mut summary,
                )?;
                summary.inputs += 1;
                let counted = decode_entries_in_parallel(
                    source.as_ref(),
                    &label,
                    &central,
                    &mut next_unit,
                    options,
                    route,
                    recycler,
                )?;
                summary.add_decoded(&counted);
                continue;
            }
            // Stdin, and a stream that shares its source with the inputs before it,
            // are read in their turn, after those.
            let in_order = match input {
                Input::Stdin => true,
                Input::Stream(stream) => stream.is_in_order(),
                Input::File(_) | Input::Ranged(_) => false,
            };
            if !in_order {
                waiting.push(input);
                continue;
            }
        }
        if let Some(route) = parallel {
            decode_waiting(
                &mut waiting,
                &mut next_unit,
                options,
                route,
                recycler,
                &mut summary,
            )?;
        }
        summary.inputs += 1;
        let mut framer = Framer::new(options.block_bytes, options.max_line_bytes, emit)
            .recycling(recycler.clone());
        framer.set_input(label.clone());
        framer.start_unit(next_unit);
        next_unit += 1;
        match decode_stream(input, &label, &mut buf, &mut framer, &mut summary) {
            Ok(()) => {}
            Err(Error::Stopped) => return Err(Error::Stopped),
            // The error goes to the writer in its place; this side is done.
            Err(error) => {
                framer.fail(error)?;
                return Err(Error::Stopped);
            }
        }
        summary.entries += framer.entries;
        summary.bytes_decoded += framer.bytes;
    }
    if let Some(route) = parallel {
        decode_waiting(
            &mut waiting,
            &mut next_unit,
            options,
            route,
            recycler,
            &mut summary,
        )?;
    }
    Ok(summary)
}

/// Decodes the inputs `waiting` (taking them) side by side on up to `options.jobs`
/// threads, input `i` as unit `next_unit + i`, adding their counts to `summary`.
fn decode_waiting(
    waiting: &mut Vec<&Input>,
    next_unit: &mut u64,
    options: &Options,
    route: &Route<'_>,
    recycler: &Recycler,
    summary: &mut Summary,
) -> Result<()> {
    let inputs = std::mem::take(waiting);
    if inputs.is_empty() {
        return Ok(());
    }
    let first_unit = *next_unit;
    *next_unit += inputs.len() as u64;
    summary.inputs += inputs.len() as u64;
    let counted = side_by_side(inputs.len(), options, |index, buf| {
        decode_input(
            inputs[index],
            first_unit + index as u64,
            options,
            route,
            recycler,
            buf,
        )
    })?;
    summary.add_decoded(&counted);
    Ok(())
}

/// Decodes one whole input as a stream into unit `unit`, through `route`.
fn decode_input(
    input: &Input,
    unit: u64,
    options: &Options,
    route: &Route<'_>,
    recycler: &Recycler,
    buf: &mut [u8],
) -> Result<Summary> {
    let label = input.label();
    let mut send = |block: Block| route.send(block);
    let mut framer = Framer::new(options.block_bytes, options.max_line_bytes, &mut send)
        .recycling(recycler.clone());
    framer.set_input(label.clone());
    framer.start_unit(unit);
    let mut counted = Summary::default();
    match decode_stream(input, &label, buf, &mut framer, &mut counted) {
        Ok(()) => Ok(Summary {
            entries: framer.entries,
            bytes_decoded: framer.bytes,
            ..counted
        }),
        Err(Error::Stopped) => Err(Error::Stopped),
        // In its place, for the writer; the error returned only stops this side.
        Err(error) => framer.fail(error).and(Err(Error::Stopped)),
    }
}

/// Runs `task(i, buf)` for each `i` in `0..count` on up to `options.jobs` threads,
/// taking the next `i` as each finishes (each thread with its read buffer `buf`), and
/// sums what they counted. Once a task fails (its error went to the writer in its
/// place), no later one starts; those started run to their end. Returns
/// [`Error::Stopped`] then.
fn side_by_side(
    count: usize,
    options: &Options,
    task: impl Fn(usize, &mut [u8]) -> Result<Summary> + Sync,
) -> Result<Summary> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (mut started, mut spawn_error) = (0, None);
    let threads = options.jobs.min(count);
    let totals = Mutex::new(Summary::default());
    std::thread::scope(|scope| {
        for n in 0..threads {
            let (next, failed, totals, task) = (&next, &failed, &totals, &task);
            let spawned = std::thread::Builder::new()
                .name(format!("brazex-inflate-{n}"))
                .spawn_scoped(scope, move || {
                    let mut buf = vec![0u8; options.read_bytes.max(Format::SNIFF_LEN)];
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= count || failed.load(Ordering::Relaxed) {
                            return;
                        }
                        match task(index, &mut buf) {
                            Ok(counted) => {
                                if let Ok(mut totals) = totals.lock() {
                                    totals.add_decoded(&counted);
                                }
                            }
                            Err(_) => {
                                failed.store(true, Ordering::Relaxed);
                                return;
                            }
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => spawn_error = Some(Error::io("cannot start a thread", e)),
            }
        }
    });
    // The threads that did start take every task between them; with none, nothing
    // was decoded.
    if let (0, Some(error)) = (started, spawn_error) {
        return Err(error);
    }
    match failed.into_inner() {
        // Every error was sent to the writer in its place.
        true => Err(Error::Stopped),
        false => Ok(totals.into_inner().unwrap_or_default()),
    }
}

/// Reads, sniffs and decodes one input as a stream into `framer` (its unit started).
fn decode_stream(
    input: &Input,
    label: &Arc<str>,
    buf: &mut [u8],
    framer: &mut Framer<'_>,
    summary: &mut Summary,
) -> Result<()> {
    cancel::check()?;
    let mut reader = input.open()?;
    let read_err = |e| Error::io(format!("cannot read {label}"), e);
    // Sniff from the first bytes; a short read is not the end of the input.
    let mut filled = 0;
    while filled < Format::SNIFF_LEN {
        let n = reader.read(&mut buf[filled..]).map_err(read_err)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let format = Format::sniff(&buf[..filled]);
    let central = match (&mut reader, format) {
        (Opened::File(file), Format::Zip) => central_directory(file, filled as u64),
        _ => None,
    };
    let mut decoder = Decoder::new(format, label.clone(), central);
    decoder.feed(&buf[..filled], framer)?;
    summary.bytes_in += filled as u64;
    loop {
        cancel::check()?;
        let n = reader.read(buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        summary.bytes_in += n as u64;
        decoder.feed(&buf[..n], framer)?;
    }
    decoder.finish(framer)?;
    framer.finish_unit()
}

/// The central directory of a zip read by range, when the source is a zip and its
/// directory reads; otherwise the source is decoded as a stream.
fn ranged_zip_directory(source: &dyn RangeSource) -> Option<CentralDirectory> {
    let mut head = [0u8; Format::SNIFF_LEN];
    let want = usize::try_from(source.size()).map_or(head.len(), |n| n.min(head.len()));
    let mut reader = source.open_range(0..want as u64).ok()?;
    reader.read_exact(&mut head[..want]).ok()?;
    if Format::sniff(&head[..want]) != Format::Zip {
        return None;
    }
    read_central_directory(&mut RangeSeek::new(source)).ok()
}

/// Decodes the entries of a zip (a file, or a source read by range) on
/// `options.jobs` threads, entry `i` as unit `next_unit + i` (`next_unit` moves past
/// them). The first error in entry order is returned.
fn decode_entries_in_parallel(
    source: &dyn RangeSource,
    label: &std::sync::Arc<str>,
    central: &CentralDirectory,
    next_unit: &mut u64,
    options: &Options,
    route: &Route<'_>,
    recycler: &Recycler,
) -> Result<Summary> {
    let ranges = central.entry_ranges();
    let first_unit = *next_unit;
    *next_unit += ranges.len() as u64;
    side_by_side(ranges.len(), options, |index, buf| {
        let unit = first_unit + index as u64;
        decode_entry(
            source,
            label,
            central,
            &ranges[index],
            unit,
            options,
            route,
            recycler,
            buf,
        )
    })
}

/// Decodes the one entry in `range` of the zip into unit `unit`.
#[allow(clippy::too_many_arguments)]
fn decode_entry(
    source: &dyn RangeSource,
    label: &std::sync::Arc<str>,
    central: &CentralDirectory,
    range: &std::ops::Range<u64>,
    unit: u64,
    options: &Options,
    route: &Route<'_>,
    recycler: &Recycler,
    buf: &mut [u8],
) -> Result<Summary> {
    let mut send = |block: Block| route.send(block);
    let mut framer = Framer::new(options.block_bytes, options.max_line_bytes, &mut send)
        .recycling(recycler.clone());
    framer.set_input(label.clone());
    framer.start_unit(unit);
    let mut at = range.start;
    let result = (|| {
        cancel::check()?;
        let mut decoder =
            ZipDecoder::single_entry(label.clone(), Some(central.clone()), range.start);
        let read_err = |e| Error::io(format!("cannot read {label}"), e);
        let mut reader = source.open_range(range.clone()).map_err(read_err)?;
        while at < range.end && !decoder.is_done() {
            cancel::check()?;
            let n = reader.read(buf).map_err(read_err)?;
            if n == 0 {
                break;
            }
            decoder.feed(&buf[..n], &mut framer)?;
            at += n as u64;
        }
        decoder.finish(&mut framer)?;
        framer.finish_unit()
    })();
    match result {
        Ok(()) => Ok(Summary {
            entries: framer.entries,
            bytes_in: at - range.start,
            bytes_decoded: framer.bytes,
            ..Summary::default()
        }),
        Err(Error::Stopped) => Err(Error::Stopped),
        // In its place, for the writer; the error returned only stops this side.
        Err(error) => framer.fail(error).and(Err(Error::Stopped)),
    }
}

/// Reads a zip file's central directory and puts the file back where it was.
/// A damaged directory is not an error here: the stream decoder reports the damage
/// it meets, with its place, and only stored entries with descriptors need this.
fn central_directory(file: &mut std::fs::File, position: u64) -> Option<CentralDirectory> {
    let central = read_central_directory(file).ok();
    file.seek(SeekFrom::Start(position)).ok()?;
    central
}

/// Bounds how far decoding may run ahead of the writer.
///
/// The writer emits units in order. Blocks of the unit it is writing (the head) always
/// go through — the writer is waiting for them — but blocks of later units count
/// against `limit` until written: a decoder past the limit waits until the head moves
/// or blocks are written. So parallel decoding never buffers more than `limit` blocks
/// ahead, and cannot deadlock, since the head's decoder never waits.
#[derive(Debug)]
pub(crate) struct ReadAhead {
    state: Mutex<GateState>,
    changed: Condvar,
    limit: usize,
}

#[derive(Debug, Default)]
struct GateState {
    head: u64,
    ahead: usize,
    closed: bool,
}

impl ReadAhead {
    pub(crate) fn new(limit: usize) -> ReadAhead {
        ReadAhead {
            state: Mutex::new(GateState::default()),
            changed: Condvar::new(),
            limit: limit.max(1),
        }
    }

    /// Waits until a block of `unit` may be sent; true when it counts as ahead.
    fn acquire(&self, unit: u64) -> Result<bool> {
        let mut state = self.state.lock().map_err(|_| Error::Stopped)?;
        loop {
            if state.closed {
                // Nothing waits for these blocks any more; let them through (or fail
                // at the closed channel) rather than wait.
                return Ok(false);
            }
            if unit <= state.head {
                return Ok(false);
            }
            if state.ahead < self.limit {
                state.ahead += 1;
                return Ok(true);
            }
            state = self.changed.wait(state).map_err(|_| Error::Stopped)?;
        }
    }

    /// A block that counted as ahead was written.
    pub(crate) fn release(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.ahead = state.ahead.saturating_sub(1);
        }
        self.changed.notify_all();
    }

    /// The writer moved on to `unit`.
    pub(crate) fn advance(&self, unit: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.head = unit;
        }
        self.changed.notify_all();
    }

    /// Nobody will write any more: release every waiting decoder.
    pub(crate) fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
        }
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    use crate::input::{Input, StreamInput};
    use crate::pipeline::{run, Options};

    /// A stream that logs when it is first read and when it ends.
    struct Logged {
        name: &'static str,
        data: std::io::Cursor<Vec<u8>>,
        log: Arc<Mutex<Vec<String>>>,
        started: bool,
    }

    impl Read for Logged {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let mut log = self.log.lock().expect("log");
            if !self.started {
                self.started = true;
                log.push(format!("{} starts", self.name));
            }
            // One byte at a time, so that streams read side by side interleave.
            let one = buf.len().min(1);
            let n = self.data.read(&mut buf[..one])?;
            if n == 0 {
                log.push(format!("{} ends", self.name));
            }
            Ok(n)
        }
    }

    fn streams(in_order: bool, log: &Arc<Mutex<Vec<String>>>) -> Vec<Input> {
        ["a", "b", "c"]
            .into_iter()
            .map(|name| {
                let text = format!("{{\"id\":\"{name}1\"}}\n{{\"id\":\"{name}2\"}}\n");
                let reader = Box::new(Logged {
                    name,
                    data: std::io::Cursor::new(text.into_bytes()),
                    log: log.clone(),
                    started: false,
                });
                Input::Stream(match in_order {
                    true => StreamInput::in_order(name, reader),
                    false => StreamInput::new(name, reader),
                })
            })
            .collect()
    }

    #[test]
    fn streams_in_order_are_read_one_after_the_other_and_rows_keep_input_order() {
        let options = Options {
            jobs: 3,
            ..Options::default()
        };
        let want = b"{\"id\":\"a1\"}\n{\"id\":\"a2\"}\n{\"id\":\"b1\"}\n{\"id\":\"b2\"}\n{\"id\":\"c1\"}\n{\"id\":\"c2\"}\n";
        for in_order in [true, false] {
            let log = Arc::new(Mutex::new(Vec::new()));
            let mut out = Vec::new();
            run(&streams(in_order, &log), &options, &mut out, None).expect("runs");
            assert_eq!(out, want, "rows in input order either way");
            let log = log.lock().expect("log").clone();
            if in_order {
                assert_eq!(
                    log,
                    ["a starts", "a ends", "b starts", "b ends", "c starts", "c ends"]
                );
            } else {
                assert_eq!(log.len(), 6);
            }
        }
    }
}
