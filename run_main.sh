#!/usr/bin/env bash
# Run the whole Tickerplant platform on this machine, with the embedded defaults:
# SQLite, a file config store, shared-memory delivery, the simulated feed of config.toml.
# Needs only Python 3.11+; safe to run again (every step is idempotent).
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: ./run_main.sh [--help] [RUNPLATFORM-ARGS...]

Runs the whole platform (control plane, workers, Celery) from this checkout:
  1. creates .venv and installs requirements.txt (again only when the file changes);
  2. python manage.py migrate --noinput;
  3. creates the superuser "admin" on the first run;
  4. python manage.py import_config config.toml --if-empty (the catalog's first contents);
  5. python manage.py collectstatic --noinput;
  6. exec python manage.py runplatform [RUNPLATFORM-ARGS...]  (Ctrl-C stops everything).

Then open http://127.0.0.1:$TICKERPLANT_PORT/ and log in as admin; /healthz answers 200 once up.

Environment:
  TICKERPLANT_PORT            web port (default 8000)
  TICKERPLANT_METRICS_PORT    Prometheus port of worker 0; worker i uses this + i (default 9100)
  TICKERPLANT_ADMIN_PASSWORD  the admin password (set on every run); without it a password is
                              generated on the first run, printed once and kept in
                              var/admin_password (mode 600)
  TICKERPLANT_CONFIG          the pipeline config imported on the first run (default config.toml)
  TICKERPLANT_PYTHON          the Python used to create .venv (default python3.11, else python3)
  DATABASE_URL                a Postgres database instead of var/db.sqlite3 (production mode;
                              see docs/operations.md)
EOF
}

case ${1:-} in
    -h | --help | help)
        usage
        exit 0
        ;;
esac

cd "$(dirname "$(readlink -f "$0")")"

export TICKERPLANT_PORT=${TICKERPLANT_PORT:-8000}
export TICKERPLANT_METRICS_PORT=${TICKERPLANT_METRICS_PORT:-9100}
config=${TICKERPLANT_CONFIG:-config.toml}

say() { printf 'run_main: %s\n' "$*" >&2; }

# The inner script takes the port as $0: single quotes intended.
# shellcheck disable=SC2016
port_in_use() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null
}

if port_in_use "$TICKERPLANT_PORT"; then
    say "error: port $TICKERPLANT_PORT is already in use (is the platform already running?);" \
        "set TICKERPLANT_PORT to use another"
    exit 1
fi

# shellcheck source=deploy/bootstrap.sh
source deploy/bootstrap.sh
ensure_venv requirements.txt

mkdir -p var
chmod 700 var # the database (tokens, sessions), secrets and audit anchor live here
manage() { "$PYTHON" manage.py "$@"; }

say "migrating the database"
manage migrate --noinput >/dev/null

# --- the admin account -------------------------------------------------------------------------
password_file=var/admin_password
admin_mode="ensure" # create the account if missing, leave an existing password alone
if [[ -n ${TICKERPLANT_ADMIN_PASSWORD:-} ]]; then
    admin_password=$TICKERPLANT_ADMIN_PASSWORD
    admin_mode="set"
elif [[ -s $password_file ]]; then
    chmod 600 "$password_file"
    admin_password=$(<"$password_file")
else
    admin_password=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))')
    (
        umask 077
        printf '%s\n' "$admin_password" >"$password_file"
    )
    chmod 600 "$password_file"
    generated=1
    admin_mode="set" # the password printed below must be the one that works
fi
# The password travels in the environment, never on a command line (visible in ps).
TP_ADMIN_PASSWORD=$admin_password TP_ADMIN_MODE=$admin_mode manage shell -v 0 -c '
import os
from django.contrib.auth import get_user_model
User = get_user_model()
password = os.environ["TP_ADMIN_PASSWORD"]
user = User.objects.filter(username="admin").first()
if user is None:
    User.objects.create_superuser("admin", "admin@localhost", password)
    print("run_main: created the superuser admin")
elif os.environ["TP_ADMIN_MODE"] == "set":
    user.set_password(password)
    user.save(update_fields=["password"])
' >&2
if [[ ${generated:-0} == 1 ]]; then
    say "admin password (shown this once; kept in $password_file): $admin_password"
fi

# --- catalog and static files ------------------------------------------------------------------
say "importing $config (only into an empty catalog)"
manage import_config "$config" --if-empty >&2
say "collecting static files"
manage collectstatic --noinput >/dev/null

say "starting the platform: http://127.0.0.1:$TICKERPLANT_PORT/ (login: admin)" \
    "- health http://127.0.0.1:$TICKERPLANT_PORT/healthz," \
    "worker metrics from port $TICKERPLANT_METRICS_PORT"
exec "$PYTHON" manage.py runplatform "$@"
