"""``medius serve`` as its own process, as an operator runs it: for the restart tests and the
red-team benchmark (benchmarks/redteam.py), which need a real server process, not an app object."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``medius serve`` in its own process group, on a free loopback port, answering ``/healthz``
    when the constructor returns (else ``RuntimeError`` with the end of its log)."""

    def __init__(self, data_dir: Path, database_url: str, log: Path, *, worker: bool,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        full_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "MEDIUS_WORKER": "1" if worker else "0",
            "MPLBACKEND": "Agg",
            **(env or {}),
        }
        self._log = open(log, "ab")  # noqa: SIM115 - closed when the server is stopped
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "medius.cli", "serve", "--data-dir", str(data_dir), "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            start_new_session=True,
        )
        end = time.monotonic() + 90
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self._log.close()
                raise RuntimeError(f"the app exited at start-up:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"the app did not answer within 90 s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL the app and every process of its group (the analysis child included)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._log.close()

    def terminate(self) -> int:
        """A graceful stop (SIGTERM to the app alone); returns its exit code (uvicorn re-raises the
        signal once it has shut down, so a clean stop ends as ``-SIGTERM``)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # nothing may be left; normally a no-op
            self._log.close()
        return code

    def stop(self) -> None:
        """SIGTERM to the whole group (the app stops its own helper processes), SIGKILL after 30 s."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._log.close()
