//! Object-store inputs in the CLI: `process s3://…` (and `gs://`, `az://`) arguments,
//! and `run --bucket`'s reading of an export from the company's own bucket.
//!
//! brazex-core knows nothing of HTTP: here object URLs become [`Input::Stream`]s whose
//! readers brazex-braze feeds from a tokio runtime that lives as long as the inputs
//! ([`Inputs`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use brazex_braze::{
    export_folders, Bucket, BucketError, BucketOptions, BucketProgress, BucketUrl, BucketWait,
    BucketWaitEvent, CallbackReceiver, ObjectInfo,
};
use brazex_core::input::{expand, Input, StreamInput};

use crate::args::StoreArgs;

/// The inputs of a run, with the runtime their object downloads run on (dropped after
/// the pipeline, which is why it travels with them).
#[derive(Debug)]
pub struct Inputs {
    pub inputs: Vec<Input>,
    _runtime: Option<tokio::runtime::Runtime>,
}

/// Bucket options from the flags.
pub fn bucket_options(args: &StoreArgs) -> BucketOptions {
    BucketOptions {
        endpoints: args.endpoints(),
        concurrency: usize::from(args.s3_concurrency),
        stall: args.stall_timeout,
        ..BucketOptions::default()
    }
}

/// Expands `process`'s arguments in order: object URLs into their objects (key
/// order), everything else as brazex-core does (files, folders, `-`).
pub fn expand_inputs(args: &[PathBuf], store: &StoreArgs) -> anyhow::Result<Inputs> {
    if !args
        .iter()
        .any(|a| a.to_str().is_some_and(BucketUrl::is_bucket_url))
    {
        return Ok(Inputs {
            inputs: expand(args)?,
            _runtime: None,
        });
    }
    let runtime = crate::braze::runtime()?;
    let progress = Arc::new(BucketProgress::default());
    let mut inputs = Vec::new();
    for arg in args {
        match arg.to_str().filter(|a| BucketUrl::is_bucket_url(a)) {
            Some(text) => {
                let url = BucketUrl::parse(text)?;
                let bucket = Bucket::open(&url, bucket_options(store))?;
                let objects = runtime.block_on(bucket.list(&url))?;
                if objects.is_empty() {
                    return Err(BucketError::Empty {
                        url: url.to_string(),
                    }
                    .into());
                }
                inputs.extend(stream_inputs(&bucket, &runtime, &objects, &progress));
            }
            None => inputs.extend(expand(std::slice::from_ref(arg))?),
        }
    }
    Ok(Inputs {
        inputs,
        _runtime: Some(runtime),
    })
}

/// [`expand_inputs`], then with `--shard K/N` only the shard's share of the files and
/// objects (see `crate::shard`), in name order. Every file and object is listed and
/// sized first and none is opened before the split.
pub fn expand_inputs_of_shard(
    args: &[PathBuf],
    store: &StoreArgs,
    shard: Option<crate::shard::Shard>,
) -> anyhow::Result<Inputs> {
    let Some(shard) = shard else {
        return expand_inputs(args, store);
    };
    enum Item {
        File(PathBuf),
        Object(usize, ObjectInfo),
    }
    let mut items: Vec<(String, u64, Item)> = Vec::new();
    let mut buckets: Vec<Bucket> = Vec::new();
    let mut runtime = None;
    for arg in args {
        match arg.to_str().filter(|a| BucketUrl::is_bucket_url(a)) {
            Some(text) => {
                let url = BucketUrl::parse(text)?;
                let bucket = Bucket::open(&url, bucket_options(store))?;
                let runtime = match &mut runtime {
                    Some(runtime) => runtime,
                    None => runtime.insert(crate::braze::runtime()?),
                };
                let objects = runtime.block_on(bucket.list(&url))?;
                if objects.is_empty() {
                    return Err(BucketError::Empty {
                        url: url.to_string(),
                    }
                    .into());
                }
                for object in objects {
                    items.push((
                        url.object_url(&object.key),
                        object.size,
                        Item::Object(buckets.len(), object),
                    ));
                }
                buckets.push(bucket);
            }
            None => {
                for input in expand(std::slice::from_ref(arg))? {
                    let Input::File(path) = input else {
                        return Err(crate::output::usage(
                            "--shard splits files, folders and object prefixes among workers; stdin cannot be split",
                        ));
                    };
                    let size = std::fs::metadata(&path)
                        .map_err(|e| {
                            brazex_core::Error::io(format!("cannot read {}", path.display()), e)
                        })?
                        .len();
                    items.push((path.display().to_string(), size, Item::File(path)));
                }
            }
        }
    }
    if items.is_empty() {
        return Err(crate::output::usage("--shard: no inputs to split"));
    }
    let sizes: Vec<(String, u64)> = items.iter().map(|(l, s, _)| (l.clone(), *s)).collect();
    let mine = shard.select(&sizes);
    // Each bucket's objects of this shard, fetched (ahead, within --s3-concurrency) in
    // the shard's order.
    let mut items: Vec<Option<Item>> = items.into_iter().map(|(_, _, item)| Some(item)).collect();
    let mut wanted: Vec<Vec<ObjectInfo>> = vec![Vec::new(); buckets.len()];
    for &i in &mine {
        if let Some(Item::Object(b, object)) = &items[i] {
            wanted[*b].push(object.clone());
        }
    }
    let progress = Arc::new(BucketProgress::default());
    let mut readers: Vec<std::vec::IntoIter<Input>> = match &runtime {
        Some(runtime) => buckets
            .iter()
            .zip(&wanted)
            .map(|(bucket, objects)| stream_inputs(bucket, runtime, objects, &progress).into_iter())
            .collect(),
        None => Vec::new(),
    };
    let mut inputs = Vec::with_capacity(mine.len());
    for &i in &mine {
        match items[i].take() {
            Some(Item::File(path)) => inputs.push(Input::File(path)),
            Some(Item::Object(b, _)) => {
                let input = readers
                    .get_mut(b)
                    .and_then(Iterator::next)
                    .ok_or_else(|| anyhow::anyhow!("internal: a shard's object has no reader"))?;
                inputs.push(input);
            }
            None => anyhow::bail!("internal: an input taken twice"),
        }
    }
    Ok(Inputs {
        inputs,
        _runtime: runtime,
    })
}

/// The pipeline inputs of `objects`, named by their URLs.
pub fn stream_inputs(
    bucket: &Bucket,
    runtime: &tokio::runtime::Runtime,
    objects: &[ObjectInfo],
    progress: &Arc<BucketProgress>,
) -> Vec<Input> {
    bucket
        .readers(runtime.handle(), objects, progress.clone())
        .into_iter()
        .map(|(label, reader)| Input::Stream(StreamInput::new(label, Box::new(reader))))
        .collect()
}

/// `run --bucket`: finds the export `object_prefix` of `segment_id` under `root`, waits
/// until it is complete and returns its objects as inputs.
#[allow(clippy::too_many_arguments)]
pub fn export_inputs(
    runtime: &tokio::runtime::Runtime,
    root: &str,
    store: &StoreArgs,
    segment_id: &str,
    object_prefix: &str,
    triggered: SystemTime,
    wait: BucketWait,
    callback: Option<&mut CallbackReceiver>,
    quiet: bool,
) -> anyhow::Result<Vec<Input>> {
    let root = BucketUrl::parse(root)?;
    let bucket = Bucket::open(&root, bucket_options(store))?;
    let folders = export_folders(&root, segment_id, object_prefix, triggered);
    if !quiet {
        crate::report::say(&format!(
            "brazex: the export goes into the bucket: waiting for {}/ (or the next day's folder)",
            folders[0]
        ));
    }
    let spinner = crate::braze::spinner(quiet);
    let on_event = |event: BucketWaitEvent| match event {
        BucketWaitEvent::Listed {
            elapsed,
            objects,
            bytes,
        } => spinner.set_message(format!(
            "waiting for the export in the bucket: {}s, {objects} objects ({:.1} MB) so far",
            elapsed.as_secs(),
            bytes as f64 / 1e6
        )),
        BucketWaitEvent::Complete { .. } => spinner.finish_and_clear(),
    };
    let objects = crate::signals::block_on(
        runtime,
        "waiting for the export in the bucket",
        bucket.wait_for_export(&folders, &wait, callback, &on_event),
    )?;
    spinner.finish_and_clear();
    if !quiet {
        let bytes: u64 = objects.iter().map(|o| o.size).sum();
        crate::report::say(&format!(
            "brazex: the export is complete: {} objects, {:.1} MB",
            objects.len(),
            bytes as f64 / 1e6
        ));
    }
    let progress = Arc::new(BucketProgress::default());
    Ok(stream_inputs(&bucket, runtime, &objects, &progress))
}

/// The wait settings of `run --bucket`.
pub fn bucket_wait(poll_interval: Duration, settle: Duration, timeout: Duration) -> BucketWait {
    BucketWait {
        poll_interval,
        max_poll_interval: Duration::from_secs(60).max(poll_interval),
        settle,
        timeout,
    }
}
