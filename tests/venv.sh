# Sourced by the test scripts that need Python packages (tests/python/run.sh,
# tests/upstreams/install.sh). Needs a `log` function.

# ensure_venv VENV REQUIREMENTS: creates the virtualenv VENV with $PYTHON
# (default python3, >= 3.10 with the venv module) and installs REQUIREMENTS
# into it, only when VENV lacks exactly those pins. Never touches the Python
# that creates it.
ensure_venv() {
    local venv="$1" requirements="$2"
    local stamp="$venv/installed-requirements.txt"
    if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
        return
    fi
    local python="${PYTHON:-python3}"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { log "$python is older than 3.10, which the pinned packages need"; exit 1; }
    if [ ! -x "$venv/bin/python" ]; then
        log "creating $venv"
        "$python" -m venv "$venv" \
            || { log "$python -m venv failed (on Debian/Ubuntu: apt install python3-venv)"; exit 1; }
    fi
    log "installing $requirements into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
}
