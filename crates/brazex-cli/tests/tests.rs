//! Integration tests: the built `brazex` binary on archives made by real, independent
//! writers (`fixtures/`, see its README) and on generated exports.

mod arrow;
mod bucket;
mod incremental;
mod machine;
mod output;
mod postgres;
mod reliability;
mod run;
mod schema;
mod shell;
mod stores;
mod util;

use std::io::Write;
use std::process::{Command, Stdio};

use util::{brazex, fixture, fixtures_dir, generate_pair};

const GOOD_ALL: &[&str] = &[
    "python-seekable.zip",
    "python-pipe-zip64.zip",
    "python-pipe-stored.zip",
    "java-zipoutputstream.zip",
    "infozip-pipe.zip",
    "gzip-single.gz",
    "gzip-multi.gz",
    "plain.ndjson",
];
const GOOD_STDIN_ENTRY: &[&str] = &["infozip-stdin.zip", "infozip-stdin-pipe.zip"];

fn expected(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join("expected").join(name)).expect("expected output")
}

#[test]
fn every_real_writer_decodes_by_path() {
    for name in GOOD_ALL {
        let run = brazex(&["process", "-q", &fixture(name)]).run();
        run.assert_success();
        assert_eq!(run.stdout, expected("all.ndjson"), "{name}");
    }
    for name in GOOD_STDIN_ENTRY {
        let run = brazex(&["process", "-q", &fixture(name)]).run();
        run.assert_success();
        assert_eq!(run.stdout, expected("infozip-stdin.ndjson"), "{name}");
    }
}

#[test]
fn every_streamable_writer_decodes_through_stdin() {
    for name in GOOD_ALL.iter().filter(|n| **n != "python-pipe-stored.zip") {
        let input = std::fs::read(fixture(name)).expect("fixture");
        let run = brazex(&["process", "-q"]).stdin(input.clone()).run();
        run.assert_success();
        assert_eq!(run.stdout, expected("all.ndjson"), "{name}");
        let run = brazex(&["process", "-q", "-"]).stdin(input).run();
        assert_eq!(run.stdout, expected("all.ndjson"), "{name} via -");
    }
    for name in GOOD_STDIN_ENTRY {
        let input = std::fs::read(fixture(name)).expect("fixture");
        let run = brazex(&["process", "-q"]).stdin(input).run();
        assert_eq!(run.stdout, expected("infozip-stdin.ndjson"), "{name}");
    }
}

#[test]
fn stored_entries_with_descriptors_need_a_file() {
    let input = std::fs::read(fixture("python-pipe-stored.zip")).expect("fixture");
    let run = brazex(&["process", "-q"]).stdin(input).run();
    run.assert_exit(1);
    run.assert_stderr_contains("<stdin>!users-000.txt: byte offset 0:");
    run.assert_stderr_contains("pass the archive as a file path");
}

#[test]
fn select_is_lossless() {
    let select = r#"external_id,email,rev=total_revenue,purchases[].name,custom_attributes."a.b",custom_attributes.big"#;
    for name in GOOD_ALL {
        let run = brazex(&["process", "-q", "--select", select, &fixture(name)]).run();
        run.assert_success();
        assert_eq!(run.stdout, expected("all.select.ndjson"), "{name}");
    }
}

#[test]
fn damaged_archives_name_entry_and_offset() {
    let cases = [
        (
            "bad-truncated.zip",
            "bad-truncated.zip!users-001.txt: byte offset 1471: the input ends in the middle of deflate data",
        ),
        (
            "bad-deflate.zip",
            "bad-deflate.zip!users-000.txt: byte offset 44: corrupt deflate data",
        ),
        (
            "bad-crc.zip",
            "bad-crc.zip!users-001.txt: byte offset 1139: CRC-32 mismatch",
        ),
        (
            "bad-trailing-garbage.gz",
            "bad-trailing-garbage.gz: byte offset 1715: trailing data that is not a gzip member",
        ),
    ];
    for (name, message) in cases {
        // One thread, and entries inflated side by side.
        for jobs in ["1", "2"] {
            let run = brazex(&["process", "-q", "--jobs", jobs, &fixture(name)]).run();
            run.assert_exit(1);
            run.assert_stderr_contains(message);
        }
        // And the same through a pipe.
        let input = std::fs::read(fixture(name)).expect("fixture");
        let run = brazex(&["process", "-q"]).stdin(input).run();
        run.assert_exit(1);
        run.assert_stderr_contains("byte offset");
    }
    let run = brazex(&["process", "-q", &fixture("bad-deflate-far.zip")]).run();
    run.assert_exit(1);
    run.assert_stderr_contains("bad-deflate-far.zip!users-000.txt: byte offset");
}

#[test]
fn invalid_json_names_entry_and_line() {
    for jobs in ["1", "2"] {
        let run = brazex(&["process", "-q", "-j", jobs, &fixture("bad-json.ndjson")]).run();
        run.assert_exit(1);
        run.assert_stderr_contains("bad-json.ndjson:3: invalid JSON: expected value at column 32");
        let run = brazex(&["process", "-q", "-j", jobs, &fixture("bad-json.zip")]).run();
        run.assert_exit(1);
        run.assert_stderr_contains("bad-json.zip!broken.txt:2: invalid JSON");
    }

    let run = brazex(&["process", "-q"])
        .stdin(b"{\"a\":1}\n[1,2]\n".to_vec())
        .run();
    run.assert_exit(1);
    run.assert_stderr_contains("<stdin>:2: invalid JSON: expected a JSON object");
}

#[test]
fn skip_counts_and_records_bad_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let errors = dir.path().join("errors.ndjson");
    for jobs in ["1", "2"] {
        skip_counts_and_records_bad_lines_with(jobs, &errors);
    }

    let run = brazex(&["process", "--errors-to", "x", &fixture("bad-json.ndjson")]).run();
    run.assert_exit(2);
    run.assert_stderr_contains("--errors-to needs --on-error skip");
}

fn skip_counts_and_records_bad_lines_with(jobs: &str, errors: &std::path::Path) {
    let run = brazex(&[
        "process",
        "--jobs",
        jobs,
        "--on-error",
        "skip",
        "--errors-to",
        errors.to_str().expect("utf-8"),
        &fixture("bad-json.ndjson"),
    ])
    .run();
    run.assert_success();
    assert_eq!(run.stdout.iter().filter(|&&b| b == b'\n').count(), 4);
    run.assert_stderr_contains("5 rows read, 4 written, 1 bad lines skipped");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(errors).expect("errors file")).expect("json");
    assert_eq!(record["line"], 3);
    assert!(record["entry"]
        .as_str()
        .expect("entry")
        .ends_with("bad-json.ndjson"));
    assert!(record["text"]
        .as_str()
        .expect("text")
        .contains("\"email\": }"));
    assert!(record["error"]
        .as_str()
        .expect("error")
        .contains("expected value"));
}

#[test]
fn over_long_lines_are_errors_naming_the_flag() {
    let mut input = b"{\"a\":1}\n".to_vec();
    input.extend(format!("{{\"a\":\"{}\"}}\n", "x".repeat(5000)).into_bytes());
    let run = brazex(&["process", "-q", "--max-line-bytes", "1K"])
        .stdin(input.clone())
        .run();
    run.assert_exit(1);
    run.assert_stderr_contains(
        "<stdin>:2: line is longer than 1000 bytes (raise the limit with --max-line-bytes)",
    );
    let run = brazex(&["process", "-q", "--max-line-bytes", "1MiB"])
        .stdin(input)
        .run();
    run.assert_success();
}

#[test]
fn output_files_appear_only_when_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("rows.ndjson");
    let out_arg = out.to_str().expect("utf-8");
    let run = brazex(&[
        "process",
        "-q",
        "-o",
        out_arg,
        &fixture("java-zipoutputstream.zip"),
    ])
    .run();
    run.assert_success();
    assert!(run.stdout.is_empty());
    assert_eq!(std::fs::read(&out).expect("output"), expected("all.ndjson"));

    let failed = dir.path().join("failed.ndjson");
    let run = brazex(&[
        "process",
        "-q",
        "-o",
        failed.to_str().expect("utf-8"),
        &fixture("bad-crc.zip"),
    ])
    .run();
    run.assert_exit(1);
    assert!(!failed.exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        vec!["rows.ndjson"],
        "no temporary file is left behind"
    );
}

#[test]
fn directories_mix_formats_in_path_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir(root.join("b")).expect("mkdir");
    // Names that lie about the format: detection is by content.
    std::fs::copy(fixture("gzip-single.gz"), root.join("b/2.txt")).expect("copy");
    std::fs::copy(fixture("java-zipoutputstream.zip"), root.join("a.gz")).expect("copy");
    std::fs::copy(fixture("plain.ndjson"), root.join("b/1.zip")).expect("copy");
    let run = brazex(&["process", "-q", root.to_str().expect("utf-8")]).run();
    run.assert_success();
    assert_eq!(run.stdout, expected("all.ndjson").repeat(3));
}

#[test]
fn the_demo_runs_the_whole_job_offline() {
    // The README's main command: simulator, trigger, wait, download, process.
    let run = brazex(&["demo"]).run();
    run.assert_success();
    run.assert_stderr_contains("Braze accepted the export");
    run.assert_stderr_contains("20000 rows read");
    let first = String::from_utf8_lossy(&run.stdout)
        .lines()
        .next()
        .map(str::to_string)
        .expect("rows on stdout");
    let row: serde_json::Value = serde_json::from_str(&first).expect("a JSON row");
    assert_eq!(row["country"], "US");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("big.zip");
    brazex(&[
        "generate",
        "--users",
        "3000",
        "-o",
        archive.to_str().expect("utf-8"),
    ])
    .run()
    .assert_success();
    let mut child = Command::new(env!("CARGO_BIN_EXE_brazex"))
        .args(["process", archive.to_str().expect("utf-8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Read one line, then close the pipe, like `| head -1`.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn generated_exports_round_trip_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, ndjson) = generate_pair(dir.path(), 12_000, 1_000, 42);
    let want = std::fs::read(&ndjson).expect("ndjson");
    for jobs in ["1", "2", "7"] {
        let run = brazex(&[
            "process",
            "-q",
            "--jobs",
            jobs,
            zip.to_str().expect("utf-8"),
        ])
        .run();
        run.assert_success();
        assert!(
            run.stdout == want,
            "jobs {jobs}: output differs from the generated NDJSON"
        );
    }
    // A selection keeps the row count and order.
    let run = brazex(&[
        "process",
        "--select",
        "external_id",
        zip.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_success();
    let ids: Vec<serde_json::Value> = run
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<serde_json::Value>(l).expect("json")["external_id"].clone()
        })
        .collect();
    let want_ids: Vec<serde_json::Value> = want
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<serde_json::Value>(l).expect("json")["external_id"].clone()
        })
        .collect();
    assert_eq!(ids, want_ids);
    run.assert_stderr_contains("12000 rows read, 12000 written");
}

#[test]
fn usage_errors_exit_2_with_a_caret() {
    let run = brazex(&["process", "--select", "a,,b"])
        .stdin(Vec::new())
        .run();
    run.assert_exit(2);
    run.assert_stderr_contains("--select: expected a key");
    run.assert_stderr_contains("  a,,b\n    ^");
    let run = brazex(&["process", "--bogus"]).run();
    run.assert_exit(2);
    let run = brazex(&["process", "-q", "/nonexistent/file.zip"]).run();
    run.assert_exit(3);
    run.assert_stderr_contains("cannot read /nonexistent/file.zip");
}

#[test]
fn zero_intervals_timeouts_and_entry_sizes_are_usage_errors_naming_the_flag() {
    // A poll interval of zero never grew (it doubles): the URL was asked ~500 times a
    // second. `--wait-timeout 1s` keeps a build that accepted the zero from waiting 2h.
    let download = [
        "download",
        "http://127.0.0.1:9/x.zip",
        "--wait-timeout",
        "1s",
    ];
    let cases: [(Vec<&str>, &str); 4] = [
        (
            [&download[..], &["--poll-interval", "0"]].concat(),
            "--poll-interval",
        ),
        (
            [&download[..], &["--stall-timeout", "0s"]].concat(),
            "--stall-timeout",
        ),
        (
            vec!["process", "s3://b/p/", "--stall-timeout", "0ms"],
            "--stall-timeout",
        ),
        (
            vec![
                "run",
                "--segment-id",
                "s",
                "--bucket",
                "s3://b",
                "--settle",
                "0m",
            ],
            "--settle",
        ),
    ];
    for (args, flag) in cases {
        let run = brazex(&args).run();
        run.assert_exit(2);
        run.assert_stderr_contains("invalid value '0");
        run.assert_stderr_contains(flag);
        run.assert_stderr_contains("must be more than 0");
    }
    // A wait timeout of zero is a check that does not wait: accepted, and it gives up
    // at once (exit 5) when the export is not there.
    let run = brazex(&[
        "download",
        "http://127.0.0.1:9/x.zip",
        "--wait-timeout",
        "0s",
        "-q",
    ])
    .run();
    run.assert_exit(5);
    run.assert_stderr_contains("--wait-timeout");
    // Zero users an entry was written as one an entry.
    let out = tempfile::tempdir().expect("tempdir");
    let zip = out.path().join("x.zip");
    let zip = zip.to_str().expect("utf-8 path");
    let run = brazex(&[
        "generate",
        "--users",
        "10",
        "--users-per-entry",
        "0",
        "-o",
        zip,
    ])
    .run();
    run.assert_exit(2);
    run.assert_stderr_contains("--users-per-entry");
    assert!(!std::path::Path::new(zip).exists());
}

#[test]
fn blank_lines_and_carriage_returns() {
    let run = brazex(&["process", "-q"])
        .stdin(b"\n{\"a\":1}\r\n\r\n  \n{\"b\":2}".to_vec())
        .run();
    run.assert_success();
    assert_eq!(run.stdout, b"{\"a\":1}\n{\"b\":2}\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_brazex"))
        .args(["process", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn blocks_whose_lines_are_all_rows_as_they_are_and_blocks_that_are_not() {
    // A block whose lines are all rows as they are is handed over whole; in one with
    // a line that is not (a `\r`, a blank line, a bad line skipped, a row filtered
    // out), the lines are copied from that one on. About 4.5 blocks of 512 KiB, the
    // odd lines in the third, and a last line without its newline: the output is the
    // same either way, with one thread or several.
    let pad = "x".repeat(100);
    let row = |i: usize| format!("{{\"n\":{i},\"pad\":\"{pad}\"}}");
    let odd_at = |i: usize| i == 11_003 || i == 11_050;
    for (name, odd) in [
        ("cr", "\r"),
        ("blank", "  "),
        ("bad", "{\"n\":"),
        ("filtered", "{\"n\":-1}"),
    ] {
        let mut input = String::new();
        let mut want = String::new();
        for i in 0..20_000 {
            match (odd_at(i), name) {
                (true, "cr") => {
                    input.push_str(&row(i));
                    input.push_str(odd);
                    want.push_str(&row(i));
                    want.push('\n');
                }
                (true, _) => input.push_str(odd),
                (false, _) => {
                    input.push_str(&row(i));
                    want.push_str(&row(i));
                    want.push('\n');
                }
            }
            input.push('\n');
        }
        input.push_str(&row(20_000));
        want.push_str(&row(20_000));
        want.push('\n');
        for jobs in ["1", "2"] {
            let run = brazex(&[
                "process",
                "-q",
                "--jobs",
                jobs,
                "--on-error",
                "skip",
                "--where",
                "n >= 0",
            ])
            .stdin(input.clone().into_bytes())
            .run();
            run.assert_success();
            assert!(
                run.stdout == want.as_bytes(),
                "{name}, --jobs {jobs}: the output differs"
            );
        }
    }
}

/// `--where` on a generated export, checked against the same filter computed here
/// independently with serde_json.
#[test]
fn where_filters_like_an_independent_computation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, ndjson) = generate_pair(dir.path(), 6_000, 1_000, 11);
    let users: Vec<serde_json::Value> = std::fs::read_to_string(&ndjson)
        .expect("ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let names = |u: &serde_json::Value, array: &str, key: &str| -> Vec<String> {
        u[array]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[key].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    type Check = Box<dyn Fn(&serde_json::Value) -> bool>;
    let cases: Vec<(&str, Check)> = vec![
        (
            r#"country == "US" and total_revenue > 10 and purchases[].name == "gift_card""#,
            Box::new(move |u| {
                u["country"] == "US"
                    && u["total_revenue"].as_f64().is_some_and(|r| r > 10.0)
                    && names(u, "purchases", "name")
                        .iter()
                        .any(|n| n == "gift_card")
            }),
        ),
        (
            r#"NOT (custom_attributes.plan in ["pro", "enterprise"]) && exists(email)"#,
            Box::new(|u| {
                let plan = &u["custom_attributes"]["plan"];
                let pro = plan == "pro" || plan == "enterprise";
                !pro && !u["email"].is_null()
            }),
        ),
        (
            r#"email ~ "@(gmail|yahoo)\\.com$" or phone == null"#,
            Box::new(|u| {
                let email = u["email"].as_str().unwrap_or("");
                email.ends_with("@gmail.com")
                    || email.ends_with("@yahoo.com")
                    || u["phone"].is_null()
            }),
        ),
        (
            // The same pattern as a raw string: the backslash as written.
            r#"email ~ r"@(gmail|yahoo)\.com$" or phone == null"#,
            Box::new(|u| {
                let email = u["email"].as_str().unwrap_or("");
                email.ends_with("@gmail.com")
                    || email.ends_with("@yahoo.com")
                    || u["phone"].is_null()
            }),
        ),
        (
            r#"random_bucket < 5000 and not (devices[].os startswith "iOS")"#,
            Box::new(|u| {
                u["random_bucket"].as_i64().is_some_and(|b| b < 5000)
                    && !u["devices"].as_array().is_some_and(|d| {
                        d.iter()
                            .any(|x| x["os"].as_str().is_some_and(|o| o.starts_with("iOS")))
                    })
            }),
        ),
    ];
    for (expr, check) in cases {
        let want: Vec<&serde_json::Value> = users
            .iter()
            .filter(|u| check(u))
            .map(|u| &u["braze_id"])
            .collect();
        assert!(
            !want.is_empty() && want.len() < users.len(),
            "{expr}: a filter that selects something"
        );
        let run = brazex(&[
            "process",
            "--where",
            expr,
            "--select",
            "braze_id",
            zip.to_str().expect("utf-8"),
        ])
        .run();
        run.assert_success();
        let got: Vec<serde_json::Value> = run
            .stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                serde_json::from_slice::<serde_json::Value>(l).expect("json")["braze_id"].clone()
            })
            .collect();
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{expr}");
        run.assert_stderr_contains(&format!(
            "6000 rows read, {} written, {} filtered out",
            want.len(),
            6000 - want.len()
        ));
    }
}

#[test]
fn where_errors_and_warnings() {
    let run = brazex(&["process", "--where", "country == "])
        .stdin(Vec::new())
        .run();
    run.assert_exit(2);
    run.assert_stderr_contains("--where: ");
    run.assert_stderr_contains("  country == \n             ^");
    let run = brazex(&["process", "--where", "contry == \"US\""])
        .stdin(b"{\"country\":\"US\"}\n".to_vec())
        .run();
    run.assert_success();
    run.assert_stderr_contains("warning: 'contry' in --where");
    run.assert_stderr_contains("did you mean 'country'?");
    assert!(run.stdout.is_empty());
}

/// The literal pre-check never changes the rows; `--no-prefilter` parses every line.
#[test]
fn the_prefilter_changes_no_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("g.zip");
    brazex(&[
        "generate",
        "--users",
        "4000",
        "--users-per-entry",
        "500",
        "-o",
        zip.to_str().expect("utf-8"),
    ])
    .run()
    .assert_success();
    let zip = zip.to_str().expect("utf-8");
    for expr in [
        r#"country == "US" and purchases[].name == "gift_card""#,
        r#"country in ["JP", "BR"] or home_city == "München""#,
        r#"custom_attributes.favorite_tags contains "tech" and exists(phone)"#,
    ] {
        let fast = brazex(&["process", "-q", "--where", expr, zip]).run();
        fast.assert_success();
        let exact = brazex(&["process", "-q", "--no-prefilter", "--where", expr, zip]).run();
        exact.assert_success();
        assert!(!fast.stdout.is_empty(), "{expr}");
        assert!(
            fast.stdout == exact.stdout,
            "{expr}: the pre-check changed the rows"
        );
    }
    // An escaped match is still found.
    let input = b"{\"country\":\"\\u0055S\"}\n{\"country\":\"GB\"}\n".to_vec();
    let run = brazex(&["process", "-q", "--where", "country == \"US\""])
        .stdin(input)
        .run();
    assert_eq!(run.stdout, b"{\"country\":\"\\u0055S\"}\n");
    // An invalid line that cannot match: counted as filtered, or reported without it.
    let input = b"{\"country\":\"US\"}\n{\"country\": GB}\n".to_vec();
    let run = brazex(&["process", "--where", "country == \"US\""])
        .stdin(input.clone())
        .run();
    run.assert_success();
    run.assert_stderr_contains("2 rows read, 1 written, 1 filtered out");
    let run = brazex(&["process", "--no-prefilter", "--where", "country == \"US\""])
        .stdin(input)
        .run();
    run.assert_exit(1);
    run.assert_stderr_contains("<stdin>:2: invalid JSON");
}

#[test]
fn an_output_that_is_a_pipe_or_device_is_written_in_place() {
    // `-o /dev/null` once replaced the device with a file (a temporary renamed over
    // it at commit); a FIFO shows the same without touching /dev.
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("rows.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).expect("read the fifo"))
    };
    let run = brazex(&[
        "process",
        "-q",
        &fixture("plain.ndjson"),
        "-o",
        fifo.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_success();
    // (Checked before joining the reader, which waits for ever if no one wrote.)
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::symlink_metadata(&fifo).expect("fifo").file_type();
    assert!(kind.is_fifo(), "the FIFO is still a FIFO");
    assert_eq!(reader.join().expect("reader"), expected("all.ndjson"));
    let names: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(names.len(), 1, "no temporary or lock file beside it");
    // And /dev/null stays a device.
    let run = brazex(&["process", "-q", &fixture("plain.ndjson"), "-o", "/dev/null"]).run();
    run.assert_success();
    let null = std::fs::metadata("/dev/null")
        .expect("/dev/null")
        .file_type();
    assert!(null.is_char_device(), "/dev/null is still a device");
}
