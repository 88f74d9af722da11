//! `brazex demo`: the whole job offline. Starts the Braze simulator on a free loopback
//! port, runs `brazex run` against it on a demo segment with a sample `--where` and
//! `--select` (trigger, wait, streaming download, process), prints the first rows and
//! the summary.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use anyhow::Context;
use brazex_braze::{ApiKey, BrazeClient, ExportTarget, RetryPolicy};
use brazex_sim::{SimConfig, Simulator};

use crate::args::{
    BrazeArgs, DemoArgs, ExportArgs, OnErrorArg, OutputFormatArg, PipelineArgs, RunArgs, StoreArgs,
    WaitArgs,
};
use crate::braze::{export_request, run_export, runtime};
use crate::process::{describe, options};

/// The demo's selection: scalar, nested, quoted and `[]` paths.
pub const DEMO_SELECT: &str = "external_id,email,country,revenue=total_revenue,\
plan=custom_attributes.plan,purchases[].name,last_app_use=apps[].last_used";

/// The demo's filter: a string test, a number test and an existential `[]` test.
pub const DEMO_WHERE: &str =
    r#"country == "US" and total_revenue > 10 and exists(purchases[].name)"#;

pub fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let mut config = SimConfig::new(dir.path().join("spool"));
    for segment in &mut config.segments {
        if segment.id == "all" {
            segment.users = args.users;
        }
    }
    let sim = Simulator::spawn_background(config)?;
    crate::report::say(&format!(
        "brazex demo: Braze simulator on {} (segment 'all': {} users)",
        sim.endpoint(),
        args.users
    ));
    let rows = dir.path().join("rows.ndjson");
    let run = RunArgs {
        braze: BrazeArgs {
            api_key_file: None,
            instance: None,
            endpoint: Some(sim.endpoint().to_string()),
        },
        export: ExportArgs {
            segment_id: Some("all".into()),
            global_control_group: false,
            fields: None,
            export_custom_attributes: None,
            output_format: OutputFormatArg::Zip,
            callback_url: None,
        },
        wait: WaitArgs {
            poll_interval: Duration::from_millis(500),
            wait_timeout: Duration::from_secs(300),
            callback_listen: None,
            max_resumes: 10,
            one_stream: false,
        },
        pipeline: PipelineArgs {
            select: Some(DEMO_SELECT.into()),
            where_: Some(DEMO_WHERE.into()),
            no_prefilter: false,
            jobs: None,
            max_line_bytes: 16 << 20,
            on_error: OnErrorArg::Fail,
            errors_to: None,
            output: Some(rows.clone()),
            quiet: false,
            out: crate::output::OutputArgs::default(),
            store: StoreArgs::default(),
        },
        bucket: None,
        settle: Duration::from_secs(120),
    };
    crate::report::say(&format!(
        "brazex demo: brazex run --endpoint {} --segment-id all --where '{DEMO_WHERE}' --select '{DEMO_SELECT}'",
        sim.endpoint()
    ));
    let options = options(&run.pipeline)?;
    let request = export_request(&run.export, Some(&run.pipeline), &options)?;
    let key = ApiKey::new(sim.api_key())?;
    let client = BrazeClient::new(sim.endpoint(), key, RetryPolicy::default())?;
    let runtime = runtime()?;
    let summary = run_export(
        &runtime,
        &client,
        &ExportTarget::Segment("all".into()),
        &request,
        &run.wait,
        &options,
        &run.pipeline,
        None,
    )?;
    for line in BufReader::new(std::fs::File::open(&rows)?)
        .lines()
        .take(args.show)
    {
        println!("{}", line?);
    }
    if summary.rows_written > args.show as u64 {
        println!("… {} more rows", summary.rows_written - args.show as u64);
    }
    crate::report::say(&describe(&summary));
    sim.shutdown();
    Ok(())
}
