#!/usr/bin/env bash
# Runs the whole suite twice at once in this checkout, as on a busy machine or a
# shared CI host: both runs must pass, neither may disturb the other.
# Usage: npm run test:pair [-- <runs in a row, default 1>]
set -uo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-1}
logs=${TEST_PAIR_LOGS:-$(mktemp -d -t hookpost-test-pair-XXXXXX)}
mkdir -p "$logs"
failed=0

# One run of the suite; its log ends with how long it took.
run_suite() {
  local started=$SECONDS code
  bash scripts/test.sh
  code=$?
  echo "[test:pair] exit $code after $((SECONDS - started))s"
  return "$code"
}

for round in $(seq 1 "$rounds"); do
  started=$(date +%s)
  run_suite >"$logs/round$round-a.log" 2>&1 &
  a=$!
  run_suite >"$logs/round$round-b.log" 2>&1 &
  b=$!
  while kill -0 "$a" 2>/dev/null || kill -0 "$b" 2>/dev/null; do
    sleep 30
    printf '[test:pair] round %s/%s: %ss, load %s\n' "$round" "$rounds" "$(($(date +%s) - started))" \
      "$(cut -d' ' -f1 /proc/loadavg)"
  done
  wait "$a"; code_a=$?
  wait "$b"; code_b=$?
  for run in a b; do
    log=$logs/round$round-$run.log
    summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ +(Test Files|Tests) |^\[test:pair\] exit' |
      tr -s ' ' | paste -sd ';' -)
    printf '[test:pair] round %s, run %s: %s\n' "$round" "$run" "${summary:-no summary}"
  done
  [ "$code_a" -eq 0 ] && [ "$code_b" -eq 0 ] || failed=1
done

echo "[test:pair] logs in $logs"
exit "$failed"
