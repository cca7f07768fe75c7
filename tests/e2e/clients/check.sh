#!/bin/sh
# The job of tests/e2e/kinds.bom: connects to each stdlib kind's engine with
# the credentials the landscape gives it, as a client would. Each password
# arrives through bomc's secrets shim under the variable named in the .bom.
set -u
failed=0
try() {
  what=$1
  shift
  if out=$("$@" 2>&1); then
    echo "ok   $what"
  else
    echo "FAIL $what: $out"
    failed=1
  fi
}
try "postgres: SELECT as $PG_USER on $PG_HOST:$PG_PORT/$PG_DATABASE" \
  env PGPASSWORD="$PG_PASSWORD" psql --no-psqlrc --tuples-only \
  "host=$PG_HOST port=$PG_PORT user=$PG_USER dbname=$PG_DATABASE" --command 'SELECT 1'
try "mysql: SELECT as $MYSQL_USER on $MYSQL_HOST:$MYSQL_PORT/$MYSQL_DATABASE" \
  env MYSQL_PWD="$MYSQL_PASSWORD" mysql --host="$MYSQL_HOST" --port="$MYSQL_PORT" \
  --user="$MYSQL_USER" "$MYSQL_DATABASE" --execute 'SELECT 1'
try "redis: PING $REDIS_URL" sh -c "redis-cli -u '$REDIS_URL' ping | grep -x PONG"
try "rabbitmq: declare a queue as $AMQP_USER on $AMQP_HOST:$AMQP_PORT vhost $AMQP_VHOST" \
  amqp-declare-queue --server="$AMQP_HOST" --port="$AMQP_PORT" --vhost="$AMQP_VHOST" \
  --username="$AMQP_USER" --password="$AMQP_PASSWORD" --queue=bomc-e2e
exit $failed
