"""Migrations (the only way the schema changes) and the web app's commands."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from medius.cli import app as cli_app
from medius.web.db import alembic_config, create_db_engine, current_revision, head_revision, upgrade_database
from medius.web.models import Base


def test_migrations_build_exactly_the_models(database_url):
    engine = create_db_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == []
        assert {
            "patients",
            "visits",
            "recordings",
            "jobs",
            "users",
            "clinics",
            "auth_sessions",
            "program_sessions",
        } <= set(inspect(engine).get_table_names())
        index_names = {i["name"] for i in inspect(engine).get_indexes("patients")}
        assert "ix_patients_clinic_sort" in index_names
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again(database_url):
    from alembic import command

    engine = create_db_engine(database_url)
    try:
        cfg = alembic_config(database_url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert "patients" not in inspect(engine).get_table_names()
        upgrade_database(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_env_py_uses_batch_mode_for_sqlite():
    text = (Path(__file__).parents[2] / "src/medius/web/migrations/env.py").read_text()
    assert text.count("render_as_batch=True") >= 2


def _run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    runner = CliRunner()
    res = runner.invoke(cli_app, list(args), env=env, input=input, catch_exceptions=False)
    return res.exit_code, res.stdout + res.stderr


def test_db_upgrade_user_create_and_demo_data(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data = tmp_path / "medius-data"
    code, out = _run("db", "upgrade", "--data-dir", str(data))
    assert code == 0 and "revision" in out
    assert (data / "medius.sqlite3").is_file()
    key = data / "secret_key"
    assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    code, out = _run(
        "user",
        "create",
        "--email",
        "Boss@Clinic.example",
        "--clinic",
        "Clinic A",
        "--admin",
        "--data-dir",
        str(data),
        env={"MEDIUS_PASSWORD": "a long password"},
    )
    assert code == 0 and "created admin boss@clinic.example" in out
    code, out = _run(
        "user",
        "create",
        "--email",
        "boss@clinic.example",
        "--clinic",
        "Clinic A",
        "--data-dir",
        str(data),
        env={"MEDIUS_PASSWORD": "a long password"},
    )
    assert code == 4 and "already exists" in out
    code, out = _run(
        "user",
        "create",
        "--email",
        "x@clinic.example",
        "--clinic",
        "Clinic A",
        "--data-dir",
        str(data),
        env={"MEDIUS_PASSWORD": "short"},
    )
    assert code == 4 and "at least 10 characters" in out
    code, out = _run(
        "user",
        "create",
        "--email",
        "p@clinic.example",
        "--clinic",
        "Clinic A",
        "--data-dir",
        str(data),
        env={"MEDIUS_PASSWORD": ""},
        input="typed password\ntyped password\n",
    )
    assert code == 0
    code, out = _run("demo-data", "--data-dir", str(data), env={"MEDIUS_PASSWORD": "quiet river 42"})
    assert code == 0 and "demo@clinic.example" in out
    code, out = _run("demo-data", "--data-dir", str(data))  # idempotent
    assert code == 0
    engine = create_engine(f"sqlite:///{data / 'medius.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from patients").scalar() == 1
        roles = dict(conn.exec_driver_sql("select email, role from users").all())
    engine.dispose()
    assert roles == {
        "boss@clinic.example": "admin",
        "p@clinic.example": "clinician",
        "demo@clinic.example": "admin",
    }


def test_settings_from_the_environment(tmp_path: Path, monkeypatch):
    from medius.errors import InvalidInputError
    from medius.web.settings import Settings, default_data_dir

    monkeypatch.setenv("MEDIUS_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:5/x")
    monkeypatch.setenv("MEDIUS_MAX_UPLOAD_MB", "7")
    s = Settings.from_env().resolved()
    assert s.data_dir == tmp_path / "d" and s.max_upload_bytes == 7 * 1024 * 1024
    assert s.database_url == "postgresql+psycopg://u:p@127.0.0.1:5/x"
    assert s.secret_key == (tmp_path / "d" / "secret_key").read_text()
    assert Settings.from_env().resolved().secret_key == s.secret_key  # kept across starts
    monkeypatch.setenv("MEDIUS_LOCKOUT_ATTEMPTS", "many")
    try:
        Settings.from_env()
    except InvalidInputError as exc:
        assert str(exc) == "MEDIUS_LOCKOUT_ATTEMPTS must be a whole number, got 'many'"
    else:
        raise AssertionError("no error")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "medius" or os.name == "nt"


def test_demo_data_gives_the_demo_patient_two_assessed_visits_and_a_queued_rendered_video(tmp_path, monkeypatch):
    """make demo's clinic: findings, a program and progress over two visits, and the rendered
    single-leg squat queued for the app's worker (issue 21)."""
    import sqlite3

    from medius.web.cli import create_demo_data

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MEDIUS_DATA_DIR", str(tmp_path))
    create_demo_data(tmp_path, "correct-horse-battery-42")
    db = sqlite3.connect(tmp_path / "medius.sqlite3")
    visits = db.execute("select assessment is not null, findings is not null, program_status from visits").fetchall()
    assert len(visits) == 2 and all(v[0] and v[1] and v[2] == "draft" for v in visits)
    assert db.execute("select task from recordings").fetchall() == [("single-leg-squat",)]
    assert db.execute("select status from jobs").fetchall() == [("queued",)]
