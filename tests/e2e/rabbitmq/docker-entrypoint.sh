#!/bin/sh
# RabbitMQ from Debian's packages, started the way the official `rabbitmq`
# image starts (docker-library/rabbitmq docker-entrypoint.sh), for the parts
# bomc relies on: RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS and
# RABBITMQ_DEFAULT_VHOST create the user and vhost on first start (RabbitMQ
# reads them itself); the deprecated RABBITMQ_DEFAULT_PASS_FILE and
# RABBITMQ_DEFAULT_USER_FILE stop it with exit code 1, as the official image
# does. Started as root it drops to `rabbitmq`; a first argument that is not
# `rabbitmq-server` (nor an option) is run instead.
set -eu

for var in RABBITMQ_DEFAULT_PASS_FILE RABBITMQ_DEFAULT_USER_FILE; do
  eval "value=\${$var:-}"
  if [ -n "$value" ]; then
    echo "error: $var is set but deprecated" >&2
    exit 1
  fi
done

if [ "${1#-}" != "$1" ]; then
  set -- rabbitmq-server "$@"
fi
if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq /etc/rabbitmq
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi
exec "$@"
