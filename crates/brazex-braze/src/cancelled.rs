//! The async side of `brazex_core::cancel`: a future that ends when the run is asked
//! to stop, so a wait, a poll or a download ends at once rather than at its next
//! timeout.

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

/// Ends once a stop has been requested (at once if one already was); gives the
/// signal.
pub async fn cancelled() -> i32 {
    let notify = notify();
    loop {
        // Registered before the check, so a request in between is not missed.
        let woken = notify.notified();
        if let Some(signal) = brazex_core::cancel::requested() {
            return signal;
        }
        woken.await;
    }
}

/// One hook for the whole process, however many waits there are.
fn notify() -> Arc<Notify> {
    static NOTIFY: OnceLock<Arc<Notify>> = OnceLock::new();
    NOTIFY
        .get_or_init(|| {
            let notify = Arc::new(Notify::new());
            let woken = notify.clone();
            brazex_core::cancel::on_request(move || woken.notify_waiters());
            notify
        })
        .clone()
}
