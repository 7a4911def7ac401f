#!/usr/bin/env bash
# Runs every Samsa test: installs what the tests need when it is missing, checks the code style
# and that the generated protocol code matches Spec/, builds with warnings treated as failures, and runs
# the Swift test suites, then the interoperability suite (real Kafka clients against
# `samsa serve`, scripts/interop.sh), then builds samsa in release mode and checks that binary
# (scripts/release-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ -x scripts/install-test-deps.sh ]; then
  step "Installing test dependencies (only what is missing)"
  scripts/install-test-deps.sh
fi

step "Building (debug, with tests)"
build_log=$(mktemp)
start=$(date +%s)
if ! swift build --build-tests 2>&1 | tee "$build_log"; then
  echo "Build failed." >&2
  exit 1
fi
echo "Build took $(( $(date +%s) - start ))s."
if grep -E "^$(pwd)/(Sources|Tests)/.*warning:" "$build_log"; then
  echo "The build printed warnings in Samsa's own code (listed above); fix them." >&2
  exit 1
fi

step "Checking the code style (scripts/format.sh --check; scripts/format.sh fixes it)"
scripts/format.sh --check

step "Checking that Sources/SamsaProtocol/Generated matches Spec/"
swift run --skip-build SamsaCodegen --check

step "Running the Swift test suites"
swift test --skip-build

step "Running the interoperability suite (kcat, confluent-kafka, kafka-python, aiokafka, sarama, kafka-go against samsa serve)"
SAMSA_BIN="$(swift build --show-bin-path)/samsa" scripts/interop.sh

step "Building samsa in release mode and checking that binary (scripts/release-check.sh)"
scripts/release-check.sh
