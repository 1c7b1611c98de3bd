#!/bin/sh
# `npm test`: everything CI checks, in the order that fails fastest.
set -eu
cd "$(dirname "$0")/.."
sh scripts/test-peers.sh
sh scripts/ensure-ready.sh
PATH="$PWD/node_modules/.bin:$PATH"
export PATH

echo "== typecheck"; tsc -p tsconfig.json --noEmit
echo "== lint"; biome check .
echo "== import boundaries"; node scripts/check-boundaries.ts; madge --circular --warning apps libs scripts bench
echo "== generated files"; node apps/api/src/openapi.cli.ts check; node scripts/findings-doc.ts check
echo "== tests"; vitest run "$@"
