#!/usr/bin/env bash
# Builds samsa in release mode and checks the binary users and the benchmarks run
# (Tests/release): it links as Package.swift says, serves, and prints a backtrace when it crashes.
# Then checks that Sources/samsa/Layout/symbol-order.txt still lists what that binary runs at
# start and while serving (scripts/layout/order-symbols.py --check; without it an idle broker
# keeps more code in memory).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product samsa
export SAMSA_RELEASE_BIN="$(swift build -c release --show-bin-path)/samsa"
timeout --signal=TERM --kill-after=20 300 \
  env -u PYTHONPATH PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m pytest Tests/release -q "$@"
timeout --signal=TERM --kill-after=20 300 python3 scripts/layout/order-symbols.py --check
