//! GCS resumable uploads (JSON API), the requests object_store does not make.
//!
//! A session is started with `POST /upload/storage/v1/b/BUCKET/o?uploadType=resumable`;
//! chunks (multiples of 256 KiB) go with `PUT SESSION` and `Content-Range: bytes
//! A-B/*`, answered `308`; the object appears only when the final chunk names the
//! total size (`bytes A-B/TOTAL`, or `bytes */TOTAL` with no bytes left).

use bytes::Bytes;
use object_store::gcp::GcpCredentialProvider;

/// A failed request: its HTTP status, when there was an answer, and what was said.
#[derive(Debug)]
pub(super) struct Failure {
    pub status: Option<u16>,
    pub detail: String,
}

fn failure(e: impl std::fmt::Display) -> Failure {
    Failure {
        status: None,
        detail: e.to_string(),
    }
}

async fn authorize(
    request: reqwest::RequestBuilder,
    credentials: &Option<GcpCredentialProvider>,
) -> Result<reqwest::RequestBuilder, Failure> {
    match credentials {
        Some(provider) => {
            let credential = provider.get_credential().await.map_err(failure)?;
            Ok(request.bearer_auth(&credential.bearer))
        }
        None => Ok(request),
    }
}

async fn answer_failure(response: reqwest::Response) -> Failure {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(300).collect());
    Failure {
        status: Some(status),
        detail: format!("HTTP {status}: {message}"),
    }
}

/// Starts a resumable upload of `key`; returns its session URL.
pub(super) async fn start(
    http: reqwest::Client,
    base_url: String,
    credentials: Option<GcpCredentialProvider>,
    bucket: String,
    key: String,
) -> Result<String, Failure> {
    let url = format!(
        "{base_url}/upload/storage/v1/b/{}/o",
        encode_component(&bucket)
    );
    let request = http
        .post(url)
        .query(&[("uploadType", "resumable"), ("name", key.as_str())])
        .header("content-type", "application/json")
        .body("{}");
    let response = authorize(request, &credentials)
        .await?
        .send()
        .await
        .map_err(failure)?;
    if !response.status().is_success() {
        return Err(answer_failure(response).await);
    }
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| failure("the store gave no upload session (no Location header)"))
}

/// Sends `data` at byte `start` of the session; `last`: this ends the object (its
/// total size is `start + data.len()`), which makes it visible.
pub(super) async fn put_chunk(
    http: reqwest::Client,
    credentials: Option<GcpCredentialProvider>,
    session: String,
    start: u64,
    data: Bytes,
    last: bool,
) -> Result<(), Failure> {
    let len = data.len() as u64;
    let range = match (len, last) {
        (0, true) => format!("bytes */{start}"),
        (_, true) => format!("bytes {start}-{}/{}", start + len - 1, start + len),
        (_, false) => format!("bytes {start}-{}/*", start + len - 1),
    };
    let request = http.put(&session).header("content-range", range).body(data);
    let response = authorize(request, &credentials)
        .await?
        .send()
        .await
        .map_err(failure)?;
    let status = response.status().as_u16();
    match (status, last) {
        (308, false) | (200 | 201, true) => Ok(()),
        _ => Err(answer_failure(response).await),
    }
}

/// Cancels a session: nothing of it becomes visible (GCS answers 499).
pub(super) async fn cancel(
    http: reqwest::Client,
    credentials: Option<GcpCredentialProvider>,
    session: String,
) -> Result<(), Failure> {
    let request = http.delete(&session);
    let response = authorize(request, &credentials)
        .await?
        .send()
        .await
        .map_err(failure)?;
    match response.status().as_u16() {
        200..=299 | 404 | 410 | 499 => Ok(()),
        _ => Err(answer_failure(response).await),
    }
}

/// Percent-encodes a path segment.
pub(super) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
