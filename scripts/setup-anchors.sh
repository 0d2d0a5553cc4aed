#!/usr/bin/env bash
# Installs the third-party MCP software that gatekit's interop tests run against
# ("anchors": code nobody on the team wrote) into the git-ignored folder .anchors/:
#
#   node .anchors/node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio
#   .anchors/venv/bin/python -m mcp_server_time --local-timezone UTC
#   .anchors/venv/bin/python tests/interop/driver.py ...   (PyPI `mcp` client SDK)
#
# Reproducible: the top-level pins are below, and the whole dependency trees are locked in
# tests/interop/anchors/ (package-lock.json without registry URLs, requirements.txt from
# pip freeze). Idempotent and fast: a stamp keyed on the pins and the lock files' hashes
# makes a repeat run a no-op; ANCHORS_FORCE=1 reinstalls anyway.
# Needs node >= 20 with npm, and python3 >= 3.10 with venv.
set -euo pipefail

# Top-level pins; the lock files must agree (checked below).
readonly SERVER_EVERYTHING_VERSION="2026.8.31"
readonly PY_MCP_VERSION="2.3.0"
readonly PY_MCP_SERVER_TIME_VERSION="2026.10.19"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly LOCKS="${ROOT}/tests/interop/anchors"
readonly ANCHORS="${ROOT}/.anchors"
readonly STAMP_FILE="${ANCHORS}/.stamp"
readonly LOG="${ANCHORS}/setup.log"
readonly EVERYTHING_JS="${ANCHORS}/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
readonly VENV_PY="${ANCHORS}/venv/bin/python"

die() {
    echo "setup-anchors: error: $*" >&2
    exit 1
}

# Runs a step with its output kept in a log, shown (URLs masked) only when the step fails.
run_quiet() {
    local what="$1"
    shift
    if ! "$@" >"${LOG}" 2>&1; then
        echo "setup-anchors: error: ${what} failed; its output:" >&2
        sed -E 's#[a-z]+://[^ "]+#<url>#g; s/^/    /' "${LOG}" >&2
        exit 1
    fi
}

for lock in package.json package-lock.json requirements.txt; do
    [[ -f "${LOCKS}/${lock}" ]] || die "missing ${LOCKS}/${lock}"
done
grep -q "\"@modelcontextprotocol/server-everything\": \"${SERVER_EVERYTHING_VERSION}\"" \
    "${LOCKS}/package.json" || die "tests/interop/anchors/package.json does not pin server-everything ${SERVER_EVERYTHING_VERSION}"
grep -qx "mcp==${PY_MCP_VERSION}" "${LOCKS}/requirements.txt" ||
    die "tests/interop/anchors/requirements.txt does not pin mcp==${PY_MCP_VERSION}"
grep -qx "mcp-server-time==${PY_MCP_SERVER_TIME_VERSION}" "${LOCKS}/requirements.txt" ||
    die "tests/interop/anchors/requirements.txt does not pin mcp-server-time==${PY_MCP_SERVER_TIME_VERSION}"

lock_hash="$(cat "${LOCKS}/package.json" "${LOCKS}/package-lock.json" "${LOCKS}/requirements.txt" |
    sha256sum | cut -c1-16)"
readonly STAMP="server-everything=${SERVER_EVERYTHING_VERSION} mcp=${PY_MCP_VERSION} mcp-server-time=${PY_MCP_SERVER_TIME_VERSION} locks=${lock_hash}"

if [[ "${ANCHORS_FORCE:-0}" != "1" && -f "${STAMP_FILE}" && -f "${EVERYTHING_JS}" && -x "${VENV_PY}" ]] &&
    [[ "$(cat "${STAMP_FILE}")" == "${STAMP}" ]]; then
    echo "setup-anchors: up to date (${STAMP})"
    exit 0
fi

command -v node >/dev/null || die "node not found on PATH (need node >= 20)"
command -v npm >/dev/null || die "npm not found on PATH"
command -v python3 >/dev/null || die "python3 not found on PATH (need python >= 3.10)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "node ${node_major} is too old (need >= 20)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
    die "python3 is too old (need >= 3.10 for mcp ${PY_MCP_VERSION})"
python3 -c 'import venv, ensurepip' 2>/dev/null ||
    die "python3 lacks venv/ensurepip (on Debian: apt-get install python3-venv)"

started=${SECONDS}
mkdir -p "${ANCHORS}"
rm -f "${STAMP_FILE}"

echo "setup-anchors: installing @modelcontextprotocol/server-everything@${SERVER_EVERYTHING_VERSION} (npm ci)"
cp "${LOCKS}/package.json" "${LOCKS}/package-lock.json" "${ANCHORS}/"
run_quiet "npm ci" npm ci --prefix "${ANCHORS}" --no-audit --no-fund --loglevel=error
[[ -f "${EVERYTHING_JS}" ]] || die "npm finished but ${EVERYTHING_JS} is missing"

echo "setup-anchors: installing mcp==${PY_MCP_VERSION} mcp-server-time==${PY_MCP_SERVER_TIME_VERSION} (venv)"
if [[ ! -x "${VENV_PY}" ]]; then
    run_quiet "python3 -m venv" python3 -m venv "${ANCHORS}/venv"
fi
run_quiet "pip install" "${VENV_PY}" -m pip install --quiet --disable-pip-version-check \
    -r "${LOCKS}/requirements.txt"
run_quiet "import check" "${VENV_PY}" -c 'import mcp, mcp_server_time'

echo "${STAMP}" >"${STAMP_FILE}"
rm -f "${LOG}"
echo "setup-anchors: done in $((SECONDS - started)) s (${STAMP})"
