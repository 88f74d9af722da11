//! Column builders: typed values of one block, appended row by row on a worker and
//! turned at the end of the block into Parquet leaf columns ([`crate::leaf`]) or, for
//! Arrow streams, into Arrow arrays.
//!
//! Arrow's own builders cannot take back a row, and a row that fails a later column
//! (a string in an int column) must leave nothing behind: these builders are plain
//! vectors with [`Builder::len`] and [`Builder::truncate`].

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, ListArray,
    StringArray, StructArray, TimestampMillisecondArray,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use brazex_core::record::{KeyIndex, Kind, Value};
use brazex_core::schema::{self, ColumnType, Scalar};
use brazex_core::select::Resolved;

/// The Arrow type of a logical column type.
pub fn arrow_type(ty: &ColumnType) -> DataType {
    match ty {
        ColumnType::String | ColumnType::Json => DataType::Utf8,
        ColumnType::Int => DataType::Int64,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Float => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        ColumnType::Date => DataType::Date32,
        ColumnType::List(inner) => {
            DataType::List(Arc::new(Field::new("item", arrow_type(inner), true)))
        }
        ColumnType::Struct(fields) => DataType::Struct(struct_fields(fields)),
    }
}

fn struct_fields(fields: &[schema::Column]) -> Fields {
    fields
        .iter()
        .map(|f| Field::new(&f.name, arrow_type(&f.ty), true))
        .collect()
}

/// Values of one column (or struct field, or list element) for one block.
#[derive(Debug)]
pub enum Builder {
    Utf8 {
        offsets: Vec<i32>,
        data: Vec<u8>,
        valid: Vec<bool>,
        json: bool,
    },
    Int64(Vec<i64>, Vec<bool>),
    Int32(Vec<i32>, Vec<bool>),
    Float64(Vec<f64>, Vec<bool>),
    Bool(Vec<bool>, Vec<bool>),
    Timestamp(Vec<i64>, Vec<bool>),
    Date(Vec<i32>, Vec<bool>),
    List {
        offsets: Vec<i32>,
        valid: Vec<bool>,
        child: Box<Builder>,
        field: Arc<Field>,
    },
    Struct {
        children: Vec<(String, Builder)>,
        valid: Vec<bool>,
        fields: Fields,
        /// The fields' names, for finding them among an object's keys.
        names: KeyIndex,
    },
}

type Outcome = Result<(), String>;

impl Builder {
    pub fn new(ty: &ColumnType) -> Builder {
        match ty {
            ColumnType::String | ColumnType::Json => Builder::Utf8 {
                offsets: vec![0],
                data: Vec::new(),
                valid: Vec::new(),
                json: *ty == ColumnType::Json,
            },
            ColumnType::Int => Builder::Int64(Vec::new(), Vec::new()),
            ColumnType::Int32 => Builder::Int32(Vec::new(), Vec::new()),
            ColumnType::Float => Builder::Float64(Vec::new(), Vec::new()),
            ColumnType::Bool => Builder::Bool(Vec::new(), Vec::new()),
            ColumnType::Timestamp => Builder::Timestamp(Vec::new(), Vec::new()),
            ColumnType::Date => Builder::Date(Vec::new(), Vec::new()),
            ColumnType::List(inner) => Builder::List {
                offsets: vec![0],
                valid: Vec::new(),
                child: Box::new(Builder::new(inner)),
                field: Arc::new(Field::new("item", arrow_type(inner), true)),
            },
            ColumnType::Struct(fields) => Builder::Struct {
                children: fields
                    .iter()
                    .map(|f| (f.name.clone(), Builder::new(&f.ty)))
                    .collect(),
                valid: Vec::new(),
                fields: struct_fields(fields),
                names: KeyIndex::new(fields.iter().map(|f| f.name.clone())),
            },
        }
    }

    /// Rows (or elements) held.
    pub fn len(&self) -> usize {
        self.validity().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether each row (or element) is present.
    pub fn validity(&self) -> &[bool] {
        match self {
            Builder::Utf8 { valid, .. }
            | Builder::Int64(_, valid)
            | Builder::Int32(_, valid)
            | Builder::Float64(_, valid)
            | Builder::Bool(_, valid)
            | Builder::Timestamp(_, valid)
            | Builder::Date(_, valid)
            | Builder::List { valid, .. }
            | Builder::Struct { valid, .. } => valid,
        }
    }

    /// Empties the builder for the next block, keeping its capacity (what
    /// [`Builder::finish`] leaves, without making an array).
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Drops everything after the first `len` rows (a failed row).
    pub fn truncate(&mut self, len: usize) {
        match self {
            Builder::Utf8 {
                offsets,
                data,
                valid,
                ..
            } => {
                offsets.truncate(len + 1);
                data.truncate(offsets.last().map_or(0, |&o| o as usize));
                valid.truncate(len);
            }
            Builder::Int64(v, valid) | Builder::Timestamp(v, valid) => {
                v.truncate(len);
                valid.truncate(len);
            }
            Builder::Int32(v, valid) | Builder::Date(v, valid) => {
                v.truncate(len);
                valid.truncate(len);
            }
            Builder::Float64(v, valid) => {
                v.truncate(len);
                valid.truncate(len);
            }
            Builder::Bool(v, valid) => {
                v.truncate(len);
                valid.truncate(len);
            }
            Builder::List {
                offsets,
                valid,
                child,
                ..
            } => {
                offsets.truncate(len + 1);
                valid.truncate(len);
                child.truncate(offsets.last().map_or(0, |&o| o as usize));
            }
            Builder::Struct {
                children, valid, ..
            } => {
                valid.truncate(len);
                for (_, child) in children {
                    child.truncate(len);
                }
            }
        }
    }

    fn push_null(&mut self) {
        match self {
            Builder::Utf8 { offsets, valid, .. } | Builder::List { offsets, valid, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                valid.push(false);
            }
            Builder::Int64(v, valid) | Builder::Timestamp(v, valid) => {
                v.push(0);
                valid.push(false);
            }
            Builder::Int32(v, valid) | Builder::Date(v, valid) => {
                v.push(0);
                valid.push(false);
            }
            Builder::Float64(v, valid) => {
                v.push(0.0);
                valid.push(false);
            }
            Builder::Bool(v, valid) => {
                v.push(false);
                valid.push(false);
            }
            Builder::Struct {
                children, valid, ..
            } => {
                for (_, child) in children {
                    child.push_null();
                }
                valid.push(false);
            }
        }
    }

    /// Appends one resolved value (from a `--select` path or a field).
    pub fn append(&mut self, cell: &Resolved<'_>, ty: &ColumnType) -> Outcome {
        match cell {
            Resolved::Missing => {
                self.push_null();
                Ok(())
            }
            Resolved::Value(v) => self.append_value(v, ty),
            Resolved::Each(items) => {
                let (
                    Builder::List {
                        offsets,
                        valid,
                        child,
                        ..
                    },
                    ColumnType::List(inner),
                ) = (&mut *self, ty)
                else {
                    return Err(format!("a list where {ty} is expected"));
                };
                for item in items {
                    child.append(item, inner)?;
                }
                push_offset(offsets, child.len())?;
                valid.push(true);
                Ok(())
            }
            Resolved::Fields(_) => {
                let Builder::Utf8 {
                    offsets,
                    data,
                    valid,
                    json: true,
                } = self
                else {
                    return Err(format!("an object where {ty} is expected"));
                };
                // The fields' JSON text, straight into the column's bytes.
                cell.write_json(data);
                push_offset(offsets, data.len())?;
                valid.push(true);
                Ok(())
            }
        }
    }

    /// Appends one JSON value.
    pub fn append_value(&mut self, value: &Value<'_>, ty: &ColumnType) -> Outcome {
        if value.kind() == Kind::Null {
            self.push_null();
            return Ok(());
        }
        match (&mut *self, ty) {
            (Builder::Utf8 { json: true, .. }, _) => self.push_str(value.raw_text()),
            (
                Builder::List {
                    offsets,
                    valid,
                    child,
                    ..
                },
                ColumnType::List(inner),
            ) => {
                if value.kind() != Kind::Array {
                    return Err(format!("expected an array, found {}", shorten(value.raw())));
                }
                for element in value.elements() {
                    child.append_value(&element, inner)?;
                }
                push_offset(offsets, child.len())?;
                valid.push(true);
                Ok(())
            }
            (
                Builder::Struct {
                    children,
                    valid,
                    names,
                    ..
                },
                ColumnType::Struct(fields),
            ) => {
                if value.kind() != Kind::Object {
                    return Err(format!(
                        "expected an object, found {}",
                        shorten(value.raw())
                    ));
                }
                // One pass over the object's keys; the first occurrence of a key wins.
                let mut found: [Option<Value<'_>>; 16] = [None; 16];
                let wide = fields.len() > found.len();
                if !wide {
                    // Keys usually come in the documented order (see `KeyIndex`).
                    let mut hint = 0;
                    for (key, v) in value.fields() {
                        if let Some(i) = names.find(&key, hint) {
                            if found[i].is_none() {
                                found[i] = Some(v);
                            }
                            hint = i + 1;
                        }
                    }
                }
                for (i, ((_, child), field)) in children.iter_mut().zip(fields).enumerate() {
                    let v = if wide {
                        value.get(&field.name)
                    } else {
                        found[i]
                    };
                    match v {
                        Some(v) => child
                            .append_value(&v, &field.ty)
                            .map_err(|e| format!("{}: {e}", field.name))?,
                        None => child.push_null(),
                    }
                }
                valid.push(true);
                Ok(())
            }
            _ => {
                if self.push_common(value) {
                    return Ok(());
                }
                let scalar = schema::scalar(value, ty)?;
                self.push_scalar(scalar)
            }
        }
    }

    /// Appends the values nearly every row has (a plain string in a string column, a
    /// number in a number column, a timestamp or date string) straight into the
    /// column, and says whether it did. Anything else goes through
    /// [`schema::scalar`], which has the same result for these and the error messages
    /// for the rest: this only skips its generic value and second dispatch, which were
    /// a visible part of the Parquet path's profile.
    fn push_common(&mut self, value: &Value<'_>) -> bool {
        let kind = value.kind();
        match self {
            Builder::Utf8 {
                offsets,
                data,
                valid,
                json: false,
            } if kind == Kind::String => {
                let Some(std::borrow::Cow::Borrowed(text)) = value.as_str() else {
                    return false;
                };
                let Ok(end) = i32::try_from(data.len() + text.len()) else {
                    return false;
                };
                data.extend_from_slice(text.as_bytes());
                offsets.push(end);
                valid.push(true);
                true
            }
            Builder::Timestamp(v, valid) if kind == Kind::String => push_valid(
                v,
                valid,
                value.as_str().and_then(|t| schema::parse_timestamp_ms(&t)),
            ),
            Builder::Date(v, valid) if kind == Kind::String => push_valid(
                v,
                valid,
                value.as_str().and_then(|t| schema::parse_date_days(&t)),
            ),
            Builder::Float64(v, valid) if kind == Kind::Number => {
                push_valid(v, valid, value.raw_text().parse().ok())
            }
            Builder::Int64(v, valid) if kind == Kind::Number => {
                push_valid(v, valid, value.raw_text().parse().ok())
            }
            Builder::Int32(v, valid) if kind == Kind::Number => {
                push_valid(v, valid, value.raw_text().parse().ok())
            }
            _ => false,
        }
    }

    fn push_str(&mut self, text: &str) -> Outcome {
        let Builder::Utf8 {
            offsets,
            data,
            valid,
            ..
        } = self
        else {
            return Err("internal: not a string column".into());
        };
        data.extend_from_slice(text.as_bytes());
        push_offset(offsets, data.len())?;
        valid.push(true);
        Ok(())
    }

    fn push_scalar(&mut self, scalar: Scalar<'_>) -> Outcome {
        match (self, scalar) {
            (this, Scalar::Null) => this.push_null(),
            (this @ Builder::Utf8 { .. }, Scalar::Str(s)) => return this.push_str(&s),
            (Builder::Int64(v, valid), Scalar::Int(n)) => {
                v.push(n);
                valid.push(true);
            }
            (Builder::Int32(v, valid), Scalar::Int(n)) => {
                v.push(i32::try_from(n).map_err(|e| e.to_string())?);
                valid.push(true);
            }
            (Builder::Float64(v, valid), Scalar::Float(f)) => {
                v.push(f);
                valid.push(true);
            }
            (Builder::Bool(v, valid), Scalar::Bool(b)) => {
                v.push(b);
                valid.push(true);
            }
            (Builder::Timestamp(v, valid), Scalar::Timestamp(ms)) => {
                v.push(ms);
                valid.push(true);
            }
            (Builder::Date(v, valid), Scalar::Date(d)) => {
                v.push(d);
                valid.push(true);
            }
            (_, scalar) => return Err(format!("internal: {scalar:?} does not fit the column")),
        }
        Ok(())
    }

    /// The block's values as an Arrow array; the builder is left empty.
    #[allow(unsafe_code)]
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Utf8 {
                offsets,
                data,
                valid,
                ..
            } => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(take_offsets(offsets)));
                let data = Buffer::from_vec(take_sized(data));
                let nulls = nulls(valid);
                debug_assert!(
                    StringArray::try_new(offsets.clone(), data.clone(), nulls.clone()).is_ok()
                );
                // SAFETY: `data` only ever grows by whole `&str`s (`push_str`) and is
                // only cut at an offset (`truncate`), and every offset is the end of
                // one such string, so each value is valid UTF-8. Arrow's checked
                // constructor would validate every byte again (4 % of the profile).
                Arc::new(unsafe { StringArray::new_unchecked(offsets, data, nulls) })
            }
            Builder::Int64(v, valid) => {
                Arc::new(Int64Array::new(take_sized(v).into(), nulls(valid)))
            }
            Builder::Int32(v, valid) => {
                Arc::new(Int32Array::new(take_sized(v).into(), nulls(valid)))
            }
            Builder::Float64(v, valid) => {
                Arc::new(Float64Array::new(take_sized(v).into(), nulls(valid)))
            }
            Builder::Bool(v, valid) => Arc::new(BooleanArray::new(
                take_sized(v).into_iter().collect(),
                nulls(valid),
            )),
            Builder::Timestamp(v, valid) => Arc::new(
                TimestampMillisecondArray::new(take_sized(v).into(), nulls(valid))
                    .with_timezone("UTC"),
            ),
            Builder::Date(v, valid) => {
                Arc::new(Date32Array::new(take_sized(v).into(), nulls(valid)))
            }
            Builder::List {
                offsets,
                valid,
                child,
                field,
            } => {
                let offsets = take_offsets(offsets);
                let values = child.finish();
                Arc::new(ListArray::new(
                    field.clone(),
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    values,
                    nulls(valid),
                ))
            }
            Builder::Struct {
                children,
                valid,
                fields,
                ..
            } => {
                let len = valid.len();
                let arrays: Vec<ArrayRef> = children.iter_mut().map(|(_, c)| c.finish()).collect();
                let nulls = nulls(valid);
                if fields.is_empty() {
                    Arc::new(StructArray::new_empty_fields(len, nulls))
                } else {
                    Arc::new(StructArray::new(fields.clone(), arrays, nulls))
                }
            }
        }
    }
}

/// Appends `value` as a present value, if there is one; says whether it did.
fn push_valid<T>(values: &mut Vec<T>, valid: &mut Vec<bool>, value: Option<T>) -> bool {
    let Some(value) = value else {
        return false;
    };
    values.push(value);
    valid.push(true);
    true
}

/// The vector's values, leaving an empty one with room for a little more: the next
/// block is about as large, so it fills without growing (and copying) step by step.
fn take_sized<T>(v: &mut Vec<T>) -> Vec<T> {
    let capacity = v.len() + v.len() / 8;
    std::mem::replace(v, Vec::with_capacity(capacity))
}

/// Offsets taken as by [`take_sized`], leaving the starting 0.
fn take_offsets(offsets: &mut Vec<i32>) -> Vec<i32> {
    let mut taken = take_sized(offsets);
    if taken.is_empty() {
        taken.push(0);
    }
    offsets.push(0);
    taken
}

/// Validity as a null buffer (none when every value is present).
fn nulls(valid: &mut Vec<bool>) -> Option<NullBuffer> {
    let valid = take_sized(valid);
    if valid.iter().all(|&v| v) {
        None
    } else {
        Some(NullBuffer::from(valid))
    }
}

/// Pushes the next offset; a block past 2 GiB of one column's text is refused.
fn push_offset(offsets: &mut Vec<i32>, end: usize) -> Outcome {
    let end = i32::try_from(end)
        .map_err(|_| "more than 2 GiB of values in one block of this column".to_string())?;
    offsets.push(end);
    Ok(())
}

fn shorten(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if text.chars().count() <= 40 {
        text.into_owned()
    } else {
        format!("{}…", text.chars().take(40).collect::<String>())
    }
}
