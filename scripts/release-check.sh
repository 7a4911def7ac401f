#!/usr/bin/env bash
# Builds samsa in release mode and checks the binary users and the benchmarks run
# (Tests/release): it links as Package.swift says, serves, and prints a backtrace when it crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product samsa
export SAMSA_RELEASE_BIN="$(swift build -c release --show-bin-path)/samsa"
exec timeout --signal=TERM --kill-after=20 300 \
  env -u PYTHONPATH PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m pytest Tests/release -q "$@"
