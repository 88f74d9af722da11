//! Local output files that appear only when the whole run commits.
//!
//! A run's files (parts, a single `-o FILE`, `--errors-to`, the manifest) are written
//! under temporary names beside their destinations, `.NAME.RANDOM.brazex-tmp`, and
//! stay there, complete or not, until the run commits: then each is renamed to its
//! name, the manifest last, as Spark's and Hadoop's output committers do. So a loader
//! globbing `out/*.parquet` never sees part of a run, not even one killed with
//! SIGKILL or by the OOM killer, which cannot clean up.
//!
//! A [`Staging`] is that run: it knows every temporary it made, renames them all on
//! [`Staging::commit`], and otherwise removes them (on drop, or from the signal
//! handler through `brazex_core::cancel`), together with any file it had already renamed
//! when the commit itself was cut short, and the folders it created.
//!
//! Each destination is claimed first: a lock file (`DIR/.brazex-lock` for a folder,
//! `.NAME.brazex-lock` beside a file) held with an advisory lock for the run's life,
//! so two runs never write the same destination, and temporaries matching brazex's
//! pattern there can only be left by a run that died: the claim removes them and
//! says so ([`Staging::take_cleaned`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use brazex_core::cancel::{self, Registration, Undo, Undone};
use brazex_core::{Error, Result};

/// The suffix of every temporary brazex writes.
pub const TEMP_SUFFIX: &str = ".brazex-tmp";

/// The lock file of a folder target.
const DIR_LOCK: &str = ".brazex-lock";

/// The files of one run, written under temporary names until it commits.
#[derive(Debug)]
pub struct Staging {
    shared: Arc<Shared>,
    _registration: Registration,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    files: Vec<Staged>,
    /// Folders this run created (removed again if the run is undone and they are empty).
    created_dirs: Vec<PathBuf>,
    /// Destinations claimed: folders (whose files need no claim of their own) and files.
    claimed_dirs: Vec<PathBuf>,
    locks: Vec<(PathBuf, File)>,
    /// Stale temporaries removed by the claims, not yet reported.
    cleaned: Vec<PathBuf>,
    /// Committed, or undone: nothing more to do.
    settled: bool,
}

#[derive(Debug)]
struct Staged {
    id: u64,
    temp: PathBuf,
    dest: PathBuf,
    finished: bool,
    /// Renamed to `dest` by a commit that has not completed yet.
    renamed: bool,
}

impl Default for Staging {
    fn default() -> Self {
        Staging::new()
    }
}

impl Staging {
    /// A new run with nothing written yet.
    pub fn new() -> Staging {
        let shared = Arc::new(Shared::default());
        let undo: Arc<dyn Undo> = shared.clone();
        Staging {
            _registration: cancel::register(&undo),
            shared,
        }
    }

    /// A handle that writes files into this run (for the sinks that cut parts).
    pub fn stage(&self) -> Stage {
        Stage {
            shared: self.shared.clone(),
        }
    }

    /// Claims a folder target: see [`Stage::claim_dir`].
    pub fn claim_dir(&self, dir: &Path) -> Result<()> {
        self.stage().claim_dir(dir)
    }

    /// Starts writing what will become `dest`: see [`Stage::create`].
    pub fn create(&self, dest: &Path) -> Result<StagedFile> {
        self.stage().create(dest)
    }

    /// The stale temporaries the claims removed since the last call, to report.
    pub fn take_cleaned(&self) -> Vec<PathBuf> {
        std::mem::take(&mut self.shared.lock().cleaned)
    }

    /// Renames every finished file to its destination, in the order they were
    /// created (so a manifest created last appears last), syncs their folders, and
    /// releases the claims. Cut short (an error, a signal), what it renamed is
    /// removed again with the rest.
    pub fn commit(self) -> Result<()> {
        cancel::check()?;
        let shared = self.shared.clone();
        let mut state = shared.lock();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for i in 0..state.files.len() {
            if !state.files[i].finished {
                continue;
            }
            let (temp, dest) = (state.files[i].temp.clone(), state.files[i].dest.clone());
            std::fs::rename(&temp, &dest)
                .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
            state.files[i].renamed = true;
            let (dir, _) = split(&dest);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        for dir in dirs {
            sync_dir(&dir).map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e))?;
        }
        state.settled = true;
        release_locks(&mut state);
        Ok(())
    }
}

/// Writes files into a [`Staging`] run; cloned into each sink that cuts parts.
#[derive(Debug, Clone)]
pub struct Stage {
    shared: Arc<Shared>,
}

impl Stage {
    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// Claims a folder target: creates it (remembering that it did), locks it against
    /// other runs, and removes the temporaries a run that died left in it (and in its
    /// subfolders: `--tables`).
    pub fn claim_dir(&self, dir: &Path) -> Result<()> {
        self.create_dir_all(dir)?;
        let lock = lock(&dir.join(DIR_LOCK), dir)?;
        let mut cleaned = Vec::new();
        remove_stale(dir, 2, &|_| true, &mut cleaned)?;
        let mut state = self.state();
        state.locks.push((dir.join(DIR_LOCK), lock));
        state.claimed_dirs.push(dir.to_path_buf());
        state.cleaned.extend(cleaned);
        Ok(())
    }

    /// Claims one file's destination (done by [`Staging::create`] for a file outside
    /// every claimed folder): locks it and removes its stale temporaries.
    fn claim_file(&self, dest: &Path) -> Result<()> {
        let (dir, name) = split(dest);
        let lock_path = dir.join(format!(".{name}.brazex-lock"));
        let lock = lock(&lock_path, dest)?;
        let prefix = format!(".{name}.");
        let mut cleaned = Vec::new();
        remove_stale(&dir, 1, &|n| n.starts_with(&prefix), &mut cleaned)?;
        let mut state = self.state();
        state.locks.push((lock_path, lock));
        state.cleaned.extend(cleaned);
        Ok(())
    }

    /// Creates `dir` and its parents, remembering the ones this run created.
    pub fn create_dir_all(&self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(path) = at.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            missing.push(path.to_path_buf());
            at = path.parent();
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        // Outermost first, so that an undo (in reverse) removes the innermost first.
        let mut state = self.state();
        state.created_dirs.extend(missing.into_iter().rev());
        Ok(())
    }

    /// Starts writing what will become `dest` when the run commits. A `dest` that is
    /// a device, a pipe or a socket (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is
    /// written in place, as it goes: there is nothing to stage, and renaming a file
    /// over `/dev/null` would replace the device.
    pub fn create(&self, dest: &Path) -> Result<StagedFile> {
        let special = std::fs::metadata(dest)
            .map(|m| !m.file_type().is_file() && !m.file_type().is_dir())
            .unwrap_or(false);
        if special {
            let file = OpenOptions::new()
                .write(true)
                .open(dest)
                .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
            return Ok(StagedFile {
                writer: Some(BufWriter::with_capacity(
                    1 << 20,
                    WriteBehind::new(file, false),
                )),
                dest: dest.to_path_buf(),
                temp: dest.to_path_buf(),
                id: u64::MAX,
                shared: self.shared.clone(),
                in_place: true,
            });
        }
        let inside_claimed = self
            .state()
            .claimed_dirs
            .iter()
            .any(|dir| dest.starts_with(dir));
        if !inside_claimed {
            self.claim_file(dest)?;
        }
        let (file, temp) = create_temp(dest)?;
        let id = {
            let mut state = self.state();
            let id = state.files.len() as u64;
            state.files.push(Staged {
                id,
                temp: temp.clone(),
                dest: dest.to_path_buf(),
                finished: false,
                renamed: false,
            });
            id
        };
        Ok(StagedFile {
            writer: Some(BufWriter::with_capacity(
                1 << 20,
                WriteBehind::new(file, true),
            )),
            dest: dest.to_path_buf(),
            temp,
            id,
            shared: self.shared.clone(),
            in_place: false,
        })
    }
}

impl Drop for Staging {
    /// A run that did not commit removes everything it wrote.
    fn drop(&mut self) {
        cancel::record(self.shared.undo());
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere does not stop the cleanup: the state stays consistent
        // under the lock (each step is one push or one flag).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Undo for Shared {
    fn undo(&self) -> Undone {
        let mut state = self.lock();
        let mut undone = Undone::default();
        if state.settled {
            return undone;
        }
        state.settled = true;
        for file in state.files.drain(..) {
            let path = if file.renamed { &file.dest } else { &file.temp };
            match std::fs::remove_file(path) {
                Ok(()) => undone.removed.push(path.display().to_string()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => undone.left.push(format!("{}: {e}", path.display())),
            }
        }
        release_locks(&mut state);
        // Innermost first; a folder that holds anything else stays.
        for dir in state.created_dirs.drain(..).rev() {
            let _ = std::fs::remove_dir(&dir);
        }
        undone
    }
}

fn release_locks(state: &mut State) {
    for (path, file) in state.locks.drain(..) {
        // Removed while still held, so that no other run can take it between.
        let _ = std::fs::remove_file(&path);
        drop(file);
    }
}

/// A file being written under its temporary name.
#[derive(Debug)]
pub struct StagedFile {
    writer: Option<BufWriter<WriteBehind>>,
    dest: PathBuf,
    temp: PathBuf,
    id: u64,
    shared: Arc<Shared>,
    /// A device or a pipe, written directly (see [`Stage::create`]): never
    /// renamed, synced or removed.
    in_place: bool,
}

impl StagedFile {
    /// Where the file goes when the run commits.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    fn writer(&mut self) -> io::Result<&mut BufWriter<WriteBehind>> {
        self.writer
            .as_mut()
            .ok_or_else(|| io::Error::other("the file was already finished"))
    }

    /// The file itself, for writers that seek (a zip writer goes back to its headers).
    pub fn seekable(&mut self) -> Result<&mut File> {
        let dest = self.dest.display().to_string();
        let writer = self
            .writer()
            .map_err(|e| Error::io(format!("cannot write {dest}"), e))?;
        writer
            .flush()
            .map_err(|e| Error::io(format!("cannot write {dest}"), e))?;
        let behind = writer.get_mut();
        // Writes after a seek are not where the count says: no more write-behind.
        behind.on = false;
        Ok(&mut behind.file)
    }

    /// Flushes and syncs the file: complete, it waits under its temporary name for
    /// the run to commit.
    pub fn finish(mut self) -> Result<()> {
        let what = |e| Error::io(format!("cannot write {}", self.dest.display()), e);
        let writer = self
            .writer
            .take()
            .ok_or_else(|| what(io::Error::other("finished twice")))?;
        let file = writer.into_inner().map_err(|e| what(e.into_error()))?.file;
        if self.in_place {
            return Ok(());
        }
        file.sync_all().map_err(what)?;
        let mut state = self.shared.lock();
        if let Some(staged) = state.files.iter_mut().find(|f| f.id == self.id) {
            staged.finished = true;
        }
        Ok(())
    }
}

impl Drop for StagedFile {
    /// A file given up before it was finished is removed at once.
    fn drop(&mut self) {
        if self.writer.take().is_some() && !self.in_place {
            let mut state = self.shared.lock();
            state.files.retain(|f| f.id != self.id);
            if std::fs::remove_file(&self.temp).is_ok() {
                cancel::record(Undone {
                    removed: vec![self.temp.display().to_string()],
                    left: Vec::new(),
                });
            }
        }
    }
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer()?.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer()?.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer()?.flush()
    }
}

/// Bytes written between two requests to start writing a file back ([`WriteBehind`]).
const WRITE_BEHIND: u64 = 8 << 20;

/// A staged file that asks the kernel to start writing its data to disk every
/// [`WRITE_BEHIND`] bytes, without waiting for it: the sync before the file may be
/// renamed then waits for the last few MiB only, not for the whole file (it took
/// 13–15 ms of the end of a 38 MB Parquet conversion, with both cores idle).
#[derive(Debug)]
struct WriteBehind {
    file: File,
    /// Bytes written, and up to where writing back was asked for.
    written: u64,
    started: u64,
    /// Off for devices and pipes, and once the file has been seeked.
    on: bool,
}

impl WriteBehind {
    fn new(file: File, on: bool) -> WriteBehind {
        WriteBehind {
            file,
            written: 0,
            started: 0,
            on,
        }
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.on && self.written - self.started >= WRITE_BEHIND {
            start_writeback(&self.file, self.started, self.written - self.started);
            self.started = self.written;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Asks the kernel to start writing `len` bytes of `file` from `offset` back to disk.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: sync_file_range takes plain integers and a descriptor that `file`
    // keeps open for the call; it touches no memory of ours. It is advice: its
    // result is ignored, and `sync_all` before the rename is what makes the file
    // durable.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// A file's folder (`.` for a bare name) and its name.
fn split(dest: &Path) -> (PathBuf, String) {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// Creates a new temporary for `dest` beside it: `.NAME.UNIQUE.brazex-tmp`, never an
/// existing file. It gets the mode any new file gets (0666 less the umask), not a
/// temporary's private 0600: the output is for whoever loads it.
fn create_temp(dest: &Path) -> Result<(File, PathBuf)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (dir, name) = split(dest);
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let unique = format!(
            "{:x}{:08x}{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let temp = dir.join(format!(".{name}.{unique}{TEMP_SUFFIX}"));
        let mut options = OpenOptions::new();
        options.write(true).read(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o666);
        match options.open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("cannot create {}", dest.display()), e)),
        }
    }
}

/// Takes the advisory lock at `path` for `target`, or says who holds it.
fn lock(path: &Path, target: &Path) -> Result<File> {
    // The lock is brazex's business: an error names what the user asked to write.
    let what = |e| Error::io(format!("cannot write {}", target.display()), e);
    loop {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(what)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::io(
                    format!(
                        "{} is being written by another brazex run",
                        target.display()
                    ),
                    io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!("{} is locked", path.display()),
                    ),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(what(e)),
        }
        // A run that just finished removes its lock file before releasing it: if
        // this one is gone, take the lock on the file that is there now.
        if same_file(&file, path) {
            return Ok(file);
        }
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// Removes brazex's temporaries (`.….brazex-tmp`) under `dir`, `depth` levels deep,
/// whose names `wanted` accepts.
fn remove_stale(
    dir: &Path,
    depth: usize,
    wanted: &dyn Fn(&str) -> bool,
    removed: &mut Vec<PathBuf>,
) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth > 1 {
            remove_stale(&path, depth - 1, wanted, removed)?;
        } else if kind.is_file()
            && name.starts_with('.')
            && name.ends_with(TEMP_SUFFIX)
            && wanted(&name)
        {
            std::fs::remove_file(&path).map_err(|e| {
                Error::io(
                    format!(
                        "cannot remove {}, left by a run that did not finish",
                        path.display()
                    ),
                    e,
                )
            })?;
            removed.push(path);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> io::Result<()> {
    Ok(())
}

/// What already holds brazex output in `dir` (a manifest, a part, or a subfolder of
/// parts: `--tables`), if anything.
pub fn existing_output(dir: &Path) -> Option<String> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let sub_part = entry.path().is_dir()
            && std::fs::read_dir(entry.path())
                .map(|mut d| {
                    d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("part-")))
                })
                .unwrap_or(false);
        if name == "_manifest.json" || name.starts_with("part-") || sub_part {
            return Some(name);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn files_appear_only_when_the_run_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let staging = Staging::new();
        staging.claim_dir(&out).expect("claim");
        let mut a = staging.create(&out.join("part-00000.csv")).expect("create");
        a.write_all(b"a\n").expect("write");
        a.finish().expect("finish");
        let mut m = staging.create(&out.join("_manifest.json")).expect("create");
        m.write_all(b"{}").expect("write");
        m.finish().expect("finish");
        // Finished, but nothing visible under a final name before the commit.
        assert!(
            names(&out).iter().all(|n| n.starts_with('.')),
            "{:?}",
            names(&out)
        );
        staging.commit().expect("commit");
        assert_eq!(names(&out), ["_manifest.json", "part-00000.csv"]);
        assert_eq!(
            std::fs::read(out.join("part-00000.csv")).expect("read"),
            b"a\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join("part-00000.csv"))
                .expect("stat")
                .permissions()
                .mode();
            assert_ne!(
                mode & 0o044,
                0,
                "readable by others as umask allows: {mode:o}"
            );
        }
    }

    #[test]
    fn a_run_that_does_not_commit_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("new").join("out");
        let staging = Staging::new();
        staging.claim_dir(&out).expect("claim");
        staging
            .stage()
            .create_dir_all(&out.join("users"))
            .expect("mkdir");
        let mut a = staging
            .create(&out.join("users/part-00000.csv"))
            .expect("create");
        a.write_all(b"a\n").expect("write");
        a.finish().expect("finish");
        let mut b = staging
            .create(&out.join("users/part-00001.csv"))
            .expect("create");
        b.write_all(b"partial").expect("write");
        drop(staging);
        drop(b);
        // The folders it created are gone too.
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn undo_reports_what_it_removed_and_runs_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let staging = Staging::new();
        let mut f = staging
            .create(&dir.path().join("rows.ndjson"))
            .expect("create");
        f.write_all(b"{}\n").expect("write");
        f.finish().expect("finish");
        let undone = staging.shared.undo();
        assert_eq!(undone.removed.len(), 1, "{undone:?}");
        assert!(undone.removed[0].ends_with(TEMP_SUFFIX));
        assert_eq!(staging.shared.undo(), Undone::default());
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_claim_removes_stale_temporaries_and_only_brazex_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("users")).expect("mkdir");
        for name in [
            ".part-00000.parquet.Ab12.brazex-tmp",
            "users/.part-00001.parquet.x.brazex-tmp",
        ] {
            std::fs::write(out.join(name), b"stale").expect("write");
        }
        std::fs::write(out.join("notes.txt"), b"mine").expect("write");
        std::fs::write(dir.path().join(".rows.ndjson.Zz.brazex-tmp"), b"stale").expect("write");
        std::fs::write(dir.path().join(".other.ndjson.Zz.brazex-tmp"), b"not ours").expect("write");
        let staging = Staging::new();
        staging.claim_dir(&out).expect("claim");
        let mut cleaned = staging.take_cleaned();
        cleaned.sort();
        assert_eq!(cleaned.len(), 2, "{cleaned:?}");
        assert_eq!(names(&out), [".brazex-lock", "notes.txt", "users"]);
        let f = staging
            .create(&dir.path().join("rows.ndjson"))
            .expect("create");
        assert_eq!(
            staging.take_cleaned(),
            [dir.path().join(".rows.ndjson.Zz.brazex-tmp")]
        );
        f.finish().expect("finish");
        staging.commit().expect("commit");
        assert_eq!(
            names(dir.path()),
            [".other.ndjson.Zz.brazex-tmp", "out", "rows.ndjson"]
        );
        assert_eq!(names(&out), ["notes.txt", "users"]);
    }

    #[test]
    fn a_destination_is_written_by_one_run_at_a_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let first = Staging::new();
        first.claim_dir(&out).expect("claim");
        let second = Staging::new();
        let err = second.claim_dir(&out).expect_err("held");
        assert!(
            err.to_string()
                .contains("is being written by another brazex run"),
            "{err}"
        );
        let file = dir.path().join("rows.ndjson");
        let _f = first.create(&file).expect("create");
        assert!(second.create(&file).is_err());
        drop(_f);
        drop(first);
        // Released with the first run.
        second.claim_dir(&out).expect("claim after release");
    }
}
