//! Streaming archive decoders: zip, gzip and plain NDJSON, detected by their first bytes.
//!
//! Every decoder is push-style: [`Decoder::feed`] takes the next bytes of the input,
//! whatever their size, and hands decompressed entry data to an [`EntrySink`];
//! [`Decoder::finish`] says the input ended. The decoders never see where bytes come
//! from (a file, a pipe, an HTTP body), so the sync and async fronts stay thin, and
//! unit tests can feed them one byte at a time. Memory is bounded by the inflate
//! window and output buffer plus the largest header (see [`MAX_HEADER_BYTES`]).

mod central;
mod gzip;
mod zip;

pub use central::{read_central_directory, CentralDirectory, CentralEntry};
pub use gzip::GzipDecoder;
pub use zip::ZipDecoder;

use std::sync::Arc;

use crate::error::{ArchiveErrorKind, Error, Result};

/// Largest header (zip local header with name and extra field, gzip header with name
/// and comment) a decoder buffers before giving up.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// Size of the buffer inflate writes into: the granularity of [`EntrySink::data`].
pub(crate) const INFLATE_CHUNK: usize = 128 * 1024;

/// Receives the entries of an archive, in order.
pub trait EntrySink {
    /// An entry begins: `Some(name)` for a zip member, `None` when the whole input is
    /// one entry (gzip, plain).
    fn start_entry(&mut self, name: Option<&str>) -> Result<()>;
    /// The next decompressed bytes of the current entry.
    fn data(&mut self, bytes: &[u8]) -> Result<()>;
    /// The current entry ended and its checksums were verified.
    fn end_entry(&mut self) -> Result<()>;
    /// The sink's own buffer with room at its end, for a decoder to inflate into
    /// directly instead of handing over a copy with [`EntrySink::data`] (the copy was
    /// about 2 % of a zip's conversion to Parquet); the decoder then calls
    /// [`EntrySink::appended`]. `None` (the default): bytes come through `data`.
    fn buffer(&mut self) -> Option<&mut Vec<u8>> {
        None
    }
    /// The decoder appended `bytes` bytes of the current entry to
    /// [`EntrySink::buffer`] (which it did not grow).
    fn appended(&mut self, bytes: usize) -> Result<()> {
        let _ = bytes;
        Err(Error::Internal(
            "bytes appended to a sink that lends no buffer",
        ))
    }
}

/// Inflates the next of `data`: straight into `lent`, a sink's buffer
/// ([`EntrySink::buffer`]), or else into `out`, adding what it wrote to `crc`
/// either way. Returns inflate's status and whether the bytes went into `lent`, for
/// [`hand_over`].
pub(crate) fn inflate_next(
    inflate: &mut flate2::Decompress,
    data: &[u8],
    lent: Option<&mut Vec<u8>>,
    crc: Option<&mut crc32fast::Hasher>,
    out: &mut [u8],
) -> (
    std::result::Result<flate2::Status, flate2::DecompressError>,
    bool,
) {
    use flate2::FlushDecompress;
    let before = inflate.total_out();
    let (status, written, lent) = match lent {
        Some(buffer) => {
            let start = buffer.len();
            let status = inflate.decompress_vec(data, buffer, FlushDecompress::None);
            (status, &buffer[start..], true)
        }
        None => {
            let status = inflate.decompress(data, out, FlushDecompress::None);
            let produced = (inflate.total_out() - before) as usize;
            (status, &out[..produced], false)
        }
    };
    if let Some(crc) = crc {
        crc.update(written);
    }
    (status, lent)
}

/// Hands the `produced` bytes [`inflate_next`] wrote to `sink`: already in the sink's
/// buffer when they went into `lent`, else the first `produced` bytes of `out`.
pub(crate) fn hand_over(
    sink: &mut dyn EntrySink,
    lent: bool,
    out: &[u8],
    produced: usize,
) -> Result<()> {
    if lent {
        sink.appended(produced)
    } else {
        sink.data(&out[..produced])
    }
}

/// The container format of an input, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zip,
    Gzip,
    Plain,
}

impl Format {
    /// Bytes needed to tell the formats apart.
    pub const SNIFF_LEN: usize = 4;

    /// Detects the format from the first bytes (fewer than [`Self::SNIFF_LEN`] only at
    /// the end of the input). Names are never consulted.
    pub fn sniff(head: &[u8]) -> Format {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Format::Zip
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Format::Gzip
        } else {
            Format::Plain
        }
    }
}

/// A decoder for one input.
#[derive(Debug)]
pub enum Decoder {
    Zip(Box<ZipDecoder>),
    Gzip(Box<GzipDecoder>),
    Plain(PlainDecoder),
}

impl Decoder {
    /// A decoder for `format`; `input` names the input in errors. `central` is the zip
    /// central directory when the input could be read at random (a file): it lets
    /// stored entries with data descriptors be delimited.
    pub fn new(format: Format, input: Arc<str>, central: Option<CentralDirectory>) -> Decoder {
        match format {
            Format::Zip => Decoder::Zip(Box::new(ZipDecoder::new(input, central))),
            Format::Gzip => Decoder::Gzip(Box::new(GzipDecoder::new(input))),
            Format::Plain => Decoder::Plain(PlainDecoder::default()),
        }
    }

    /// Decodes the next bytes of the input.
    pub fn feed(&mut self, bytes: &[u8], sink: &mut dyn EntrySink) -> Result<()> {
        match self {
            Decoder::Zip(d) => d.feed(bytes, sink),
            Decoder::Gzip(d) => d.feed(bytes, sink),
            Decoder::Plain(d) => d.feed(bytes, sink),
        }
    }

    /// The input ended: checks that it ended where it may.
    pub fn finish(&mut self, sink: &mut dyn EntrySink) -> Result<()> {
        match self {
            Decoder::Zip(d) => d.finish(sink),
            Decoder::Gzip(d) => d.finish(sink),
            Decoder::Plain(d) => d.finish(sink),
        }
    }
}

/// Plain NDJSON: the input is one entry, passed through.
#[derive(Debug, Default)]
pub struct PlainDecoder {
    started: bool,
}

impl PlainDecoder {
    fn feed(&mut self, bytes: &[u8], sink: &mut dyn EntrySink) -> Result<()> {
        if !self.started {
            self.started = true;
            sink.start_entry(None)?;
        }
        sink.data(bytes)
    }

    fn finish(&mut self, sink: &mut dyn EntrySink) -> Result<()> {
        if self.started {
            sink.end_entry()?;
        }
        Ok(())
    }
}

/// Bytes a decoder could not use yet (an incomplete header), kept for the next feed.
///
/// Decoders process the caller's slice directly and only copy what is left over, so
/// compressed data is not copied on the hot path.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    buf: Vec<u8>,
}

impl Pending {
    /// Runs `process` over the pending bytes followed by `input`; `process` returns
    /// how many bytes it consumed, and what it did not consume is kept.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        mut process: impl FnMut(&[u8]) -> Result<usize>,
    ) -> Result<()> {
        if self.buf.is_empty() {
            let used = process(input)?;
            self.buf.extend_from_slice(&input[used..]);
        } else {
            self.buf.extend_from_slice(input);
            let used = process(&self.buf)?;
            self.buf.drain(..used);
        }
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Runs `process` once more over what is left, at the end of the input.
    pub(crate) fn finish(&mut self, mut process: impl FnMut(&[u8]) -> Result<usize>) -> Result<()> {
        let buf = std::mem::take(&mut self.buf);
        let used = process(&buf)?;
        self.buf = buf;
        self.buf.drain(..used);
        Ok(())
    }
}

/// Builds an archive error.
pub(crate) fn archive_error(
    input: &Arc<str>,
    entry: Option<&str>,
    offset: u64,
    kind: ArchiveErrorKind,
) -> Error {
    Error::Archive {
        input: input.clone(),
        entry: entry.map(str::to_string),
        offset,
        kind,
    }
}

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | (u64::from(le32(b, at + 4)) << 32)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! An [`EntrySink`] that records entries, and a driver that feeds in chunks.
    use super::*;

    #[derive(Debug, Default)]
    pub struct Collect {
        pub entries: Vec<(Option<String>, Vec<u8>)>,
        pub open: bool,
        /// Lends a buffer of this much room ([`EntrySink::buffer`]), if set.
        pub lend: Option<usize>,
        lent: Vec<u8>,
    }

    impl EntrySink for Collect {
        fn start_entry(&mut self, name: Option<&str>) -> Result<()> {
            assert!(!self.open, "entry started inside another");
            self.open = true;
            self.entries.push((name.map(str::to_string), Vec::new()));
            Ok(())
        }
        fn data(&mut self, bytes: &[u8]) -> Result<()> {
            assert!(self.open, "data outside an entry");
            if let Some(last) = self.entries.last_mut() {
                last.1.extend_from_slice(bytes);
            }
            Ok(())
        }
        fn end_entry(&mut self) -> Result<()> {
            assert!(self.open, "end without start");
            self.open = false;
            Ok(())
        }
        fn buffer(&mut self) -> Option<&mut Vec<u8>> {
            let room = self.lend?;
            assert!(self.open, "a buffer asked for outside an entry");
            self.lent.clear();
            self.lent.reserve_exact(room);
            Some(&mut self.lent)
        }
        fn appended(&mut self, bytes: usize) -> Result<()> {
            assert_eq!(bytes, self.lent.len(), "appended bytes miscounted");
            let lent = std::mem::take(&mut self.lent);
            self.data(&lent)
        }
    }

    /// The chunk sizes every decoder test runs with, so that every boundary is hit.
    pub const CHUNK_SIZES: [usize; 4] = [1, 3, 7, 64 * 1024];

    /// Decodes `bytes` fed in chunks of `chunk` bytes.
    pub fn decode(
        format: Format,
        bytes: &[u8],
        chunk: usize,
        central: Option<CentralDirectory>,
    ) -> Result<Collect> {
        let copied = decode_into(Collect::default(), format, bytes, chunk, central.clone());
        // The same bytes and errors when the decoder inflates into the sink's buffer,
        // with little room (many calls) and with plenty.
        for room in [5, 100_000] {
            let sink = Collect {
                lend: Some(room),
                ..Collect::default()
            };
            let lent = decode_into(sink, format, bytes, chunk, central.clone());
            match (&copied, &lent) {
                (Ok(a), Ok(b)) => assert_eq!(a.entries, b.entries, "room {room}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "room {room}"),
                _ => panic!("room {room}: {copied:?} but {lent:?}"),
            }
        }
        copied
    }

    fn decode_into(
        mut sink: Collect,
        format: Format,
        bytes: &[u8],
        chunk: usize,
        central: Option<CentralDirectory>,
    ) -> Result<Collect> {
        let mut decoder = Decoder::new(format, Arc::from("test.input"), central);
        for piece in bytes.chunks(chunk) {
            decoder.feed(piece, &mut sink)?;
        }
        decoder.finish(&mut sink)?;
        assert!(!sink.open, "entry left open");
        Ok(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(Format::sniff(b"PK\x03\x04rest"), Format::Zip);
        assert_eq!(Format::sniff(b"PK\x05\x06"), Format::Zip);
        assert_eq!(Format::sniff(&[0x1f, 0x8b, 8, 0]), Format::Gzip);
        assert_eq!(Format::sniff(b"{\"a\":1}"), Format::Plain);
        assert_eq!(Format::sniff(b""), Format::Plain);
        assert_eq!(Format::sniff(b"PK"), Format::Plain);
    }
}
