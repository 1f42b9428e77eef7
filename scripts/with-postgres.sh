#!/usr/bin/env bash
# Runs a command against a throw-away PostgreSQL cluster.
#
#   scripts/with-postgres.sh CMD [ARGS...]
#   e.g. scripts/with-postgres.sh cargo test -p issuer --test suite store::
#
# Creates a fresh cluster (initdb) in a temporary directory, starts it on 127.0.0.1
# at a free port with trust authentication, runs CMD with
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres
# then stops the server and deletes the directory, however CMD ends. Exits with
# CMD's status.
#
# PostgreSQL binaries are looked up in $PG_BIN, then /usr/lib/postgresql/*/bin
# (newest version first), then PATH. If none are found and we are root on a
# Debian/Ubuntu system, `apt-get install postgresql` is run. As root, the server
# runs as the `postgres` OS user (initdb and postgres refuse to run as root).
#
# For local testing only: fsync is off and any local client may connect as any role.
# PG_DURABLE=1 keeps PostgreSQL's default durability (fsync and synchronous commit
# on), for throughput measurements (e.g. the issuer's bulk_issue bench).

set -euo pipefail

log() { printf 'with-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ $# -eq 0 ]]; then
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit 2
fi

# --- locate (or install) the server binaries ---------------------------------

find_pg_bin() {
    local candidate
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$candidate/initdb" ]] && { echo "$candidate"; return 0; }
    done
    if command -v pg_config >/dev/null 2>&1; then
        candidate=$(pg_config --bindir)
        [[ -x "$candidate/initdb" ]] && { echo "$candidate"; return 0; }
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/initdb" ]] || die "PG_BIN=$PG_BIN does not contain an executable initdb"
    pg_bin=$PG_BIN
elif ! pg_bin=$(find_pg_bin); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "PostgreSQL not found; installing it with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
        # The Debian package starts a system cluster; it is not ours and not needed.
        pg_bin=$(find_pg_bin) || die "apt-get installed postgresql but initdb is still missing"
    else
        die "PostgreSQL server binaries (initdb, pg_ctl) not found; install PostgreSQL or set PG_BIN"
    fi
fi
for tool in initdb pg_ctl pg_isready; do
    [[ -x "$pg_bin/$tool" ]] || die "$pg_bin/$tool is missing"
done

# --- who runs the server -------------------------------------------------------

if [[ $(id -u) -eq 0 ]]; then
    server_user=postgres
    if ! id "$server_user" >/dev/null 2>&1; then
        log "creating system user $server_user"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$server_user" >&2 \
            || die "cannot create the $server_user user"
    fi
    as_server_user() {
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$server_user" -- "$@"
        else
            su -s /bin/sh "$server_user" -c "$(printf '%q ' "$@")"
        fi
    }
    # The server user must be able to reach the directory, so stay out of /root.
    temp_parent=/tmp
else
    as_server_user() { "$@"; }
    temp_parent=${TMPDIR:-/tmp}
fi

# --- cluster lifecycle ----------------------------------------------------------

cluster_dir=""
data_dir=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$data_dir" && -f "$data_dir/postmaster.pid" ]]; then
        as_server_user "$pg_bin/pg_ctl" -D "$data_dir" -m fast -w -t 20 stop >/dev/null 2>&1 \
            || as_server_user "$pg_bin/pg_ctl" -D "$data_dir" -m immediate -w -t 10 stop >/dev/null 2>&1 \
            || log "warning: could not stop the server in $data_dir"
    fi
    if [[ -n "$cluster_dir" && -d "$cluster_dir" && "$cluster_dir" == */with-postgres.* ]]; then
        rm -rf -- "$cluster_dir"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cluster_dir=$(mktemp -d "$temp_parent/with-postgres.XXXXXX")
data_dir="$cluster_dir/data"
socket_dir="$cluster_dir/socket"
log_file="$cluster_dir/server.log"
mkdir -p "$socket_dir"
if [[ $(id -u) -eq 0 ]]; then
    chown -R "$server_user:" "$cluster_dir"
fi

as_server_user "$pg_bin/initdb" -D "$data_dir" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C --no-sync >"$cluster_dir/initdb.log" 2>&1 \
    || { cat "$cluster_dir/initdb.log" >&2; die "initdb failed"; }

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    else
        local port
        while :; do
            port=$((20000 + RANDOM % 40000))
            # Nothing answering means (very likely) free.
            if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                echo "$port"
                return
            fi
        done
    fi
}

durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[[ "${PG_DURABLE:-}" == 1 ]] && durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"

# The port could be taken between choosing and binding it, so retry a few times.
started=false
for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_server_user "$pg_bin/pg_ctl" -D "$data_dir" -l "$log_file" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $socket_dir $durability -c max_connections=200" \
        start >/dev/null; then
        started=true
        break
    fi
    log "server did not start on port $port (attempt $attempt)"
    rm -f "$data_dir/postmaster.pid"
done
if [[ $started != true ]]; then
    tail -n 30 "$log_file" >&2 2>/dev/null || true
    die "could not start PostgreSQL"
fi

for _ in $(seq 1 60); do
    if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
        break
    fi
    sleep 0.5
done
"$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    || { tail -n 30 "$log_file" >&2; die "PostgreSQL did not become ready"; }

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
version=$("$pg_bin/postgres" --version | awk '{print $3}')
log "PostgreSQL $version running at $TEST_DATABASE_URL (cluster in $cluster_dir; removed on exit)"

# Run CMD as a child we can signal: a foreground child would delay our traps until it
# exits. It keeps our stdin (background jobs would otherwise get /dev/null). Background
# jobs ignore SIGINT, so an interrupt is passed on as SIGTERM.
set +e
"$@" <&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' INT TERM
trap 'kill -HUP "$child" 2>/dev/null' HUP
while :; do
    wait "$child"
    status=$?
    # `wait` also returns when a trapped signal arrives; go on until CMD has exited.
    kill -0 "$child" 2>/dev/null || break
done
# The EXIT trap stops the server, removes the cluster and exits with CMD's status.
exit "$status"
