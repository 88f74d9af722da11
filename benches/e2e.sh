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
