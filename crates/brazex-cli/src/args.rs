//! Command-line arguments, in two steps (as ripgrep does): clap parses and checks the
//! raw flags here; [`crate::process`] turns them into the pipeline's real objects.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// brazex: Braze user exports, from archive to rows, streaming.
#[derive(Debug, Parser)]
#[command(name = "brazex", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read export archives (zip, gzip or NDJSON; files, folders or stdin) and write
    /// NDJSON rows.
    Process(ProcessArgs),
    /// Write a deterministic Braze-shaped export (zip, gzip or NDJSON) for trying
    /// brazex out and for benchmarks.
    Generate(GenerateArgs),
    /// Run a whole job offline on a generated export and show the result.
    Demo(DemoArgs),
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
#[derive(Debug, Args)]
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

    /// Worker threads for parsing and selecting (default: the number of cores).
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

    /// Write to FILE (under a temporary name, renamed when complete) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Files, folders (every file below, in path order) or `-` for stdin (the default).
    /// Each is detected as zip, gzip or NDJSON by its first bytes.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub pipeline: PipelineArgs,
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
    #[arg(long, default_value_t = 5_000)]
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
    /// Users in the demo export.
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

#[cfg(test)]
mod tests {
    use super::*;

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
