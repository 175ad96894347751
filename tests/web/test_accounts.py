"""Account management (admins, web and CLI), the sign-in throttle's bounds and the password policy."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from medius.cli import app as cli_app
from medius.web import messages
from medius.web.auth.throttle import HashingBusy, SignInThrottle
from medius.web.models import AuthSession, User, utcnow
from medius.web.security import password_problem
from tests.web.conftest import PASSWORD, Browser, new_patient


def _uid(app, email: str) -> int:
    with app.state.sessionmaker() as db:
        return db.scalars(select(User.id).where(User.email == email)).one()


def test_admin_unlocks_deactivates_resets_and_ends_sign_ins(app):
    admin = Browser(app)
    admin.sign_in("admin@north.example")
    doc = Browser(app)
    assert doc.sign_in("doc@north.example").status_code == 303
    uid = _uid(app, "doc@north.example")
    with app.state.sessionmaker() as db:
        db.execute(update(User).where(User.id == uid).values(failed_logins=7, locked_until=utcnow()))
        db.commit()
    r = admin.api("POST", f"/api/users/{uid}/unlock")
    assert r.status_code == 200 and r.json()["email"] == "doc@north.example"
    with app.state.sessionmaker() as db:
        assert db.scalars(select(User.failed_logins).where(User.id == uid)).one() == 0
    # end the clinician's sign-ins
    assert admin.api("POST", f"/api/users/{uid}/end-sessions").status_code == 200
    assert doc.get("/api/me").status_code == 401
    # deactivate: cannot sign in; reactivate: can
    assert doc.sign_in("doc@north.example").status_code == 303
    r = admin.api("POST", f"/api/users/{uid}/deactivate")
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert doc.get("/api/me").status_code == 401
    assert Browser(app).sign_in("doc@north.example").status_code == 401
    assert admin.api("POST", f"/api/users/{uid}/activate").json()["is_active"] is True
    # a new password: the old one stops working, the user's sign-ins end
    b = Browser(app)
    assert b.sign_in("doc@north.example").status_code == 303
    r = admin.api("POST", f"/api/users/{uid}/password", json={"password": "password12"})
    assert r.status_code == 422 and "common" in r.json()["detail"]
    r = admin.api("POST", f"/api/users/{uid}/password", json={"password": "a new long secret"})
    assert r.status_code == 200
    assert b.get("/api/me").status_code == 401
    assert Browser(app).sign_in("doc@north.example").status_code == 401
    assert Browser(app).sign_in("doc@north.example", "a new long secret").status_code == 303
    # the page forms do the same
    assert admin.form(f"/users/{uid}/deactivate").status_code == 303
    assert admin.form(f"/users/{uid}/activate").status_code == 303
    assert admin.form(f"/users/{uid}/password", {"password": "another long secret"}).status_code == 303
    page = admin.get("/users").text
    assert f"/users/{uid}/deactivate" in page and "End sign-ins" in page


def test_admin_manages_only_their_own_clinic_and_not_their_own_activation(app):
    admin = Browser(app)
    admin.sign_in("admin@north.example")
    south = _uid(app, "doc@south.example")
    for action in ("unlock", "deactivate", "end-sessions"):
        r = admin.api("POST", f"/api/users/{south}/{action}")
        assert r.status_code == 404 and r.json()["detail"] == messages.USER_NOT_FOUND
    assert (
        admin.api("POST", f"/api/users/{south}/password", json={"password": "a new long secret"}).status_code
        == 404
    )
    me = _uid(app, "admin@north.example")
    r = admin.api("POST", f"/api/users/{me}/deactivate")
    assert r.status_code == 409 and r.json()["detail"] == messages.NOT_YOURSELF
    # ending one's own sign-ins keeps the current one
    assert admin.api("POST", f"/api/users/{me}/end-sessions").status_code == 200
    assert admin.get("/api/me").status_code == 200
    doc = Browser(app)
    doc.sign_in("doc@north.example")
    r = doc.api("POST", f"/api/users/{me}/unlock")
    assert r.status_code == 403 and r.json()["detail"] == messages.ADMIN_ONLY
    assert admin.api("POST", f"/api/users/{me}/unlock", headers={"X-CSRF-Token": "forged"}).status_code == 403


def _cli(*args: str, env: dict[str, str] | None = None):
    res = CliRunner().invoke(cli_app, list(args), env=env, catch_exceptions=False)
    return res.exit_code, res.stdout + res.stderr


def test_user_cli_list_unlock_deactivate_set_password_end_sessions(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MEDIUS_SIGNIN_CLIENT_ATTEMPTS", "1000")  # all TestClients share one address
    monkeypatch.setenv("MEDIUS_TRUSTED_HOSTS", "testserver")
    data = str(tmp_path / "d")
    env = {"MEDIUS_PASSWORD": "a long password"}
    assert (
        _cli("user", "create", "--email", "a@x.example", "--clinic", "X", "--data-dir", data, env=env)[0] == 0
    )
    from medius.web.app import create_app
    from medius.web.settings import Settings

    app = create_app(Settings.from_env(data_dir=Path(data), worker_enabled=False))
    b = Browser(app)
    assert b.sign_in("a@x.example", "a long password").status_code == 303
    with app.state.sessionmaker() as db:
        db.execute(update(User).values(failed_logins=9, locked_until=utcnow()))
        db.commit()
    code, out = _cli("user", "list", "--data-dir", data)
    assert code == 0 and "a@x.example\tX\tclinician\tactive\tfailed sign-ins 9" in out
    code, out = _cli("user", "unlock", "a@x.example", "--data-dir", data)
    assert code == 0 and "unlocked a@x.example" in out
    code, out = _cli("user", "end-sessions", "a@x.example", "--data-dir", data)
    assert code == 0 and "ended 1 sign-in of a@x.example" in out
    assert b.get("/api/me").status_code == 401
    code, out = _cli("user", "deactivate", "a@x.example", "--data-dir", data)
    assert code == 0 and "deactivated" in out
    assert Browser(app).sign_in("a@x.example", "a long password").status_code == 401
    assert _cli("user", "activate", "a@x.example", "--data-dir", data)[0] == 0
    code, out = _cli(
        "user", "set-password", "a@x.example", "--data-dir", data, env={"MEDIUS_PASSWORD": "1234567890"}
    )
    assert code == 4 and "common" in out
    code, out = _cli(
        "user", "set-password", "a@x.example", "--data-dir", data, env={"MEDIUS_PASSWORD": "new long secret"}
    )
    assert code == 0 and "password of a@x.example set" in out
    assert Browser(app).sign_in("a@x.example", "new long secret").status_code == 303
    code, out = _cli("user", "unlock", "nobody@x.example", "--data-dir", data)
    assert code == 3 and "User not found" in out
    with app.state.sessionmaker() as db:
        assert db.scalars(select(AuthSession)).all()  # the last sign-in is there


def test_demo_data_without_medius_password_generates_and_prints_one(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MEDIUS_SIGNIN_CLIENT_ATTEMPTS", "1000")
    monkeypatch.setenv("MEDIUS_TRUSTED_HOSTS", "testserver")
    monkeypatch.delenv("MEDIUS_PASSWORD", raising=False)
    data = tmp_path / "d"
    code, out = _cli("demo-data", "--data-dir", str(data))
    assert code == 0 and "(generated" in out
    password = out.split("password: ")[1].split()[0]
    assert len(password) >= 16 and password != "demo-password" and password_problem(password) is None
    from medius.web.app import create_app
    from medius.web.settings import Settings

    app = create_app(Settings.from_env(data_dir=data, worker_enabled=False))
    assert Browser(app).sign_in("demo@clinic.example", "demo-password").status_code == 401
    assert Browser(app).sign_in("demo@clinic.example", password).status_code == 303
    code, out = _cli("demo-data", "--data-dir", str(data))  # again: the password is not changed
    assert code == 0 and "unchanged" in out and password not in out


@pytest.mark.parametrize(
    "password, reason",
    [
        (" " * 10, "too simple"),
        ("aaaaaaaaaaaa", "too simple"),
        ("1234567890", "common"),
        ("password12", "common"),
        ("Password123", "common"),
        ("qwertyuiop", "common"),
        ("short", "at least 10"),
        ("x" * 1001, "at most 1000"),
        ("doc.smith-is-here", "e-mail name"),
    ],
)
def test_password_policy_refuses(password, reason):
    problem = password_problem(password, email="doc.smith@north.example")
    assert problem is not None and reason in problem


@pytest.mark.parametrize("password", [PASSWORD, "a long password", "Zq8 rv!k 2mp", "éléphant rose 7"])
def test_password_policy_accepts(password):
    assert password_problem(password, email="doc@north.example") is None


def test_weak_password_is_refused_when_creating_a_user(app):
    admin = Browser(app)
    admin.sign_in("admin@north.example")
    for weak in (" " * 10, "1234567890", "password12"):
        r = admin.api("POST", "/api/users", json={"email": "new@north.example", "password": weak})
        assert r.status_code == 422, (weak, r.text)


def test_hashing_concurrency_is_bounded_and_the_queue_too():
    throttle = SignInThrottle(hashing=2)
    inside, peak, busy = [0], [0], [0]
    lock = threading.Lock()
    go = threading.Event()

    def worker() -> None:
        try:
            with throttle.hashing(timeout_s=5):
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                go.wait(5)
                with lock:
                    inside[0] -= 1
        except HashingBusy:
            with lock:
                busy[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while busy[0] < 10 and time.monotonic() < deadline:  # 2 inside, 8 waiting, 10 turned away
        time.sleep(0.01)
    # the queue is full: a stranger is turned away at once, a known browser queues (here until its
    # time-out, since the slots stay held)
    t0 = time.monotonic()
    with pytest.raises(HashingBusy), throttle.hashing(timeout_s=0.3):
        pass
    assert time.monotonic() - t0 < 0.2
    t0 = time.monotonic()
    with pytest.raises(HashingBusy), throttle.hashing(timeout_s=0.3, known=True):
        pass
    queued_known = time.monotonic() - t0 >= 0.3
    go.set()
    for t in threads:
        t.join()
    assert peak[0] == 2 and busy[0] == 10 and queued_known


def test_client_table_is_bounded_and_delays_double():
    now = [0.0]
    throttle = SignInThrottle(free_failures=2, max_delay_s=60, max_clients=100, clock=lambda: now[0])
    for i in range(1000):
        throttle.record_failure(f"10.0.{i // 256}.{i % 256}")
    assert len(throttle) == 100
    waits = []
    for _ in range(10):
        throttle.record_failure("attacker")
        waits.append(throttle.client_wait_s("attacker"))
    assert waits == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert throttle.client_wait_s("victim") == 0
    now[0] += 3601  # forgotten an hour after the last failure
    assert throttle.client_wait_s("attacker") == 0


def test_huge_page_numbers_are_clamped_not_500(app, north):
    new_patient(north)
    for url in ("/patients?page=99999999999999999999", "/api/patients?page=99999999999999999999"):
        r = north.get(url)
        assert r.status_code == 200, (url, r.status_code)
    assert north.get("/api/patients?page=99999999999999999999").json()["page"] == 1_000_000
    assert north.get("/api/patients?page=-5").json()["page"] == 1


def test_requests_for_an_untrusted_host_are_refused(make_app, monkeypatch, tmp_path):
    from medius.web.settings import Settings

    monkeypatch.delenv("MEDIUS_TRUSTED_HOSTS", raising=False)
    assert Settings.from_env(data_dir=tmp_path).trusted_hosts == ("localhost", "127.0.0.1", "::1")
    a = make_app(trusted_hosts=("clinic.example.org", "*.lan.example"))
    ok = Browser(a, base_url="http://clinic.example.org")
    assert ok.get("/healthz").status_code == 200
    assert Browser(a, base_url="http://ward.lan.example:8000").get("/healthz").status_code == 200
    evil = Browser(a, base_url="http://evil.example")
    r = evil.get("/login")
    assert r.status_code == 400 and r.text == "Invalid host header"
    b = make_app(trusted_hosts=("localhost", "127.0.0.1", "::1"))
    assert Browser(b, base_url="http://[::1]:8000").get("/healthz").status_code == 200
    assert Browser(b, base_url="http://127.0.0.1:8000").get("/healthz").status_code == 200
    assert Browser(b).get("/healthz").status_code == 400  # "testserver"


def test_api_docs_are_local_and_behind_sign_in(app, north):
    anon = Browser(app)
    for url in ("/api/docs", "/api/openapi.json", "/api/docs/assets/swagger-ui-bundle.js"):
        assert anon.get(url).status_code == 401, url
    page = north.get("/api/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower() and "<script>" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert srcs and all(s.startswith("/api/docs/assets/") for s in srcs)
    for s in srcs:
        r = north.get(s)
        assert r.status_code == 200 and len(r.content) > 100, s
    assert "SwaggerUIBundle" in north.get("/api/docs/assets/swagger-ui-bundle.js").text
    assert north.get("/api/docs/assets/..%2Fapp.py").status_code == 404
    assert north.get("/api/docs/assets/LICENSE").status_code == 404
    assert north.get("/api/openapi.json").json()["info"]["title"] == "medius clinic"


def test_sign_in_checks_run_on_bounded_low_priority_threads():
    import asyncio
    import os

    throttle = SignInThrottle(hashing=2)
    seen: list[tuple[int, int]] = []
    inside, peak = [0], [0]
    lock = threading.Lock()

    def check() -> int:
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.05)
        seen.append((threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        with lock:
            inside[0] -= 1
        return 1

    async def flood() -> tuple[int, int]:
        results = await asyncio.gather(*(throttle.run(check) for _ in range(20)), return_exceptions=True)
        done = sum(r == 1 for r in results)
        busy = sum(isinstance(r, HashingBusy) for r in results)
        known = await throttle.run(check, known=True)
        return done + known, busy

    done, busy = asyncio.run(flood())
    assert peak[0] == 2 and done == 11 and busy == 10  # 2 running + 8 waiting, the rest turned away; + the known one
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert {p for _, p in seen} == {min(19, mine + 10)} and len({t for t, _ in seen}) == 2
