//! Object-store inputs: `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`.
//!
//! Exports into a company's own bucket are many archives (one per ~5,000 users) under
//! `segment-export/SEGMENT_ID/DATE/OBJECT_PREFIX/`. [`Bucket::list`] finds the objects
//! below a prefix in key order; [`Bucket::readers`] turns them into one
//! [`std::io::Read`] each for the pipeline, which reads them in that order.
//!
//! Streaming, bounded, in order: a scheduler task on the tokio runtime starts the
//! objects' GETs in key order, at most `concurrency` at once (a semaphore permit per
//! object, held until its reader has read its last byte: a download that has handed
//! all its chunks to its channel still holds them there), and each object's chunks go
//! through its own channel of at most `queue` chunks and [`chunks::BUFFER`] bytes
//! (see [`crate::chunks`]). So while the pipeline reads object `i`, objects
//! `i+1 .. i+concurrency-1` are already downloading into their (bounded) queues,
//! hiding each GET's latency, and memory stays at most `concurrency × BUFFER` bytes
//! whatever the export's size. Object `i` always holds a permit while it is being
//! read (permits are taken in key order), so this cannot deadlock. Nothing goes to
//! disk.
//!
//! A body that breaks off is asked again from the first byte not yet delivered
//! (`Range: bytes=N-`, with `If-Match` on the listed ETag so a replaced object is an
//! error rather than a splice of two objects), up to `retries` times; an object that
//! is gone on retry (deleted mid-read), or ends before its listed size, is an error
//! naming its key.
//!
//! Credentials come from each cloud's standard environment (object_store's
//! `from_env`): `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, web
//! identity, ECS/EKS and EC2 instance metadata for S3; `GOOGLE_APPLICATION_CREDENTIALS`
//! or the instance's service account for GCS; `AZURE_STORAGE_ACCOUNT_NAME` with a key,
//! SAS or Azure AD identity for Azure.

use std::fmt;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::chunks::{self, ChunkReader, ChunkSender};
use futures_util::StreamExt;
use object_store::multipart::MultipartStore;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, info, warn};

/// Which cloud an object URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    S3,
    Gcs,
    Azure,
}

impl Cloud {
    fn scheme(self) -> &'static str {
        match self {
            Cloud::S3 => "s3",
            Cloud::Gcs => "gs",
            Cloud::Azure => "az",
        }
    }
}

/// A parsed `s3://bucket/prefix` (or `gs://`, `az://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketUrl {
    pub cloud: Cloud,
    /// The bucket (Azure: the container).
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (empty for the whole bucket).
    pub prefix: String,
}

impl BucketUrl {
    /// Whether `text` is an object-store URL (rather than a local path).
    pub fn is_bucket_url(text: &str) -> bool {
        ["s3://", "gs://", "az://"]
            .iter()
            .any(|s| text.len() >= s.len() && text[..s.len()].eq_ignore_ascii_case(s))
    }

    pub fn parse(text: &str) -> Result<BucketUrl, BucketError> {
        let bad = |why: &str| BucketError::BadUrl {
            url: text.to_string(),
            problem: why.to_string(),
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad("expected s3://BUCKET/PREFIX, gs://… or az://…"))?;
        let cloud = match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => Cloud::S3,
            "gs" | "gcs" => Cloud::Gcs,
            "az" | "azure" | "abfs" => Cloud::Azure,
            _ => return Err(bad("the scheme must be s3, gs or az")),
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket name"));
        }
        Ok(BucketUrl {
            cloud,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The URL of `key` in this bucket, as objects are named in messages and errors.
    pub fn object_url(&self, key: &str) -> String {
        format!("{}://{}/{key}", self.cloud.scheme(), self.bucket)
    }

    /// This bucket with `sub` appended to the prefix.
    pub fn join(&self, sub: &str) -> BucketUrl {
        let sub = sub.trim_matches('/');
        let prefix = match (self.prefix.is_empty(), sub.is_empty()) {
            (true, _) => sub.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{sub}", self.prefix),
        };
        BucketUrl {
            prefix,
            ..self.clone()
        }
    }
}

impl fmt::Display for BucketUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}/{}",
            self.cloud.scheme(),
            self.bucket,
            self.prefix
        )
    }
}

/// How to reach the store and how much to fetch at once.
#[derive(Debug, Clone)]
pub struct BucketOptions {
    /// Where each cloud's service is, when not the public one.
    pub endpoints: Endpoints,
    /// Objects downloading at once (`--s3-concurrency`).
    pub concurrency: usize,
    /// Chunks buffered per object between its download and the pipeline (which hold
    /// at most [`crate::chunks::BUFFER`] bytes).
    pub queue: usize,
    /// Times a broken-off object body is asked again before giving up.
    pub retries: u32,
    /// How long a request waits for the store's next answer or byte before it is
    /// asked again (`--stall-timeout`); waits for the pipeline do not count.
    pub stall: Duration,
    /// First pause before such a retry; it doubles.
    pub retry_delay: Duration,
}

impl Default for BucketOptions {
    fn default() -> Self {
        BucketOptions {
            endpoints: Endpoints::default(),
            concurrency: 4,
            queue: 16,
            retries: 3,
            stall: Duration::from_secs(60),
            retry_delay: Duration::from_millis(200),
        }
    }
}

/// Errors of object-store inputs; each names the bucket, prefix or key concerned.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error("bad object-store URL '{url}': {problem}")]
    BadUrl { url: String, problem: String },

    #[error("cannot use {url}: {problem}")]
    Config { url: String, problem: String },

    #[error("no credentials for {url}: {hint}")]
    NoCredentials { url: String, hint: &'static str },

    #[error("access denied to {url} ({what}): the credentials need {needs} on it; the store said: {detail}")]
    AccessDenied {
        url: String,
        what: &'static str,
        needs: &'static str,
        detail: String,
    },

    #[error(
        "the bucket of {url} does not exist (or is not visible to these credentials): {detail}"
    )]
    NoSuchBucket { url: String, detail: String },

    #[error("nothing found under {url}: no object has this prefix")]
    Empty { url: String },

    #[error("cannot list {url}: {detail}")]
    List { url: String, detail: String },

    #[error("{url}: the object vanished while being read (at byte {offset} of {size}): {detail}")]
    Vanished {
        url: String,
        offset: u64,
        size: u64,
        detail: String,
    },

    #[error("{url}: the object changed while being read (at byte {offset}): {detail}")]
    Changed {
        url: String,
        offset: u64,
        detail: String,
    },

    #[error("{url}: the object is truncated: its body ended at byte {offset} but the listing says {size} bytes (after {retries} retries)")]
    Truncated {
        url: String,
        offset: u64,
        size: u64,
        retries: u32,
    },

    #[error("{url}: reading failed at byte {offset} of {size} after {retries} retries: {detail}")]
    Read {
        url: String,
        offset: u64,
        size: u64,
        retries: u32,
        detail: String,
    },
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
}

/// A bucket (and its credentials) to list and read.
#[derive(Debug, Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    url: BucketUrl,
    options: BucketOptions,
}

impl Bucket {
    /// Opens the store of `url` with credentials from the environment. Nothing is
    /// requested yet, except that a missing credential is detected here when it can be.
    pub fn open(url: &BucketUrl, options: BucketOptions) -> Result<Bucket, BucketError> {
        let client = connect(url, &options.endpoints, Traffic::Reads)?;
        Ok(Bucket {
            store: client.store,
            url: url.clone(),
            options,
        })
    }

    pub fn url(&self) -> &BucketUrl {
        &self.url
    }

    /// Every object below `url`'s prefix (a "directory": `prefix/…`), in key order;
    /// when there is none and the prefix is itself an object's key, that object.
    /// `Ok(empty)` when nothing is there.
    pub async fn list(&self, url: &BucketUrl) -> Result<Vec<ObjectInfo>, BucketError> {
        let prefix = StorePath::from(url.prefix.as_str());
        // The store's client has no deadline of its own (see `PacedReads`).
        let stall = self.options.stall;
        let stalled = || BucketError::List {
            url: url.to_string(),
            detail: format!("no answer for {stall:?} (--stall-timeout)"),
        };
        let mut stream = self.store.list((!url.prefix.is_empty()).then_some(&prefix));
        let mut objects = Vec::new();
        while let Some(meta) = tokio::time::timeout(stall, stream.next())
            .await
            .map_err(|_| stalled())?
        {
            let meta = meta.map_err(|e| self.classify(&e, &url.to_string(), "list"))?;
            objects.push(info_of(meta));
        }
        if objects.is_empty() && !url.prefix.is_empty() {
            let head = tokio::time::timeout(stall, self.store.head(&prefix));
            match head.await.map_err(|_| stalled())? {
                Ok(meta) => objects.push(info_of(meta)),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.classify(&e, &url.to_string(), "get")),
            }
        }
        // Keys compare as bytes, like S3's own listing order; sorting makes it so
        // whatever the store returns.
        objects.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        debug!(url = %url, objects = objects.len(), "listed");
        Ok(objects)
    }

    /// Starts fetching `objects` on `runtime` (see the module docs) and returns their
    /// readers in the same order, each with its object's URL as label. The readers
    /// block: read them from plain threads (the pipeline's), not on the runtime.
    pub fn readers(
        &self,
        runtime: &tokio::runtime::Handle,
        objects: &[ObjectInfo],
        progress: Arc<BucketProgress>,
    ) -> Vec<(String, ObjectReader)> {
        let permits = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        let mut readers = Vec::with_capacity(objects.len());
        let mut jobs = Vec::with_capacity(objects.len());
        for object in objects {
            let (tx, rx) = chunks::channel(self.options.queue, chunks::BUFFER);
            let label = self.url.object_url(&object.key);
            let permit = Arc::new(Mutex::new(None));
            readers.push((
                label.clone(),
                ObjectReader {
                    chunks: rx,
                    permit: permit.clone(),
                },
            ));
            jobs.push(Fetch {
                store: self.store.clone(),
                object: object.clone(),
                label,
                options: self.options.clone(),
                tx,
                progress: progress.clone(),
                permit,
            });
        }
        let scheduler = runtime.spawn(async move {
            for job in jobs {
                // Taken in key order: object i is always downloading while read.
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                tokio::spawn(job.run(permit));
            }
        });
        // The scheduler ends by itself; the fetch tasks end when their reader goes.
        drop(scheduler);
        readers
    }

    /// Maps a store error to what it means for the user.
    fn classify(&self, e: &object_store::Error, url: &str, what: &'static str) -> BucketError {
        let detail = error_text(e);
        let needs = match (self.url.cloud, what) {
            (Cloud::S3, "list") => "s3:ListBucket",
            (Cloud::S3, _) => "s3:GetObject",
            (Cloud::Gcs, "list") => "storage.objects.list",
            (Cloud::Gcs, _) => "storage.objects.get",
            (Cloud::Azure, _) => "the Storage Blob Data Reader role",
        };
        match e {
            object_store::Error::PermissionDenied { .. } => BucketError::AccessDenied {
                url: url.to_string(),
                what,
                needs,
                detail,
            },
            object_store::Error::Unauthenticated { .. } => BucketError::AccessDenied {
                url: url.to_string(),
                what,
                needs: "valid credentials",
                detail,
            },
            _ if detail.contains("NoSuchBucket") || detail.contains("ContainerNotFound") => {
                BucketError::NoSuchBucket {
                    url: url.to_string(),
                    detail,
                }
            }
            _ if detail.contains("InvalidAccessKeyId")
                || detail.contains("SignatureDoesNotMatch")
                || detail.contains("AccessDenied") =>
            {
                BucketError::AccessDenied {
                    url: url.to_string(),
                    what,
                    needs,
                    detail,
                }
            }
            _ => BucketError::List {
                url: url.to_string(),
                detail,
            },
        }
    }
}

/// Whether S3 credentials can be found without asking the network, or instance
/// metadata may still provide them.
/// Where each cloud's service is, when not the public one (`--s3-endpoint`,
/// `--gcs-endpoint`, `--azure-endpoint`); `http://` is allowed for them.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// An S3-compatible endpoint (MinIO, R2, a local server): path-style requests.
    pub s3: Option<String>,
    /// A GCS-compatible service root (fake-gcs-server, a private endpoint); without
    /// credentials in the environment, requests go unsigned, as emulators accept.
    pub gcs: Option<String>,
    /// An Azure Blob service root. One whose host does not start with the account
    /// name (Azurite's `http://127.0.0.1:10000`) is addressed path-style:
    /// `ROOT/ACCOUNT/CONTAINER/BLOB`.
    pub azure: Option<String>,
}

/// A connected store, with what writing to it needs beyond [`ObjectStore`].
#[derive(Clone)]
pub struct Client {
    pub store: Arc<dyn ObjectStore>,
    /// The same store's multipart uploads (S3 multipart, Azure block lists).
    pub multipart: Arc<dyn MultipartStore>,
    pub access: Access,
}

/// How to make the requests object_store has no call for (listing S3's pending
/// multipart uploads, GCS resumable uploads): where the service is, and its
/// credentials.
#[derive(Clone)]
pub enum Access {
    S3 {
        /// Path-style service root (`https://s3.REGION.amazonaws.com` or the endpoint).
        endpoint: String,
        region: String,
        credentials: object_store::aws::AwsCredentialProvider,
    },
    Gcs {
        /// The service root (`https://storage.googleapis.com` or the endpoint).
        base_url: String,
        /// `None`: unsigned requests (an emulator without credentials).
        credentials: Option<object_store::gcp::GcpCredentialProvider>,
    },
    Azure,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("store", &self.store)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Access {
    /// Never shows credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::S3 {
                endpoint, region, ..
            } => f
                .debug_struct("S3")
                .field("endpoint", endpoint)
                .field("region", region)
                .finish_non_exhaustive(),
            Access::Gcs { base_url, .. } => f
                .debug_struct("Gcs")
                .field("base_url", base_url)
                .finish_non_exhaustive(),
            Access::Azure => f.write_str("Azure"),
        }
    }
}

/// What a client is for, which decides how its requests are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// Listing and GETs whose bodies are read at the pipeline's pace: no deadline on
    /// a whole request, a stall timeout on each wait for the store instead.
    Reads,
    /// Uploads: each request sends what it holds at once, under object_store's own
    /// deadline (30 s a request, retried).
    Writes,
}

/// object_store's HTTP client without its deadline on whole requests, for
/// [`Traffic::Reads`]. A GET of an object that does not fit in its buffer stays open,
/// its body half read, while the objects before it are decoded, and for as long as
/// the pipeline's own output waits (a slow sink, `brazex process s3://… | less`): a
/// deadline from the request's start cut such healthy bodies: each cut spent a retry
/// of the object, and one that came after the last byte had arrived failed the run
/// (asked again from the object's size: 416). [`Fetch`] and
/// [`Bucket::list`] time each wait for the store itself instead (`--stall-timeout`);
/// the connect timeout (5 s) and everything else configured stay as they are.
#[derive(Debug, Default)]
struct PacedReads(object_store::client::ReqwestConnector);

impl object_store::client::HttpConnector for PacedReads {
    fn connect(
        &self,
        options: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        self.0.connect(&options.clone().with_timeout_disabled())
    }
}

/// Connects to the store of `url` with credentials from the environment (see the
/// module docs), its requests timed for `traffic`. Nothing is requested yet, except
/// that a missing credential is detected here when it can be.
pub fn connect(
    url: &BucketUrl,
    endpoints: &Endpoints,
    traffic: Traffic,
) -> Result<Client, BucketError> {
    let config = |e: object_store::Error| BucketError::Config {
        url: url.to_string(),
        problem: error_text(&e),
    };
    // object_store retries 5xx and connection errors itself; keep that short so a
    // dead endpoint is reported in seconds, not minutes (our own body retries
    // come on top).
    let retry = object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    match url.cloud {
        Cloud::S3 => {
            let mut builder = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(&url.bucket)
                .with_retry(retry);
            if traffic == Traffic::Reads {
                builder = builder.with_http_connector(PacedReads::default());
            }
            if let Some(endpoint) = &endpoints.s3 {
                builder = builder
                    .with_endpoint(endpoint.trim_end_matches('/'))
                    .with_allow_http(endpoint.starts_with("http://"))
                    // S3-compatible servers mostly want path-style requests.
                    .with_virtual_hosted_style_request(false);
                if !set("AWS_REGION") && !set("AWS_DEFAULT_REGION") {
                    builder = builder.with_region("us-east-1");
                }
            }
            if !s3_has_credentials() {
                return Err(BucketError::NoCredentials {
                    url: url.to_string(),
                    hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), use a web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN) or run where ECS/EKS/EC2 instance credentials exist (they are not tried when AWS_EC2_METADATA_DISABLED=true)",
                });
            }
            let region = builder
                .get_config_value(&object_store::aws::AmazonS3ConfigKey::Region)
                .unwrap_or_else(|| "us-east-1".into());
            let endpoint = match &endpoints.s3 {
                Some(endpoint) => endpoint.trim_end_matches('/').to_string(),
                None => format!("https://s3.{region}.amazonaws.com"),
            };
            let s3 = Arc::new(builder.build().map_err(config)?);
            Ok(Client {
                access: Access::S3 {
                    endpoint,
                    region,
                    credentials: s3.credentials().clone(),
                },
                store: s3.clone(),
                multipart: s3,
            })
        }
        Cloud::Gcs => {
            let mut builder = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(&url.bucket)
                .with_retry(retry);
            if traffic == Traffic::Reads {
                builder = builder.with_http_connector(PacedReads::default());
            }
            let anonymous = endpoints.gcs.is_some()
                && !set("GOOGLE_APPLICATION_CREDENTIALS")
                && !set("GOOGLE_SERVICE_ACCOUNT")
                && !set("GOOGLE_SERVICE_ACCOUNT_PATH")
                && !set("GOOGLE_SERVICE_ACCOUNT_KEY");
            let base_url = match &endpoints.gcs {
                Some(endpoint) => {
                    let root = endpoint.trim_end_matches('/');
                    builder = builder
                        .with_base_url(root)
                        .with_client_options(
                            object_store::ClientOptions::new()
                                .with_allow_http(root.starts_with("http://")),
                        )
                        .with_skip_signature(anonymous);
                    root.to_string()
                }
                None => "https://storage.googleapis.com".to_string(),
            };
            let gcs = Arc::new(builder.build().map_err(config)?);
            Ok(Client {
                access: Access::Gcs {
                    base_url,
                    credentials: (!anonymous).then(|| gcs.credentials().clone()),
                },
                store: gcs.clone(),
                multipart: gcs,
            })
        }
        Cloud::Azure => {
            let mut builder = object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_container_name(&url.bucket)
                .with_retry(retry);
            if traffic == Traffic::Reads {
                builder = builder.with_http_connector(PacedReads::default());
            }
            if let Some(endpoint) = &endpoints.azure {
                let root = endpoint.trim_end_matches('/');
                let account = builder
                    .get_config_value(&object_store::azure::AzureConfigKey::AccountName)
                    .ok_or_else(|| BucketError::Config {
                        url: url.to_string(),
                        problem: "--azure-endpoint needs the account in AZURE_STORAGE_ACCOUNT_NAME"
                            .into(),
                    })?;
                let host = root.split_once("://").map_or(root, |(_, rest)| rest);
                let service = if host.starts_with(&format!("{account}.")) {
                    root.to_string()
                } else {
                    format!("{root}/{account}")
                };
                builder = builder
                    .with_endpoint(service)
                    .with_allow_http(root.starts_with("http://"));
            }
            let azure = Arc::new(builder.build().map_err(config)?);
            Ok(Client {
                access: Access::Azure,
                store: azure.clone(),
                multipart: azure,
            })
        }
    }
}

fn s3_has_credentials() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID")
        || set("AWS_WEB_IDENTITY_TOKEN_FILE")
        || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        || set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        || std::env::var("AWS_SKIP_SIGNATURE").is_ok_and(|v| v == "true")
    {
        return true;
    }
    // Otherwise object_store asks EC2's instance metadata, which only exists on EC2;
    // the AWS SDKs' switch turns that off so a missing credential fails at once.
    !std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

fn info_of(meta: ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        key: meta.location.to_string(),
        size: meta.size,
        etag: meta.e_tag,
    }
}

/// An error with its causes, on one line.
pub fn error_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text.push_str(": ");
            text.push_str(&c_text);
        }
        cause = c.source();
    }
    // S3-style XML error bodies: the code and message are what a user needs.
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find("</")? + start;
        Some(text[start..end].to_string())
    };
    if let Some(code) = tag("Code") {
        let message = tag("Message").unwrap_or_default();
        let status = text
            .find("status code: ")
            .map(|i| {
                text[i + 13..]
                    .chars()
                    .take_while(|c| *c != ':')
                    .collect::<String>()
            })
            .unwrap_or_default();
        return format!("{status} {code}: {message}").trim().to_string();
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(400).collect()
}

/// Counters of object-store reading, for the summary and progress.
#[derive(Debug, Default)]
pub struct BucketProgress {
    /// Bytes delivered to the readers.
    pub bytes: AtomicU64,
    /// Bodies that broke off and were asked again.
    pub retries: AtomicU64,
}

/// One object's bytes, as the pipeline reads them.
#[derive(Debug)]
pub struct ObjectReader {
    chunks: ChunkReader<BucketError>,
    /// The download's permit, which it leaves here once it has sent its last chunk
    /// (before it closes the channel). Released when this reader reaches the end or
    /// an error, or is dropped.
    permit: PermitSlot,
}

/// Where a finished download leaves its permit for its reader.
type PermitSlot = Arc<Mutex<Option<OwnedSemaphorePermit>>>;

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.chunks.read(buf);
        let ended = match &result {
            Ok(n) => *n == 0 && !buf.is_empty(),
            Err(_) => true,
        };
        if ended {
            // The last byte (or the error) has been read: the next object may start.
            if let Ok(mut permit) = self.permit.lock() {
                permit.take();
            }
        }
        result
    }
}

/// The download of one object into its reader's channel.
struct Fetch {
    store: Arc<dyn ObjectStore>,
    object: ObjectInfo,
    label: String,
    options: BucketOptions,
    tx: ChunkSender<BucketError>,
    progress: Arc<BucketProgress>,
    permit: PermitSlot,
}

/// How one GET ended.
enum Ended {
    Complete,
    ReaderGone,
    /// The body ended before the listed size.
    Short,
    /// Worth asking again, for this reason.
    Broken(String),
}

impl Fetch {
    /// Downloads the object into its channel, then leaves `permit` to the reader:
    /// the chunks still in the channel count against `--s3-concurrency` until read.
    async fn run(self, permit: OwnedSemaphorePermit) {
        if let Err(e) = self.fetch().await {
            let _ = self.tx.fail(e).await;
        }
        // Before the channel closes (`self.tx` drops on return), so that the reader,
        // which sees the end only after that, always finds the permit to release. A
        // reader already gone leaves the slot to be dropped with this task.
        if let Ok(mut slot) = self.permit.lock() {
            *slot = Some(permit);
        }
    }

    async fn fetch(&self) -> Result<(), BucketError> {
        let size = self.object.size;
        let mut offset = 0u64;
        let mut retries = 0u32;
        loop {
            let ended = self.get(&mut offset).await?;
            let reason = match ended {
                Ended::Complete => {
                    debug!(object = %self.label, bytes = offset, retries, "object read");
                    return Ok(());
                }
                Ended::ReaderGone => return Ok(()),
                Ended::Short if retries >= self.options.retries => {
                    return Err(BucketError::Truncated {
                        url: self.label.clone(),
                        offset,
                        size,
                        retries,
                    })
                }
                Ended::Short => format!("the body ended at byte {offset} of {size}"),
                Ended::Broken(reason) if retries >= self.options.retries => {
                    return Err(BucketError::Read {
                        url: self.label.clone(),
                        offset,
                        size,
                        retries,
                        detail: reason,
                    })
                }
                Ended::Broken(reason) => reason,
            };
            retries += 1;
            self.progress.retries.fetch_add(1, Ordering::Relaxed);
            let delay = self.options.retry_delay * 2u32.saturating_pow(retries - 1);
            warn!(
                "{}: {reason}; asking again from byte {offset} in {delay:.1?} ({retries}/{})",
                self.label, self.options.retries
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One GET from `offset`; delivers what it reads and advances `offset`.
    async fn get(&self, offset: &mut u64) -> Result<Ended, BucketError> {
        let size = self.object.size;
        if size == 0 {
            return Ok(Ended::Complete);
        }
        let location = StorePath::from(self.object.key.as_str());
        let options = GetOptions {
            range: (*offset > 0).then_some(GetRange::Offset(*offset)),
            // A replaced object must not be spliced onto the old one's first bytes.
            if_match: self.object.etag.clone(),
            ..Default::default()
        };
        let stall = self.options.stall;
        let Ok(answer) = tokio::time::timeout(stall, self.store.get_opts(&location, options)).await
        else {
            return Ok(Ended::Broken(format!(
                "no answer for {stall:?} (--stall-timeout)"
            )));
        };
        let result = match answer {
            Ok(result) => result,
            Err(e @ object_store::Error::NotFound { .. }) => {
                return Err(BucketError::Vanished {
                    url: self.label.clone(),
                    offset: *offset,
                    size,
                    detail: error_text(&e),
                })
            }
            Err(e @ object_store::Error::Precondition { .. }) => {
                return Err(BucketError::Changed {
                    url: self.label.clone(),
                    offset: *offset,
                    detail: error_text(&e),
                })
            }
            Err(e @ object_store::Error::PermissionDenied { .. })
            | Err(e @ object_store::Error::Unauthenticated { .. }) => {
                return Err(BucketError::AccessDenied {
                    url: self.label.clone(),
                    what: "get",
                    needs: "s3:GetObject (storage.objects.get on GCS)",
                    detail: error_text(&e),
                })
            }
            Err(e) => return Ok(Ended::Broken(error_text(&e))),
        };
        if result.range.start != *offset {
            return Err(BucketError::Changed {
                url: self.label.clone(),
                offset: *offset,
                detail: format!("asked from byte {offset}, got {:?}", result.range),
            });
        }
        let mut body = result.into_stream();
        loop {
            let next = tokio::time::timeout(stall, body.next()).await;
            match next {
                Ok(None) if *offset < size => return Ok(Ended::Short),
                Ok(None) => return Ok(Ended::Complete),
                // Every listed byte has arrived: a connection that breaks (or goes
                // quiet) before its end is seen loses nothing, and asking again from
                // the size would be refused (416).
                Ok(Some(Err(_))) | Err(_) if *offset >= size => return Ok(Ended::Complete),
                Ok(Some(Err(e))) => return Ok(Ended::Broken(error_text(&e))),
                Err(_) => {
                    return Ok(Ended::Broken(format!(
                        "no data for {stall:?} (--stall-timeout)"
                    )))
                }
                Ok(Some(Ok(chunk))) => {
                    if chunk.is_empty() {
                        continue;
                    }
                    *offset += chunk.len() as u64;
                    self.progress
                        .bytes
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if self.tx.send(chunk).await.is_err() {
                        return Ok(Ended::ReaderGone);
                    }
                }
            }
        }
    }
}

/// A summary line for logs.
pub fn describe_listing(url: &BucketUrl, objects: &[ObjectInfo]) -> String {
    let bytes: u64 = objects.iter().map(|o| o.size).sum();
    info!(url = %url, objects = objects.len(), bytes, "objects to read");
    format!(
        "{} objects, {:.1} MB under {url}",
        objects.len(),
        bytes as f64 / 1e6
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits up to 5 s for `bytes` delivered bytes, then 300 ms more for any beyond.
    fn settle(progress: &BucketProgress, bytes: u64) -> u64 {
        let started = std::time::Instant::now();
        while progress.bytes.load(Ordering::Relaxed) < bytes
            && started.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(300));
        progress.bytes.load(Ordering::Relaxed)
    }

    #[test]
    fn a_downloaded_object_holds_its_permit_until_it_is_read() {
        // object_store's in-memory store stands in for the bucket: what is tested is
        // the scheduling of downloads against reads, not S3 (tests/bucket does that).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let store = Arc::new(object_store::memory::InMemory::new());
        let objects: Vec<ObjectInfo> = (0..3u8)
            .map(|i| {
                let key = format!("p/{i}.txt");
                let body = vec![b'a' + i; 1000];
                runtime
                    .block_on(store.put(&StorePath::from(key.as_str()), body.into()))
                    .expect("put");
                ObjectInfo {
                    key,
                    size: 1000,
                    etag: None,
                }
            })
            .collect();
        let bucket = Bucket {
            store,
            url: BucketUrl::parse("s3://b/p/").expect("url"),
            options: BucketOptions {
                concurrency: 1,
                ..BucketOptions::default()
            },
        };
        let progress = Arc::new(BucketProgress::default());
        let mut readers = bucket.readers(runtime.handle(), &objects, progress.clone());
        // Unread, the first object's chunks wait in its channel with the one permit:
        // the others do not download (memory would grow with the object count).
        assert_eq!(settle(&progress, 1000), 1000);
        let mut first = Vec::new();
        readers[0].1.read_to_end(&mut first).expect("read");
        assert_eq!(first, vec![b'a'; 1000]);
        // Read to its end, it lets the second start, and only the second.
        assert_eq!(settle(&progress, 2000), 2000);
        for (i, (_, reader)) in readers.iter_mut().enumerate().skip(1) {
            let mut body = Vec::new();
            reader.read_to_end(&mut body).expect("read");
            assert_eq!(body, vec![b'a' + i as u8; 1000]);
        }
        assert_eq!(progress.bytes.load(Ordering::Relaxed), 3000);
    }

    #[test]
    fn urls() {
        let u = BucketUrl::parse("s3://my-bucket/segment-export/abc/").expect("parses");
        assert_eq!(u.cloud, Cloud::S3);
        assert_eq!(u.bucket, "my-bucket");
        assert_eq!(u.prefix, "segment-export/abc");
        assert_eq!(u.object_url("k/x.zip"), "s3://my-bucket/k/x.zip");
        assert_eq!(
            u.join("2026-01-02/").prefix,
            "segment-export/abc/2026-01-02"
        );
        assert_eq!(BucketUrl::parse("gs://b").expect("bucket only").prefix, "");
        assert_eq!(
            BucketUrl::parse("az://c/p").expect("az").cloud,
            Cloud::Azure
        );
        assert!(BucketUrl::parse("s3:///x").is_err());
        assert!(BucketUrl::parse("ftp://b/x").is_err());
        assert!(BucketUrl::is_bucket_url("S3://b"));
        assert!(!BucketUrl::is_bucket_url("./s3/b"));
    }
}
