#!/usr/bin/env bash
# Installs what building and testing lockd needs on a fresh Debian machine. Idempotent:
# installs only what is missing. Sourced by local-cluster.sh and test.sh.
set -euo pipefail

lockd_apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        echo "setup: installing ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# libclang-dev: bindgen for RocksDB's bindings. clang: RocksDB's C++ build.
# protobuf-compiler: the benchmark's etcd client compiles etcd's protos with protoc (lockd's
# own protos are compiled in pure Rust by protox); libprotobuf-dev: the well-known types they
# import (google/protobuf/*.proto), only recommended by protobuf-compiler, so missing where
# recommends are not installed.
lockd_apt_install libclang-dev clang curl protobuf-compiler libprotobuf-dev

# One target directory outside the clone, reused between runs on this machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lockd/target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Node.js for the web app: the machine's own (Vite 8 needs >= 20.19). Debian's nodejs is
# only a fallback where none is installed, and too old for Vite 8: then we say so and stop.
lockd_node_setup() {
    if ! command -v npm >/dev/null 2>&1; then
        lockd_apt_install nodejs npm
    fi
    local version
    version=$(node -p 'process.versions.node')
    if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
        echo "setup: Node.js $version is too old for the web app (Vite 8 needs >= 20.19)" >&2
        return 1
    fi
}

# npm packages of web/ exactly as locked; skipped when node_modules matches the lock file.
# The browser tests use Debian's Chromium, never a downloaded browser.
lockd_web_install() {
    lockd_node_setup
    local stamp=web/node_modules/.lockd-installed
    if [ ! -f "$stamp" ] || ! cmp -s web/package-lock.json "$stamp"; then
        (cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
        cp web/package-lock.json "$stamp"
    fi
}

# Schemathesis for the contract test (node/tests/contract.rs), pinned in
# deploy/python/requirements.txt, in a virtualenv of its own; reinstalled only when the pins
# change. The test finds it through LOCKD_SCHEMATHESIS.
lockd_schemathesis_install() {
    command -v python3 >/dev/null 2>&1 || lockd_apt_install python3
    python3 -c 'import venv, ensurepip' 2>/dev/null || lockd_apt_install python3-venv
    local venv="$HOME/.cache/lockd/venv"
    local stamp="$venv/.lockd-installed"
    if [ ! -f "$stamp" ] || ! cmp -s deploy/python/requirements.txt "$stamp"; then
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r deploy/python/requirements.txt
        cp deploy/python/requirements.txt "$stamp"
    fi
    export LOCKD_SCHEMATHESIS="$venv/bin/schemathesis"
}
