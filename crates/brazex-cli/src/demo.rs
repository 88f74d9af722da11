//! `brazex demo`: the whole job offline. Generates a Braze-like export zip of
//! `--users` users in a temporary folder, runs the pipeline on it with a sample
//! `--where` and `--select`, prints the first rows and the summary.

use std::io::{BufRead, BufReader};

use brazex_core::filter::Filter;
use brazex_core::input::Input;
use brazex_core::path::parse_select;
use brazex_core::pipeline::{run, Options};
use brazex_core::select::Selection;

use crate::args::{DemoArgs, GenerateArgs, GenerateFormat};
use crate::exit::UsageError;
use crate::generate::write_export;
use crate::process::describe;

/// The demo's selection: scalar, nested, quoted and `[]` paths.
pub const DEMO_SELECT: &str = "external_id,email,country,revenue=total_revenue,\
plan=custom_attributes.plan,purchases[].name,last_app_use=apps[].last_used";

/// The demo's filter: a string test, a number test and an existential `[]` test.
pub const DEMO_WHERE: &str =
    r#"country == "US" and total_revenue > 10 and exists(purchases[].name)"#;

pub fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let archive = dir.path().join("segment-export.zip");
    eprintln!(
        "brazex demo: generating a Braze-like export of {} users…",
        args.users
    );
    let generated = write_export(&GenerateArgs {
        users: args.users,
        users_per_entry: 5_000,
        seed: 42,
        format: GenerateFormat::Zip,
        output: archive.clone(),
    })?;
    eprintln!(
        "brazex demo: {} entries, {:.1} MB of NDJSON, {:.1} MB zipped",
        generated.entries,
        generated.ndjson_bytes as f64 / 1e6,
        std::fs::metadata(&archive)?.len() as f64 / 1e6
    );
    eprintln!(
        "brazex demo: brazex process segment-export.zip --where '{DEMO_WHERE}' --select '{DEMO_SELECT}'"
    );
    let items = parse_select(DEMO_SELECT).map_err(|e| UsageError(e.to_string()))?;
    let filter = Filter::parse(DEMO_WHERE).map_err(|e| UsageError(e.to_string()))?;
    let options = Options {
        filter: Some(filter),
        selection: Some(Selection::new(&items)),
        ..Options::default()
    };
    let rows = dir.path().join("rows.ndjson");
    let mut out = brazex_core::output::AtomicFile::create(&rows)?;
    let summary = run(&[Input::File(archive)], &options, &mut out, None)?;
    out.commit()?;
    for line in BufReader::new(std::fs::File::open(&rows)?)
        .lines()
        .take(args.show)
    {
        println!("{}", line?);
    }
    if summary.rows_written > args.show as u64 {
        println!("… {} more rows", summary.rows_written - args.show as u64);
    }
    eprintln!("{}", describe(&summary));
    Ok(())
}
