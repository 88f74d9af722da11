//! `brazex generate`: a deterministic Braze-shaped export, for trying brazex out and
//! for benchmarks.

use brazex_core::output::Staging;
use brazex_sim::{
    write_gzip, write_ndjson, write_zip, ExportSummary, GeneratorConfig, UserGenerator,
};

use crate::args::{GenerateArgs, GenerateFormat};

pub fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let summary = write_export(args)?;
    eprintln!(
        "brazex: wrote {} users in {} entries ({:.1} MB of NDJSON) to {}",
        summary.users,
        summary.entries,
        summary.ndjson_bytes as f64 / 1e6,
        args.output.display()
    );
    Ok(())
}

/// Writes the export described by `args`; the file appears only when complete.
pub fn write_export(args: &GenerateArgs) -> anyhow::Result<ExportSummary> {
    crate::output::refuse_url(&args.output, "-o")?;
    let generator = UserGenerator::new(GeneratorConfig::new(args.seed));
    let staging = Staging::new();
    let mut file = staging.create(&args.output)?;
    crate::output::report_cleaned(&staging, false);
    let summary = match args.format {
        GenerateFormat::Zip => write_zip(
            &generator,
            args.users,
            args.users_per_entry,
            file.seekable()?,
        )?,
        GenerateFormat::Gzip => write_gzip(&generator, 0..args.users, &mut file)?,
        GenerateFormat::Ndjson => write_ndjson(&generator, 0..args.users, &mut file)?,
    };
    file.finish()?;
    staging.commit()?;
    Ok(summary)
}
