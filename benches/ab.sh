#!/usr/bin/env bash
# Two builds of brazex side by side on one command: A and B in turn, PAIRS times, with
# wall time, CPU (user + sys) and peak RSS from /usr/bin/time; prints each build's
# medians and the median of the per-pair ratios B/A (the figures BENCHMARKS.md quotes
# for experiments: on this shared, noisy machine only ratios of neighbouring runs are
# comparable). `{out}` in the arguments becomes a fresh folder per build (removed
# before each run), and the two outputs' sizes are printed at the end.
#
#   PAIRS=9 ./benches/ab.sh OLD_BIN NEW_BIN process -q --format parquet -o {out}/ export.zip
#
# A wrapper script works as a build (e.g. one that sets an environment variable and
# execs the binary).
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,12p "$0" >&2; exit 2; }
a=$1 b=$2
shift 2
pairs=${PAIRS:-9}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for _ in $(seq "$pairs"); do
    for build in A B; do
        bin=$a
        [ "$build" = B ] && bin=$b
        out="$work/out-$build"
        rm -rf "$out"
        args=("${@//\{out\}/$out}")
        /usr/bin/time -f "$build %e %U %S %M" -a -o "$work/times" "$bin" "${args[@]}" >/dev/null
    done
done

python3 - "$work/times" <<'PY'
import statistics as st, sys
rows = [line.split() for line in open(sys.argv[1]) if line[:2] in ("A ", "B ")]
runs = {b: [(float(w), float(u) + float(s), int(k)) for t, w, u, s, k in rows if t == b] for b in "AB"}
for b in "AB":
    r = runs[b]
    print(f"{b}: wall {st.median(x[0] for x in r):.3f} s, CPU {st.median(x[1] for x in r):.3f} s, "
          f"peak RSS {max(x[2] for x in r) / 1024:.0f} MiB ({len(r)} runs)")
pairs = list(zip(runs["A"], runs["B"]))
print(f"B/A: wall {st.median(y[0] / x[0] for x, y in pairs):.3f}, CPU {st.median(y[1] / x[1] for x, y in pairs):.3f} "
      f"(medians of {len(pairs)} pairs)")
PY
for build in A B; do
    [ -e "$work/out-$build" ] && echo "$build output: $(du -sb "$work/out-$build" | cut -f1) bytes"
done
true
