#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 1200) each, one after another, with
# cargo-fuzz on the nightly toolchain (`cargo install cargo-fuzz` once). New inputs go
# to fuzz/corpus/TARGET (merge them smaller before committing: `cargo +nightly fuzz
# cmin TARGET`), crashes to fuzz/artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1200}
for target in zip_stream gzip central_directory framer pass_through json_line select where typed parquet_writer; do
    echo "== $target for ${seconds}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
done
