//! One load into PostgreSQL, from connecting to the commit.
//!
//! [`Load::connect`] opens the connection and the transaction; [`Load::pins`] reads
//! the target tables that exist, so their columns pin tonight's types (an existing
//! table is the schema contract); [`Load::start`] prepares the tables for the mode
//! and opens the first table's `COPY`; the returned [`CopySink`] receives the
//! encoded blocks from the pipeline (the first table streams straight into its COPY;
//! the others of `--tables` are spooled to anonymous temporary files, as one
//! connection carries one COPY at a time, and copied in after); and
//! [`CopySink::finish`] applies the mode and commits.
//!
//! - `replace`: every table is COPYed (with `FREEZE`) into a new table created in
//!   the transaction; at the end the old table is dropped and the new one renamed
//!   into its place, its indexes, unique and primary keys and grants recreated.
//!   Readers wait on the swap's lock for the moment of the commit, then see the new
//!   rows: never a mixture, never an empty table.
//! - `append`: the rows are COPYed into the target (created when missing, new
//!   columns added).
//! - `merge`: rows go into temporary tables, then an upsert on the key (a unique
//!   index is created when missing) rewrites only rows whose columns changed;
//!   `--delete-missing` deletes the users this export does not have; child tables
//!   of `--tables` are replaced per user.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::pin::Pin;
use std::sync::Arc;

use brazex_core::cancel::{self, Registration, Undo, Undone};
use brazex_core::contract::{CustomAttributes, PinnedSchema, PinnedTable, CUSTOM_PREFIX};
use brazex_core::encode::{Rows, Sink};
use brazex_core::schema::Column;
use brazex_core::table::{Plan, OP_COLUMN};
use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::{CancelToken, Client, CopyInSink};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::binary::{pg_type, PgType, COPY_HEADER, COPY_TRAILER};
use super::connect::{self, PgUrl};
use super::{describe, PgError};

/// `--load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    Replace,
    Append,
    Merge,
}

impl LoadMode {
    pub fn name(self) -> &'static str {
        match self {
            LoadMode::Replace => "replace",
            LoadMode::Append => "append",
            LoadMode::Merge => "merge",
        }
    }
}

/// `[SCHEMA.]NAME`, each part taken as written (quoted: case kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

/// PostgreSQL's longest identifier, in bytes.
const MAX_IDENT: usize = 63;

impl TableName {
    pub fn parse(text: &str) -> Result<TableName, PgError> {
        let (schema, name) = match text.split_once('.') {
            Some((s, n)) => (Some(s.to_string()), n.to_string()),
            None => (None, text.to_string()),
        };
        let bad = |m: &str| PgError::Usage(format!("--table {text}: {m}"));
        if name.is_empty() || schema.as_deref() == Some("") || name.contains('.') {
            return Err(bad("give NAME or SCHEMA.NAME"));
        }
        if name.len() > MAX_IDENT || schema.as_ref().is_some_and(|s| s.len() > MAX_IDENT) {
            return Err(bad("longer than PostgreSQL's 63-byte names"));
        }
        Ok(TableName { schema, name })
    }

    /// This table's child table of `--tables`: `NAME_purchases`.
    fn child(&self, table: &str) -> TableName {
        TableName {
            schema: self.schema.clone(),
            name: format!("{}_{table}", self.name),
        }
    }

    fn sibling(&self, name: &str) -> TableName {
        TableName {
            schema: self.schema.clone(),
            name: name.to_string(),
        }
    }

    /// Quoted for SQL.
    fn sql(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", ident(schema), ident(&self.name)),
            None => ident(&self.name),
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub table: TableName,
    pub mode: LoadMode,
    /// The merge key (`braze_id`, `external_id`).
    pub key: String,
    pub delete_missing: bool,
}

/// One table of the load.
#[derive(Debug)]
struct Target {
    name: TableName,
    /// The existing table's columns and their `format_type`, when it exists.
    existing: Option<Vec<(String, String)>>,
    /// `replace`: the new table that takes the target's place at the end.
    staging: Option<TableName>,
    /// Where the COPY goes (the target, or a staging table).
    copy_into: String,
    columns: Vec<Column>,
}

/// What a load did, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOutcome {
    /// `schema.table` and its rows loaded, per table.
    pub tables: Vec<(String, u64)>,
    pub inserted: Option<u64>,
    pub updated: Option<u64>,
    pub unchanged: Option<u64>,
    pub deleted: Option<u64>,
    /// Columns added to existing tables: `table.column type`.
    pub added_columns: Vec<String>,
    pub run_id: String,
}

impl LoadOutcome {
    /// One line for stderr.
    pub fn describe(&self, mode: LoadMode) -> String {
        let tables: Vec<String> = self
            .tables
            .iter()
            .map(|(t, n)| format!("{n} rows into {t}"))
            .collect();
        let mut text = format!("brazex: loaded ({}) {}", mode.name(), tables.join(", "));
        if let (Some(i), Some(u), Some(same)) = (self.inserted, self.updated, self.unchanged) {
            let _ = write!(text, ": {i} inserted, {u} updated, {same} unchanged");
            if let Some(d) = self.deleted {
                let _ = write!(text, ", {d} deleted");
            }
        }
        if !self.added_columns.is_empty() {
            let _ = write!(text, "; added columns {}", self.added_columns.join(", "));
        }
        text + &format!(" (run {})", self.run_id)
    }
}

/// What the load log (`brazex_loads`) records about a load.
#[derive(Debug, Clone)]
pub struct LoadRecord {
    /// Milliseconds since the epoch.
    pub started_ms: i64,
    pub skipped: u64,
    pub source: serde_json::Value,
    pub schema: serde_json::Value,
}

/// An open load: the connection and its transaction.
pub struct Load {
    runtime: tokio::runtime::Runtime,
    client: Client,
    shown: String,
    options: LoadOptions,
    targets: Vec<Target>,
    /// The target tables' columns as read (by [`Load::pins`], then [`Load::start`]).
    known: std::collections::HashMap<String, Option<Vec<(String, String)>>>,
    run_id: String,
    _registration: Registration,
}

impl std::fmt::Debug for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Load")
            .field("target", &self.shown)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The load's part of the cancellation path: cancels the running statement, so
/// the server rolls the transaction back at once.
struct CancelLoad {
    token: CancelToken,
    tls: MakeRustlsConnect,
    what: String,
}

impl Undo for CancelLoad {
    fn undo(&self) -> Undone {
        let cancelled = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| {
                rt.block_on(async {
                    tokio::time::timeout(
                        std::time::Duration::from_secs(3),
                        self.token.cancel_query(self.tls.clone()),
                    )
                    .await
                })
            });
        let mut undone = Undone::default();
        match cancelled {
            Ok(Ok(Ok(()))) => undone.removed.push(self.what.clone()),
            // The process exits next: the closed connection rolls back as well.
            _ => undone
                .removed
                .push(format!("{} (on disconnect)", self.what)),
        }
        undone
    }
}

impl Load {
    /// Connects (the URI, the libpq environment) and begins the transaction.
    pub fn connect(url: &PgUrl, options: LoadOptions) -> Result<Load, PgError> {
        let connection = connect::resolve(url, &connect::ProcessEnv)?;
        let shown = connection.shown.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PgError::Connect {
                target: shown.clone(),
                message: e.to_string(),
            })?;
        let tls = connection.tls.clone();
        let (client, conn) = runtime
            .block_on(connection.config.connect(connection.tls))
            .map_err(|e| PgError::Connect {
                target: shown.clone(),
                message: describe(&e),
            })?;
        runtime.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("postgres connection ended: {}", describe(&e));
            }
        });
        let undo: Arc<dyn Undo> = Arc::new(CancelLoad {
            token: client.cancel_token(),
            tls,
            what: format!(
                "PostgreSQL {shown}: the load into {} was rolled back",
                options.table
            ),
        });
        let registration = cancel::register(&undo);
        let run_id = run_id();
        let load = Load {
            runtime,
            client,
            shown,
            options,
            targets: Vec::new(),
            known: std::collections::HashMap::new(),
            run_id,
            _registration: registration,
        };
        load.batch(
            "begin the transaction",
            "BEGIN ISOLATION LEVEL READ COMMITTED",
        )?;
        Ok(load)
    }

    fn sql_error(&self, what: &str, e: &tokio_postgres::Error) -> PgError {
        PgError::Sql {
            target: self.shown.clone(),
            what: what.to_string(),
            message: describe(e),
        }
    }

    fn batch(&self, what: &str, sql: &str) -> Result<(), PgError> {
        tracing::debug!("postgres: {sql}");
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| self.sql_error(what, &e))
    }

    /// Rows of a query whose columns are all text (or NULL).
    fn texts(&self, what: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, PgError> {
        let messages = self
            .runtime
            .block_on(self.client.simple_query(sql))
            .map_err(|e| self.sql_error(what, &e))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The first column of the first row, unless there is none or it is NULL.
    fn value(&self, what: &str, sql: &str) -> Result<Option<String>, PgError> {
        let rows = self.texts(what, sql)?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten()))
    }

    fn count(&self, what: &str, sql: &str) -> Result<u64, PgError> {
        Ok(self
            .value(what, sql)?
            .and_then(|t| t.parse().ok())
            .unwrap_or(0))
    }

    /// A signal stops the load here, before its next statement.
    fn check_cancel(&self) -> Result<(), PgError> {
        cancel::check().map_err(|e| PgError::Sql {
            target: self.shown.clone(),
            what: "load".into(),
            message: e.to_string(),
        })
    }

    /// The table each plan table loads into.
    fn table_for(&self, plan_name: &str, first: bool) -> TableName {
        match first {
            true => self.options.table.clone(),
            false => self.options.table.child(plan_name),
        }
    }

    /// The columns of `table` and their types, when it exists; read once per load.
    fn columns_of(&mut self, table: &TableName) -> Result<Option<Vec<(String, String)>>, PgError> {
        let key = table.sql();
        if let Some(known) = self.known.get(&key) {
            return Ok(known.clone());
        }
        let columns = self.read_columns(table)?;
        self.known.insert(key, columns.clone());
        Ok(columns)
    }

    fn read_columns(&self, table: &TableName) -> Result<Option<Vec<(String, String)>>, PgError> {
        let regclass = literal(&table.sql());
        let exists = self.value(
            "look up the table",
            &format!("SELECT to_regclass({regclass})::oid::text"),
        )?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows = self.texts(
            "read the table's columns",
            &format!(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute \
                 WHERE attrelid = {regclass}::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
            ),
        )?;
        Ok(Some(
            rows.into_iter()
                .map(|r| {
                    let mut r = r.into_iter();
                    (
                        r.next().flatten().unwrap_or_default(),
                        r.next().flatten().unwrap_or_default(),
                    )
                })
                .collect(),
        ))
    }

    /// The existing target tables as a pinned schema for `shape` (the plan before
    /// binding): each column brazex writes keeps the type it has in the table, and
    /// its position. None when the first table does not exist (a first load).
    pub fn pins(&mut self, shape: &Plan) -> Result<Option<PinnedSchema>, PgError> {
        let mut tables = Vec::new();
        let mut custom = None;
        for (index, table) in shape.tables().iter().enumerate() {
            let name = self.table_for(&table.name, index == 0);
            let Some(existing) = self.columns_of(&name)? else {
                if index == 0 {
                    return Ok(None);
                }
                tables.push(PinnedTable {
                    name: table.name.clone(),
                    columns: table.columns.clone(),
                });
                continue;
            };
            let mut columns = Vec::new();
            for (column, ty) in &existing {
                let ours = table.columns.iter().any(|c| c.name == *column)
                    || (index == 0 && column.starts_with(CUSTOM_PREFIX));
                if !ours {
                    continue;
                }
                if index == 0 && column.starts_with(CUSTOM_PREFIX) {
                    custom = Some(CustomAttributes::Columns);
                } else if index == 0 && column == "custom_attributes" {
                    custom = custom.or(Some(CustomAttributes::Json));
                }
                let pg = PgType::from_sql(ty).ok_or_else(|| PgError::Table {
                    table: name.to_string(),
                    message: format!(
                        "column {column} is {ty}; brazex writes text, bigint, integer, double precision, boolean, date, timestamp with time zone, jsonb and arrays of those"
                    ),
                })?;
                columns.push(Column::new(column.clone(), pg.column_type()));
            }
            tables.push(PinnedTable {
                name: table.name.clone(),
                columns,
            });
        }
        Ok(Some(PinnedSchema {
            source: format!("postgres table {}", self.options.table),
            custom,
            tables,
        }))
    }

    /// The position of the merge key in the first table, for the encoder.
    pub fn key_column(&self, plan: &Plan) -> Result<Option<(usize, String)>, PgError> {
        if self.options.mode != LoadMode::Merge {
            return Ok(None);
        }
        let key = &self.options.key;
        match plan.tables()[0].columns.iter().position(|c| c.name == *key) {
            Some(at) => Ok(Some((at, key.clone()))),
            None => Err(PgError::Usage(format!(
                "--load merge --key {key}: the rows have no {key} column (add it to --select)"
            ))),
        }
    }

    /// Prepares the tables for the mode and opens the first table's COPY.
    pub fn start(mut self, plan: &Plan) -> Result<CopySink, PgError> {
        let mode = self.options.mode;
        let mut added = Vec::new();
        for (index, table) in plan.tables().iter().enumerate() {
            let name = self.table_for(&table.name, index == 0);
            if name.name.len() > MAX_IDENT {
                return Err(PgError::Usage(format!(
                    "--table {}: table {name} would be longer than PostgreSQL's 63-byte names",
                    self.options.table
                )));
            }
            // Changes merged (`_op` first): `_op` says what to do with the row, and
            // is not a column of the table.
            let changes = mode == LoadMode::Merge && index == 0 && plan.has_op_column();
            let stored: Vec<Column> = table
                .columns
                .iter()
                .filter(|c| !(changes && c.name == OP_COLUMN))
                .cloned()
                .collect();
            let existing = self.columns_of(&name)?;
            if let Some(existing) = &existing {
                for column in &stored {
                    let ours = pg_type(&column.ty).sql();
                    if let Some((_, theirs)) = existing.iter().find(|(n, _)| *n == column.name) {
                        if *theirs != ours {
                            return Err(PgError::Table {
                                table: name.to_string(),
                                message: format!(
                                    "column {} is {theirs}, this load writes {ours} (a type change: alter the column, or pin the type with --schema)",
                                    column.name
                                ),
                            });
                        }
                    }
                }
                if mode == LoadMode::Replace {
                    if let Some((extra, _)) = existing
                        .iter()
                        .find(|(n, _)| !stored.iter().any(|c| c.name == *n))
                    {
                        return Err(PgError::Table {
                            table: name.to_string(),
                            message: format!(
                                "column {extra} is not among this load's columns, and --load replace would drop it: drop the column, or load with --load merge or append"
                            ),
                        });
                    }
                }
            }
            let staging = (mode == LoadMode::Replace)
                .then(|| name.sibling(&format!("_brazex_new_{index}_{}", self.run_id)));
            let copy_into = match (&staging, &existing) {
                (Some(staging), _) => {
                    self.batch(
                        "create the staging table",
                        &format!("CREATE TABLE {} ({})", staging.sql(), column_defs(&stored)),
                    )?;
                    staging.sql()
                }
                (_, None) => {
                    self.batch(
                        "create the table",
                        &format!("CREATE TABLE {} ({})", name.sql(), column_defs(&stored)),
                    )?;
                    name.sql()
                }
                (_, Some(existing)) => {
                    for column in &stored {
                        if existing.iter().any(|(n, _)| *n == column.name) {
                            continue;
                        }
                        let ty = pg_type(&column.ty).sql();
                        self.batch(
                            "add a column",
                            &format!(
                                "ALTER TABLE {} ADD COLUMN {} {ty}",
                                name.sql(),
                                ident(&column.name)
                            ),
                        )?;
                        added.push(format!("{name}.{} {ty}", column.name));
                    }
                    name.sql()
                }
            };
            let copy_into = match mode {
                LoadMode::Merge => {
                    let staging = ident(&format!("brazex_merge_{index}"));
                    self.batch(
                        "create the merge's temporary table",
                        &format!(
                            "CREATE TEMP TABLE {staging} ({}) ON COMMIT DROP",
                            column_defs(&table.columns)
                        ),
                    )?;
                    format!("pg_temp.{staging}")
                }
                _ => copy_into,
            };
            self.targets.push(Target {
                name,
                existing,
                staging,
                copy_into,
                columns: table.columns.clone(),
            });
        }
        if mode == LoadMode::Merge {
            self.ensure_unique_key()?;
        }
        let first = self.open_copy(0)?;
        let spools = (1..self.targets.len())
            .map(|_| {
                tempfile::tempfile()
                    .map(|f| BufWriter::with_capacity(1 << 20, f))
                    .map_err(|e| PgError::Sql {
                        target: self.shown.clone(),
                        what: "create a spool file for the child tables".into(),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rows = vec![0; self.targets.len()];
        Ok(CopySink {
            load: self,
            copy: Some(first),
            spools,
            rows,
            added,
        })
    }

    fn open_copy(&self, index: usize) -> Result<Pin<Box<CopyInSink<Bytes>>>, PgError> {
        let target = &self.targets[index];
        let columns: Vec<String> = target.columns.iter().map(|c| ident(&c.name)).collect();
        // FREEZE: a table created in this transaction takes its rows already frozen
        // (no later rewrite by VACUUM).
        let freeze = match self.options.mode {
            LoadMode::Replace => ", FREEZE",
            _ => "",
        };
        let sql = format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary{freeze})",
            target.copy_into,
            columns.join(", ")
        );
        let what = format!("start the COPY into {}", target.name);
        let mut sink = Box::pin(
            self.runtime
                .block_on(self.client.copy_in::<_, Bytes>(&sql))
                .map_err(|e| self.sql_error(&what, &e))?,
        );
        self.runtime
            .block_on(sink.send(Bytes::from_static(COPY_HEADER)))
            .map_err(|e| self.sql_error(&what, &e))?;
        Ok(sink)
    }

    fn finish_copy(
        &self,
        index: usize,
        mut sink: Pin<Box<CopyInSink<Bytes>>>,
    ) -> Result<u64, PgError> {
        let what = format!("COPY into {}", self.targets[index].name);
        self.runtime
            .block_on(async {
                sink.send(Bytes::from_static(COPY_TRAILER)).await?;
                sink.as_mut().finish().await
            })
            .map_err(|e| self.sql_error(&what, &e))
    }

    /// `--load merge`: the target needs a unique index on the key alone.
    fn ensure_unique_key(&self) -> Result<(), PgError> {
        let target = &self.targets[0];
        let key = &self.options.key;
        let table = literal(&target.name.sql());
        let found = self.count(
            "look for a unique index on the key",
            &format!(
                "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                 WHERE i.indrelid = {table}::regclass AND i.indisunique AND i.indnatts = 1 AND i.indpred IS NULL \
                 AND i.indexprs IS NULL AND a.attname = {}",
                literal(key)
            ),
        )?;
        if found == 0 {
            let index = ident(&format!("{}_{key}_key", target.name.name));
            self.batch(
                "create a unique index on the key",
                &format!(
                    "CREATE UNIQUE INDEX {index} ON {} ({})",
                    target.name.sql(),
                    ident(key)
                ),
            )
            .map_err(|e| match e {
                PgError::Sql { message, .. } => PgError::Table {
                    table: target.name.to_string(),
                    message: format!("cannot make {key} unique: {message}"),
                },
                e => e,
            })?;
        }
        Ok(())
    }
}

/// `name type, …` for CREATE TABLE.
fn column_defs(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| format!("{} {}", ident(&c.name), pg_type(&c.ty).sql()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A load's id: the time and the process, unique enough for a log and staging names.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}{:05x}",
        nanos % (1 << 48),
        std::process::id() % (1 << 20)
    )
}

/// Receives the encoded blocks: the first table's rows go into its COPY, the
/// others into spool files.
pub struct CopySink {
    load: Load,
    copy: Option<Pin<Box<CopyInSink<Bytes>>>>,
    spools: Vec<BufWriter<File>>,
    rows: Vec<u64>,
    added: Vec<String>,
}

impl std::fmt::Debug for CopySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopySink")
            .field("load", &self.load)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Sink<Vec<Rows>> for CopySink {
    fn write_block(&mut self, block: Vec<Rows>, _rows: u64) -> brazex_core::Result<()> {
        for (index, rows) in block.into_iter().enumerate() {
            if rows.ends.is_empty() {
                continue;
            }
            self.rows[index] += rows.ends.len() as u64;
            let failed = |message: String| {
                brazex_core::Error::io(
                    format!("cannot load into PostgreSQL {}", self.load.shown),
                    io::Error::other(message),
                )
            };
            if index == 0 {
                let Some(copy) = self.copy.as_mut() else {
                    return Err(brazex_core::Error::Internal("the COPY is closed"));
                };
                self.load
                    .runtime
                    .block_on(copy.send(Bytes::from(rows.data)))
                    .map_err(|e| failed(describe(&e)))?;
            } else if let Some(spool) = self.spools.get_mut(index - 1) {
                spool
                    .write_all(&rows.data)
                    .map_err(|e| failed(format!("cannot spool the child tables' rows: {e}")))?;
            }
        }
        Ok(())
    }
}

impl CopySink {
    /// Ends the COPYs, applies the mode, records the load and commits. Cut short, the
    /// transaction is rolled back (dropping the connection does it).
    pub fn finish(mut self, record: &LoadRecord) -> Result<LoadOutcome, PgError> {
        let load = &self.load;
        if let Some(copy) = self.copy.take() {
            load.finish_copy(0, copy)?;
        }
        for (i, spool) in std::mem::take(&mut self.spools).into_iter().enumerate() {
            let index = i + 1;
            let spool_error = |e: io::Error| PgError::Sql {
                target: load.shown.clone(),
                what: format!("read back the spooled rows of {}", load.targets[index].name),
                message: e.to_string(),
            };
            let mut file = spool
                .into_inner()
                .map_err(|e| spool_error(e.into_error()))?;
            file.rewind().map_err(spool_error)?;
            let mut sink = load.open_copy(index)?;
            loop {
                // One message of at most 1 MiB at a time.
                let mut chunk = Vec::with_capacity(1 << 20);
                (&mut file)
                    .take(1 << 20)
                    .read_to_end(&mut chunk)
                    .map_err(spool_error)?;
                if chunk.is_empty() {
                    break;
                }
                load.runtime
                    .block_on(sink.send(Bytes::from(chunk)))
                    .map_err(|e| load.sql_error("COPY a child table", &e))?;
            }
            load.finish_copy(index, sink)?;
        }
        load.check_cancel()?;
        let mut outcome = LoadOutcome {
            tables: load
                .targets
                .iter()
                .zip(&self.rows)
                .map(|(t, n)| (t.name.to_string(), *n))
                .collect(),
            added_columns: std::mem::take(&mut self.added),
            run_id: load.run_id.clone(),
            ..LoadOutcome::default()
        };
        match load.options.mode {
            LoadMode::Replace => load.swap()?,
            LoadMode::Append => {}
            LoadMode::Merge => load.merge(&mut outcome)?,
        }
        load.log(record, &outcome, self.rows[0])?;
        load.check_cancel()?;
        load.batch("commit", "COMMIT")?;
        Ok(outcome)
    }
}

impl Load {
    /// `replace`: each new table takes its target's place, with the old table's
    /// keys, indexes and grants.
    fn swap(&self) -> Result<(), PgError> {
        for target in &self.targets {
            let Some(staging) = &target.staging else {
                return Err(PgError::Usage(
                    "internal: replace without a new table".into(),
                ));
            };
            let mut after = Vec::new();
            if target.existing.is_some() {
                let table = literal(&target.name.sql());
                // Primary and unique keys as constraints, other indexes as they are.
                for row in self.texts(
                    "read the table's keys",
                    &format!(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint \
                         WHERE conrelid = {table}::regclass AND contype IN ('p', 'u') ORDER BY conname"
                    ),
                )? {
                    if let [Some(name), Some(def)] = &row[..] {
                        after.push(format!(
                            "ALTER TABLE {} ADD CONSTRAINT {} {def}",
                            target.name.sql(),
                            ident(name)
                        ));
                    }
                }
                for row in self.texts(
                    "read the table's indexes",
                    &format!(
                        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i \
                         WHERE i.indrelid = {table}::regclass AND NOT EXISTS \
                         (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY i.indexrelid"
                    ),
                )? {
                    if let Some(Some(def)) = row.first() {
                        after.push(def.clone());
                    }
                }
                for row in self.texts(
                    "read the table's grants",
                    &format!(
                        "SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, \
                         a.is_grantable::text FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee \
                         WHERE c.oid = {table}::regclass AND a.grantee <> c.relowner"
                    ),
                )? {
                    if let [Some(privilege), Some(grantee), Some(grantable)] = &row[..] {
                        let option = if grantable == "true" { " WITH GRANT OPTION" } else { "" };
                        after.push(format!(
                            "GRANT {privilege} ON {} TO {grantee}{option}",
                            target.name.sql()
                        ));
                    }
                }
                self.batch(
                    &format!("drop the old {}", target.name),
                    &format!("DROP TABLE {}", target.name.sql()),
                )?;
            }
            self.batch(
                &format!("rename the new table to {}", target.name),
                &format!(
                    "ALTER TABLE {} RENAME TO {}",
                    staging.sql(),
                    ident(&target.name.name)
                ),
            )?;
            for sql in after {
                self.batch(&format!("recreate {sql}"), &sql)?;
            }
        }
        Ok(())
    }

    /// `merge`: upsert the users on the key, rewriting only changed rows; delete the
    /// missing ones when asked; replace the child rows of every user loaded.
    fn merge(&self, outcome: &mut LoadOutcome) -> Result<(), PgError> {
        let key = ident(&self.options.key);
        let users = &self.targets[0];
        let staging = &users.copy_into;
        let dups = self.texts(
            "look for repeated keys",
            &format!(
                "SELECT {key}, count(*)::text FROM {staging} GROUP BY {key} HAVING count(*) > 1 ORDER BY {key} LIMIT 3"
            ),
        )?;
        if !dups.is_empty() {
            let shown: Vec<String> = dups
                .iter()
                .map(|r| {
                    format!(
                        "{} ({} times)",
                        r.first().cloned().flatten().unwrap_or_default(),
                        r.get(1).cloned().flatten().unwrap_or_default()
                    )
                })
                .collect();
            return Err(PgError::Table {
                table: users.name.to_string(),
                message: format!(
                    "--load merge: {} {} repeated in this export",
                    self.options.key,
                    shown.join(", ")
                ),
            });
        }
        // Changes (`_op` first): the deletes are applied, the rest upserted.
        let changes = users.columns.first().is_some_and(|c| c.name == OP_COLUMN);
        let columns: Vec<String> = users
            .columns
            .iter()
            .filter(|c| !(changes && c.name == OP_COLUMN))
            .map(|c| ident(&c.name))
            .collect();
        let list = columns.join(", ");
        let op = ident(OP_COLUMN);
        let upserted = match changes {
            true => format!("{staging} WHERE {op} IS DISTINCT FROM 'delete'"),
            false => staging.to_string(),
        };
        let others: Vec<&String> = columns.iter().filter(|c| **c != key).collect();
        let table = users.name.sql();
        let update = match others.is_empty() {
            true => "DO NOTHING".to_string(),
            false => format!(
                "DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
                others
                    .iter()
                    .map(|c| format!("{c} = EXCLUDED.{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                others
                    .iter()
                    .map(|c| format!("t.{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                others
                    .iter()
                    .map(|c| format!("EXCLUDED.{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        };
        // xmax = 0 on a returned row: it was inserted, not updated.
        let counts = self.texts(
            "merge the users",
            &format!(
                "WITH m AS (INSERT INTO {table} AS t ({list}) SELECT {list} FROM {upserted} \
                 ON CONFLICT ({key}) {update} RETURNING (t.xmax = 0) AS inserted) \
                 SELECT count(*) FILTER (WHERE inserted)::text, count(*) FILTER (WHERE NOT inserted)::text FROM m"
            ),
        )?;
        let get = |i: usize| {
            counts
                .first()
                .and_then(|r| r.get(i).cloned().flatten())
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let (inserted, updated) = (get(0), get(1));
        let total = self.count(
            "count the staged users",
            &format!("SELECT count(*) FROM {upserted}"),
        )?;
        outcome.inserted = Some(inserted);
        outcome.updated = Some(updated);
        outcome.unchanged = Some(total.saturating_sub(inserted + updated));
        if changes {
            let deleted = self.count(
                "delete the users the changes delete",
                &format!(
                    "WITH d AS (DELETE FROM {table} t USING {staging} s WHERE s.{op} = 'delete' AND s.{key} = t.{key} RETURNING 1) \
                     SELECT count(*) FROM d"
                ),
            )?;
            outcome.deleted = Some(deleted);
        }
        if self.options.delete_missing {
            let deleted = self.count(
                "delete the users missing from this export",
                &format!(
                    "WITH d AS (DELETE FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM {staging} s WHERE s.{key} = t.{key}) RETURNING 1) \
                     SELECT count(*) FROM d"
                ),
            )?;
            outcome.deleted = Some(deleted);
        }
        for child in &self.targets[1..] {
            let name = child.name.sql();
            let has_key = child.columns.iter().any(|c| ident(&c.name) == key);
            if !has_key {
                continue;
            }
            let scope = match self.options.delete_missing {
                // A full snapshot: the children of users not in it go with them.
                true => format!(
                    "DELETE FROM {name} c WHERE c.{key} IS NULL OR c.{key} IN (SELECT {key} FROM {staging}) \
                     OR NOT EXISTS (SELECT 1 FROM {table} u WHERE u.{key} = c.{key})"
                ),
                false => format!("DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM {staging})"),
            };
            self.batch(
                &format!("replace the rows of {} per user", child.name),
                &scope,
            )?;
            // (A deleted user's children go with the rows of every user staged.)
            let list: Vec<String> = child.columns.iter().map(|c| ident(&c.name)).collect();
            let list = list.join(", ");
            self.batch(
                &format!("insert the rows of {}", child.name),
                &format!(
                    "INSERT INTO {name} ({list}) SELECT {list} FROM {}",
                    child.copy_into
                ),
            )?;
        }
        Ok(())
    }

    /// Records the load in `brazex_loads` beside the target (created when missing).
    fn log(&self, record: &LoadRecord, outcome: &LoadOutcome, rows: u64) -> Result<(), PgError> {
        let log = self.options.table.sibling("brazex_loads");
        let exists = self.value(
            "look up brazex_loads",
            &format!("SELECT to_regclass({})::text", literal(&log.sql())),
        )?;
        if exists.is_none() {
            self.batch(
                "create brazex_loads",
                &format!(
                    "CREATE TABLE {} (run_id text PRIMARY KEY, target text NOT NULL, load text NOT NULL, \
                     started timestamptz NOT NULL, finished timestamptz NOT NULL, rows bigint NOT NULL, \
                     tables jsonb NOT NULL, inserted bigint, updated bigint, unchanged bigint, deleted bigint, \
                     skipped bigint NOT NULL, source jsonb, schema jsonb)",
                    log.sql()
                ),
            )?;
        }
        let tables = serde_json::Value::Object(
            outcome
                .tables
                .iter()
                .map(|(t, n)| (t.clone(), serde_json::Value::from(*n)))
                .collect(),
        );
        let num = |n: Option<u64>| n.map_or("NULL".to_string(), |n| n.to_string());
        let started = brazex_core::civil::format_timestamp_ms(record.started_ms);
        self.batch(
            "record the load in brazex_loads",
            &format!(
                "INSERT INTO {} VALUES ({}, {}, {}, {}, clock_timestamp(), {rows}, {}::jsonb, {}, {}, {}, {}, {}, {}::jsonb, {}::jsonb)",
                log.sql(),
                literal(&self.run_id),
                literal(&self.options.table.to_string()),
                literal(self.options.mode.name()),
                literal(&started),
                literal(&tables.to_string()),
                num(outcome.inserted),
                num(outcome.updated),
                num(outcome.unchanged),
                num(outcome.deleted),
                record.skipped,
                literal(&record.source.to_string()),
                literal(&record.schema.to_string()),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_parsed_and_quoted() {
        let t = TableName::parse("braze.users").expect("name");
        assert_eq!(t.sql(), "\"braze\".\"users\"");
        assert_eq!(t.child("purchases").to_string(), "braze.users_purchases");
        assert_eq!(
            TableName::parse("we\"ird").expect("name").sql(),
            "\"we\"\"ird\""
        );
        assert!(TableName::parse("a.b.c").is_err());
        assert!(TableName::parse(".x").is_err());
        assert!(TableName::parse(&"x".repeat(64)).is_err());
    }
}
