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
lockd_apt_install libclang-dev clang curl

# One target directory outside the clone, reused between runs on this machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lockd/target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
