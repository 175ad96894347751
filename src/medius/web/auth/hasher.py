"""Password verification in a separate process at the lowest priority (``python -m medius.web.auth.hasher``).

Argon2 costs 64 MiB and four threads for about half a second a check. Run inside the web server
those threads share the server's scheduler group, address space and allocator with the signed-in
clinicians' requests (on Linux, processes started in their own session form their own *autogroup*,
and a thread's ``nice`` only counts inside its group). So each sign-in thread of
:class:`~medius.web.auth.throttle.SignInThrottle` hands the check to a child process of its own: the
child starts its own session, sets its autogroup's and its own niceness to :data:`NICE` (10), and
answers one check at a time over a pipe. The server's memory stays flat (the 64 MiB live in the
child), and under a flood of sign-ins the clinicians' pages get the processor first. (Not 19: an
autogroup at 19 weighs 15 against 1024, and on a machine kept busy by an analysis a genuine sign-in
would wait tens of seconds; at 10 it weighs 110, the share the former nice-10 threads had.)

The protocol: the parent writes ``<u32 hash length><u32 password length><hash><password bytes>``; the
child answers ``1`` (match) or ``0``. The child exits at end of input (its parent gone) or on a
malformed request. A child that dies is restarted once for the check in hand.
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
import threading
from typing import IO

__all__ = ["NICE", "ProcessVerifier", "demote"]

MAX_HASH = 4096
MAX_PASSWORD = 8192
#: niceness of the password-checking processes and of their scheduler autogroup
NICE = 10


def demote(level: int = NICE) -> None:
    """A lower CPU priority for this process: its scheduler autogroup (Linux, when it leads its own
    session) and its own niceness. Best effort: a system without them keeps its default."""
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as fh:
        fh.write(str(level))
    with contextlib.suppress(OSError):
        os.nice(max(0, level - os.nice(0)))


def _serve(inp: IO[bytes], out: IO[bytes]) -> None:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    hasher = PasswordHasher()
    while True:
        head = inp.read(8)
        if len(head) < 8:
            return
        n_hash, n_password = struct.unpack("<II", head)
        if n_hash > MAX_HASH or n_password > MAX_PASSWORD:
            return
        stored = inp.read(n_hash)
        password = inp.read(n_password)
        if len(stored) < n_hash or len(password) < n_password:
            return
        try:
            ok: bool = hasher.verify(stored.decode("ascii", "replace"), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        out.write(b"1" if ok else b"0")
        out.flush()


class ProcessVerifier:
    """Argon2 verification in child processes, one per calling thread (started on first use)."""

    def __init__(self, python: str = sys.executable) -> None:
        self._python = python
        self._local = threading.local()
        self._lock = threading.Lock()
        self._children: list[subprocess.Popen[bytes]] = []
        self._closed = False

    def _start(self) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the password checker is closed")
            proc = subprocess.Popen(
                [self._python, "-m", "medius.web.auth.hasher"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own autogroup: its niceness counts against the server
                close_fds=True,
            )
            self._children.append(proc)
        self._local.proc = proc
        return proc

    def _forget(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        with self._lock:
            if proc in self._children:
                self._children.remove(proc)
        self._local.proc = None

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches the Argon2 ``stored_hash`` (checked in this thread's child)."""
        stored = stored_hash.encode("ascii", "replace")[:MAX_HASH]
        secret = password.encode("utf-8", "surrogatepass")
        if len(secret) > MAX_PASSWORD:
            return False
        request = struct.pack("<II", len(stored), len(secret)) + stored + secret
        for _ in range(2):
            proc = getattr(self._local, "proc", None)
            if proc is None or proc.poll() is not None:
                if proc is not None:
                    self._forget(proc)
                proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(request)
                proc.stdin.flush()
                answer = proc.stdout.read(1)
            except OSError:
                answer = b""
            if answer in (b"0", b"1"):
                return answer == b"1"
            self._forget(proc)
        raise RuntimeError("the password-checking process died twice")

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._children if p.poll() is None]

    def close(self) -> None:
        """Stop the children (they also stop by themselves when the server exits)."""
        with self._lock:
            self._closed = True
            children, self._children = self._children, []
        for proc in children:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            for stream in (proc.stdout,):
                if stream is not None:
                    stream.close()


if __name__ == "__main__":
    demote()
    _serve(sys.stdin.buffer, sys.stdout.buffer)
