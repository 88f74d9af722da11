//! Object-store destinations (and inputs) in all three clouds, against real servers
//! on loopback: moto (S3), Azurite (Azure Blob), fake-gcs-server (GCS), started by
//! scripts/test.sh. Objects are checked through each cloud's own client
//! (`storectl.py`), not through brazex.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{brazex, s3_endpoint, start_moto, Invocation};

const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cloud {
    S3,
    Gcs,
    Azure,
}

const CLOUDS: [Cloud; 3] = [Cloud::S3, Cloud::Gcs, Cloud::Azure];

impl Cloud {
    fn scheme(self) -> &'static str {
        match self {
            Cloud::S3 => "s3",
            Cloud::Gcs => "gs",
            Cloud::Azure => "az",
        }
    }

    /// The test server's URL; a missing server fails the test, saying how to get one.
    fn endpoint(self) -> String {
        let var = match self {
            Cloud::S3 => return s3_endpoint().to_string(),
            Cloud::Gcs => "BRAZEX_TEST_GCS_ENDPOINT",
            Cloud::Azure => "BRAZEX_TEST_AZURE_ENDPOINT",
        };
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => url,
            _ => panic!(
                "the {self:?} tests need their server and {var} is not set: run ./scripts/test.sh, \
                 which installs and starts fake-gcs-server and Azurite"
            ),
        }
    }

    fn endpoint_flag(self) -> &'static str {
        match self {
            Cloud::S3 => "--s3-endpoint",
            Cloud::Gcs => "--gcs-endpoint",
            Cloud::Azure => "--azure-endpoint",
        }
    }

    /// The endpoint flag and credentials brazex is run with.
    fn brazex(self, args: &[&str], endpoint: &str) -> Invocation {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([self.endpoint_flag(), endpoint]);
        let run = brazex(&all);
        match self {
            Cloud::S3 => run
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_EC2_METADATA_DISABLED", "true"),
            Cloud::Gcs => run,
            Cloud::Azure => run
                .env("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1")
                .env("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY),
        }
    }

    fn ctl(self, endpoint: &str, args: &[&str]) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stores/storectl.py");
        let out = Command::new("python3")
            .arg(script)
            .arg(self.scheme())
            .arg(endpoint)
            .args(args)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "storectl {self:?} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A bucket of this test's own.
    fn bucket(self, endpoint: &str, name: &str) -> String {
        let bucket = format!("brazex-{name}-{}", std::process::id());
        self.ctl(endpoint, &["mkbucket", &bucket]);
        bucket
    }

    fn list(self, endpoint: &str, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        serde_json::from_str(&self.ctl(endpoint, &["list", bucket, prefix])).expect("listing")
    }

    fn get(self, endpoint: &str, bucket: &str, key: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("object");
        self.ctl(endpoint, &["get", bucket, key, &file.to_string_lossy()]);
        std::fs::read(file).expect("read object")
    }
}

fn generate(dir: &Path, name: &str, args: &[&str]) -> String {
    let path = dir.join(name).to_string_lossy().into_owned();
    let mut all = vec!["generate", "-o", &path];
    all.extend_from_slice(args);
    brazex(&all).run().assert_success();
    path
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file a manifest lists, as (path, rows, bytes, sha256), table by table.
fn manifest_files(manifest: &serde_json::Value) -> Vec<(String, u64, u64, String)> {
    let mut files = Vec::new();
    for table in manifest["tables"].as_array().expect("tables") {
        for f in table["files"].as_array().expect("files") {
            files.push((
                f["path"].as_str().expect("path").to_string(),
                f["rows"].as_u64().expect("rows"),
                f["bytes"].as_u64().expect("bytes"),
                f["sha256"].as_str().expect("sha256").to_string(),
            ));
        }
    }
    files
}

/// Checks that prefix `out/` of `bucket` holds exactly what its manifest lists (and
/// the manifests), each object with the listed bytes, and that the parts are the
/// same files as `local`'s, a run of the same flags into a local folder.
fn assert_matches_local(cloud: Cloud, endpoint: &str, bucket: &str, out: &str, local: &Path) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&cloud.get(endpoint, bucket, &format!("{out}/_manifest.json")))
            .expect("manifest");
    let local_manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(local.join("_manifest.json")).expect("local"))
            .expect("local manifest");
    let files = manifest_files(&manifest);
    assert_eq!(
        files,
        manifest_files(&local_manifest),
        "{cloud:?}: parts as local"
    );
    let mut expected: Vec<String> = files.iter().map(|f| format!("{out}/{}", f.0)).collect();
    expected.push(format!("{out}/_manifest.json"));
    if cloud == Cloud::S3 {
        if manifest["tables"].as_array().map_or(0, Vec::len) > 1 {
            for table in manifest["tables"].as_array().expect("tables") {
                let name = table["name"].as_str().expect("name");
                expected.push(format!("{out}/{name}/_manifest.redshift.json"));
            }
        } else {
            expected.push(format!("{out}/_manifest.redshift.json"));
        }
    }
    expected.sort();
    let listed = cloud.list(endpoint, bucket, &format!("{out}/"));
    let mut keys: Vec<String> = listed.iter().map(|(k, _)| k.clone()).collect();
    keys.sort();
    assert_eq!(keys, expected, "{cloud:?}: exactly the manifest's objects");
    for (path, _, bytes, sha) in &files {
        let object = cloud.get(endpoint, bucket, &format!("{out}/{path}"));
        assert_eq!(object.len() as u64, *bytes, "{cloud:?} {path}");
        assert_eq!(&sha256_hex(&object), sha, "{cloud:?} {path}");
    }
}

#[test]
fn parquet_and_csv_folders_in_each_cloud_are_the_local_folders_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = generate(dir.path(), "export.zip", &["--users", "4000"]);
    let runs: [(&str, &[&str]); 2] = [
        (
            "parquet",
            &["--format", "parquet", "--rows-per-file", "1500"],
        ),
        (
            "tables",
            &["--format", "csv", "--compress", "gzip", "--tables"],
        ),
    ];
    for (name, flags) in runs {
        let local = dir.path().join(name);
        let local_arg = format!("{}/", local.display());
        let mut args = vec!["process", "-q", zip.as_str()];
        args.extend_from_slice(flags);
        let mut local_args = args.clone();
        local_args.extend(["-o", &local_arg]);
        brazex(&local_args).run().assert_success();
        for cloud in CLOUDS {
            let endpoint = cloud.endpoint();
            let bucket = cloud.bucket(&endpoint, &format!("folders-{name}"));
            let url = format!("{}://{bucket}/out/", cloud.scheme());
            let mut remote_args = args.clone();
            remote_args.extend(["-o", &url]);
            cloud.brazex(&remote_args, &endpoint).run().assert_success();
            assert_matches_local(cloud, &endpoint, &bucket, "out", &local);

            // A prefix holding a committed export is refused, as a local folder is.
            let again = cloud.brazex(&remote_args, &endpoint).run();
            again.assert_exit(2);
            again.assert_stderr_contains("already holds brazex output (_manifest.json)");
        }
    }
}

#[test]
fn one_object_of_many_upload_parts_is_the_local_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    // About 17 MB of NDJSON: four parts of 5 MiB (GCS: chunks, Azure: blocks).
    let zip = generate(dir.path(), "export.zip", &["--users", "6000"]);
    let local = brazex(&["process", "-q", &zip]).run();
    local.assert_success();
    assert!(local.stdout.len() > 15 << 20);
    for cloud in CLOUDS {
        let endpoint = cloud.endpoint();
        let bucket = cloud.bucket(&endpoint, "object");
        let url = format!("{}://{bucket}/night/users.ndjson", cloud.scheme());
        let args = [
            "process",
            "-q",
            &zip,
            "-o",
            &url,
            "--upload-part-size",
            "5MiB",
        ];
        cloud.brazex(&args, &endpoint).run().assert_success();
        let object = cloud.get(&endpoint, &bucket, "night/users.ndjson");
        assert!(
            object == local.stdout,
            "{cloud:?}: the object is the local output"
        );
        assert_eq!(cloud.list(&endpoint, &bucket, "").len(), 1, "{cloud:?}");
    }
}

#[test]
fn each_cloud_is_an_input_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = generate(dir.path(), "export.zip", &["--users", "1200"]);
    let gz = generate(
        dir.path(),
        "more.gz",
        &["--users", "300", "--seed", "7", "--format", "gzip"],
    );
    let local = brazex(&["process", "-q", &zip, &gz]).run();
    local.assert_success();
    for cloud in CLOUDS {
        let endpoint = cloud.endpoint();
        let bucket = cloud.bucket(&endpoint, "inputs");
        cloud.ctl(&endpoint, &["put", &bucket, "in/a.zip", &zip]);
        cloud.ctl(&endpoint, &["put", &bucket, "in/b.gz", &gz]);
        let url = format!("{}://{bucket}/in/", cloud.scheme());
        let run = cloud.brazex(&["process", "-q", &url], &endpoint).run();
        run.assert_success();
        assert!(
            run.stdout == local.stdout,
            "{cloud:?}: rows as from the files"
        );
    }
}

#[test]
fn a_manifest_in_each_cloud_pins_the_next_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = generate(dir.path(), "export.zip", &["--users", "1500"]);
    for cloud in CLOUDS {
        let endpoint = cloud.endpoint();
        let bucket = cloud.bucket(&endpoint, "schema");
        let root = format!("{}://{bucket}", cloud.scheme());
        let flags = ["process", "-q", "--format", "parquet", &zip];
        let mut first = flags.to_vec();
        first.extend(["--custom-attributes", "columns", "-o"]);
        let n1 = format!("{root}/n1/");
        first.push(&n1);
        cloud.brazex(&first, &endpoint).run().assert_success();
        let schema = format!("{root}/n1/_manifest.json");
        let n2 = format!("{root}/n2/");
        let mut second = flags.to_vec();
        second.extend([
            "--schema",
            &schema,
            "--schema-evolution",
            "freeze",
            "-o",
            &n2,
        ]);
        cloud.brazex(&second, &endpoint).run().assert_success();
        let columns = |prefix: &str| {
            let manifest: serde_json::Value = serde_json::from_slice(&cloud.get(
                &endpoint,
                &bucket,
                &format!("{prefix}/_manifest.json"),
            ))
            .expect("manifest");
            assert_eq!(manifest["custom_attributes"], "columns", "{cloud:?}");
            manifest["tables"][0]["columns"].clone()
        };
        assert_eq!(
            columns("n1"),
            columns("n2"),
            "{cloud:?}: the pinned run's columns"
        );
        let missing = format!("{root}/nowhere/_manifest.json");
        let mut third = flags.to_vec();
        third.extend(["--schema", &missing]);
        cloud.brazex(&third, &endpoint).run().assert_exit(3);
    }
}

/// Starts `brazex ARGS` reading its rows from a pipe, and feeds it `first` bytes of
/// `ndjson` (the pipe stays open: the run waits for more).
fn start_streaming(
    cloud: Cloud,
    endpoint: &str,
    args: &[&str],
    ndjson: &[u8],
) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brazex"))
        .args(args)
        .args([cloud.endpoint_flag(), endpoint])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1")
        .env("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn brazex");
    child
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(ndjson)
        .expect("feed rows");
    child
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An NDJSON export of 4,000 users (about 11 MB: more than two 5 MiB upload parts).
fn users_ndjson(dir: &Path) -> (String, Vec<u8>) {
    let path = generate(
        dir,
        "users.ndjson",
        &["--users", "4000", "--format", "ndjson"],
    );
    let bytes = std::fs::read(&path).expect("ndjson");
    (path, bytes)
}

fn pending(endpoint: &str, bucket: &str) -> Vec<String> {
    serde_json::from_str(&Cloud::S3.ctl(endpoint, &["pending", bucket])).expect("pending")
}

#[test]
fn a_run_killed_mid_upload_leaves_no_object_and_the_next_aborts_its_uploads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ndjson_path, ndjson) = users_ndjson(dir.path());
    let endpoint = Cloud::S3.endpoint();
    let bucket = Cloud::S3.bucket(&endpoint, "killed");
    let url = format!("s3://{bucket}/night/");
    let args = [
        "process",
        "-q",
        "-",
        "-o",
        &url,
        "--upload-part-size",
        "5MiB",
    ];
    let mut child = start_streaming(Cloud::S3, &endpoint, &args, &ndjson[..7 << 20]);
    wait_until("a pending upload", || {
        !pending(&endpoint, &bucket).is_empty()
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_eq!(
        Cloud::S3.list(&endpoint, &bucket, ""),
        vec![],
        "no object visible"
    );
    let left = pending(&endpoint, &bucket);
    assert_eq!(left, vec!["night/part-00000.ndjson".to_string()]);

    // The next run into the prefix aborts what the killed one left, and says so.
    let next = Cloud::S3
        .brazex(&["process", &ndjson_path, "-o", &url], &endpoint)
        .run();
    next.assert_success();
    next.assert_stderr_contains(&format!(
        "aborted 1 pending upload left by an earlier run that did not finish: s3://{bucket}/night/part-00000.ndjson"
    ));
    assert_eq!(pending(&endpoint, &bucket), Vec::<String>::new());
    let keys: Vec<String> = Cloud::S3
        .list(&endpoint, &bucket, "")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        [
            "night/_manifest.json",
            "night/_manifest.redshift.json",
            "night/part-00000.ndjson"
        ]
    );
    assert!(Cloud::S3.get(&endpoint, &bucket, "night/part-00000.ndjson") == ndjson);
}

#[test]
fn a_signal_mid_upload_aborts_it_in_each_cloud() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, ndjson) = users_ndjson(dir.path());
    for cloud in CLOUDS {
        let endpoint = cloud.endpoint();
        let bucket = cloud.bucket(&endpoint, "signal");
        let url = format!("{}://{bucket}/night/", cloud.scheme());
        let args = ["process", "-", "-o", &url, "--upload-part-size", "5MiB"];
        let child = start_streaming(cloud, &endpoint, &args, &ndjson[..7 << 20]);
        if cloud == Cloud::S3 {
            wait_until("a pending upload", || {
                !pending(&endpoint, &bucket).is_empty()
            });
        } else {
            // No listing shows GCS sessions or uncommitted blocks: give the first
            // part time to be on its way.
            std::thread::sleep(Duration::from_secs(2));
        }
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(143), "{cloud:?}: {stderr}");
        assert!(
            stderr.contains("cancelled by SIGTERM"),
            "{cloud:?}: {stderr}"
        );
        assert_eq!(
            cloud.list(&endpoint, &bucket, ""),
            vec![],
            "{cloud:?}: no object"
        );
        if cloud == Cloud::S3 {
            assert_eq!(pending(&endpoint, &bucket), Vec::<String>::new(), "aborted");
        }
    }
}

#[test]
fn a_refused_delete_lists_the_objects_left_and_the_permission() {
    // A server that checks IAM policies (after the setup requests), and takes no
    // multipart upload of more than one part: the run's commit completes the small
    // errors file, then fails on the output, and must delete the errors file again,
    // which the credentials may not.
    let endpoint = start_moto(&[
        ("INITIAL_NO_AUTH_ACTION_COUNT", "4"),
        ("S3_UPLOAD_PART_MIN_SIZE", "104857600"),
    ]);
    let bucket = format!("brazex-refused-{}", std::process::id());
    Cloud::S3.ctl(&endpoint, &["mkbucket", &bucket]);
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
        ]
    })
    .to_string();
    let keys = Cloud::S3.ctl(&endpoint, &["user-with-policy", &policy]);
    let (key, secret) = keys.trim().split_once(' ').expect("keys");
    let dir = tempfile::tempdir().expect("tempdir");
    let (ndjson_path, mut input) = users_ndjson(dir.path());
    input.extend_from_slice(b"{not json\n");
    std::fs::write(&ndjson_path, &input).expect("write");
    let errors = format!("s3://{bucket}/errors.ndjson");
    let out = format!("s3://{bucket}/night/users.ndjson");
    let run = brazex(&[
        "process",
        &ndjson_path,
        "--on-error",
        "skip",
        "--errors-to",
        &errors,
        "-o",
        &out,
        "--upload-part-size",
        "5MiB",
        "--s3-endpoint",
        &endpoint,
    ])
    .env("AWS_ACCESS_KEY_ID", key)
    .env("AWS_SECRET_ACCESS_KEY", secret)
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .run();
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    run.assert_stderr_contains(&errors);
    run.assert_stderr_contains("s3:DeleteObject");
    assert!(!run.stderr.contains(secret), "no secret in messages");
}
