#!/usr/bin/env bash
# Re-captures the golden request frames in Tests/SamsaProtocolTests/Fixtures.
#
# For each client (kcat, confluent-kafka, kafka-python, aiokafka) it starts
# capture_listener.py on a loopback port, runs every scenario of that client
# against it (each bounded by a timeout), stops the listener and leaves the
# frames in Fixtures/<client>/ together with index.tsv (file, client id, size).
# Fixtures/CLIENTS.txt records the client versions used.
#
#   scripts/capture/capture-all.sh [client...]     (default: all four)
#
# Needs kcat and the .venv made by scripts/install-test-deps.sh (run first).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
capture_dir="${repo_root}/scripts/capture"
fixtures="${repo_root}/Tests/SamsaProtocolTests/Fixtures"
python="${repo_root}/.venv/bin/python"
port="${CAPTURE_PORT:-19392}"
bootstrap="127.0.0.1:${port}"
scenario_timeout=40

clients=("$@")
[ "${#clients[@]}" -gt 0 ] || clients=(kcat confluent-kafka kafka-python aiokafka)

listener_pid=""
stop_listener() {
    if [ -n "$listener_pid" ]; then
        kill "$listener_pid" 2>/dev/null || true
        wait "$listener_pid" 2>/dev/null || true
        listener_pid=""
    fi
}
trap stop_listener EXIT

start_listener() {
    local out="$1"
    rm -rf "$out"
    mkdir -p "$out"
    python3 "${capture_dir}/capture_listener.py" --port "$port" --out "$out" 2>>"$log" &
    listener_pid=$!
    for _ in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "capture-all: listener did not start (see ${log})" >&2
    exit 1
}

run() {  # run SCENARIO-LABEL COMMAND...: a bounded scenario; a failure is reported, not fatal
    local label="$1"; shift
    if timeout "$scenario_timeout" "$@" >/dev/null 2>>"${log}"; then
        echo "  ok     ${label}"
    else
        echo "  FAILED ${label} (exit $?; see ${log})"
    fi
}

record() {  # the records every driver sends, as kcat input lines "key:value"
    for i in 0 1 2; do
        printf 'key-%d:value-%d %s\n' "$i" "$i" "$(printf 'golden-frame %.0s' $(seq 10))"
    done
}

kcat_scenarios() {
    local k=(kcat -b "$bootstrap" -X socket.timeout.ms=10000 -X message.timeout.ms=10000)
    run metadata "${k[@]}" -X client.id=kcat-metadata -L -t golden-metadata
    run metadata-all "${k[@]}" -X client.id=kcat-metadata-all -L
    for codec in none gzip snappy lz4 zstd; do
        run "produce-${codec}" bash -c "$(declare -f record); record | $(printf '%q ' "${k[@]}") \
            -X client.id=kcat-produce-${codec} -X linger.ms=100 -P -t golden-${codec} -p 0 -K : -H trace=golden -z ${codec}"
    done
    run produce-idempotent bash -c "$(declare -f record); record | $(printf '%q ' "${k[@]}") \
        -X client.id=kcat-produce-idempotent -X enable.idempotence=true -X linger.ms=100 \
        -P -t golden-idempotent -p 0 -K : -H trace=golden"
    run consume "${k[@]}" -X client.id=kcat-consume -C -t golden-consume -p 0 -o beginning -e
}

python_scenarios() {
    local client="$1"
    for scenario in metadata produce-none produce-gzip produce-snappy produce-lz4 produce-zstd \
        produce-idempotent admin consume; do
        run "$scenario" "$python" "${capture_dir}/drive_clients.py" "$client" "$scenario" --bootstrap "$bootstrap"
    done
}

versions() {
    echo "kcat: $(kcat -V 2>&1 | grep -o 'Version [^ ]*' | head -1), librdkafka $(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | cut -d' ' -f2)"
    "$python" - <<'EOF'
from importlib.metadata import version
import confluent_kafka
print("confluent-kafka: %s (librdkafka %s)" % (version("confluent-kafka"), confluent_kafka.libversion()[0]))
for name in ("kafka-python", "aiokafka"):
    print("%s: %s" % (name, version(name)))
EOF
}

for client in "${clients[@]}"; do
    out="${fixtures}/${client}"
    log="${TMPDIR:-/tmp}/samsa-capture-${client}.log"
    rm -f "$log"
    echo "capture-all: ${client}"
    start_listener "$out"
    case "$client" in
        kcat) kcat_scenarios ;;
        confluent-kafka | kafka-python | aiokafka) python_scenarios "$client" ;;
        *) echo "capture-all: unknown client ${client}" >&2; exit 2 ;;
    esac
    stop_listener
    echo "  $(find "$out" -name '*.bin' | wc -l) frames in ${out#"${repo_root}/"}"
done
versions >"${fixtures}/CLIENTS.txt"
cat "${fixtures}/CLIENTS.txt"
