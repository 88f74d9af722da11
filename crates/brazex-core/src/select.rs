//! `--select`: builds each output object from the selected paths of a record.
//!
//! The top-level object is walked once, keeping the value of every key a selected
//! path starts with; the rest of each path is then resolved inside that value. Values
//! are copied as the input's own JSON text.

use crate::path::{Segment, SelectItem};
use crate::record::{Key, Kind, Record, Value};

/// A compiled `--select`.
#[derive(Debug, Clone)]
pub struct Selection {
    items: Vec<CompiledItem>,
    /// The distinct top-level keys the items start with.
    roots: Vec<String>,
}

#[derive(Debug, Clone)]
struct CompiledItem {
    /// The output name (alias or path as written).
    name: String,
    /// `{"name":` for the first item, `,"name":` for the others.
    prefix: Vec<u8>,
    /// Index into `Selection::roots`.
    root: usize,
    /// The path's segments (the first one names the root).
    segments: Vec<Segment>,
}

impl Selection {
    /// Compiles the items of a `--select`; the output has them in this order.
    pub fn new(items: &[SelectItem]) -> Selection {
        let mut roots: Vec<String> = Vec::new();
        let items = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let root_key = item.path.root_key();
                let root = roots.iter().position(|r| r == root_key).unwrap_or_else(|| {
                    roots.push(root_key.to_string());
                    roots.len() - 1
                });
                let mut prefix = Vec::new();
                prefix.push(if i == 0 { b'{' } else { b',' });
                // Serialising a string cannot fail.
                prefix.extend_from_slice(
                    serde_json::to_string(&item.name)
                        .unwrap_or_default()
                        .as_bytes(),
                );
                prefix.push(b':');
                CompiledItem {
                    name: item.name.clone(),
                    prefix,
                    root,
                    segments: item.path.segments.clone(),
                }
            })
            .collect();
        Selection { items, roots }
    }

    /// The output names of the items, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|i| i.name.as_str())
    }

    /// The paths of the items, in order.
    pub fn paths(&self) -> impl Iterator<Item = &[Segment]> {
        self.items.iter().map(|i| i.segments.as_slice())
    }

    /// Resolves every item of `record` to values, for encoders that need typed values
    /// rather than JSON text: `each(index, resolved)` is called once per item, in order.
    pub fn resolve<'a>(
        &self,
        record: &Record<'a>,
        slots: &mut Vec<Option<usize>>,
        mut each: impl FnMut(usize, Resolved<'a>),
    ) {
        find_roots(record, &self.roots, slots);
        for (index, item) in self.items.iter().enumerate() {
            let value = slots[item.root].map(|node| record.value_at(node));
            each(
                index,
                resolve_key_value(value, &item.segments[0], &item.segments[1..]),
            );
        }
    }

    /// The distinct top-level keys the selection reads.
    pub fn root_keys(&self) -> &[String] {
        &self.roots
    }

    /// Appends the selected object for `record` to `out`, with a newline.
    /// `slots` is scratch space reused between records.
    pub fn write(&self, record: &Record<'_>, slots: &mut Vec<Option<usize>>, out: &mut Vec<u8>) {
        find_roots(record, &self.roots, slots);
        for item in &self.items {
            out.extend_from_slice(&item.prefix);
            let value = slots[item.root].map(|node| record.value_at(node));
            emit_key_value(value, &item.segments[0], &item.segments[1..], out);
        }
        if self.items.is_empty() {
            out.push(b'{');
        }
        out.extend_from_slice(b"}\n");
    }
}

/// Fills `slots[i]` with the value of top-level key `roots[i]`.
///
/// A repeated key resolves to its first occurrence (as in [`Value::get`]): RFC 8259
/// leaves repeated names undefined, Braze never writes them, and stopping at the last
/// wanted key saves walking the rest of the line.
/// Slots hold the values' positions in the structural index.
pub fn find_roots(record: &Record<'_>, roots: &[String], slots: &mut Vec<Option<usize>>) {
    slots.clear();
    slots.resize(roots.len(), None);
    let mut remaining = roots.len();
    for (key, value) in record.root().fields() {
        for (slot, root) in slots.iter_mut().zip(roots) {
            if slot.is_none() && key.matches(root) {
                *slot = Some(value.node());
                remaining -= 1;
            }
        }
        if remaining == 0 {
            break;
        }
    }
}

/// A selected item's value, before encoding.
#[derive(Debug, Clone)]
pub enum Resolved<'a> {
    /// The path leads nowhere (a missing key, or `[]` on something not an array).
    Missing,
    /// The value at the path.
    Value(Value<'a>),
    /// A path with `[]`: one resolution per element of the array.
    Each(Vec<Resolved<'a>>),
    /// The fields of an object that have no column of their own (the
    /// `custom_attributes__rest` column): one JSON object, each key and value as it
    /// stands in the input.
    Fields(Vec<(Key<'a>, Value<'a>)>),
}

impl Resolved<'_> {
    /// Appends the JSON text of the value (`[]` paths become arrays, missing is null).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Resolved::Missing => out.extend_from_slice(b"null"),
            Resolved::Value(v) => out.extend_from_slice(v.raw()),
            Resolved::Each(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            Resolved::Fields(fields) => {
                out.push(b'{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(key.raw());
                    out.push(b':');
                    out.extend_from_slice(value.raw());
                }
                out.push(b'}');
            }
        }
    }
}

fn resolve_key_value<'a>(
    value: Option<Value<'a>>,
    segment: &Segment,
    rest: &[Segment],
) -> Resolved<'a> {
    if !segment.each {
        return resolve_from(value, rest);
    }
    match value {
        Some(array) if array.kind() == Kind::Array => Resolved::Each(
            array
                .elements()
                .map(|e| resolve_from(Some(e), rest))
                .collect(),
        ),
        _ => Resolved::Missing,
    }
}

fn resolve_from<'a>(value: Option<Value<'a>>, rest: &[Segment]) -> Resolved<'a> {
    match (value, rest.split_first()) {
        (None, _) => Resolved::Missing,
        (Some(v), None) => Resolved::Value(v),
        (Some(v), Some((segment, rest))) => resolve_key_value(v.get(&segment.key), segment, rest),
    }
}

/// Writes the value of a key (`value`), applying that key's segment and the rest.
fn emit_key_value(
    value: Option<Value<'_>>,
    segment: &Segment,
    rest: &[Segment],
    out: &mut Vec<u8>,
) {
    if !segment.each {
        return emit_from(value, rest, out);
    }
    match value {
        Some(array) if array.kind() == Kind::Array => {
            out.push(b'[');
            for (i, element) in array.elements().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                emit_from(Some(element), rest, out);
            }
            out.push(b']');
        }
        _ => out.extend_from_slice(b"null"),
    }
}

/// Writes what remains of a path from `value`.
fn emit_from(value: Option<Value<'_>>, rest: &[Segment], out: &mut Vec<u8>) {
    match (value, rest.split_first()) {
        (None, _) => out.extend_from_slice(b"null"),
        (Some(v), None) => out.extend_from_slice(v.raw()),
        (Some(v), Some((segment, rest))) => emit_key_value(v.get(&segment.key), segment, rest, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::parse_select;
    use crate::record::RecordParser;

    fn select(spec: &str, line: &str) -> String {
        let selection = Selection::new(&parse_select(spec).expect("valid selection"));
        let mut parser = RecordParser::default();
        let record = parser.parse(line.as_bytes()).expect("valid line");
        let mut out = Vec::new();
        selection.write(&record, &mut Vec::new(), &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn selects_in_order_with_aliases_and_nulls() {
        let line = r#"{"email":"a@b.c","external_id":"u1","total_revenue":1.5e2,"x":null}"#;
        assert_eq!(
            select("external_id,rev=total_revenue,missing,email,x", line),
            "{\"external_id\":\"u1\",\"rev\":1.5e2,\"missing\":null,\"email\":\"a@b.c\",\"x\":null}\n"
        );
    }

    #[test]
    fn maps_over_arrays() {
        let line = r#"{"purchases":[{"name":"sku_pro","count":2},{"count":1},{"name":"gift_card"}],"p2":[],"p3":{"name":1}}"#;
        assert_eq!(
            select("purchases[].name,p2[].name,p3[].name,nope[].name,purchases[]", line),
            "{\"purchases[].name\":[\"sku_pro\",null,\"gift_card\"],\"p2[].name\":[],\"p3[].name\":null,\"nope[].name\":null,\"purchases[]\":[{\"name\":\"sku_pro\",\"count\":2},{\"count\":1},{\"name\":\"gift_card\"}]}\n"
        );
        let nested = r#"{"c":[{"s":[{"n":"a"},{"n":"b"}]},{"s":[]},{}]}"#;
        assert_eq!(
            select("c[].s[].n", nested),
            "{\"c[].s[].n\":[[\"a\",\"b\"],[],null]}\n"
        );
    }

    #[test]
    fn nested_and_quoted_keys() {
        let line = r#"{"custom_attributes":{"a.b":{"c":[1,2]},"big":12345678901234567891,"s":"\u00e9\"\\"}}"#;
        assert_eq!(
            select(r#"custom_attributes."a.b".c,n=custom_attributes.big,custom_attributes.s,custom_attributes.s.x"#, line),
            "{\"custom_attributes.\\\"a.b\\\".c\":[1,2],\"n\":12345678901234567891,\"custom_attributes.s\":\"\\u00e9\\\"\\\\\",\"custom_attributes.s.x\":null}\n"
        );
    }

    #[test]
    fn output_is_valid_json_with_the_same_values() {
        let line = r#"{"a":{"b":[1,{"c":"d"}]},"e":-0.0,"f":"日本"}"#;
        let out = select("a.b,e,f,g=a", line);
        let v: serde_json::Value = serde_json::from_str(&out).expect("valid output");
        assert_eq!(v["a.b"], serde_json::json!([1, {"c": "d"}]));
        assert_eq!(v["f"], "日本");
        assert_eq!(v["g"], serde_json::json!({"b": [1, {"c": "d"}]}));
    }
}
