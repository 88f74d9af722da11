#!/usr/bin/env bash
# brazex into PostgreSQL (issue 16): the benchmark export (a zip of generated users)
# loaded with `--load replace`, next to the database's own ingest (`psql \copy` of
# the same rows from a ready-made CSV, into a fresh table in one transaction) and
# next to dlt (PyPI `dlt[postgres]`) loading the same NDJSON.
#
#   PG_URL=postgres://… ./benches/postgres.sh prepare DIR   # export, NDJSON, CSV, tables
#   PG_URL=… ./benches/postgres.sh brazex DIR               # one brazex load
#   PG_URL=… ./benches/postgres.sh psql DIR                 # one \copy of the CSV
#   PG_URL=… ./benches/postgres.sh dlt DIR                  # one dlt load of the NDJSON
#   ./benches/postgres.sh all DIR      # prepare, then each once under /usr/bin/time -v
#
# Time each step with /usr/bin/time -v (or any harness that runs A and B in turn);
# BENCHMARKS.md has the figures and the exact calls. Without PG_URL, the server of
# scripts/postgres.sh is started for the duration of the call.
set -euo pipefail
cd "$(dirname "$0")/.."
step=${1:?prepare, brazex, psql, dlt or all}
dir=$(realpath -m "${2:?a work folder}")
USERS=${USERS:-110000}
B=$(realpath "${BRAZEX:-target/release/brazex}")
PSQL=${PSQL:-$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)}
if [ -z "${PG_URL:-}" ]; then
    free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    }
    # shellcheck source=scripts/postgres.sh
    source scripts/postgres.sh
    trap stop_postgres EXIT
    PG_URL=$BRAZEX_TEST_PG_URL
fi

case "$step" in
prepare)
    mkdir -p "$dir"
    "$B" generate --users "$USERS" --seed 16 -o "$dir/export.zip"
    "$B" process -q "$dir/export.zip" -o "$dir/export.ndjson"
    "$B" process -q "$dir/export.zip" --format csv -o "$dir/export.csv"
    # dlt refuses the export as it is (custom_attributes.big_id, an integer past
    # bigint: "bigint out of range", after minutes); it gets the users without it.
    python3 -c '
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        user = json.loads(line)
        (user.get("custom_attributes") or {}).pop("big_id", None)
        out.write(json.dumps(user) + "\n")
' "$dir/export.ndjson" "$dir/export-dlt.ndjson"
    "$PSQL" -q "$PG_URL" -c "DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench"
    # The table brazex makes is the one the CSV goes into (lists as jsonb: a CSV
    # holds them as JSON text, which a PostgreSQL array does not read).
    "$B" process -q "$dir/export.zip" -o "$PG_URL" --table bench.users
    "$PSQL" -q "$PG_URL" -c "CREATE TABLE bench.csv_shape (LIKE bench.users); ALTER TABLE bench.csv_shape ALTER COLUMN last_coordinates TYPE jsonb USING to_jsonb(last_coordinates)"
    ls -l "$dir"
    ;;
brazex)
    exec "$B" process -q "$dir/export.zip" -o "$PG_URL" --table bench.users --load replace
    ;;
psql)
    cat >"$dir/copy.sql" <<SQL
BEGIN;
DROP TABLE IF EXISTS bench.csv_copy;
CREATE TABLE bench.csv_copy (LIKE bench.csv_shape);
\copy bench.csv_copy FROM '$dir/export.csv' WITH (FORMAT csv, HEADER true)
COMMIT;
SQL
    exec "$PSQL" -q -v ON_ERROR_STOP=1 "$PG_URL" -f "$dir/copy.sql"
    ;;
dlt)
    # A fresh pipeline each run: dlt would otherwise retry a failed run's package.
    rm -rf "$dir/dlt-pipelines"
    PIPELINES="$dir/dlt-pipelines" exec python3 - "$dir/export-dlt.ndjson" "$PG_URL" <<'PY'
import json, os, sys
import dlt

path, url = sys.argv[1], sys.argv[2]

@dlt.resource(name="users", write_disposition="replace")
def users():
    with open(path, "rb") as f:
        for line in f:
            yield json.loads(line)

pipeline = dlt.pipeline(
    pipeline_name="brazex_bench",
    destination=dlt.destinations.postgres(credentials=url),
    dataset_name="dlt_bench",
    pipelines_dir=os.environ["PIPELINES"],
)
info = pipeline.run(users())
print(info, file=sys.stderr)
PY
    ;;
all)
    export PG_URL
    "$0" prepare "$dir"
    for s in brazex psql dlt; do
        echo "== $s"
        /usr/bin/time -v "$0" "$s" "$dir" 2>&1 | grep -E "Elapsed|Maximum resident" || true
    done
    ;;
*)
    echo "unknown step $step: prepare, brazex, psql or dlt" >&2
    exit 2
    ;;
esac
