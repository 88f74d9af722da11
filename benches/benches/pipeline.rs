//! criterion benches of the pipeline's hot stages, in bytes of NDJSON per second:
//! framing, validate-only (passthrough), validate + select of 7 fields (nested and
//! `[]` paths), the same with a 3-condition `--where`, zip and gzip decode, and the
//! two halves of Parquet output: building the typed Arrow batches of the whole user
//! object (a worker's job) and encoding them into a Parquet file on one encoder
//! thread (the sink's). Data comes from the deterministic generator.
//!
//! Run: `cargo bench -p brazex-benches` (figures go to BENCHMARKS.md).

use std::io::Cursor;
use std::sync::Arc;

use brazex_benches::{lines, ndjson, SelectRun, SELECT_7, USERS, WHERE_3};
use brazex_core::archive::{Decoder, EntrySink, Format};
use brazex_core::encode::{Encoder, Sink};
use brazex_core::filter::Filter;
use brazex_core::frame::{Block, Framer};
use brazex_core::path::parse_select;
use brazex_core::record::RecordParser;
use brazex_core::select::Selection;
use brazex_core::table::Plan;
use brazex_dest::parts::{PartOptions, Parts};
use brazex_dest::{Location, Run, StoreOptions, Target};
use brazex_parquet::{ParquetEncoder, ParquetOptions, ParquetSink, TableBatch};
use brazex_sim::{write_gzip, write_zip, GeneratorConfig, UserGenerator};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// A sink that counts bytes and drops them.
struct Discard(u64);

impl EntrySink for Discard {
    fn start_entry(&mut self, _: Option<&str>) -> brazex_core::Result<()> {
        Ok(())
    }
    fn data(&mut self, bytes: &[u8]) -> brazex_core::Result<()> {
        self.0 += bytes.len() as u64;
        Ok(())
    }
    fn end_entry(&mut self) -> brazex_core::Result<()> {
        Ok(())
    }
}

fn stages(c: &mut Criterion) {
    let data = ndjson();
    let mut group = c.benchmark_group("stages");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(data.len() as u64));

    group.bench_function("frame", |b| {
        b.iter(|| {
            let mut blocks = 0u64;
            let mut emit = |_: Block| {
                blocks += 1;
                Ok(())
            };
            let mut framer = Framer::new(512 << 10, 16 << 20, &mut emit);
            framer.set_input(Arc::from("bench"));
            framer.start_entry(None).expect("frame");
            for chunk in data.chunks(128 << 10) {
                framer.data(chunk).expect("frame");
            }
            framer.end_entry().expect("frame");
            drop(framer);
            blocks
        })
    });

    group.bench_function("validate", |b| {
        let mut parser = RecordParser::default();
        b.iter(|| {
            let mut ok = 0u64;
            for line in lines(&data) {
                ok += u64::from(parser.parse(line).is_ok());
            }
            ok
        })
    });

    let selection = Selection::new(&parse_select(SELECT_7).expect("select"));
    group.bench_function("validate_select_7", |b| {
        let mut run = SelectRun::default();
        b.iter(|| run.run(&data, None, &selection))
    });

    let filter = Filter::parse(WHERE_3).expect("where");
    group.bench_function("validate_where_3_select_7", |b| {
        let mut run = SelectRun::default();
        b.iter(|| run.run(&data, Some(&filter), &selection))
    });

    let generator = UserGenerator::new(GeneratorConfig::new(7));
    let mut zip = Cursor::new(Vec::new());
    write_zip(&generator, USERS, 1_000, &mut zip).expect("zip");
    let zip = zip.into_inner();
    let mut gzip = Vec::new();
    write_gzip(&generator, 0..USERS, &mut gzip).expect("gzip");
    for (name, format, bytes) in [
        ("zip_decode", Format::Zip, &zip),
        ("gzip_decode", Format::Gzip, &gzip),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut decoder = Decoder::new(format, Arc::from("bench"), None);
                let mut sink = Discard(0);
                for chunk in bytes.chunks(256 << 10) {
                    decoder.feed(chunk, &mut sink).expect("decode");
                }
                decoder.finish(&mut sink).expect("decode");
                sink.0
            })
        });
    }

    // Parquet: batches of about 2 MiB of NDJSON, as the pipeline makes them.
    let plan = Arc::new(Plan::full_object());
    let build = |encoder: &mut ParquetEncoder, parser: &mut RecordParser| {
        let mut batches: Vec<Vec<TableBatch>> = Vec::new();
        let mut in_block = 0;
        let place = || brazex_core::error::LinePlace {
            entry: Arc::from("bench"),
            line: 0,
        };
        for line in lines(&data) {
            let record = parser.parse(line).expect("valid");
            encoder.row(&record, &place).expect("row");
            in_block += line.len();
            if in_block >= 2 << 20 {
                batches.push(encoder.finish_block().expect("batch"));
                in_block = 0;
            }
        }
        batches.push(encoder.finish_block().expect("batch"));
        batches
    };
    group.bench_function("parquet_build_batches", |b| {
        let mut encoder = ParquetEncoder::new(plan.clone());
        let mut parser = RecordParser::default();
        b.iter(|| build(&mut encoder, &mut parser).len())
    });
    let dir = std::env::temp_dir().join(format!("brazex-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    group.bench_function("parquet_encode_one_thread", |b| {
        let mut encoder = ParquetEncoder::new(plan.clone());
        let mut parser = RecordParser::default();
        b.iter_batched(
            || build(&mut encoder, &mut parser),
            |batches| {
                let staging = Run::new(StoreOptions::default());
                let parts = Parts::new(
                    Target::File(Location::Path(dir.join("users.parquet"))),
                    PartOptions {
                        ext: "parquet".into(),
                        ..PartOptions::default()
                    },
                    None,
                    staging.stage(),
                )
                .expect("parts");
                let options = ParquetOptions {
                    threads: 1,
                    ..ParquetOptions::default()
                };
                let mut sink = ParquetSink::new(&plan, vec![parts], options).expect("sink");
                for block in batches {
                    sink.write_block(Ok(block), 0).expect("write");
                }
                let files = sink.finish().expect("finish");
                staging.commit().expect("commit");
                files
            },
            BatchSize::PerIteration,
        )
    });
    let _ = std::fs::remove_dir_all(&dir);
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
