//! Exit codes, and the mapping from errors to them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (also when the reader of stdout went away, as in `brazex ... \| head`) |
//! | 1 | bad input data: an invalid line, a damaged archive, a column a frozen schema does not have |
//! | 2 | usage: a bad flag, selection or expression |
//! | 3 | I/O: an input that cannot be read, an output that cannot be written |
//! | 4 | Braze: an error answer (401, 4xx), rate limited past the deadline, Braze or the download unavailable after retries and resumes |
//! | 5 | the export: not ready before `--wait-timeout`, reported failed, or its link expired |
//! | 70 | an internal error (a bug in brazex: please report it) |
//! | 128 + N | cancelled by signal N: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, 129 for SIGHUP |

use brazex_braze::{BrazeError, BucketError};
use brazex_core::contract::ContractError;
use brazex_core::Error;
use brazex_dest::postgres::PgError;

pub const SUCCESS: i32 = 0;
pub const DATA: i32 = 1;
pub const USAGE: i32 = 2;
pub const IO: i32 = 3;
pub const BRAZE: i32 = 4;
pub const EXPORT: i32 = 5;
pub const INTERNAL: i32 = 70;

/// What the run is doing, for the message of a cancelled run.
static PHASE: std::sync::Mutex<&str> = std::sync::Mutex::new("");

/// Says what the run is doing now (`waiting for the export`), for [`cancelled`].
pub fn set_phase(phase: &'static str) {
    if let Ok(mut current) = PHASE.lock() {
        *current = phase;
    }
    crate::report::phase(phase);
}

/// The line a cancelled run ends with: the signal, what it was doing, and what of
/// its output was removed (nothing was committed).
pub fn cancelled(signal: i32) -> String {
    let phase = PHASE.lock().map(|p| *p).unwrap_or("");
    let undone = brazex_core::cancel::undone();
    let mut text = format!(
        "brazex: cancelled by {}",
        brazex_core::cancel::signal_name(signal)
    );
    if !phase.is_empty() {
        text += &format!(" while {phase}");
    }
    text += "; nothing was committed";
    if !undone.removed.is_empty() {
        let n = undone.removed.len();
        text += &format!(
            ", {n} file{} this run had written removed",
            if n == 1 { "" } else { "s" }
        );
    }
    for left in &undone.left {
        text += &format!("\nbrazex: could not remove {left}");
    }
    text
}

/// A usage error found after clap's own checks.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `brazex schema --diff`: the schemas differ (the differences are already printed).
#[derive(Debug, thiserror::Error)]
#[error("the schemas differ")]
pub struct SchemasDiffer;

/// The exit code for an error, and whether it is to be reported at all.
pub fn code(error: &anyhow::Error) -> (i32, bool) {
    if error.downcast_ref::<UsageError>().is_some() {
        return (USAGE, true);
    }
    if error.downcast_ref::<SchemasDiffer>().is_some() {
        return (DATA, false);
    }
    for cause in error.chain() {
        // A frozen schema refusing a column is about the data; a schema that does not
        // fit the flags, or is no schema, is about the command line.
        if let Some(e) = cause.downcast_ref::<ContractError>() {
            return match e {
                ContractError::Frozen { .. } => (DATA, true),
                ContractError::File { .. } | ContractError::Unfit { .. } => (USAGE, true),
            };
        }
        if let Some(e) = cause.downcast_ref::<PgError>() {
            return match e {
                PgError::Config { .. } | PgError::Usage(_) => (USAGE, true),
                PgError::Table { .. } => (DATA, true),
                PgError::Connect { .. } | PgError::Sql { .. } => (IO, true),
            };
        }
        // Object-store inputs: a bucket that cannot be listed or an object that cannot
        // be read is an input that cannot be read.
        if cause.downcast_ref::<BucketError>().is_some() {
            return (IO, true);
        }
        if let Some(e) = braze_error(cause) {
            return (braze_code(e), true);
        }
        if let Some(e) = cause.downcast_ref::<Error>() {
            return match e {
                e if e.is_broken_pipe() => (SUCCESS, false),
                Error::Io { source, .. } => match braze_error(source) {
                    Some(e) => (braze_code(e), true),
                    None => (IO, true),
                },
                Error::Syntax(_) => (USAGE, true),
                Error::Interrupted { signal } => (128 + signal, true),
                Error::Stopped | Error::Internal(_) => (INTERNAL, true),
                Error::InvalidJson { .. }
                | Error::LineTooLong { .. }
                | Error::Column { .. }
                | Error::Key { .. }
                | Error::Contract { .. }
                | Error::Archive { .. } => (DATA, true),
            };
        }
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return (SUCCESS, false);
            }
            return (IO, true);
        }
    }
    (DATA, true)
}

/// A Braze error, directly or inside an I/O error (the download reaches the pipeline
/// as a reader, so its errors come wrapped).
fn braze_error<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a BrazeError> {
    cause.downcast_ref::<BrazeError>().or_else(|| {
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<BrazeError>())
    })
}

fn braze_code(error: &BrazeError) -> i32 {
    match error {
        BrazeError::BadKey(_)
        | BrazeError::UnknownInstance { .. }
        | BrazeError::BadEndpoint(_)
        | BrazeError::UnknownField { .. }
        | BrazeError::TooManyCustomAttributes(_) => USAGE,
        BrazeError::WaitTimeout(_) | BrazeError::ExportFailed(_) | BrazeError::Expired(_) => EXPORT,
        BrazeError::Cancelled(signal) => 128 + signal,
        _ => BRAZE,
    }
}
