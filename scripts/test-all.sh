#!/usr/bin/env bash
# README command two (and .ci/run): installs what the tests need, starts the real services, then
# runs type-check, lint and every test tier. Idempotent: what is installed or running is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-}"
started=$(date +%s)
step() { echo; echo "=== $* ($(($(date +%s) - started))s)"; }

step "npm dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

step "system packages and services"
bash scripts/services/core.sh
bash scripts/services/transcriber-deps.sh
bash scripts/services/postgres-replica.sh
bash scripts/services/swift-s3.sh

export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
export TEST_DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:5433/test
export TEST_REDIS_URL=redis://127.0.0.1:6379/0
export TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:5672
export TEST_S3_ENDPOINT=http://127.0.0.1:8089

step "build the web app"
npm run build:web --silent

step "type-check"
npm run typecheck --silent

step "lint"
npm run lint --silent

mkdir -p .cache
rm -f .cache/unit.json .cache/real.json .cache/e2e.json
step "unit tier (embedded adapters)"
unit_rc=0
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=.cache/unit.json || unit_rc=$?

step "real-server tier"
real_rc=0
npx vitest run --project real --reporter=default --reporter=json --outputFile.json=.cache/real.json || real_rc=$?

step "browser tier (Debian Chromium, fake webcam fed by a real face video)"
e2e_rc=0
npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json=.cache/e2e.json || e2e_rc=$?

step "summary"
node --import tsx scripts/summarize-tests.ts .cache/unit.json .cache/real.json .cache/e2e.json
[ "$unit_rc" -eq 0 ] && [ "$real_rc" -eq 0 ] && [ "$e2e_rc" -eq 0 ]
