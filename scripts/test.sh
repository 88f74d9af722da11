#!/usr/bin/env bash
# The project's test command (see README): installs and starts what some tests need,
# then runs the whole workspace's tests.
#
# The object-store tests (crates/brazex-cli/tests/bucket) need an S3-compatible
# server: moto's server (PyPI `moto[server]`), installed here if missing, started on a
# free loopback port and stopped at exit; its URL goes to the tests in
# BRAZEX_TEST_S3_ENDPOINT. (Run alone, `cargo test` starts moto itself when it is
# installed; a test whose server is missing fails loudly, it never skips.)
set -euo pipefail
cd "$(dirname "$0")/.."

# DuckDB (PyPI) reads the Parquet and CSV outputs in the output tests
# (crates/brazex-cli/tests/output; a missing duckdb fails them); pyarrow is its
# Arrow bridge.
if ! python3 -c 'import duckdb, pyarrow' >/dev/null 2>&1; then
    echo "== installing duckdb and pyarrow (the reader of the output tests)"
    python3 -m pip install --quiet --disable-pip-version-check duckdb pyarrow
fi

if ! command -v moto_server >/dev/null 2>&1 || ! python3 -c 'import moto, boto3' >/dev/null 2>&1; then
    echo "== installing moto[server] (the S3 server of the object-store tests)"
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6'
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# In its own process group: `moto_server` may be a wrapper (pyenv shim) whose child is
# the server, so the whole group is stopped at exit.
setsid moto_server -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/brazex-moto-$port.log" 2>&1 &
moto_pid=$!
trap 'kill -- "-$moto_pid" 2>/dev/null || kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
        break
    fi
    sleep 0.2
done
export BRAZEX_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
echo "== S3 test server (moto) on $BRAZEX_TEST_S3_ENDPOINT"

cargo test --workspace "$@"
