//! Output formats and layouts beyond plain NDJSON: `--format csv|parquet`, a folder
//! of rotating parts (`-o DIR/`), `--compress`, `--tables`, and `_manifest.json`.
//!
//! Plain NDJSON to stdout or one file keeps the original path ([`is_plain`]); every
//! other output is wired here from the flags: the format's sink (`brazex_parquet`,
//! `brazex_dest::parts::ByteSink`) writing into the destination (`brazex_dest`: a
//! local folder or an object-store prefix alike), the manifest last.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use brazex_core::contract::{
    Changes, Contract, CustomAttributes, Evolution, KeyLog, PinnedSchema, Watched, WatchedSink,
};
use brazex_core::delimited::{csv_header, CsvEncoder, NdjsonRows};
use brazex_core::encode::Encoder;
use brazex_core::input::Input;
use brazex_core::path::{parse_select, parse_select_pinned, SelectItem};
use brazex_core::pipeline::{run_with, BadLineSink, Options, Summary};
use brazex_core::schema::ColumnType;
use brazex_core::table::{infer_plan, Plan};
use brazex_dest::manifest::{Manifest, MANIFEST};
use brazex_dest::parts::{ByteSink, Compress, PartOptions, Parts};
use brazex_dest::state::Tap;
use brazex_dest::{Location, Run, StoreOptions, Target};
use brazex_parquet::ipc::ArrowSink;
use brazex_parquet::{Codec, ParquetEncoder, ParquetOptions, ParquetSink};
use clap::{Args, ValueEnum};

use crate::args::{parse_size, PipelineArgs};
use crate::exit::UsageError;
use crate::incremental::Extra;

/// Input block size for Parquet output (see where it is used).
const PARQUET_BLOCK_BYTES: usize = 2 << 20;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatArg {
    /// One JSON object per line (the input's own text, or the --select'ed object).
    Ndjson,
    /// RFC 4180 CSV with a header row; nested values as JSON text.
    Csv,
    /// Typed, compressed, columnar Parquet.
    Parquet,
    /// An Arrow IPC stream of the Parquet schema's record batches (for pyarrow,
    /// polars, DuckDB): to stdout, a file (.arrow) or a folder of parts.
    Arrow,
}

/// `--custom-attributes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CustomArg {
    /// One JSON text column, custom_attributes.
    Json,
    /// A typed column per attribute, custom_attributes__KEY, and the attributes
    /// without a column in custom_attributes__rest (JSON).
    Columns,
}

/// `--schema-evolution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvolutionArg {
    /// Columns the schema does not have are added after its own.
    Evolve,
    /// A column the schema does not have is an error; nothing is written.
    Freeze,
}

/// `--compress` for NDJSON and CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressArg {
    Gzip,
    Zstd,
}

/// `--compression` of Parquet pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CodecArg {
    Zstd,
    Snappy,
    Gzip,
    None,
}

/// Flags of the output (shared by `process`, `run` and `download`).
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Ndjson)]
    pub format: FormatArg,

    /// With -o DIR/: start a new part after this many rows.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rows_per_file: Option<u64>,

    /// With -o DIR/: start a new part before a part exceeds this size (before
    /// compression for --compress; accepts K, M, G, KiB, MiB, GiB).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_file_bytes: Option<usize>,

    /// Compress NDJSON or CSV output (parts get .gz or .zst).
    #[arg(long, value_enum, value_name = "CODEC")]
    pub compress: Option<CompressArg>,

    /// Compression of Parquet pages [default: zstd].
    #[arg(long, value_enum, value_name = "CODEC")]
    pub compression: Option<CodecArg>,

    /// Most rows in a Parquet row group (a row group is also closed at
    /// --row-group-bytes), or in an Arrow record batch.
    #[arg(long, value_name = "N", default_value_t = 122_880, value_parser = clap::value_parser!(u64).range(1..))]
    pub row_group_rows: u64,

    /// Close a Parquet row group once its encoded columns hold this much memory: the
    /// bound on the Parquet writer's memory (accepts K, M, G, KiB, MiB, GiB).
    #[arg(long, value_name = "BYTES", default_value = "16MiB", value_parser = parse_size)]
    pub row_group_bytes: usize,

    /// Rows read to infer the type of --select'ed columns outside the documented
    /// schema (custom attributes) that have no `:type` pin.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub infer_rows: u64,

    /// Normalized tables in -o DIR/: users, and one table per array of objects
    /// (purchases, devices, …), each in its own subfolder, keyed by braze_id.
    #[arg(long)]
    pub tables: bool,

    /// How CSV and Parquet write custom attributes: one JSON column, or a typed column
    /// per attribute (custom_attributes__KEY) [default: as --schema has them, else json].
    #[arg(long, value_enum, value_name = "HOW")]
    pub custom_attributes: Option<CustomArg>,

    /// Pin the columns to a schema: an earlier run's _manifest.json, or a file
    /// `brazex schema` wrote (a path or an object URL). Every column it names keeps
    /// its type and position; only the others are inferred.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// With --schema (or an existing PostgreSQL table): add new columns after the
    /// pinned ones (evolve), or fail on the first one, naming it and its line, and
    /// write nothing (freeze) [default: evolve].
    #[arg(long, value_enum, value_name = "HOW")]
    pub schema_evolution: Option<EvolutionArg>,

    /// Most distinct custom attribute keys a run tracks (as columns, or sent to
    /// custom_attributes__rest).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_custom_columns: u64,

    /// With -o postgres://…: the table to load, [SCHEMA.]NAME (with --tables, the
    /// child tables are NAME_purchases, NAME_devices, …) [default: braze_users].
    #[arg(long, value_name = "[SCHEMA.]NAME")]
    pub table: Option<String>,

    /// With -o postgres://…: replace the table's rows (atomically), append to them,
    /// or merge (upsert on --key).
    #[arg(long, value_enum, value_name = "MODE")]
    pub load: Option<LoadArg>,

    /// The key of a user: for --load merge, and the users of --state and
    /// --changes-since [default: braze_id].
    #[arg(long, value_enum, value_name = "COLUMN")]
    pub key: Option<KeyArg>,

    /// After a successful run, keep the state of this export in DIR: each user's key
    /// and the fingerprint of its row as written, for a later --changes-since DIR.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// Write only what changed since the state in DIR: new and changed users with
    /// `_op` (insert, update) first, then the users gone (`_op` delete, key only).
    #[arg(long, value_name = "DIR")]
    pub changes_since: Option<PathBuf>,

    /// With --changes-since: memory for the earlier state's digests (9 bytes a user),
    /// which spare pass 1 spooling unchanged rows; a larger state spools every row.
    #[arg(long, value_name = "BYTES", default_value = "160MiB", value_parser = parse_size)]
    pub state_memory: usize,

    /// With --load merge: delete the users (and their child rows) this export does
    /// not have (the export is a full snapshot).
    #[arg(long)]
    pub delete_missing: bool,
}

/// `--load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadArg {
    Replace,
    Append,
    Merge,
}

/// `--key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(clippy::enum_variant_names)]
pub enum KeyArg {
    /// Spelled as the column is (the README's `--key external_id`; clap would
    /// otherwise want `external-id`).
    #[value(name = "braze_id")]
    BrazeId,
    #[value(name = "external_id")]
    ExternalId,
}

impl KeyArg {
    /// The field the key is read from (and, in a database, the key column).
    pub fn field(self) -> brazex_core::fingerprint::KeyField {
        match self {
            KeyArg::BrazeId => brazex_core::fingerprint::KeyField::BrazeId,
            KeyArg::ExternalId => brazex_core::fingerprint::KeyField::ExternalId,
        }
    }
}

impl Default for OutputArgs {
    /// The flags' defaults: plain NDJSON.
    fn default() -> Self {
        OutputArgs {
            format: FormatArg::Ndjson,
            rows_per_file: None,
            max_file_bytes: None,
            compress: None,
            compression: None,
            row_group_rows: 122_880,
            row_group_bytes: 16 << 20,
            infer_rows: 10_000,
            tables: false,
            custom_attributes: None,
            schema: None,
            schema_evolution: None,
            max_custom_columns: 1000,
            table: None,
            load: None,
            key: None,
            state: None,
            changes_since: None,
            state_memory: 160 << 20,
            delete_missing: false,
        }
    }
}

/// The `--select` item that puts `_op` first in NDJSON changes.
pub const OP_ITEM: &str = brazex_core::table::OP_COLUMN;

/// The manifest's `source` for rows that come from a Braze export (`run`).
pub fn braze_source(object_prefix: &str, segment_id: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "braze": {"object_prefix": object_prefix, "segment_id": segment_id}
    })
}

/// True when the output is NDJSON to stdout or one file, with nothing else asked:
/// the original, byte-for-byte path.
pub fn is_plain(args: &PipelineArgs) -> bool {
    let out = &args.out;
    out.format == FormatArg::Ndjson
        && out.compress.is_none()
        && !out.tables
        && out.rows_per_file.is_none()
        && out.max_file_bytes.is_none()
        && !matches!(
            target(args.output.as_deref()),
            Ok(Target::Dir(_) | Target::Postgres(_))
        )
}

/// What `-o` names (stdout without it); an unknown URL scheme is a usage error.
pub fn target(output: Option<&Path>) -> anyhow::Result<Target> {
    match output {
        None => Ok(Target::Stdout),
        Some(path) => Target::parse(path).map_err(|e| usage(format!("-o {e}"))),
    }
}

/// Where `--errors-to` (or another single file) goes.
pub fn file_location(path: &Path, flag: &str) -> anyhow::Result<Location> {
    match Target::parse(path).map_err(|e| usage(format!("{flag} {e}")))? {
        Target::File(at) => Ok(at),
        Target::Dir(at) => Err(usage(format!("{flag} {at}: names a folder; give a file"))),
        Target::Stdout => Err(usage(format!("{flag}: give a file"))),
        Target::Postgres(url) => Err(usage(format!("{flag} {url}: give a file, not a database"))),
    }
}

/// How the run writes to object stores, from the flags.
pub fn store_options(args: &PipelineArgs) -> StoreOptions {
    StoreOptions {
        endpoints: args.store.endpoints(),
        part_size: args.store.upload_part_size,
        concurrency: usize::from(args.store.upload_concurrency),
    }
}

/// True when the rows are typed: CSV, Parquet, or a database.
pub fn is_typed(args: &PipelineArgs) -> bool {
    args.out.format != FormatArg::Ndjson
        || matches!(target(args.output.as_deref()), Ok(Target::Postgres(_)))
}

/// Parses `--select` as the format wants it: typed formats accept `path:type` pins.
pub fn select_items(text: &str, args: &PipelineArgs) -> anyhow::Result<Vec<SelectItem>> {
    let items = if !is_typed(args) {
        parse_select(text)
    } else {
        parse_select_pinned(text).map(|(items, _)| items)
    };
    items.map_err(|e| UsageError(format!("--select: {e}")).into())
}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Reads `--schema` (a local file, or an object in a store), when given.
pub fn read_schema(args: &PipelineArgs) -> anyhow::Result<Option<PinnedSchema>> {
    match &args.out.schema {
        Some(path) => read_schema_at(path, &args.store, true).map(Some),
        None => Ok(None),
    }
}

/// Reads a schema or manifest from a file or an object; with `with_rest`, a
/// manifest's rest keys are columns (what a run with it as --schema uses).
pub fn read_schema_at(
    path: &Path,
    store: &crate::args::StoreArgs,
    with_rest: bool,
) -> anyhow::Result<PinnedSchema> {
    let text = read_text_at(path, store, "--schema")?;
    Ok(PinnedSchema::parse(
        &path.display().to_string(),
        &text,
        with_rest,
    )?)
}

/// The text of a schema or manifest in a file or an object (`what` names it in
/// errors: `--schema`, `manifest`).
pub fn read_text_at(
    path: &Path,
    store: &crate::args::StoreArgs,
    what: &str,
) -> anyhow::Result<String> {
    let name = path.display().to_string();
    match Target::parse(path).map_err(|e| usage(format!("{what} {e}")))? {
        Target::File(Location::Object(url)) => {
            let inputs =
                crate::bucket::expand_inputs(std::slice::from_ref(&path.to_path_buf()), store)?;
            let wanted = url.to_string();
            let input = inputs
                .inputs
                .iter()
                .find(|i| *i.label() == *wanted)
                .ok_or_else(|| usage(format!("{what} {name}: no such object")))?;
            let brazex_core::input::Opened::Stream(reader) = input.open()? else {
                return Err(usage(format!("{what} {name}: not an object")));
            };
            read_bounded(reader, &name, what)
        }
        _ => {
            let file = std::fs::File::open(path)
                .map_err(|e| brazex_core::Error::io(format!("cannot read {what} {name}"), e))?;
            read_bounded(Box::new(file), &name, what)
        }
    }
}

/// A schema file's text; schemas are small, and a larger file is not one.
fn read_bounded(reader: Box<dyn Read + Send>, name: &str, what: &str) -> anyhow::Result<String> {
    const MAX_SCHEMA_BYTES: u64 = 64 << 20;
    let mut text = String::new();
    reader
        .take(MAX_SCHEMA_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| brazex_core::Error::io(format!("cannot read {what} {name}"), e))?;
    if text.len() as u64 > MAX_SCHEMA_BYTES {
        return Err(usage(format!(
            "{what} {name}: larger than 64 MiB; not a schema or manifest"
        )));
    }
    Ok(text)
}

/// What the run's columns are bound by: `--custom-attributes` (else as the schema
/// has them), the schema, `--schema-evolution`.
pub fn contract<'a>(
    args: &PipelineArgs,
    schema: Option<&'a PinnedSchema>,
) -> anyhow::Result<Contract<'a>> {
    let flag = args.out.custom_attributes.map(|c| match c {
        CustomArg::Json => CustomAttributes::Json,
        CustomArg::Columns => CustomAttributes::Columns,
    });
    let pinned = schema.and_then(|s| s.custom);
    let custom = match (flag, pinned) {
        (Some(a), Some(b)) if a != b && args.select.is_none() => {
            return Err(usage(format!(
                "--custom-attributes {}: the schema {} has them as {}",
                a.name(),
                schema.map_or("", |s| s.source.as_str()),
                b.name()
            )))
        }
        (Some(CustomAttributes::Columns), _) if args.select.is_some() => {
            return Err(usage(
                "--custom-attributes columns is for whole users and --tables; with --select, name attributes (custom_attributes.KEY)",
            ))
        }
        // With --select the selection says what each column is.
        (None, _) if args.select.is_some() => CustomAttributes::Json,
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => CustomAttributes::Json,
    };
    Ok(Contract {
        custom,
        schema,
        evolution: match args.out.schema_evolution.unwrap_or(EvolutionArg::Evolve) {
            EvolutionArg::Evolve => Evolution::Evolve,
            EvolutionArg::Freeze => Evolution::Freeze,
        },
        max_keys: usize::try_from(args.out.max_custom_columns).unwrap_or(usize::MAX),
    })
}

/// The plan of a typed output (CSV, Parquet), with pins applied and bound to its
/// contract (before inference).
pub fn plan(args: &PipelineArgs, contract: &Contract<'_>) -> anyhow::Result<Plan> {
    let mut plan = shape(args)?;
    plan.bind(contract)?;
    Ok(plan)
}

/// The tables and columns the flags ask for, with `:type` pins.
pub fn shape(args: &PipelineArgs) -> anyhow::Result<Plan> {
    if args.out.tables {
        if args.select.is_some() {
            return Err(usage(
                "--tables writes whole users; it cannot be combined with --select",
            ));
        }
        return Ok(Plan::normalized());
    }
    let Some(text) = &args.select else {
        return Ok(Plan::full_object());
    };
    let (items, pins) =
        parse_select_pinned(text).map_err(|e| UsageError(format!("--select: {e}")))?;
    let mut types = Vec::with_capacity(pins.len());
    for pin in pins {
        types.push(match pin {
            None => None,
            Some((name, pos)) => Some(ColumnType::parse_pin(&name).ok_or_else(|| {
                let e = brazex_core::path::SyntaxError::new(
                    text,
                    pos,
                    format!(
                        "unknown type '{name}' (use string, int, float, bool, timestamp, date or json)"
                    ),
                );
                UsageError(format!("--select: {e}"))
            })?),
        });
    }
    Ok(Plan::selection(&items, &types))
}

/// Writes the rows in the format and layout the flags ask for; with a folder, the
/// manifest last.
pub fn write(
    inputs: &[Input],
    options: &Options,
    args: &PipelineArgs,
    source: Option<&serde_json::Value>,
    staging: &Run,
    bad_lines: BadLineSink<'_>,
    extra: &mut Extra,
) -> anyhow::Result<Summary> {
    let out = &args.out;
    let started = SystemTime::now();
    let target = target(args.output.as_deref())?;
    if let Target::Postgres(url) = &target {
        return crate::postgres::load(url, inputs, options, args, source, bad_lines, extra);
    }
    if out.schema_evolution.is_some() && out.schema.is_none() {
        return Err(usage(
            "--schema-evolution needs --schema (or -o postgres://…, whose tables pin the columns)",
        ));
    }
    let dir = match &target {
        Target::Dir(dir) => Some(dir.clone()),
        _ => None,
    };
    if dir.is_none() {
        if out.tables {
            return Err(usage(
                "--tables writes a folder: give -o DIR/ (or -o s3://BUCKET/PREFIX/)",
            ));
        }
        if out.rows_per_file.is_some() || out.max_file_bytes.is_some() {
            return Err(usage(
                "--rows-per-file and --max-file-bytes rotate parts in a folder: give -o DIR/",
            ));
        }
    }
    if out.format == FormatArg::Parquet && out.compress.is_some() {
        return Err(usage(
            "--compress is for NDJSON and CSV; Parquet pages are compressed with --compression",
        ));
    }
    if out.format == FormatArg::Arrow && out.compress.is_some() {
        return Err(usage(
            "--compress is for NDJSON and CSV; an Arrow stream is written uncompressed (readers map it as is)",
        ));
    }
    if out.format != FormatArg::Parquet && out.compression.is_some() {
        return Err(usage(
            "--compression is for --format parquet (see --compress)",
        ));
    }
    if out.tables && out.format == FormatArg::Ndjson {
        return Err(usage("--tables needs --format csv or parquet"));
    }
    // An explicit --schema, else the state's (--changes-since) pins the columns.
    let schema = read_schema(args)?.or_else(|| extra.pins.clone());
    let contract = contract(args, schema.as_ref())?;
    if let Some(dir) = &dir {
        // Claimed first: locked against another run, and cleared of the temporaries
        // a run that was killed left; then a folder holding a committed export is
        // refused.
        staging.claim_dir(dir)?;
        report_cleaned(staging.take_cleaned(), args.quiet);
        if let Some(found) = staging.existing_output(dir)? {
            return Err(usage(format!(
                "{dir} already holds brazex output ({found}); remove it or choose another folder"
            )));
        }
    }
    let compress = match out.compress {
        None => Compress::None,
        Some(CompressArg::Gzip) => Compress::Gzip,
        Some(CompressArg::Zstd) => Compress::Zstd,
    };
    let ext = match out.format {
        FormatArg::Ndjson => "ndjson",
        FormatArg::Csv => "csv",
        FormatArg::Parquet => "parquet",
        FormatArg::Arrow => "arrow",
    };
    let part_options = PartOptions {
        ext: ext.into(),
        compress,
        rows_per_file: out.rows_per_file,
        max_file_bytes: out.max_file_bytes.map(|n| n as u64),
    };

    // Stream inputs sampled for type inference are then read through their replay.
    let replay: Vec<Input>;
    let mut inputs = inputs;
    let plan = match out.format {
        FormatArg::Ndjson => None,
        _ => {
            let mut plan = plan(args, &contract)?;
            if let Some(replayed) = infer(&mut plan, inputs, options, args)? {
                replay = replayed;
                inputs = &replay;
            }
            extra.schema = Some(PinnedSchema::of(&plan, plan.custom_attributes()));
            if extra.op_column {
                plan.with_op_column();
            }
            Some(Arc::new(plan))
        }
    };
    let table_names: Vec<String> = match &plan {
        Some(plan) => plan.tables().iter().map(|t| t.name.clone()).collect(),
        None => vec!["users".into()],
    };
    let normalized = plan.as_ref().is_some_and(|p| p.is_normalized());
    let mut parts = Vec::new();
    for name in &table_names {
        let table_target = match (&target, normalized) {
            (Target::Dir(dir), true) => Target::Dir(dir.join(name)),
            (t, _) => t.clone(),
        };
        parts.push(Parts::new(
            table_target,
            part_options.clone(),
            dir.clone(),
            staging.stage(),
        )?);
    }

    let max_keys = contract.max_keys;
    let mut rest = KeyLog::default();
    // Parquet and Arrow make one record batch per block, and Arrow and Parquet have a
    // fixed cost per batch and column (about 10 % of the time at 512 KiB): larger
    // blocks amortize it, for a few MiB more in flight.
    let batched = Options {
        block_bytes: options.block_bytes.max(PARQUET_BLOCK_BYTES),
        ..options.clone()
    };
    let run = RowsRun {
        inputs,
        bad_lines,
        tap: extra.tap.as_mut(),
    };
    let (summary, files) = match (out.format, &plan) {
        (FormatArg::Parquet, Some(plan)) => {
            let parquet = ParquetOptions {
                codec: match out.compression.unwrap_or(CodecArg::Zstd) {
                    CodecArg::Zstd => Codec::Zstd,
                    CodecArg::Snappy => Codec::Snappy,
                    CodecArg::Gzip => Codec::Gzip,
                    CodecArg::None => Codec::None,
                },
                row_group_rows: usize::try_from(out.row_group_rows).unwrap_or(usize::MAX),
                row_group_bytes: out.row_group_bytes.max(1),
                // Encoder threads beside the workers: on a busy machine the two sides
                // take turns, and neither has to wait for a single writer thread.
                threads: options.jobs.max(1),
            };
            let mut sink = ParquetSink::new(plan, parts, parquet)?;
            let make = || ParquetEncoder::new(plan.clone());
            let summary;
            (summary, rest) = run.typed(&batched, plan, max_keys, &make, &mut sink)?;
            (summary, sink.finish()?)
        }
        (FormatArg::Arrow, Some(plan)) => {
            let batch_rows = usize::try_from(out.row_group_rows).unwrap_or(usize::MAX);
            let mut sink = ArrowSink::new(plan, parts, batch_rows);
            let make = || ParquetEncoder::for_arrow(plan.clone());
            let summary;
            (summary, rest) = run.typed(&batched, plan, max_keys, &make, &mut sink)?;
            (summary, sink.finish()?)
        }
        (FormatArg::Csv, Some(plan)) => {
            let headers = (0..plan.tables().len()).map(|t| Some(csv_header(plan, t)));
            let mut sink = ByteSink::new(parts.into_iter().zip(headers).collect());
            let make = || CsvEncoder::new(plan.clone());
            let summary;
            (summary, rest) = run.typed(options, plan, max_keys, &make, &mut sink)?;
            (summary, sink.finish()?)
        }
        _ => {
            let selection = options.selection.clone().map(Arc::new);
            let mut sink = ByteSink::new(parts.into_iter().map(|p| (p, None)).collect());
            let make = || NdjsonRows::new(selection.clone());
            let summary = run.rows(options, &make, &mut sink)?;
            (summary, sink.finish()?)
        }
    };
    crate::report::record_in("outputs", "format", ext.into());
    crate::report::record_in(
        "outputs",
        "files",
        files_json(&table_names, &files, dir.as_ref()),
    );
    // What changed against the schema (or the documented object): said on stderr,
    // and written into the manifest.
    let changes = plan
        .as_ref()
        .map(|plan| report_changes(plan, &rest, args.quiet));
    if let Some(dir) = &dir {
        let source = source_of(source, inputs);
        let manifest = Manifest {
            format: ext,
            compression: match out.format {
                FormatArg::Parquet => {
                    format!("{:?}", out.compression.unwrap_or(CodecArg::Zstd)).to_lowercase()
                }
                _ => out
                    .compress
                    .map_or("none".into(), |c| format!("{c:?}").to_lowercase()),
            },
            source,
            plan: plan.as_deref(),
            schema_changes: changes
                .as_ref()
                .map(|c| c.to_json(schema.as_ref().map(|s| s.source.as_str()))),
            selected: args.select.is_some(),
            names: &table_names,
            normalized,
            files: &files,
            summary: &extra.summary(&summary),
            started,
            changes: extra.changes.clone(),
        };
        // Redshift's lists, then ours: created last, committed last, so once the
        // manifest is there, every part is.
        for (at, redshift) in manifest.redshift(dir) {
            write_json(staging, &at, &redshift)?;
        }
        write_json(staging, &dir.join(MANIFEST), &manifest.to_json())?;
        crate::report::record_in("outputs", "manifest", dir.join(MANIFEST).to_string().into());
    } else if let Target::File(_) = &target {
        // The single file, like the errors file, is renamed by the caller's commit.
        report_cleaned(staging.take_cleaned(), args.quiet);
    }
    Ok(summary)
}

/// Each part written, for `--summary-json`: its table, where it is, rows, bytes and
/// SHA-256 (as in the manifest).
fn files_json(
    names: &[String],
    files: &[Vec<brazex_dest::parts::FileEntry>],
    dir: Option<&Location>,
) -> serde_json::Value {
    let mut all = Vec::new();
    for (name, entries) in names.iter().zip(files) {
        for f in entries {
            let path = match dir {
                Some(dir) => dir.join(&f.path).to_string(),
                None => f.path.clone(),
            };
            all.push(serde_json::json!({
                "table": name, "path": path, "rows": f.rows, "bytes": f.bytes, "sha256": f.sha256,
            }));
        }
    }
    serde_json::Value::Array(all)
}

/// What changed against the schema (or the documented object), with the keys the
/// run sent to the rest: said on stderr, and returned for the manifest or load log.
pub fn report_changes(plan: &Plan, rest: &KeyLog, quiet: bool) -> Changes {
    let mut changes = plan.changes().clone();
    changes.rest = rest.rest_keys();
    if let Some(line) = changes.describe() {
        if !quiet {
            crate::report::say(&line);
        }
    }
    changes
}

/// Where the rows came from: `source` (a Braze export), else the inputs' names.
pub fn source_of(source: Option<&serde_json::Value>, inputs: &[Input]) -> serde_json::Value {
    source.cloned().unwrap_or_else(|| {
        serde_json::json!({"inputs": inputs.iter().map(|i| i.label().to_string()).collect::<Vec<_>>()})
    })
}

/// Writes a JSON document into the run (a manifest).
pub fn write_json(staging: &Run, at: &Location, value: &serde_json::Value) -> anyhow::Result<()> {
    let mut file = staging.create(at)?;
    serde_json::to_writer_pretty(&mut file, value)?;
    std::io::Write::write_all(&mut file, b"\n")?;
    file.finish()?;
    Ok(())
}

/// Says on stderr which leftovers of a run that did not finish were removed:
/// temporary files, and pending uploads in object stores.
pub fn report_cleaned(cleaned: Vec<String>, quiet: bool) {
    if cleaned.is_empty() || quiet {
        return;
    }
    let (uploads, files): (Vec<String>, Vec<String>) = cleaned
        .into_iter()
        .partition(|c| c.ends_with(brazex_dest::store::PENDING_UPLOAD));
    let list = |items: &[String]| {
        let shown: Vec<&str> = items.iter().take(3).map(String::as_str).collect();
        let more = match items.len() {
            n if n > 3 => format!(" and {} more", n - 3),
            _ => String::new(),
        };
        format!("{}{more}", shown.join(", "))
    };
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if !files.is_empty() {
        crate::report::say(&format!(
            "brazex: removed {} temporary file{} left by an earlier run that did not finish: {}",
            files.len(),
            plural(files.len()),
            list(&files)
        ));
    }
    if !uploads.is_empty() {
        crate::report::say(&format!(
            "brazex: aborted {} pending upload{} left by an earlier run that did not finish: {}",
            uploads.len(),
            plural(uploads.len()),
            list(&uploads)
        ));
    }
}

/// What a run of the pipeline into an output takes besides its encoders, sink and
/// options: the inputs, where bad lines go, and a `--state` run's tap (`--state` in
/// one pass, see `crate::incremental`: each row's key and fingerprint go beside it,
/// and a repeated key fails the run before the output commits).
pub struct RowsRun<'r, 'b> {
    pub inputs: &'r [Input],
    pub bad_lines: BadLineSink<'b>,
    pub tap: Option<&'r mut Tap>,
}

impl RowsRun<'_, '_> {
    /// Runs the pipeline into `sink`.
    pub fn rows<E: Encoder>(
        self,
        options: &Options,
        make: &(dyn Fn() -> E + Sync),
        sink: &mut dyn brazex_core::encode::Sink<E::Block>,
    ) -> brazex_core::Result<Summary> {
        match self.tap {
            Some(tap) => tap.run(self.inputs, options, make, sink, Some(self.bad_lines)),
            None => run_with(self.inputs, options, make, sink, Some(self.bad_lines)),
        }
    }

    /// Plain NDJSON into `out` (stdout or a file).
    pub fn ndjson(
        self,
        options: &Options,
        out: &mut dyn std::io::Write,
    ) -> brazex_core::Result<Summary> {
        match self.tap {
            Some(tap) => brazex_core::pipeline::run_ndjson_through(options, out, |make, sink| {
                tap.run(self.inputs, options, make, sink, Some(self.bad_lines))
            }),
            None => brazex_core::pipeline::run(self.inputs, options, out, Some(self.bad_lines)),
        }
    }

    /// Runs a typed output; with custom attribute columns, the blocks also carry the
    /// keys their rows sent to the rest (`brazex_core::contract::Watched`): returned.
    pub fn typed<E: Encoder>(
        self,
        options: &Options,
        plan: &Plan,
        max_keys: usize,
        make: &(dyn Fn() -> E + Sync),
        sink: &mut dyn brazex_core::encode::Sink<E::Block>,
    ) -> brazex_core::Result<(Summary, KeyLog)> {
        if plan.custom_keys().is_none() {
            return Ok((self.rows(options, make, sink)?, KeyLog::default()));
        }
        let watched = || Watched(make());
        let mut sink = WatchedSink::new(sink, max_keys);
        let summary = self.rows(options, &watched, &mut sink)?;
        Ok((summary, sink.into_log()))
    }
}

/// Types the plan's unknown columns from the first `--infer-rows` rows (see
/// `brazex_core::table::infer_plan`), saying what it found; returns the inputs to
/// run when a stream was sampled.
pub fn infer(
    plan: &mut Plan,
    inputs: &[Input],
    options: &Options,
    args: &PipelineArgs,
) -> anyhow::Result<Option<Vec<Input>>> {
    let max_keys = usize::try_from(args.out.max_custom_columns).unwrap_or(usize::MAX);
    let inferred = infer_plan(plan, inputs, options, args.out.infer_rows, max_keys)?;
    if !args.quiet {
        let pin = match args.select {
            Some(_) => "pin it with :type or --schema",
            None => "pin it with --schema",
        };
        for (name, ty) in inferred.types {
            crate::report::say(&format!(
                "brazex: column {name}: {ty} (inferred from the first rows; {pin})"
            ));
        }
    }
    Ok(inferred.replay)
}
