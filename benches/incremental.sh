#!/usr/bin/env bash
# The cost of incremental loads (issue 17): `--changes-since STATE --state STATE`
# against the same run without them, on the benchmark export (110,000 generated
# users, --seed 16) and a second night made from it (benches/mutate.py: 2 % of the
# users changed in one field each, 1 % removed, 1,000 added), for three outputs:
# `select` (Parquet of a --select), `parquet` (full-object Parquet), `ndjson` (to
# /dev/null).
#   ./benches/incremental.sh prepare DIR        # night 1, night 2, night 1's states
#   ./benches/incremental.sh with OUT DIR       # one night-2 run with the flags
#                                               # (from a fresh copy of the state)
#   ./benches/incremental.sh without OUT DIR    # the same run without them
#   ./benches/incremental.sh first OUT DIR      # night 1 with --state into a fresh
#                                               # folder (the first night)
#   ./benches/incremental.sh plain OUT DIR      # night 1 without it
#   ./benches/incremental.sh all DIR            # prepare, then each once under
#                                               # /usr/bin/time -v
#   USERS=10000000 ./benches/incremental.sh scale DIR
#       # night 1 --state, then night 2 (night 1's zip and a second zip of 0.5 %
#       # new users: generating 10 million users takes 10 minutes here)
#       # --changes-since --state and without, under /usr/bin/time -v
# Time `with OUT` against `without OUT` side by side (A and B in turn) with any
# harness; see BENCHMARKS.md. Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(realpath "${BRAZEX:-target/release/brazex}")
step=${1:?usage: incremental.sh prepare|with|without|all|scale …}
shift
select='external_id,braze_id,email,country,language,total_revenue,purchases[].name,custom_attributes'

flags() { # OUT: the output flags of that case
    case "$1" in
        select) echo "--select $select --format parquet" ;;
        parquet) echo "--format parquet" ;;
        ndjson) echo "" ;;
        *) echo "unknown output $1 (select, parquet, ndjson)" >&2; exit 2 ;;
    esac
}

night2() { # OUT DIR WITH: one night-2 run, into a scratch folder removed after
    local out=$1 dir=$2 with=$3 scratch target
    scratch=$(mktemp -d -p "$dir")
    local extra=()
    if [ "$with" = 1 ]; then
        cp -r "$dir/state-$out" "$scratch/state"
        extra=(--changes-since "$scratch/state" --state "$scratch/state")
    fi
    target=(-o "$scratch/out/")
    [ "$out" = ndjson ] && target=()
    # shellcheck disable=SC2046
    "$B" process -q "$dir/night2.zip" $(flags "$out") "${extra[@]}" "${target[@]}" >/dev/null
    rm -rf "$scratch"
}

night1() { # OUT DIR WITH: night 1, with --state into a fresh folder or without
    local out=$1 dir=$2 with=$3 scratch target
    scratch=$(mktemp -d -p "$dir")
    local extra=()
    [ "$with" = 1 ] && extra=(--state "$scratch/state")
    target=(-o "$scratch/out/")
    [ "$out" = ndjson ] && target=()
    # shellcheck disable=SC2046
    "$B" process -q "$dir/night1.zip" $(flags "$out") "${extra[@]}" "${target[@]}" >/dev/null
    rm -rf "$scratch"
}

case "$step" in
    prepare)
        dir=${1:?DIR}
        mkdir -p "$dir"
        "$B" generate --users 110000 --seed 16 -o "$dir/night1.zip"
        "$B" generate --users 110000 --seed 16 --format ndjson -o "$dir/night1.ndjson"
        python3 benches/mutate.py "$dir/night1.ndjson" "$dir/night2.zip"
        rm "$dir/night1.ndjson"
        for out in select parquet ndjson; do
            rm -rf "$dir/state-$out" "$dir/n1"
            target=(-o "$dir/n1/")
            [ "$out" = ndjson ] && target=()
            # shellcheck disable=SC2046
            "$B" process -q "$dir/night1.zip" $(flags "$out") --state "$dir/state-$out" "${target[@]}" >/dev/null
            rm -rf "$dir/n1"
        done
        ;;
    with) night2 "${1:?OUT}" "${2:?DIR}" 1 ;;
    without) night2 "${1:?OUT}" "${2:?DIR}" 0 ;;
    first) night1 "${1:?OUT}" "${2:?DIR}" 1 ;;
    plain) night1 "${1:?OUT}" "${2:?DIR}" 0 ;;
    all)
        dir=${1:?DIR}
        "$0" prepare "$dir"
        for out in select parquet ndjson; do
            for w in with without; do
                echo "== $w $out"
                /usr/bin/time -v "$0" "$w" "$out" "$dir" 2>&1 | grep -E "Elapsed|Maximum resident" || true
            done
        done
        ;;
    scale)
        dir=${1:?DIR}
        mkdir -p "$dir"
        users=${USERS:-10000000}
        [ -f "$dir/night1.zip" ] || "$B" generate --users "$users" --seed 16 -o "$dir/night1.zip"
        [ -f "$dir/new.zip" ] || "$B" generate --users $((users / 200)) --seed 17 -o "$dir/new.zip"
        rm -rf "$dir/state" "$dir/out1" "$dir/out2" "$dir/out3"
        night2="$dir/night1.zip $dir/new.zip"
        for run in \
            "night 1 --state|$dir/night1.zip|$dir/out1/|--state $dir/state" \
            "night 2 --changes-since --state|$night2|$dir/out2/|--changes-since $dir/state --state $dir/state" \
            "night 2 without|$night2|$dir/out3/|"; do
            IFS='|' read -r name inputs target extra <<<"$run"
            echo "== $name ($users users)"
            # shellcheck disable=SC2086
            /usr/bin/time -v "$B" process $inputs --select "$select" --format parquet \
                -o "$target" $extra 2>&1 | grep -E "Elapsed|Maximum resident|^brazex" || true
        done
        du -sh "$dir/night1.zip" "$dir/state"
        ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
esac
