#!/usr/bin/env bash
# The fault soak of `brazex run` (issue 13): a >= 100 MB export downloaded from the
# simulator on loopback through >= 100 randomly placed faults, over one stream and
# over ranged entries; every run's rows must equal the archive's, byte for byte.
# Bounded in time (SOAK_SECONDS, default 900). Figures go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-40000}
FAULTS=${FAULTS:-100}
SOAK_SECONDS=${SOAK_SECONDS:-900}
cargo build --release -j2 -p brazex-cli -p brazex-benches --bin brazex --bin soak
timeout $((SOAK_SECONDS + 120)) target/release/soak target/release/brazex \
    --users "$USERS" --faults "$FAULTS" --seconds "$SOAK_SECONDS"
