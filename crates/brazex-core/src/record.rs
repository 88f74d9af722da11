//! One line of NDJSON, validated and navigated by its structural index.
//!
//! simd-json's first stage finds the byte offset of every structural character
//! (`{ } [ ] : ,` and the first byte of every scalar) and checks the UTF-8; our second
//! stage ([`crate::grammar`]) checks the rest and pairs the brackets. We then walk the
//! structural index over the *original* line: a value is a byte range of the input, so
//! a selected value is re-emitted as the exact JSON text it had (big integers, `1.5e2`
//! and string escapes survive), and looking up a key never materialises a document.

use std::borrow::Cow;
use std::ops::Range;

use simd_json::Buffers;

use crate::grammar;

/// Why a line is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// What simd-json (or the object check) said.
    pub message: String,
    /// Byte offset in the line where it was noticed, when known.
    pub offset: Option<usize>,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "{} (at byte {} of the line)", self.message, offset + 1),
            None => f.write_str(&self.message),
        }
    }
}

/// Parses lines, reusing its buffers so that the hot path does not allocate.
pub struct RecordParser {
    index: Index,
    stack: Vec<u32>,
}

/// What parsing found out about the current line, kept in the parser. A [`Record`]
/// (and so every [`Value`]) refers to it by one pointer: values are copied on every
/// step of a walk and into every row's cells, and carrying these slices in each of
/// them made a value 64 bytes, 32 now.
struct Index {
    /// Stage one's output: the structural index.
    buffers: Buffers,
    /// For each structural that opens an object or array, the structural closing it
    /// (see [`grammar::check`]).
    closes: Vec<u32>,
    /// Whether the line has any escape: without one, a string's text is its bytes.
    escaped: bool,
}

impl Index {
    fn structurals(&self) -> &[u32] {
        self.buffers.structural_indexes()
    }
}

impl std::fmt::Debug for RecordParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordParser").finish_non_exhaustive()
    }
}

impl Default for RecordParser {
    fn default() -> Self {
        RecordParser {
            index: Index {
                buffers: Buffers::new(64 * 1024),
                closes: Vec::new(),
                escaped: false,
            },
            stack: Vec::new(),
        }
    }
}

impl RecordParser {
    /// Validates `line` as one JSON object and returns a view for navigating it.
    pub fn parse<'a>(&'a mut self, line: &'a [u8]) -> Result<Record<'a>, JsonError> {
        // Stage one (simd-json) reads the line in place: no copy, no padding.
        if let Err(e) = simd_json::structural_indexes(line, &mut self.index.buffers) {
            return Err(describe_invalid(line, &format!("{:?}", e.error()), None));
        }
        let index = &mut self.index;
        let structurals = index.buffers.structural_indexes();
        index.escaped = match grammar::check(line, structurals, &mut index.closes, &mut self.stack)
        {
            Ok(escaped) => escaped,
            Err(invalid) => return Err(describe_invalid(line, invalid.what, Some(invalid.offset))),
        };
        let record = Record {
            line,
            index: &self.index,
        };
        let structurals = self.index.structurals();
        match structurals.first().and_then(|&s| line.get(s as usize)) {
            Some(b'{') => Ok(record),
            _ => Err(JsonError {
                message: "expected a JSON object, found another JSON value".to_string(),
                offset: structurals.first().map(|&s| s as usize),
            }),
        }
    }
}

/// Says what is wrong with an invalid line. serde_json's messages say what was
/// expected and where, so the error path asks it; the hot path never gets here.
fn describe_invalid(line: &[u8], ours: &str, offset: Option<usize>) -> JsonError {
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        Err(e) => JsonError {
            message: e.to_string().replace(" at line 1 column ", " at column "),
            offset: None,
        },
        // serde_json accepted what we did not (nesting deeper than it would look):
        // report our own words.
        Ok(_) => JsonError {
            message: ours.to_string(),
            offset,
        },
    }
}

/// A validated line and its structural index.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    line: &'a [u8],
    index: &'a Index,
}

impl std::fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("line", &String::from_utf8_lossy(self.line))
            .finish_non_exhaustive()
    }
}

impl<'a> Record<'a> {
    /// The top-level object.
    pub fn root(&self) -> Value<'a> {
        Value {
            record: *self,
            node: 0,
        }
    }

    /// The line's bytes.
    pub fn line(&self) -> &'a [u8] {
        self.line
    }

    /// The value whose first structural is `node` (from [`Value::node`]).
    pub(crate) fn value_at(&self, node: usize) -> Value<'a> {
        Value {
            record: *self,
            node,
        }
    }

    fn structurals(&self) -> &'a [u32] {
        self.index.structurals()
    }

    fn byte(&self, node: usize) -> u8 {
        self.structurals()
            .get(node)
            .and_then(|&p| self.line.get(p as usize))
            .copied()
            .unwrap_or(0)
    }

    fn pos(&self, node: usize) -> usize {
        self.structurals()
            .get(node)
            .map_or(self.line.len(), |&p| p as usize)
    }
}

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// A value in a [`Record`]: a position in its structural index.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    record: Record<'a>,
    /// Index into the structural index of the value's first byte.
    node: usize,
}

impl<'a> Value<'a> {
    /// The value's position in its record's structural index: lets callers keep
    /// positions in scratch space that outlives the record.
    pub(crate) fn node(&self) -> usize {
        self.node
    }

    pub fn kind(&self) -> Kind {
        match self.record.byte(self.node) {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => Kind::Number,
        }
    }

    /// The structural after the value's last one.
    fn next_node(&self) -> usize {
        match self.record.byte(self.node) {
            b'{' | b'[' => self
                .record
                .index
                .closes
                .get(self.node)
                .map_or(self.record.structurals().len(), |&close| close as usize + 1),
            _ => self.node + 1,
        }
    }

    /// The byte range of the value's JSON text in the line.
    pub fn span(&self) -> Range<usize> {
        let start = self.record.pos(self.node);
        let end = match self.kind() {
            Kind::Object | Kind::Array => self.record.pos(self.next_node() - 1) + 1,
            _ => {
                // A scalar runs to the next structural, less the white space before it.
                let mut end = self.record.pos(self.node + 1);
                while end > start && self.record.line[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                end
            }
        };
        start..end
    }

    /// The value's JSON text exactly as in the input.
    pub fn raw(&self) -> &'a [u8] {
        &self.record.line[self.span()]
    }

    /// The value's JSON text exactly as in the input, as text.
    pub fn raw_text(&self) -> &'a str {
        validated_str(self.raw())
    }

    /// The fields of an object, in input order (empty for other kinds).
    pub fn fields(&self) -> Fields<'a> {
        let next = if self.kind() == Kind::Object && self.record.byte(self.node + 1) != b'}' {
            Some(self.node + 1)
        } else {
            None
        };
        Fields {
            record: self.record,
            next,
        }
    }

    /// The elements of an array, in order (empty for other kinds).
    pub fn elements(&self) -> Elements<'a> {
        let next = if self.kind() == Kind::Array && self.record.byte(self.node + 1) != b']' {
            Some(self.node + 1)
        } else {
            None
        };
        Elements {
            record: self.record,
            next,
        }
    }

    /// The value of `key` in an object (the first one, if the key repeats).
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.fields().find(|(k, _)| k.matches(key)).map(|(_, v)| v)
    }

    /// The text of a string value, unescaped.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        if self.kind() != Kind::String {
            return None;
        }
        let raw = self.raw();
        if !self.record.index.escaped {
            let inner = raw.get(1..raw.len().saturating_sub(1))?;
            return Some(Cow::Borrowed(validated_str(inner)));
        }
        unquote(raw)
    }
}

/// Unescapes a quoted JSON string (validated input).
fn unquote(raw: &[u8]) -> Option<Cow<'_, str>> {
    let inner = raw.get(1..raw.len().saturating_sub(1))?;
    if memchr::memchr(b'\\', inner).is_none() {
        Some(Cow::Borrowed(validated_str(inner)))
    } else {
        serde_json::from_slice::<String>(raw).ok().map(Cow::Owned)
    }
}

/// A piece of a parsed line as text, without checking its UTF-8 again.
///
/// Only for slices of a [`Record`]'s line that start and end at ASCII bytes (a value's
/// span, or a string's content between its quotes): [`RecordParser::parse`] accepts a
/// line only after simd-json's first stage has validated all of it as UTF-8, and a
/// slice of valid UTF-8 cut at ASCII bytes is valid UTF-8. The checked conversion
/// showed up at about 4 % of the Parquet path's profile.
#[allow(unsafe_code)]
fn validated_str(bytes: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: see above; the slice is valid UTF-8 by the parser's own validation.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// An object key as it stands in the input (with its quotes and escapes).
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    raw: &'a [u8],
}

impl<'a> Key<'a> {
    /// True when the key, unescaped, equals `key`.
    pub fn matches(&self, key: &str) -> bool {
        let inner = self
            .raw
            .get(1..self.raw.len().saturating_sub(1))
            .unwrap_or(&[]);
        if inner == key.as_bytes() {
            // Equal as written; with a backslash in it, the unescaped key is not.
            return !inner.contains(&b'\\');
        }
        // An escape is always longer than the text it stands for, so only a longer key
        // with a backslash can still match: most comparisons end on the length.
        inner.len() > key.len()
            && inner.contains(&b'\\')
            && unquote(self.raw).is_some_and(|k| k == key)
    }

    /// The key as written, with its quotes.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The key as written, between its quotes.
    fn inner(&self) -> &'a [u8] {
        self.raw
            .get(1..self.raw.len().saturating_sub(1))
            .unwrap_or(&[])
    }

    /// The key, unescaped.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        unquote(self.raw)
    }
}

/// A fixed list of names, and which of them an object key is.
///
/// Keys are looked up once per field of every row, so this is on the hot path of
/// typed output: the field after the previous one in the list is tried first (fields
/// usually come in a known order), then only the names of the key's length. Scanning
/// the list from the hint instead cost about 7 % of the Parquet path's CPU when a
/// record's fields came in another order than the schema's.
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    names: Vec<String>,
    /// Names with a backslash, which a key equals only once unescaped.
    backslash: Vec<bool>,
    /// `by_len[n]`: the positions of the names of `n` bytes.
    by_len: Vec<Vec<usize>>,
}

impl KeyIndex {
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> KeyIndex {
        let mut index = KeyIndex::default();
        for name in names {
            index.push(name.into());
        }
        index
    }

    /// Adds a name at the end and returns its position. Names must be distinct.
    pub fn push(&mut self, name: String) -> usize {
        debug_assert!(!self.names.contains(&name), "repeated name {name}");
        let len = name.len();
        if self.by_len.len() <= len {
            self.by_len.resize(len + 1, Vec::new());
        }
        self.by_len[len].push(self.names.len());
        self.backslash.push(name.contains('\\'));
        self.names.push(name);
        self.names.len() - 1
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The position of `name` in the list.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_len
            .get(name.len())?
            .iter()
            .copied()
            .find(|&i| self.names[i] == name)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The position of the first name equal to `key` (unescaped), trying `hint` first:
    /// a caller that passes the position after the previous key's finds most keys at
    /// the first try.
    pub fn find(&self, key: &Key<'_>, hint: usize) -> Option<usize> {
        // A key written as a name without a backslash has no escape either: it is
        // that name. Only a key with a backslash needs unescaping (rare).
        let inner = key.inner();
        let plain = |i: usize| !self.backslash[i] && same_bytes(self.names[i].as_bytes(), inner);
        if hint < self.names.len() && plain(hint) {
            return Some(hint);
        }
        if let Some(i) = self
            .by_len
            .get(inner.len())
            .and_then(|c| c.iter().copied().find(|&i| plain(i)))
        {
            return Some(i);
        }
        if memchr::memchr(b'\\', inner).is_some() {
            let text = key.text()?;
            return self.names.iter().position(|n| *n == text);
        }
        None
    }
}

/// Byte equality without a call to `memcmp`: keys are short, and the call was a
/// visible part of the Parquet path's profile.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Eight bytes at a time; the last word overlaps the one before it.
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_ne_bytes)
    };
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// Iterator over an object's fields.
#[derive(Debug)]
pub struct Fields<'a> {
    record: Record<'a>,
    /// The structural of the next key.
    next: Option<usize>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (Key<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let key_node = self.next?;
        // key, ':', value
        let mut key_end = self.record.pos(key_node + 1);
        let key_start = self.record.pos(key_node);
        while key_end > key_start && self.record.line[key_end - 1].is_ascii_whitespace() {
            key_end -= 1;
        }
        let key = Key {
            raw: &self.record.line[key_start..key_end],
        };
        let value = Value {
            record: self.record,
            node: key_node + 2,
        };
        let after = value.next_node();
        self.next = (self.record.byte(after) == b',').then_some(after + 1);
        Some((key, value))
    }
}

/// Iterator over an array's elements.
#[derive(Debug)]
pub struct Elements<'a> {
    record: Record<'a>,
    next: Option<usize>,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let node = self.next?;
        let value = Value {
            record: self.record,
            node,
        };
        let after = value.next_node();
        self.next = (self.record.byte(after) == b',').then_some(after + 1);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_str(v: Value<'_>) -> String {
        String::from_utf8_lossy(v.raw()).into_owned()
    }

    #[test]
    fn values_keep_their_text() {
        let line = br#"{ "a" : 12345678901234567891 , "b":1.5e2,"c" :"x\"y\u00e9" ,"d":[1, {"e": null} ,[]],"f":{},"g":true}"#;
        let mut parser = RecordParser::default();
        let rec = parser.parse(line).expect("valid");
        let root = rec.root();
        assert_eq!(raw_str(root), String::from_utf8_lossy(line));
        assert_eq!(raw_str(root.get("a").expect("a")), "12345678901234567891");
        assert_eq!(raw_str(root.get("b").expect("b")), "1.5e2");
        assert_eq!(raw_str(root.get("c").expect("c")), r#""x\"y\u00e9""#);
        assert_eq!(
            root.get("c").and_then(|v| v.as_str()).as_deref(),
            Some("x\"yé")
        );
        assert_eq!(
            raw_str(root.get("d").expect("d")),
            r#"[1, {"e": null} ,[]]"#
        );
        let elems: Vec<String> = root.get("d").expect("d").elements().map(raw_str).collect();
        assert_eq!(elems, vec!["1", r#"{"e": null}"#, "[]"]);
        assert_eq!(raw_str(root.get("f").expect("f")), "{}");
        assert_eq!(root.get("f").expect("f").fields().count(), 0);
        assert_eq!(root.get("g").expect("g").kind(), Kind::Bool);
        assert!(root.get("zz").is_none());
    }

    #[test]
    fn escaped_and_repeated_keys() {
        let line = br#"{"a\u002eb":1,"k":1,"k":2}"#;
        let mut parser = RecordParser::default();
        let rec = parser.parse(line).expect("valid");
        assert_eq!(raw_str(rec.root().get("a.b").expect("escaped key")), "1");
        assert_eq!(raw_str(rec.root().get("k").expect("k")), "1");
    }

    #[test]
    fn keys_are_found_from_a_hint_and_skipping_is_exact() {
        let line = br#"{"b":[{"x":[1,{"y":2}]},[]],"a\u0063":{},"d":"}{","e":3}"#;
        let mut parser = RecordParser::default();
        let rec = parser.parse(line).expect("valid");
        let names = KeyIndex::new(["a", "b", "ac", "d", "e"]);
        let found: Vec<Option<usize>> = rec
            .root()
            .fields()
            .map(|(key, _)| names.find(&key, 3))
            .collect();
        assert_eq!(found, vec![Some(1), Some(2), Some(3), Some(4)]);
        // In any order, from any hint, and past the end of the list.
        for hint in 0..7 {
            let found: Vec<Option<usize>> = rec
                .root()
                .fields()
                .map(|(key, _)| names.find(&key, hint))
                .collect();
            assert_eq!(
                found,
                vec![Some(1), Some(2), Some(3), Some(4)],
                "hint {hint}"
            );
        }
        assert_eq!(
            KeyIndex::new(["x", "zz"]).find(&rec.root().fields().next().expect("b").0, 0),
            None
        );
        // Skipping over nested containers lands on the next field.
        let raw: Vec<String> = rec.root().fields().map(|(_, v)| raw_str(v)).collect();
        assert_eq!(raw, [r#"[{"x":[1,{"y":2}]},[]]"#, "{}", r#""}{""#, "3"]);
        assert_eq!(rec.root().get("b").expect("b").elements().count(), 2);
    }

    #[test]
    fn bytes_compare_equal_only_when_equal() {
        let text: Vec<u8> = (b'a'..=b'z').collect();
        for n in 0..text.len() {
            let a = &text[..n];
            assert!(same_bytes(a, a), "{n}");
            assert!(!same_bytes(a, &text[..n + 1]), "{n}");
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] = b'_';
                assert!(!same_bytes(a, &b), "{n} at {at}");
            }
        }
    }

    #[test]
    fn a_key_is_compared_unescaped() {
        // `"x\ny"` is x, newline, y: not the four characters x \ n y.
        let line = br#"{"x\ny":1,"p\\q":2}"#;
        let mut parser = RecordParser::default();
        let rec = parser.parse(line).expect("valid");
        let keys: Vec<Key<'_>> = rec.root().fields().map(|(k, _)| k).collect();
        assert!(!keys[0].matches(r"x\ny"));
        assert!(keys[0].matches("x\ny"));
        assert!(keys[1].matches(r"p\q"));
        let names = KeyIndex::new([r"x\ny", "x\ny", r"p\q"]);
        assert_eq!(names.find(&keys[0], 0), Some(1));
        assert_eq!(names.find(&keys[1], 0), Some(2));
    }

    /// The text of the string at `key` in `line`.
    fn string_at<'a>(parser: &'a mut RecordParser, line: &'a [u8], key: &str) -> Cow<'a, str> {
        let record = parser.parse(line).expect("valid");
        record
            .root()
            .get(key)
            .and_then(|v| v.as_str())
            .expect("a string")
    }

    #[test]
    fn strings_are_unescaped_in_lines_with_escapes_and_borrowed_in_others() {
        let mut parser = RecordParser::default();
        let escaped = br#"{"a":"x\"y","b":"\u00e9","c":"plain"}"#;
        assert_eq!(string_at(&mut parser, escaped, "a"), "x\"y");
        assert_eq!(string_at(&mut parser, escaped, "b"), "\u{e9}");
        assert!(matches!(
            string_at(&mut parser, escaped, "c"),
            Cow::Borrowed("plain")
        ));
        // A line without escapes, after one with: its strings are the line's own bytes.
        let plain = r#"{"a":"x/y","b":"é"}"#.as_bytes();
        assert!(matches!(
            string_at(&mut parser, plain, "a"),
            Cow::Borrowed("x/y")
        ));
        assert!(matches!(
            string_at(&mut parser, plain, "b"),
            Cow::Borrowed("é")
        ));
    }

    #[test]
    fn invalid_lines_are_rejected() {
        let mut parser = RecordParser::default();
        for bad in [
            &br#"{"a": }"#[..],
            br#"{"a": 1"#,
            br#"{"a": tru}"#,
            br#"[1,2]"#,
            br#""s""#,
            b"{\"a\": \"\xff\"}",
            br#"{"a": 1} x"#,
        ] {
            assert!(
                parser.parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // The parser is still usable after an error.
        assert!(parser.parse(br#"{"ok":1}"#).is_ok());
    }
}
