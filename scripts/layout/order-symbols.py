#!/usr/bin/env python3
"""Regenerates Sources/samsa/Layout/symbol-order.txt, the order in which the release link lays out
the functions of `samsa`.

An idle broker touches a few MB of its 20 MB of code, scattered over the whole binary; the kernel
maps code in 64 KiB windows around each page touched, so an idle `samsa serve` kept most of its
code resident. Laid out in the order of this file, the functions run at start and while idle sit
together at the front, followed by the ones that serve requests, and the rest is never mapped.

Each round builds the release binary with the current file, runs `samsa serve` with
scripts/layout/trace-code-entries.c preloaded, records the functions entered while starting and
idling, then those entered while serving a small load (topic creation, produce, consume, a group),
and writes the file. Later rounds see functions that earlier layouts hid (see the tracer), so the
sets are merged over the rounds.

Usage: scripts/layout/order-symbols.py [--rounds 3]
       scripts/layout/order-symbols.py --check   # trace the built release binary once; exit 1 when
                                                 # the file misses over 10 % of what it entered
Needs a C compiler and binutils' nm. Run it again when start-up or serving code changes much; a
stale file only costs memory (names no longer found are skipped by the linker).
"""
import argparse
import bisect
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER_FILE = ROOT / "Sources" / "samsa" / "Layout" / "symbol-order.txt"
TRACER_SOURCE = Path(__file__).resolve().parent / "trace-code-entries.c"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def release_binary() -> Path:
    bin_dir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return Path(bin_dir) / "samsa"


def build_release() -> Path:
    """Relinks the release binary (SwiftPM does not see the order file as an input)."""
    binary = release_binary()
    binary.unlink(missing_ok=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "samsa"], cwd=ROOT, check=True)
    return binary


def request_entries(output: Path, timeout: float = 60) -> list[int]:
    request = Path(f"{output}.request")
    request.touch()
    deadline = time.monotonic() + timeout
    while request.exists():
        if time.monotonic() > deadline:
            sys.exit("the traced broker did not write its entries")
        time.sleep(0.05)
    return [int(line, 16) for line in output.read_text().split()]


def samsa(binary: Path, *args: str, quiet: bool = False) -> None:
    subprocess.run([str(binary), *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL if quiet else None, timeout=300)


def trace(binary: Path, tracer: Path, work: Path) -> tuple[list[int], list[int]]:
    """Addresses entered while starting and idling, and all addresses entered after a small load."""
    port = free_port()
    brokers = f"127.0.0.1:{port}"
    output = work / "entries.txt"
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    environment = {**os.environ, "LD_PRELOAD": str(tracer), "SAMSA_TRACE_OUT": str(output),
                   "SWIFT_BACKTRACE": "enable=no"}  # the backtracer's handler would replace the tracer's
    broker = subprocess.Popen([str(binary), "serve", "--listen", brokers, "--data-dir", str(data),
                               "--log-level", "warning"], env=environment)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                samsa(binary, "topic", "list", "-b", brokers, quiet=True)
                break
            except subprocess.CalledProcessError:
                if broker.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the traced broker did not start")
                time.sleep(0.2)
        idle = request_entries(output)
        samsa(binary, "topic", "create", "layout", "-p", "3", "-b", brokers)
        samsa(binary, "bench", "produce", "-b", brokers, "--topic", "layout", "--records", "3000",
              "--record-size", "200", "--acks", "all")
        samsa(binary, "bench", "consume", "-b", brokers, "--topic", "layout", "--records", "3000")
        samsa(binary, "consume", "-b", brokers, "layout", "-g", "layout-group", "-e")
        serving = request_entries(output)
        return idle, serving
    finally:
        broker.send_signal(signal.SIGTERM)
        try:
            broker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            broker.kill()


def function_names(binary: Path, addresses: list[int]) -> list[str]:
    """The functions containing the addresses, each once, in the order of the addresses."""
    nm = shutil.which("nm") or shutil.which("llvm-nm") or sys.exit("no nm (binutils) or llvm-nm on PATH")
    listing = subprocess.run([nm, "-S", "--defined-only", str(binary)], check=True, capture_output=True,
                             text=True).stdout
    functions = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            functions.append((int(fields[0], 16), max(int(fields[1], 16), 1), fields[3]))
    functions.sort()
    starts = [start for start, _, _ in functions]
    names: dict[str, None] = {}
    for address in sorted(addresses):
        index = bisect.bisect_right(starts, address) - 1
        start = starts[index] if index >= 0 else None
        # Aliases share a start address; take every one whose extent holds the address.
        while index >= 0 and starts[index] == start:
            _, size, name = functions[index]
            if address < start + size:
                names[name] = None
            index -= 1
    return list(names)


def write_order(idle: dict[str, None], serving: dict[str, None]) -> None:
    serving = [name for name in serving if name not in idle]
    ORDER_FILE.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Generated by scripts/layout/order-symbols.py; do not edit. The release link of samsa lays out",
        "# these functions first, in this order (lld --symbol-ordering-file).",
        f"# Starting and idling: {len(idle)} functions.",
        *idle,
        f"# Serving requests: {len(serving)} functions.",
        *serving,
    ]
    ORDER_FILE.write_text("\n".join(lines) + "\n")


def build_tracer(output: Path) -> None:
    compiler = shutil.which("cc") or shutil.which("clang") or sys.exit("no C compiler (cc or clang) on PATH")
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(output), str(TRACER_SOURCE), "-lpthread"], check=True)


def listed_names() -> tuple[set[str], set[str]]:
    """The names in the file: those of its start-and-idle part, and all."""
    idle: set[str] = set()
    every: set[str] = set()
    serving = False
    for line in ORDER_FILE.read_text().splitlines():
        if line.startswith("# Serving requests"):
            serving = True
        elif line and not line.startswith("#"):
            every.add(line)
            if not serving:
                idle.add(line)
    return idle, every


def check(minimum: float) -> None:
    """Traces the release binary as built and compares what it entered with the file."""
    binary = release_binary()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        tracer = work / "trace-code-entries.so"
        build_tracer(tracer)
        idle_addresses, all_addresses = trace(binary, tracer, work)
        entered_idle = set(function_names(binary, idle_addresses))
        entered = set(function_names(binary, all_addresses))
    listed_idle, listed = listed_names()
    idle_share = len(entered_idle & listed_idle) / max(len(entered_idle), 1)
    share = len(entered & listed) / max(len(entered), 1)
    print(f"{ORDER_FILE.relative_to(ROOT)} lists {idle_share:.1%} of the {len(entered_idle)} functions entered at "
          f"start and idle, {share:.1%} of the {len(entered)} entered in all")
    if min(idle_share, share) < minimum:
        sys.exit(f"the layout is stale (under {minimum:.0%}): run scripts/layout/order-symbols.py and commit the file")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="compare the built release binary with the file")
    arguments = parser.parse_args()
    if arguments.check:
        check(minimum=0.9)
        return
    idle: dict[str, None] = {}
    serving: dict[str, None] = {}
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        tracer = work / "trace-code-entries.so"
        build_tracer(tracer)
        for round_number in range(1, arguments.rounds + 1):
            binary = build_release()
            idle_addresses, all_addresses = trace(binary, tracer, work)
            for name in function_names(binary, idle_addresses):
                idle[name] = None
            for name in function_names(binary, all_addresses):
                if name not in idle:
                    serving[name] = None
            write_order(idle, serving)
            print(f"round {round_number}: {len(idle)} functions at start and idle, {len(serving)} more serving",
                  file=sys.stderr)
    build_release()
    print(f"wrote {ORDER_FILE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
