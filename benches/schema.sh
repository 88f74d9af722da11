#!/usr/bin/env bash
# The cost of schema contracts (issue 15), full-object Parquet of a generated export
# into a fresh folder each run, timed side by side with farm-bench:
# 1. `--custom-attributes columns` (a typed column per attribute, the rest watched)
#    against the default JSON column, same build;
# 2. with OLD=path/to/brazex (a build before schema contracts), the default path of
#    this build against it: the plan's new column sources must cost nothing.
# Needs farm-bench and a release build. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-110000}
RUNS=${RUNS:-5}
B=$(realpath "${BRAZEX:-target/release/brazex}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$B" generate --users "$USERS" -o "$work/export.zip"
run() { # binary, extra flags: one conversion into a new folder
  echo "d=\$(mktemp -d -p $work); $1 process $work/export.zip --format parquet -q $2 -o \$d/out/; rm -rf \$d"
}
echo "== --custom-attributes columns (A) vs json (B), $USERS users"
farm-bench -n "$RUNS" --timeout 1800 --vs "sh -c '$(run "$B" "")'" -- sh -c "$(run "$B" "--custom-attributes columns")"
if [ -n "${OLD:-}" ]; then
  echo "== this build (A) vs $OLD (B), default flags"
  farm-bench -n "$RUNS" --timeout 1800 --vs "sh -c '$(run "$(realpath "$OLD")" "")'" -- sh -c "$(run "$B" "")"
fi
