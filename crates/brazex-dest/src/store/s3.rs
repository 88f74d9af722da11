//! S3's `ListMultipartUploads`, the one request of ours object_store does not make:
//! signed here with SigV4 (header form), with object_store's own credentials.
//!
//! Used when a folder target is claimed, to find the multipart uploads a killed run
//! left pending under the prefix (they stay, and are billed, until aborted).

use brazex_braze::Access;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The pending uploads (key, upload id) under `prefix` in `bucket`; the error is
/// the store's answer.
pub(super) async fn list_pending(
    http: reqwest::Client,
    access: Access,
    bucket: String,
    prefix: String,
) -> Result<Vec<(String, String)>, String> {
    let Access::S3 {
        endpoint,
        region,
        credentials,
    } = access
    else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    let mut markers: Option<(String, String)> = None;
    loop {
        // The whole bucket's pending uploads, filtered here: a `prefix` holding `/`
        // is signed as `%2F` by AWS's rules, which some S3-compatible servers
        // (moto) do not follow, and a bucket's pending uploads are few.
        let mut query = vec![("uploads".to_string(), String::new())];
        if let Some((key, id)) = &markers {
            query.push(("key-marker".into(), key.clone()));
            query.push(("upload-id-marker".into(), id.clone()));
        }
        query.sort();
        let canonical_query = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let (scheme, rest) = endpoint.split_once("://").unwrap_or(("https", &endpoint));
        let (host, base_path) = match rest.split_once('/') {
            Some((host, path)) => (host.to_string(), format!("/{path}")),
            None => (rest.to_string(), String::new()),
        };
        let path = format!("{}/{}", base_path.trim_end_matches('/'), encode(&bucket));
        let credential = credentials
            .get_credential()
            .await
            .map_err(|e| e.to_string())?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
        let stamp: String = brazex_core::civil::format_timestamp_ms(now - now % 1000)
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .collect();
        // `YYYYMMDDTHHMMSSmmm` → `YYYYMMDDTHHMMSSZ`.
        let amz_date = format!("{}Z", &stamp[..15]);
        let date = &amz_date[..8];
        let payload = hex(&Sha256::digest(b""));
        let mut headers = vec![
            ("host".to_string(), host.clone()),
            ("x-amz-content-sha256".to_string(), payload.clone()),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        if let Some(token) = &credential.token {
            headers.push(("x-amz-security-token".to_string(), token.clone()));
        }
        let signed_headers = headers
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let canonical_request = format!(
            "GET\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload}"
        );
        let scope = format!("{date}/{region}/s3/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical_request.as_bytes()))
        );
        let mut key = hmac(
            format!("AWS4{}", credential.secret_key).as_bytes(),
            date.as_bytes(),
        );
        for part in [region.as_str(), "s3", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        let signature = hex(&hmac(&key, to_sign.as_bytes()));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credential.key_id
        );
        let mut request = http
            .get(format!("{scheme}://{host}{path}?{canonical_query}"))
            .header("authorization", authorization);
        for (k, v) in &headers {
            if k != "host" {
                request = request.header(k.as_str(), v.as_str());
            }
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            let code = tag(&body, "Code").unwrap_or_default();
            let message = tag(&body, "Message").unwrap_or_default();
            return Err(format!("HTTP {}: {code} {message}", status.as_u16()));
        }
        let mut rest = body.as_str();
        while let Some(start) = rest.find("<Upload>") {
            let end = rest[start..]
                .find("</Upload>")
                .map_or(rest.len(), |e| start + e);
            let upload = &rest[start..end];
            if let (Some(key), Some(id)) = (tag(upload, "Key"), tag(upload, "UploadId")) {
                if key.starts_with(&prefix) {
                    found.push((key, id));
                }
            }
            rest = &rest[end..];
        }
        if tag(&body, "IsTruncated").as_deref() != Some("true") {
            return Ok(found);
        }
        match (
            tag(&body, "NextKeyMarker"),
            tag(&body, "NextUploadIdMarker"),
        ) {
            (Some(key), Some(id)) if markers.as_ref() != Some(&(key.clone(), id.clone())) => {
                markers = Some((key, id))
            }
            _ => return Ok(found),
        }
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SigV4's URI encoding: everything but unreserved characters.
fn encode(text: &str) -> String {
    super::gcs::encode_component(text)
}

/// The text of the first `<name>` element, unescaped.
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_uploads_and_unescapes_keys() {
        let xml = "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>\
            <Upload><Key>out/a&amp;b/part-00000.csv</Key><UploadId>u1</UploadId></Upload>\
            <Upload><Key>out/_manifest.json</Key><UploadId>u2</UploadId></Upload>\
            </ListMultipartUploadsResult>";
        assert_eq!(tag(xml, "IsTruncated").as_deref(), Some("false"));
        let first = &xml[xml.find("<Upload>").expect("upload")..];
        assert_eq!(tag(first, "Key").as_deref(), Some("out/a&b/part-00000.csv"));
    }

    #[test]
    fn signing_key_matches_aws_example() {
        // AWS's documented example of the SigV4 signing key derivation
        // (secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1, iam).
        let mut key = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20120215");
        for part in ["us-east-1", "iam", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
