//! Rows in PostgreSQL's binary `COPY` format, encoded on the pipeline's workers.
//!
//! tokio-postgres carries the bytes (`COPY … FROM STDIN (FORMAT binary)`); the
//! tuples themselves are built here, from the plan's resolved cells, so that the
//! encoding runs in parallel like the CSV and Parquet encoders and the writer thread
//! only forwards bytes. Each value goes in the binary form of its column's type
//! ([`pg_type`]): the server checks it, and a value that does not fit its column is
//! refused here first, as a placed error naming the column (see `brazex_core::table`).

use std::sync::Arc;

use brazex_core::encode::{Encoder, Rows, TableRows};
use brazex_core::error::{LinePlace, Result};
use brazex_core::record::{Kind, Record, Value};
use brazex_core::schema::{self, ColumnType, Scalar};
use brazex_core::select::Resolved;
use brazex_core::table::{check, column_error, Plan, RowScratch};

/// The header of a binary COPY stream: signature, flags, no extension.
pub const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The trailer: a tuple of -1 fields.
pub const COPY_TRAILER: &[u8] = &[0xff, 0xff];

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const PG_EPOCH_MS: i64 = 946_684_800_000;
/// Days from the Unix epoch to PostgreSQL's.
const PG_EPOCH_DAYS: i32 = 10_957;

/// A PostgreSQL column type brazex writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    Text,
    BigInt,
    Integer,
    Double,
    Boolean,
    Timestamptz,
    Date,
    Jsonb,
    /// A one-dimensional array of a scalar type.
    Array(Box<PgType>),
}

impl PgType {
    /// The type as `CREATE TABLE` spells it (and `format_type` reads it back).
    pub fn sql(&self) -> String {
        match self {
            PgType::Text => "text".into(),
            PgType::BigInt => "bigint".into(),
            PgType::Integer => "integer".into(),
            PgType::Double => "double precision".into(),
            PgType::Boolean => "boolean".into(),
            PgType::Timestamptz => "timestamp with time zone".into(),
            PgType::Date => "date".into(),
            PgType::Jsonb => "jsonb".into(),
            PgType::Array(inner) => format!("{}[]", inner.sql()),
        }
    }

    /// The type of an existing column (`format_type` text), if brazex writes it.
    pub fn from_sql(text: &str) -> Option<PgType> {
        if let Some(inner) = text.strip_suffix("[]") {
            let inner = PgType::from_sql(inner)?;
            return match inner {
                PgType::Array(_) | PgType::Jsonb => None,
                t => Some(PgType::Array(Box::new(t))),
            };
        }
        Some(match text {
            "text" => PgType::Text,
            "bigint" => PgType::BigInt,
            "integer" => PgType::Integer,
            "double precision" => PgType::Double,
            "boolean" => PgType::Boolean,
            "timestamp with time zone" => PgType::Timestamptz,
            "date" => PgType::Date,
            "jsonb" => PgType::Jsonb,
            _ => return None,
        })
    }

    /// The brazex column type whose values this type holds: what an existing table
    /// pins its columns to.
    pub fn column_type(&self) -> ColumnType {
        match self {
            PgType::Text => ColumnType::String,
            PgType::BigInt => ColumnType::Int,
            PgType::Integer => ColumnType::Int32,
            PgType::Double => ColumnType::Float,
            PgType::Boolean => ColumnType::Bool,
            PgType::Timestamptz => ColumnType::Timestamp,
            PgType::Date => ColumnType::Date,
            PgType::Jsonb => ColumnType::Json,
            PgType::Array(inner) => ColumnType::List(Box::new(inner.column_type())),
        }
    }

    /// The type's OID (array elements carry it).
    fn oid(&self) -> u32 {
        match self {
            PgType::Text => 25,
            PgType::BigInt => 20,
            PgType::Integer => 23,
            PgType::Double => 701,
            PgType::Boolean => 16,
            PgType::Timestamptz => 1184,
            PgType::Date => 1082,
            PgType::Jsonb => 3802,
            PgType::Array(_) => 0,
        }
    }
}

/// The PostgreSQL type of a brazex column: scalars as themselves, lists of scalars
/// as arrays, everything else (structs, lists of structs or lists, json) as jsonb.
pub fn pg_type(ty: &ColumnType) -> PgType {
    match ty {
        ColumnType::String => PgType::Text,
        ColumnType::Int => PgType::BigInt,
        ColumnType::Int32 => PgType::Integer,
        ColumnType::Float => PgType::Double,
        ColumnType::Bool => PgType::Boolean,
        ColumnType::Timestamp => PgType::Timestamptz,
        ColumnType::Date => PgType::Date,
        ColumnType::Json | ColumnType::Struct(_) => PgType::Jsonb,
        ColumnType::List(inner) => match pg_type(inner) {
            PgType::Jsonb | PgType::Array(_) => PgType::Jsonb,
            scalar => PgType::Array(Box::new(scalar)),
        },
    }
}

/// Encodes rows as binary COPY tuples, one [`Rows`] per table of the plan.
#[derive(Debug)]
pub struct CopyEncoder {
    plan: Arc<Plan>,
    types: Vec<Vec<(PgType, ColumnType)>>,
    /// The key column of the first table (`--load merge`): every row needs one.
    key: Option<(usize, String)>,
    rows: TableRows,
    scratch: RowScratch,
}

impl CopyEncoder {
    /// `key`: the position and name of the first table's key column, when every row
    /// must have one.
    pub fn new(plan: Arc<Plan>, key: Option<(usize, String)>) -> CopyEncoder {
        let types = plan
            .tables()
            .iter()
            .map(|t| {
                t.columns
                    .iter()
                    .map(|c| (pg_type(&c.ty), c.ty.clone()))
                    .collect()
            })
            .collect();
        let tables = plan.tables().len();
        CopyEncoder {
            plan,
            types,
            key,
            rows: TableRows::new(tables),
            scratch: RowScratch::default(),
        }
    }
}

impl Encoder for CopyEncoder {
    type Block = Vec<Rows>;

    fn row(&mut self, record: &Record<'_>, place: &dyn Fn() -> LinePlace) -> Result<()> {
        let mark = self.rows.mark();
        let plan = Arc::clone(&self.plan);
        let (types, key, rows) = (&self.types, &self.key, &mut self.rows);
        let result = plan.rows(record, place, &mut self.scratch, &mut |table, cells| {
            if let (0, Some((at, name))) = (table, key) {
                let has_key = matches!(cells.get(*at), Some(Resolved::Value(v))
                    if v.kind() == Kind::String && !v.raw().is_empty() && v.raw() != b"\"\"");
                if !has_key {
                    return Err(column_error(
                        place,
                        name,
                        "no key: --load merge needs it on every row".into(),
                    ));
                }
            }
            let columns = &plan.tables()[table].columns;
            let out = rows.data(table);
            // PostgreSQL tables have at most 1,600 columns: the count fits.
            out.extend_from_slice(&(columns.len() as i16).to_be_bytes());
            for ((column, cell), (pg, ty)) in columns.iter().zip(cells).zip(&types[table]) {
                encode_cell(cell, ty, pg, out)
                    .map_err(|message| column_error(place, &column.name, message))?;
            }
            rows.end_row(table);
            Ok(())
        });
        if result.is_err() {
            self.rows.cut_back(mark);
        }
        result
    }

    fn take_keys(&mut self) -> brazex_core::contract::KeyLog {
        self.scratch.take_keys()
    }

    fn finish_block(&mut self) -> Vec<Rows> {
        self.rows.take()
    }
}

const NULL: [u8; 4] = (-1i32).to_be_bytes();

/// Appends one field: its length and binary value, or -1 for null.
fn encode_cell(
    cell: &Resolved<'_>,
    ty: &ColumnType,
    pg: &PgType,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    match pg {
        PgType::Jsonb => {
            check(cell, ty)?;
            match cell {
                Resolved::Missing => out.extend_from_slice(&NULL),
                Resolved::Value(v) if v.kind() == Kind::Null => out.extend_from_slice(&NULL),
                _ => {
                    let start = field_start(out);
                    out.push(1); // jsonb version
                    let text = out.len();
                    cell.write_json(out);
                    // (A failed row is cut back out by the encoder.)
                    if memchr::memmem::find(&out[text..], b"\\u0000").is_some() {
                        return Err("holds \\u0000, which PostgreSQL's jsonb cannot store".into());
                    }
                    field_end(out, start)?;
                }
            }
            Ok(())
        }
        PgType::Array(element) => {
            let inner = match ty {
                ColumnType::List(inner) => inner.as_ref(),
                _ => return Err(format!("internal: {ty} as an array")),
            };
            match cell {
                Resolved::Missing => out.extend_from_slice(&NULL),
                Resolved::Value(v) if v.kind() == Kind::Null => out.extend_from_slice(&NULL),
                Resolved::Value(v) if v.kind() == Kind::Array => {
                    encode_array(v.elements().map(Some), inner, element, out)?;
                }
                Resolved::Each(items) => {
                    if items
                        .iter()
                        .any(|i| matches!(i, Resolved::Each(_) | Resolved::Fields(_)))
                    {
                        return Err(format!("a nested list where {ty} is expected"));
                    }
                    let values = items.iter().map(|item| match item {
                        Resolved::Value(v) => Some(*v),
                        _ => None,
                    });
                    encode_array(values, inner, element, out)?;
                }
                Resolved::Value(v) => {
                    return Err(format!(
                        "expected an array, found {}",
                        String::from_utf8_lossy(v.raw())
                    ))
                }
                Resolved::Fields(_) => return Err(format!("an object where {ty} is expected")),
            }
            Ok(())
        }
        _ => {
            let value = match cell {
                Resolved::Missing => {
                    out.extend_from_slice(&NULL);
                    return Ok(());
                }
                Resolved::Each(_) => return Err(format!("a list where {ty} is expected")),
                Resolved::Fields(_) => return Err(format!("an object where {ty} is expected")),
                Resolved::Value(v) => v,
            };
            encode_scalar(value, ty, pg, out)
        }
    }
}

/// A one-dimensional array: dimensions, null flag, element OID, the length and
/// lower bound, then the elements; an empty array has no dimension. Written in one
/// pass: the length and null flag are filled in after the elements.
fn encode_array<'a>(
    items: impl Iterator<Item = Option<Value<'a>>>,
    ty: &ColumnType,
    element: &PgType,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    let start = field_start(out);
    out.extend_from_slice(&1i32.to_be_bytes());
    let flags_at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&element.oid().to_be_bytes());
    let len_at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let (mut len, mut nulls) = (0usize, false);
    for item in items {
        len += 1;
        match item {
            None => {
                nulls = true;
                out.extend_from_slice(&NULL);
            }
            Some(v) => {
                nulls |= v.kind() == Kind::Null;
                encode_scalar(&v, ty, element, out)?;
            }
        }
    }
    if len == 0 {
        out.truncate(len_at);
        out[start..start + 4].copy_from_slice(&0i32.to_be_bytes());
    } else {
        let n = i32::try_from(len).map_err(|_| "an array too long for PostgreSQL".to_string())?;
        out[len_at..len_at + 4].copy_from_slice(&n.to_be_bytes());
    }
    if nulls {
        out[flags_at..flags_at + 4].copy_from_slice(&1i32.to_be_bytes());
    }
    field_end(out, start)
}

fn encode_scalar(
    value: &Value<'_>,
    ty: &ColumnType,
    pg: &PgType,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    let scalar = schema::scalar(value, ty)?;
    let put = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    match (scalar, pg) {
        (Scalar::Null, _) => out.extend_from_slice(&NULL),
        (Scalar::Str(s), PgType::Text) => {
            if s.contains('\0') {
                return Err("holds a NUL character, which PostgreSQL's text cannot store".into());
            }
            let bytes = s.as_bytes();
            i32::try_from(bytes.len()).map_err(|_| "a value over 2 GiB".to_string())?;
            put(out, bytes);
        }
        (Scalar::Int(n), PgType::BigInt) => put(out, &n.to_be_bytes()),
        (Scalar::Int(n), PgType::Integer) => {
            let n = i32::try_from(n).map_err(|_| format!("{n} does not fit a 32-bit integer"))?;
            put(out, &n.to_be_bytes());
        }
        (Scalar::Float(x), PgType::Double) => put(out, &x.to_bits().to_be_bytes()),
        (Scalar::Int(n), PgType::Double) => put(out, &(n as f64).to_bits().to_be_bytes()),
        (Scalar::Bool(b), PgType::Boolean) => put(out, &[u8::from(b)]),
        (Scalar::Timestamp(ms), PgType::Timestamptz) => {
            let us = ms
                .checked_sub(PG_EPOCH_MS)
                .and_then(|ms| ms.checked_mul(1000))
                .ok_or_else(|| "a timestamp out of PostgreSQL's range".to_string())?;
            put(out, &us.to_be_bytes());
        }
        (Scalar::Date(days), PgType::Timestamptz) => {
            let us = (i64::from(days) * 86_400_000 - PG_EPOCH_MS) * 1000;
            put(out, &us.to_be_bytes());
        }
        (Scalar::Date(days), PgType::Date) => put(out, &(days - PG_EPOCH_DAYS).to_be_bytes()),
        (_, pg) => return Err(format!("internal: {ty} as {}", pg.sql())),
    }
    Ok(())
}

/// Reserves a field's length; [`field_end`] fills it in.
fn field_start(out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(&0i32.to_be_bytes());
    out.len()
}

fn field_end(out: &mut [u8], start: usize) -> std::result::Result<(), String> {
    let len = i32::try_from(out.len() - start).map_err(|_| "a value over 2 GiB".to_string())?;
    out[start - 4..start].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_through_their_sql_names() {
        for ty in [
            ColumnType::String,
            ColumnType::Int,
            ColumnType::Int32,
            ColumnType::Float,
            ColumnType::Bool,
            ColumnType::Timestamp,
            ColumnType::Date,
            ColumnType::Json,
            ColumnType::List(Box::new(ColumnType::Float)),
            ColumnType::List(Box::new(ColumnType::Timestamp)),
        ] {
            let pg = pg_type(&ty);
            assert_eq!(PgType::from_sql(&pg.sql()), Some(pg.clone()), "{ty}");
            assert_eq!(pg.column_type(), ty);
        }
        let events = ColumnType::List(Box::new(ColumnType::Struct(vec![])));
        assert_eq!(pg_type(&events), PgType::Jsonb);
        assert_eq!(PgType::from_sql("numeric"), None);
        assert_eq!(PgType::from_sql("jsonb[]"), None);
    }
}
