#!/usr/bin/env bash
# Measures `samsa serve` produce and fetch throughput with `samsa bench` as the load: starts a
# release build on a free port with a temporary data directory, produces RECORDS records of
# SIZE bytes at acks=all (each batch fsynced before it is answered) and at acks=1, then reads
# the backlog back, and prints each summary (records/s, MB/s, latency percentiles).
#
#   scripts/bench-serve.sh [RECORDS] [SIZE] [PARTITIONS]
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-500000}
size=${2:-1024}
partitions=${3:-1}
swift build -c release --product samsa >/dev/null
work=$(mktemp -d)
trap 'kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.build/release/samsa serve --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warning &
broker=$!
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

bench() { .build/release/samsa bench "$@" -b "127.0.0.1:$port" --record-size "$size" --partitions "$partitions" 2>/dev/null; }
for acks in all 1; do
  echo "== produce, acks=$acks"
  bench produce --topic "serve-$acks" --records "$records" --acks "$acks"
done
echo "== consume the acks=all backlog"
bench consume --topic "serve-all" --records "$records"
