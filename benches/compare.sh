#!/usr/bin/env bash
# brazex side by side with its peers on a ≥ 1 GB Braze-shaped export (issue 7).
#
#   ./benches/compare.sh [USERS] [RUNS]     (or: just compare)
#
# Generates once (cached in benches/data) a zip of 5,000 users per entry and one gzip
# of the same users; then runs each tool RUNS times (default 3), alternating, and
# prints the median wall time, MB/s of NDJSON, peak RSS and the ratio to brazex. The
# job: select 7 fields (nested and []) of the rows that pass 3 conditions. Before
# reporting speed it checks that every tool produced the same rows (count and
# external_id sequence). Installs jq, jaq and DuckDB if missing. Ends with
# benches/parquet.sh: the full-object Parquet conversion next to DuckDB COPY.
set -euo pipefail
cd "$(dirname "$0")/.."

users=${1:-360000}
runs=${2:-3}
data=benches/data
mkdir -p "$data"
cargo build --release -j2 -q
bin=$PWD/target/release/brazex

need() { command -v "$1" > /dev/null; }
need jq || { apt-get update -qq && apt-get install -y -qq jq > /dev/null; }
need jaq || cargo install --locked -q jaq
python3 -c 'import duckdb' 2> /dev/null || python3 -m pip install --quiet duckdb
need /usr/bin/time || { apt-get update -qq && apt-get install -y -qq time > /dev/null; }

zip="$data/compare-$users.zip"
gz="$data/compare-$users.ndjson.gz"
[ -f "$zip" ] || "$bin" generate --users "$users" --users-per-entry 5000 -o "$zip"
[ -f "$gz" ] || "$bin" generate --users "$users" --format gzip -o "$gz"
ndjson_bytes=$(unzip -l "$zip" | tail -1 | awk '{print $1}')
mb=$(echo "$ndjson_bytes / 1000000" | bc -l)

select='external_id,email,country,rev=total_revenue,plan=custom_attributes.plan,purchases[].name,apps[].last_used'
where='country == "US" and total_revenue > 10 and purchases[].name == "gift_card"'
jqf='select(.country == "US" and ((.total_revenue|type) == "number" and .total_revenue > 10) and ((.purchases|type) == "array" and any(.purchases[]; .name == "gift_card"))) | {external_id, email, country, rev: .total_revenue, plan: .custom_attributes.plan, "purchases[].name": (if (.purchases|type) == "array" then [.purchases[] | .name] else null end), "apps[].last_used": (if (.apps|type) == "array" then [.apps[] | .last_used] else null end)}'
duck_sql="SET enable_progress_bar = false; COPY (SELECT external_id, email, country, total_revenue AS rev, custom_attributes.plan AS plan,
  list_transform(purchases, lambda x: x.name) AS \"purchases[].name\", list_transform(apps, lambda x: x.last_used) AS \"apps[].last_used\"
  FROM read_ndjson('$gz', maximum_object_size = 16777216, sample_size = -1)
  WHERE country = 'US' AND total_revenue > 10 AND list_contains(list_transform(purchases, lambda x: x.name), 'gift_card'))
  TO '/dev/stdout' (FORMAT json)"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "$duck_sql" > "$out/query.sql"

declare -a names cmds
add() { names+=("$1"); cmds+=("$2"); }
add "brazex process (zip file)"          "$bin process -q --select '$select' --where '$where' '$zip'"
add "brazex process --jobs 1 (zip file)" "$bin process -q --jobs 1 --select '$select' --where '$where' '$zip'"
add "brazex process (zip on stdin)"      "$bin process -q --select '$select' --where '$where' < '$zip'"
add "brazex process (gzip file)"         "$bin process -q --select '$select' --where '$where' '$gz'"
add "unzip -p | jq -c"                   "unzip -p '$zip' | jq -c '$jqf'"
add "unzip -p | jaq -c"                  "unzip -p '$zip' | jaq -c '$jqf'"
add "duckdb read_ndjson (gzip)"          "python3 -c 'import duckdb, sys; duckdb.sql(open(sys.argv[1]).read())' '$out/query.sql'"
add "unzip -p > /dev/null (floor)"       "unzip -p '$zip'"
add "gzip -dc > /dev/null (floor)"       "gzip -dc '$gz'"

# Same rows: count and external_id sequence of every tool that emits rows.
ids() { python3 -c 'import json,sys; print(json.dumps([json.loads(l).get("external_id") for l in sys.stdin if l.strip()]))'; }
want=""
for i in "${!names[@]}"; do
  case "${names[$i]}" in *floor*) continue;; esac
  got=$(bash -c "${cmds[$i]}" | ids)
  if [ -z "$want" ]; then want=$got; fi
  if [ "$got" != "$want" ]; then
    echo "ROWS DIFFER: ${names[$i]}" >&2
    exit 1
  fi
done
rows=$(echo "$want" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')

declare -A times rss
for run in $(seq "$runs"); do
  for i in "${!names[@]}"; do
    t=$(mktemp)
    /usr/bin/time -f '%e %M' -o "$t" bash -c "${cmds[$i]}" > /dev/null
    read -r secs kb < "$t"; rm -f "$t"
    times[$i]="${times[$i]:-} $secs"
    rss[$i]=$(( ${rss[$i]:-0} > kb ? ${rss[$i]:-0} : kb ))
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(echo "${times[0]}" | median)
printf '\n%s users, %.0f MB of NDJSON (%s entries), %s rows selected; %s cores; median of %s runs\n\n' \
  "$users" "$mb" "$(unzip -l "$zip" | tail -1 | awk '{print $2}')" "$rows" "$(nproc)" "$runs"
printf '| %-36s | %8s | %8s | %10s | %9s |\n' tool "wall s" "MB/s" "peak RSS" "× brazex"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "---------:" "---------:" "-----------:" "----------:"
for i in "${!names[@]}"; do
  m=$(echo "${times[$i]}" | median)
  printf '| %-36s | %8.2f | %8.0f | %7.1f MiB | %9.2f |\n' "${names[$i]}" "$m" "$(echo "$mb / $m" | bc -l)" \
    "$(echo "${rss[$i]} / 1024" | bc -l)" "$(echo "$m / $base" | bc -l)"
done

# The full-object conversion to Parquet against DuckDB's COPY (its own 309 MB export).
printf '\nFull-object conversion to Parquet (benches/parquet.sh):\n\n'
BIN="$bin" RUNS="$runs" ./benches/parquet.sh
