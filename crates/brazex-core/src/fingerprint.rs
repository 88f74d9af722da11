//! Fingerprints of rows, for incremental loads (`--state`, `--changes-since`).
//!
//! A fingerprint is a 128-bit XXH3 hash of a row's *canonical form*: the values the
//! row writes (the `--select`ed items in order, or the whole object), where
//! - an object is the set of its members: the order of the keys does not count;
//! - white space does not count;
//! - a string is its text once unescaped (`"\u00e9"` and `"é"` are the same string);
//! - a number is its value: `1`, `1.0` and `1e0` are the same number (integers are
//!   compared as written, without a sign on zero; other numbers as the shortest
//!   decimal that reads back as the same double);
//! - arrays keep their order.
//!
//! So a user that Braze serialised again with its keys in another order is not a
//! change, and any change of a value is. The hash is computed from the structural
//! index, without building a document: an object's members are hashed one by one and
//! added (wrapping), which makes the order irrelevant without sorting anything.
//!
//! The key of a row (`braze_id` or `external_id`) is read here too.

use std::borrow::Cow;
use std::sync::Arc;

use twox_hash::{XxHash3_128, XxHash3_64};

use crate::record::{Kind, Record, Value};
use crate::select::{Resolved, Selection};

/// A row's fingerprint.
pub type Fingerprint = u128;

/// The top-level field that names a user across exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyField {
    BrazeId,
    ExternalId,
}

impl KeyField {
    pub fn name(self) -> &'static str {
        match self {
            KeyField::BrazeId => "braze_id",
            KeyField::ExternalId => "external_id",
        }
    }

    pub fn parse(name: &str) -> Option<KeyField> {
        match name {
            "braze_id" => Some(KeyField::BrazeId),
            "external_id" => Some(KeyField::ExternalId),
            _ => None,
        }
    }
}

/// Computes rows' keys and fingerprints; one per worker (it keeps scratch space).
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    key: KeyField,
    selection: Option<Arc<Selection>>,
    slots: Vec<Option<usize>>,
}

/// Why a row has no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoKey {
    Missing,
    NotAString,
    Empty,
}

impl std::fmt::Display for NoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoKey::Missing => "is missing",
            NoKey::NotAString => "is not a string",
            NoKey::Empty => "is empty",
        })
    }
}

// Tags that keep values of different kinds apart (`"1"` is not `1`).
const NULL: &[u8] = b"z";
const TRUE: &[u8] = b"t";
const FALSE: &[u8] = b"f";
const STRING: u8 = b's';
const NUMBER: u8 = b'n';
const ARRAY: u8 = b'[';
const OBJECT: u8 = b'{';
const MEMBER: u8 = b'k';
const ROW: u8 = b'r';

impl Fingerprinter {
    /// Fingerprints the `selection`'s items of each row, or the whole row without one.
    pub fn new(key: KeyField, selection: Option<Arc<Selection>>) -> Fingerprinter {
        Fingerprinter {
            key,
            selection,
            slots: Vec::new(),
        }
    }

    pub fn key_field(&self) -> KeyField {
        self.key
    }

    /// The row's key: a non-empty string at the top level.
    pub fn key<'a>(&self, record: &Record<'a>) -> Result<Cow<'a, str>, NoKey> {
        let value = record.root().get(self.key.name()).ok_or(NoKey::Missing)?;
        match value.as_str() {
            Some(key) if key.is_empty() => Err(NoKey::Empty),
            Some(key) => Ok(key),
            None => Err(NoKey::NotAString),
        }
    }

    /// The fingerprint of the row as it is written.
    pub fn fingerprint(&mut self, record: &Record<'_>) -> Fingerprint {
        let Some(selection) = &self.selection else {
            return value(record.root());
        };
        let mut hasher = XxHash3_128::new();
        hasher.write(&[ROW]);
        selection.resolve(record, &mut self.slots, |_, resolved| {
            hasher.write(&resolved_hash(&resolved).to_le_bytes());
        });
        hasher.finish_128()
    }
}

/// The partition (of `partitions`) a key belongs to: its hash, so that partitions are
/// even whatever the keys look like.
pub fn partition_of(key: &[u8], partitions: usize) -> usize {
    (XxHash3_64::oneshot(key) % partitions.max(1) as u64) as usize
}

fn resolved_hash(resolved: &Resolved<'_>) -> Fingerprint {
    match resolved {
        Resolved::Missing => XxHash3_128::oneshot(NULL),
        Resolved::Value(v) => value(*v),
        Resolved::Each(items) => {
            let mut hasher = XxHash3_128::new();
            hasher.write(&[ARRAY]);
            for item in items {
                hasher.write(&resolved_hash(item).to_le_bytes());
            }
            hasher.finish_128()
        }
        Resolved::Fields(fields) => {
            let mut sum = 0u128;
            for (key, v) in fields {
                let text = key.text().unwrap_or(Cow::Borrowed(""));
                sum = sum.wrapping_add(member(text.as_bytes(), value(*v)));
            }
            object(sum, fields.len())
        }
    }
}

/// The canonical hash of a value.
fn value(v: Value<'_>) -> Fingerprint {
    match v.kind() {
        Kind::Null => XxHash3_128::oneshot(NULL),
        Kind::Bool => XxHash3_128::oneshot(if v.raw() == b"true" { TRUE } else { FALSE }),
        Kind::String => {
            let text = v.as_str().unwrap_or(Cow::Borrowed(""));
            tagged(STRING, text.as_bytes())
        }
        Kind::Number => tagged(NUMBER, canonical_number(v.raw_text()).as_bytes()),
        Kind::Array => {
            let mut hasher = XxHash3_128::new();
            hasher.write(&[ARRAY]);
            for element in v.elements() {
                hasher.write(&value(element).to_le_bytes());
            }
            hasher.finish_128()
        }
        Kind::Object => {
            let mut sum = 0u128;
            let mut count = 0;
            for (key, field) in v.fields() {
                let text = key.text().unwrap_or(Cow::Borrowed(""));
                sum = sum.wrapping_add(member(text.as_bytes(), value(field)));
                count += 1;
            }
            object(sum, count)
        }
    }
}

fn tagged(tag: u8, bytes: &[u8]) -> Fingerprint {
    let mut hasher = XxHash3_128::new();
    hasher.write(&[tag]);
    hasher.write(bytes);
    hasher.finish_128()
}

/// One member of an object: its key with its value's hash.
fn member(key: &[u8], value: Fingerprint) -> Fingerprint {
    let mut hasher = XxHash3_128::new();
    hasher.write(&[MEMBER]);
    hasher.write(&(key.len() as u64).to_le_bytes());
    hasher.write(key);
    hasher.write(&value.to_le_bytes());
    hasher.finish_128()
}

/// An object from the sum of its members' hashes and their count.
fn object(sum: u128, count: usize) -> Fingerprint {
    let mut hasher = XxHash3_128::new();
    hasher.write(&[OBJECT]);
    hasher.write(&sum.to_le_bytes());
    hasher.write(&(count as u64).to_le_bytes());
    hasher.finish_128()
}

/// A number's canonical text: an integer as written (less a sign on zero), another
/// number as the shortest decimal of its double, or as an integer when it is one.
fn canonical_number(raw: &str) -> Cow<'_, str> {
    let integer = !raw.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if integer {
        return match raw {
            "-0" => Cow::Borrowed("0"),
            _ => Cow::Borrowed(raw),
        };
    }
    match raw.parse::<f64>() {
        Ok(x) if x.abs() == 0.0 => Cow::Borrowed("0"),
        // Integral doubles within the range where every integer is exact read as the
        // integer they are, so `1.0` and `1e2` meet `1` and `100`.
        Ok(x) if x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 => {
            Cow::Owned(format!("{}", x as i64))
        }
        Ok(x) if x.is_finite() => Cow::Owned(format!("{x:e}")),
        _ => Cow::Borrowed(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::parse_select;
    use crate::record::RecordParser;

    fn fp(line: &str) -> Fingerprint {
        let mut parser = RecordParser::default();
        let record = parser.parse(line.as_bytes()).expect("valid line");
        Fingerprinter::new(KeyField::BrazeId, None).fingerprint(&record)
    }

    fn fp_selected(select: &str, line: &str) -> Fingerprint {
        let selection = Selection::new(&parse_select(select).expect("selection"));
        let mut parser = RecordParser::default();
        let record = parser.parse(line.as_bytes()).expect("valid line");
        Fingerprinter::new(KeyField::BrazeId, Some(Arc::new(selection))).fingerprint(&record)
    }

    #[test]
    fn key_order_white_space_and_escapes_do_not_count() {
        let a = fp(r#"{"braze_id":"b1","x":{"p":1,"q":[1,{"r":"é","s":null}]},"y":true}"#);
        let b = fp(
            r#"{ "y" : true , "x" : { "q" : [ 1 , { "s" : null, "r" : "\u00e9" } ] , "p" : 1 } , "braze_id" : "b1" }"#,
        );
        assert_eq!(a, b);
        assert_eq!(fp(r#"{"n":1}"#), fp(r#"{"n":1.0}"#));
        assert_eq!(fp(r#"{"n":100}"#), fp(r#"{"n":1e2}"#));
        assert_eq!(fp(r#"{"n":0.5}"#), fp(r#"{"n":5e-1}"#));
        assert_eq!(fp(r#"{"n":0}"#), fp(r#"{"n":-0.0}"#));
    }

    #[test]
    fn any_change_of_a_value_counts() {
        let base = fp(r#"{"a":[1,2],"b":{"c":"x"},"d":1}"#);
        for other in [
            r#"{"a":[2,1],"b":{"c":"x"},"d":1}"#,
            r#"{"a":[1,2],"b":{"c":"y"},"d":1}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":"1"}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":1,"e":null}"#,
            r#"{"a":[1,2],"b":{"c":"x","e":null},"d":1}"#,
            r#"{"a":[1,2],"b":{"C":"x"},"d":1}"#,
            r#"{"a":[1,2,null],"b":{"c":"x"},"d":1}"#,
            r#"{"a":[1,2],"b":{"c":"x"},"d":1.5}"#,
            r#"{"a":[[1,2]],"b":{"c":"x"},"d":1}"#,
        ] {
            assert_ne!(base, fp(other), "{other}");
        }
        // Swapping values between keys is a change, though the sum of members has the
        // same values.
        assert_ne!(fp(r#"{"a":1,"b":2}"#), fp(r#"{"a":2,"b":1}"#));
        assert_ne!(fp(r#"{"a":true}"#), fp(r#"{"a":false}"#));
        assert_ne!(fp(r#"{"a":"true"}"#), fp(r#"{"a":true}"#));
        assert_ne!(fp(r#"{"a":null}"#), fp(r#"{"a":"null"}"#));
    }

    #[test]
    fn a_selection_fingerprints_only_its_values_in_its_order() {
        let line = r#"{"braze_id":"b1","email":"e","x":{"y":1,"z":2},"other":1}"#;
        let changed_elsewhere = r#"{"braze_id":"b1","email":"e","x":{"z":2,"y":1},"other":2}"#;
        assert_eq!(
            fp_selected("braze_id,email,x", line),
            fp_selected("braze_id,email,x", changed_elsewhere)
        );
        assert_ne!(fp_selected("braze_id,email,x", line), fp(line));
        assert_ne!(
            fp_selected("email,braze_id", line),
            fp_selected("braze_id,email", line)
        );
        // A missing item is written as null.
        assert_eq!(
            fp_selected("braze_id,nope", line),
            fp_selected("braze_id,nope", r#"{"braze_id":"b1","nope":null}"#)
        );
        assert_ne!(
            fp_selected("x.y", line),
            fp_selected("x.y", r#"{"x":{"y":2}}"#)
        );
    }

    #[test]
    fn keys_are_top_level_strings() {
        let mut parser = RecordParser::default();
        let fingerprinter = Fingerprinter::new(KeyField::ExternalId, None);
        let cases = [
            (r#"{"external_id":"u\u0031"}"#, Ok("u1")),
            (r#"{"braze_id":"b"}"#, Err(NoKey::Missing)),
            (r#"{"external_id":7}"#, Err(NoKey::NotAString)),
            (r#"{"external_id":null}"#, Err(NoKey::NotAString)),
            (r#"{"external_id":""}"#, Err(NoKey::Empty)),
            (r#"{"x":{"external_id":"u1"}}"#, Err(NoKey::Missing)),
        ];
        for (line, want) in cases {
            let record = parser.parse(line.as_bytes()).expect("valid");
            let got = fingerprinter.key(&record).map(|k| k.into_owned());
            assert_eq!(got, want.map(str::to_string), "{line}");
        }
    }

    #[test]
    fn fingerprints_are_stable_across_versions() {
        // A state written by one version is read by the next: the hash of a known row
        // must never change (a change here needs a new state format version).
        assert_eq!(
            format!("{:032x}", fp(r#"{"braze_id":"b1","n":[1,"x",null,true]}"#)),
            "6684fbc988498df2ca2b6e14da6504fd"
        );
    }
}
