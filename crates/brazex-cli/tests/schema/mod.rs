//! Schema contracts: custom attributes as columns, pinned schemas (`--schema`),
//! `--schema-evolution`, `schema_changes` in the manifest, `brazex schema`. Two
//! "nights" are written here where inference drifts: `ltv` holds fractions on the
//! first night and only whole numbers on the second, `sparse` first appears after the
//! sample, and `new_attr` appears on the second night only. DuckDB reads the results.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::util::brazex;

/// Rows of a night; `sparse` from row 15,000 (past a 1,000-row sample, and past the
/// first block the sample reads), `new_attr` from row 40 on the second night.
const ROWS: usize = 20_000;

fn night(dir: &Path, name: &str, second: bool) -> PathBuf {
    let mut text = String::new();
    for i in 0..ROWS {
        let mut custom = json!({
            "ltv": if second { json!(i) } else { json!(i as f64 + 0.5) },
            "tier": if i % 2 == 0 { "gold" } else { "silver" },
        });
        if i >= 15_000 {
            custom["sparse"] = json!(i);
        }
        if second && i >= 40 {
            custom["new_attr"] = json!(format!("x{i}"));
        }
        let user = json!({"external_id": format!("u{i}"), "braze_id": format!("b{i}"),
            "custom_attributes": custom});
        text += &user.to_string();
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write night");
    path
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("_manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("json")
}

/// The users table's columns in a manifest, as `name:type`.
fn columns(manifest: &Value) -> Vec<String> {
    crate::util::name_types(&manifest["tables"][0]["columns"])
}

fn custom_columns(manifest: &Value) -> Vec<String> {
    columns(manifest)
        .into_iter()
        .filter(|c| c.starts_with("custom_attributes"))
        .collect()
}

/// Runs a DuckDB script (Python) with `args`; its stdout.
fn duckdb(script: &str, args: &[&str]) -> String {
    crate::util::duckdb(&format!("import duckdb, sys\n{script}"), args)
}

/// `process --custom-attributes columns` of `input` into folder `out` as `format`.
fn columns_into(format: &str, out: &Path, input: &Path, extra: &[&str]) -> crate::util::Run {
    let dir = format!("{}/", s(out));
    let mut args = vec![
        "--format",
        format,
        "--custom-attributes",
        "columns",
        "-o",
        &dir,
    ];
    args.extend_from_slice(extra);
    args.push(s(input));
    process(&args)
}

fn process(args: &[&str]) -> crate::util::Run {
    let mut all = vec!["process", "--infer-rows", "1000"];
    all.extend_from_slice(args);
    brazex(&all).run()
}

#[test]
fn a_pinned_schema_keeps_types_night_after_night() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (one, two) = (
        night(d, "night1.ndjson", false),
        night(d, "night2.ndjson", true),
    );
    let (n1, n2, pinned) = (d.join("n1"), d.join("n2"), d.join("n2-pinned"));

    // Night 1, inferred: ltv float; sparse, unseen in the sample, goes to the rest.
    let run = columns_into("parquet", &n1, &one, &[]);
    run.assert_success();
    run.assert_stderr_contains("sent to custom_attributes__rest: sparse");
    let m1 = manifest(&n1);
    assert_eq!(m1["custom_attributes"], "columns");
    assert_eq!(
        custom_columns(&m1),
        vec![
            "custom_attributes__ltv:float",
            "custom_attributes__tier:string",
            "custom_attributes__rest:json"
        ]
    );
    let changes = &m1["schema_changes"];
    assert_eq!(changes["rest"][0]["key"], "sparse");
    assert_eq!(changes["rest"][0]["column"], "custom_attributes__sparse");
    assert_eq!(changes["rest"][0]["type"], "int");
    assert_eq!(changes["rest"][0]["rows"], 5000);
    assert_eq!(changes["rest"][0]["first"], format!("{}:15001", s(&one)));
    assert_eq!(changes["added"].as_array().map(Vec::len), Some(2));

    // Night 2, inferred again: ltv drifts to int, the drift shows.
    let run = columns_into("parquet", &n2, &two, &[]);
    run.assert_success();
    let m2 = manifest(&n2);
    assert!(custom_columns(&m2).contains(&"custom_attributes__ltv:int".to_string()));
    let added: Vec<&str> = m2["schema_changes"]["added"]
        .as_array()
        .expect("added")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert!(added.contains(&"custom_attributes__new_attr"), "{added:?}");
    let diff = brazex(&[
        "schema",
        "--diff",
        &format!("{}/_manifest.json", s(&n1)),
        &format!("{}/_manifest.json", s(&n2)),
    ])
    .run();
    diff.assert_exit(1);
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.contains("table users: column custom_attributes__ltv: type float -> int"),
        "{text}"
    );
    assert!(
        text.contains("column custom_attributes__new_attr: added (string)"),
        "{text}"
    );

    // Night 2 pinned to night 1: ltv stays float (reported as a widening); night 1's
    // rest key is a column now, typed; new_attr is added after the pinned columns.
    let run = process(&[
        "--format",
        "parquet",
        "--schema",
        &format!("{}/_manifest.json", s(&n1)),
        "-o",
        &format!("{}/", s(&pinned)),
        s(&two),
    ]);
    run.assert_success();
    run.assert_stderr_contains("kept custom_attributes__ltv float (found int)");
    let mp = manifest(&pinned);
    let cols = columns(&mp);
    assert_eq!(
        &cols[..cols.len() - 2],
        columns(&m1).as_slice(),
        "pinned columns keep their place"
    );
    assert_eq!(
        &cols[cols.len() - 2..],
        [
            "custom_attributes__sparse:int",
            "custom_attributes__new_attr:string"
        ]
    );
    let changes = &mp["schema_changes"];
    assert_eq!(
        changes["widened"],
        json!([{"table": "users", "name": "custom_attributes__ltv", "type": "float", "found": "int"}])
    );
    assert_eq!(changes["added"][0]["name"], "custom_attributes__new_attr");
    assert_eq!(changes["rest"], json!([]));

    // DuckDB reads both nights' parts with one schema (no union_by_name), and the
    // rest of night 1 holds sparse's values losslessly.
    let out = duckdb(
        r#"
a, b, c = sys.argv[1:4]
both = f"read_parquet(['{a}/*.parquet', '{b}/*.parquet'])"
print(duckdb.sql(f"select typeof(custom_attributes__ltv), count(*), sum(custom_attributes__ltv) from {both} group by 1").fetchall())
print(duckdb.sql(f"select name, type from parquet_schema('{c}/*.parquet') where name = 'custom_attributes__ltv'").fetchall())
print(duckdb.sql(f"select sum(cast(json_extract(custom_attributes__rest, '$.sparse') as bigint)) from read_parquet('{a}/*.parquet')").fetchall())
print(duckdb.sql(f"select count(custom_attributes__sparse), sum(custom_attributes__sparse) from read_parquet('{b}/*.parquet')").fetchall())
"#,
        &[s(&n1), s(&pinned), s(&n2)],
    );
    let sum_ltv: f64 =
        (0..ROWS).map(|i| i as f64 + 0.5).sum::<f64>() + (0..ROWS).map(|i| i as f64).sum::<f64>();
    let sparse: i64 = (15_000..ROWS as i64).sum();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("[('DOUBLE', {}, {sum_ltv:?})]", 2 * ROWS),
        "{out}"
    );
    assert_eq!(lines[1], "[('custom_attributes__ltv', 'INT64')]", "{out}");
    assert_eq!(lines[2], format!("[({sparse},)]"), "{out}");
    assert_eq!(lines[3], format!("[(5000, {sparse})]"), "{out}");
}

#[test]
fn freeze_names_the_new_column_and_its_line_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (one, two) = (
        night(d, "night1.ndjson", false),
        night(d, "night2.ndjson", true),
    );
    let n1 = d.join("n1");
    columns_into("csv", &n1, &one, &["-q"]).assert_success();
    let schema = format!("{}/_manifest.json", s(&n1));
    for on_error in ["fail", "skip"] {
        for jobs in ["1", "2"] {
            let out = d.join(format!("frozen-{on_error}-{jobs}"));
            let run = process(&[
                "--format",
                "csv",
                "--schema",
                &schema,
                "--schema-evolution",
                "freeze",
                "--on-error",
                on_error,
                "-j",
                jobs,
                "-o",
                &format!("{}/", s(&out)),
                s(&two),
            ]);
            run.assert_exit(1);
            run.assert_stderr_contains(&format!(
                "{}:41: column custom_attributes__new_attr is not in the schema {schema} (--schema-evolution freeze); nothing was written",
                s(&two)
            ));
            assert!(!out.exists(), "a frozen run leaves nothing");
        }
    }
    // Night 1 itself fits its own schema, frozen: the same columns (sparse is one now).
    let again = d.join("again");
    let run = process(&[
        "--format",
        "csv",
        "--schema",
        &schema,
        "--schema-evolution",
        "freeze",
        "-o",
        &format!("{}/", s(&again)),
        s(&one),
    ]);
    run.assert_success();
    let m = manifest(&again);
    assert!(columns(&m).contains(&"custom_attributes__sparse:int".to_string()));
    assert_eq!(m["schema_changes"]["added"], json!([]));
    assert_eq!(m["schema_changes"]["rest"], json!([]));
    // A --select column the frozen schema lacks is refused before anything is read.
    let run = process(&[
        "--format",
        "csv",
        "--select",
        "external_id,custom_attributes.tier",
        "--schema",
        &schema,
        "--schema-evolution",
        "freeze",
        s(&one),
    ]);
    run.assert_exit(1);
    run.assert_stderr_contains("column custom_attributes.tier is not in the schema");
}

#[test]
fn values_that_do_not_fit_a_pinned_column_follow_the_error_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let schema = d.join("schema.json");
    std::fs::write(
        &schema,
        r#"{"columns":[{"name":"external_id","type":"string"},{"name":"custom_attributes__ltv","type":"float"},{"name":"custom_attributes__rest","type":"json"}]}"#,
    )
    .expect("schema");
    let input = d.join("in.ndjson");
    std::fs::write(
        &input,
        "{\"external_id\":\"a\",\"custom_attributes\":{\"ltv\":1}}\n{\"external_id\":\"b\",\"custom_attributes\":{\"ltv\":\"lots\"}}\n{\"external_id\":\"c\",\"custom_attributes\":{\"ltv\":2.5,\"x\":[1,{\"y\":null}]}}\n",
    )
    .expect("input");
    let run = process(&["--format", "csv", "--schema", s(&schema), s(&input)]);
    run.assert_exit(1);
    run.assert_stderr_contains(&format!(
        "{}:2: column custom_attributes__ltv: expected a number, found \"lots\"",
        s(&input)
    ));
    let run = process(&[
        "--format",
        "csv",
        "--on-error",
        "skip",
        "--schema",
        s(&schema),
        s(&input),
    ]);
    run.assert_success();
    run.assert_stderr_contains("1 bad lines skipped");
    let csv = String::from_utf8_lossy(&run.stdout).into_owned();
    let lines: Vec<&str> = csv.lines().collect();
    // The schema's columns first; the new key x (in the sample) added at the end.
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(
        header[..3],
        [
            "external_id",
            "custom_attributes__ltv",
            "custom_attributes__rest"
        ]
    );
    assert_eq!(header.last(), Some(&"custom_attributes__x"));
    assert!(lines[1].starts_with("a,1,,"), "{csv}");
    assert!(lines[2].starts_with("c,2.5,,"), "{csv}");
    assert!(lines[2].ends_with(",\"[1,{\"\"y\"\":null}]\""), "{csv}");
    assert_eq!(lines.len(), 3);
}

#[test]
fn brazex_schema_prints_the_run_s_schema_and_diffs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (one, two) = (
        night(d, "night1.ndjson", false),
        night(d, "night2.ndjson", true),
    );
    let printed = brazex(&[
        "schema",
        "-q",
        "--infer-rows",
        "1000",
        "--custom-attributes",
        "columns",
        s(&one),
    ])
    .run();
    printed.assert_success();
    let file = d.join("schema.json");
    std::fs::write(&file, &printed.stdout).expect("write schema");
    let doc: Value = serde_json::from_slice(&printed.stdout).expect("json");
    assert_eq!(doc["custom_attributes"], "columns");

    // What it printed is what the run writes.
    let out = d.join("out");
    columns_into("parquet", &out, &one, &["-q"]).assert_success();
    let m = manifest(&out);
    assert_eq!(columns(&doc), columns(&m));
    let same = brazex(&[
        "schema",
        "--diff",
        s(&file),
        &format!("{}/_manifest.json", s(&out)),
    ])
    .run();
    same.assert_success();
    assert!(same.stdout.is_empty());
    same.assert_stderr_contains("have the same schema");

    // Edited by hand (ltv pinned to float, sparse added), and used as --schema.
    let mut edited = doc.clone();
    let cols = edited["tables"][0]["columns"]
        .as_array_mut()
        .expect("columns");
    cols.push(json!({"name": "custom_attributes__sparse", "type": "int"}));
    std::fs::write(&file, edited.to_string()).expect("write edited");
    let with = brazex(&[
        "schema",
        "-q",
        "--infer-rows",
        "1000",
        "--schema",
        s(&file),
        s(&two),
    ])
    .run();
    with.assert_success();
    let got: Value = serde_json::from_slice(&with.stdout).expect("json");
    let got = columns(&got);
    assert!(
        got.contains(&"custom_attributes__ltv:float".to_string()),
        "{got:?}"
    );
    assert_eq!(
        got.last().map(String::as_str),
        Some("custom_attributes__new_attr:string")
    );
    let diff = brazex(&["schema", "--diff", s(&file), s(&d.join("missing.json"))]).run();
    diff.assert_exit(3);
    let bad = d.join("bad.json");
    std::fs::write(&bad, r#"{"columns":[{"name":"a","type":"number"}]}"#).expect("bad");
    let run = process(&["--format", "csv", "--schema", s(&bad), s(&one)]);
    run.assert_exit(2);
    run.assert_stderr_contains("column a: unknown type 'number'");
}

#[test]
fn custom_attribute_columns_in_tables_and_the_flags_they_need() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let zip = d.join("g.zip");
    brazex(&["generate", "--users", "3000", "-o", s(&zip)])
        .run()
        .assert_success();
    let out = d.join("t");
    columns_into("parquet", &out, &zip, &["-q", "--tables"]).assert_success();
    let m = manifest(&out);
    let custom = custom_columns(&m);
    assert!(custom.len() > 2, "{custom:?}");
    assert_eq!(
        custom.last().map(String::as_str),
        Some("custom_attributes__rest:json")
    );
    // DuckDB: every custom attribute of the generated users is in a column or the rest.
    let names: Vec<String> = custom
        .iter()
        .filter_map(|c| c.split(':').next())
        .map(str::to_string)
        .collect();
    let got = duckdb(
        r#"
root, zip_cols = sys.argv[1], sys.argv[2].split(',')
t = f"read_parquet('{root}/users/*.parquet')"
q = lambda c: chr(34) + c.replace(chr(34), chr(34) * 2) + chr(34)
cells = ' + '.join(f"(case when {q(c)} is null then 0 else 1 end)" for c in zip_cols if not c.endswith('__rest'))
print(duckdb.sql(f"select count(*), sum({cells}) from {t}").fetchall())
print(duckdb.sql(f"select count(*) from read_parquet('{root}/purchases/*.parquet')").fetchall())
"#,
        &[s(&out), &names.join(",")],
    );
    let ndjson = brazex(&["process", "-q", s(&zip)]).run();
    let users: Vec<Value> = String::from_utf8_lossy(&ndjson.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let keyed: usize = users
        .iter()
        .map(|u| {
            u["custom_attributes"].as_object().map_or(0, |o| {
                o.iter()
                    .filter(|(k, v)| {
                        !v.is_null() && names.contains(&format!("custom_attributes__{k}"))
                    })
                    .count()
            })
        })
        .sum();
    let purchases: usize = users
        .iter()
        .map(|u| u["purchases"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(got, format!("[(3000, {keyed})]\n[({purchases},)]"));

    for (args, says) in [
        (
            vec![
                "--custom-attributes",
                "columns",
                "--select",
                "external_id",
                "--format",
                "csv",
            ],
            "with --select, name attributes",
        ),
        (vec!["--schema", "x.json"], "give --format csv or parquet"),
        (
            vec!["--custom-attributes", "columns"],
            "give --format csv or parquet",
        ),
        (
            vec!["--schema-evolution", "freeze", "--format", "csv"],
            "--schema",
        ),
    ] {
        let mut all = vec!["process"];
        all.extend(args);
        all.push(s(&zip));
        let run = brazex(&all).run();
        run.assert_exit(2);
        run.assert_stderr_contains(says);
    }
}
