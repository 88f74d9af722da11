#!/usr/bin/env bash
# The pip package (pyproject.toml at the root: maturin, `bindings = "bin"`), tested as a
# user gets it: the wheel built by pip through maturin's PEP 517 backend (maturin itself
# from PyPI, in pip's isolated build environment), installed into a fresh virtual
# environment, and `brazex --version` and `brazex demo` run from its PATH; then
# `pip install .` from the repository root into a second one.
#
# The wheel is built with Cargo's dev profile so that the test build's artifacts are
# reused (MATURIN_PEP517_ARGS, maturin's way to pass build options through pip); a
# wheel for an index is the same build with `--release` (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "== wheel test FAILED: $*" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || fail "no version in Cargo.toml"
export MATURIN_PEP517_ARGS="--profile dev"
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== building the wheel (pip wheel . -> maturin)"
python3 -m venv "$work/build"
"$work/build/bin/pip" wheel --quiet --no-deps -w "$work/dist" . || fail "pip wheel ."
wheel=$(ls "$work"/dist/brazex-"$version"-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || fail "no brazex-$version wheel in $(ls "$work/dist")"
echo "== $(basename "$wheel")"
# The binary, the metadata, and nothing else (no Python package to import).
contents=$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$wheel")
grep -qx "brazex-$version.data/scripts/brazex" <<<"$contents" || fail "the wheel has no brazex binary:\n$contents"
if grep -v "^brazex-$version\.\(data/scripts/brazex\|dist-info/.*\)$" <<<"$contents"; then
    fail "the wheel holds more than the binary and its metadata"
fi

echo "== installing it into a fresh virtual environment"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$wheel" || fail "pip install $wheel"
(
    export PATH="$work/venv/bin:$PATH"
    [ "$(command -v brazex)" = "$work/venv/bin/brazex" ] || fail "brazex on PATH is $(command -v brazex), not the wheel's"
    [ "$(brazex --version)" = "brazex $version" ] || fail "brazex --version says '$(brazex --version)'"
    cd "$work"
    brazex demo --users 3000 >"$work/demo.out" 2>"$work/demo.err" || fail "brazex demo: $(cat "$work/demo.err")"
    grep -q '^brazex: 3000 rows read, [0-9]* written' "$work/demo.err" || fail "brazex demo summary: $(cat "$work/demo.err")"
    head -1 "$work/demo.out" | python3 -c 'import json, sys; assert "external_id" in json.loads(sys.stdin.readline())' \
        || fail "brazex demo rows: $(head -3 "$work/demo.out")"
)
"$work/venv/bin/pip" uninstall --quiet --yes brazex || fail "pip uninstall brazex"
[ ! -e "$work/venv/bin/brazex" ] || fail "pip uninstall left the binary"

echo "== pip install . (from the repository root)"
python3 -m venv "$work/root"
"$work/root/bin/pip" install --quiet . || fail "pip install ."
[ "$("$work/root/bin/brazex" --version)" = "brazex $version" ] || fail "pip install . gave no working brazex"
echo "== wheel test passed"
