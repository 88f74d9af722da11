//! Braze's callback: when an export is ready, POST `{"success": true, "url":
//! ...}` to the trigger's `callback_endpoint`.
//!
//! A dozen lines of HTTP/1.1 over a `TcpStream` do it; an HTTP client crate
//! would drag TLS and connection pools into every user of the simulator. Only
//! `http://` URLs whose host resolves to a loopback address are contacted:
//! the simulator never sends traffic off the machine. Failures are logged and
//! retried once after a second (Braze would retry too, it does not say how).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{info, warn};

use super::log::{CallbackEvent, EventLog, SimEvent};

/// Attempts per callback.
const ATTEMPTS: u32 = 2;
/// Pause before the retry.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Bound on connecting, sending and reading the status line.
const TIMEOUT: Duration = Duration::from_secs(5);

/// POSTs `body` to `url`, retrying once; every attempt is logged.
pub(crate) async fn deliver(log: &EventLog, url: &str, body: &str) {
    for attempt in 1..=ATTEMPTS {
        let outcome = match tokio::time::timeout(TIMEOUT, post(url, body)).await {
            Ok(Ok(status)) if (200..300).contains(&status) => Ok(status),
            Ok(Ok(status)) => Err(format!("answered HTTP {status}")),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("no answer within {}s", TIMEOUT.as_secs())),
        };
        let done = outcome.is_ok();
        match &outcome {
            Ok(status) => info!(%url, status, "brazex-sim: callback delivered"),
            Err(e) => warn!(%url, attempt, error = %e, "brazex-sim: callback failed"),
        }
        log.push(SimEvent::Callback(CallbackEvent {
            url: url.to_owned(),
            body: body.to_owned(),
            attempt,
            outcome: outcome.map_err(|e| e.to_string()),
        }));
        if done {
            return;
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}

/// A parsed `http://host[:port]/path` URL.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    /// `host[:port]`, as sent in the `Host` header.
    authority: &'a str,
    host: &'a str,
    port: u16,
    path: String,
}

fn parse(url: &str) -> Result<Target<'_>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// callback URLs are supported by the simulator".to_owned())?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    // An IPv6 literal is bracketed: [::1]:8080.
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("bad IPv6 host")?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("bad port {p:?}"))?,
        None => 80,
    };
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    // `http://host?q` means path `/` with query `q`.
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    Ok(Target {
        authority,
        host,
        port,
        path,
    })
}

/// One POST; returns the status code.
async fn post(url: &str, body: &str) -> Result<u16, String> {
    let t = parse(url)?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((t.host, t.port))
        .await
        .map_err(|e| format!("cannot resolve {}: {e}", t.host))?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| a.ip().is_loopback())
        .ok_or_else(|| format!("{} is not a loopback address: not contacted", t.host))?;
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: brazex-sim\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        t.path,
        t.authority,
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    // Only the status line matters; read until it is complete.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 || head.len() > 8192 {
            return Err("no HTTP status line in the answer".to_owned());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().and_then(|s| s.parse().ok())) {
        (Some(v), Some(status)) if v.starts_with("HTTP/") => Ok(status),
        _ => Err("no HTTP status line in the answer".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = parse("http://127.0.0.1:8080/hook?x=1").expect("url");
        assert_eq!(
            t,
            Target {
                authority: "127.0.0.1:8080",
                host: "127.0.0.1",
                port: 8080,
                path: "/hook?x=1".to_owned()
            }
        );
        let t = parse("http://localhost").expect("url");
        assert_eq!((t.host, t.port, t.path.as_str()), ("localhost", 80, "/"));
        assert_eq!(parse("http://localhost?a=b").expect("url").path, "/?a=b");
        let t = parse("http://[::1]:9/").expect("url");
        assert_eq!((t.host, t.port, t.authority), ("::1", 9, "[::1]:9"));
        assert!(parse("https://127.0.0.1/").is_err());
        assert!(parse("http://:80/").is_err());
        assert!(parse("http://h:port/").is_err());
    }
}
