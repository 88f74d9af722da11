//! `brazex generate`: a deterministic Braze-shaped export, for trying brazex out and
//! for benchmarks.

use brazex_dest::local::Staging;
use brazex_dest::Location;
use brazex_sim::{
    write_gzip, write_ndjson, write_zip, ExportSummary, GeneratorConfig, UserGenerator,
};

use crate::args::{GenerateArgs, GenerateFormat};

pub fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let summary = write_export(args)?;
    crate::report::say(&format!(
        "brazex: wrote {} users in {} entries ({:.1} MB of NDJSON) to {}",
        summary.users,
        summary.entries,
        summary.ndjson_bytes as f64 / 1e6,
        args.output.display()
    ));
    Ok(())
}

/// Writes the export described by `args`; the file appears only when complete.
pub fn write_export(args: &GenerateArgs) -> anyhow::Result<ExportSummary> {
    let Location::Path(path) = crate::output::file_location(&args.output, "-o")? else {
        return Err(crate::exit::UsageError(format!(
            "-o {}: brazex generate writes a local file (a zip is written by seeking back); \
             upload it afterwards",
            args.output.display()
        ))
        .into());
    };
    let generator = UserGenerator::new(GeneratorConfig::new(args.seed));
    let staging = Staging::new();
    let mut file = staging.create(&path)?;
    crate::output::report_cleaned(
        staging
            .take_cleaned()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        false,
    );
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
