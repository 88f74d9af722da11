//! Output files that appear only when complete: written under a temporary name in the
//! destination's folder and renamed over it on success, removed on failure.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file being written under a temporary name.
#[derive(Debug)]
pub struct AtomicFile {
    dest: PathBuf,
    writer: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing what will become `dest`.
    pub fn create(dest: &Path) -> Result<AtomicFile> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".brazex-tmp")
            .tempfile_in(&dir)
            .map_err(|e| Error::io(format!("cannot create a file in {}", dir.display()), e))?;
        Ok(AtomicFile {
            dest: dest.to_path_buf(),
            writer: BufWriter::with_capacity(1 << 20, temp),
        })
    }

    /// The file itself, for writers that seek (a zip writer goes back to its headers).
    pub fn seekable(&mut self) -> Result<&mut std::fs::File> {
        self.writer
            .flush()
            .map_err(|e| Error::io(format!("cannot write {}", self.dest.display()), e))?;
        Ok(self.writer.get_mut().as_file_mut())
    }

    /// Flushes, syncs and renames the file to its destination.
    pub fn commit(self) -> Result<()> {
        let dest = self.dest;
        let what = || format!("cannot write {}", dest.display());
        let temp = self
            .writer
            .into_inner()
            .map_err(|e| Error::io(what(), e.into_error()))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::io(what(), e))?;
        temp.persist(&dest)
            .map_err(|e| Error::io(what(), e.error))?;
        Ok(())
    }
    // Dropping an uncommitted AtomicFile deletes the temporary file (NamedTempFile's Drop).
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_on_commit_and_never_on_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("out.ndjson");
        let mut f = AtomicFile::create(&dest).expect("create");
        f.write_all(b"{}\n").expect("write");
        assert!(!dest.exists());
        f.commit().expect("commit");
        assert_eq!(std::fs::read(&dest).expect("read"), b"{}\n");

        let failed = dir.path().join("failed.ndjson");
        let mut f = AtomicFile::create(&failed).expect("create");
        f.write_all(b"partial").expect("write");
        drop(f);
        assert!(!failed.exists());
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(left.len(), 1, "only the committed file remains");
    }
}
