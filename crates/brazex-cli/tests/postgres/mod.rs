//! `-o postgres://…` against a real PostgreSQL (scripts/test.sh starts one:
//! `BRAZEX_TEST_PG_URL`). Each test loads into its own schema, and reads the tables
//! back with psql, never through brazex.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{brazex, generate_pair, wait_until};

fn pg_url() -> String {
    std::env::var("BRAZEX_TEST_PG_URL").unwrap_or_else(|_| {
        panic!("BRAZEX_TEST_PG_URL is not set: run ./scripts/test.sh, which starts PostgreSQL")
    })
}

/// The URL with `?params` added.
fn pg_url_with(params: &str) -> String {
    format!("{}?{params}", pg_url())
}

/// Runs SQL through psql; the rows as `a|b` lines.
fn psql(sql: &str) -> String {
    let psql = std::env::var("BRAZEX_TEST_PSQL").unwrap_or_else(|_| "psql".into());
    let out = Command::new(psql)
        .args(["-At", "-v", "ON_ERROR_STOP=1", &pg_url(), "-c", sql])
        .output()
        .expect("run psql (BRAZEX_TEST_PSQL)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// A fresh schema for one test.
fn schema(name: &str) -> String {
    psql(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
    ));
    name.to_string()
}

fn load(input: &Path, table: &str, extra: &[&str]) -> crate::util::Run {
    load_into(&pg_url(), input, table, extra).run()
}

/// `brazex process INPUT -o URL --table TABLE EXTRA…`, to run.
fn load_into(url: &str, input: &Path, table: &str, extra: &[&str]) -> crate::util::Invocation {
    let mut args = vec![
        "process",
        input.to_str().expect("utf-8"),
        "-o",
        url,
        "--table",
        table,
    ];
    args.extend(extra);
    brazex(&args)
}

fn users(ndjson: &Path) -> Vec<Value> {
    crate::util::read_users(ndjson)
}

/// How many purchases the users have (the rows of the purchases table).
fn purchases_of(users: &[Value]) -> usize {
    users
        .iter()
        .map(|u| u["purchases"].as_array().map_or(0, Vec::len))
        .sum()
}

fn write_users(path: &Path, users: &[Value]) {
    let text: String = users.iter().map(|u| format!("{u}\n")).collect();
    std::fs::write(path, text).expect("write");
}

#[test]
fn replace_loads_typed_rows_that_read_back_as_the_export() {
    let s = schema("t_replace");
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, ndjson) = generate_pair(dir.path(), 3000, 1000, 7);
    let table = format!("{s}.users");
    let run = load(&zip, &table, &[]);
    run.assert_success();
    run.assert_stderr_contains(&format!("brazex: loaded (replace) 3000 rows into {table}"));

    // Types, read back through information_schema.
    let types = psql(&format!(
        "SELECT column_name || ':' || data_type || ':' || udt_name FROM information_schema.columns \
         WHERE table_schema = '{s}' AND table_name = 'users' ORDER BY ordinal_position"
    ));
    for want in [
        "braze_id:text:text",
        "dob:date:date",
        "created_at:timestamp with time zone:timestamptz",
        "random_bucket:integer:int4",
        "total_revenue:double precision:float8",
        "last_coordinates:ARRAY:_float8",
        "custom_attributes:jsonb:jsonb",
        "purchases:jsonb:jsonb",
    ] {
        assert!(types.lines().any(|l| l == want), "{want} in\n{types}");
    }

    // Values, against the NDJSON read here.
    let users = users(&ndjson);
    let revenue: f64 = users
        .iter()
        .filter_map(|u| u["total_revenue"].as_f64())
        .sum();
    let emails = users.iter().filter(|u| u["email"].is_string()).count();
    let got = psql(&format!(
        "SELECT sum(total_revenue), count(email), count(DISTINCT braze_id) FROM {table}"
    ));
    let got: Vec<&str> = got.split('|').collect();
    let sum: f64 = got[0].parse().expect("a sum");
    assert!(
        (sum - revenue).abs() < 1e-6 * revenue.max(1.0),
        "{sum} vs {revenue}"
    );
    assert_eq!(got[1], emails.to_string());
    assert_eq!(got[2], "3000");
    for user in users.iter().filter(|u| u["purchases"].is_array()).take(5) {
        let id = user["braze_id"].as_str().expect("id");
        let row = psql(&format!(
            "SELECT purchases::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
             coalesce(custom_attributes::text, 'null') FROM {table} WHERE braze_id = '{id}'"
        ));
        let parts: Vec<&str> = row.splitn(3, '|').collect();
        let purchases: Value = serde_json::from_str(parts[0]).expect("jsonb");
        assert_eq!(purchases, user["purchases"], "{id}");
        let created = user["created_at"].as_str().expect("created_at");
        assert_eq!(parts[1], created, "{id}");
        let custom: Value = serde_json::from_str(parts[2]).expect("jsonb");
        assert_eq!(custom, user["custom_attributes"], "{id}");
    }
    let log = psql(&format!("SELECT load, rows, target FROM {s}.brazex_loads"));
    assert_eq!(log, format!("replace|3000|{table}"));
}

#[test]
fn replace_keeps_indexes_and_grants_and_a_reader_sees_old_or_new_rows_only() {
    let s = schema("t_swap");
    let dir = tempfile::tempdir().expect("tempdir");
    let (small, _) = generate_pair(&dir.path().join("a").tap_mkdir(), 1500, 500, 1);
    let (large, _) = generate_pair(&dir.path().join("b").tap_mkdir(), 6000, 1000, 2);
    let table = format!("{s}.users");
    load(&small, &table, &[]).assert_success();
    psql(&format!(
        "CREATE INDEX users_email ON {table} (email); ALTER TABLE {table} ADD PRIMARY KEY (braze_id); \
         DROP ROLE IF EXISTS t_swap_reader; CREATE ROLE t_swap_reader; GRANT SELECT ON {table} TO t_swap_reader"
    ));

    // A reader counting the rows again and again while the table is replaced.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let table = table.clone();
        std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen.insert(psql(&format!("SELECT count(*) FROM {table}")));
            }
            seen
        })
    };
    for input in [&large, &small, &large] {
        load(input, &table, &[]).assert_success();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.join().expect("reader");
    assert!(
        seen.iter().all(|c| c == "1500" || c == "6000"),
        "a reader saw {seen:?}"
    );
    assert!(seen.contains("1500"), "{seen:?}");

    let indexes = psql(&format!(
        "SELECT indexname FROM pg_indexes WHERE schemaname = '{s}' AND tablename = 'users' ORDER BY 1"
    ));
    assert_eq!(indexes, "users_email\nusers_pkey");
    let grants = psql(&format!(
        "SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = 't_swap_reader' AND table_schema = '{s}'"
    ));
    assert_eq!(grants, "SELECT");
    let leftovers = psql(&format!(
        "SELECT count(*) FROM pg_tables WHERE schemaname = '{s}' AND tablename LIKE '\\_brazex%'"
    ));
    assert_eq!(leftovers, "0");
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}
impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).expect("mkdir");
        self
    }
}

#[test]
fn append_adds_rows_and_new_columns_and_refuses_a_type_change() {
    let s = schema("t_append");
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate_pair(dir.path(), 1000, 500, 3);
    let table = format!("{s}.users");
    load(
        &zip,
        &table,
        &["--load", "append", "--select", "braze_id,email"],
    )
    .assert_success();
    let run = load(
        &zip,
        &table,
        &[
            "--load",
            "append",
            "--select",
            "braze_id,email,country,n=random_bucket",
        ],
    );
    run.assert_success();
    run.assert_stderr_contains(&format!(
        "added columns {table}.country text, {table}.n integer"
    ));
    assert_eq!(
        psql(&format!("SELECT count(*), count(n) FROM {table}")),
        "2000|1000"
    );
    // Frozen: the table is the schema, and a new column is refused.
    let run = load(
        &zip,
        &table,
        &[
            "--load",
            "append",
            "--select",
            "braze_id,email,language",
            "--schema-evolution",
            "freeze",
        ],
    );
    run.assert_exit(1);
    run.assert_stderr_contains("language");
    // A column whose type would change is an error naming it; nothing is loaded.
    psql(&format!(
        "CREATE TABLE {s}.typed (braze_id text, email bigint)"
    ));
    let run = load(
        &zip,
        &format!("{s}.typed"),
        &["--load", "append", "--select", "braze_id,email"],
    );
    run.assert_exit(1);
    run.assert_stderr_contains("column email");
    assert_eq!(psql(&format!("SELECT count(*) FROM {table}")), "2000");
    assert_eq!(psql(&format!("SELECT count(*) FROM {s}.typed")), "0");
}

/// Night 2 of a generated export: some users changed, some gone, some new, and the
/// unchanged ones re-serialised with another key order.
fn second_night(night1: &[Value]) -> Vec<Value> {
    let mut night2 = Vec::new();
    for (i, user) in night1.iter().enumerate() {
        let mut user = user.clone();
        match i % 20 {
            0 => user["email"] = Value::from(format!("changed{i}@example.com")),
            1 => continue,
            2 => user["purchases"] = serde_json::json!([{"name": "new", "count": 1}]),
            _ => {
                // The same user with its keys in reverse order.
                let object = user.as_object().expect("object");
                let reversed: serde_json::Map<String, Value> = object
                    .iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                user = Value::Object(reversed);
            }
        }
        night2.push(user);
    }
    for (i, user) in night1.iter().take(25).enumerate() {
        let mut user = user.clone();
        user["braze_id"] = Value::from(format!("new{i:021}"));
        night2.push(user);
    }
    night2
}

#[test]
fn merge_upserts_changed_users_deletes_missing_ones_and_replaces_their_children() {
    let s = schema("t_merge");
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, ndjson) = generate_pair(dir.path(), 2000, 500, 5);
    let night1 = users(&ndjson);
    let night2 = second_night(&night1);
    let second = dir.path().join("night2.ndjson");
    write_users(&second, &night2);
    let table = format!("{s}.users");
    load(&ndjson, &table, &["--tables"]).assert_success();
    let unchanged_id = night1[3]["braze_id"].as_str().expect("id").to_string();
    let xmin = |id: &str| psql(&format!("SELECT xmin FROM {table} WHERE braze_id = '{id}'"));
    let before = xmin(&unchanged_id);

    let run = load(
        &second,
        &table,
        &["--tables", "--load", "merge", "--delete-missing"],
    );
    run.assert_success();
    // Independently: 100 emails changed, 100 users gone, 25 new; the 100 changed
    // purchases are rows of the purchases table, not of users.
    let changed = night1.len() / 20;
    let gone = night1.len() / 20;
    run.assert_stderr_contains(&format!(
        "25 inserted, {changed} updated, {} unchanged, {gone} deleted",
        night2.len() - 25 - changed
    ));
    assert_eq!(
        xmin(&unchanged_id),
        before,
        "an unchanged row is not rewritten"
    );

    let want: BTreeMap<String, String> = night2
        .iter()
        .map(|u| {
            (
                u["braze_id"].as_str().expect("id").to_string(),
                u["email"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let got: BTreeMap<String, String> = psql(&format!(
        "SELECT braze_id, coalesce(email, '') FROM {table}"
    ))
    .lines()
    .map(|l| {
        let (a, b) = l.split_once('|').expect("two columns");
        (a.to_string(), b.to_string())
    })
    .collect();
    assert_eq!(got, want);
    // Child rows: exactly night 2's purchases, per user.
    let purchases = purchases_of(&night2);
    assert_eq!(
        psql(&format!("SELECT count(*) FROM {table}_purchases")),
        purchases.to_string()
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM {table}_purchases WHERE name = 'new'"
        )),
        (night1.len() / 20).to_string()
    );
    let log = psql(&format!(
        "SELECT load, inserted, updated, deleted FROM {s}.brazex_loads ORDER BY started"
    ));
    assert_eq!(log, format!("replace|||\nmerge|25|{changed}|{gone}"));

    // A key repeated within one export is refused, naming it; nothing changes.
    let mut twice = night2.clone();
    twice.push(night2[5].clone());
    let dup = dir.path().join("dup.ndjson");
    write_users(&dup, &twice);
    let run = load(&dup, &table, &["--tables", "--load", "merge"]);
    run.assert_exit(1);
    run.assert_stderr_contains(night2[5]["braze_id"].as_str().expect("id"));
    assert_eq!(
        psql(&format!("SELECT count(*) FROM {table}")),
        night2.len().to_string()
    );
    // The key must be among the columns.
    let run = load(&second, &table, &["--load", "merge", "--select", "email"]);
    run.assert_exit(2);
    run.assert_stderr_contains("no braze_id column");
}

#[test]
fn merge_applies_the_changes_since_a_state_and_append_keeps_them_with_op() {
    let s = schema("t_changes");
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, ndjson) = generate_pair(dir.path(), 2000, 500, 8);
    let night1 = users(&ndjson);
    let night2 = second_night(&night1);
    let second = dir.path().join("night2.ndjson");
    write_users(&second, &night2);
    let state = dir.path().join("state");
    let state = state.to_str().expect("utf-8");
    let table = format!("{s}.users");
    let merge = ["--tables", "--load", "merge"];
    let with_state = |extra: &[&'static str], more: &[&str]| {
        let mut args: Vec<String> = merge.iter().map(|a| a.to_string()).collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        args.extend(more.iter().map(|a| a.to_string()));
        args
    };
    let args = with_state(&["--state"], &[state]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    load(&ndjson, &table, &args).assert_success();

    // Night 2's changes only, merged: 100 emails and 100 purchases changed, 100
    // users gone (with their children), 25 new.
    let args = with_state(&["--changes-since"], &[state, "--state", state]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = load(&second, &table, &args);
    run.assert_success();
    let changed = night1.len() / 20;
    let gone = night1.len() / 20;
    run.assert_stderr_contains(&format!(
        "changes since {state}: 25 inserts, {} updates, {gone} deletes",
        2 * changed
    ));
    run.assert_stderr_contains(&format!(
        "25 inserted, {changed} updated, {changed} unchanged, {gone} deleted"
    ));
    let want: BTreeSet<String> = night2
        .iter()
        .map(|u| {
            format!(
                "{}|{}",
                u["braze_id"].as_str().expect("id"),
                u["email"].as_str().unwrap_or("")
            )
        })
        .collect();
    let got: BTreeSet<String> = psql(&format!(
        "SELECT braze_id || '|' || coalesce(email, '') FROM {table}"
    ))
    .lines()
    .map(str::to_string)
    .collect();
    assert_eq!(got, want, "the table is night 2");
    let purchases = purchases_of(&night2);
    assert_eq!(
        psql(&format!("SELECT count(*) FROM {table}_purchases")),
        purchases.to_string(),
        "the children of changed and deleted users follow them"
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = '{s}' AND column_name = '_op'"
        )),
        "0",
        "_op says what to do; it is no column of a merged table"
    );

    // The same changes appended: a change log with _op first.
    let fresh = dir.path().join("fresh");
    let fresh = fresh.to_str().expect("utf-8");
    load(&ndjson, &format!("{s}.scratch"), &["--state", fresh]).assert_success();
    let run = load(
        &second,
        &format!("{s}.changes"),
        &["--load", "append", "--changes-since", fresh],
    );
    run.assert_success();
    assert_eq!(
        psql(&format!(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = '{s}' AND table_name = 'changes' AND ordinal_position = 1"
        )),
        "_op"
    );
    assert_eq!(
        psql(&format!(
            "SELECT _op || ' ' || count(*) FROM {s}.changes GROUP BY _op ORDER BY _op"
        )),
        format!("delete {gone}\ninsert 25\nupdate {}", 2 * changed)
    );
}

#[test]
fn a_bad_last_line_rolls_everything_back() {
    let s = schema("t_rollback");
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, ndjson) = generate_pair(dir.path(), 800, 400, 9);
    let table = format!("{s}.users");
    load(&ndjson, &table, &["--tables"]).assert_success();
    let snapshot = || {
        psql(&format!(
            "SELECT count(*), (SELECT count(*) FROM {table}_devices), (SELECT count(*) FROM {s}.brazex_loads), \
             (SELECT count(*) FROM pg_tables WHERE schemaname = '{s}') FROM {table}"
        ))
    };
    let before = snapshot();
    let mut text = std::fs::read_to_string(&ndjson).expect("ndjson");
    text.push_str("{\"braze_id\": oops}\n");
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, &text).expect("write");
    for mode in ["replace", "append", "merge"] {
        let run = load(&bad, &table, &["--tables", "--load", mode]);
        run.assert_exit(1);
        run.assert_stderr_contains("bad.ndjson:801: invalid JSON");
        assert_eq!(snapshot(), before, "{mode}: the tables are as before");
    }
    // Skipped bad lines are counted and recorded with the load.
    let run = load(&bad, &table, &["--tables", "--on-error", "skip"]);
    run.assert_success();
    run.assert_stderr_contains("1 bad lines skipped");
    assert_eq!(
        psql(&format!(
            "SELECT rows, skipped FROM {s}.brazex_loads ORDER BY started DESC LIMIT 1"
        )),
        "800|1"
    );
}

#[test]
fn tls_and_logins_fail_clearly_and_never_show_the_password() {
    let s = schema("t_tls");
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate_pair(dir.path(), 200, 200, 4);
    let table = format!("{s}.users");
    let ca = std::env::var("BRAZEX_TEST_PG_CA").expect("BRAZEX_TEST_PG_CA (scripts/test.sh)");
    let run_with = |url: String| load_into(&url, &zip, &table, &["--select", "braze_id"]).run();
    // verify-full without a root certificate: refused before connecting.
    let run = run_with(pg_url_with("sslmode=verify-full"));
    run.assert_exit(2);
    run.assert_stderr_contains("sslmode=verify-full needs a root certificate");
    // The server's certificate names localhost, not 127.0.0.1.
    let run = run_with(pg_url_with(&format!(
        "sslmode=verify-full&sslrootcert={ca}"
    )));
    run.assert_exit(3);
    run.assert_stderr_contains("cannot connect to PostgreSQL");
    run.assert_stderr_contains("certificate");
    // Another CA: the chain is refused, under verify-ca too.
    let other = dir.path().join("other.crt");
    std::fs::write(&other, include_str!("other-ca.pem")).expect("write");
    let run = run_with(pg_url_with(&format!(
        "sslmode=verify-ca&sslrootcert={}",
        other.display()
    )));
    run.assert_exit(3);
    run.assert_stderr_contains("certificate");
    // The right CA and the certificate's name: a verified load.
    let localhost = pg_url().replace("@127.0.0.1:", "@localhost:");
    let run = run_with(format!("{localhost}?sslmode=verify-full&sslrootcert={ca}"));
    run.assert_success();
    assert_eq!(psql(&format!("SELECT count(*) FROM {table}")), "200");
    let ssl = psql("SELECT count(*) FROM pg_stat_ssl WHERE ssl");
    assert!(ssl.parse::<u32>().is_ok(), "{ssl}");

    // A wrong password: refused, and no password is shown.
    let wrong = pg_url().replace("brazex-test-secret", "not-the-secret-xyz");
    let run = run_with(wrong);
    run.assert_exit(3);
    run.assert_stderr_contains("password authentication failed");
    assert!(!run.stderr.contains("not-the-secret-xyz"), "{}", run.stderr);
    // The password from PGPASSWORD, the rest from the URL.
    let no_password = pg_url().replace(":brazex-test-secret@", "@");
    let run = load_into(
        &no_password,
        &zip,
        &table,
        &["--select", "braze_id", "--load", "append"],
    )
    .env("PGPASSWORD", "brazex-test-secret")
    .run();
    run.assert_success();
    assert!(!run.stderr.contains("brazex-test-secret"));
    assert_eq!(psql(&format!("SELECT count(*) FROM {table}")), "400");
    // Flags of a database target are refused elsewhere.
    let run = brazex(&["process", "--table", "x", "--load", "merge"])
        .stdin(Vec::new())
        .run();
    run.assert_exit(2);
    run.assert_stderr_contains("is for loads into PostgreSQL");
}

#[test]
fn a_signal_or_a_kill_during_the_copy_leaves_the_tables_as_they_were() {
    use std::io::Write;
    use std::process::Stdio;
    let s = schema("t_signal");
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, ndjson) = generate_pair(dir.path(), 500, 500, 6);
    let table = format!("{s}.users");
    load(&ndjson, &table, &["--tables"]).assert_success();
    let snapshot = || {
        psql(&format!(
            "SELECT count(*), (SELECT count(*) FROM pg_tables WHERE schemaname = '{s}'), \
             (SELECT count(*) FROM {s}.brazex_loads) FROM {table}"
        ))
    };
    let before = snapshot();
    let data = std::fs::read(&ndjson).expect("ndjson");
    let sessions = || {
        psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'brazex' AND query LIKE '%{s}%' AND pid <> pg_backend_pid()"
        ))
    };
    for signal in ["TERM", "KILL"] {
        let url = pg_url();
        let mut child = Command::new(env!("CARGO_BIN_EXE_brazex"))
            .args(["process", "-o", &url, "--table", &table, "--tables"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn brazex");
        let mut stdin = child.stdin.take().expect("stdin");
        let data = data.clone();
        let feeder = std::thread::spawn(move || while stdin.write_all(&data).is_ok() {});
        // Under way: the rows stream into the COPY.
        wait_until(&format!("{signal}: a COPY under way"), || {
            psql(&format!(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'brazex' AND query LIKE 'COPY%{s}%'"
            )) != "0"
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let out = child.wait_with_output().expect("wait");
        let _ = feeder.join();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match signal {
            "TERM" => {
                assert_eq!(out.status.code(), Some(143), "{stderr}");
                assert!(stderr.contains("cancelled by SIGTERM"), "{stderr}");
            }
            _ => assert_eq!(out.status.code(), None),
        }
        // The server rolls the transaction back as the connection goes.
        wait_until(&format!("{signal}: the session ending"), || {
            sessions() == "0"
        });
        assert_eq!(snapshot(), before, "{signal}: the tables are as before");
    }
}

#[test]
fn run_loads_a_braze_export_and_logs_its_object_prefix() {
    use brazex_sim::{SimConfig, Simulator};
    let s = schema("t_run");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = SimConfig::new(dir.path().join("spool"));
    config.ready_after = std::time::Duration::from_millis(300);
    config.users_per_entry = 500;
    for segment in &mut config.segments {
        if segment.id == "all" {
            segment.users = 1_200;
        }
    }
    let sim = Simulator::spawn_background(config).expect("simulator starts");
    let table = format!("{s}.users");
    // A database brazex cannot log into fails before Braze is asked for anything.
    let wrong = pg_url().replace("brazex-test-secret", "wrong");
    let run = brazex(&[
        "run",
        "--endpoint",
        sim.endpoint(),
        "--segment-id",
        "all",
        "-o",
        &wrong,
        "--table",
        &table,
    ])
    .env("BRAZE_API_KEY", sim.api_key())
    .run();
    run.assert_exit(3);
    run.assert_stderr_contains("password authentication failed");
    assert!(sim.triggers().is_empty(), "no export was triggered");
    let url = pg_url();
    let run = brazex(&[
        "run",
        "--endpoint",
        sim.endpoint(),
        "--poll-interval",
        "0.1",
        "--segment-id",
        "all",
        "-o",
        &url,
        "--table",
        &table,
        "--load",
        "merge",
    ])
    .env("BRAZE_API_KEY", sim.api_key())
    .run();
    run.assert_success();
    run.assert_stderr_contains("1200 inserted, 0 updated, 0 unchanged");
    let prefix = sim
        .triggers()
        .into_iter()
        .last()
        .and_then(|t| t.object_prefix)
        .expect("an accepted export");
    assert_eq!(
        psql(&format!(
            "SELECT rows, source->'braze'->>'object_prefix', source->'braze'->>'segment_id' FROM {s}.brazex_loads"
        )),
        format!("1200|{prefix}|all")
    );
    assert_eq!(psql(&format!("SELECT count(*) FROM {table}")), "1200");
}

#[test]
fn an_existing_table_pins_the_next_nights_columns() {
    let s = schema("t_pins");
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate_pair(dir.path(), 1000, 500, 8);
    let table = format!("{s}.users");
    load(&zip, &table, &["--custom-attributes", "columns"]).assert_success();
    let columns = || {
        psql(&format!(
            "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
             FROM information_schema.columns WHERE table_schema = '{s}' AND table_name = 'users'"
        ))
    };
    let night1 = columns();
    assert!(
        night1.contains("custom_attributes__is_vip boolean"),
        "{night1}"
    );
    assert!(night1.contains("custom_attributes__rest jsonb"), "{night1}");
    // Night 2 gives no flag: the table says the attributes are columns, and which.
    let run = load(&zip, &table, &["--load", "merge"]);
    run.assert_success();
    run.assert_stderr_contains("0 inserted, 0 updated, 1000 unchanged");
    assert_eq!(columns(), night1);
    let run = load(&zip, &table, &[]);
    run.assert_success();
    assert_eq!(columns(), night1);
}
