//! `brazex run`, `brazex export` and `brazex download`: the Braze side of the job,
//! wired to the pipeline.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use brazex_braze::{
    instance_endpoint, ApiKey, BrazeClient, BrazeError, CallbackReceiver, Download,
    DownloadOptions, DownloadProgress, ExportRequest, ExportTarget, HttpRanges, OutputFormat,
    RetryPolicy, WaitEvent, WaitOptions,
};
use brazex_core::fields::{export_field_for, EXPORT_FIELDS};
use brazex_core::input::{Input, RangedInput, StreamInput};
use brazex_core::path::{parse_select, Path as FieldPath};
use brazex_core::pipeline::{Options, Summary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::{
    BrazeArgs, DownloadArgs, ExportArgs, ExportCommandArgs, OutputFormatArg, PipelineArgs, RunArgs,
    StoreArgs, WaitArgs,
};
use crate::exit::UsageError;
use crate::process::{describe, options, run_to_output};

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "BRAZE_API_KEY";
/// The environment variable holding the REST endpoint URL.
pub const ENDPOINT_ENV: &str = "BRAZE_REST_ENDPOINT";

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let options = options(&args.pipeline)?;
    crate::postgres::check_target(&args.pipeline)?;
    crate::incremental::check(&args.pipeline)?;
    let request = export_request(&args.export, Some(&args.pipeline), &options)?;
    let client = client(&args.braze)?;
    let runtime = runtime()?;
    let summary = run_export(
        &runtime,
        &client,
        &target(&args.export),
        &request,
        &args.wait,
        &options,
        &args.pipeline,
        args.bucket.as_deref().map(|root| BucketTarget {
            root,
            store: &args.pipeline.store,
            settle: args.settle,
        }),
    )?;
    if !args.pipeline.quiet {
        crate::report::say(&describe(&summary));
    }
    Ok(())
}

/// `run --bucket`: the company's own bucket, where Braze writes the export when its
/// answer has no URL.
#[derive(Debug, Clone, Copy)]
pub struct BucketTarget<'a> {
    pub root: &'a str,
    pub store: &'a StoreArgs,
    pub settle: Duration,
}

pub fn export(args: &ExportCommandArgs) -> anyhow::Result<()> {
    let request = export_request(&args.export, None, &Options::default())?;
    let client = client(&args.braze)?;
    let response = runtime()?.block_on(client.trigger(&target(&args.export), &request))?;
    println!("{}", response.raw);
    Ok(())
}

pub fn download(args: &DownloadArgs) -> anyhow::Result<()> {
    let options = options(&args.pipeline)?;
    let client = BrazeClient::for_downloads(RetryPolicy::default())?;
    let runtime = runtime()?;
    let callback = match &args.wait.callback_listen {
        Some(addr) => Some(runtime.block_on(CallbackReceiver::bind(addr))?),
        None => None,
    };
    let summary = wait_and_process(
        &runtime,
        &client,
        &args.url,
        "download",
        &args.wait,
        callback,
        &options,
        &args.pipeline,
        None,
    )?;
    if !args.pipeline.quiet {
        crate::report::say(&describe(&summary));
    }
    Ok(())
}

/// Trigger, wait, download and process: the whole job. Used by `run` and `demo`.
#[allow(clippy::too_many_arguments)]
pub fn run_export(
    runtime: &tokio::runtime::Runtime,
    client: &BrazeClient,
    target: &ExportTarget,
    request: &ExportRequest,
    wait: &WaitArgs,
    options: &Options,
    pipeline: &PipelineArgs,
    bucket: Option<BucketTarget<'_>>,
) -> anyhow::Result<Summary> {
    let mut callback = match &wait.callback_listen {
        Some(addr) => Some(runtime.block_on(CallbackReceiver::bind(addr))?),
        None => None,
    };
    // The bucket's date folder is the UTC day of completion: from the trigger's day on.
    let triggered = std::time::SystemTime::now();
    let response = crate::signals::block_on(
        runtime,
        "triggering the export",
        client.trigger(target, request),
    )?;
    let object_prefix = response
        .object_prefix
        .clone()
        .unwrap_or_else(|| "export".into());
    if !pipeline.quiet {
        crate::report::say(&format!(
            "brazex: Braze accepted the export (object_prefix {object_prefix})"
        ));
    }
    let segment_id = match target {
        ExportTarget::Segment(id) => Some(id.as_str()),
        _ => None,
    };
    let source = crate::output::braze_source(&object_prefix, segment_id);
    // Known from here on, also to the summary of a run that then fails.
    crate::report::record("braze", source["braze"].clone());
    let url = match (response.url.clone(), bucket) {
        (Some(url), _) => url,
        (None, Some(bucket)) => {
            let segment_id = match target {
                ExportTarget::Segment(id) => id.as_str(),
                // Not documented by Braze; its files are said to be the same.
                ExportTarget::GlobalControlGroup => "global_control_group",
            };
            let inputs = crate::bucket::export_inputs(
                runtime,
                bucket.root,
                bucket.store,
                segment_id,
                &object_prefix,
                triggered,
                crate::bucket::bucket_wait(wait.poll_interval, bucket.settle, wait.wait_timeout),
                callback.as_mut(),
                pipeline.quiet,
            )?;
            drop(callback);
            return run_to_output(&inputs, options, pipeline, Some(&source));
        }
        (None, None) => {
            return Err(BrazeError::NoUrl {
                object_prefix: object_prefix.clone(),
            }
            .into())
        }
    };
    let label = format!("{object_prefix}.zip");
    wait_and_process(
        runtime,
        client,
        &url,
        &label,
        wait,
        callback,
        options,
        pipeline,
        Some(&source),
    )
}

/// Waits for `url` (polling, or Braze's call to `callback`), then downloads and
/// processes it.
#[allow(clippy::too_many_arguments)]
fn wait_and_process(
    runtime: &tokio::runtime::Runtime,
    client: &BrazeClient,
    url: &str,
    label: &str,
    wait: &WaitArgs,
    mut callback: Option<CallbackReceiver>,
    options: &Options,
    pipeline: &PipelineArgs,
    source: Option<&serde_json::Value>,
) -> anyhow::Result<Summary> {
    let spinner = spinner(pipeline.quiet);
    let on_event = |event: WaitEvent| match event {
        WaitEvent::NotReady { elapsed, next_poll } => spinner.set_message(format!(
            "waiting for the export: {}s, next poll in {}s",
            elapsed.as_secs(),
            next_poll.as_secs()
        )),
        WaitEvent::Ready { .. } => spinner.finish_and_clear(),
    };
    let ready = crate::signals::block_on(
        runtime,
        "waiting for the export",
        client.wait_ready(url, &wait_options(wait), callback.as_mut(), &on_event),
    );
    spinner.finish_and_clear();
    let ready = ready?;
    // The listener is done once the export is ready.
    drop(callback);
    download_and_process(
        runtime, client, ready, label, wait, options, pipeline, source,
    )
}

#[allow(clippy::too_many_arguments)]
fn download_and_process(
    runtime: &tokio::runtime::Runtime,
    client: &BrazeClient,
    url: String,
    label: &str,
    wait: &WaitArgs,
    options: &Options,
    pipeline: &PipelineArgs,
    source: Option<&serde_json::Value>,
) -> anyhow::Result<Summary> {
    let download_options = DownloadOptions {
        stall_timeout: pipeline.store.stall_timeout,
        max_resumes: wait.max_resumes,
        ..DownloadOptions::default()
    };
    // With several jobs and a server that answers ranged requests, a zip's entries are
    // fetched and decoded side by side (one ranged GET per entry), as for a file.
    let ranged = (options.jobs > 1 && !wait.one_stream)
        .then(|| HttpRanges::probe(client, runtime.handle(), &url, download_options.clone()))
        .flatten();
    let (input, progress) = match ranged {
        Some(ranges) => {
            let progress = ranges.progress();
            let input = Input::Ranged(RangedInput::new(label.to_string(), Arc::new(ranges)));
            (input, progress)
        }
        None => {
            let download = Download::start(client, runtime.handle(), url, download_options);
            let progress = download.progress();
            let input = Input::Stream(StreamInput::new(label.to_string(), Box::new(download)));
            (input, progress)
        }
    };
    let bar = DownloadBar::start(progress.clone(), pipeline.quiet);
    crate::exit::set_phase("downloading and processing the export");
    let result = run_to_output(&[input], options, pipeline, source);
    bar.finish();
    let summary = result?;
    let resumes = progress.resumes.load(Ordering::Relaxed);
    if resumes > 0 && !pipeline.quiet {
        crate::report::say(&format!("brazex: the download was resumed {resumes} times"));
    }
    Ok(summary)
}

/// The client from flags and environment.
pub fn client(args: &BrazeArgs) -> anyhow::Result<BrazeClient> {
    let key = match &args.api_key_file {
        Some(path) => read_key_file(path)?,
        None => match std::env::var(API_KEY_ENV) {
            Ok(text) => text,
            Err(_) => {
                return Err(UsageError(format!(
                    "no API key: set {API_KEY_ENV} or give --api-key-file PATH"
                ))
                .into())
            }
        },
    };
    let key = ApiKey::new(&key).map_err(|e| UsageError(e.to_string()))?;
    let endpoint = match (&args.endpoint, &args.instance) {
        (Some(url), _) => url.clone(),
        (None, Some(name)) => instance_endpoint(name)
            .map_err(|e| UsageError(e.to_string()))?
            .to_string(),
        (None, None) => std::env::var(ENDPOINT_ENV).map_err(|_| {
            UsageError(format!(
                "no Braze endpoint: give --instance (e.g. iad-01), --endpoint URL or set {ENDPOINT_ENV}"
            ))
        })?,
    };
    BrazeClient::new(&endpoint, key, RetryPolicy::default())
        .map_err(|e| UsageError(e.to_string()).into())
}

fn read_key_file(path: &Path) -> anyhow::Result<String> {
    // The error names the file, never its content.
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the API key file {}", path.display()))
}

fn target(args: &ExportArgs) -> ExportTarget {
    match &args.segment_id {
        Some(id) if !args.global_control_group => ExportTarget::Segment(id.clone()),
        _ => ExportTarget::GlobalControlGroup,
    }
}

/// The export request: `--fields` as given, or derived from what `--select` and
/// `--where` read (with `--select`; without it the rows are whole records, so every
/// field is asked for). Printed on stderr.
pub fn export_request(
    args: &ExportArgs,
    pipeline: Option<&PipelineArgs>,
    options: &Options,
) -> anyhow::Result<ExportRequest> {
    let derived = match (&args.fields, pipeline.and_then(|p| p.select.as_deref())) {
        (Some(fields), _) => (
            fields.clone(),
            args.export_custom_attributes.clone().unwrap_or_default(),
        ),
        (None, Some(select)) => {
            let mut paths: Vec<FieldPath> = parse_select(select)
                .map_err(|e| UsageError(format!("--select: {e}")))?
                .into_iter()
                .map(|item| item.path)
                .collect();
            if let Some(filter) = &options.filter {
                paths.extend(filter.paths().filter_map(|p| FieldPath::parse(p).ok()));
            }
            let (fields, mut custom) = fields_for(&paths);
            custom.extend(args.export_custom_attributes.clone().unwrap_or_default());
            (fields, custom)
        }
        (None, None) => (
            EXPORT_FIELDS.iter().map(|f| f.to_string()).collect(),
            args.export_custom_attributes.clone().unwrap_or_default(),
        ),
    };
    let (fields, custom) = derived;
    let quiet = pipeline.is_some_and(|p| p.quiet);
    if !quiet {
        let mut line = format!(
            "brazex: requesting fields_to_export [{}]",
            fields.join(", ")
        );
        if !custom.is_empty() {
            line += &format!(", custom_attributes_to_export [{}]", custom.join(", "));
        }
        crate::report::say(&line);
    }
    let format = match args.output_format {
        OutputFormatArg::Zip => OutputFormat::Zip,
        OutputFormatArg::Gzip => OutputFormat::Gzip,
    };
    ExportRequest::new(
        &target(args),
        fields,
        custom,
        format,
        args.callback_url.clone(),
    )
    .map_err(|e| UsageError(e.to_string()).into())
}

/// The smallest `fields_to_export` and `custom_attributes_to_export` that hold
/// `paths`: each path's top-level field, and `custom_attributes.X` as custom attribute
/// X (all custom attributes when a path takes `custom_attributes` whole).
pub fn fields_for(paths: &[FieldPath]) -> (Vec<String>, Vec<String>) {
    let mut fields: Vec<String> = Vec::new();
    let mut custom: Vec<String> = Vec::new();
    let mut all_custom = false;
    for path in paths {
        let root = path.root_key();
        if root == "custom_attributes" {
            match path.segments.as_slice() {
                [first, second, ..] if !first.each => {
                    if !custom.contains(&second.key) {
                        custom.push(second.key.clone());
                    }
                }
                _ => all_custom = true,
            }
        } else if let Some(field) = export_field_for(root) {
            if !fields.iter().any(|f| f == field) {
                fields.push(field.to_string());
            }
        }
    }
    if all_custom {
        fields.push("custom_attributes".into());
        custom.clear();
    }
    if fields.is_empty() && custom.is_empty() {
        // Braze needs at least one field; the id is the cheapest.
        fields.push("braze_id".into());
    }
    (fields, custom)
}

fn wait_options(args: &WaitArgs) -> WaitOptions {
    WaitOptions {
        poll_interval: args.poll_interval,
        max_poll_interval: Duration::from_secs(60).max(args.poll_interval),
        timeout: args.wait_timeout,
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One worker thread: HTTP is I/O; the pipeline's CPU work has its own threads.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("brazex-io")
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")
}

fn draw_target(quiet: bool) -> ProgressDrawTarget {
    // JSON logs are for machines: no bar drawn between their lines.
    if quiet
        || !std::io::stderr().is_terminal()
        || crate::report::format() == crate::report::LogFormat::Json
    {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

pub fn spinner(quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, draw_target(quiet));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A progress bar of the download, fed by its counters.
struct DownloadBar {
    bar: ProgressBar,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DownloadBar {
    fn start(progress: Arc<DownloadProgress>, quiet: bool) -> DownloadBar {
        let bar = ProgressBar::with_draw_target(None, draw_target(quiet));
        bar.set_style(
            ProgressStyle::with_template(
                "downloading {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {wide_bar}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = (!bar.is_hidden()).then(|| {
            let bar = bar.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let total = progress.total.load(Ordering::Relaxed);
                    if total > 0 {
                        bar.set_length(total);
                    }
                    bar.set_position(progress.bytes.load(Ordering::Relaxed));
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        });
        DownloadBar { bar, stop, thread }
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derive(paths: &[&str]) -> (Vec<String>, Vec<String>) {
        let paths: Vec<FieldPath> = paths
            .iter()
            .map(|p| FieldPath::parse(p).expect("path"))
            .collect();
        fields_for(&paths)
    }

    #[test]
    fn derived_fields_are_minimal() {
        assert_eq!(
            derive(&[
                "external_id",
                "purchases[].name",
                "email_opted_in_at",
                "custom_attributes.plan",
                "custom_attributes.\"a.b\".c",
                "plan"
            ]),
            (
                vec![
                    "external_id".to_string(),
                    "purchases".into(),
                    "email_subscribe".into()
                ],
                vec!["plan".to_string(), "a.b".into()]
            )
        );
        assert_eq!(
            derive(&["email", "custom_attributes.plan", "custom_attributes"]),
            (
                vec!["email".to_string(), "custom_attributes".into()],
                vec![]
            )
        );
        assert_eq!(derive(&["nope"]), (vec!["braze_id".to_string()], vec![]));
    }
}
