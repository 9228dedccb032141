# Sourced by the test scripts that drive the real `switchboard` binary from
# outside Rust (tests/conformance/run.sh, tests/clients/run.sh): a work
# folder that is removed on success and kept on failure, and the host started
# on a free port. Needs a `log` function and $ROOT (the repository).

# build_host PACKAGE [MORE...]: builds the host (debug) and the plugins
# PACKAGE... (release, wasm32-wasip2), or takes SWITCHBOARD_BIN and
# SWITCHBOARD_WASM_DIR when both are set; sets $BIN, $WASM_DIR and $WASM
# (the first package's component).
build_host() {
    local package="$1" p
    if [ -n "${SWITCHBOARD_BIN:-}" ] && [ -n "${SWITCHBOARD_WASM_DIR:-}" ]; then
        BIN="$SWITCHBOARD_BIN"
        WASM_DIR="$SWITCHBOARD_WASM_DIR"
        log "using SWITCHBOARD_BIN=$BIN"
    else
        if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
            rustup target add wasm32-wasip2
        fi
        log "building the host and $*"
        cargo build --quiet -p switchboard
        local packages=()
        for p in "$@"; do packages+=(-p "$p"); done
        cargo build --quiet --target wasm32-wasip2 --release "${packages[@]}"
        local target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
        BIN="$target_dir/debug/switchboard"
        WASM_DIR="$target_dir/wasm32-wasip2/release"
    fi
    WASM="$WASM_DIR/${package//-/_}.wasm"
    local f files=("$BIN")
    for p in "$@"; do files+=("$WASM_DIR/${p//-/_}.wasm"); done
    for f in "${files[@]}"; do
        [ -f "$f" ] || { log "missing $f"; exit 1; }
    done
}

# host_workdir NAME: makes $WORK and arranges for the host to be stopped and
# $WORK removed (or kept, and said so, when the script fails) on exit.
host_workdir() {
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-$1.XXXXXX")"
    HOST_PID=""
    trap host_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

host_cleanup() {
    local status=$?
    if [ -n "$HOST_PID" ] && kill -0 "$HOST_PID" 2>/dev/null; then
        kill "$HOST_PID" 2>/dev/null || true
        wait "$HOST_PID" 2>/dev/null || true
    fi
    if [ "$status" -eq 0 ]; then
        rm -rf "$WORK"
    else
        log "kept the host log and the outputs in $WORK"
    fi
    exit "$status"
}

# start_host BIN CONFIG SECONDS: serves CONFIG over HTTP on a free port;
# sets $HOST_PID and $URL, or exits with the host's log if it does not print
# its address within SECONDS (the first start compiles the components).
start_host() {
    local bin="$1" config="$2" seconds="$3"
    "$bin" serve -c "$config" --http 127.0.0.1:0 >"$WORK/host.stdout" 2>"$WORK/host.log" &
    HOST_PID=$!
    URL=""
    local _
    for _ in $(seq 1 $((seconds * 10))); do
        URL="$(sed -n 's#^switchboard: listening on \(http://[^ ]*/mcp\).*#\1#p' "$WORK/host.log" | head -n1)"
        [ -n "$URL" ] && break
        if ! kill -0 "$HOST_PID" 2>/dev/null; then
            log "the host exited before listening:"; cat "$WORK/host.log" >&2; exit 1
        fi
        sleep 0.1
    done
    if [ -z "$URL" ]; then
        log "the host did not print its address within $seconds s:"; cat "$WORK/host.log" >&2; exit 1
    fi
    log "host listening at $URL (pid $HOST_PID)"
}
