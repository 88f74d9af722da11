//! Errors of the Braze client. None of them carries the API key; URLs in them lose
//! their query string (a presigned download URL's signature is a credential too).

use std::fmt;
use std::time::Duration;

/// What Braze said in an error body: `{"message": "...", "errors": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiMessage {
    pub message: Option<String>,
    pub errors: Vec<String>,
    /// The start of a body that was not Braze's JSON (an S3 XML error, a proxy page).
    pub other: Option<String>,
}

impl ApiMessage {
    /// Reads an error body.
    pub fn from_body(body: &[u8]) -> ApiMessage {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
            let message = map
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string);
            let errors = match map.get("errors") {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|e| match e {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if message.is_some() || !errors.is_empty() {
                return ApiMessage {
                    message,
                    errors,
                    other: None,
                };
            }
        }
        let text = String::from_utf8_lossy(body);
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        ApiMessage {
            message: None,
            errors: Vec::new(),
            other: (!text.is_empty()).then(|| text.chars().take(300).collect()),
        }
    }
}

impl fmt::Display for ApiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message, &self.other) {
            (Some(m), _) => write!(f, "\"{m}\"")?,
            (None, Some(o)) => write!(f, "{o}")?,
            (None, None) => f.write_str("no message")?,
        }
        if !self.errors.is_empty() {
            write!(f, " (errors: {})", self.errors.join("; "))?;
        }
        Ok(())
    }
}

/// Errors of the Braze client.
#[derive(Debug, thiserror::Error)]
pub enum BrazeError {
    #[error("bad API key: {0}")]
    BadKey(String),

    #[error("unknown Braze instance '{name}' (known: {valid})")]
    UnknownInstance { name: String, valid: String },

    #[error("bad endpoint URL '{0}': it must start with http:// or https://")]
    BadEndpoint(String),

    #[error("unknown field '{name}' in fields_to_export{}; valid fields: {valid}", suggestion.map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    UnknownField {
        name: String,
        suggestion: Option<&'static str>,
        valid: String,
    },

    #[error("{0} custom attributes requested; Braze exports at most 500 by name (export them all with the field custom_attributes)")]
    TooManyCustomAttributes(usize),

    #[error("Braze rejected the API key (401 Unauthorized) at {endpoint}: {details}. A key only works on its own instance (check --instance / BRAZE_REST_ENDPOINT){}", if *.quoted { "; the key is wrapped in quotes: remove them" } else { "" })]
    Unauthorized {
        endpoint: String,
        details: ApiMessage,
        quoted: bool,
    },

    #[error("Braze answered {status} to {what}: {details}")]
    Api {
        what: String,
        status: u16,
        details: ApiMessage,
    },

    #[error("Braze kept answering 429 to {what} (rate limited, or an export of this segment is already running) for {waited:?}, past the retry deadline: {details}")]
    RateLimited {
        what: String,
        waited: Duration,
        details: ApiMessage,
    },

    #[error("{what} failed {attempts} times, the last time with {last}; giving up")]
    Unavailable {
        what: String,
        attempts: u32,
        last: String,
    },

    #[error("the export was not ready after {0:?} (--wait-timeout). Braze reports failed exports by email only: check the company's email, or wait longer")]
    WaitTimeout(Duration),

    #[error("Braze reported that the export failed (callback with \"success\": false): {0}")]
    ExportFailed(String),

    #[error("the export link has expired ({0}): Braze deletes exports about four hours after they are ready; start a new export")]
    Expired(String),

    #[error("the export response has no download URL: this workspace exports into its own bucket (S3, Azure or GCS), where Braze writes the files under segment-export/SEGMENT_ID/DATE/{object_prefix}/. Give that bucket with --bucket s3://BUCKET (or gs://, az://) and brazex waits for the files and reads them from there; or run brazex process s3://BUCKET/segment-export/… once they are complete")]
    NoUrl { object_prefix: String },

    #[error("the download of {url} {problem}")]
    Download { url: String, problem: String },

    #[error("the download of {url} stopped at byte {offset}{}: {reason}; gave up after {resumes} resumes (raise --max-resumes)", total.map(|t| format!(" of {t}")).unwrap_or_default())]
    ResumesExhausted {
        url: String,
        offset: u64,
        total: Option<u64>,
        reason: String,
        resumes: u32,
    },

    /// The run was cancelled by this signal while downloading.
    #[error("the download was cancelled by {}", brazex_core::cancel::signal_name(*.0))]
    Cancelled(i32),

    #[error("callback listener on {addr}: {source}")]
    Callback {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// A URL for messages: scheme, host and path, without the query (which may hold a
/// presigned signature).
pub fn display_url(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// Describes a reqwest error without its URL.
pub fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "body read failed"
    } else {
        "request failed"
    };
    // reqwest's Display is terse ("error sending request"); the cause says why.
    let mut text = format!("{kind}: {error}");
    let mut cause = std::error::Error::source(&error);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
