//! The entry functions of brazex's fuzz targets: one per parser of untrusted bytes.
//!
//! Every archive, line and expression brazex reads comes from outside. Each function
//! here takes arbitrary bytes, runs one parser on them, and asserts what must hold
//! whatever the bytes are: no panic, and where a second, independent answer exists,
//! the same answer (the same decode in any chunking, the same verdict on a line as
//! serde_json, no row the `--where` pre-check drops that the expression keeps).
//!
//! The same functions run in three places: under libFuzzer (`cargo +nightly fuzz run
//! TARGET`, the binaries in `fuzz_targets/`), as small replay programs on stable
//! (`cargo run -p brazex-fuzz --bin TARGET -- FILE|DIR…`), and in `cargo test`, which
//! replays every committed corpus (`corpus/TARGET/`, seeded from `fixtures/`) so CI on
//! stable checks every input the fuzzers kept, and every regression found.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use brazex_core::archive::{read_central_directory, Decoder, EntrySink, Format, ZipDecoder};
use brazex_core::delimited::CsvEncoder;
use brazex_core::encode::{Encoder, NdjsonEncoder, Sink};
use brazex_core::error::{Error, LinePlace, Result};
use brazex_core::filter::{Filter, FilterScratch};
use brazex_core::frame::{Block, Framer};
use brazex_core::input::{Input, StreamInput};
use brazex_core::path::{parse_select, parse_select_pinned};
use brazex_core::pipeline::{run_with, BadLine, OnError, Options};
use brazex_core::record::{Record, RecordParser};
use brazex_core::select::Selection;
use brazex_core::table::Plan;
use brazex_parquet::{Codec, ParquetEncoder};

/// Decompressed bytes an entry keeps for comparison; the rest is only counted, so a
/// small input that inflates to a lot stays cheap.
const KEEP_BYTES: usize = 1 << 20;

/// Real user lines (the fixtures' sources), for the targets that run an expression or
/// a selection on records.
const RECORDS: &[&str] = &[
    include_str!("../../fixtures/source/users-000.txt"),
    include_str!("../../fixtures/source/users-001.txt"),
    include_str!("../../fixtures/source/users-002.txt"),
];

/// The zip stream decoder: the same input fed whole and in uneven chunks (sizes drawn
/// from the first byte) decodes to the same entries, or fails with the same error.
pub fn zip_stream(data: &[u8]) {
    same_decode_in_any_chunking(Format::Zip, data);
}

/// gzip (one or more members): the same as [`zip_stream`].
pub fn gzip(data: &[u8]) {
    same_decode_in_any_chunking(Format::Gzip, data);
}

fn same_decode_in_any_chunking(format: Format, data: &[u8]) {
    let Some((&seed, bytes)) = data.split_first() else {
        return;
    };
    let whole = decode(format, bytes, &mut Chunks::whole());
    let pieces = decode(format, bytes, &mut Chunks::uneven(seed));
    assert_eq!(whole, pieces, "chunking seed {seed}");
}

/// The central-directory reader, and the entry-by-entry decode it drives (zip files
/// and ranged downloads decode each entry from the directory's ranges): no panic on
/// any directory, and the stream decoder with the directory at hand neither.
pub fn central_directory(data: &[u8]) {
    let Ok(central) = read_central_directory(&mut std::io::Cursor::new(data)) else {
        return;
    };
    let input: Arc<str> = Arc::from("fuzz.zip");
    for range in central.entry_ranges() {
        let start = usize::try_from(range.start).unwrap_or(usize::MAX);
        let end = usize::try_from(range.end).unwrap_or(usize::MAX);
        let Some(bytes) = data.get(start.min(end)..end.min(data.len())) else {
            continue;
        };
        let mut decoder =
            ZipDecoder::single_entry(input.clone(), Some(central.clone()), range.start);
        let mut sink = Collect::default();
        let _ = decoder
            .feed(bytes, &mut sink)
            .and_then(|()| decoder.finish(&mut sink));
    }
    let mut decoder = Decoder::new(Format::Zip, input, Some(central));
    let mut sink = Collect::default();
    let _ = decoder
        .feed(data, &mut sink)
        .and_then(|()| decoder.finish(&mut sink));
}

/// The framer: blocks hold whole lines, give back exactly the bytes fed (in any
/// chunking and block size), number their lines right, and only a line longer than
/// the limit is an error; the same whether the bytes are handed over
/// ([`EntrySink::data`]) or written into the framer's lent buffer, as the decoders
/// inflate them ([`EntrySink::buffer`]; its blocks may run past the block size, up to
/// the buffer's capacity).
pub fn framer(data: &[u8]) {
    let [a, b, seed, bytes @ ..] = data else {
        return;
    };
    let block_bytes = 1 + usize::from(*a % 64);
    let max_line = 1 + usize::from(*b % 128);
    let longest = bytes
        .split(|&c| c == b'\n')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    for lend in [false, true] {
        let (result, blocks) = frame(bytes, block_bytes, max_line, *seed, lend);
        match result {
            Err(Error::LineTooLong { limit, .. }) => {
                assert_eq!(limit, max_line);
                assert!(longest > max_line, "only an over-long line is an error");
            }
            Err(e) => panic!("unexpected framer error: {e}"),
            Ok(()) => {
                let joined: Vec<u8> = blocks.iter().flat_map(|b| b.data.iter().copied()).collect();
                assert_eq!(
                    joined, bytes,
                    "blocks give back the bytes fed (lent: {lend})"
                );
                let mut line = 1;
                for (i, block) in blocks.iter().enumerate() {
                    assert_eq!(block.first_line, line, "block {i}'s first line");
                    line += block.data.iter().filter(|&&c| c == b'\n').count() as u64;
                    if i + 1 < blocks.len() {
                        assert!(
                            block.data.ends_with(b"\n"),
                            "only the last block may end mid-line"
                        );
                    }
                }
            }
        }
    }
}

/// Frames `bytes` as one entry in uneven chunks (drawn from `seed`), handed over with
/// `data` or, with `lend`, written into the framer's buffer as far as it has room.
fn frame(
    bytes: &[u8],
    block_bytes: usize,
    max_line: usize,
    seed: u8,
    lend: bool,
) -> (Result<(), Error>, Vec<Block>) {
    let mut blocks: Vec<Block> = Vec::new();
    let mut emit = |block: Block| {
        blocks.push(block);
        Ok(())
    };
    let mut framer = Framer::new(block_bytes, max_line, &mut emit);
    framer.set_input(Arc::from("fuzz"));
    let mut chunks = Chunks::uneven(seed);
    let result = framer.start_entry(None).and_then(|()| {
        let mut rest = bytes;
        while !rest.is_empty() {
            let mut n = chunks.next_len().min(rest.len());
            if lend {
                let buffer = framer.buffer().expect("the framer lends its buffer");
                // What inflate's `decompress_vec` does: write into the room, never grow.
                n = n.min(buffer.capacity() - buffer.len());
                assert!(n > 0, "a lent buffer has room");
                buffer.extend_from_slice(&rest[..n]);
                framer.appended(n)?;
            } else {
                framer.data(&rest[..n])?;
            }
            rest = &rest[n..];
        }
        framer.end_entry()
    });
    drop(framer);
    (result, blocks)
}

/// NDJSON pass-through, differentially. The pipeline hands an encoder whose rows are
/// their input lines ([`Encoder::line_rows`]) a block whose lines are all rows as they
/// are whole, and copies a block's lines only from the first one that is not; the
/// same run through the same encoder row by row (its `line_rows` hidden) must write
/// the same bytes, count the same rows, report the same skipped lines and fail with the
/// same error. Knobs from the first three bytes (block size, line limit, read size,
/// `--jobs`, `--on-error`, a `--where` with or without its pre-check); the rest is the
/// input, as a stream.
pub fn pass_through(data: &[u8]) {
    let [a, b, c, bytes @ ..] = data else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let filter = match (c >> 3) & 3 {
        0 => None,
        1 => Some(r#"country == "US""#),
        2 => Some("n > 1"),
        _ => Some(r#"not exists(x) or x != "a""#),
    }
    .map(|text| Filter::parse_at(text, now).expect("the target's expressions parse"));
    let options = Options {
        jobs: 1 + usize::from(c & 1),
        block_bytes: 1 + usize::from(*a) * 64,
        max_line_bytes: 1 + usize::from(*b) * 64,
        read_bytes: 1 + usize::from(c >> 5) * 37,
        on_error: if c & 2 != 0 {
            OnError::Skip
        } else {
            OnError::Fail
        },
        filter,
        prefilter: c & 4 != 0,
        selection: None,
    };
    let whole = pass(bytes, &options, || NdjsonEncoder::new(None));
    let by_row = pass(bytes, &options, || RowByRow(NdjsonEncoder::new(None)));
    assert_eq!(whole, by_row, "whole blocks and row by row differ");
}

/// What a pass-through run gave: its counts or error, the bytes written, the lines
/// skipped (place, error, text).
type Passed = (
    std::result::Result<[u64; 5], String>,
    Vec<u8>,
    Vec<(String, String, Vec<u8>)>,
);

fn pass<E: Encoder<Block = Vec<u8>>>(
    bytes: &[u8],
    options: &Options,
    make_encoder: impl Fn() -> E + Sync,
) -> Passed {
    let input = Input::Stream(StreamInput::new(
        "fuzz",
        Box::new(std::io::Cursor::new(bytes.to_vec())),
    ));
    let mut sink = Written(Vec::new());
    let mut skipped = Vec::new();
    let mut keep = |bad: &BadLine| {
        skipped.push((bad.place.to_string(), bad.error.clone(), bad.text.clone()));
        Ok(())
    };
    let result = run_with(&[input], options, &make_encoder, &mut sink, Some(&mut keep));
    let counts = result
        .map(|s| {
            [
                s.bytes_decoded,
                s.rows_read,
                s.rows_written,
                s.rows_filtered,
                s.rows_skipped,
            ]
        })
        .map_err(|e| e.to_string());
    (counts, sink.0, skipped)
}

/// The NDJSON encoder without its whole-block path: every row copied on its own.
struct RowByRow(NdjsonEncoder);

impl Encoder for RowByRow {
    type Block = Vec<u8>;

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        self.0.row(record, place)
    }

    fn finish_block(&mut self) -> Vec<u8> {
        self.0.finish_block()
    }
}

/// A sink that keeps every block's bytes, in order.
struct Written(Vec<u8>);

impl Sink<Vec<u8>> for Written {
    fn write_block(&mut self, block: Vec<u8>, _rows: u64) -> Result<()> {
        self.0.extend_from_slice(&block);
        Ok(())
    }
}

/// Line validation, differentially: brazex accepts a line exactly when serde_json
/// reads it as one JSON object (up to serde_json's nesting limit, which is lower than
/// ours), and a value it accepts re-reads to the same JSON.
pub fn json_line(data: &[u8]) {
    let mut parser = RecordParser::default();
    let ours = parser.parse(data);
    // serde_json stops at 128 levels, brazex at 1024: compare below both.
    if nesting(data) >= 120 {
        return;
    }
    // serde_json's grammar (skipping values, so a number beyond f64 is valid JSON,
    // as for us), plus the one rule it checks only when it keeps a string: `\u`
    // escapes of surrogates come in pairs.
    let serde = std::str::from_utf8(data).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok()
        && surrogates_paired(data)
        && data
            .iter()
            .find(|c| !c.is_ascii_whitespace())
            .is_some_and(|&c| c == b'{');
    match ours {
        Ok(record) => {
            assert!(serde, "brazex accepted what serde_json rejects");
            // Every value's raw text is itself valid JSON.
            let root = record.root();
            for (_, value) in root.fields() {
                let raw = value.raw();
                assert!(
                    serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_ok(),
                    "a value's raw text is JSON: {}",
                    String::from_utf8_lossy(raw)
                );
            }
        }
        Err(e) => assert!(!serde, "brazex rejected what serde_json accepts: {e}"),
    }
}

/// `--select` and typed `--select` (`path:type`): any text parses or is a syntax error
/// (never a panic); a selection that parses writes a valid JSON object for every
/// record.
pub fn select(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_select_pinned(text);
    let Ok(items) = parse_select(text) else {
        return;
    };
    let selection = Selection::new(&items);
    let mut parser = RecordParser::default();
    let mut slots = Vec::new();
    for line in records() {
        let Ok(record) = parser.parse(line.as_bytes()) else {
            continue;
        };
        let mut out = Vec::new();
        selection.write(&record, &mut slots, &mut out);
        let value: serde_json::Value = match serde_json::from_slice(&out) {
            Ok(v) => v,
            Err(e) => panic!(
                "selected output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out)
            ),
        };
        assert!(value.is_object(), "selected output is an object");
    }
}

/// `--where`: any text parses or is a syntax error; an expression that parses runs on
/// every record, and its literal pre-check never drops a line the expression keeps.
pub fn r#where(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let Ok(filter) = Filter::parse_at(text, now) else {
        return;
    };
    let _ = filter.warnings();
    let prefilter = filter.prefilter();
    let mut parser = RecordParser::default();
    let mut scratch = FilterScratch::default();
    for line in records() {
        let Ok(record) = parser.parse(line.as_bytes()) else {
            continue;
        };
        let keeps = filter.matches(&record, &mut scratch);
        if let Some(pre) = &prefilter {
            if keeps {
                assert!(
                    pre.may_match(line.as_bytes()),
                    "the pre-check dropped a line that `{text}` keeps: {line}"
                );
            }
        }
    }
}

/// Typed conversion of any JSON line to the Parquet columns (the whole user object
/// and `--tables`) and to CSV: a value that does not fit is a column error naming its
/// place, never a panic, and an encoder that refused a row still encodes the next.
pub fn typed(data: &[u8]) {
    let mut parser = RecordParser::default();
    let Ok(record) = parser.parse(data) else {
        return;
    };
    let place = || LinePlace {
        entry: Arc::from("fuzz"),
        line: 1,
    };
    let good = RECORDS[0]
        .lines()
        .next()
        .unwrap_or("{}")
        .as_bytes()
        .to_vec();
    let mut good_parser = RecordParser::default();
    for plan in [Plan::full_object(), Plan::normalized()] {
        let plan = Arc::new(plan);
        let mut parquet = ParquetEncoder::new(plan.clone());
        let mut csv = CsvEncoder::new(plan);
        check_row(parquet.row(&record, &place));
        check_row(csv.row(&record, &place));
        // The encoders go on after this row, whatever became of it.
        if let Ok(next) = good_parser.parse(&good) {
            check_row(parquet.row(&next, &place));
            check_row(csv.row(&next, &place));
        }
        drop(parquet.finish_block());
        drop(csv.finish_block());
    }
}

/// brazex's Parquet column writer against parquet-rs's on any lines: the first byte
/// chooses the codec, the block and row group sizes (small, so rows cross blocks and
/// row groups) and the plan (a selection of every type with lists of lists, or by the
/// number of lines the whole user object or `--tables`); the rest is NDJSON. Both files must read back the same rows
/// with the same statistics (`brazex_parquet::oracle`).
pub fn parquet_writer(data: &[u8]) {
    let Some((&knobs, lines)) = data.split_first() else {
        return;
    };
    let lines: Vec<&[u8]> = lines.split(|&b| b == b'\n').take(64).collect();
    let codec = match knobs & 3 {
        0 => Codec::Zstd,
        1 => Codec::Snappy,
        2 => Codec::Gzip,
        _ => Codec::None,
    };
    let block = 1 + usize::from((knobs >> 2) & 7);
    let group_rows = 1 + usize::from((knobs >> 5) & 3) * 3;
    let plan = match (knobs & 0x80 != 0, lines.len() % 2) {
        (true, _) => brazex_parquet::oracle::every_type(),
        (false, 0) => Plan::full_object(),
        (false, _) => Plan::normalized(),
    };
    brazex_parquet::oracle::same_as_parquet_rs(plan, &lines, block, group_rows, codec);
}

fn check_row(result: Result<()>) {
    if let Err(e) = result {
        assert!(
            matches!(e, Error::Column { .. }),
            "a typed row fails only with a column error: {e}"
        );
        assert!(e.to_string().starts_with("fuzz:1: column "), "{e}");
    }
}

fn records() -> impl Iterator<Item = &'static str> {
    RECORDS
        .iter()
        .flat_map(|text| text.lines())
        .filter(|l| !l.trim().is_empty())
}

/// True when every `\uD800`–`\uDBFF` escape in `data` is followed by a
/// `\uDC00`–`\uDFFF` one, and no low surrogate stands alone.
fn surrogates_paired(data: &[u8]) -> bool {
    let hex = |at: usize| -> Option<u32> {
        let digits = data.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let (mut at, mut in_string) = (0, false);
    while at < data.len() {
        match (in_string, data[at]) {
            (false, b'"') => in_string = true,
            (true, b'"') => in_string = false,
            (true, b'\\') if data.get(at + 1) == Some(&b'u') => {
                let Some(unit) = hex(at + 2) else {
                    return true; // a bad escape: the grammar check says no already
                };
                if (0xDC00..0xE000).contains(&unit) {
                    return false;
                }
                if (0xD800..0xDC00).contains(&unit) {
                    let low = (data.get(at + 6..at + 8) == Some(b"\\u"))
                        .then(|| hex(at + 8))
                        .flatten();
                    if !low.is_some_and(|l| (0xDC00..0xE000).contains(&l)) {
                        return false;
                    }
                    at += 6;
                }
                at += 6;
                continue;
            }
            (true, b'\\') => at += 1,
            _ => {}
        }
        at += 1;
    }
    true
}

/// Brackets open at the deepest point, counting outside strings.
fn nesting(data: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &c in data {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// What a decode gave: each entry's name, kept bytes and total length, or the error.
type Decoded = std::result::Result<Vec<(Option<String>, Vec<u8>, u64)>, String>;

fn decode(format: Format, bytes: &[u8], chunks: &mut Chunks) -> Decoded {
    let mut decoder = Decoder::new(format, Arc::from("fuzz.input"), None);
    let mut sink = Collect::default();
    let mut rest = bytes;
    let result = (|| {
        while !rest.is_empty() {
            let n = chunks.next_len().min(rest.len());
            decoder.feed(&rest[..n], &mut sink)?;
            rest = &rest[n..];
        }
        decoder.finish(&mut sink)
    })();
    match result {
        Ok(()) => {
            assert!(!sink.open, "an entry was left open");
            Ok(sink.entries)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Collects entries as an [`EntrySink`], keeping at most [`KEEP_BYTES`] of each.
#[derive(Debug, Default)]
struct Collect {
    entries: Vec<(Option<String>, Vec<u8>, u64)>,
    open: bool,
}

impl EntrySink for Collect {
    fn start_entry(&mut self, name: Option<&str>) -> Result<()> {
        assert!(!self.open, "an entry starts inside another");
        self.open = true;
        self.entries.push((name.map(str::to_string), Vec::new(), 0));
        Ok(())
    }

    fn data(&mut self, bytes: &[u8]) -> Result<()> {
        assert!(self.open, "data outside an entry");
        if let Some((_, kept, total)) = self.entries.last_mut() {
            let room = KEEP_BYTES.saturating_sub(kept.len());
            kept.extend_from_slice(&bytes[..room.min(bytes.len())]);
            *total += bytes.len() as u64;
        }
        Ok(())
    }

    fn end_entry(&mut self) -> Result<()> {
        assert!(self.open, "an entry ends that never started");
        self.open = false;
        Ok(())
    }
}

/// Chunk sizes to feed a decoder: the whole input at once, or uneven sizes from 1 to
/// 4 KiB drawn from a seed.
#[derive(Debug)]
struct Chunks {
    state: Option<u32>,
}

impl Chunks {
    fn whole() -> Chunks {
        Chunks { state: None }
    }

    fn uneven(seed: u8) -> Chunks {
        Chunks {
            state: Some(0x9e37_79b9 ^ u32::from(seed).wrapping_mul(0x85eb_ca6b) | 1),
        }
    }

    fn next_len(&mut self) -> usize {
        let Some(state) = self.state.as_mut() else {
            return usize::MAX;
        };
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        // Mostly tiny pieces, to land on every boundary; now and then a large one.
        match *state % 8 {
            0 => 1 + (*state >> 8) as usize % 4096,
            _ => 1 + (*state >> 8) as usize % 16,
        }
    }
}

/// Runs `target` on every file under `dir` (its corpus), in name order; returns how
/// many inputs it ran.
pub fn replay_dir(dir: &Path, target: fn(&[u8])) -> std::io::Result<usize> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.sort();
    let mut count = 0;
    for path in paths {
        if path.is_file() {
            let data = std::fs::read(&path)?;
            let name = path.display().to_string();
            // A failing input is named before its assertion's message.
            let outcome = std::panic::catch_unwind(|| target(&data));
            if let Err(panic) = outcome {
                eprintln!("fuzz input {name} failed");
                std::panic::resume_unwind(panic);
            }
            count += 1;
        }
    }
    Ok(count)
}

/// The replay programs' `main`: every file named, and every file in every folder named.
pub fn replay_args(target: fn(&[u8])) {
    let mut count = 0;
    for arg in std::env::args_os().skip(1) {
        let path = Path::new(&arg);
        let result = if path.is_dir() {
            replay_dir(path, target)
        } else {
            std::fs::read(path).map(|data| {
                target(&data);
                1
            })
        };
        match result {
            Ok(n) => count += n,
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                std::process::exit(2);
            }
        }
    }
    eprintln!("{count} inputs ran without a failure");
}
