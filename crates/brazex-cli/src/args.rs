//! Command-line arguments, in two steps (as ripgrep does): clap parses and checks the
//! raw flags here; [`crate::process`] turns them into the pipeline's real objects.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// brazex: Braze user exports, from archive to rows, streaming.
#[derive(Debug, Parser)]
#[command(name = "brazex", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// More log output on stderr: -v for each request, retry, poll and resume; -vv for
    /// details (the API key is never shown).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// How stderr is written: lines for people, or one JSON object per line
    /// (timestamp, level, message, fields) for log collectors.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = crate::report::LogFormat::Text, global = true)]
    pub log_format: crate::report::LogFormat,

    /// Write the run's result as one JSON object into FILE (`-`: stderr): status,
    /// exit code, error and its place, counts, bytes, timings, inputs, outputs; also
    /// when the run fails or is cancelled.
    #[arg(long, value_name = "FILE", global = true)]
    pub summary_json: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export a segment from Braze, wait for it, download it and write its rows:
    /// trigger, wait, download and process in one streaming command.
    Run(Box<RunArgs>),
    /// Only trigger an export; print Braze's answer (JSON) on stdout.
    Export(ExportCommandArgs),
    /// Wait for an export URL, download it and write its rows.
    Download(Box<DownloadArgs>),
    /// Read export archives (zip, gzip or NDJSON; files, folders or stdin) and write
    /// NDJSON rows.
    Process(Box<ProcessArgs>),
    /// Run the Braze simulator on loopback (for trying brazex out without Braze).
    Sim(SimArgs),
    /// Write a deterministic Braze-shaped export (zip, gzip or NDJSON) for trying
    /// brazex out and for benchmarks.
    Generate(GenerateArgs),
    /// Run a whole job offline on a generated export and show the result.
    Demo(DemoArgs),
    /// Print the schema a CSV or Parquet run would use (JSON, the manifest's columns
    /// form), for review and for --schema; or compare two schemas with --diff.
    Schema(Box<SchemaArgs>),
    /// Print a shell completion script (source it, or install it where the shell
    /// looks: e.g. `brazex completions bash > /etc/bash_completion.d/brazex`).
    Completions(CompletionsArgs),
    /// Print the manual page (roff; `brazex manpage | man -l -`).
    Manpage(ManpageArgs),
    /// Manifests of sharded runs: `brazex manifest merge PREFIX/` once every
    /// `process --shard K/N` has finished.
    Manifest(ManifestArgs),
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    #[command(subcommand)]
    pub command: ManifestCommand,
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Write PREFIX/_manifest.json covering every shard-K-of-N/ under PREFIX, once all
    /// N shard manifests exist (else exit 1, naming the missing shards).
    Merge(ManifestMergeArgs),
}

#[derive(Debug, Args)]
pub struct ManifestMergeArgs {
    /// The -o PREFIX/ the shards were given (a folder, or an s3://, gs://, az:// prefix).
    #[arg(value_name = "PREFIX")]
    pub prefix: PathBuf,

    /// No summary line on stderr.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

impl Command {
    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Export(_) => "export",
            Command::Download(_) => "download",
            Command::Process(_) => "process",
            Command::Sim(_) => "sim",
            Command::Generate(_) => "generate",
            Command::Demo(_) => "demo",
            Command::Schema(_) => "schema",
            Command::Completions(_) => "completions",
            Command::Manpage(_) => "manpage",
            Command::Manifest(_) => "manifest",
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// Write brazex.1 and a page per command (brazex-run.1, …) into DIR instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// What to do with a line that is not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnErrorArg {
    /// Stop at the first bad line, naming it (exit 1).
    Fail,
    /// Skip bad lines, count them in the summary (see --errors-to).
    Skip,
}

/// Flags shared by every command that runs the pipeline.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Fields to keep: comma-separated `[alias=]path`; `key[]` maps over an array,
    /// `"quoted keys"` may hold dots (e.g. `external_id,rev=total_revenue,purchases[].name`).
    #[arg(long, value_name = "ITEMS")]
    pub select: Option<String>,

    /// Rows to keep: an expression over the record's fields, e.g.
    /// `country == "US" and total_revenue > 0 and purchases[].name == "sku_pro"`
    /// (see the README for the language).
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,

    /// Parse every line, even those that lack the literals --where implies (by default
    /// they are skipped unparsed: the rows out are the same, but an invalid line that
    /// could not match is then counted as filtered rather than reported).
    #[arg(long)]
    pub no_prefilter: bool,

    /// Threads to use (default: the CPUs brazex may run on, or a container's CPU limit
    /// rounded up when that is lower): N workers parse and select,
    /// and a zip file's entries inflate on N threads; 1 runs everything on one
    /// thread (Parquet output adds its encoder threads).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// Longest line accepted; longer ones are errors (accepts K, M, G, KiB, MiB, GiB).
    #[arg(long, value_name = "BYTES", default_value = "16MiB", value_parser = parse_size)]
    pub max_line_bytes: usize,

    /// What to do with a line that is not a JSON object (or is too long).
    #[arg(long, value_enum, default_value_t = OnErrorArg::Fail)]
    pub on_error: OnErrorArg,

    /// With --on-error skip: write each skipped line to FILE as NDJSON
    /// `{entry, line, error, text}`.
    #[arg(long, value_name = "FILE")]
    pub errors_to: Option<PathBuf>,

    /// Write to FILE (under a temporary name, renamed when complete) instead of stdout;
    /// `-o DIR/` writes parts part-00000.<ext>, … and _manifest.json into DIR.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    #[command(flatten)]
    pub out: crate::output::OutputArgs,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Compare two schemas (manifests or files `brazex schema` wrote): print each
    /// difference, and exit 1 when there is one.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with = "inputs")]
    pub diff: Option<Vec<PathBuf>>,

    /// Files, folders, `-` for stdin, or object URLs, as for `process`.
    #[arg(value_name = "INPUT", required_unless_present = "diff")]
    pub inputs: Vec<PathBuf>,

    /// The columns, as for `process --select` (with `:type` pins).
    #[arg(long, value_name = "ITEMS")]
    pub select: Option<String>,

    /// Only rows matching this expression are sampled.
    #[arg(long = "where", value_name = "EXPR")]
    pub where_: Option<String>,

    /// The schema of the normalized tables (users, purchases, …).
    #[arg(long)]
    pub tables: bool,

    /// How custom attributes are written [default: as --schema has them, else json].
    #[arg(long, value_enum, value_name = "HOW")]
    pub custom_attributes: Option<crate::output::CustomArg>,

    /// Rows read to infer the types of columns outside the documented schema.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub infer_rows: u64,

    /// Start from this schema (a manifest or schema file): the printed schema is
    /// what a run with --schema FILE would use.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// With --schema: what a run may add (see `process --schema-evolution`).
    #[arg(long, value_enum, default_value_t = crate::output::EvolutionArg::Evolve, requires = "schema")]
    pub schema_evolution: crate::output::EvolutionArg,

    /// Most distinct custom attribute keys tracked.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_custom_columns: u64,

    /// Threads to use (default: the CPUs brazex may run on, or a container's CPU limit
    /// rounded up when that is lower).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// No notes on stderr (what was inferred).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Files, folders (every file below, in path order) or `-` for stdin (the default).
    /// Each is detected as zip, gzip or NDJSON by its first bytes.
    /// Also `s3://BUCKET/PREFIX`, `gs://…`, `az://CONTAINER/…`: every object below the
    /// prefix, in key order.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Process only shard K of N (K from 0, as JOB_COMPLETION_INDEX) of the inputs'
    /// files or objects: a split every worker computes alike (each object in one
    /// shard, bytes balanced); -o PREFIX/ becomes PREFIX/shard-K-of-N/. Then
    /// `brazex manifest merge PREFIX/`.
    #[arg(long, value_name = "K/N", value_parser = crate::shard::Shard::parse)]
    pub shard: Option<crate::shard::Shard>,

    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// How to reach object stores (`s3://`, `gs://`, `az://` inputs and outputs, `run --bucket`).
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// An S3-compatible endpoint for s3:// URLs (MinIO, Cloudflare R2, a local server),
    /// e.g. http://127.0.0.1:9000 (else AWS_ENDPOINT_URL, else AWS itself).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// A GCS service root for gs:// URLs (an emulator such as fake-gcs-server, a
    /// private endpoint); without Google credentials in the environment, requests
    /// to it are unsigned.
    #[arg(long, value_name = "URL")]
    pub gcs_endpoint: Option<String>,

    /// An Azure Blob service root for az:// URLs (Azurite's http://127.0.0.1:10000,
    /// a sovereign cloud); the account from AZURE_STORAGE_ACCOUNT_NAME.
    #[arg(long, value_name = "URL")]
    pub azure_endpoint: Option<String>,

    /// Objects downloaded at once (each buffers at most 2MiB); rows stay in key
    /// order.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub s3_concurrency: u16,

    /// Upload parts in flight at once, over all outputs to object stores: with
    /// --upload-part-size, the bound on upload memory.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub upload_concurrency: u16,

    /// Size of each upload part to an object store (at least 5MiB, a multiple of
    /// 256KiB; accepts K, M, G, KiB, MiB, GiB).
    #[arg(long, value_name = "BYTES", default_value = "8MiB", value_parser = parse_size)]
    pub upload_part_size: usize,

    /// Resume a download (the export archive, or an object read from a bucket) when
    /// the server sends no byte for this long; time spent waiting for the pipeline to
    /// read does not count.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_positive_duration)]
    pub stall_timeout: std::time::Duration,
}

impl StoreArgs {
    /// The endpoints the flags name.
    pub fn endpoints(&self) -> brazex_braze::Endpoints {
        brazex_braze::Endpoints {
            s3: self.s3_endpoint.clone(),
            gcs: self.gcs_endpoint.clone(),
            azure: self.azure_endpoint.clone(),
        }
    }
}

impl Default for StoreArgs {
    /// The flags' defaults.
    fn default() -> Self {
        StoreArgs {
            s3_endpoint: None,
            gcs_endpoint: None,
            azure_endpoint: None,
            s3_concurrency: 4,
            upload_concurrency: 4,
            upload_part_size: 8 << 20,
            stall_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// Where Braze is and how to sign in.
#[derive(Debug, Args)]
pub struct BrazeArgs {
    /// A file holding the REST API key (else the BRAZE_API_KEY environment variable).
    /// The key needs the users.export.segment permission.
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,

    /// The Braze instance: iad-01 … iad-08, us-10, fra-01, fra-02, au-01, id-01, jp-01,
    /// kr-01 (else BRAZE_REST_ENDPOINT).
    #[arg(long, value_name = "NAME", conflicts_with = "endpoint")]
    pub instance: Option<String>,

    /// The REST endpoint URL, e.g. https://rest.iad-01.braze.com or the simulator's.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
}

/// Output format Braze is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormatArg {
    Zip,
    Gzip,
}

/// What to export.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The segment to export.
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "global_control_group"
    )]
    pub segment_id: Option<String>,

    /// Export the global control group instead of a segment.
    #[arg(long, conflicts_with = "segment_id")]
    pub global_control_group: bool,

    /// fields_to_export, comma-separated (default for `run`: what --select and --where
    /// read, or every field; for `export`: every field).
    #[arg(long, value_name = "FIELDS", value_delimiter = ',')]
    pub fields: Option<Vec<String>>,

    /// custom_attributes_to_export, comma-separated (at most 500). (Not
    /// --custom-attributes: that says how CSV and Parquet write them.)
    #[arg(
        long = "export-custom-attributes",
        alias = "custom-attributes-to-export",
        value_name = "NAMES",
        value_delimiter = ','
    )]
    pub export_custom_attributes: Option<Vec<String>>,

    /// output_format asked of Braze (gzip matters for exports into your own bucket).
    #[arg(long, value_enum, default_value_t = OutputFormatArg::Zip)]
    pub output_format: OutputFormatArg,

    /// callback_endpoint sent to Braze: the public URL that reaches --callback-listen.
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
}

/// How to wait for the export and download it.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// First interval between polls of the export URL, in seconds; it doubles up to 60.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_positive_duration)]
    pub poll_interval: std::time::Duration,

    /// Give up waiting after this long (e.g. 2h, 90m, 600s).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub wait_timeout: std::time::Duration,

    /// Listen on ADDR (e.g. 0.0.0.0:8080) for Braze's callback and proceed as soon as it
    /// comes; polling goes on as a fallback.
    #[arg(long, value_name = "ADDR")]
    pub callback_listen: Option<String>,

    /// How many times a dropped or stalled download is resumed (per ranged request
    /// when entries are fetched by range).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_resumes: u32,

    /// Download the archive as one stream even when its server answers ranged
    /// requests. By default, with --jobs above 1, a zip's entries are fetched by range
    /// (one request each) and decoded side by side.
    #[arg(long)]
    pub one_stream: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub braze: BrazeArgs,
    #[command(flatten)]
    pub export: ExportArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// The company's own bucket Braze exports into (s3://BUCKET[/ROOT], gs://…,
    /// az://…): when Braze answers without a download URL, the export is read from
    /// ROOT/segment-export/SEGMENT_ID/DATE/OBJECT_PREFIX/ there.
    #[arg(long, value_name = "URL")]
    pub bucket: Option<String>,
    /// With --bucket and no callback: the export is complete once its listing has
    /// not changed for this long after the first object appeared.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_positive_duration)]
    pub settle: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct ExportCommandArgs {
    #[command(flatten)]
    pub braze: BrazeArgs,
    #[command(flatten)]
    pub export: ExportArgs,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The export URL (Braze's `url`). It is presigned: no API key is needed or sent.
    pub url: String,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on (loopback).
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: String,
    /// Seconds between a trigger and the export being ready.
    #[arg(long, default_value = "2", value_parser = parse_duration)]
    pub ready_after: std::time::Duration,
    /// Users in the simulator's `all` segment.
    #[arg(long, default_value_t = 20_000)]
    pub users: u64,
}

/// Container format written by `generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenerateFormat {
    /// A zip of NDJSON entries, like Braze's download.
    Zip,
    /// One gzip of all users.
    Gzip,
    /// Plain NDJSON.
    Ndjson,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of users.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Users per zip entry (Braze writes about 5,000).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub users_per_entry: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = GenerateFormat::Zip)]
    pub format: GenerateFormat,
    /// Where to write (written under a temporary name, renamed when complete).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users in the demo segment.
    #[arg(long, default_value_t = 20_000)]
    pub users: u64,
    /// Rows to print (all rows are still processed and counted).
    #[arg(long, default_value_t = 5)]
    pub show: usize,
}

/// Parses a byte size: a number with an optional K, M, G (powers of 1,000) or KiB,
/// MiB, GiB (powers of 1,024) suffix.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 16MiB, 1048576)"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "unknown size unit in '{text}' (use K, M, G, KiB, MiB or GiB)"
            ))
        }
    };
    number
        .checked_mul(factor)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("'{text}' is out of range"))
}

/// Parses a duration: a number with an optional s, m, h or d suffix (seconds if none).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 30s, 15m, 2h)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        "d" => number * 86400.0,
        "ms" => number / 1000.0,
        _ => return Err(format!("unknown unit in '{text}' (use ms, s, m, h or d)")),
    };
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| format!("'{text}' is out of range"))
}

/// A duration that must be more than zero: an interval that doubles from zero stays at
/// zero (`--poll-interval 0` asked the export URL about 500 times a second), a
/// zero `--stall-timeout` fails every read, and a zero `--settle` would take the
/// first listing with an object for the whole export.
pub fn parse_positive_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than 0 (e.g. 5s)".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5 years").is_err());
        assert!(parse_duration("-1").is_err());
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_positive_duration("250ms"),
            Ok(Duration::from_millis(250))
        );
        for zero in ["0", "0s", "0.0m", "0ms"] {
            assert!(parse_positive_duration(zero).is_err(), "{zero}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("2k"), Ok(2000));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
