"""Password checks run in low-priority child processes (issue 19: a sign-in flood slowed the
signed-in clinicians' pages; Argon2's threads and 64 MiB lived in the server process)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medius.web import security
from medius.web.auth.hasher import NICE, ProcessVerifier
from medius.web.auth.throttle import SignInThrottle
from tests.web.conftest import PASSWORD, Browser


def _autogroup_nice(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def test_the_child_answers_like_the_library_and_comes_back_after_dying():
    stored = security.hash_password(PASSWORD)
    verifier = ProcessVerifier()
    try:
        assert verifier.verify(stored, PASSWORD) is True
        assert verifier.verify(stored, "wrong password!") is False
        assert verifier.verify("not a hash", PASSWORD) is False
        assert verifier.verify(stored, "\ud800 lone surrogate") is False  # any text the form lets through
        assert verifier.verify(stored, "x" * 9000) is False  # longer than any accepted password
        (pid,) = verifier.pids()
        assert os.getsid(pid) == pid != os.getsid(0)  # its own session, hence its own scheduler group
        assert os.getpriority(os.PRIO_PROCESS, pid) == max(NICE, os.getpriority(os.PRIO_PROCESS, 0))
        if _autogroup_nice(os.getpid()) is not None:
            assert _autogroup_nice(pid) == NICE
        os.kill(pid, 9)
        assert verifier.verify(stored, PASSWORD) is True  # a new child takes over
        assert verifier.pids() and verifier.pids() != [pid]
    finally:
        children = verifier.pids()
        verifier.close()
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_unknown_accounts_cost_a_check_of_the_dummy_hash_in_the_child():
    throttle = SignInThrottle(hash_process=True)
    try:
        assert throttle.verify(None, "medius: not a password") is False  # the dummy's own password
        assert throttle.verify(security.hash_password(PASSWORD), PASSWORD) is True
        assert len(throttle.hashing_pids()) == 1
    finally:
        throttle.close()
    assert throttle.hashing_pids() == []


def test_sign_in_checks_the_password_outside_the_server_process(make_app):
    from tests.web.conftest import add_user

    app = make_app()
    add_user(app, "doc@north.example")
    assert app.state.settings.signin_hash_process is True
    assert Browser(app).sign_in("doc@north.example", "wrong password!").status_code == 401
    assert Browser(app).sign_in("doc@north.example").status_code == 303
    (pid,) = app.state.signin_throttle.hashing_pids()  # one sign-in thread: one child
    assert os.getpid() != pid and os.getpriority(os.PRIO_PROCESS, pid) >= NICE


def test_a_waiting_address_is_answered_before_its_request_is_read(make_app):
    from tests.web.conftest import add_user

    app = make_app(signin_client_attempts=1)
    add_user(app, "doc@north.example")
    b = Browser(app)
    assert b.sign_in("doc@north.example", "wrong password!").status_code == 401
    # a body that the form parser would refuse (400/422) gets the 429 of the gate: it is never read
    r = b.client.post(
        "/login",
        content=b"--x\r\nnot a multipart body",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins from this address" in r.text and "set-cookie" not in r.headers
    assert r.headers["content-security-policy"]  # still behind the security headers
    assert b.client.get("/login").status_code == 429
    assert b.client.get("/healthz").status_code == 200  # other paths are not the gate's
