//! brazex's column writer ([`crate::chunk`], fed by [`crate::leaf`]) against
//! parquet-rs's `ArrowWriter` on the same rows: the files must read back equal, row
//! group by row group with the same statistics. `ArrowWriter` is what brazex wrote
//! its Parquet with before, so it is the oracle for every type and nesting of the
//! user schema, selections, and the edges (nulls at each level, empty lists, a
//! dictionary that overflows, pages that fill, long and multi-byte text): the tests
//! below, and the `parquet_writer` fuzz target (feature `oracle`), which feeds
//! [`same_as_parquet_rs`] any lines. A difference panics: this is a checker.

use std::sync::Arc;

use arrow_array::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter, ArrowWriter};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::file::writer::SerializedFileWriter;

use brazex_core::encode::Encoder;
use brazex_core::error::LinePlace;
use brazex_core::path::parse_select;
use brazex_core::record::RecordParser;
use brazex_core::schema::ColumnType;
use brazex_core::table::Plan;

use crate::chunk::{ChunkWriter, Codecs};
use crate::leaf::Leaf;
use crate::{chunk_specs, properties, schemas, Codec, ParquetEncoder, ParquetOptions, TableBatch};

fn place() -> LinePlace {
    LinePlace {
        entry: "e".into(),
        line: 1,
    }
}

/// One block's leaves and rows.
type LeafBlock = (Vec<Leaf>, usize);

/// Table `table`'s rows of `lines`, encoded in blocks of `block` lines: as Parquet
/// leaves and as Arrow batches. A line that is not JSON is left out; a row either
/// encoder refuses (a value that does not fit its column) must be refused by both.
fn encode(
    plan: &Arc<Plan>,
    table: usize,
    lines: &[&[u8]],
    block: usize,
) -> (Vec<LeafBlock>, Vec<RecordBatch>) {
    let mut parser = RecordParser::default();
    let mut leaves = Vec::new();
    let mut batches = Vec::new();
    for chunk in lines.chunks(block) {
        let mut ours = ParquetEncoder::new(Arc::clone(plan));
        let mut theirs = ParquetEncoder::for_arrow(Arc::clone(plan));
        for line in chunk {
            let Ok(record) = parser.parse(line) else {
                continue;
            };
            let (a, b) = (ours.row(&record, &place), theirs.row(&record, &place));
            assert_eq!(a.is_ok(), b.is_ok());
        }
        match ours.finish_block().expect("leaves").swap_remove(table) {
            TableBatch::Parquet { leaves: l, rows } => leaves.push((l, rows)),
            TableBatch::Arrow(_) => panic!("leaves expected"),
        }
        match theirs.finish_block().expect("batch").swap_remove(table) {
            TableBatch::Arrow(b) => batches.push(b),
            TableBatch::Parquet { .. } => panic!("a batch expected"),
        }
    }
    (leaves, batches)
}

/// Checks that brazex's writer and parquet-rs's make the same file of every table of
/// `plan` (one with the whole object, or `--tables`'s) over `lines`, encoded in
/// blocks of `block` lines, row groups of `group_rows` rows; panics where they differ.
pub fn same_as_parquet_rs(
    plan: Plan,
    lines: &[&[u8]],
    block: usize,
    group_rows: usize,
    codec: Codec,
) {
    let plan = Arc::new(plan);
    for table in 0..plan.tables().len() {
        let (ours, theirs) = both(&plan, table, lines, block.max(1), group_rows.max(1), codec);
        assert_same(&ours, &theirs);
    }
}

/// A selection with a column of every type: int32, float, bool, date, timestamp and
/// JSON from custom attributes, a list of strings, a list of lists of integers, and
/// a list of structs (`apps`).
pub fn every_type() -> Plan {
    let list = |inner| ColumnType::List(Box::new(inner));
    let pins = [
        None,
        Some(ColumnType::Int32),
        Some(ColumnType::Float),
        Some(ColumnType::Bool),
        Some(ColumnType::Date),
        Some(ColumnType::Timestamp),
        Some(ColumnType::Json),
        None,
        Some(list(list(ColumnType::Int))),
        None,
    ];
    match parse_select(
        "id=external_id,n=custom_attributes.n,f=custom_attributes.f,b=custom_attributes.b,\
         d=custom_attributes.d,t=custom_attributes.t,j=custom_attributes,\
         names=purchases[].name,lists=custom_attributes.lists,apps=apps",
    ) {
        Ok(items) => Plan::selection(&items, &pins),
        Err(e) => panic!("the selection of every type: {e}"),
    }
}

/// Both files of table `table` of `plan` over `lines`, row groups of `group_rows`.
fn both(
    plan: &Arc<Plan>,
    table: usize,
    lines: &[&[u8]],
    block: usize,
    group_rows: usize,
    codec: Codec,
) -> (Bytes, Bytes) {
    let (leaves, batches) = encode(plan, table, lines, block);
    let schema = schemas(plan).swap_remove(table);
    let parquet_schema = ArrowSchemaConverter::new()
        .convert(&schema)
        .expect("schema");
    let json: Vec<&str> = plan.tables()[table]
        .columns
        .iter()
        .filter(|c| c.ty == ColumnType::Json)
        .map(|c| c.name.as_str())
        .collect();
    let options = ParquetOptions {
        codec,
        row_group_rows: group_rows,
        ..ParquetOptions::default()
    };
    let props = properties(&options, &parquet_schema, &json);

    // parquet-rs's Arrow writer, row groups cut by rows.
    let oracle_props = WriterProperties::clone(&props)
        .into_builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut theirs =
        ArrowWriter::try_new(Vec::new(), schema.clone(), Some(oracle_props)).expect("writer");
    for batch in &batches {
        theirs.write(batch).expect("write");
    }
    let theirs = Bytes::from(theirs.into_inner().expect("close"));

    // brazex's: the sink's steps, on one thread.
    let specs = chunk_specs(&parquet_schema, &props);
    let mut file_props = WriterProperties::clone(&props);
    add_encoded_arrow_schema_to_metadata(&schema, &mut file_props);
    let mut file = SerializedFileWriter::new(
        Vec::new(),
        parquet_schema.root_schema_ptr(),
        Arc::new(file_props),
    )
    .expect("file");
    let mut codecs = Codecs::default();
    let mut writers: Vec<ChunkWriter> = specs.iter().cloned().map(ChunkWriter::new).collect();
    let mut in_group = 0;
    let close_group = |writers: &mut Vec<ChunkWriter>,
                       file: &mut SerializedFileWriter<Vec<u8>>,
                       codecs: &mut Codecs| {
        let mut group = file.next_row_group().expect("group");
        let done = std::mem::replace(
            writers,
            specs.iter().cloned().map(ChunkWriter::new).collect(),
        );
        for writer in done {
            let (bytes, close) = writer.close(codecs).expect("close");
            group.append_column(&bytes, close).expect("append");
        }
        group.close().expect("group close");
    };
    for (mut rest, mut rows) in leaves {
        while rows > 0 {
            let take = (group_rows - in_group).min(rows);
            let later: Vec<Leaf> = rest.iter_mut().map(|l| l.split_off_rows(take)).collect();
            let now = std::mem::replace(&mut rest, later);
            for (writer, leaf) in writers.iter_mut().zip(&now) {
                assert_eq!(leaf.rows, take);
                writer.write(leaf, &mut codecs).expect("write");
            }
            rows -= take;
            in_group += take;
            if in_group == group_rows {
                close_group(&mut writers, &mut file, &mut codecs);
                in_group = 0;
            }
        }
    }
    if in_group > 0 {
        close_group(&mut writers, &mut file, &mut codecs);
    }
    let ours = Bytes::from(file.into_inner().expect("finish"));
    (ours, theirs)
}

fn read(file: &Bytes) -> (Vec<RecordBatch>, Arc<ParquetMetaData>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file.clone()).expect("reader");
    let metadata = builder.metadata().clone();
    let batches = builder
        .with_batch_size(1 << 20)
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("read");
    (batches, metadata)
}

/// Least and greatest value, nulls, and whether the least and greatest are exact.
type Summary = (Option<Vec<u8>>, Option<Vec<u8>>, Option<u64>, bool, bool);

fn stats(s: Option<&Statistics>) -> Option<Summary> {
    s.map(|s| {
        (
            s.min_bytes_opt().map(<[u8]>::to_vec),
            s.max_bytes_opt().map(<[u8]>::to_vec),
            s.null_count_opt(),
            s.min_is_exact(),
            s.max_is_exact(),
        )
    })
}

/// The two files hold the same rows, in the same row groups, with the same
/// statistics and value counts per column chunk.
fn assert_same(ours: &Bytes, theirs: &Bytes) {
    let (a, ma) = read(ours);
    let (b, mb) = read(theirs);
    let rows = |batches: &[RecordBatch]| batches.iter().map(RecordBatch::num_rows).sum::<usize>();
    assert_eq!(rows(&a), rows(&b));
    let Some(schema) = b.first().map(RecordBatch::schema) else {
        assert!(a.is_empty());
        return;
    };
    let a = arrow_select::concat::concat_batches(&schema, &a).expect("concat");
    let b = arrow_select::concat::concat_batches(&schema, &b).expect("concat");
    assert_eq!(a.schema(), b.schema());
    for (i, (x, y)) in a.columns().iter().zip(b.columns()).enumerate() {
        assert_eq!(x, y, "column {}", schema.field(i).name());
    }
    assert_eq!(ma.num_row_groups(), mb.num_row_groups());
    for (ga, gb) in ma.row_groups().iter().zip(mb.row_groups()) {
        assert_eq!(ga.num_rows(), gb.num_rows());
        for (ca, cb) in ga.columns().iter().zip(gb.columns()) {
            let path = ca.column_path().string();
            assert_eq!(ca.num_values(), cb.num_values(), "{path}");
            assert_eq!(stats(ca.statistics()), stats(cb.statistics()), "{path}");
            assert_eq!(ca.compression(), cb.compression(), "{path}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brazex_sim::{GeneratorConfig, UserGenerator};
    use parquet::basic::Encoding;

    fn bytes(lines: &[String]) -> Vec<&[u8]> {
        lines.iter().map(String::as_bytes).collect()
    }

    fn users(seed: u64, count: u64) -> Vec<String> {
        let generator = UserGenerator::new(GeneratorConfig::new(seed));
        (0..count).map(|i| generator.user_string(i)).collect()
    }

    /// Users with nulls, empty lists and missing fields at every level of the nesting.
    fn edges() -> Vec<String> {
        let long = format!("{}é{}", "x".repeat(63), "y".repeat(40));
        let high = format!("{}\u{10FFFF}z", "\u{10FFFF}".repeat(20));
        vec![
            r#"{}"#.to_string(),
            r#"{"external_id":null,"purchases":null,"apps":[],"custom_attributes":null}"#.to_string(),
            r#"{"external_id":"e1","purchases":[],"custom_events":[{"name":null,"count":null},{}],"canvases_received":[{"name":"c","steps_received":[]},{"name":null,"steps_received":null},{"steps_received":[{"name":"s"},{},{"name":null}]}],"user_aliases":[{"alias_name":"a"},{"alias_label":"l"}]}"#.to_string(),
            format!(r#"{{"external_id":"{long}","first_name":"{long}","last_name":"{high}","home_city":"{high}"}}"#),
            r#"{"external_id":"e2","total_revenue":-0.0,"random_bucket":0,"custom_attributes":{"a":[1,{"b":null}],"s":"é"}}"#.to_string(),
            r#"{"external_id":"e3","total_revenue":0.0,"campaigns_received":[{"name":"x","engaged":{"opened_email":true}}]}"#.to_string(),
            r#"{"external_id":"e4","total_revenue":1e300,"devices":[{"model":null},{"model":"m","idfv":"i"}],"push_tokens":[]}"#.to_string(),
        ]
    }

    #[test]
    fn the_whole_user_object_as_parquet_rs_writes_it() {
        let mut lines = users(7, 2500);
        // The edges inside blocks and at their starts and ends.
        for (i, edge) in edges().into_iter().enumerate() {
            lines.insert(i * 331 % lines.len(), edge.clone());
            lines.push(edge);
        }
        // Blocks of 600 lines, row groups of 1,000 rows: row groups start inside blocks.
        same_as_parquet_rs(Plan::full_object(), &bytes(&lines), 600, 1000, Codec::Zstd);
    }

    #[test]
    fn every_table_of_tables() {
        // `--tables`: users, and a table per list (purchases, devices, …) with the
        // user's key; each table's file as parquet-rs writes it.
        let mut lines = users(5, 800);
        lines.extend(edges());
        same_as_parquet_rs(Plan::normalized(), &bytes(&lines), 300, 500, Codec::Zstd);
    }

    #[test]
    fn every_codec() {
        let lines = users(11, 300);
        for codec in [Codec::None, Codec::Snappy, Codec::Gzip, Codec::Zstd] {
            same_as_parquet_rs(Plan::full_object(), &bytes(&lines), 128, 200, codec);
        }
    }

    #[test]
    fn selections_of_every_type() {
        let mut lines = Vec::new();
        for i in 0..3000 {
            let line = match i % 7 {
                0 => r#"{"external_id":null}"#.to_string(),
                1 => format!(
                    r#"{{"external_id":"u{i}","custom_attributes":{{"n":{i},"f":{f},"b":{b},"d":"2024-02-{day:02}","t":"2024-02-01T10:00:{s:02}.123Z","lists":[[1,2],[],null,[{i}]]}},"purchases":[{{"name":"p{m}"}},{{"name":null}}]}}"#,
                    f = f64::from(i) / 7.0 - 200.0,
                    b = i % 2 == 0,
                    day = 1 + i % 28,
                    s = i % 60,
                    m = i % 13
                ),
                2 => r#"{"external_id":"z","custom_attributes":{"f":-0.0,"b":false,"lists":[]},"purchases":[]}"#.to_string(),
                3 => r#"{"external_id":"w","custom_attributes":{"lists":[null,[null,3]]},"purchases":null}"#.to_string(),
                _ => format!(r#"{{"external_id":"v{i}","custom_attributes":{{"n":-{i},"f":0.0,"b":true}}}}"#),
            };
            lines.push(line);
        }
        same_as_parquet_rs(every_type(), &bytes(&lines), 512, 1100, Codec::Zstd);
    }

    #[test]
    fn a_dictionary_that_overflows_and_pages_that_fill() {
        // first_name is dictionary-encoded; 24,000 distinct names of 60 bytes are 1.5 MB
        // of dictionary: it falls back to PLAIN part way. The JSON column fills several
        // 1 MiB pages a row group.
        let items = parse_select("name=first_name,attrs=custom_attributes").expect("select");
        let pins = [None, Some(ColumnType::Json)];
        let lines: Vec<String> = (0..24_000)
            .map(|i| {
                format!(
                    r#"{{"first_name":"{i:060}","custom_attributes":{{"blob":"{}","i":{i}}}}}"#,
                    "ab".repeat(60 + i % 50)
                )
            })
            .collect();
        let (ours, theirs) = both(
            &Arc::new(Plan::selection(&items, &pins)),
            0,
            &bytes(&lines),
            2500,
            30_000,
            Codec::Zstd,
        );
        assert_same(&ours, &theirs);
        let (_, metadata) = read(&ours);
        let name = metadata.row_group(0).column(0);
        assert!(
            name.dictionary_page_offset().is_some(),
            "the dictionary is kept"
        );
        // Data pages of both kinds: with the dictionary, then PLAIN after it overflowed.
        let data_pages = name.page_encoding_stats_mask().expect("encoding stats");
        assert!(data_pages.is_set(Encoding::RLE_DICTIONARY) && data_pages.is_set(Encoding::PLAIN));
        let offsets = ParquetRecordBatchReaderBuilder::try_new_with_options(
            ours.clone(),
            parquet::arrow::arrow_reader::ArrowReaderOptions::new()
                .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Required),
        )
        .expect("page index");
        let pages = offsets.metadata().offset_index().expect("offset index");
        assert!(
            pages[0][1].page_locations.len() > 2,
            "the JSON column fills several pages"
        );
    }
}
