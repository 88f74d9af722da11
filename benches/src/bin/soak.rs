//! The fault soak of `brazex run` (benches/soak.sh): the simulator on loopback
//! serves a large export through randomly placed faults (dropped connections at
//! random bytes, stalls past `--stall-timeout`, 500/503 bursts, 429 with
//! `Retry-After`, ranged requests answered with the whole archive), and every run's
//! rows must be byte for byte those of the archive processed from disk.
//!
//! ```text
//! soak BRAZEX_BINARY [--users N] [--faults N] [--seconds S]
//! ```
//! Rounds alternate one stream (`--jobs 1 --one-stream`) and ranged entries
//! (`--jobs 2`), each with a new seed, until at least `--faults` faults were served
//! and each mode ran twice, or `--seconds` is up. Loopback only; bounded in time.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use brazex_sim::{Faults, RandomFaults, SimConfig, Simulator};
use sha2::{Digest, Sha256};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(brazex) = args.next() else {
        eprintln!("usage: soak BRAZEX_BINARY [--users N] [--faults N] [--seconds S]");
        std::process::exit(2);
    };
    let (mut users, mut want_faults, mut seconds) = (40_000u64, 100usize, 900u64);
    while let Some(flag) = args.next() {
        let value: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("{flag} needs a number");
            std::process::exit(2);
        });
        match flag.as_str() {
            "--users" => users = value,
            "--faults" => want_faults = value as usize,
            "--seconds" => seconds = value,
            _ => {
                eprintln!("unknown flag {flag}");
                std::process::exit(2);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut total_faults = 0;
    let mut rounds = 0u64;
    let mut failed = false;
    while (total_faults < want_faults || rounds < 4) && Instant::now() < deadline {
        let seed = 1000 + rounds;
        let ranged = rounds % 2 == 1;
        let spool = tempdir(&format!("soak-{seed}"));
        let mut config = SimConfig::new(spool.clone());
        config.ready_after = Duration::from_millis(200);
        for segment in &mut config.segments {
            if segment.id == "all" {
                segment.users = users;
            }
        }
        config.faults = Faults {
            random: Some(RandomFaults {
                seed,
                count: 40,
                percent: if ranged { 40 } else { 100 },
                retry_after_secs: 1,
            }),
            stall_for: Duration::from_millis(1500),
            ..Faults::default()
        };
        let sim = Simulator::spawn_background(config).expect("the simulator starts");
        let started = Instant::now();
        let mut run_args = vec![
            "run",
            "-q",
            "--endpoint",
            sim.endpoint(),
            "--segment-id",
            "all",
            "--poll-interval",
            "0.1",
            "--stall-timeout",
            "0.5",
            "--max-resumes",
            "1000",
        ];
        run_args.extend(if ranged {
            ["--jobs", "2"].as_slice()
        } else {
            ["--jobs", "1", "--one-stream"].as_slice()
        });
        let (code, downloaded, rows, stderr) = hashed(
            Command::new(&brazex)
                .args(&run_args)
                .env("BRAZE_API_KEY", sim.api_key()),
        );
        let took = started.elapsed();
        let trigger = sim.triggers().into_iter().last().expect("a trigger");
        let prefix = trigger.object_prefix.expect("accepted");
        let file = sim.export_file(&prefix).expect("the archive");
        let archive_bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
        let (disk_code, from_disk, disk_rows, _) =
            hashed(Command::new(&brazex).args(["process", "-q"]).arg(&file));
        let faults: Vec<String> = sim
            .downloads()
            .into_iter()
            .flat_map(|d| d.faults)
            .map(|f| format!("{f:?}"))
            .collect();
        for fault in &faults {
            let kind = match fault.split([' ', '{']).next().unwrap_or("") {
                "Status" => fault.replace(['{', '}', ' '], "").replace("status:", ""),
                other => other.to_string(),
            };
            *kinds.entry(kind).or_default() += 1;
        }
        total_faults += faults.len();
        let same = code == Some(0) && disk_code == Some(0) && downloaded == from_disk;
        println!(
            "round {rounds}: seed {seed}, {}, archive {:.1} MB, {rows} rows ({disk_rows} from disk), {} faults, {:.1} s: {}",
            if ranged { "ranged entries (--jobs 2)" } else { "one stream (--jobs 1)" },
            archive_bytes as f64 / 1e6,
            faults.len(),
            took.as_secs_f64(),
            if same { "rows identical (sha256)" } else { "ROWS DIFFER" }
        );
        if !same {
            failed = true;
            eprintln!("brazex exited {code:?}: {stderr}");
        }
        sim.shutdown();
        let _ = std::fs::remove_dir_all(&spool);
        rounds += 1;
    }
    println!("{rounds} rounds, {total_faults} faults served: {kinds:?}");
    if failed || total_faults < want_faults {
        eprintln!("soak FAILED (rows differ, or fewer than {want_faults} faults within the time)");
        std::process::exit(1);
    }
}

/// Runs `command`, hashing its stdout as it streams; returns exit code, digest,
/// line count and stderr.
fn hashed(command: &mut Command) -> (Option<i32>, [u8; 32], u64, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn brazex");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut hash = Sha256::new();
    let mut lines = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                hash.update(&buf[..n]);
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
    }
    let status = child.wait().expect("wait");
    let text = errors.join().unwrap_or_default();
    (status.code(), hash.finalize().into(), lines, text)
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("brazex-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a spool folder");
    dir
}
