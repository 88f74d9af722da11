//! The API key and the REST endpoint.

use std::fmt;

use crate::error::BrazeError;

/// A Braze REST API key. Its `Debug` shows no part of it, it has no `Display`, and it
/// leaves this crate only as a sensitive `Authorization` header value.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Takes a key as read from `BRAZE_API_KEY` or a key file: surrounding white space
    /// (a file's newline) is dropped; an empty key is an error.
    pub fn new(text: &str) -> Result<ApiKey, BrazeError> {
        let key = text.trim();
        if key.is_empty() {
            return Err(BrazeError::BadKey("the API key is empty".into()));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(BrazeError::BadKey(
                "the API key contains white space or control characters".into(),
            ));
        }
        Ok(ApiKey(key.to_string()))
    }

    /// True when the key is wrapped in quotes (a common copy-paste mistake).
    pub fn looks_quoted(&self) -> bool {
        let k = &self.0;
        k.len() >= 2
            && ((k.starts_with('"') && k.ends_with('"'))
                || (k.starts_with('\'') && k.ends_with('\'')))
    }

    /// The `Authorization` header value, marked sensitive so that HTTP logging and
    /// `Debug` of requests do not show it.
    pub(crate) fn bearer(&self) -> Result<reqwest::header::HeaderValue, BrazeError> {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| BrazeError::BadKey("the API key is not a valid header value".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Removes every occurrence of the key from `text` (for messages that quote a
    /// server's answer, which might echo it).
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.0, "[redacted]")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// Braze's REST endpoints by instance name.
pub const INSTANCES: &[(&str, &str)] = &[
    ("iad-01", "https://rest.iad-01.braze.com"),
    ("iad-02", "https://rest.iad-02.braze.com"),
    ("iad-03", "https://rest.iad-03.braze.com"),
    ("iad-04", "https://rest.iad-04.braze.com"),
    ("iad-05", "https://rest.iad-05.braze.com"),
    ("iad-06", "https://rest.iad-06.braze.com"),
    ("iad-07", "https://rest.iad-07.braze.com"),
    ("iad-08", "https://rest.iad-08.braze.com"),
    ("us-10", "https://rest.us-10.braze.com"),
    ("fra-01", "https://rest.fra-01.braze.eu"),
    ("fra-02", "https://rest.fra-02.braze.eu"),
    ("au-01", "https://rest.au-01.braze.com"),
    ("id-01", "https://rest.id-01.braze.com"),
    ("jp-01", "https://rest.jp-01.braze.com"),
    ("kr-01", "https://rest.kr-01.braze.com"),
];

/// The REST endpoint of an instance (`iad-01`, `fra-02`, ...).
pub fn instance_endpoint(name: &str) -> Result<&'static str, BrazeError> {
    let name = name.trim().to_ascii_lowercase();
    INSTANCES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, url)| *url)
        .ok_or_else(|| BrazeError::UnknownInstance {
            name,
            valid: INSTANCES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_show() {
        let key = ApiKey::new("  secret-123\n").expect("key");
        assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
        assert!(!format!("{:?}", key.bearer().expect("header")).contains("secret"));
        assert_eq!(key.redact("x secret-123 y"), "x [redacted] y");
        assert!(ApiKey::new(" \n").is_err());
        assert!(ApiKey::new("a b").is_err());
        assert!(ApiKey::new("\"abc\"").expect("key").looks_quoted());
    }

    #[test]
    fn instances() {
        assert_eq!(
            instance_endpoint("IAD-01").ok(),
            Some("https://rest.iad-01.braze.com")
        );
        assert_eq!(
            instance_endpoint("fra-02").ok(),
            Some("https://rest.fra-02.braze.eu")
        );
        let err = instance_endpoint("iad-99").expect_err("unknown");
        assert!(err.to_string().contains("iad-01, iad-02"), "{err}");
    }
}
