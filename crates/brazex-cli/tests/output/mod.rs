//! Typed outputs: Parquet and CSV read back (with the `parquet` and `csv` crates and
//! with DuckDB) and compared with the NDJSON path; folders of parts, rotation,
//! compression, the manifest, `--tables`.

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::{brazex, generate_pair};

fn generate(dir: &Path, users: &str) -> (PathBuf, Vec<serde_json::Value>) {
    let users: u64 = users.parse().expect("a number of users");
    let (zip, ndjson) = generate_pair(dir, users, 700, 42);
    let users = std::fs::read_to_string(&ndjson)
        .expect("ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    (zip, users)
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).expect("open parquet");
    ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet metadata")
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect()
}

fn parts(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    parts.sort();
    parts
}

fn ms(text: &str) -> i64 {
    brazex_ms(text)
}

/// Milliseconds since the epoch of a Braze timestamp `YYYY-MM-DDTHH:MM:SS.mmmZ`,
/// computed here independently (days by counting).
fn brazex_ms(text: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().expect("digits");
    let (y, mo, d) = (n(0..4), n(5..7), n(8..10));
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days = 0;
    for year in 1970..y {
        days += if leap(year) { 366 } else { 365 };
    }
    let month_days = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += month_days[..(mo - 1) as usize].iter().sum::<i64>() + d - 1;
    let secs = days * 86400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    let millis = if text.len() > 20 { n(20..23) } else { 0 };
    secs * 1000 + millis
}

#[test]
fn parquet_full_object_matches_the_ndjson() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, users) = generate(dir.path(), "2500");
    let out = dir.path().join("pq");
    let run = brazex(&[
        "process",
        "--format",
        "parquet",
        "--rows-per-file",
        "1000",
        "--row-group-rows",
        "300",
        "-o",
        &format!("{}/", out.display()),
        zip.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_success();
    let files = parts(&out, ".parquet");
    assert_eq!(files.len(), 3, "2500 rows in parts of 1000");
    let mut row = 0;
    for (i, file) in files.iter().enumerate() {
        let metadata =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).expect("open"))
                .expect("metadata")
                .metadata()
                .clone();
        assert!(metadata.row_groups().iter().all(|g| g.num_rows() <= 300));
        let batches = read_parquet(file);
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, if i < 2 { 1000 } else { 500 });
        for batch in batches {
            let schema = batch.schema();
            let col = |name: &str| batch.column(schema.index_of(name).expect("column")).clone();
            let ids = col("external_id");
            let ids = ids.as_string::<i32>();
            let revenue = col("total_revenue");
            let revenue = revenue.as_primitive::<Float64Type>();
            let bucket = col("random_bucket");
            let bucket = bucket.as_primitive::<Int32Type>();
            let created = col("created_at");
            let created = created.as_primitive::<TimestampMillisecondType>();
            let purchases = col("purchases");
            let purchases = purchases.as_list::<i32>();
            let custom = col("custom_attributes");
            let custom = custom.as_string::<i32>();
            for r in 0..batch.num_rows() {
                let user = &users[row];
                assert_eq!(ids.is_null(r), user["external_id"].is_null());
                if !ids.is_null(r) {
                    assert_eq!(ids.value(r), user["external_id"].as_str().expect("id"));
                }
                match user["total_revenue"].as_f64() {
                    Some(v) => assert_eq!(revenue.value(r), v),
                    None => assert!(revenue.is_null(r)),
                }
                assert_eq!(
                    i64::from(bucket.value(r)),
                    user["random_bucket"].as_i64().expect("bucket")
                );
                match user["created_at"].as_str() {
                    Some(t) => assert_eq!(created.value(r), ms(t), "row {row}"),
                    None => assert!(created.is_null(r)),
                }
                let want = user["purchases"].as_array().map_or(0, Vec::len);
                let got = if purchases.is_null(r) {
                    0
                } else {
                    purchases.value(r).len()
                };
                assert_eq!(got, want, "row {row}: purchases");
                if let Some(first) = user["purchases"][0]["first"].as_str() {
                    let p = purchases.value(r);
                    let p = p.as_struct();
                    let firsts = p.column_by_name("first").expect("first");
                    assert_eq!(
                        firsts.as_primitive::<TimestampMillisecondType>().value(0),
                        ms(first)
                    );
                }
                match &user["custom_attributes"] {
                    serde_json::Value::Null => assert!(custom.is_null(r)),
                    v => assert_eq!(
                        &serde_json::from_str::<serde_json::Value>(custom.value(r)).expect("json"),
                        v
                    ),
                }
                row += 1;
            }
        }
    }
    assert_eq!(row, users.len());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["totals"]["rows_written"], 2500);
    assert_eq!(manifest["totals"]["files"], 3);
    let table = &manifest["tables"][0];
    assert_eq!(table["files"][0]["path"], "part-00000.parquet");
    assert_eq!(table["files"][0]["rows"], 1000);
    let bytes = std::fs::read(&files[0]).expect("part");
    assert_eq!(table["files"][0]["bytes"], bytes.len());
    assert_eq!(table["files"][0]["sha256"].as_str().expect("sha").len(), 64);
    let types = crate::util::name_types(&table["columns"]);
    assert!(types.contains(&"dob:date".to_string()));
    assert!(types.contains(
        &"purchases:list<struct<name:string,first:timestamp,last:timestamp,count:int>>".to_string()
    ));

    // A second run into the same folder is refused: parts of two runs never mix.
    let again = brazex(&[
        "process",
        "--format",
        "parquet",
        "-o",
        &format!("{}/", out.display()),
        zip.to_str().expect("utf-8"),
    ])
    .run();
    again.assert_exit(2);
    again.assert_stderr_contains("already holds brazex output");
}

#[test]
fn parquet_row_groups_close_at_the_byte_limit_with_dictionaries_where_values_repeat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, users) = generate(dir.path(), "2500");
    let out = dir.path().join("users.parquet");
    let run = brazex(&[
        "process",
        "--format",
        "parquet",
        "--row-group-bytes",
        "256KiB",
        "--jobs",
        "2",
        "-o",
        out.to_str().expect("utf-8"),
        zip.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_success();
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out).expect("open"))
        .expect("metadata");
    let metadata = reader.metadata().clone();
    let groups = metadata.row_groups();
    assert!(groups.len() >= 2, "{} row groups", groups.len());
    assert_eq!(groups.iter().map(|g| g.num_rows()).sum::<i64>(), 2500);
    // The Arrow schema travels with the file: readers get the UTC time zone back.
    assert_eq!(
        reader
            .schema()
            .field_with_name("created_at")
            .expect("created_at")
            .data_type()
            .to_string(),
        "Timestamp(ms, \"UTC\")"
    );
    let dictionary = |name: &str| {
        let column = groups[0]
            .columns()
            .iter()
            .find(|c| c.column_path().string() == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        column.dictionary_page_offset().is_some()
    };
    assert!(
        dictionary("country"),
        "repeating text is dictionary-encoded"
    );
    assert!(dictionary("language"));
    assert!(!dictionary("external_id"), "identifiers are not");
    assert!(!dictionary("email"));
    assert!(!dictionary("created_at"), "nor timestamps");
    assert!(!dictionary("custom_attributes"), "nor JSON text");
    // Rows in input order across row groups, each value where it was.
    let ids: Vec<Option<String>> = read_parquet(&out)
        .iter()
        .flat_map(|b| {
            let ids = b
                .column(b.schema().index_of("external_id").expect("id"))
                .clone();
            let ids = ids.as_string::<i32>().clone();
            (0..ids.len())
                .map(|i| (!ids.is_null(i)).then(|| ids.value(i).to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let want: Vec<Option<String>> = users
        .iter()
        .map(|u| u["external_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids, want);
}

#[test]
fn select_types_pins_inference_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, users) = generate(dir.path(), "1200");
    let out = dir.path().join("sel.parquet");
    let run = brazex(&[
        "process",
        "--format",
        "parquet",
        "--select",
        "id=external_id,rev=total_revenue,firsts=purchases[].first,plan=custom_attributes.plan:string,lv=custom_attributes.lifetime_value",
        "-o",
        out.to_str().expect("utf-8"),
        zip.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_success();
    run.assert_stderr_contains("column lv: float (inferred");
    let batches = read_parquet(&out);
    let schema = batches[0].schema();
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name(), f.data_type()))
        .collect();
    assert_eq!(names[0], "id:Utf8");
    assert_eq!(names[1], "rev:Float64");
    assert!(names[2].starts_with("firsts:List("), "{names:?}");
    assert_eq!(names[3], "plan:Utf8");
    assert_eq!(names[4], "lv:Float64");
    let mut row = 0;
    for batch in &batches {
        let plan = batch.column(3).as_string::<i32>();
        for r in 0..batch.num_rows() {
            match users[row]["custom_attributes"]["plan"].as_str() {
                Some(p) => assert_eq!(plan.value(r), p),
                None => assert!(plan.is_null(r)),
            }
            row += 1;
        }
    }
    assert_eq!(row, 1200);

    // A stream (the zip on stdin) is sampled for inference, then replayed from the
    // start: same types and the same rows, however few rows the sample took.
    let piped = dir.path().join("piped.parquet");
    let run = brazex(&[
        "process",
        "--format",
        "parquet",
        "--infer-rows",
        "50",
        "--select",
        "id=external_id,rev=total_revenue,firsts=purchases[].first,plan=custom_attributes.plan:string,lv=custom_attributes.lifetime_value",
        "-o",
        piped.to_str().expect("utf-8"),
    ])
    .stdin(std::fs::read(&zip).expect("zip"))
    .run();
    run.assert_success();
    run.assert_stderr_contains("column lv: float (inferred");
    let column_values = |batches: &[RecordBatch], column: usize| -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                let array = b.column(column);
                (0..array.len())
                    .map(|i| format!("{:?}", array.slice(i, 1)))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let piped_batches = read_parquet(&piped);
    assert_eq!(piped_batches[0].schema(), batches[0].schema());
    for column in 0..5 {
        assert_eq!(
            column_values(&piped_batches, column),
            column_values(&batches, column),
            "column {column}"
        );
    }

    // A value that does not fit its column: the error names line and column...
    let input = b"{\"external_id\":\"a\",\"custom_attributes\":{\"n\":1}}\n{\"external_id\":\"b\",\"custom_attributes\":{\"n\":\"two\"}}\n{\"external_id\":\"c\",\"dob\":\"1990-02-30\"}\n".to_vec();
    let bad = dir.path().join("bad.parquet");
    let run = brazex(&[
        "process",
        "--format",
        "parquet",
        "--select",
        "external_id,n=custom_attributes.n:int,dob",
        "-o",
        bad.to_str().expect("utf-8"),
    ])
    .stdin(input.clone())
    .run();
    run.assert_exit(1);
    run.assert_stderr_contains("<stdin>:2: column n: expected an integer, found \"two\"");
    assert!(!bad.exists());
    // ...and with --on-error skip the rows are skipped, counted and recorded.
    let errors = dir.path().join("errors.ndjson");
    let run = brazex(&[
        "process",
        "--format",
        "csv",
        "--on-error",
        "skip",
        "--errors-to",
        errors.to_str().expect("utf-8"),
        "--select",
        "external_id,n=custom_attributes.n:int,dob",
    ])
    .stdin(input)
    .run();
    run.assert_success();
    run.assert_stderr_contains("3 rows read, 1 written, 2 bad lines skipped");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "external_id,n,dob\r\na,1,\r\n"
    );
    let recorded = std::fs::read_to_string(&errors).expect("errors");
    assert!(
        recorded.contains("column dob: expected a date YYYY-MM-DD"),
        "{recorded}"
    );
    let run = brazex(&["process", "--format", "csv", "--select", "a:integer"])
        .stdin(Vec::new())
        .run();
    run.assert_exit(2);
    run.assert_stderr_contains("unknown type 'integer'");
}

#[test]
fn csv_and_ndjson_parts_rotate_and_compress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, users) = generate(dir.path(), "1500");
    let nd = dir.path().join("nd");
    let run = brazex(&[
        "process",
        "-q",
        "--compress",
        "gzip",
        "--rows-per-file",
        "600",
        "-o",
        &format!("{}/", nd.display()),
        zip.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_success();
    let files = parts(&nd, ".ndjson.gz");
    assert_eq!(files.len(), 3);
    let mut text = String::new();
    for f in &files {
        text.push_str(&flate2_read(f));
    }
    let plain = brazex(&["process", "-q", zip.to_str().expect("utf-8")]).run();
    assert_eq!(
        text.as_bytes(),
        plain.stdout.as_slice(),
        "parts joined are the NDJSON output"
    );

    let csv_dir = dir.path().join("csv");
    let run = brazex(&[
        "process",
        "-q",
        "--format",
        "csv",
        "--compress",
        "zstd",
        "--max-file-bytes",
        "1MiB",
        "--select",
        "external_id,total_revenue,created_at,purchases[].name",
        "-o",
        &format!("{}/", csv_dir.display()),
        zip.to_str().expect("utf-8"),
    ])
    .run();
    run.assert_success();
    let files = parts(&csv_dir, ".csv.zst");
    assert!(!files.is_empty());
    let mut rows = 0;
    for f in &files {
        let data = zstd_decode(f);
        let mut reader = csv::Reader::from_reader(data.as_slice());
        assert_eq!(
            reader.headers().expect("header").iter().collect::<Vec<_>>(),
            [
                "external_id",
                "total_revenue",
                "created_at",
                "purchases[].name"
            ]
        );
        for record in reader.records() {
            let record = record.expect("csv");
            let user = &users[rows];
            assert_eq!(record[0], *user["external_id"].as_str().unwrap_or(""));
            if let Some(t) = user["created_at"].as_str() {
                assert_eq!(ms(&record[2]), ms(t));
            }
            rows += 1;
        }
    }
    assert_eq!(rows, 1500);
}

fn flate2_read(path: &Path) -> String {
    let out = Command::new("gzip")
        .args(["-dc"])
        .arg(path)
        .output()
        .expect("gzip");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn zstd_decode(path: &Path) -> Vec<u8> {
    let data = std::fs::read(path).expect("read");
    zstd::decode_all(data.as_slice()).expect("zstd")
}

#[test]
fn a_failed_run_leaves_no_parts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let mut input = Vec::new();
    for i in 0..50 {
        input.extend(format!("{{\"external_id\":\"{i}\"}}\n").into_bytes());
    }
    input.extend(b"{broken\n");
    let run = brazex(&[
        "process",
        "--format",
        "parquet",
        "--rows-per-file",
        "10",
        "-o",
        &format!("{}/", out.display()),
    ])
    .stdin(input)
    .run();
    run.assert_exit(1);
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// DuckDB (from PyPI, installed by scripts/test.sh) reads the Parquet, CSV and
/// `--tables` outputs and must find what the NDJSON output says. Fails when DuckDB
/// is missing: the check is part of CI.
#[test]
fn duckdb_reads_parquet_csv_and_tables_like_the_ndjson() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, _) = generate(dir.path(), "3000");
    let z = zip.to_str().expect("utf-8");
    let d = |name: &str| format!("{}/", dir.path().join(name).display());
    let all = dir.path().join("all.ndjson");
    brazex(&["process", "-q", "-o", all.to_str().expect("utf-8"), z])
        .run()
        .assert_success();
    brazex(&[
        "process",
        "-q",
        "--format",
        "parquet",
        "--rows-per-file",
        "1000",
        "-o",
        &d("pq"),
        z,
    ])
    .run()
    .assert_success();
    brazex(&[
        "process",
        "-q",
        "--format",
        "csv",
        "--compress",
        "gzip",
        "-o",
        &d("csv"),
        z,
    ])
    .run()
    .assert_success();
    brazex(&[
        "process",
        "-q",
        "--format",
        "parquet",
        "--tables",
        // Small row groups: the tables' row groups close often and interleave, so
        // one table's chunks arrive while another's are being collected.
        "--row-group-bytes",
        "64KiB",
        "-o",
        &d("tpq"),
        z,
    ])
    .run()
    .assert_success();
    brazex(&[
        "process",
        "-q",
        "--format",
        "csv",
        "--tables",
        "-o",
        &d("tcsv"),
        z,
    ])
    .run()
    .assert_success();
    let script = r#"
import sys, duckdb
root = sys.argv[1]
c = duckdb.connect()
c.sql("SET TimeZone='UTC'")
def q(sql): return c.sql(sql).fetchall()
nd = f"read_ndjson('{root}/all.ndjson', columns={{external_id:'VARCHAR', braze_id:'VARCHAR', country:'VARCHAR', total_revenue:'DOUBLE', created_at:'VARCHAR', purchases:'STRUCT(name VARCHAR, \"first\" VARCHAR, \"last\" VARCHAR, count BIGINT)[]'}})"
want = {
  'count': q(f"select count(*) from {nd}"),
  'revenue': q(f"select round(sum(total_revenue), 6) from {nd}"),
  'countries': q(f"select country, count(*) from {nd} group by all order by all"),
  'created': q(f"select sum(epoch_ms(strptime(created_at, '%Y-%m-%dT%H:%M:%S.%gZ'))) from {nd}"),
  'purchases': q(f"select count(*), sum(epoch_ms(strptime(p.first, '%Y-%m-%dT%H:%M:%S.%gZ'))) from (select unnest(purchases) p from {nd})"),
}
sources = {
  'parquet': f"read_parquet('{root}/pq/*.parquet')",
  'csv': f"read_csv('{root}/csv/*.csv.gz', header=true)",
  'tables-parquet': f"read_parquet('{root}/tpq/users/*.parquet')",
  'tables-csv': f"read_csv('{root}/tcsv/users/*.csv', header=true)",
}
failed = False
for name, src in sources.items():
    got = {
      'count': q(f"select count(*) from {src}"),
      'revenue': q(f"select round(sum(total_revenue), 6) from {src}"),
      'countries': q(f"select country, count(*) from {src} group by all order by all"),
      'created': q(f"select sum(epoch_ms(created_at::timestamptz)) from {src}"),
    }
    if name == 'parquet':
      got['purchases'] = q(f"select count(*), sum(epoch_ms(p.first)) from (select unnest(purchases) p from {src})")
    if name.startswith('tables'):
      ext = 'parquet' if name == 'tables-parquet' else 'csv'
      folder = 'tpq' if ext == 'parquet' else 'tcsv'
      reader = 'read_parquet' if ext == 'parquet' else 'read_csv'
      got['purchases'] = q(f"select count(*), sum(epoch_ms(p.first::timestamptz)) from {reader}('{root}/{folder}/purchases/*.{ext}') p join {src} u on u.braze_id = p.braze_id")
    for k, v in got.items():
        if v != want[k]:
            print(f"{name}: {k}: got {v}, want {want[k]}")
            failed = True
print("checked", want['count'])
sys.exit(1 if failed else 0)
"#;
    let root = dir.path().to_str().expect("utf-8");
    let stdout = crate::util::duckdb(script, &[root]);
    assert!(stdout.contains("checked [(3000,)]"));
}
