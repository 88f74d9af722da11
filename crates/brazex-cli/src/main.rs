//! The `brazex` command: Braze user exports to rows, streaming.

mod args;
mod braze;
mod bucket;
mod demo;
mod exit;
mod generate;
mod incremental;
mod output;
mod postgres;
mod process;
mod report;
mod schema;
mod shard;
mod shell;
mod signals;
mod sim;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() {
    tune_allocator();
    let cli = Cli::parse();
    report::init(
        cli.log_format,
        cli.summary_json.as_deref(),
        cli.command.name(),
    );
    logging(cli.verbose, cli.log_format);
    // The simulator stops on its own Ctrl-C; every other command writes output that
    // a signal must cancel cleanly.
    if !matches!(cli.command, Command::Sim(_)) {
        signals::install();
    }
    let result = match &cli.command {
        Command::Run(args) => braze::run(args),
        Command::Export(args) => braze::export(args),
        Command::Download(args) => braze::download(args),
        Command::Sim(args) => sim::sim(args),
        Command::Process(args) => process::process(args),
        Command::Generate(args) => generate::generate(args),
        Command::Demo(args) => demo::demo(args),
        Command::Schema(args) => schema::schema(args),
        Command::Completions(args) => shell::completions(args),
        Command::Manpage(args) => shell::manpage(args),
        Command::Manifest(args) => match &args.command {
            args::ManifestCommand::Merge(args) => shard::merge(args),
        },
    };
    let Err(error) = result else {
        report::finish(report::Status::Succeeded, exit::SUCCESS, None);
        return;
    };
    let (code, shown) = exit::code(&error);
    // Once a stop was requested, whatever error ended the run came of it.
    let signal = interrupted(&error).or_else(brazex_core::cancel::requested);
    let code = signal.map_or(code, |signal| 128 + signal);
    let text = message(&error);
    let place = place(&error);
    match signal {
        Some(signal) => report::cancelled(&exit::cancelled(signal), code),
        None if shown => {
            report::error(&text, code, place.as_ref());
            // What the failed run wrote was removed, but for what it could not be
            // (an object the credentials may not delete): each, with why.
            for left in &brazex_core::cancel::undone().left {
                report::say(&format!("brazex: could not remove {left}"));
            }
            report::finish(report::Status::Failed, code, Some((text, place)));
        }
        // A reader of stdout that went away: the run ends as a success would.
        None if code == exit::SUCCESS => {
            report::finish(report::Status::Succeeded, code, None);
        }
        None => report::finish(report::Status::Failed, code, Some((text, place))),
    }
    std::process::exit(code);
}

/// Where the error is, for `--summary-json` and JSON logs: `{entry, line}` of a bad
/// line, `{input, entry, offset}` of archive damage, `{argument, offset}` of a
/// `--select` or `--where` that does not parse.
fn place(error: &anyhow::Error) -> Option<serde_json::Value> {
    use brazex_core::Error;
    error.chain().find_map(|cause| {
        let e = cause.downcast_ref::<Error>()?;
        let line = |p: &brazex_core::error::LinePlace| {
            serde_json::json!({"entry": &*p.entry, "line": p.line})
        };
        match e {
            Error::InvalidJson { place, .. }
            | Error::Column { place, .. }
            | Error::Contract { place, .. }
            | Error::Key { place, .. }
            | Error::LineTooLong { place, .. } => Some(line(place)),
            Error::Archive {
                input,
                entry,
                offset,
                ..
            } => Some(serde_json::json!({"input": &**input, "entry": entry, "offset": offset})),
            Error::Syntax(s) => Some(serde_json::json!({"argument": s.input, "offset": s.pos})),
            _ => None,
        }
    })
}

/// The error and its causes in one line, each cause once: errors that name their
/// cause in their own message (`cannot write X: No space left on device`) are not
/// followed by it again.
fn message(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text += ": ";
            }
            text += &part;
        }
    }
    text
}

/// The signal that cancelled the run, when that is how it ended.
fn interrupted(error: &anyhow::Error) -> Option<i32> {
    error.chain().find_map(|cause| match cause.downcast_ref() {
        Some(brazex_core::Error::Interrupted { signal }) => Some(*signal),
        _ => None,
    })
}

/// Logs go to stderr: warnings by default (retries, resumes), -v for each request,
/// poll and resume, -vv for details. Only brazex's own crates log above warnings: the
/// HTTP stack's debug output would show headers. The API key is never logged (it only
/// exists as a sensitive header value).
fn logging(verbose: u8, format: report::LogFormat) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    // brazex's own report lines (`report::say`) are events only in JSON mode, and
    // always shown there.
    let targets = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::WARN)
        .with_targets(["brazex", "brazex_braze", "brazex_core", "brazex_sim"].map(|t| (t, level)))
        .with_target("brazex::report", tracing::Level::INFO);
    let registry = tracing_subscriber::registry().with(targets);
    match format {
        report::LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(verbose > 1)
                    .without_time(),
            )
            .init(),
        report::LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}

/// Fixes glibc's allocator thresholds, for a speed and a memory that do not drift.
///
/// Blocks and column values are allocated on one thread and freed on another, and
/// glibc's default raises its mmap threshold after such frees, so the freed blocks stay
/// in per-thread arenas: peak RSS of a Parquet conversion then grew with the input
/// (144 MiB at 309 MB, 171 MiB at 1.2 GB). Fixing the trim threshold at 1 MiB returns
/// what an arena frees at its top. Fixing it also stops the mmap threshold from moving,
/// and at its 128 KiB start every column buffer, block and Parquet page was a fresh
/// mapping, zeroed page by page by the kernel: 84,000 page faults and about 4 % of the
/// CPU of a 309 MB conversion. At 32 MiB (the most glibc itself would raise it to)
/// they come from the arenas: half the page faults, peak RSS flat with the input
/// (BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; it is called first thing in
    // main, before any other thread exists. A refusal (return 0) leaves the defaults.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}
