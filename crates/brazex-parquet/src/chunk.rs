//! One Parquet column chunk (a leaf column of one row group), encoded from the leaves
//! the workers computed ([`crate::leaf`]) on an encoder thread ([`crate::pool`]).
//!
//! Version 1 data pages: repetition and definition levels in the RLE / bit-packed
//! hybrid (`rle.rs`), then the values, PLAIN or as dictionary indices
//! (`RLE_DICTIONARY`) for the text columns that repeat; a page closes at a row
//! boundary once it holds [`PAGE_BYTES`] or [`PAGE_ROWS`]. A dictionary that grows past
//! [`DICTIONARY_BYTES`] is kept for the pages written with it and the column goes on
//! in PLAIN, as parquet-rs does. The chunk's statistics (least and greatest value,
//! nulls) and offset index go into the metadata parquet-rs's file writer appends the
//! chunk with (`SerializedRowGroupWriter::append_column`); page headers are written
//! by parquet-rs's page writer. The settings are those of the parquet-rs writer this
//! replaced (its defaults: 1 MiB pages of at most 20,000 rows, a 1 MiB dictionary,
//! statistics truncated to 64 bytes), so the files read back the same; the tests
//! hold the two side by side.

use bytes::Bytes;
use hashbrown::HashTable;
use parquet::basic::{Compression, Encoding, PageType, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, OffsetIndexBuilder, PageEncodingStats};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use crate::leaf::{Leaf, Values};
use crate::rle;

/// A data page closes (at a row boundary) once its values and levels reach this size.
pub const PAGE_BYTES: usize = 1 << 20;
/// ... or this many rows.
pub const PAGE_ROWS: usize = 20_000;
/// A dictionary larger than this stops growing: the column goes on in PLAIN.
pub const DICTIONARY_BYTES: usize = 1 << 20;
/// Least and greatest text values longer than this are truncated in the statistics.
const STATISTICS_BYTES: usize = 64;
/// Rows appended to a page between checks of its size (fewer for large values).
const SPAN_ROWS: usize = 1024;

/// How one leaf column is written.
#[derive(Debug, Clone)]
pub struct ChunkSpec {
    pub descr: ColumnDescPtr,
    pub compression: Compression,
    /// Dictionary encoding (text columns whose values repeat).
    pub dictionary: bool,
    /// Least and greatest values and the null count in the chunk's metadata.
    pub statistics: bool,
}

/// Compressors, one set per encoder thread, reused from page to page.
pub struct Codecs {
    zstd: Option<(i32, zstd::bulk::Compressor<'static>)>,
    snappy: snap::raw::Encoder,
}

impl Default for Codecs {
    fn default() -> Self {
        Codecs {
            zstd: None,
            snappy: snap::raw::Encoder::new(),
        }
    }
}

impl std::fmt::Debug for Codecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codecs").finish_non_exhaustive()
    }
}

impl Codecs {
    fn compress(&mut self, compression: Compression, input: &[u8]) -> Result<Bytes> {
        let io = |e: std::io::Error| ParquetError::External(Box::new(e));
        Ok(match compression {
            Compression::UNCOMPRESSED => Bytes::copy_from_slice(input),
            Compression::ZSTD(level) => {
                let level = level.compression_level();
                if self.zstd.as_ref().is_none_or(|(l, _)| *l != level) {
                    self.zstd = Some((level, zstd::bulk::Compressor::new(level).map_err(io)?));
                }
                let (_, compressor) = self
                    .zstd
                    .as_mut()
                    .ok_or_else(|| ParquetError::General("no zstd compressor".into()))?;
                let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(input.len()));
                compressor.compress_to_buffer(input, &mut out).map_err(io)?;
                Bytes::from(out)
            }
            Compression::SNAPPY => {
                let mut out = vec![0; snap::raw::max_compress_len(input.len())];
                let n = self
                    .snappy
                    .compress(input, &mut out)
                    .map_err(|e| ParquetError::External(Box::new(e)))?;
                out.truncate(n);
                Bytes::from(out)
            }
            Compression::GZIP(level) => {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(input.len() / 2),
                    flate2::Compression::new(level.compression_level()),
                );
                encoder.write_all(input).map_err(io)?;
                Bytes::from(encoder.finish().map_err(io)?)
            }
            other => {
                return Err(ParquetError::NYI(format!("{other} compression")));
            }
        })
    }
}

/// The text values seen, each once, in order of first sight: the dictionary page.
#[derive(Debug, Default)]
struct Dictionary {
    table: HashTable<u32>,
    /// Every entry's bytes, one after the other, and where each starts.
    data: Vec<u8>,
    starts: Vec<u32>,
    hasher: foldhash::fast::FixedState,
}

impl Dictionary {
    fn len(&self) -> usize {
        self.starts.len()
    }

    fn entry(&self, index: u32) -> &[u8] {
        entry(&self.data, &self.starts, index)
    }

    /// The dictionary page's size (PLAIN: a length before each value).
    fn bytes(&self) -> usize {
        self.data.len() + 4 * self.starts.len()
    }

    /// The index of `value`, and whether it is new.
    fn intern(&mut self, value: &[u8]) -> (u32, bool) {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(value);
        let Dictionary {
            table,
            data,
            starts,
            hasher,
        } = self;
        if let Some(&index) = table.find(hash, |&index| entry(data, starts, index) == value) {
            return (index, false);
        }
        let index = starts.len() as u32;
        starts.push(data.len() as u32);
        data.extend_from_slice(value);
        table.insert_unique(hash, index, |&index| {
            hasher.hash_one(entry(data, starts, index))
        });
        (index, true)
    }

    fn plain(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes());
        for i in 0..self.len() as u32 {
            let value = self.entry(i);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
        }
        out
    }
}

/// Entry `index` of a dictionary's `data`, whose entries start at `starts`.
fn entry<'a>(data: &'a [u8], starts: &[u32], index: u32) -> &'a [u8] {
    let i = index as usize;
    let start = starts[i] as usize;
    let end = starts.get(i + 1).map_or(data.len(), |&e| e as usize);
    &data[start..end]
}

/// The chunk's least and greatest values so far (NaN left out, as parquet-rs does).
#[derive(Debug)]
enum Range {
    Bytes(Option<(Vec<u8>, Vec<u8>)>),
    Int64(Option<(i64, i64)>),
    Int32(Option<(i32, i32)>),
    Float64(Option<(f64, f64)>),
    Bool(Option<(bool, bool)>),
}

fn widen<T: Copy + PartialOrd>(range: &mut Option<(T, T)>, values: &[T]) {
    for &v in values {
        #[allow(clippy::eq_op)]
        if v != v {
            continue; // NaN
        }
        match range {
            None => *range = Some((v, v)),
            Some((lo, hi)) => {
                if v < *lo {
                    *lo = v;
                }
                if v > *hi {
                    *hi = v;
                }
            }
        }
    }
}

/// Fixed-width values into a PLAIN page (little-endian), widening the range.
fn push_plain<T: Copy + PartialOrd, const N: usize>(
    plain: &mut Vec<u8>,
    range: &mut Option<(T, T)>,
    values: &[T],
    le_bytes: fn(T) -> [u8; N],
) {
    widen(range, values);
    plain.reserve(values.len() * N);
    for &v in values {
        plain.extend_from_slice(&le_bytes(v));
    }
}

fn widen_bytes(range: &mut Option<(Vec<u8>, Vec<u8>)>, value: &[u8]) {
    match range {
        None => *range = Some((value.to_vec(), value.to_vec())),
        Some((lo, hi)) => {
            // Most values are decided by their first 8 bytes, without a call to memcmp.
            let head = prefix(value);
            let (lo_head, hi_head) = (prefix(lo), prefix(hi));
            if head < lo_head || (head == lo_head && value < lo.as_slice()) {
                lo.clear();
                lo.extend_from_slice(value);
            } else if head > hi_head || (head == hi_head && value > hi.as_slice()) {
                hi.clear();
                hi.extend_from_slice(value);
            }
        }
    }
}

/// The first 8 bytes of `bytes` as a big-endian number, zeros after a shorter one:
/// where two differ, the strings compare the same way (a string that ends within
/// them pads with zeros, which sort at or below any byte).
fn prefix(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(head) => u64::from_be_bytes(*head),
        None => bytes
            .iter()
            .enumerate()
            .fold(0, |word, (i, &b)| word | u64::from(b) << (56 - 8 * i)),
    }
}

/// Writes one leaf column of one row group.
pub struct ChunkWriter {
    spec: ChunkSpec,
    max_def: u8,
    max_rep: u8,
    /// The dictionary, while values go into it (and after, for its page).
    dictionary: Option<Dictionary>,
    /// Values go into the dictionary (not yet fallen back to PLAIN).
    dictionary_on: bool,
    range: Range,
    nulls: u64,
    // The page being filled.
    def: Vec<u8>,
    rep: Vec<u8>,
    plain: Vec<u8>,
    indices: Vec<u32>,
    bools: Vec<bool>,
    page_entries: usize,
    page_rows: usize,
    // The pages written.
    sink: TrackedWrite<Vec<u8>>,
    /// Each data page's offset in `sink`, size, and rows.
    pages: Vec<(u64, i32, usize)>,
    plain_pages: i32,
    dictionary_pages: i32,
    entries: i64,
    rows: u64,
    compressed: i64,
    uncompressed: i64,
    /// A page's levels and values before compression.
    body: Vec<u8>,
}

impl std::fmt::Debug for ChunkWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkWriter")
            .field("column", &self.spec.descr.path().string())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ChunkWriter {
    pub fn new(spec: ChunkSpec) -> ChunkWriter {
        let range = match spec.descr.physical_type() {
            PhysicalType::BYTE_ARRAY => Range::Bytes(None),
            PhysicalType::INT64 => Range::Int64(None),
            PhysicalType::INT32 => Range::Int32(None),
            PhysicalType::DOUBLE => Range::Float64(None),
            _ => Range::Bool(None),
        };
        let dictionary_on =
            spec.dictionary && spec.descr.physical_type() == PhysicalType::BYTE_ARRAY;
        ChunkWriter {
            // At most 255: the sink refuses deeper schemas.
            max_def: u8::try_from(spec.descr.max_def_level()).unwrap_or(u8::MAX),
            max_rep: u8::try_from(spec.descr.max_rep_level()).unwrap_or(u8::MAX),
            dictionary: dictionary_on.then(Dictionary::default),
            dictionary_on,
            spec,
            range,
            nulls: 0,
            def: Vec::new(),
            rep: Vec::new(),
            plain: Vec::new(),
            indices: Vec::new(),
            bools: Vec::new(),
            page_entries: 0,
            page_rows: 0,
            sink: TrackedWrite::new(Vec::new()),
            pages: Vec::new(),
            plain_pages: 0,
            dictionary_pages: 0,
            entries: 0,
            rows: 0,
            compressed: 0,
            uncompressed: 0,
            body: Vec::new(),
        }
    }

    /// Bytes held: pages written, the page being filled, the dictionary.
    pub fn memory_size(&self) -> usize {
        self.sink.bytes_written()
            + self.page_bytes()
            + self.dictionary.as_ref().map_or(0, Dictionary::bytes)
    }

    fn page_bytes(&self) -> usize {
        self.def.len()
            + self.rep.len()
            + self.plain.len()
            + 4 * self.indices.len()
            + self.bools.len() / 8
    }

    /// Appends one block's (or part of a block's) entries of this leaf.
    pub fn write(&mut self, leaf: &Leaf, codecs: &mut Codecs) -> Result<()> {
        if leaf.max_def != self.max_def || (leaf.rep.is_empty() != (self.max_rep == 0)) {
            return Err(ParquetError::General(format!(
                "leaf levels do not fit column {}",
                self.spec.descr.path()
            )));
        }
        let n = leaf.def.len();
        let mut entry = 0;
        let mut value = 0;
        let mut byte = 0;
        while entry < n {
            let budget = PAGE_BYTES.saturating_sub(self.page_bytes());
            let (end, rows, present, bytes) = span(leaf, entry, value, budget);
            self.def.extend_from_slice(&leaf.def[entry..end]);
            if self.max_rep > 0 {
                self.rep.extend_from_slice(&leaf.rep[entry..end]);
            }
            self.nulls += (end - entry - present) as u64;
            self.page_entries += end - entry;
            self.page_rows += rows;
            self.rows += rows as u64;
            self.push_values(&leaf.values, value, present, byte)?;
            entry = end;
            value += present;
            byte += bytes;
            if self.dictionary_on
                && self
                    .dictionary
                    .as_ref()
                    .is_some_and(|d| d.bytes() > DICTIONARY_BYTES)
            {
                // The pages so far keep the dictionary; the rest go PLAIN.
                self.flush_page(codecs)?;
                self.dictionary_on = false;
            }
            if self.page_bytes() >= PAGE_BYTES || self.page_rows >= PAGE_ROWS {
                self.flush_page(codecs)?;
            }
        }
        Ok(())
    }

    /// Values `first..first + count` of `values` (the text ones starting at byte
    /// `byte`) into the page.
    fn push_values(
        &mut self,
        values: &Values,
        first: usize,
        count: usize,
        byte: usize,
    ) -> Result<()> {
        let range = first..first + count;
        match (values, &mut self.range) {
            (Values::Bytes { data, lens }, Range::Bytes(minmax)) => {
                let mut at = byte;
                let stats = self.spec.statistics;
                for &len in &lens[range] {
                    let value = data.get(at..at + len as usize).ok_or_else(|| {
                        ParquetError::General("text values shorter than their lengths".into())
                    })?;
                    at += len as usize;
                    match (&mut self.dictionary, self.dictionary_on) {
                        (Some(dictionary), true) => {
                            let (index, new) = dictionary.intern(value);
                            self.indices.push(index);
                            if new && stats {
                                widen_bytes(minmax, value);
                            }
                        }
                        _ => {
                            self.plain.extend_from_slice(&len.to_le_bytes());
                            self.plain.extend_from_slice(value);
                            if stats {
                                widen_bytes(minmax, value);
                            }
                        }
                    }
                }
            }
            (Values::Int64(v), Range::Int64(minmax)) => {
                push_plain(&mut self.plain, minmax, &v[range], i64::to_le_bytes);
            }
            (Values::Int32(v), Range::Int32(minmax)) => {
                push_plain(&mut self.plain, minmax, &v[range], i32::to_le_bytes);
            }
            (Values::Float64(v), Range::Float64(minmax)) => {
                push_plain(&mut self.plain, minmax, &v[range], f64::to_le_bytes);
            }
            (Values::Bool(v), Range::Bool(minmax)) => {
                let v = &v[range];
                widen(minmax, v);
                self.bools.extend_from_slice(v);
            }
            _ => {
                return Err(ParquetError::General(format!(
                    "values of another type than column {}",
                    self.spec.descr.path()
                )))
            }
        }
        Ok(())
    }

    /// Writes the page being filled, if it has entries.
    fn flush_page(&mut self, codecs: &mut Codecs) -> Result<()> {
        if self.page_entries == 0 {
            return Ok(());
        }
        let body = &mut self.body;
        body.clear();
        for (levels, max) in [(&self.rep, self.max_rep), (&self.def, self.max_def)] {
            if max == 0 {
                continue;
            }
            let at = body.len();
            body.extend_from_slice(&[0; 4]);
            rle::encode(levels, rle::bit_width(u64::from(max)), body);
            let len = (body.len() - at - 4) as u32;
            body[at..at + 4].copy_from_slice(&len.to_le_bytes());
        }
        let encoding = if !self.indices.is_empty() {
            let max = self
                .dictionary
                .as_ref()
                .map_or(0, Dictionary::len)
                .saturating_sub(1);
            // At least one bit: a width of 0 is valid, but not every reader takes it.
            let width = rle::bit_width(max as u64).max(1);
            body.push(width);
            rle::encode(&self.indices, width, body);
            Encoding::RLE_DICTIONARY
        } else {
            if self.spec.descr.physical_type() == PhysicalType::BOOLEAN {
                // PLAIN booleans: one bit each, least significant first.
                for eight in self.bools.chunks(8) {
                    let byte = eight
                        .iter()
                        .enumerate()
                        .fold(0u8, |byte, (i, &b)| byte | (u8::from(b) << i));
                    body.push(byte);
                }
            } else {
                body.extend_from_slice(&self.plain);
            }
            Encoding::PLAIN
        };
        let uncompressed = body.len();
        let buf = codecs.compress(self.spec.compression, body)?;
        let page = Page::DataPage {
            buf,
            num_values: u32::try_from(self.page_entries)
                .map_err(|_| ParquetError::General("a page of over 4 G values".into()))?,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let written = SerializedPageWriter::new(&mut self.sink)
            .write_page(CompressedPage::new(page, uncompressed))?;
        self.pages.push((
            written.offset,
            written.compressed_size as i32,
            self.page_rows,
        ));
        match encoding {
            Encoding::RLE_DICTIONARY => self.dictionary_pages += 1,
            _ => self.plain_pages += 1,
        }
        self.entries += self.page_entries as i64;
        self.compressed += written.compressed_size as i64;
        self.uncompressed += written.uncompressed_size as i64;
        self.def.clear();
        self.rep.clear();
        self.plain.clear();
        self.indices.clear();
        self.bools.clear();
        self.page_entries = 0;
        self.page_rows = 0;
        Ok(())
    }

    /// The chunk's bytes (dictionary page first) and what parquet-rs's file writer
    /// appends it with.
    pub fn close(mut self, codecs: &mut Codecs) -> Result<(Bytes, ColumnCloseResult)> {
        self.flush_page(codecs)?;
        // The dictionary page goes first: it is written on its own, and the data
        // pages follow it (the only copy of them, and only when there is one).
        let mut head = TrackedWrite::new(Vec::new());
        let mut encodings = Vec::new();
        let mut stats = Vec::new();
        let dictionary = self
            .dictionary
            .take()
            .filter(|d| d.len() > 0 && self.dictionary_pages > 0);
        if let Some(dictionary) = &dictionary {
            let body = dictionary.plain();
            let page = Page::DictionaryPage {
                buf: codecs.compress(self.spec.compression, &body)?,
                num_values: dictionary.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            let written = SerializedPageWriter::new(&mut head)
                .write_page(CompressedPage::new(page, body.len()))?;
            self.compressed += written.compressed_size as i64;
            self.uncompressed += written.uncompressed_size as i64;
            stats.push(PageEncodingStats {
                page_type: PageType::DICTIONARY_PAGE,
                encoding: Encoding::PLAIN,
                count: 1,
            });
        }
        let data_start = head.bytes_written() as u64;
        let pages = self.sink.into_inner()?;
        let chunk = match head.into_inner()? {
            head if head.is_empty() => Bytes::from(pages),
            mut head => {
                head.extend_from_slice(&pages);
                Bytes::from(head)
            }
        };
        encodings.push(Encoding::PLAIN);
        encodings.push(Encoding::RLE);
        if dictionary.is_some() {
            encodings.push(Encoding::RLE_DICTIONARY);
        }
        for (encoding, count) in [
            (Encoding::PLAIN, self.plain_pages),
            (Encoding::RLE_DICTIONARY, self.dictionary_pages),
        ] {
            if count > 0 {
                stats.push(PageEncodingStats {
                    page_type: PageType::DATA_PAGE,
                    encoding,
                    count,
                });
            }
        }
        let mut offsets = OffsetIndexBuilder::new();
        for &(offset, size, rows) in &self.pages {
            offsets.append_offset_and_size((data_start + offset) as i64, size);
            offsets.append_row_count(rows as i64);
        }
        let mut metadata = ColumnChunkMetaData::builder(self.spec.descr.clone())
            .set_compression(self.spec.compression)
            .set_encodings(encodings)
            .set_page_encoding_stats(stats)
            .set_total_compressed_size(self.compressed)
            .set_total_uncompressed_size(self.uncompressed)
            .set_num_values(self.entries)
            .set_data_page_offset(data_start as i64)
            .set_dictionary_page_offset(dictionary.as_ref().map(|_| 0));
        if self.spec.statistics {
            metadata = metadata.set_statistics(statistics(&self.range, self.nulls, &self.spec));
        }
        let result = ColumnCloseResult {
            bytes_written: chunk.len() as u64,
            rows_written: self.rows,
            metadata: metadata.build()?,
            bloom_filter: None,
            column_index: None,
            offset_index: Some(offsets.build()),
        };
        Ok((chunk, result))
    }
}

/// From entry `entry` (value `value`): the end of the next span of whole rows, its
/// rows, present values and their bytes. A span is at most [`SPAN_ROWS`] rows, and
/// ends early once its text reaches `budget`.
fn span(leaf: &Leaf, entry: usize, value: usize, budget: usize) -> (usize, usize, usize, usize) {
    let n = leaf.def.len();
    let lens = match &leaf.values {
        Values::Bytes { lens, .. } => Some(lens),
        _ => None,
    };
    // Whole rows first, then whether their text fits.
    let (end, rows) = if leaf.rep.is_empty() {
        let end = (entry + SPAN_ROWS).min(n);
        (end, end - entry)
    } else {
        // Row starts (repetition level 0) counted 32 entries at a time while the
        // span has room for all of them.
        let (mut rows, mut at) = (0, entry);
        for chunk in leaf.rep[entry..].chunks_exact(32) {
            let starts = chunk.iter().fold(0, |c, &r| c + usize::from(r == 0));
            if rows + starts > SPAN_ROWS {
                break;
            }
            rows += starts;
            at += 32;
        }
        let mut end = n;
        for (k, &r) in leaf.rep[at..].iter().enumerate() {
            if r == 0 {
                if rows == SPAN_ROWS {
                    end = at + k;
                    break;
                }
                rows += 1;
            }
        }
        (end, rows)
    };
    let present = leaf.def[entry..end]
        .iter()
        .filter(|&&d| d == leaf.max_def)
        .count();
    let bytes = lens.map_or(0, |lens| {
        lens[value..value + present]
            .iter()
            .map(|&l| l as usize)
            .sum()
    });
    if bytes <= budget || rows <= 1 {
        return (end, rows, present, bytes);
    }
    // Large values: row by row, until the budget is reached.
    let (mut end, mut rows, mut present, mut bytes) = (entry, 0, 0, 0);
    while end < n {
        let row_start = leaf.rep.is_empty() || leaf.rep[end] == 0;
        if row_start && rows > 0 && bytes >= budget {
            break;
        }
        rows += usize::from(row_start);
        if leaf.def[end] == leaf.max_def {
            if let Some(lens) = lens {
                bytes += lens[value + present] as usize;
            }
            present += 1;
        }
        end += 1;
    }
    (end, rows, present, bytes)
}

fn statistics(range: &Range, nulls: u64, spec: &ChunkSpec) -> Statistics {
    // Signed orders (numbers) also fill the deprecated min/max fields, as parquet-rs.
    let signed = spec.descr.sort_order().is_signed();
    match range {
        Range::Bytes(None) => Statistics::ByteArray(numbers(None, nulls, signed)),
        Range::Bytes(Some((min, max))) => {
            let (min, min_cut) = truncate_min(min);
            let (max, max_cut) = truncate_max(max);
            let minmax = Some((ByteArray::from(min), ByteArray::from(max)));
            Statistics::ByteArray(
                numbers(minmax, nulls, signed)
                    .with_min_is_exact(!min_cut)
                    .with_max_is_exact(!max_cut),
            )
        }
        Range::Int64(minmax) => Statistics::Int64(numbers(*minmax, nulls, signed)),
        Range::Int32(minmax) => Statistics::Int32(numbers(*minmax, nulls, signed)),
        Range::Float64(minmax) => {
            // Zero is written as -0.0 for the least value and +0.0 for the greatest.
            let minmax = minmax.map(|(lo, hi)| {
                let lo = if lo == 0.0 { -0.0 } else { lo };
                let hi = if hi == 0.0 { 0.0 } else { hi };
                (lo, hi)
            });
            Statistics::Double(numbers(minmax, nulls, signed))
        }
        Range::Bool(minmax) => Statistics::Boolean(numbers(*minmax, nulls, signed)),
    }
}

/// Statistics from the least and greatest values.
fn numbers<T>(minmax: Option<(T, T)>, nulls: u64, signed: bool) -> ValueStatistics<T> {
    let (min, max) = minmax.map_or((None, None), |(lo, hi)| (Some(lo), Some(hi)));
    ValueStatistics::new(min, max, None, Some(nulls), false)
        .with_backwards_compatible_min_max(signed)
}

/// The least value cut to [`STATISTICS_BYTES`] at a character boundary (a prefix is
/// never greater), and whether it was cut.
fn truncate_min(value: &[u8]) -> (Vec<u8>, bool) {
    if value.len() <= STATISTICS_BYTES {
        return (value.to_vec(), false);
    }
    let cut = match std::str::from_utf8(value) {
        Ok(text) => (1..=STATISTICS_BYTES)
            .rfind(|&i| text.is_char_boundary(i))
            .map(|i| value[..i].to_vec()),
        Err(_) => Some(value[..STATISTICS_BYTES].to_vec()),
    };
    match cut {
        Some(cut) => (cut, true),
        None => (value.to_vec(), false),
    }
}

/// The greatest value cut to [`STATISTICS_BYTES`] and its last character incremented
/// (so it is still not less than the value), and whether it was cut; the value whole
/// when no such cut exists.
fn truncate_max(value: &[u8]) -> (Vec<u8>, bool) {
    if value.len() <= STATISTICS_BYTES {
        return (value.to_vec(), false);
    }
    let cut = match std::str::from_utf8(value) {
        Ok(text) => (STATISTICS_BYTES.saturating_sub(3)..=STATISTICS_BYTES)
            .rfind(|&i| text.is_char_boundary(i))
            .and_then(|i| text.get(..i))
            .and_then(increment_utf8),
        Err(_) => increment(value[..STATISTICS_BYTES].to_vec()),
    };
    match cut {
        Some(cut) => (cut, true),
        None => (value.to_vec(), false),
    }
}

fn increment_utf8(text: &str) -> Option<Vec<u8>> {
    for (i, c) in text.char_indices().rev() {
        let len = c.len_utf8();
        if let Some(next) = char::from_u32(c as u32 + 1) {
            if next.len_utf8() == len {
                let mut out = text.as_bytes()[..i + len].to_vec();
                next.encode_utf8(&mut out[i..]);
                return Some(out);
            }
        }
    }
    None
}

fn increment(mut bytes: Vec<u8>) -> Option<Vec<u8>> {
    for byte in bytes.iter_mut().rev() {
        let (next, overflow) = byte.overflowing_add(1);
        *byte = next;
        if !overflow {
            return Some(bytes);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_statistics_are_the_least_and_greatest_bytes() {
        // Short strings, zero bytes, shared 8-byte heads: every case of the prefix.
        let mut x = 7u64;
        let mut values: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0, 0], b"abcdefgh".to_vec()];
        for _ in 0..3000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (x >> 60) as usize;
            let mut v = b"abcdefgh"[..(x >> 57) as usize % 9].to_vec();
            v.extend((0..len).map(|i| [0u8, 1, b'a', 0xff][(x >> (8 + 2 * i)) as usize % 4]));
            values.push(v);
        }
        for start in (0..values.len()).step_by(37) {
            let order = values[start..].iter().chain(&values[..start]);
            let mut range = None;
            for v in order {
                widen_bytes(&mut range, v);
            }
            let (lo, hi) = range.expect("values");
            assert_eq!(Some(&lo), values.iter().min(), "from {start}");
            assert_eq!(Some(&hi), values.iter().max(), "from {start}");
        }
        for (a, b) in values.iter().zip(values.iter().skip(1)) {
            if prefix(a) != prefix(b) {
                assert_eq!(prefix(a).cmp(&prefix(b)), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
}
