//! Table-driven tests of the `--where` language: every operator, the missing/null
//! distinction, mixed types, exact numbers, escapes, `[]`, precedence, keywords,
//! `ago`, and every parse error with its message and position.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::parse::{self, Expr, Lit, Operand, Test};
use super::*;
use crate::record::RecordParser;

/// One user object exercising every kind of value.
const USER: &str = r#"{
  "external_id": "u1",
  "country": "US",
  "home_city": "S\u00e3o Paulo",
  "language": null,
  "gender": "F",
  "total_revenue": 150.0,
  "random_bucket": 4321,
  "created_at": "2023-01-15T08:30:00.000Z",
  "push_opted_in_at": "2024-05-31T18:00:00.000Z",
  "last_coordinates": [-73.9, 40.7],
  "purchases": [
    {"name": "sku_pro", "count": 2},
    {"name": "gift", "count": 1},
    {"count": 3}
  ],
  "apps": [{"name": "ios", "last_used": "2024-06-01T00:00:00.000Z"}],
  "custom_attributes": {
    "vip": true,
    "off": false,
    "plan": "pro",
    "score": 1.5e2,
    "big": 12345678901234567891,
    "neg": -0.5,
    "tags": ["tech", "news"],
    "nums": [1, 2.0, 3],
    "empty": [],
    "nested": {"a": {"b": "deep"}},
    "obj": {"x": 1, "y": [1, 2]},
    "obj2": {"y": [1, 2.0], "x": 1e0},
    "obj3": {"x": 1, "y": [2, 1]},
    "esc": "\u0055S",
    "quote": "a\"b\\c",
    "emoji": "\ud83d\ude00",
    "dotted.key": "yes"
  }
}"#;

/// 2024-06-01T12:00:00Z: what `ago` counts from in these tests.
fn test_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_717_243_200)
}

fn eval_on(expr: &str, line: &str) -> bool {
    let filter = Filter::parse_at(expr, test_now())
        .unwrap_or_else(|e| panic!("{expr:?} should parse:\n{e}"));
    let line = line.replace('\n', " ");
    let mut parser = RecordParser::default();
    let record = parser.parse(line.as_bytes()).expect("valid test record");
    filter.matches(&record, &mut FilterScratch::default())
}

fn check_table(cases: &[(&str, bool)]) {
    let mut failures = Vec::new();
    for &(expr, want) in cases {
        if eval_on(expr, USER) != want {
            failures.push(format!("{expr:?} should be {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn filter_equality_operators() {
    check_table(&[
        (r#"country == "US""#, true),
        ("country = 'US'", true),
        (r#"country == "us""#, false),
        (r#"country != "US""#, false),
        (r#"country <> "CA""#, true),
        (r#"country != "CA""#, true),
        (r#""US" == country"#, true),
        ("1 == 1", true),
        ("1 == 2", false),
        ("true == true", true),
        ("custom_attributes.vip == true", true),
        ("custom_attributes.vip == false", false),
        ("custom_attributes.off == false", true),
        ("custom_attributes.vip != true", false),
    ]);
}

#[test]
fn filter_ordering_operators() {
    check_table(&[
        ("total_revenue == 150", true),
        ("total_revenue >= 150", true),
        ("total_revenue > 150", false),
        ("total_revenue < 150.5", true),
        ("total_revenue <= 149.99", false),
        ("total_revenue <= 150", true),
        ("random_bucket > 4000 and random_bucket < 5000", true),
        ("150 <= total_revenue", true),
        ("custom_attributes.neg < 0", true),
        ("custom_attributes.neg > -1", true),
        ("custom_attributes.neg < -0.6", false),
        (r#"country < "USA""#, true),
        (r#"country > "UA""#, true),
        (r#"country >= "US""#, true),
        (r#"country > "US""#, false),
        // By code point: 'ã' (U+00E3) sorts after 'z'.
        (r#"home_city > "Sz""#, true),
        (r#"home_city < "S{""#, false),
        // Braze timestamps order as strings.
        (r#"created_at < "2023-01-15T08:30:00.001Z""#, true),
        (r#"created_at > "2023-01-15T08:29:59.999Z""#, true),
    ]);
}

#[test]
fn filter_exact_numbers() {
    check_table(&[
        ("custom_attributes.big > 12345678901234567890", true),
        ("custom_attributes.big == 12345678901234567891", true),
        ("custom_attributes.big == 12345678901234567890", false),
        ("custom_attributes.big < 12345678901234567892", true),
        ("custom_attributes.big == 1.2345678901234567891e19", true),
        ("12345678901234567891 > 12345678901234567890", true),
        ("custom_attributes.score == 150", true),
        ("custom_attributes.score == 1.5E2", true),
        ("custom_attributes.score == 15e+1", true),
        ("custom_attributes.score == 1500e-1", true),
        ("custom_attributes.score == 150.0000000000000000001", false),
        ("custom_attributes.score < 150.0000000000000000001", true),
        ("custom_attributes.score == total_revenue", true),
        ("0 == -0", true),
        ("-0.0 == 0e5", true),
        ("1.5e2 == 150", true),
    ]);
}

#[test]
fn filter_string_operators() {
    check_table(&[
        (r#"home_city contains "ão""#, true),
        (r#"home_city contains "x""#, false),
        (r#"home_city startswith "São""#, true),
        (r#"home_city startswith "Paulo""#, false),
        (r#"home_city endswith "Paulo""#, true),
        (r#"home_city endswith "São""#, false),
        (r#"country startswith """#, true),
        (r#"external_id ~ "^u[0-9]+$""#, true),
        (r#"country ~ "^C""#, false),
        (r#"home_city ~ "(?i)^SÃO""#, true),
        // `~` finds the pattern anywhere.
        (r#"home_city ~ "Pau""#, true),
        (r#"purchases[].name ~ "^gi""#, true),
        (r#"purchases[].name ~ "^x""#, false),
    ]);
}

#[test]
fn filter_array_contains_and_in() {
    check_table(&[
        (r#"custom_attributes.tags contains "tech""#, true),
        // Element equality, not substring, on arrays.
        (r#"custom_attributes.tags contains "te""#, false),
        ("custom_attributes.nums contains 2", true),
        ("custom_attributes.nums contains 4", false),
        (r#"custom_attributes.nums contains "2""#, false),
        ("custom_attributes.empty contains null", false),
        ("last_coordinates contains -73.90", true),
        (r#"country in ["CA", "US"]"#, true),
        (r#"country in ['CA']"#, false),
        (r#"country in ["CA", 1, null, true]"#, false),
        ("random_bucket in [1, 4321.0]", true),
        ("random_bucket in [\"4321\"]", false),
        ("language in [null]", true),
        ("nope in [null, 1]", true),
        (r#"purchases[].name in ["gift", "x"]"#, true),
        (r#"not country in ["US"]"#, false),
        (r#"not country in ["CA"]"#, true),
    ]);
}

#[test]
fn filter_missing_versus_null() {
    check_table(&[
        ("language == null", true),
        ("nope == null", true),
        ("country == null", false),
        ("language != null", false),
        ("nope != null", false),
        ("country != null", true),
        ("custom_attributes.nested.zz.yy == null", true),
        ("custom_attributes.nested.a.b.c == null", true),
        ("custom_attributes.off == null", false),
        ("exists(country)", true),
        ("exists(language)", false),
        ("exists(nope)", false),
        ("exists(custom_attributes.nested.a.b)", true),
        ("exists(custom_attributes.nested.a.x)", false),
        ("exists(custom_attributes.off)", true),
        ("exists(purchases[].name)", true),
        ("exists(custom_attributes.empty[])", false),
        ("not exists(nope)", true),
        ("nope == language", true),
    ]);
}

#[test]
fn filter_mixed_types_are_false() {
    check_table(&[
        ("country == 1", false),
        ("country != 1", true),
        (r#"total_revenue == "150""#, false),
        (r#"total_revenue < "200""#, false),
        (r#"total_revenue > "1""#, false),
        ("language < 1", false),
        ("nope > 0", false),
        ("nope <= 0", false),
        ("language >= null", false),
        ("null <= null", false),
        (r#"custom_attributes.vip == "true""#, false),
        ("custom_attributes.vip > false", false),
        (r#"custom_attributes.tags == "tech""#, false),
        ("custom_attributes.obj == 1", false),
        ("custom_attributes.obj == null", false),
        (r#"custom_attributes.tags < "z""#, false),
        (r#"total_revenue contains "1""#, false),
        (r#"total_revenue startswith "1""#, false),
        (r#"total_revenue ~ "1""#, false),
        ("country startswith 1", false),
        (r#"custom_attributes.nested contains "deep""#, false),
    ]);
}

#[test]
fn filter_path_against_path() {
    check_table(&[
        ("country == country", true),
        // Deep equality: key order and number spelling do not matter.
        ("custom_attributes.obj == custom_attributes.obj2", true),
        ("custom_attributes.obj == custom_attributes.obj3", false),
        ("custom_attributes.obj != custom_attributes.obj3", true),
        ("custom_attributes.tags == custom_attributes.tags", true),
        ("custom_attributes.tags == custom_attributes.nums", false),
        (
            "custom_attributes.tags contains custom_attributes.tags[]",
            true,
        ),
        ("purchases[].name == custom_attributes.plan", false),
        // Existential over both sides: 3 > 2.
        ("purchases[].count > purchases[].count", true),
        ("purchases[].count < custom_attributes.nums[]", true),
        ("custom_attributes.esc == country", true),
    ]);
}

#[test]
fn filter_escapes_in_strings() {
    check_table(&[
        (r#""\u0055S" == "US""#, true),
        (r#"country == "\u0055S""#, true),
        (r#"custom_attributes.esc == "US""#, true),
        (r#"custom_attributes.quote == 'a"b\\c'"#, true),
        (r#"custom_attributes.quote == "a\"b\\c""#, true),
        (r#"custom_attributes.quote == "a\u0022b\u005cc""#, true),
        (r#"'it\'s' == "it's""#, true),
        (r#"'tab\there' == "tab	here""#, true),
        (r#""\/" == "/""#, true),
        (r#"custom_attributes.emoji == "😀""#, true),
        (r#"custom_attributes.emoji == "\ud83d\ude00""#, true),
        (r#"custom_attributes.emoji == "\uD83D\uDE00""#, true),
        (r#"home_city == "São Paulo""#, true),
        (r#"home_city == "S\u00E3o Paulo""#, true),
        (r#"custom_attributes."dotted.key" == "yes""#, true),
        (r#"custom_attributes."dotted\u002ekey" == "yes""#, true),
        (r#""custom_attributes"."dotted.key" == "yes""#, true),
        // A lone double-quoted string is a literal, not a path.
        (r#""country" == "country""#, true),
    ]);
}

#[test]
fn raw_strings_take_backslashes_as_written() {
    check_table(&[
        // The pattern `\d` without JSON's second escaping.
        (r#"external_id ~ r"^u\d+$""#, true),
        (r#"external_id ~ r'^u\d+$'"#, true),
        (r#"external_id ~ "^u\\d+$""#, true),
        (r#"country ~ r"\d""#, false),
        (r#"created_at ~ r"^2023-\d{2}-15T""#, true),
        (r#"purchases[].name ~ R"^sku_\w+$""#, true),
        // No escapes at all: `\"` is a backslash, then the end of the string.
        (r#"custom_attributes.quote == r'a"b\c'"#, true),
        (r#"r"\u0055S" == "\\u0055S""#, true),
        (r#"r"" == """#, true),
        (r#"country in [r"US", r'CA']"#, true),
        // `r` alone is still a path (a key named r).
        ("r == null", true),
        ("not exists(r)", true),
    ]);
    let mut parser = RecordParser::default();
    let record = parser.parse(br#"{"r": 1}"#).expect("json");
    let filter = Filter::parse("r == 1").expect("parses");
    assert!(filter.matches(&record, &mut FilterScratch::default()));
}

#[test]
fn filter_existential_paths() {
    check_table(&[
        (r#"purchases[].name == "gift""#, true),
        (r#"purchases[].name == "nope""#, false),
        (r#"not (purchases[].name == "gift")"#, false),
        (r#"not (purchases[].name == "nope")"#, true),
        (r#"not purchases[].name == "gift""#, false),
        (r#"!(purchases[].name == "nope")"#, true),
        // `!=` is the negation of `==`: "no element is".
        (r#"purchases[].name != "gift""#, false),
        (r#"purchases[].name != "nope""#, true),
        // The third purchase has no name.
        ("purchases[].name == null", true),
        ("purchases[].count >= 3", true),
        ("purchases[].count > 3", false),
        ("not (purchases[].count > 3)", true),
        (r#"apps[].name == "ios""#, true),
        // An empty array has no element to satisfy anything.
        ("custom_attributes.empty[] == null", false),
        ("custom_attributes.empty[] != 1", true),
        ("custom_attributes.empty[].x == null", false),
        // `[]` on a non-array, or on nothing, gives null (as --select does).
        (r#"country[] == "US""#, false),
        ("country[] == null", true),
        ("nope[].x == null", true),
        ("exists(nope[].x)", false),
        (r#"custom_attributes.tags[] == "news""#, true),
        (r#"custom_attributes.tags[] startswith "ne""#, true),
    ]);
}

#[test]
fn filter_parentheses_and_precedence() {
    check_table(&[
        (
            r#"((country == "US") and ((total_revenue > 100) or (nope == 1)))"#,
            true,
        ),
        (r#"not (not (country == "US"))"#, true),
        (r#"!(country == "CA")"#, true),
        (r#"!!(country == "CA")"#, false),
        (r#"((((country == "CA"))))"#, false),
        // `and` binds tighter than `or`.
        (
            r#"country == "US" or country == "CA" and total_revenue > 1000"#,
            true,
        ),
        (
            r#"(country == "US" or country == "CA") and total_revenue > 1000"#,
            false,
        ),
        (
            r#"country == "CA" and total_revenue > 100 or random_bucket == 4321"#,
            true,
        ),
        (
            r#"country == "CA" and (total_revenue > 100 or random_bucket == 4321)"#,
            false,
        ),
        (
            r#"country == "CA" || country == "US" && exists(nope)"#,
            false,
        ),
        (
            r#"country == "US" || country == "CA" && exists(nope)"#,
            true,
        ),
        // `not` binds tighter than `and`.
        (r#"not country == "CA" and country == "US""#, true),
        (r#"not (country == "CA" or country == "US")"#, false),
        ("a == 1 or b == 2 or nope == null", true),
        ("nope == null and nope == null and country == null", false),
    ]);
}

#[test]
fn filter_keywords_are_case_insensitive() {
    check_table(&[
        (r#"country == "US" AND total_revenue > 1 Or FALSE"#, true),
        ("NOT exists(nope)", true),
        (r#"country CONTAINS "U""#, true),
        (r#"home_city StartsWith "S""#, true),
        (r#"home_city ENDSWITH "o""#, true),
        ("language == NULL", true),
        ("custom_attributes.vip == TRUE", true),
        (r#"country IN ["US"]"#, true),
        ("EXISTS(country)", true),
        ("created_at < AGO(1d)", true),
        ("True", true),
        // A keyword inside a longer path is a key.
        ("custom_attributes.null == null", true),
        ("exists(custom_attributes.and)", false),
    ]);
}

#[test]
fn filter_lone_operands_hold_when_true() {
    check_table(&[
        ("custom_attributes.vip", true),
        ("custom_attributes.off", false),
        ("not custom_attributes.off", true),
        ("country", false),
        ("nope", false),
        ("true", true),
        ("false", false),
        ("null", false),
        ("1", false),
        (r#"custom_attributes.vip and country == "US""#, true),
    ]);
}

#[test]
fn filter_ago_compares_with_braze_timestamps() {
    // Now is 2024-06-01T12:00:00Z.
    check_table(&[
        ("apps[].last_used > ago(1d)", true),
        ("apps[].last_used > ago(6h)", false),
        // Opted in at 2024-05-31T18:00:00.000Z, exactly 18 hours before now.
        ("push_opted_in_at > ago(19h)", true),
        ("push_opted_in_at >= ago(18h)", true),
        ("push_opted_in_at > ago(18h)", false),
        ("push_opted_in_at > ago(17h)", false),
        ("push_opted_in_at > ago(1081m)", true),
        ("push_opted_in_at == ago(1080m)", true),
        ("push_opted_in_at >= ago(64800s)", true),
        ("push_opted_in_at > ago(64800s)", false),
        ("created_at < ago(365d)", true),
        ("created_at > ago(1000d)", true),
        ("ago( 7d ) < ago(0s)", true),
    ]);
}

/// The string an `ago(...)` stands for, from the parsed tree.
fn ago_text(duration: &str, now: SystemTime) -> String {
    let parsed =
        parse::parse(&format!("ago({duration}) == 1"), time::unix_millis(now)).expect("parses");
    match parsed.expr {
        Expr::Test(Test::Compare {
            lhs: Operand::Lit(Lit::Str(s)),
            ..
        }) => s,
        other => panic!("unexpected tree {other:?}"),
    }
}

#[test]
fn filter_ago_format() {
    let shape = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$").expect("regex");
    let now = SystemTime::now();
    for d in ["0s", "90s", "15m", "36h", "7d", "3650d"] {
        let text = ago_text(d, now);
        assert!(shape.is_match(&text), "ago({d}) = {text}");
    }
    assert!(ago_text("1d", now) < ago_text("0s", now));
    assert!(ago_text("25h", now) < ago_text("1d", now));
    assert!(eval_on("ago(1d) < ago(0s)", r#"{}"#));
    let fixed = test_now() + Duration::from_millis(250);
    assert_eq!(ago_text("0s", fixed), "2024-06-01T12:00:00.250Z");
    assert_eq!(ago_text("90s", fixed), "2024-06-01T11:58:30.250Z");
    assert_eq!(ago_text("15m", fixed), "2024-06-01T11:45:00.250Z");
    assert_eq!(ago_text("36h", fixed), "2024-05-31T00:00:00.250Z");
    assert_eq!(ago_text("7d", fixed), "2024-05-25T12:00:00.250Z");
    assert_eq!(ago_text("93d", fixed), "2024-02-29T12:00:00.250Z");
    // `ago` is evaluated once, at parse time.
    let filter = Filter::parse("created_at > ago(1d)").expect("parses");
    let mut parser = RecordParser::default();
    let mut scratch = FilterScratch::default();
    let line = br#"{"created_at":"9999-01-01T00:00:00.000Z"}"#;
    let record = parser.parse(line).expect("valid");
    assert!(filter.matches(&record, &mut scratch));
}

#[test]
fn filter_scratch_is_reused_across_records() {
    let filter = Filter::parse(r#"country == "US" and purchases[].name == "a""#).expect("parses");
    let mut parser = RecordParser::default();
    let mut scratch = FilterScratch::default();
    let lines: &[(&str, bool)] = &[
        (r#"{"country":"US","purchases":[{"name":"a"}]}"#, true),
        (r#"{"purchases":[{"name":"a"}]}"#, false),
        (r#"{"purchases":[{"name":"a"}],"x":1,"country":"US"}"#, true),
        (r#"{"country":"US"}"#, false),
        (r#"{}"#, false),
        (
            r#"{"country":"U\u0053","purchases":[{"name":"b"},{"name":"a"}]}"#,
            true,
        ),
    ];
    for &(line, want) in lines {
        let record = parser.parse(line.as_bytes()).expect("valid");
        assert_eq!(filter.matches(&record, &mut scratch), want, "{line}");
    }
}

#[test]
fn filter_root_keys_and_warnings() {
    let filter = Filter::parse(
        r#"country == 'US' and purchases[].name == 'x' or exists(country) and custom_attributes.a > 1"#,
    )
    .expect("parses");
    assert_eq!(
        filter.root_keys(),
        vec!["country", "purchases", "custom_attributes"]
    );
    assert!(filter.warnings().is_empty());

    let filter = Filter::parse(
        r#"contry == 'US' and plan.tier == 'pro' and custom_attributes.plan == 'x' and push_opted_in_at > ago(1d) and email_unsubscribed_at == null and plan == 1"#,
    )
    .expect("parses");
    assert_eq!(
        filter.warnings(),
        vec![
            "'contry' in --where: 'contry' is not a field of a Braze user export, \
             so it is always missing (did you mean 'country'?)"
                .to_string(),
            "'plan.tier' in --where: 'plan' is not a field of a Braze user export, \
             so it is always missing (a custom attribute is custom_attributes.plan)"
                .to_string(),
        ]
    );
    assert_eq!(
        filter.root_keys(),
        vec![
            "contry",
            "plan",
            "custom_attributes",
            "push_opted_in_at",
            "email_unsubscribed_at"
        ]
    );
    assert!(Filter::parse("1 == 1")
        .expect("parses")
        .root_keys()
        .is_empty());
}

const EXPECTED_TEST: &str = "expected a test: a path, a literal, 'not', '(' or 'exists(...)'";
const EXPECTED_LITERAL: &str = "expected a literal (a string, a number, true, false or null)";
const AFTER_BARE: &str = "expected a comparison operator, 'and', 'or' or the end of the expression";
const AFTER_TEST: &str = "expected 'and', 'or' or the end of the expression";
const BAD_ESCAPE: &str = "invalid escape in string: strings take JSON escapes \
                          (\\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX); write \\\\ for a backslash, \
                          or a raw string r\"...\" (no escapes) for a regular expression";
const BAD_DURATION: &str =
    "expected a duration: a whole number and a unit s, m, h or d (90s, 15m, 36h, 7d)";

#[test]
fn filter_parse_errors() {
    let after_eq = "expected a path, a literal or ago(...) after '=='";
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, EXPECTED_TEST),
        ("   ", 3, EXPECTED_TEST),
        ("== 1", 0, EXPECTED_TEST),
        ("not", 3, EXPECTED_TEST),
        ("()", 1, EXPECTED_TEST),
        ("country == 'US' and", 19, EXPECTED_TEST),
        ("country == 'US' or or x", 19, EXPECTED_TEST),
        ("and", 0, EXPECTED_TEST),
        ("country ==", 10, after_eq),
        ("x == #", 5, after_eq),
        ("x === 1", 4, after_eq),
        ("x == not", 5, after_eq),
        (
            "x contains",
            10,
            "expected a path, a literal or ago(...) after 'contains'",
        ),
        (
            "x <> )",
            5,
            "expected a path, a literal or ago(...) after '<>'",
        ),
        ("country == 'US' extra", 16, AFTER_TEST),
        ("x == 1 == 2", 7, AFTER_TEST),
        ("country == 'US')", 15, AFTER_TEST),
        ("exists(x) y", 10, AFTER_TEST),
        ("country 'US'", 8, AFTER_BARE),
        ("x & y", 2, AFTER_BARE),
        ("x | y", 2, AFTER_BARE),
        ("x is null", 2, AFTER_BARE),
        (
            "country not in ['US']",
            8,
            "expected a comparison operator, 'and', 'or' or the end of the expression \
             ('not' goes before a test: not x in [...])",
        ),
        ("(country == 'US'", 16, "expected 'and', 'or' or ')'"),
        ("x and (y == 1", 13, "expected 'and', 'or' or ')'"),
        (
            "(country",
            8,
            "expected a comparison operator, 'and', 'or' or ')'",
        ),
        ("(a == 1) == 1", 9, AFTER_TEST),
        ("country == 'US", 11, "unterminated string"),
        ("country == \"US", 11, "unterminated string"),
        (r#"x == "a\""#, 5, "unterminated string"),
        (r#"country ~ "\d+""#, 11, BAD_ESCAPE),
        (r#"country ~ r"\d+"#, 10, "unterminated raw string"),
        (r#"country ~ r'a"#, 10, "unterminated raw string"),
        (r#"x == 'a\x'"#, 7, BAD_ESCAPE),
        (r#"x == "\u12""#, 6, BAD_ESCAPE),
        (r#"x == "\u12G4""#, 6, BAD_ESCAPE),
        (r#"x == "ab\ud800""#, 8, "unpaired surrogate in \\u escape"),
        (
            r#"x == "\ud800\u0041""#,
            6,
            "unpaired surrogate in \\u escape",
        ),
        (r#"x == "\udc00""#, 6, "unpaired surrogate in \\u escape"),
        (
            "country ~ country",
            10,
            "expected a regular expression (a string literal) after '~'",
        ),
        (
            "country ~ 1",
            10,
            "expected a regular expression (a string literal) after '~'",
        ),
        (
            "country ~ '('",
            10,
            "invalid regular expression: unclosed group",
        ),
        (
            "x == 1 and y ~ '[a-'",
            15,
            "invalid regular expression: unclosed character class",
        ),
        ("country in 'US'", 11, "expected '[' after 'in'"),
        ("country in", 10, "expected '[' after 'in'"),
        ("country in []", 12, EXPECTED_LITERAL),
        ("country in [country]", 12, EXPECTED_LITERAL),
        ("country in [ago(1d)]", 12, EXPECTED_LITERAL),
        ("country in ['US',", 17, EXPECTED_LITERAL),
        ("country in ['US', ]", 18, EXPECTED_LITERAL),
        (
            "country in ['US' 'CA']",
            17,
            "expected ',' or ']' in the list",
        ),
        ("country in ['US'", 16, "expected ',' or ']' in the list"),
        ("exists country", 7, "expected '(' after 'exists'"),
        ("exists", 6, "expected '(' after 'exists'"),
        ("exists('x')", 7, "expected a path inside exists(...)"),
        ("exists()", 7, "expected a path inside exists(...)"),
        ("exists(null)", 7, "expected a path inside exists(...)"),
        ("exists(country", 14, "expected ')' after the path"),
        ("exists(a b)", 9, "expected ')' after the path"),
        ("created_at > ago 7d", 17, "expected '(' after 'ago'"),
        ("created_at > ago(7w)", 18, BAD_DURATION),
        ("created_at > ago(7D)", 18, BAD_DURATION),
        ("created_at > ago()", 17, BAD_DURATION),
        ("created_at > ago(d)", 17, BAD_DURATION),
        ("created_at > ago(7)", 18, BAD_DURATION),
        ("created_at > ago(7.5d)", 18, BAD_DURATION),
        ("created_at > ago(7dd)", 19, BAD_DURATION),
        ("created_at > ago(99999999999999999999d)", 17, BAD_DURATION),
        ("created_at > ago(7d", 19, "expected ')' after the duration"),
        (
            "created_at > ago(7d 1h)",
            20,
            "expected ')' after the duration",
        ),
        (
            "created_at > ago(9999999d)",
            17,
            "duration reaches back before the year 1",
        ),
        ("x == 1.", 7, "expected a digit in the number"),
        ("x == 1e+", 8, "expected a digit in the number"),
        ("x == -1.e5", 8, "expected a digit in the number"),
        ("x == 12abc", 7, "unexpected character after a number"),
        ("x == 1.2.3", 8, "unexpected character after a number"),
        (
            "x..y == 1",
            2,
            "expected a key (letters, digits, _ - $, or a \"quoted key\")",
        ),
        (
            "x. == 1",
            2,
            "expected a key (letters, digits, _ - $, or a \"quoted key\")",
        ),
        (
            "exists(x[].)",
            11,
            "expected a key (letters, digits, _ - $, or a \"quoted key\")",
        ),
        (r#"x."open == 1"#, 2, "unterminated quoted key"),
    ];
    let mut failures = Vec::new();
    for &(expr, pos, message) in cases {
        match Filter::parse(expr) {
            Ok(_) => failures.push(format!("{expr:?} parsed")),
            Err(e) => {
                if e.pos != pos || e.message != message || e.input != expr {
                    failures.push(format!(
                        "{expr:?}: got {:?} at {}, want {message:?} at {pos}",
                        e.message, e.pos
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn filter_deep_nesting_is_an_error_not_a_crash() {
    let ok = format!("{}x == 1{}", "(".repeat(200), ")".repeat(200));
    assert!(eval_on(&ok, r#"{"x":1}"#));
    let ok = format!("not {}x == 1{}", "(".repeat(199), ")".repeat(199));
    assert!(eval_on(&ok, r#"{"x":2}"#));
    let deep = format!("{}x == 1{}", "(".repeat(201), ")".repeat(201));
    let e = Filter::parse(&deep).expect_err("too deep");
    assert_eq!(e.pos, 200);
    assert_eq!(
        e.message,
        "expression nested too deeply (more than 200 levels of '(' and 'not')"
    );
    let e = Filter::parse(&"not ".repeat(100_000)).expect_err("too deep");
    assert_eq!(e.pos, 800);
}

#[test]
fn filter_parse_error_display_has_a_caret() {
    let e = Filter::parse("country == 'US' extra").expect_err("bad");
    assert_eq!(
        e.to_string(),
        "expected 'and', 'or' or the end of the expression (at column 17)\n  \
         country == 'US' extra\n                  ^"
    );
    // Columns count characters, not bytes.
    let e = Filter::parse("home_city == 'São' x").expect_err("bad");
    assert!(
        e.to_string()
            .ends_with("\n  home_city == 'São' x\n                     ^"),
        "{e}"
    );
}

#[test]
fn filter_valid_spellings_parse() {
    for expr in [
        "a==1",
        "a=1",
        "a!=1&&b<>2||!c",
        "a<=1 and a>=0 and a<2 and a>-1",
        "a~'x'",
        "a in [1,'x',\"y\",true,false,null,-2.5e-3]",
        "a\tin\n[ 1 ]",
        "exists( a.b[].c )",
        "not not a",
        "a contains 'x' and b startswith \"y\" and c endswith 'z'",
        "x == ago(90s) or x == ago(15m) or x == ago(36h) or x == ago(7d)",
        "custom_attributes.\"a b\"[].c == 1",
        "$weird-key_1 == 1",
        "custom_attributes.1st == 1",
        "-5 < x",
    ] {
        if let Err(e) = Filter::parse(expr) {
            panic!("{expr:?} should parse:\n{e}");
        }
    }
}

#[test]
fn a_regex_nested_too_deeply_is_an_error() {
    let ok = format!("email ~ \"{}a{}\"", "(".repeat(20), ")".repeat(20));
    assert!(Filter::parse(&ok).is_ok());
    let deep = format!("email ~ \"{}a{}\"", "(".repeat(70), ")".repeat(70));
    let e = Filter::parse(&deep).expect_err("too deep");
    assert!(
        e.message.starts_with("invalid regular expression"),
        "{}",
        e.message
    );
}
