#!/usr/bin/env bash
# The whole test suite: generated code, schema drift, types, lint, then vitest.
# Needs PostgreSQL (TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
# and Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379); .ci/run provisions both.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Regenerates `dir` only when its inputs changed: a second run of the suite beside
# this one must never see generated files rewritten under its feet.
generate() {
  local dir=$1 label=$2 command=$3; shift 3
  local inputs
  inputs=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$dir/.inputs" 2>/dev/null)" != "$inputs" ]; then
    step "$label"
    eval "$command"
    echo "$inputs" >"$dir/.inputs"
  fi
}

mkdir -p node_modules
(
  flock 9
  generate src/db/generated "prisma generate" "node scripts/prisma-generate.mjs >/dev/null" \
    prisma/schema.prisma package-lock.json
  step "schema drift check (schema.graphql)"
  npx tsx scripts/print-schema.ts --check
  step "settings drift check (docs/configuration.md)"
  npx tsx scripts/config-docs.ts --check
  web_sources=$(find web/index.html web/src -type f -not -path 'web/src/gql/*' | sort)
  # shellcheck disable=SC2086 # one word per file
  generate test/generated "codegen (typed test operations and portal documents)" \
    "npx graphql-codegen --config codegen.ts --silent" schema.graphql codegen.ts test/operations/*.graphql $web_sources
  mkdir -p node_modules/.hookpost-web
  # shellcheck disable=SC2086
  generate node_modules/.hookpost-web "portal build (web/dist)" "node scripts/build-web.mjs --no-codegen" \
    schema.graphql $web_sources package-lock.json
) 9>node_modules/.hookpost-generate.lock
step "typecheck"
npx tsc --noEmit
npx tsc -p web
step "lint"
npx biome check .
step "tests"
npx vitest run "$@"
