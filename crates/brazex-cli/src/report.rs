//! What a run tells whoever runs it: its lines on stderr, as text or (with
//! `--log-format json`) as one JSON object per line, and with `--summary-json` its
//! result as one JSON object, written also when the run fails or is cancelled, so an
//! orchestrator (Airflow, Dagster, a Kubernetes job) can branch on it without parsing
//! text.
//!
//! Every line brazex prints on stderr goes through [`say`] or [`warn`]; tracing's
//! events (retries, polls, `-v`) go through the same subscriber, so in JSON mode all of
//! stderr is JSON lines. The summary is filled as the run goes ([`record`], and
//! [`phase`] from `crate::exit::set_phase`) and written once, at the end ([`finish`]).
//! Nothing here sees a secret: the API key only exists as a header value, and database
//! URLs are recorded as `brazex_dest` shows them (without the password).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use clap::ValueEnum;
use serde_json::{json, Map, Value};

/// The target of the events that are brazex's own report lines.
const TARGET: &str = "brazex::report";

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Lines for people (`brazex: 110000 rows read, …`).
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, message, target and fields.
    Json,
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();
static SUMMARY: Mutex<Option<Summary>> = Mutex::new(None);

/// The summary being gathered, and where it goes.
#[derive(Debug)]
struct Summary {
    to: SummaryTo,
    started: SystemTime,
    clock: Instant,
    /// Each phase (`waiting for the export`) and when it began.
    phases: Vec<(&'static str, Instant)>,
    fields: Map<String, Value>,
}

#[derive(Debug)]
enum SummaryTo {
    Stderr,
    File(PathBuf),
}

/// Sets the log format and, with `--summary-json`, starts the summary of `command`.
pub fn init(format: LogFormat, summary: Option<&Path>, command: &str) {
    let _ = FORMAT.set(format);
    let Some(path) = summary else {
        return;
    };
    let to = match path.to_str() {
        Some("-") => SummaryTo::Stderr,
        _ => SummaryTo::File(path.to_path_buf()),
    };
    let mut fields = Map::new();
    fields.insert(
        "brazex".into(),
        json!({"version": env!("CARGO_PKG_VERSION"), "command": command}),
    );
    if let Ok(mut summary) = SUMMARY.lock() {
        *summary = Some(Summary {
            to,
            started: SystemTime::now(),
            clock: Instant::now(),
            phases: Vec::new(),
            fields,
        });
    }
}

pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// A line for stderr (`brazex: …`): as is, or as a JSON `INFO` event.
pub fn say(line: &str) {
    match format() {
        LogFormat::Text => eprintln!("{line}"),
        LogFormat::Json => tracing::info!(target: TARGET, "{}", strip(line)),
    }
}

/// A warning for stderr: `brazex: warning: …`, or a JSON `WARN` event.
pub fn warn(message: &str) {
    match format() {
        LogFormat::Text => eprintln!("brazex: warning: {message}"),
        LogFormat::Json => tracing::warn!(target: TARGET, "{message}"),
    }
}

/// The line a failed run ends with, with its exit code and place.
pub fn error(message: &str, code: i32, place: Option<&Value>) {
    match format() {
        LogFormat::Text => eprintln!("brazex: error: {message}"),
        LogFormat::Json => {
            // The place's parts as fields of their own (events hold no nested objects).
            let text = |key: &str| place.and_then(|p| p.get(key)).and_then(Value::as_str);
            let number = |key: &str| place.and_then(|p| p.get(key)).and_then(Value::as_u64);
            tracing::error!(
                target: TARGET,
                exit_code = code,
                input = text("input"),
                entry = text("entry"),
                line = number("line"),
                offset = number("offset"),
                argument = text("argument"),
                "{message}"
            );
        }
    }
}

/// A cancelled run's lines (`crate::exit::cancelled`: the signal, then what could
/// not be removed), said and put in the summary, which is then written.
pub fn cancelled(text: &str, code: i32) {
    for line in text.lines() {
        say(line);
    }
    let first = strip(text.lines().next().unwrap_or_default()).to_string();
    finish(Status::Cancelled, code, Some((first, None)));
}

/// `brazex: ` is for people reading mixed stderr; a JSON event has a target.
fn strip(line: &str) -> &str {
    line.strip_prefix("brazex: ").unwrap_or(line)
}

/// Sets a field of the summary (`counts`, `outputs`, `braze`, `changes`, `load`).
pub fn record(key: &str, value: Value) {
    if let Ok(mut summary) = SUMMARY.lock() {
        if let Some(summary) = summary.as_mut() {
            summary.fields.insert(key.into(), value);
        }
    }
}

/// Sets `key` inside the object field `field` (created if missing).
pub fn record_in(field: &str, key: &str, value: Value) {
    if let Ok(mut summary) = SUMMARY.lock() {
        if let Some(summary) = summary.as_mut() {
            let entry = summary
                .fields
                .entry(field.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = entry {
                map.insert(key.into(), value);
            }
        }
    }
}

/// The pipeline's counts, for the summary.
pub fn counts(summary: &brazex_core::pipeline::Summary) -> Value {
    json!({
        "rows_read": summary.rows_read,
        "rows_written": summary.rows_written,
        "rows_filtered": summary.rows_filtered,
        "rows_skipped": summary.rows_skipped,
        "inputs": summary.inputs,
        "entries": summary.entries,
        "bytes_in": summary.bytes_in,
        "bytes_ndjson": summary.bytes_decoded,
        "seconds": round_ms(summary.elapsed.as_secs_f64()),
    })
}

/// What `-o` named, as the summary shows it (a database URL without its password).
pub fn target_name(target: &brazex_dest::Target) -> String {
    match target {
        brazex_dest::Target::Stdout => "<stdout>".into(),
        brazex_dest::Target::File(at) | brazex_dest::Target::Dir(at) => at.to_string(),
        brazex_dest::Target::Postgres(url) => url.to_string(),
    }
}

/// A new phase of the run begins (for the summary's timings).
pub fn phase(name: &'static str) {
    if let Ok(mut summary) = SUMMARY.lock() {
        if let Some(summary) = summary.as_mut() {
            if summary.phases.last().is_some_and(|(last, _)| *last == name) {
                return;
            }
            summary.phases.push((name, Instant::now()));
        }
    }
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    Cancelled,
}

/// Writes the summary, when `--summary-json` asked for one: the fields recorded, the
/// status, exit code, error and timings. Only once (a signal's forced exit and the
/// normal end cannot both write it). A summary that cannot be written is said on
/// stderr; it does not change the exit code.
pub fn finish(status: Status, code: i32, error: Option<(String, Option<Value>)>) {
    let Some(summary) = SUMMARY.lock().ok().and_then(|mut s| s.take()) else {
        return;
    };
    let now = Instant::now();
    let mut fields = summary.fields;
    let status_name = match status {
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::Cancelled => "cancelled",
    };
    fields.insert("status".into(), json!(status_name));
    fields.insert("exit_code".into(), json!(code));
    fields.insert(
        "error".into(),
        match error {
            Some((message, place)) => {
                json!({"message": message, "place": place, "exit_code": code})
            }
            None => Value::Null,
        },
    );
    let ms = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    };
    let seconds = now.duration_since(summary.clock).as_secs_f64();
    let phases: Vec<Value> = summary
        .phases
        .iter()
        .enumerate()
        .map(|(i, (name, began))| {
            let ended = summary.phases.get(i + 1).map_or(now, |(_, next)| *next);
            json!({"phase": name, "seconds": round_ms(ended.duration_since(*began).as_secs_f64())})
        })
        .collect();
    fields.insert(
        "timings".into(),
        json!({
            "started": brazex_core::delimited::format_timestamp_ms(ms(summary.started)),
            "finished": brazex_core::delimited::format_timestamp_ms(ms(SystemTime::now())),
            "seconds": round_ms(seconds),
            "phases": phases,
        }),
    );
    let value = Value::Object(fields);
    let written = match &summary.to {
        SummaryTo::Stderr => {
            eprintln!("{value}");
            Ok(())
        }
        SummaryTo::File(path) => write_file(path, &value),
    };
    if let Err(e) = written {
        eprintln!("brazex: cannot write --summary-json: {e}");
    }
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Written under a temporary name beside it and renamed: a reader sees the whole
/// summary or none.
fn write_file(path: &Path, value: &Value) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "summary.json".into());
    let temp = path.with_file_name(format!(".{name}.{}.brazex-tmp", std::process::id()));
    let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    text.push('\n');
    let written = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}
