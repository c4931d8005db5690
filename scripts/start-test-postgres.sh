#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for tests and print its SQLAlchemy URL.
#
# Usage: scripts/start-test-postgres.sh DIR [PORT]     start (or reuse) the cluster in DIR
#        scripts/start-test-postgres.sh DIR stop       stop it (DIR can then be removed)
#
# Installs Debian's postgresql package when no server is found (as root; needs
# apt). The cluster listens on 127.0.0.1 only, trusts local connections, keeps
# its socket in DIR, and runs with fsync off: test data only. The one line on
# stdout is the URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:54329/trainerbot_test);
# everything else goes to stderr. A second call with the same DIR reuses the
# running cluster and prints the same URL.
set -euo pipefail

DIR="${1:?usage: start-test-postgres.sh DIR [PORT|stop]}"
ARG="${2:-}"
DB=trainerbot_test
say() { echo "start-test-postgres: $*" >&2; }

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

# Run a server program as the cluster's owner: initdb refuses to run as root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

BIN="$(find_bindir || true)"
if [ -z "$BIN" ]; then
    if [ "$ARG" = stop ]; then exit 0; fi
    if [ "$(id -u)" -ne 0 ]; then say "no PostgreSQL server installed and not root"; exit 1; fi
    say "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq postgresql >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null; }
    BIN="$(find_bindir)" || { say "installed, but no initdb found"; exit 1; }
fi

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
DATA="$DIR/data"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DIR"; fi

if [ "$ARG" = stop ]; then
    if [ -f "$DATA/postmaster.pid" ]; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    fi
    exit 0
fi

if [ -f "$DIR/port" ]; then
    PORT="$(cat "$DIR/port")"
else
    PORT="${ARG:-54329}"
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
    say "creating a cluster in $DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C \
        --no-sync >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; exit 1; }
fi

if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        say "port $PORT on 127.0.0.1 is taken; pass another: start-test-postgres.sh DIR PORT"
        exit 1
    fi
    say "starting PostgreSQL on 127.0.0.1:$PORT"
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 30 start \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2 \
        || { tail -n 20 "$DIR/server.log" >&2; exit 1; }
    echo "$PORT" >"$DIR/port"
fi

if ! as_owner "$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    as_owner "$BIN/createdb" -h "$DIR" -p "$PORT" -U postgres "$DB"
fi

echo "postgresql+asyncpg://postgres@127.0.0.1:$PORT/$DB"
