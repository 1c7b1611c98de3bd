#!/bin/sh
# `npm start`: install if needed, make sure Postgres and Redis answer, then hand over to start.ts
# (roles, database and migrations, then the API and the worker).
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-ready.sh
exec node_modules/.bin/node scripts/start.ts "$@"
