#!/bin/sh
# Shared by `npm start`, `npm test` and .ci/run: make sure dependencies are installed (so every
# script runs on the pinned Node 24) and that Postgres and Redis answer on 127.0.0.1, starting the
# local Debian services when they are installed but stopped. Says exactly what is missing otherwise.
set -eu
cd "$(dirname "$0")/.."

PGHOST_CHECK=${PGHOST_CHECK:-127.0.0.1}
PGPORT_CHECK=${PGPORT_CHECK:-5432}
REDIS_PORT_CHECK=${REDIS_PORT_CHECK:-6379}

if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "mailwarden: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# Ask node (installed above) rather than rely on bash-only /dev/tcp.
port_open() { node_modules/.bin/node -e "
  const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
  s.setTimeout(1000, () => process.exit(1)); s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1));
" "$1" "$2"; }

wait_port() { # host port seconds
  i=0
  while [ "$i" -lt "$3" ]; do
    if port_open "$1" "$2"; then return 0; fi
    i=$((i + 1)); sleep 1
  done
  return 1
}

if ! port_open "$PGHOST_CHECK" "$PGPORT_CHECK"; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "mailwarden: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  if ! wait_port "$PGHOST_CHECK" "$PGPORT_CHECK" 20; then
    echo "mailwarden: PostgreSQL does not answer on $PGHOST_CHECK:$PGPORT_CHECK." >&2
    echo "  Install it (Debian: apt-get install postgresql) and start it, or run the whole stack with 'docker compose up'." >&2
    exit 1
  fi
fi

if ! port_open 127.0.0.1 "$REDIS_PORT_CHECK"; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "mailwarden: starting Redis"
    mkdir -p /tmp/mailwarden-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT_CHECK" --save '' --appendonly no \
      --dir /tmp/mailwarden-redis --logfile /tmp/mailwarden-redis/redis.log || true
  fi
  if ! wait_port 127.0.0.1 "$REDIS_PORT_CHECK" 20; then
    echo "mailwarden: Redis does not answer on 127.0.0.1:$REDIS_PORT_CHECK." >&2
    echo "  Install it (Debian: apt-get install redis-server) and start it, or run the whole stack with 'docker compose up'." >&2
    exit 1
  fi
fi
