"""Sign-in throttling: lock out the attacker, not the victim, and keep the server's memory flat.

* **Per client** (the connecting address): ``MEDIUS_SIGNIN_CLIENT_ATTEMPTS`` (5) failures are free,
  then each further failure doubles the wait before the next try from that address is even
  looked at (1 s, 2 s, 4 s ... up to ``MEDIUS_LOCKOUT_MINUTES``); tries during the wait are answered
  429 at once, without hashing. A successful sign-in clears the address. The table is in memory,
  bounded (``max_clients``, least recently failed dropped first), and forgets an address an hour
  after its last failure.
* **Per account** (in the database, see :func:`medius.web.auth.service.authenticate`):
  ``MEDIUS_LOCKOUT_ATTEMPTS`` failures are free, then progressive delays up to
  ``MEDIUS_LOCKOUT_MINUTES``; a browser that has signed in to the account before (a signed
  ``medius_device`` cookie) is not held by the account's delay, so a stranger cannot lock the
  clinician out of their own computer. An administrator clears it (``medius user unlock``).
* **Hashing**: the password checks run on ``MEDIUS_SIGNIN_HASHING`` dedicated threads at a lower
  priority (nice 10; Argon2's own threads inherit it), so at most that many Argon2 verifications
  (64 MiB and four threads each) run at once and the signed-in clinicians' requests get the
  processor first; at most four times as many wait; more are answered 503 with ``Retry-After``,
  except a known browser (the ``medius_device`` cookie), which always queues. (:meth:`hashing` is
  the same bound for code that runs on its own threads.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from itsdangerous import BadSignature, URLSafeTimedSerializer

from medius.web.auth.hasher import NICE, ProcessVerifier
from medius.web.security import dummy_hash, verify_password

__all__ = [
    "DEVICE_COOKIE",
    "HashingBusy",
    "SignInGate",
    "SignInThrottle",
    "device_account",
    "device_cookie",
    "device_email_hash",
    "device_email_of",
]

DEVICE_COOKIE = "medius_device"
DEVICE_MAX_AGE_S = 365 * 24 * 3600
_FORGET_S = 3600.0


T = TypeVar("T")
#: niceness of the threads that check passwords (Argon2's own threads inherit it): under a flood the
#: signed-in clinicians' requests get the processor first
HASHING_NICE = NICE  # the same as the hashing processes' (hasher.NICE)


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


class HashingBusy(Exception):
    """Too many sign-ins are being checked at once; try again in a few seconds."""


@dataclass
class _Client:
    failures: int = 0
    next_allowed: float = 0.0
    last_failure: float = 0.0


class SignInThrottle:
    """The per-client failure table and the bound on concurrent password hashing (thread-safe)."""

    def __init__(
        self,
        *,
        free_failures: int = 5,
        max_delay_s: float = 900.0,
        hashing: int = 1,
        max_clients: int = 10_000,
        clock: object = time.monotonic,
        hash_process: bool = False,
    ) -> None:
        self.free_failures = free_failures
        self.max_delay_s = max_delay_s
        self.max_clients = max_clients
        self._clock = clock
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, hashing))
        self._max_waiting = 4 * max(1, hashing)
        self._waiting = 0
        self._executor: ThreadPoolExecutor | None = None
        self._hashing = max(1, hashing)
        self._pending = 0
        self._verifier: ProcessVerifier | None = ProcessVerifier() if hash_process else None

    def verify(self, password_hash: str | None, password: str) -> bool:
        """:func:`medius.web.security.verify_password`, in this thread's low-priority child process
        when the throttle was made with ``hash_process`` (an unknown account: the dummy hash, same cost)."""
        if self._verifier is None:
            return verify_password(password_hash, password)
        ok = self._verifier.verify(password_hash or dummy_hash(), password)
        return ok and password_hash is not None

    def hashing_pids(self) -> list[int]:
        """The password-checking child processes now running."""
        return self._verifier.pids() if self._verifier is not None else []

    def close(self) -> None:
        """Stop the sign-in threads and the password-checking processes."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        if self._verifier is not None:
            self._verifier.close()

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def client_wait_s(self, client: str) -> float:
        """Seconds ``client`` must still wait before its next try is checked (0: go ahead)."""
        now = self._now()
        with self._lock:
            entry = self._clients.get(client)
            if entry is None:
                return 0.0
            if now - entry.last_failure > _FORGET_S:
                del self._clients[client]
                return 0.0
            return max(0.0, entry.next_allowed - now)

    def record_failure(self, client: str) -> None:
        now = self._now()
        with self._lock:
            entry = self._clients.pop(client, None) or _Client()
            entry.failures += 1
            entry.last_failure = now
            over = entry.failures - self.free_failures
            if over >= 0:
                entry.next_allowed = now + min(self.max_delay_s, float(2 ** min(over, 30)))
            self._clients[client] = entry  # most recent last
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)

    def record_success(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def __len__(self) -> int:
        return len(self._clients)

    @contextmanager
    def hashing(self, timeout_s: float = 10.0, *, known: bool = False) -> Iterator[None]:
        """Hold one of the hashing slots; :class:`HashingBusy` when too many already wait (a
        ``known`` browser, one that signed in to the account before, always gets in the queue)."""
        with self._lock:
            if self._waiting >= self._max_waiting and not known:
                raise HashingBusy()
            self._waiting += 1
        try:
            got = self._slots.acquire(timeout=timeout_s)
        finally:
            with self._lock:
                self._waiting -= 1
        if not got:
            raise HashingBusy()
        try:
            yield
        finally:
            self._slots.release()

    async def run(self, fn: Callable[[], T], *, known: bool = False) -> T:
        """``fn()`` (a password check) on one of the ``hashing`` sign-in threads, which run at a
        lower priority (:data:`HASHING_NICE`); :class:`HashingBusy` at once when the threads are busy
        and four times as many checks wait, except for a ``known`` browser, which always queues."""
        with self._lock:
            if self._pending >= 5 * self._hashing and not known:
                raise HashingBusy()
            self._pending += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self._hashing, thread_name_prefix="medius-signin", initializer=_lower_priority
                )
            executor = self._executor
        try:
            return await asyncio.wrap_future(executor.submit(fn))
        finally:
            with self._lock:
                self._pending -= 1


class SignInGate:
    """Plain ASGI, in front of the routing: a sign-in page request (``/login``, any method) from an
    address that must still wait is answered 429 here, before the request body is read or parsed,
    before any route, dependency, template or database (a flood's requests cost next to nothing)."""

    def __init__(self, app: Any, throttle: SignInThrottle, message: str) -> None:
        self.app = app
        self.throttle = throttle
        self.message = message

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/login":
            client = scope.get("client")
            wait_s = self.throttle.client_wait_s(client[0] if client else "unknown")
            if wait_s > 0:
                status, headers, body = throttled_answer(wait_s, self.message)
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def throttled_answer(
    wait_s: float, message: str, status: int = 429
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A small page for an address that must wait (no template, no cookie: it is what a flood gets)."""
    seconds = max(1, math.ceil(wait_s))
    text = html.escape(message.format(seconds=seconds))
    body = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Sign in</title></head>"
        f'<body><p role=alert>{text}</p><p><a href="/login">Sign in</a></p></body></html>'
    ).encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(seconds).encode()),
    ]
    return status, headers, body


def device_email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def device_account(clinic_id: int, email: str) -> str:
    """What a known-device cookie names: one account, that is one clinic and one e-mail."""
    return f"{clinic_id}:{device_email_hash(email)}"


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="medius-known-device")


def device_cookie(secret_key: str, clinic_id: int, email: str) -> str:
    """The signed value of the known-device cookie for the account of ``email`` in ``clinic_id``."""
    return _serializer(secret_key).dumps(device_account(clinic_id, email))


def device_email_of(secret_key: str, cookie: str | None) -> str | None:
    """The account (:func:`device_account`) a genuine known-device cookie names, else None."""
    if not cookie or len(cookie) > 300:
        return None
    try:
        return str(_serializer(secret_key).loads(cookie, max_age=DEVICE_MAX_AGE_S))
    except BadSignature:
        return None
