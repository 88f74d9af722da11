//! Which rows and columns a typed output (CSV, Parquet) has: a [`Plan`].
//!
//! Three shapes, one mechanism: the whole documented user object (one table, one row
//! per user), the `--select`ed items (one table, one row per user), or `--tables`
//! (a `users` table plus one table per array of objects, one row per element, keyed
//! by `braze_id` and `external_id`, and for `canvas_steps_received` also by the
//! canvas's `api_canvas_id`). For each record, [`Plan::rows`] hands every row of every
//! table to the encoder as resolved values, one per column; the encoder checks them
//! against the column types ([`crate::schema`]) and encodes them.

use std::sync::Arc;

use crate::encode::{Encoder, Sink};
use crate::error::{Error, LinePlace, Result};
use crate::input::Input;
use crate::path::SelectItem;
use crate::pipeline::{run_with, Options};
use crate::record::{KeyIndex, Kind, Record, Value};
use crate::schema::{self, Column, ColumnType, Seen};
use crate::select::{Resolved, Selection};

/// One output table: its name (the subfolder with `--tables`) and columns.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    kind: TableKind,
}

#[derive(Debug, Clone)]
enum TableKind {
    /// One row per record; column `i` is the top-level field in root slot `slots[i]`.
    Root { slots: Vec<usize> },
    /// The `--select`ed items, one row per record.
    Selection,
    /// One row per element of the array in root slot `array`; the first columns are
    /// the keys (root slots `keys`), the others the element's fields.
    Array { array: usize, keys: Vec<usize> },
    /// One row per element of `field` of each element of the array in root slot
    /// `array`; keys from the root, then from the parent element (`parent_keys`).
    Nested {
        array: usize,
        field: String,
        keys: Vec<usize>,
        parent_keys: Vec<String>,
    },
}

/// The tables of an output and how each record becomes their rows.
#[derive(Debug, Clone)]
pub struct Plan {
    tables: Vec<Table>,
    /// Top-level keys read by `Root`/`Array` tables: a key's position is its slot.
    roots: KeyIndex,
    selection: Option<Selection>,
    /// Selection columns whose type is neither documented nor pinned.
    unknown: Vec<usize>,
}

impl Plan {
    /// The whole documented user object (no `--select`): one table.
    pub fn full_object() -> Plan {
        let columns = schema::user_schema();
        let mut plan = Plan::empty();
        let slots = columns.iter().map(|c| plan.root_slot(&c.name)).collect();
        plan.tables.push(Table {
            name: "users".into(),
            columns,
            kind: TableKind::Root { slots },
        });
        plan
    }

    /// `--select` items with their pinned types (`path:type`), one per item. Columns of
    /// documented paths take the documented type; the rest need [`Plan::set_type`]
    /// (see [`Plan::unknown_columns`] and [`infer_types`]) or are strings.
    pub fn selection(items: &[SelectItem], pins: &[Option<ColumnType>]) -> Plan {
        let mut plan = Plan::empty();
        let mut columns = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let pinned = pins.get(i).cloned().flatten();
            let ty = match pinned.or_else(|| schema::documented_type(&item.path.segments)) {
                Some(ty) => ty,
                None => {
                    plan.unknown.push(i);
                    // Until inferred: a `[]` path is a list of its leaf type.
                    wrap_lists(&item.path.segments, ColumnType::String)
                }
            };
            columns.push(Column::new(item.name.clone(), ty));
        }
        plan.selection = Some(Selection::new(items));
        plan.tables.push(Table {
            name: "users".into(),
            columns,
            kind: TableKind::Selection,
        });
        plan
    }

    /// `--tables`: `users` (every field but the arrays of objects) and one table per
    /// array of objects, plus `canvas_steps_received`.
    pub fn normalized() -> Plan {
        let mut plan = Plan::empty();
        let user_columns: Vec<Column> = schema::user_schema()
            .into_iter()
            .filter(|c| !schema::OBJECT_ARRAYS.contains(&c.name.as_str()))
            .collect();
        let slots = user_columns
            .iter()
            .map(|c| plan.root_slot(&c.name))
            .collect();
        plan.tables.push(Table {
            name: "users".into(),
            columns: user_columns,
            kind: TableKind::Root { slots },
        });
        let keys = vec![plan.root_slot("braze_id"), plan.root_slot("external_id")];
        let key_columns = || {
            vec![
                Column::new("braze_id", ColumnType::String),
                Column::new("external_id", ColumnType::String),
            ]
        };
        for name in schema::OBJECT_ARRAYS {
            let array = plan.root_slot(name);
            let mut columns = key_columns();
            // Nested arrays get their own table; the parent keeps its scalar fields.
            columns.extend(
                schema::array_fields(name)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|c| c.name != "steps_received"),
            );
            plan.tables.push(Table {
                name: (*name).to_string(),
                columns,
                kind: TableKind::Array {
                    array,
                    keys: keys.clone(),
                },
            });
        }
        let mut columns = key_columns();
        columns.push(Column::new("api_canvas_id", ColumnType::String));
        columns.extend(schema::canvas_step_fields());
        let array = plan.root_slot("canvases_received");
        plan.tables.push(Table {
            name: "canvas_steps_received".into(),
            columns,
            kind: TableKind::Nested {
                array,
                field: "steps_received".into(),
                keys,
                parent_keys: vec!["api_canvas_id".into()],
            },
        });
        plan
    }

    fn empty() -> Plan {
        Plan {
            tables: Vec::new(),
            roots: KeyIndex::default(),
            selection: None,
            unknown: Vec::new(),
        }
    }

    fn root_slot(&mut self, key: &str) -> usize {
        self.roots
            .position(key)
            .unwrap_or_else(|| self.roots.push(key.to_string()))
    }

    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// True for `--tables` output (one subfolder per table).
    pub fn is_normalized(&self) -> bool {
        self.tables.len() > 1
    }

    /// Columns of the (single) selection table whose type must be inferred.
    pub fn unknown_columns(&self) -> &[usize] {
        &self.unknown
    }

    /// Sets the type of column `column` of the first table (after inference).
    pub fn set_type(&mut self, column: usize, ty: ColumnType) {
        let Some(table) = self.tables.first_mut() else {
            return;
        };
        if let (Some(col), Some(selection)) = (table.columns.get_mut(column), &self.selection) {
            if let Some(segments) = selection.paths().nth(column) {
                col.ty = wrap_lists(segments, ty);
            }
        }
        self.unknown.retain(|&c| c != column);
    }

    /// Calls `emit(table, cells)` for every row `record` gives, table by table, with
    /// one resolved value per column. `scratch` is reused between records.
    pub fn rows<'a>(
        &self,
        record: &Record<'a>,
        scratch: &mut RowScratch,
        emit: &mut dyn FnMut(usize, &[Resolved<'a>]) -> Result<()>,
    ) -> Result<()> {
        if let Some(selection) = &self.selection {
            let mut cells = Vec::with_capacity(self.tables[0].columns.len());
            selection.resolve(record, &mut scratch.slots, |_, r| cells.push(r));
            return emit(0, &cells);
        }
        // One walk over the top-level fields fills every root slot (with the value's
        // node: the scratch outlives the record).
        let nodes = &mut scratch.roots;
        nodes.clear();
        nodes.resize(self.roots.len(), None);
        let mut hint = 0;
        for (key, value) in record.root().fields() {
            if let Some(slot) = self.roots.find(&key, hint) {
                if nodes[slot].is_none() {
                    nodes[slot] = Some(value.node());
                }
                hint = slot + 1;
            }
        }
        let values: &[Option<usize>] = nodes;
        let values = |slot: usize| values[slot].map(|node| record.value_at(node));
        let cell = |v: Option<Value<'a>>| v.map_or(Resolved::Missing, Resolved::Value);
        for (index, table) in self.tables.iter().enumerate() {
            match &table.kind {
                TableKind::Root { slots } => {
                    let cells: Vec<Resolved<'a>> = slots.iter().map(|&s| cell(values(s))).collect();
                    emit(index, &cells)?;
                }
                TableKind::Selection => {}
                TableKind::Array { array, keys } => {
                    let Some(array) = values(*array).filter(|v| v.kind() == Kind::Array) else {
                        continue;
                    };
                    for element in array.elements() {
                        let mut cells: Vec<Resolved<'a>> =
                            keys.iter().map(|&s| cell(values(s))).collect();
                        for column in &table.columns[keys.len()..] {
                            cells.push(cell(element.get(&column.name)));
                        }
                        emit(index, &cells)?;
                    }
                }
                TableKind::Nested {
                    array,
                    field,
                    keys,
                    parent_keys,
                } => {
                    let Some(array) = values(*array).filter(|v| v.kind() == Kind::Array) else {
                        continue;
                    };
                    for parent in array.elements() {
                        let Some(children) = parent.get(field).filter(|v| v.kind() == Kind::Array)
                        else {
                            continue;
                        };
                        for child in children.elements() {
                            let mut cells: Vec<Resolved<'a>> =
                                keys.iter().map(|&s| cell(values(s))).collect();
                            cells.extend(parent_keys.iter().map(|k| cell(parent.get(k))));
                            let skip = keys.len() + parent_keys.len();
                            for column in &table.columns[skip..] {
                                cells.push(cell(child.get(&column.name)));
                            }
                            emit(index, &cells)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A worker's scratch space for [`Plan::rows`].
#[derive(Debug, Default)]
pub struct RowScratch {
    slots: Vec<Option<usize>>,
    /// The node of each root slot's value in the current record.
    roots: Vec<Option<usize>>,
}

/// `ty` wrapped in one list per `[]` of the path.
fn wrap_lists(segments: &[crate::path::Segment], ty: ColumnType) -> ColumnType {
    segments
        .iter()
        .filter(|s| s.each)
        .fold(ty, |t, _| ColumnType::List(Box::new(t)))
}

/// Checks a nested value (list, struct or json column) against its type, all the way
/// down, so that CSV (which writes it as JSON text) refuses what Parquet refuses.
pub fn check(cell: &Resolved<'_>, ty: &ColumnType) -> std::result::Result<(), String> {
    match (cell, ty) {
        (Resolved::Missing, _) => Ok(()),
        (Resolved::Each(items), ColumnType::List(inner)) => {
            items.iter().try_for_each(|item| check(item, inner))
        }
        (Resolved::Each(_), _) => Err(format!("a list where {ty} is expected")),
        (Resolved::Value(v), _) => check_value(v, ty),
    }
}

fn check_value(value: &Value<'_>, ty: &ColumnType) -> std::result::Result<(), String> {
    if value.kind() == Kind::Null {
        return Ok(());
    }
    match ty {
        ColumnType::Json => Ok(()),
        ColumnType::List(inner) => {
            if value.kind() != Kind::Array {
                return Err(format!(
                    "expected an array, found {}",
                    String::from_utf8_lossy(value.raw())
                ));
            }
            value.elements().try_for_each(|e| check_value(&e, inner))
        }
        ColumnType::Struct(fields) => {
            if value.kind() != Kind::Object {
                return Err(format!(
                    "expected an object, found {}",
                    String::from_utf8_lossy(value.raw())
                ));
            }
            fields.iter().try_for_each(|f| match value.get(&f.name) {
                Some(v) => check_value(&v, &f.ty).map_err(|e| format!("{}: {e}", f.name)),
                None => Ok(()),
            })
        }
        _ => schema::scalar(value, ty).map(|_| ()),
    }
}

/// Builds the error for a value that does not fit its column.
pub fn column_error(place: &dyn Fn() -> LinePlace, column: &str, message: String) -> Error {
    Error::Column {
        place: place(),
        column: column.to_string(),
        message,
    }
}

/// Types the plan's unknown columns from the first `max_rows` rows and sets them in
/// the plan; returns what it inferred, and the inputs the run then reads when a
/// stream had to be sampled. Files and ranged sources are simply read twice; a
/// stream (stdin, a download as one stream) is sampled through a spool file and
/// then replayed, so it is still read from its source once.
pub fn infer_plan(
    plan: &mut Plan,
    inputs: &[Input],
    options: &Options,
    max_rows: u64,
) -> Result<Inferred> {
    if plan.unknown_columns().is_empty() {
        return Ok(Inferred::default());
    }
    let mut sample = Vec::with_capacity(inputs.len());
    let mut replay = None;
    for (i, input) in inputs.iter().enumerate() {
        if let Input::File(_) | Input::Ranged(_) = input {
            sample.push(input.clone());
            continue;
        }
        let spool = tempfile::tempfile()
            .map_err(|e| Error::io("cannot create a spool file for type inference", e))?;
        let (sampling, replaying) = crate::input::sample_and_replay(input, spool)?;
        sample.push(sampling);
        replay.get_or_insert_with(|| inputs.to_vec())[i] = replaying;
    }
    let types = infer_types(&sample, options, plan, max_rows.max(1))?;
    for (column, ty) in &types {
        plan.set_type(*column, ty.clone());
    }
    Ok(Inferred { types, replay })
}

/// What [`infer_plan`] found.
#[derive(Debug, Default)]
pub struct Inferred {
    /// Each inferred column (by index in the first table) and its type.
    pub types: Vec<(usize, ColumnType)>,
    /// The inputs the run reads instead, when a stream was sampled.
    pub replay: Option<Vec<Input>>,
}

/// Infers the types of the plan's unknown columns from the first `max_rows` rows of
/// `inputs` (read once more by the real run: only re-readable inputs, files, can be
/// sampled). Columns with no non-null value are strings.
pub fn infer_types(
    inputs: &[Input],
    options: &Options,
    plan: &Plan,
    max_rows: u64,
) -> Result<Vec<(usize, ColumnType)>> {
    let unknown = plan.unknown.clone();
    let Some(selection) = plan.selection.clone().map(Arc::new) else {
        return Ok(Vec::new());
    };
    let make = {
        let unknown = unknown.clone();
        move || InferEncoder {
            selection: selection.clone(),
            unknown: unknown.clone(),
            seen: vec![Seen::default(); unknown.len()],
            slots: Vec::new(),
        }
    };
    let mut sink = InferSink {
        seen: vec![Seen::default(); unknown.len()],
        rows: 0,
        max_rows,
    };
    let sample_options = Options {
        on_error: crate::pipeline::OnError::Skip,
        ..options.clone()
    };
    match run_with(inputs, &sample_options, &make, &mut sink, None) {
        Ok(_) | Err(Error::Stopped) => {}
        Err(e) => return Err(e),
    }
    Ok(unknown
        .iter()
        .zip(&sink.seen)
        .map(|(&column, seen)| (column, seen.infer()))
        .collect())
}

#[derive(Debug)]
struct InferEncoder {
    selection: Arc<Selection>,
    unknown: Vec<usize>,
    seen: Vec<Seen>,
    slots: Vec<Option<usize>>,
}

fn note_leaves(seen: &mut Seen, resolved: &Resolved<'_>) {
    match resolved {
        Resolved::Missing => {}
        Resolved::Value(v) => seen.note(v),
        Resolved::Each(items) => items.iter().for_each(|i| note_leaves(seen, i)),
    }
}

impl Encoder for InferEncoder {
    type Block = Vec<Seen>;

    fn row(&mut self, record: &Record<'_>, _place: &dyn Fn() -> LinePlace) -> Result<()> {
        let (unknown, seen) = (&self.unknown, &mut self.seen);
        self.selection.resolve(record, &mut self.slots, |index, r| {
            if let Some(i) = unknown.iter().position(|&u| u == index) {
                note_leaves(&mut seen[i], &r);
            }
        });
        Ok(())
    }

    fn finish_block(&mut self) -> Self::Block {
        std::mem::replace(&mut self.seen, vec![Seen::default(); self.unknown.len()])
    }
}

#[derive(Debug)]
struct InferSink {
    seen: Vec<Seen>,
    rows: u64,
    max_rows: u64,
}

impl Sink<Vec<Seen>> for InferSink {
    fn write_block(&mut self, block: Vec<Seen>, rows: u64) -> Result<()> {
        for (total, seen) in self.seen.iter_mut().zip(&block) {
            total.merge(seen);
        }
        self.rows += rows;
        if self.rows >= self.max_rows {
            // Enough: stop the sampling run (the caller treats this as the end).
            return Err(Error::Stopped);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::parse_select;
    use crate::record::RecordParser;

    fn rows(plan: &Plan, line: &str) -> Vec<(String, Vec<String>)> {
        let mut parser = RecordParser::default();
        let record = parser.parse(line.as_bytes()).expect("valid");
        let mut out = Vec::new();
        let mut scratch = RowScratch::default();
        plan.rows(&record, &mut scratch, &mut |t, cells| {
            let text = cells
                .iter()
                .map(|c| match c {
                    Resolved::Missing => "-".to_string(),
                    Resolved::Value(v) => String::from_utf8_lossy(v.raw()).into_owned(),
                    Resolved::Each(items) => format!("each{}", items.len()),
                })
                .collect();
            out.push((plan.tables()[t].name.clone(), text));
            Ok(())
        })
        .expect("rows");
        out
    }

    #[test]
    fn normalized_tables_are_keyed() {
        let plan = Plan::normalized();
        let line = r#"{"braze_id":"b1","external_id":"e1","country":"US","purchases":[{"name":"p","count":2}],"canvases_received":[{"api_canvas_id":"c1","steps_received":[{"name":"s1"},{"name":"s2"}]}]}"#;
        let got = rows(&plan, line);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "users",
                "purchases",
                "canvases_received",
                "canvas_steps_received",
                "canvas_steps_received"
            ]
        );
        assert_eq!(got[1].1, vec!["\"b1\"", "\"e1\"", "\"p\"", "-", "-", "2"]);
        assert_eq!(
            got[4].1,
            vec!["\"b1\"", "\"e1\"", "\"c1\"", "\"s2\"", "-", "-"]
        );
        let canvas = &plan.tables()[8];
        assert_eq!(canvas.name, "canvases_received");
        assert!(!canvas.columns.iter().any(|c| c.name == "steps_received"));
    }

    #[test]
    fn selection_types_documented_pinned_and_unknown() {
        let items = parse_select(
            "rev=total_revenue,purchases[].first,custom_attributes.plan,custom_attributes.x[].y",
        )
        .expect("select");
        let mut plan = Plan::selection(&items, &[None, None, Some(ColumnType::Int), None]);
        let types: Vec<String> = plan.tables()[0]
            .columns
            .iter()
            .map(|c| c.ty.to_string())
            .collect();
        assert_eq!(
            types,
            vec!["float", "list<timestamp>", "int", "list<string>"]
        );
        assert_eq!(plan.unknown_columns(), &[3]);
        plan.set_type(3, ColumnType::Bool);
        assert_eq!(plan.tables()[0].columns[3].ty.to_string(), "list<bool>");
        assert!(plan.unknown_columns().is_empty());
    }

    #[test]
    fn nested_checks() {
        let mut parser = RecordParser::default();
        let record = parser
            .parse(br#"{"p":[{"name":"a","count":"x"}],"c":[1.5,2]}"#)
            .expect("valid");
        let ty = ColumnType::List(Box::new(ColumnType::Struct(vec![
            Column::new("name", ColumnType::String),
            Column::new("count", ColumnType::Int),
        ])));
        let p = Resolved::Value(record.root().get("p").expect("p"));
        assert!(check(&p, &ty)
            .expect_err("bad count")
            .starts_with("count: "));
        let c = Resolved::Value(record.root().get("c").expect("c"));
        assert!(check(&c, &ColumnType::List(Box::new(ColumnType::Float))).is_ok());
    }
}
