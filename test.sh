#!/usr/bin/env bash
# Tickerplant's whole test suite, from a fresh machine with only Python 3.11+ on it.
#
#   ./test.sh                 everything: pytest on SQLite, then the Django tests on Postgres,
#                             then the whole suite again compiled on Python 3.13 (.venv-3.13)
#   ./test.sh ARGS...         one pytest invocation with ARGS (e.g. ./test.sh tests/pipelines -x)
#
# It creates or reuses .venv (installing requirements-dev.txt when it changed), makes sure
# Debian's Chromium is there for the browser tests (as root: apt-get install chromium; otherwise
# they are skipped), and starts or finds Postgres, Redis and NATS (deploy/services.sh).
#
# Environment: CI=true (missing services or sample data fail instead of skip),
# TICKERPLANT_SAMPLE_DATA (sample captures; default ../shared/data),
# TICKERPLANT_KEEP_SERVICES=1 (leave the private services this run started running),
# TICKERPLANT_NO_APT=1 (never apt-get install anything),
# TICKERPLANT_NEWEST_PYTHON (the Python 3.13 of the last run; default: python3.13 or pyenv's),
# TICKERPLANT_PURE_PYTHON=1 (run without the compiled accelerators; the full run also repeats the
# hot-path tests this way by itself).
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    # The header above is the usage text.
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
    echo "pytest's own options: ./test.sh --pytest-help"
    exit 0
fi
if [[ ${1:-} == --pytest-help ]]; then
    set -- --help
fi

cd "$(dirname "$(readlink -f "$0")")"
started=$SECONDS

# shellcheck source=deploy/bootstrap.sh
source deploy/bootstrap.sh
ensure_venv requirements-dev.txt

# --- browser -----------------------------------------------------------------------------------
# Playwright drives Debian's Chromium; it never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! command -v chromium >/dev/null && [[ -z ${TICKERPLANT_CHROMIUM:-} ]]; then
    if [[ $EUID -eq 0 && ${TICKERPLANT_NO_APT:-0} != 1 ]] && command -v apt-get >/dev/null; then
        echo "test.sh: installing Debian's chromium for the browser tests" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 || true
    fi
fi
if command -v chromium >/dev/null || [[ -n ${TICKERPLANT_CHROMIUM:-} ]]; then
    export TICKERPLANT_CHROMIUM=${TICKERPLANT_CHROMIUM:-$(command -v chromium)}
else
    echo "test.sh: Chromium is not installed and cannot be installed here (needs root and" \
        "apt-get): the browser tests (tests/e2e, marker e2e) are SKIPPED" >&2
    export TICKERPLANT_SKIP_BROWSER=1
fi

# --- services ----------------------------------------------------------------------------------
user_database_url=${DATABASE_URL:-}
private_before=$(bash deploy/services.sh status | grep -c private || true)
if ! bash deploy/services.sh up; then
    echo "test.sh: some services are unavailable; the tests that need them skip (fail under CI)" >&2
fi
private_after=$(bash deploy/services.sh status | grep -c private || true)
if [[ $private_before == 0 && $private_after != 0 && ${TICKERPLANT_KEEP_SERVICES:-0} != 1 ]]; then
    # This run started them: stop them when it ends.
    trap 'bash deploy/services.sh down' EXIT
fi
eval "$(bash deploy/services.sh env)"
postgres_url=${TICKERPLANT_POSTGRES_URL:-}

newest_python() {
    # The newest supported CPython (3.13): TICKERPLANT_NEWEST_PYTHON, python3.13 on PATH, or
    # pyenv's. A pyenv shim of a version that is not selected fails to run and is passed over.
    local candidate
    for candidate in "${TICKERPLANT_NEWEST_PYTHON:-}" python3.13 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
        [[ -n $candidate ]] || continue
        if command -v "$candidate" >/dev/null \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# --- tests -------------------------------------------------------------------------------------
logs=$(mktemp -d "${TMPDIR:-/tmp}/tickerplant-test.XXXXXX")
summaries=()
status=0

run_pytest() {
    # run_pytest LABEL ARGS...: one pytest invocation; its summary line is kept for the end.
    local label=$1 log code=0 begin=$SECONDS summary
    shift
    log=$logs/$(echo "$label" | tr -c 'a-zA-Z0-9\n' '-').log
    echo "=== test.sh: $label: pytest $*" >&2
    "$PYTHON" -m pytest "$@" 2>&1 | tee "$log" || code=$?
    # pytest's last line: "=== 1 failed, 45 passed in 0.49s ===" (or without the = under -q).
    summary=$(grep -E ' in [0-9.]+s( \([0-9:]+\))?( =+)?$' "$log" | tail -n1 \
        | sed -E 's/^=+ //; s/ =+$//' || true)
    summaries+=("$label ($((SECONDS - begin)) s, exit $code): ${summary:-no pytest summary, see $log}")
    if [[ $code != 0 ]]; then status=1; fi
}

if [[ $# -gt 0 ]]; then
    # Exactly the invocation asked for, on the database the caller's environment names.
    if [[ -n $user_database_url ]]; then export DATABASE_URL=$user_database_url; else unset DATABASE_URL; fi
    run_pytest "pytest" "$@"
else
    # Lint first: quick, and a red lint is as much a failure as a red test.
    echo "=== test.sh: lint: ruff check, ruff format --check, mypy" >&2
    lint_code=0
    "$PYTHON" -m ruff check --quiet . || lint_code=1
    "$PYTHON" -m ruff format --check --quiet . || lint_code=1
    "$PYTHON" -m mypy || lint_code=1
    summaries+=("lint (ruff, mypy strict on pipelines/ and ingest/): $([[ $lint_code == 0 ]] && echo clean || echo FAILED)")
    if [[ $lint_code != 0 ]]; then status=1; fi

    unset DATABASE_URL
    run_pytest "all tests, SQLite" tests

    # The hot path once more on its pure-Python reference (docs/decisions/0112): the compiled
    # accelerators ran above; here every decoder, book and pipeline test runs without them.
    pure_paths=(tests/ingest/protocols tests/ingest/test_feed.py tests/pipelines/core
        tests/pipelines/runtime tests/pipelines/replay tests/pipelines/test_accel.py)
    export TICKERPLANT_PURE_PYTHON=1
    run_pytest "hot path, pure Python (no accelerators)" "${pure_paths[@]}"
    unset TICKERPLANT_PURE_PYTHON

    django_dirs=()
    for dir in tests/controlplane tests/webui; do
        if [[ -d $dir ]]; then django_dirs+=("$dir"); fi
    done
    if [[ ${#django_dirs[@]} -eq 0 ]]; then
        summaries+=("Django tests, Postgres: no tests/controlplane or tests/webui yet")
    elif [[ -z $postgres_url ]]; then
        summaries+=("Django tests, Postgres: NOT RUN, no Postgres (deploy/services.sh up failed)")
        if [[ ${CI:-} == true ]]; then status=1; fi
    else
        # A database name of this run's own: pytest-django creates test_<name> and drops it,
        # so concurrent runs against one shared server never collide.
        export DATABASE_URL=${postgres_url%/*}/tickerplant_$$
        run_pytest "Django tests, Postgres" "${django_dirs[@]}"
        unset DATABASE_URL
    fi

    # The newest Python the README promises, compiled too (docs/decisions/0117): the build and
    # the exact results must hold there as on 3.11. Its own virtualenv (.venv-<version>); the
    # extensions it builds sit beside 3.11's (their file names carry the version).
    if newest=$(newest_python); then
        version=$("$newest" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        python_311=$PYTHON
        if VENV_DIR=.venv-$version TICKERPLANT_PYTHON=$newest ensure_venv requirements-dev.txt; then
            run_pytest "all tests, SQLite, Python $version (compiled)" tests
        else
            summaries+=("Python $version: FAILED to set up .venv-$version (see above)")
            status=1
        fi
        PYTHON=$python_311
    else
        summaries+=("Python 3.13: NOT RUN (no python3.13 found; TICKERPLANT_NEWEST_PYTHON=/path)")
        if [[ ${CI:-} == true ]]; then status=1; fi
    fi
fi

echo
echo "=== test.sh summary ($((SECONDS - started)) s; logs in $logs)"
for line in "${summaries[@]}"; do echo "  $line"; done
exit "$status"
