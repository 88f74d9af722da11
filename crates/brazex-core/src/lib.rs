//! brazex-core: the streaming pipeline that turns Braze user export archives into
//! NDJSON rows.
//!
//! Bytes from any source go through an [`archive::Decoder`] (zip, gzip or plain,
//! detected by magic bytes), are cut into blocks of whole lines by a
//! [`frame::Framer`], validated and selected by worker threads ([`record`],
//! [`select`]), and written in input order ([`pipeline::run`]). Every stage is
//! bounded; every data error names `ENTRY:LINE` or a byte offset ([`error`]).

pub mod archive;
pub mod cancel;
pub mod civil;
pub mod contract;
pub mod cpus;
mod decode;
pub mod delimited;
pub mod encode;
pub mod error;
pub mod fields;
pub mod filter;
pub mod fingerprint;
pub mod frame;
mod grammar;
pub mod input;
pub mod path;
pub mod pipeline;
pub mod record;
pub mod schema;
pub mod select;
pub mod table;

pub use error::{Error, Result};
pub use pipeline::{run, OnError, Options, Summary};
