//! Output files for warehouses: parts that rotate, compress, and appear only when
//! complete.
//!
//! A [`Parts`] writes `part-00000.<ext>`, `part-00001.<ext>` … in a folder (or one
//! file, or stdout), counting each part's rows and bytes and hashing it (SHA-256) for
//! the manifest. Parts are written into the run's [`Stage`], in a local folder or an
//! object store alike: a closed part stays invisible (a temporary name, a pending
//! upload) until the whole run commits, and a run that does not commit removes them
//! all ([`crate::Run`]), so a half-finished run leaves nothing a loader would pick up. [`ByteSink`] writes NDJSON or CSV blocks into parts, one [`Parts`] per table,
//! rotating exactly at `--rows-per-file` and `--max-file-bytes` on row boundaries.
//! The Parquet sink (`brazex-parquet`) uses [`Parts`] the same way.

use std::io::{self, BufWriter, Write};

use brazex_core::encode::{Rows, Sink};
use brazex_core::{Error, Result};
use sha2::{Digest, Sha256};

use crate::{Location, PartFile, Stage, Target};

/// `--compress` for NDJSON and CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compress {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compress {
    /// The file name suffix added by the compression (`.gz`, `.zst`).
    pub fn suffix(self) -> &'static str {
        match self {
            Compress::None => "",
            Compress::Gzip => ".gz",
            Compress::Zstd => ".zst",
        }
    }
}

/// How parts are cut.
#[derive(Debug, Clone, Default)]
pub struct PartOptions {
    /// Extension of each part, without compression suffix: `ndjson`, `csv`, `parquet`.
    pub ext: String,
    pub compress: Compress,
    /// Close a part once it holds this many rows (folders only).
    pub rows_per_file: Option<u64>,
    /// Close a part before it would exceed this many bytes (folders only; before
    /// compression for compressed parts, estimated by the writer for Parquet).
    pub max_file_bytes: Option<u64>,
}

/// A closed part, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileEntry {
    /// Path relative to the output folder (or the file's path).
    pub path: String,
    pub rows: u64,
    /// Bytes of the file as written (compressed).
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

/// The bottom of a part: counts and hashes what reaches the file.
struct Hashing {
    dest: Dest,
    hash: Sha256,
    bytes: u64,
}

enum Dest {
    File(PartFile),
    Stdout(BufWriter<io::Stdout>),
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.dest {
            Dest::File(f) => f.write(buf)?,
            Dest::Stdout(s) => s.write(buf)?,
        };
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.dest {
            Dest::File(f) => f.flush(),
            Dest::Stdout(s) => s.flush(),
        }
    }
}

/// One part being written: what a format writes into (compressing if asked).
pub struct PartWriter {
    inner: Compressor,
    /// Bytes given to this writer (before compression).
    pub written: u64,
    /// Rows in this part so far (kept by the format's sink).
    pub rows: u64,
    path: String,
    /// Where the part goes (its full path, or `<stdout>`), for error messages.
    dest: String,
}

enum Compressor {
    Plain(Hashing),
    Gzip(flate2::write::GzEncoder<Hashing>),
    Zstd(zstd::Encoder<'static, Hashing>),
}

impl std::fmt::Debug for PartWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartWriter")
            .field("path", &self.path)
            .field("written", &self.written)
            .field("rows", &self.rows)
            .finish()
    }
}

impl Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            Compressor::Plain(w) => w.write(buf)?,
            Compressor::Gzip(w) => w.write(buf)?,
            Compressor::Zstd(w) => w.write(buf)?,
        };
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Compressor::Plain(w) => w.flush(),
            Compressor::Gzip(w) => w.flush(),
            Compressor::Zstd(w) => w.flush(),
        }
    }
}

impl PartWriter {
    /// Where the part goes (its full path, or `<stdout>`), for error messages.
    pub fn dest(&self) -> &str {
        &self.dest
    }

    /// Writes `bytes`; an error names the part.
    pub fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.write_all(bytes)
            .map_err(|e| Error::io(format!("cannot write {}", self.dest), e))
    }

    /// Ends compression, renames the file to its final name and describes it.
    pub fn close(self) -> Result<FileEntry> {
        let what = |e| Error::io(format!("cannot write {}", self.dest), e);
        let mut hashing = match self.inner {
            Compressor::Plain(w) => w,
            Compressor::Gzip(w) => w.finish().map_err(what)?,
            Compressor::Zstd(w) => w.finish().map_err(what)?,
        };
        hashing.flush().map_err(what)?;
        match hashing.dest {
            Dest::File(f) => f.finish()?,
            Dest::Stdout(mut s) => s.flush().map_err(what)?,
        }
        Ok(FileEntry {
            path: self.path,
            rows: self.rows,
            bytes: hashing.bytes,
            sha256: hex(&hashing.hash.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The parts of one table.
#[derive(Debug)]
pub struct Parts {
    target: Target,
    options: PartOptions,
    /// Folder part names are relative to (for the manifest).
    base: Option<Location>,
    stage: Stage,
    next: u32,
    current: Option<PartWriter>,
    done: Vec<FileEntry>,
}

impl Parts {
    /// Parts of `target`, written into `stage`; with a folder, `base` is the folder
    /// the manifest lives in (the target itself, or its parent for `--tables`
    /// subfolders).
    pub fn new(
        target: Target,
        options: PartOptions,
        base: Option<Location>,
        stage: Stage,
    ) -> Result<Parts> {
        if let Target::Dir(dir) = &target {
            stage.create_dir_all(dir)?;
        }
        Ok(Parts {
            target,
            options,
            base,
            stage,
            next: 0,
            current: None,
            done: Vec::new(),
        })
    }

    pub fn is_dir(&self) -> bool {
        matches!(self.target, Target::Dir(_))
    }

    pub fn options(&self) -> &PartOptions {
        &self.options
    }

    /// The part being written, if one is open.
    pub fn current(&mut self) -> Option<&mut PartWriter> {
        self.current.as_mut()
    }

    /// Opens the next part (closing none: call [`Parts::close_current`] first).
    pub fn open(&mut self) -> Result<&mut PartWriter> {
        let (dest, path) = match &self.target {
            Target::Stdout => (
                Dest::Stdout(BufWriter::with_capacity(1 << 20, io::stdout())),
                "<stdout>".to_string(),
            ),
            Target::File(at) => (Dest::File(self.stage.create(at)?), at.to_string()),
            Target::Postgres(_) => {
                return Err(brazex_core::Error::Internal(
                    "a database is not written in parts",
                ))
            }
            Target::Dir(dir) => {
                let name = format!(
                    "part-{:05}.{}{}",
                    self.next,
                    self.options.ext,
                    self.options.compress.suffix()
                );
                let at = dir.join(&name);
                let shown = self
                    .base
                    .as_ref()
                    .and_then(|base| at.relative_to(base))
                    .unwrap_or(name);
                (Dest::File(self.stage.create(&at)?), shown)
            }
        };
        self.next += 1;
        let dest_shown = match &dest {
            Dest::File(file) => file.dest(),
            Dest::Stdout(_) => path.clone(),
        };
        let hashing = Hashing {
            dest,
            hash: Sha256::new(),
            bytes: 0,
        };
        let inner = match self.options.compress {
            Compress::None => Compressor::Plain(hashing),
            Compress::Gzip => Compressor::Gzip(flate2::write::GzEncoder::new(
                hashing,
                flate2::Compression::default(),
            )),
            Compress::Zstd => Compressor::Zstd(
                zstd::Encoder::new(hashing, 3)
                    .map_err(|e| Error::io(format!("cannot start zstd for {path}"), e))?,
            ),
        };
        let dest = dest_shown;
        Ok(self.current.insert(PartWriter {
            inner,
            written: 0,
            rows: 0,
            path,
            dest,
        }))
    }

    /// Hands the open part to a format writer that wraps it (Parquet), to be given
    /// back with [`Parts::close_part`].
    pub fn take_current(&mut self) -> Option<PartWriter> {
        self.current.take()
    }

    /// Closes a part taken with [`Parts::take_current`].
    pub fn close_part(&mut self, part: PartWriter) -> Result<()> {
        let entry = part.close()?;
        self.done.push(entry);
        Ok(())
    }

    /// Closes the open part, if any.
    pub fn close_current(&mut self) -> Result<()> {
        match self.current.take() {
            Some(part) => self.close_part(part),
            None => Ok(()),
        }
    }

    /// True when a part holding `part_rows` rows and `part_bytes` bytes must be closed
    /// before `rows` more rows of `bytes` more bytes are added (never for an empty part: a row larger than the limit
    /// gets a part of its own).
    pub fn is_full(&self, part_rows: u64, part_bytes: u64, rows: u64, bytes: u64) -> bool {
        if !self.is_dir() || part_rows == 0 {
            return false;
        }
        self.options
            .rows_per_file
            .is_some_and(|limit| part_rows + rows > limit)
            || self
                .options
                .max_file_bytes
                .is_some_and(|limit| part_bytes + bytes > limit)
    }

    /// Closes the last part and returns every part written (they become visible
    /// when the run commits).
    pub fn finish(mut self) -> Result<Vec<FileEntry>> {
        self.close_current()?;
        Ok(std::mem::take(&mut self.done))
    }

    /// The parts closed so far.
    pub fn done(&self) -> &[FileEntry] {
        &self.done
    }

    /// The folder the manifest names parts relative to.
    pub fn base(&self) -> Option<&Location> {
        self.base.as_ref()
    }
}

/// Writes NDJSON or CSV blocks (one [`Rows`] per table) into parts.
#[derive(Debug)]
pub struct ByteSink {
    tables: Vec<(Parts, Option<Vec<u8>>)>,
}

impl ByteSink {
    /// One [`Parts`] per table, each with the header its parts start with (CSV).
    pub fn new(tables: Vec<(Parts, Option<Vec<u8>>)>) -> ByteSink {
        ByteSink { tables }
    }

    fn write_rows(parts: &mut Parts, header: &Option<Vec<u8>>, rows: &Rows) -> Result<()> {
        let mut start = 0;
        let mut row = 0;
        let count = rows.ends.len();
        if count == 0 && parts.current.is_none() && parts.done.is_empty() {
            return Ok(());
        }
        while row < count {
            if parts.current.is_none() {
                let part = parts.open()?;
                if let Some(header) = header {
                    part.put(header)?;
                }
            }
            // As many rows as fit in the open part.
            let (part_rows, part_written) = parts
                .current
                .as_ref()
                .map_or((0, 0), |p| (p.rows, p.written));
            let mut end_row = row;
            let mut added_bytes = 0u64;
            while end_row < count {
                let begin = if end_row == 0 {
                    0
                } else {
                    rows.ends[end_row - 1]
                };
                let len = (rows.ends[end_row] - begin) as u64;
                let in_part = part_rows + (end_row - row) as u64;
                if parts.is_full(in_part, part_written + added_bytes, 1, len) {
                    break;
                }
                added_bytes += len;
                end_row += 1;
            }
            let part = parts
                .current
                .as_mut()
                .ok_or(Error::Internal("no part is open"))?;
            if end_row > row {
                let stop = rows.ends[end_row - 1];
                part.put(&rows.data[start..stop])?;
                part.rows += (end_row - row) as u64;
                start = stop;
                row = end_row;
            }
            if row < count {
                parts.close_current()?;
            }
        }
        Ok(())
    }

    /// Closes every table's last part; returns each table's parts, in table order.
    pub fn finish(self) -> Result<Vec<Vec<FileEntry>>> {
        let mut all = Vec::with_capacity(self.tables.len());
        for (mut parts, header) in self.tables {
            if parts.current.is_none() && parts.done.is_empty() {
                // No rows: an empty part (with its header) still shows the table.
                let part = parts.open()?;
                if let Some(header) = &header {
                    part.put(header)?;
                }
            }
            all.push(parts.finish()?);
        }
        Ok(all)
    }
}

impl Sink<Vec<Rows>> for ByteSink {
    fn write_block(&mut self, block: Vec<Rows>, _rows: u64) -> Result<()> {
        for ((parts, header), rows) in self.tables.iter_mut().zip(&block) {
            ByteSink::write_rows(parts, header, rows)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Run, StoreOptions};
    use std::path::Path;

    /// A run claiming folder `out`, and the parts of one table in it.
    fn folder_parts(out: &Path, options: PartOptions) -> (Run, Parts) {
        let staging = Run::new(StoreOptions::default());
        let dir = Location::Path(out.to_path_buf());
        staging.claim_dir(&dir).expect("claim");
        let parts = Parts::new(
            Target::Dir(dir.clone()),
            options,
            Some(dir),
            staging.stage(),
        )
        .expect("parts");
        (staging, parts)
    }

    fn rows(lines: &[&str]) -> Rows {
        let mut r = Rows::default();
        for l in lines {
            r.data.extend_from_slice(l.as_bytes());
            r.ends.push(r.data.len());
        }
        r
    }

    #[test]
    fn rotates_on_rows_and_bytes_and_hashes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let options = PartOptions {
            ext: "csv".into(),
            rows_per_file: Some(3),
            max_file_bytes: Some(12),
            ..PartOptions::default()
        };
        let (staging, parts) = folder_parts(&out, options);
        let mut sink = ByteSink::new(vec![(parts, Some(b"h\n".to_vec()))]);
        sink.write_block(vec![rows(&["a\n", "b\n", "c\n", "d\n"])], 4)
            .expect("write");
        sink.write_block(vec![rows(&["eeeeeeeeeeeeeeeeeeee\n", "f\n"])], 2)
            .expect("write");
        let files = sink.finish().expect("finish").remove(0);
        staging.commit().expect("commit");
        let names: Vec<(&str, u64)> = files.iter().map(|f| (f.path.as_str(), f.rows)).collect();
        assert_eq!(
            names,
            vec![
                ("part-00000.csv", 3),
                ("part-00001.csv", 1),
                ("part-00002.csv", 1),
                ("part-00003.csv", 1)
            ]
        );
        assert_eq!(
            std::fs::read(out.join("part-00000.csv")).expect("read"),
            b"h\na\nb\nc\n"
        );
        assert_eq!(files[0].bytes, 8);
        assert_eq!(files[0].sha256, hex(&Sha256::digest(b"h\na\nb\nc\n")),);
    }

    #[test]
    fn an_unfinished_run_leaves_no_parts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let options = PartOptions {
            ext: "ndjson".into(),
            compress: Compress::Gzip,
            rows_per_file: Some(1),
            ..PartOptions::default()
        };
        let (staging, parts) = folder_parts(&out, options);
        let mut sink = ByteSink::new(vec![(parts, None)]);
        sink.write_block(vec![rows(&["{}\n", "{}\n"])], 2)
            .expect("write");
        // A closed part waits under its temporary name for the run to commit.
        assert!(!out.join("part-00000.ndjson.gz").exists());
        let temporaries = std::fs::read_dir(&out)
            .expect("list")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".brazex-tmp"))
            })
            .count();
        assert_eq!(temporaries, 2, "one closed part, one open");
        drop(sink);
        drop(staging);
        assert!(!out.exists(), "the folder the run created is gone too");
    }
}
