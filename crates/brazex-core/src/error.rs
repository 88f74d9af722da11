//! Errors of the pipeline, each carrying the place it concerns.
//!
//! Data errors name `ENTRY:LINE` (the entry is an archive entry, shown as
//! `ARCHIVE!ENTRY`, or a file path); archive damage names the byte offset in the
//! compressed input. Every error says whether the run can go on past it
//! ([`Error::is_skippable`]): only a bad line can be skipped with `--on-error skip`.

use std::fmt;
use std::io;
use std::sync::Arc;

/// A line of an entry: where a data error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePlace {
    /// The entry: `ARCHIVE!ENTRY` for archive members, the path (or `<stdin>`) otherwise.
    pub entry: Arc<str>,
    /// One-based line number within the entry, counting blank lines.
    pub line: u64,
}

impl fmt::Display for LinePlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.entry, self.line)
    }
}

/// What is wrong with an archive, at a byte offset of the compressed input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveErrorKind {
    #[error("the input ends in the middle of {0}")]
    Truncated(&'static str),
    /// The deflate stream does not decode. zlib's own reason is not kept: zlib-rs
    /// reports it on the call that meets the damage or, when that call made
    /// progress, only as "repeated call with bad state" on the next, so it would
    /// depend on how the input was chunked (found by the `zip_stream` fuzz target).
    #[error("corrupt deflate data")]
    CorruptDeflate,
    #[error("CRC-32 mismatch: the archive says {expected:#010x}, the data has {actual:#010x}")]
    CrcMismatch { expected: u32, actual: u32 },
    #[error("size mismatch: the archive says {expected} bytes of {what}, the data has {actual}")]
    SizeMismatch {
        what: &'static str,
        expected: u64,
        actual: u64,
    },
    #[error("unexpected bytes {found:02x?} where a zip record signature should be")]
    BadSignature { found: [u8; 4] },
    #[error(
        "unsupported zip compression method {0} (only stored (0) and deflate (8) are supported)"
    )]
    UnsupportedMethod(u16),
    #[error("encrypted zip entries are not supported")]
    Encrypted,
    #[error(
        "a stored (uncompressed) zip entry with a data descriptor cannot be delimited in a stream; \
         pass the archive as a file path (not through a pipe) so brazex can read its central directory"
    )]
    StoredWithDescriptor,
    #[error("the data descriptor does not match the entry's data (CRC-32 {crc:#010x}, {compressed} compressed and {uncompressed} uncompressed bytes)")]
    BadDescriptor {
        crc: u32,
        compressed: u64,
        uncompressed: u64,
    },
    #[error("bad gzip header: {0}")]
    BadGzipHeader(&'static str),
    /// Bytes after the last member that are neither a member nor zero padding. How
    /// many is not said: the decoder sees only what has arrived (found by the `gzip`
    /// fuzz target: the count depended on the chunking); the offset says where.
    #[error("trailing data that is not a gzip member")]
    TrailingGarbage,
    #[error("bad central directory: {0}")]
    BadCentralDirectory(&'static str),
    #[error("header field is larger than {limit} bytes")]
    HeaderTooLarge { limit: usize },
}

/// Errors of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A line that is not a JSON object.
    #[error("{place}: invalid JSON: {message}")]
    InvalidJson { place: LinePlace, message: String },

    /// A value that does not fit its output column (a string in an int column, a bad date).
    #[error("{place}: column {column}: {message}")]
    Column {
        place: LinePlace,
        column: String,
        message: String,
    },

    /// A row breaks the run's schema contract: a custom attribute the schema does not
    /// have under `--schema-evolution freeze`, or more custom attribute keys than
    /// `--max-custom-columns`. Never skipped: the run stops and writes nothing.
    #[error("{place}: {message}")]
    Contract { place: LinePlace, message: String },

    /// A row without the key of `--state` / `--changes-since` (`--key`), or whose key
    /// an earlier row of the same export had.
    #[error("{place}: {message}")]
    Key { place: LinePlace, message: String },

    /// A line longer than the configured limit.
    #[error("{place}: line is longer than {limit} bytes (raise the limit with --max-line-bytes)")]
    LineTooLong { place: LinePlace, limit: usize },

    /// Damage in an archive.
    #[error("{input}{}: byte offset {offset}: {kind}", entry_suffix(.entry))]
    Archive {
        /// The input (file path or `<stdin>`).
        input: Arc<str>,
        /// The archive entry concerned, when known.
        entry: Option<String>,
        /// Offset in the compressed input where the damage shows.
        offset: u64,
        kind: ArchiveErrorKind,
    },

    /// Reading an input or writing an output failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },

    /// A selection or path that does not parse.
    #[error("{0}")]
    Syntax(#[from] crate::path::SyntaxError),

    /// The run was cancelled by a signal ([`crate::cancel`]); exit 128 + `signal`.
    #[error("cancelled by {}", crate::cancel::signal_name(*.signal))]
    Interrupted { signal: i32 },

    /// A stage stopped because another one failed or the consumer went away. Internal:
    /// the stage that failed reports its own error, so this one never reaches the user.
    #[error("the pipeline was stopped")]
    Stopped,

    /// A broken invariant of brazex itself (a bug to report), never bad input.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

fn entry_suffix(entry: &Option<String>) -> String {
    entry.as_ref().map(|e| format!("!{e}")).unwrap_or_default()
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// True for errors that concern one line only, so that `--on-error skip` may go on.
    pub fn is_skippable(&self) -> bool {
        matches!(
            self,
            Error::InvalidJson { .. }
                | Error::LineTooLong { .. }
                | Error::Column { .. }
                | Error::Key { .. }
        )
    }

    /// The line this error concerns, for the `--errors-to` record.
    pub fn line_place(&self) -> Option<&LinePlace> {
        match self {
            Error::InvalidJson { place, .. }
            | Error::LineTooLong { place, .. }
            | Error::Column { place, .. }
            | Error::Key { place, .. }
            | Error::Contract { place, .. } => Some(place),
            _ => None,
        }
    }

    /// True when the output was closed by its reader (`brazex ... | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Result with the pipeline's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
