//! The archive writers read back with the `zip` crate and flate2, contain the
//! generator's lines, and are reproducible.

use std::io::{Cursor, Read};

use brazex_sim::{
    entry_name, entry_ranges, write_gzip, write_ndjson, write_zip, write_zip_entries,
    ExportSummary, GeneratorConfig, UserGenerator,
};
use flate2::read::GzDecoder;

fn gen() -> UserGenerator {
    UserGenerator::new(GeneratorConfig::new(9))
}

fn ndjson(users: std::ops::Range<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    let s = write_ndjson(&gen(), users.clone(), &mut out).expect("ndjson");
    assert_eq!(s.users, users.end - users.start);
    assert_eq!(s.ndjson_bytes, out.len() as u64);
    out
}

#[test]
fn ndjson_is_the_generators_lines() {
    let out = ndjson(5..305);
    let mut expected = Vec::new();
    gen().write_users(5..305, &mut expected);
    assert_eq!(out, expected);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 300);
    assert_eq!(out.last(), Some(&b'\n'));
}

#[test]
fn zip_reads_back_with_entries_and_lines() {
    let mut buf = Cursor::new(Vec::new());
    let summary = write_zip(&gen(), 1_050, 250, &mut buf).expect("zip");
    let all = ndjson(0..1_050);
    assert_eq!(
        summary,
        ExportSummary {
            users: 1_050,
            entries: 5,
            ndjson_bytes: all.len() as u64
        }
    );
    let bytes = buf.into_inner();
    let mut zip = zip::ZipArchive::new(Cursor::new(&bytes)).expect("readable zip");
    assert_eq!(zip.len(), 5);
    let mut joined = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        assert_eq!(entry.name().expect("name"), format!("{i:05}.txt"));
        assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
        let mut text = Vec::new();
        entry.read_to_end(&mut text).expect("inflate");
        let lines = text.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lines, if i < 4 { 250 } else { 50 });
        joined.extend_from_slice(&text);
    }
    assert_eq!(joined, all);
    assert!(bytes.len() * 3 < all.len(), "deflate compresses");

    // Reproducible byte for byte.
    let mut again = Cursor::new(Vec::new());
    write_zip(&gen(), 1_050, 250, &mut again).expect("zip");
    assert_eq!(again.into_inner(), bytes);
}

#[test]
fn zip_edge_cases() {
    let mut buf = Cursor::new(Vec::new());
    let s = write_zip(&gen(), 0, 5_000, &mut buf).expect("empty zip");
    assert_eq!(s, ExportSummary::default());
    let zip = zip::ZipArchive::new(Cursor::new(buf.into_inner())).expect("readable");
    assert_eq!(zip.len(), 0);

    // Uneven and empty entries.
    let mut buf = Cursor::new(Vec::new());
    let s = write_zip_entries(&gen(), [0..3, 3..3, 3..10], &mut buf).expect("zip");
    assert_eq!((s.users, s.entries), (10, 3));
    let mut zip = zip::ZipArchive::new(Cursor::new(buf.into_inner())).expect("readable");
    let mut empty = String::new();
    zip.by_name(&entry_name(1))
        .expect("entry")
        .read_to_string(&mut empty)
        .expect("read");
    assert!(empty.is_empty());

    assert_eq!(entry_ranges(10, 4).collect::<Vec<_>>(), [0..4, 4..8, 8..10]);
    assert_eq!(entry_ranges(8, 4).count(), 2);
    assert_eq!(entry_ranges(3, 0).count(), 3);
    assert_eq!(entry_name(123_456), "123456.txt");
}

#[test]
fn gzip_reads_back() {
    let mut gz = Vec::new();
    let s = write_gzip(&gen(), 100..600, &mut gz).expect("gzip");
    assert_eq!((s.users, s.entries), (500, 1));
    let mut text = Vec::new();
    GzDecoder::new(gz.as_slice())
        .read_to_end(&mut text)
        .expect("gunzip");
    assert_eq!(text, ndjson(100..600));
    assert_eq!(s.ndjson_bytes, text.len() as u64);
    let mut again = Vec::new();
    write_gzip(&gen(), 100..600, &mut again).expect("gzip");
    assert_eq!(gz, again);
}
