#!/usr/bin/env bash
# Installs the third-party MCP software that gatekit's interop tests run against
# ("anchors": code nobody on the team wrote) into the git-ignored folder .anchors/.
#
#   node .anchors/node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio
#   .anchors/venv/bin/python -m mcp_server_time --local-timezone UTC
#   .anchors/venv/bin/python tests/interop/driver.py ...   (PyPI `mcp` client SDK)
#
# Every version is pinned here (the folder itself is not committed). The script is
# idempotent: a stamp file keyed on the pinned versions makes a second run a no-op.
# Set ANCHORS_FORCE=1 to reinstall anyway. Requires node >= 20, npm and python3 >= 3.10.
set -euo pipefail

# Pinned versions. Changing any of them changes the stamp and triggers a reinstall.
readonly SERVER_EVERYTHING_VERSION="2026.8.31"
readonly PY_MCP_VERSION="2.3.0"
readonly PY_MCP_SERVER_TIME_VERSION="2026.10.19"

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ANCHORS="${ROOT}/.anchors"
readonly STAMP_FILE="${ANCHORS}/.stamp"
readonly STAMP="server-everything=${SERVER_EVERYTHING_VERSION} mcp=${PY_MCP_VERSION} mcp-server-time=${PY_MCP_SERVER_TIME_VERSION}"
readonly EVERYTHING_JS="${ANCHORS}/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
readonly VENV_PY="${ANCHORS}/venv/bin/python"

die() {
    echo "setup-anchors: error: $*" >&2
    exit 1
}

# The step's full output is kept in a log and shown only when the step fails.
run_quiet() {
    local what="$1"
    shift
    local log="${ANCHORS}/setup.log"
    if ! "$@" >"${log}" 2>&1; then
        echo "setup-anchors: error: ${what} failed; its output:" >&2
        sed 's/^/    /' "${log}" >&2
        exit 1
    fi
}

installed() {
    [[ -f "${STAMP_FILE}" ]] && [[ "$(cat "${STAMP_FILE}")" == "${STAMP}" ]] &&
        [[ -f "${EVERYTHING_JS}" ]] && [[ -x "${VENV_PY}" ]]
}

if [[ "${ANCHORS_FORCE:-0}" != "1" ]] && installed; then
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

# A private package.json keeps npm from walking up into the repository and pins the
# exact version (npm install --save-exact records it; the lock file pins the tree).
if [[ ! -f "${ANCHORS}/package.json" ]]; then
    printf '{\n  "name": "gatekit-anchors",\n  "private": true\n}\n' >"${ANCHORS}/package.json"
fi
echo "setup-anchors: installing @modelcontextprotocol/server-everything@${SERVER_EVERYTHING_VERSION} (npm)"
run_quiet "npm install" npm install --prefix "${ANCHORS}" --save-exact --no-audit --no-fund \
    --loglevel=error "@modelcontextprotocol/server-everything@${SERVER_EVERYTHING_VERSION}"
[[ -f "${EVERYTHING_JS}" ]] || die "npm finished but ${EVERYTHING_JS} is missing"

echo "setup-anchors: installing mcp==${PY_MCP_VERSION} mcp-server-time==${PY_MCP_SERVER_TIME_VERSION} (venv)"
if [[ ! -x "${VENV_PY}" ]]; then
    run_quiet "python3 -m venv" python3 -m venv "${ANCHORS}/venv"
fi
run_quiet "pip install" "${VENV_PY}" -m pip install --quiet --disable-pip-version-check \
    "mcp==${PY_MCP_VERSION}" "mcp-server-time==${PY_MCP_SERVER_TIME_VERSION}"
run_quiet "import check" "${VENV_PY}" -c 'import mcp, mcp_server_time'

echo "${STAMP}" >"${STAMP_FILE}"
rm -f "${ANCHORS}/setup.log"
echo "setup-anchors: done in $((SECONDS - started)) s (${STAMP})"
