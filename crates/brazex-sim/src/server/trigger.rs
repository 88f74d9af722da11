//! The export trigger: `POST /users/export/segment` and
//! `POST /users/export/global_control_group`.
//!
//! Checks run in the order a client can observe them: injected faults (so a
//! test's "first K requests fail" holds whatever the request), the API key,
//! the hourly rate limit, the body, then the one-export-per-segment rule.
//! Every answer carries the `X-RateLimit-*` headers and errors use Braze's
//! `{"message": ..., "errors": [...]}` shape.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use tracing::info;

use super::body::SimBody;
use super::config::SegmentConfig;
use super::export::{self, Export, Job, Phase};
use super::log::{SimEvent, TriggerEvent};
use super::Shared;
use crate::fields::{FieldSet, EXPORT_FIELDS};
use crate::rng::mix;

/// Path of the segment export.
pub(crate) const SEGMENT_PATH: &str = "/users/export/segment";
/// Path of the global control group export.
pub(crate) const CONTROL_GROUP_PATH: &str = "/users/export/global_control_group";

/// Braze's documented cap on `custom_attributes_to_export`.
const MAX_CUSTOM_ATTRIBUTES: usize = 500;
/// Braze's documented cap on concurrent segment exports per company.
const MAX_CONCURRENT_EXPORTS: usize = 100;
/// Request bodies larger than this are refused (a valid one is a few KiB).
const MAX_BODY_BYTES: usize = 1 << 20;

/// Seconds since the Unix epoch.
pub(crate) fn epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The hourly request window behind `X-RateLimit-*`.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    /// The clock hour (epoch seconds / 3600) being counted.
    hour: u64,
    /// Requests in that hour.
    used: u64,
}

/// The rate-limit headers of one answer.
#[derive(Clone, Copy, Debug)]
struct RateHeaders {
    limit: u64,
    remaining: u64,
    /// UTC epoch seconds.
    reset: u64,
}

impl RateHeaders {
    fn apply(self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset));
    }
}

/// Counts a request in the current hour; returns its headers and whether it
/// is over the limit. Braze resets its windows on the hour, hence
/// `X-RateLimit-Reset` = the next full hour.
fn count_request(shared: &Shared) -> (RateHeaders, bool) {
    let now = epoch_secs();
    let hour = now / 3600;
    let mut w = shared.rate();
    if w.hour != hour {
        *w = RateWindow { hour, used: 0 };
    }
    w.used += 1;
    let limit = shared.config.rate_limit_per_hour;
    let headers = RateHeaders {
        limit,
        remaining: limit.saturating_sub(w.used),
        reset: (hour + 1) * 3600,
    };
    (headers, w.used > limit)
}

/// Braze's error body.
fn error_body(message: &str, errors: &[String]) -> Value {
    json!({"message": message, "errors": errors})
}

/// A JSON answer with the rate-limit headers.
fn answer(status: StatusCode, body: &Value, rate: RateHeaders) -> Response<SimBody> {
    let mut resp = Response::new(SimBody::full(body.to_string()));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    rate.apply(headers);
    resp
}

/// Whether the request carries `Authorization: Bearer <key>`.
fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let value = value.trim();
    // The scheme is case-insensitive (RFC 9110); the key is not.
    match (value.get(..7), value.get(7..)) {
        (Some(scheme), Some(given)) => {
            scheme.eq_ignore_ascii_case("bearer ") && given.trim() == key
        }
        _ => false,
    }
}

/// Reads the request body, at most [`MAX_BODY_BYTES`].
async fn read_body(mut body: Incoming) -> Result<Bytes, String> {
    let mut out = Vec::new();
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| format!("reading the request body: {e}"))?;
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
            if out.len() > MAX_BODY_BYTES {
                return Err("the request body is too large".to_owned());
            }
        }
    }
    Ok(out.into())
}

/// A valid trigger request.
#[derive(Debug)]
struct Valid {
    segment: SegmentConfig,
    fields: FieldSet,
    callback: Option<String>,
    /// `output_format: "gzip"` (only bucket mode writes `.gz` files).
    gzip: bool,
}

/// An optional array of strings: `Ok(None)` when absent or null.
fn string_array(body: &Value, key: &str, errors: &mut Vec<String>) -> Option<Vec<String>> {
    match body.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let strings: Option<Vec<String>> = items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect();
            if strings.is_none() {
                errors.push(format!("{key} must be an array of strings"));
            }
            strings
        }
        Some(_) => {
            errors.push(format!("{key} must be an array of strings"));
            None
        }
    }
}

/// Validates a trigger body the way Braze documents it; on failure, every
/// problem found (the first one becomes the message).
fn validate(shared: &Shared, body: &Value, control_group: bool) -> Result<Valid, Vec<String>> {
    let mut errors = Vec::new();
    if !body.is_object() {
        return Err(vec!["the request body must be a JSON object".to_owned()]);
    }
    let segment = if control_group {
        Some(shared.config.control_group.clone())
    } else {
        match body.get("segment_id") {
            None | Some(Value::Null) => {
                errors.push("segment_id is required".to_owned());
                None
            }
            Some(Value::String(id)) => match shared.config.segment(id) {
                Some(s) => Some(s.clone()),
                None => {
                    errors.push(format!(
                        "segment_id {id:?} is not a segment of this workspace (unknown segment)"
                    ));
                    None
                }
            },
            Some(_) => {
                errors.push("segment_id must be a string".to_owned());
                None
            }
        }
    };
    let fields = string_array(body, "fields_to_export", &mut errors);
    if body.get("fields_to_export").is_none_or(Value::is_null) {
        errors.push(
            "fields_to_export is required: accounts created since 2021 must list the fields to export"
                .to_owned(),
        );
    }
    if let Some(fields) = &fields {
        let unknown: Vec<&str> = fields
            .iter()
            .map(String::as_str)
            .filter(|f| !EXPORT_FIELDS.contains(f))
            .collect();
        if !unknown.is_empty() {
            errors.push(format!(
                "fields_to_export contains invalid fields: {} (valid fields: {})",
                unknown.join(", "),
                EXPORT_FIELDS.join(", ")
            ));
        }
    }
    let custom = string_array(body, "custom_attributes_to_export", &mut errors).unwrap_or_default();
    if custom.len() > MAX_CUSTOM_ATTRIBUTES {
        errors.push(format!(
            "custom_attributes_to_export accepts at most {MAX_CUSTOM_ATTRIBUTES} custom attributes ({} given)",
            custom.len()
        ));
    }
    match body.get("output_format") {
        None | Some(Value::Null) => {}
        Some(Value::String(f)) if f == "zip" || f == "gzip" => {}
        Some(other) => errors.push(format!(
            "output_format must be \"zip\" or \"gzip\" (got {other})"
        )),
    }
    let callback = match body.get("callback_endpoint") {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) => Some(url.clone()),
        Some(_) => {
            errors.push("callback_endpoint must be a string".to_owned());
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    // Every name was checked above, so this cannot fail; map it anyway.
    let fields = FieldSet::from_export_request(fields.unwrap_or_default(), custom)
        .map_err(|e| vec![e.to_string()])?;
    match segment {
        Some(segment) => Ok(Valid {
            segment,
            fields,
            callback,
            gzip: body.get("output_format").and_then(Value::as_str) == Some("gzip"),
        }),
        None => Err(vec!["segment_id is required".to_owned()]),
    }
}

/// 64 bits of FNV-1a, to derive ids from strings.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// A Braze-like object prefix: a UUID, a dash, the trigger's epoch seconds.
fn object_prefix(segment_id: &str, seq: u64, epoch: u64) -> String {
    let a = mix(fnv(segment_id) ^ mix(seq.wrapping_add(1)));
    let b = mix(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}-{epoch}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        ((b >> 48) & 0x3FFF) | 0x8000,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// A 64-hex-digit stand-in for an S3 presigned URL's signature, derived from
/// the prefix and the key so it cannot be guessed from the prefix alone.
pub(crate) fn signature(object_prefix: &str, api_key: &str) -> String {
    let h = fnv(object_prefix) ^ mix(fnv(api_key));
    (0..4u64)
        .map(|i| format!("{:016x}", mix(h ^ mix(i))))
        .collect()
}

/// Answers a trigger request.
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    control_group: bool,
) -> Response<SimBody> {
    let path = req.uri().path().to_owned();
    let authorized = authorized(req.headers(), &shared.config.api_key);
    let body = read_body(req.into_body()).await;
    let json: Option<Value> = body
        .as_ref()
        .ok()
        .and_then(|b| serde_json::from_slice(b).ok());
    let (rate, over_limit) = count_request(shared);

    let (resp, object_prefix) =
        if shared.faults.trigger_5xx() {
            let body = error_body(
            "Service Unavailable",
            &["the export service is at capacity (simulated 503): retry with exponential backoff"
                .to_owned()],
        );
            (answer(StatusCode::SERVICE_UNAVAILABLE, &body, rate), None)
        } else if shared.faults.trigger_429() {
            let rate = RateHeaders {
                remaining: 0,
                reset: epoch_secs() + shared.faults.config.rate_limit_reset_secs,
                ..rate
            };
            let body = error_body(
                "API rate limit exceeded",
                &["too many requests (simulated 429): retry after X-RateLimit-Reset".to_owned()],
            );
            (answer(StatusCode::TOO_MANY_REQUESTS, &body, rate), None)
        } else if !authorized {
            let body = error_body(
                "Invalid API Key",
                &["the API key is missing, invalid, or belongs to another instance".to_owned()],
            );
            (answer(StatusCode::UNAUTHORIZED, &body, rate), None)
        } else if over_limit {
            let body = error_body(
                "API rate limit exceeded",
                &[format!(
                    "more than {} requests this hour",
                    shared.config.rate_limit_per_hour
                )],
            );
            (answer(StatusCode::TOO_MANY_REQUESTS, &body, rate), None)
        } else {
            match (&body, &json) {
                (Err(e), _) => {
                    let body = error_body("Invalid request body", std::slice::from_ref(e));
                    (answer(StatusCode::BAD_REQUEST, &body, rate), None)
                }
                (Ok(_), None) => {
                    let body = error_body(
                        "Invalid request body: expected JSON",
                        &["the body must be a JSON object".to_owned()],
                    );
                    (answer(StatusCode::BAD_REQUEST, &body, rate), None)
                }
                (Ok(_), Some(json)) => match validate(shared, json, control_group) {
                    Err(errors) => {
                        let body = error_body(&errors[0], &errors);
                        (answer(StatusCode::BAD_REQUEST, &body, rate), None)
                    }
                    Ok(valid) => start(shared, valid, rate),
                },
            }
        };
    shared.log.push(SimEvent::Trigger(TriggerEvent {
        path,
        body: json,
        status: resp.status().as_u16(),
        object_prefix,
    }));
    resp
}

/// Starts an export, unless one of the segment is still being prepared.
fn start(
    shared: &Arc<Shared>,
    valid: Valid,
    rate: RateHeaders,
) -> (Response<SimBody>, Option<String>) {
    let now = Instant::now();
    let epoch = epoch_secs();
    let segment_id = valid.segment.id.clone();
    let export = {
        let mut exports = shared.exports();
        let preparing = |e: &&Arc<Export>| e.phase(now) == Phase::Preparing;
        if exports
            .values()
            .filter(preparing)
            .any(|e| e.segment_id == segment_id)
        {
            let body = error_body(
                &format!("An export of segment {segment_id:?} is already running"),
                &["only one export per segment at a time: retry when it is ready".to_owned()],
            );
            return (answer(StatusCode::TOO_MANY_REQUESTS, &body, rate), None);
        }
        if exports.values().filter(preparing).count() >= MAX_CONCURRENT_EXPORTS {
            let body = error_body(
                "Too many concurrent exports",
                &[format!(
                    "at most {MAX_CONCURRENT_EXPORTS} segment exports may run at once"
                )],
            );
            return (answer(StatusCode::TOO_MANY_REQUESTS, &body, rate), None);
        }
        let seq = shared.next_seq();
        let prefix = object_prefix(&segment_id, seq, epoch);
        let signature = signature(&prefix, &shared.config.api_key);
        let url = format!(
            "{}/exports/{prefix}.zip?X-Amz-Expires={}&X-Amz-Signature={signature}",
            shared.endpoint,
            shared.config.ttl.as_secs()
        );
        let export = Arc::new(Export::new(
            prefix.clone(),
            segment_id.clone(),
            signature,
            url,
            now.checked_add(shared.config.ready_after).unwrap_or(now),
            shared.config.ttl,
            shared.config.spool_dir.join(format!("{prefix}.zip")),
        ));
        exports.insert(prefix, export.clone());
        export
    };
    info!(
        segment_id = %segment_id,
        object_prefix = %export.object_prefix,
        fields = ?valid.fields.fields().collect::<Vec<_>>(),
        "brazex-sim: export triggered"
    );
    let job = Job {
        segment: valid.segment,
        fields: valid.fields,
        callback: valid.callback,
        gzip: valid.gzip,
    };
    tokio::spawn(export::run(shared.clone(), export.clone(), job));
    // With the company's own bucket Braze gives no URL: the files land there.
    let body = if shared.config.bucket.is_some() {
        json!({
            "message": "success",
            "object_prefix": export.object_prefix,
        })
    } else {
        json!({
            "message": "success",
            "object_prefix": export.object_prefix,
            "url": export.url,
        })
    };
    (
        answer(StatusCode::CREATED, &body, rate),
        Some(export.object_prefix.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_look_like_brazes() {
        let p = object_prefix("all", 0, 1_464_728_599);
        let parts: Vec<&str> = p.split('-').collect();
        assert_eq!(
            parts.iter().map(|s| s.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12, 10],
            "{p}"
        );
        assert!(parts[2].starts_with('4'));
        assert_ne!(p, object_prefix("all", 1, 1_464_728_599));
        assert_ne!(p, object_prefix("small", 0, 1_464_728_599));
        assert_eq!(signature(&p, "k").len(), 64);
        assert_ne!(signature(&p, "k"), signature(&p, "k2"));
    }

    #[test]
    fn bearer_auth() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "key"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer key"));
        assert!(authorized(&h, "key"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  key "));
        assert!(authorized(&h, "key"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer key2"));
        assert!(!authorized(&h, "key"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("key"));
        assert!(!authorized(&h, "key"));
    }
}
