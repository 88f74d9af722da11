//! A `--state` run in one pass: the output is written as usual, and each row's key
//! and fingerprint are tapped beside it into the partitions.
//!
//! A run that only writes a state (no `--changes-since`: a first night, or a full
//! snapshot that also refreshes the state) writes every row, so it needs neither the
//! spool nor the replay of [`super::spool`]: the output's own encoders take each row
//! as they would, and a [`Tapped`] encoder beside them notes its key and fingerprint
//! ([`super::SpoolEncoder::keys_only`]) for the writer thread, which appends them to
//! the partitions in input order. When the pipeline is done, and before the output
//! commits, [`Tap::run`] compares the partitions (repeated keys) and writes the new
//! generation. Scratch space is then the keys alone (about 70 bytes a user) instead
//! of a compressed copy of the export, and the rows are read and encoded once.
//!
//! A repeated key can then only fail the run (its row is already in the output, which
//! is not committed): so a run whose repeats are skipped (`--on-error skip`) takes
//! the two passes instead.

use std::sync::Arc;

use brazex_core::contract::KeyLog;
use brazex_core::encode::{Encoder, Sink};
use brazex_core::error::{LinePlace, Result};
use brazex_core::fingerprint::Fingerprinter;
use brazex_core::input::Input;
use brazex_core::pipeline::{run_with, BadLineSink, Options, Summary};
use brazex_core::record::Record;

use super::compare::{compare, Compared};
use super::spool::{SpoolBlock, SpoolEncoder, SpoolSink};
use super::{partitions_for, NewGeneration, Reserved, Scratch, FIRST_PARTITIONS};

/// The keys of one `--state` run, tapped beside its output.
#[derive(Debug)]
pub struct Tap {
    fingerprinter: Fingerprinter,
    scratch: Arc<Scratch>,
    /// The new generation's folder; opened once the count of users is known.
    reserved: Option<Reserved>,
    /// What the comparison found, and the new state it wrote: once the run is done.
    done: Option<(Compared, NewGeneration)>,
}

impl Tap {
    /// Taps the keys of `fingerprinter` into `scratch`, for the generation `reserved`.
    pub fn new(fingerprinter: Fingerprinter, scratch: Arc<Scratch>, reserved: Reserved) -> Tap {
        Tap {
            fingerprinter,
            scratch,
            reserved: Some(reserved),
            done: None,
        }
    }

    /// Runs the pipeline into `sink` with the keys tapped beside it, then compares
    /// them: a repeated key is an error placed at the repeat (the caller then does
    /// not commit its output). Once.
    pub fn run<E: Encoder>(
        &mut self,
        inputs: &[Input],
        options: &Options,
        make_encoder: &(dyn Fn() -> E + Sync),
        sink: &mut dyn Sink<E::Block>,
        bad_lines: Option<BadLineSink<'_>>,
    ) -> Result<Summary> {
        let reserved = self
            .reserved
            .take()
            .ok_or(brazex_core::Error::Internal("a state tap run twice"))?;
        let mut keys = SpoolSink::new(&self.scratch, FIRST_PARTITIONS)?;
        let fingerprinter = &self.fingerprinter;
        let make = || Tapped {
            inner: make_encoder(),
            keys: SpoolEncoder::keys_only(fingerprinter.clone(), FIRST_PARTITIONS),
        };
        let mut tapped = TappedSink {
            inner: sink,
            keys: &mut keys,
        };
        let summary = run_with(inputs, options, &make, &mut tapped, bad_lines)?;
        let spooled = keys.finish()?;
        let mut new = NewGeneration::open(reserved, partitions_for(spooled.rows))?;
        let compared = compare(&spooled, None, Some(&mut new), &self.scratch, false, false)?;
        if let Some(dup) = &compared.duplicate {
            return Err(dup.to_error(fingerprinter.key_field()));
        }
        self.done = Some((compared, new));
        Ok(summary)
    }

    /// What [`Tap::run`] found and wrote, once it has run.
    pub fn take(&mut self) -> Option<(Compared, NewGeneration)> {
        self.done.take()
    }
}

/// An output's encoder with the keys tapped beside it.
struct Tapped<E> {
    inner: E,
    keys: SpoolEncoder,
}

impl<E: Encoder> Encoder for Tapped<E> {
    type Block = (E::Block, SpoolBlock);

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        // The key first (a row without one is refused before the output takes it);
        // a row the output refuses is taken back, so that a skipped row is in neither.
        let mark = self.keys.mark();
        self.keys.row(record, place)?;
        self.inner
            .row(record, place)
            .inspect_err(|_| self.keys.undo_row(mark))
    }

    fn finish_block(&mut self) -> Self::Block {
        (self.inner.finish_block(), self.keys.finish_block())
    }

    fn take_keys(&mut self) -> KeyLog {
        self.inner.take_keys()
    }
}

/// The sink side of [`Tapped`]: the output's blocks to the output, the keys to the
/// partitions, both in input order.
struct TappedSink<'s, B> {
    inner: &'s mut dyn Sink<B>,
    keys: &'s mut SpoolSink,
}

impl<B> Sink<(B, SpoolBlock)> for TappedSink<'_, B> {
    fn write_block(&mut self, (block, keys): (B, SpoolBlock), rows: u64) -> Result<()> {
        self.inner.write_block(block, rows)?;
        self.keys.write_block(keys, rows)
    }
}
