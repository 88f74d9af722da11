//! Deterministic Braze-shaped users and export archives.
//!
//! brazex is tested, benchmarked and demonstrated on exports that nobody can
//! download from a real Braze workspace in CI. This crate makes them up:
//!
//! - [`UserGenerator`] writes user objects as Braze documents them (see
//!   `braze-export-api.md`), one compact JSON line per user, as a pure
//!   function of `(seed, index)` so any slice of an export can be produced on
//!   its own, in parallel, byte-identical every time. [`FieldSet`] restricts
//!   the output to an export request's `fields_to_export` and
//!   `custom_attributes_to_export`.
//! - [`archive`] streams users into NDJSON, a gzip, or a Braze-like zip of
//!   `.txt` entries of about 5,000 users each.
//!
//! - [`server`] is the Braze simulator built on them: an HTTP server on
//!   loopback with Braze's export endpoints, S3-like download URLs served
//!   from spool files, callbacks, and fault knobs for client tests
//!   ([`Simulator`], [`SimConfig`], [`Faults`]).
//!
//! ```
//! use brazex_sim::{GeneratorConfig, UserGenerator};
//!
//! let gen = UserGenerator::new(GeneratorConfig::new(42));
//! let mut line = Vec::new();
//! gen.write_user(7, &mut line);
//! assert!(line.starts_with(b"{") && !line.contains(&b'\n'));
//! ```

pub mod archive;
mod data;
mod error;
mod fields;
mod generate;
mod json;
mod rng;
pub mod server;

pub use archive::{
    entry_name, entry_ranges, write_gzip, write_ndjson, write_zip, write_zip_entries,
    write_zip_users, ExportSummary, COMPRESSION_LEVEL, DEFAULT_USERS_PER_ENTRY,
};
pub use error::{Error, Result};
pub use fields::{
    CustomAttributes, FieldSet, CUSTOM_ATTRIBUTE_NAMES, DEPENDENT_FIELDS, EXPORT_FIELDS,
};
pub use generate::{GeneratorConfig, UserGenerator, EXPORT_TIMESTAMP, MIN_TIMESTAMP};
pub use server::{
    Faults, RandomFaults, RunningSim, SegmentConfig, SimBucket, SimConfig, Simulator,
};
