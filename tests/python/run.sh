#!/usr/bin/env bash
# Drives the real `switchboard` binary with the Python `mcp` SDK client
# (pinned in requirements.txt), over Streamable HTTP and stdio, in both
# protocol eras.
#
#   tests/python/run.sh                 # everything
#   tests/python/run.sh -k stdio -x     # extra arguments go to pytest
#
# Installs the requirements into the Python that runs it: set PYTHON (or
# activate a virtualenv) to choose one. Needs cargo with the wasm32-wasip2
# target.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

log() { echo "python-tests: $*" >&2; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { log "$PYTHON is older than 3.10, which mcp 2.3 needs"; exit 1; }
log "installing requirements into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

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
