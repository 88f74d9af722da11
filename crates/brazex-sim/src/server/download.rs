//! The export URL: `GET`/`HEAD /exports/<object_prefix>.zip?...`, answered
//! the way S3 answers a presigned URL.
//!
//! Before the export is ready, for an unknown prefix, or without a
//! signature: `403` with an `AccessDenied` XML body (S3 does not reveal
//! whether an object exists). After the TTL: `403 ExpiredToken`. When ready:
//! the archive, streamed from the spool file in 64 KiB chunks, with
//! `Accept-Ranges: bytes` and single-range `Range` support (`206`, or `416`
//! when unsatisfiable). Injected faults cut or pause the body.

use std::io::{self, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE,
    RETRY_AFTER,
};
use hyper::{Method, Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use tracing::warn;

use super::body::{Chunk, SimBody};
use super::export::Phase;
use super::faults::RandomFault;
use super::log::{DownloadEvent, DownloadFault, SimEvent};
use super::Shared;
use crate::rng::mix;

/// Where export URLs live.
pub(crate) const EXPORTS_PREFIX: &str = "/exports/";

/// Bytes read from the spool file per chunk.
const CHUNK: usize = 64 * 1024;

/// How long a body that is about to be cut waits first, so hyper flushes
/// the bytes already handed to it (it flushes when the body has nothing
/// ready) and the client receives exactly `drop_after_bytes` of them.
const FLUSH_BEFORE_DROP: Duration = Duration::from_millis(20);

/// An S3 error answer: its status, code and message.
struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    /// Extra elements inside `<Error>`, already escaped.
    extra: String,
    /// Extra headers (e.g. `Content-Range` of a 416).
    content_range: Option<String>,
    /// `Retry-After` of a 429, in seconds.
    retry_after: Option<u64>,
}

impl S3Error {
    fn new(status: StatusCode, code: &'static str, message: &'static str) -> Self {
        S3Error {
            status,
            code,
            message,
            extra: String::new(),
            content_range: None,
            retry_after: None,
        }
    }

    fn access_denied() -> Self {
        S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
    }

    fn into_response(self, head: bool, request_id: &str) -> Response<SimBody> {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{}<RequestId>{request_id}</RequestId><HostId>{}</HostId></Error>",
            self.code,
            self.message,
            self.extra,
            host_id(request_id)
        );
        // S3 answers HEAD errors without a body.
        let mut resp = Response::new(if head {
            SimBody::empty()
        } else {
            SimBody::full(xml)
        });
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        headers.insert(
            "x-amz-request-id",
            HeaderValue::from_str(request_id).unwrap_or(HeaderValue::from_static("0")),
        );
        if let Some(range) = self
            .content_range
            .and_then(|r| HeaderValue::from_str(&r).ok())
        {
            headers.insert(CONTENT_RANGE, range);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// An S3-looking host id (base64-ish noise derived from the request id).
fn host_id(request_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut h = request_id.bytes().fold(0u64, |h, b| mix(h ^ u64::from(b)));
    (0..56)
        .map(|_| {
            h = mix(h);
            char::from(ALPHABET[(h % 64) as usize])
        })
        .collect()
}

/// What a `Range` header asks of a body of `total` bytes.
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// No usable range (absent, another unit, several ranges, malformed):
    /// the whole body, as RFC 9110 allows a server to do.
    Whole,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// Syntactically fine but outside the body: `416`.
    Unsatisfiable,
}

fn parse_range(header: &str, total: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Whole;
    };
    // S3 does not serve multipart/byteranges; neither does the simulator.
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match number(last) {
            None => RangeRequest::Whole,
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if total == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Part {
                start: total.saturating_sub(n),
                end: total - 1,
            },
        },
        // bytes=N-: from N to the end.
        (false, true) => match number(first) {
            None => RangeRequest::Whole,
            Some(start) if start >= total => RangeRequest::Unsatisfiable,
            Some(start) => RangeRequest::Part {
                start,
                end: total - 1,
            },
        },
        (false, false) => match (number(first), number(last)) {
            (Some(start), Some(end)) if end >= start => {
                if start >= total {
                    RangeRequest::Unsatisfiable
                } else {
                    RangeRequest::Part {
                        start,
                        end: end.min(total - 1),
                    }
                }
            }
            _ => RangeRequest::Whole,
        },
        (true, true) => RangeRequest::Whole,
    }
}

/// The value of query parameter `name`.
fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Answers a request for an export URL.
pub(crate) async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<SimBody> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let range = req
        .headers()
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request_id = format!("{:016X}", mix(shared.next_seq() ^ 0x5253_4551));
    let head = method == Method::HEAD;
    let mut faults = Vec::new();
    let result = if method != Method::GET && !head {
        Err(S3Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ))
    } else {
        respond(shared, &req, range.as_deref(), head, &mut faults)
    };
    let (resp, error_code) = match result {
        Ok(resp) => (resp, None),
        Err(e) => {
            let code = e.code.to_owned();
            (e.into_response(head, &request_id), Some(code))
        }
    };
    shared.log.push(SimEvent::Download(DownloadEvent {
        method: method.to_string(),
        path,
        range,
        status: resp.status().as_u16(),
        error_code,
        faults,
    }));
    resp
}

fn respond(
    shared: &Arc<Shared>,
    req: &Request<Incoming>,
    range: Option<&str>,
    head: bool,
    faults: &mut Vec<DownloadFault>,
) -> Result<Response<SimBody>, S3Error> {
    let name = req.uri().path().strip_prefix(EXPORTS_PREFIX).unwrap_or("");
    let prefix = name.strip_suffix(".zip").unwrap_or(name);
    let export = shared
        .exports()
        .get(prefix)
        .cloned()
        .ok_or_else(S3Error::access_denied)?;
    // A presigned URL without its signature is an anonymous request.
    let signature = query_param(req.uri().query().unwrap_or(""), "X-Amz-Signature")
        .ok_or_else(S3Error::access_denied)?;
    if signature != export.signature {
        return Err(S3Error::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ));
    }
    let (total, file) = match export.phase(Instant::now()) {
        Phase::Preparing | Phase::Failed => return Err(S3Error::access_denied()),
        Phase::Expired => {
            let mut e = S3Error::new(
                StatusCode::FORBIDDEN,
                "ExpiredToken",
                "The provided token has expired.",
            );
            e.extra = format!(
                "<X-Amz-Expires>{}</X-Amz-Expires>",
                shared.config.ttl.as_secs()
            );
            return Err(e);
        }
        Phase::Ready { len, path } => (len, path),
    };
    let wanted = match range {
        Some(r) if !shared.faults.config.ignore_range => match parse_range(r, total) {
            RangeRequest::Part { start, end } if end > start && !shared.faults.honours_range() => {
                RangeRequest::Whole
            }
            wanted => wanted,
        },
        _ => RangeRequest::Whole,
    };
    let mut random = None;
    if !head {
        let (ranged, len) = match wanted {
            RangeRequest::Part { start, end } => (true, end - start + 1),
            _ => (false, total),
        };
        random = shared.faults.random(len, ranged);
    }
    let wanted = match random {
        Some(RandomFault::WholeBody) => {
            faults.push(DownloadFault::IgnoredRange);
            RangeRequest::Whole
        }
        Some(RandomFault::Status(status)) => {
            faults.push(DownloadFault::Status { status });
            return Err(match status {
                429 => {
                    let mut e = S3Error::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "TooManyRequests",
                        "Please reduce your request rate.",
                    );
                    e.retry_after = shared
                        .faults
                        .config
                        .random
                        .as_ref()
                        .map(|r| r.retry_after_secs);
                    e
                }
                503 => S3Error::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SlowDown",
                    "Please reduce your request rate.",
                ),
                _ => S3Error::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                ),
            });
        }
        _ => wanted,
    };
    let (status, start, len) = match wanted {
        RangeRequest::Whole => (StatusCode::OK, 0, total),
        RangeRequest::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => {
            let mut e = S3Error::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range is not satisfiable",
            );
            e.extra = format!(
                "<RangeRequested>{}</RangeRequested><ActualObjectSize>{total}</ActualObjectSize>",
                xml_escape(range.unwrap_or(""))
            );
            e.content_range = Some(format!("bytes */{total}"));
            return Err(e);
        }
    };

    let body = if head {
        SimBody::empty()
    } else {
        let drop_at = match random {
            Some(RandomFault::Drop(at)) => Some(at),
            _ => shared.faults.drop_at(len),
        };
        let stall_at = match random {
            Some(RandomFault::Stall(at)) => Some(at),
            _ => shared.faults.stall_at(len),
        };
        if let Some(after) = drop_at {
            faults.push(DownloadFault::Drop { after });
        }
        if let Some(after) = stall_at {
            faults.push(DownloadFault::Stall { after });
        }
        let plan = Plan {
            file,
            start,
            len,
            drop_at,
            stall_at,
            stall_for: shared.faults.config.stall_for,
        };
        let (tx, rx) = mpsc::channel(4);
        let stopped = shared.stopped();
        tokio::spawn(async move {
            tokio::select! {
                () = produce(plan, tx) => {}
                () = stopped => {}
            }
        });
        SimBody::Stream { rx, len }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", &export.signature[..32])) {
        headers.insert(ETAG, etag);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {start}-{}/{total}", start + len - 1);
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

/// Escapes text for an XML element.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What one download body sends.
#[derive(Debug)]
struct Plan {
    file: PathBuf,
    /// Offset in the file of the first byte.
    start: u64,
    /// Bytes in the body.
    len: u64,
    /// Cut the connection after this many body bytes.
    drop_at: Option<u64>,
    /// Pause after this many body bytes ...
    stall_at: Option<u64>,
    /// ... for this long.
    stall_for: Duration,
}

/// Feeds the body from the spool file, applying the faults. Ends quietly
/// when the client goes away (the channel closes).
async fn produce(plan: Plan, tx: mpsc::Sender<Chunk>) {
    if let Err(e) = feed(&plan, &tx).await {
        warn!(file = %plan.file.display(), error = %e, "brazex-sim: download aborted");
        // The error chunk makes hyper close the connection mid-body.
        let _ = tx.send(Err(e)).await;
    }
}

async fn feed(plan: &Plan, tx: &mpsc::Sender<Chunk>) -> io::Result<()> {
    let mut file = tokio::fs::File::open(&plan.file).await?;
    file.seek(SeekFrom::Start(plan.start)).await?;
    let mut buf = vec![0u8; CHUNK];
    let mut stall_at = plan.stall_at;
    let mut sent = 0u64;
    while sent < plan.len {
        if stall_at == Some(sent) {
            stall_at = None;
            // A client that gives up on the stall ends the body early; stop
            // then rather than holding the file open for the whole stall.
            tokio::select! {
                () = tokio::time::sleep(plan.stall_for) => {}
                () = tx.closed() => return Ok(()),
            }
        }
        if plan.drop_at == Some(sent) {
            tokio::time::sleep(FLUSH_BEFORE_DROP).await;
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("connection dropped after {sent} bytes (simulated fault)"),
            ));
        }
        // Stop each read at the next fault point so it happens exactly there.
        let mut want = plan.len - sent;
        for point in [stall_at, plan.drop_at].into_iter().flatten() {
            if point > sent {
                want = want.min(point - sent);
            }
        }
        let want = want.min(CHUNK as u64) as usize;
        let n = file.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the spool file is shorter than announced",
            ));
        }
        if tx
            .send(Ok(Bytes::copy_from_slice(&buf[..n])))
            .await
            .is_err()
        {
            // The client went away; nothing left to do.
            return Ok(());
        }
        sent += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-", 10), Part { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=3-5", 10), Part { start: 3, end: 5 });
        assert_eq!(parse_range("bytes=3-50", 10), Part { start: 3, end: 9 });
        assert_eq!(parse_range("bytes=-4", 10), Part { start: 6, end: 9 });
        assert_eq!(parse_range("bytes=-40", 10), Part { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=10-12", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-3", 10), Whole);
        assert_eq!(parse_range("bytes=0-1,4-5", 10), Whole);
        assert_eq!(parse_range("items=0-1", 10), Whole);
        assert_eq!(parse_range("bytes=x-", 10), Whole);
        assert_eq!(parse_range("bytes=-", 10), Whole);
    }

    #[test]
    fn query() {
        let q = "X-Amz-Expires=14400&X-Amz-Signature=abc";
        assert_eq!(query_param(q, "X-Amz-Signature"), Some("abc"));
        assert_eq!(query_param(q, "nope"), None);
    }
}
