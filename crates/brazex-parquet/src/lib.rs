//! brazex-parquet: typed Parquet output, streaming.
//!
//! Workers build one Arrow [`RecordBatch`] per input block and table
//! ([`ParquetEncoder`], with the column rules of `brazex_core::schema`); the writer
//! thread appends the batches in input order to Parquet files ([`ParquetSink`]),
//! closing a row group at `row_group_rows` rows or when its buffered size reaches
//! `row_group_bytes`, so memory stays bounded whatever the export's size, and
//! rotating parts at `--rows-per-file` / `--max-file-bytes`. This is the only crate
//! that depends on arrow and parquet.

pub mod builder;

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};
use brazex_core::encode::{Encoder, Sink};
use brazex_core::error::{Error, LinePlace, Result};
use brazex_core::record::Record;
use brazex_core::sink::{FileEntry, Parts};
use brazex_core::table::{column_error, Plan, RowScratch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

use builder::{arrow_type, Builder};

pub use builder::Builder as ColumnBuilder;

/// `--compression` of Parquet pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    #[default]
    Zstd,
    Snappy,
    Gzip,
    None,
}

/// How Parquet files are written.
#[derive(Debug, Clone, Copy)]
pub struct ParquetOptions {
    pub codec: Codec,
    /// Most rows in a row group (`--row-group-rows`).
    pub row_group_rows: usize,
    /// A row group is closed once its buffered, encoded size reaches this.
    pub row_group_bytes: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            codec: Codec::Zstd,
            row_group_rows: 122_880,
            row_group_bytes: 64 << 20,
        }
    }
}

/// The Arrow schema of each table of a plan.
pub fn schemas(plan: &Plan) -> Vec<SchemaRef> {
    plan.tables()
        .iter()
        .map(|table| {
            Arc::new(Schema::new(
                table
                    .columns
                    .iter()
                    .map(|c| Field::new(&c.name, arrow_type(&c.ty), true))
                    .collect::<Vec<_>>(),
            ))
        })
        .collect()
}

/// Builds record batches on a worker: one per table per input block.
#[derive(Debug)]
pub struct ParquetEncoder {
    plan: Arc<Plan>,
    schemas: Vec<SchemaRef>,
    builders: Vec<Vec<Builder>>,
    scratch: RowScratch,
}

impl ParquetEncoder {
    pub fn new(plan: Arc<Plan>) -> ParquetEncoder {
        let builders = plan
            .tables()
            .iter()
            .map(|t| t.columns.iter().map(|c| Builder::new(&c.ty)).collect())
            .collect();
        ParquetEncoder {
            schemas: schemas(&plan),
            plan,
            builders,
            scratch: RowScratch::default(),
        }
    }
}

impl Encoder for ParquetEncoder {
    /// One batch per table, or the (internal) error of assembling them.
    type Block = std::result::Result<Vec<RecordBatch>, ArrowError>;

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        // Row counts before this record, to take a failed record back out.
        let before: Vec<usize> = self
            .builders
            .iter()
            .map(|b| b.first().map_or(0, Builder::len))
            .collect();
        let plan = Arc::clone(&self.plan);
        let builders = &mut self.builders;
        let result = plan.rows(record, &mut self.scratch, &mut |table, cells| {
            let columns = &plan.tables()[table].columns;
            for ((builder, column), cell) in builders[table].iter_mut().zip(columns).zip(cells) {
                builder
                    .append(cell, &column.ty)
                    .map_err(|message| column_error(place, &column.name, message))?;
            }
            Ok(())
        });
        if result.is_err() {
            for (table, len) in self.builders.iter_mut().zip(before) {
                for builder in table {
                    builder.truncate(len);
                }
            }
        }
        result
    }

    fn finish_block(&mut self) -> Self::Block {
        self.builders
            .iter_mut()
            .zip(&self.schemas)
            .map(|(builders, schema)| {
                let arrays = builders.iter_mut().map(Builder::finish).collect();
                RecordBatch::try_new(schema.clone(), arrays)
            })
            .collect()
    }
}

fn parquet_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::io(what.to_string(), std::io::Error::other(e.to_string()))
}

/// One table's Parquet parts.
struct TableWriter {
    parts: Parts,
    schema: SchemaRef,
    writer: Option<ArrowWriter<brazex_core::sink::PartWriter>>,
    rows_in_part: u64,
}

/// Appends record batches, in input order, to each table's Parquet parts.
pub struct ParquetSink {
    tables: Vec<TableWriter>,
    properties: WriterProperties,
    options: ParquetOptions,
}

impl std::fmt::Debug for ParquetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("tables", &self.tables.len())
            .field("options", &self.options)
            .finish()
    }
}

impl ParquetSink {
    /// A sink writing table `i` of `plan` into `parts[i]`.
    pub fn new(plan: &Plan, parts: Vec<Parts>, options: ParquetOptions) -> ParquetSink {
        let compression = match options.codec {
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
            Codec::Snappy => Compression::SNAPPY,
            Codec::Gzip => Compression::GZIP(GzipLevel::default()),
            Codec::None => Compression::UNCOMPRESSED,
        };
        let properties = WriterProperties::builder()
            .set_compression(compression)
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .set_created_by(format!("brazex {}", env!("CARGO_PKG_VERSION")))
            .build();
        let tables = parts
            .into_iter()
            .zip(schemas(plan))
            .map(|(parts, schema)| TableWriter {
                parts,
                schema,
                writer: None,
                rows_in_part: 0,
            })
            .collect();
        ParquetSink {
            tables,
            properties,
            options,
        }
    }

    fn open(table: &mut TableWriter, properties: &WriterProperties) -> Result<()> {
        table.parts.open()?;
        let part = table.parts.take_current().ok_or(Error::Cancelled)?;
        let writer = ArrowWriter::try_new(part, table.schema.clone(), Some(properties.clone()))
            .map_err(|e| parquet_error("cannot start a Parquet file", e))?;
        table.writer = Some(writer);
        table.rows_in_part = 0;
        Ok(())
    }

    fn close(table: &mut TableWriter) -> Result<()> {
        let Some(writer) = table.writer.take() else {
            return Ok(());
        };
        let mut part = writer
            .into_inner()
            .map_err(|e| parquet_error("cannot finish a Parquet file", e))?;
        part.rows = table.rows_in_part;
        table.parts.close_part(part)
    }

    fn write(&mut self, index: usize, batch: &RecordBatch) -> Result<()> {
        let properties = &self.properties;
        let options = self.options;
        let table = &mut self.tables[index];
        let mut offset = 0;
        while offset < batch.num_rows() {
            if table.writer.is_none() {
                Self::open(table, properties)?;
            }
            // Rotation by rows is exact: the batch is cut where the part is full.
            let room = table
                .parts
                .options()
                .rows_per_file
                .filter(|_| table.parts.is_dir())
                .map_or(usize::MAX, |limit| {
                    limit.saturating_sub(table.rows_in_part) as usize
                });
            let take = room.min(batch.num_rows() - offset);
            if take == 0 {
                Self::close(table)?;
                continue;
            }
            let writer = table.writer.as_mut().ok_or(Error::Cancelled)?;
            writer
                .write(&batch.slice(offset, take))
                .map_err(|e| parquet_error("cannot write Parquet", e))?;
            table.rows_in_part += take as u64;
            offset += take;
            if writer.in_progress_size() >= options.row_group_bytes {
                // Bounded memory: close the row group before it grows further.
                writer
                    .flush()
                    .map_err(|e| parquet_error("cannot write Parquet", e))?;
            }
            let size = writer.bytes_written() as u64 + writer.in_progress_size() as u64;
            let full_bytes = table.parts.is_dir()
                && table
                    .parts
                    .options()
                    .max_file_bytes
                    .is_some_and(|limit| size >= limit);
            if full_bytes {
                Self::close(table)?;
            }
        }
        Ok(())
    }

    /// Closes every table's last part (an empty table still gets one file, with its
    /// schema); returns each table's parts.
    pub fn finish(mut self) -> Result<Vec<Vec<FileEntry>>> {
        let mut all = Vec::with_capacity(self.tables.len());
        let properties = self.properties.clone();
        for mut table in self.tables.drain(..) {
            if table.writer.is_none() && table.parts.done().is_empty() {
                Self::open(&mut table, &properties)?;
            }
            Self::close(&mut table)?;
            all.push(table.parts.finish()?);
        }
        Ok(all)
    }
}

impl Sink<std::result::Result<Vec<RecordBatch>, ArrowError>> for ParquetSink {
    fn write_block(
        &mut self,
        block: std::result::Result<Vec<RecordBatch>, ArrowError>,
        _rows: u64,
    ) -> Result<()> {
        let batches = block.map_err(|e| parquet_error("cannot assemble a record batch", e))?;
        for (index, batch) in batches.iter().enumerate() {
            self.write(index, batch)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::Array;
    use brazex_core::path::parse_select;
    use brazex_core::record::RecordParser;
    use brazex_core::schema::ColumnType;

    fn place() -> LinePlace {
        LinePlace {
            entry: "e".into(),
            line: 3,
        }
    }

    #[test]
    fn a_failed_row_leaves_nothing_behind() {
        let items =
            parse_select("id=external_id,p=purchases,n=custom_attributes.n").expect("select");
        let plan = Arc::new(Plan::selection(
            &items,
            &[None, None, Some(ColumnType::Int)],
        ));
        let mut encoder = ParquetEncoder::new(plan);
        let mut parser = RecordParser::default();
        let lines: [&[u8]; 3] = [
            br#"{"external_id":"a","purchases":[{"name":"x","count":1}],"custom_attributes":{"n":1}}"#,
            // Fails in the last column, after the list and its structs were appended.
            br#"{"external_id":"b","purchases":[{"name":"y","count":2},{"name":"z"}],"custom_attributes":{"n":"two"}}"#,
            br#"{"external_id":"c","purchases":null,"custom_attributes":{}}"#,
        ];
        let mut errors = Vec::new();
        for line in lines {
            if let Err(e) = encoder.row(&parser.parse(line).expect("json"), &place) {
                errors.push(e.to_string());
            }
        }
        assert_eq!(
            errors,
            vec!["e:3: column n: expected an integer, found \"two\""]
        );
        let batches = encoder.finish_block().expect("batch");
        let batch = &batches[0];
        assert_eq!(batch.num_rows(), 2);
        let ids = batch.column(0).as_string::<i32>();
        assert_eq!((ids.value(0), ids.value(1)), ("a", "c"));
        let purchases = batch.column(1).as_list::<i32>();
        assert_eq!(purchases.value(0).len(), 1);
        assert!(purchases.is_null(1));
        assert_eq!(
            purchases.values().len(),
            1,
            "the failed row's elements are gone"
        );
        let n = batch.column(2).as_primitive::<Int64Type>();
        assert_eq!(n.value(0), 1);
        assert!(n.is_null(1));
    }
}
