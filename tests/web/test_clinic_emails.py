"""E-mails are unique per clinic (issue 19: a clinic admin learnt from a 409 whether an e-mail had an
account in another clinic); sign-in names the clinic by its code; migration 0002 keeps the data."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Uuid, bindparam, select, text, update
from typer.testing import CliRunner

from medius.cli import app as cli_app
from medius.web import messages
from medius.web.auth.service import clinic_code
from medius.web.db import create_db_engine, current_revision, head_revision, upgrade_database
from medius.web.models import Clinic, User, utcnow
from tests.web.conftest import PASSWORD, Browser, add_user, skip_or_fail

SHARED = "shared@both.example"
SOUTH_PASSWORD = "southern long secret"


@pytest.fixture
def two(app):
    """The shared e-mail with an account in North (PASSWORD) and one in South (SOUTH_PASSWORD)."""
    add_user(app, SHARED)
    add_user(app, SHARED, clinic="South clinic", password=SOUTH_PASSWORD)
    return app


def _user(app, email: str, code: str) -> User:
    with app.state.sessionmaker() as db:
        return db.scalars(
            select(User)
            .join(Clinic, Clinic.id == User.clinic_id)
            .where(User.email == email, Clinic.code == code)
        ).one()


def test_clinic_codes_are_made_from_the_names():
    assert clinic_code("North clinic") == "north-clinic"
    assert clinic_code("  Clinique d'Évry (2) ") == "clinique-d-evry-2"
    assert clinic_code("北京") == "clinic"
    assert clinic_code("North clinic", {"north-clinic", "north-clinic-2"}) == "north-clinic-3"
    assert len(clinic_code("x" * 300)) <= 40


def test_creating_a_user_says_the_same_whether_the_email_exists_elsewhere_or_nowhere(app):
    admin = Browser(app)
    assert admin.sign_in("admin@north.example").status_code == 303
    body = {"password": "long enough pw", "role": "clinician"}
    elsewhere = admin.api("POST", "/api/users", json={"email": "doc@south.example", **body})
    nowhere = admin.api("POST", "/api/users", json={"email": "fresh@nowhere.example", **body})
    assert elsewhere.status_code == nowhere.status_code == 201  # was 409 for the South clinician's e-mail
    assert elsewhere.json()["clinic_id"] == nowhere.json()["clinic_id"]
    # the page form too
    r = admin.form("/users", {"email": "admin@north.example", "password": "long enough pw"})
    assert r.status_code == 422 and "already exists in this clinic" in r.text  # own clinic: refused
    assert (
        admin.form("/users", {"email": "doc@south.example", "password": "long enough pw"}).status_code == 422
    )
    r = admin.api("POST", "/api/users", json={"email": "DOC@south.example", **body})
    assert r.status_code == 409 and r.json()["detail"] == messages.EMAIL_TAKEN  # now in North too
    # the South clinician's account is untouched and still signs in to South only
    assert Browser(app).sign_in("doc@south.example", clinic="south-clinic").status_code == 303
    south = Browser(app)
    south.sign_in("doc@south.example", clinic="south-clinic")
    assert south.get("/api/me").json()["clinic_name"] == "South clinic"


def test_the_same_email_signs_in_to_each_clinic_by_its_code(two):
    north, south = Browser(two), Browser(two)
    assert north.sign_in(SHARED, PASSWORD, clinic="north-clinic").status_code == 303
    assert south.sign_in(SHARED, SOUTH_PASSWORD, clinic="South clinic").status_code == 303  # or its name
    assert north.get("/api/me").json()["clinic_name"] == "North clinic"
    assert south.get("/api/me").json()["clinic_name"] == "South clinic"
    # one clinic's password does not open the other clinic's account
    r = Browser(two).sign_in(SHARED, SOUTH_PASSWORD, clinic="north-clinic")
    assert r.status_code == 401 and messages.SIGN_IN_FAILED in r.text


def test_sign_in_failures_look_the_same_and_cost_one_password_check_each(two, monkeypatch):
    calls: list[str | None] = []
    throttle = two.state.signin_throttle
    real = throttle.verify

    def counting(stored: str | None, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(throttle, "verify", counting)
    answers = {}
    for label, email, clinic in (
        ("unknown clinic", SHARED, "atlantis"),
        ("unknown e-mail", "nobody@both.example", "north-clinic"),
        ("e-mail of another clinic", "doc@south.example", "north-clinic"),
        ("wrong password", SHARED, "north-clinic"),
    ):
        r = Browser(two).sign_in(email, "wrong password!", clinic=clinic)
        answers[label] = (r.status_code, re.sub(r'value="[^"]*"', "", r.text.split("<main", 1)[-1]))
    assert len(calls) == 4  # one Argon2 verification each (the dummy hash when there is no account)
    assert calls[0] is None and calls[1] is None and calls[2] is None and calls[3] is not None
    status_and_page = {(s, re.sub(r"(nobody|shared|doc)@\S+", "", page)) for s, page in answers.values()}
    assert len(status_and_page) == 1 and next(iter(status_and_page))[0] == 401


def test_a_server_of_several_clinics_asks_for_the_code_without_checking_anything(two, monkeypatch):
    calls: list[object] = []
    monkeypatch.setattr(two.state.signin_throttle, "verify", lambda *a: calls.append(a) or False)
    r = Browser(two).sign_in(SHARED, PASSWORD, clinic="")
    assert r.status_code == 422 and messages.SIGN_IN_CLINIC_NEEDED in r.text
    r = Browser(two).sign_in("nobody@both.example", PASSWORD, clinic="")
    assert r.status_code == 422 and messages.SIGN_IN_CLINIC_NEEDED in r.text  # the same for any e-mail
    assert calls == []
    assert _user(two, SHARED, "north-clinic").failed_logins == 0


def test_a_server_of_one_clinic_signs_in_without_the_code_and_the_browser_remembers_it(make_app):
    a = make_app()
    add_user(a, "solo@one.example", clinic="Only clinic")
    b = Browser(a)
    form = b.client.get("/login").text
    assert 'name="clinic" value=""' in form
    assert b.sign_in("solo@one.example", clinic="").status_code == 303
    assert 'name="clinic" value="only-clinic"' in b.client.get("/login").text  # filled in next time
    assert 'name="clinic" value="north"' in Browser(a).client.get("/login?clinic=north").text


def test_delays_and_known_browsers_are_per_clinic_and_email(two):
    own = Browser(two)
    assert own.sign_in(SHARED, PASSWORD, clinic="north-clinic").status_code == 303  # known to North's account
    stranger = Browser(two)
    for i in range(5):
        assert stranger.sign_in(SHARED, f"wrong password {i}", clinic="south-clinic").status_code == 401
    north_user, south_user = _user(two, SHARED, "north-clinic"), _user(two, SHARED, "south-clinic")
    assert south_user.failed_logins == 5 and south_user.locked_until is not None
    assert north_user.failed_logins == 0 and north_user.locked_until is None  # the other account is untouched
    with two.state.sessionmaker() as db:
        db.execute(
            update(User).where(User.id == south_user.id).values(locked_until=utcnow() + timedelta(minutes=10))
        )
        db.commit()
    # South's account is held, even for the browser that knows North's account of the same e-mail
    assert own.sign_in(SHARED, SOUTH_PASSWORD, clinic="south-clinic").status_code == 401
    assert Browser(two).sign_in(SHARED, SOUTH_PASSWORD, clinic="south-clinic").status_code == 401
    # North's account signs in, from anywhere
    assert Browser(two).sign_in(SHARED, PASSWORD, clinic="north-clinic").status_code == 303
    # the South administrator's unlock (web) clears South's account only
    add_user(two, "admin@south.example", clinic="South clinic", role="admin")
    admin = Browser(two)
    assert admin.sign_in("admin@south.example").status_code == 303
    assert admin.api("POST", f"/api/users/{south_user.id}/unlock").status_code in (200, 204)
    assert Browser(two).sign_in(SHARED, SOUTH_PASSWORD, clinic="south-clinic").status_code == 303
    # and the users page shows the administrator the clinic's code
    assert "south-clinic" in admin.get("/users").text


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    r = CliRunner().invoke(cli_app, list(args), env=env or {})
    return r.exit_code, r.output


def test_user_cli_names_the_clinic_when_an_email_is_in_several(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data = str(tmp_path / "d")
    env = {"MEDIUS_PASSWORD": "a long password"}
    code, out = _cli(
        "user", "create", "--email", "a@x.example", "--clinic", "X one", "--data-dir", data, env=env
    )
    assert code == 0 and "sign-in code x-one" in out
    code, out = _cli(
        "user", "create", "--email", "a@x.example", "--clinic", "X two", "--data-dir", data, env=env
    )
    assert code == 0 and "sign-in code x-two" in out  # the same e-mail in another clinic
    code, out = _cli(
        "user", "create", "--email", "A@x.example", "--clinic", "x-two", "--data-dir", data, env=env
    )
    assert code == 4 and "already exists in this clinic" in out  # by code: the same clinic
    code, out = _cli("user", "list", "--data-dir", data)
    assert code == 0 and "a@x.example\tX one\t" in out and "code x-two" in out
    code, out = _cli("user", "unlock", "a@x.example", "--data-dir", data)
    assert (
        code == 4 and "2 clinics (x-one, x-two)" in out and "--clinic" in out and len(out.splitlines()) == 1
    )
    code, out = _cli("user", "unlock", "a@x.example", "--clinic", "x-two", "--data-dir", data)
    assert code == 0 and "unlocked a@x.example" in out
    code, out = _cli("user", "deactivate", "a@x.example", "--clinic", "X ONE", "--data-dir", data)
    assert code == 0
    code, out = _cli("user", "list", "--data-dir", data)
    assert (
        "a@x.example\tX one\tclinician\tdeactivated" in out and "a@x.example\tX two\tclinician\tactive" in out
    )
    code, out = _cli("user", "unlock", "a@x.example", "--clinic", "atlantis", "--data-dir", data)
    assert code == 3 and "no clinic" in out


# ---------------------------------------------------------------------------- migration 0002
@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database (no migration applied)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    server = request.getfixturevalue("pg_server")
    if server is None:
        skip_or_fail("PostgreSQL binaries not found (install Debian's postgresql package)")
    name = f"m_{uuid.uuid4().hex[:16]}"
    server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.url(name)
    finally:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migration_0002_keeps_the_data_of_a_database_made_at_0001(empty_database_url):
    from sqlalchemy.exc import IntegrityError

    engine = create_db_engine(empty_database_url)
    try:
        upgrade_database(engine, "0001")
        now = datetime.now(UTC)
        n = {"n": now, "later": now + timedelta(hours=1)}
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO clinics (id, name, created_at) VALUES "
                    "(1, 'North clinic', :n), (2, 'North Clinic!', :n), (3, 'Évry', :n)"
                ),
                n,
            )
            c.execute(
                text(
                    "INSERT INTO users (id, clinic_id, email, name, password_hash, role, is_active, "
                    "failed_logins, created_at) VALUES "
                    "(1, 1, 'a@x.example', 'A', 'h1', 'admin', true, 2, :n), "
                    "(2, 2, 'b@x.example', 'B', 'h2', 'clinician', false, 0, :n)"
                ),
                n,
            )
            c.execute(
                text(
                    "INSERT INTO auth_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, "
                    "expires_at) VALUES ('t1', 1, 'c1', :n, :n, :later)"
                ),
                n,
            )
            c.execute(
                text(
                    "INSERT INTO patients (id, clinic_id, family_name, given_name, sort_name, reference, notes, "
                    "created_at, updated_at) VALUES (:pid, 1, 'Doe', 'Jo', 'doe jo', '', '', :n, :n)"
                ).bindparams(bindparam("pid", type_=Uuid())),
                {**n, "pid": uuid.UUID(int=1)},
            )
            c.execute(
                text(
                    "INSERT INTO visits (id, clinic_id, patient_id, clinician_id, visit_date, reason, created_at, "
                    "updated_at) VALUES (:vid, 1, :pid, 1, '2026-03-02', '', :n, :n)"
                ).bindparams(bindparam("pid", type_=Uuid()), bindparam("vid", type_=Uuid())),
                {**n, "pid": uuid.UUID(int=1), "vid": uuid.UUID(int=2)},
            )
        upgrade_database(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as c:
            assert c.execute(text("SELECT id, name, code FROM clinics ORDER BY id")).all() == [
                (1, "North clinic", "north-clinic"),
                (2, "North Clinic!", "north-clinic-2"),
                (3, "Évry", "evry"),
            ]
            assert c.execute(
                text(
                    "SELECT id, clinic_id, email, password_hash, is_active, failed_logins FROM users ORDER BY id"
                )
            ).all() == [(1, 1, "a@x.example", "h1", True, 2), (2, 2, "b@x.example", "h2", False, 0)]
            # the rebuild of users (SQLite) did not cascade to the rows that refer to it
            assert c.execute(text("SELECT token_hash, user_id FROM auth_sessions")).all() == [("t1", 1)]
            assert c.execute(text("SELECT clinician_id FROM visits")).scalar_one() == 1
            if engine.dialect.name == "sqlite":
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1  # back on
        insert = text(
            "INSERT INTO users (id, clinic_id, email, name, password_hash, role, is_active, failed_logins, "
            "created_at) VALUES (:id, :clinic, 'a@x.example', '', 'h', 'clinician', true, 0, :n)"
        )
        with engine.begin() as c:
            c.execute(insert, {**n, "clinic": 2, "id": 10})  # the same e-mail in another clinic: allowed now
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(
                insert, {**n, "clinic": 1, "id": 11}
            )  # twice in one clinic: still refused by the database
    finally:
        engine.dispose()


def test_sqlite_migrations_turn_foreign_keys_back_on_even_when_one_fails(tmp_path: Path):
    path = tmp_path / "x.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        with pytest.raises(Exception, match="nope|Can't locate revision"):
            upgrade_database(engine, "nope")
        with engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()
    shutil.rmtree(tmp_path, ignore_errors=True)
