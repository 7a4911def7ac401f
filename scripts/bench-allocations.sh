#!/usr/bin/env bash
# Heap allocations per record in SamsaClient's producer and consumer: `samsa bench produce` and
# `samsa bench consume` run twice each, with N and 3N records, under an allocation counter
# (scripts/bench/malloc-count.c, LD_PRELOAD); the difference over 2N records is the cost per
# record, without the start-up (connections, metadata, buffers).
#
#   scripts/bench-allocations.sh [N] [RECORD_SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-100000}
size=${2:-100}
swift build -c release --product samsa >/dev/null
work=$(mktemp -d)
cc -O2 -shared -fPIC scripts/bench/malloc-count.c -o "$work/malloc-count.so"
trap 'kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.build/release/samsa serve --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warning &
broker=$!
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

# Prints the allocation count of one command.
allocations() { LD_PRELOAD="$work/malloc-count.so" "$@" 2>&1 >/dev/null | awk '/^allocations:/ {print $2}'; }

for acks in 1 all; do
  small=$(allocations .build/release/samsa bench produce -b "127.0.0.1:$port" --topic "a-$acks-1" --records "$records" --record-size "$size" --acks "$acks")
  large=$(allocations .build/release/samsa bench produce -b "127.0.0.1:$port" --topic "a-$acks-3" --records $((3 * records)) --record-size "$size" --acks "$acks")
  echo "produce $size B, acks=$acks: $(python3 -c "print(f'{($large - $small) / (2 * $records):.3f}')") allocations per record"
done
small=$(allocations .build/release/samsa bench consume -b "127.0.0.1:$port" --topic "a-1-3" --records "$records")
large=$(allocations .build/release/samsa bench consume -b "127.0.0.1:$port" --topic "a-1-3" --records $((3 * records)))
echo "consume $size B: $(python3 -c "print(f'{($large - $small) / (2 * $records):.3f}')") allocations per record"
