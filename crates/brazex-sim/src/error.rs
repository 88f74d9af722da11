//! The crate's error type.
//!
//! Generation itself cannot fail (it only appends to a `Vec`); errors come
//! from the writers that put archives somewhere, and from export requests
//! naming fields Braze does not know, and from starting the simulator.

/// Errors of the archive writers, of [`crate::FieldSet::from_export_request`]
/// and of starting the simulator ([`crate::server::Simulator`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The zip writer failed.
    #[error("zip error: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// A `fields_to_export` entry that is not a documented field name.
    #[error("unknown field in fields_to_export: {0:?}")]
    UnknownField(String),
    /// The simulator could not start (bad configuration or address).
    #[error("simulator: {0}")]
    Simulator(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
