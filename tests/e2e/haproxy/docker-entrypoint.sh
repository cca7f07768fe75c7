#!/bin/sh
# As the official haproxy image's entrypoint: options alone run haproxy with
# them; haproxy runs in the foreground as master-worker (-W -db).
set -e
if [ "${1#-}" != "$1" ]; then
  set -- haproxy "$@"
fi
if [ "$1" = haproxy ]; then
  shift
  set -- haproxy -W -db "$@"
fi
exec "$@"
