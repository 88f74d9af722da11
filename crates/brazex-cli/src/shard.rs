//! Scale-out on the schedulers users already run: `process --shard K/N` takes its
//! share of the inputs' files or objects, and `brazex manifest merge PREFIX/` joins
//! the shards' manifests into one once they are all there.
//!
//! No coordination between the workers: each lists the same inputs and computes the
//! same split, so a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`) or an AWS Batch
//! array job (`AWS_BATCH_JOB_ARRAY_INDEX`) only has to pass its index. The split
//! balances bytes (largest object first, to the shard with the fewest bytes so far);
//! each shard reads its objects in name order and writes `PREFIX/shard-K-of-N/`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use brazex_dest::manifest::{MANIFEST, REDSHIFT_MANIFEST};
use brazex_dest::{Location, Run, Target};
use serde_json::{json, Map, Value};

use crate::args::ManifestMergeArgs;
use crate::output::usage;

/// `--shard K/N`: shard `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `K/N` (0 ≤ K < N).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text.split_once('/').ok_or_else(|| {
            format!("{text:?}: give K/N, e.g. 0/3 (K from 0, as JOB_COMPLETION_INDEX)")
        })?;
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("{text:?}: K and N are whole numbers (K/N, e.g. 0/3)"))
        };
        let (index, count) = (number(k)?, number(n)?);
        if count == 0 || index >= count {
            return Err(format!(
                "{text:?}: K goes from 0 to N-1 (shard {index} of {count} does not exist)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard's folder under the `-o` prefix.
    pub fn folder(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    /// The indices of `objects` (name, size) in this shard, in name order.
    ///
    /// Largest first, each to the shard with the fewest bytes so far (ties: the
    /// lower shard; equal sizes: name order), so every worker computes the same split
    /// from the same listing, every object is in exactly one shard, and no shard has
    /// more than the others by more than one object's size.
    pub fn select(&self, objects: &[(String, u64)]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..objects.len()).collect();
        order.sort_by(|&a, &b| {
            objects[b]
                .1
                .cmp(&objects[a].1)
                .then_with(|| objects[a].0.cmp(&objects[b].0))
        });
        let mut loads = vec![0u64; self.count as usize];
        let mut mine = Vec::new();
        for i in order {
            let (shard, _) = loads
                .iter()
                .enumerate()
                .min_by_key(|&(shard, load)| (*load, shard))
                .unwrap_or((0, &0));
            loads[shard] += objects[i].1;
            if shard == self.index as usize {
                mine.push(i);
            }
        }
        mine.sort_by(|&a, &b| objects[a].0.cmp(&objects[b].0));
        mine
    }
}

/// `-o PREFIX/` of a sharded run: `PREFIX/shard-K-of-N/`; other targets are refused.
pub fn output(shard: Shard, output: Option<&Path>) -> anyhow::Result<std::path::PathBuf> {
    let target = crate::output::target(output)?;
    let Target::Dir(dir) = target else {
        return Err(usage(
            "--shard writes a folder per shard: give -o PREFIX/ (a folder or an s3://, gs://, az:// prefix)",
        ));
    };
    Ok(std::path::PathBuf::from(format!(
        "{}/",
        dir.join(&shard.folder())
    )))
}

/// `brazex manifest merge PREFIX/`.
pub fn merge(args: &ManifestMergeArgs) -> anyhow::Result<()> {
    let dir = match Target::parse(&args.prefix).map_err(|e| usage(format!("{e}")))? {
        Target::Dir(dir) => dir,
        Target::File(at) => {
            return Err(usage(format!(
                "{at}: give the folder the shards wrote into, with a trailing /"
            )))
        }
        _ => {
            return Err(usage(
                "give the folder (or object prefix) the shards wrote into",
            ))
        }
    };
    let found = list_shards(&dir, &args.store)?;
    let Some(&count) = found.keys().map(|(_, n)| n).max() else {
        return Err(usage(format!(
            "{dir} holds no shard manifests (shard-K-of-N/{MANIFEST})"
        )));
    };
    let other: Vec<String> = found
        .keys()
        .filter(|(_, n)| *n != count)
        .map(|(k, n)| format!("shard-{k}-of-{n}"))
        .collect();
    if !other.is_empty() {
        return Err(usage(format!(
            "{dir} holds shards of more than one split (of {count}, and {}): merge one split per prefix",
            other.join(", ")
        )));
    }
    let missing: Vec<String> = (0..count)
        .filter(|k| !found.contains_key(&(*k, count)))
        .map(|k| format!("shard-{k}-of-{count}"))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(Incomplete(format!(
            "{dir}: {} of {count} shard manifests missing: {} (a shard has not finished, or failed)",
            missing.len(),
            missing.join(", ")
        )));
    }
    let mut manifests = Vec::with_capacity(count as usize);
    for k in 0..count {
        let folder = format!("shard-{k}-of-{count}");
        let at = dir.join(&folder).join(MANIFEST);
        let text = read_text(&at, &args.store)?;
        let value: Value =
            serde_json::from_str(&text).with_context(|| format!("{at}: not a brazex manifest"))?;
        manifests.push((folder, value));
    }
    let merged = merge_manifests(&manifests)?;
    let staging = Run::new(brazex_dest::StoreOptions {
        endpoints: args.store.endpoints(),
        ..brazex_dest::StoreOptions::default()
    });
    if let Some(redshift) = redshift(&dir, &merged) {
        for (at, value) in redshift {
            crate::output::write_json(&staging, &at, &value)?;
        }
    }
    crate::output::write_json(&staging, &dir.join(MANIFEST), &merged)?;
    staging.commit()?;
    if !args.quiet {
        crate::report::say(&format!(
            "brazex: merged {count} shard manifests into {}: {} rows in {} files",
            dir.join(MANIFEST),
            merged["totals"]["rows_written"],
            merged["totals"]["files"]
        ));
    }
    Ok(())
}

/// Some shards have not written their manifest yet (exit 1: the loader waits).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Incomplete(pub String);

/// The shard folders under `dir` that hold a manifest: (K, N).
fn list_shards(
    dir: &Location,
    store: &crate::args::StoreArgs,
) -> anyhow::Result<BTreeMap<(u32, u32), ()>> {
    let mut found = BTreeMap::new();
    let mut note = |relative: &str| {
        let Some(folder) = relative.strip_suffix(&format!("/{MANIFEST}")) else {
            return;
        };
        let parsed = folder
            .strip_prefix("shard-")
            .and_then(|rest| rest.split_once("-of-"))
            .and_then(|(k, n)| Some((k.parse::<u32>().ok()?, n.parse::<u32>().ok()?)));
        if let Some((k, n)) = parsed.filter(|(k, n)| k < n) {
            found.insert((k, n), ());
        }
    };
    match dir {
        Location::Path(path) => {
            let entries = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().join(MANIFEST).is_file() {
                    note(&format!("{name}/{MANIFEST}"));
                }
            }
        }
        Location::Object(url) => {
            let bucket_url = brazex_braze::BucketUrl::parse(&url.to_string())?;
            let bucket =
                brazex_braze::Bucket::open(&bucket_url, crate::bucket::bucket_options(store))?;
            let runtime = crate::braze::runtime()?;
            let objects = runtime.block_on(bucket.list(&bucket_url))?;
            let prefix = bucket_url.prefix.trim_end_matches('/').to_string();
            for object in objects {
                let relative = match prefix.is_empty() {
                    true => object.key.as_str(),
                    false => object
                        .key
                        .strip_prefix(&prefix)
                        .map_or("", |r| r.trim_start_matches('/')),
                };
                note(relative);
            }
        }
    }
    Ok(found)
}

/// A manifest's text, from a file or an object.
fn read_text(at: &Location, store: &crate::args::StoreArgs) -> anyhow::Result<String> {
    let path = std::path::PathBuf::from(at.to_string());
    let schema = crate::output::read_text_at(&path, store, "manifest")?;
    Ok(schema)
}

/// One manifest for all shards: the tables' files in shard order (paths relative to
/// the prefix), rows and totals summed, the first start and the last finish. The
/// shards must agree on format, compression and columns; a shard whose columns
/// differ (inferred differently from its own rows) is an error that says to pin
/// them with `--schema`.
fn merge_manifests(manifests: &[(String, Value)]) -> anyhow::Result<Value> {
    let (first_name, first) = manifests
        .first()
        .context("internal: no manifests to merge")?;
    let mut merged = Map::new();
    for key in [
        "brazex_version",
        "format",
        "compression",
        "custom_attributes",
    ] {
        for (name, m) in manifests {
            if m.get(key) != first.get(key) {
                return Err(anyhow::Error::new(Mismatch(format!(
                    "{name} has {key} {}, {first_name} {}: the shards must be made alike",
                    m.get(key).unwrap_or(&Value::Null),
                    first.get(key).unwrap_or(&Value::Null)
                ))));
            }
        }
        if let Some(value) = first.get(key) {
            merged.insert(key.into(), value.clone());
        }
    }
    let text = |m: &Value, key: &str| m.get(key).and_then(Value::as_str).map(str::to_string);
    let started = manifests
        .iter()
        .filter_map(|(_, m)| text(m, "started_at"))
        .min();
    let finished = manifests
        .iter()
        .filter_map(|(_, m)| text(m, "finished_at"))
        .max();
    merged.insert("started_at".into(), json!(started));
    merged.insert("finished_at".into(), json!(finished));

    // Tables, by name, in the first shard's order.
    let tables_of = |m: &Value| {
        m.get("tables")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut tables: Vec<Value> = Vec::new();
    for (index, table) in tables_of(first).into_iter().enumerate() {
        let name = table.get("name").cloned().unwrap_or(Value::Null);
        let shown = name.as_str().unwrap_or_default();
        let mut files = Vec::new();
        let mut rows = 0u64;
        for (shard, m) in manifests {
            let theirs = tables_of(m);
            let Some(other) = theirs.get(index).filter(|t| t.get("name") == Some(&name)) else {
                return Err(anyhow::Error::new(Mismatch(format!(
                    "{shard} has no table {shown} (as {first_name} has): the shards must be made alike"
                ))));
            };
            if other.get("columns") != table.get("columns") {
                return Err(anyhow::Error::new(Mismatch(format!(
                    "{shard} has other columns in table {shown} than {first_name} (types inferred from each shard's own rows): pin them with --schema, e.g. --schema {first_name}/{MANIFEST} under the prefix, and run the shards again"
                ))));
            }
            let folder = other.get("path").and_then(Value::as_str).unwrap_or(".");
            for file in other
                .get("files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mut file = file.clone();
                if let Some(path) = file.get("path").and_then(Value::as_str) {
                    // Paths are relative to each shard's manifest; now to the prefix.
                    let relative = match folder {
                        "." => format!("{shard}/{path}"),
                        _ if path.starts_with(&format!("{folder}/")) => format!("{shard}/{path}"),
                        _ => format!("{shard}/{folder}/{path}"),
                    };
                    file["path"] = json!(relative);
                }
                files.push(file);
            }
            rows += other.get("rows").and_then(Value::as_u64).unwrap_or(0);
        }
        let mut table = table.clone();
        table["files"] = Value::Array(files);
        table["rows"] = json!(rows);
        // The files name their shard folders; no one folder holds a table now.
        table["path"] = json!(".");
        tables.push(table);
    }
    merged.insert("tables".into(), Value::Array(tables));

    let mut totals = Map::new();
    for (_, m) in manifests {
        for (key, value) in m
            .get("totals")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let sum =
                totals.get(key).and_then(Value::as_u64).unwrap_or(0) + value.as_u64().unwrap_or(0);
            totals.insert(key.clone(), json!(sum));
        }
    }
    merged.insert("totals".into(), Value::Object(totals));
    merged.insert(
        "shards".into(),
        Value::Array(
            manifests
                .iter()
                .map(|(name, m)| {
                    json!({
                        "name": name,
                        "manifest": format!("{name}/{MANIFEST}"),
                        "rows_written": m["totals"]["rows_written"],
                        "source": m.get("source"),
                        "schema_changes": m.get("schema_changes"),
                    })
                })
                .collect(),
        ),
    );
    merged.insert(
        "source".into(),
        json!({"shards": manifests.len(), "inputs": manifests.iter().flat_map(|(_, m)| {
            m["source"]["inputs"].as_array().cloned().unwrap_or_default()
        }).collect::<Vec<_>>()}),
    );
    Ok(Value::Object(merged))
}

/// The shards do not fit together (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Mismatch(pub String);

/// Redshift's manifest lists of the merged files, for an S3 prefix (as a run's own
/// manifest has them): one for the export, or one per table.
fn redshift(dir: &Location, merged: &Value) -> Option<Vec<(Location, Value)>> {
    let Location::Object(url) = dir else {
        return None;
    };
    if url.cloud != brazex_dest::Cloud::S3 || merged["format"] == "arrow" {
        return None;
    }
    let tables = merged["tables"].as_array()?;
    let entries = |table: &Value| -> Value {
        let files = table["files"].as_array().cloned().unwrap_or_default();
        json!({"entries": files.iter().map(|f| json!({
            "url": url.join(f["path"].as_str().unwrap_or_default()).to_string(),
            "mandatory": true,
            "meta": {"content_length": f["bytes"]},
        })).collect::<Vec<_>>()})
    };
    if tables.len() == 1 {
        return Some(vec![(dir.join(REDSHIFT_MANIFEST), entries(&tables[0]))]);
    }
    Some(
        tables
            .iter()
            .map(|t| {
                let name = t["name"].as_str().unwrap_or_default();
                (dir.join(name).join(REDSHIFT_MANIFEST), entries(t))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::{merge_manifests, Shard};
    use serde_json::json;

    fn manifest(rows: u64, columns: serde_json::Value, started: &str) -> serde_json::Value {
        json!({
            "brazex_version": "0.1.0", "format": "parquet", "compression": "zstd",
            "custom_attributes": "json", "started_at": started, "finished_at": started,
            "source": {"inputs": [format!("s3://b/exp/{rows}.zip")]},
            "tables": [
                {"name": "users", "path": ".", "rows": rows, "columns": columns.clone(),
                 "files": [{"path": "part-00000.parquet", "rows": rows, "bytes": 10, "sha256": "x"}]},
                {"name": "purchases", "path": "purchases", "rows": 1, "columns": columns,
                 "files": [{"path": "purchases/part-00000.parquet", "rows": 1, "bytes": 5, "sha256": "y"}]},
            ],
            "totals": {"rows_written": rows, "files": 2, "bytes": 15},
        })
    }

    #[test]
    fn manifests_merge_with_paths_from_the_prefix_and_refuse_other_columns() {
        let columns = json!([{"name": "braze_id", "type": "string"}]);
        let shards = vec![
            (
                "shard-0-of-2".to_string(),
                manifest(3, columns.clone(), "2026-12-03T10:00:01.000Z"),
            ),
            (
                "shard-1-of-2".to_string(),
                manifest(4, columns.clone(), "2026-12-03T10:00:00.000Z"),
            ),
        ];
        let merged = merge_manifests(&shards).expect("merged");
        assert_eq!(
            merged["totals"],
            json!({"rows_written": 7, "files": 4, "bytes": 30})
        );
        assert_eq!(merged["started_at"], "2026-12-03T10:00:00.000Z");
        assert_eq!(merged["finished_at"], "2026-12-03T10:00:01.000Z");
        let users = &merged["tables"][0];
        assert_eq!(users["rows"], 7);
        assert_eq!(users["files"][1]["path"], "shard-1-of-2/part-00000.parquet");
        assert_eq!(
            merged["tables"][1]["files"][0]["path"],
            "shard-0-of-2/purchases/part-00000.parquet"
        );
        assert_eq!(merged["source"]["inputs"].as_array().map(Vec::len), Some(2));

        let other = json!([{"name": "braze_id", "type": "int"}]);
        let shards = vec![
            ("shard-0-of-2".to_string(), manifest(3, columns, "t")),
            ("shard-1-of-2".to_string(), manifest(4, other, "t")),
        ];
        let error = merge_manifests(&shards)
            .expect_err("columns differ")
            .to_string();
        assert!(
            error.contains("shard-1-of-2 has other columns in table users"),
            "{error}"
        );
        assert!(
            error.contains("--schema shard-0-of-2/_manifest.json"),
            "{error}"
        );
    }

    #[test]
    fn shards_parse_and_refuse_what_does_not_exist() {
        assert_eq!(Shard::parse("0/3"), Ok(Shard { index: 0, count: 3 }));
        assert_eq!(
            Shard::parse("2/3").map(|s| s.folder()),
            Ok("shard-2-of-3".into())
        );
        for bad in ["3/3", "1/0", "x/3", "3", "-1/3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_object_is_in_one_shard_and_bytes_are_balanced() {
        let objects: Vec<(String, u64)> = (0..40)
            .map(|i| (format!("export/{i:05}.zip"), 1000 + (i * 7919 % 13) * 100))
            .collect();
        let total: u64 = objects.iter().map(|o| o.1).sum();
        let largest = objects.iter().map(|o| o.1).max().unwrap_or(0);
        for count in [1, 2, 3, 7, 40, 50] {
            let mut seen = vec![0; objects.len()];
            let mut loads = Vec::new();
            for index in 0..count {
                let mine = Shard { index, count }.select(&objects);
                // In name order within the shard.
                assert!(mine.windows(2).all(|w| objects[w[0]].0 < objects[w[1]].0));
                for &i in &mine {
                    seen[i] += 1;
                }
                loads.push(mine.iter().map(|&i| objects[i].1).sum::<u64>());
                // The same split every time it is computed.
                assert_eq!(mine, Shard { index, count }.select(&objects));
            }
            assert!(seen.iter().all(|&n| n == 1), "each object once: {count}");
            assert_eq!(loads.iter().sum::<u64>(), total);
            let (min, max) = (loads.iter().min().copied(), loads.iter().max().copied());
            assert!(
                max.unwrap_or(0) - min.unwrap_or(0) <= largest,
                "{count}: {loads:?}"
            );
        }
    }
}
