//! PostgreSQL as a destination: `-o postgres://…`, rows loaded through binary
//! `COPY`, in one transaction.
//!
//! - [`connect`]: the URI, the libpq environment, `~/.pgpass`, TLS (rustls).
//! - [`binary`]: the encoder of binary COPY tuples, run on the pipeline's workers,
//!   and the mapping of brazex column types to PostgreSQL types.
//! - [`load`]: one load: inspect the target tables (an existing table pins its
//!   columns' types), create staging or target tables, stream the rows, then
//!   replace, append or merge, record the load in `brazex_loads`, and commit.
//!
//! Everything a load does happens inside one transaction on one connection: a
//! failure, a lost connection or a signal before the commit leaves the target tables
//! exactly as they were, and the staging tables, created in that transaction, never
//! existed for anyone else. That is the destination's part of the one cancellation
//! path (`brazex_core::cancel`): the registered undo cancels the running statement
//! (so the server rolls back at once rather than when it notices the closed socket).

pub mod binary;
pub mod connect;
pub mod load;

pub use connect::PgUrl;
pub use load::{Load, LoadMode, LoadOptions, LoadOutcome, TableName};

/// What went wrong with a PostgreSQL destination.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URI or its settings are not usable (a usage error).
    #[error("-o {url}: {message}")]
    Config { url: String, message: String },
    /// The flags do not fit a PostgreSQL load (a usage error).
    #[error("{0}")]
    Usage(String),
    /// The server cannot be reached, refused the login, or TLS failed.
    #[error("cannot connect to PostgreSQL {target}: {message}")]
    Connect { target: String, message: String },
    /// The tables do not fit the rows: a column whose type would change, a
    /// duplicate key (the data's fault: nothing was loaded).
    #[error("{table}: {message}; nothing was loaded")]
    Table { table: String, message: String },
    /// A statement failed (the transaction is rolled back).
    #[error("PostgreSQL {target}: {what}: {message}; the load was rolled back")]
    Sql {
        target: String,
        what: String,
        message: String,
    },
}

/// A tokio-postgres error as one line: the server's message, detail and hint, or
/// the client's error and its causes.
pub fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{} ({})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text += &format!("; {detail}");
        }
        if let Some(hint) = db.hint() {
            text += &format!("; hint: {hint}");
        }
        return text;
    }
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text += &format!(": {more}");
        }
        cause = c.source();
    }
    text
}
