//! The `brazex` command: Braze user exports to rows, streaming.

mod args;
mod braze;
mod bucket;
mod demo;
mod exit;
mod generate;
mod output;
mod process;
mod sim;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    logging(cli.verbose);
    let result = match &cli.command {
        Command::Run(args) => braze::run(args),
        Command::Export(args) => braze::export(args),
        Command::Download(args) => braze::download(args),
        Command::Sim(args) => sim::sim(args),
        Command::Process(args) => process::process(args),
        Command::Generate(args) => generate::generate(args),
        Command::Demo(args) => demo::demo(args),
    };
    if let Err(error) = result {
        let (code, report) = exit::code(&error);
        if report {
            eprintln!("brazex: error: {error:#}");
        }
        std::process::exit(code);
    }
}

/// Logs go to stderr: warnings by default (retries, resumes), -v for each request,
/// poll and resume, -vv for details. Only brazex's own crates log above warnings: the
/// HTTP stack's debug output would show headers. The API key is never logged (it only
/// exists as a sensitive header value).
fn logging(verbose: u8) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let targets = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::WARN)
        .with_targets(["brazex", "brazex_braze", "brazex_core", "brazex_sim"].map(|t| (t, level)));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(verbose > 1)
        .without_time();
    tracing_subscriber::registry()
        .with(layer)
        .with(targets)
        .init();
}
