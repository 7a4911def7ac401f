#!/usr/bin/env bash
# Fuzzes frame and request decoding with libFuzzer (the Swift toolchain's -sanitize=fuzzer,
# with AddressSanitizer), from the requests real clients sent (Tests/SamsaProtocolTests/Fixtures)
# and the inputs that once broke a decoder (Tests/SamsaProtocolTests/FuzzRegressions).
#
#   scripts/fuzz.sh [RUNS] [extra libFuzzer options...]    RUNS defaults to 1000000
#
# Prints libFuzzer's progress, then one line with the runs, the time and the peak memory. A
# crash leaves its input as crash-<hash> in .build-fuzz/artifacts: copy it into
# Tests/SamsaProtocolTests/FuzzRegressions (the Swift tests replay that directory) and fix it.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-1000000}"
shift || true
scratch=.build-fuzz
swift build -c release --product SamsaFuzzer --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library >&2
binary="$scratch/release/SamsaFuzzer"

corpus="$scratch/corpus"
mkdir -p "$corpus" "$scratch/artifacts"
for client in Tests/SamsaProtocolTests/Fixtures/*/; do cp -n "$client"*.bin "$corpus"/ 2>/dev/null || true; done
cp -n Tests/SamsaProtocolTests/FuzzRegressions/* "$corpus"/ 2>/dev/null || true

started=$(date +%s)
# -rss_limit_mb bounds the fuzzer's memory: an input that makes a decoder allocate out of
# proportion to its size fails the run like a crash.
"$binary" "$corpus" -runs="$runs" -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=256 -print_final_stats=1 \
    -artifact_prefix="$scratch/artifacts/" "$@"
echo "fuzz: $runs runs in $(( $(date +%s) - started )) s without a crash"
