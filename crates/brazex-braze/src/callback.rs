//! Receiver of Braze's callback: a small HTTP/1.1 listener that accepts the POST Braze
//! sends to `callback_endpoint` when the export is ready (`{"success": true, "url": …}`).
//!
//! Braze documents nothing else about the call, so any POST with a JSON body that has
//! a `success` member counts; other requests get 404. Requests are bounded (64 KiB of
//! head, 1 MiB of body) and each connection is served on its own task.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::error::BrazeError;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;

/// What Braze's callback said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackEvent {
    pub success: bool,
    pub url: Option<String>,
    /// The body as received, for messages.
    pub body: String,
}

/// A listening callback receiver.
#[derive(Debug)]
pub struct CallbackReceiver {
    addr: SocketAddr,
    events: mpsc::Receiver<CallbackEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl CallbackReceiver {
    /// Listens on `addr` (`--callback-listen`).
    pub async fn bind(addr: &str) -> Result<CallbackReceiver, BrazeError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BrazeError::Callback {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener
            .local_addr()
            .map_err(|source| BrazeError::Callback {
                addr: addr.to_string(),
                source,
            })?;
        let (tx, events) = mpsc::channel(8);
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            match tokio::time::timeout(Duration::from_secs(30), serve(stream, tx))
                                .await
                            {
                                Ok(Ok(())) => {}
                                Ok(Err(e)) => debug!("callback connection from {peer}: {e}"),
                                Err(_) => debug!("callback connection from {peer} timed out"),
                            }
                        });
                    }
                    Err(e) => warn!("callback listener: {e}"),
                }
            }
        });
        info!("listening for Braze's callback on {local}");
        Ok(CallbackReceiver {
            addr: local,
            events,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next callback (None when the listener is gone).
    pub async fn recv(&mut self) -> Option<CallbackEvent> {
        self.events.recv().await
    }
}

/// Sleeps for `duration`, or less when Braze's callback comes first (its event).
/// Both ways of waiting for an export (polling a URL, listing a bucket) wait so.
pub async fn sleep_or_callback(
    callback: Option<&mut CallbackReceiver>,
    duration: Duration,
) -> Option<CallbackEvent> {
    match callback {
        Some(receiver) => tokio::select! {
            () = tokio::time::sleep(duration) => None,
            event = receiver.recv() => event,
        },
        None => {
            tokio::time::sleep(duration).await;
            None
        }
    }
}

impl Drop for CallbackReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one connection: one request, one answer.
async fn serve(mut stream: TcpStream, events: mpsc::Sender<CallbackEvent>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return respond(&mut stream, "431 Request Header Fields Too Large").await;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let method = head.split_whitespace().next().unwrap_or("");
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    if method != "POST" {
        return respond(&mut stream, "405 Method Not Allowed").await;
    }
    if length > MAX_BODY {
        return respond(&mut stream, "413 Payload Too Large").await;
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let event = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            let success = v.get("success")?.as_bool()?;
            Some(CallbackEvent {
                success,
                url: v.get("url").and_then(|u| u.as_str()).map(str::to_string),
                body: String::from_utf8_lossy(&body).chars().take(500).collect(),
            })
        });
    match event {
        Some(event) => {
            respond(&mut stream, "200 OK").await?;
            let _ = events.send(event).await;
            Ok(())
        }
        None => respond(&mut stream, "400 Bad Request").await,
    }
}

async fn respond(stream: &mut TcpStream, status: &str) -> std::io::Result<()> {
    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(answer.as_bytes()).await?;
    stream.shutdown().await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
