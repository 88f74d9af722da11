//! The zip central directory, read from a file (or any source that can seek: an HTTP
//! URL answering ranged requests), for what a stream cannot tell, and for decoding
//! entries side by side.
//!
//! A stored entry written with a data descriptor has no length in its local header,
//! and stored bytes carry no end marker, so only the central directory can delimit
//! it. When the input is a file, brazex reads the directory first and the streaming
//! decoder looks each such entry up by its local header's offset.

use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};

use super::{le16, le32, le64};
use crate::error::ArchiveErrorKind;

/// What the central directory says of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CentralEntry {
    pub crc: u32,
    pub compressed: u64,
    pub uncompressed: u64,
}

/// The central directory's entries by the offset of their local header.
#[derive(Debug, Clone, Default)]
pub struct CentralDirectory {
    by_offset: HashMap<u64, CentralEntry>,
    /// Where the central directory starts: the end of the last entry's data.
    directory_offset: u64,
}

impl CentralDirectory {
    pub fn get(&self, local_header_offset: u64) -> Option<&CentralEntry> {
        self.by_offset.get(&local_header_offset)
    }

    pub fn len(&self) -> usize {
        self.by_offset.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_offset.is_empty()
    }

    /// Each entry's byte range in the archive, in archive order: from its local header
    /// to the next entry's (or to the central directory).
    pub fn entry_ranges(&self) -> Vec<std::ops::Range<u64>> {
        let mut starts: Vec<u64> = self.by_offset.keys().copied().collect();
        starts.sort_unstable();
        let ends = starts
            .iter()
            .skip(1)
            .copied()
            .chain([self.directory_offset]);
        starts.iter().zip(ends).map(|(&s, e)| s..e.max(s)).collect()
    }
}

/// Most entries a central directory may list (Braze writes about one per 5,000 users).
const MAX_ENTRIES: u64 = 10_000_000;

/// Reads the central directory of the zip file `file`.
pub fn read_central_directory<R: Read + Seek>(
    file: &mut R,
) -> Result<CentralDirectory, ArchiveErrorKind> {
    let bad = ArchiveErrorKind::BadCentralDirectory;
    let io = |_| bad("cannot read the end of the file");
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    // The end record (22 bytes) is followed by a comment of at most 65,535 bytes.
    let tail_len = len.min(22 + 65_535);
    file.seek(SeekFrom::Start(len - tail_len)).map_err(io)?;
    let mut tail = vec![0; tail_len as usize];
    file.read_exact(&mut tail).map_err(io)?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| le32(&tail, i) == 0x0605_4b50)
        .ok_or(bad("no end of central directory record"))?;
    let mut entries = u64::from(le16(&tail, eocd + 10));
    let mut offset = u64::from(le32(&tail, eocd + 16));
    if entries == 0xFFFF || offset == 0xFFFF_FFFF {
        // zip64: the locator sits right before the end record.
        let locator = eocd.checked_sub(20).ok_or(bad("no zip64 locator"))?;
        if le32(&tail, locator) != 0x0706_4b50 {
            return Err(bad("no zip64 locator"));
        }
        let record_at = le64(&tail, locator + 8);
        let mut record = [0u8; 56];
        file.seek(SeekFrom::Start(record_at)).map_err(io)?;
        file.read_exact(&mut record).map_err(io)?;
        if le32(&record, 0) != 0x0606_4b50 {
            return Err(bad("no zip64 end of central directory record"));
        }
        entries = le64(&record, 32);
        offset = le64(&record, 48);
    }
    if entries > MAX_ENTRIES {
        return Err(bad("more entries than brazex reads"));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    // Large reads: over HTTP each one is a request.
    let mut reader = BufReader::with_capacity(64 << 10, file);
    let mut by_offset = HashMap::with_capacity(entries as usize);
    let mut fixed = [0u8; 46];
    let mut variable = Vec::new();
    for _ in 0..entries {
        reader
            .read_exact(&mut fixed)
            .map_err(|_| bad("truncated entry"))?;
        if le32(&fixed, 0) != 0x0201_4b50 {
            return Err(bad("bad entry signature"));
        }
        let crc = le32(&fixed, 16);
        let mut compressed = u64::from(le32(&fixed, 20));
        let mut uncompressed = u64::from(le32(&fixed, 24));
        let name_len = usize::from(le16(&fixed, 28));
        let extra_len = usize::from(le16(&fixed, 30));
        let comment_len = usize::from(le16(&fixed, 32));
        let mut local = u64::from(le32(&fixed, 42));
        variable.resize(name_len + extra_len + comment_len, 0);
        reader
            .read_exact(&mut variable)
            .map_err(|_| bad("truncated entry"))?;
        // zip64 extra: the fields that are 0xFFFFFFFF above, in this order.
        let mut extra = &variable[name_len..name_len + extra_len];
        while extra.len() >= 4 {
            let id = le16(extra, 0);
            let size = usize::from(le16(extra, 2));
            let Some(body) = extra.get(4..4 + size) else {
                break;
            };
            if id == 0x0001 {
                let mut values = body.chunks_exact(8).map(|c| le64(c, 0));
                for field in [&mut uncompressed, &mut compressed, &mut local] {
                    if *field == 0xFFFF_FFFF {
                        *field = values.next().ok_or(bad("short zip64 extra field"))?;
                    }
                }
            }
            extra = &extra[4 + size..];
        }
        by_offset.insert(
            local,
            CentralEntry {
                crc,
                compressed,
                uncompressed,
            },
        );
    }
    Ok(CentralDirectory {
        by_offset,
        directory_offset: offset,
    })
}

impl CentralDirectory {
    /// A directory from a map of local header offsets (for tests and callers that
    /// learned the entries elsewhere).
    pub fn from_map(by_offset: HashMap<u64, CentralEntry>) -> CentralDirectory {
        CentralDirectory {
            by_offset,
            directory_offset: 0,
        }
    }
}
