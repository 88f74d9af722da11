//! Helpers for running the built binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn fixture(name: &str) -> String {
    fixtures_dir().join(name).to_string_lossy().into_owned()
}

/// A command line to run.
#[derive(Debug)]
pub struct Invocation {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
}

pub fn brazex(args: &[&str]) -> Invocation {
    Invocation {
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: None,
        env: Vec::new(),
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

    pub fn run(self) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_brazex"))
            .args(&self.args)
            .env_remove("BRAZE_API_KEY")
            .env_remove("BRAZE_REST_ENDPOINT")
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
