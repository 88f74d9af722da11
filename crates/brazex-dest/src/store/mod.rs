//! Objects in S3, GCS and Azure: uploaded while they are encoded, visible only when
//! the run commits.
//!
//! A part is never copied to local disk. Its bytes fill one buffer of
//! `--upload-part-size`; each full buffer is sent as one upload part while the
//! encoder goes on filling the next, at most `--upload-concurrency` parts in flight
//! over the whole run (a writer that would exceed it waits), so upload memory is
//! about `(concurrency + open parts) × part size` whatever the export's size.
//!
//! Each cloud's own two-phase upload keeps a finished part invisible:
//! - S3: a multipart upload, completed (`CompleteMultipartUpload`) at commit;
//! - Azure: blocks (`Put Block`), committed as the blob's block list at commit;
//! - GCS: a resumable upload (JSON API) whose chunks are sent as they fill, but
//!   whose final chunk is sent at commit. GCS takes chunks in multiples of 256 KiB
//!   only, so a finished part's last < 256 KiB wait in memory for the commit
//!   ([`MAX_GCS_PENDING_TAIL`] bounds them). (GCS's XML multipart API, which
//!   object_store uses, is not served by its emulators; resumable uploads are.)
//!
//! [`Remote`] is one bucket's uploads in one run. It is an `Undo` of the one
//! cancellation path: an error, a signal or a drop aborts the pending uploads and
//! deletes what a cut-short commit had already completed; a delete the credentials
//! may not do is reported with the permission needed. A folder target is claimed
//! first: the multipart uploads a killed run left pending under the prefix (S3 keeps
//! and bills them until aborted) are aborted then, and reported. GCS resumable
//! sessions and Azure uncommitted blocks are invisible and expire by themselves
//! after a week.

mod gcs;
mod s3;

use std::fmt;
use std::io::{self, Write};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use brazex_braze::{connect, error_text, Access, BucketUrl, Client, Cloud, Traffic};
use brazex_core::cancel::{self, Registration, Undo, Undone};
use brazex_core::{Error, Result};
use bytes::Bytes;
use object_store::multipart::PartId;
use object_store::path::Path as StorePath;
use object_store::{MultipartId, ObjectStoreExt, PutPayload};
use tracing::debug;

use crate::StoreOptions;

/// How a pending upload of a dead run is named among the leftovers a claim removed.
pub const PENDING_UPLOAD: &str = " (a pending upload)";

/// GCS chunks (but the last) are multiples of this.
pub const GCS_CHUNK: usize = 256 << 10;

/// The most bytes of finished GCS parts' tails held for the commit.
pub const MAX_GCS_PENDING_TAIL: usize = 64 << 20;

/// Longest wait for one request of an undo (abort, delete), so that a dead store
/// cannot hold a cancelled run forever.
const UNDO_TIMEOUT: Duration = Duration::from_secs(20);

/// Errors of object-store outputs (each is reported with the object it concerns).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("access denied ({what}): the credentials need {needs}; the store said: {detail}")]
    AccessDenied {
        what: &'static str,
        needs: &'static str,
        detail: String,
    },

    #[error("{what} failed: {detail}")]
    Request { what: &'static str, detail: String },

    #[error(
        "GCS keeps the last bytes (under 256 KiB) of each finished part in memory until the run \
         commits, and this run's parts would hold more than {limit} bytes so: write fewer, larger \
         parts (--rows-per-file, --max-file-bytes)"
    )]
    TooManyPendingParts { limit: usize },

    #[error("--upload-part-size must be at least 5MiB and a multiple of 256KiB (got {0} bytes)")]
    BadPartSize(usize),
}

impl StoreError {
    /// The store answered no (a 4xx status): the request had no effect.
    fn is_refusal(&self) -> bool {
        match self {
            StoreError::AccessDenied { .. } => true,
            StoreError::Request { detail, .. } => {
                (400..500).any(|status| detail.contains(&format!("{status} ")))
                    && !detail.contains("408 ")
                    && !detail.contains("429 ")
            }
            _ => false,
        }
    }
}

/// The object-store side of a run: its runtime, its upload slots, and one
/// [`Remote`] per bucket.
pub(crate) struct Stores {
    runtime: Option<tokio::runtime::Runtime>,
    options: StoreOptions,
    permits: Arc<Permits>,
    http: reqwest::Client,
    remotes: Vec<(Arc<Remote>, Registration)>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("remotes", &self.remotes.len())
            .finish_non_exhaustive()
    }
}

impl Stores {
    pub(crate) fn new(options: StoreOptions) -> Result<Stores> {
        let size = options.part_size;
        if size < 5 << 20 || !size.is_multiple_of(GCS_CHUNK) {
            return Err(store_error(
                "--upload-part-size",
                StoreError::BadPartSize(size),
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("brazex-upload")
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the upload runtime", e))?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::io("cannot start the upload client", io::Error::other(e)))?;
        Ok(Stores {
            runtime: Some(runtime),
            permits: Arc::new(Permits::new(options.concurrency.max(1))),
            options,
            http,
            remotes: Vec::new(),
        })
    }

    /// The uploads into `url`'s bucket, connected on first use.
    pub(crate) fn remote(&mut self, url: &BucketUrl) -> Result<Arc<Remote>> {
        if let Some((remote, _)) = self
            .remotes
            .iter()
            .find(|(r, _)| r.bucket.cloud == url.cloud && r.bucket.bucket == url.bucket)
        {
            return Ok(remote.clone());
        }
        let client = connect(url, &self.options.endpoints, Traffic::Writes)
            .map_err(|e| Error::io(format!("cannot write {url}"), io::Error::other(e)))?;
        let handle = match &self.runtime {
            Some(runtime) => runtime.handle().clone(),
            None => return Err(Error::Internal("the upload runtime is gone")),
        };
        let remote = Arc::new(Remote {
            bucket: BucketUrl {
                prefix: String::new(),
                ..url.clone()
            },
            client,
            handle,
            http: self.http.clone(),
            permits: self.permits.clone(),
            part_size: self.options.part_size,
            concurrency: self.options.concurrency.max(1),
            state: Mutex::new(State::default()),
        });
        let undo: Arc<dyn Undo> = remote.clone();
        let registration = cancel::register(&undo);
        self.remotes.push((remote.clone(), registration));
        Ok(remote)
    }

    pub(crate) fn take_cleaned(&self) -> Vec<String> {
        self.remotes
            .iter()
            .flat_map(|(r, _)| std::mem::take(&mut r.state().cleaned))
            .collect()
    }

    pub(crate) fn commit(&self) -> Result<()> {
        for (remote, _) in &self.remotes {
            remote.commit()?;
        }
        Ok(())
    }
}

impl Drop for Stores {
    /// A run that did not commit removes what it uploaded; then the runtime goes
    /// (without waiting for tasks an undo gave up on).
    fn drop(&mut self) {
        for (remote, _) in &self.remotes {
            cancel::record(remote.undo());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Upload slots shared by every part of a run (`--upload-concurrency`).
#[derive(Debug)]
struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

/// One slot, given back when dropped (when its part's request has ended).
#[derive(Debug)]
struct Permit(Arc<Permits>);

impl Permits {
    fn new(n: usize) -> Permits {
        Permits {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    /// Waits for a slot; a stop request ends the wait.
    fn acquire(self: &Arc<Self>) -> Result<Permit> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            cancel::check()?;
            if *free > 0 {
                *free -= 1;
                return Ok(Permit(self.clone()));
            }
            free = self
                .freed
                .wait_timeout(free, Duration::from_millis(100))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// One bucket's uploads in one run.
pub struct Remote {
    /// The bucket (its prefix empty).
    bucket: BucketUrl,
    client: Client,
    handle: tokio::runtime::Handle,
    http: reqwest::Client,
    permits: Arc<Permits>,
    part_size: usize,
    /// Completions at once at commit (`--upload-concurrency`).
    concurrency: usize,
    state: Mutex<State>,
}

impl fmt::Debug for Remote {
    /// The bucket only: never credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("bucket", &self.bucket.to_string())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    objects: Vec<Pending>,
    next_id: u64,
    /// Prefixes claimed (their objects need no claim of their own).
    claimed: Vec<String>,
    /// Leftovers of dead runs removed by the claims, not yet reported.
    cleaned: Vec<String>,
    /// Bytes of GCS tails held for the commit.
    tails: usize,
    /// Committed, or undone: nothing more to do.
    settled: bool,
}

#[derive(Debug)]
struct Pending {
    id: u64,
    key: String,
    upload: Started,
    /// Finished: complete, waiting for the commit (`parts` / `tail` are final).
    finished: bool,
    /// Made visible by a commit that has not completed yet.
    completed: bool,
}

/// An upload as started.
#[derive(Debug, Clone)]
enum Started {
    /// S3 multipart upload or Azure block list, with the parts sent.
    Multipart { id: MultipartId, parts: Vec<PartId> },
    /// GCS resumable upload: its session, the bytes sent, and the final chunk.
    Resumable {
        session: String,
        sent: u64,
        tail: Vec<u8>,
    },
    /// No bytes at all: written with a plain PUT at commit (a multipart upload
    /// needs one part at least).
    Empty,
}

/// Runs `future` on the upload runtime and waits for it from this (plain) thread.
fn wait<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    future: impl std::future::Future<Output = T> + Send + 'static,
    timeout: Option<Duration>,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    handle.spawn(async move {
        let _ = tx.send(future.await);
    });
    match timeout {
        Some(t) => rx.recv_timeout(t).ok(),
        None => rx.recv().ok(),
    }
}

/// Runs `future` on the upload runtime and waits for it without a time limit.
fn run<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T> {
    wait(handle, future, None).ok_or(Error::Internal("the upload runtime is gone"))
}

/// An error of ours inside a `Write`: the part writer adds which object it was.
fn into_io(e: Error) -> io::Error {
    match e {
        Error::Io { source, .. } => source,
        e => io::Error::other(e),
    }
}

/// A store error as the pipeline reports it: `cannot write URL: …`.
fn store_error(url: impl fmt::Display, e: StoreError) -> Error {
    Error::io(format!("cannot write {url}"), io::Error::other(e))
}

impl Remote {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn url(&self, key: &str) -> String {
        self.bucket.object_url(key)
    }

    /// What `what` needs in this cloud.
    fn needs(&self, what: &'static str) -> &'static str {
        match (self.bucket.cloud, what) {
            (Cloud::S3, "delete") => "s3:DeleteObject",
            (Cloud::S3, "abort") => "s3:AbortMultipartUpload",
            (Cloud::S3, "list uploads") => "s3:ListBucketMultipartUploads",
            (Cloud::S3, "list") => "s3:ListBucket",
            (Cloud::S3, _) => "s3:PutObject",
            (Cloud::Gcs, "delete") => "storage.objects.delete",
            (Cloud::Gcs, "list") => "storage.objects.list",
            (Cloud::Gcs, _) => "storage.objects.create",
            (Cloud::Azure, _) => "the Storage Blob Data Contributor role",
        }
    }

    /// Classifies an object_store error of request `what`.
    fn classify(&self, what: &'static str, e: &object_store::Error) -> StoreError {
        let detail = error_text(e);
        // Some refusals come as generic errors (S3's DeleteObjects answers 200 and
        // refuses per key): the store's code says it then.
        let denied = matches!(
            e,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || detail.contains("AccessDenied")
            || detail.contains("AuthorizationPermissionMismatch");
        if denied {
            StoreError::AccessDenied {
                what,
                needs: self.needs(what),
                detail,
            }
        } else {
            StoreError::Request { what, detail }
        }
    }

    /// Claims prefix `url` (a folder target, `folder`) or one object's key: aborts
    /// the multipart uploads runs that died left pending there (S3), and reports them.
    pub(crate) fn claim(&self, url: &BucketUrl, folder: bool) -> Result<()> {
        let key = url.prefix.clone();
        {
            let mut state = self.state();
            state.claimed.push(key.clone());
        }
        let Access::S3 { .. } = &self.client.access else {
            return Ok(());
        };
        let prefix = match (folder, key.is_empty()) {
            (true, false) => format!("{key}/"),
            _ => key.clone(),
        };
        let listing = run(
            &self.handle,
            s3::list_pending(
                self.http.clone(),
                self.client.access.clone(),
                self.bucket.bucket.clone(),
                prefix,
            ),
        )?;
        let pending = listing.map_err(|detail| {
            store_error(
                url,
                if detail.contains("AccessDenied") || detail.contains("403") {
                    StoreError::AccessDenied {
                        what: "list pending uploads",
                        needs: self.needs("list uploads"),
                        detail,
                    }
                } else {
                    StoreError::Request {
                        what: "listing pending uploads",
                        detail,
                    }
                },
            )
        })?;
        for (stale_key, id) in pending {
            let name = stale_key.rsplit('/').next().unwrap_or_default();
            let ours = name.starts_with("part-") || name.starts_with("_manifest");
            if (folder && !ours) || (!folder && stale_key != key) {
                continue;
            }
            let multipart = self.client.multipart.clone();
            let path = StorePath::from(stale_key.as_str());
            let aborted = run(&self.handle, async move {
                multipart.abort_multipart(&path, &id).await
            })?;
            aborted.map_err(|e| store_error(self.url(&stale_key), self.classify("abort", &e)))?;
            self.state()
                .cleaned
                .push(format!("{}{PENDING_UPLOAD}", self.url(&stale_key)));
        }
        Ok(())
    }

    /// The first object that shows prefix `url` already holds brazex output.
    pub(crate) fn existing_output(&self, url: &BucketUrl) -> Result<Option<String>> {
        let store = self.client.store.clone();
        let prefix = url.prefix.clone();
        let found = run(&self.handle, async move {
            let root = (!prefix.is_empty()).then(|| StorePath::from(prefix.as_str()));
            let top = store.list_with_delimiter(root.as_ref()).await?;
            let named = |p: &StorePath| p.filename().map(str::to_string);
            for object in &top.objects {
                if let Some(name) = named(&object.location) {
                    if name == crate::manifest::MANIFEST || name.starts_with("part-") {
                        return Ok(Some(name));
                    }
                }
            }
            for sub in &top.common_prefixes {
                let inner = store.list_with_delimiter(Some(sub)).await?;
                if let Some(part) = inner
                    .objects
                    .iter()
                    .find(|o| named(&o.location).is_some_and(|n| n.starts_with("part-")))
                {
                    return Ok(Some(part.location.to_string()));
                }
            }
            Ok::<_, object_store::Error>(None)
        })?;
        found.map_err(|e| store_error(url, self.classify("list", &e)))
    }

    /// Starts the upload of object `url` (claiming its key first when it is outside
    /// every claimed prefix).
    pub(crate) fn create(self: &Arc<Self>, url: &BucketUrl) -> Result<Upload> {
        let key = url.prefix.clone();
        let inside = self
            .state()
            .claimed
            .iter()
            .any(|p| p.is_empty() || key.starts_with(&format!("{p}/")));
        if !inside {
            self.claim(url, false)?;
        }
        let shown = self.url(&key);
        let started = match &self.client.access {
            Access::Gcs {
                base_url,
                credentials,
            } => {
                let start = gcs::start(
                    self.http.clone(),
                    base_url.clone(),
                    credentials.clone(),
                    self.bucket.bucket.clone(),
                    key.clone(),
                );
                let session = run(&self.handle, start)?
                    .map_err(|e| store_error(&shown, self.gcs_error("start the upload", e)))?;
                Started::Resumable {
                    session,
                    sent: 0,
                    tail: Vec::new(),
                }
            }
            _ => {
                let multipart = self.client.multipart.clone();
                let path = StorePath::from(key.as_str());
                let id = run(&self.handle, async move {
                    multipart.create_multipart(&path).await
                })?
                .map_err(|e| store_error(&shown, self.classify("start the upload", &e)))?;
                Started::Multipart {
                    id,
                    parts: Vec::new(),
                }
            }
        };
        let id = {
            let mut state = self.state();
            let id = state.next_id;
            state.next_id += 1;
            state.objects.push(Pending {
                id,
                key: key.clone(),
                upload: started.clone(),
                finished: false,
                completed: false,
            });
            id
        };
        let (tx, rx) = mpsc::channel();
        debug!(object = %shown, "upload started");
        Ok(Upload {
            remote: self.clone(),
            id,
            key,
            shown,
            buf: Vec::new(),
            started,
            next_part: 0,
            sent: 0,
            results: rx,
            tx,
            parts: Vec::new(),
            received: 0,
            previous: None,
            done: false,
        })
    }

    fn gcs_error(&self, what: &'static str, e: gcs::Failure) -> StoreError {
        if e.status == Some(401) || e.status == Some(403) {
            StoreError::AccessDenied {
                what,
                needs: self.needs(what),
                detail: e.detail,
            }
        } else {
            StoreError::Request {
                what,
                detail: e.detail,
            }
        }
    }

    /// Completes every finished upload: the data objects side by side (at most
    /// `--upload-concurrency` at once), then the manifests one by one in the order
    /// they were created, so that a manifest is visible only once everything it
    /// lists is.
    fn commit(self: &Arc<Self>) -> Result<()> {
        let objects: Vec<(u64, String, Started)> = self
            .state()
            .objects
            .iter()
            .filter(|p| p.finished)
            .map(|p| (p.id, p.key.clone(), p.upload.clone()))
            .collect();
        let (manifests, data): (Vec<_>, Vec<_>) = objects.into_iter().partition(|(_, key, _)| {
            key.rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with("_manifest"))
        });
        self.complete_all(data, self.concurrency)?;
        for manifest in manifests {
            self.complete_all(vec![manifest], 1)?;
        }
        let mut state = self.state();
        state.settled = true;
        Ok(())
    }

    /// Completes `objects`, `at_once` at a time; the first error (in their order)
    /// once all have answered.
    fn complete_all(
        self: &Arc<Self>,
        objects: Vec<(u64, String, Started)>,
        at_once: usize,
    ) -> Result<()> {
        use futures_util::StreamExt;
        cancel::check()?;
        let remote = self.clone();
        let outcomes = run(&self.handle, async move {
            let requests = objects
                .into_iter()
                .enumerate()
                .map(|(order, (id, key, upload))| {
                    let remote = remote.clone();
                    async move {
                        let outcome = remote.complete(&key, upload).await;
                        (order, id, key, outcome)
                    }
                });
            futures_util::stream::iter(requests)
                .buffer_unordered(at_once.max(1))
                .collect::<Vec<_>>()
                .await
        })?;
        let mut outcomes = outcomes;
        outcomes.sort_by_key(|(order, ..)| *order);
        let mut first_error = None;
        for (_, id, key, outcome) in outcomes {
            let url = self.url(&key);
            // A completion the store refused (a 4xx answer) did not happen; one
            // that failed otherwise (a timeout, a 5xx) may have, and the undo then
            // deletes it.
            let refused = outcome.as_ref().err().is_some_and(|e| e.is_refusal());
            if !refused {
                if let Some(p) = self.state().objects.iter_mut().find(|p| p.id == id) {
                    p.completed = true;
                }
            }
            match outcome {
                Ok(()) => debug!(object = %url, "completed"),
                Err(e) => {
                    first_error.get_or_insert_with(|| store_error(&url, e));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Makes one finished upload visible.
    async fn complete(
        self: Arc<Self>,
        key: &str,
        upload: Started,
    ) -> std::result::Result<(), StoreError> {
        let path = StorePath::from(key);
        match upload {
            Started::Multipart { id, parts } => self
                .client
                .multipart
                .complete_multipart(&path, &id, parts)
                .await
                .map(|_| ())
                .map_err(|e| self.classify("complete the upload", &e)),
            Started::Empty => self
                .client
                .store
                .put(&path, PutPayload::default())
                .await
                .map(|_| ())
                .map_err(|e| self.classify("write", &e)),
            Started::Resumable {
                session,
                sent,
                tail,
            } => gcs::put_chunk(
                self.http.clone(),
                self.gcs_credentials(),
                session,
                sent,
                Bytes::from(tail),
                true,
            )
            .await
            .map_err(|e| self.gcs_error("complete the upload", e)),
        }
    }

    fn gcs_credentials(&self) -> Option<object_store::gcp::GcpCredentialProvider> {
        match &self.client.access {
            Access::Gcs { credentials, .. } => credentials.clone(),
            _ => None,
        }
    }

    /// Aborts upload `upload` of `key` (nothing of it becomes visible).
    fn abort(&self, key: &str, upload: &Started) -> std::result::Result<(), String> {
        let path = StorePath::from(key);
        let outcome = match upload.clone() {
            Started::Multipart { id, .. } => {
                let multipart = self.client.multipart.clone();
                wait(
                    &self.handle,
                    async move { multipart.abort_multipart(&path, &id).await },
                    Some(UNDO_TIMEOUT),
                )
                .map(|r| r.map_err(|e| self.classify("abort", &e).to_string()))
            }
            Started::Resumable { session, .. } => wait(
                &self.handle,
                gcs::cancel(self.http.clone(), self.gcs_credentials(), session),
                Some(UNDO_TIMEOUT),
            )
            .map(|r| r.map_err(|e| e.detail)),
            Started::Empty => Some(Ok(())),
        };
        outcome.unwrap_or_else(|| Err("no answer from the store".into()))
    }
}

impl Undo for Remote {
    fn undo(&self) -> Undone {
        let objects = {
            let mut state = self.state();
            if state.settled {
                return Undone::default();
            }
            state.settled = true;
            std::mem::take(&mut state.objects)
        };
        let mut undone = Undone::default();
        for object in objects {
            let url = self.url(&object.key);
            if !object.completed {
                match self.abort(&object.key, &object.upload) {
                    Ok(()) => undone.removed.push(format!("{url} (upload aborted)")),
                    Err(e) => undone.left.push(format!("{url}: a pending upload: {e}")),
                }
                continue;
            }
            let store = self.client.store.clone();
            let path = StorePath::from(object.key.as_str());
            let deleted = wait(
                &self.handle,
                async move { store.delete(&path).await },
                Some(UNDO_TIMEOUT),
            );
            match deleted {
                Some(Ok(())) | Some(Err(object_store::Error::NotFound { .. })) => {
                    undone.removed.push(url)
                }
                Some(Err(e)) => undone
                    .left
                    .push(format!("{url}: {}", self.classify("delete", &e))),
                None => undone.left.push(format!("{url}: no answer from the store")),
            }
        }
        undone
    }
}

/// One object being uploaded: a [`Write`] for the part writers.
pub struct Upload {
    remote: Arc<Remote>,
    id: u64,
    key: String,
    shown: String,
    /// Bytes not sent yet (at most one part).
    buf: Vec<u8>,
    started: Started,
    next_part: usize,
    /// Bytes handed to part requests.
    sent: u64,
    /// Each part request's outcome: its index and id (S3, Azure) or `None` (GCS).
    results: mpsc::Receiver<(usize, std::result::Result<Option<PartId>, StoreError>)>,
    tx: mpsc::Sender<(usize, std::result::Result<Option<PartId>, StoreError>)>,
    parts: Vec<Option<PartId>>,
    /// Part requests whose outcome has been collected.
    received: usize,
    /// GCS chunks go one after the other: the previous chunk's outcome.
    previous: Option<tokio::sync::oneshot::Receiver<bool>>,
    done: bool,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("dest", &self.shown)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl Upload {
    pub fn dest(&self) -> &str {
        &self.shown
    }

    /// Collects the outcomes of part requests; `all`: waits for every one.
    fn collect(&mut self, all: bool) -> std::result::Result<(), StoreError> {
        loop {
            if self.received == self.next_part {
                return Ok(());
            }
            let next = if all {
                match self.results.recv_timeout(Duration::from_millis(100)) {
                    Ok(r) => r,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Some(signal) = cancel::requested() {
                            return Err(StoreError::Request {
                                what: "the upload",
                                detail: format!("cancelled by {}", cancel::signal_name(signal)),
                            });
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(StoreError::Request {
                            what: "the upload",
                            detail: "the upload runtime stopped".into(),
                        })
                    }
                }
            } else {
                match self.results.try_recv() {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            };
            let (index, outcome) = next;
            self.received += 1;
            if let Some(id) = outcome? {
                if self.parts.len() <= index {
                    self.parts.resize(index + 1, None);
                }
                self.parts[index] = Some(id);
            }
        }
    }

    /// Sends `data` as the next part (or GCS chunk), waiting for an upload slot.
    fn send(&mut self, data: Vec<u8>) -> Result<()> {
        self.collect(false)
            .map_err(|e| store_error(&self.shown, e))?;
        let permit = self.remote.permits.acquire()?;
        let index = self.next_part;
        self.next_part += 1;
        let len = data.len() as u64;
        let start = self.sent;
        self.sent += len;
        let tx = self.tx.clone();
        let remote = self.remote.clone();
        let key = self.key.clone();
        match &self.started {
            Started::Multipart { id, .. } => {
                let id = id.clone();
                self.remote.handle.spawn(async move {
                    let path = StorePath::from(key.as_str());
                    let payload = PutPayload::from(Bytes::from(data));
                    let outcome = remote
                        .client
                        .multipart
                        .put_part(&path, &id, index, payload)
                        .await
                        .map(Some)
                        .map_err(|e| remote.classify("upload a part", &e));
                    drop(permit);
                    let _ = tx.send((index, outcome));
                });
            }
            Started::Resumable { session, .. } => {
                let session = session.clone();
                let previous = self.previous.take();
                let (done, next) = tokio::sync::oneshot::channel();
                self.previous = Some(next);
                let credentials = self.remote.gcs_credentials();
                let http = self.remote.http.clone();
                self.remote.handle.spawn(async move {
                    let ready = match previous {
                        Some(previous) => previous.await.unwrap_or(false),
                        None => true,
                    };
                    let outcome = if ready {
                        gcs::put_chunk(http, credentials, session, start, Bytes::from(data), false)
                            .await
                            .map(|()| None)
                            .map_err(|e| remote.gcs_error("upload a chunk", e))
                    } else {
                        Err(StoreError::Request {
                            what: "upload a chunk",
                            detail: "an earlier chunk failed".into(),
                        })
                    };
                    drop(permit);
                    let _ = done.send(outcome.is_ok());
                    let _ = tx.send((index, outcome));
                });
            }
            Started::Empty => return Err(Error::Internal("a part sent to an empty upload")),
        }
        Ok(())
    }

    /// Sends what is buffered and waits for every part: complete, the object waits
    /// for the run to commit.
    pub fn finish(mut self) -> Result<()> {
        let buf = std::mem::take(&mut self.buf);
        let started = match &self.started {
            Started::Multipart { .. } if self.next_part == 0 && buf.is_empty() => {
                // Nothing at all: a multipart upload cannot be empty.
                let _ = self.remote.abort(&self.key, &self.started.clone());
                Started::Empty
            }
            Started::Multipart { id, .. } => {
                let id = id.clone();
                self.send(buf)?;
                self.collect(true)
                    .map_err(|e| store_error(&self.shown, e))?;
                Started::Multipart {
                    id,
                    parts: self.parts.iter().flatten().cloned().collect(),
                }
            }
            Started::Resumable { session, .. } => {
                let session = session.clone();
                let whole = buf.len() / GCS_CHUNK * GCS_CHUNK;
                let mut buf = buf;
                let tail = buf.split_off(whole);
                if !buf.is_empty() {
                    self.send(buf)?;
                }
                self.collect(true)
                    .map_err(|e| store_error(&self.shown, e))?;
                let mut state = self.remote.state();
                state.tails += tail.len();
                if state.tails > MAX_GCS_PENDING_TAIL {
                    return Err(store_error(
                        &self.shown,
                        StoreError::TooManyPendingParts {
                            limit: MAX_GCS_PENDING_TAIL,
                        },
                    ));
                }
                Started::Resumable {
                    session,
                    sent: self.sent,
                    tail,
                }
            }
            Started::Empty => Started::Empty,
        };
        let mut state = self.remote.state();
        if let Some(p) = state.objects.iter_mut().find(|p| p.id == self.id) {
            p.upload = started;
            p.finished = true;
        }
        self.done = true;
        debug!(object = %self.shown, bytes = self.sent, "upload finished");
        Ok(())
    }
}

impl Drop for Upload {
    /// An upload given up before it was finished is aborted at once.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let pending = {
            let mut state = self.remote.state();
            let at = state.objects.iter().position(|p| p.id == self.id);
            at.map(|i| state.objects.remove(i))
        };
        if let Some(pending) = pending {
            let undone = match self.remote.abort(&pending.key, &pending.upload) {
                Ok(()) => Undone {
                    removed: vec![format!("{} (upload aborted)", self.shown)],
                    left: Vec::new(),
                },
                Err(e) => Undone {
                    removed: Vec::new(),
                    left: vec![format!("{}: a pending upload: {e}", self.shown)],
                },
            };
            cancel::record(undone);
        }
    }
}

impl Write for Upload {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.remote.part_size - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == self.remote.part_size {
            // The next part is as large: allocated once, not grown again.
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.remote.part_size));
            self.send(full).map_err(into_io)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
