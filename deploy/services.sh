#!/usr/bin/env bash
# Local backing services for Tickerplant's tests and production-mode runs:
# PostgreSQL, Redis and NATS with JetStream.
#
#   deploy/services.sh up       use what answers on the standard ports; start the rest privately
#   deploy/services.sh down     stop only what `up` started (never a service it found running)
#   deploy/services.sh status   one line per service
#   deploy/services.sh env      export lines for the services in use: eval "$(deploy/services.sh env)"
#
# Environment (all optional):
#   TICKERPLANT_PG_PORT     (5432)  TICKERPLANT_REDIS_PORT (6379)  TICKERPLANT_NATS_PORT (4222)
#   TICKERPLANT_PG_DB       database named in DATABASE_URL (private: tickerplant, created by `up`;
#                           a server found running: postgres, which every cluster has)
#   TICKERPLANT_SERVICES_DIR state of private instances (/tmp/tickerplant-services-$UID)
#   TICKERPLANT_NO_APT=1    never apt-get install missing servers
#
# A private instance lives entirely under the state dir (data, logs, pid files, sockets) and keeps
# nothing worth keeping: `down` deletes it. See docs/decisions/0001-services-script.md.
set -euo pipefail

HOST=127.0.0.1
PG_PORT=${TICKERPLANT_PG_PORT:-5432}
REDIS_PORT=${TICKERPLANT_REDIS_PORT:-6379}
NATS_PORT=${TICKERPLANT_NATS_PORT:-4222}
STATE=${TICKERPLANT_SERVICES_DIR:-/tmp/tickerplant-services-${UID}}
SERVICES=(postgres redis nats)
APT_UPDATED=0

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------------------------------------
# probes: each answers whether a server of the right kind speaks on HOST:port
# ---------------------------------------------------------------------------------------------
# The inner `bash -c` scripts take host and port as $0 and $1: single quotes are intended
# (SC2016).
# shellcheck disable=SC2016
port_open() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

# shellcheck disable=SC2016
redis_answers() {
    local reply
    reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "PING\r\n" >&3; IFS= read -r -t 2 line <&3; printf "%s" "$line"' \
        "$HOST" "$1" 2>/dev/null) || return 1
    [[ $reply == +PONG* || $reply == -NOAUTH* ]]
}

# shellcheck disable=SC2016
nats_info() {
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
        IFS= read -r -t 2 line <&3; printf "%s" "$line"' "$HOST" "$1" 2>/dev/null
}

nats_answers() {
    local info
    info=$(nats_info "$1") || return 1
    [[ $info == INFO* ]]
}

postgres_answers() {
    local bin
    bin=$(pg_bindir 2>/dev/null || true)
    if [[ -n $bin && -x $bin/pg_isready ]]; then
        "$bin/pg_isready" -q -h "$HOST" -p "$1" -t 2
    elif command -v pg_isready >/dev/null; then
        pg_isready -q -h "$HOST" -p "$1" -t 2
    else
        port_open "$1"
    fi
}

answers() { "${1}_answers" "$2"; }

wait_until_answers() {
    local service=$1 port=$2 tries=${3:-60}
    for ((i = 0; i < tries; i++)); do
        answers "$service" "$port" && return 0
        sleep 0.5
    done
    return 1
}

free_port() {
    local port=$1
    if ! port_open "$port"; then
        echo "$port"
        return
    fi
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pid_alive() {
    # The pid in file $1 runs and its command line contains $2 (guards against pid reuse).
    local pid
    [[ -s $1 ]] || return 1
    pid=$(head -n1 "$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# ---------------------------------------------------------------------------------------------
# installation of missing servers (Debian, as root)
# ---------------------------------------------------------------------------------------------
apt_install() {
    # Debian starts a daemon when its package is installed; ours are started here, with our
    # settings, so starts are refused for the duration (the usual policy-rc.d convention).
    local policy=/usr/sbin/policy-rc.d added_policy=0 status=0
    if [[ ${TICKERPLANT_NO_APT:-0} == 1 ]] || [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
        return 1
    fi
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    if [[ $APT_UPDATED == 0 ]]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || status=$?
        APT_UPDATED=1
    fi
    if [[ $status == 0 ]]; then
        log "apt-get install -y $*"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 \
            || status=$?
    fi
    if [[ $added_policy == 1 ]]; then rm -f "$policy"; fi
    return "$status"
}

pg_bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null \
        | sort -V | tail -n1)
    if [[ -n $dir && -x $dir/initdb ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
    else
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# private instances
# ---------------------------------------------------------------------------------------------
prepare_state() {
    if [[ -e $STATE && ! -O $STATE ]]; then
        die "$STATE exists and is not owned by $(id -un); set TICKERPLANT_SERVICES_DIR"
    fi
    mkdir -p "$STATE"
    # The Postgres user (not root) must traverse it to reach its data directory.
    chmod 755 "$STATE"
}

pg_user() {
    # The account private Postgres runs as when we are root (Postgres refuses to run as root).
    if id -u postgres >/dev/null 2>&1; then
        echo postgres
    else
        if ! id -u tickerplant-pg >/dev/null 2>&1; then
            log "creating system user tickerplant-pg"
            useradd --system --no-create-home --shell /usr/sbin/nologin tickerplant-pg
        fi
        echo tickerplant-pg
    fi
}

as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u "$(pg_user)" -- "$@"
    else
        "$@"
    fi
}

start_postgres() {
    local bin dir=$STATE/postgres port
    if ! bin=$(pg_bindir); then
        apt_install postgresql || die "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        bin=$(pg_bindir) || die "PostgreSQL binaries not found after installing"
    fi
    port=$(free_port "$PG_PORT")
    mkdir -p "$dir"
    if [[ $EUID -eq 0 ]]; then chown "$(pg_user)": "$dir"; fi
    if [[ ! -s $dir/data/PG_VERSION ]]; then
        rm -rf "$dir/data"
        log "postgres: initdb in $dir/data"
        as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
            >"$dir/initdb.log" 2>&1 || die "initdb failed; see $dir/initdb.log"
    fi
    # A throwaway test server: durability off is fine and much faster.
    as_pg tee "$dir/data/postgresql.auto.conf" >/dev/null <<EOF
listen_addresses = '$HOST'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
    log "postgres: starting a private server on $HOST:$port"
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null \
        || die "postgres did not start; see $dir/postgres.log"
    echo "$port" >"$STATE/postgres.port"
    as_pg "$bin/createdb" -h "$HOST" -p "$port" -U postgres tickerplant 2>/dev/null || true
}

stop_postgres() {
    local dir=$STATE/postgres bin
    [[ -f $dir/data/postmaster.pid ]] || return 0
    if pid_alive "$dir/data/postmaster.pid" postgres; then
        bin=$(pg_bindir) || die "pg_ctl not found"
        log "postgres: stopping private server (pid $(head -n1 "$dir/data/postmaster.pid"))"
        as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
}

postgres_private_running() {
    pid_alive "$STATE/postgres/data/postmaster.pid" postgres
}

start_redis() {
    local dir=$STATE/redis port
    if ! command -v redis-server >/dev/null; then
        apt_install redis-server || die "redis-server is not installed (Debian: apt-get install redis-server)"
    fi
    port=$(free_port "$REDIS_PORT")
    mkdir -p "$dir"
    log "redis: starting a private server on $HOST:$port"
    redis-server --bind "$HOST" --port "$port" --save "" --appendonly no --daemonize yes \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
    echo "$port" >"$STATE/redis.port"
}

stop_redis() {
    local pidfile=$STATE/redis/redis.pid
    if pid_alive "$pidfile" redis-server; then
        log "redis: stopping private server (pid $(head -n1 "$pidfile"))"
        kill "$(head -n1 "$pidfile")"
        wait_for_exit "$pidfile" redis-server
    fi
}

redis_private_running() {
    pid_alive "$STATE/redis/redis.pid" redis-server
}

nats_binary() {
    command -v nats-server || { [[ -x /usr/sbin/nats-server ]] && echo /usr/sbin/nats-server; }
}

start_nats() {
    local dir=$STATE/nats port bin
    if ! bin=$(nats_binary); then
        apt_install nats-server || die "nats-server is not installed (Debian: apt-get install nats-server)"
        bin=$(nats_binary) || die "nats-server not found after installing"
    fi
    port=$(free_port "$NATS_PORT")
    mkdir -p "$dir/jetstream"
    log "nats: starting a private server with JetStream on $HOST:$port"
    # nats-server does not daemonize itself: detach it from this shell and its terminal.
    setsid "$bin" -a "$HOST" -p "$port" -js -sd "$dir/jetstream" -P "$dir/nats.pid" \
        -l "$dir/nats.log" </dev/null >/dev/null 2>&1 &
    disown || true
    echo "$port" >"$STATE/nats.port"
}

stop_nats() {
    local pidfile=$STATE/nats/nats.pid
    if pid_alive "$pidfile" nats-server; then
        log "nats: stopping private server (pid $(head -n1 "$pidfile"))"
        kill "$(head -n1 "$pidfile")"
        wait_for_exit "$pidfile" nats-server
    fi
}

nats_private_running() {
    pid_alive "$STATE/nats/nats.pid" nats-server
}

wait_for_exit() {
    for ((i = 0; i < 40; i++)); do
        pid_alive "$1" "$2" || return 0
        sleep 0.25
    done
    log "warning: $2 (pid $(head -n1 "$1")) still running after 10 s"
}

requested_port() {
    case $1 in
        postgres) echo "$PG_PORT" ;;
        redis) echo "$REDIS_PORT" ;;
        nats) echo "$NATS_PORT" ;;
    esac
}

# Where a service is, as "private <port>", "external <port>" or "down <port>".
locate() {
    local service=$1 port
    if "${service}_private_running"; then
        echo "private $(cat "$STATE/$service.port" 2>/dev/null || requested_port "$service")"
        return
    fi
    port=$(requested_port "$service")
    if answers "$service" "$port"; then
        echo "external $port"
    else
        echo "down $port"
    fi
}

# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------
cmd_up() {
    local service where mode port failed=0
    for service in "${SERVICES[@]}"; do
        where=$(locate "$service")
        mode=${where% *}
        port=${where#* }
        case $mode in
            private) log "$service: private server already running on $HOST:$port" ;;
            external) log "$service: using the server answering on $HOST:$port (not managed here)" ;;
            down)
                prepare_state
                if ( "start_$service" ) && port=$(cat "$STATE/$service.port") \
                    && wait_until_answers "$service" "$port"; then
                    log "$service: private server ready on $HOST:$port"
                else
                    log "$service: could not start (logs under $STATE/$service)"
                    failed=1
                fi
                ;;
        esac
    done
    if [[ $failed == 0 ]]; then
        if [[ $(locate nats) == external* ]] && [[ $(nats_info "$NATS_PORT") != *'"jetstream":true'* ]]; then
            log "warning: the NATS server on $HOST:$NATS_PORT runs without JetStream (-js)"
        fi
    fi
    return "$failed"
}

cmd_down() {
    local service stopped=0
    for service in "${SERVICES[@]}"; do
        if "${service}_private_running"; then
            "stop_$service"
            stopped=1
        fi
    done
    for service in "${SERVICES[@]}"; do
        if "${service}_private_running"; then
            log "warning: private $service still running; keeping $STATE"
            return 1
        fi
    done
    if [[ -d $STATE && -O $STATE ]]; then
        rm -rf "$STATE"
    fi
    if [[ $stopped == 0 ]]; then
        log "nothing to stop (servers found running are never stopped here)"
    fi
}

cmd_status() {
    local service where mode port
    for service in "${SERVICES[@]}"; do
        where=$(locate "$service")
        mode=${where% *}
        port=${where#* }
        case $mode in
            private) printf '%-8s %s:%s  private (started by services.sh, state in %s)\n' \
                "$service" "$HOST" "$port" "$STATE" ;;
            external) printf '%-8s %s:%s  running (not managed by services.sh)\n' \
                "$service" "$HOST" "$port" ;;
            down) printf '%-8s %s:%s  not running\n' "$service" "$HOST" "$port" ;;
        esac
    done
}

cmd_env() {
    local where mode port db
    where=$(locate postgres)
    mode=${where% *}
    port=${where#* }
    if [[ $mode == down ]]; then
        echo "# postgres: not running on $HOST:$port"
    else
        if [[ $mode == private ]]; then db=${TICKERPLANT_PG_DB:-tickerplant}; else db=${TICKERPLANT_PG_DB:-postgres}; fi
        echo "export DATABASE_URL=postgres://postgres@$HOST:$port/$db"
        echo "export TICKERPLANT_POSTGRES_URL=postgres://postgres@$HOST:$port/$db"
    fi
    where=$(locate redis)
    if [[ ${where% *} == down ]]; then
        echo "# redis: not running on $HOST:${where#* }"
    else
        echo "export TICKERPLANT_REDIS_URL=redis://$HOST:${where#* }/0"
    fi
    where=$(locate nats)
    if [[ ${where% *} == down ]]; then
        echo "# nats: not running on $HOST:${where#* }"
    else
        echo "export TICKERPLANT_NATS_URL=nats://$HOST:${where#* }"
    fi
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
