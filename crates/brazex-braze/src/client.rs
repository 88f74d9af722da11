//! The Braze REST client: the export trigger with its retry policy.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, AUTHORIZATION};
use serde::Deserialize;
use tracing::{debug, info, warn};

use crate::config::ApiKey;
use crate::error::{describe, display_url, ApiMessage, BrazeError};
use crate::request::{ExportRequest, ExportTarget};
use crate::retry::{until_reset, RetryPolicy};

/// Error bodies longer than this are cut (they are only quoted in messages).
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

/// Braze's answer to an export request.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportResponse {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub object_prefix: Option<String>,
    /// Absent or null when the export goes to the company's own bucket.
    #[serde(default)]
    pub url: Option<String>,
    /// The whole response, as Braze sent it (`brazex export` prints it).
    #[serde(skip)]
    pub raw: serde_json::Value,
}

/// A client of one Braze REST endpoint with one API key.
#[derive(Clone)]
pub struct BrazeClient {
    pub(crate) http: reqwest::Client,
    endpoint: String,
    /// None for a client that only waits for and downloads presigned URLs.
    key: Option<ApiKey>,
    pub(crate) retry: RetryPolicy,
}

impl std::fmt::Debug for BrazeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrazeClient")
            .field("endpoint", &self.endpoint)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl BrazeClient {
    /// A client for `endpoint` (`https://rest.iad-01.braze.com`, or any http(s) URL such
    /// as the simulator's).
    pub fn new(endpoint: &str, key: ApiKey, retry: RetryPolicy) -> Result<BrazeClient, BrazeError> {
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(BrazeError::BadEndpoint(endpoint));
        }
        Ok(BrazeClient {
            http: http_client()?,
            endpoint,
            key: Some(key),
            retry,
        })
    }

    /// A client without endpoint or key, for [`BrazeClient::wait_ready`] and
    /// [`crate::Download`] of an export URL (presigned: it needs no key).
    pub fn for_downloads(retry: RetryPolicy) -> Result<BrazeClient, BrazeError> {
        Ok(BrazeClient {
            http: http_client()?,
            endpoint: String::new(),
            key: None,
            retry,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Asks Braze to export `target`. Retries 429 until `X-RateLimit-Reset` (within
    /// the policy's deadline) and 5xx or connection errors with backoff; any other
    /// answer is final.
    pub async fn trigger(
        &self,
        target: &ExportTarget,
        request: &ExportRequest,
    ) -> Result<ExportResponse, BrazeError> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| BrazeError::BadKey("no API key was given".into()))?;
        let path = target.path();
        let url = format!("{}{}", self.endpoint, path);
        let what = format!("POST {path}");
        let started = Instant::now();
        let mut failures = 0u32;
        let mut busy = 0u32;
        loop {
            debug!(url = %url, "{what}");
            let sent = self
                .http
                .post(&url)
                .header(AUTHORIZATION, key.bearer()?)
                .json(request)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    failures += 1;
                    let last = describe(e);
                    if failures >= self.retry.max_attempts {
                        return Err(BrazeError::Unavailable {
                            what,
                            attempts: failures,
                            last,
                        });
                    }
                    let delay = self.retry.backoff(failures);
                    warn!(
                        "{what}: {last}; retrying in {delay:.1?} ({failures}/{})",
                        self.retry.max_attempts
                    );
                    tokio::time::sleep(delay).await;
                    continue;
                }
            };
            let status = response.status();
            let reset = rate_limit_reset(response.headers());
            let remaining = rate_limit_remaining(response.headers());
            log_rate_limit(response.headers());
            let body = read_capped(response, MAX_ERROR_BODY).await;
            if status.is_success() {
                let raw: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|e| BrazeError::Api {
                        what: what.clone(),
                        status: status.as_u16(),
                        details: ApiMessage {
                            other: Some(format!("the answer is not JSON ({e})")),
                            ..ApiMessage::default()
                        },
                    })?;
                let mut parsed: ExportResponse =
                    serde_json::from_value(raw.clone()).map_err(|e| BrazeError::Api {
                        what: what.clone(),
                        status: status.as_u16(),
                        details: ApiMessage {
                            other: Some(format!("unexpected answer ({e})")),
                            ..ApiMessage::default()
                        },
                    })?;
                parsed.raw = raw;
                info!(
                    object_prefix = parsed.object_prefix.as_deref().unwrap_or(""),
                    has_url = parsed.url.is_some(),
                    "{what}: {status}"
                );
                return Ok(parsed);
            }
            let details = ApiMessage::from_body(&body);
            match status.as_u16() {
                401 => {
                    return Err(BrazeError::Unauthorized {
                        endpoint: self.endpoint.clone(),
                        details,
                        quoted: key.looks_quoted(),
                    })
                }
                429 => {
                    busy += 1;
                    let waited = started.elapsed();
                    // With requests left in the window, the 429 is not the rate limit (an
                    // export of this segment is still running): the reset time, up to an
                    // hour away, says nothing about it, so back off instead.
                    let delay = match remaining {
                        Some(0) | None => until_reset(reset),
                        Some(_) => None,
                    }
                    .unwrap_or_else(|| self.retry.backoff(busy));
                    if waited + delay > self.retry.rate_limit_deadline {
                        return Err(BrazeError::RateLimited {
                            what,
                            waited,
                            details,
                        });
                    }
                    warn!("{what}: 429 {details}; retrying in {delay:.1?}");
                    tokio::time::sleep(delay).await;
                }
                s if s >= 500 => {
                    failures += 1;
                    if failures >= self.retry.max_attempts {
                        return Err(BrazeError::Unavailable {
                            what,
                            attempts: failures,
                            last: format!("{status} {details}"),
                        });
                    }
                    let delay = self.retry.backoff(failures);
                    warn!(
                        "{what}: {status} {details}; retrying in {delay:.1?} ({failures}/{})",
                        self.retry.max_attempts
                    );
                    tokio::time::sleep(delay).await;
                }
                s => {
                    return Err(BrazeError::Api {
                        what,
                        status: s,
                        details,
                    })
                }
            }
        }
    }
}

fn http_client() -> Result<reqwest::Client, BrazeError> {
    reqwest::Client::builder()
        .user_agent(concat!("brazex/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| BrazeError::BadEndpoint(format!("cannot set up HTTP ({})", describe(e))))
}

/// `X-RateLimit-Reset` as UTC epoch seconds (header names are case-insensitive, so
/// HTTP/2's lowercase form is the same header).
fn rate_limit_reset(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `X-RateLimit-Remaining`: requests left in the window.
fn rate_limit_remaining(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-ratelimit-remaining")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn log_rate_limit(headers: &HeaderMap) {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
    };
    debug!(
        limit = get("x-ratelimit-limit"),
        remaining = get("x-ratelimit-remaining"),
        reset = get("x-ratelimit-reset"),
        "rate limit"
    );
}

/// Reads at most `limit` bytes of a body (error bodies are only quoted).
pub(crate) async fn read_capped(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    body
}

/// For messages about a URL that may be presigned.
pub(crate) fn short_url(url: &str) -> String {
    display_url(url)
}
