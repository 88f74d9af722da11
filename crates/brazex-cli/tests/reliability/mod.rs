//! A stopped run leaves nothing where a loader looks; the same bad input gives the
//! same first error whatever `--jobs` is; output errors say their cause once.
//!
//! Signals are real (`kill`), archives are written by Python's zipfile and damaged
//! by flipping one bit, the full disk is a real tmpfs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{brazex, generate_pair, wait_until};

/// Names in `dir` (recursively, relative), sorted; empty when it does not exist.
fn tree(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            names.push(
                path.strip_prefix(dir)
                    .expect("inside")
                    .display()
                    .to_string(),
            );
        }
    }
    names.sort();
    names
}

/// Files a loader would pick up: any name not hidden.
fn visible_files(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|n| {
            let file = Path::new(n)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned());
            !file.unwrap_or_default().starts_with('.') && dir.join(n).is_file()
        })
        .collect()
}

/// Generated users as NDJSON lines, to feed a run through its stdin.
fn lines(dir: &Path, users: u64) -> Vec<u8> {
    let (_, ndjson) = generate_pair(dir, users, 1000, 7);
    std::fs::read(ndjson).expect("ndjson")
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_brazex"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn brazex")
}

/// `brazex run` of `segment` against `sim` with `extra` flags, stderr captured.
fn spawn_run(sim: &brazex_sim::RunningSim, segment: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_brazex"))
        .args(["run", "--endpoint", sim.endpoint(), "--segment-id", segment])
        .args(extra)
        .env("BRAZE_API_KEY", sim.api_key())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn brazex run")
}

fn kill(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal}");
}

/// Waits until `dir` holds at least `n` temporaries (parts being or already written).
fn wait_for_temporaries(dir: &Path, n: usize) {
    wait_until(&format!("{n} temporaries in {}", dir.display()), || {
        tree(dir)
            .iter()
            .filter(|n| n.ends_with(".brazex-tmp"))
            .count()
            >= n
    });
}

/// Feeds `data` to the child's stdin over and over (keeping the run busy reading)
/// until the child goes away.
fn feed_forever(child: &mut Child, data: Vec<u8>) -> std::thread::JoinHandle<()> {
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::spawn(move || while stdin.write_all(&data).is_ok() {})
}

fn finish(child: Child) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn a_signal_cancels_the_run_and_removes_everything_it_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = lines(dir.path(), 3000);
    for (signal, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let out = dir.path().join(format!("out-{signal}"));
        let target = format!("{}/", out.display());
        let mut child = spawn(&[
            "process",
            "--format",
            "parquet",
            "-o",
            &target,
            "--rows-per-file",
            "500",
            "--row-group-rows",
            "100",
        ]);
        let feeder = feed_forever(&mut child, data.clone());
        // Two parts already closed (waiting for the commit) and a third being written.
        wait_for_temporaries(&out, 3);
        kill(&child, signal);
        let (status, stderr, _) = finish(child);
        drop(feeder);
        assert_eq!(status, Some(code), "SIG{signal}: {stderr}");
        assert!(
            stderr.contains(&format!("cancelled by SIG{signal}")),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was committed"), "{stderr}");
        assert!(!stderr.contains("pipeline was stopped"), "{stderr}");
        // The folder the run made is gone with every part and temporary in it.
        assert_eq!(tree(&out), Vec::<String>::new(), "SIG{signal}");
    }
}

#[test]
fn a_cancelled_run_writes_its_summary_saying_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = lines(dir.path(), 3000);
    let out = dir.path().join("out");
    let summary = dir.path().join("summary.json");
    let mut child = spawn(&[
        "process",
        "--format",
        "parquet",
        "-o",
        &format!("{}/", out.display()),
        "--rows-per-file",
        "500",
        "--summary-json",
        summary.to_str().expect("utf-8"),
        "--log-format",
        "json",
    ]);
    let feeder = feed_forever(&mut child, data);
    wait_for_temporaries(&out, 2);
    kill(&child, "INT");
    let (status, stderr, _) = finish(child);
    drop(feeder);
    assert_eq!(status, Some(130), "{stderr}");
    let last: serde_json::Value =
        serde_json::from_str(stderr.lines().last().expect("a line")).expect("a JSON line");
    assert!(last["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("cancelled by SIGINT")));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).expect("summary")).expect("json");
    assert_eq!(s["status"], "cancelled");
    assert_eq!(s["exit_code"], 130);
    assert!(s["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("cancelled by SIGINT") && m.contains("nothing was committed")));
    assert_eq!(s["outputs"]["committed"], false);
    assert_eq!(tree(&out), Vec::<String>::new());
}

#[test]
fn a_run_blocked_on_its_input_is_cancelled_too_and_a_second_signal_is_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = lines(dir.path(), 1200);
    // The input stops arriving but stays open: the run waits in a read, and cannot
    // see the request to stop; the grace period ends it, with the same cleanup.
    for second_signal in [false, true] {
        let out = dir.path().join(format!("rows-{second_signal}.ndjson"));
        let mut child = spawn(&["process", "-o", out.to_str().expect("utf-8")]);
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&data).expect("feed");
        stdin.flush().expect("flush");
        wait_for_temporaries(dir.path(), 1);
        kill(&child, "INT");
        if second_signal {
            std::thread::sleep(Duration::from_millis(200));
            kill(&child, "INT");
        }
        let (status, stderr, took) = finish(child);
        drop(stdin);
        assert_eq!(status, Some(130), "{stderr}");
        assert!(stderr.contains("cancelled by SIGINT"), "{stderr}");
        if second_signal {
            assert!(
                took < Duration::from_secs(3),
                "a second Ctrl-C exits at once: {took:?}"
            );
        }
        let left: Vec<String> = tree(dir.path())
            .into_iter()
            .filter(|n| {
                n.starts_with("rows-") || n.contains("brazex-tmp") || n.contains("brazex-lock")
            })
            .collect();
        assert_eq!(left, Vec::<String>::new(), "second signal: {second_signal}");
    }
}

#[test]
fn a_killed_run_shows_no_part_and_the_next_run_removes_its_temporaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = lines(dir.path(), 3000);
    let out = dir.path().join("out");
    let target = format!("{}/", out.display());
    let mut child = spawn(&[
        "process",
        "--format",
        "csv",
        "-o",
        &target,
        "--rows-per-file",
        "300",
    ]);
    let feeder = feed_forever(&mut child, data.clone());
    wait_for_temporaries(&out, 3);
    // SIGKILL: no cleanup can run. Closed parts are still under temporary names.
    child.kill().expect("kill -9");
    let _ = finish(child);
    drop(feeder);
    assert_eq!(
        visible_files(&out),
        Vec::<String>::new(),
        "{:?}",
        tree(&out)
    );
    let stale = tree(&out)
        .iter()
        .filter(|n| n.ends_with(".brazex-tmp"))
        .count();
    assert!(stale >= 3, "{:?}", tree(&out));

    let run = brazex(&[
        "process",
        "--format",
        "csv",
        "-o",
        &target,
        "--rows-per-file",
        "1000",
    ])
    .stdin(data)
    .run();
    run.assert_success();
    run.assert_stderr_contains(&format!(
        "removed {stale} temporary files left by an earlier run"
    ));
    assert_eq!(
        tree(&out),
        [
            "_manifest.json",
            "part-00000.csv",
            "part-00001.csv",
            "part-00002.csv"
        ]
    );
    // A committed export is still refused.
    let again = brazex(&["process", "--format", "csv", "-o", &target])
        .stdin(b"{}\n".to_vec())
        .run();
    again.assert_exit(2);
    again.assert_stderr_contains("already holds brazex output");
}

/// A zip of `users` generated users in `entries` entries, written by Python's zipfile.
fn python_zip(dir: &Path, users: u64, entries: u64) -> PathBuf {
    let data = lines(dir, users);
    let ndjson = dir.join("users.ndjson");
    std::fs::write(&ndjson, data).expect("write");
    let zip = dir.join("users.zip");
    let script = format!(
        "import zipfile\n\
         lines = open({n:?}, 'rb').read().splitlines(keepends=True)\n\
         per = (len(lines) + {entries} - 1) // {entries}\n\
         with zipfile.ZipFile({z:?}, 'w', zipfile.ZIP_DEFLATED) as z:\n\
         \x20   for i in range({entries}):\n\
         \x20       z.writestr('%04d.txt' % i, b''.join(lines[i * per:(i + 1) * per]))\n",
        n = ndjson.display().to_string(),
        z = zip.display().to_string(),
    );
    let status = Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3");
    assert!(status.success(), "python3 zipfile");
    zip
}

/// Where the compressed data of entry `index` lies in a zip (from its local header).
fn entry_data(zip: &[u8], index: usize) -> std::ops::Range<usize> {
    let mut at = 0;
    for i in 0.. {
        assert_eq!(&zip[at..at + 4], b"PK\x03\x04", "local header {i}");
        let u16_at = |o: usize| u16::from_le_bytes([zip[at + o], zip[at + o + 1]]) as usize;
        let size = u32::from_le_bytes(zip[at + 18..at + 22].try_into().expect("4 bytes")) as usize;
        let start = at + 30 + u16_at(26) + u16_at(28);
        if i == index {
            return start..start + size;
        }
        at = start + size;
    }
    unreachable!()
}

#[test]
fn a_damaged_archive_gives_one_error_whatever_the_jobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = python_zip(dir.path(), 2000, 4);
    let good = std::fs::read(&zip).expect("zip");
    let third = entry_data(&good, 2);
    let mut kinds = std::collections::BTreeSet::new();
    for k in 0..8 {
        let mut damaged = good.clone();
        let at = third.start + (third.end - third.start) * (2 * k + 1) / 16;
        damaged[at] ^= 1 << (k % 8);
        let path = dir.path().join(format!("damaged-{k}.zip"));
        std::fs::write(&path, &damaged).expect("write");
        let file = path.to_str().expect("utf-8");
        let mut seen = std::collections::BTreeSet::new();
        for jobs in ["1", "2", "4"] {
            for _ in 0..4 {
                let run = brazex(&["process", "-q", "--jobs", jobs, file]).run();
                run.assert_exit(1);
                seen.insert(run.stderr.clone());
            }
            // Through a pipe the archive is one stream; the error is the same.
            let run = brazex(&["process", "-q", "--jobs", jobs])
                .stdin(damaged.clone())
                .run();
            run.assert_exit(1);
            seen.insert(run.stderr.replace("<stdin>", file));
        }
        assert_eq!(seen.len(), 1, "flip {k} at byte {at}: {seen:#?}");
        let message = seen.pop_first().expect("one message");
        assert!(message.contains("damaged-"), "{message}");
        assert!(message.contains("!0002.txt"), "the third entry: {message}");
        assert!(!message.contains("stopped"), "{message}");
        kinds.insert(if message.contains("invalid JSON") {
            "line"
        } else {
            "archive"
        });
    }
    // Both kinds of first error were met: a garbled line before the damage is
    // detected, and the damage itself.
    assert_eq!(kinds.len(), 2, "{kinds:?}");
}

/// Writes `data`'s lines into `dir` as `count` archives by Python's own writers, in
/// turn gzip, a single-entry zip, plain NDJSON, a zip of two entries; with `bad`,
/// those chunks get an invalid line in their middle. Returns the chunks' lines.
fn python_folder(dir: &Path, data: &[u8], count: usize, bad: &[usize]) -> Vec<Vec<u8>> {
    std::fs::create_dir_all(dir).expect("mkdir");
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let per = lines.len().div_ceil(count);
    let mut chunks = Vec::new();
    for (i, chunk) in lines.chunks(per).enumerate() {
        let mut bytes = chunk.concat();
        if bad.contains(&i) {
            let half: usize = chunk[..chunk.len() / 2].iter().map(|l| l.len()).sum();
            bytes.splice(half..half, b"{\"not\": json\n".iter().copied());
        }
        std::fs::write(dir.join(format!("chunk-{i:02}.part")), &bytes).expect("write");
        chunks.push(bytes);
    }
    let script = format!(
        "import gzip, zipfile, os\n\
         d = {d:?}\n\
         for i, name in enumerate(sorted(n for n in os.listdir(d) if n.endswith('.part'))):\n\
         \x20   data = open(os.path.join(d, name), 'rb').read()\n\
         \x20   base = os.path.join(d, name[:-5])\n\
         \x20   if i % 4 == 0: open(base + '.gz', 'wb').write(gzip.compress(data))\n\
         \x20   elif i % 4 == 1: zipfile.ZipFile(base + '.zip', 'w', zipfile.ZIP_DEFLATED).writestr('users.txt', data)\n\
         \x20   elif i % 4 == 2: open(base + '.ndjson', 'wb').write(data)\n\
         \x20   else:\n\
         \x20       cut = data.index(b'\\n', len(data) // 2) + 1\n\
         \x20       with zipfile.ZipFile(base + '.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n\
         \x20           z.writestr('a.txt', data[:cut]); z.writestr('b.txt', data[cut:])\n\
         \x20   os.remove(os.path.join(d, name))\n",
        d = dir.display().to_string(),
    );
    let status = Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3");
    assert!(status.success(), "python3 gzip/zipfile");
    chunks
}

#[test]
fn a_folder_of_archives_decodes_side_by_side_in_order_and_fails_at_its_first_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = lines(dir.path(), 3000);
    let folder = dir.path().join("export");
    let chunks = python_folder(&folder, &data, 12, &[]);
    let want: Vec<u8> = chunks.concat();
    let folder_arg = folder.to_str().expect("utf-8");
    for jobs in ["1", "2", "4"] {
        for _ in 0..3 {
            let run = brazex(&["process", "-q", "--jobs", jobs, folder_arg]).run();
            run.assert_success();
            assert!(
                run.stdout == want,
                "--jobs {jobs}: the folder's rows in file order"
            );
        }
    }
    let run = brazex(&["process", "--jobs", "4", folder_arg]).run();
    run.assert_stderr_contains("12 inputs, 15 entries");

    // Bad lines in the fourth and the tenth file: the fourth's, every time.
    let bad = dir.path().join("bad");
    python_folder(&bad, &data, 12, &[3, 9]);
    let bad_arg = bad.to_str().expect("utf-8");
    let mut seen = std::collections::BTreeSet::new();
    for jobs in ["1", "2", "4"] {
        for _ in 0..4 {
            let run = brazex(&["process", "-q", "--jobs", jobs, bad_arg]).run();
            run.assert_exit(1);
            seen.insert(run.stderr.clone());
        }
    }
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let message = seen.pop_first().expect("one message");
    assert!(message.contains("chunk-03.zip!a.txt:"), "{message}");
    // With skip, both are counted, and the rows are all the others, in order.
    let run = brazex(&["process", "--jobs", "4", "--on-error", "skip", bad_arg]).run();
    run.assert_success();
    run.assert_stderr_contains("2 bad lines skipped");
    assert!(run.stdout == want, "the good rows, in file order");
}

#[test]
fn a_full_disk_is_one_clean_message_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate_pair(dir.path(), 400, 100, 3);
    // A 64 KiB tmpfs in a mount namespace of its own (root, as CI runs).
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).expect("mkdir");
    for output in ["rows.ndjson", "out/"] {
        let script = format!(
            "mount -t tmpfs -o size=64k tmpfs {disk} || exit 99; \
             {bin} process -q {zip} --format csv -o {disk}/{output}; code=$?; \
             echo; ls -A {disk}; exit $code",
            disk = disk.display(),
            bin = env!("CARGO_BIN_EXE_brazex"),
            zip = zip.display(),
        );
        let out = Command::new("unshare")
            .args(["--mount", "sh", "-c", &script])
            .output()
            .expect("unshare");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_ne!(
            out.status.code(),
            Some(99),
            "this test mounts a small tmpfs and needs root (as CI has): {stderr}"
        );
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].starts_with("brazex: error: cannot write "),
            "{stderr}"
        );
        assert!(
            lines[0].contains(&format!("{}/", disk.display())),
            "names the file: {stderr}"
        );
        assert_eq!(
            lines[0].matches("No space left on device").count(),
            1,
            "the cause once: {stderr}"
        );
        assert_eq!(stdout.trim(), "", "nothing left on the full disk: {stdout}");
    }
}

#[test]
fn an_unknown_output_url_is_refused_not_written_as_a_folder() {
    // s3://, gs:// and az:// are destinations (tests/stores); any other URL scheme
    // written as a path would make a folder named `SCHEME:`.
    let dir = tempfile::tempdir().expect("tempdir");
    for flag in ["-o", "--errors-to"] {
        let mut args = vec!["process", "-q"];
        if flag == "--errors-to" {
            args.extend(["--on-error", "skip"]);
        }
        args.extend([flag, "mysql://loader@db/analytics"]);
        let run = Command::new(env!("CARGO_BIN_EXE_brazex"))
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert_eq!(run.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("not mysql:// URLs"), "{stderr}");
        assert_eq!(
            tree(dir.path()),
            Vec::<String>::new(),
            "{flag}: no folder mysql: made"
        );
    }
}

#[test]
fn run_is_cancelled_while_it_waits_and_says_so() {
    use brazex_sim::{SimConfig, Simulator};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = SimConfig::new(dir.path().join("spool"));
    config.ready_after = Duration::from_secs(60);
    let sim = Simulator::spawn_background(config).expect("simulator");
    let out = dir.path().join("out");
    let target = format!("{}/", out.display());
    let child = spawn_run(
        &sim,
        "small",
        &["--poll-interval", "5", "--format", "parquet", "-o", &target],
    );
    // Triggered, and now polling every 5 s.
    wait_until("a poll", || !sim.downloads().is_empty());
    kill(&child, "TERM");
    let (status, stderr, took) = finish(child);
    assert_eq!(status, Some(143), "{stderr}");
    assert!(
        stderr.contains("cancelled by SIGTERM while waiting for the export; nothing was committed"),
        "{stderr}"
    );
    // At once, not at the next poll or the grace period's end.
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(!out.exists());
}

#[test]
fn run_is_cancelled_while_it_downloads_and_leaves_nothing() {
    use brazex_sim::{Faults, SimConfig, Simulator};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = SimConfig::new(dir.path().join("spool"));
    config.ready_after = Duration::from_millis(300);
    config.users_per_entry = 500;
    // The body stops after 200 KB for a minute: the run is mid-download.
    config.faults = Faults {
        stall_after_bytes: Some(200_000),
        stall_times: 1,
        stall_for: Duration::from_secs(60),
        ..Faults::default()
    };
    let sim = Simulator::spawn_background(config).expect("simulator");
    let out = dir.path().join("rows.ndjson");
    let out_path = out.to_str().expect("utf-8");
    let child = spawn_run(
        &sim,
        "all",
        &["--poll-interval", "0.1", "--one-stream", "-o", out_path],
    );
    wait_for_temporaries(dir.path(), 1);
    wait_until("a stalled download", || {
        sim.downloads().iter().any(|d| !d.faults.is_empty())
    });
    kill(&child, "TERM");
    let (status, stderr, took) = finish(child);
    assert_eq!(status, Some(143), "{stderr}");
    assert!(
        stderr.contains("cancelled by SIGTERM while downloading and processing the export"),
        "{stderr}"
    );
    // Waiting for the stalled body's next byte: woken at once, not at the stall
    // timeout nor at the end of the handler's grace period.
    assert!(took < Duration::from_secs(3), "{took:?}");
    let left: Vec<String> = tree(dir.path())
        .into_iter()
        .filter(|n| !n.starts_with("spool"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}

#[test]
fn an_output_in_a_missing_folder_names_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("missing").join("rows.ndjson");
    let run = brazex(&["process", "-q", "-o", out.to_str().expect("utf-8")])
        .stdin(b"{}\n".to_vec())
        .run();
    run.assert_exit(3);
    assert_eq!(
        run.stderr.trim(),
        format!(
            "brazex: error: cannot write {}: No such file or directory (os error 2)",
            out.display()
        )
    );
}
