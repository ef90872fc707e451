# shellcheck shell=bash
# Sourced by ./run_main.sh and ./test.sh: a Python >= 3.11 virtualenv in .venv with a
# requirements file installed, skipped when nothing changed since the last install.
#
#   source deploy/bootstrap.sh
#   ensure_venv requirements-dev.txt     # sets PYTHON to .venv/bin/python
#
# The stamp .venv/.stamp-<file> holds a hash of the requirements files involved and of the
# interpreter; installing takes a lock so two scripts started together do not both run pip.

VENV_DIR=${VENV_DIR:-.venv}

bootstrap_log() { printf '%s\n' "$*" >&2; }

python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

find_python() {
    local candidate
    for candidate in "${TICKERPLANT_PYTHON:-}" python3.11 python3 python3.12 python3.13; do
        [[ -n $candidate ]] || continue
        if command -v "$candidate" >/dev/null && python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

requirements_hash() {
    # The file itself, the files it includes with -r (one level is all we use), and the
    # interpreter's version: a new Python needs a new install.
    local file=$1 included
    {
        cat "$file"
        while read -r included; do
            cat "$(dirname "$file")/$included"
        done < <(sed -n 's/^-r[[:space:]]*//p' "$file")
        "$VENV_DIR/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

create_venv() {
    local python
    if ! python=$(find_python); then
        bootstrap_log "error: Python 3.11 or newer is required (python3.11 or python3 on PATH;"
        bootstrap_log "       TICKERPLANT_PYTHON=/path/to/python overrides)"
        return 1
    fi
    bootstrap_log "creating $VENV_DIR with $python ($("$python" -V 2>&1))"
    rm -rf "$VENV_DIR"
    if ! "$python" -m venv "$VENV_DIR"; then
        # Debian splits venv/ensurepip into its own package.
        if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
            bootstrap_log "installing python3-venv (Debian)"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
            rm -rf "$VENV_DIR"
            "$python" -m venv "$VENV_DIR"
        else
            bootstrap_log "error: '$python -m venv' failed (Debian: apt-get install python3-venv)"
            return 1
        fi
    fi
}

ensure_venv() {
    local requirements=$1 stamp hash
    if [[ ! -x $VENV_DIR/bin/python ]] || ! python_ok "$VENV_DIR/bin/python"; then
        create_venv || return 1
    fi
    PYTHON=$VENV_DIR/bin/python
    stamp=$VENV_DIR/.stamp-$(basename "$requirements")
    hash=$(requirements_hash "$requirements")
    if [[ -f $stamp && $(cat "$stamp") == "$hash" ]]; then
        build_accelerators
        return
    fi
    (
        flock 9
        # Another script may have finished the same install while we waited for the lock.
        if [[ -f $stamp && $(cat "$stamp") == "$hash" ]]; then
            exit 0
        fi
        bootstrap_log "installing $requirements into $VENV_DIR (once per change of the file)"
        # Some machines' pip configuration names local index folders that may not exist; pip
        # warns about each one per package, which buries the output that matters.
        set -o pipefail  # the pipeline fails when pip does, whatever the filter returns
        if ! "$PYTHON" -m pip install --disable-pip-version-check -q -r "$requirements" 2>&1 \
            | { grep -v "^WARNING: Location '.*' is ignored" || true; } >&2; then
            bootstrap_log "pip could not install $requirements (see above)"
            exit 1
        fi
        echo "$hash" >"$stamp"
    ) 9>"$VENV_DIR/.install.lock" || return 1
    build_accelerators
}

build_accelerators() {
    # The optional compiled accelerators (Cython, docs/decisions/0112), built in place by
    # setup.py. Without a compiler the pure-Python modules run instead, with a warning; under
    # CI=true a failed build fails, so CI never passes on the fallback by accident.
    local log=$VENV_DIR/accelerators-build.log
    (
        flock 9
        "$PYTHON" setup.py -q build_ext --inplace -j 2 >"$log" 2>&1
    ) 9>"$VENV_DIR/.install.lock" && return 0
    bootstrap_log "warning: the compiled accelerators did not build (see $log);" \
        "running the pure-Python hot path"
    [[ ${CI:-} != true ]]
}
