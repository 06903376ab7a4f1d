#!/usr/bin/env bash
# The benchmark against etcd (docs/benchmarks.md): builds lockd and lockd-bench optimised,
# installs Debian's etcd-server if missing, then lockd-bench starts a 3-node lockd cluster and
# a 3-member etcd cluster on loopback, one after the other, runs the same workloads against
# both and writes bench-out/{report.md,results.json,bench.svg}. Every server it starts, it
# stops. Arguments go to lockd-bench (`--quick` for a short run, `--help` for the rest).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh
# etcd-server: the peer. Debian's package starts no service here (no systemd in a container);
# where it does, the benchmark's members use their own ports and data directories anyway.
lockd_apt_install etcd-server

cargo build --release --locked -p lockd -p lockd-bench
exec "$CARGO_TARGET_DIR/release/lockd-bench" --lockd-bin "$CARGO_TARGET_DIR/release/lockd" "$@"
