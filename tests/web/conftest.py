"""Fixtures of the web-app tests.

* ``backend``: every API and page test runs on SQLite and on a real PostgreSQL server. The server
  is a throwaway one started once per test session (``initdb`` into a temporary folder, ``pg_ctl
  start`` on a free loopback port, as the ``postgres`` user when running as root); when the
  binaries are missing the PostgreSQL parametrisation is skipped with the reason on a developer
  machine, and fails in CI (``CI=true``): there nothing may be skipped (``required_in_ci``).
* Isolation: each test gets a fresh database copied from a template that the real Alembic
  migrations built once (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL),
  and its own data folder.
* ``make_app`` builds the app (worker thread off unless asked; tests run jobs with ``run_once``).
* ``copy_runner`` stands in for the analysis child process: it copies one real analysis output
  (made once per session by the library from synthetic keypoints) so the queue tests stay fast;
  the real child process is tested on its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.web._serve import free_port

os.environ.setdefault("MPLBACKEND", "Agg")


# Argon2 with production parameters costs about 0.5 s a hash on the CI machine; the tests use cheap
# parameters (the hash format records them, so verification is the same code path).
def _cheap_password_hashing() -> None:
    from argon2 import PasswordHasher

    from medius.web import security

    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    security._DUMMY_HASH = security._hasher.hash("medius: not a password")


_cheap_password_hashing()


def find_pg_bin() -> Path:
    """The PostgreSQL server binaries: ``MEDIUS_PG_BIN``, else the newest Debian install
    (``/usr/lib/postgresql/<major>/bin``, 15 on bookworm)."""
    if os.environ.get("MEDIUS_PG_BIN"):
        return Path(os.environ["MEDIUS_PG_BIN"])
    found = [
        p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parent.parent.name.isdigit()
    ]
    if not found:
        return Path("/usr/lib/postgresql/15/bin")
    return max(found, key=lambda b: int(b.parent.name))


def required_in_ci() -> bool:
    """In CI (``CI=true``, as ``.ci/run`` runs) or with ``MEDIUS_TEST_REQUIRE_ALL=1`` a missing
    PostgreSQL server, chromium, Playwright or clinic library fails the run instead of skipping."""
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes")
        for name in ("CI", "MEDIUS_TEST_REQUIRE_ALL")
    )


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason`` on a developer machine; fail in CI, where nothing may be skipped."""
    if required_in_ci():
        pytest.fail(f"{reason}; CI must not skip this test (scripts/install-sysdeps.sh installs it)")
    pytest.skip(reason)


PG_BIN = find_pg_bin()
PASSWORD = "correct horse battery"


# ---------------------------------------------------------------------------- PostgreSQL
@dataclass
class PgServer:
    root: Path
    port: int
    as_postgres: list[str]

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(sql)


def _start_pg(root: Path) -> PgServer:
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    subprocess.run(
        [
            *as_postgres,
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [
            *as_postgres,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "server.log"),
            "-o",
            opts,
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return PgServer(root=root, port=port, as_postgres=as_postgres)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | None]:
    if not (PG_BIN / "initdb").exists():
        yield None
        return
    # not under pytest's temporary folder: that one is private to root, and the server runs as postgres
    root = Path(tempfile.mkdtemp(prefix="medius-pg-"))
    try:
        server = _start_pg(root)
        try:
            yield server
        finally:
            subprocess.run(
                [
                    *server.as_postgres,
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(root / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer | None) -> str | None:
    """A PostgreSQL database migrated once with Alembic, copied for every test."""
    if pg_server is None:
        return None
    from medius.web.db import create_db_engine, upgrade_database

    pg_server.execute("CREATE DATABASE medius_template")
    engine = create_db_engine(
        pg_server.url("medius_template"), poolclass=__import__("sqlalchemy").pool.NullPool
    )
    upgrade_database(engine)
    engine.dispose()
    return "medius_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file migrated once with Alembic, copied for every test."""
    from medius.web.db import create_db_engine, upgrade_database

    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated database for this test only."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    if server is None:
        skip_or_fail(f"PostgreSQL binaries not found in {PG_BIN} (install Debian's postgresql package)")
    template = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:16]}"
    server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield server.url(name)
    finally:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------- the analysis stand-in
@pytest.fixture(scope="session")
def synthetic_trc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SYNTHETIC single-leg squat (one rep per leg) as a TRC file of pixel keypoints."""
    from medius.io.keypoint_files import write_trc
    from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats

    spec = SyntheticSquats(
        reps=(
            SyntheticRep("left", fppa_deg=8.0, pelvic_drop_deg=3.0, trunk_lean_deg=4.0),
            SyntheticRep("right", fppa_deg=16.0, pelvic_drop_deg=7.0, trunk_lean_deg=9.0),
        )
    )
    kp, _ = make_single_leg_squats(spec)
    folder = tmp_path_factory.mktemp("synthetic")
    return write_trc(kp, folder / "squat_px.trc")


@pytest.fixture(scope="session")
def analysed_output(synthetic_trc: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real analysis output folder (library run once per session, no annotated video)."""
    from medius.analysis import AnalysisRequest
    from medius.report.outputs import run_analysis

    out = tmp_path_factory.mktemp("analysed") / "result"
    run_analysis(AnalysisRequest(synthetic_trc, task="single-leg-squat", out_dir=out, annotated_video=False))
    return out


@pytest.fixture
def copy_runner(request: pytest.FixtureRequest) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A runner that reports progress and copies the session's real analysis output into place
    (the analysis is made on first use only)."""
    import json

    from medius.web.media._child import summarize_result

    calls: list[dict[str, Any]] = []

    def run(spec: dict[str, Any], progress: Any) -> dict[str, Any]:
        calls.append(spec)
        if not progress("pose", 1, 2):
            return {"status": "cancelled"}
        analysed_output = request.getfixturevalue("analysed_output")
        out = Path(spec["out_dir"])
        tmp = out.with_name(".result.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(analysed_output, tmp)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
        progress("writing outputs", 2, 2)
        result = json.loads((out / "result.json").read_text())
        return {
            "status": "done" if result["status"] == "ok" else "not_judgeable",
            "summary": summarize_result(result),
        }

    run.calls = calls  # type: ignore[attr-defined]
    return run


# ---------------------------------------------------------------------------- apps and clients
@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Build an app on this test's database and data folder (``**overrides`` go to Settings)."""
    from medius.web.app import create_app
    from medius.web.settings import Settings

    apps: list[Any] = []

    def make(runner: Any = None, **overrides: Any) -> Any:
        kw: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "worker_enabled": False,
            "secret_key": "k" * 48,
            # every TestClient comes from one address ("testclient"): the per-client sign-in throttle
            # is tested on its own (test_auth, test_accounts)
            "signin_client_attempts": 1000,
        }
        kw.update(overrides)
        app = create_app(Settings(**kw), runner=runner)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.state.jobs.stop()
        app.state.signin_throttle.close()
        app.state.engine.dispose()


def add_user(
    app: Any, email: str, *, clinic: str = "North clinic", role: str = "clinician", password: str = PASSWORD
) -> int:
    from medius.web.auth.service import create_user, get_or_create_clinic

    with app.state.sessionmaker() as db:
        c = get_or_create_clinic(db, clinic)
        u = create_user(db, clinic_id=c.id, email=email, password=password, role=role)
        db.commit()
        return u.id


class Browser:
    """A TestClient that signs in and remembers the session's CSRF token."""

    def __init__(self, app: Any, **kw: Any) -> None:
        from fastapi.testclient import TestClient

        self.app = app
        self.client = TestClient(app, **kw)
        self.csrf = ""

    def login_form_token(self) -> str:
        r = self.client.get("/login")
        m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert m, r.text
        return m.group(1)

    def clinic_of(self, email: str) -> str:
        """The clinic code of ``email``'s account when it has exactly one, else "" (a test helper:
        it reads the database, as a clinician would know their clinic's code)."""
        from sqlalchemy import select

        from medius.web.models import Clinic, User

        with self.app.state.sessionmaker() as db:
            codes = db.scalars(
                select(Clinic.code).join(User, User.clinic_id == Clinic.id).where(User.email == email.lower())
            ).all()
        return codes[0] if len(codes) == 1 else ""

    def sign_in(self, email: str, password: str = PASSWORD, clinic: str | None = None) -> Any:
        """Post the sign-in form; ``clinic`` None: the code of the e-mail's clinic (see :meth:`clinic_of`)."""
        r = self.client.post(
            "/login",
            data={
                "email": email,
                "password": password,
                "csrf_token": self.login_form_token(),
                "clinic": self.clinic_of(email) if clinic is None else clinic,
            },
            follow_redirects=False,
        )
        if r.status_code == 303:
            self.csrf = self.client.get("/api/me").json()["csrf_token"]
        return r

    def api(self, method: str, url: str, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kw)

    def form(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.post(
            url, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False, **kw
        )

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)


@pytest.fixture
def app(make_app: Callable[..., Any], copy_runner: Any) -> Any:
    """An app with two clinics: North (admin + clinician) and South (a clinician)."""
    a = make_app(runner=copy_runner)
    add_user(a, "admin@north.example", role="admin")
    add_user(a, "doc@north.example")
    add_user(a, "doc@south.example", clinic="South clinic")
    return a


@pytest.fixture
def north(app: Any) -> Browser:
    b = Browser(app)
    assert b.sign_in("doc@north.example").status_code == 303
    return b


@pytest.fixture
def south(app: Any) -> Browser:
    b = Browser(app)
    assert b.sign_in("doc@south.example").status_code == 303
    return b


def new_patient(b: Browser, **fields: Any) -> dict[str, Any]:
    r = b.api("POST", "/api/patients", json={"family_name": "Doe", "given_name": "Jane", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def new_visit(b: Browser, patient_id: str, **fields: Any) -> dict[str, Any]:
    r = b.api("POST", f"/api/patients/{patient_id}/visits", json={"visit_date": "2026-03-02", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def upload(
    b: Browser,
    visit_id: str,
    path: Path,
    *,
    name: str | None = None,
    task: str = "single-leg-squat",
    extra: dict[str, str] | None = None,
    csrf: bool = True,
) -> Any:
    data = {"task": task, "annotated_video": "0", **(extra or {})}
    if csrf:
        data = {"csrf_token": b.csrf, **data}
    with open(path, "rb") as fh:
        return b.client.post(
            f"/api/visits/{visit_id}/recordings",
            data=data,
            files={"file": (name or path.name, fh, "application/octet-stream")},
        )


def wait_for(predicate: Callable[[], Any], timeout_s: float = 30.0, every_s: float = 0.1) -> Any:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError("condition not met in time")
