//! `brazex run`, `export` and `download` against the Braze simulator over loopback.

use std::time::Duration;

use brazex_sim::{Faults, RunningSim, SimConfig, Simulator};

use crate::util::{brazex, Invocation, Run};

/// A simulator with small segments and short delays, its spool in `dir`.
fn sim(dir: &tempfile::TempDir, tune: impl FnOnce(&mut SimConfig)) -> RunningSim {
    let mut config = SimConfig::new(dir.path().join("spool"));
    config.ready_after = Duration::from_millis(600);
    config.users_per_entry = 500;
    for segment in &mut config.segments {
        if segment.id == "all" {
            segment.users = 3_000;
        }
    }
    tune(&mut config);
    Simulator::spawn_background(config).expect("simulator starts")
}

/// `brazex run` against `sim`, with fast polling.
fn run(sim: &RunningSim, extra: &[&str]) -> Invocation {
    let mut args = vec![
        "run",
        "--endpoint",
        sim.endpoint(),
        "--poll-interval",
        "0.1",
    ];
    args.extend_from_slice(extra);
    brazex(&args).env("BRAZE_API_KEY", sim.api_key())
}

/// The rows of the archive the simulator served, processed from disk: what `run`
/// must print.
fn rows_from_disk(sim: &RunningSim, extra: &[&str]) -> Vec<u8> {
    let trigger = sim.triggers().into_iter().last().expect("a trigger");
    let prefix = trigger.object_prefix.expect("accepted");
    let file = sim.export_file(&prefix).expect("export file");
    let mut args = vec!["process", "-q"];
    args.extend_from_slice(extra);
    let file = file.to_string_lossy().into_owned();
    args.push(&file);
    let out = brazex(&args).run();
    out.assert_success();
    out.stdout
}

fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

#[test]
fn run_streams_the_whole_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |_| {});
    let out = run(&sim, &["--segment-id", "all"]).run();
    out.assert_success();
    assert_eq!(line_count(&out.stdout), 3_000);
    out.assert_stderr_contains("3000 rows read, 3000 written");
    // Without --select, whole records: every field is asked for.
    let triggers = sim.triggers();
    let fields = triggers[0].body.as_ref().expect("json body")["fields_to_export"]
        .as_array()
        .expect("fields");
    assert_eq!(fields.len(), brazex_core::fields::EXPORT_FIELDS.len());
    assert_eq!(out.stdout, rows_from_disk(&sim, &[]));
    // It polled at least once before the export was ready (403 AccessDenied).
    assert!(
        sim.downloads().iter().any(|d| d.status == 403),
        "{:?}",
        sim.downloads()
    );
}

#[test]
fn run_asks_only_for_the_fields_it_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |_| {});
    let select = "id=external_id,purchases[].name,plan=custom_attributes.plan";
    let filter = r#"country == "US" and custom_attributes."a.b" != null"#;
    let out = run(
        &sim,
        &["--segment-id", "all", "--select", select, "--where", filter],
    )
    .run();
    out.assert_success();
    let triggers = sim.triggers();
    let body = triggers[0].body.as_ref().expect("json body");
    assert_eq!(
        body["fields_to_export"],
        serde_json::json!(["external_id", "purchases", "country"])
    );
    assert_eq!(
        body["custom_attributes_to_export"],
        serde_json::json!(["plan", "a.b"])
    );
    assert_eq!(body["segment_id"], "all");
    assert_eq!(body["output_format"], "zip");
    assert!(
        body.get("callback_endpoint").is_none(),
        "omitted when not given"
    );
    out.assert_stderr_contains("requesting fields_to_export [external_id, purchases, country], custom_attributes_to_export [plan, a.b]");
    assert_eq!(
        out.stdout,
        rows_from_disk(&sim, &["--select", select, "--where", filter])
    );
}

#[test]
fn dropped_connections_resume_without_losing_or_doubling_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| {
        c.faults = Faults {
            drop_after_bytes: Some(15_000),
            drop_times: 3,
            ..Faults::default()
        };
    });
    // One stream (--jobs 1): the ranged, entry-by-entry download has its own test.
    let out = run(
        &sim,
        &[
            "--segment-id",
            "all",
            "--select",
            "braze_id,email",
            "--jobs",
            "1",
        ],
    )
    .run();
    out.assert_success();
    out.assert_stderr_contains("the download was resumed 3 times");
    assert_eq!(line_count(&out.stdout), 3_000);
    assert_eq!(
        out.stdout,
        rows_from_disk(&sim, &["--select", "braze_id,email"])
    );
    // Polls ask for bytes=0-0; resumes for the rest from where the body broke off.
    let resumes: Vec<_> = sim
        .downloads()
        .into_iter()
        .filter_map(|d| d.range)
        .filter(|r| r != "bytes=0-0")
        .collect();
    assert_eq!(resumes.len(), 3, "resumed with Range: {resumes:?}");
}

#[test]
fn a_server_that_ignores_ranges_is_read_again_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| {
        c.faults = Faults {
            drop_after_bytes: Some(100_000),
            drop_times: 2,
            ignore_range: true,
            ..Faults::default()
        };
    });
    let out = run(&sim, &["--segment-id", "all"]).run();
    out.assert_success();
    assert_eq!(out.stdout, rows_from_disk(&sim, &[]));
}

/// `run --jobs 2` of segment `all` against a simulator with `faults`, the archive's
/// entries read side by side by range; checks that the rows are those of the archive
/// processed from disk, in entry order.
fn run_by_range(dir: &tempfile::TempDir, faults: Faults) -> (RunningSim, Run) {
    let sim = sim(dir, |c| c.faults = faults);
    let select = "braze_id,email,purchases[].name";
    let out = run(
        &sim,
        &["--segment-id", "all", "--select", select, "--jobs", "2"],
    )
    .run();
    out.assert_success();
    assert_eq!(line_count(&out.stdout), 3_000);
    assert_eq!(out.stdout, rows_from_disk(&sim, &["--select", select]));
    (sim, out)
}

#[test]
fn ranged_entry_downloads_cope_with_a_server_that_stops_honouring_ranges() {
    // The probe (bytes=0-0) finds ranges working; every longer range gets the
    // whole archive with 200: each ranged read must drop what comes before its
    // range and stop at its end, for the central directory and for every entry.
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim, _) = run_by_range(
        &dir,
        Faults {
            ignore_range_after: Some(0),
            ..Faults::default()
        },
    );
    let downloads = sim.downloads();
    assert!(
        downloads
            .iter()
            .any(|d| d.status == 206 && d.range.as_deref() == Some("bytes=0-0")),
        "the probe found ranges working"
    );
    let whole_for_a_range = downloads
        .iter()
        .filter(|d| d.status == 200 && d.range.as_deref().is_some_and(|r| r != "bytes=0-0"))
        .count();
    // The central directory's reads and one per entry (6 entries).
    assert!(whole_for_a_range >= 6, "{downloads:?}");
}

#[test]
fn entries_download_side_by_side_by_range_and_resume() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim, out) = run_by_range(
        &dir,
        Faults {
            drop_after_bytes: Some(15_000),
            drop_times: 3,
            ..Faults::default()
        },
    );
    out.assert_stderr_contains("the download was resumed 3 times");
    // One closed range per entry (6 entries of 500 users), besides the probe, the
    // central directory's reads and the resumes.
    let ranges: Vec<String> = sim
        .downloads()
        .into_iter()
        .filter(|d| d.status == 206)
        .filter_map(|d| d.range)
        .collect();
    let closed = ranges
        .iter()
        .filter(|r| r.starts_with("bytes=") && !r.ends_with('-') && r.as_str() != "bytes=0-0")
        .count();
    assert!(closed > 6, "ranged requests: {ranges:?}");
}

#[test]
fn parquet_from_a_download_infers_custom_attribute_types() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |_| {});
    let select = "id=external_id,lv=custom_attributes.lifetime_value";
    for (name, flag) in [
        ("ranged.parquet", "--jobs=2"),
        ("stream.parquet", "--one-stream"),
    ] {
        let out_file = dir.path().join(name);
        let out = run(
            &sim,
            &[
                "--segment-id",
                "all",
                "--format",
                "parquet",
                "--select",
                select,
                flag,
                "-o",
                out_file.to_str().expect("utf-8"),
            ],
        )
        .run();
        out.assert_success();
        out.assert_stderr_contains("column lv: float (inferred");
        out.assert_stderr_contains("3000 rows read, 3000 written");
        assert!(out_file.exists(), "{name}");
    }
}

#[test]
fn a_stalled_download_is_resumed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| {
        c.faults = Faults {
            stall_after_bytes: Some(200_000),
            stall_times: 1,
            stall_for: Duration::from_secs(30),
            ..Faults::default()
        };
    });
    let out = run(
        &sim,
        &[
            "--segment-id",
            "all",
            "--stall-timeout",
            "500ms",
            "--one-stream",
        ],
    )
    .run();
    out.assert_success();
    out.assert_stderr_contains("resumed 1 times");
    assert_eq!(out.stdout, rows_from_disk(&sim, &[]));
}

#[test]
fn too_many_drops_fail_naming_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| {
        c.faults = Faults {
            drop_after_bytes: Some(50_000),
            drop_times: 10,
            ..Faults::default()
        };
    });
    let out = run(
        &sim,
        &["--segment-id", "all", "--max-resumes", "2", "--jobs", "1"],
    )
    .run();
    out.assert_exit(4);
    out.assert_stderr_contains("gave up after 2 resumes (raise --max-resumes)");
}

#[test]
fn retries_5xx_and_waits_out_429() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| {
        c.faults = Faults {
            trigger_5xx_first: 2,
            trigger_429_first: 1,
            rate_limit_reset_secs: 1,
            ..Faults::default()
        };
    });
    let out = run(&sim, &["--segment-id", "small", "-v"]).run();
    out.assert_success();
    assert_eq!(line_count(&out.stdout), 10);
    assert!(sim.triggers().len() >= 4, "{:?}", sim.triggers().len());
    out.assert_stderr_contains("429");
    out.assert_stderr_contains("503");
}

#[test]
fn the_callback_ends_the_wait_before_the_next_poll() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| c.ready_after = Duration::from_millis(300));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let url = format!("http://{addr}/braze-callback");
    let started = std::time::Instant::now();
    let out = brazex(&[
        "run",
        "--endpoint",
        sim.endpoint(),
        "--segment-id",
        "small",
        // Polls far apart: only the callback can end the wait quickly.
        "--poll-interval",
        "60",
        "--callback-listen",
        &addr.to_string(),
        "--callback-url",
        &url,
    ])
    .env("BRAZE_API_KEY", sim.api_key())
    .run();
    out.assert_success();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(line_count(&out.stdout), 10);
    assert_eq!(
        sim.triggers()[0].body.as_ref().expect("json body")["callback_endpoint"],
        url
    );
    assert!(!sim.callbacks().is_empty());
}

#[test]
fn an_empty_segment_gives_no_rows_and_success() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |_| {});
    let out = run(&sim, &["--segment-id", "empty"]).run();
    out.assert_success();
    assert!(out.stdout.is_empty());
    out.assert_stderr_contains("0 rows read, 0 written");
}

#[test]
fn a_bad_key_is_refused_with_braze_s_message_and_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |_| {});
    let out = run(&sim, &["--segment-id", "all"])
        .env("BRAZE_API_KEY", "wrong-key-123")
        .run();
    out.assert_exit(4);
    out.assert_stderr_contains("Braze rejected the API key (401 Unauthorized)");
    out.assert_stderr_contains("only works on its own instance");
    assert!(!out.stderr.contains("wrong-key-123"));
    let out = run(&sim, &["--segment-id", "all"])
        .env("BRAZE_API_KEY", "\"quoted\"")
        .run();
    out.assert_exit(4);
    out.assert_stderr_contains("wrapped in quotes");
}

#[test]
fn unknown_fields_are_usage_errors_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |_| {});
    let out = run(&sim, &["--segment-id", "all", "--fields", "email,emial"]).run();
    out.assert_exit(2);
    out.assert_stderr_contains("unknown field 'emial' in fields_to_export (did you mean 'email'?)");
    out.assert_stderr_contains("valid fields: apps,");
    assert!(sim.triggers().is_empty(), "nothing was sent");
}

#[test]
fn an_expired_link_says_braze_deletes_exports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| c.ttl = Duration::from_millis(1));
    let out = run(&sim, &["--segment-id", "small"]).run();
    out.assert_exit(5);
    out.assert_stderr_contains("expired");
    out.assert_stderr_contains("about four hours");
}

#[test]
fn the_wait_times_out_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| c.ready_after = Duration::from_secs(3600));
    let out = run(&sim, &["--segment-id", "small", "--wait-timeout", "1s"]).run();
    out.assert_exit(5);
    out.assert_stderr_contains("not ready after 1s (--wait-timeout)");
    out.assert_stderr_contains("failed exports by email only");
}

#[test]
fn the_key_never_shows_at_the_highest_verbosity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| {
        c.faults = Faults {
            trigger_5xx_first: 1,
            drop_after_bytes: Some(100_000),
            drop_times: 1,
            ..Faults::default()
        };
    });
    let key = sim.api_key().to_string();
    let out = run(&sim, &["--segment-id", "all", "-vv"]).run();
    out.assert_success();
    assert!(
        out.stderr.contains("POST /users/export/segment"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains(&key),
        "the key leaked:\n{}",
        out.stderr
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key));
    // A failure too.
    let out = run(&sim, &["--segment-id", "nope", "-vv"]).run();
    out.assert_exit(4);
    assert!(!out.stderr.contains(&key));
}

#[test]
fn json_logs_and_the_summary_of_a_run_name_the_export_and_never_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| {
        c.faults = Faults {
            trigger_5xx_first: 1,
            ..Faults::default()
        };
    });
    let key = sim.api_key().to_string();
    let summary = dir.path().join("summary.json");
    let out = run(
        &sim,
        &[
            "--segment-id",
            "all",
            "-vv",
            "--log-format",
            "json",
            "--summary-json",
            summary.to_str().expect("utf-8"),
        ],
    )
    .run();
    out.assert_success();
    for line in out.stderr.lines() {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(event["level"].is_string(), "{line}");
    }
    assert!(
        out.stderr.contains("POST /users/export/segment"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("\"level\":\"WARN\""),
        "the retry is a warning"
    );
    assert!(
        !out.stderr.contains(&key),
        "the key leaked:\n{}",
        out.stderr
    );
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(!text.contains(&key), "the key leaked into the summary");
    let s: serde_json::Value = serde_json::from_str(&text).expect("json");
    let trigger = sim.triggers().into_iter().last().expect("a trigger");
    assert_eq!(
        s["braze"]["object_prefix"],
        trigger.object_prefix.expect("accepted")
    );
    assert_eq!(s["braze"]["segment_id"], "all");
    assert_eq!(s["brazex"]["command"], "run");
    assert_eq!(s["counts"]["rows_written"], 3000);
    let phases: Vec<&str> = s["timings"]["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["phase"].as_str().expect("phase"))
        .collect();
    assert!(phases.contains(&"waiting for the export"), "{phases:?}");

    // An export that never gets ready: the summary of the failure still names it.
    let sim = self::sim(&dir, |c| c.ready_after = Duration::from_secs(3600));
    let out = run(
        &sim,
        &[
            "--segment-id",
            "small",
            "--wait-timeout",
            "1s",
            "--summary-json",
            summary.to_str().expect("utf-8"),
        ],
    )
    .run();
    out.assert_exit(5);
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).expect("summary")).expect("json");
    assert_eq!(s["status"], "failed");
    assert_eq!(s["exit_code"], 5);
    assert!(s["braze"]["object_prefix"].is_string());
    assert!(s["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("--wait-timeout")));
}

#[test]
fn export_prints_braze_s_answer_and_download_processes_a_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |_| {});
    let out = brazex(&[
        "export",
        "--endpoint",
        sim.endpoint(),
        "--segment-id",
        "small",
        "--fields",
        "email,external_id",
    ])
    .env("BRAZE_API_KEY", sim.api_key())
    .run();
    out.assert_success();
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["message"], "success");
    let url = answer["url"].as_str().expect("url").to_string();
    assert_eq!(
        sim.triggers()[0].body.as_ref().expect("json body")["fields_to_export"],
        serde_json::json!(["email", "external_id"])
    );
    let out: Run = brazex(&[
        "download",
        &url,
        "--poll-interval",
        "0.1",
        "--select",
        "external_id",
    ])
    .run();
    out.assert_success();
    assert_eq!(line_count(&out.stdout), 10);
}

#[test]
fn missing_configuration_is_a_usage_error() {
    let out = brazex(&["run", "--segment-id", "x"]).run();
    out.assert_exit(2);
    out.assert_stderr_contains("no API key: set BRAZE_API_KEY or give --api-key-file PATH");
    let out = brazex(&["run", "--segment-id", "x"])
        .env("BRAZE_API_KEY", "k")
        .run();
    out.assert_exit(2);
    out.assert_stderr_contains("no Braze endpoint");
    let out = brazex(&["run", "--segment-id", "x", "--instance", "iad-99"])
        .env("BRAZE_API_KEY", "k")
        .run();
    out.assert_exit(2);
    out.assert_stderr_contains("unknown Braze instance 'iad-99'");
}

#[test]
fn a_segment_already_exporting_is_retried_with_backoff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |c| c.ready_after = Duration::from_secs(2));
    brazex(&[
        "export",
        "--endpoint",
        sim.endpoint(),
        "--segment-id",
        "small",
    ])
    .env("BRAZE_API_KEY", sim.api_key())
    .run()
    .assert_success();
    let started = std::time::Instant::now();
    let out = run(&sim, &["--segment-id", "small"]).run();
    out.assert_success();
    out.assert_stderr_contains("already running");
    assert_eq!(line_count(&out.stdout), 10);
    // Backed off (not the hour until X-RateLimit-Reset).
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let statuses: Vec<u16> = sim.triggers().iter().map(|t| t.status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
}

/// A shortened fault soak (the full one is `benches/soak.sh`): random drops at any
/// byte, stalls past `--stall-timeout`, 500/503 bursts, 429 with `Retry-After`, and
/// ranged requests answered with the whole archive, over one stream and over ranged
/// entries; the rows are byte for byte those of the archive every time.
#[test]
fn a_fault_soak_loses_and_doubles_nothing() {
    for (seed, jobs) in [(1u64, "1"), (2, "2"), (3, "2")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let sim = sim(&dir, |c| {
            c.faults = Faults {
                random: Some(brazex_sim::RandomFaults {
                    seed,
                    count: 16,
                    // Every request until all 16 are served, so one stream meets
                    // them all too.
                    percent: 100,
                    retry_after_secs: 0,
                }),
                stall_for: Duration::from_millis(800),
                ..Faults::default()
            };
        });
        let mut args = vec![
            "--segment-id",
            "all",
            "--jobs",
            jobs,
            "--stall-timeout",
            "0.2",
            "--max-resumes",
            "100",
        ];
        if jobs == "1" {
            args.push("--one-stream");
        }
        let out = run(&sim, &args).run();
        out.assert_success();
        assert_eq!(line_count(&out.stdout), 3_000, "seed {seed}");
        assert_eq!(
            out.stdout,
            rows_from_disk(&sim, &[]),
            "seed {seed}, --jobs {jobs}"
        );
        let faults: Vec<_> = sim.downloads().into_iter().flat_map(|d| d.faults).collect();
        // A whole body for a range lets that request finish: not all 16 need serving.
        assert!(faults.len() >= 8, "faults served: {faults:?}");
        let kinds: std::collections::BTreeSet<String> = faults
            .iter()
            .map(|f| {
                format!("{f:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert!(kinds.len() >= 3, "{kinds:?}");
    }
}

/// A presigned link that expires while the archive downloads (403 ExpiredToken to
/// the resume) ends with exit 5 and says so; `-o` leaves nothing behind.
#[test]
fn a_link_expiring_mid_download_is_exit_5_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The link lives 4 s from readiness: long enough for the download to start
    // whatever the polling's backoff had grown to while the (debug-built) simulator
    // wrote the archive; the stall (5 s before the resume) outlasts it.
    let sim = sim(&dir, |c| {
        c.ttl = Duration::from_secs(4);
        for segment in &mut c.segments {
            if segment.id == "all" {
                segment.users = 1_000;
            }
        }
        c.faults = Faults {
            stall_after_bytes: Some(20_000),
            stall_times: 1,
            stall_for: Duration::from_secs(10),
            ..Faults::default()
        };
    });
    let out_file = dir.path().join("rows.ndjson");
    let out = run(
        &sim,
        &[
            "--segment-id",
            "all",
            "--jobs",
            "1",
            "--one-stream",
            "--stall-timeout",
            "5",
            "-o",
            out_file.to_str().expect("utf-8"),
        ],
    )
    .run();
    out.assert_exit(5);
    out.assert_stderr_contains("ExpiredToken");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "spool")
        .collect();
    assert_eq!(left, Vec::<String>::new(), "nothing partial");
    let statuses: Vec<u16> = sim
        .downloads()
        .iter()
        .filter(|d| d.range.as_deref() != Some("bytes=0-0"))
        .map(|d| d.status)
        .collect();
    assert_eq!(statuses.last(), Some(&403), "{statuses:?}");
    assert!(
        statuses.contains(&200),
        "part of the body came first: {statuses:?}"
    );
}

#[test]
fn run_keeps_a_state_and_writes_the_changes_since_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = sim(&dir, |_| {});
    let state = dir.path().join("state");
    let state = state.to_str().expect("utf-8");
    let select = "braze_id,email,country";
    let first = run(
        &sim,
        &["--segment-id", "all", "--select", select, "--state", state],
    )
    .run();
    first.assert_success();
    assert_eq!(line_count(&first.stdout), 3_000);
    first.assert_stderr_contains("state of 3000 users written");
    // The segment is the same the next night: the download is read once, nothing
    // changed.
    let second = run(
        &sim,
        &[
            "--segment-id",
            "all",
            "--select",
            select,
            "--changes-since",
            state,
            "--state",
            state,
        ],
    )
    .run();
    second.assert_success();
    assert!(
        second.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    second.assert_stderr_contains("0 inserts, 0 updates, 0 deletes, 3000 unchanged");
    // Another selection is refused before Braze is asked for an export.
    let triggers = sim.triggers().len();
    let refused = run(
        &sim,
        &[
            "--segment-id",
            "all",
            "--select",
            "braze_id",
            "--changes-since",
            state,
        ],
    )
    .run();
    refused.assert_exit(2);
    refused.assert_stderr_contains("start a new state");
    assert_eq!(sim.triggers().len(), triggers, "no export was asked for");
}
