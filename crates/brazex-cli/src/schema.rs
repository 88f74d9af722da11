//! `brazex schema`: the schema a CSV or Parquet run would use, printed for review
//! and for `--schema`; and `--diff`, which compares two schemas.
//!
//! The schema comes from the same code as a run's ([`crate::output::plan`] and
//! inference over the first rows), so what is printed is what a run writes.

use std::path::PathBuf;

use brazex_core::contract::{diff, PinnedSchema};

use crate::args::{OnErrorArg, PipelineArgs, SchemaArgs};
use crate::exit::SchemasDiffer;
use crate::output::{FormatArg, OutputArgs};

pub fn schema(args: &SchemaArgs) -> anyhow::Result<()> {
    if let Some(paths) = &args.diff {
        return compare(&paths[0], &paths[1], args);
    }
    let pipeline = pipeline_args(args);
    let options = crate::process::options(&pipeline)?;
    let inputs = crate::bucket::expand_inputs(&args.inputs, &args.store)?;
    let pinned = crate::output::read_schema(&pipeline)?;
    let contract = crate::output::contract(&pipeline, pinned.as_ref())?;
    let mut plan = crate::output::plan(&pipeline, &contract)?;
    crate::exit::set_phase("sampling the first rows");
    crate::output::infer(&mut plan, &inputs.inputs, &options, &pipeline)?;
    if let Some(line) = plan.changes().describe().filter(|_| !args.quiet) {
        crate::report::say(&line);
    }
    let doc = PinnedSchema::of(&plan, plan.custom_attributes());
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// `--diff OLD NEW`: the columns as each wrote them (a manifest's rest keys are
/// not columns yet).
fn compare(old: &std::path::Path, new: &std::path::Path, args: &SchemaArgs) -> anyhow::Result<()> {
    let old = crate::output::read_schema_at(old, &args.store, false)?;
    let new = crate::output::read_schema_at(new, &args.store, false)?;
    let differences = diff(&old, &new);
    for line in &differences {
        println!("{line}");
    }
    if differences.is_empty() {
        if !args.quiet {
            crate::report::say(&format!(
                "brazex: {} and {} have the same schema",
                old.source, new.source
            ));
        }
        return Ok(());
    }
    Err(SchemasDiffer.into())
}

/// The pipeline flags a typed run with these flags would have.
fn pipeline_args(args: &SchemaArgs) -> PipelineArgs {
    PipelineArgs {
        select: args.select.clone(),
        where_: args.where_.clone(),
        no_prefilter: false,
        jobs: args.jobs,
        max_line_bytes: 16 << 20,
        on_error: OnErrorArg::Skip,
        errors_to: None,
        output: None::<PathBuf>,
        quiet: args.quiet,
        out: OutputArgs {
            format: FormatArg::Parquet,
            tables: args.tables,
            custom_attributes: args.custom_attributes,
            infer_rows: args.infer_rows,
            schema: args.schema.clone(),
            schema_evolution: Some(args.schema_evolution),
            max_custom_columns: args.max_custom_columns,
            ..OutputArgs::default()
        },
        store: args.store.clone(),
    }
}
