//! Properties of generated users: determinism, valid single-line JSON, the
//! documented fields and sub-fields, realistic sparsity, and `FieldSet`
//! subsetting.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use brazex_sim::{
    FieldSet, GeneratorConfig, UserGenerator, CUSTOM_ATTRIBUTE_NAMES, DEPENDENT_FIELDS,
    EXPORT_FIELDS,
};
use serde_json::{Map, Value};

const USERS: u64 = 2_000;

fn line(gen: &UserGenerator, index: u64) -> Vec<u8> {
    let mut out = Vec::new();
    gen.write_user(index, &mut out);
    out
}

fn parse(bytes: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => m,
        Ok(other) => panic!("not an object: {other}"),
        Err(e) => panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(bytes)),
    }
}

type Population = Vec<(Vec<u8>, Map<String, Value>)>;

/// All users of seed 42, parsed, with their raw lines (built once, shared by
/// the tests).
fn population() -> &'static Population {
    static POPULATION: OnceLock<Population> = OnceLock::new();
    POPULATION.get_or_init(|| {
        let gen = UserGenerator::new(GeneratorConfig::new(42));
        (0..USERS)
            .map(|i| {
                let raw = line(&gen, i);
                let obj = parse(&raw);
                (raw, obj)
            })
            .collect()
    })
}

#[test]
fn same_seed_and_index_give_same_bytes() {
    let a = UserGenerator::new(GeneratorConfig::new(7));
    let b = UserGenerator::new(GeneratorConfig::new(7));
    for i in [0, 1, 2, 999, 1 << 40, u64::MAX] {
        assert_eq!(line(&a, i), line(&b, i));
    }
    // Independent of what was generated before, and of appending.
    let mut batch = Vec::new();
    a.write_users(10..20, &mut batch);
    let lines: Vec<&[u8]> = batch.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 11);
    assert!(lines[10].is_empty());
    for (k, l) in lines[..10].iter().enumerate() {
        assert_eq!(*l, line(&a, 10 + k as u64).as_slice());
    }
    let mut prefixed = b"prefix".to_vec();
    a.write_user(15, &mut prefixed);
    assert_eq!(&prefixed[6..], line(&a, 15).as_slice());
}

#[test]
fn different_seeds_and_indices_differ() {
    let a = UserGenerator::new(GeneratorConfig::new(1));
    let b = UserGenerator::new(GeneratorConfig::new(2));
    for i in 0..50 {
        assert_ne!(line(&a, i), line(&b, i));
        assert_ne!(line(&a, i), line(&a, i + 1));
    }
}

#[test]
fn lines_are_single_line_json_objects_of_realistic_size() {
    let users = population();
    let mut total = 0usize;
    for (raw, _) in users {
        assert!(!raw.contains(&b'\n') && !raw.contains(&b'\r'));
        assert!(std::str::from_utf8(raw).is_ok());
        total += raw.len();
    }
    let avg = total / users.len();
    assert!(
        (2_000..=4_096).contains(&avg),
        "average user size {avg} bytes"
    );
}

/// Keys seen over the population: top-level, and per nested list/object.
fn keys_of(values: impl Iterator<Item = Value>) -> BTreeSet<String> {
    values
        .filter_map(|v| match v {
            Value::Object(m) => Some(m.into_iter().map(|(k, _)| k)),
            _ => None,
        })
        .flatten()
        .collect()
}

fn items<'a>(
    users: &'a [(Vec<u8>, Map<String, Value>)],
    field: &'a str,
) -> impl Iterator<Item = Value> + 'a {
    users
        .iter()
        .filter_map(move |(_, u)| u.get(field))
        .filter_map(|v| v.as_array().cloned())
        .flatten()
}

#[test]
fn every_documented_field_appears_and_optional_ones_are_sometimes_absent() {
    let users = population();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, u) in users {
        for k in u.keys() {
            let known = EXPORT_FIELDS
                .iter()
                .chain(DEPENDENT_FIELDS.iter().map(|(f, _)| f))
                .find(|&&f| f == k);
            let Some(&k) = known else {
                panic!("undocumented top-level field {k}");
            };
            *seen.entry(k).or_default() += 1;
        }
    }
    let always = ["braze_id", "created_at", "random_bucket"];
    let expected = EXPORT_FIELDS
        .iter()
        .copied()
        .filter(|&f| f != "created_from")
        .chain(DEPENDENT_FIELDS.iter().map(|(f, _)| *f));
    for f in expected {
        let n = seen.get(f).copied().unwrap_or(0);
        assert!(n > 0, "{f} never generated");
        if always.contains(&f) {
            assert_eq!(n, users.len(), "{f} must always be present");
        } else {
            assert!(n < users.len(), "{f} is never absent");
        }
    }

    // Documented sub-fields of the nested lists all occur.
    let sub: &[(&str, &[&str])] = &[
        ("user_aliases", &["alias_name", "alias_label"]),
        ("custom_events", &["name", "first", "last", "count"]),
        ("purchases", &["name", "first", "last", "count"]),
        (
            "devices",
            &[
                "model",
                "os",
                "carrier",
                "idfv",
                "idfa",
                "google_ad_id",
                "roku_ad_id",
                "windows_ad_id",
                "ad_tracking_enabled",
            ],
        ),
        (
            "push_tokens",
            &[
                "app",
                "platform",
                "token",
                "device_id",
                "notifications_enabled",
            ],
        ),
        (
            "apps",
            &[
                "name",
                "platform",
                "version",
                "sessions",
                "first_used",
                "last_used",
            ],
        ),
        (
            "campaigns_received",
            &[
                "name",
                "last_received",
                "engaged",
                "converted",
                "multiple_converted",
                "api_campaign_id",
                "variation_name",
                "variation_api_id",
                "in_control",
            ],
        ),
        (
            "canvases_received",
            &[
                "name",
                "api_canvas_id",
                "last_received_message",
                "last_entered",
                "variation_name",
                "in_control",
                "last_exited",
                "last_entered_control_at",
                "steps_received",
            ],
        ),
        ("cards_clicked", &["name"]),
    ];
    for (field, subs) in sub {
        let keys = keys_of(items(users, field));
        let want: BTreeSet<String> = subs.iter().map(|s| s.to_string()).collect();
        assert_eq!(keys, want, "sub-fields of {field}");
    }
    let engaged =
        keys_of(items(users, "campaigns_received").filter_map(|c| c.get("engaged").cloned()));
    let want: BTreeSet<String> = [
        "opened_email",
        "opened_push",
        "clicked_email",
        "clicked_in_app_message",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(engaged, want);
    let steps = keys_of(
        items(users, "canvases_received")
            .filter_map(|c| c.get("steps_received").and_then(Value::as_array).cloned())
            .flatten(),
    );
    assert_eq!(
        steps,
        ["name", "api_canvas_step_id", "last_received"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );

    // Every custom attribute occurs, and lists are sometimes empty.
    let custom = keys_of(
        users
            .iter()
            .filter_map(|(_, u)| u.get("custom_attributes").cloned()),
    );
    let want: BTreeSet<String> = CUSTOM_ATTRIBUTE_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(custom, want);
    for list in ["custom_events", "purchases", "campaigns_received"] {
        assert!(
            users.iter().any(|(_, u)| u
                .get(list)
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)),
            "{list} is never an empty list"
        );
    }
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            23 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
        && ("2020-01-01T00:00:00.000Z".."2026-11-01T00:00:00.000Z").contains(&s)
}

fn check_timestamps(v: &Value, key: &str, count: &mut usize) {
    const TS_KEYS: &[&str] = &[
        "created_at",
        "uninstalled_at",
        "push_opted_in_at",
        "email_opted_in_at",
        "push_unsubscribed_at",
        "email_unsubscribed_at",
        "first",
        "last",
        "first_used",
        "last_used",
        "last_received",
        "last_received_message",
        "last_entered",
        "last_exited",
        "last_entered_control_at",
        "$time",
    ];
    match v {
        Value::String(s) if TS_KEYS.contains(&key) => {
            assert!(is_timestamp(s), "{key}: {s}");
            *count += 1;
        }
        Value::Object(m) => m.iter().for_each(|(k, v)| check_timestamps(v, k, count)),
        Value::Array(a) => a.iter().for_each(|v| check_timestamps(v, key, count)),
        _ => {}
    }
}

#[test]
fn values_have_the_documented_shapes() {
    let users = population();
    let mut external_ids = HashSet::new();
    let mut braze_ids = HashSet::new();
    let mut countries: BTreeMap<String, usize> = BTreeMap::new();
    let mut timestamps = 0;
    for (_, u) in users {
        let braze_id = u["braze_id"].as_str().expect("braze_id string");
        assert_eq!(braze_id.len(), 24);
        assert!(braze_id
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(braze_ids.insert(braze_id.to_owned()));
        if let Some(id) = u.get("external_id") {
            assert!(external_ids.insert(id.as_str().expect("string").to_owned()));
        }
        if let Some(c) = u.get("country") {
            let c = c.as_str().expect("string");
            assert!(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()));
            *countries.entry(c.to_owned()).or_default() += 1;
        }
        assert!(u["random_bucket"].as_u64().expect("int") < 10_000);
        if let Some(g) = u.get("gender") {
            assert!(["M", "F", "O", "N", "P"].contains(&g.as_str().expect("string")));
        }
        for f in ["push_subscribe", "email_subscribe"] {
            if let Some(s) = u.get(f) {
                let s = s.as_str().expect("string");
                assert!(
                    ["opted_in", "subscribed", "unsubscribed"].contains(&s),
                    "{s}"
                );
            }
        }
        if let Some(d) = u.get("dob") {
            let d = d.as_str().expect("string");
            assert!(d.len() == 10 && &d[4..5] == "-" && &d[7..8] == "-", "{d}");
        }
        if let Some(c) = u.get("last_coordinates") {
            let c = c.as_array().expect("array");
            assert_eq!(c.len(), 2);
            let (lon, lat) = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
            assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
        }
        if let Some(r) = u.get("total_revenue") {
            assert!(r.is_f64(), "total_revenue {r} is a float");
        }
        check_timestamps(&Value::Object(u.clone()), "", &mut timestamps);
    }
    assert!(timestamps > users.len() * 5);
    let us = countries["US"] as f64 / countries.values().sum::<usize>() as f64;
    assert!((0.25..0.35).contains(&us), "US share {us}");
    for c in ["GB", "DE", "FR", "BR", "JP", "IN"] {
        assert!(countries[c] > 0);
    }
}

#[test]
fn awkward_content_occurs() {
    let users = population();
    let raw_all: Vec<&str> = users
        .iter()
        .map(|(raw, _)| std::str::from_utf8(raw).expect("utf8"))
        .collect();
    let any = |needle: &str| raw_all.iter().any(|l| l.contains(needle));
    assert!(any("\\u00"), "a \\u escape");
    assert!(any("\\ud83"), "an escaped surrogate pair");
    assert!(any("\\\""), "an escaped quote");
    assert!(any("\\\\"), "an escaped backslash");
    assert!(any("\\n"), "an escaped newline");
    assert!(raw_all
        .iter()
        .any(|l| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
    assert!(raw_all.iter().any(|l| l.chars().any(|c| c >= '\u{1F300}')));
    assert!(any("\"a.b\":"));
    assert!(any("{\"$time\":\""));
    assert!(any(":null"));
    // Exponent floats, raw.
    let exponent = raw_all.iter().any(|l| {
        l.split("\"lifetime_value\":").skip(1).any(|rest| {
            rest.split([',', '}'])
                .next()
                .is_some_and(|n| n.contains(['e', 'E']))
        })
    });
    assert!(exponent, "an exponent float");
    // Integers beyond 2^53, positive and negative, and beyond i64.
    let big: Vec<&Value> = users
        .iter()
        .filter_map(|(_, u)| u.get("custom_attributes")?.get("big_id"))
        .collect();
    assert!(big.iter().any(|v| v
        .as_u64()
        .is_some_and(|n| n > 1 << 53 && n <= i64::MAX as u64)));
    assert!(big
        .iter()
        .any(|v| v.as_u64().is_some_and(|n| n > i64::MAX as u64)));
    assert!(big
        .iter()
        .any(|v| v.as_i64().is_some_and(|n| n < -(1 << 53))));
    // Nested objects and arrays of strings in custom attributes.
    let custom: Vec<&Map<String, Value>> = users
        .iter()
        .filter_map(|(_, u)| u.get("custom_attributes")?.as_object())
        .collect();
    assert!(custom
        .iter()
        .any(|c| c.get("preferences").is_some_and(Value::is_object)));
    assert!(custom.iter().any(|c| c
        .get("favorite_tags")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))));
    assert!(custom
        .iter()
        .any(|c| c.get("loyalty_points").is_some_and(Value::is_string)));
    assert!(
        custom.iter().any(|c| c.is_empty()),
        "an empty custom_attributes object"
    );
}

#[test]
fn field_subsets_emit_only_requested_fields_with_unchanged_values() {
    let full = UserGenerator::new(GeneratorConfig::new(42));
    let fields = [
        "email",
        "country",
        "custom_events",
        "braze_id",
        "push_subscribe",
    ];
    let set =
        FieldSet::from_export_request(fields, ["plan", "a.b", "not_generated"]).expect("valid");
    let sub = UserGenerator::new(GeneratorConfig {
        seed: 42,
        fields: set,
    });
    let mut saw_custom = false;
    for i in 0..500 {
        let s = parse(&line(&sub, i));
        let f = parse(&line(&full, i));
        for (k, v) in &s {
            let allowed = fields.contains(&k.as_str())
                || k == "custom_attributes"
                || DEPENDENT_FIELDS
                    .iter()
                    .any(|(d, of)| d == k && fields.contains(of));
            assert!(allowed, "unexpected field {k}");
            if k == "custom_attributes" {
                saw_custom = true;
                let obj = v.as_object().expect("object");
                assert!(!obj.is_empty());
                for (name, value) in obj {
                    assert!(
                        name == "plan" || name == "a.b",
                        "unexpected attribute {name}"
                    );
                    assert_eq!(Some(value), f["custom_attributes"].get(name));
                }
            } else {
                assert_eq!(Some(v), f.get(k), "field {k} of user {i}");
            }
        }
        // Nothing requested that the full user has is missing.
        for k in fields {
            assert_eq!(s.get(k), f.get(k));
        }
    }
    assert!(saw_custom);

    let only_id = FieldSet::from_export_request(["external_id"], [""; 0]).expect("valid");
    let gen = UserGenerator::new(GeneratorConfig {
        seed: 42,
        fields: only_id,
    });
    for i in 0..100 {
        let u = parse(&line(&gen, i));
        assert!(u.keys().all(|k| k == "external_id"));
    }
    let nothing = FieldSet::from_export_request([""; 0], [""; 0]).expect("valid");
    let gen = UserGenerator::new(GeneratorConfig {
        seed: 42,
        fields: nothing,
    });
    assert_eq!(line(&gen, 3), b"{}");
}
