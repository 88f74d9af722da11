//! One export's life: written to a spool file, ready after the configured
//! delay, announced to the callback, expired after the TTL.
//!
//! The archive goes to disk (`<spool_dir>/<object_prefix>.zip`, written as
//! `.part` and renamed when complete) and is served from there, so an export
//! of any size costs a few hundred KiB of memory. Readiness is computed from
//! timestamps on every request rather than flipped by a timer, so a request
//! arriving just after the deadline is never answered by a stale flag.

use std::fs::{self, File};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::callback;
use super::config::SegmentConfig;
use super::Shared;
use crate::archive::{write_zip, write_zip_users};
use crate::fields::FieldSet;
use crate::generate::{GeneratorConfig, UserGenerator};

/// Where the writing of an export stands.
#[derive(Clone, Debug)]
pub(crate) enum Written {
    /// The spool file is being written.
    Writing,
    /// The spool file is complete: `len` bytes, finished at `at`.
    Done { len: u64, at: Instant },
    /// Writing failed (or the `fail_exports` fault): never ready.
    Failed,
}

/// What the download URL of an export answers now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not ready yet (or never will be): `403 AccessDenied`.
    Preparing,
    /// The export failed; to clients it looks like [`Phase::Preparing`],
    /// but it does not block a new export of the segment.
    Failed,
    /// Downloadable: the archive has `len` bytes at `path`.
    Ready { len: u64, path: PathBuf },
    /// Past its TTL: `403 ExpiredToken`.
    Expired,
}

/// A triggered export.
#[derive(Debug)]
pub(crate) struct Export {
    pub(crate) object_prefix: String,
    pub(crate) segment_id: String,
    /// The `X-Amz-Signature` of its URL.
    pub(crate) signature: String,
    /// The download URL handed to the client.
    pub(crate) url: String,
    /// The earliest moment it may be ready (trigger + `ready_after`).
    not_before: Instant,
    ttl: Duration,
    pub(crate) path: PathBuf,
    written: Mutex<Written>,
}

impl Export {
    pub(crate) fn new(
        object_prefix: String,
        segment_id: String,
        signature: String,
        url: String,
        not_before: Instant,
        ttl: Duration,
        path: PathBuf,
    ) -> Self {
        Export {
            object_prefix,
            segment_id,
            signature,
            url,
            not_before,
            ttl,
            path,
            written: Mutex::new(Written::Writing),
        }
    }

    pub(crate) fn written(&self) -> MutexGuard<'_, Written> {
        self.written.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When it is (or will be) ready: once written, and not before the
    /// configured delay. `None` while writing or after a failure.
    fn ready_at(&self) -> Option<Instant> {
        match *self.written() {
            Written::Done { at, .. } => Some(at.max(self.not_before)),
            Written::Writing | Written::Failed => None,
        }
    }

    /// When the link expires; `None` when never (a TTL too large for the clock).
    fn expires_at(&self) -> Option<Instant> {
        self.ready_at()?.checked_add(self.ttl)
    }

    /// What the URL answers at `now`.
    pub(crate) fn phase(&self, now: Instant) -> Phase {
        let len = match *self.written() {
            Written::Writing => return Phase::Preparing,
            Written::Failed => return Phase::Failed,
            Written::Done { len, .. } => len,
        };
        match (self.ready_at(), self.expires_at()) {
            (Some(ready), _) if now < ready => Phase::Preparing,
            (_, Some(expires)) if now >= expires => Phase::Expired,
            _ => Phase::Ready {
                len,
                path: self.path.clone(),
            },
        }
    }
}

/// What to export, fixed at trigger time.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) segment: SegmentConfig,
    pub(crate) fields: FieldSet,
    pub(crate) callback: Option<String>,
    /// Bucket mode: `.gz` objects instead of `.zip`.
    pub(crate) gzip: bool,
}

/// Runs an export to the end of its life; ends early when the simulator
/// shuts down.
pub(crate) async fn run(shared: Arc<Shared>, export: Arc<Export>, job: Job) {
    let stopped = shared.stopped();
    tokio::select! {
        () = lifecycle(&shared, &export, job) => {}
        () = stopped => {}
    }
}

async fn lifecycle(shared: &Arc<Shared>, export: &Arc<Export>, job: Job) {
    let prefix = &export.object_prefix;
    if shared.faults.config.fail_exports {
        // Braze reports failures by email only: the URL just never works.
        info!(object_prefix = %prefix, "brazex-sim: export failed (fail_exports fault)");
        *export.written() = Written::Failed;
        return;
    }
    if let Some(bucket) = shared.config.bucket.clone() {
        return super::bucket::lifecycle(shared, export, job, bucket).await;
    }
    let path = export.path.clone();
    let per_entry = shared.config.users_per_entry;
    let cancel = shared.cancel.clone();
    let Job {
        segment,
        fields,
        callback,
        ..
    } = job;
    let started = Instant::now();
    // Generating and deflating is CPU work: keep it off the async workers.
    let result = tokio::task::spawn_blocking(move || {
        write_spool(&segment, fields, per_entry, &path, &cancel)
    })
    .await;
    let len = match result {
        Ok(Ok(len)) => len,
        Ok(Err(e)) => {
            warn!(object_prefix = %prefix, error = %e, "brazex-sim: writing the export failed");
            *export.written() = Written::Failed;
            return;
        }
        Err(e) => {
            warn!(object_prefix = %prefix, error = %e, "brazex-sim: the export writer panicked");
            *export.written() = Written::Failed;
            return;
        }
    };
    *export.written() = Written::Done {
        len,
        at: Instant::now(),
    };
    info!(
        object_prefix = %prefix,
        bytes = len,
        secs = started.elapsed().as_secs_f64(),
        "brazex-sim: export written"
    );
    if let Some(ready) = export.ready_at() {
        tokio::time::sleep_until(ready.into()).await;
    }
    info!(object_prefix = %prefix, "brazex-sim: export ready");
    if let Some(url) = callback {
        let body = serde_json::json!({"success": true, "url": export.url}).to_string();
        // Delivered on its own task so a slow callback receiver cannot delay
        // the expiry below.
        let shared = shared.clone();
        tokio::spawn(async move {
            let stopped = shared.stopped();
            tokio::select! {
                () = callback::deliver(&shared.log, &url, &body) => {}
                () = stopped => {}
            }
        });
    }
    if let Some(expires) = export.expires_at() {
        tokio::time::sleep_until(expires.into()).await;
        // Braze deletes expired exports; so does the simulator (the answer
        // is ExpiredToken either way, the phase does not need the file).
        if let Err(e) = fs::remove_file(&export.path) {
            warn!(object_prefix = %prefix, error = %e, "brazex-sim: removing an expired export");
        }
        info!(object_prefix = %prefix, "brazex-sim: export expired and deleted");
    }
}

/// A file whose writes fail once the simulator shuts down, so a large export
/// being written does not hold up the shutdown.
struct Cancellable<'a> {
    file: File,
    cancel: &'a AtomicBool,
    /// A write already failed for the cancellation. Later writes are
    /// discarded and succeed: the zip writer finalises the archive when
    /// dropped and prints to stderr if that fails, which a shutdown should
    /// not do (the `.part` file is deleted anyway).
    cancelled: bool,
}

impl Write for Cancellable<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cancelled {
            return Ok(buf.len());
        }
        if self.cancel.load(Ordering::Relaxed) {
            self.cancelled = true;
            return Err(io::Error::other("the simulator shut down"));
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for Cancellable<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

/// Writes the export archive to `path` (via `path.part`); returns its size.
fn write_spool(
    segment: &SegmentConfig,
    fields: FieldSet,
    users_per_entry: u64,
    path: &Path,
    cancel: &AtomicBool,
) -> crate::Result<u64> {
    let gen = UserGenerator::new(GeneratorConfig {
        seed: segment.seed,
        fields,
    });
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let file = File::create(&part)?;
    let w = BufWriter::with_capacity(
        256 * 1024,
        Cancellable {
            file,
            cancel,
            cancelled: false,
        },
    );
    let result = if segment.us_only {
        us_users(segment, cancel).and_then(|users| {
            let chunks = users.chunks(users_per_entry.max(1) as usize);
            write_zip_users(&gen, chunks.map(|c| c.iter().copied()), w)
        })
    } else {
        write_zip(&gen, segment.users, users_per_entry, w)
    };
    if let Err(e) = result {
        // Best effort: a half-written spool file is useless.
        let _ = fs::remove_file(&part);
        return Err(e);
    }
    let len = fs::metadata(&part)?.len();
    fs::rename(&part, path)?;
    Ok(len)
}

/// The indices of the users of `0..segment.users` whose country is `"US"`,
/// found by generating only their `country` field. The list (8 bytes a
/// user) is the only per-user memory an export needs; the archive itself
/// is streamed to disk.
pub(crate) fn us_users(segment: &SegmentConfig, cancel: &AtomicBool) -> crate::Result<Vec<u64>> {
    const US: &[u8] = br#"{"country":"US"}"#;
    let fields = FieldSet::from_export_request(["country"], [""; 0])?;
    let gen = UserGenerator::new(GeneratorConfig {
        seed: segment.seed,
        fields,
    });
    let mut line = Vec::with_capacity(64);
    let mut users = Vec::new();
    for index in 0..segment.users {
        if index % 65_536 == 0 && cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("the simulator shut down").into());
        }
        line.clear();
        gen.write_user(index, &mut line);
        if line == US {
            users.push(index);
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_users_are_the_us_users() {
        let segment = SegmentConfig::new("x", 500, 3).us_only();
        let users = us_users(&segment, &AtomicBool::new(false)).expect("us users");
        let gen = UserGenerator::new(GeneratorConfig::new(3));
        for i in 0..500 {
            let user: serde_json::Value = serde_json::from_str(&gen.user_string(i)).expect("json");
            let us = user.get("country").and_then(|c| c.as_str()) == Some("US");
            assert_eq!(users.contains(&i), us, "user {i}: {user}");
        }
        assert!(users.len() > 50 && users.len() < 450, "{}", users.len());
    }
}
