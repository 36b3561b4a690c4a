#!/usr/bin/env bash
# Starts a throwaway, loopback-only PostgreSQL cluster for the pg state-store tests, and prints the
# environment the tests read, as shell `export` lines on stdout (everything else goes to stderr):
#
#   eval "$(bash scripts/ci-postgres.sh)"
#
# prints, for example:
#   export SMS_RECONCILE_TEST_PG_URL='postgres://smsr:smsr-test-pw@127.0.0.1:55432/smsr_test'
#
# (The tests that restart PostgreSQL start a private cluster of their own from the same binaries,
# so a restart never disturbs the tests sharing this one.)
#
# Idempotent: installs Debian's `postgresql` package only when no PostgreSQL binaries are present
# (needs root), creates the cluster only when its directory is empty, starts it only when it is not
# running, and (re)creates the role, its password and the database only where missing.
#
# Settings (environment, with defaults): PG_PORT=55432 PG_DIR=/tmp/sms-reconcile-pg PG_USER=smsr
# PG_PASSWORD=smsr-test-pw PG_DB=smsr_test. The cluster listens on 127.0.0.1 only; its socket directory is
# private to the cluster's owner; TCP logins need the password (scram-sha-256), so a wrong
# password is refused as it would be in production.
#
#   bash scripts/ci-postgres.sh stop     stops the cluster (the data directory is kept)
set -euo pipefail

PG_PORT="${PG_PORT:-55432}"
PG_DIR="${PG_DIR:-/tmp/sms-reconcile-pg}"
PG_USER="${PG_USER:-smsr}"
PG_PASSWORD="${PG_PASSWORD:-smsr-test-pw}"
PG_DB="${PG_DB:-smsr_test}"
DATA="$PG_DIR/data"
SOCK="$PG_DIR/socket"
LOG="$PG_DIR/server.log"

log() { echo "ci-postgres: $*" >&2; }

find_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

BIN=$(find_bin || true)
if [ -z "$BIN" ]; then
  if [ "$(id -u)" != 0 ]; then log "PostgreSQL is not installed and this is not root: install the 'postgresql' package"; exit 1; fi
  log "installing PostgreSQL (apt-get install -y postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN=$(find_bin) || { log "postgresql installed, but no initdb found"; exit 1; }
fi

# The cluster belongs to 'postgres' when run as root (initdb refuses root), else to the caller.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_DIR" --shell /bin/sh postgres
  OWNER=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  OWNER=$(id -un)
  as_owner() { "$@"; }
fi

if [ "${1:-}" = stop ]; then
  if [ -f "$DATA/postmaster.pid" ]; then as_owner "$BIN/pg_ctl" -D "$DATA" stop -m fast -w >&2 || true; fi
  exit 0
fi

mkdir -p "$PG_DIR"
chown "$OWNER" "$PG_DIR"
chmod 0755 "$PG_DIR"

if [ ! -f "$DATA/PG_VERSION" ]; then
  log "creating a cluster in $DATA"
  pwfile=$(mktemp)
  # A random superuser password: nobody logs in as superuser over TCP; the local socket is private.
  head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$pwfile"
  chown "$OWNER" "$pwfile"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >&2 || as_owner "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >&2
  rm -f "$pwfile"
fi
mkdir -p "$SOCK"
chown "$OWNER" "$SOCK"
chmod 0700 "$SOCK"

if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $LOG)"
  touch "$LOG"
  chown "$OWNER" "$LOG"
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-p $PG_PORT -k $SOCK -c listen_addresses=127.0.0.1 -c unix_socket_permissions=0700 -c max_connections=200 -c fsync=on" start >&2
fi

psql_super() { as_owner "$BIN/psql" -h "$SOCK" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
# Wait until it accepts connections (a restart in progress, a slow first start).
for _ in $(seq 1 60); do
  if psql_super -c 'select 1' >/dev/null 2>&1; then break; fi
  sleep 0.5
done
psql_super -c 'select 1' >/dev/null

sql_lit() { printf "'%s'" "${1//\'/\'\'}"; }
if [ "$(psql_super -c "select count(*) from pg_roles where rolname = $(sql_lit "$PG_USER")")" = 0 ]; then
  log "creating role $PG_USER"
  psql_super -c "create role \"$PG_USER\" login"
fi
psql_super -c "alter role \"$PG_USER\" with login password $(sql_lit "$PG_PASSWORD")" >/dev/null
if [ "$(psql_super -c "select count(*) from pg_database where datname = $(sql_lit "$PG_DB")")" = 0 ]; then
  log "creating database $PG_DB"
  psql_super -c "create database \"$PG_DB\" owner \"$PG_USER\""
fi

urlenc() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1" 2>/dev/null || printf '%s' "$1"; }
URL="postgres://$(urlenc "$PG_USER"):$(urlenc "$PG_PASSWORD")@127.0.0.1:$PG_PORT/$(urlenc "$PG_DB")"
log "ready: postgres://$PG_USER:***@127.0.0.1:$PG_PORT/$PG_DB"
printf "export SMS_RECONCILE_TEST_PG_URL=%s\n" "$(sql_lit "$URL")"
