//! The resumable download: the export archive as a [`std::io::Read`] for the pipeline.
//!
//! A task on the tokio runtime GETs the URL and sends the body's chunks through a
//! bounded channel; the pipeline's decode thread reads them. Nothing is written to
//! disk and at most `queue` chunks of [`chunks::BUFFER`] bytes in all are buffered.
//! When the connection drops, the body ends before `Content-Length`, or no byte
//! arrives for `stall_timeout`, the task asks again from the first byte it has not
//! delivered (`Range: bytes=N-`), requiring `206` and a `Content-Range` that starts at
//! N with the same total; a server that ignores the range (`200`) is read again from
//! the start and the first N bytes are dropped.
//! So the bytes delivered are exactly the file's, whatever happens to the connection.

use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, RANGE};
use tracing::{debug, info, warn};

use crate::chunks::{self, ChunkReader, ChunkSender};
use crate::client::{read_capped, short_url, BrazeClient, MAX_ERROR_BODY};
use crate::error::{describe, ApiMessage, BrazeError};
use crate::wait::expired_code;

/// How to download.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// A connection that delivers no byte for this long is dropped and resumed
    /// (`--stall-timeout`).
    pub stall_timeout: Duration,
    /// Resumes allowed in all (`--max-resumes`).
    pub max_resumes: u32,
    /// Chunks buffered between the download and the pipeline (which hold at most
    /// [`chunks::BUFFER`] bytes).
    pub queue: usize,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            stall_timeout: Duration::from_secs(60),
            max_resumes: 10,
            queue: 16,
        }
    }
}

/// Counters of a download, for progress display.
#[derive(Debug, Default)]
pub struct DownloadProgress {
    /// Bytes delivered to the reader.
    pub bytes: AtomicU64,
    /// `Content-Length` of the archive, 0 while unknown.
    pub total: AtomicU64,
    pub resumes: AtomicU32,
}

/// A download in progress; reading it yields the archive's bytes.
#[derive(Debug)]
pub struct Download {
    reader: ChunkReader<BrazeError>,
    progress: Arc<DownloadProgress>,
    task: tokio::task::JoinHandle<()>,
}

impl Download {
    /// Starts downloading `url` on `runtime`. The URL is presigned: no API key is sent.
    pub fn start(
        client: &BrazeClient,
        runtime: &tokio::runtime::Handle,
        url: String,
        options: DownloadOptions,
    ) -> Download {
        let progress = Arc::new(DownloadProgress::default());
        Download::start_range(client, runtime, url, options, None, progress)
    }

    /// Starts downloading bytes `range` of `url` (the whole file for `None`), with
    /// the same resumes, counting into `progress` (shared by the ranges of one file).
    pub fn start_range(
        client: &BrazeClient,
        runtime: &tokio::runtime::Handle,
        url: String,
        options: DownloadOptions,
        range: Option<Range<u64>>,
        progress: Arc<DownloadProgress>,
    ) -> Download {
        let (tx, chunks) = chunks::channel(options.queue, chunks::BUFFER);
        let fetcher = Fetcher {
            http: client.http.clone(),
            url,
            options,
            range,
            progress: progress.clone(),
            tx,
            backoff: client.retry.clone(),
        };
        let task = runtime.spawn(fetcher.run());
        Download {
            reader: chunks,
            progress,
            task,
        }
    }

    pub fn progress(&self) -> Arc<DownloadProgress> {
        self.progress.clone()
    }
}

impl Drop for Download {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Read for Download {
    /// Blocks until the next chunk arrives: call it from a plain thread (the
    /// pipeline's decode thread), not from the runtime.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

/// An archive URL read by range, for decoding a zip's entries side by side: each
/// range is a [`Download`] of its own, with the same resumes and stall timeout, all
/// counting into one progress.
pub struct HttpRanges {
    client: BrazeClient,
    runtime: tokio::runtime::Handle,
    url: String,
    options: DownloadOptions,
    size: u64,
    progress: Arc<DownloadProgress>,
}

impl std::fmt::Debug for HttpRanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRanges")
            .field("url", &short_url(&self.url))
            .field("size", &self.size)
            .finish()
    }
}

impl HttpRanges {
    /// `url`, when its server answers ranged requests: the first byte is asked for by
    /// range, and a `206` with the file's size in `Content-Range` says it does. `None`
    /// otherwise (or when the answer is an error: the plain download reports it).
    pub fn probe(
        client: &BrazeClient,
        runtime: &tokio::runtime::Handle,
        url: &str,
        options: DownloadOptions,
    ) -> Option<HttpRanges> {
        let request = client.http.get(url).header(RANGE, "bytes=0-0");
        let stall = options.stall_timeout;
        let size = runtime.block_on(async {
            let response = tokio::time::timeout(stall, request.send())
                .await
                .ok()?
                .ok()?;
            if response.status().as_u16() != 206 {
                return None;
            }
            let (start, total) = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range)?;
            (start == 0).then_some(total).flatten()
        })?;
        debug!(url = %short_url(url), size, "the server answers ranged requests");
        let progress = Arc::new(DownloadProgress::default());
        progress.total.store(size, Ordering::Relaxed);
        Some(HttpRanges {
            client: client.clone(),
            runtime: runtime.clone(),
            url: url.to_string(),
            options,
            size,
            progress,
        })
    }

    pub fn progress(&self) -> Arc<DownloadProgress> {
        self.progress.clone()
    }
}

impl brazex_core::input::RangeSource for HttpRanges {
    fn size(&self) -> u64 {
        self.size
    }

    fn open_range(&self, range: Range<u64>) -> io::Result<Box<dyn Read + Send>> {
        if range.is_empty() {
            return Ok(Box::new(io::empty()));
        }
        Ok(Box::new(Download::start_range(
            &self.client,
            &self.runtime,
            self.url.clone(),
            self.options.clone(),
            Some(range),
            self.progress.clone(),
        )))
    }
}

struct Fetcher {
    http: reqwest::Client,
    url: String,
    options: DownloadOptions,
    /// Only these bytes of the file (a ranged download), else all of it.
    range: Option<Range<u64>>,
    progress: Arc<DownloadProgress>,
    tx: ChunkSender<BrazeError>,
    backoff: crate::retry::RetryPolicy,
}

/// How one connection ended.
enum Ended {
    /// All bytes delivered.
    Complete,
    /// The reader went away: stop quietly.
    ReaderGone,
    /// Worth resuming, for this reason.
    Interrupted(String),
    /// `429`: resume after this long.
    Throttled(Duration),
}

/// The longest a `429` makes a download wait before it asks again.
const MAX_THROTTLE_WAIT: Duration = Duration::from_secs(60);

/// How long a `429` asks to wait: `Retry-After` in seconds, or `X-RateLimit-Reset`
/// as a Unix time.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(secs) = number("retry-after") {
        return Some(Duration::from_secs(secs));
    }
    let reset = number("x-ratelimit-reset")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now)))
}

impl Fetcher {
    async fn run(self) {
        // A cancelled run must not wait for the next byte or the stall timeout: the
        // reader gets the cancellation at once.
        let result = tokio::select! {
            result = self.fetch() => result,
            signal = crate::cancelled() => Err(BrazeError::Cancelled(signal)),
        };
        if let Err(e) = result {
            let _ = self.tx.fail(e).await;
        }
    }

    fn fail(&self, problem: String) -> BrazeError {
        BrazeError::Download {
            url: short_url(&self.url),
            problem,
        }
    }

    async fn fetch(&self) -> Result<(), BrazeError> {
        let mut offset = self.range.as_ref().map_or(0, |r| r.start);
        let mut total: Option<u64> = None;
        let mut resumes = 0u32;
        // Interruptions in a row that delivered nothing: only these back off, so a
        // long download through a flaky network resumes at once after each drop.
        let mut stuck = 0u32;
        loop {
            let before = offset;
            let (reason, throttled) = match self.connection(&mut offset, &mut total).await? {
                Ended::Complete => {
                    info!("downloaded {offset} bytes ({resumes} resumes)");
                    return Ok(());
                }
                Ended::ReaderGone => return Ok(()),
                Ended::Interrupted(reason) => (reason, None),
                Ended::Throttled(wait) => (
                    format!("the server answered 429 (waiting {wait:?})"),
                    Some(wait),
                ),
            };
            stuck = if offset > before { 0 } else { stuck + 1 };
            resumes += 1;
            self.progress.resumes.fetch_add(1, Ordering::Relaxed);
            if resumes > self.options.max_resumes {
                return Err(BrazeError::ResumesExhausted {
                    url: short_url(&self.url),
                    offset,
                    total,
                    reason,
                    resumes: self.options.max_resumes,
                });
            }
            let delay = match (throttled, stuck) {
                (Some(wait), _) => wait,
                (None, 0) => Duration::ZERO,
                (None, n) => self.backoff.backoff(n).min(Duration::from_secs(10)),
            };
            warn!(
                "download interrupted at byte {offset}: {reason}; resuming in {delay:.1?} ({resumes}/{})",
                self.options.max_resumes
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One GET, from `offset` on; delivers what it reads and advances `offset`.
    async fn connection(
        &self,
        offset: &mut u64,
        total: &mut Option<u64>,
    ) -> Result<Ended, BrazeError> {
        let stall = self.options.stall_timeout;
        let mut request = self.http.get(&self.url);
        // Where this download stops: the range's end, or the file's.
        let end = self.range.as_ref().map(|r| r.end);
        match end {
            Some(end) => request = request.header(RANGE, format!("bytes={offset}-{}", end - 1)),
            None if *offset > 0 => request = request.header(RANGE, format!("bytes={offset}-")),
            None => {}
        }
        debug!(url = %short_url(&self.url), offset = *offset, "GET (download)");
        let mut response = match tokio::time::timeout(stall, request.send()).await {
            Err(_) => {
                return Ok(Ended::Interrupted(format!(
                    "no answer within {stall:?} (--stall-timeout)"
                )))
            }
            Ok(Err(e)) => return Ok(Ended::Interrupted(describe(e))),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let length = response.content_length();
        // Bytes at the start of this body that were already delivered.
        let mut skip = 0u64;
        match status {
            200 => {
                match (*total, length) {
                    (Some(t), Some(l)) if t != l => {
                        return Err(self.fail(format!(
                            "changed size between requests ({t} bytes, then {l})"
                        )))
                    }
                    (None, _) => *total = length,
                    _ => {}
                }
                if *offset > 0 {
                    info!("the server ignored the range: reading again from the start, skipping {offset} bytes");
                    skip = *offset;
                }
            }
            206 if *offset > 0 || end.is_some() => {
                let range = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_content_range);
                match range {
                    Some((start, Some(t))) if start == *offset && total.is_none_or(|known| known == t) => {
                        *total = Some(t);
                    }
                    _ => {
                        return Err(self.fail(format!(
                            "answered a resume at byte {offset} with a Content-Range that does not match ({:?})",
                            response.headers().get(CONTENT_RANGE)
                        )))
                    }
                }
            }
            403 | 404 => {
                let body = read_capped(response, MAX_ERROR_BODY).await;
                // The export was ready: a refusal now means the link expired.
                let code = expired_code(&body).unwrap_or_else(|| format!("{status} AccessDenied"));
                return Err(BrazeError::Expired(code));
            }
            s if s >= 500 => return Ok(Ended::Interrupted(format!("the server answered {s}"))),
            // Throttled (a proxy or CDN in front of the bucket): wait as told.
            429 => {
                let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(1));
                return Ok(Ended::Throttled(wait.min(MAX_THROTTLE_WAIT)));
            }
            s => {
                return Err(BrazeError::Api {
                    what: format!("GET {}", short_url(&self.url)),
                    status: s,
                    details: ApiMessage::from_body(&read_capped(response, MAX_ERROR_BODY).await),
                })
            }
        }
        if let Some(t) = *total {
            self.progress.total.store(t, Ordering::Relaxed);
        }
        loop {
            let chunk = match tokio::time::timeout(stall, response.chunk()).await {
                Err(_) => {
                    return Ok(Ended::Interrupted(format!(
                        "no data for {stall:?} (--stall-timeout)"
                    )))
                }
                Ok(Err(e)) => return Ok(Ended::Interrupted(describe(e))),
                Ok(Ok(None)) => {
                    return Ok(match end.or(*total) {
                        Some(t) if *offset < t => {
                            Ended::Interrupted(format!("the body ended at byte {offset} of {t}"))
                        }
                        _ => Ended::Complete,
                    })
                }
                Ok(Ok(Some(chunk))) => chunk,
            };
            let mut chunk = chunk;
            if skip > 0 {
                let drop = usize::try_from(skip).map_or(chunk.len(), |s| s.min(chunk.len()));
                let _ = chunk.split_to(drop);
                skip -= drop as u64;
            }
            if let Some(end) = end {
                // A server that ignored the range sends past it: keep only the range.
                let keep = usize::try_from(end.saturating_sub(*offset)).unwrap_or(usize::MAX);
                chunk.truncate(keep.min(chunk.len()));
            }
            if chunk.is_empty() {
                if end.is_some_and(|end| *offset >= end) {
                    return Ok(Ended::Complete);
                }
                continue;
            }
            *offset += chunk.len() as u64;
            if total.is_some_and(|t| *offset > t) {
                return Err(self.fail(format!(
                    "sent more bytes than its Content-Length ({total:?})"
                )));
            }
            self.progress
                .bytes
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if self.tx.send(chunk).await.is_err() {
                return Ok(Ended::ReaderGone);
            }
            if end.is_some_and(|end| *offset >= end) {
                return Ok(Ended::Complete);
            }
        }
    }
}

/// Parses `bytes START-END/TOTAL` (TOTAL may be `*`).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 100-199/1000"),
            Some((100, Some(1000)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 5-9/10"), None);
        assert_eq!(parse_content_range("bytes x-9/10"), None);
    }
}
