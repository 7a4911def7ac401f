"""The release build of samsa is linked as Package.swift's `samsaReleaseLinking` says: the Swift
runtime inside the binary, code laid out by Sources/samsa/Layout/symbol-order.txt, and a crash
backtracer found by Sources/CSamsaBacktracer. These check what a user of that binary sees."""
import re
import signal
import subprocess
import tempfile
import uuid

from broker_process import BrokerProcess, broker_binary, free_port
from clients import kcat

SWIFT_LIBRARIES = ("libswiftCore", "libswift_Concurrency", "libFoundation", "libdispatch", "libBlocksRuntime")


def read_until(lines, text: str, seen: list[str]) -> None:
    """Reads the process's output line by line (blocking) until a line holds `text`."""
    for line in lines:
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"the broker's output ended before {text!r}:\n{''.join(seen[-40:])}")


def test_serves_records_without_loading_a_swift_library():
    broker = BrokerProcess(["--log-level", "warning"], name="release")
    try:
        broker.start()  # also checks that the arguments reached the command (it listens where told)
        mapped = open(f"/proc/{broker.process.pid}/maps").read()
        loaded = sorted({name for name in SWIFT_LIBRARIES if name in mapped})
        assert not loaded, f"the release binary loaded {loaded}"
        topic = f"release-{uuid.uuid4().hex[:8]}"
        values = [f"value-{index}" for index in range(100)]
        kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0", input="\n".join(values).encode() + b"\n")
        read = kcat(broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q").stdout.decode().split()
        assert read == values
        assert broker.stop() == 0
    finally:
        broker.remove()


def test_a_crash_prints_a_symbolicated_backtrace():
    """The statically linked runtime finds the toolchain's backtracer through PATH. Reads the
    broker's output as it comes: ready, then the backtrace to its last line."""
    with tempfile.TemporaryDirectory() as data:
        broker = subprocess.Popen(
            [str(broker_binary()), "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", data],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
        )
        seen: list[str] = []
        try:
            read_until(broker.stdout, "is ready", seen)
            broker.send_signal(signal.SIGSEGV)
            read_until(broker.stdout, "Backtrace took", seen)
        finally:
            broker.kill()
            broker.wait()
            broker.stdout.close()
    log = "".join(seen)
    assert "Program crashed" in log
    frames = re.findall(r"^\s*\d+ (?:\[ra\] )?0x[0-9a-f]+ (\S+) \+ \d+ in samsa", log, re.MULTILINE)
    assert frames, f"no frame of the backtrace names a function of samsa:\n{log[-3000:]}"
