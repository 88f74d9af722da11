//! Replays every committed fuzz corpus through its target's entry function, on
//! stable: what the fuzzers kept, and each regression input they found, stays checked
//! in CI. A corpus that went missing fails here, it does not pass empty.

use std::path::PathBuf;

fn corpus(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let count = brazex_fuzz::replay_dir(&dir, run)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()));
    assert!(count >= 5, "{}: only {count} inputs", dir.display());
}

#[test]
fn zip_stream() {
    corpus("zip_stream", brazex_fuzz::zip_stream);
}

#[test]
fn central_directory() {
    corpus("central_directory", brazex_fuzz::central_directory);
}

#[test]
fn gzip() {
    corpus("gzip", brazex_fuzz::gzip);
}

#[test]
fn framer() {
    corpus("framer", brazex_fuzz::framer);
}

#[test]
fn pass_through() {
    corpus("pass_through", brazex_fuzz::pass_through);
}

#[test]
fn json_line() {
    corpus("json_line", brazex_fuzz::json_line);
}

#[test]
fn select() {
    corpus("select", brazex_fuzz::select);
}

#[test]
fn r#where() {
    corpus("where", brazex_fuzz::r#where);
}

#[test]
fn typed() {
    corpus("typed", brazex_fuzz::typed);
}

#[test]
fn parquet_writer() {
    corpus("parquet_writer", brazex_fuzz::parquet_writer);
}
