#!/bin/sh
# MariaDB from Debian's packages, started the way the official `mysql` image
# starts (docker-library/mysql docker-entrypoint.sh), for the parts bomc
# relies on:
#   - MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD, MYSQL_ROOT_PASSWORD, each
#     also as <VAR>_FILE (setting both is an error); MYSQL_RANDOM_ROOT_PASSWORD
#     or MYSQL_ALLOW_EMPTY_PASSWORD instead of a root password;
#   - on first start: the data directory initialised, the database created,
#     the user created for any host with all privileges on it;
#   - the server listens on 3306 on every interface, only once it is ready
#     (`mysqladmin ping --host=127.0.0.1` is the health check);
#   - started as root it drops to `mysql`; a first argument that is not
#     `mysqld` (nor an option) is run instead.
set -eu

fail() { echo "docker-entrypoint.sh: $*" >&2; exit 1; }

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

# A SQL string literal, an identifier; a statement (printf: dash's echo would
# read backslashes in the values).
sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")"; }
sql() { printf '%s\n' "$1"; }
sql_name() { printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"; }

if [ "${1#-}" != "$1" ]; then
  set -- mysqld "$@"
fi
if [ "$1" != mysqld ] && [ "$1" != mariadbd ]; then
  exec "$@"
fi

datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$datadir" /run/mysqld
  chown -R mysql:mysql "$datadir" /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi

file_env MYSQL_ROOT_HOST %
file_env MYSQL_DATABASE
file_env MYSQL_USER
file_env MYSQL_PASSWORD
file_env MYSQL_ROOT_PASSWORD

if [ ! -d "$datadir/mysql" ]; then
  if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] \
    && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    fail "the database is uninitialised and no password option is set: give MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD or MYSQL_RANDOM_ROOT_PASSWORD"
  fi
  if [ "$MYSQL_USER" = root ]; then
    fail "MYSQL_USER=root: the root user is set up with MYSQL_ROOT_PASSWORD"
  fi
  mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/dev/null
  mariadbd --datadir="$datadir" --skip-networking --socket="$socket" &
  pid=$!
  for _ in $(seq 60); do
    mariadb-admin --socket="$socket" --user=root ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    MYSQL_ROOT_PASSWORD=$(head -c 24 /dev/urandom | base64)
    echo "docker-entrypoint.sh: GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
  fi
  {
    sql "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$MYSQL_ROOT_PASSWORD");"
    # mariadb-install-db also makes root users without a password for the
    # other names of this host; the official image keeps only root@localhost.
    sql "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@$(sql_string "$(cat /proc/sys/kernel/hostname)");"
    if [ "$MYSQL_ROOT_HOST" != localhost ]; then
      sql "CREATE USER 'root'@$(sql_string "$MYSQL_ROOT_HOST") IDENTIFIED BY $(sql_string "$MYSQL_ROOT_PASSWORD");"
      sql "GRANT ALL ON *.* TO 'root'@$(sql_string "$MYSQL_ROOT_HOST") WITH GRANT OPTION;"
    fi
    if [ -n "$MYSQL_DATABASE" ]; then
      sql "CREATE DATABASE IF NOT EXISTS $(sql_name "$MYSQL_DATABASE");"
    fi
    if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
      sql "CREATE USER $(sql_string "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_string "$MYSQL_PASSWORD");"
      if [ -n "$MYSQL_DATABASE" ]; then
        sql "GRANT ALL ON $(sql_name "$MYSQL_DATABASE").* TO $(sql_string "$MYSQL_USER")@'%';"
      fi
    fi
    sql "FLUSH PRIVILEGES;"
  } | mariadb --socket="$socket" --user=root
  MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb-admin --socket="$socket" --user=root shutdown
  wait "$pid" || true
  echo "docker-entrypoint.sh: initialised $datadir: database $MYSQL_DATABASE, user $MYSQL_USER"
fi

unset MYSQL_PASSWORD MYSQL_ROOT_PASSWORD
exec "$@" --bind-address=0.0.0.0 --socket="$socket"
