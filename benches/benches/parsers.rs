//! Issue 7: simd-json (brazex's parser today) against sonic-rs's lazy path lookup
//! (`sonic_rs::get_many`) on the `--select` / `--where` hot path, in bytes of NDJSON
//! per second, one line at a time over the same generated data as `pipeline.rs`
//! (4000 users, seed 7).
//!
//! - `simd_json_select7`: brazex: `RecordParser::parse` (simd-json's first stage and
//!   brazex's own second stage, `grammar::check`, validate the whole line) then
//!   `Selection::write` of `SELECT_7`.
//! - `sonic_get_many_select7`: `sonic_rs::get_many` (the checked, safe one) of the
//!   seven top-level keys `SELECT_7` starts from, then `plan` looked up inside
//!   `custom_attributes` and the `[]` paths mapped over `purchases` / `apps` with
//!   `LazyValue::into_array_iter`; values are copied as raw JSON text into the same
//!   output object brazex writes. This does NOT validate the whole line: `get_many`
//!   checks what it walks, and stops as soon as every key is found.
//! - `sonic_validate_then_get_many_select7`: the same, after
//!   `sonic_rs::from_slice::<serde::de::IgnoredAny>` validated the whole line.
//! - `simd_json_where3_select7`, `sonic_where3_select7` (no validation) and
//!   `sonic_validate_then_where3_select7`: `WHERE_3` evaluated, then `SELECT_7`
//!   written for the matching lines; the sonic-rs side checks the three conditions by
//!   hand on the `get_many` values.
//!
//! The setup checks, outside the timed loops, that both sides accept every line,
//! write byte-identical output and select the same lines.
//!
//! Run: `cargo bench -p brazex-benches --bench parsers`.

use brazex_benches::{lines, ndjson, SelectRun, SELECT_7, WHERE_3};
use brazex_core::filter::{Filter, FilterScratch};
use brazex_core::path::parse_select;
use brazex_core::record::RecordParser;
use brazex_core::select::Selection;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::de::IgnoredAny;
use sonic_rs::{JsonValueTrait, LazyValue, PointerTree};

/// The top-level keys the items of `SELECT_7` start from, in item order (they also
/// cover the three keys `WHERE_3` reads: country, total_revenue, purchases).
const ROOTS: [&str; 7] = [
    "external_id",
    "email",
    "country",
    "total_revenue",
    "custom_attributes",
    "purchases",
    "apps",
];
const EXTERNAL_ID: usize = 0;
const EMAIL: usize = 1;
const COUNTRY: usize = 2;
const TOTAL_REVENUE: usize = 3;
const CUSTOM_ATTRIBUTES: usize = 4;
const PURCHASES: usize = 5;
const APPS: usize = 6;

/// One pointer per top-level key of `ROOTS`, in order.
fn roots_tree() -> PointerTree {
    let mut tree = PointerTree::new();
    for key in ROOTS {
        tree.add_path([key]);
    }
    tree
}

type Values<'a> = Vec<Option<LazyValue<'a>>>;

fn raw_or_null(value: Option<&LazyValue<'_>>, out: &mut Vec<u8>) {
    match value {
        Some(v) => out.extend_from_slice(v.as_raw_str().as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

/// `array[].key`: `[...]` of each element's `key` (null where missing), or null when
/// `array` is missing or not an array (as brazex does).
fn write_each(array: Option<&LazyValue<'_>>, key: &str, out: &mut Vec<u8>) {
    let Some(elements) = array.and_then(|a| a.clone().into_array_iter()) else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'[');
    for (i, element) in elements.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        raw_or_null(element.ok().as_ref().and_then(|e| e.get(key)).as_ref(), out);
    }
    out.push(b']');
}

/// Writes `SELECT_7`'s object from the `ROOTS` values, as `Selection::write` does.
fn write_select7(values: &Values<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"external_id\":");
    raw_or_null(values[EXTERNAL_ID].as_ref(), out);
    out.extend_from_slice(b",\"email\":");
    raw_or_null(values[EMAIL].as_ref(), out);
    out.extend_from_slice(b",\"country\":");
    raw_or_null(values[COUNTRY].as_ref(), out);
    out.extend_from_slice(b",\"rev\":");
    raw_or_null(values[TOTAL_REVENUE].as_ref(), out);
    out.extend_from_slice(b",\"plan\":");
    let plan = values[CUSTOM_ATTRIBUTES]
        .as_ref()
        .and_then(|attrs| attrs.get("plan"));
    raw_or_null(plan.as_ref(), out);
    out.extend_from_slice(b",\"purchases[].name\":");
    write_each(values[PURCHASES].as_ref(), "name", out);
    out.extend_from_slice(b",\"apps[].last_used\":");
    write_each(values[APPS].as_ref(), "last_used", out);
    out.extend_from_slice(b"}\n");
}

/// `WHERE_3` by hand: `country` is the string "US" (compared unescaped),
/// `total_revenue` is a number above 10 (as f64), and some element of `purchases`
/// has the string `name` "gift_card".
fn where3(values: &Values<'_>) -> bool {
    values[COUNTRY].as_ref().and_then(|c| c.as_str()) == Some("US")
        && values[TOTAL_REVENUE]
            .as_ref()
            .and_then(|r| r.as_f64())
            .is_some_and(|r| r > 10.0)
        && values[PURCHASES]
            .as_ref()
            .and_then(|p| p.clone().into_array_iter())
            .is_some_and(|mut elements| {
                elements.any(|e| {
                    e.ok().is_some_and(|e| {
                        e.get("name")
                            .is_some_and(|n| n.as_str() == Some("gift_card"))
                    })
                })
            })
}

/// Full validation by sonic-rs: one JSON value (syntax, strings and their escapes,
/// numbers, literals), nothing but whitespace after it, and the whole line UTF-8.
/// It does not check that the value is an object: `get_many` then rejects anything
/// else.
fn sonic_valid(line: &[u8]) -> bool {
    sonic_rs::from_slice::<IgnoredAny>(line).is_ok()
}

/// The end offset in `line` of the last byte `get_many` must have read: the end of
/// the last value found when every key was found (it stops there), else the line.
fn bytes_read(line: &[u8], values: &Values<'_>) -> usize {
    if values.iter().any(Option::is_none) {
        return line.len();
    }
    values
        .iter()
        .flatten()
        .map(|v| {
            let raw = v.as_raw_str();
            raw.as_ptr() as usize - line.as_ptr() as usize + raw.len()
        })
        .max()
        .unwrap_or(line.len())
}

/// The sonic-rs side of one bench: every line (first validated whole by sonic-rs when
/// `validate`), `get_many` of the roots, `WHERE_3` by hand when `filtered`, `SELECT_7`
/// written. Returns the bytes written.
fn sonic_select(
    data: &[u8],
    tree: &PointerTree,
    validate: bool,
    filtered: bool,
    out: &mut Vec<u8>,
) -> usize {
    out.clear();
    for line in lines(data) {
        if validate && !sonic_valid(line) {
            continue;
        }
        if let Ok(values) = sonic_rs::get_many(line, tree) {
            if !filtered || where3(&values) {
                write_select7(&values, out);
            }
        }
    }
    out.len()
}

/// Outside the timed loops: both sides accept every line, write the same bytes and
/// pick the same lines for `WHERE_3`. Prints what the sonic-rs side skips.
fn check(data: &[u8], selection: &Selection, filter: &Filter, tree: &PointerTree) {
    let mut parser = RecordParser::default();
    let mut slots = Vec::new();
    let mut scratch = FilterScratch::default();
    let (mut simd_select, mut simd_where) = (Vec::new(), Vec::new());
    let (mut sonic_select, mut sonic_where) = (Vec::new(), Vec::new());
    let (mut lines_n, mut simd_matches, mut sonic_matches) = (0usize, 0usize, 0usize);
    let (mut read, mut nested_plan_errors, mut truncated_ok) = (0usize, 0usize, 0usize);
    let mut nested = PointerTree::new();
    for key in &ROOTS[..CUSTOM_ATTRIBUTES] {
        nested.add_path([*key]);
    }
    nested.add_path(["custom_attributes", "plan"]);
    for key in &ROOTS[PURCHASES..] {
        nested.add_path([*key]);
    }
    for line in lines(data) {
        lines_n += 1;
        let record = parser.parse(line).expect("simd-json accepts every line");
        selection.write(&record, &mut slots, &mut simd_select);
        if filter.matches(&record, &mut scratch) {
            simd_matches += 1;
            selection.write(&record, &mut slots, &mut simd_where);
        }
        assert!(sonic_valid(line), "sonic-rs accepts every line");
        let values = sonic_rs::get_many(line, tree).expect("get_many on every line");
        write_select7(&values, &mut sonic_select);
        if where3(&values) {
            sonic_matches += 1;
            write_select7(&values, &mut sonic_where);
        }
        read += bytes_read(line, &values);
        nested_plan_errors += usize::from(sonic_rs::get_many(line, &nested).is_err());
        // The line without its closing `}`: invalid JSON that brazex rejects.
        let truncated = &line[..line.len() - 1];
        assert!(parser.parse(truncated).is_err() && !sonic_valid(truncated));
        truncated_ok += usize::from(sonic_rs::get_many(truncated, tree).is_ok());
    }
    assert!(simd_select == sonic_select, "same --select output");
    assert_eq!(
        simd_matches, sonic_matches,
        "same number of --where matches"
    );
    assert!(simd_where == sonic_where, "same --where lines and output");
    assert!(simd_matches > 0, "WHERE_3 matches some lines");
    eprintln!(
        "parsers: {lines_n} lines, {} bytes; WHERE_3 matches {simd_matches} lines on both \
         sides; select output identical ({} bytes); get_many reads {:.1}% of the bytes; \
         get_many with the pointer [custom_attributes, plan] fails on {nested_plan_errors} \
         lines (empty or non-object custom_attributes); get_many without validation accepts \
         {truncated_ok} of the lines cut short of their closing brace",
        data.len(),
        simd_select.len(),
        100.0 * read as f64 / lines(data).map(<[u8]>::len).sum::<usize>() as f64,
    );
}

fn parsers(c: &mut Criterion) {
    let data = ndjson();
    let selection = Selection::new(&parse_select(SELECT_7).expect("select"));
    let filter = Filter::parse(WHERE_3).expect("where");
    let tree = roots_tree();
    check(&data, &selection, &filter, &tree);

    let mut group = c.benchmark_group("parsers");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(data.len() as u64));

    group.bench_function("simd_json_select7", |b| {
        let mut run = SelectRun::default();
        b.iter(|| run.run(&data, None, &selection))
    });
    group.bench_function("sonic_get_many_select7", |b| {
        let mut out = Vec::with_capacity(data.len());
        b.iter(|| sonic_select(&data, &tree, false, false, &mut out))
    });
    group.bench_function("sonic_validate_then_get_many_select7", |b| {
        let mut out = Vec::with_capacity(data.len());
        b.iter(|| sonic_select(&data, &tree, true, false, &mut out))
    });
    group.bench_function("simd_json_where3_select7", |b| {
        let mut run = SelectRun::default();
        b.iter(|| run.run(&data, Some(&filter), &selection))
    });
    group.bench_function("sonic_where3_select7", |b| {
        let mut out = Vec::with_capacity(data.len());
        b.iter(|| sonic_select(&data, &tree, false, true, &mut out))
    });
    group.bench_function("sonic_validate_then_where3_select7", |b| {
        let mut out = Vec::with_capacity(data.len());
        b.iter(|| sonic_select(&data, &tree, true, true, &mut out))
    });
    group.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
