#!/usr/bin/env bash
# The whole test suite: generated code, schema drift, types, lint, then vitest.
# Needs PostgreSQL (TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
# and Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379); .ci/run provisions both.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "prisma generate"
node scripts/prisma-generate.mjs >/dev/null
step "schema drift check (schema.graphql)"
npx tsx scripts/print-schema.ts --check
step "codegen (typed test operations)"
npx graphql-codegen --config codegen.ts --silent
step "typecheck"
npx tsc --noEmit
step "lint"
npx biome check .
step "tests"
npx vitest run "$@"
