//! The bridge from an async fetch to the pipeline's blocking reads.
//!
//! A fetch task on the tokio runtime sends the body's chunks through a bounded channel
//! (so at most that many chunks are buffered); [`ChunkReader`] is the other end, a
//! [`Read`] for the pipeline's decode thread. An error sent down the channel becomes
//! the read's I/O error, with the fetch's error inside it for the CLI to classify.

use std::io::{self, Read};

use bytes::Bytes;
use tokio::sync::mpsc;

/// Reads the chunks a fetch task sends.
#[derive(Debug)]
pub struct ChunkReader<E> {
    chunks: mpsc::Receiver<Result<Bytes, E>>,
    current: Bytes,
}

impl<E> ChunkReader<E> {
    pub fn new(chunks: mpsc::Receiver<Result<Bytes, E>>) -> ChunkReader<E> {
        ChunkReader {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> Read for ChunkReader<E> {
    /// Blocks until the next chunk arrives: call it from a plain thread (the
    /// pipeline's decode thread), not from the runtime. A closed channel is the end:
    /// the fetch ends with its last byte or an error.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
