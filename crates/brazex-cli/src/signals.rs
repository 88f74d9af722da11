//! SIGINT, SIGTERM and SIGHUP cancel the run: the one cancellation path of
//! `brazex_core::cancel`.
//!
//! The first signal asks every stage to stop: the run unwinds as on an error, its
//! outputs are removed by their owners, and `main` exits 128 + the signal. A run that
//! cannot unwind within [`GRACE`] (a read blocked on a silent pipe or connection), or
//! a second signal, makes this thread undo whatever is still registered and exit at
//! once. Either way nothing of the run stays where a loader looks; a SIGKILL, which
//! nothing can catch, leaves only hidden temporaries that the next run removes.

use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};

/// How long the run has to unwind by itself after the first signal.
const GRACE: Duration = Duration::from_secs(5);

/// Takes over SIGINT, SIGTERM and SIGHUP for the rest of the process. The handlers
/// are in place when this returns, so no signal after it is missed.
pub fn install() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::warn!("cannot handle signals ({e}): Ctrl-C will end brazex without cleanup");
            return;
        }
    };
    let listeners = {
        let _entered = runtime.enter();
        [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ]
        .map(|kind| (kind.as_raw_value(), signal(kind)))
    };
    let mut streams: Vec<(i32, Signal)> = Vec::new();
    for (number, listener) in listeners {
        match listener {
            Ok(stream) => streams.push((number, stream)),
            Err(e) => tracing::warn!("cannot handle signal {number}: {e}"),
        }
    }
    let spawned = std::thread::Builder::new()
        .name("brazex-signals".into())
        .spawn(move || runtime.block_on(watch(streams)));
    if let Err(e) = spawned {
        tracing::warn!("cannot handle signals ({e}): Ctrl-C will end brazex without cleanup");
    }
}

async fn watch(mut streams: Vec<(i32, Signal)>) {
    let first = next_signal(&mut streams).await;
    brazex_core::cancel::request(first);
    // The run unwinds and exits by itself; if it has not within the grace period,
    // or a second signal comes, finish here.
    let _ = tokio::time::timeout(GRACE, next_signal(&mut streams)).await;
    brazex_core::cancel::undo_all();
    crate::report::cancelled(&crate::exit::cancelled(first), 128 + first);
    std::process::exit(128 + first);
}

/// The next of the signals to arrive.
async fn next_signal(streams: &mut [(i32, Signal)]) -> i32 {
    if streams.is_empty() {
        return std::future::pending().await;
    }
    let waits = streams.iter_mut().map(|(number, stream)| {
        let number = *number;
        Box::pin(async move {
            stream.recv().await;
            number
        })
    });
    futures_util::future::select_all(waits).await.0
}

/// Runs `future` (a Braze call, a wait) on `runtime` until it ends or the run is
/// cancelled, which ends it at once with `Error::Interrupted`; `phase` says what is
/// being waited for in the message of a cancelled run.
pub fn block_on<T, E>(
    runtime: &tokio::runtime::Runtime,
    phase: &'static str,
    future: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    anyhow::Error: From<E>,
{
    crate::exit::set_phase(phase);
    runtime.block_on(async {
        tokio::select! {
            result = future => result.map_err(anyhow::Error::from),
            signal = brazex_braze::cancelled() => {
                Err(anyhow::Error::new(brazex_core::Error::Interrupted { signal }))
            }
        }
    })
}
