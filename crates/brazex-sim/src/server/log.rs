//! The record of what the simulator was asked and what it answered, for
//! tests to assert on (which body a client sent, which `Range` it resumed
//! with, whether the callback arrived).
//!
//! The `Authorization` header is never recorded: the simulator's log must not
//! be the place where a test finds a leaked key.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tracing::debug;

/// A trigger request (`POST /users/export/...`).
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerEvent {
    /// The request path, e.g. `/users/export/segment`.
    pub path: String,
    /// The body parsed as JSON; `None` when it was not JSON.
    pub body: Option<serde_json::Value>,
    /// The status answered.
    pub status: u16,
    /// The export started, on success.
    pub object_prefix: Option<String>,
}

/// An injected download fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownloadFault {
    /// The connection is closed after this many body bytes.
    Drop {
        /// Body bytes sent before the close.
        after: u64,
    },
    /// Sending pauses after this many body bytes.
    Stall {
        /// Body bytes sent before the pause.
        after: u64,
    },
    /// An error status instead of the body (`500`, `503`, `429`).
    Status {
        /// The status answered.
        status: u16,
    },
    /// A ranged request answered with the whole archive (`200`).
    IgnoredRange,
}

/// A request for an export URL (`GET` or `HEAD /exports/...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadEvent {
    /// `GET` or `HEAD`.
    pub method: String,
    /// The request path (without the query).
    pub path: String,
    /// The `Range` header, as sent.
    pub range: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The S3 error code of a 4xx answer (`AccessDenied`, `ExpiredToken`, ...).
    pub error_code: Option<String>,
    /// Faults injected into this response's body.
    pub faults: Vec<DownloadFault>,
}

/// An attempt to POST to a `callback_endpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackEvent {
    /// The callback URL.
    pub url: String,
    /// The JSON body sent.
    pub body: String,
    /// 1 for the first attempt, 2 for the retry.
    pub attempt: u32,
    /// The HTTP status received, or why there was none.
    pub outcome: Result<u16, String>,
}

/// Any other request (an unknown path or method).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtherEvent {
    /// The request method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

/// One entry of the simulator's log.
#[derive(Clone, Debug, PartialEq)]
pub enum SimEvent {
    /// A trigger request.
    Trigger(TriggerEvent),
    /// A download request.
    Download(DownloadEvent),
    /// A callback attempt.
    Callback(CallbackEvent),
    /// Anything else.
    Other(OtherEvent),
}

/// The shared, append-only log.
#[derive(Debug, Default)]
pub(crate) struct EventLog {
    events: Mutex<Vec<SimEvent>>,
}

impl EventLog {
    fn lock(&self) -> MutexGuard<'_, Vec<SimEvent>> {
        // A panicking request handler must not take the log down with it.
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, event: SimEvent) {
        debug!(?event, "brazex-sim");
        self.lock().push(event);
    }

    pub(crate) fn snapshot(&self) -> Vec<SimEvent> {
        self.lock().clone()
    }
}
