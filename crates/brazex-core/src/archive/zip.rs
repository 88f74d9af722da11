//! Streaming zip decoder: reads local headers and entry data front to back, so a zip
//! can come through a pipe or an HTTP body.
//!
//! Why our own and not async_zip's stream reader: that reader neither handles zip64
//! data descriptors nor delimits entries through the central directory when it can,
//! and Braze-sized archives (and Java's and Python's streaming writers) need both. A
//! zip stream is simple enough to read directly, and doing so lets us check every
//! CRC-32 and size and name the byte offset of any damage.
//!
//! What it reads: stored and deflate entries; sizes in the local header, in a zip64
//! extra field, or in a data descriptor (flag bit 3) with or without its signature, in
//! the 32-bit or the zip64 (24-byte) form. The descriptor's form is not announced by
//! the writer, so the decoder takes the form whose CRC-32 and sizes match what it
//! decoded and after which a zip record signature (or the end) follows. A stored entry
//! with a descriptor has no length in the stream: it needs the central directory
//! ([`super::read_central_directory`]), else it is an error.

use std::sync::Arc;

use flate2::{Decompress, Status};

use super::{
    archive_error, hand_over, inflate_next, le16, le32, le64, CentralDirectory, EntrySink, Pending,
    INFLATE_CHUNK, MAX_HEADER_BYTES,
};
use crate::error::{ArchiveErrorKind, Error, Result};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
const ZIP64_END_OF_CENTRAL: u32 = 0x0606_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;
const DIGITAL_SIGNATURE: u32 = 0x0505_4b50;
const ARCHIVE_EXTRA_DATA: u32 = 0x0806_4b50;

const LOCAL_HEADER_LEN: usize = 30;
/// Longest descriptor (signature, CRC-32, two 8-byte sizes) plus the next signature.
const DESCRIPTOR_LOOKAHEAD: usize = 4 + 4 + 16 + 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a record signature.
    Signature,
    /// Inside deflate data.
    Deflate,
    /// Inside stored data, this many bytes left.
    Stored(u64),
    /// After the data of an entry with flag bit 3.
    Descriptor,
    /// In the central directory: the entries are done.
    Done,
}

/// The entry being read.
#[derive(Debug)]
struct Entry {
    name: String,
    /// Skipped entries (directories) are not handed to the sink.
    skip: bool,
    has_descriptor: bool,
    zip64: bool,
    /// CRC-32 and sizes from the local header or the central directory, when known.
    expected: Option<(u32, u64, u64)>,
    crc: crc32fast::Hasher,
    compressed: u64,
    uncompressed: u64,
    data_offset: u64,
}

/// The streaming zip decoder.
pub struct ZipDecoder {
    input: Arc<str>,
    central: Option<CentralDirectory>,
    state: State,
    /// Offset in the input of the next byte to process.
    offset: u64,
    pending: Pending,
    entry: Option<Entry>,
    inflate: Decompress,
    out: Vec<u8>,
    /// Decode one entry, then stop (parallel decoding hands each decoder one entry).
    single_entry: bool,
}

impl std::fmt::Debug for ZipDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipDecoder")
            .field("input", &self.input)
            .field("state", &self.state)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl ZipDecoder {
    pub fn new(input: Arc<str>, central: Option<CentralDirectory>) -> ZipDecoder {
        ZipDecoder {
            input,
            central,
            state: State::Signature,
            offset: 0,
            pending: Pending::default(),
            entry: None,
            inflate: Decompress::new(false),
            out: vec![0; INFLATE_CHUNK],
            single_entry: false,
        }
    }

    /// A decoder of the one entry whose local header is at `offset` of the archive:
    /// feed it the bytes from there on; it ends after that entry (and its descriptor).
    pub fn single_entry(
        input: Arc<str>,
        central: Option<CentralDirectory>,
        offset: u64,
    ) -> ZipDecoder {
        ZipDecoder {
            offset,
            single_entry: true,
            ..ZipDecoder::new(input, central)
        }
    }

    /// True once a single-entry decoder has finished its entry.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    pub fn feed(&mut self, bytes: &[u8], sink: &mut dyn EntrySink) -> Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let result = pending.feed(bytes, |data| self.process(data, false, sink));
        self.pending = pending;
        result?;
        if self.pending.len() > MAX_HEADER_BYTES + DESCRIPTOR_LOOKAHEAD {
            return Err(self.error(ArchiveErrorKind::HeaderTooLarge {
                limit: MAX_HEADER_BYTES,
            }));
        }
        Ok(())
    }

    pub fn finish(&mut self, sink: &mut dyn EntrySink) -> Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let result = pending.finish(|data| self.process(data, true, sink));
        self.pending = pending;
        result?;
        match self.state {
            State::Done => Ok(()),
            State::Signature => Err(self.error(ArchiveErrorKind::Truncated(
                "the zip archive, before its central directory",
            ))),
            State::Deflate => Err(self.error(ArchiveErrorKind::Truncated("deflate data"))),
            State::Stored(_) => Err(self.error(ArchiveErrorKind::Truncated("stored data"))),
            State::Descriptor => Err(self.error(ArchiveErrorKind::Truncated("a data descriptor"))),
        }
    }

    fn error(&self, kind: ArchiveErrorKind) -> Error {
        self.error_at(self.offset, kind)
    }

    fn error_at(&self, offset: u64, kind: ArchiveErrorKind) -> Error {
        archive_error(
            &self.input,
            self.entry.as_ref().map(|e| e.name.as_str()),
            offset,
            kind,
        )
    }

    /// Processes as much of `data` as possible; returns the bytes consumed. At `eof`,
    /// `data` is all that is left of the input.
    ///
    /// Each step returns `None` when it needs more bytes than there are, or the bytes
    /// it consumed; a step that consumes nothing has changed state or produced output,
    /// so the loop always makes progress.
    fn process(&mut self, data: &[u8], eof: bool, sink: &mut dyn EntrySink) -> Result<usize> {
        let mut used = 0;
        loop {
            let rest = &data[used..];
            let step = match self.state {
                State::Signature => self.signature(rest, sink)?,
                State::Deflate => self.deflate(rest, sink)?,
                State::Stored(left) => self.stored(rest, left, sink)?,
                State::Descriptor => self.descriptor(rest, eof, sink)?,
                // The central directory and what follows carry no entry data.
                State::Done => Some(rest.len()).filter(|&n| n > 0),
            };
            let Some(n) = step else {
                return Ok(used);
            };
            used += n;
            self.offset += n as u64;
        }
    }

    /// A record signature and, for a local header, the whole header.
    fn signature(&mut self, data: &[u8], sink: &mut dyn EntrySink) -> Result<Option<usize>> {
        if data.len() < 4 {
            return Ok(None);
        }
        match le32(data, 0) {
            LOCAL_HEADER => self.local_header(data, sink),
            CENTRAL_HEADER | END_OF_CENTRAL | ZIP64_END_OF_CENTRAL | DIGITAL_SIGNATURE
            | ARCHIVE_EXTRA_DATA => {
                self.state = State::Done;
                Ok(Some(0))
            }
            _ => Err(self.error(ArchiveErrorKind::BadSignature {
                found: [data[0], data[1], data[2], data[3]],
            })),
        }
    }

    fn local_header(&mut self, data: &[u8], sink: &mut dyn EntrySink) -> Result<Option<usize>> {
        if data.len() < LOCAL_HEADER_LEN {
            return Ok(None);
        }
        let name_len = usize::from(le16(data, 26));
        let extra_len = usize::from(le16(data, 28));
        let header_len = LOCAL_HEADER_LEN + name_len + extra_len;
        if data.len() < header_len {
            return Ok(None);
        }
        let header_offset = self.offset;
        let flags = le16(data, 6);
        let method = le16(data, 8);
        let crc = le32(data, 14);
        let mut compressed = u64::from(le32(data, 18));
        let mut uncompressed = u64::from(le32(data, 22));
        let name = String::from_utf8_lossy(&data[LOCAL_HEADER_LEN..LOCAL_HEADER_LEN + name_len])
            .into_owned();
        let extra = &data[LOCAL_HEADER_LEN + name_len..header_len];
        let zip64 = zip64_extra(extra);
        if let Some(fields) = zip64 {
            // The local header's zip64 field holds the uncompressed then the compressed size.
            let mut values = fields.chunks_exact(8).map(|c| le64(c, 0));
            if uncompressed == 0xFFFF_FFFF {
                uncompressed = values.next().unwrap_or(uncompressed);
            } else {
                values.next();
            }
            if compressed == 0xFFFF_FFFF {
                compressed = values.next().unwrap_or(compressed);
            }
        }
        let has_descriptor = flags & 0x0008 != 0;
        let expected = if has_descriptor {
            self.central
                .as_ref()
                .and_then(|c| c.get(header_offset))
                .map(|c| (c.crc, c.compressed, c.uncompressed))
        } else {
            Some((crc, compressed, uncompressed))
        };
        self.entry = Some(Entry {
            skip: name.ends_with('/'),
            name,
            has_descriptor,
            zip64: zip64.is_some(),
            expected,
            crc: crc32fast::Hasher::new(),
            compressed: 0,
            uncompressed: 0,
            data_offset: header_offset + header_len as u64,
        });
        if flags & 0x0001 != 0 {
            return Err(self.error(ArchiveErrorKind::Encrypted));
        }
        self.state = match (method, expected) {
            (8, _) => {
                self.inflate.reset(false);
                State::Deflate
            }
            (0, Some((_, size, _))) => State::Stored(size),
            // A directory has no data; its descriptor, checked next, must say so.
            (0, None) if self.entry.as_ref().is_some_and(|e| e.skip) => State::Stored(0),
            (0, None) => return Err(self.error(ArchiveErrorKind::StoredWithDescriptor)),
            (other, _) => return Err(self.error(ArchiveErrorKind::UnsupportedMethod(other))),
        };
        if let Some(entry) = &self.entry {
            if !entry.skip {
                sink.start_entry(Some(&entry.name))?;
            }
        }
        Ok(Some(header_len))
    }

    fn deflate(&mut self, data: &[u8], sink: &mut dyn EntrySink) -> Result<Option<usize>> {
        let before_in = self.inflate.total_in();
        let before_out = self.inflate.total_out();
        // Straight into the sink's buffer when it lends one: no copy of the bytes.
        let wanted = self.entry.as_ref().is_some_and(|e| !e.skip);
        let lent = if wanted { sink.buffer() } else { None };
        let crc = self.entry.as_mut().map(|e| &mut e.crc);
        let (status, lent) = inflate_next(&mut self.inflate, data, lent, crc, &mut self.out);
        let consumed = (self.inflate.total_in() - before_in) as usize;
        let produced = (self.inflate.total_out() - before_out) as usize;
        // What inflate produced before it found the damage is handed on first: the
        // lines before the damage are then the same however the input was chunked.
        self.entry_data(consumed, produced, lent, sink)?;
        let status = match status {
            Ok(status) => status,
            Err(_) => {
                let at = self.offset + consumed as u64;
                return Err(self.error_at(at, ArchiveErrorKind::CorruptDeflate));
            }
        };
        if status == Status::StreamEnd {
            self.end_of_data(sink)?;
        } else if consumed == 0 && produced == 0 {
            return Ok(None);
        }
        Ok(Some(consumed))
    }

    fn stored(
        &mut self,
        data: &[u8],
        left: u64,
        sink: &mut dyn EntrySink,
    ) -> Result<Option<usize>> {
        if data.is_empty() && left > 0 {
            return Ok(None);
        }
        let take = usize::try_from(left).map_or(data.len(), |l| l.min(data.len()));
        // Stored bytes go to the sink straight from the input.
        if let Some(entry) = self.entry.as_mut() {
            entry.crc.update(&data[..take]);
            entry.compressed += take as u64;
            entry.uncompressed += take as u64;
            if !entry.skip && take > 0 {
                sink.data(&data[..take])?;
            }
        }
        let left = left - take as u64;
        self.state = State::Stored(left);
        if left == 0 {
            self.end_of_data(sink)?;
        }
        Ok(Some(take))
    }

    /// Counts and forwards what inflate produced.
    fn entry_data(
        &mut self,
        consumed: usize,
        produced: usize,
        lent: bool,
        sink: &mut dyn EntrySink,
    ) -> Result<()> {
        if let Some(entry) = self.entry.as_mut() {
            entry.compressed += consumed as u64;
            entry.uncompressed += produced as u64;
            if produced > 0 && !entry.skip {
                hand_over(sink, lent, &self.out, produced)?;
            }
        }
        Ok(())
    }

    /// The entry's data ended: check it now, or after its descriptor.
    fn end_of_data(&mut self, sink: &mut dyn EntrySink) -> Result<()> {
        let Some(entry) = self.entry.as_ref() else {
            return Ok(());
        };
        if entry.has_descriptor {
            self.state = State::Descriptor;
            return Ok(());
        }
        self.verify(None)?;
        self.end_entry(sink)
    }

    /// Checks the entry's CRC-32 and sizes against what the archive says.
    fn verify(&self, descriptor: Option<(u32, u64, u64)>) -> Result<()> {
        let Some(entry) = self.entry.as_ref() else {
            return Ok(());
        };
        let crc = entry.crc.clone().finalize();
        let Some((want_crc, want_compressed, want_uncompressed)) = descriptor.or(entry.expected)
        else {
            return Ok(());
        };
        let at = entry.data_offset;
        if want_compressed != entry.compressed {
            return Err(self.error_at(
                at,
                ArchiveErrorKind::SizeMismatch {
                    what: "compressed data",
                    expected: want_compressed,
                    actual: entry.compressed,
                },
            ));
        }
        if want_uncompressed != entry.uncompressed {
            return Err(self.error_at(
                at,
                ArchiveErrorKind::SizeMismatch {
                    what: "uncompressed data",
                    expected: want_uncompressed,
                    actual: entry.uncompressed,
                },
            ));
        }
        if want_crc != crc {
            return Err(self.error_at(
                at,
                ArchiveErrorKind::CrcMismatch {
                    expected: want_crc,
                    actual: crc,
                },
            ));
        }
        Ok(())
    }

    fn end_entry(&mut self, sink: &mut dyn EntrySink) -> Result<()> {
        if let Some(entry) = self.entry.take() {
            if !entry.skip {
                sink.end_entry()?;
            }
        }
        self.state = if self.single_entry {
            State::Done
        } else {
            State::Signature
        };
        Ok(())
    }

    /// The data descriptor after an entry with flag bit 3.
    fn descriptor(
        &mut self,
        data: &[u8],
        eof: bool,
        sink: &mut dyn EntrySink,
    ) -> Result<Option<usize>> {
        if data.len() < DESCRIPTOR_LOOKAHEAD && !eof {
            return Ok(None);
        }
        let Some(entry) = self.entry.as_ref() else {
            self.state = State::Signature;
            return Ok(Some(0));
        };
        let crc = entry.crc.clone().finalize();
        let has_signature = data.len() >= 4 && le32(data, 0) == DESCRIPTOR;
        let large = entry.zip64
            || entry.compressed > u64::from(u32::MAX)
            || entry.uncompressed > u64::from(u32::MAX);
        // Candidate forms: (signature length, size field width), most likely first.
        let mut forms: Vec<(usize, usize)> = Vec::with_capacity(4);
        for sig in [4, 0] {
            if sig == 4 && !has_signature {
                continue;
            }
            if large {
                forms.extend([(sig, 8), (sig, 4)]);
            } else {
                forms.extend([(sig, 4), (sig, 8)]);
            }
        }
        for &(sig, width) in &forms {
            let len = sig + 4 + 2 * width;
            if data.len() < len {
                continue;
            }
            let read = |at: usize| {
                if width == 8 {
                    le64(data, at)
                } else {
                    u64::from(le32(data, at))
                }
            };
            let (d_crc, d_compressed, d_uncompressed) =
                (le32(data, sig), read(sig + 4), read(sig + 4 + width));
            let matches = d_crc == crc
                && d_compressed == entry.compressed
                && d_uncompressed == entry.uncompressed;
            let followed_by_record = data.len() == len
                || (data.len() >= len + 4
                    && matches!(
                        le32(data, len),
                        LOCAL_HEADER
                            | CENTRAL_HEADER
                            | END_OF_CENTRAL
                            | ZIP64_END_OF_CENTRAL
                            | DIGITAL_SIGNATURE
                            | ARCHIVE_EXTRA_DATA
                    ));
            if matches && followed_by_record {
                // A central-directory record, when known, must agree as well.
                self.verify(None)?;
                self.end_entry(sink)?;
                return Ok(Some(len));
            }
        }
        // No form fits: report against the most likely one.
        let (sig, width) = forms.first().copied().unwrap_or((0, 4));
        if data.len() < sig + 4 + 2 * width {
            return Err(self.error(ArchiveErrorKind::Truncated("a data descriptor")));
        }
        let d_crc = le32(data, sig);
        if d_crc != crc {
            return Err(self.error(ArchiveErrorKind::CrcMismatch {
                expected: d_crc,
                actual: crc,
            }));
        }
        Err(self.error(ArchiveErrorKind::BadDescriptor {
            crc,
            compressed: entry.compressed,
            uncompressed: entry.uncompressed,
        }))
    }
}

/// The data of the zip64 extended information extra field (id 0x0001), if present.
fn zip64_extra(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let id = le16(extra, 0);
        let len = usize::from(le16(extra, 2));
        let body = extra.get(4..4 + len)?;
        if id == 0x0001 {
            return Some(body);
        }
        extra = &extra[4 + len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::test_support::{decode, CHUNK_SIZES};
    use super::super::{CentralDirectory, CentralEntry, Format};
    use super::*;

    /// How an entry's sizes are told.
    #[derive(Clone, Copy)]
    enum Sizes {
        /// In the local header.
        Header,
        /// In a 32-bit data descriptor, with or without its signature.
        Descriptor32 { signature: bool },
        /// In a zip64 (24-byte) descriptor, local header with a zip64 extra field.
        Descriptor64 { extra: bool },
        /// In the local header's zip64 extra field (Info-ZIP from stdin style).
        Zip64Extra,
    }

    struct Built {
        bytes: Vec<u8>,
        central: CentralDirectory,
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).expect("deflate");
        enc.finish().expect("deflate")
    }

    /// Writes a zip of `entries` (name, data, stored?) with the given size convention,
    /// followed by a minimal central directory.
    fn build(entries: &[(&str, &[u8], bool)], sizes: Sizes) -> Built {
        let mut out = Vec::new();
        let mut central = Vec::new();
        let mut by_offset = std::collections::HashMap::new();
        for &(name, data, stored) in entries {
            let offset = out.len() as u64;
            let body = if stored { data.to_vec() } else { deflate(data) };
            let crc = crc32fast::hash(data);
            let (c, u) = (body.len() as u32, data.len() as u32);
            let descriptor = !matches!(sizes, Sizes::Header | Sizes::Zip64Extra);
            let flags: u16 = if descriptor { 0x0008 } else { 0 };
            let method: u16 = if stored { 0 } else { 8 };
            let mut extra = Vec::new();
            if matches!(
                sizes,
                Sizes::Zip64Extra | Sizes::Descriptor64 { extra: true }
            ) {
                extra.extend_from_slice(&1u16.to_le_bytes());
                extra.extend_from_slice(&16u16.to_le_bytes());
                let (u64v, c64v) = if descriptor {
                    (0, 0)
                } else {
                    (u64::from(u), u64::from(c))
                };
                extra.extend_from_slice(&u64v.to_le_bytes());
                extra.extend_from_slice(&c64v.to_le_bytes());
            }
            let (h_crc, h_c, h_u) = match sizes {
                Sizes::Header => (crc, c, u),
                Sizes::Zip64Extra => (crc, u32::MAX, u32::MAX),
                Sizes::Descriptor64 { extra: true } => (0, u32::MAX, u32::MAX),
                _ => (0, 0, 0),
            };
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&45u16.to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&h_crc.to_le_bytes());
            out.extend_from_slice(&h_c.to_le_bytes());
            out.extend_from_slice(&h_u.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&extra);
            out.extend_from_slice(&body);
            match sizes {
                Sizes::Descriptor32 { signature } => {
                    if signature {
                        out.extend_from_slice(&DESCRIPTOR.to_le_bytes());
                    }
                    out.extend_from_slice(&crc.to_le_bytes());
                    out.extend_from_slice(&c.to_le_bytes());
                    out.extend_from_slice(&u.to_le_bytes());
                }
                Sizes::Descriptor64 { .. } => {
                    out.extend_from_slice(&DESCRIPTOR.to_le_bytes());
                    out.extend_from_slice(&crc.to_le_bytes());
                    out.extend_from_slice(&u64::from(c).to_le_bytes());
                    out.extend_from_slice(&u64::from(u).to_le_bytes());
                }
                _ => {}
            }
            by_offset.insert(
                offset,
                CentralEntry {
                    crc,
                    compressed: u64::from(c),
                    uncompressed: u64::from(u),
                },
            );
            let mut record = Vec::new();
            record.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
            record.extend_from_slice(&[45, 0, 45, 0]);
            record.extend_from_slice(&flags.to_le_bytes());
            record.extend_from_slice(&method.to_le_bytes());
            record.extend_from_slice(&[0; 4]);
            record.extend_from_slice(&crc.to_le_bytes());
            record.extend_from_slice(&c.to_le_bytes());
            record.extend_from_slice(&u.to_le_bytes());
            record.extend_from_slice(&(name.len() as u16).to_le_bytes());
            record.extend_from_slice(&[0; 12]);
            record.extend_from_slice(&(offset as u32).to_le_bytes());
            record.extend_from_slice(name.as_bytes());
            central.push(record);
        }
        let cd_offset = out.len() as u32;
        let mut cd_len = 0u32;
        for record in &central {
            out.extend_from_slice(record);
            cd_len += record.len() as u32;
        }
        out.extend_from_slice(&END_OF_CENTRAL.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&cd_len.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        // Tests build the directory map directly; read_central_directory is tested on files.
        let central = CentralDirectory::from_map(by_offset);
        Built {
            bytes: out,
            central,
        }
    }

    fn sample_entries() -> Vec<(&'static str, Vec<u8>, bool)> {
        let big: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("{{\"external_id\":\"u{i}\",\"n\":{}}}\n", i * 7).into_bytes())
            .collect();
        vec![
            ("a.txt", b"{\"a\":1}\n{\"a\":2}\n".to_vec(), false),
            ("dir/", Vec::new(), true),
            ("empty.txt", Vec::new(), false),
            ("big.txt", big, false),
            ("c.txt", b"{\"c\":3}".to_vec(), false),
        ]
    }

    fn expected(entries: &[(&str, Vec<u8>, bool)]) -> Vec<(Option<String>, Vec<u8>)> {
        entries
            .iter()
            .filter(|(name, _, _)| !name.ends_with('/'))
            .map(|(name, data, _)| (Some(name.to_string()), data.clone()))
            .collect()
    }

    fn as_refs<'a>(
        entries: &'a [(&'static str, Vec<u8>, bool)],
    ) -> Vec<(&'static str, &'a [u8], bool)> {
        entries
            .iter()
            .map(|(n, d, s)| (*n, d.as_slice(), *s))
            .collect()
    }

    #[test]
    fn every_size_convention_decodes_at_every_chunk_size() {
        let entries = sample_entries();
        for sizes in [
            Sizes::Header,
            Sizes::Descriptor32 { signature: true },
            Sizes::Descriptor32 { signature: false },
            Sizes::Descriptor64 { extra: true },
            Sizes::Descriptor64 { extra: false },
            Sizes::Zip64Extra,
        ] {
            let built = build(&as_refs(&entries), sizes);
            for chunk in CHUNK_SIZES {
                let got = decode(Format::Zip, &built.bytes, chunk, None).expect("decodes");
                assert_eq!(got.entries, expected(&entries), "chunk {chunk}");
            }
        }
    }

    #[test]
    fn stored_entries() {
        let entries = vec![
            ("s1.txt", b"{\"s\":1}\n".to_vec(), true),
            ("s2.txt", b"{\"s\":2}\n".repeat(1000), true),
            ("d.txt", b"{\"d\":1}\n".to_vec(), false),
        ];
        let with_sizes = build(&as_refs(&entries), Sizes::Header);
        let with_descriptors = build(&as_refs(&entries), Sizes::Descriptor32 { signature: true });
        for chunk in CHUNK_SIZES {
            let got = decode(Format::Zip, &with_sizes.bytes, chunk, None).expect("decodes");
            assert_eq!(got.entries, expected(&entries));
            // With the central directory, stored entries with descriptors are delimited.
            let central = Some(with_descriptors.central.clone());
            let got =
                decode(Format::Zip, &with_descriptors.bytes, chunk, central).expect("decodes");
            assert_eq!(got.entries, expected(&entries));
            // Without it (a pipe), it is a clear error.
            let err = decode(Format::Zip, &with_descriptors.bytes, chunk, None).expect_err("pipe");
            assert!(
                err.to_string().contains("test.input!s1.txt: byte offset 0"),
                "{err}"
            );
            assert!(
                err.to_string().contains("cannot be delimited in a stream"),
                "{err}"
            );
        }
    }

    #[test]
    fn damage_is_reported_with_entry_and_offset() {
        let entries = sample_entries();
        let built = build(&as_refs(&entries), Sizes::Descriptor32 { signature: true });
        let big_start = built
            .bytes
            .windows(7)
            .position(|w| w == b"big.txt")
            .expect("big entry")
            + 7;
        for chunk in CHUNK_SIZES {
            // Truncated in the middle of big.txt.
            let cut = &built.bytes[..big_start + 500];
            let err = decode(Format::Zip, cut, chunk, None).expect_err("truncated");
            assert!(
                err.to_string()
                    .starts_with("test.input!big.txt: byte offset"),
                "{err}"
            );
            assert!(
                err.to_string()
                    .contains("ends in the middle of deflate data"),
                "{err}"
            );

            // A wrong CRC in the descriptor of a.txt.
            let mut bad = built.bytes.clone();
            let desc = bad
                .windows(4)
                .position(|w| w == DESCRIPTOR.to_le_bytes())
                .expect("descriptor");
            bad[desc + 4] ^= 0xff;
            let err = decode(Format::Zip, &bad, chunk, None).expect_err("bad crc");
            assert!(err.to_string().contains("test.input!a.txt"), "{err}");
            assert!(err.to_string().contains("CRC-32 mismatch"), "{err}");

            // Garbage inside deflate data.
            let mut bad = built.bytes.clone();
            for b in &mut bad[big_start + 100..big_start + 140] {
                *b = 0xff;
            }
            let err = decode(Format::Zip, &bad, chunk, None).expect_err("corrupt");
            assert!(
                err.to_string()
                    .starts_with("test.input!big.txt: byte offset"),
                "{err}"
            );

            // Not a zip record where one should be.
            let mut bad = built.bytes.clone();
            bad[desc + 16] = b'X';
            let err = decode(Format::Zip, &bad, chunk, None).expect_err("signature");
            assert!(
                err.to_string().contains("CRC-32")
                    || err.to_string().contains("signature")
                    || err.to_string().contains("descriptor"),
                "{err}"
            );
        }
    }

    #[test]
    fn header_crc_mismatch_is_reported() {
        let entries = vec![("a.txt", b"{\"a\":1}\n".to_vec(), false)];
        let mut built = build(&as_refs(&entries), Sizes::Header);
        built.bytes[14] ^= 1;
        for chunk in CHUNK_SIZES {
            let err = decode(Format::Zip, &built.bytes, chunk, None).expect_err("crc");
            assert!(err.to_string().contains("test.input!a.txt"), "{err}");
            assert!(err.to_string().contains("CRC-32 mismatch"), "{err}");
        }
    }

    #[test]
    fn an_empty_archive_has_no_entries() {
        let built = build(&[], Sizes::Header);
        let got = decode(Format::Zip, &built.bytes, 1, None).expect("decodes");
        assert!(got.entries.is_empty());
    }

    #[test]
    fn reads_what_the_zip_crate_writes() {
        let mut cursor = std::io::Cursor::new(Vec::new());
        {
            let mut zip = ::zip::ZipWriter::new(&mut cursor);
            let deflated = ::zip::write::SimpleFileOptions::default()
                .compression_method(::zip::CompressionMethod::Deflated);
            let stored = deflated.compression_method(::zip::CompressionMethod::Stored);
            zip.start_file("one.txt", deflated).expect("start");
            zip.write_all(b"{\"x\":1}\n").expect("write");
            zip.start_file("two.txt", stored).expect("start");
            zip.write_all(b"{\"x\":2}\n").expect("write");
            zip.start_file("big64.txt", deflated.large_file(true))
                .expect("start");
            zip.write_all(&b"{\"x\":3}\n".repeat(5000)).expect("write");
            zip.finish().expect("finish");
        }
        let bytes = cursor.into_inner();
        for chunk in CHUNK_SIZES {
            let got = decode(Format::Zip, &bytes, chunk, None).expect("decodes");
            let names: Vec<_> = got
                .entries
                .iter()
                .map(|e| e.0.clone().unwrap_or_default())
                .collect();
            assert_eq!(names, vec!["one.txt", "two.txt", "big64.txt"]);
            assert_eq!(got.entries[2].1, b"{\"x\":3}\n".repeat(5000));
        }
    }
}
