//! Helpers for running the built binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn fixture(name: &str) -> String {
    fixtures_dir().join(name).to_string_lossy().into_owned()
}

/// Writes the same generated users twice, as a zip (`per_entry` users an entry) and as
/// NDJSON, in `dir`; returns (zip, ndjson).
pub fn generate_pair(
    dir: &std::path::Path,
    users: u64,
    per_entry: u64,
    seed: u64,
) -> (PathBuf, PathBuf) {
    let zip = dir.join("g.zip");
    let ndjson = dir.join("g.ndjson");
    let (users, per_entry, seed) = (users.to_string(), per_entry.to_string(), seed.to_string());
    for (path, format) in [(&zip, "zip"), (&ndjson, "ndjson")] {
        brazex(&[
            "generate",
            "--users",
            &users,
            "--users-per-entry",
            &per_entry,
            "--seed",
            &seed,
            "--format",
            format,
            "-o",
            path.to_str().expect("utf-8"),
        ])
        .run()
        .assert_success();
    }
    (zip, ndjson)
}

/// The users of an NDJSON file, one JSON value per line.
pub fn read_users(ndjson: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ndjson)
        .expect("ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// A command line to run.
#[derive(Debug)]
pub struct Invocation {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
    read_after: Option<std::time::Duration>,
}

pub fn brazex(args: &[&str]) -> Invocation {
    Invocation {
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: None,
        env: Vec::new(),
        dir: None,
        read_after: None,
    }
}

impl Invocation {
    pub fn stdin(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs in `dir` (to see what a run makes in its working folder).
    pub fn current_dir(mut self, dir: &std::path::Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Reads nothing of the run's output for `pause` (a consumer that stops reading:
    /// the run blocks on its full stdout pipe meanwhile).
    pub fn read_after(mut self, pause: std::time::Duration) -> Self {
        self.read_after = Some(pause);
        self
    }

    pub fn run(self) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_brazex"));
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        let mut child = command
            .args(&self.args)
            .env_remove("BRAZE_API_KEY")
            .env_remove("BRAZE_REST_ENDPOINT")
            // Object-store credentials come only from what a test sets.
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ENDPOINT")
            .env_remove("AWS_PROFILE")
            // Nor does a database's: only the URL a test gives, or what it sets.
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .env_remove("PGUSER")
            .env_remove("PGPASSWORD")
            .env_remove("PGDATABASE")
            .env_remove("PGSSLMODE")
            .env_remove("PGSSLROOTCERT")
            .env_remove("PGPASSFILE")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn brazex");
        if let Some(bytes) = self.stdin {
            let mut stdin = child.stdin.take().expect("stdin");
            // Write from a thread: the child may fill its stdout before reading all input.
            std::thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut stdin, &bytes);
            });
        }
        if let Some(pause) = self.read_after {
            std::thread::sleep(pause);
        }
        let out = child.wait_with_output().expect("wait for brazex");
        Run {
            args: self.args,
            code: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn assert_success(&self) {
        self.assert_exit(0);
    }

    pub fn assert_exit(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "brazex {:?} exited {:?}; stderr:\n{}",
            self.args,
            self.code,
            self.stderr
        );
    }

    pub fn assert_stderr_contains(&self, text: &str) {
        assert!(
            self.stderr.contains(text),
            "brazex {:?}: stderr does not contain {text:?}:\n{}",
            self.args,
            self.stderr
        );
    }
}

/// The S3-compatible server the object-store tests run against (moto's server, on
/// loopback): `BRAZEX_TEST_S3_ENDPOINT` when set (scripts/test.sh starts one), else
/// one started here if `moto_server` is installed. Without either the tests fail,
/// saying how to get one: they never skip.
pub fn s3_endpoint() -> &'static str {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("BRAZEX_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => start_moto(&[]),
    })
}

/// Starts a moto S3 server on a free loopback port with `env`, for the life of the test
/// process, and returns its endpoint; panics with instructions when moto is missing.
pub fn start_moto(env: &[(&str, &str)]) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // The server is a child of a small Python supervisor that ends it when our stdin
    // pipe closes, i.e. when the test process exits however it exits.
    let supervisor = format!(
        "import subprocess, sys\n\
         p = subprocess.Popen(['moto_server', '-H', '127.0.0.1', '-p', '{port}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
         sys.stdin.read()\n\
         p.terminate()\n"
    );
    let child = Command::new("python3")
        .args(["-c", &supervisor])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) => panic!("{}", no_s3_server(&format!("cannot run python3: {e}"))),
    };
    // Leaked on purpose: its stdin must stay open until the process exits.
    std::mem::forget(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            panic!(
                "{}",
                no_s3_server(
                    "moto_server did not start listening within 30 s (is moto[server] installed?)"
                )
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    endpoint
}

fn no_s3_server(why: &str) -> String {
    format!(
        "the object-store tests need an S3-compatible server and none is available: {why}. \
         Run ./scripts/test.sh (installs moto[server] and starts it), or `python3 -m pip install 'moto[server]'`, \
         or set BRAZEX_TEST_S3_ENDPOINT to a running server's URL"
    )
}

/// Runs the test helper `tests/stores/storectl.py s3` (boto3) against `endpoint`; returns
/// its stdout.
pub fn s3ctl(endpoint: &str, args: &[&str]) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/stores/storectl.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("s3")
        .arg(endpoint)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}", no_s3_server(&format!("cannot run python3: {e}"))));
    assert!(
        out.status.success(),
        "s3ctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A manifest table's `columns` as `name:type` strings.
pub fn name_types(columns: &serde_json::Value) -> Vec<String> {
    columns
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["name"].as_str().expect("name"),
                c["type"].as_str().expect("type")
            )
        })
        .collect()
}

/// Runs a Python script that reads outputs with DuckDB, with `args`; its stdout
/// (trimmed). A missing DuckDB or a failing script fails the test, saying which.
pub fn duckdb(script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 must be installed (scripts/test.sh installs duckdb)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'duckdb'"),
        "DuckDB is missing: run ./scripts/test.sh (it installs duckdb from PyPI)"
    );
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "DuckDB check failed:\n{stdout}\n{stderr}"
    );
    stdout
}

/// Waits (up to 60 s) until `done` holds; `what` names it if it never does.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
