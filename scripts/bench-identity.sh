#!/usr/bin/env bash
# Issue 14's speed targets, side by side in one run (figures in BENCHMARKS.md):
# raw Argon2id verifies against password sign-ins over HTTPS, refresh-token
# rotations, and 1,000 sign-ins at once (peak memory, /healthz meanwhile).
#
#   bash scripts/bench-identity.sh        # or: make bench-identity
#   BENCH_SECONDS=10 BENCH_ROUNDS=2 BENCH_CONNECTIONS=16 bash scripts/bench-identity.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q -p gatehouse-server --bench identity --locked 2>/dev/null
