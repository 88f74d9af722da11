//! `--state` and `--changes-since`: two generated nights, the second with known
//! changes, compared with an independent computation (serde_json values).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{brazex, duckdb, generate_pair, wait_until};

fn users(ndjson: &Path) -> Vec<Value> {
    crate::util::read_users(ndjson)
}

/// JSON with every object's keys in reverse (sorted) order and white space around
/// every token: the same value, serialised otherwise.
fn reserialised(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push_str("{ ");
            for (i, (k, v)) in map.iter().rev().enumerate() {
                if i > 0 {
                    out.push_str(" , ");
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push_str(" : ");
                reserialised(v, out);
            }
            out.push_str(" }");
        }
        Value::Array(items) => {
            out.push_str("[ ");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" ,\t");
                }
                reserialised(v, out);
            }
            out.push_str(" ]");
        }
        // Strings with \u escapes where serde_json writes the characters.
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_ascii_graphic() || c == ' ' => out.push(c),
                    c => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                }
            }
            out.push('"');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Night 2 from night 1: changes in different places, removals, additions, and the
/// unchanged users serialised otherwise (every one with its keys sorted, which is
/// not Braze's order; some with reversed keys, white space and escapes).
fn second_night(night1: &[Value]) -> (Vec<String>, BTreeSet<String>) {
    let mut lines = Vec::new();
    let mut changed = BTreeSet::new();
    for (i, user) in night1.iter().enumerate() {
        let mut user = user.clone();
        let id = user["braze_id"].as_str().expect("braze_id").to_string();
        let change = match i % 40 {
            0 => {
                user["email"] = Value::from(format!("changed{i}@example.com"));
                true
            }
            1 => continue,
            2 => {
                user["custom_attributes"]["nightly_flag"] = Value::from(i as u64);
                true
            }
            3 => match user["purchases"].as_array_mut().and_then(|p| p.first_mut()) {
                // One field of one element of a nested array.
                Some(first) => {
                    first["count"] = Value::from(first["count"].as_u64().unwrap_or(0) + 1);
                    true
                }
                None => {
                    user["purchases"] = serde_json::json!([{"name": "first", "count": 1}]);
                    true
                }
            },
            4 => {
                user["total_revenue"] = Value::from(12345.5);
                true
            }
            _ => false,
        };
        if change {
            changed.insert(id);
        }
        let line = match i % 3 {
            0 => {
                let mut text = String::new();
                reserialised(&user, &mut text);
                text
            }
            _ => user.to_string(),
        };
        lines.push(line);
    }
    for i in 0..7 {
        let mut user = night1[i * 3].clone();
        user["braze_id"] = Value::from(format!("added{i:019}"));
        lines.push(user.to_string());
    }
    (lines, changed)
}

fn write_lines(path: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).expect("write night 2");
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The changes a run wrote on stdout: (op, braze_id, row without `_op`), in order.
fn changes(stdout: &[u8]) -> Vec<(String, String, Value)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            assert!(line.starts_with("{\"_op\":\""), "{line}");
            let mut row: Value = serde_json::from_str(line).expect("json change");
            let object = row.as_object_mut().expect("object");
            let op = object
                .remove("_op")
                .and_then(|v| v.as_str().map(str::to_string));
            let id = object["braze_id"].as_str().expect("braze_id").to_string();
            (op.expect("_op"), id, row)
        })
        .collect()
}

struct Nights {
    _dir: tempfile::TempDir,
    root: PathBuf,
    zip: PathBuf,
    night1: Vec<Value>,
    night2: PathBuf,
    lines2: Vec<String>,
    changed: BTreeSet<String>,
}

fn nights(users1: u64) -> Nights {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let (zip, ndjson) = generate_pair(&root, users1, 400, 11);
    let night1 = users(&ndjson);
    let (lines2, changed) = second_night(&night1);
    let night2 = root.join("night2.ndjson");
    write_lines(&night2, &lines2);
    Nights {
        _dir: dir,
        root,
        zip,
        night1,
        night2,
        lines2,
        changed,
    }
}

#[test]
fn changes_since_a_state_equal_an_independent_comparison() {
    let n = nights(2400);
    let state = n.root.join("state");

    // Night 1: the state only; the output is the plain run's, byte for byte.
    let plain = brazex(&["process", "-q", s(&n.zip)]).run();
    let first = brazex(&["process", s(&n.zip), "--state", s(&state)]).run();
    first.assert_success();
    assert_eq!(first.stdout, plain.stdout);
    first.assert_stderr_contains("state of 2400 users written");

    // Night 2: the changes, against what serde_json says changed.
    let run = brazex(&[
        "process",
        s(&n.night2),
        "--changes-since",
        s(&state),
        "--state",
        s(&state),
    ])
    .run();
    run.assert_success();
    let got = changes(&run.stdout);
    let before: BTreeMap<&str, &Value> = n
        .night1
        .iter()
        .map(|u| (u["braze_id"].as_str().expect("id"), u))
        .collect();
    let after: Vec<Value> = n
        .lines2
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let mut want = Vec::new();
    let mut ids2 = BTreeSet::new();
    for user in &after {
        let id = user["braze_id"].as_str().expect("id");
        ids2.insert(id);
        match before.get(id) {
            None => want.push(("insert".to_string(), id.to_string(), user.clone())),
            Some(old) if *old != user => {
                want.push(("update".to_string(), id.to_string(), user.clone()))
            }
            Some(_) => {}
        }
    }
    let updates: BTreeSet<String> = want
        .iter()
        .filter(|(op, _, _)| op == "update")
        .map(|(_, id, _)| id.clone())
        .collect();
    assert_eq!(updates, n.changed, "the independent computation itself");
    // Deletes come last, only their key set.
    for user in &n.night1 {
        let id = user["braze_id"].as_str().expect("id");
        if !ids2.contains(id) {
            want.push((
                "delete".to_string(),
                id.to_string(),
                serde_json::json!({"braze_id": id}),
            ));
        }
    }
    let ops = |v: &[(String, String, Value)]| -> Vec<(String, String)> {
        v.iter().map(|(o, i, _)| (o.clone(), i.clone())).collect()
    };
    // Inserts and updates in night 2's order; the deletes after, as a set.
    let split = |v: &[(String, String, Value)]| {
        let (deletes, rest): (Vec<_>, Vec<_>) =
            v.iter().cloned().partition(|(o, _, _)| o == "delete");
        (
            ops(&rest),
            ops(&deletes).into_iter().collect::<BTreeSet<_>>(),
        )
    };
    assert_eq!(split(&got), split(&want));
    assert!(got
        .iter()
        .skip_while(|(o, _, _)| o != "delete")
        .all(|(o, _, _)| o == "delete"));
    for ((op, id, row), (_, _, expected)) in got.iter().zip(&want) {
        match op.as_str() {
            "delete" => assert_eq!(*row, serde_json::json!({"braze_id": id}), "{id}: key only"),
            _ => assert_eq!(row, expected, "{id}: the row as in night 2"),
        }
    }
    let (inserts, updates, deletes) = (7, n.changed.len(), n.night1.len() / 40);
    run.assert_stderr_contains(&format!(
        "{inserts} inserts, {updates} updates, {deletes} deletes, {} unchanged",
        n.night1.len() - deletes - updates
    ));

    // The state is now night 2's: the same export again has no changes.
    let again = brazex(&["process", s(&n.night2), "--changes-since", s(&state)]).run();
    again.assert_success();
    assert!(
        again.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    again.assert_stderr_contains("0 inserts, 0 updates, 0 deletes");
    // Nothing of the runs is left beside the state.
    let names: Vec<String> = std::fs::read_dir(&state)
        .expect("state folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with("tmp-")), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.starts_with("gen-")).count(),
        1,
        "{names:?}"
    );
}

#[test]
fn typed_changes_carry_op_first_and_the_manifest_counts_them() {
    let n = nights(1200);
    let state = n.root.join("state");
    let select = "braze_id,email,purchases[].count,custom_attributes";
    // `process INPUT FLAG STATE --select … --format parquet -o DIR/`.
    let parquet = |input: &Path, flag: &str, dir: &Path| {
        let dir = format!("{}/", s(dir));
        brazex(&[
            "process",
            "-q",
            s(input),
            flag,
            s(&state),
            "--select",
            select,
            "--format",
            "parquet",
            "-o",
            &dir,
        ])
        .run()
    };
    parquet(&n.zip, "--state", &n.root.join("first")).assert_success();
    let out = n.root.join("changes");
    let run = parquet(&n.night2, "--changes-since", &out);
    run.assert_success();
    let got = duckdb(
        "import duckdb, sys\n\
         con = duckdb.connect()\n\
         cols = [r[0] for r in con.sql(f\"DESCRIBE SELECT * FROM '{sys.argv[1]}/*.parquet'\").fetchall()]\n\
         print(','.join(cols))\n\
         for op, n in con.sql(f\"SELECT _op, count(*) FROM '{sys.argv[1]}/*.parquet' GROUP BY 1 ORDER BY 1\").fetchall(): print(op, n)\n\
         print(con.sql(f\"SELECT count(*) FROM '{sys.argv[1]}/*.parquet' WHERE _op = 'delete' AND email IS NULL AND braze_id IS NOT NULL\").fetchall()[0][0])",
        &[s(&out)],
    );
    let deletes = n.night1.len() / 40;
    // Only the selected fields count: the custom attribute and email changes, and
    // the purchase counts, are in it; total_revenue is not.
    let updates = n.changed.len() - n.night1.len().div_ceil(40);
    assert_eq!(
        got,
        format!(
            "_op,braze_id,email,purchases[].count,custom_attributes\ndelete {deletes}\ninsert 7\nupdate {updates}\n{deletes}"
        )
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("_manifest.json")).expect("manifest"),
    )
    .expect("json");
    let changes = &manifest["changes"];
    assert_eq!(changes["inserts"], 7);
    assert_eq!(changes["updates"], updates as u64);
    assert_eq!(changes["deletes"], deletes as u64);
    assert_eq!(
        manifest["totals"]["rows_written"],
        (7 + updates + deletes) as u64
    );
    assert_eq!(manifest["totals"]["rows_read"], n.lines2.len() as u64);

    // Another selection, or another key, is refused: every row would differ.
    for (flag, value) in [("--select", "braze_id,email"), ("--key", "external_id")] {
        let mut args = vec![
            "process",
            s(&n.night2),
            "--changes-since",
            s(&state),
            flag,
            value,
        ];
        if flag == "--key" {
            args.extend(["--select", select]);
        }
        let refused = brazex(&args).run();
        refused.assert_exit(2);
        refused.assert_stderr_contains("start a new state");
    }
}

/// Night 2 with its fourth user again at the end: the file, and the error the repeat is.
fn night_with_a_repeat(n: &Nights) -> (PathBuf, String) {
    let mut twice = n.lines2.clone();
    twice.push(n.lines2[3].clone());
    let path = n.root.join("twice.ndjson");
    write_lines(&path, &twice);
    let id: Value = serde_json::from_str(&n.lines2[3]).expect("json");
    let repeat = format!(
        "{}:{}: braze_id \"{}\" repeats: {}:4 had it first",
        s(&path),
        twice.len(),
        id["braze_id"].as_str().expect("id"),
        s(&path)
    );
    (path, repeat)
}

/// `process TWICE FLAGS --on-error skip --errors-to …`: succeeds, and records the
/// repeat (the last line) alone.
fn skip_the_repeat(n: &Nights, twice: &Path, flags: &[&str]) {
    let errors = n.root.join("errors.ndjson");
    let mut args = vec![
        "process",
        s(twice),
        "--on-error",
        "skip",
        "--errors-to",
        s(&errors),
    ];
    args.extend_from_slice(flags);
    brazex(&args).run().assert_success();
    let recorded = std::fs::read_to_string(&errors).expect("errors file");
    assert_eq!(recorded.lines().count(), 1, "{recorded}");
    assert!(
        recorded.contains(&format!("\"line\":{}", n.lines2.len() + 1)),
        "{recorded}"
    );
}

/// Night 2 thirty times over: a run long enough to be stopped in the middle.
fn long_night(n: &Nights) -> PathBuf {
    let big = n.root.join("big.ndjson");
    let many: Vec<String> = (0..30).flat_map(|_| n.lines2.iter().cloned()).collect();
    write_lines(&big, &many);
    big
}

/// Starts `brazex ARGS`, sends it `signal` (`-INT`, `-KILL`) once its scratch folder is
/// in `state`, and waits for it.
fn stop_in_the_middle(args: &[&str], state: &Path, signal: &str) -> std::process::Output {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_brazex"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn brazex");
    wait_until("the run's scratch folder", || {
        names_in(state).iter().any(|n| n.starts_with("tmp-"))
    });
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    child.wait_with_output().expect("wait")
}

/// Names in `dir`, sorted (none when it does not exist).
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_state_alone_is_written_beside_the_output_and_a_repeat_fails_it_before_it_commits() {
    let n = nights(1200);
    // Night 2 with one user twice (its second row last).
    let (twice_path, repeat) = night_with_a_repeat(&n);
    // Into a file, a Parquet folder and stdout: the same error at the repeat, no
    // output committed, no state, no scratch left.
    let state = n.root.join("state");
    let file = n.root.join("rows.ndjson");
    let folder = n.root.join("parquet");
    let folder_arg = format!("{}/", s(&folder));
    let outputs: [&[&str]; 3] = [
        &["-o", s(&file)],
        &["-o", &folder_arg, "--format", "parquet"],
        &[],
    ];
    for output in outputs {
        let mut args = vec!["process", s(&twice_path), "--state", s(&state)];
        args.extend_from_slice(output);
        let run = brazex(&args).run();
        run.assert_exit(1);
        run.assert_stderr_contains(&repeat);
        assert!(!file.exists());
        assert!(
            names_in(&folder).iter().all(|n| n.starts_with('.')),
            "{:?}",
            names_in(&folder)
        );
        assert_eq!(
            names_in(&state),
            [".brazex-state.lock"],
            "no state, no scratch"
        );
    }
    // A row without the key fails it the same way, at the row.
    let mut keyless = n.lines2.clone();
    keyless.insert(5, "{\"external_id\": \"no-braze-id\"}".into());
    let keyless_path = n.root.join("keyless.ndjson");
    write_lines(&keyless_path, &keyless);
    let run = brazex(&[
        "process",
        s(&keyless_path),
        "--state",
        s(&state),
        "-o",
        s(&file),
    ])
    .run();
    run.assert_exit(1);
    run.assert_stderr_contains(&format!("{}:6: braze_id is missing", s(&keyless_path)));
    assert!(!file.exists());

    // SIGINT in the middle of a one-pass run: exit 130, no output, no state, no
    // scratch.
    let big = long_night(&n);
    let args = ["process", s(&big), "--state", s(&state), "-o", s(&file)];
    let output = stop_in_the_middle(&args, &state, "-INT");
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!file.exists());
    assert_eq!(names_in(&state), [".brazex-state.lock"]);

    // With --on-error skip the repeat is skipped and recorded (two passes), and the
    // rest written.
    skip_the_repeat(&n, &twice_path, &["--state", s(&state), "-o", s(&file)]);
    let written = std::fs::read_to_string(&file).expect("rows");
    assert_eq!(written.lines().count(), n.lines2.len());

    // A state refreshed by a full run (--state alone over an existing state) in one
    // pass: its rows are the plain run's, and night 2 against it has no changes.
    let plain = brazex(&["process", "-q", s(&n.night2)]).run();
    let refresh = brazex(&["process", s(&n.night2), "--state", s(&state)]).run();
    refresh.assert_success();
    assert_eq!(refresh.stdout, plain.stdout);
    refresh.assert_stderr_contains(&format!("state of {} users written", n.lines2.len()));
    let again = brazex(&["process", s(&n.night2), "--changes-since", s(&state)]).run();
    again.assert_success();
    assert!(again.stdout.is_empty());
    again.assert_stderr_contains(&format!(
        "0 inserts, 0 updates, 0 deletes, {} unchanged",
        n.lines2.len()
    ));
}

#[test]
fn a_failed_or_cancelled_run_leaves_the_state_as_it_was() {
    let n = nights(1200);
    let state = n.root.join("state");
    brazex(&["process", "-q", s(&n.zip), "--state", s(&state)])
        .run()
        .assert_success();
    let current = || std::fs::read_to_string(state.join("CURRENT")).expect("CURRENT");
    let before = current();
    let listing = || names_in(&state);
    let files = listing();

    // A bad line at the end of night 2: the run fails, naming it; the state stays.
    let mut bad = n.lines2.clone();
    bad.push("{\"braze_id\": \"x\", oops}".into());
    let broken = n.root.join("broken.ndjson");
    write_lines(&broken, &bad);
    let out = n.root.join("out.ndjson");
    let run = brazex(&[
        "process",
        s(&broken),
        "--changes-since",
        s(&state),
        "--state",
        s(&state),
        "-o",
        s(&out),
    ])
    .run();
    run.assert_exit(1);
    run.assert_stderr_contains(&format!("{}:{}: invalid JSON", s(&broken), bad.len()));
    assert_eq!(current(), before);
    assert_eq!(listing(), files);
    assert!(!out.exists());

    // A row without the key is a data error at its place, or skipped and counted.
    let mut keyless = n.lines2.clone();
    keyless.insert(5, "{\"external_id\": \"no-braze-id\"}".into());
    let keyless_path = n.root.join("keyless.ndjson");
    write_lines(&keyless_path, &keyless);
    let run = brazex(&["process", s(&keyless_path), "--changes-since", s(&state)]).run();
    run.assert_exit(1);
    run.assert_stderr_contains(&format!("{}:6: braze_id is missing", s(&keyless_path)));
    let run = brazex(&[
        "process",
        s(&keyless_path),
        "--changes-since",
        s(&state),
        "--on-error",
        "skip",
    ])
    .run();
    run.assert_success();
    run.assert_stderr_contains("1 bad lines skipped");

    // A key twice: an error naming both places, or the repeat skipped and recorded.
    let (twice_path, repeat) = night_with_a_repeat(&n);
    let run = brazex(&["process", s(&twice_path), "--changes-since", s(&state)]).run();
    run.assert_exit(1);
    run.assert_stderr_contains(&repeat);
    skip_the_repeat(&n, &twice_path, &["--changes-since", s(&state)]);
    assert_eq!(current(), before);

    // A signal in the middle of a run: SIGINT unwinds (exit 130, no scratch left);
    // SIGKILL cannot, and leaves its scratch to the next run. The state is unchanged.
    let big = long_night(&n);
    for signal in ["-INT", "-KILL"] {
        let args = [
            "process",
            s(&big),
            "--changes-since",
            s(&state),
            "--state",
            s(&state),
            "--on-error",
            "skip",
            "-o",
            s(&out),
        ];
        let output = stop_in_the_middle(&args, &state, signal);
        assert_eq!(current(), before);
        assert!(!out.exists());
        if signal == "-INT" {
            assert_eq!(
                output.status.code(),
                Some(130),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(listing(), files);
        } else {
            assert!(
                listing().iter().any(|n| n.starts_with("tmp-")),
                "{:?}",
                listing()
            );
        }
    }

    // The next run removes what the killed one left, saying so, and works from the
    // state as it was.
    let run = brazex(&["process", s(&n.night2), "--changes-since", s(&state)]).run();
    run.assert_success();
    run.assert_stderr_contains("of an earlier run that did not finish from the state folder");
    assert_eq!(listing(), files);
    assert_eq!(
        changes(&run.stdout).len(),
        7 + n.changed.len() + n.night1.len() / 40
    );
}

#[test]
fn changes_need_a_state_and_refuse_what_they_cannot_do() {
    let n = nights(400);
    let state = n.root.join("nothing-here");
    let run = brazex(&["process", s(&n.night2), "--changes-since", s(&state)]).run();
    run.assert_exit(2);
    run.assert_stderr_contains("no such state folder");
    std::fs::create_dir(&state).expect("mkdir");
    let run = brazex(&["process", s(&n.night2), "--changes-since", s(&state)]).run();
    run.assert_exit(2);
    run.assert_stderr_contains("holds no state yet");
    // A URL is no state folder (it would have made a local folder `s3:`).
    let cwd = tempfile::tempdir().expect("tempdir");
    for flag in ["--state", "--changes-since"] {
        let run = brazex(&["process", s(&n.night2), flag, "s3://bucket/state/"])
            .current_dir(cwd.path())
            .run();
        run.assert_exit(2);
        run.assert_stderr_contains("a state is a local folder");
    }
    assert_eq!(
        std::fs::read_dir(cwd.path()).expect("cwd").count(),
        0,
        "nothing made"
    );
}
