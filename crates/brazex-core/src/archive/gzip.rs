//! Streaming gzip decoder: one or more concatenated members, one entry in all.
//!
//! Each member's header is parsed (with its optional extra, name, comment and header
//! CRC), its deflate data inflated, and its CRC-32 and length checked. Members follow
//! each other until the input ends; zero bytes after the last member (tape padding)
//! are accepted, anything else is an error.

use std::sync::Arc;

use flate2::{Decompress, Status};

use super::{
    archive_error, hand_over, inflate_next, le16, le32, EntrySink, Pending, INFLATE_CHUNK,
    MAX_HEADER_BYTES,
};
use crate::error::{ArchiveErrorKind, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Deflate,
    Trailer,
    /// Only zero bytes may follow.
    Padding,
}

/// The streaming gzip decoder.
pub struct GzipDecoder {
    input: Arc<str>,
    state: State,
    offset: u64,
    pending: Pending,
    inflate: Decompress,
    out: Vec<u8>,
    crc: crc32fast::Hasher,
    member_len: u64,
    members: u64,
    started: bool,
}

impl std::fmt::Debug for GzipDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipDecoder")
            .field("input", &self.input)
            .field("state", &self.state)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl GzipDecoder {
    pub fn new(input: Arc<str>) -> GzipDecoder {
        GzipDecoder {
            input,
            state: State::Header,
            offset: 0,
            pending: Pending::default(),
            inflate: Decompress::new(false),
            out: vec![0; INFLATE_CHUNK],
            crc: crc32fast::Hasher::new(),
            member_len: 0,
            members: 0,
            started: false,
        }
    }

    pub fn feed(&mut self, bytes: &[u8], sink: &mut dyn EntrySink) -> Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let result = pending.feed(bytes, |data| self.process(data, sink));
        self.pending = pending;
        result?;
        if self.pending.len() > MAX_HEADER_BYTES {
            return Err(self.error(ArchiveErrorKind::HeaderTooLarge {
                limit: MAX_HEADER_BYTES,
            }));
        }
        Ok(())
    }

    pub fn finish(&mut self, sink: &mut dyn EntrySink) -> Result<()> {
        let left = self.pending.len();
        match self.state {
            State::Header if self.members > 0 && left == 0 => {}
            State::Padding => {}
            State::Header if self.members == 0 => {
                return Err(self.error(ArchiveErrorKind::Truncated("the gzip header")))
            }
            State::Header => {
                return Err(self.error(ArchiveErrorKind::TrailingGarbage));
            }
            State::Deflate => return Err(self.error(ArchiveErrorKind::Truncated("deflate data"))),
            State::Trailer => {
                return Err(self.error(ArchiveErrorKind::Truncated("the gzip trailer")))
            }
        }
        if self.started {
            sink.end_entry()?;
        }
        Ok(())
    }

    fn error(&self, kind: ArchiveErrorKind) -> Error {
        archive_error(&self.input, None, self.offset, kind)
    }

    fn process(&mut self, data: &[u8], sink: &mut dyn EntrySink) -> Result<usize> {
        let mut used = 0;
        loop {
            let rest = &data[used..];
            let step = match self.state {
                State::Header => self.header(rest, sink)?,
                State::Deflate => self.deflate(rest, sink)?,
                State::Trailer => self.trailer(rest)?,
                State::Padding => match rest.iter().position(|&b| b != 0) {
                    None => Some(rest.len()).filter(|&n| n > 0),
                    Some(at) => {
                        self.offset += at as u64;
                        return Err(self.error(ArchiveErrorKind::TrailingGarbage));
                    }
                },
            };
            let Some(n) = step else {
                return Ok(used);
            };
            used += n;
            self.offset += n as u64;
        }
    }

    fn header(&mut self, data: &[u8], sink: &mut dyn EntrySink) -> Result<Option<usize>> {
        if data.is_empty() {
            return Ok(None);
        }
        if self.members > 0 && data[0] == 0 {
            self.state = State::Padding;
            return Ok(Some(0));
        }
        if data.len() >= 2 && (data[0], data[1]) != (0x1f, 0x8b) {
            return Err(if self.members == 0 {
                self.error(ArchiveErrorKind::BadGzipHeader("not a gzip member"))
            } else {
                self.error(ArchiveErrorKind::TrailingGarbage)
            });
        }
        let Some(len) =
            header_len(data).map_err(|e| self.error(ArchiveErrorKind::BadGzipHeader(e)))?
        else {
            return Ok(None);
        };
        if !self.started {
            self.started = true;
            sink.start_entry(None)?;
        }
        self.inflate.reset(false);
        self.crc = crc32fast::Hasher::new();
        self.member_len = 0;
        self.state = State::Deflate;
        Ok(Some(len))
    }

    fn deflate(&mut self, data: &[u8], sink: &mut dyn EntrySink) -> Result<Option<usize>> {
        let before_in = self.inflate.total_in();
        let before_out = self.inflate.total_out();
        // Straight into the sink's buffer when it lends one: no copy of the bytes.
        let (status, lent) = inflate_next(
            &mut self.inflate,
            data,
            sink.buffer(),
            Some(&mut self.crc),
            &mut self.out,
        );
        let consumed = (self.inflate.total_in() - before_in) as usize;
        let produced = (self.inflate.total_out() - before_out) as usize;
        // What inflate produced before it found the damage is handed on first: the
        // lines before the damage are then the same however the input was chunked.
        if produced > 0 {
            self.member_len += produced as u64;
            hand_over(sink, lent, &self.out, produced)?;
        }
        let status = status.map_err(|_| {
            archive_error(
                &self.input,
                None,
                self.offset + consumed as u64,
                ArchiveErrorKind::CorruptDeflate,
            )
        })?;
        if status == Status::StreamEnd {
            self.state = State::Trailer;
        } else if consumed == 0 && produced == 0 {
            return Ok(None);
        }
        Ok(Some(consumed))
    }

    fn trailer(&mut self, data: &[u8]) -> Result<Option<usize>> {
        if data.len() < 8 {
            return Ok(None);
        }
        let crc = self.crc.clone().finalize();
        let expected = le32(data, 0);
        if expected != crc {
            return Err(self.error(ArchiveErrorKind::CrcMismatch {
                expected,
                actual: crc,
            }));
        }
        let size = le32(data, 4);
        // ISIZE is the length modulo 2^32.
        if size != self.member_len as u32 {
            return Err(self.error(ArchiveErrorKind::SizeMismatch {
                what: "uncompressed data (modulo 2^32)",
                expected: u64::from(size),
                actual: self.member_len & 0xFFFF_FFFF,
            }));
        }
        self.members += 1;
        self.state = State::Header;
        Ok(Some(8))
    }
}

/// The length of the gzip header at the start of `data`, or `None` if incomplete.
fn header_len(data: &[u8]) -> Result<Option<usize>, &'static str> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    if data.len() < 10 {
        return Ok(None);
    }
    if data[2] != 8 {
        return Err("compression method is not deflate");
    }
    let flags = data[3];
    if flags & 0xE0 != 0 {
        return Err("reserved flag bits are set");
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        if data.len() < at + 2 {
            return Ok(None);
        }
        at += 2 + usize::from(le16(data, at));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            match data.get(at..).and_then(|d| memchr::memchr(0, d)) {
                Some(zero) => at += zero + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    Ok((data.len() >= at).then_some(at))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::test_support::{decode, CHUNK_SIZES};
    use super::super::Format;

    fn gzip(data: &[u8], name: Option<&str>) -> Vec<u8> {
        let mut builder = flate2::GzBuilder::new()
            .comment("a comment")
            .extra(vec![1, 2, 3]);
        if let Some(name) = name {
            builder = builder.filename(name);
        }
        let mut enc = builder.write(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).expect("gzip");
        enc.finish().expect("gzip")
    }

    #[test]
    fn single_and_multi_member() {
        let one = b"{\"a\":1}\n{\"a\":2}\n".repeat(3000);
        let two = b"{\"b\":1}\n".to_vec();
        let mut multi = gzip(&one, Some("one.txt"));
        multi.extend(gzip(&two, None));
        multi.extend(gzip(b"", None));
        let mut padded = multi.clone();
        padded.extend([0u8; 100]);
        for chunk in CHUNK_SIZES {
            let got = decode(Format::Gzip, &gzip(&one, None), chunk, None).expect("single");
            assert_eq!(got.entries, vec![(None, one.clone())]);
            let want = [one.clone(), two.clone()].concat();
            let got = decode(Format::Gzip, &multi, chunk, None).expect("multi");
            assert_eq!(got.entries, vec![(None, want.clone())]);
            let got = decode(Format::Gzip, &padded, chunk, None).expect("padded");
            assert_eq!(got.entries, vec![(None, want)]);
        }
    }

    #[test]
    fn damage_is_reported_with_offset() {
        let data = b"{\"a\":1}\n".repeat(1000);
        let good = gzip(&data, None);
        for chunk in CHUNK_SIZES {
            let err = decode(Format::Gzip, &good[..good.len() - 4], chunk, None).expect_err("cut");
            assert!(err.to_string().contains("gzip trailer"), "{err}");

            let mut bad = good.clone();
            let n = bad.len();
            bad[n - 8] ^= 1;
            let err = decode(Format::Gzip, &bad, chunk, None).expect_err("crc");
            assert_eq!(
                err.to_string().split(": ").take(2).collect::<Vec<_>>(),
                vec!["test.input", &format!("byte offset {}", n - 8)]
            );
            assert!(err.to_string().contains("CRC-32 mismatch"), "{err}");

            let mut garbage = good.clone();
            garbage.extend_from_slice(b"hello");
            let err = decode(Format::Gzip, &garbage, chunk, None).expect_err("garbage");
            assert!(err.to_string().contains("trailing data"), "{err}");

            let mut corrupt = good.clone();
            corrupt[30..60].fill(0xff);
            assert!(decode(Format::Gzip, &corrupt, chunk, None).is_err());
        }
    }
}
