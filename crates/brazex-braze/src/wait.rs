//! Waiting for an export: polling its URL with backoff, or Braze's callback.

use std::time::{Duration, Instant};

use reqwest::header::RANGE;
use tracing::{debug, info};

use crate::callback::{sleep_or_callback, CallbackEvent, CallbackReceiver};
use crate::client::{read_capped, short_url, BrazeClient, MAX_ERROR_BODY};
use crate::error::{describe, ApiMessage, BrazeError};

/// How to wait.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// First interval between polls (`--poll-interval`); it doubles after each
    /// "not ready" up to `max_poll_interval`.
    pub poll_interval: Duration,
    pub max_poll_interval: Duration,
    /// Give up after this long (`--wait-timeout`).
    pub timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            poll_interval: Duration::from_secs(5),
            max_poll_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(2 * 3600),
        }
    }
}

/// What happens while waiting, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEvent {
    /// A poll found the export not ready; the next poll is in `next_poll`.
    NotReady {
        elapsed: Duration,
        next_poll: Duration,
    },
    /// The export is ready (by poll or callback).
    Ready { elapsed: Duration },
}

/// The outcome of one poll.
enum Probe {
    Ready,
    NotReady(String),
}

impl BrazeClient {
    /// Waits until the export at `url` can be downloaded; returns the URL to download
    /// (the callback's, when it carries one). 403 and 404 mean "not ready"; so do 5xx
    /// and connection errors, which are logged. An `ExpiredToken` answer is final.
    pub async fn wait_ready(
        &self,
        url: &str,
        options: &WaitOptions,
        mut callback: Option<&mut CallbackReceiver>,
        on_event: &(dyn Fn(WaitEvent) + Sync),
    ) -> Result<String, BrazeError> {
        let started = Instant::now();
        let mut interval = options.poll_interval;
        loop {
            match self.probe(url).await? {
                Probe::Ready => {
                    on_event(WaitEvent::Ready {
                        elapsed: started.elapsed(),
                    });
                    info!("the export is ready after {:.1?}", started.elapsed());
                    return Ok(url.to_string());
                }
                Probe::NotReady(why) => debug!("not ready: {why}"),
            }
            let elapsed = started.elapsed();
            if elapsed >= options.timeout {
                return Err(BrazeError::WaitTimeout(options.timeout));
            }
            let next = interval.min(options.timeout - elapsed);
            on_event(WaitEvent::NotReady {
                elapsed,
                next_poll: next,
            });
            let event = sleep_or_callback(callback.as_deref_mut(), next).await;
            match event {
                Some(CallbackEvent {
                    success: true,
                    url: callback_url,
                    ..
                }) => {
                    on_event(WaitEvent::Ready {
                        elapsed: started.elapsed(),
                    });
                    info!(
                        "Braze's callback says the export is ready after {:.1?}",
                        started.elapsed()
                    );
                    return Ok(callback_url.unwrap_or_else(|| url.to_string()));
                }
                Some(CallbackEvent {
                    success: false,
                    body,
                    ..
                }) => return Err(BrazeError::ExportFailed(body)),
                None => {}
            }
            interval = (interval * 2).min(options.max_poll_interval);
        }
    }

    /// One poll: a ranged GET of the first byte, without the API key (the URL is
    /// presigned, on another host).
    async fn probe(&self, url: &str) -> Result<Probe, BrazeError> {
        debug!(url = %short_url(url), "GET (poll) bytes=0-0");
        let response = match self.http.get(url).header(RANGE, "bytes=0-0").send().await {
            Ok(response) => response,
            Err(e) => return Ok(Probe::NotReady(describe(e))),
        };
        let status = response.status();
        match status.as_u16() {
            200 | 206 => Ok(Probe::Ready),
            403 | 404 => {
                let body = read_capped(response, MAX_ERROR_BODY).await;
                if let Some(code) = expired_code(&body) {
                    return Err(BrazeError::Expired(code));
                }
                Ok(Probe::NotReady(format!("{status}")))
            }
            s if s >= 500 => Ok(Probe::NotReady(format!("{status}"))),
            s => Err(BrazeError::Api {
                what: format!("GET {}", short_url(url)),
                status: s,
                details: ApiMessage::from_body(&read_capped(response, MAX_ERROR_BODY).await),
            }),
        }
    }
}

/// `ExpiredToken` in an S3-style error body: the link has expired.
pub(crate) fn expired_code(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.contains("<Code>ExpiredToken</Code>")
        .then(|| "ExpiredToken".to_string())
}
