#!/bin/sh
# Redis from Debian's packages, started the way the official `redis` image
# starts, for the parts bomc relies on: `redis-server` on 6379 on every
# interface with protected mode off (the official image builds it so), data
# in /data, options as arguments (`--appendonly yes`); started as root it
# drops to the `redis` user; a first argument that is not `redis-server`
# (nor an option) is run instead. `redis-cli` is on PATH for the health check.
# Used by tests/e2e/shop.bom (image `cache_image`) and, tagged like the
# official image, by the stdlib `redis` kind in tests/e2e/kinds.bom.
set -eu

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" != redis-server ]; then
  exec "$@"
fi
if [ "$(id -u)" = 0 ]; then
  mkdir -p /data
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
cd /data
case " $* " in
  *" --protected-mode "*) ;;
  *) set -- "$@" --protected-mode no ;;
esac
exec "$@"
