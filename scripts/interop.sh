#!/usr/bin/env bash
# Runs the interoperability suite (Tests/interop): real Kafka clients (kcat, confluent-kafka,
# kafka-python, aiokafka) against `samsa serve` started as a child process.
#
# The suite does not build: it runs the broker binary at $SAMSA_BIN (default .build/debug/samsa),
# which scripts/test.sh builds first. Run scripts/install-test-deps.sh once for kcat and .venv.
# Extra arguments go to pytest, e.g. `scripts/interop.sh -k kcat -v`.
#
# Each test has a timeout (Tests/interop/pytest.ini) and the whole run is bounded too.
set -euo pipefail
cd "$(dirname "$0")/.."

export SAMSA_BIN="${SAMSA_BIN:-$(pwd)/.build/debug/samsa}"
if [ ! -x "$SAMSA_BIN" ]; then
  echo "interop: no broker binary at $SAMSA_BIN; build it first (swift build --product samsa)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] || ! command -v kcat >/dev/null 2>&1; then
  echo "interop: missing .venv or kcat; run scripts/install-test-deps.sh first." >&2
  exit 1
fi

limit="${SAMSA_INTEROP_TIME_LIMIT:-420}"
# The Python clients must not find a user's own configuration or proxies.
exec timeout --signal=TERM --kill-after=20 "$limit" \
  env -u PYTHONPATH PYTHONDONTWRITEBYTECODE=1 \
  .venv/bin/python -m pytest Tests/interop -q --durations=10 "$@"
