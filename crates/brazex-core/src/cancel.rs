//! One cancellation path for every stage and every destination.
//!
//! A run is cancelled by a signal (SIGINT, SIGTERM, SIGHUP: Ctrl-C, Airflow,
//! Kubernetes, systemd) or fails on an error; either way what it wrote must go. Two
//! halves make that one path:
//!
//! - **A request to stop** ([`request`]): a process-wide flag that every stage checks
//!   where it waits or loops ([`check`]: the decoder before each read, the writer
//!   before each block, a wait before each poll), so the run unwinds as it would on an
//!   error, with [`Error::Interrupted`]. Async waits register a [`on_request`] hook to
//!   wake at once.
//! - **What to undo** ([`register`]): everything a run writes that is not committed
//!   yet (local temporaries, later multipart uploads and database transactions)
//!   registers an [`Undo`]. Unwinding runs it through the owner's `Drop`; and if a
//!   run cannot unwind (a read blocked on a silent pipe, a second Ctrl-C), the
//!   signal handler calls [`undo_all`] itself before the process exits. Each `Undo`
//!   runs at most once, whichever comes first.
//!
//! The CLI installs the signal handler; the library only offers the flag and the
//! registry, so tests (and other embedders) can cancel a run the same way.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::error::{Error, Result};

/// The signal that asked the run to stop, or 0.
static REQUESTED: AtomicI32 = AtomicI32::new(0);

/// What is still to undo, by registration id.
static PENDING: Mutex<Vec<(u64, Weak<dyn Undo>)>> = Mutex::new(Vec::new());

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What undos have done so far in this process, whichever path ran them.
static UNDONE: Mutex<Undone> = Mutex::new(Undone {
    removed: Vec::new(),
    left: Vec::new(),
});

/// Called once when a stop is requested (async waits wake on it).
type Hook = Box<dyn Fn() + Send + Sync>;
static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Something written that is to be removed unless the run commits.
pub trait Undo: Send + Sync {
    /// Removes what is not committed; safe to call more than once and from any
    /// thread. Returns what it removed and what it could not remove.
    fn undo(&self) -> Undone;
}

/// What an [`Undo`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Undone {
    /// Files, objects or tables removed.
    pub removed: Vec<String>,
    /// What could not be removed, with why (and what permission would allow it).
    pub left: Vec<String>,
}

impl Undone {
    /// Adds another undo's account to this one.
    pub fn merge(&mut self, other: Undone) {
        self.removed.extend(other.removed);
        self.left.extend(other.left);
    }
}

/// Keeps an [`Undo`] registered until dropped (when its owner committed or undid it).
#[derive(Debug)]
pub struct Registration {
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut pending) = PENDING.lock() {
            pending.retain(|(id, _)| *id != self.id);
        }
    }
}

/// Registers `undo` for the signal path. Held weakly: the owner keeps it alive and
/// undoes it itself on an error; the registry only reaches it when the run cannot.
pub fn register(undo: &Arc<dyn Undo>) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut pending) = PENDING.lock() {
        pending.push((id, Arc::downgrade(undo)));
    }
    Registration { id }
}

/// Runs every registered [`Undo`] (the signal handler's last step before exiting).
pub fn undo_all() {
    let pending: Vec<Arc<dyn Undo>> = match PENDING.lock() {
        Ok(pending) => pending.iter().filter_map(|(_, u)| u.upgrade()).collect(),
        Err(_) => Vec::new(),
    };
    for undo in pending {
        record(undo.undo());
    }
}

/// Notes what an undo did, for the final report ([`undone`]). Owners that undo on
/// drop call it; [`undo_all`] does for the rest.
pub fn record(undone: Undone) {
    if let Ok(mut all) = UNDONE.lock() {
        all.merge(undone);
    }
}

/// Everything undone in this process so far (what a cancelled or failed run removed).
pub fn undone() -> Undone {
    UNDONE.lock().map(|u| u.clone()).unwrap_or_default()
}

/// Asks the run to stop because of `signal` (the first request wins).
pub fn request(signal: i32) {
    if REQUESTED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        if let Ok(hooks) = HOOKS.lock() {
            for hook in hooks.iter() {
                hook();
            }
        }
    }
}

/// The signal a stop was requested with, if one was.
pub fn requested() -> Option<i32> {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// `Err(Error::Interrupted)` once a stop was requested: what stages call where they
/// loop or wait.
pub fn check() -> Result<()> {
    match requested() {
        None => Ok(()),
        Some(signal) => Err(Error::Interrupted { signal }),
    }
}

/// Calls `hook` when a stop is requested (at once if one already was).
pub fn on_request(hook: impl Fn() + Send + Sync + 'static) {
    // Under the hooks' lock: `request` sets the flag before it takes the lock to
    // call the hooks, so a hook is either called there or sees the flag here.
    let Ok(mut hooks) = HOOKS.lock() else {
        return;
    };
    if requested().is_some() {
        hook();
    } else {
        hooks.push(Box::new(hook));
    }
}

/// The name of a signal the run is cancelled by (`SIGINT`), for messages.
pub fn signal_name(signal: i32) -> String {
    match signal {
        1 => "SIGHUP".into(),
        2 => "SIGINT".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}
