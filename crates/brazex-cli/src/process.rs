//! `brazex process`: builds the pipeline from the flags and runs it.

use std::io::{self, Write};

use brazex_core::filter::Filter;
use brazex_core::input::Input;
use brazex_core::pipeline::{BadLine, OnError, Options, Summary};
use brazex_core::select::Selection;
use brazex_dest::{Location, Run, Target};

use crate::args::{OnErrorArg, PipelineArgs, ProcessArgs};
use crate::exit::UsageError;
use crate::output::RowsRun;

pub fn process(args: &ProcessArgs) -> anyhow::Result<()> {
    // --shard K/N: this worker's share of the objects, into PREFIX/shard-K-of-N/.
    let sharded;
    let pipeline = match args.shard {
        Some(shard) => {
            if crate::incremental::wanted(&args.pipeline) {
                return Err(UsageError(
                    "--shard cannot keep a --state or write --changes-since: a shard sees only some users, so every other user would look deleted".into(),
                )
                .into());
            }
            let mut pipeline = args.pipeline.clone();
            pipeline.output = Some(crate::shard::output(
                shard,
                args.pipeline.output.as_deref(),
            )?);
            sharded = pipeline;
            &sharded
        }
        None => &args.pipeline,
    };
    let options = options(pipeline)?;
    // Object URLs (s3://, gs://, az://) stream from their store; the runtime that
    // downloads them lives in `inputs` until the pipeline is done.
    let inputs = crate::bucket::expand_inputs_of_shard(&args.inputs, &pipeline.store, args.shard)?;
    crate::exit::set_phase("processing");
    let summary = run_to_output(&inputs.inputs, &options, pipeline, None)?;
    if !pipeline.quiet {
        crate::report::say(&describe(&summary));
    }
    Ok(())
}

/// The pipeline's options from the flags; a bad flag is a usage error.
pub fn options(args: &PipelineArgs) -> anyhow::Result<Options> {
    let selection = match &args.select {
        Some(text) => {
            let items = crate::output::select_items(text, args)?;
            Some(Selection::new(&items))
        }
        None => None,
    };
    let filter = match &args.where_ {
        Some(text) => {
            let filter = Filter::parse(text).map_err(|e| UsageError(format!("--where: {e}")))?;
            if !args.quiet {
                for warning in filter.warnings() {
                    crate::report::warn(&warning.to_string());
                }
            }
            Some(filter)
        }
        None => None,
    };
    if !matches!(
        crate::output::target(args.output.as_deref())?,
        brazex_dest::Target::Postgres(_)
    ) {
        crate::postgres::refuse_flags(args)?;
    }
    if !crate::output::is_typed(args)
        && (args.out.schema.is_some()
            || args.out.custom_attributes.is_some()
            || args.out.schema_evolution.is_some())
    {
        return Err(UsageError(
            "--schema and --custom-attributes type the columns of CSV and Parquet; give --format csv or parquet, or -o postgres://…".into(),
        )
        .into());
    }
    if args.errors_to.is_some() && args.on_error != OnErrorArg::Skip {
        return Err(UsageError("--errors-to needs --on-error skip".into()).into());
    }
    let defaults = Options::default();
    Ok(Options {
        jobs: match args.jobs {
            Some(0) => return Err(UsageError("--jobs must be at least 1".into()).into()),
            Some(n) => n,
            None => defaults.jobs,
        },
        max_line_bytes: args.max_line_bytes,
        on_error: match args.on_error {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Skip => OnError::Skip,
        },
        filter,
        prefilter: !args.no_prefilter,
        selection,
        ..defaults
    })
}

/// Runs the pipeline into stdout or `--output`, with `--errors-to`; files appear only
/// when the run succeeds. `source` says where the rows came from, for the manifest,
/// when that is more than the inputs' names (a Braze export).
pub fn run_to_output(
    inputs: &[Input],
    options: &Options,
    args: &PipelineArgs,
    source: Option<&serde_json::Value>,
) -> anyhow::Result<Summary> {
    // Every file and object of the run is staged here: visible only when it all
    // commits, and removed by the one cancellation path otherwise (brazex_dest::Run).
    let target = crate::output::target(args.output.as_deref())?;
    let errors_to = args
        .errors_to
        .as_deref()
        .map(|path| crate::output::file_location(path, "--errors-to"))
        .transpose()?;
    crate::report::record_in(
        "outputs",
        "target",
        crate::report::target_name(&target).into(),
    );
    crate::report::record_in("outputs", "committed", false.into());
    let staging = Run::new(crate::output::store_options(args));
    let mut errors_file = errors_to.map(|at| staging.create(&at)).transpose()?;
    let mut record_bad = |bad: &BadLine| -> brazex_core::Result<()> {
        if let Some(file) = errors_file.as_mut() {
            write_bad_line(file, bad)
                .map_err(|e| brazex_core::Error::io(format!("cannot write {}", file.dest()), e))?;
        }
        Ok(())
    };
    // --state / --changes-since: pass 1 and the comparison first; the output then
    // reads the spool's replay (brazex_dest::state).
    let run_source = crate::output::source_of(source, inputs);
    crate::report::record("source", run_source.clone());
    let mut incremental = crate::incremental::wanted(args)
        .then(|| crate::incremental::Incremental::start(args))
        .transpose()?;
    let replayed;
    let (inputs, options) = match incremental.as_mut() {
        Some(inc) => {
            replayed = inc.prepare(inputs, options, args, &mut record_bad)?;
            (replayed.0.as_slice(), &replayed.1)
        }
        None => (inputs, options),
    };
    // The manifest and the load log name the export, not the replay's streams.
    let source = match incremental {
        Some(_) => Some(&run_source),
        None => source,
    };
    let mut no_extra = crate::incremental::Extra::default();
    let extra = match incremental.as_mut() {
        Some(inc) => &mut inc.extra,
        None => &mut no_extra,
    };
    let summary = match &target {
        // Typed rows, parts, or a database (never plain: see `is_plain`).
        _ if !crate::output::is_plain(args) => crate::output::write(
            inputs,
            options,
            args,
            source,
            &staging,
            &mut record_bad,
            extra,
        )?,
        Target::Postgres(_) => {
            anyhow::bail!("internal: a PostgreSQL target taken for plain NDJSON")
        }
        Target::File(at) | Target::Dir(at) => {
            let mut file = staging.create(at)?;
            crate::output::report_cleaned(staging.take_cleaned(), args.quiet);
            let run = RowsRun {
                inputs,
                bad_lines: &mut record_bad,
                tap: extra.tap.as_mut(),
            };
            let summary = run
                .ndjson(options, &mut file)
                .map_err(|e| name_output(e, at))?;
            file.finish()?;
            crate::report::record_in(
                "outputs",
                "files",
                serde_json::json!([{"path": at.to_string(), "rows": summary.rows_written}]),
            );
            summary
        }
        Target::Stdout => {
            crate::output::report_cleaned(staging.take_cleaned(), args.quiet);
            let stdout = io::stdout();
            let mut lock = stdout.lock();
            let run = RowsRun {
                inputs,
                bad_lines: &mut record_bad,
                tap: extra.tap.as_mut(),
            };
            run.ndjson(options, &mut lock)?
        }
    };
    if let Some(inc) = incremental.as_mut() {
        inc.output_written()?;
    }
    let extra = match incremental.as_ref() {
        Some(inc) => &inc.extra,
        None => &no_extra,
    };
    let summary = extra.summary(&summary);
    crate::report::record("counts", crate::report::counts(&summary));
    if let Some(changes) = &extra.changes {
        crate::report::record("changes", changes.clone());
    }
    if let Some(file) = errors_file {
        crate::report::record_in("outputs", "errors_to", file.dest().into());
        file.finish()?;
    }
    staging.commit()?;
    crate::report::record_in("outputs", "committed", true.into());
    // The output is committed: only now does the new state become current.
    if let Some(inc) = incremental {
        if let Some(line) = inc.describe().filter(|_| !args.quiet) {
            crate::report::say(&line);
        }
        inc.commit(args, &run_source)?;
    }
    Ok(summary)
}

/// A write error of the plain NDJSON path names the file it was writing.
fn name_output(error: brazex_core::Error, at: &Location) -> brazex_core::Error {
    match error {
        brazex_core::Error::Io { what, source } if what == brazex_core::encode::WRITE_FAILED => {
            brazex_core::Error::io(format!("cannot write {at}"), source)
        }
        e => e,
    }
}

fn write_bad_line(out: &mut dyn Write, bad: &BadLine) -> io::Result<()> {
    let record = serde_json::json!({
        "entry": &*bad.place.entry,
        "line": bad.place.line,
        "error": bad.error,
        "text": String::from_utf8_lossy(&bad.text),
    });
    serde_json::to_writer(&mut *out, &record)?;
    out.write_all(b"\n")
}

/// The one-line summary printed on stderr.
pub fn describe(summary: &Summary) -> String {
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    let mb = summary.bytes_decoded as f64 / 1e6;
    let mut text = format!(
        "brazex: {} rows read, {} written",
        summary.rows_read, summary.rows_written
    );
    if summary.rows_filtered > 0 {
        text += &format!(", {} filtered out", summary.rows_filtered);
    }
    if summary.rows_skipped > 0 {
        text += &format!(", {} bad lines skipped", summary.rows_skipped);
    }
    text += &format!(
        "; {} inputs, {} entries, {:.1} MB in, {:.1} MB of NDJSON in {:.2} s ({:.0} MB/s)",
        summary.inputs,
        summary.entries,
        summary.bytes_in as f64 / 1e6,
        mb,
        secs,
        mb / secs
    );
    text
}
