//! brazex-braze: the Braze REST client of brazex, and the only crate with HTTP and TLS.
//!
//! - [`BrazeClient::trigger`]: `POST /users/export/segment` (or
//!   `/users/export/global_control_group`) with exactly the documented body, retrying
//!   429 (until `X-RateLimit-Reset`) and 5xx / connection errors (exponential backoff
//!   with jitter, bounded).
//! - [`BrazeClient::wait_ready`]: polls the download URL until it answers (403 and 404
//!   mean "not ready"), or proceeds when a [`CallbackReceiver`] gets Braze's POST.
//! - [`Download`]: streams the archive into a [`std::io::Read`] for the pipeline,
//!   resuming with `Range` after a dropped or stalled connection, so the bytes out are
//!   exactly the file's bytes: none lost, none doubled.
//!
//! - [`Bucket`]: object-store inputs (`s3://`, `gs://`, `az://`) streamed in key order,
//!   several objects at once (bounded); [`Bucket::wait_for_export`] finds and waits for
//!   an export Braze writes into the company's own bucket (`run --bucket`).
//!
//! The API key is an [`ApiKey`]: it goes into the `Authorization` header (marked
//! sensitive) of Braze REST calls only — never to the download host — and never into
//! `Debug` output, logs or errors.

mod bucket;
mod bucket_wait;
mod callback;
mod cancelled;
mod chunks;
mod client;
mod config;
mod download;
mod error;
mod request;
mod retry;
mod wait;

pub use bucket::{
    connect, describe_listing, error_text, Access, Bucket, BucketError, BucketOptions,
    BucketProgress, BucketUrl, Client, Cloud, Endpoints, ObjectInfo, ObjectReader, Traffic,
};
pub use bucket_wait::{civil_date, export_folders, BucketWait, BucketWaitError, BucketWaitEvent};
pub use callback::{CallbackEvent, CallbackReceiver};
pub use cancelled::cancelled;
pub use client::{BrazeClient, ExportResponse};
pub use config::{instance_endpoint, ApiKey, INSTANCES};
pub use download::{Download, DownloadOptions, DownloadProgress, HttpRanges};
pub use error::{ApiMessage, BrazeError};
pub use request::{ExportRequest, ExportTarget, OutputFormat, MAX_CUSTOM_ATTRIBUTES};
pub use retry::RetryPolicy;
pub use wait::{WaitEvent, WaitOptions};
