//! brazex-dest: where rows go.
//!
//! To the pipeline, stdout, a local file, a local folder and an object-store prefix
//! are one thing: open a part, write encoded bytes into it, finish it, and, once the
//! whole run has succeeded, commit; the manifest is committed last. A run that does
//! not commit (an error, a signal, a kill) leaves nothing a loader would pick up.
//!
//! - [`Run`] is that run: every file it writes goes through it, whatever the
//!   destination, and it registers with the one cancellation path
//!   (`brazex_core::cancel`) so a signal undoes it like an error does.
//! - [`local`]: local files, written under temporary names and renamed at commit.
//! - [`store`]: objects in S3, GCS and Azure, uploaded while they are encoded
//!   (multipart uploads, resumable uploads, block lists) and completed at commit.
//! - [`parts`]: the bookkeeping of rotating parts (`part-00000.parquet` …), with
//!   their rows, bytes and SHA-256 for the manifest, and [`parts::ByteSink`], which
//!   cuts NDJSON and CSV blocks into them.
//! - [`manifest`]: `_manifest.json`, and `_manifest.redshift.json` for S3 folders.
//! - [`postgres`]: tables in PostgreSQL, loaded by binary COPY in one transaction
//!   (replace, append or merge), committed or rolled back as a whole.
//! - [`state`]: the state of incremental loads (`--state`, `--changes-since`): keys
//!   and fingerprints by partition, compared without holding all users in memory.

pub mod local;
pub mod manifest;
pub mod parts;
pub mod postgres;
pub mod state;
pub mod store;

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use brazex_braze::{BucketUrl, Cloud, Endpoints};
use brazex_core::{Error, Result};

/// A place to write: a local path, or an object in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Path(PathBuf),
    /// A bucket and key (the URL's prefix is the key).
    Object(BucketUrl),
}

impl Location {
    /// `name` inside this folder location.
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Path(path) => Location::Path(path.join(name)),
            Location::Object(url) => Location::Object(url.join(name)),
        }
    }

    /// This location's path relative to folder `base`, when it is inside it.
    pub fn relative_to(&self, base: &Location) -> Option<String> {
        match (self, base) {
            (Location::Path(path), Location::Path(base)) => path
                .strip_prefix(base)
                .ok()
                .map(|p| p.to_string_lossy().into_owned()),
            (Location::Object(url), Location::Object(base))
                if url.cloud == base.cloud && url.bucket == base.bucket =>
            {
                if base.prefix.is_empty() {
                    return Some(url.prefix.clone());
                }
                url.prefix
                    .strip_prefix(&base.prefix)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .map(str::to_string)
            }
            _ => None,
        }
    }

    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Location::Path(path) => Some(path),
            Location::Object(_) => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Path(path) => write!(f, "{}", path.display()),
            Location::Object(url) => write!(f, "{url}"),
        }
    }
}

/// What `-o` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    /// One file or object.
    File(Location),
    /// A folder of rotating parts: `-o DIR/`, an existing folder, `-o s3://B/PREFIX/`.
    Dir(Location),
    /// A PostgreSQL database: `-o postgres://…` (tables named by `--table`).
    Postgres(postgres::PgUrl),
}

impl Target {
    /// The target `-o TEXT` names: an `s3://`, `gs://` or `az://` URL (a folder when
    /// it ends in `/`), else a local path (a folder when it ends in `/` or is one).
    /// A `postgres://` or `postgresql://` URI is a database. Any other URL scheme is
    /// refused: written as a path, `mysql://…` would make a folder named `mysql:`.
    pub fn parse(text: &Path) -> std::result::Result<Target, UnknownScheme> {
        let shown = text.to_string_lossy();
        if postgres::PgUrl::is_pg_url(&shown) {
            return Ok(Target::Postgres(postgres::PgUrl::new(&shown)));
        }
        if BucketUrl::is_bucket_url(&shown) {
            let url = BucketUrl::parse(&shown).map_err(|e| UnknownScheme(e.to_string()))?;
            if url.prefix.is_empty() || shown.ends_with('/') {
                return Ok(Target::Dir(Location::Object(url)));
            }
            return Ok(Target::File(Location::Object(url)));
        }
        if let Some((scheme, _)) = shown.split_once("://") {
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            {
                return Err(UnknownScheme(format!(
                    "{shown}: brazex writes local files and folders, s3://, gs:// and \
                     az:// objects and postgres:// databases, not {scheme}:// URLs"
                )));
            }
        }
        let location = Location::Path(text.to_path_buf());
        if shown.ends_with('/') || text.is_dir() {
            Ok(Target::Dir(location))
        } else {
            Ok(Target::File(location))
        }
    }
}

/// An output URL brazex cannot write (a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnknownScheme(pub String);

/// How to write to object stores.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub endpoints: Endpoints,
    /// Bytes of each upload part (S3 multipart part, GCS resumable chunk, Azure
    /// block): at least 5 MiB, a multiple of 256 KiB.
    pub part_size: usize,
    /// Parts uploading at once, over the whole run.
    pub concurrency: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            endpoints: Endpoints::default(),
            part_size: 8 << 20,
            concurrency: 4,
        }
    }
}

/// One run's outputs, local and remote: nothing is visible before [`Run::commit`],
/// and a run dropped without it removes everything it wrote (so does a signal,
/// through `brazex_core::cancel`).
#[derive(Debug)]
pub struct Run {
    local: local::Staging,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: StoreOptions,
    /// One uploader per bucket written to, and the runtime their requests run on
    /// (made when the first object is written).
    stores: Mutex<Option<store::Stores>>,
}

impl Shared {
    fn stores(&self) -> MutexGuard<'_, Option<store::Stores>> {
        self.stores.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The uploader of `url`'s bucket, connected on first use.
    fn remote(&self, url: &BucketUrl) -> Result<Arc<store::Remote>> {
        let mut stores = self.stores();
        if stores.is_none() {
            *stores = Some(store::Stores::new(self.options.clone())?);
        }
        match stores.as_mut() {
            Some(stores) => stores.remote(url),
            None => Err(Error::Internal("no object-store uploader")),
        }
    }
}

impl Run {
    pub fn new(options: StoreOptions) -> Run {
        Run {
            local: local::Staging::new(),
            shared: Arc::new(Shared {
                options,
                stores: Mutex::new(None),
            }),
        }
    }

    /// A handle that writes into this run, for the sinks that cut parts.
    pub fn stage(&self) -> Stage {
        Stage {
            local: self.local.stage(),
            shared: self.shared.clone(),
        }
    }

    /// Claims a folder target: see [`Stage::claim_dir`].
    pub fn claim_dir(&self, dir: &Location) -> Result<()> {
        self.stage().claim_dir(dir)
    }

    /// Starts writing what will become `dest` at commit.
    pub fn create(&self, dest: &Location) -> Result<PartFile> {
        self.stage().create(dest)
    }

    /// The leftovers of earlier runs that died, removed by the claims since the last
    /// call (temporaries, pending uploads), to report.
    pub fn take_cleaned(&self) -> Vec<String> {
        let mut cleaned: Vec<String> = self
            .local
            .take_cleaned()
            .into_iter()
            .map(|p| p.display().to_string())
            .collect();
        if let Some(stores) = self.shared.stores().as_ref() {
            cleaned.extend(stores.take_cleaned());
        }
        cleaned
    }

    /// What already holds brazex output in folder `dir` (a manifest or a part),
    /// if anything: parts of two runs must never mix under one manifest.
    pub fn existing_output(&self, dir: &Location) -> Result<Option<String>> {
        match dir {
            Location::Path(path) => Ok(local::existing_output(path)),
            Location::Object(url) => self.shared.remote(url)?.existing_output(url),
        }
    }

    /// Makes everything visible: the objects first (each in the order it was
    /// created, so a manifest created last appears last), then the local files.
    /// Cut short, whatever it completed is removed again with the rest.
    pub fn commit(self) -> Result<()> {
        brazex_core::cancel::check()?;
        if let Some(stores) = self.shared.stores().as_ref() {
            stores.commit()?;
        }
        self.local.commit()
    }
}

/// Writes files into a [`Run`]; cloned into each sink that cuts parts.
#[derive(Debug, Clone)]
pub struct Stage {
    local: local::Stage,
    shared: Arc<Shared>,
}

impl Stage {
    /// Claims a folder target before anything is written into it. Locally: creates
    /// and locks it and removes the temporaries of runs that died in it. In a store:
    /// aborts the multipart uploads such runs left pending under the prefix (S3).
    pub fn claim_dir(&self, dir: &Location) -> Result<()> {
        match dir {
            Location::Path(path) => self.local.claim_dir(path),
            Location::Object(url) => self.shared.remote(url)?.claim(url, true),
        }
    }

    /// Creates a local folder (and its parents; undone with the run). Folders in an
    /// object store are only key prefixes: nothing to create.
    pub fn create_dir_all(&self, dir: &Location) -> Result<()> {
        match dir {
            Location::Path(path) => self.local.create_dir_all(path),
            Location::Object(_) => Ok(()),
        }
    }

    /// Starts writing what becomes `dest` when the run commits.
    pub fn create(&self, dest: &Location) -> Result<PartFile> {
        match dest {
            Location::Path(path) => Ok(PartFile::Local(self.local.create(path)?)),
            Location::Object(url) => Ok(PartFile::Object(Box::new(
                self.shared.remote(url)?.create(url)?,
            ))),
        }
    }
}

/// A file or object being written; [`PartFile::finish`] makes it wait, complete,
/// for the run's commit. Dropped unfinished, it is removed (or its upload aborted).
#[derive(Debug)]
pub enum PartFile {
    Local(local::StagedFile),
    /// Boxed: an upload carries its channels and part list, a local file little.
    Object(Box<store::Upload>),
}

impl PartFile {
    /// Where it goes, for messages.
    pub fn dest(&self) -> String {
        match self {
            PartFile::Local(file) => file.dest().display().to_string(),
            PartFile::Object(upload) => upload.dest().to_string(),
        }
    }

    /// Writes out what is buffered: complete, it waits for the run to commit.
    pub fn finish(self) -> Result<()> {
        match self {
            PartFile::Local(file) => file.finish(),
            PartFile::Object(upload) => (*upload).finish(),
        }
    }
}

impl Write for PartFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            PartFile::Local(file) => file.write(buf),
            PartFile::Object(upload) => upload.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            PartFile::Local(file) => file.write_all(buf),
            PartFile::Object(upload) => upload.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            PartFile::Local(file) => file.flush(),
            PartFile::Object(upload) => upload.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Target {
        Target::parse(Path::new(text)).expect("a target")
    }

    #[test]
    fn urls_are_objects_or_folders_and_other_schemes_are_refused() {
        let Target::Dir(Location::Object(url)) = parse("s3://stage/braze/2026-12-02/") else {
            panic!("a folder in a bucket");
        };
        assert_eq!(
            (url.bucket.as_str(), url.prefix.as_str()),
            ("stage", "braze/2026-12-02")
        );
        assert!(matches!(
            parse("gs://stage"),
            Target::Dir(Location::Object(_))
        ));
        let Target::File(Location::Object(url)) = parse("az://stage/braze/users.ndjson") else {
            panic!("one object");
        };
        assert_eq!(url.cloud, Cloud::Azure);
        assert!(matches!(parse("out/"), Target::Dir(Location::Path(_))));
        assert!(matches!(
            parse("out.ndjson"),
            Target::File(Location::Path(_))
        ));
        let refused = Target::parse(Path::new("mysql://db/analytics")).expect_err("refused");
        assert!(
            refused.to_string().contains("not mysql:// URLs"),
            "{refused}"
        );
        let Target::Postgres(url) = parse("postgresql://loader:secret@db/analytics") else {
            panic!("a database");
        };
        assert_eq!(url.to_string(), "postgresql://loader:***@db/analytics");
    }

    #[test]
    fn parts_are_named_relative_to_their_folder() {
        let base = match parse("s3://stage/braze/") {
            Target::Dir(at) => at,
            other => panic!("{other:?}"),
        };
        let part = base.join("users").join("part-00000.parquet");
        assert_eq!(
            part.to_string(),
            "s3://stage/braze/users/part-00000.parquet"
        );
        assert_eq!(
            part.relative_to(&base).as_deref(),
            Some("users/part-00000.parquet")
        );
        let other = match parse("s3://other/braze/") {
            Target::Dir(at) => at,
            t => panic!("{t:?}"),
        };
        assert_eq!(part.relative_to(&other), None);
    }
}
