//! The Braze simulator: an HTTP/1.1 server on loopback that behaves like
//! Braze's user export, as `braze-export-api.md` documents it.
//!
//! - `POST /users/export/segment` and `POST /users/export/global_control_group`
//!   (`trigger`): Bearer auth, body validation, Braze's error bodies,
//!   `X-RateLimit-*` headers, one export per segment at a time.
//! - Each export (`export`) is generated into a zip in the spool directory
//!   and becomes ready after [`SimConfig::ready_after`]; its callback, if any,
//!   is then POSTed (`callback`).
//! - `GET`/`HEAD /exports/<object_prefix>.zip?...` (`download`) answers like
//!   an S3 presigned URL: `403 AccessDenied` until ready, the archive with
//!   `Range` support while ready, `403 ExpiredToken` after the TTL.
//! - [`Faults`] make downloads drop or stall and triggers fail, for the
//!   client's retry and resume tests.
//!
//! Everything the simulator was asked is recorded ([`RunningSim::log`]).
//!
//! From async code, [`Simulator::start`] runs it on the caller's tokio
//! runtime; from blocking code (the CLI, blocking tests),
//! [`Simulator::spawn_background`] runs it on a thread with its own runtime:
//!
//! ```no_run
//! use brazex_sim::server::{SimConfig, Simulator};
//!
//! let dir = std::env::temp_dir().join("brazex-sim-doc");
//! let sim = Simulator::spawn_background(SimConfig::new(&dir)).expect("simulator");
//! println!("endpoint {} key {}", sim.endpoint(), sim.api_key());
//! // ... POST {endpoint}/users/export/segment, poll and download the url ...
//! sim.shutdown();
//! ```

mod body;
mod bucket;
mod callback;
mod config;
mod download;
mod export;
mod faults;
mod log;
mod trigger;

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, info, warn};

pub use config::{
    Faults, RandomFaults, SegmentConfig, SimBucket, SimConfig, DEFAULT_API_KEY,
    DEFAULT_RATE_LIMIT_PER_HOUR, DEFAULT_SEED, DEFAULT_TTL,
};
pub use log::{CallbackEvent, DownloadEvent, DownloadFault, OtherEvent, SimEvent, TriggerEvent};

use crate::error::{Error, Result};
use body::SimBody;
use export::{Export, Phase};
use faults::FaultState;
use log::EventLog;
use trigger::RateWindow;

/// State shared by all requests and tasks of one simulator.
#[derive(Debug)]
pub(crate) struct Shared {
    config: SimConfig,
    /// `http://127.0.0.1:PORT`.
    endpoint: String,
    faults: FaultState,
    log: EventLog,
    rate: Mutex<RateWindow>,
    /// Exports by object prefix; expired ones stay, to answer ExpiredToken.
    exports: Mutex<HashMap<String, Arc<Export>>>,
    /// Feeds object prefixes and request ids.
    seq: AtomicU64,
    /// Set at shutdown; makes export writers stop early.
    cancel: Arc<AtomicBool>,
    shutdown: watch::Receiver<bool>,
}

/// Locks a mutex, ignoring poisoning: a panicking request must not take the
/// whole simulator down with it, and the guarded data stays consistent
/// (every critical section is a plain read or insert).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn rate(&self) -> MutexGuard<'_, RateWindow> {
        lock(&self.rate)
    }

    fn exports(&self) -> MutexGuard<'_, HashMap<String, Arc<Export>>> {
        lock(&self.exports)
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Completes when the simulator shuts down (at once if it has).
    fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.clone();
        async move {
            // An error means the sender is gone: shut down as well.
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds `addr` (a loopback address; port 0 picks a free port) and
    /// serves `config` on the current tokio runtime until
    /// [`RunningSim::shutdown`] (or until the `RunningSim` is dropped).
    ///
    /// Fails when the address is not loopback, the configuration is invalid
    /// (empty key, duplicate segment ids), the spool directory cannot be
    /// created, or the address cannot be bound.
    pub async fn start(config: SimConfig, addr: SocketAddr) -> Result<RunningSim> {
        let (sim, server) = Self::bind(config, addr).await?;
        let mut sim = sim;
        sim.task = Some(tokio::spawn(server));
        Ok(sim)
    }

    /// Runs a simulator of `config` on `127.0.0.1` at a free port, on a
    /// background thread with its own runtime: for blocking callers.
    pub fn spawn_background(config: SimConfig) -> Result<RunningSim> {
        Self::spawn_background_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// [`Simulator::spawn_background`] on a given loopback address.
    pub fn spawn_background_on(config: SimConfig, addr: SocketAddr) -> Result<RunningSim> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = thread::Builder::new()
            .name("brazex-sim".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("brazex-sim-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(Error::Io(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Self::bind(config, addr).await {
                        Ok((sim, server)) => {
                            if tx.send(Ok(sim)).is_ok() {
                                server.await;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
                // Export writers are blocking tasks; they stop at their next
                // write once cancelled, so a short wait is enough.
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        let mut sim = rx
            .recv()
            .map_err(|_| Error::Simulator("the simulator thread died while starting".into()))??;
        sim.thread = Some(thread);
        Ok(sim)
    }

    /// Binds and builds the state; returns the handle and the server future.
    async fn bind(
        config: SimConfig,
        addr: SocketAddr,
    ) -> Result<(
        RunningSim,
        impl std::future::Future<Output = ()> + Send + 'static,
    )> {
        if !addr.ip().is_loopback() {
            return Err(Error::Simulator(format!(
                "the simulator listens on loopback addresses only, not {addr}"
            )));
        }
        config.validate().map_err(Error::Simulator)?;
        std::fs::create_dir_all(&config.spool_dir)?;
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let endpoint = format!("http://{local}");
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            faults: FaultState::new(config.faults.clone()),
            config,
            endpoint: endpoint.clone(),
            log: EventLog::default(),
            rate: Mutex::new(RateWindow::default()),
            exports: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            cancel: Arc::new(AtomicBool::new(false)),
            shutdown: stop_rx,
        });
        info!(%endpoint, "brazex-sim: listening");
        let sim = RunningSim {
            shared: shared.clone(),
            addr: local,
            endpoint,
            stop: stop_tx,
            task: None,
            thread: None,
        };
        Ok((sim, serve(listener, shared)))
    }
}

/// Accepts connections until shutdown.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let stopped = shared.stopped();
    tokio::pin!(stopped);
    loop {
        let stream = tokio::select! {
            () = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Usually out of file descriptors: wait, do not spin.
                    warn!(error = %e, "brazex-sim: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let stopped = shared.stopped();
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                result = conn => {
                    // Expected for dropped downloads and impatient clients.
                    if let Err(e) = result {
                        debug!(error = %e, "brazex-sim: connection ended with an error");
                    }
                }
                () = stopped => {}
            }
        });
    }
    info!("brazex-sim: stopped");
}

/// Dispatches a request by path and method.
async fn route(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<SimBody> {
    let path = req.uri().path();
    if path.starts_with(download::EXPORTS_PREFIX) {
        return download::handle(shared, req).await;
    }
    let known = path == trigger::SEGMENT_PATH || path == trigger::CONTROL_GROUP_PATH;
    if known && req.method() == Method::POST {
        let control_group = path == trigger::CONTROL_GROUP_PATH;
        return trigger::handle(shared, req, control_group).await;
    }
    let (status, message) = if known {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed: use POST",
        )
    } else {
        (StatusCode::NOT_FOUND, "Invalid URL")
    };
    shared.log.push(SimEvent::Other(OtherEvent {
        method: req.method().to_string(),
        path: path.to_owned(),
        status: status.as_u16(),
    }));
    let body = serde_json::json!({"message": message, "errors": [path]});
    let mut resp = Response::new(SimBody::full(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A running simulator. Dropping it stops the server (without waiting);
/// [`RunningSim::shutdown`] stops it and waits for a background thread.
pub struct RunningSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    endpoint: String,
    stop: watch::Sender<bool>,
    /// The server task, when started on the caller's runtime.
    task: Option<tokio::task::JoinHandle<()>>,
    /// The runtime thread, when started with `spawn_background`.
    thread: Option<thread::JoinHandle<()>>,
}

impl RunningSim {
    /// The REST endpoint, `http://127.0.0.1:PORT` (no trailing slash), to
    /// use as `BRAZE_REST_ENDPOINT` / `--endpoint`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key the simulator accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// The configuration being served.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Everything recorded so far, in order.
    pub fn log(&self) -> Vec<SimEvent> {
        self.shared.log.snapshot()
    }

    /// The trigger requests recorded so far.
    pub fn triggers(&self) -> Vec<TriggerEvent> {
        self.log()
            .into_iter()
            .filter_map(|e| match e {
                SimEvent::Trigger(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// The download requests recorded so far.
    pub fn downloads(&self) -> Vec<DownloadEvent> {
        self.log()
            .into_iter()
            .filter_map(|e| match e {
                SimEvent::Download(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    /// The callback attempts recorded so far.
    pub fn callbacks(&self) -> Vec<CallbackEvent> {
        self.log()
            .into_iter()
            .filter_map(|e| match e {
                SimEvent::Callback(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    /// The spool file of a ready, unexpired export: the exact bytes the URL
    /// serves (e.g. to run `brazex process` on the same archive from disk).
    pub fn export_file(&self, object_prefix: &str) -> Option<PathBuf> {
        let export = self.shared.exports().get(object_prefix).cloned()?;
        match export.phase(std::time::Instant::now()) {
            Phase::Ready { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Stops the server: no new connections, open ones are closed, export
    /// writers stop. With [`Simulator::spawn_background`] this waits for the
    /// runtime thread to end; with [`Simulator::start`] it returns at once.
    pub fn shutdown(mut self) {
        self.signal_stop();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                warn!("brazex-sim: the simulator thread panicked");
            }
        }
    }

    fn signal_stop(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
        // send_replace works even when no receiver is left.
        self.stop.send_replace(true);
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(task) = &self.task {
            // The server task ends on the signal; aborting is a backstop.
            task.abort();
        }
    }
}

/// The key is not shown: see [`SimConfig`]'s `Debug`.
impl fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningSim")
            .field("endpoint", &self.endpoint)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
