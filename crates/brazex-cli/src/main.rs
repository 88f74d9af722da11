//! The `brazex` command: Braze user exports to rows, streaming.

mod args;
mod demo;
mod exit;
mod generate;
mod process;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
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
