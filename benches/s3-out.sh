#!/usr/bin/env bash
# Full-object Parquet of the benchmark export into an s3:// prefix on loopback moto,
# side by side with the same run into a local folder (issue 14's target: within
# 1.2x; peak RSS at most 200 MiB whatever the export's size).
#
# Generates the export (110,000 users, every field: ~309 MB of NDJSON, one zip),
# starts moto's S3 server (in memory) on 127.0.0.1 and times both runs with
# farm-bench (A = s3, B = local: the ratio is the s3 run's cost). Each run writes a
# fresh prefix or folder. Needs moto[server] (scripts/test.sh installs it),
# farm-bench and a release build. PART_SIZE / CONCURRENCY set the upload flags.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-110000}
RUNS=${RUNS:-5}
B=$(realpath "${BRAZEX:-target/release/brazex}")
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill -- "-$moto" 2>/dev/null || true; rm -rf "$work"' EXIT
endpoint="http://127.0.0.1:$port"
sleep 2
"$B" generate --users "$USERS" -o "$work/export.zip"
python3 crates/brazex-cli/tests/stores/storectl.py s3 "$endpoint" mkbucket bench
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
flags="--format parquet -q --upload-part-size ${PART_SIZE:-8MiB} --upload-concurrency ${CONCURRENCY:-4}"
# Each run into a new prefix / folder (a committed one is refused).
s3="$B process $work/export.zip $flags --s3-endpoint $endpoint -o s3://bench/\$(date +%s%N)/"
local="d=\$(mktemp -d -p $work); $B process $work/export.zip $flags -o \$d/out/; rm -rf \$d"
farm-bench -n "$RUNS" --timeout 1200 --vs "sh -c '$local'" -- sh -c "$s3"
