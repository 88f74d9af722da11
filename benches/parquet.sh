#!/usr/bin/env bash
# Full-object conversion of a generated Braze export to Parquet: brazex (from the zip,
# streaming) next to DuckDB's COPY over the same NDJSON, RUNS (3) times alternating, with wall
# time and peak RSS (/usr/bin/time) and the median ratio. Then the same brazex conversion at 4x the input, to show
# that peak RSS does not grow with the export. Needs: a release build, python3 with
# duckdb (pip install duckdb), /usr/bin/time. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-110000}
WORK=${WORK:-$(mktemp -d)}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/brazex}
[ -x "$BIN" ] || cargo build --release -p brazex-cli
python3 -c 'import duckdb' || { echo "duckdb missing: python3 -m pip install duckdb" >&2; exit 1; }

"$BIN" generate --users "$USERS" --users-per-entry 2500 -o "$WORK/export.zip"
"$BIN" generate --users "$USERS" --users-per-entry 2500 --format ndjson -o "$WORK/export.ndjson"
echo "NDJSON: $(du -m "$WORK/export.ndjson" | cut -f1) MB, zip: $(du -m "$WORK/export.zip" | cut -f1) MB"

RUNS=${RUNS:-3}
measure() { # label, command... : one run, prints a table row, keeps "secs kib" in $WORK/last
  local label=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  read -r secs kib < "$WORK/time"
  echo "$secs $kib" > "$WORK/last"
  printf '| %s | %.2f s | %.1f MiB |\n' "$label" "$secs" "$(echo "$kib / 1024" | bc -l)"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| run | wall | peak RSS |"
echo "|---|---:|---:|"
# Side by side, alternating, RUNS times each.
: > "$WORK/brazex.times"; : > "$WORK/duckdb.times"
for run in $(seq "$RUNS"); do
  rm -rf "$WORK/pq"
  measure "brazex process export.zip --format parquet -o pq/ (zstd), run $run" \
    "$BIN" process -q --format parquet -o "$WORK/pq/" "$WORK/export.zip"
  cut -d' ' -f1 "$WORK/last" >> "$WORK/brazex.times"
  rm -f "$WORK/duck.parquet"
  measure "duckdb COPY (SELECT * FROM read_ndjson('export.ndjson')) TO … (FORMAT parquet), run $run" \
    python3 -c "import duckdb,sys; c=duckdb.connect(); c.execute('SET enable_progress_bar=false'); c.execute(\"COPY (SELECT * FROM read_ndjson('$WORK/export.ndjson')) TO '$WORK/duck.parquet' (FORMAT parquet)\")"
  cut -d' ' -f1 "$WORK/last" >> "$WORK/duckdb.times"
done
b=$(median < "$WORK/brazex.times"); d=$(median < "$WORK/duckdb.times")
echo "median: brazex $b s, duckdb $d s: brazex is $(echo "scale=2; $d / $b" | bc -l)x faster"
echo "sizes: brazex $(du -sm "$WORK/pq" | cut -f1) MB, duckdb $(du -m "$WORK/duck.parquet" | cut -f1) MB"
rm -rf "$WORK/pq1"
measure "brazex process export.ndjson --format parquet -o pq/ (from the NDJSON, like DuckDB)" \
  "$BIN" process -q --format parquet -o "$WORK/pq1/" "$WORK/export.ndjson"
rm -rf "$WORK/pq1"
measure "brazex process export.zip --format parquet --compression snappy (DuckDB's default codec)" \
  "$BIN" process -q --format parquet --compression snappy -o "$WORK/pq1/" "$WORK/export.zip"

# 4x the input, brazex only: peak RSS must not grow.
"$BIN" generate --users $((USERS * 4)) --users-per-entry 2500 -o "$WORK/export4.zip"
rm -rf "$WORK/pq4"
measure "brazex process export4.zip (4x) --format parquet -o pq/" \
  "$BIN" process -q --format parquet -o "$WORK/pq4/" "$WORK/export4.zip"
rm -rf "$WORK"
