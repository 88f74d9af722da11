//! brazex-parquet: typed Parquet output, streaming.
//!
//! Workers append each record's typed values to column builders ([`ParquetEncoder`],
//! with the column rules of `brazex_core::schema`) and, at the end of an input block,
//! turn each table's builders into Parquet leaf columns ([`leaf`]: definition and
//! repetition levels and the present values, computed there, in parallel). The writer
//! thread hands each leaf, in input order, to the encoder threads ([`pool`]), which
//! encode column chunks in parallel ([`chunk`]); it closes a row group at
//! `row_group_rows` rows or when the encoders hold `row_group_bytes`, without waiting
//! for the encoders to finish it (they hold at most that row group and the next), so
//! memory stays bounded whatever the export's size; appends the chunks to the file
//! before the next close; and rotates parts at `--rows-per-file` / `--max-file-bytes`.
//! The same builders also make Arrow record batches, for Arrow IPC streams ([`ipc`],
//! `--format arrow`). This is the only crate that depends on arrow and parquet.
//!
//! The column chunks are brazex's own ([`chunk`]), not parquet-rs's Arrow writer's:
//! going from the builders to Arrow arrays, from those to levels, and through
//! parquet-rs's generic column writer took 18 % more CPU for the whole conversion of
//! the benchmark export (BENCHMARKS.md). parquet-rs still writes the file around the
//! chunks: its schema, page headers, row groups, footer, and the Arrow schema readers
//! take the types from. `oracle` tests hold the two writers side by side.

pub mod builder;
pub mod chunk;
pub mod ipc;
pub mod leaf;
pub mod pool;
mod rle;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema, SchemaRef};
use brazex_core::encode::{Encoder, Sink};
use brazex_core::error::{Error, LinePlace, Result};
use brazex_core::record::Record;
use brazex_core::schema::{ColumnType, DISTINCT_TEXT};
use brazex_core::table::{column_error, Plan, RowScratch};
use brazex_dest::parts::{FileEntry, PartWriter, Parts};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, GzipLevel, Type as PhysicalType, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::SchemaDescriptor;

use builder::{arrow_type, Builder};
use chunk::{ChunkSpec, ChunkWriter};
use leaf::Leaf;
use pool::{EncoderPool, Gauge, Key};

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
    /// A row group is closed once its column writers hold this many bytes
    /// (`--row-group-bytes`): the bound on the sink's memory.
    pub row_group_bytes: usize,
    /// Encoder threads (at least one).
    pub threads: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            codec: Codec::Zstd,
            row_group_rows: 122_880,
            row_group_bytes: 16 << 20,
            threads: 2,
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

/// One table's rows of one block: an Arrow batch (for Arrow streams), or the
/// Parquet leaf columns in schema order.
#[derive(Debug)]
pub enum TableBatch {
    Arrow(RecordBatch),
    Parquet { leaves: Vec<Leaf>, rows: usize },
}

/// Builds each table's rows of one input block on a worker: Parquet leaf columns
/// ([`ParquetEncoder::new`]), or Arrow record batches ([`ParquetEncoder::for_arrow`]).
#[derive(Debug)]
pub struct ParquetEncoder {
    plan: Arc<Plan>,
    schemas: Vec<SchemaRef>,
    builders: Vec<Vec<Builder>>,
    scratch: RowScratch,
    /// Each table's row count before the current record (kept between records).
    rows_before: Vec<usize>,
    /// Parquet leaf columns (or, for Arrow streams, record batches).
    leaves: bool,
}

impl ParquetEncoder {
    /// Leaf columns for [`ParquetSink`].
    pub fn new(plan: Arc<Plan>) -> ParquetEncoder {
        ParquetEncoder::with_leaves(plan, true)
    }

    /// Record batches for an Arrow stream ([`ipc::ArrowSink`]).
    pub fn for_arrow(plan: Arc<Plan>) -> ParquetEncoder {
        ParquetEncoder::with_leaves(plan, false)
    }

    fn with_leaves(plan: Arc<Plan>, leaves: bool) -> ParquetEncoder {
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
            rows_before: Vec::new(),
            leaves,
        }
    }
}

impl Encoder for ParquetEncoder {
    /// One batch per table, or the (internal) error of assembling them.
    type Block = std::result::Result<Vec<TableBatch>, ParquetError>;

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        // Row counts before this record, to take a failed record back out.
        self.rows_before.clear();
        self.rows_before.extend(
            self.builders
                .iter()
                .map(|b| b.first().map_or(0, Builder::len)),
        );
        let plan = Arc::clone(&self.plan);
        let builders = &mut self.builders;
        let result = plan.rows(record, place, &mut self.scratch, &mut |table, cells| {
            let columns = &plan.tables()[table].columns;
            for ((builder, column), cell) in builders[table].iter_mut().zip(columns).zip(cells) {
                builder
                    .append(cell, &column.ty)
                    .map_err(|message| column_error(place, &column.name, message))?;
            }
            Ok(())
        });
        if result.is_err() {
            for (table, &len) in self.builders.iter_mut().zip(&self.rows_before) {
                for builder in table {
                    builder.truncate(len);
                }
            }
        }
        result
    }

    fn take_keys(&mut self) -> brazex_core::contract::KeyLog {
        self.scratch.take_keys()
    }

    fn finish_block(&mut self) -> Self::Block {
        if self.leaves {
            return Ok(self
                .builders
                .iter_mut()
                .map(|builders| {
                    let rows = builders.first().map_or(0, Builder::len);
                    TableBatch::Parquet {
                        leaves: leaf::leaves(builders),
                        rows,
                    }
                })
                .collect());
        }
        self.builders
            .iter_mut()
            .zip(&self.schemas)
            .map(|(builders, schema)| {
                let arrays = builders.iter_mut().map(Builder::finish).collect();
                Ok(TableBatch::Arrow(RecordBatch::try_new(
                    schema.clone(),
                    arrays,
                )?))
            })
            .collect()
    }
}

fn parquet_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::io(what.to_string(), std::io::Error::other(e.to_string()))
}

/// Writer properties for one table. Dictionary encoding only where values repeat:
/// text columns, less the identifiers ([`DISTINCT_TEXT`]) and JSON text. Numbers and
/// timestamps are nearly all distinct per user, so a dictionary there only costs time
/// (it was the largest single item of the writer's profile) before Parquet falls back
/// to plain encoding anyway.
fn properties(
    options: &ParquetOptions,
    parquet_schema: &SchemaDescriptor,
    json_columns: &[&str],
) -> WriterPropertiesPtr {
    let compression = match options.codec {
        Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
        Codec::Snappy => Compression::SNAPPY,
        Codec::Gzip => Compression::GZIP(GzipLevel::default()),
        Codec::None => Compression::UNCOMPRESSED,
    };
    let mut builder = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_dictionary_enabled(false)
        .set_created_by(format!("brazex {}", env!("CARGO_PKG_VERSION")));
    for column in parquet_schema.columns() {
        let path = column.path();
        let leaf = path.parts().last().map(String::as_str).unwrap_or_default();
        let json = path.parts().len() == 1 && json_columns.contains(&leaf);
        let repeats = column.physical_type() == PhysicalType::BYTE_ARRAY
            && !json
            && !DISTINCT_TEXT.contains(&leaf);
        if repeats {
            builder = builder.set_column_dictionary_enabled(path.clone(), true);
        }
        if json {
            // The least and greatest JSON text prune nothing, and comparing every
            // value (whole `custom_attributes` objects) cost time on every row group.
            builder = builder.set_column_statistics_enabled(path.clone(), EnabledStatistics::None);
        }
    }
    Arc::new(builder.build())
}

/// How each leaf column of `schema` is written, as `properties` say.
fn chunk_specs(schema: &SchemaDescriptor, properties: &WriterProperties) -> Vec<ChunkSpec> {
    schema
        .columns()
        .iter()
        .map(|descr| ChunkSpec {
            descr: descr.clone(),
            compression: properties.compression(descr.path()),
            dictionary: properties.dictionary_enabled(descr.path()),
            statistics: properties.statistics_enabled(descr.path()) != EnabledStatistics::None,
        })
        .collect()
}

/// The Parquet file a table is writing.
struct OpenPart {
    writer: SerializedFileWriter<PartWriter>,
    /// Rows in the row group being encoded.
    group_rows: usize,
    /// Row groups appended to the file.
    groups: usize,
    /// The row group the encoders are closing while the next one fills (its columns
    /// and rows): appended to the file once its chunks are finished, when the next
    /// one closes, or at the end, whichever comes first.
    closing: Option<(Vec<Key>, usize)>,
}

/// One table's Parquet parts.
struct TableWriter {
    index: usize,
    parts: Parts,
    schema: SchemaRef,
    parquet_schema: Arc<SchemaDescriptor>,
    properties: WriterPropertiesPtr,
    /// How each leaf column is written (from `properties`).
    specs: Vec<ChunkSpec>,
    part: Option<OpenPart>,
    rows_in_part: u64,
    /// Leaf `i` is encoded on thread `threads[i]` in the current row group.
    threads: Vec<usize>,
    gauges: Vec<Arc<Gauge>>,
}

impl TableWriter {
    fn keys(&self) -> Vec<Key> {
        (0..self.gauges.len())
            .map(|leaf| (self.index, leaf))
            .collect()
    }

    /// Bytes the encoders hold for this table's row group: what closes it.
    fn held(&self) -> usize {
        self.gauges
            .iter()
            .map(|g| g.memory.load(Ordering::Relaxed))
            .sum()
    }

    /// Bytes of this table's row group queued to the encoders and not written yet.
    fn queued(&self) -> usize {
        self.gauges
            .iter()
            .map(|g| g.pending.load(Ordering::Relaxed))
            .sum()
    }
}

/// Appends record batches, in input order, to each table's Parquet parts.
pub struct ParquetSink {
    tables: Vec<TableWriter>,
    options: ParquetOptions,
    pool: EncoderPool,
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
    pub fn new(plan: &Plan, parts: Vec<Parts>, options: ParquetOptions) -> Result<ParquetSink> {
        let pool =
            EncoderPool::new(options.threads).map_err(|e| Error::io("cannot start a thread", e))?;
        let mut tables = Vec::with_capacity(parts.len());
        for (index, ((parts, schema), table)) in parts
            .into_iter()
            .zip(schemas(plan))
            .zip(plan.tables())
            .enumerate()
        {
            let parquet_schema = ArrowSchemaConverter::new()
                .convert(&schema)
                .map_err(|e| parquet_error("cannot map the schema to Parquet", e))?;
            // The column writer keeps levels in bytes (see `leaf`).
            if let Some(deep) = parquet_schema
                .columns()
                .iter()
                .find(|c| c.max_def_level() > i16::from(u8::MAX))
            {
                return Err(parquet_error(
                    "cannot map the schema to Parquet",
                    format!("column {} nests more than 255 levels deep", deep.path()),
                ));
            }
            let json: Vec<&str> = table
                .columns
                .iter()
                .filter(|c| c.ty == ColumnType::Json)
                .map(|c| c.name.as_str())
                .collect();
            let properties = properties(&options, &parquet_schema, &json);
            let specs = chunk_specs(&parquet_schema, &properties);
            let leaves = parquet_schema.num_columns();
            tables.push(TableWriter {
                index,
                parts,
                schema,
                parquet_schema: Arc::new(parquet_schema),
                properties,
                specs,
                part: None,
                rows_in_part: 0,
                threads: (0..leaves).map(|leaf| leaf % pool.threads()).collect(),
                gauges: (0..leaves).map(|_| Arc::default()).collect(),
            });
        }
        Ok(ParquetSink {
            tables,
            options,
            pool,
        })
    }

    fn open(table: &mut TableWriter, pool: &EncoderPool) -> Result<()> {
        table.parts.open()?;
        let part = table
            .parts
            .take_current()
            .ok_or(Error::Internal("no part is open"))?;
        let mut properties = (*table.properties).clone();
        // Readers (pyarrow, DuckDB, Spark) take the Arrow schema from this key: the
        // timestamp time zone and the list field names come back as written.
        add_encoded_arrow_schema_to_metadata(&table.schema, &mut properties);
        let writer = SerializedFileWriter::new(
            part,
            table.parquet_schema.root_schema_ptr(),
            Arc::new(properties),
        )
        .map_err(|e| parquet_error("cannot start a Parquet file", e))?;
        table.part = Some(OpenPart {
            writer,
            group_rows: 0,
            groups: 0,
            closing: None,
        });
        table.rows_in_part = 0;
        Self::start_group(table, pool)
    }

    /// Hands a new row group's column writers to the encoder threads.
    fn start_group(table: &mut TableWriter, pool: &EncoderPool) -> Result<()> {
        let part = table
            .part
            .as_mut()
            .ok_or(Error::Internal("no part is open"))?;
        part.group_rows = 0;
        // Fresh gauges: the closing group's writers still report to theirs.
        table.gauges = (0..table.specs.len()).map(|_| Arc::default()).collect();
        for (leaf, spec) in table.specs.iter().enumerate() {
            let writer = ChunkWriter::new(spec.clone());
            let thread = table.threads.get(leaf).copied().unwrap_or(0);
            let gauge = table.gauges.get(leaf).cloned().unwrap_or_default();
            pool.start(thread, (table.index, leaf), writer, gauge)
                .map_err(|e| parquet_error("cannot encode Parquet", e))?;
        }
        Ok(())
    }

    /// Asks the encoders to close the row group, without waiting for them: the
    /// workers and encoders go on with the next row group meanwhile (waiting here left
    /// a core idle at every row group). The row group closed before is appended to the
    /// file first (if it was not yet), so the encoders hold at most two row groups and
    /// a column's chunks of two row groups are never both awaited.
    fn close_group(table: &mut TableWriter, pool: &EncoderPool) -> Result<()> {
        Self::append_closed(table, pool)?;
        let keys = table.keys();
        pool.close(&keys, &table.threads)
            .map_err(|e| parquet_error("cannot encode Parquet", e))?;
        // Next row group: the most expensive columns spread first.
        let costs: Vec<u64> = table
            .gauges
            .iter()
            .map(|g| g.nanos.load(Ordering::Relaxed))
            .collect();
        table.threads = pool.balance(&costs);
        let part = table
            .part
            .as_mut()
            .ok_or(Error::Internal("no part is open"))?;
        part.closing = Some((keys, part.group_rows));
        part.group_rows = 0;
        Ok(())
    }

    /// Appends the row group the encoders were closing (if any), waiting for the
    /// chunks not finished yet.
    fn append_closed(table: &mut TableWriter, pool: &EncoderPool) -> Result<()> {
        let part = table
            .part
            .as_mut()
            .ok_or(Error::Internal("no part is open"))?;
        match part.closing.take() {
            Some(closing) => Self::append(part, pool, closing),
            None => Ok(()),
        }
    }

    /// Appends the row group the encoders were closing once all its chunks are
    /// finished, without waiting: the file grows as the run goes, and only the last
    /// row group is left to append when the input ends.
    fn append_finished(table: &mut TableWriter, pool: &EncoderPool) -> Result<()> {
        let finished = table
            .part
            .as_ref()
            .and_then(|part| part.closing.as_ref())
            .is_some_and(|(keys, _)| pool.finished(keys));
        if finished {
            Self::append_closed(table, pool)?;
        }
        Ok(())
    }

    /// Appends a closed row group's chunks to the file, in column order.
    fn append(
        part: &mut OpenPart,
        pool: &EncoderPool,
        (keys, rows): (Vec<Key>, usize),
    ) -> Result<()> {
        let chunks = pool
            .collect(&keys)
            .map_err(|e| parquet_error("cannot encode Parquet", e))?;
        if rows > 0 {
            let mut group = part
                .writer
                .next_row_group()
                .map_err(|e| parquet_error("cannot write Parquet", e))?;
            for (bytes, close) in chunks {
                group
                    .append_column(&bytes, close)
                    .map_err(|e| parquet_error("cannot write Parquet", e))?;
            }
            group
                .close()
                .map_err(|e| parquet_error("cannot write Parquet", e))?;
            part.groups += 1;
        }
        Ok(())
    }

    fn close(table: &mut TableWriter, pool: &EncoderPool) -> Result<()> {
        if table.part.is_none() {
            return Ok(());
        }
        Self::close_group(table, pool)?;
        Self::append_closed(table, pool)?;
        let Some(part) = table.part.take() else {
            return Ok(());
        };
        let mut file = part
            .writer
            .into_inner()
            .map_err(|e| parquet_error("cannot finish a Parquet file", e))?;
        file.rows = table.rows_in_part;
        table.parts.close_part(file)
    }

    fn write(&mut self, index: usize, batch: TableBatch) -> Result<()> {
        let options = self.options;
        let pool = &self.pool;
        let table = &mut self.tables[index];
        let TableBatch::Parquet {
            leaves: mut rest,
            rows,
        } = batch
        else {
            return Err(Error::Internal(
                "an Arrow batch where Parquet leaves are expected",
            ));
        };
        if rest.len() != table.specs.len() {
            return Err(Error::Internal(
                "a block's leaves do not match the table's columns",
            ));
        }
        let mut offset = 0;
        while offset < rows {
            if table.part.is_none() {
                Self::open(table, pool)?;
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
            let group_room = {
                let part = table
                    .part
                    .as_ref()
                    .ok_or(Error::Internal("no part is open"))?;
                options
                    .row_group_rows
                    .max(1)
                    .saturating_sub(part.group_rows)
            };
            let take = room.min(group_room).min(rows - offset);
            if take == 0 {
                if room == 0 {
                    Self::close(table, pool)?;
                } else {
                    Self::close_group(table, pool)?;
                    Self::start_group(table, pool)?;
                }
                continue;
            }
            // A batch cut at a part or row group boundary: its first `take` rows
            // now, the rest in the next part or row group.
            let leaves = if offset + take == rows {
                std::mem::take(&mut rest)
            } else {
                let later = rest
                    .iter_mut()
                    .map(|leaf| leaf.split_off_rows(take))
                    .collect();
                std::mem::replace(&mut rest, later)
            };
            let (threads, gauges) = (&table.threads, &table.gauges);
            pool.write(leaves.into_iter().zip(gauges).enumerate().map(
                |(leaf, (column, gauge))| {
                    let thread = threads.get(leaf).copied().unwrap_or(0);
                    (thread, (table.index, leaf), column, &**gauge)
                },
            ))
            .map_err(|e| parquet_error("cannot encode Parquet", e))?;
            table.rows_in_part += take as u64;
            offset += take;
            let part = table
                .part
                .as_mut()
                .ok_or(Error::Internal("no part is open"))?;
            part.group_rows += take;
            // Bounded memory: at most half a row group's bytes wait in the encoders'
            // queues (see `EncoderPool::wait_for`).
            pool.wait_for(options.row_group_bytes / 2);
            if table.held() >= options.row_group_bytes {
                // Bounded memory: close the row group before it grows further.
                Self::close_group(table, pool)?;
                Self::start_group(table, pool)?;
            } else {
                Self::append_finished(table, pool)?;
            }
            let part = table
                .part
                .as_ref()
                .ok_or(Error::Internal("no part is open"))?;
            // Queued values count as if encoded as they are: the file stays under the limit.
            let size = part.writer.bytes_written() as u64 + (table.held() + table.queued()) as u64;
            let full_bytes = table.parts.is_dir()
                && table
                    .parts
                    .options()
                    .max_file_bytes
                    .is_some_and(|limit| size >= limit);
            if full_bytes {
                Self::close(table, pool)?;
            }
        }
        Ok(())
    }

    /// Closes every table's last part (an empty table still gets one file, with its
    /// schema); returns each table's parts.
    pub fn finish(mut self) -> Result<Vec<Vec<FileEntry>>> {
        let mut all = Vec::with_capacity(self.tables.len());
        for mut table in std::mem::take(&mut self.tables) {
            if table.part.is_none() && table.parts.done().is_empty() {
                Self::open(&mut table, &self.pool)?;
            }
            Self::close(&mut table, &self.pool)?;
            all.push(table.parts.finish()?);
        }
        Ok(all)
    }
}

impl Sink<std::result::Result<Vec<TableBatch>, ParquetError>> for ParquetSink {
    fn write_block(
        &mut self,
        block: std::result::Result<Vec<TableBatch>, ParquetError>,
        _rows: u64,
    ) -> Result<()> {
        let batches = block.map_err(|e| parquet_error("cannot assemble a record batch", e))?;
        for (index, batch) in batches.into_iter().enumerate() {
            self.write(index, batch)?;
        }
        Ok(())
    }
}

#[cfg(any(test, feature = "oracle"))]
pub mod oracle;

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
        let mut encoder = ParquetEncoder::for_arrow(plan);
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
        let TableBatch::Arrow(batch) = &batches[0] else {
            panic!("an Arrow batch");
        };
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
