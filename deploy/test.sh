#!/usr/bin/env bash
# The whole test suite: unit and property tests, the turmoil simulation (a few hundred seeds,
# about 7 minutes on 2 cores), the real-process integration tests.
# Installs what it needs first (deploy/setup.sh). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

echo "== cargo build (workspace, tests included)"
cargo build --workspace --all-targets --locked
echo "== cargo test"
# --show-output: the simulation's report (seeds, faults, operations checked) shows on success too.
cargo test --workspace --locked --no-fail-fast -- --show-output
