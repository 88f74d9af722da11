//! CSV output (RFC 4180, the `csv` crate), and NDJSON as rows for rotating parts.
//!
//! Columns follow the same rules as Parquet ([`crate::schema`], [`crate::table`]):
//! a value that does not fit its column is an error naming the column. Scalars are
//! written as text (timestamps normalised to `YYYY-MM-DDTHH:MM:SS.mmmZ`, numbers as
//! their JSON text), null or missing as an empty field, and lists, structs and json
//! columns as their JSON text.

use std::sync::Arc;

use crate::encode::{Encoder, NdjsonEncoder, Rows, TableRows};
use crate::error::{Error, LinePlace, Result};
use crate::record::{Kind, Record};
use crate::schema::{self, ColumnType, Scalar};
use crate::select::{Resolved, Selection};
use crate::table::{check, column_error, Plan, RowScratch};

/// The header line of a table's CSV parts.
pub fn csv_header(plan: &Plan, table: usize) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let names = plan.tables()[table].columns.iter().map(|c| c.name.as_str());
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(names);
    writer.into_inner().unwrap_or_default()
}

/// Encodes rows as CSV, one [`Rows`] per table of the plan.
#[derive(Debug)]
pub struct CsvEncoder {
    plan: Arc<Plan>,
    builder: csv::WriterBuilder,
    rows: TableRows,
    scratch: RowScratch,
    fields: Vec<Vec<u8>>,
}

impl CsvEncoder {
    pub fn new(plan: Arc<Plan>) -> CsvEncoder {
        let tables = plan.tables().len();
        CsvEncoder {
            builder: {
                let mut builder = csv::WriterBuilder::new();
                builder
                    .terminator(csv::Terminator::CRLF)
                    .buffer_capacity(1024);
                builder
            },
            rows: TableRows::new(tables),
            plan,
            scratch: RowScratch::default(),
            fields: Vec::new(),
        }
    }
}

fn write_err(e: csv::Error) -> Error {
    Error::io("cannot encode CSV", std::io::Error::other(e.to_string()))
}

impl Encoder for CsvEncoder {
    type Block = Vec<Rows>;

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        // Where each table stood before this record: a failed row is cut back out.
        let mark = self.rows.mark();
        let plan = Arc::clone(&self.plan);
        let (builder, rows, fields) = (&self.builder, &mut self.rows, &mut self.fields);
        let result = plan.rows(record, place, &mut self.scratch, &mut |table, cells| {
            let columns = &plan.tables()[table].columns;
            fields.resize_with(columns.len(), Vec::new);
            for ((column, cell), field) in columns.iter().zip(cells).zip(fields.iter_mut()) {
                field.clear();
                encode_cell(cell, &column.ty, field)
                    .map_err(|message| column_error(place, &column.name, message))?;
            }
            // A writer per row: the csv crate gives no way back to a writer's buffer,
            // and rows of a failed record must be cut back out.
            let mut writer = builder.from_writer(rows.data(table));
            writer
                .write_record(&fields[..columns.len()])
                .map_err(write_err)?;
            writer
                .flush()
                .map_err(|e| Error::io("cannot encode CSV", e))?;
            drop(writer);
            rows.end_row(table);
            Ok(())
        });
        if result.is_err() {
            self.rows.cut_back(mark);
        }
        result
    }

    fn take_keys(&mut self) -> crate::contract::KeyLog {
        self.scratch.take_keys()
    }

    fn finish_block(&mut self) -> Vec<Rows> {
        self.rows.take()
    }
}

/// One CSV field: scalar text, JSON text for nested types, nothing for null.
fn encode_cell(
    cell: &Resolved<'_>,
    ty: &ColumnType,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    if ty.is_nested() {
        check(cell, ty)?;
        return match cell {
            Resolved::Value(v) if v.kind() == Kind::Null => Ok(()),
            Resolved::Missing => Ok(()),
            _ => {
                cell.write_json(out);
                Ok(())
            }
        };
    }
    let value = match cell {
        Resolved::Missing => return Ok(()),
        Resolved::Each(_) => return Err(format!("a list where {ty} is expected")),
        Resolved::Fields(_) => return Err(format!("an object where {ty} is expected")),
        Resolved::Value(v) => v,
    };
    match schema::scalar(value, ty)? {
        Scalar::Null => {}
        Scalar::Str(s) => out.extend_from_slice(s.as_bytes()),
        // Numbers keep their JSON text (checked to fit the column).
        Scalar::Int(_) | Scalar::Float(_) => out.extend_from_slice(value.raw()),
        Scalar::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Scalar::Timestamp(ms) => out.extend_from_slice(format_timestamp_ms(ms).as_bytes()),
        Scalar::Date(_) => out.extend_from_slice(value.as_str().unwrap_or_default().as_bytes()),
    }
    Ok(())
}

pub use crate::civil::format_timestamp_ms;

/// NDJSON as [`Rows`] (for parts and compression): each line is one row.
#[derive(Debug)]
pub struct NdjsonRows(NdjsonEncoder);

impl NdjsonRows {
    pub fn new(selection: Option<Arc<Selection>>) -> NdjsonRows {
        NdjsonRows(NdjsonEncoder::new(selection))
    }
}

impl Encoder for NdjsonRows {
    type Block = Vec<Rows>;

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        self.0.row(record, place)
    }

    fn finish_block(&mut self) -> Vec<Rows> {
        let data = self.0.finish_block();
        // An NDJSON row never holds a raw newline (JSON escapes it), so rows end
        // after each `\n`.
        let ends = memchr::memchr_iter(b'\n', &data).map(|i| i + 1).collect();
        vec![Rows { data, ends }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::parse_select;
    use crate::record::RecordParser;

    fn place() -> LinePlace {
        LinePlace {
            entry: "x".into(),
            line: 7,
        }
    }

    #[test]
    fn timestamps_format() {
        assert_eq!(format_timestamp_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp_ms(1_720_362_326_194),
            "2024-07-07T14:25:26.194Z"
        );
        assert_eq!(format_timestamp_ms(-1), "1969-12-31T23:59:59.999Z");
        for text in ["2000-02-29T23:59:59.999Z", "1900-03-01T00:00:00.000Z"] {
            let ms = schema::parse_timestamp_ms(text).expect("parses");
            assert_eq!(format_timestamp_ms(ms), text);
        }
    }

    #[test]
    fn csv_rows_and_errors() {
        let items = parse_select("id=external_id,rev=total_revenue,purchases[].name,at=created_at,ca=custom_attributes,n=custom_attributes.n")
            .expect("select");
        let plan = Arc::new(Plan::selection(
            &items,
            &[None, None, None, None, None, Some(ColumnType::Int)],
        ));
        let mut encoder = CsvEncoder::new(plan.clone());
        let mut parser = RecordParser::default();
        let good = br#"{"external_id":"a,\"b\"","total_revenue":1.5,"purchases":[{"name":"x"},{}],"created_at":"2024-01-01T00:00:00Z","custom_attributes":{"n":3}}"#;
        encoder
            .row(&parser.parse(good).expect("json"), &place)
            .expect("row");
        let bad = br#"{"external_id":"c","custom_attributes":{"n":"three"}}"#;
        let err = encoder
            .row(&parser.parse(bad).expect("json"), &place)
            .expect_err("string in int");
        assert_eq!(
            err.to_string(),
            "x:7: column n: expected an integer, found \"three\""
        );
        let block = encoder.finish_block();
        assert_eq!(
            String::from_utf8_lossy(&block[0].data),
            "\"a,\"\"b\"\"\",1.5,\"[\"\"x\"\",null]\",2024-01-01T00:00:00.000Z,\"{\"\"n\"\":3}\",3\r\n"
        );
        assert_eq!(block[0].ends.len(), 1);
        assert_eq!(
            String::from_utf8_lossy(&csv_header(&plan, 0)),
            "id,rev,purchases[].name,at,ca,n\r\n"
        );
    }
}
