//! `brazex completions SHELL` and `brazex manpage`: generated from the clap
//! definitions in [`crate::args`], so they name exactly the flags brazex takes.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManpageArgs};

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "brazex", &mut script);
    write_stdout(&script)
}

/// `brazex(1)` to stdout; with `--dir`, it and a page per command (`brazex-run(1)`,
/// …), as packagers install them.
pub fn manpage(args: &ManpageArgs) -> anyhow::Result<()> {
    let command = Cli::command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            write_stdout(&page)
        }
        Some(dir) => write_pages(command, dir),
    }
}

fn write_pages(command: clap::Command, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(command, dir)
        .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
    Ok(())
}

/// Writes to stdout; a reader that went away (`brazex manpage | head`) ends the
/// run quietly, as for rows (see `crate::exit`).
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}
