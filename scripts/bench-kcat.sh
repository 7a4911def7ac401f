#!/usr/bin/env bash
# Measures `samsa serve` produce and fetch throughput with kcat as the load.
#
#   scripts/bench-kcat.sh [MESSAGES] [ACKS]
#
# Builds samsa in release mode, starts it on a free port with a temporary data directory,
# produces MESSAGES (default 200000) lines of 1 KiB with `kcat -P`, then reads them all back with
# `kcat -C`, and prints MB/s and messages/s for both. ACKS is the producer's acks (default -1:
# every batch fsynced before it is acknowledged).
set -euo pipefail
cd "$(dirname "$0")/.."

messages=${1:-200000}
acks=${2:--1}
command -v kcat >/dev/null || { echo "kcat is missing: run scripts/install-test-deps.sh" >&2; exit 1; }

swift build -c release --product samsa >/dev/null
work=$(mktemp -d)
trap 'kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.build/release/samsa serve --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warning &
broker=$!
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

python3 - "$work/input" "$messages" <<'PY'
import sys
line = (b"x" * 1023) + b"\n"
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        f.write(line)
PY
bytes=$((messages * 1024))

now() { date +%s.%N; }
rate() { python3 -c "import sys; n,b,s=map(float,sys.argv[1:]); print(f'{b/s/1e6:8.1f} MB/s {n/s/1e3:8.1f} k msgs/s ({s:.2f} s)')" "$@"; }

start=$(now)
kcat -P -b "127.0.0.1:$port" -t bench -p 0 -X "acks=$acks" -X linger.ms=5 -X batch.size=1000000 \
  -X queue.buffering.max.messages=1000000 -l "$work/input"
produce_seconds=$(python3 -c "print($(now) - $start)")

start=$(now)
received=$(kcat -C -b "127.0.0.1:$port" -t bench -p 0 -o beginning -e -q -X fetch.max.bytes=52428800 -X fetch.message.max.bytes=8388608 | wc -l)
consume_seconds=$(python3 -c "print($(now) - $start)")
[ "$received" -eq "$messages" ] || { echo "read back $received of $messages messages" >&2; exit 1; }

echo "samsa serve (release) with $(kcat -V 2>&1 | grep -m1 '^Version' | sed -E 's/^Version ([^ ]+).*librdkafka ([^ ]+).*/kcat \1 (librdkafka \2)/'), $messages messages of 1 KiB, acks=$acks"
echo "produce: $(rate "$messages" "$bytes" "$produce_seconds")"
echo "consume: $(rate "$messages" "$bytes" "$consume_seconds")"
