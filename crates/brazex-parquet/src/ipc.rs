//! `--format arrow`: the typed rows as Arrow IPC streams (the "streaming format":
//! a schema message, record batches, an end-of-stream marker), to stdout, a file, or
//! a folder of parts; what `pyarrow.ipc.open_stream`, `polars.read_ipc_stream` and
//! DuckDB's arrow extension read.
//!
//! The batches come from the Parquet path's column builders
//! ([`crate::ParquetEncoder::for_arrow`]:
//! the same schema, pins and custom-attribute columns), one per input block and table,
//! so a batch holds at most one block's rows (a few MiB of NDJSON); a batch is cut
//! at `batch_rows` rows, and where a part is full by rows.

use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, SchemaRef};
use brazex_core::encode::Sink;
use brazex_core::error::{Error, Result};
use brazex_core::table::Plan;
use brazex_dest::parts::{FileEntry, PartWriter, Parts};
use parquet::errors::ParquetError;

use crate::{schemas, TableBatch};

/// The Arrow stream a table is writing.
struct OpenStream {
    writer: StreamWriter<PartWriter>,
    rows: u64,
}

struct TableStream {
    parts: Parts,
    schema: SchemaRef,
    open: Option<OpenStream>,
}

/// Appends record batches, in input order, to each table's Arrow IPC parts.
pub struct ArrowSink {
    tables: Vec<TableStream>,
    batch_rows: usize,
}

impl std::fmt::Debug for ArrowSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowSink")
            .field("tables", &self.tables.len())
            .field("batch_rows", &self.batch_rows)
            .finish()
    }
}

/// An Arrow error as brazex's: a failed write keeps its I/O error (a closed stdout
/// is then the quiet end it is for NDJSON), anything else names what failed.
fn arrow_error(what: &str, e: ArrowError) -> Error {
    match e {
        ArrowError::IoError(_, source) => Error::io(what.to_string(), source),
        e => Error::io(what.to_string(), std::io::Error::other(e.to_string())),
    }
}

impl ArrowSink {
    /// A sink writing table `i` of `plan` into `parts[i]`; batches of at most
    /// `batch_rows` rows.
    pub fn new(plan: &Plan, parts: Vec<Parts>, batch_rows: usize) -> ArrowSink {
        let tables = parts
            .into_iter()
            .zip(schemas(plan))
            .map(|(parts, schema)| TableStream {
                parts,
                schema,
                open: None,
            })
            .collect();
        ArrowSink {
            tables,
            batch_rows: batch_rows.max(1),
        }
    }

    fn open(table: &mut TableStream) -> Result<()> {
        table.parts.open()?;
        let part = table
            .parts
            .take_current()
            .ok_or(Error::Internal("no part is open"))?;
        let writer = StreamWriter::try_new(part, &table.schema)
            .map_err(|e| arrow_error("cannot start an Arrow stream", e))?;
        table.open = Some(OpenStream { writer, rows: 0 });
        Ok(())
    }

    fn close(table: &mut TableStream) -> Result<()> {
        let Some(mut open) = table.open.take() else {
            return Ok(());
        };
        open.writer
            .finish()
            .map_err(|e| arrow_error("cannot finish an Arrow stream", e))?;
        let mut part = open
            .writer
            .into_inner()
            .map_err(|e| arrow_error("cannot finish an Arrow stream", e))?;
        part.rows = open.rows;
        table.parts.close_part(part)
    }

    fn write(&mut self, index: usize, batch: TableBatch) -> Result<()> {
        let batch_rows = self.batch_rows;
        let table = &mut self.tables[index];
        let TableBatch::Arrow(batch) = batch else {
            return Err(Error::Internal(
                "Parquet leaves where an Arrow batch is expected",
            ));
        };
        let rows = batch.num_rows();
        let mut offset = 0;
        while offset < rows {
            if table.open.is_none() {
                Self::open(table)?;
            }
            let in_part = table.open.as_ref().map_or(0, |o| o.rows);
            // Rotation by rows is exact: the batch is cut where the part is full.
            let room = table
                .parts
                .options()
                .rows_per_file
                .filter(|_| table.parts.is_dir())
                .map_or(usize::MAX, |limit| limit.saturating_sub(in_part) as usize);
            if room == 0 {
                Self::close(table)?;
                continue;
            }
            let take = room.min(batch_rows).min(rows - offset);
            let open = table
                .open
                .as_mut()
                .ok_or(Error::Internal("no part is open"))?;
            let what = format!("cannot write {}", open.writer.get_ref().dest());
            open.writer
                .write(&batch.slice(offset, take))
                .map_err(|e| arrow_error(&what, e))?;
            open.rows += take as u64;
            offset += take;
            let full_bytes = table.parts.is_dir()
                && table
                    .parts
                    .options()
                    .max_file_bytes
                    .is_some_and(|limit| open.writer.get_ref().written >= limit);
            if full_bytes {
                Self::close(table)?;
            }
        }
        Ok(())
    }

    /// Ends every table's last stream (an empty table still gets one, with its
    /// schema); returns each table's parts.
    pub fn finish(mut self) -> Result<Vec<Vec<FileEntry>>> {
        let mut all = Vec::with_capacity(self.tables.len());
        for mut table in std::mem::take(&mut self.tables) {
            if table.open.is_none() && table.parts.done().is_empty() {
                Self::open(&mut table)?;
            }
            Self::close(&mut table)?;
            all.push(table.parts.finish()?);
        }
        Ok(all)
    }
}

impl Sink<std::result::Result<Vec<TableBatch>, ParquetError>> for ArrowSink {
    fn write_block(
        &mut self,
        block: std::result::Result<Vec<TableBatch>, ParquetError>,
        _rows: u64,
    ) -> Result<()> {
        let batches = block.map_err(|e| {
            Error::io(
                "cannot assemble a record batch".to_string(),
                std::io::Error::other(e.to_string()),
            )
        })?;
        for (index, batch) in batches.into_iter().enumerate() {
            self.write(index, batch)?;
        }
        Ok(())
    }
}
