#!/usr/bin/env bash
# The project's test command (see README): installs and starts what some tests need,
# then runs the whole workspace's tests. Today every test needs only the Rust
# toolchain; components such as DuckDB or an S3 server are installed here when the
# tests that use them land, and a test whose component is missing fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace "$@"
