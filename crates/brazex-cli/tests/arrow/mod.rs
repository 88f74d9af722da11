//! `--format arrow`: Arrow IPC streams read back with pyarrow (compared with the
//! NDJSON of the same run) and with arrow-ipc (compared with the Parquet of the same
//! run, which the output tests compare with the NDJSON); parts, `--tables`, a closed
//! stdout, refused flags.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::{brazex, generate_pair};

fn arrow_batches(bytes: &[u8]) -> Vec<RecordBatch> {
    StreamReader::try_new(bytes, None)
        .expect("an Arrow IPC stream")
        .map(|b| b.expect("batch"))
        .collect()
}

fn parquet_batches(path: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).expect("open"))
        .expect("parquet")
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect()
}

/// All the rows of `batches` as one batch (to compare outputs cut differently).
fn concat(batches: &[RecordBatch]) -> RecordBatch {
    let schema = batches.first().expect("a batch").schema();
    arrow_select::concat::concat_batches(&schema, batches).expect("concat")
}

fn parts(dir: &Path) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "arrow"))
        .collect();
    parts.sort();
    parts
}

/// Reads the stream on stdin with pyarrow and compares each row with the NDJSON
/// file argv[1] (the same --select without types): strings, numbers, lists, and
/// timestamps as the instants Braze wrote.
const PYARROW_CHECK: &str = r#"
import sys, json, datetime
import pyarrow as pa
table = pa.ipc.open_stream(sys.stdin.buffer).read_all()
want = [json.loads(l) for l in open(sys.argv[1])]
assert table.num_rows == len(want), (table.num_rows, len(want))
types = {f.name: str(f.type) for f in table.schema}
assert types == {"braze_id": "string", "email": "string", "rev": "double",
                 "bucket": "int32", "created": "timestamp[ms, tz=UTC]",
                 "names": "list<item: string>", "plan": "string", "ltv": "double"}, types
def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
for got, w in zip(table.to_pylist(), want):
    for k in ("braze_id", "email", "plan", "names", "bucket", "ltv"):
        assert got[k] == w.get(k), (k, got[k], w.get(k))
    assert got["rev"] == w.get("rev"), ("rev", got["rev"], w.get("rev"))
    c = w.get("created")
    assert (got["created"] is None) if c is None else got["created"] == instant(c), (got["created"], c)
print(table.num_rows)
"#;

const SELECT: &str = "braze_id,email,rev=total_revenue,bucket=random_bucket,created=created_at,names=purchases[].name,plan=custom_attributes.plan,ltv=custom_attributes.lifetime_value:float";

/// [`SELECT`] for NDJSON, which takes no `:type` pins.
fn unpinned() -> String {
    SELECT.replace(":float", "")
}

#[test]
fn an_arrow_stream_on_stdout_reads_in_pyarrow_as_the_ndjson() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate_pair(dir.path(), 3000, 700, 7);
    let zip = zip.to_str().expect("utf-8");
    let plain = brazex(&["process", "--select", &unpinned(), zip]).run();
    plain.assert_success();
    let ndjson = dir.path().join("plain.ndjson");
    std::fs::write(&ndjson, &plain.stdout).expect("write");

    // brazex … --format arrow | python -c '…pa.ipc.open_stream(sys.stdin.buffer)…'
    let mut brazex_run = Command::new(env!("CARGO_BIN_EXE_brazex"))
        .args(["process", "--select", SELECT, "--format", "arrow", zip])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn brazex");
    let stream = brazex_run.stdout.take().expect("stdout");
    let python = Command::new("python3")
        .arg("-c")
        .arg(PYARROW_CHECK)
        .arg(&ndjson)
        .stdin(stream)
        .output()
        .expect("python3 (scripts/test.sh installs pyarrow)");
    let status = brazex_run.wait().expect("brazex");
    let stderr = String::from_utf8_lossy(&python.stderr);
    assert!(
        !stderr.contains("No module named 'pyarrow'"),
        "pyarrow is missing: run ./scripts/test.sh (it installs pyarrow from PyPI)"
    );
    assert!(python.status.success(), "pyarrow check failed:\n{stderr}");
    assert_eq!(String::from_utf8_lossy(&python.stdout).trim(), "3000");
    assert!(status.success(), "brazex exited {status}");

    // The same stream into a file: byte for byte what went to stdout.
    let file = dir.path().join("users.arrow");
    let to_file = brazex(&[
        "process",
        "--select",
        SELECT,
        "--format",
        "arrow",
        "-o",
        file.to_str().expect("utf-8"),
        zip,
    ])
    .run();
    to_file.assert_success();
    let on_stdout = brazex(&["process", "--select", SELECT, "--format", "arrow", zip]).run();
    on_stdout.assert_success();
    assert_eq!(std::fs::read(&file).expect("file"), on_stdout.stdout);
}

#[test]
fn whole_users_as_arrow_parts_equal_the_parquet_of_the_same_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate_pair(dir.path(), 2500, 700, 42);
    let zip = zip.to_str().expect("utf-8");
    let pq = dir.path().join("pq.parquet");
    brazex(&[
        "process",
        "--format",
        "parquet",
        "-o",
        pq.to_str().expect("utf-8"),
        zip,
    ])
    .run()
    .assert_success();
    let out = dir.path().join("arrow");
    let run = brazex(&[
        "process",
        "--format",
        "arrow",
        "--rows-per-file",
        "1000",
        "--row-group-rows",
        "300",
        "-o",
        &format!("{}/", out.display()),
        zip,
    ])
    .run();
    run.assert_success();
    let files = parts(&out);
    assert_eq!(files.len(), 3, "2500 rows in parts of 1000");
    let mut all = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let batches = arrow_batches(&std::fs::read(file).expect("part"));
        assert!(
            batches.iter().all(|b| b.num_rows() <= 300),
            "batches of at most --row-group-rows"
        );
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, if i < 2 { 1000 } else { 500 });
        all.extend(batches);
    }
    let arrow = concat(&all);
    let parquet = concat(&parquet_batches(&pq));
    assert_eq!(arrow.schema().fields(), parquet.schema().fields());
    assert_eq!(arrow, parquet, "the same rows and values as the Parquet");

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["format"], "arrow");
    assert_eq!(manifest["totals"]["rows_written"], 2500);
    assert_eq!(
        manifest["tables"][0]["files"][2]["path"],
        "part-00002.arrow"
    );
    assert_eq!(manifest["tables"][0]["files"][2]["rows"], 500);

    // --tables: one stream per table and part, in the table's folder.
    let tables = dir.path().join("tables");
    brazex(&[
        "process",
        "--format",
        "arrow",
        "--tables",
        "-o",
        &format!("{}/", tables.display()),
        zip,
    ])
    .run()
    .assert_success();
    let users: usize = parts(&tables.join("users"))
        .iter()
        .flat_map(|f| arrow_batches(&std::fs::read(f).expect("part")))
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(users, 2500);
    let purchases = parts(&tables.join("purchases"));
    let batch = concat(&arrow_batches(&std::fs::read(&purchases[0]).expect("part")));
    assert!(batch.schema().index_of("braze_id").is_ok() && batch.num_rows() > 0);
}

#[test]
fn a_closed_stdout_ends_an_arrow_stream_quietly_and_bad_flags_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate_pair(dir.path(), 6000, 1000, 3);
    let zip = zip.to_str().expect("utf-8");
    // brazex … --format arrow | head -c 100
    let mut child = Command::new(env!("CARGO_BIN_EXE_brazex"))
        .args(["process", "--format", "arrow", zip])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn brazex");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut head = [0u8; 100];
    stdout.read_exact(&mut head).expect("the stream starts");
    drop(stdout);
    let out = child.wait_with_output().expect("brazex");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("error"), "stderr: {stderr}");
    // The stream starts with its schema message (continuation marker 0xFFFFFFFF).
    assert_eq!(&head[..4], &[0xff; 4]);

    for (flags, says) in [
        (
            &["--compress", "gzip"][..],
            "--compress is for NDJSON and CSV",
        ),
        (
            &["--compression", "zstd"][..],
            "--compression is for --format parquet",
        ),
    ] {
        let mut args = vec!["process", "--format", "arrow"];
        args.extend_from_slice(flags);
        args.push(zip);
        let run = brazex(&args).run();
        run.assert_exit(2);
        run.assert_stderr_contains(says);
    }
}
