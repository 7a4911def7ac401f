#!/usr/bin/env bash
# SamsaClient against librdkafka (the reference C client), in the same run against the same
# `samsa serve`: produce 1 KiB and 100 B records at acks=all and acks=1, and consume a backlog
# of 1 KiB records. Each row runs ROUNDS times, the two clients interleaved; the medians and
# their ratio (SamsaClient / librdkafka, above 1 means SamsaClient is faster) are printed.
#
#   scripts/bench-client.sh [RECORDS] [ROUNDS]
#
# Needs Debian's librdkafka-dev (for the reference load generator, scripts/bench/rdkafka-bench.c)
# and builds samsa in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-200000}
rounds=${2:-3}
[ -f /usr/include/librdkafka/rdkafka.h ] || { echo "librdkafka-dev is missing: apt-get install librdkafka-dev" >&2; exit 1; }

swift build -c release --product samsa >/dev/null
work=$(mktemp -d)
cc -O2 scripts/bench/rdkafka-bench.c -lrdkafka -o "$work/rdkafka-bench"
trap 'kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.build/release/samsa serve --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warning &
broker=$!
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
brokers="127.0.0.1:$port"

# Prints "records seconds" for one run.
records_seconds() { python3 -c 'import json, sys; summary = json.load(sys.stdin); print(summary["records"], summary["seconds"])'; }
swift_produce() { .build/release/samsa bench produce -b "$brokers" --topic "$1" --records "$records" --record-size "$2" --acks "$3" --json 2>/dev/null | records_seconds; }
rdkafka_produce() { "$work/rdkafka-bench" produce "$brokers" "$1" "$records" "$2" "$3"; }
swift_consume() { .build/release/samsa bench consume -b "$brokers" --topic "$1" --records "$records" --json 2>/dev/null | records_seconds; }
rdkafka_consume() { "$work/rdkafka-bench" consume "$brokers" "$1" "$records"; }

median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
row() {
  local name=$1 size=$2 swift_times=$3 rdkafka_times=$4
  python3 - "$name" "$size" "$records" "$(median $swift_times)" "$(median $rdkafka_times)" <<'PY'
import sys
name, size, records, swift, rdkafka = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
mb = lambda seconds: records * size / seconds / 1e6
print(f"| {name} | {mb(swift):7.1f} MB/s, {records / swift / 1e3:6.0f} k rec/s | {mb(rdkafka):7.1f} MB/s, {records / rdkafka / 1e3:6.0f} k rec/s | {rdkafka / swift:5.2f} |")
PY
}

echo "| row | SamsaClient | librdkafka $(dpkg-query -W -f='${Version}' librdkafka-dev 2>/dev/null) | ratio |"
echo "|---|---:|---:|---:|"
for size in 1024 100; do
  for acks in all 1; do
    swift_times=""; rdkafka_times=""
    for round in $(seq "$rounds"); do
      swift_times+=" $(swift_produce "s-$size-$acks-$round" "$size" "$acks" | awk '{print $2}')"
      rdkafka_times+=" $(rdkafka_produce "r-$size-$acks-$round" "$size" "$acks" | awk '{print $2}')"
    done
    row "produce $size B, acks=$acks" "$size" "$swift_times" "$rdkafka_times"
  done
done
swift_times=""; rdkafka_times=""
for round in $(seq "$rounds"); do
  # Both read the same backlog: the 1 KiB acks=all topic of round 1, written by librdkafka.
  swift_times+=" $(swift_consume "r-1024-all-1" | awk '{print $2}')"
  rdkafka_times+=" $(rdkafka_consume "r-1024-all-1" | awk '{print $2}')"
done
row "consume a 1 KiB backlog" 1024 "$swift_times" "$rdkafka_times"
