//! The response body type: a small in-memory body, or a stream of chunks fed
//! by a task through a channel.
//!
//! A channel keeps the download logic (file reads, stalls, dropped
//! connections) in plain sequential async code in one task, instead of a
//! hand-written state machine. An `Err` chunk makes hyper abort the
//! connection mid-body, which is how the simulator "drops" a download.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// A chunk of a streamed body, or the error that aborts the connection.
pub(crate) type Chunk = Result<Bytes, io::Error>;

/// A response body.
#[derive(Debug)]
pub(crate) enum SimBody {
    /// Bytes already at hand (JSON and XML answers, HEAD answers).
    Full(Option<Bytes>),
    /// Chunks from a producer task; `len` is the promised length.
    Stream { rx: mpsc::Receiver<Chunk>, len: u64 },
}

impl SimBody {
    pub(crate) fn empty() -> Self {
        SimBody::Full(None)
    }

    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        SimBody::Full((!bytes.is_empty()).then_some(bytes))
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            SimBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            SimBody::Stream { rx, .. } => rx.poll_recv(cx).map(|c| c.map(|c| c.map(Frame::data))),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            SimBody::Stream { len, .. } => SizeHint::with_exact(*len),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SimBody::Full(None))
    }
}
