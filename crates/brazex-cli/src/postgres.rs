//! `-o postgres://…`: the rows loaded into PostgreSQL tables (brazex_dest::postgres).
//!
//! The same plan as CSV and Parquet (`--select`, `--tables`, `--custom-attributes`,
//! `--schema`), except that an existing target table, when no `--schema` is given,
//! is itself the schema: its columns keep their types night after night, and new
//! ones are added (or refused under `--schema-evolution freeze`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use brazex_core::contract::PinnedSchema;
use brazex_core::input::Input;
use brazex_core::pipeline::{BadLineSink, Options, Summary};
use brazex_dest::postgres::binary::CopyEncoder;
use brazex_dest::postgres::load::LoadRecord;
use brazex_dest::postgres::{Load, LoadMode, LoadOptions, PgUrl, TableName};
use brazex_dest::Target;

use crate::args::PipelineArgs;
use crate::incremental::Extra;
use crate::output::{
    contract, infer, read_schema, report_changes, shape, source_of, usage, FormatArg, KeyArg,
    LoadArg, RowsRun,
};
use brazex_core::table::OP_COLUMN;

/// The flags that only a database target takes are refused elsewhere.
pub fn refuse_flags(args: &PipelineArgs) -> anyhow::Result<()> {
    let out = &args.out;
    let given = [
        (out.table.is_some(), "--table"),
        (out.load.is_some(), "--load"),
        (
            out.key.is_some() && !crate::incremental::wanted(args),
            "--key",
        ),
        (out.delete_missing, "--delete-missing"),
    ];
    if let Some((_, flag)) = given.iter().find(|(on, _)| *on) {
        return Err(usage(format!(
            "{flag} is for loads into PostgreSQL: give -o postgres://…"
        )));
    }
    Ok(())
}

/// The load the flags ask for.
fn load_options(args: &PipelineArgs) -> anyhow::Result<LoadOptions> {
    let out = &args.out;
    let mode = match out.load.unwrap_or(LoadArg::Replace) {
        LoadArg::Replace => LoadMode::Replace,
        LoadArg::Append => LoadMode::Append,
        LoadArg::Merge => LoadMode::Merge,
    };
    if mode != LoadMode::Merge && out.delete_missing {
        return Err(usage("--delete-missing is for --load merge"));
    }
    if mode != LoadMode::Merge && out.key.is_some() && !crate::incremental::wanted(args) {
        return Err(usage(
            "--key is for --load merge (and the users of --state and --changes-since)",
        ));
    }
    let key = out.key.unwrap_or(KeyArg::BrazeId).field().name();
    Ok(LoadOptions {
        table: TableName::parse(out.table.as_deref().unwrap_or("braze_users"))?,
        mode,
        key: key.into(),
        delete_missing: out.delete_missing,
    })
}

/// With a database target, connects once before anything else (`brazex run`
/// checks this before asking Braze for an export: a wrong password or an
/// unreachable server fails at once, not after the export and its download).
pub fn check_target(args: &PipelineArgs) -> anyhow::Result<()> {
    if let Target::Postgres(url) = crate::output::target(args.output.as_deref())? {
        drop(Load::connect(&url, load_options(args)?)?);
    }
    Ok(())
}

/// Loads the rows into the database `url` names.
pub fn load(
    url: &PgUrl,
    inputs: &[Input],
    options: &Options,
    args: &PipelineArgs,
    source: Option<&serde_json::Value>,
    bad_lines: BadLineSink<'_>,
    extra: &mut Extra,
) -> anyhow::Result<Summary> {
    let out = &args.out;
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    if out.format != FormatArg::Ndjson {
        return Err(usage(
            "-o postgres://… loads typed rows into tables: --format is for files",
        ));
    }
    let file_flags = [
        (out.compress.is_some(), "--compress"),
        (out.compression.is_some(), "--compression"),
        (out.rows_per_file.is_some(), "--rows-per-file"),
        (out.max_file_bytes.is_some(), "--max-file-bytes"),
    ];
    if let Some((_, flag)) = file_flags.iter().find(|(on, _)| *on) {
        return Err(usage(format!("{flag} is for files, not -o postgres://…")));
    }
    let load_options = load_options(args)?;
    let mode = load_options.mode;
    let mut load = Load::connect(url, load_options)?;

    // The plan: an explicit --schema, else the existing tables pin the columns.
    let explicit = read_schema(args)?;
    let mut plan = shape(args)?;
    // A changes table (`--load append` of changes) has `_op` first: not a pin.
    let pins = match explicit {
        Some(_) => None,
        None => load.pins(&plan)?.map(|mut pins| {
            if let Some(users) = pins.tables.first_mut() {
                users.columns.retain(|c| c.name != OP_COLUMN);
            }
            pins
        }),
    };
    let schema: Option<PinnedSchema> = explicit.or(pins);
    let contract = contract(args, schema.as_ref())?;
    plan.bind(&contract)?;
    let replay: Vec<Input>;
    let mut inputs = inputs;
    if let Some(replayed) = infer(&mut plan, inputs, options, args)? {
        replay = replayed;
        inputs = &replay;
    }
    extra.schema = Some(PinnedSchema::of(&plan, plan.custom_attributes()));
    if extra.op_column {
        plan.with_op_column();
    }
    let plan = Arc::new(plan);
    let key = load.key_column(&plan)?;
    let mut sink = load.start(&plan)?;
    let make = || CopyEncoder::new(plan.clone(), key.clone());
    let run = RowsRun {
        inputs,
        bad_lines,
        tap: extra.tap.as_mut(),
    };
    let (summary, rest) = run.typed(options, &plan, contract.max_keys, &make, &mut sink)?;
    report_changes(&plan, &rest, args.quiet);
    let record = LoadRecord {
        started_ms,
        skipped: extra.summary(&summary).rows_skipped,
        source: source_of(source, inputs),
        schema: PinnedSchema::of(&plan, plan.custom_attributes()),
    };
    let outcome = sink.finish(&record)?;
    crate::report::record(
        "load",
        serde_json::json!({
            "mode": mode.name(),
            "tables": outcome.tables.iter().map(|(t, n)| serde_json::json!({"table": t, "rows": n})).collect::<Vec<_>>(),
            "inserted": outcome.inserted,
            "updated": outcome.updated,
            "unchanged": outcome.unchanged,
            "deleted": outcome.deleted,
            "added_columns": outcome.added_columns,
            "run_id": outcome.run_id,
        }),
    );
    if !args.quiet {
        crate::report::say(&outcome.describe(mode));
    }
    Ok(summary)
}
