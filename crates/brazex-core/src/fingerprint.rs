//! Fingerprints of rows, for incremental loads (`--state`, `--changes-since`).
//!
//! A fingerprint is a 128-bit XXH3 hash of a row's *canonical form*: the values the
//! row writes (the `--select`ed items in order, or the whole object), where
//! - an object is the set of its members: the order of the keys does not count;
//! - white space does not count;
//! - a string is its text once unescaped (`"\u00e9"` and `"é"` are the same string);
//! - a number is its exact decimal value: `1`, `1.0`, `10e-1` are the same number
//!   (compared digit by digit, never through a double, so big integers stay exact);
//! - arrays keep their order.
//!
//! So a user that Braze serialised again with its keys in another order is not a
//! change, and any change of a value is. The hash is computed from the structural
//! index, without building a document: an object's members are hashed one by one and
//! added (wrapping), which makes the order irrelevant without sorting anything; every
//! hash is one-shot over a small buffer (the streaming form costs several times more
//! on inputs this small).
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
    /// The walk's stack of bytes to hash ([`value`]).
    scratch: Vec<u8>,
    /// A selection's items' hashes.
    items: Vec<u8>,
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
            scratch: Vec::new(),
            items: Vec::new(),
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
        self.scratch.clear();
        let Some(selection) = &self.selection else {
            return value(record.root(), &mut self.scratch);
        };
        let scratch = &mut self.scratch;
        let mut items = std::mem::take(&mut self.items);
        items.clear();
        items.push(ROW);
        selection.resolve(record, &mut self.slots, |_, resolved| {
            items.extend_from_slice(&resolved_hash(&resolved, scratch).to_le_bytes());
        });
        let h = XxHash3_128::oneshot(&items);
        self.items = items;
        h
    }
}

/// The partition (of `partitions`) a key belongs to: its hash, so that partitions are
/// even whatever the keys look like.
pub fn partition_of(key: &[u8], partitions: usize) -> usize {
    (XxHash3_64::oneshot(key) % partitions.max(1) as u64) as usize
}

/// Within its partition of `partitions`, the part (of `parts`) a key belongs to: other
/// bits of the same hash, so a partition too large to compare at once splits evenly.
pub fn subpartition_of(key: &[u8], partitions: usize, parts: usize) -> usize {
    let hash = XxHash3_64::oneshot(key) / partitions.max(1) as u64;
    (hash % parts.max(1) as u64) as usize
}

/// An 8-byte digest of a (key, fingerprint) pair under `salt`: what the state's
/// prefilter (`brazex_dest::state::Digests`) holds per user. A new salt each run makes
/// a collision (about 2^-64 per pair) a matter of one run, never of every run.
pub fn digest(salt: u64, key: &[u8], fp: Fingerprint) -> u64 {
    let seed = XxHash3_64::oneshot_with_seed(salt, key);
    XxHash3_64::oneshot_with_seed(seed, &fp.to_le_bytes())
}

fn resolved_hash(resolved: &Resolved<'_>, scratch: &mut Vec<u8>) -> Fingerprint {
    match resolved {
        Resolved::Missing => XxHash3_128::oneshot(NULL),
        Resolved::Value(v) => value(*v, scratch),
        Resolved::Each(items) => {
            let start = scratch.len();
            scratch.push(ARRAY);
            for item in items {
                let h = resolved_hash(item, scratch);
                scratch.extend_from_slice(&h.to_le_bytes());
            }
            let h = XxHash3_128::oneshot(&scratch[start..]);
            scratch.truncate(start);
            h
        }
        Resolved::Fields(fields) => {
            let mut sum = 0u128;
            for (key, v) in fields {
                let h = value(*v, scratch);
                let text = key.text().unwrap_or(Cow::Borrowed(""));
                sum = sum.wrapping_add(member(text.as_bytes(), h, scratch));
            }
            object(sum, fields.len())
        }
    }
}

/// The canonical hash of a value. `scratch` is a stack of bytes to hash, shared by
/// the levels of the walk (each level hashes and truncates what it pushed): one-shot
/// XXH3 on a buffer is several times faster than its streaming form on small inputs.
fn value(v: Value<'_>, scratch: &mut Vec<u8>) -> Fingerprint {
    match v.kind() {
        Kind::Null => XxHash3_128::oneshot(NULL),
        Kind::Bool => XxHash3_128::oneshot(if v.raw() == b"true" { TRUE } else { FALSE }),
        Kind::String => {
            let text = v.as_str().unwrap_or(Cow::Borrowed(""));
            XxHash3_128::oneshot_with_seed(u64::from(STRING), text.as_bytes())
        }
        Kind::Number => {
            let start = scratch.len();
            canonical_number(v.raw(), scratch);
            let h = XxHash3_128::oneshot_with_seed(u64::from(NUMBER), &scratch[start..]);
            scratch.truncate(start);
            h
        }
        Kind::Array => {
            let start = scratch.len();
            scratch.push(ARRAY);
            for element in v.elements() {
                let h = value(element, scratch);
                scratch.extend_from_slice(&h.to_le_bytes());
            }
            let h = XxHash3_128::oneshot(&scratch[start..]);
            scratch.truncate(start);
            h
        }
        Kind::Object => {
            let mut sum = 0u128;
            let mut count = 0;
            for (key, field) in v.fields() {
                let h = value(field, scratch);
                let text = key.text().unwrap_or(Cow::Borrowed(""));
                sum = sum.wrapping_add(member(text.as_bytes(), h, scratch));
                count += 1;
            }
            object(sum, count)
        }
    }
}

/// One member of an object: its key with its value's hash.
fn member(key: &[u8], value: Fingerprint, scratch: &mut Vec<u8>) -> Fingerprint {
    let start = scratch.len();
    scratch.extend_from_slice(&value.to_le_bytes());
    scratch.extend_from_slice(key);
    let h = XxHash3_128::oneshot_with_seed(u64::from(MEMBER), &scratch[start..]);
    scratch.truncate(start);
    h
}

/// An object from the sum of its members' hashes and their count.
fn object(sum: u128, count: usize) -> Fingerprint {
    let mut bytes = [0u8; 25];
    bytes[0] = OBJECT;
    bytes[1..17].copy_from_slice(&sum.to_le_bytes());
    bytes[17..].copy_from_slice(&(count as u64).to_le_bytes());
    XxHash3_128::oneshot(&bytes)
}

/// Appends a number's canonical form: its exact decimal value as sign, significant
/// digits (no leading or trailing zeros) and the exponent `e` of `0.DIGITS × 10^e`.
/// So `1`, `1.0`, `10e-1` and `0.1e1` are one number, whatever their size, with no
/// rounding through a double; every zero is `0`.
fn canonical_number(raw: &[u8], out: &mut Vec<u8>) {
    let (negative, rest) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    let mantissa_end = rest
        .iter()
        .position(|b| matches!(b, b'e' | b'E'))
        .unwrap_or(rest.len());
    let (mantissa, exponent) = rest.split_at(mantissa_end);
    let exponent: i64 = match exponent.get(1..) {
        None => 0,
        // Validated JSON: digits with an optional sign; an absurd exponent saturates.
        Some(text) => std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.trim_start_matches('+').parse().ok())
            .unwrap_or(if text.first() == Some(&b'-') {
                i64::MIN / 2
            } else {
                i64::MAX / 2
            }),
    };
    let point = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    let start = out.len();
    out.push(if negative { b'-' } else { b'+' });
    let digits_start = out.len();
    let mut scale = point as i64;
    let mut leading = true;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if leading && b == b'0' {
            scale -= 1;
            continue;
        }
        leading = false;
        out.push(b);
    }
    while out.len() > digits_start && out[out.len() - 1] == b'0' {
        out.pop();
    }
    if out.len() == digits_start {
        out.truncate(start);
        out.push(b'0');
        return;
    }
    out.extend_from_slice(&scale.saturating_add(exponent).to_le_bytes());
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
        assert_eq!(fp(r#"{"n":1.5e2}"#), fp(r#"{"n":150}"#));
        assert_eq!(fp(r#"{"n":0.05}"#), fp(r#"{"n":5E-2}"#));
        assert_eq!(fp(r#"{"n":-12.50}"#), fp(r#"{"n":-1.25e+1}"#));
        // Exact: integers past a double's precision still differ.
        assert_ne!(
            fp(r#"{"n":12345678901234567891}"#),
            fp(r#"{"n":12345678901234567892}"#)
        );
        assert_ne!(fp(r#"{"n":1}"#), fp(r#"{"n":-1}"#));
        assert_ne!(fp(r#"{"n":10}"#), fp(r#"{"n":1}"#));
        assert_ne!(fp(r#"{"n":0.1}"#), fp(r#"{"n":1}"#));
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
            "23bda4bfafafe894ea3d6bbf38a00cf8"
        );
    }
}
