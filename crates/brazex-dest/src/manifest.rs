//! `_manifest.json`: what a load job checks before it loads (see the README), and
//! `_manifest.redshift.json`, Redshift's own `COPY … MANIFEST` list, for S3 folders.
//!
//! Both are written into the run like its parts, created after them, so the commit
//! makes them visible last: once a manifest is there, every file it lists is.

use std::time::SystemTime;

use brazex_core::contract::columns_json;
use brazex_core::delimited::format_timestamp_ms;
use brazex_core::pipeline::Summary;
use brazex_core::table::Plan;
use serde_json::{json, Value};

use crate::parts::FileEntry;
use crate::Location;

/// The manifest's file name.
pub const MANIFEST: &str = "_manifest.json";

/// Redshift's manifest's file name (S3 folder targets).
pub const REDSHIFT_MANIFEST: &str = "_manifest.redshift.json";

/// What the manifest describes.
#[derive(Debug)]
pub struct Manifest<'a> {
    /// `ndjson`, `csv`, `parquet`.
    pub format: &'a str,
    /// `zstd`, `gzip`, `none` …
    pub compression: String,
    /// Where the rows came from: the inputs' names, or a Braze export.
    pub source: Value,
    /// The typed columns (CSV, Parquet); `None` for NDJSON.
    pub plan: Option<&'a Plan>,
    /// What changed against the pinned schema (typed outputs).
    pub schema_changes: Option<Value>,
    /// NDJSON rows are `--select`'ed objects (rather than whole users).
    pub selected: bool,
    /// The tables' names, in plan order.
    pub names: &'a [String],
    /// `--tables`: each table in its own subfolder.
    pub normalized: bool,
    /// Each table's parts.
    pub files: &'a [Vec<FileEntry>],
    pub summary: &'a Summary,
    pub started: SystemTime,
    /// With `--changes-since`: the change counts and the state they are since.
    pub changes: Option<Value>,
}

fn timestamp(time: SystemTime) -> String {
    let ms = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    format_timestamp_ms(ms)
}

impl Manifest<'_> {
    /// The `_manifest.json` document.
    pub fn to_json(&self) -> Value {
        let tables: Vec<Value> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let files = self.files.get(i).map(Vec::as_slice).unwrap_or_default();
                let columns = match self.plan {
                    Some(plan) => columns_json(&plan.tables()[i].columns),
                    None if self.selected => json!("json object per line (--select)"),
                    None => json!("json object per line (whole user records)"),
                };
                json!({
                    "name": name,
                    "path": if self.normalized { name.clone() } else { ".".to_string() },
                    "rows": files.iter().map(|f| f.rows).sum::<u64>(),
                    "columns": columns,
                    "files": files,
                })
            })
            .collect();
        let all_files = self.files.iter().flatten();
        let mut doc = json!({
            "brazex_version": env!("CARGO_PKG_VERSION"),
            "format": self.format,
            "compression": self.compression,
            "started_at": timestamp(self.started),
            "finished_at": timestamp(SystemTime::now()),
            "source": self.source,
            "totals": {
                "rows_read": self.summary.rows_read,
                "rows_written": self.summary.rows_written,
                "rows_filtered": self.summary.rows_filtered,
                "rows_skipped": self.summary.rows_skipped,
                "files": all_files.clone().count(),
                "bytes": all_files.map(|f| f.bytes).sum::<u64>(),
            },
            "tables": tables,
        });
        if let (Some(changes), Some(map)) = (&self.changes, doc.as_object_mut()) {
            map.insert("changes".into(), changes.clone());
        }
        if let (Some(plan), Some(map)) = (self.plan, doc.as_object_mut()) {
            map.insert(
                "custom_attributes".into(),
                json!(plan.custom_attributes().name()),
            );
            if let Some(changes) = &self.schema_changes {
                map.insert("schema_changes".into(), changes.clone());
            }
        }
        doc
    }

    /// Redshift's manifests for S3 folder `dir`, with where each goes (none for any
    /// other folder): one in the folder listing every part, or with `--tables` one
    /// in each table's subfolder listing that table's parts, since each table is its
    /// own `COPY`.
    pub fn redshift(&self, dir: &Location) -> Vec<(Location, Value)> {
        let Location::Object(url) = dir else {
            return Vec::new();
        };
        // Redshift's COPY reads CSV, JSON and Parquet, not Arrow streams.
        if url.cloud != crate::Cloud::S3 || self.format == "arrow" {
            return Vec::new();
        }
        let entries = |files: &mut dyn Iterator<Item = &FileEntry>| -> Value {
            let entries: Vec<Value> = files
                .map(|f| {
                    json!({
                        "url": url.join(&f.path).to_string(),
                        "mandatory": true,
                        "meta": {"content_length": f.bytes},
                    })
                })
                .collect();
            json!({ "entries": entries })
        };
        if !self.normalized {
            return vec![(
                dir.join(REDSHIFT_MANIFEST),
                entries(&mut self.files.iter().flatten()),
            )];
        }
        self.names
            .iter()
            .zip(self.files)
            .map(|(name, files)| {
                (
                    dir.join(name).join(REDSHIFT_MANIFEST),
                    entries(&mut files.iter()),
                )
            })
            .collect()
    }
}
