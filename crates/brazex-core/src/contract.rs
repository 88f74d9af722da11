//! Schema contracts: the same columns and types night after night.
//!
//! A typed output's columns come, in this order of precedence, from a pinned schema
//! (`--schema`: an earlier run's `_manifest.json`, or a file `brazex schema` wrote),
//! from the documented user object ([`crate::schema`]), and from inference over the
//! first rows ([`crate::table::infer_plan`]). This module reads pinned schemas, says
//! what a run may add to them (`--schema-evolution`), gathers the custom attribute
//! keys the run sends to `custom_attributes__rest` ([`KeyLog`]: noted by
//! `Plan::rows`, which under `freeze` refuses the first line with a key the schema
//! lacks, and carried block by block to the writer in input order by [`Watched`] and
//! [`WatchedSink`]), and reports what changed (the manifest's `schema_changes`,
//! [`Changes`]). dlt's schema contracts are the model:
//! columns named `custom_attributes__KEY` follow its `__` convention for flattened
//! fields.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::encode::{Encoder, Sink};
use crate::error::{Error, LinePlace, Result};
use crate::record::{Kind, Record, Value};
use crate::schema::{Column, ColumnType, Seen};
use crate::table::Plan;

/// The prefix of the column of each custom attribute (`--custom-attributes columns`).
pub const CUSTOM_PREFIX: &str = "custom_attributes__";

/// The JSON column of the custom attributes that have no column of their own.
pub const REST_COLUMN: &str = "custom_attributes__rest";

/// The key whose column name would be [`REST_COLUMN`]: it always goes to the rest.
pub const REST_KEY: &str = "rest";

/// `--custom-attributes`: how custom attributes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomAttributes {
    /// One JSON text column, `custom_attributes`.
    Json,
    /// A typed column per attribute, `custom_attributes__KEY`, and the rest as JSON.
    Columns,
}

impl CustomAttributes {
    pub fn name(self) -> &'static str {
        match self {
            CustomAttributes::Json => "json",
            CustomAttributes::Columns => "columns",
        }
    }
}

/// `--schema-evolution`: what a run may add to its pinned schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evolution {
    /// New columns are added after the pinned ones (and reported).
    Evolve,
    /// A column the schema does not have is an error; nothing is written.
    Freeze,
}

/// What a typed output's columns are bound by.
#[derive(Debug, Clone, Copy)]
pub struct Contract<'a> {
    pub custom: CustomAttributes,
    pub schema: Option<&'a PinnedSchema>,
    pub evolution: Evolution,
    /// The most custom attribute keys a run tracks (`--max-custom-columns`).
    pub max_keys: usize,
}

impl Default for Contract<'_> {
    fn default() -> Self {
        Contract {
            custom: CustomAttributes::Json,
            schema: None,
            evolution: Evolution::Evolve,
            max_keys: 1000,
        }
    }
}

impl Contract<'_> {
    pub fn frozen(&self) -> bool {
        self.schema.is_some() && self.evolution == Evolution::Freeze
    }
}

/// A schema that does not fit the run, or a schema file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The schema file is not a schema (a usage error).
    #[error("--schema {schema}: {message}")]
    File { schema: String, message: String },
    /// The output has a column the frozen schema does not (a data error: exit 1).
    #[error("table {table}: column {column} is not in the schema {schema} (--schema-evolution freeze); nothing was written")]
    Frozen {
        schema: String,
        table: String,
        column: String,
    },
    /// The schema names a column this output cannot have (a usage error).
    #[error("--schema {schema}: table {table}: {message}")]
    Unfit {
        schema: String,
        table: String,
        message: String,
    },
}

/// One table of a pinned schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedTable {
    pub name: String,
    pub columns: Vec<Column>,
}

impl PinnedTable {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A pinned schema: every column it names keeps its type and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedSchema {
    /// Where it was read from (for messages and the manifest).
    pub source: String,
    /// How the run that wrote it wrote custom attributes, when it says or shows.
    pub custom: Option<CustomAttributes>,
    pub tables: Vec<PinnedTable>,
}

impl PinnedSchema {
    /// Reads a schema: a `_manifest.json` (its tables' `columns`, and the custom
    /// attributes its run sent to `custom_attributes__rest`, which become columns of
    /// the users table), or a file `brazex schema` wrote (the same `tables` form), or
    /// a bare `{"columns": [...]}` for the users table. With `with_rest` false, a
    /// manifest's rest keys are left out (the columns exactly as written).
    pub fn parse(
        source: &str,
        text: &str,
        with_rest: bool,
    ) -> std::result::Result<Self, ContractError> {
        let fail = |message: String| ContractError::File {
            schema: source.to_string(),
            message,
        };
        let doc: Json = serde_json::from_str(text).map_err(|e| fail(format!("not JSON: {e}")))?;
        let tables_json: Vec<(String, &Json)> = match (doc.get("tables"), doc.get("columns")) {
            (Some(Json::Array(tables)), _) => tables
                .iter()
                .map(|t| {
                    let name = t.get("name").and_then(Json::as_str).unwrap_or("users");
                    (name.to_string(), t.get("columns").unwrap_or(&Json::Null))
                })
                .collect(),
            (None, Some(columns)) => vec![("users".to_string(), columns)],
            _ => {
                return Err(fail(
                    "has neither \"tables\" (a manifest, or a file brazex schema wrote) nor \"columns\""
                        .into(),
                ))
            }
        };
        let mut tables = Vec::with_capacity(tables_json.len());
        for (name, columns) in tables_json {
            let Some(columns) = columns.as_array() else {
                return Err(fail(format!(
                    "table {name} has no typed columns (the manifest of an NDJSON run?)"
                )));
            };
            let mut table = PinnedTable {
                name: name.clone(),
                columns: Vec::with_capacity(columns.len()),
            };
            for (i, column) in columns.iter().enumerate() {
                let (Some(cname), Some(ty)) = (
                    column.get("name").and_then(Json::as_str),
                    column.get("type").and_then(Json::as_str),
                ) else {
                    return Err(fail(format!(
                        "table {name}: column {} needs a \"name\" and a \"type\"",
                        i + 1
                    )));
                };
                let ty = ColumnType::parse(ty).ok_or_else(|| {
                    fail(format!(
                        "table {name}: column {cname}: unknown type '{ty}' (string, int, int32, float, bool, timestamp, date, json, list<T>, struct<name:T,…>)"
                    ))
                })?;
                if table.column(cname).is_some() {
                    return Err(fail(format!("table {name}: column {cname} appears twice")));
                }
                table.columns.push(Column::new(cname, ty));
            }
            if tables.iter().any(|t: &PinnedTable| t.name == name) {
                return Err(fail(format!("table {name} appears twice")));
            }
            tables.push(table);
        }
        let custom = match doc.get("custom_attributes").and_then(Json::as_str) {
            Some("columns") => Some(CustomAttributes::Columns),
            Some("json") => Some(CustomAttributes::Json),
            Some(other) => {
                return Err(fail(format!(
                    "custom_attributes is '{other}' (json or columns)"
                )))
            }
            None => tables.first().and_then(|users| {
                if users.column(REST_COLUMN).is_some()
                    || users
                        .columns
                        .iter()
                        .any(|c| c.name.starts_with(CUSTOM_PREFIX))
                {
                    Some(CustomAttributes::Columns)
                } else if users.column("custom_attributes").is_some() {
                    Some(CustomAttributes::Json)
                } else {
                    None
                }
            }),
        };
        let mut schema = PinnedSchema {
            source: source.to_string(),
            custom,
            tables,
        };
        // The keys an earlier run sent to the rest are the next run's new columns.
        let rest = doc
            .pointer("/schema_changes/rest")
            .and_then(Json::as_array)
            .filter(|_| with_rest);
        if let (Some(rest), Some(users)) = (rest, schema.tables.first_mut()) {
            for key in rest {
                let (Some(column), Some(ty)) = (
                    key.get("column").and_then(Json::as_str),
                    key.get("type")
                        .and_then(Json::as_str)
                        .and_then(ColumnType::parse),
                ) else {
                    continue;
                };
                if users.column(column).is_none() {
                    users.columns.push(Column::new(column, ty));
                }
            }
        }
        Ok(schema)
    }

    /// The pinned table of this name.
    pub fn table(&self, name: &str) -> Option<&PinnedTable> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The schema of a plan, as `brazex schema` prints it.
    pub fn of(plan: &Plan, custom: CustomAttributes) -> Json {
        json!({
            "brazex_schema": 1,
            "custom_attributes": custom.name(),
            "tables": plan
                .tables()
                .iter()
                .map(|t| json!({"name": t.name, "columns": columns_json(&t.columns)}))
                .collect::<Vec<_>>(),
        })
    }
}

/// Columns as the manifest writes them: `[{"name": …, "type": …}]`.
pub fn columns_json(columns: &[Column]) -> Json {
    Json::Array(
        columns
            .iter()
            .map(|c| json!({"name": c.name, "type": c.ty.to_string()}))
            .collect(),
    )
}

/// The differences between two schemas, one line each (none when they are the same):
/// tables and columns added or removed, types changed, columns moved.
pub fn diff(old: &PinnedSchema, new: &PinnedSchema) -> Vec<String> {
    let mut lines = Vec::new();
    for table in &old.tables {
        if new.table(&table.name).is_none() {
            lines.push(format!("table {}: removed", table.name));
        }
    }
    for table in &new.tables {
        let Some(before) = old.table(&table.name) else {
            lines.push(format!(
                "table {}: added ({} columns)",
                table.name,
                table.columns.len()
            ));
            continue;
        };
        for column in &before.columns {
            if table.column(&column.name).is_none() {
                lines.push(format!(
                    "table {}: column {}: removed (was {})",
                    table.name, column.name, column.ty
                ));
            }
        }
        // Positions among the columns both have: a column added at the end moves none.
        let common = |t: &PinnedTable, other: &PinnedTable| -> Vec<String> {
            t.columns
                .iter()
                .filter(|c| other.column(&c.name).is_some())
                .map(|c| c.name.clone())
                .collect()
        };
        let (old_order, new_order) = (common(before, table), common(table, before));
        for (position, column) in table.columns.iter().enumerate() {
            match before.column(&column.name) {
                None => lines.push(format!(
                    "table {}: column {}: added ({}) at position {}",
                    table.name,
                    column.name,
                    column.ty,
                    position + 1
                )),
                Some(was) if was.ty != column.ty => lines.push(format!(
                    "table {}: column {}: type {} -> {}",
                    table.name, column.name, was.ty, column.ty
                )),
                Some(_) => {}
            }
        }
        if old_order != new_order {
            lines.push(format!(
                "table {}: columns in another order: {} -> {}",
                table.name,
                old_order.join(","),
                new_order.join(",")
            ));
        }
    }
    lines
}

/// What a run changed relative to its pinned schema (or, without one, to the
/// documented user object): the manifest's `schema_changes`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Columns added, with their types: not in the pinned schema (or, without one,
    /// typed by inference).
    pub added: Vec<Added>,
    /// Pinned columns whose first rows held narrower values, kept at the pinned type.
    pub widened: Vec<Widened>,
    /// Custom attribute keys written to `custom_attributes__rest` (no column this run).
    pub rest: Vec<RestKey>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    pub table: String,
    pub column: Column,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Widened {
    pub table: String,
    pub column: String,
    /// The pinned type, kept.
    pub ty: ColumnType,
    /// What the first rows alone would have given.
    pub found: ColumnType,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RestKey {
    pub key: String,
    /// The type its values have (the column's type in a next run).
    pub ty: ColumnType,
    /// Rows that have the key.
    pub rows: u64,
    /// Where it first appears.
    pub first: LinePlace,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.widened.is_empty() && self.rest.is_empty()
    }

    /// The manifest's `schema_changes` (empty lists when nothing changed).
    pub fn to_json(&self, schema: Option<&str>) -> Json {
        json!({
            "schema": schema,
            "added": self.added.iter().map(|a| json!({
                "table": a.table, "name": a.column.name, "type": a.column.ty.to_string(),
            })).collect::<Vec<_>>(),
            "widened": self.widened.iter().map(|w| json!({
                "table": w.table, "name": w.column, "type": w.ty.to_string(),
                "found": w.found.to_string(),
            })).collect::<Vec<_>>(),
            "rest": self.rest.iter().map(|r| json!({
                "key": r.key,
                "column": (r.key != REST_KEY).then(|| format!("{CUSTOM_PREFIX}{}", r.key)),
                "type": r.ty.to_string(),
                "rows": r.rows,
                "first": r.first.to_string(),
            })).collect::<Vec<_>>(),
        })
    }

    /// One line for stderr, when something changed.
    pub fn describe(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        let list = |names: Vec<String>| {
            let more = names.len().saturating_sub(5);
            let mut text = names.into_iter().take(5).collect::<Vec<_>>().join(", ");
            if more > 0 {
                text += &format!(" and {more} more");
            }
            text
        };
        if !self.added.is_empty() {
            parts.push(format!(
                "added {}",
                list(
                    self.added
                        .iter()
                        .map(|a| format!("{} ({})", a.column.name, a.column.ty))
                        .collect()
                )
            ));
        }
        if !self.widened.is_empty() {
            parts.push(format!(
                "kept {}",
                list(
                    self.widened
                        .iter()
                        .map(|w| format!("{} {} (found {})", w.column, w.ty, w.found))
                        .collect()
                )
            ));
        }
        if !self.rest.is_empty() {
            parts.push(format!(
                "sent to {REST_COLUMN}: {}",
                list(self.rest.iter().map(|r| r.key.clone()).collect())
            ));
        }
        Some(format!("brazex: schema: {}", parts.join("; ")))
    }
}

/// Custom attribute keys seen, with what their values were, how many rows have them,
/// and where each first appears. Bounded: past `limit` keys, [`KeyLog::note`] fails.
#[derive(Debug, Default)]
pub struct KeyLog {
    keys: HashMap<String, KeyStat>,
    /// First-appearance order, for a deterministic report.
    order: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct KeyStat {
    pub seen: Seen,
    pub rows: u64,
    pub first: LinePlace,
}

impl KeyLog {
    /// Notes one key's value in one row.
    pub fn note(
        &mut self,
        key: &str,
        value: &Value<'_>,
        place: &dyn Fn() -> LinePlace,
        limit: usize,
    ) -> Result<()> {
        if let Some(stat) = self.keys.get_mut(key) {
            stat.seen.note(value);
            stat.rows += 1;
            return Ok(());
        }
        let first = place();
        if self.keys.len() >= limit {
            return Err(too_many_keys(first, limit));
        }
        let mut seen = Seen::default();
        seen.note(value);
        self.keys.insert(
            key.to_string(),
            KeyStat {
                seen,
                rows: 1,
                first,
            },
        );
        self.order.push(key.to_string());
        Ok(())
    }

    /// Adds a later log (the next block's): first places stay the earliest.
    pub fn merge(&mut self, later: KeyLog, limit: usize) -> Result<()> {
        let KeyLog { mut keys, order } = later;
        for key in order {
            let Some(stat) = keys.remove(&key) else {
                continue;
            };
            let full = self.keys.len() >= limit;
            match self.keys.get_mut(&key) {
                Some(total) => {
                    total.seen.merge(&stat.seen);
                    total.rows += stat.rows;
                }
                None if full => return Err(too_many_keys(stat.first, limit)),
                None => {
                    self.order.push(key.clone());
                    self.keys.insert(key, stat);
                }
            }
        }
        Ok(())
    }

    /// The keys in order of first appearance, with their stats.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &KeyStat)> {
        self.order
            .iter()
            .filter_map(|k| self.keys.get(k).map(|s| (k.as_str(), s)))
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The rest keys of a run, sorted by key.
    pub fn rest_keys(&self) -> Vec<RestKey> {
        let mut rest: Vec<RestKey> = self
            .iter()
            .map(|(key, stat)| RestKey {
                key: key.to_string(),
                ty: stat.seen.infer(),
                rows: stat.rows,
                first: stat.first.clone(),
            })
            .collect();
        rest.sort_by(|a, b| a.key.cmp(&b.key));
        rest
    }
}

fn too_many_keys(place: LinePlace, limit: usize) -> Error {
    Error::Contract {
        place,
        message: format!(
            "more than {limit} distinct custom attribute keys (raise the limit with --max-custom-columns)"
        ),
    }
}

/// Notes in `log` every field of the custom attributes object `object` (the sample
/// of [`crate::table::infer_plan`]).
pub fn note_custom(
    object: &Value<'_>,
    log: &mut KeyLog,
    place: &dyn Fn() -> LinePlace,
    limit: usize,
) -> Result<()> {
    if object.kind() != Kind::Object {
        return Ok(());
    }
    for (key, value) in object.fields() {
        log.note(&key.text().unwrap_or_default(), &value, place, limit)?;
    }
    Ok(())
}

/// A typed encoder whose blocks also carry the custom attribute keys their rows sent
/// to `custom_attributes__rest` (noted by [`Plan::rows`], which under `freeze` also
/// refuses such a row), to a [`WatchedSink`].
#[derive(Debug)]
pub struct Watched<E>(pub E);

impl<E: Encoder> Encoder for Watched<E> {
    type Block = (E::Block, KeyLog);

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        self.0.row(record, place)
    }

    fn finish_block(&mut self) -> Self::Block {
        (self.0.finish_block(), self.0.take_keys())
    }
}

/// The sink side of [`Watched`]: merges the blocks' key logs in input order (so each
/// key's first place is the same every run) and passes the blocks on.
pub struct WatchedSink<'s, B> {
    inner: &'s mut dyn Sink<B>,
    log: KeyLog,
    limit: usize,
}

impl<'s, B> WatchedSink<'s, B> {
    pub fn new(inner: &'s mut dyn Sink<B>, limit: usize) -> WatchedSink<'s, B> {
        WatchedSink {
            inner,
            log: KeyLog::default(),
            limit,
        }
    }

    /// The keys the run sent to the rest.
    pub fn into_log(self) -> KeyLog {
        self.log
    }
}

impl<B> std::fmt::Debug for WatchedSink<'_, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedSink")
            .field("log", &self.log)
            .finish()
    }
}

impl<B> Sink<(B, KeyLog)> for WatchedSink<'_, B> {
    fn write_block(&mut self, (block, log): (B, KeyLog), rows: u64) -> Result<()> {
        self.log.merge(log, self.limit)?;
        self.inner.write_block(block, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_schema_files_parse() {
        let manifest = r#"{"custom_attributes":"columns","tables":[{"name":"users","path":".","columns":[
            {"name":"external_id","type":"string"},{"name":"custom_attributes__ltv","type":"float"},
            {"name":"custom_attributes__rest","type":"json"}]}],
            "schema_changes":{"rest":[{"key":"tier","column":"custom_attributes__tier","type":"string"},
            {"key":"rest","column":null,"type":"int"}]}}"#;
        let schema = PinnedSchema::parse("m.json", manifest, true).expect("schema");
        assert_eq!(schema.custom, Some(CustomAttributes::Columns));
        let users = schema.table("users").expect("users");
        let names: Vec<&str> = users.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "external_id",
                "custom_attributes__ltv",
                "custom_attributes__rest",
                "custom_attributes__tier"
            ]
        );
        let exact = PinnedSchema::parse("m.json", manifest, false).expect("schema");
        assert_eq!(exact.tables[0].columns.len(), 3);

        let bare = PinnedSchema::parse(
            "s.json",
            r#"{"columns":[{"name":"a","type":"list<int>"}]}"#,
            true,
        )
        .expect("bare");
        assert_eq!(bare.tables[0].name, "users");
        assert_eq!(bare.custom, None);

        for (text, says) in [
            ("nope", "not JSON"),
            (r#"{"x":1}"#, "neither"),
            (
                r#"{"tables":[{"name":"users","columns":"json object per line"}]}"#,
                "NDJSON",
            ),
            (
                r#"{"columns":[{"name":"a","type":"integer"}]}"#,
                "unknown type 'integer'",
            ),
            (
                r#"{"columns":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#,
                "twice",
            ),
            (
                r#"{"columns":[{"name":"a"}]}"#,
                "needs a \"name\" and a \"type\"",
            ),
        ] {
            let e = PinnedSchema::parse("f", text, true).expect_err(text);
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn diffs_name_each_difference() {
        let old = PinnedSchema::parse(
            "a",
            r#"{"columns":[{"name":"a","type":"float"},{"name":"b","type":"int"},{"name":"c","type":"string"}]}"#,
            true,
        )
        .expect("old");
        let same = diff(&old, &old);
        assert!(same.is_empty(), "{same:?}");
        let new = PinnedSchema::parse(
            "b",
            r#"{"columns":[{"name":"c","type":"string"},{"name":"a","type":"int"},{"name":"d","type":"bool"}]}"#,
            true,
        )
        .expect("new");
        assert_eq!(
            diff(&old, &new),
            vec![
                "table users: column b: removed (was int)",
                "table users: column a: type float -> int",
                "table users: column d: added (bool) at position 3",
                "table users: columns in another order: a,c -> c,a",
            ]
        );
    }

    #[test]
    fn key_logs_keep_the_first_place_and_their_limit() {
        let mut parser = crate::record::RecordParser::default();
        let record = parser.parse(br#"{"v":1,"w":2.5}"#).expect("valid");
        let (one, two) = (
            record.root().get("v").expect("v"),
            record.root().get("w").expect("w"),
        );
        let at = |line: u64| {
            move || LinePlace {
                entry: "e".into(),
                line,
            }
        };
        let mut first = KeyLog::default();
        first.note("a", &one, &at(3), 2).expect("a");
        let mut later = KeyLog::default();
        later.note("a", &two, &at(9), 2).expect("a");
        later.note("b", &one, &at(10), 2).expect("b");
        first.merge(later, 2).expect("merge");
        let rest = first.rest_keys();
        assert_eq!(rest[0].key, "a");
        assert_eq!(rest[0].first.line, 3);
        assert_eq!(rest[0].ty, ColumnType::Float);
        assert_eq!(rest[0].rows, 2);
        let e = first.note("c", &one, &at(11), 2).expect_err("limit");
        assert!(e.to_string().contains("--max-custom-columns"), "{e}");
        let mut third = KeyLog::default();
        third.note("d", &one, &at(12), 2).expect("d");
        assert!(first.merge(third, 2).is_err());
    }
}
