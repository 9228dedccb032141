#!/usr/bin/env bash
# Installs the real third-party MCP servers the end-to-end tests run as
# upstreams behind the host (see tests/src/upstreams.rs), pinned here:
#
#   package.json / package-lock.json  @modelcontextprotocol/server-everything
#                                     (npm; runs on the system Node >= 20)
#   requirements.txt                  mcp-server-time (PyPI), in ./.venv
#
# Idempotent: `npm ci` runs only when node_modules is missing or older than
# the lock file, `pip install` only when .venv lacks the pinned requirements.
# Needs npm, Node >= 20 and Python >= 3.10 with the venv module.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "upstreams: $*" >&2; }

# --- npm: server-everything --------------------------------------------------
command -v npm >/dev/null || { log "npm is required"; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || { log "server-everything needs Node >= 20 (found $(node --version))"; exit 1; }
if [ ! -f "$HERE/node_modules/@modelcontextprotocol/server-everything/dist/index.js" ] \
    || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    log "installing server-everything (npm ci)"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- PyPI: mcp-server-time, in a virtualenv ---------------------------------
# shellcheck source=../venv.sh
. "$HERE/../venv.sh"
ensure_venv "$HERE/.venv" "$HERE/requirements.txt"
if [ ! -x "$HERE/.venv/bin/mcp-server-time" ]; then
    log "$HERE/.venv has no mcp-server-time: remove the folder and run again"
    exit 1
fi
