"""`samsa serve` as a child process: start on a free port, wait until it answers, stop, restart."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from kafka_wire import RawConnection

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def broker_binary() -> Path:
    """The already-built broker: $SAMSA_BIN, default .build/debug/samsa. The suite never builds."""
    path = Path(os.environ.get("SAMSA_BIN", REPO_ROOT / ".build" / "debug" / "samsa"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no broker binary at {path}: build it first (swift build --product samsa) or set SAMSA_BIN")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL if the test process dies, so no broker outlives a run."""
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class BrokerProcess:
    """One broker with its own data directory and port; both survive `restart`."""

    def __init__(self, extra_args: list[str] | None = None, name: str = "broker"):
        self.binary = broker_binary()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"samsa-interop-{name}-"))
        self.data_dir = self.workdir / "data"
        self.port = free_port()
        self.host = "127.0.0.1"
        self.extra_args = list(extra_args or [])
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.log_path = self.workdir / "broker.log"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        assert self.process is None, "broker already running"
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts} =====\n".encode())
        log.flush()
        args = [
            str(self.binary),
            "serve",
            "--listen",
            self.bootstrap,
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        log.close()
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the broker exited with status {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                with RawConnection(self.host, self.port, timeout=2.0) as conn:
                    conn.api_versions()
                    return
            except (OSError, ConnectionError, AssertionError, ValueError) as error:
                last_error = error
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the broker did not answer ApiVersions within {START_TIMEOUT}s ({last_error}):\n{self.log_tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait; returns the exit status. Kills it (and raises) if it does not exit in time."""
        assert self.process is not None, "broker not running"
        process = self.process
        self.process = None
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError(f"the broker did not exit within {timeout}s of SIGTERM:\n{self.log_tail()}") from None

    def stop_cleanly(self) -> None:
        status = self.stop()
        assert status == 0, f"the broker exited with status {status} after SIGTERM:\n{self.crash_report()}"

    def crash_report(self) -> str:
        """The log's crash message and first stack frames, if it crashed, else its tail."""
        lines = self.log_text().splitlines()
        for index, line in enumerate(lines):
            if "Fatal error" in line or "Program crashed" in line:
                return "\n".join(lines[max(0, index - 5):index + 60])
        return self.log_tail()

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to flush anything."""
        if self.process is None:
            return
        process = self.process
        self.process = None
        process.kill()
        process.wait(timeout=10)

    def restart(self, hard: bool = False) -> None:
        """Stops the broker (SIGTERM and a clean exit, or SIGKILL if `hard`) and starts it again on
        the same data directory and port."""
        if hard:
            self.kill()
        else:
            self.stop_cleanly()
        self.start()

    def remove(self) -> None:
        """Kills the broker if it still runs and deletes its data and log, unless
        `SAMSA_INTEROP_KEEP` is set (then it prints where they are)."""
        self.kill()
        if os.environ.get("SAMSA_INTEROP_KEEP"):
            print(f"\nbroker data and log kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no broker log)"
        return "\n".join(text[-lines:])

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def api_versions(self) -> dict[int, tuple[int, int]]:
        with RawConnection(self.host, self.port) as conn:
            return conn.api_versions()
