#!/usr/bin/env bash
# Full-object conversion of a generated Braze export to Parquet: brazex (from the zip,
# streaming) next to DuckDB's COPY over the same NDJSON, in one run, with wall time and
# peak RSS (/usr/bin/time). Then the same brazex conversion at 4x the input, to show
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

measure() { # label, command...
  local label=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  read -r secs kib < "$WORK/time"
  printf '| %s | %.2f s | %.1f MiB |\n' "$label" "$secs" "$(echo "$kib / 1024" | bc -l)"
}

echo "| run | wall | peak RSS |"
echo "|---|---:|---:|"
rm -rf "$WORK/pq"
measure "brazex process export.zip --format parquet -o pq/ (zstd)" \
  "$BIN" process -q --format parquet -o "$WORK/pq/" "$WORK/export.zip"
rm -rf "$WORK/pq1"
measure "brazex process export.ndjson --format parquet -o pq/ (zstd)" \
  "$BIN" process -q --format parquet -o "$WORK/pq1/" "$WORK/export.ndjson"
rm -f "$WORK/duck.parquet"
measure "duckdb COPY (SELECT * FROM read_ndjson('export.ndjson')) TO … (FORMAT parquet)" \
  python3 -c "import duckdb,sys; duckdb.connect().execute(\"COPY (SELECT * FROM read_ndjson('$WORK/export.ndjson')) TO '$WORK/duck.parquet' (FORMAT parquet)\")"
echo "sizes: brazex $(du -sm "$WORK/pq" | cut -f1) MB, duckdb $(du -m "$WORK/duck.parquet" | cut -f1) MB"

# 4x the input, brazex only: peak RSS must not grow.
"$BIN" generate --users $((USERS * 4)) --users-per-entry 2500 -o "$WORK/export4.zip"
rm -rf "$WORK/pq4"
measure "brazex process export4.zip (4x) --format parquet -o pq/" \
  "$BIN" process -q --format parquet -o "$WORK/pq4/" "$WORK/export4.zip"
rm -rf "$WORK"
