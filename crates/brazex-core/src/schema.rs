//! The logical column types of typed outputs (CSV, Parquet) and the documented Braze
//! user object as data.
//!
//! Both the CSV encoder (here, in `brazex-core`) and the Parquet encoder
//! (`brazex-parquet`, which maps these types to Arrow types) read values through
//! this module, so a value is accepted or refused by the same rules whatever the
//! format: a string where an int is expected or a bad date is an error naming the
//! column, never a silent null. No Arrow here.

use std::fmt;

use crate::path::Segment;
use crate::record::{Kind, Value};

/// A column's logical type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    String,
    /// 64-bit signed integer.
    Int,
    /// 32-bit signed integer (`random_bucket`).
    Int32,
    /// 64-bit float.
    Float,
    Bool,
    /// An ISO 8601 timestamp, stored as milliseconds since the epoch, UTC.
    Timestamp,
    /// A `YYYY-MM-DD` date, stored as days since the epoch.
    Date,
    /// Any JSON value, kept as its exact JSON text.
    Json,
    /// An array whose elements have this type.
    List(Box<ColumnType>),
    /// An object with these fields (other keys are not kept).
    Struct(Vec<Column>),
}

/// A named column (or struct field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
}

impl Column {
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Column {
        Column {
            name: name.into(),
            ty,
        }
    }
}

impl ColumnType {
    /// Parses a `path:type` pin: `string`, `int`, `float`, `bool`, `timestamp`, `date`, `json`.
    pub fn parse_pin(text: &str) -> Option<ColumnType> {
        Some(match text {
            "string" => ColumnType::String,
            "int" => ColumnType::Int,
            "float" => ColumnType::Float,
            "bool" => ColumnType::Bool,
            "timestamp" => ColumnType::Timestamp,
            "date" => ColumnType::Date,
            "json" => ColumnType::Json,
            _ => return None,
        })
    }

    /// Parses a type as the manifest writes it ([`fmt::Display`]): a scalar name,
    /// `list<T>`, or `struct<name:T,…>`.
    pub fn parse(text: &str) -> Option<ColumnType> {
        let (ty, rest) = parse_type(text.trim())?;
        rest.trim().is_empty().then_some(ty)
    }

    /// True when every value of type `found` is also, unchanged, a value of this
    /// type: the widenings a pinned column applies without error (an `int` in a
    /// `float` column, a `date` in a `timestamp` column, anything in `json`).
    pub fn widens(&self, found: &ColumnType) -> bool {
        use ColumnType as T;
        match (self, found) {
            (a, b) if a == b => true,
            (T::Float, T::Int | T::Int32) | (T::Int, T::Int32) => true,
            (T::Timestamp, T::Date) => true,
            // A number, bool or text keeps its exact JSON text in a string column.
            (T::String, T::Int | T::Int32 | T::Float | T::Bool | T::Date) => true,
            (T::Json, _) => true,
            (T::List(a), T::List(b)) => a.widens(b),
            _ => false,
        }
    }

    /// True for types written as JSON text in CSV (lists, structs, json).
    pub fn is_nested(&self) -> bool {
        matches!(
            self,
            ColumnType::List(_) | ColumnType::Struct(_) | ColumnType::Json
        )
    }
}

impl fmt::Display for ColumnType {
    /// The type as written in the manifest: `string`, `list<float>`,
    /// `list<struct<name:string,count:int>>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::String => f.write_str("string"),
            ColumnType::Int => f.write_str("int"),
            ColumnType::Int32 => f.write_str("int32"),
            ColumnType::Float => f.write_str("float"),
            ColumnType::Bool => f.write_str("bool"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Json => f.write_str("json"),
            ColumnType::List(inner) => write!(f, "list<{inner}>"),
            ColumnType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{}", field.name, field.ty)?;
                }
                f.write_str(">")
            }
        }
    }
}

/// One type at the start of `text`, and what follows it.
fn parse_type(text: &str) -> Option<(ColumnType, &str)> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(text.len());
    let (word, rest) = text.split_at(end);
    let scalar = match word {
        "int32" => Some(ColumnType::Int32),
        "list" | "struct" => None,
        _ => Some(ColumnType::parse_pin(word)?),
    };
    if let Some(ty) = scalar {
        return Some((ty, rest));
    }
    let mut rest = rest.trim_start().strip_prefix('<')?;
    if word == "list" {
        let (inner, after) = parse_type(rest)?;
        let after = after.trim_start().strip_prefix('>')?;
        return Some((ColumnType::List(Box::new(inner)), after));
    }
    let mut fields = Vec::new();
    loop {
        let colon = rest.find(':')?;
        let name = rest[..colon].trim();
        if name.is_empty() || name.contains(['<', '>', ',']) {
            return None;
        }
        let (ty, after) = parse_type(&rest[colon + 1..])?;
        fields.push(Column::new(name, ty));
        let after = after.trim_start();
        if let Some(after) = after.strip_prefix(',') {
            rest = after;
        } else {
            return Some((ColumnType::Struct(fields), after.strip_prefix('>')?));
        }
    }
}

fn s(name: &str) -> Column {
    Column::new(name, ColumnType::String)
}
fn ts(name: &str) -> Column {
    Column::new(name, ColumnType::Timestamp)
}
fn b(name: &str) -> Column {
    Column::new(name, ColumnType::Bool)
}
fn int(name: &str) -> Column {
    Column::new(name, ColumnType::Int)
}
fn list_of(name: &str, fields: Vec<Column>) -> Column {
    Column::new(name, ColumnType::List(Box::new(ColumnType::Struct(fields))))
}

/// Fields of `custom_events[]` and `purchases[]`.
fn event_fields() -> Vec<Column> {
    vec![s("name"), ts("first"), ts("last"), int("count")]
}

/// The documented element fields of each array of objects of a user, in order
/// (`canvases_received` holds `steps_received`, itself an array of objects).
pub fn array_fields(name: &str) -> Option<Vec<Column>> {
    Some(match name {
        "user_aliases" => vec![s("alias_name"), s("alias_label")],
        "custom_events" | "purchases" => event_fields(),
        "devices" => vec![
            s("model"),
            s("os"),
            s("carrier"),
            s("idfv"),
            s("idfa"),
            s("google_ad_id"),
            s("roku_ad_id"),
            s("windows_ad_id"),
            b("ad_tracking_enabled"),
        ],
        "push_tokens" => vec![
            s("app"),
            s("platform"),
            s("token"),
            s("device_id"),
            b("notifications_enabled"),
        ],
        "apps" => vec![
            s("name"),
            s("platform"),
            s("version"),
            int("sessions"),
            ts("first_used"),
            ts("last_used"),
        ],
        "campaigns_received" => vec![
            s("name"),
            ts("last_received"),
            Column::new(
                "engaged",
                ColumnType::Struct(vec![
                    b("opened_email"),
                    b("opened_push"),
                    b("clicked_email"),
                    b("clicked_in_app_message"),
                ]),
            ),
            b("converted"),
            b("multiple_converted"),
            s("api_campaign_id"),
            s("variation_name"),
            s("variation_api_id"),
            b("in_control"),
        ],
        "canvases_received" => vec![
            s("name"),
            s("api_canvas_id"),
            ts("last_received_message"),
            ts("last_entered"),
            s("variation_name"),
            b("in_control"),
            ts("last_exited"),
            ts("last_entered_control_at"),
            list_of("steps_received", canvas_step_fields()),
        ],
        "cards_clicked" => vec![s("name")],
        _ => return None,
    })
}

/// Fields of `canvases_received[].steps_received[]`.
pub fn canvas_step_fields() -> Vec<Column> {
    vec![s("name"), s("api_canvas_step_id"), ts("last_received")]
}

/// The arrays of objects of a user, in schema order (the child tables of `--tables`).
pub const OBJECT_ARRAYS: &[&str] = &[
    "user_aliases",
    "custom_events",
    "purchases",
    "devices",
    "push_tokens",
    "apps",
    "campaigns_received",
    "canvases_received",
    "cards_clicked",
];

/// Text fields that identify a user or a device: nearly every value is distinct, so
/// columnar writers skip dictionary encoding for them.
pub const DISTINCT_TEXT: &[&str] = &[
    "external_id",
    "braze_id",
    "email",
    "phone",
    "alias_name",
    "idfv",
    "idfa",
    "google_ad_id",
    "roku_ad_id",
    "windows_ad_id",
    "token",
    "device_id",
];

/// The whole documented user object, as columns, in the order of the Parquet schema.
pub fn user_schema() -> Vec<Column> {
    let mut columns = vec![
        s("external_id"),
        s("braze_id"),
        s("first_name"),
        s("last_name"),
        s("email"),
        s("phone"),
        s("gender"),
        Column::new("dob", ColumnType::Date),
        s("home_city"),
        s("country"),
        s("language"),
        s("time_zone"),
        ts("created_at"),
        s("created_from"),
        ts("uninstalled_at"),
        s("push_subscribe"),
        ts("push_opted_in_at"),
        ts("push_unsubscribed_at"),
        s("email_subscribe"),
        ts("email_opted_in_at"),
        ts("email_unsubscribed_at"),
        Column::new("random_bucket", ColumnType::Int32),
        Column::new("total_revenue", ColumnType::Float),
        s("attributed_campaign"),
        s("attributed_source"),
        s("attributed_adgroup"),
        s("attributed_ad"),
        Column::new(
            "last_coordinates",
            ColumnType::List(Box::new(ColumnType::Float)),
        ),
        Column::new("custom_attributes", ColumnType::Json),
    ];
    for name in OBJECT_ARRAYS {
        // Every name in OBJECT_ARRAYS has fields.
        columns.push(list_of(name, array_fields(name).unwrap_or_default()));
    }
    columns
}

/// The documented type of a `--select` path, or `None` for a path outside the
/// documented schema (a custom attribute, a misspelling): those are inferred or pinned.
/// `key[]` wraps what follows in a list, as the selection does.
pub fn documented_type(segments: &[Segment]) -> Option<ColumnType> {
    let (first, rest) = segments.split_first()?;
    let column = user_schema().into_iter().find(|c| c.name == first.key)?;
    type_within(&column.ty, first.each, rest)
}

fn type_within(ty: &ColumnType, each: bool, rest: &[Segment]) -> Option<ColumnType> {
    if each {
        let ColumnType::List(inner) = ty else {
            return None;
        };
        return type_within(inner, false, rest).map(|t| ColumnType::List(Box::new(t)));
    }
    match rest.split_first() {
        None => Some(ty.clone()),
        Some((segment, rest)) => {
            let ColumnType::Struct(fields) = ty else {
                return None;
            };
            let field = fields.iter().find(|f| f.name == segment.key)?;
            type_within(&field.ty, segment.each, rest)
        }
    }
}

/// A value checked against a scalar column type.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Null,
    /// A string (unescaped), or the JSON text of a number or bool in a string column.
    Str(std::borrow::Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    /// Days since the epoch.
    Date(i32),
}

/// Reads `value` as a scalar of type `ty` (not a list, struct or json).
/// `null` is [`Scalar::Null`]; anything that does not fit is an error message.
pub fn scalar<'a>(value: &Value<'a>, ty: &ColumnType) -> Result<Scalar<'a>, String> {
    let kind = value.kind();
    if kind == Kind::Null {
        return Ok(Scalar::Null);
    }
    let text = || String::from_utf8_lossy(value.raw()).into_owned();
    let wrong = |what: &str| Err(format!("expected {what}, found {}", shorten(&text())));
    match ty {
        ColumnType::String => match kind {
            Kind::String => value
                .as_str()
                .map(Scalar::Str)
                .ok_or_else(|| "invalid string".to_string()),
            // A number or bool in a string column keeps its exact JSON text: lossless.
            Kind::Number | Kind::Bool => Ok(Scalar::Str(value.raw_text().into())),
            _ => wrong("a string"),
        },
        ColumnType::Int | ColumnType::Int32 => {
            let parsed = (kind == Kind::Number)
                .then(|| value.raw_text().parse::<i64>().ok())
                .flatten();
            match parsed {
                Some(n) if *ty == ColumnType::Int => Ok(Scalar::Int(n)),
                Some(n) if i32::try_from(n).is_ok() => Ok(Scalar::Int(n)),
                Some(_) => wrong("a 32-bit integer"),
                None => wrong("an integer"),
            }
        }
        ColumnType::Float => (kind == Kind::Number)
            .then(|| value.raw_text().parse::<f64>().ok())
            .flatten()
            .map(Scalar::Float)
            .map_or_else(|| wrong("a number"), Ok),
        ColumnType::Bool => match value.raw() {
            b"true" => Ok(Scalar::Bool(true)),
            b"false" => Ok(Scalar::Bool(false)),
            _ => wrong("true or false"),
        },
        ColumnType::Timestamp => {
            // Braze writes time custom attributes as {"$time": "..."}.
            let inner = if kind == Kind::Object {
                value.get("$time")
            } else {
                Some(*value)
            };
            inner
                .and_then(|v| v.as_str())
                .and_then(|t| parse_timestamp_ms(&t))
                .map(Scalar::Timestamp)
                .map_or_else(|| wrong("an ISO 8601 timestamp"), Ok)
        }
        ColumnType::Date => value
            .as_str()
            .and_then(|t| parse_date_days(&t))
            .map(Scalar::Date)
            .map_or_else(|| wrong("a date YYYY-MM-DD"), Ok),
        ColumnType::Json | ColumnType::List(_) | ColumnType::Struct(_) => {
            Err(format!("internal: {ty} is not a scalar type"))
        }
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(40).collect::<String>())
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    bytes.iter().try_fold(0u32, |n, &d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Parses `YYYY-MM-DD` (a real calendar date) to days since the epoch.
pub fn parse_date_days(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let days = date_prefix(b)?;
    i32::try_from(days).ok()
}

fn date_prefix(b: &[u8]) -> Option<i64> {
    let year = i64::from(digits(b.get(0..4)?)?);
    let month = digits(b.get(5..7)?)?;
    let day = digits(b.get(8..10)?)?;
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    Some(crate::civil::days_from_civil(
        year,
        i64::from(month),
        i64::from(day),
    ))
}

/// Parses an ISO 8601 timestamp to milliseconds since the epoch, UTC:
/// `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)` (a space may replace the `T`; no zone means
/// UTC), or a bare date (midnight UTC). Digits past milliseconds are truncated.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() == 10 {
        return parse_date_days(text).map(|d| i64::from(d) * 86_400_000);
    }
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = date_prefix(b)?;
    let hour = i64::from(digits(&b[11..13])?);
    let minute = i64::from(digits(&b[14..16])?);
    let second = i64::from(digits(&b[17..19])?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut pos = 19;
    let mut millis = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            if pos - start < 3 {
                millis = millis * 10 + i64::from(b[pos] - b'0');
            }
            pos += 1;
        }
        if pos == start {
            return None;
        }
        for _ in (pos - start)..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(pos..) {
        Some([]) | Some([b'Z' | b'z']) => 0,
        Some([sign @ (b'+' | b'-'), h1, h2, rest @ ..]) => {
            let hours = i64::from(digits(&[*h1, *h2])?);
            let minutes = match rest {
                [] => 0,
                [b':', m1, m2] | [m1, m2] => i64::from(digits(&[*m1, *m2])?),
                _ => return None,
            };
            let total = hours * 60 + minutes;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// What the first rows say about an undocumented column, for inference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    pub values: u64,
    pub strings: u64,
    pub timestamps: u64,
    pub dates: u64,
    pub integers: u64,
    pub numbers: u64,
    pub bools: u64,
    pub nested: u64,
}

impl Seen {
    /// Notes one non-null value.
    pub fn note(&mut self, value: &Value<'_>) {
        match value.kind() {
            Kind::Null => return,
            Kind::String => {
                self.strings += 1;
                if let Some(text) = value.as_str() {
                    if parse_date_days(&text).is_some() {
                        self.dates += 1;
                    } else if parse_timestamp_ms(&text).is_some() {
                        self.timestamps += 1;
                    }
                }
            }
            Kind::Number => {
                self.numbers += 1;
                let integer = value.raw_text().parse::<i64>().is_ok();
                if integer {
                    self.integers += 1;
                }
            }
            Kind::Bool => self.bools += 1,
            Kind::Object if value.get("$time").is_some() && value.fields().count() == 1 => {
                // Braze's time custom attribute.
                self.timestamps += 1;
                self.strings += 1;
            }
            Kind::Object | Kind::Array => self.nested += 1,
        }
        self.values += 1;
    }

    pub fn merge(&mut self, other: &Seen) {
        self.values += other.values;
        self.strings += other.strings;
        self.timestamps += other.timestamps;
        self.dates += other.dates;
        self.integers += other.integers;
        self.numbers += other.numbers;
        self.bools += other.bools;
        self.nested += other.nested;
    }

    /// The narrowest type that holds every value seen: all integers → int, all
    /// numbers → float, all booleans → bool, all dates → date, all timestamps →
    /// timestamp, all strings → string; nothing seen → string; a mix, objects or
    /// arrays → json (which holds anything).
    pub fn infer(&self) -> ColumnType {
        let n = self.values;
        if n == 0 {
            ColumnType::String
        } else if self.integers == n {
            ColumnType::Int
        } else if self.numbers == n {
            ColumnType::Float
        } else if self.bools == n {
            ColumnType::Bool
        } else if self.dates == n {
            ColumnType::Date
        } else if self.timestamps == n {
            ColumnType::Timestamp
        } else if self.strings == n {
            ColumnType::String
        } else {
            ColumnType::Json
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Path;
    use crate::record::RecordParser;

    #[test]
    fn timestamps_and_dates() {
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp_ms("2024-07-07T14:25:26.194Z"),
            Some(1_720_362_326_194)
        );
        assert_eq!(
            parse_timestamp_ms("2024-07-07T16:25:26.1945+02:00"),
            Some(1_720_362_326_194)
        );
        assert_eq!(
            parse_timestamp_ms("2024-07-07 14:25:26"),
            Some(1_720_362_326_000)
        );
        assert_eq!(parse_timestamp_ms("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(parse_timestamp_ms("2024-02-30T00:00:00Z"), None);
        assert_eq!(parse_timestamp_ms("2024-07-07T25:00:00Z"), None);
        assert_eq!(parse_timestamp_ms("yesterday"), None);
        assert_eq!(parse_date_days("1970-01-02"), Some(1));
        assert_eq!(parse_date_days("2000-02-29"), Some(11_016));
        assert_eq!(parse_date_days("1900-02-29"), None);
        assert_eq!(parse_date_days("1995-13-01"), None);
    }

    #[test]
    fn types_parse_as_the_manifest_writes_them() {
        for column in user_schema() {
            let text = column.ty.to_string();
            assert_eq!(ColumnType::parse(&text), Some(column.ty), "{text}");
        }
        assert_eq!(
            ColumnType::parse(" list< int >"),
            Some(ColumnType::List(Box::new(ColumnType::Int)))
        );
        for bad in [
            "",
            "integer",
            "list<int",
            "list<>",
            "struct<a>",
            "struct<:int>",
            "int x",
        ] {
            assert_eq!(ColumnType::parse(bad), None, "{bad}");
        }
        assert!(ColumnType::Float.widens(&ColumnType::Int));
        assert!(ColumnType::Timestamp.widens(&ColumnType::Date));
        assert!(!ColumnType::Int.widens(&ColumnType::Float));
        assert!(!ColumnType::Date.widens(&ColumnType::Timestamp));
        assert!(!ColumnType::Bool.widens(&ColumnType::String));
    }

    #[test]
    fn documented_paths_have_types() {
        let ty = |p: &str| documented_type(&Path::parse(p).expect("path").segments);
        assert_eq!(ty("total_revenue"), Some(ColumnType::Float));
        assert_eq!(ty("random_bucket"), Some(ColumnType::Int32));
        assert_eq!(
            ty("purchases[].first"),
            Some(ColumnType::List(Box::new(ColumnType::Timestamp)))
        );
        assert_eq!(
            ty("canvases_received[].steps_received[].name").map(|t| t.to_string()),
            Some("list<list<string>>".into())
        );
        assert_eq!(
            ty("campaigns_received[].engaged.opened_push").map(|t| t.to_string()),
            Some("list<bool>".into())
        );
        assert_eq!(ty("custom_attributes"), Some(ColumnType::Json));
        assert_eq!(ty("custom_attributes.plan"), None);
        assert_eq!(ty("purchases.name"), None);
    }

    #[test]
    fn scalars_follow_the_column_rules() {
        let mut parser = RecordParser::default();
        let line = br#"{"s":"x","n":12,"f":1.5e2,"b":true,"t":"2024-01-01T00:00:00Z","d":"2024-01-02","big":3000000000,"nul":null,"tt":{"$time":"1970-01-01T00:00:01Z"}}"#;
        let record = parser.parse(line).expect("valid");
        let v = |k: &str| record.root().get(k).expect("key");
        assert_eq!(scalar(&v("n"), &ColumnType::Int), Ok(Scalar::Int(12)));
        assert_eq!(
            scalar(&v("f"), &ColumnType::Float),
            Ok(Scalar::Float(150.0))
        );
        assert_eq!(
            scalar(&v("n"), &ColumnType::String),
            Ok(Scalar::Str("12".into()))
        );
        assert_eq!(scalar(&v("nul"), &ColumnType::Int), Ok(Scalar::Null));
        assert_eq!(scalar(&v("d"), &ColumnType::Date), Ok(Scalar::Date(19724)));
        assert_eq!(
            scalar(&v("tt"), &ColumnType::Timestamp),
            Ok(Scalar::Timestamp(1000))
        );
        assert!(scalar(&v("s"), &ColumnType::Int)
            .expect_err("string in int")
            .contains("expected an integer, found \"x\""));
        assert!(scalar(&v("f"), &ColumnType::Int).is_err());
        assert_eq!(scalar(&v("n"), &ColumnType::Float), Ok(Scalar::Float(12.0)));
        assert!(scalar(&v("big"), &ColumnType::Int32).is_err());
        assert_eq!(
            scalar(&v("big"), &ColumnType::Float),
            Ok(Scalar::Float(3e9))
        );
        assert!(scalar(&v("t"), &ColumnType::Date).is_err());
        assert!(scalar(&v("b"), &ColumnType::Timestamp).is_err());
    }

    #[test]
    fn inference() {
        let mut parser = RecordParser::default();
        let infer = |values: &[&str], parser: &mut RecordParser| {
            let mut seen = Seen::default();
            for v in values {
                let line = format!("{{\"v\":{v}}}");
                let record = parser.parse(line.as_bytes()).expect("valid");
                seen.note(&record.root().get("v").expect("v"));
            }
            seen.infer()
        };
        assert_eq!(infer(&["1", "2", "null"], &mut parser), ColumnType::Int);
        assert_eq!(infer(&["1", "2.5"], &mut parser), ColumnType::Float);
        assert_eq!(infer(&["\"a\"", "\"b\""], &mut parser), ColumnType::String);
        assert_eq!(
            infer(
                &["\"2024-01-01T00:00:00Z\"", "{\"$time\":\"2024-01-01\"}"],
                &mut parser
            ),
            ColumnType::Timestamp
        );
        assert_eq!(infer(&["\"2024-01-01\""], &mut parser), ColumnType::Date);
        assert_eq!(infer(&["1", "\"a\""], &mut parser), ColumnType::Json);
        assert_eq!(infer(&["[1]"], &mut parser), ColumnType::Json);
        assert_eq!(infer(&[], &mut parser), ColumnType::String);
    }
}
