#!/usr/bin/env bash
# End-to-end throughput and peak RSS of `brazex process --select` (7 fields) on a
# generated Braze-like zip, next to `unzip -p | jq -c` on the same data.
#
#   ./benches/e2e.sh [USERS] [SCALE]
#
# USERS (default 110000: ~309 MB of NDJSON in 44 entries of 2,500 users) sets the base
# export; the same runs are repeated on an export SCALE times larger (default 4) to
# show that peak RSS does not grow with the input. Data is cached in benches/data.
set -euo pipefail
cd "$(dirname "$0")/.."

users=${1:-110000}
scale=${2:-4}
per_entry=2500   # ≥ 40 entries for the base export
data=benches/data
mkdir -p "$data"
cargo build --release -j2 -q
bin=target/release/brazex
where='country == "US" and total_revenue > 10 and purchases[].name == "gift_card"'
select='external_id,email,country,rev=total_revenue,plan=custom_attributes.plan,purchases[].name,apps[].last_used'
jq_filter='{external_id, email, country, rev: .total_revenue, plan: .custom_attributes.plan, "purchases[].name": (if (.purchases|type)=="array" then [.purchases[] | .name] else null end), "apps[].last_used": (if (.apps|type)=="array" then [.apps[] | .last_used] else null end)}'

gen() { # users file
  [ -f "$2" ] || "$bin" generate --users "$1" --users-per-entry "$per_entry" -o "$2"
}

measure() { # label command...
  local label=$1; shift
  local t; t=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$t" "$@" > /dev/null
  read -r secs rss_kb < "$t"; rm -f "$t"
  printf '%-48s %8.2f s %9.1f MB/s %8.1f MiB peak RSS\n' "$label" "$secs" \
    "$(echo "$ndjson_mb / $secs" | bc -l)" "$(echo "$rss_kb / 1024" | bc -l)"
}

for n in "$users" "$((users * scale))"; do
  zip="$data/export-$n.zip"
  gen "$n" "$zip"
  ndjson_bytes=$(unzip -l "$zip" | tail -1 | awk '{print $1}')
  ndjson_mb=$(echo "$ndjson_bytes / 1000000" | bc -l)
  entries=$(unzip -l "$zip" | tail -1 | awk '{print $2}')
  printf '\n%s users: %.0f MB of NDJSON in %s entries, %.0f MB zipped (%s cores)\n' "$n" "$ndjson_mb" "$entries" \
    "$(echo "$(stat -c %s "$zip") / 1000000" | bc -l)" "$(nproc)"
  measure "brazex process --select (7 fields), file" "$bin" process -q --select "$select" "$zip"
  measure "brazex process --where (3) --select (7), file" "$bin" process -q --where "$where" --select "$select" "$zip"
  measure "brazex process (passthrough), file" "$bin" process -q "$zip"
  measure "brazex process --select, stdin" sh -c "$bin process -q --select '$select' < '$zip'"
  measure "unzip -p > /dev/null (inflate floor)" unzip -p "$zip"
  if [ "$n" = "$users" ] && command -v jq > /dev/null; then
    measure "unzip -p | jq -c (same selection)" sh -c "unzip -p '$zip' | jq -c '$jq_filter'"
  fi
done

# `brazex run` against the simulator (trigger, wait, HTTP download over loopback,
# process) on the base export, next to `process` on the same zip from disk. The
# simulator writes its zip (5,000 users per entry, every field) when triggered; the
# same archive is generated here for the `process` figure.
port=$((20000 + RANDOM % 20000))
simlog=$(mktemp)
"$bin" sim --listen "127.0.0.1:$port" --users "$users" --ready-after 0 > "$simlog" &
simpid=$!
trap 'kill $simpid 2>/dev/null || true; rm -f "$simlog"' EXIT
for _ in $(seq 50); do grep -q BRAZE_API_KEY "$simlog" && break; sleep 0.1; done
key=$(sed -n 's/.*export BRAZE_API_KEY=//p' "$simlog")
zip5k="$data/export-$users-5k.zip"
[ -f "$zip5k" ] || "$bin" generate --users "$users" --users-per-entry 5000 -o "$zip5k"
ndjson_mb=$(echo "$(unzip -l "$zip5k" | tail -1 | awk '{print $1}') / 1000000" | bc -l)
printf '\nrun against the simulator: %s users, %.0f MB of NDJSON (the simulator zips it when triggered)\n' "$users" "$ndjson_mb"
# The whole job: the simulator exports only the derived fields (a smaller archive than
# the full one, so MB/s does not apply) and its zip writing is part of the time.
ndjson_mb_full=$ndjson_mb; ndjson_mb=0
measure "brazex run --select (7), whole job (MB/s n/a)" env BRAZE_API_KEY="$key" "$bin" run -q \
  --endpoint "http://127.0.0.1:$port" --segment-id all --poll-interval 0.2 --select "$select"
ndjson_mb=$ndjson_mb_full
# Download + process of a full export that is ready, next to process from disk.
url=$(BRAZE_API_KEY="$key" "$bin" export --endpoint "http://127.0.0.1:$port" --segment-id all 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
until [ "$(curl -s -o /dev/null -w '%{http_code}' -r 0-0 "$url")" = 206 ]; do sleep 0.5; done
measure "brazex download URL --select (7) (HTTP, loopback)" "$bin" download -q --select "$select" "$url"
measure "same, --jobs 1 (one stream, one thread)" "$bin" download -q --jobs 1 --select "$select" "$url"
measure "brazex process --select (7), same zip from disk" "$bin" process -q --select "$select" "$zip5k"
