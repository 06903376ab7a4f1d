#!/usr/bin/env bash
# A local 3-node lockd cluster on 127.0.0.1, in dev mode.
#
#   deploy/local-cluster.sh up       build, start 3 nodes, wait for a leader, print the URLs
#   deploy/local-cluster.sh down     stop the nodes this script started (by PID)
#   deploy/local-cluster.sh status   show each node's view of the leader
#
# Environment: LOCKD_HTTP_PORTS (default 8081,8082,8083; peer ports are each +1000),
# LOCKD_DATA (default .lockd-local), LOCKD_RATE_LIMITS (passed to the nodes).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DATA=${LOCKD_DATA:-$ROOT/.lockd-local}
IFS=',' read -r -a HTTP_PORTS <<< "${LOCKD_HTTP_PORTS:-8081,8082,8083}"
if [ "${#HTTP_PORTS[@]}" -lt 3 ]; then
    echo "LOCKD_HTTP_PORTS must name at least 3 ports" >&2
    exit 2
fi

node_ids() { seq 1 "${#HTTP_PORTS[@]}"; }
http_port() { echo "${HTTP_PORTS[$(($1 - 1))]}"; }
raft_port() { echo $(($(http_port "$1") + 1000)); }
pid_file() { echo "$DATA/node-$1.pid"; }

running_pid() {
    local file pid
    file=$(pid_file "$1")
    [ -f "$file" ] || return 1
    pid=$(cat "$file")
    kill -0 "$pid" 2>/dev/null && grep -q lockd "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

leader_of() {
    curl -fsS --max-time 1 "http://127.0.0.1:$(http_port "$1")/cluster/status" 2>/dev/null \
        | sed -n 's/.*"leaderId":\([0-9][0-9]*\).*/\1/p'
}

secret() {
    local file="$DATA/$1"
    if [ ! -s "$file" ]; then
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file"
        chmod 600 "$file"
    fi
    echo "$file"
}

build() {
    source deploy/setup.sh
    echo "building lockd (cargo, debug profile)..." >&2
    # The same package and target selection as deploy/test.sh: cargo unifies features over
    # what it builds, so any other selection rebuilds RocksDB (~12 minutes) a second time.
    cargo build --locked --workspace --all-targets >&2
    BIN="$CARGO_TARGET_DIR/debug/lockd"
    echo "building the web app (npm)..." >&2
    lockd_web_install >&2
    (cd web && npm run build >&2)
}

up() {
    mkdir -p "$DATA"
    local all_running=1
    for id in $(node_ids); do running_pid "$id" >/dev/null || all_running=0; done
    if [ "$all_running" = 1 ]; then
        echo "already running"
        status
        return 0
    fi
    build
    local peers="" id
    for id in $(node_ids); do
        peers+="${peers:+,}$id=127.0.0.1:$(raft_port "$id")/127.0.0.1:$(http_port "$id")"
    done
    local web_args=()
    [ -f web/dist/index.html ] && web_args=(--web-dir "$ROOT/web/dist")
    for id in $(node_ids); do
        if running_pid "$id" >/dev/null; then continue; fi
        local seed=()
        [ "$id" = 1 ] && seed=(--seed-demo)
        LOCKD_RATE_LIMITS=${LOCKD_RATE_LIMITS:-} nohup "$BIN" \
            --node-id "$id" --data-dir "$DATA/node-$id" \
            --http-addr "127.0.0.1:$(http_port "$id")" --raft-addr "127.0.0.1:$(raft_port "$id")" \
            --peers "$peers" --dev "${seed[@]}" "${web_args[@]}" \
            --jwt-secret-file "$(secret jwt-secret)" --cluster-secret-file "$(secret cluster-secret)" \
            > "$DATA/node-$id.log" 2>&1 &
        echo $! > "$(pid_file "$id")"
    done
    echo "waiting for a leader..."
    local deadline=$((SECONDS + 60)) leader=""
    while [ $SECONDS -lt $deadline ]; do
        leader=$(leader_of 1 || true)
        if [ -n "$leader" ]; then break; fi
        for id in $(node_ids); do
            if ! running_pid "$id" >/dev/null; then
                echo "node $id exited; its log:" >&2
                tail -n 20 "$DATA/node-$id.log" >&2
                exit 1
            fi
        done
        sleep 0.2
    done
    if [ -z "$leader" ]; then
        echo "no leader within 60 s; logs are in $DATA" >&2
        exit 1
    fi
    echo "leader: node $leader"
    for id in $(node_ids); do echo "node $id: http://127.0.0.1:$(http_port "$id")/"; done
    echo "logs: $DATA/node-*.log    stop: deploy/local-cluster.sh down"
}

down() {
    local id pid
    for id in $(node_ids); do
        if pid=$(running_pid "$id"); then
            kill -TERM "$pid"
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
            echo "node $id stopped"
        fi
        rm -f "$(pid_file "$id")"
    done
}

status() {
    local id
    for id in $(node_ids); do
        if running_pid "$id" >/dev/null; then
            echo "node $id: running on http://127.0.0.1:$(http_port "$id")/, leader: node $(leader_of "$id" || echo '?')"
        else
            echo "node $id: stopped"
        fi
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
