# brazex tasks: `just <task>` (https://github.com/casey/just); each is a plain cargo call.

default: test

fmt:
    cargo fmt --all

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

test:
    ./scripts/test.sh

bench:
    cargo bench -p brazex-benches

demo:
    cargo run --release -- demo

# End-to-end throughput and peak RSS on a generated ≥300 MB export (see BENCHMARKS.md).
e2e:
    ./benches/e2e.sh

# brazex next to jq, jaq, DuckDB and the inflate floors on a ≥1 GB export, then the bucket
# layouts: sharing this machine's cores with the S3, GCS and Azure servers, and with
# brazex capped to 1.5 cores and the servers outside the cap (needs root and a cgroup cpu
# controller; BENCHMARKS.md).
compare:
    ./benches/compare.sh
    ./benches/folders.sh
    CPU_CAP=1.5 ./benches/folders.sh

# A bucket export's layout (folders of .zip or .gz, s3://, gs:// and az:// prefixes) against one zip (BENCHMARKS.md).
folders:
    cargo build --release -p brazex-cli
    ./benches/folders.sh

# The fault soak of `brazex run` against the simulator (BENCHMARKS.md).
soak:
    ./benches/soak.sh

# Every fuzz target for SECONDS each (nightly, cargo-fuzz; FUZZING.md).
fuzz seconds="1200":
    ./fuzz/run-all.sh {{seconds}}

# Full-object Parquet into s3:// (moto on loopback) against a local folder (BENCHMARKS.md).
s3-out:
    cargo build --release -p brazex-cli
    ./benches/s3-out.sh

# Schema contracts: custom attributes as columns against one JSON column (BENCHMARKS.md).
schema-bench:
    cargo build --release -p brazex-cli
    ./benches/schema.sh

# brazex into PostgreSQL (replace) next to psql \copy of a CSV and dlt (BENCHMARKS.md).
pg-bench dir="/tmp/brazex-pg-bench":
    cargo build --release -p brazex-cli
    ./benches/postgres.sh all {{dir}}
