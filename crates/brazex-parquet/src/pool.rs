//! Encoder threads: Parquet column chunks encoded in parallel.
//!
//! Within a row group every leaf column is encoded on its own (levels, pages,
//! dictionary, statistics, compression), so the work splits by column: each leaf's
//! [`ChunkWriter`] lives on one encoder thread, which appends that column's
//! values batch after batch, in the order the sink sends them. The sink stays the only
//! one touching the file: it closes a row group by asking every thread to finish its
//! columns ([`EncoderPool::close`]), goes on with the next row group, and collects the
//! chunks ([`EncoderPool::collect`]) to append them in column order as soon as they
//! are all finished ([`EncoderPool::finished`]), or before the next close. The leaves
//! queued to the threads are bounded by their bytes ([`EncoderPool::wait_for`]).
//! Before this, a single
//! `ArrowWriter` on the writer thread did all the encoding and bounded the whole
//! Parquet path (see BENCHMARKS.md). Each thread keeps its compressors ([`Codecs`])
//! from chunk to chunk.
//!
//! Writers are created per row group, so the sink can hand a column to a different
//! thread at each row group: it balances the threads by the encoding time each column
//! took in the previous one ([`EncoderPool::balance`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;

use crate::chunk::{ChunkWriter, Codecs};
use crate::leaf::Leaf;

/// A leaf column of one table: `(table, leaf)`.
pub type Key = (usize, usize);

/// What one leaf column's writer has buffered and how long it has worked, kept by its
/// encoder thread and read by the sink. Each row group's writers get fresh gauges, so
/// a writer still closing never touches the next row group's.
#[derive(Debug, Default)]
pub struct Gauge {
    /// Bytes held by the writer (encoded pages and values not yet encoded).
    pub memory: AtomicUsize,
    /// Bytes of this column's leaves sent to its thread and not written yet.
    pub pending: AtomicUsize,
    /// Nanoseconds spent writing batches in this row group: what the sink balances the
    /// next row group by, when it asks for the close (the close itself is not waited
    /// for, so its time is not counted).
    pub nanos: AtomicU64,
}

/// Lets the sink wait for the encoders to catch up (see [`EncoderPool::wait_for`]).
#[derive(Debug, Default)]
struct Progress {
    /// Bytes of leaves queued to all threads and not written yet.
    queued: AtomicUsize,
    lock: Mutex<()>,
    changed: Condvar,
}

impl Progress {
    fn notify(&self) {
        // Taking the lock orders this wake-up after a waiter's check of the gauges.
        drop(self.lock.lock());
        self.changed.notify_all();
    }
}

enum Job {
    Start {
        key: Key,
        writer: Box<ChunkWriter>,
        gauge: Arc<Gauge>,
    },
    /// One batch's values of the columns this thread encodes (with each leaf's
    /// bytes): one message (and one wake-up) per thread and batch, not per column.
    Write {
        leaves: Vec<(Key, Leaf, usize)>,
    },
    Close {
        key: Key,
    },
}

/// A finished column chunk (its bytes, and what the file writer appends it with).
pub type Chunk = (Bytes, ColumnCloseResult);

/// A finished column chunk, or why the column could not be encoded.
type Finished = (Key, Result<Chunk, ParquetError>);

/// Jobs queued per thread (one per batch, one start and one close per column and row
/// group). [`EncoderPool::wait_for`] already bounds the batches queued by their bytes;
/// this bounds the starts and closes.
const QUEUE: usize = 256;

/// The encoder threads.
pub struct EncoderPool {
    senders: Vec<SyncSender<Job>>,
    finished: Receiver<Finished>,
    /// Chunks received while collecting another table's row group.
    arrived: Mutex<HashMap<Key, Result<Chunk, ParquetError>>>,
    handles: Vec<JoinHandle<()>>,
    progress: Arc<Progress>,
}

impl std::fmt::Debug for EncoderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncoderPool")
            .field("threads", &self.senders.len())
            .finish()
    }
}

impl EncoderPool {
    /// Starts `threads` encoder threads (at least one).
    pub fn new(threads: usize) -> std::io::Result<EncoderPool> {
        // Unbounded, but never holds more than one closing row group's chunks per
        // table: the sink collects them before it closes that table's next one.
        let (finished_tx, finished) = channel();
        let progress = Arc::new(Progress::default());
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for n in 0..threads.max(1) {
            let (tx, rx) = sync_channel(QUEUE);
            let finished_tx = finished_tx.clone();
            let progress = Arc::clone(&progress);
            let handle = std::thread::Builder::new()
                .name(format!("brazex-parquet-{n}"))
                .spawn(move || encode(rx, finished_tx, &progress))?;
            senders.push(tx);
            handles.push(handle);
        }
        Ok(EncoderPool {
            senders,
            finished,
            arrived: Mutex::new(HashMap::new()),
            handles,
            progress,
        })
    }

    /// Waits until the leaves queued to the encoders and not written yet hold at most
    /// `bytes` (the sink calls it after each batch). The queue is bounded by bytes, not
    /// batches, so that the sink and the workers go on while the encoders finish a
    /// row group: bounding it by one batch made the sink wait for every close, the
    /// workers stopped behind it, and a core idled (the two encoders shared the other).
    pub fn wait_for(&self, bytes: usize) {
        let caught_up = || self.progress.queued.load(Ordering::Acquire) <= bytes;
        let mut guard = match self.progress.lock.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        while !caught_up() {
            if self.handles.iter().any(JoinHandle::is_finished) {
                // An encoder died; the row group's close reports it.
                return;
            }
            guard = match self
                .progress
                .changed
                .wait_timeout(guard, std::time::Duration::from_millis(50))
            {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    pub fn threads(&self) -> usize {
        self.senders.len()
    }

    /// Assigns columns to threads: the most expensive first, each to the thread with
    /// the least work so far (`costs[i]` is column `i`'s cost; equal costs spread
    /// round-robin).
    pub fn balance(&self, costs: &[u64]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..costs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(costs[i]));
        let mut load = vec![0u64; self.threads()];
        let mut assignment = vec![0; costs.len()];
        for (n, i) in order.into_iter().enumerate() {
            let thread = if costs[i] == 0 {
                n % load.len()
            } else {
                (0..load.len()).min_by_key(|&t| load[t]).unwrap_or(0)
            };
            load[thread] += costs[i];
            assignment[i] = thread;
        }
        assignment
    }

    fn send(&self, thread: usize, job: Job) -> Result<(), ParquetError> {
        self.senders
            .get(thread)
            .ok_or_else(|| ParquetError::General("no such encoder thread".into()))?
            .send(job)
            .map_err(|_| ParquetError::General("a Parquet encoder thread stopped".into()))
    }

    /// Gives the writer of column `key` to `thread`.
    pub fn start(
        &self,
        thread: usize,
        key: Key,
        writer: ChunkWriter,
        gauge: Arc<Gauge>,
    ) -> Result<(), ParquetError> {
        let writer = Box::new(writer);
        self.send(thread, Job::Start { key, writer, gauge })
    }

    /// Queues one batch's values of some columns: `(thread, column, values, the
    /// column's gauge)`, counting their bytes as pending until they are written.
    pub fn write<'g>(
        &self,
        leaves: impl IntoIterator<Item = (usize, Key, Leaf, &'g Gauge)>,
    ) -> Result<(), ParquetError> {
        let mut per_thread: Vec<Vec<(Key, Leaf, usize)>> =
            (0..self.threads()).map(|_| Vec::new()).collect();
        for (thread, key, leaf, gauge) in leaves {
            let bytes = leaf.bytes();
            per_thread
                .get_mut(thread)
                .ok_or_else(|| ParquetError::General("no such encoder thread".into()))?
                .push((key, leaf, bytes));
            gauge.pending.fetch_add(bytes, Ordering::Relaxed);
            self.progress.queued.fetch_add(bytes, Ordering::Release);
        }
        for (thread, leaves) in per_thread.into_iter().enumerate() {
            if !leaves.is_empty() {
                self.send(thread, Job::Write { leaves })?;
            }
        }
        Ok(())
    }

    /// Asks for the writers of `keys` (on `threads[i]`) to be closed, without waiting:
    /// the encoders finish them while the sink goes on with the next row group, and
    /// [`EncoderPool::collect`] takes the chunks.
    pub fn close(&self, keys: &[Key], threads: &[usize]) -> Result<(), ParquetError> {
        for (&key, &thread) in keys.iter().zip(threads) {
            self.send(thread, Job::Close { key })?;
        }
        Ok(())
    }

    /// Whether the writers of `keys`, closed by [`EncoderPool::close`], have all
    /// finished (or failed), without waiting.
    pub fn finished(&self, keys: &[Key]) -> bool {
        let mut arrived = match self.arrived.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        while let Ok((key, result)) = self.finished.try_recv() {
            arrived.insert(key, result);
        }
        keys.iter().all(|key| arrived.contains_key(key))
    }

    /// The chunks of the writers of `keys`, closed by [`EncoderPool::close`], in the
    /// order of `keys`, waiting for those not finished yet. The first error of any
    /// column is returned instead.
    pub fn collect(&self, keys: &[Key]) -> Result<Vec<Chunk>, ParquetError> {
        let mut arrived = match self.arrived.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        while !keys.iter().all(|key| arrived.contains_key(key)) {
            let (key, result) = self
                .finished
                .recv()
                .map_err(|_| ParquetError::General("a Parquet encoder thread stopped".into()))?;
            arrived.insert(key, result);
        }
        let results: Vec<_> = keys.iter().filter_map(|key| arrived.remove(key)).collect();
        results.into_iter().collect()
    }
}

impl Drop for EncoderPool {
    fn drop(&mut self) {
        self.senders.clear();
        for handle in self.handles.drain(..) {
            // A panicking encoder has already reported through its channel closing.
            let _ = handle.join();
        }
    }
}

/// One encoder thread: runs jobs until the pool is dropped.
fn encode(jobs: Receiver<Job>, finished: Sender<Finished>, progress: &Progress) {
    struct Column {
        writer: Box<ChunkWriter>,
        gauge: Arc<Gauge>,
        error: Option<ParquetError>,
    }
    let mut columns: HashMap<Key, Column> = HashMap::new();
    let mut codecs = Codecs::default();
    for job in jobs {
        match job {
            Job::Start { key, writer, gauge } => {
                gauge.memory.store(writer.memory_size(), Ordering::Relaxed);
                columns.insert(
                    key,
                    Column {
                        writer,
                        gauge,
                        error: None,
                    },
                );
            }
            Job::Write { leaves } => {
                let mut written = 0;
                for (key, leaf, bytes) in leaves {
                    written += bytes;
                    let Some(column) = columns.get_mut(&key) else {
                        continue;
                    };
                    if column.error.is_none() {
                        let started = Instant::now();
                        if let Err(e) = column.writer.write(&leaf, &mut codecs) {
                            column.error = Some(e);
                        }
                        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                        column.gauge.nanos.fetch_add(nanos, Ordering::Relaxed);
                        column
                            .gauge
                            .memory
                            .store(column.writer.memory_size(), Ordering::Relaxed);
                    }
                    column.gauge.pending.fetch_sub(bytes, Ordering::Relaxed);
                }
                progress.queued.fetch_sub(written, Ordering::Release);
                progress.notify();
            }
            Job::Close { key } => {
                let result = match columns.remove(&key) {
                    Some(Column { error: Some(e), .. }) => Err(e),
                    Some(Column { writer, .. }) => writer.close(&mut codecs),
                    None => Err(ParquetError::General(format!(
                        "column {key:?} was never started"
                    ))),
                };
                if finished.send((key, result)).is_err() {
                    return;
                }
            }
        }
    }
}
