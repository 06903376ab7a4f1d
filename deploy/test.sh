#!/usr/bin/env bash
# The whole test suite: formatting (rustfmt), lint (clippy, ESLint), unit and property tests,
# the turmoil simulation (a few hundred seeds, about 7 minutes on 2 cores), the real-process
# integration and chaos tests, the web app (ESLint, type check, Vitest, then Playwright in
# Debian's Chromium against real 3-node clusters), a short run of the benchmark tool against
# lockd and etcd (its safety check must pass), and the deployment files (deploy/validate.sh).
# Installs what it needs first (deploy/setup.sh). Safe to run again. Every stage runs even
# when an earlier one failed; the exit status is non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

failed=()
stage() {
    local name=$1
    shift
    echo "== $name"
    if ! "$@"; then
        echo "== $name: FAILED" >&2
        failed+=("$name")
    fi
}

# The build must succeed for anything else to mean something.
echo "== cargo build (workspace, tests included)"
cargo build --workspace --all-targets --locked
# Formatting is mechanical (rustfmt.toml): a diff fails the stage.
rustfmt_check() {
    # rustup's minimal profile leaves rustfmt out.
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo fmt --all --check
}
stage "rustfmt" rustfmt_check
# Lints are part of the suite: a warning fails the stage (the build above already has none).
clippy() {
    # rustup's minimal profile leaves clippy out.
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
    cargo clippy --workspace --all-targets --locked -- -D warnings
}
stage "clippy" clippy
# The real-process identity tests run the test IdP from web/e2e/idp (npm's oidc-provider);
# the contract test runs Schemathesis (PyPI, pinned) against a live node; the fencing test
# starts its own PostgreSQL server from Debian's package (node/tests/fencing.rs).
lockd_web_install
lockd_schemathesis_install
lockd_apt_install postgresql
# --show-output: the simulation's report (seeds, faults, operations checked) shows on success too.
stage "cargo test" cargo test --workspace --locked --no-fail-fast -- --show-output
web_unit() {
    lockd_web_install
    (cd web && npm run lint && npm run typecheck && npm test)
}
web_e2e() {
    lockd_apt_install chromium
    (cd web && npm run build && LOCKD_BIN="$CARGO_TARGET_DIR/debug/lockd" npm run e2e)
}
# The benchmark tool itself, short, against the debug build: every workload against lockd and
# etcd, the outside safety check (a violation fails the stage). Figures from it mean nothing;
# deploy/bench.sh measures.
bench_smoke() {
    lockd_apt_install etcd-server
    local out
    out=$(mktemp -d)
    local rc=0
    "$CARGO_TARGET_DIR/debug/lockd-bench" --quick --out "$out" --lockd-bin "$CARGO_TARGET_DIR/debug/lockd" || rc=$?
    # And with TLS on both systems (HTTPS/WSS, gRPC over TLS, mutual TLS between peers).
    "$CARGO_TARGET_DIR/debug/lockd-bench" --quick --tls --workloads uncontended,contended,fanout \
        --clients 1,8 --out "$out/tls" --lockd-bin "$CARGO_TARGET_DIR/debug/lockd" || rc=$?
    rm -rf "$out"
    return $rc
}
stage "bench: smoke run against lockd and etcd" bench_smoke
stage "web: lint, types and unit tests" web_unit
stage "web: browser end-to-end" web_e2e
stage "deployment files" deploy/validate.sh

if ((${#failed[@]})); then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
echo "all stages passed"
