//! The bridge from an async fetch to the pipeline's blocking reads.
//!
//! A fetch task on the tokio runtime sends the body's chunks through a [`channel`]
//! bounded twice: by chunks and by bytes. The chunk count alone is not a bound on
//! memory: the HTTP client decides the chunks' size (hyper's reads grow to about
//! 400 KiB), so 16 chunks can be 64 KiB or 6 MiB. Each chunk takes its length from a
//! byte budget before it is queued and gives it back when the reader has read it all;
//! a chunk longer than the whole budget takes all of it (so it travels alone). A
//! [`ChunkReader`] is the other end, a [`Read`] for the pipeline's decode thread. An
//! error sent down the channel becomes the read's I/O error, with the fetch's error
//! inside it for the CLI to classify.

use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, Semaphore};

/// The byte budget of one download's channel. Enough to hide a GET's latency (a few
/// milliseconds of the decoder's reading); past that, more only adds memory: against
/// 16 chunks of whatever size, 2 MiB an object took 2–5 MiB off the peak RSS of an
/// `s3://` prefix read, at the same speed (BENCHMARKS.md, issue 19).
pub const BUFFER: usize = 2 << 20;

/// A channel of at most `queue` chunks and about `budget` bytes (more only when a
/// single chunk is longer than the budget).
pub fn channel<E>(queue: usize, budget: usize) -> (ChunkSender<E>, ChunkReader<E>) {
    // Semaphore permits are counted in u32 and capped by the semaphore's maximum.
    let budget = budget.clamp(1, (u32::MAX as usize).min(Semaphore::MAX_PERMITS));
    let (tx, rx) = mpsc::channel(queue.max(1));
    let bytes = Arc::new(Semaphore::new(budget));
    (
        ChunkSender {
            tx,
            bytes: bytes.clone(),
            budget,
        },
        ChunkReader {
            chunks: rx,
            bytes,
            budget,
            current: Bytes::new(),
            held: 0,
        },
    )
}

/// The fetch's end of a [`channel`].
#[derive(Debug)]
pub struct ChunkSender<E> {
    tx: mpsc::Sender<Result<Bytes, E>>,
    bytes: Arc<Semaphore>,
    budget: usize,
}

/// The reader is gone: nothing more will be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderGone;

impl<E> ChunkSender<E> {
    /// Queues `chunk` once the byte budget has room for it (waiting, as the reader
    /// reads, otherwise).
    pub async fn send(&self, chunk: Bytes) -> Result<(), ReaderGone> {
        if chunk.is_empty() {
            return Ok(());
        }
        let take = chunk.len().min(self.budget) as u32;
        // The reader closes the semaphore when it goes, which ends this wait.
        self.bytes
            .acquire_many(take)
            .await
            .map_err(|_| ReaderGone)?
            .forget();
        self.tx.send(Ok(chunk)).await.map_err(|_| ReaderGone)
    }

    /// Ends the body with an error for the reader.
    pub async fn fail(&self, error: E) -> Result<(), ReaderGone> {
        self.tx.send(Err(error)).await.map_err(|_| ReaderGone)
    }
}

/// Reads the chunks a fetch task sends.
#[derive(Debug)]
pub struct ChunkReader<E> {
    chunks: mpsc::Receiver<Result<Bytes, E>>,
    bytes: Arc<Semaphore>,
    budget: usize,
    current: Bytes,
    /// The budget `current` took, given back once it is read.
    held: usize,
}

impl<E: std::error::Error + Send + Sync + 'static> Read for ChunkReader<E> {
    /// Blocks until the next chunk arrives: call it from a plain thread (the
    /// pipeline's decode thread), not from the runtime. A closed channel is the end:
    /// the fetch ends with its last byte or an error.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            // Before waiting: the fetch may be waiting for exactly these bytes.
            self.bytes.add_permits(std::mem::take(&mut self.held));
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.held = chunk.len().min(self.budget);
                    self.current = chunk;
                }
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

impl<E> Drop for ChunkReader<E> {
    fn drop(&mut self) {
        // A fetch waiting for room would otherwise wait for ever.
        self.bytes.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Debug, thiserror::Error)]
    #[error("broken")]
    struct Broken;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn the_byte_budget_holds_the_sender_until_the_reader_reads() {
        let rt = runtime();
        let (tx, mut rx) = channel::<Broken>(16, 1000);
        // 400 + 400 fit in 1000 bytes; the third chunk waits for room although the
        // channel has room for 13 more chunks.
        rt.block_on(async {
            tx.send(Bytes::from(vec![1; 400])).await.expect("first");
            tx.send(Bytes::from(vec![2; 400])).await.expect("second");
            let third = tokio::time::timeout(
                Duration::from_millis(50),
                tx.send(Bytes::from(vec![3; 400])),
            )
            .await;
            assert!(third.is_err(), "a chunk over the budget was queued");
        });
        // Reading the first chunk whole and starting on the second gives its 400
        // bytes back.
        let mut buf = vec![0; 400];
        rx.read_exact(&mut buf).expect("first chunk");
        assert_eq!(buf, vec![1; 400]);
        let mut one = [0u8; 1];
        rx.read_exact(&mut one).expect("second chunk starts");
        assert_eq!(one, [2]);
        rt.block_on(async {
            tokio::time::timeout(
                Duration::from_millis(500),
                tx.send(Bytes::from(vec![3; 400])),
            )
            .await
            .expect("room after a read")
            .expect("reader there");
        });
        drop(tx);
        let mut rest = Vec::new();
        rx.read_to_end(&mut rest).expect("the rest");
        assert_eq!(rest.len(), 399 + 400);
        assert!(rest[..399].iter().all(|&b| b == 2) && rest[399..].iter().all(|&b| b == 3));
    }

    #[test]
    fn a_chunk_longer_than_the_budget_travels_alone() {
        let rt = runtime();
        let (tx, mut rx) = channel::<Broken>(16, 100);
        rt.block_on(async {
            tx.send(Bytes::from(vec![7; 250]))
                .await
                .expect("takes the whole budget");
            let next =
                tokio::time::timeout(Duration::from_millis(50), tx.send(Bytes::from_static(b"x")))
                    .await;
            assert!(next.is_err(), "a second chunk joined a budget-sized one");
        });
        let mut buf = vec![0; 250];
        rx.read_exact(&mut buf).expect("the long chunk");
        assert_eq!(buf, vec![7; 250]);
    }

    #[test]
    fn a_sender_waiting_for_room_ends_when_the_reader_goes() {
        let rt = runtime();
        let (tx, rx) = channel::<Broken>(16, 10);
        rt.block_on(async {
            tx.send(Bytes::from_static(b"0123456789"))
                .await
                .expect("fits");
            let waiting = tokio::spawn(async move { tx.send(Bytes::from_static(b"more")).await });
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(rx);
            let sent = tokio::time::timeout(Duration::from_millis(500), waiting)
                .await
                .expect("the wait ended")
                .expect("task");
            assert_eq!(sent, Err(ReaderGone));
        });
    }

    #[test]
    fn an_error_reaches_the_reader_after_the_chunks_before_it() {
        let rt = runtime();
        let (tx, mut rx) = channel::<Broken>(4, 1 << 20);
        rt.block_on(async {
            tx.send(Bytes::from_static(b"abc")).await.expect("chunk");
            tx.fail(Broken).await.expect("error");
        });
        let mut buf = [0u8; 3];
        rx.read_exact(&mut buf).expect("the chunk first");
        assert_eq!(&buf, b"abc");
        let e = rx.read(&mut buf).expect_err("then the error");
        assert_eq!(e.to_string(), "broken");
    }
}
