//! Output formats and layouts beyond plain NDJSON: `--format csv|parquet`, a folder
//! of rotating parts (`-o DIR/`), `--compress`, `--tables`, and `_manifest.json`.
//!
//! Plain NDJSON to stdout or one file keeps the original path ([`is_plain`]); every
//! other output is wired here from the flags: the format's sink (`brazex_parquet`,
//! `brazex_dest::parts::ByteSink`) writing into the destination (`brazex_dest`: a
//! local folder or an object-store prefix alike), the manifest last.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use brazex_core::delimited::{csv_header, CsvEncoder, NdjsonRows};
use brazex_core::encode::{Encoder, Rows};
use brazex_core::input::Input;
use brazex_core::path::{parse_select, parse_select_pinned, SelectItem};
use brazex_core::pipeline::{run_with, BadLineSink, Options, Summary};
use brazex_core::schema::ColumnType;
use brazex_core::table::{infer_plan, Plan};
use brazex_dest::manifest::{Manifest, MANIFEST};
use brazex_dest::parts::{ByteSink, Compress, PartOptions, Parts};
use brazex_dest::{Location, Run, StoreOptions, Target};
use brazex_parquet::{Codec, ParquetEncoder, ParquetOptions, ParquetSink};
use clap::{Args, ValueEnum};

use crate::args::{parse_size, PipelineArgs};
use crate::exit::UsageError;

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
#[derive(Debug, Args)]
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
    /// --row-group-bytes).
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
        }
    }
}

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
        && !matches!(target(args.output.as_deref()), Ok(Target::Dir(_)))
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

/// Parses `--select` as the format wants it: typed formats accept `path:type` pins.
pub fn select_items(text: &str, args: &PipelineArgs) -> anyhow::Result<Vec<SelectItem>> {
    let items = if args.out.format == FormatArg::Ndjson {
        parse_select(text)
    } else {
        parse_select_pinned(text).map(|(items, _)| items)
    };
    items.map_err(|e| UsageError(format!("--select: {e}")).into())
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// The plan of a typed output (CSV, Parquet), with pins applied.
fn plan(args: &PipelineArgs) -> anyhow::Result<Plan> {
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
) -> anyhow::Result<Summary> {
    let out = &args.out;
    let started = SystemTime::now();
    let target = target(args.output.as_deref())?;
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
    if out.format != FormatArg::Parquet && out.compression.is_some() {
        return Err(usage(
            "--compression is for --format parquet (see --compress)",
        ));
    }
    if out.tables && out.format == FormatArg::Ndjson {
        return Err(usage("--tables needs --format csv or parquet"));
    }
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
            let mut plan = plan(args)?;
            if let Some(replayed) = infer(&mut plan, inputs, options, args)? {
                replay = replayed;
                inputs = &replay;
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
            // Each block becomes one record batch per table, and Arrow and Parquet have
            // a fixed cost per batch and column (about 10 % of the time at 512 KiB):
            // larger blocks amortize it, for a few MiB more in flight.
            let options = Options {
                block_bytes: options.block_bytes.max(PARQUET_BLOCK_BYTES),
                ..options.clone()
            };
            let summary = run_with(inputs, &options, &make, &mut sink, Some(bad_lines))?;
            (summary, sink.finish()?)
        }
        (FormatArg::Csv, Some(plan)) => {
            let headers = (0..plan.tables().len()).map(|t| Some(csv_header(plan, t)));
            let mut sink = ByteSink::new(parts.into_iter().zip(headers).collect());
            let make = || CsvEncoder::new(plan.clone());
            let summary = run_with(inputs, options, &make, &mut sink, Some(bad_lines))?;
            (summary, sink.finish()?)
        }
        _ => {
            let selection = options.selection.clone().map(Arc::new);
            let mut sink = ByteSink::new(parts.into_iter().map(|p| (p, None)).collect());
            let make = || NdjsonRows::new(selection.clone());
            let summary = run_bytes(inputs, options, &make, &mut sink, bad_lines)?;
            (summary, sink.finish()?)
        }
    };
    if let Some(dir) = &dir {
        let source = source.cloned().unwrap_or_else(|| {
            serde_json::json!({"inputs": inputs.iter().map(|i| i.label().to_string()).collect::<Vec<_>>()})
        });
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
            selected: args.select.is_some(),
            names: &table_names,
            normalized,
            files: &files,
            summary: &summary,
            started,
        };
        // Redshift's lists, then ours: created last, committed last, so once the
        // manifest is there, every part is.
        for (at, redshift) in manifest.redshift(dir) {
            write_json(staging, &at, &redshift)?;
        }
        write_json(staging, &dir.join(MANIFEST), &manifest.to_json())?;
    } else if let Target::File(_) = &target {
        // The single file, like the errors file, is renamed by the caller's commit.
        report_cleaned(staging.take_cleaned(), args.quiet);
    }
    Ok(summary)
}

/// Writes a JSON document into the run (a manifest).
fn write_json(staging: &Run, at: &Location, value: &serde_json::Value) -> anyhow::Result<()> {
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
        eprintln!(
            "brazex: removed {} temporary file{} left by an earlier run that did not finish: {}",
            files.len(),
            plural(files.len()),
            list(&files)
        );
    }
    if !uploads.is_empty() {
        eprintln!(
            "brazex: aborted {} pending upload{} left by an earlier run that did not finish: {}",
            uploads.len(),
            plural(uploads.len()),
            list(&uploads)
        );
    }
}

fn run_bytes<E: Encoder<Block = Vec<Rows>>>(
    inputs: &[Input],
    options: &Options,
    make: &(dyn Fn() -> E + Sync),
    sink: &mut ByteSink,
    bad_lines: BadLineSink<'_>,
) -> brazex_core::Result<Summary> {
    run_with(inputs, options, make, sink, Some(bad_lines))
}

/// Types the plan's unknown columns from the first `--infer-rows` rows (see
/// `brazex_core::table::infer_plan`), saying what it found; returns the inputs to
/// run when a stream was sampled.
fn infer(
    plan: &mut Plan,
    inputs: &[Input],
    options: &Options,
    args: &PipelineArgs,
) -> anyhow::Result<Option<Vec<Input>>> {
    let inferred = infer_plan(plan, inputs, options, args.out.infer_rows)?;
    if !args.quiet {
        for (column, ty) in inferred.types {
            eprintln!(
                "brazex: column {}: {ty} (inferred from the first rows; pin it with :type)",
                plan.tables()[0].columns[column].name
            );
        }
    }
    Ok(inferred.replay)
}
