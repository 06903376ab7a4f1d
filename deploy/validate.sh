#!/usr/bin/env bash
# Validates the deployment files without Docker or a Kubernetes cluster: the Kubernetes
# manifests against the API schemas (strict: unknown fields fail), the compose file against
# the compose spec, YAML style, the systemd unit with systemd-analyze, and the Dockerfile's
# COPY sources against the repository. Tools live in a venv outside the clone, pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh
command -v systemd-analyze >/dev/null || lockd_apt_install systemd

VENV="${LOCKD_VENV:-$HOME/.cache/lockd/venv}"
TOOLS=(yamllint==1.38.0 kubernetes-validate==1.37.0 check-jsonschema==0.39.0)
# The stamp names what the venv holds; anything else (or nothing) reinstalls.
if [ "$(cat "$VENV/.lockd-tools" 2>/dev/null)" != "${TOOLS[*]}" ]; then
    echo "validate: installing ${TOOLS[*]} into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${TOOLS[@]}"
    echo "${TOOLS[*]}" > "$VENV/.lockd-tools"
fi

echo "== yamllint"
"$VENV/bin/yamllint" --strict -c deploy/yamllint.yml deploy/k8s deploy/docker-compose.yml
echo "== kubernetes-validate (strict)"
"$VENV/bin/kubernetes-validate" --strict --quiet deploy/k8s/*.yaml
echo "== compose spec"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/docker-compose.yml

echo "== systemd unit"
# The binary is not installed here; everything else in the unit is checked as written.
unit_dir=$(mktemp -d)
trap 'rm -rf "$unit_dir"' EXIT
sed 's|^ExecStart=.*|ExecStart=/bin/true|' deploy/systemd/lockd.service > "$unit_dir/lockd.service"
verify=$(systemd-analyze verify "$unit_dir/lockd.service" 2>&1 || true)
if [ -n "$verify" ]; then
    echo "$verify" >&2
    exit 1
fi

echo "== Dockerfile COPY sources"
missing=0
while read -r source; do
    [ -e "$source" ] || { echo "deploy/Dockerfile copies $source, which does not exist" >&2; missing=1; }
done < <(awk '$1 == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) print $i }' deploy/Dockerfile)
exit "$missing"
