# Shared set-up steps for scripts/demo and scripts/test; meant to be sourced.
# PYTHON picks the interpreter that creates .venv (default: python3).

setup_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        echo "Creating .venv with $($python --version)"
        "$python" -m venv .venv
        .venv/bin/python -m pip install --quiet --upgrade pip
    fi
    echo "Installing cascade-ext[$extras] into .venv"
    .venv/bin/python -m pip install --quiet --editable ".[$extras]"
}

ensure_chromium() {
    if command -v chromium >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Debian's chromium for the browser tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is not installed: the browser tests will be skipped." >&2
        echo "Install it (Debian: sudo apt-get install chromium) to run them." >&2
    fi
}
