#!/usr/bin/env bash
# Installs what Samsa's tests need on a Debian bookworm machine, when it is missing:
#   - Debian packages: kcat (1.7.1, linked against librdkafka 2.0.2), python3, python3-venv,
#     openssl (the security tests make their certificates with it),
#     and Go with Debian's sarama (1.22) and kafka-go (0.2.1) sources, which the suite builds
#     offline in GOPATH mode (Tests/interop/go)
#   - a Python virtual environment at <repo>/.venv with the Kafka clients the
#     compatibility tests and the fixture capture scripts drive, the codec
#     libraries they need for gzip/snappy/lz4/zstd, and pytest (with
#     pytest-timeout) for the interoperability suite in Tests/interop.
#
# Safe to run repeatedly: it says nothing when everything is already present and
# prints one line for each thing it installs. Runs as root (apt-get); set
# SKIP_APT=1 to only check/prepare the virtual environment.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${repo_root}/.venv"

# Versions verified with scripts/capture/capture-all.sh.
python_pins=(
    "confluent-kafka==2.16.1"
    "kafka-python==2.3.3"
    "aiokafka==0.14.0"
    "cramjam==2.14.0"
    "python-snappy==0.7.3"
    "lz4==4.4.5"
    "zstandard==0.25.0"
    "pytest==8.4.2"
    "pytest-timeout==2.4.0"
)

log() { echo "install-test-deps: $*"; }

# --- Debian packages -------------------------------------------------------
missing_debs=()
if ! command -v kcat >/dev/null 2>&1; then missing_debs+=(kcat); fi
if ! command -v openssl >/dev/null 2>&1; then missing_debs+=(openssl); fi
if ! [ -x /usr/bin/python3 ]; then missing_debs+=(python3); fi
# Debian's python3 ships venv without ensurepip unless python3-venv is installed.
for package in python3-venv golang-go golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing_debs+=("$package")
    fi
done

if [ "${#missing_debs[@]}" -gt 0 ] && [ "${SKIP_APT:-0}" != "1" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages (${missing_debs[*]}), and not root: cannot apt-get install" >&2
        exit 1
    fi
    log "installing Debian packages: ${missing_debs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing_debs[@]}" >/dev/null
fi

# --- Python virtual environment -------------------------------------------
# Prefer Debian's interpreter so the venv does not depend on a per-user Python.
python_bin=/usr/bin/python3
[ -x "$python_bin" ] || python_bin="$(command -v python3)"

if ! [ -x "${venv}/bin/python" ] || ! "${venv}/bin/python" -c "import sys" >/dev/null 2>&1; then
    log "creating Python virtual environment at ${venv}"
    rm -rf "${venv}"
    "$python_bin" -m venv "${venv}"
fi

# Compare installed distributions with the pins without calling pip (fast, silent).
outdated="$("${venv}/bin/python" - "${python_pins[@]}" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != wanted:
        print(pin)
EOF
)"

if [ -n "$outdated" ]; then
    # shellcheck disable=SC2086
    log "installing Python packages into .venv: $(echo $outdated)"
    "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check $outdated
fi
