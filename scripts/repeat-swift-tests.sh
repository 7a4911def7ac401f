#!/usr/bin/env bash
# Runs the whole Swift test suite N times in a row (20 by default) and prints how many runs
# failed, to show the suite does not pass or fail by chance. Builds once first.
#
#   scripts/repeat-swift-tests.sh [N] [extra `swift test` arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-20}"
shift || true
swift build --build-tests
failures=0
logs=$(mktemp -d)
for run in $(seq 1 "$runs"); do
  start=$(date +%s)
  if swift test --skip-build "$@" >"$logs/run-$run.log" 2>&1; then
    result=passed
  else
    result=FAILED
    failures=$((failures + 1))
  fi
  summary=$(grep -E "Test run with [0-9]+ tests" "$logs/run-$run.log" | tail -1 || true)
  printf 'run %2d/%d: %s in %ds  %s\n' "$run" "$runs" "$result" "$(( $(date +%s) - start ))" "$summary"
  if [ "$result" = FAILED ]; then
    grep -E "✘|error:" "$logs/run-$run.log" | head -20 || true
  fi
done
echo "$failures of $runs runs failed (logs in $logs)"
[ "$failures" -eq 0 ]
