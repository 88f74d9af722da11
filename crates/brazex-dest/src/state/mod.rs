//! Incremental state: what an export looked like, to write only what changed since.
//!
//! `--state DIR` keeps, for every user of a run's export, its key and the fingerprint
//! of its row as written ([`brazex_core::fingerprint`]); `--changes-since DIR` compares
//! tonight's export with it and writes only the users that are new (`_op` insert),
//! changed (update) or gone (delete). The comparison never holds all users in memory:
//!
//! ```text
//!  pass 1 (the pipeline)            compare, partition by partition       pass 2 (the pipeline again)
//!  each row: key, fingerprint  ─►   old state p  ⋈  tonight's keys p  ─►  spool replayed in input
//!  rows spooled (zstd, input        → ops p (seq-sorted), deletes p,       order: changed rows with
//!  order), keys by hash into        new state p                           _op, unchanged ones as
//!  256 partition files                                                    blank lines; then deletes
//! ```
//!
//! - [`spool`]: pass 1's encoder and sink: the spool of rows (compressed per block on
//!   the workers) and the keys, partitioned by key hash.
//! - [`compare`]: one partition at a time (about 1/256 of the users in memory): which
//!   rows are inserts or updates, which keys repeat, which users are gone, and the new
//!   state's partition.
//! - [`tap`]: a run that writes a state alone (no `--changes-since`) in one pass: the
//!   output as usual, the keys tapped beside it, then compared as above.
//! - [`replay`]: pass 2's inputs: one stream per entry of the export, named as the
//!   entry was, with unchanged rows as blank lines, so that every line keeps its
//!   `ENTRY:LINE`; then the deletes.
//!
//! On disk, `DIR` holds `CURRENT` (the name of the current generation), the
//! generations `gen-N/` (`state.json`, and `part-PPP.keys`: each user's key,
//! fingerprint and the hash of its line as read), a lock file, and while a
//! run works, its scratch folder `tmp-…/` (the spool, the partitions). A new
//! generation becomes current only when the run's output committed, by renaming a
//! new `CURRENT` over the old one: a failed, cancelled or killed run leaves the
//! previous state as it was, and its leftovers are removed by the next run.

mod compare;
mod digests;
mod replay;
mod spool;
mod tap;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use brazex_core::cancel::{self, Registration, Undo, Undone};
use brazex_core::fingerprint::{partition_of, KeyField};
use serde::{Deserialize, Serialize};

pub use compare::{compare, Compared, Counts, Duplicate};
pub use digests::{Digests, BYTES_PER_USER};
pub use replay::{for_rows, replay, ReplayMode};
pub use spool::SpoolBlock;
pub use spool::{SpoolEncoder, SpoolSink, Spooled};
pub use tap::Tap;

/// The most partitions of the keys: at 10 million users one holds about 40,000.
pub const MAX_PARTITIONS: usize = 256;

/// Partitions of a run without an earlier state (its count is not known yet).
pub const FIRST_PARTITIONS: usize = 16;

/// Partitions for a state of `users`: about 50,000 users each (a few MB in memory
/// while compared), a power of two, at most [`MAX_PARTITIONS`]. Few files for a small
/// export: creating and syncing them is a visible part of a short run.
pub fn partitions_for(users: u64) -> usize {
    ((users / 50_000) as usize + 1)
        .next_power_of_two()
        .min(MAX_PARTITIONS)
}

/// The layout of a generation this brazex writes and reads (`state.json`'s `format`).
pub const FORMAT: u32 = 1;

const CURRENT: &str = "CURRENT";
const LOCK: &str = ".brazex-state.lock";
const META: &str = "state.json";

/// Errors of the state that are not the pipeline's.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state was made otherwise than this run asks (another key or selection).
    #[error("{dir}: {message}")]
    Mismatch { dir: String, message: String },
    /// A file of the state is not what brazex wrote.
    #[error("{path}: {message} (remove the state folder to start a new state)")]
    Damaged { path: String, message: String },
    #[error(transparent)]
    Pipeline(#[from] brazex_core::Error),
}

/// What a generation records of the run that made it (`state.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    pub format: u32,
    /// `braze_id` or `external_id`.
    pub key: String,
    /// The `--select` of the run, as given (`None`: whole users).
    pub select: Option<String>,
    /// The `--where` of the run, for the record: another `--where` is allowed (users
    /// it leaves out are deletes).
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// `--tables`.
    pub tables: bool,
    /// The typed schema the rows were written with (CSV, Parquet, PostgreSQL), as
    /// `brazex schema` writes it; a later typed run without `--schema` is pinned to it.
    pub schema: Option<serde_json::Value>,
    pub partitions: usize,
    pub users: u64,
    /// When the run that made it started (RFC 3339).
    pub created: String,
    /// Where its rows came from.
    pub source: serde_json::Value,
}

impl Meta {
    /// What a run with `key` and `select` may not differ in: says how it differs.
    pub fn mismatch(
        &self,
        key: KeyField,
        select: Option<&str>,
        tables: bool,
        same_select: &dyn Fn(&str, &str) -> bool,
    ) -> Option<String> {
        if self.key != key.name() {
            return Some(format!(
                "the state was made with --key {}, this run has --key {}; start a new state (another --state folder)",
                self.key,
                key.name()
            ));
        }
        let differs = match (self.select.as_deref(), select) {
            (None, None) => false,
            (Some(a), Some(b)) => !same_select(a, b),
            _ => true,
        };
        if differs {
            let shown = |s: Option<&str>| {
                s.map_or("no --select (whole users)".to_string(), |s| {
                    format!("--select {s}")
                })
            };
            return Some(format!(
                "the state was made with {}, this run has {}; every row would differ: start a new state (another --state folder)",
                shown(self.select.as_deref()),
                shown(select)
            ));
        }
        if self.tables != tables {
            return Some(format!(
                "the state was made {} --tables, this run {}; start a new state (another --state folder)",
                if self.tables { "with" } else { "without" },
                if tables { "has it" } else { "has not" }
            ));
        }
        None
    }

    pub fn key_field(&self) -> Option<KeyField> {
        KeyField::parse(&self.key)
    }
}

/// A state folder, locked for this run.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    _lock: File,
    /// What earlier runs that did not finish left here, removed.
    cleaned: Vec<PathBuf>,
}

/// A generation of a state folder: its files and what made it.
#[derive(Debug, Clone)]
pub struct Generation {
    pub dir: PathBuf,
    pub meta: Meta,
}

impl Generation {
    fn part(&self, p: usize) -> PathBuf {
        part_path(&self.dir, p)
    }
}

fn part_path(dir: &Path, p: usize) -> PathBuf {
    dir.join(format!("part-{p:03}.keys"))
}

fn io_error(what: impl std::fmt::Display, path: &Path, e: io::Error) -> brazex_core::Error {
    brazex_core::Error::io(format!("cannot {what} {}", path.display()), e)
}

impl StateDir {
    /// Opens (creating it when `create`) and locks the state folder `path`, removing
    /// what runs that were killed left in it.
    pub fn lock(path: &Path, create: bool) -> Result<StateDir, StateError> {
        if create {
            fs::create_dir_all(path).map_err(|e| io_error("create the state folder", path, e))?;
        } else if !path.is_dir() {
            return Err(StateError::Mismatch {
                dir: path.display().to_string(),
                message: "no such state folder (the first night, run with --state alone)".into(),
            });
        }
        let lock_path = path.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_error("lock the state folder", path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StateError::Pipeline(brazex_core::Error::io(
                    format!("{} is in use by another brazex run", path.display()),
                    io::Error::new(io::ErrorKind::WouldBlock, "the state folder is locked"),
                )))
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_error("lock the state folder", path, e).into())
            }
        }
        let mut dir = StateDir {
            path: path.to_path_buf(),
            _lock: lock,
            cleaned: Vec::new(),
        };
        dir.remove_leftovers()?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was removed when the folder was locked.
    pub fn take_cleaned(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.cleaned)
    }

    /// Scratch folders and generations that are not current: what a run that did not
    /// finish left (we hold the lock, so no run is working here).
    fn remove_leftovers(&mut self) -> Result<(), StateError> {
        let current = self.current_name()?;
        let entries = fs::read_dir(&self.path).map_err(|e| io_error("read", &self.path, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = name.starts_with("tmp-")
                || (name.starts_with("gen-") && Some(&name) != current.as_ref())
                || name.starts_with(".CURRENT.");
            if stale {
                let path = entry.path();
                remove(&path).map_err(|e| io_error("remove", &path, e))?;
                self.cleaned.push(path);
            }
        }
        Ok(())
    }

    fn current_name(&self) -> Result<Option<String>, StateError> {
        let path = self.path.join(CURRENT);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let name = text.trim().to_string();
                if !name.starts_with("gen-") || name.contains(['/', '\\']) {
                    return Err(StateError::Damaged {
                        path: path.display().to_string(),
                        message: format!("names {name:?}, not a generation"),
                    });
                }
                Ok(Some(name))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e).into()),
        }
    }

    /// The current generation, if the folder has one.
    pub fn current(&self) -> Result<Option<Generation>, StateError> {
        let Some(name) = self.current_name()? else {
            return Ok(None);
        };
        let dir = self.path.join(&name);
        let meta_path = dir.join(META);
        let text = fs::read_to_string(&meta_path).map_err(|e| StateError::Damaged {
            path: meta_path.display().to_string(),
            message: format!("cannot be read: {e}"),
        })?;
        let meta: Meta = serde_json::from_str(&text).map_err(|e| StateError::Damaged {
            path: meta_path.display().to_string(),
            message: format!("is not a brazex state: {e}"),
        })?;
        if meta.format != FORMAT
            || !(1..=MAX_PARTITIONS).contains(&meta.partitions)
            || meta.key_field().is_none()
        {
            return Err(StateError::Damaged {
                path: meta_path.display().to_string(),
                message: format!(
                    "is a state of format {} with {} partitions and key {} (this brazex reads format {FORMAT}, at most {MAX_PARTITIONS} partitions)",
                    meta.format, meta.partitions, meta.key
                ),
            });
        }
        Ok(Some(Generation { dir, meta }))
    }

    /// A new generation's folder, to be made current by [`NewGeneration::commit`].
    fn next_generation(&self, scratch: &Scratch) -> Result<PathBuf, StateError> {
        let n = self
            .current_name()?
            .and_then(|name| {
                name.strip_prefix("gen-")
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .unwrap_or(0)
            + 1;
        let dir = self.path.join(format!("gen-{n:06}"));
        scratch.guard(&dir);
        fs::create_dir(&dir).map_err(|e| io_error("create", &dir, e))?;
        Ok(dir)
    }
}

/// A run's scratch space in a state folder: removed when the run ends, whatever the
/// way (dropped, or by the cancellation path on a signal).
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
    undo: Arc<ScratchUndo>,
    _registration: Registration,
}

#[derive(Debug, Default)]
struct ScratchUndo {
    paths: Mutex<Vec<PathBuf>>,
}

/// Removes a file, or a folder and all it holds.
fn remove(path: &Path) -> io::Result<()> {
    match path.is_dir() {
        true => fs::remove_dir_all(path),
        false => fs::remove_file(path),
    }
}

impl Undo for ScratchUndo {
    fn undo(&self) -> Undone {
        let mut undone = Undone::default();
        let paths = match self.paths.lock() {
            Ok(mut paths) => std::mem::take(&mut *paths),
            Err(_) => return undone,
        };
        for path in paths {
            match remove(&path) {
                Ok(()) => undone.removed.push(path.display().to_string()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => undone.left.push(format!("{}: {e}", path.display())),
            }
        }
        undone
    }
}

impl Scratch {
    /// A new scratch folder in `state`.
    pub fn new(state: &StateDir) -> Result<Scratch, StateError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = state
            .path
            .join(format!("tmp-{:x}-{nanos:x}", std::process::id()));
        let undo = Arc::new(ScratchUndo::default());
        let registration = cancel::register(&(undo.clone() as Arc<dyn Undo>));
        let scratch = Scratch {
            dir,
            undo,
            _registration: registration,
        };
        scratch.guard(&scratch.dir);
        fs::create_dir(&scratch.dir).map_err(|e| io_error("create", &scratch.dir, e))?;
        Ok(scratch)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Removes `path` with the scratch unless it is released.
    fn guard(&self, path: &Path) {
        if let Ok(mut paths) = self.undo.paths.lock() {
            paths.push(path.to_path_buf());
        }
    }

    fn release(&self, path: &Path) {
        if let Ok(mut paths) = self.undo.paths.lock() {
            paths.retain(|p| p != path);
        }
    }

    fn create(&self, name: &str) -> brazex_core::Result<(PathBuf, BufWriter<File>)> {
        let path = self.dir.join(name);
        let file = File::create(&path).map_err(|e| io_error("create", &path, e))?;
        Ok((path, BufWriter::with_capacity(32 << 10, file)))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        cancel::record(self.undo.undo());
    }
}

/// The folder of a generation not written yet ([`NewGeneration::reserve`]).
#[derive(Debug)]
pub struct Reserved(PathBuf);

/// The new state being written, made current by [`NewGeneration::commit`].
#[derive(Debug)]
pub struct NewGeneration {
    dir: PathBuf,
    parts: Vec<BufWriter<File>>,
}

impl NewGeneration {
    /// Starts the next generation of `state` with `partitions` (removed with
    /// `scratch` unless committed).
    pub fn start(
        state: &StateDir,
        scratch: &Scratch,
        partitions: usize,
    ) -> Result<NewGeneration, StateError> {
        Ok(NewGeneration::open(
            NewGeneration::reserve(state, scratch)?,
            partitions,
        )?)
    }

    /// Makes the next generation's folder (removed with `scratch` unless committed),
    /// for [`NewGeneration::open`] once the count of partitions is known.
    pub fn reserve(state: &StateDir, scratch: &Scratch) -> Result<Reserved, StateError> {
        state.next_generation(scratch).map(Reserved)
    }

    /// Starts writing the generation `reserved` with `partitions`.
    pub fn open(reserved: Reserved, partitions: usize) -> brazex_core::Result<NewGeneration> {
        let dir = reserved.0;
        let parts = (0..partitions.clamp(1, MAX_PARTITIONS))
            .map(|p| {
                let path = part_path(&dir, p);
                File::create(&path)
                    .map(|f| BufWriter::with_capacity(16 << 10, f))
                    .map_err(|e| io_error("create", &path, e))
            })
            .collect::<brazex_core::Result<Vec<_>>>()?;
        Ok(NewGeneration { dir, parts })
    }

    pub fn partitions(&self) -> usize {
        self.parts.len()
    }

    /// Adds a user: its key, fingerprint and line hash.
    fn write(&mut self, key: &[u8], fp: u128, raw: u64) -> brazex_core::Result<()> {
        let p = partition_of(key, self.parts.len());
        let out = &mut self.parts[p];
        write_key(out, key)
            .and_then(|()| out.write_all(&fp.to_le_bytes()))
            .and_then(|()| out.write_all(&raw.to_le_bytes()))
            .map_err(|e| io_error("write", &part_path(&self.dir, p), e))
    }

    /// Writes `meta`, syncs every file, and makes this generation current: the old
    /// one is removed. Call once the run's output has committed.
    pub fn commit(
        self,
        state: &StateDir,
        scratch: &Scratch,
        meta: &Meta,
    ) -> Result<(), StateError> {
        cancel::check()?;
        for (p, out) in self.parts.into_iter().enumerate() {
            let path = part_path(&self.dir, p);
            let file = out
                .into_inner()
                .map_err(|e| io_error("write", &path, e.into_error()))?;
            file.sync_all().map_err(|e| io_error("write", &path, e))?;
        }
        let meta_path = self.dir.join(META);
        let mut text = serde_json::to_vec_pretty(meta)
            .map_err(|e| io_error("write", &meta_path, io::Error::other(e)))?;
        text.push(b'\n');
        write_synced(&meta_path, &text)?;
        let old = state.current_name()?;
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = state.path.join(format!(".CURRENT.{}", std::process::id()));
        write_synced(&temp, format!("{name}\n").as_bytes())?;
        let current = state.path.join(CURRENT);
        // The switch: one rename, atomic on every local file system.
        fs::rename(&temp, &current).map_err(|e| io_error("replace", &current, e))?;
        scratch.release(&self.dir);
        if let Ok(dir) = File::open(&state.path) {
            let _ = dir.sync_all();
        }
        if let Some(old) = old.filter(|old| *old != name) {
            let old = state.path.join(old);
            fs::remove_dir_all(&old).map_err(|e| io_error("remove", &old, e))?;
        }
        Ok(())
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> brazex_core::Result<()> {
    let mut file = File::create(path).map_err(|e| io_error("create", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("write", path, e))
}

/// Keys on disk: a 16-bit length, then the bytes.
fn write_key(out: &mut impl Write, key: &[u8]) -> io::Result<()> {
    let len =
        u16::try_from(key.len()).map_err(|_| io::Error::other("key longer than 65535 bytes"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(key)
}

/// Reads a key written by [`write_key`] into `key`; false at the end of the file.
fn read_key(input: &mut impl Read, key: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 2];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    key.resize(usize::from(u16::from_le_bytes(len)), 0);
    input.read_exact(key)?;
    Ok(true)
}

/// Reads a user of a generation's partition into `key`: its fingerprint and line hash;
/// `None` at the end of the file.
fn read_user(input: &mut impl Read, key: &mut Vec<u8>) -> io::Result<Option<(u128, u64)>> {
    if !read_key(input, key)? {
        return Ok(None);
    }
    Ok(Some((read_u128(input)?, read_u64(input)?)))
}

fn read_u128(input: &mut impl Read) -> io::Result<u128> {
    let mut bytes = [0u8; 16];
    input.read_exact(&mut bytes)?;
    Ok(u128::from_le_bytes(bytes))
}

fn read_u64(input: &mut impl Read) -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    input.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

fn open_reader(path: &Path) -> brazex_core::Result<BufReader<File>> {
    File::open(path)
        .map(|f| BufReader::with_capacity(32 << 10, f))
        .map_err(|e| io_error("read", path, e))
}
