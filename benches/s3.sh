#!/usr/bin/env bash
# Throughput of `brazex process s3://…` over loopback against the local file.
#
# Generates a Braze-like export (110,000 users, every field: ~309 MB of NDJSON) as
# 22 zips of 5,000 users each (the layout Braze writes into a customer bucket),
# uploads them to moto's S3 server on 127.0.0.1, then times `brazex process --select`
# on the local folder and on the s3:// prefix (default and --s3-concurrency 1).
# Needs moto[server] (scripts/test.sh installs it) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-110000}
SELECT='external_id,email,country,rev=total_revenue,plan=custom_attributes.plan,purchases[].name,apps[].last_used'
B=${BRAZEX:-target/release/brazex}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill -- "-$moto" 2>/dev/null || true; rm -rf "$work"' EXIT
endpoint="http://127.0.0.1:$port"
sleep 2
mkdir -p "$work/export"
parts=$(( (USERS + 4999) / 5000 ))
for i in $(seq 0 $((parts - 1))); do
    # A different seed per part: different users, the same size.
    "$B" generate --users 5000 --seed $((1000 + i)) -o "$work/export/$(printf '%05d' "$i").zip" 2>/dev/null
done
python3 crates/brazex-cli/tests/stores/storectl.py s3 "$endpoint" mkbucket bench
for f in "$work"/export/*.zip; do
    python3 crates/brazex-cli/tests/stores/storectl.py s3 "$endpoint" put bench "segment-export/seg/2026-11-29/pfx/$(basename "$f")" "$f"
done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
run() {
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" --select "$SELECT" -o /dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
    read -r wall rss <"$work/time"
    mb=$(grep -o '[0-9.]* MB of NDJSON' "$work/err" | cut -d' ' -f1)
    printf '| %s | %s s | %.0f | %.1f MiB |\n' "$name" "$wall" "$(echo "$mb / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
echo "| run ($parts objects, $(du -sh "$work/export" | cut -f1) zipped) | wall | MB/s of NDJSON | peak RSS |"
echo "|---|---:|---:|---:|"
for _ in 1 2; do
    run "process DIR (local files)" "$B" process "$work/export"
    run "process s3://… (loopback, --s3-concurrency 4)" "$B" process "s3://bench/segment-export/seg/" --s3-endpoint "$endpoint"
    run "process s3://… (loopback, --s3-concurrency 1)" "$B" process "s3://bench/segment-export/seg/" --s3-endpoint "$endpoint" --s3-concurrency 1
done
