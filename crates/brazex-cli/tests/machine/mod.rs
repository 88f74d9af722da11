//! For orchestrators and log collectors: `--log-format json` (every stderr line a
//! JSON object) and `--summary-json` (the run's result as one JSON object, also when
//! it fails).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::util::{brazex, generate_pair};

/// Each stderr line as a JSON object; a line that is not one fails the test.
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\n{stderr}"));
            assert!(value.is_object(), "{line}");
            value
        })
        .collect()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("summary written")).expect("json")
}

#[test]
fn json_logs_are_one_object_per_line_with_level_and_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate_pair(dir.path(), 1500, 500, 5);
    let zip = zip.to_str().expect("utf-8");
    let out = dir.path().join("out");
    let run = brazex(&[
        "--log-format",
        "json",
        "process",
        "--select",
        "braze_id,plan=custom_attributes.plan",
        "--where",
        "countryy == \"US\" or braze_id != null",
        "--format",
        "parquet",
        "-o",
        &format!("{}/", out.display()),
        zip,
    ])
    .run();
    run.assert_success();
    let events = json_lines(&run.stderr);
    for event in &events {
        for field in ["timestamp", "level", "message", "target"] {
            assert!(event.get(field).is_some(), "{field} missing: {event}");
        }
        let message = event["message"].as_str().expect("message");
        assert!(!message.starts_with("brazex:"), "{message}");
    }
    let find = |text: &str| {
        events
            .iter()
            .find(|e| e["message"].as_str().is_some_and(|m| m.contains(text)))
            .unwrap_or_else(|| panic!("no event with {text:?}:\n{}", run.stderr))
    };
    assert_eq!(find("did you mean")["level"], "WARN");
    assert_eq!(find("column plan: string (inferred")["level"], "INFO");
    assert_eq!(find("1500 rows read, 1500 written")["level"], "INFO");

    // A bad line: the error event has the exit code and the place as fields.
    let run = brazex(&["--log-format", "json", "process", "-"])
        .stdin(b"{\"a\":1}\n{\"a\":\n".to_vec())
        .run();
    run.assert_exit(1);
    let events = json_lines(&run.stderr);
    let error = events.last().expect("an event");
    assert_eq!(error["level"], "ERROR");
    assert_eq!(error["exit_code"], 1);
    assert_eq!(error["entry"], "<stdin>");
    assert_eq!(error["line"], 2);
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("<stdin>:2: invalid JSON")));

    // Text stays as it was.
    let run = brazex(&["process", "-"]).stdin(b"{\"a\":\n".to_vec()).run();
    run.assert_exit(1);
    assert!(run
        .stderr
        .starts_with("brazex: error: <stdin>:1: invalid JSON"));
}

#[test]
fn the_summary_says_counts_outputs_and_timings_and_is_written_when_the_run_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, ndjson) = generate_pair(dir.path(), 2200, 500, 9);
    let zip = zip.to_str().expect("utf-8");
    let users = std::fs::read_to_string(&ndjson)
        .expect("ndjson")
        .lines()
        .count();
    let out = dir.path().join("out");
    let summary = dir.path().join("summary.json");
    let run = brazex(&[
        "process",
        "--format",
        "csv",
        "--rows-per-file",
        "1000",
        "--summary-json",
        summary.to_str().expect("utf-8"),
        "-o",
        &format!("{}/", out.display()),
        zip,
    ])
    .run();
    run.assert_success();
    let s = read_json(&summary);
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["exit_code"], 0);
    assert!(s["error"].is_null());
    assert_eq!(s["brazex"]["command"], "process");
    assert_eq!(s["counts"]["rows_read"], users);
    assert_eq!(s["counts"]["rows_written"], users);
    assert_eq!(s["counts"]["entries"], 5);
    // The entries' compressed bytes: the zip less its headers and directory.
    let zip_len = std::fs::metadata(zip).expect("zip").len();
    let bytes_in = s["counts"]["bytes_in"].as_u64().expect("bytes_in");
    assert!(
        bytes_in > zip_len * 9 / 10 && bytes_in <= zip_len,
        "{bytes_in} of {zip_len}"
    );
    assert!(s["counts"]["bytes_ndjson"].as_u64() > Some(bytes_in));
    assert_eq!(s["source"]["inputs"][0], zip);
    assert_eq!(s["outputs"]["committed"], true);
    assert_eq!(s["outputs"]["format"], "csv");
    let files = s["outputs"]["files"].as_array().expect("files");
    assert_eq!(files.len(), 3, "2200 rows in parts of 1000");
    let mut rows = 0;
    for file in files {
        let bytes = std::fs::read(file["path"].as_str().expect("path")).expect("the part exists");
        assert_eq!(file["bytes"], bytes.len());
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(file["sha256"], sha);
        rows += file["rows"].as_u64().expect("rows");
    }
    assert_eq!(rows as usize, users);
    assert!(Path::new(s["outputs"]["manifest"].as_str().expect("manifest")).is_file());
    let timings = &s["timings"];
    assert!(timings["seconds"].as_f64().is_some_and(|t| t > 0.0));
    assert_eq!(timings["phases"][0]["phase"], "processing");
    assert!(timings["started"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));

    // A failed run: the summary is written, with the error and its place; nothing
    // was committed.
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, "{\"braze_id\":\"a\"}\n\n{\"braze_id\":\n").expect("write");
    let failed = dir.path().join("out-failed");
    let run = brazex(&[
        "process",
        "--summary-json",
        summary.to_str().expect("utf-8"),
        "-o",
        &format!("{}/", failed.display()),
        "--rows-per-file",
        "1",
        bad.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_exit(1);
    let s = read_json(&summary);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["exit_code"], 1);
    assert_eq!(s["error"]["exit_code"], 1);
    assert_eq!(s["error"]["place"]["entry"], bad.to_str().expect("utf-8"));
    assert_eq!(s["error"]["place"]["line"], 3);
    assert!(s["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains(":3: invalid JSON")));
    assert_eq!(s["outputs"]["committed"], false);
    assert!(
        s.get("counts").is_none(),
        "no counts of a run that did not finish"
    );
    assert!(!failed.join("_manifest.json").exists());

    // `-`: the object on stderr, after the lines.
    let run = brazex(&[
        "process",
        "--summary-json",
        "-",
        "--on-error",
        "skip",
        bad.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_success();
    let last = run.stderr.lines().last().expect("a line");
    let s: serde_json::Value = serde_json::from_str(last).expect("the summary");
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["counts"]["rows_skipped"], 1);
    assert_eq!(s["counts"]["rows_written"], 1);
    assert_eq!(s["outputs"]["target"], "<stdout>");

    // A usage error has no place in the input, but a status and code all the same.
    let run = brazex(&[
        "process",
        "--summary-json",
        summary.to_str().expect("utf-8"),
        "--jobs",
        "0",
        zip,
    ])
    .run();
    run.assert_exit(2);
    let s = read_json(&summary);
    assert_eq!(
        (s["status"].as_str(), s["exit_code"].as_i64()),
        (Some("failed"), Some(2))
    );
    assert!(s["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("--jobs")));

    // A summary that cannot be written is said, and does not change the exit code.
    let nowhere = dir.path().join("no-such-folder").join("s.json");
    let run = brazex(&[
        "process",
        "-q",
        "--summary-json",
        nowhere.to_str().expect("utf-8"),
        zip,
    ])
    .run();
    run.assert_success();
    run.assert_stderr_contains("cannot write --summary-json");
}
