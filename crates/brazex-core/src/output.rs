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
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".brazex-tmp");
        // A temporary file is private (0600); an output is for whoever loads it, so it
        // gets the mode any new file gets (0666 less the umask).
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder
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
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).expect("stat").permissions().mode();
            assert_ne!(
                mode & 0o044,
                0,
                "readable by others as umask allows: {mode:o}"
            );
        }

        let failed = dir.path().join("failed.ndjson");
        let mut f = AtomicFile::create(&failed).expect("create");
        f.write_all(b"partial").expect("write");
        drop(f);
        assert!(!failed.exists());
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(left.len(), 1, "only the committed file remains");
    }
}
