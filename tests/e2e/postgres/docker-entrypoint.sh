#!/bin/sh
# PostgreSQL from Debian's packages, started the way the official `postgres`
# image starts (docker-library/postgres docker-entrypoint.sh), for the parts
# bomc relies on:
#   - POSTGRES_PASSWORD (required), POSTGRES_USER (default postgres),
#     POSTGRES_DB (default: the user), each also as <VAR>_FILE (a file holding
#     the value; setting both is an error);
#   - PGDATA (default /var/lib/postgresql/data), initialised on first start;
#   - clients over TCP authenticate with scram-sha-256;
#   - started as root it owns PGDATA to `postgres` and drops to that user;
#     started as another user it runs as that user;
#   - a first argument that is not `postgres` (nor an option) is run instead.
# Used by tests/e2e/shop.bom (image `pg`) and, tagged like the official image,
# by the stdlib `postgres` kind in tests/e2e/kinds.bom.
set -eu

fail() { echo "docker-entrypoint.sh: $*" >&2; exit 1; }

# file_env VAR [DEFAULT]: VAR from VAR or from the file VAR_FILE names.
file_env() {
  var=$1
  default=${2:-}
  eval "value=\${$var:-} file=\${${var}_FILE:-}"
  if [ -n "$value" ] && [ -n "$file" ]; then
    fail "both $var and ${var}_FILE are set (they are exclusive)"
  fi
  if [ -n "$file" ]; then
    [ -r "$file" ] || fail "${var}_FILE=$file: cannot read the file"
    value=$(cat "$file")
  fi
  [ -n "$value" ] || value=$default
  export "$var=$value"
  unset "${var}_FILE"
}

if [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
  exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "$POSTGRES_PASSWORD" ] || fail "POSTGRES_PASSWORD is not set: the database would have no password"
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  # A server on the socket only, so nothing connects (or looks healthy) before
  # the database exists.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -k /var/run/postgresql" start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    echo 'CREATE DATABASE :"db";' | psql -v ON_ERROR_STOP=1 --host=/var/run/postgresql \
      --username="$POSTGRES_USER" --dbname=postgres --set=db="$POSTGRES_DB" --quiet
  fi
  pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
  echo "docker-entrypoint.sh: initialised $PGDATA: user $POSTGRES_USER, database $POSTGRES_DB"
fi

unset POSTGRES_PASSWORD
exec "$@" -c listen_addresses='*' -k /var/run/postgresql
