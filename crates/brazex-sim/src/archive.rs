//! Writers that turn generated users into export files: NDJSON, one gzip, or
//! a Braze-like zip of NDJSON `.txt` entries.
//!
//! All of them stream: users are generated into a small buffer that is handed
//! to the writer whenever it fills, so an export of any size needs only a few
//! hundred KiB of memory. Outputs are deterministic byte for byte (fixed zip
//! timestamps, gzip header without mtime), so fixtures can be compared.

use std::io::{Seek, Write};
use std::ops::Range;

use flate2::write::GzEncoder;
use flate2::Compression;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::error::Result;
use crate::generate::UserGenerator;

/// Users per zip entry in a Braze export ("roughly one file per 5,000 users").
pub const DEFAULT_USERS_PER_ENTRY: u64 = 5_000;

/// The deflate level used for zip entries and gzip (zlib's default).
pub const COMPRESSION_LEVEL: u32 = 6;

/// Hand buffered output to the writer once it reaches this size: large
/// enough to amortise writer calls, small enough to stay in cache.
const FLUSH_AT: usize = 256 * 1024;

/// Generated users are never bigger than this; a zip entry whose users could
/// add up to 4 GiB or more is written with zip64 headers.
const MAX_USER_BYTES: u64 = 64 * 1024;

/// What a writer produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Users written.
    pub users: u64,
    /// Zip entries written (1 for NDJSON and gzip, which are one stream).
    pub entries: u64,
    /// Bytes of NDJSON before compression (users, each plus `\n`).
    pub ndjson_bytes: u64,
}

/// The name of zip entry `entry`: `00000.txt`, `00001.txt`, ... Braze does
/// not document entry names (readers must accept any), so plain numbers are
/// as good as anything and sort in user order.
pub fn entry_name(entry: u64) -> String {
    format!("{entry:05}.txt")
}

/// The user ranges of the entries of an export of `total_users`, at most
/// `users_per_entry` (0 counts as 1) users each; no entries for no users.
pub fn entry_ranges(total_users: u64, users_per_entry: u64) -> impl Iterator<Item = Range<u64>> {
    let per = users_per_entry.max(1);
    (0..total_users.div_ceil(per)).map(move |e| e * per..((e + 1) * per).min(total_users))
}

/// Generates `users` (any user indices, in the order given) and passes the
/// NDJSON to `sink` in chunks of about [`FLUSH_AT`] bytes; returns the number
/// of users and the number of bytes produced.
fn stream_users(
    gen: &UserGenerator,
    users: impl IntoIterator<Item = u64>,
    buf: &mut Vec<u8>,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<(u64, u64)> {
    let (mut count, mut total) = (0u64, 0u64);
    buf.clear();
    for index in users {
        gen.write_user(index, buf);
        buf.push(b'\n');
        count += 1;
        if buf.len() >= FLUSH_AT {
            sink(buf)?;
            total += buf.len() as u64;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        sink(buf)?;
        total += buf.len() as u64;
        buf.clear();
    }
    Ok((count, total))
}

/// Writes `users` as NDJSON: one user per line, each terminated by `\n`.
pub fn write_ndjson<W: Write>(
    gen: &UserGenerator,
    users: Range<u64>,
    mut w: W,
) -> Result<ExportSummary> {
    let count = users.end.saturating_sub(users.start);
    let mut buf = Vec::with_capacity(FLUSH_AT + MAX_USER_BYTES as usize);
    let (_, bytes) = stream_users(gen, users, &mut buf, |chunk| w.write_all(chunk))?;
    w.flush()?;
    Ok(ExportSummary {
        users: count,
        entries: 1,
        ndjson_bytes: bytes,
    })
}

/// Writes `users` as NDJSON inside one gzip stream (what Braze writes with
/// `output_format: "gzip"`). The gzip header carries no name and no mtime.
pub fn write_gzip<W: Write>(gen: &UserGenerator, users: Range<u64>, w: W) -> Result<ExportSummary> {
    let mut enc = GzEncoder::new(w, Compression::new(COMPRESSION_LEVEL));
    let summary = write_ndjson(gen, users, &mut enc)?;
    enc.finish()?.flush()?;
    Ok(summary)
}

/// Writes the users of `users` (any indices, in the order given) as NDJSON inside one
/// gzip stream: one `.gz` object of an export into the company's own bucket.
pub fn write_gzip_users<W: Write>(
    gen: &UserGenerator,
    users: impl IntoIterator<Item = u64>,
    w: W,
) -> Result<ExportSummary> {
    let mut enc = GzEncoder::new(w, Compression::new(COMPRESSION_LEVEL));
    let mut buf = Vec::with_capacity(FLUSH_AT + MAX_USER_BYTES as usize);
    let (count, bytes) = stream_users(gen, users, &mut buf, |chunk| enc.write_all(chunk))?;
    enc.finish()?.flush()?;
    Ok(ExportSummary {
        users: count,
        entries: 1,
        ndjson_bytes: bytes,
    })
}

/// Writes a Braze-like export zip of `total_users` users: entries
/// `00000.txt`, `00001.txt`, ... of `users_per_entry` users each (the last
/// one holds the rest; 0 counts as 1), deflated. No users gives an empty zip.
pub fn write_zip<W: Write + Seek>(
    gen: &UserGenerator,
    total_users: u64,
    users_per_entry: u64,
    w: W,
) -> Result<ExportSummary> {
    write_zip_entries(gen, entry_ranges(total_users, users_per_entry), w)
}

/// Writes a zip with one entry per range of users (named by position, see
/// [`entry_name`]). Ranges may have any sizes, including empty ones, to
/// mimic exports that split users unevenly ("small segments can still
/// produce many small files").
pub fn write_zip_entries<W, I>(gen: &UserGenerator, entries: I, w: W) -> Result<ExportSummary>
where
    W: Write + Seek,
    I: IntoIterator<Item = Range<u64>>,
{
    write_zip_users(gen, entries, w)
}

/// Writes a zip with one entry per list of user indices, in the order given
/// (named by position, see [`entry_name`]). This is [`write_zip_entries`] for
/// segments that are not a contiguous range of users, such as the
/// simulator's "users whose country is US". Given the same ranges, both
/// write the same bytes.
pub fn write_zip_users<W, I, J>(gen: &UserGenerator, entries: I, w: W) -> Result<ExportSummary>
where
    W: Write + Seek,
    I: IntoIterator<Item = J>,
    J: IntoIterator<Item = u64>,
{
    let mut zip = ZipWriter::new(w);
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(i64::from(COMPRESSION_LEVEL)))
        // A fixed timestamp keeps the archive bytes reproducible.
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(0o644);
    let mut summary = ExportSummary::default();
    let mut buf = Vec::with_capacity(FLUSH_AT + MAX_USER_BYTES as usize);
    for (e, users) in entries.into_iter().enumerate() {
        let users = users.into_iter();
        // The zip format needs zip64 headers for entries of 4 GiB or more,
        // decided before writing the entry; users have a bounded size. An
        // entry of unknown length is assumed to be large.
        let most = users.size_hint().1.map_or(u64::MAX, |n| n as u64);
        let large = most.saturating_mul(MAX_USER_BYTES) >= u64::from(u32::MAX);
        zip.start_file(entry_name(e as u64), base.large_file(large))?;
        let (count, bytes) = stream_users(gen, users, &mut buf, |c| zip.write_all(c))?;
        summary.ndjson_bytes += bytes;
        summary.users += count;
        summary.entries += 1;
    }
    zip.finish()?.flush()?;
    Ok(summary)
}
