#!/usr/bin/env bash
# Drives the real `switchboard` binary with the Python `mcp` SDK client
# (pinned in requirements.txt), over Streamable HTTP and stdio, in both
# protocol eras.
#
#   tests/python/run.sh                 # everything
#   tests/python/run.sh -k stdio -x     # extra arguments go to pytest
#
# Installs the requirements into its own virtualenv, tests/python/.venv
# (created with $PYTHON, default python3; never into the user's Python), only
# when that venv lacks the pinned requirements. Needs cargo with the
# wasm32-wasip2 target.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
log() { echo "python-tests: $*" >&2; }

# shellcheck source=../venv.sh
. "$ROOT/tests/venv.sh"
ensure_venv "$HERE/.venv" "$HERE/requirements.txt"
PYTHON="$HERE/.venv/bin/python"

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
log "building the host and the fixtures"
cargo build --quiet -p switchboard
cargo build --quiet --target wasm32-wasip2 --release -p testkit-fixture -p conformance-fixture

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export SWITCHBOARD_BIN="$TARGET_DIR/debug/switchboard"
export SWITCHBOARD_WASM_DIR="$TARGET_DIR/wasm32-wasip2/release"

cd "$HERE"
exec "$PYTHON" -m pytest -q "$@"
