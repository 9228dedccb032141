#!/usr/bin/env bash
# Runs the README's install, plugin walkthrough and desktop-client recipes as
# written (the blocks marked `<!-- walkthrough: ... -->`, see extract.py), as
# a new user would: HOME is an empty folder, so `cd ~`, `~/.cargo/bin` and
# the plugin's folder are fresh; the Rust toolchain and the crate registry
# cache are the machine's. Then:
#   - each client config (Claude Desktop, Cursor, VS Code) is started the way
#     that client starts it, from `/`, and driven with the Python `mcp` SDK
#     in both eras (desktop_client.py);
#   - the README's Inspector line runs (`npx -y`, Node 22) against the
#     installed host serving the walkthrough's plugin over HTTP.
# Slow on purpose: `cargo install` is a release build of the host.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

log() { echo "walkthrough: $*" >&2; }
step() { log "$*"; }
expect_in() {
    local wanted="$1" output="$2" line="$3"
    case "$output" in
        *"$wanted"*) log "README line $line: output has \"$wanted\"" ;;
        *) log "README line $line: expected \"$wanted\" in the output"; exit 1 ;;
    esac
}
# The Inspector line needs a host listening; it runs once the host is up.
inspector_block() { cat >>"$WORK/inspector.sh"; }

source "$ROOT/tests/venv.sh"
ensure_venv "$ROOT/tests/python/.venv" "$ROOT/tests/python/requirements.txt"
PYTHON="$ROOT/tests/python/.venv/bin/python"
source "$ROOT/tests/clients/node.sh"
ensure_clients
source "$ROOT/tests/host.sh"
host_workdir walkthrough

python3 "$HERE/extract.py" "$ROOT/README.md" >"$WORK/walkthrough.sh"
export CLIENTS="$WORK/clients"
mkdir -p "$CLIENTS" "$WORK/home"

# A new user's account: an empty home, with this machine's toolchain and
# registry cache (so nothing is downloaded twice), and whatever `cargo
# install` installs found on PATH as rustup arranges it.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$WORK/home"
export CARGO_INSTALL_ROOT="$HOME/.cargo"
export PATH="$HOME/.cargo/bin:$PATH"
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

log "running the README's walkthrough (HOME=$HOME)"
(cd "$ROOT" && source "$WORK/walkthrough.sh")

BIN="$HOME/.cargo/bin/switchboard"
CONFIG="$HOME/my-tools/switchboard.toml"
for file in "$BIN" "$CONFIG"; do
    [ -f "$file" ] || { log "the walkthrough left no $file"; exit 1; }
done

for client in "$CLIENTS"/*.json; do
    log "desktop client config $(basename "$client")"
    "$PYTHON" "$HERE/desktop_client.py" "$client" "$HOME"
done
[ "$(ls "$CLIENTS" | wc -l)" -eq 3 ] || { log "expected 3 client configs in the README"; exit 1; }

[ -s "$WORK/inspector.sh" ] || { log "the README has no Inspector line"; exit 1; }
start_host "$BIN" "$CONFIG" 60
log "the README's Inspector line, against $URL"
output="$(sed "s#http://127.0.0.1:7777/mcp#$URL#g" "$WORK/inspector.sh" | bash)"
expect_in '"mine_shout"' "$output" "(Inspector)"
log "PASS"
