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

use crate::contract::{
    self, Added, Changes, Contract, ContractError, CustomAttributes, KeyLog, Widened,
    CUSTOM_PREFIX, REST_COLUMN, REST_KEY,
};
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
    /// One row per record; column `i` takes its value from `sources[i]`.
    Root { sources: Vec<Source> },
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

/// Where a column of a one-row-per-record table takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The top-level field in this root slot.
    Root(usize),
    /// The custom attribute at this position of [`CustomColumns::keys`].
    Custom(usize),
    /// The custom attributes that have no column of their own, as one JSON object.
    Rest,
}

/// `--custom-attributes columns`, in the first table (users).
#[derive(Debug, Clone)]
struct CustomColumns {
    /// The root slot of `custom_attributes`.
    slot: usize,
    /// The attributes with a column.
    keys: KeyIndex,
    /// New attribute columns go at the end of the table when a schema pins the
    /// columns (a warehouse adds columns at the end), else just before the rest.
    at_end: bool,
    /// The first rows' attributes become columns (not under `freeze`).
    discover: bool,
    /// Under `freeze`, the schema's name: an attribute without a column is an error.
    frozen: Option<String>,
    /// The most keys noted in the rest (`--max-custom-columns`).
    max_keys: usize,
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
    /// Selection columns pinned with `:type` (a pinned schema does not retype them).
    flag_pinned: Vec<usize>,
    /// Selection columns outside the documented schema typed by a pinned schema:
    /// sampled like unknown ones, to report a widening.
    checked: Vec<usize>,
    custom: Option<CustomColumns>,
    changes: Changes,
    /// The root slot of `_op`, when the first table begins with it (a selection's
    /// `_op` is read from this slot too).
    op: Option<usize>,
}

/// The column of change records (`--changes-since`): `insert`, `update`, `delete`.
pub const OP_COLUMN: &str = "_op";

impl Plan {
    /// The whole documented user object (no `--select`): one table.
    pub fn full_object() -> Plan {
        let columns = schema::user_schema();
        let mut plan = Plan::empty();
        let sources = columns
            .iter()
            .map(|c| Source::Root(plan.root_slot(&c.name)))
            .collect();
        plan.tables.push(Table {
            name: "users".into(),
            columns,
            kind: TableKind::Root { sources },
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
            if pinned.is_some() {
                plan.flag_pinned.push(i);
            }
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
        let sources = user_columns
            .iter()
            .map(|c| Source::Root(plan.root_slot(&c.name)))
            .collect();
        plan.tables.push(Table {
            name: "users".into(),
            columns: user_columns,
            kind: TableKind::Root { sources },
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
            flag_pinned: Vec::new(),
            checked: Vec::new(),
            custom: None,
            changes: Changes::default(),
            op: None,
        }
    }

    /// Puts the change column `_op` (a string) first in the first table: call once the
    /// plan is bound and inferred (the columns' positions are final).
    pub fn with_op_column(&mut self) {
        if self.op.is_some() {
            return;
        }
        let slot = self.root_slot(OP_COLUMN);
        self.op = Some(slot);
        let table = &mut self.tables[0];
        table
            .columns
            .insert(0, Column::new(OP_COLUMN, ColumnType::String));
        if let TableKind::Root { sources } = &mut table.kind {
            sources.insert(0, Source::Root(slot));
        }
    }

    /// True when the first table begins with `_op` ([`Plan::with_op_column`]).
    pub fn has_op_column(&self) -> bool {
        self.op.is_some()
    }

    fn root_slot(&mut self, key: &str) -> usize {
        self.roots
            .position(key)
            .unwrap_or_else(|| self.roots.push(key.to_string()))
    }

    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// The custom attributes that have a column (`--custom-attributes columns`).
    pub fn custom_keys(&self) -> Option<&KeyIndex> {
        self.custom.as_ref().map(|c| &c.keys)
    }

    /// How custom attributes are written.
    pub fn custom_attributes(&self) -> CustomAttributes {
        match self.custom {
            Some(_) => CustomAttributes::Columns,
            None => CustomAttributes::Json,
        }
    }

    /// What binding to the contract and inference changed (see [`Changes`]; the
    /// rest keys come from the run itself).
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Binds the plan to `contract`: custom attributes as columns, then the pinned
    /// schema's columns, types and order, and what the evolution allows beyond it.
    /// Call before inference.
    pub fn bind(&mut self, contract: &Contract<'_>) -> std::result::Result<(), ContractError> {
        let source = contract.schema.map_or(String::new(), |s| s.source.clone());
        let unfit = |table: &str, message: String| ContractError::Unfit {
            schema: source.clone(),
            table: table.to_string(),
            message,
        };
        if contract.custom == CustomAttributes::Columns {
            let table = &mut self.tables[0];
            let at = table
                .columns
                .iter()
                .position(|c| c.name == "custom_attributes");
            let (TableKind::Root { sources }, Some(at)) = (&mut table.kind, at) else {
                return Err(unfit(
                    &table.name,
                    "--custom-attributes columns is for whole users and --tables; with --select, name attributes (custom_attributes.KEY)".into(),
                ));
            };
            let Source::Root(slot) = sources[at] else {
                return Err(unfit(
                    &table.name,
                    "internal: custom_attributes has no slot".into(),
                ));
            };
            table.columns[at] = Column::new(REST_COLUMN, ColumnType::Json);
            sources[at] = Source::Rest;
            self.custom = Some(CustomColumns {
                slot,
                keys: KeyIndex::default(),
                at_end: false,
                discover: !contract.frozen(),
                frozen: contract
                    .frozen()
                    .then(|| contract.schema.map_or(String::new(), |s| s.source.clone())),
                max_keys: contract.max_keys,
            });
        }
        let Some(schema) = contract.schema else {
            return Ok(());
        };
        let frozen = |table: &str, column: &str| ContractError::Frozen {
            schema: source.clone(),
            table: table.to_string(),
            column: column.to_string(),
        };
        let names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
        if let Some(extra) = schema
            .tables
            .iter()
            .find(|t| !names.contains(&t.name.as_str()))
        {
            return Err(unfit(
                &extra.name,
                "the schema has this table and the output does not (a schema written with --tables?)".into(),
            ));
        }
        for index in 0..self.tables.len() {
            let name = self.tables[index].name.clone();
            let Some(pinned) = schema.table(&name) else {
                return Err(unfit(
                    &name,
                    "the output has this table and the schema does not (give --tables as its run did?)".into(),
                ));
            };
            let is_selection = matches!(self.tables[index].kind, TableKind::Selection);
            if is_selection {
                for i in 0..self.tables[index].columns.len() {
                    let column = &mut self.tables[index].columns[i];
                    match pinned.column(&column.name) {
                        _ if self.flag_pinned.contains(&i) => {}
                        Some(p) => {
                            column.ty = p.ty.clone();
                            if self.unknown.contains(&i) {
                                self.unknown.retain(|&u| u != i);
                                self.checked.push(i);
                            }
                        }
                        None if contract.frozen() => return Err(frozen(&name, &column.name)),
                        None => {}
                    }
                }
                continue;
            }
            let custom = self.custom.as_mut().filter(|_| index == 0);
            let table = &mut self.tables[index];
            match &mut table.kind {
                TableKind::Root { sources } => {
                    // The pinned columns first, in the schema's order; the others after.
                    let mut columns = Vec::with_capacity(table.columns.len());
                    let mut order = Vec::with_capacity(table.columns.len());
                    let mut taken = vec![false; table.columns.len()];
                    let mut custom = custom;
                    for p in &pinned.columns {
                        if let Some(i) = table.columns.iter().position(|c| c.name == p.name) {
                            taken[i] = true;
                            columns.push(p.clone());
                            order.push(sources[i]);
                        } else if let (Some(custom), Some(key)) =
                            (custom.as_deref_mut(), p.name.strip_prefix(CUSTOM_PREFIX))
                        {
                            order.push(Source::Custom(custom.keys.push(key.to_string())));
                            columns.push(p.clone());
                        } else {
                            let hint = if p.name.starts_with(CUSTOM_PREFIX) {
                                " (its run had --custom-attributes columns)"
                            } else if p.name == "custom_attributes" {
                                " (its run had --custom-attributes json)"
                            } else {
                                ""
                            };
                            return Err(unfit(
                                &name,
                                format!("column {} is not a column of this output{hint}", p.name),
                            ));
                        }
                    }
                    for (i, column) in table.columns.iter().enumerate() {
                        if taken[i] {
                            continue;
                        }
                        if contract.frozen() {
                            return Err(frozen(&name, &column.name));
                        }
                        columns.push(column.clone());
                        order.push(sources[i]);
                        self.changes.added.push(Added {
                            table: name.clone(),
                            column: column.clone(),
                        });
                    }
                    table.columns = columns;
                    *sources = order;
                    if let Some(custom) = custom {
                        custom.at_end = true;
                    }
                }
                TableKind::Selection => {}
                TableKind::Array { .. } | TableKind::Nested { .. } => {
                    // Documented element fields: the schema may retype them, and they
                    // keep their documented order.
                    let ours: Vec<&str> = table
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .filter(|n| pinned.column(n).is_some())
                        .collect();
                    let theirs: Vec<&str> = pinned
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .filter(|n| ours.contains(n))
                        .collect();
                    if let Some(p) = pinned
                        .columns
                        .iter()
                        .find(|p| !ours.contains(&p.name.as_str()))
                    {
                        return Err(unfit(
                            &name,
                            format!("column {} is not a column of this output", p.name),
                        ));
                    }
                    if ours != theirs {
                        return Err(unfit(
                            &name,
                            "the schema orders this table's columns otherwise; they keep their documented order".into(),
                        ));
                    }
                    for column in &mut table.columns {
                        match pinned.column(&column.name) {
                            Some(p) => column.ty = p.ty.clone(),
                            None if contract.frozen() => return Err(frozen(&name, &column.name)),
                            None => self.changes.added.push(Added {
                                table: name.clone(),
                                column: column.clone(),
                            }),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds a column for custom attribute `key` (see [`CustomColumns::at_end`]).
    fn add_custom(&mut self, key: &str, ty: ColumnType) {
        let Some(custom) = self.custom.as_mut() else {
            return;
        };
        let table = &mut self.tables[0];
        let TableKind::Root { sources } = &mut table.kind else {
            return;
        };
        let k = custom.keys.push(key.to_string());
        let at = match custom.at_end {
            true => sources.len(),
            false => sources
                .iter()
                .position(|s| *s == Source::Rest)
                .unwrap_or(sources.len()),
        };
        let column = Column::new(format!("{CUSTOM_PREFIX}{key}"), ty);
        table.columns.insert(at, column.clone());
        sources.insert(at, Source::Custom(k));
        self.changes.added.push(Added {
            table: table.name.clone(),
            column,
        });
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
    /// one resolved value per column. `scratch` is reused between records; with
    /// custom attribute columns, it also notes the keys this record sends to the rest
    /// once all its rows are emitted (see [`RowScratch::take_keys`]), or under
    /// `freeze` refuses the record (`place` names it).
    pub fn rows<'a>(
        &self,
        record: &Record<'a>,
        place: &dyn Fn() -> LinePlace,
        scratch: &mut RowScratch,
        emit: &mut dyn FnMut(usize, &[Resolved<'a>]) -> Result<()>,
    ) -> Result<()> {
        if let Some(selection) = &self.selection {
            let mut cells = Vec::with_capacity(self.tables[0].columns.len());
            if self.op.is_some() {
                cells.push(
                    record
                        .root()
                        .get(OP_COLUMN)
                        .map_or(Resolved::Missing, Resolved::Value),
                );
            }
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
        // The custom attributes with a column, and the rest, in one walk.
        let mut rest = Resolved::Missing;
        let mut noted = Vec::new();
        let customs = &mut scratch.custom;
        customs.clear();
        if let Some(custom) = &self.custom {
            customs.resize(custom.keys.len(), None);
            match values(custom.slot) {
                Some(object) if object.kind() == Kind::Object => {
                    let mut others = Vec::new();
                    let mut hint = 0;
                    for (key, value) in object.fields() {
                        match custom.keys.find(&key, hint) {
                            Some(k) => {
                                if customs[k].is_none() {
                                    customs[k] = Some(value.node());
                                }
                                hint = k + 1;
                            }
                            None => others.push((key, value)),
                        }
                    }
                    if let (Some(schema), Some((key, _))) = (&custom.frozen, others.first()) {
                        return Err(Error::Contract {
                            place: place(),
                            message: format!(
                                "column {CUSTOM_PREFIX}{} is not in the schema {schema} (--schema-evolution freeze); nothing was written",
                                key.text().unwrap_or_default()
                            ),
                        });
                    }
                    if !others.is_empty() {
                        noted.clone_from(&others);
                        rest = Resolved::Fields(others);
                    }
                }
                // Not an object (never in a Braze export): kept whole, in the rest.
                Some(other) if other.kind() != Kind::Null => rest = Resolved::Value(other),
                _ => {}
            }
        }
        let customs: &[Option<usize>] = customs;
        for (index, table) in self.tables.iter().enumerate() {
            match &table.kind {
                TableKind::Root { sources } => {
                    let cells: Vec<Resolved<'a>> = sources
                        .iter()
                        .map(|source| match *source {
                            Source::Root(slot) => cell(values(slot)),
                            Source::Custom(k) => cell(customs[k].map(|node| record.value_at(node))),
                            Source::Rest => std::mem::replace(&mut rest, Resolved::Missing),
                        })
                        .collect();
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
        // Every row of the record was taken: its rest keys are noted.
        if let Some(custom) = &self.custom {
            for (key, value) in &noted {
                let text = key.text().unwrap_or_default();
                scratch.keys.note(&text, value, place, custom.max_keys)?;
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
    /// The node of each custom attribute column's value.
    custom: Vec<Option<usize>>,
    /// The keys sent to the rest since the last [`RowScratch::take_keys`].
    keys: KeyLog,
}

impl RowScratch {
    /// The keys the records since the last call sent to `custom_attributes__rest`.
    pub fn take_keys(&mut self) -> KeyLog {
        std::mem::take(&mut self.keys)
    }
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
        (Resolved::Fields(_), ColumnType::Json) => Ok(()),
        (Resolved::Fields(_), _) => Err(format!("an object where {ty} is expected")),
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
/// the plan; with `--custom-attributes columns`, the attributes those rows hold
/// become columns too (unless frozen). Pinned columns outside the documented schema
/// are sampled as well, and a narrower type found in them is reported as a widening
/// (see [`Plan::changes`]). Returns what it inferred, and the inputs the run then
/// reads when a stream had to be sampled. Files and ranged sources are simply read
/// twice; a stream (stdin, a download as one stream) is sampled through a spool file
/// and then replayed, so it is still read from its source once.
pub fn infer_plan(
    plan: &mut Plan,
    inputs: &[Input],
    options: &Options,
    max_rows: u64,
    max_keys: usize,
) -> Result<Inferred> {
    let custom = plan
        .custom
        .as_ref()
        .is_some_and(|c| c.discover || !c.keys.is_empty());
    if plan.unknown.is_empty() && plan.checked.is_empty() && !custom {
        return Ok(Inferred::default());
    }
    let mut sample = Vec::with_capacity(inputs.len());
    let mut replay = None;
    for (i, input) in inputs.iter().enumerate() {
        if let Input::File(_) | Input::Ranged(_) = input {
            sample.push(input.clone());
            continue;
        }
        let (sampling, replaying) = crate::input::sample_and_replay(input)?;
        sample.push(sampling);
        replay.get_or_insert_with(|| inputs.to_vec())[i] = replaying;
    }
    let found = sample_types(&sample, options, plan, custom, max_rows.max(1), max_keys)?;
    let mut types = Vec::new();
    let users = plan.tables[0].name.clone();
    for (column, seen) in found.columns {
        let Some(segments) = plan.selection.as_ref().and_then(|s| s.paths().nth(column)) else {
            continue;
        };
        let inferred = wrap_lists(segments, seen.infer());
        let current = &plan.tables[0].columns[column];
        if plan.unknown.contains(&column) {
            types.push((current.name.clone(), inferred.clone()));
            plan.changes.added.push(Added {
                table: users.clone(),
                column: Column::new(current.name.clone(), inferred.clone()),
            });
            plan.set_type(column, seen.infer());
        } else if let Some(widened) = widening(&users, current, &seen, inferred) {
            plan.changes.widened.push(widened);
        }
    }
    let mut keys: Vec<(&str, &contract::KeyStat)> = found.keys.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    for (key, stat) in keys {
        let Some(custom) = &plan.custom else { break };
        match custom.keys.position(key) {
            Some(k) => {
                let pinned = plan.tables[0]
                    .columns
                    .iter()
                    .zip(match &plan.tables[0].kind {
                        TableKind::Root { sources } => sources.as_slice(),
                        _ => &[],
                    })
                    .find(|(_, s)| **s == Source::Custom(k))
                    .map(|(c, _)| c.clone());
                if let Some(widened) =
                    pinned.and_then(|c| widening(&users, &c, &stat.seen, stat.seen.infer()))
                {
                    plan.changes.widened.push(widened);
                }
            }
            // Its column would be the rest's own name: it stays in the rest.
            None if key == REST_KEY => {}
            None if custom.discover => {
                let ty = stat.seen.infer();
                types.push((format!("{CUSTOM_PREFIX}{key}"), ty.clone()));
                plan.add_custom(key, ty);
            }
            None => {}
        }
    }
    Ok(Inferred { types, replay })
}

/// The widening a pinned column applies, when the first rows alone would have
/// given a narrower type that it holds.
fn widening(table: &str, pinned: &Column, seen: &Seen, found: ColumnType) -> Option<Widened> {
    (seen.values > 0 && found != pinned.ty && pinned.ty.widens(&found)).then(|| Widened {
        table: table.to_string(),
        column: pinned.name.clone(),
        ty: pinned.ty.clone(),
        found,
    })
}

/// What [`infer_plan`] found.
#[derive(Debug, Default)]
pub struct Inferred {
    /// Each column typed by inference (by name) and its type.
    pub types: Vec<(String, ColumnType)>,
    /// The inputs the run reads instead, when a stream was sampled.
    pub replay: Option<Vec<Input>>,
}

/// What the first rows hold.
#[derive(Debug, Default)]
struct Sampled {
    /// The values of each sampled selection column (by index).
    columns: Vec<(usize, Seen)>,
    /// Every custom attribute key, with its values.
    keys: KeyLog,
}

/// Reads the first `max_rows` rows of `inputs` (read once more by the real run:
/// only re-readable inputs, files, can be sampled) and notes the values of the
/// plan's unknown and checked columns, and with `custom` of every custom attribute.
fn sample_types(
    inputs: &[Input],
    options: &Options,
    plan: &Plan,
    custom: bool,
    max_rows: u64,
    max_keys: usize,
) -> Result<Sampled> {
    let sampled: Vec<usize> = plan.unknown.iter().chain(&plan.checked).copied().collect();
    let selection = plan.selection.clone().map(Arc::new);
    let make = {
        let sampled = sampled.clone();
        move || InferEncoder {
            selection: selection.clone(),
            sampled: sampled.clone(),
            seen: vec![Seen::default(); sampled.len()],
            slots: Vec::new(),
            custom,
            keys: KeyLog::default(),
            max_keys,
        }
    };
    let mut sink = InferSink {
        seen: vec![Seen::default(); sampled.len()],
        keys: KeyLog::default(),
        max_keys,
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
    Ok(Sampled {
        columns: sampled.into_iter().zip(sink.seen).collect(),
        keys: sink.keys,
    })
}

#[derive(Debug)]
struct InferEncoder {
    selection: Option<Arc<Selection>>,
    sampled: Vec<usize>,
    seen: Vec<Seen>,
    slots: Vec<Option<usize>>,
    custom: bool,
    keys: KeyLog,
    max_keys: usize,
}

fn note_leaves(seen: &mut Seen, resolved: &Resolved<'_>) {
    match resolved {
        Resolved::Missing => {}
        Resolved::Value(v) => seen.note(v),
        Resolved::Each(items) => items.iter().for_each(|i| note_leaves(seen, i)),
        Resolved::Fields(fields) => fields.iter().for_each(|(_, v)| seen.note(v)),
    }
}

impl Encoder for InferEncoder {
    type Block = (Vec<Seen>, KeyLog);

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        if let Some(selection) = &self.selection {
            let (sampled, seen) = (&self.sampled, &mut self.seen);
            selection.resolve(record, &mut self.slots, |index, r| {
                if let Some(i) = sampled.iter().position(|&u| u == index) {
                    note_leaves(&mut seen[i], &r);
                }
            });
        }
        if self.custom {
            if let Some(object) = record.root().get("custom_attributes") {
                contract::note_custom(&object, &mut self.keys, place, self.max_keys)?;
            }
        }
        Ok(())
    }

    fn finish_block(&mut self) -> Self::Block {
        (
            std::mem::replace(&mut self.seen, vec![Seen::default(); self.sampled.len()]),
            std::mem::take(&mut self.keys),
        )
    }
}

#[derive(Debug)]
struct InferSink {
    seen: Vec<Seen>,
    keys: KeyLog,
    max_keys: usize,
    rows: u64,
    max_rows: u64,
}

impl Sink<(Vec<Seen>, KeyLog)> for InferSink {
    fn write_block(&mut self, (block, keys): (Vec<Seen>, KeyLog), rows: u64) -> Result<()> {
        for (total, seen) in self.seen.iter_mut().zip(&block) {
            total.merge(seen);
        }
        self.keys.merge(keys, self.max_keys)?;
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
        let place = || LinePlace {
            entry: "test".into(),
            line: 1,
        };
        plan.rows(&record, &place, &mut scratch, &mut |t, cells| {
            let text = cells
                .iter()
                .map(|c| match c {
                    Resolved::Missing => "-".to_string(),
                    Resolved::Value(v) => String::from_utf8_lossy(v.raw()).into_owned(),
                    Resolved::Each(items) => format!("each{}", items.len()),
                    Resolved::Fields(_) => {
                        let mut text = Vec::new();
                        c.write_json(&mut text);
                        String::from_utf8_lossy(&text).into_owned()
                    }
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
    fn custom_attributes_as_columns_and_the_rest() {
        let mut plan = Plan::full_object();
        let contract = Contract {
            custom: CustomAttributes::Columns,
            ..Contract::default()
        };
        plan.bind(&contract).expect("bind");
        plan.add_custom("ltv", ColumnType::Float);
        plan.add_custom("a.b", ColumnType::String);
        let names: Vec<&str> = plan.tables()[0]
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| n.starts_with("custom_attributes"))
            .collect();
        assert_eq!(
            names,
            vec![
                "custom_attributes__ltv",
                "custom_attributes__a.b",
                REST_COLUMN
            ]
        );
        let line = r#"{"custom_attributes":{"x":[1],"ltv":2.5,"a.b":"q","ltv":9,"y\u0041":null}}"#;
        let got = rows(&plan, line);
        let cells = &got[0].1;
        let at = |name: &str| {
            let i = plan.tables()[0]
                .columns
                .iter()
                .position(|c| c.name == name)
                .expect("column");
            cells[i].clone()
        };
        assert_eq!(at("custom_attributes__ltv"), "2.5", "the first occurrence");
        assert_eq!(at("custom_attributes__a.b"), "\"q\"");
        assert_eq!(at(REST_COLUMN), r#"{"x":[1],"y\u0041":null}"#, "as written");
        let none = rows(&plan, r#"{"custom_attributes":{"ltv":1}}"#);
        assert_eq!(none[0].1[plan.tables()[0].columns.len() - 10], "-");

        // Pinned: the schema's order first, then the rest of the columns.
        let schema = crate::contract::PinnedSchema::parse(
            "s.json",
            r#"{"columns":[{"name":"custom_attributes__ltv","type":"int"},{"name":"external_id","type":"string"}]}"#,
            true,
        )
        .expect("schema");
        let mut pinned = Plan::full_object();
        pinned
            .bind(&Contract {
                custom: CustomAttributes::Columns,
                schema: Some(&schema),
                ..Contract::default()
            })
            .expect("bind");
        let columns = &pinned.tables()[0].columns;
        assert_eq!(columns[0].name, "custom_attributes__ltv");
        assert_eq!(columns[0].ty, ColumnType::Int);
        assert_eq!(columns[1].name, "external_id");
        assert_eq!(columns[2].name, "braze_id");
        let got = rows(
            &pinned,
            r#"{"external_id":"e","custom_attributes":{"ltv":3}}"#,
        );
        assert_eq!(got[0].1[..3], ["3", "\"e\"", "-"]);
        let frozen = Plan::full_object().bind(&Contract {
            custom: CustomAttributes::Columns,
            schema: Some(&schema),
            evolution: crate::contract::Evolution::Freeze,
            ..Contract::default()
        });
        assert!(
            matches!(frozen, Err(ContractError::Frozen { column, .. }) if column == "braze_id")
        );
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
