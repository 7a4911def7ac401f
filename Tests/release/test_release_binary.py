"""The release build of samsa is linked as Package.swift's `samsaReleaseLinking` says: the Swift
runtime inside the binary, code laid out by Sources/samsa/Layout/symbol-order.txt, and a crash
backtracer found by Sources/CSamsaBacktracer. These check what a user of that binary sees."""
import re
import signal
import subprocess
import time
import uuid

from broker_process import BrokerProcess
from clients import kcat

SWIFT_LIBRARIES = ("libswiftCore", "libswift_Concurrency", "libFoundation", "libdispatch", "libBlocksRuntime")


def wait_for_log(broker: BrokerProcess, text: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = broker.log_text()
        if text in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear in the broker's log within {timeout}s:\n{broker.log_tail()}")


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
    """The statically linked runtime finds the toolchain's backtracer through PATH."""
    broker = BrokerProcess(["--log-level", "warning"], name="release-crash")
    try:
        broker.start()
        broker.process.send_signal(signal.SIGSEGV)
        log = wait_for_log(broker, "Backtrace took")
        assert "Program crashed" in log
        frames = re.findall(r"^\s*\d+ (?:\[ra\] )?0x[0-9a-f]+ (\S+) \+ \d+ in samsa", log, re.MULTILINE)
        assert frames, f"no frame of the backtrace names a function of samsa:\n{log[-3000:]}"
    finally:
        broker.remove()
