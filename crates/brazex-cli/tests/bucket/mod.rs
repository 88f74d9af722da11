//! Object-store inputs and `run --bucket`, against a real S3-compatible server (moto's
//! server on loopback: see `util::s3_endpoint`) and the Braze simulator's bucket mode.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brazex_sim::{SimBucket, SimConfig, Simulator};

use crate::util::{brazex, s3_endpoint, s3ctl, start_moto, Invocation};

const KEY: &str = "testing";

/// A bucket of its own for each test, so tests can run in parallel.
fn bucket(name: &str) -> String {
    let bucket = format!("brazex-{name}-{}", std::process::id());
    s3ctl(s3_endpoint(), &["mkbucket", &bucket]);
    bucket
}

fn put(bucket: &str, key: &str, file: &Path) {
    s3ctl(
        s3_endpoint(),
        &["put", bucket, key, &file.to_string_lossy()],
    );
}

/// `brazex ARGS --s3-endpoint E` with test credentials.
fn s3(args: &[&str], endpoint: &str) -> Invocation {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--s3-endpoint", endpoint]);
    brazex(&all)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

fn generate(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut all = vec!["generate", "-o"];
    let p = path.to_string_lossy().into_owned();
    all.push(&p);
    all.extend_from_slice(args);
    brazex(&all).run().assert_success();
    path
}

fn local(files: &[&Path], extra: &[&str]) -> Vec<u8> {
    let names: Vec<String> = files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["process", "-q"];
    args.extend_from_slice(extra);
    args.extend(names.iter().map(String::as_str));
    let out = brazex(&args).run();
    out.assert_success();
    out.stdout
}

/// A bucket of its own holding one zip of 6,000 users as `exp/0.zip`; with the folder
/// the zip is in and the rows a local read of it gives.
fn one_object_bucket(name: &str) -> (tempfile::TempDir, String, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = generate(
        dir.path(),
        "a.zip",
        &["--users", "6000", "--users-per-entry", "2000"],
    );
    let want = local(&[&zip], &[]);
    let bkt = bucket(name);
    put(&bkt, "exp/0.zip", &zip);
    (dir, bkt, want)
}

fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

#[test]
fn process_s3_prefix_equals_the_local_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = generate(
        dir.path(),
        "a.zip",
        &["--users", "3000", "--users-per-entry", "1000"],
    );
    let b = generate(
        dir.path(),
        "b.gz",
        &["--users", "1000", "--format", "gzip", "--seed", "7"],
    );
    let c = generate(dir.path(), "c.zip", &["--users", "1500", "--seed", "9"]);
    let bkt = bucket("process");
    // Key order is a/…, b/…, c/… whatever the upload order.
    put(&bkt, "exp/c/part.zip", &c);
    put(&bkt, "exp/a/part.zip", &a);
    put(&bkt, "exp/b/part.gz", &b);
    put(&bkt, "other/x.zip", &c);
    let want = local(&[&a, &b, &c], &[]);
    assert_eq!(lines(&want), 5_500);
    let url = format!("s3://{bkt}/exp/");
    for concurrency in ["1", "4"] {
        let out = s3(
            &["process", &url, "--s3-concurrency", concurrency],
            s3_endpoint(),
        )
        .run();
        out.assert_success();
        assert!(
            out.stdout == want,
            "rows differ with --s3-concurrency {concurrency}"
        );
        out.assert_stderr_contains("5500 rows read");
    }
    // With a selection and a filter, mixed with a local file, in argument order.
    let extra = [
        "--select",
        "external_id,country",
        "--where",
        "country == \"US\"",
    ];
    let single = format!("s3://{bkt}/exp/b/part.gz");
    let mut args = vec!["process", "-q", &single];
    let a_name = a.to_string_lossy().into_owned();
    args.push(&a_name);
    args.extend_from_slice(&extra);
    let out = s3(&args, s3_endpoint()).run();
    out.assert_success();
    assert_eq!(out.stdout, local(&[&b, &a], &extra));
}

#[test]
fn run_bucket_waits_for_the_listing_to_settle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bkt = bucket("run");
    let mut config = SimConfig::new(dir.path().join("spool"));
    config.ready_after = Duration::from_millis(200);
    config.users_per_entry = 500;
    for segment in &mut config.segments {
        if segment.id == "all" {
            segment.users = 3_000;
        }
    }
    let mut sim_bucket = SimBucket::new(s3_endpoint(), &bkt, KEY, KEY);
    sim_bucket.root = "braze".into();
    sim_bucket.object_interval = Duration::from_millis(150);
    config.bucket = Some(sim_bucket);
    let sim = Simulator::spawn_background(config).expect("simulator");
    let out = s3(
        &[
            "run",
            "--endpoint",
            sim.endpoint(),
            "--segment-id",
            "all",
            "--poll-interval",
            "0.1",
            "--bucket",
            &format!("s3://{bkt}/braze"),
            "--settle",
            "5s",
        ],
        s3_endpoint(),
    )
    .env("BRAZE_API_KEY", sim.api_key())
    .run();
    out.assert_success();
    assert_eq!(lines(&out.stdout), 3_000);
    out.assert_stderr_contains("6 objects");
    // The same rows as reading the export's folder afterwards (key order).
    let prefix = sim.triggers()[0].object_prefix.clone().expect("accepted");
    let again = s3(
        &[
            "process",
            "-q",
            &format!("s3://{bkt}/braze/segment-export/all/"),
        ],
        s3_endpoint(),
    )
    .run();
    again.assert_success();
    assert_eq!(out.stdout, again.stdout);
    assert!(!prefix.is_empty());
    sim.shutdown();
}

#[test]
fn run_bucket_gzip_ends_on_the_callback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bkt = bucket("callback");
    let mut config = SimConfig::new(dir.path().join("spool"));
    config.ready_after = Duration::from_millis(200);
    config.users_per_entry = 400;
    config.bucket = Some(SimBucket::new(s3_endpoint(), &bkt, KEY, KEY));
    let sim = Simulator::spawn_background(config).expect("simulator");
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let started = std::time::Instant::now();
    let out = s3(
        &[
            "run",
            "--endpoint",
            sim.endpoint(),
            "--segment-id",
            "us-only",
            "--output-format",
            "gzip",
            "--poll-interval",
            "0.2",
            "--bucket",
            &format!("s3://{bkt}"),
            // Only the callback can end the wait this soon.
            "--settle",
            "10m",
            "--callback-listen",
            &addr.to_string(),
            "--callback-url",
            &format!("http://{addr}/cb"),
        ],
        s3_endpoint(),
    )
    .env("BRAZE_API_KEY", sim.api_key())
    .run();
    out.assert_success();
    assert!(started.elapsed() < Duration::from_secs(120));
    let all = s3(
        &[
            "process",
            "-q",
            &format!("s3://{bkt}/segment-export/us-only/"),
            "--where",
            "country == \"US\"",
        ],
        s3_endpoint(),
    )
    .run();
    all.assert_success();
    assert_eq!(out.stdout, all.stdout);
    assert!(lines(&out.stdout) > 1_000);
    sim.shutdown();
}

#[test]
fn run_without_bucket_explains_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bkt = bucket("nourl");
    let mut config = SimConfig::new(dir.path().join("spool"));
    config.bucket = Some(SimBucket::new(s3_endpoint(), &bkt, KEY, KEY));
    let sim = Simulator::spawn_background(config).expect("simulator");
    let out = brazex(&["run", "--endpoint", sim.endpoint(), "--segment-id", "small"])
        .env("BRAZE_API_KEY", sim.api_key())
        .run();
    out.assert_exit(4);
    out.assert_stderr_contains("no download URL");
    out.assert_stderr_contains("--bucket s3://BUCKET");
    sim.shutdown();
}

#[test]
fn missing_credentials_no_bucket_and_empty_prefix_are_clear() {
    let bkt = bucket("errors");
    let out = brazex(&[
        "process",
        &format!("s3://{bkt}/x/"),
        "--s3-endpoint",
        s3_endpoint(),
    ])
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .run();
    out.assert_exit(3);
    out.assert_stderr_contains(&format!("no credentials for s3://{bkt}/x"));
    out.assert_stderr_contains("AWS_ACCESS_KEY_ID");

    let out = s3(&["process", "s3://brazex-no-such-bucket/x/"], s3_endpoint()).run();
    out.assert_exit(3);
    out.assert_stderr_contains("the bucket of s3://brazex-no-such-bucket/x does not exist");

    let out = s3(&["process", &format!("s3://{bkt}/nothing/")], s3_endpoint()).run();
    out.assert_exit(3);
    out.assert_stderr_contains(&format!("nothing found under s3://{bkt}/nothing"));
}

#[test]
fn access_denied_names_the_permission() {
    // A second server that checks credentials: its first 4 requests (set-up) are free.
    let endpoint = start_moto(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    let dir = tempfile::tempdir().expect("tempdir");
    let gz = generate(dir.path(), "a.gz", &["--users", "10", "--format", "gzip"]);
    s3ctl(&endpoint, &["mkbucket", "locked"]);
    s3ctl(
        &endpoint,
        &["put", "locked", "exp/a.gz", &gz.to_string_lossy()],
    );
    let keys = s3ctl(&endpoint, &["keys-without-permissions"]);
    let (id, secret) = keys.trim().split_once(' ').expect("two keys");
    let out = brazex(&["process", "s3://locked/exp/", "--s3-endpoint", &endpoint])
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .run();
    out.assert_exit(3);
    out.assert_stderr_contains("access denied to s3://locked/exp (list)");
    out.assert_stderr_contains("s3:ListBucket");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_truncated_object_is_an_error_naming_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = generate(
        dir.path(),
        "a.zip",
        &["--users", "3000", "--users-per-entry", "1000"],
    );
    let bytes = std::fs::read(&zip).expect("zip");
    let cut = dir.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let bkt = bucket("truncated");
    put(&bkt, "exp/0.zip", &zip);
    put(&bkt, "exp/1.zip", &cut);
    let output = dir.path().join("rows.ndjson");
    let out = s3(
        &[
            "process",
            &format!("s3://{bkt}/exp/"),
            "-o",
            &output.to_string_lossy(),
        ],
        s3_endpoint(),
    )
    .run();
    out.assert_exit(1);
    out.assert_stderr_contains(&format!("s3://{bkt}/exp/1.zip"));
    assert!(!output.exists(), "a partial output was left behind");
    // Only the two archives: no temporary output either.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 2);
}

#[test]
fn a_broken_body_is_resumed_and_a_vanished_object_names_its_key() {
    let (dir, bkt, want) = one_object_bucket("vanish");

    // The connection breaks once after 200 KB of the object's body: resumed, same rows.
    let proxy = BreakingProxy::start(s3_endpoint(), &format!("GET /{bkt}/exp/0.zip"), Break::Cut);
    let out = s3(
        &["process", "-q", &format!("s3://{bkt}/exp/")],
        &proxy.endpoint,
    )
    .run();
    out.assert_success();
    assert!(proxy.fired.load(Ordering::SeqCst), "the proxy never cut");
    assert!(out.stdout == want, "rows differ after a resumed body");

    // The object is deleted while being read: retried, then an error naming it.
    let delete = Break::CutAfterDeleting(
        s3_endpoint().to_string(),
        bkt.clone(),
        "exp/0.zip".to_string(),
    );
    let proxy = BreakingProxy::start(s3_endpoint(), &format!("GET /{bkt}/exp/0.zip"), delete);
    let output = dir.path().join("rows.ndjson");
    let out = s3(
        &[
            "process",
            &format!("s3://{bkt}/exp/"),
            "-o",
            &output.to_string_lossy(),
        ],
        &proxy.endpoint,
    )
    .run();
    out.assert_exit(3);
    out.assert_stderr_contains(&format!(
        "s3://{bkt}/exp/0.zip: the object vanished while being read"
    ));
    assert!(!output.exists(), "a partial output was left behind");
}

#[test]
fn a_stalled_body_is_asked_again_after_the_stall_timeout() {
    let (_dir, bkt, want) = one_object_bucket("stall");
    // The server stops sending 200 KB into the body and keeps the connection open:
    // after --stall-timeout the rest is asked again (Range), the same rows come out.
    let proxy = BreakingProxy::start(
        s3_endpoint(),
        &format!("GET /{bkt}/exp/0.zip"),
        Break::Stall,
    );
    let out = s3(
        &[
            "process",
            "-q",
            "--stall-timeout",
            "1s",
            &format!("s3://{bkt}/exp/"),
        ],
        &proxy.endpoint,
    )
    .run();
    out.assert_success();
    assert!(
        proxy.fired.load(Ordering::SeqCst),
        "the proxy never stalled"
    );
    out.assert_stderr_contains("no data for 1s (--stall-timeout); asking again from byte");
    assert!(out.stdout == want, "rows differ after a stalled body");
}

#[test]
fn a_reader_that_stops_reading_for_a_while_loses_no_download() {
    // Objects well over what is buffered for them (2 MiB each), so their GETs stay
    // open until read (the body ends only when brazex has taken its last byte, from
    // the socket or not), while nothing reads the output: longer than object_store's
    // 30 s deadline on a whole request, which used to cut them (a retry spent each
    // time, and an error once the last byte had already arrived).
    let dir = tempfile::tempdir().expect("tempdir");
    let bkt = bucket("paused");
    let mut files = Vec::new();
    for seed in ["1", "2", "3"] {
        let name = format!("{seed}.zip");
        let file = generate(
            dir.path(),
            &name,
            &[
                "--users",
                "15000",
                "--users-per-entry",
                "15000",
                "--seed",
                seed,
            ],
        );
        assert!(
            std::fs::metadata(&file).expect("size").len() > 6 << 20,
            "the object must not fit in its buffer and socket"
        );
        put(&bkt, &format!("exp/{name}"), &file);
        files.push(file);
    }
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let want = local(&paths, &[]);
    let out = s3(
        &["process", "-v", &format!("s3://{bkt}/exp/")],
        s3_endpoint(),
    )
    .read_after(Duration::from_secs(35))
    .run();
    out.assert_success();
    assert!(
        !out.stderr.contains("asking again"),
        "a paused reader cost a download: {}",
        out.stderr
    );
    assert!(out.stdout == want, "rows differ after the pause");
}

/// What a [`BreakingProxy`] does, once, 200 KB into the response to the request it
/// watches for.
#[derive(Clone)]
enum Break {
    /// Closes the connection.
    Cut,
    /// Deletes the object (`endpoint, bucket, key`), then closes the connection.
    CutAfterDeleting(String, String, String),
    /// Stops sending, the connection left open (for five minutes).
    Stall,
}

/// A TCP proxy to the S3 server that, once, breaks the response to a request whose
/// request line starts with `request` 200 KB in (see [`Break`]).
struct BreakingProxy {
    endpoint: String,
    fired: Arc<AtomicBool>,
}

impl BreakingProxy {
    fn start(upstream: &str, request: &str, how: Break) -> BreakingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream.trim_start_matches("http://").to_string();
        let fired = Arc::new(AtomicBool::new(false));
        let request = request.as_bytes().to_vec();
        let once = fired.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let armed = Arc::new(AtomicU64::new(0));
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let (armed2, request) = (armed.clone(), request.clone());
                // Client to server: arm the break when the request is seen.
                std::thread::spawn(move || {
                    pipe(c2, s2, |chunk| {
                        if chunk
                            .windows(request.len())
                            .any(|w| w == request.as_slice())
                        {
                            armed2.store(1, Ordering::SeqCst);
                        }
                        true
                    })
                });
                let (once, how) = (once.clone(), how.clone());
                let mut seen = 0u64;
                std::thread::spawn(move || {
                    pipe(server, client, |chunk| {
                        if armed.load(Ordering::SeqCst) == 0 || once.load(Ordering::SeqCst) {
                            return true;
                        }
                        seen += chunk.len() as u64;
                        if seen < 200_000 {
                            return true;
                        }
                        once.store(true, Ordering::SeqCst);
                        match &how {
                            Break::Cut => {}
                            Break::CutAfterDeleting(endpoint, bucket, key) => {
                                s3ctl(endpoint, &["delete", bucket, key]);
                            }
                            Break::Stall => std::thread::sleep(Duration::from_secs(300)),
                        }
                        false
                    })
                });
            }
        });
        BreakingProxy { endpoint, fired }
    }
}

/// Copies `from` to `to` while `keep(chunk)` says so, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream, mut keep: impl FnMut(&[u8]) -> bool) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !keep(&buf[..n]) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// An object of the bucket, read back through boto3.
fn get(bucket: &str, key: &str, dir: &Path) -> Vec<u8> {
    let file = dir.join("got");
    s3ctl(
        s3_endpoint(),
        &["get", bucket, key, &file.to_string_lossy()],
    );
    std::fs::read(&file).expect("downloaded")
}

#[test]
fn three_shards_into_s3_merge_into_the_rows_of_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bkt = bucket("shards");
    // Nine objects of unequal sizes (as a bucket export has: the last is smaller).
    let mut files = Vec::new();
    for (i, users) in [900, 400, 700, 300, 800, 500, 600, 200, 1000]
        .iter()
        .enumerate()
    {
        let file = generate(
            dir.path(),
            &format!("{i}.zip"),
            &[
                "--users",
                &users.to_string(),
                "--seed",
                &(100 + i).to_string(),
            ],
        );
        put(&bkt, &format!("exp/{i:02}.zip"), &file);
        files.push(file);
    }
    let select = ["--select", "braze_id,external_id,country"];
    let all = local(
        &files.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &select,
    );
    let input = format!("s3://{bkt}/exp/");
    let prefix = format!("s3://{bkt}/out/");
    let shard = |k: u32| {
        let spec = format!("{k}/3");
        let mut args = vec!["process", "--shard", &spec, &input, "-o", &prefix];
        args.extend_from_slice(&select);
        s3(&args, s3_endpoint()).run()
    };
    // Two shards run side by side; the merge waits for the third.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| shard(0));
        let b = scope.spawn(|| shard(1));
        (a.join().expect("shard 0"), b.join().expect("shard 1"))
    });
    a.assert_success();
    b.assert_success();
    let early = s3(&["manifest", "merge", &prefix], s3_endpoint()).run();
    early.assert_exit(1);
    early.assert_stderr_contains("1 of 3 shard manifests missing: shard-2-of-3");
    shard(2).assert_success();
    s3(&["manifest", "merge", &prefix], s3_endpoint())
        .run()
        .assert_success();

    let merged: serde_json::Value =
        serde_json::from_slice(&get(&bkt, "out/_manifest.json", dir.path())).expect("json");
    assert_eq!(merged["totals"]["rows_written"], lines(&all));
    assert_eq!(merged["shards"].as_array().map(Vec::len), Some(3));
    // Every object in exactly one shard, each shard's in key order.
    let mut objects: Vec<String> = Vec::new();
    for s in merged["shards"].as_array().expect("shards") {
        let inputs: Vec<String> = s["source"]["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(|i| i.as_str().expect("url").to_string())
            .collect();
        assert!(
            inputs.windows(2).all(|w| w[0] < w[1]),
            "key order: {inputs:?}"
        );
        objects.extend(inputs);
    }
    objects.sort();
    let want: Vec<String> = (0..9)
        .map(|i| format!("s3://{bkt}/exp/{i:02}.zip"))
        .collect();
    assert_eq!(objects, want);
    // Each shard's rows are its objects' rows in key order; all shards together are
    // the one run's rows.
    let mut rows_by_shard: Vec<Vec<u8>> = vec![Vec::new(); 3];
    for file in merged["tables"][0]["files"].as_array().expect("files") {
        let path = file["path"].as_str().expect("path");
        let k: usize = path[6..7].parse().expect("shard-K-of-3/…");
        let bytes = get(&bkt, &format!("out/{path}"), dir.path());
        assert_eq!(file["bytes"], bytes.len());
        rows_by_shard[k].extend(bytes);
    }
    let mut every_row: Vec<&[u8]> = Vec::new();
    for (k, s) in merged["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .enumerate()
    {
        let theirs: Vec<PathBuf> = s["source"]["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(|i| {
                let name = i.as_str().expect("url").rsplit('/').next().expect("name");
                let n: usize = name[..2].parse().expect("NN.zip");
                files[n].clone()
            })
            .collect();
        let want = local(
            &theirs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
            &select,
        );
        assert!(
            rows_by_shard[k] == want,
            "shard {k}: its objects' rows, in order"
        );
        assert_eq!(s["rows_written"], lines(&want));
    }
    for rows in &rows_by_shard {
        every_row.extend(rows.split_inclusive(|&b| b == b'\n'));
    }
    let mut one_run: Vec<&[u8]> = all.split_inclusive(|&b| b == b'\n').collect();
    every_row.sort();
    one_run.sort();
    assert!(
        every_row == one_run,
        "the shards' rows are the one run's, as a multiset"
    );
    // Bytes are balanced: no shard holds more than one object's worth above another.
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).expect("size").len())
        .collect();
    let loads: Vec<u64> = merged["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| {
            s["source"]["inputs"]
                .as_array()
                .expect("inputs")
                .iter()
                .map(|i| {
                    let name = i.as_str().expect("url").rsplit('/').next().expect("name");
                    sizes[name[..2].parse::<usize>().expect("NN")]
                })
                .sum()
        })
        .collect();
    let spread = loads.iter().max().unwrap_or(&0) - loads.iter().min().unwrap_or(&0);
    assert!(spread <= *sizes.iter().max().unwrap_or(&0), "{loads:?}");

    // What a shard cannot do.
    for (args, says) in [
        (
            vec!["process", "--shard", "0/2", "-", "-o", &prefix],
            "stdin cannot be split",
        ),
        (
            vec!["process", "--shard", "0/2", &input, "-o", "rows.ndjson"],
            "--shard writes a folder per shard",
        ),
        (
            vec!["process", "--shard", "2/2", &input],
            "K goes from 0 to N-1",
        ),
        (
            vec![
                "process", "--shard", "0/2", &input, "-o", &prefix, "--state", "st",
            ],
            "--shard cannot keep a --state",
        ),
    ] {
        let run = s3(&args, s3_endpoint()).run();
        run.assert_exit(2);
        run.assert_stderr_contains(says);
    }
}
