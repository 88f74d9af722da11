//! `--state DIR` and `--changes-since DIR`: incremental loads (brazex_dest::state).
//!
//! A run with `--state` alone writes every row, so it takes one pass: the output is
//! written as usual with the keys tapped beside it (brazex_dest::state::Tap), compared
//! before the output commits. A run with `--changes-since` (or whose repeated keys are
//! skipped) takes two passes over the rows, the second one over what the first
//! spooled (so a download is read once):
//! 1. the pipeline as usual (`--where`, the error policy), each row's key and
//!    fingerprint into partitions, the rows into the spool;
//! 2. the comparison with the earlier state, partition by partition (repeated keys
//!    follow the error policy);
//! 3. the pipeline again, over the spool replayed as the export's entries, into the
//!    output the flags ask for: with `--changes-since`, only inserts and updates with
//!    `_op` first, then the deletes; with `--state` alone, every row.
//!
//! Then the output commits, and only then the new state becomes current: a run that
//! fails anywhere leaves the previous state as it was. (A crash between the two
//! commits writes the same changes again the next night: at least once, never lost.)

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use brazex_core::contract::PinnedSchema;
use brazex_core::fingerprint::{Fingerprinter, KeyField};
use brazex_core::input::Input;
use brazex_core::path::{parse_select, parse_select_pinned};
use brazex_core::pipeline::{run_with, BadLine, BadLineSink, OnError, Options, Summary};
use brazex_core::select::Selection;
use brazex_dest::state::{
    compare, partitions_for, replay, Compared, Counts, Digests, Generation, Meta, NewGeneration,
    ReplayMode, Scratch, SpoolEncoder, SpoolSink, StateDir, StateError, Tap, BYTES_PER_USER,
    FIRST_PARTITIONS,
};
use std::hash::BuildHasher;

use crate::args::PipelineArgs;
use crate::output::{usage, KeyArg};

/// What pass 2 needs to know from the incremental run (see `output::write`).
#[derive(Debug, Default)]
pub struct Extra {
    /// Put `_op` first in the typed rows.
    pub op_column: bool,
    /// The earlier state's schema, which pins the columns when no `--schema` is given.
    pub pins: Option<PinnedSchema>,
    /// For the manifest: the change counts.
    pub changes: Option<serde_json::Value>,
    /// Pass 1's counts (what was read), for the manifest's totals.
    pub pass_one: Option<Summary>,
    /// Out: the schema pass 2 wrote the rows with (typed outputs), for the state.
    pub schema: Option<serde_json::Value>,
    /// A run in one pass (`--state` without `--changes-since`): the output's run
    /// taps each row's key beside it (brazex_dest::state::Tap).
    pub tap: Option<Tap>,
}

impl Extra {
    /// The run's counts: what pass 1 read, what pass 2 wrote.
    pub fn summary(&self, written: &Summary) -> Summary {
        match &self.pass_one {
            None => written.clone(),
            Some(read) => Summary {
                rows_written: written.rows_written,
                rows_skipped: read.rows_skipped + written.rows_skipped,
                elapsed: read.elapsed + written.elapsed,
                ..read.clone()
            },
        }
    }
}

/// An incremental run between pass 1 and the commit.
#[derive(Debug)]
pub struct Incremental {
    key: KeyField,
    mode: ReplayMode,
    /// Held locked for the run; `since` may be the same folder as `state`.
    since: Option<(StateDir, Generation)>,
    state: Option<StateDir>,
    /// `--state` names the `--changes-since` folder: the new state goes there.
    since_is_state: bool,
    /// `None` only for [`check`]; shared with a [`Tap`].
    scratch: Option<Arc<Scratch>>,
    new: Option<NewGeneration>,
    compared: Option<Compared>,
    started: SystemTime,
    pub extra: Extra,
}

/// True when the run is incremental.
pub fn wanted(args: &PipelineArgs) -> bool {
    args.out.state.is_some() || args.out.changes_since.is_some()
}

/// Reads (and releases) the state folders the flags name, so that `brazex run` refuses
/// a mismatched or missing state before it asks Braze for an export.
pub fn check(args: &PipelineArgs) -> anyhow::Result<()> {
    if wanted(args) {
        drop(Incremental::open(args, false)?);
    }
    Ok(())
}

fn key_field(args: &PipelineArgs) -> KeyField {
    args.out.key.unwrap_or(KeyArg::BrazeId).field()
}

/// Two `--select`s that make the same rows: the same items, names and pins (not
/// the same spelling: white space between items does not count).
fn same_select(a: &str, b: &str) -> bool {
    let pin_names = |pins: &brazex_core::path::Pins| -> Vec<Option<String>> {
        pins.iter()
            .map(|pin| pin.as_ref().map(|(name, _)| name.clone()))
            .collect()
    };
    match (parse_select_pinned(a), parse_select_pinned(b)) {
        (Ok((items_a, pins_a)), Ok((items_b, pins_b))) => {
            items_a == items_b && pin_names(&pins_a) == pin_names(&pins_b)
        }
        _ => a == b,
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl Incremental {
    /// Locks the state folders and reads the earlier state; refuses a state made with
    /// another key or selection.
    pub fn start(args: &PipelineArgs) -> anyhow::Result<Incremental> {
        Incremental::open(args, true)
    }

    /// [`Incremental::start`]; without `scratch`, only the checks.
    fn open(args: &PipelineArgs, scratch: bool) -> anyhow::Result<Incremental> {
        let key = key_field(args);
        let out = &args.out;
        if out.delete_missing && out.changes_since.is_some() {
            return Err(usage(
                "--delete-missing is for full snapshots; with --changes-since the deletes come with the changes",
            ));
        }
        // A state is a local folder (it is locked, and switched by a rename); a URL
        // would otherwise become a folder named `s3:`.
        for (flag, path) in [
            ("--state", &out.state),
            ("--changes-since", &out.changes_since),
        ] {
            if let Some(path) = path.as_deref() {
                let shown = path.to_string_lossy();
                if shown.contains("://") {
                    return Err(usage(format!(
                        "{flag} {shown}: a state is a local folder (it is locked and switched by an atomic rename, which object stores do not offer); give a path"
                    )));
                }
            }
        }
        let check = |dir: &StateDir, meta: &Meta| -> anyhow::Result<()> {
            match meta.mismatch(key, args.select.as_deref(), out.tables, &same_select) {
                Some(message) => Err(usage(format!("{}: {message}", dir.path().display()))),
                None => Ok(()),
            }
        };
        let mut since = None;
        if let Some(path) = &out.changes_since {
            let dir = StateDir::lock(path, false).map_err(state_error)?;
            let Some(generation) = dir.current().map_err(state_error)? else {
                return Err(usage(format!(
                    "--changes-since {}: the folder holds no state yet (the first night, run with --state {} alone)",
                    path.display(),
                    path.display()
                )));
            };
            check(&dir, &generation.meta)?;
            since = Some((dir, generation));
        }
        let mut state = None;
        let mut since_is_state = false;
        if let Some(path) = &out.state {
            since_is_state = out
                .changes_since
                .as_deref()
                .is_some_and(|since| same_path(since, path));
            if !since_is_state {
                let dir = StateDir::lock(path, true).map_err(state_error)?;
                if let Some(generation) = dir.current().map_err(state_error)? {
                    check(&dir, &generation.meta)?;
                }
                state = Some(dir);
            }
        }
        let mut cleaned = Vec::new();
        for dir in since.iter_mut().map(|(d, _)| d).chain(state.as_mut()) {
            cleaned.extend(dir.take_cleaned());
        }
        if !cleaned.is_empty() && !args.quiet {
            crate::report::say(&format!(
                "brazex: removed {} leftover{} of an earlier run that did not finish from the state folder",
                cleaned.len(),
                if cleaned.len() == 1 { "" } else { "s" }
            ));
        }
        // Scratch space beside the new state (else beside the old one).
        let home = match (&state, &since) {
            (Some(dir), _) => dir,
            (None, Some((dir, _))) => dir,
            (None, None) => return Err(usage("--state or --changes-since needs a folder")),
        };
        let scratch = match scratch {
            true => Some(Arc::new(Scratch::new(home).map_err(state_error)?)),
            false => None,
        };
        let mode = match since {
            Some(_) => ReplayMode::Changes,
            None => ReplayMode::All,
        };
        let pins = match &since {
            Some((dir, generation)) if out.schema.is_none() => generation
                .meta
                .schema
                .as_ref()
                .map(|schema| {
                    PinnedSchema::parse(
                        &format!("{} (state)", dir.path().display()),
                        &schema.to_string(),
                        true,
                    )
                })
                .transpose()?,
            _ => None,
        };
        Ok(Incremental {
            key,
            mode,
            since,
            state,
            since_is_state,
            scratch,
            new: None,
            compared: None,
            started: SystemTime::now(),
            extra: Extra {
                op_column: mode == ReplayMode::Changes,
                pins,
                ..Extra::default()
            },
        })
    }

    fn scratch(&self) -> anyhow::Result<&Arc<Scratch>> {
        self.scratch
            .as_ref()
            .context("internal: an incremental run without scratch space")
    }

    /// The folder the new state goes to (with `--state`).
    fn state_dir(&self) -> Option<&StateDir> {
        match (&self.state, &self.since) {
            (Some(dir), _) => Some(dir),
            (None, Some((dir, _))) if self.since_is_state => Some(dir),
            _ => None,
        }
    }

    /// Passes 1 and 2 up to the replay: returns pass 2's inputs and options. A run
    /// that writes every row and fails on a repeated key (`--state` alone, without
    /// `--on-error skip`) takes one pass instead: the inputs and options are the
    /// caller's, and the output taps the keys ([`Extra::tap`]).
    pub fn prepare(
        &mut self,
        inputs: &[Input],
        options: &Options,
        args: &PipelineArgs,
        bad_lines: BadLineSink<'_>,
    ) -> anyhow::Result<(Vec<Input>, Options)> {
        let selection = options.selection.clone().map(Arc::new);
        let fingerprinter = Fingerprinter::new(self.key, selection);
        if self.mode == ReplayMode::All && options.on_error == OnError::Fail {
            let dir = self
                .state_dir()
                .context("internal: a state run without a state folder")?;
            let scratch = Arc::clone(self.scratch()?);
            let reserved = NewGeneration::reserve(dir, &scratch).map_err(state_error)?;
            self.extra.tap = Some(Tap::new(fingerprinter, scratch, reserved));
            crate::exit::set_phase("writing the rows and the state");
            return Ok((inputs.to_vec(), options.clone()));
        }
        let started = Instant::now();
        crate::exit::set_phase("reading the export for the state");
        // Pass 1.
        let digests = self.digests(args)?.map(Arc::new);
        // The run's keys are cut as the earlier state's were; a first night's in a
        // fixed count.
        let partitions = self
            .since
            .as_ref()
            .map_or(FIRST_PARTITIONS, |(_, g)| g.meta.partitions);
        let make = || SpoolEncoder::new(fingerprinter.clone(), digests.clone(), partitions);
        let mut sink = SpoolSink::new(self.scratch()?, partitions).map_err(anyhow::Error::from)?;
        let mut pass_one = run_with(inputs, options, &make, &mut sink, Some(&mut *bad_lines))?;
        let spooled = sink.finish()?;

        // The comparison.
        crate::exit::set_phase("comparing the export with the state");
        let mut new = match self.state_dir() {
            Some(dir) => Some(
                NewGeneration::start(dir, self.scratch()?, partitions_for(spooled.rows))
                    .map_err(state_error)?,
            ),
            None => None,
        };
        let skip = options.on_error == OnError::Skip;
        let compared = compare(
            &spooled,
            self.since.as_ref().map(|(_, g)| g),
            new.as_mut(),
            self.scratch()?,
            self.mode == ReplayMode::Changes,
            skip,
        )?;
        if let Some(dup) = compared.duplicate.as_ref().filter(|_| !skip) {
            return Err(dup.to_error(self.key).into());
        }
        if !compared.skipped.is_empty() {
            // Their text, where the spool has it (a repeat of an unchanged user is
            // not spooled: its record says so).
            let seqs: Vec<u64> = compared.skipped.iter().map(|(seq, _)| *seq).collect();
            let mut texts = std::collections::HashMap::new();
            brazex_dest::state::for_rows(&spooled, &seqs, &mut |seq, _, text| {
                texts.insert(seq, text.to_vec());
                Ok(())
            })?;
            let key = self.key.name();
            for (seq, place) in &compared.skipped {
                let text = texts.remove(seq);
                let note = if text.is_some() {
                    ""
                } else {
                    " (the same as the state's row; its text is not kept)"
                };
                bad_lines(&BadLine {
                    error: format!("{place}: {key} repeats an earlier row's{note}"),
                    place: place.clone(),
                    text: text.unwrap_or_default(),
                })?;
            }
            pass_one.rows_skipped += compared.skipped.len() as u64;
        }
        pass_one.elapsed = started.elapsed();
        let deletes_label = match &self.since {
            Some((dir, _)) => format!("{} (users gone since)", dir.path().display()),
            None => String::new(),
        };
        let inputs = replay(&spooled, &compared, self.mode, self.key, &deletes_label)?;
        self.extra.changes =
            (self.mode == ReplayMode::Changes).then(|| self.changes_json(&compared.counts));
        self.extra.pass_one = Some(pass_one);
        self.compared = Some(compared);
        self.new = new;

        // Pass 2 reads valid rows only, with `_op` first for changes; `--where` was
        // applied in pass 1.
        let selection = match (&args.select, self.mode) {
            (Some(text), ReplayMode::Changes) => {
                let mut items = parse_select(crate::output::OP_ITEM)?;
                items.extend(crate::output::select_items(text, args)?);
                Some(Selection::new(&items))
            }
            _ => options.selection.clone(),
        };
        let options = Options {
            filter: None,
            prefilter: false,
            selection,
            max_line_bytes: options.max_line_bytes.saturating_add(64),
            ..options.clone()
        };
        crate::exit::set_phase("writing the changes");
        Ok((inputs, options))
    }

    /// The earlier state's digests, when it has one and they fit `--state-memory`
    /// (`brazex_dest::state::Digests`): with them, unchanged rows are not spooled.
    fn digests(&self, args: &PipelineArgs) -> anyhow::Result<Option<Digests>> {
        let Some((dir, generation)) = &self.since else {
            return Ok(None);
        };
        // A new salt each run (std's per-process random keys).
        let salt = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
        let limit = args.out.state_memory as u64;
        let digests = Digests::load(generation, salt, limit)?;
        if digests.is_none() && !args.quiet {
            crate::report::say(&format!(
                "brazex: the state in {} has {} users, more than --state-memory {} MiB holds digests of ({BYTES_PER_USER} bytes a user): every row is spooled (slower; raise --state-memory)",
                dir.path().display(),
                generation.meta.users,
                limit >> 20
            ));
        }
        Ok(digests)
    }

    fn changes_json(&self, counts: &Counts) -> serde_json::Value {
        let (dir, generation) = match &self.since {
            Some((dir, generation)) => (dir.path().display().to_string(), Some(generation)),
            None => (String::new(), None),
        };
        serde_json::json!({
            "since": {
                "state": dir,
                "created": generation.map(|g| g.meta.created.clone()),
                "users": generation.map(|g| g.meta.users),
            },
            "key": self.key.name(),
            "inserts": counts.inserts,
            "updates": counts.updates,
            "deletes": counts.deletes,
            "unchanged": counts.unchanged,
            "duplicates_skipped": counts.duplicates,
        })
    }

    /// Once the output is written (not committed yet): what its tap found, for
    /// [`Incremental::describe`] and [`Incremental::commit`].
    pub fn output_written(&mut self) -> anyhow::Result<()> {
        if let Some(mut tap) = self.extra.tap.take() {
            let (compared, new) = tap
                .take()
                .context("internal: the output did not run the state's tap")?;
            self.compared = Some(compared);
            self.new = Some(new);
        }
        Ok(())
    }

    /// The one line the run prints about the changes.
    pub fn describe(&self) -> Option<String> {
        let counts = &self.compared.as_ref()?.counts;
        Some(match self.mode {
            ReplayMode::Changes => format!(
                "brazex: changes since {}: {} inserts, {} updates, {} deletes, {} unchanged",
                self.since
                    .as_ref()
                    .map_or(String::new(), |(d, _)| d.path().display().to_string()),
                counts.inserts,
                counts.updates,
                counts.deletes,
                counts.unchanged
            ),
            ReplayMode::All => format!(
                "brazex: state of {} users written",
                counts.inserts + counts.updates + counts.unchanged
            ),
        })
    }

    /// Once the output has committed: makes the new state current.
    pub fn commit(mut self, args: &PipelineArgs, source: &serde_json::Value) -> anyhow::Result<()> {
        let Some(new) = self.new.take() else {
            return Ok(());
        };
        let counts = self
            .compared
            .as_ref()
            .map(|c| c.counts.clone())
            .unwrap_or_default();
        let started = self
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let meta = Meta {
            format: brazex_dest::state::FORMAT,
            key: self.key.name().to_string(),
            select: args.select.clone(),
            filter: args.where_.clone(),
            tables: args.out.tables,
            schema: self.extra.schema.take(),
            partitions: new.partitions(),
            users: counts.inserts + counts.updates + counts.unchanged,
            created: brazex_core::delimited::format_timestamp_ms(started),
            source: source.clone(),
        };
        crate::exit::set_phase("switching the state");
        let dir = self
            .state_dir()
            .context("internal: a new state without a folder")?;
        new.commit(dir, self.scratch()?, &meta)
            .map_err(state_error)?;
        Ok(())
    }
}

/// A state error, with the exit code the kind says.
fn state_error(e: StateError) -> anyhow::Error {
    match e {
        StateError::Mismatch { .. } => usage(e.to_string()),
        StateError::Pipeline(e) => e.into(),
        StateError::Damaged { .. } => anyhow::Error::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::same_select;

    #[test]
    fn selections_compare_by_items_and_pins_not_spelling() {
        assert!(same_select(
            "braze_id,email,age=custom_attributes.age:int",
            "braze_id, email,  age=custom_attributes.age:int"
        ));
        assert!(!same_select(
            "braze_id,age=custom_attributes.age:int",
            "braze_id,age=custom_attributes.age:float"
        ));
        assert!(!same_select("braze_id,email", "email,braze_id"));
        assert!(!same_select("braze_id,mail=email", "braze_id,email"));
    }
}
