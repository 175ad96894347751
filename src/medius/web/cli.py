"""``medius serve``, ``medius db upgrade``, ``medius user create|list|unlock|deactivate|activate|set-password|
end-sessions``, ``medius demo-data`` (an edge module)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medius._cli_common import console, guarded
from medius.errors import InvalidInputError

if TYPE_CHECKING:
    from medius.web.settings import Settings

__all__ = ["register"]

db_app = typer.Typer(help="The web app's database.", no_args_is_help=True)
user_app = typer.Typer(help="Clinicians of the web app.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of the database, uploads and results (env MEDIUS_DATA_DIR; "
        "default: the user data folder, e.g. ~/.local/share/medius).",
    ),
]
DEMO_EMAIL = "demo@clinic.example"
DEMO_CLINIC = "Demo clinic"


def _settings(data_dir: Path | None) -> Settings:
    from medius.web.settings import Settings

    return Settings.from_env(data_dir=data_dir).resolved()


@db_app.command("upgrade")
@guarded
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply the database migrations (also done when the app starts)."""
    from medius.web.db import create_db_engine, current_revision, upgrade_database

    settings = _settings(data_dir)
    engine = create_db_engine(settings.database_url)
    try:
        upgrade_database(engine)
        rev = current_revision(engine)
    finally:
        engine.dispose()
    console.print(
        f"database at revision {rev}: {engine.url.render_as_string(hide_password=True)}",
        markup=False,
        highlight=False,
    )


def _create_user(data_dir: Path | None, email: str, clinic: str, password: str, name: str, role: str) -> str:
    """Create the user; returns the clinic's sign-in code."""
    from medius.web.auth.service import create_user, get_or_create_clinic
    from medius.web.db import create_db_engine, make_sessionmaker, upgrade_database

    settings = _settings(data_dir)
    engine = create_db_engine(settings.database_url)
    try:
        upgrade_database(engine)
        with make_sessionmaker(engine)() as db:
            c = get_or_create_clinic(db, clinic)
            create_user(db, clinic_id=c.id, email=email, password=password, name=name, role=role)
            db.commit()
            return c.code
    finally:
        engine.dispose()


@user_app.command("create")
@guarded
def user_create(
    email: Annotated[str, typer.Option("--email", help="Sign-in e-mail address.", show_default=False)],
    clinic: Annotated[
        str,
        typer.Option("--clinic", help="Clinic name or sign-in code (created if new).", show_default=False),
    ],
    admin: Annotated[
        bool, typer.Option("--admin", help="Make the user an administrator of the clinic.")
    ] = False,
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Create a clinician (``--admin`` for the clinic's first administrator).

    The password is read from MEDIUS_PASSWORD, else asked for (twice, hidden).
    """
    password = os.environ.get("MEDIUS_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    code = _create_user(data_dir, email, clinic, password, name, "admin" if admin else "clinician")
    console.print(
        f"created {'admin' if admin else 'clinician'} {email.strip().lower()} in clinic {clinic!r} "
        f"(sign-in code {code})",
        markup=False,
        highlight=False,
    )


def _with_user(
    data_dir: Path | None, email: str, action: Callable[[Any, Any], str], clinic: str | None = None
) -> str:
    """Run ``action(db, user)`` on the user with ``email`` (in ``clinic``, a code or name: needed
    when the e-mail has accounts in several clinics); returns its message."""
    from medius.errors import InputNotFoundError
    from medius.web.auth.service import find_clinic, find_user
    from medius.web.db import create_db_engine, make_sessionmaker, upgrade_database

    settings = _settings(data_dir)
    engine = create_db_engine(settings.database_url)
    try:
        upgrade_database(engine)
        with make_sessionmaker(engine)() as db:
            clinic_id = None
            if clinic is not None:
                found = find_clinic(db, clinic)
                if found is None:
                    raise InputNotFoundError(f"no clinic with the code or name {clinic!r} (see medius user list)")
                clinic_id = found.id
            user = find_user(db, email=email, clinic_id=clinic_id)
            return action(db, user)
    finally:
        engine.dispose()


Email = Annotated[str, typer.Argument(help="The user's sign-in e-mail address.", show_default=False)]
ClinicOpt = Annotated[
    str | None,
    typer.Option(
        "--clinic",
        help="The user's clinic (sign-in code or name); needed when the e-mail has accounts in several.",
        show_default=False,
    ),
]


def _say(text: str) -> None:
    typer.echo(text)  # plain: tab-separated lists stay machine-readable, long lines unwrapped


@user_app.command("list")
@guarded
def user_list(data_dir: DataDir = None) -> None:
    """List the users: e-mail, clinic, role, active, failed sign-ins, last sign-in, clinic code."""
    from sqlalchemy import select

    from medius.web.db import create_db_engine, make_sessionmaker, upgrade_database
    from medius.web.models import User

    settings = _settings(data_dir)
    engine = create_db_engine(settings.database_url)
    try:
        upgrade_database(engine)
        with make_sessionmaker(engine)() as db:
            users = db.scalars(select(User).order_by(User.clinic_id, User.email)).all()
            for u in users:
                last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-"
                state = "active" if u.is_active else "deactivated"
                _say(
                    f"{u.email}\t{u.clinic.name}\t{u.role}\t{state}\t"
                    f"failed sign-ins {u.failed_logins}\tlast sign-in {last}\tcode {u.clinic.code}"
                )
    finally:
        engine.dispose()


@user_app.command("unlock")
@guarded
def user_unlock(email: Email, clinic: ClinicOpt = None, data_dir: DataDir = None) -> None:
    """Clear a user's failed sign-ins and sign-in delay."""
    from medius.web.auth.service import unlock_user

    def act(db: Any, user: Any) -> str:
        unlock_user(db, user)
        return f"unlocked {user.email}"

    _say(_with_user(data_dir, email, act, clinic))


@user_app.command("deactivate")
@guarded
def user_deactivate(email: Email, clinic: ClinicOpt = None, data_dir: DataDir = None) -> None:
    """Stop a user from signing in (their sign-ins end at once; their records stay)."""
    from medius.web.auth.service import set_user_active

    def act(db: Any, user: Any) -> str:
        set_user_active(db, user, False)
        return f"deactivated {user.email}; their sign-ins have ended"

    _say(_with_user(data_dir, email, act, clinic))


@user_app.command("activate")
@guarded
def user_activate(email: Email, clinic: ClinicOpt = None, data_dir: DataDir = None) -> None:
    """Let a deactivated user sign in again."""
    from medius.web.auth.service import set_user_active

    def act(db: Any, user: Any) -> str:
        set_user_active(db, user, True)
        return f"activated {user.email}"

    _say(_with_user(data_dir, email, act, clinic))


@user_app.command("set-password")
@guarded
def user_set_password(email: Email, clinic: ClinicOpt = None, data_dir: DataDir = None) -> None:
    """Set (reset) a user's password; their sign-ins end. From MEDIUS_PASSWORD, else asked twice."""
    from medius.web.auth.service import check_password, set_user_password

    password = os.environ.get("MEDIUS_PASSWORD") or typer.prompt(
        "New password", hide_input=True, confirmation_prompt=True
    )
    check_password(password, email=email)

    def act(db: Any, user: Any) -> str:
        set_user_password(db, user, password)
        return f"password of {user.email} set; their sign-ins have ended"

    _say(_with_user(data_dir, email, act, clinic))


@user_app.command("end-sessions")
@guarded
def user_end_sessions(email: Email, clinic: ClinicOpt = None, data_dir: DataDir = None) -> None:
    """End every sign-in of a user (a lost laptop, a shared computer)."""
    from medius.web.auth.service import end_user_sessions

    def act(db: Any, user: Any) -> str:
        n = end_user_sessions(db, user)
        return f"ended {n} sign-in{'s' if n != 1 else ''} of {user.email}"

    _say(_with_user(data_dir, email, act, clinic))


#: the example visits of the demo patient (the repository's examples; absent from an installed wheel)
_EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "assessments"
#: the rendered single-leg squat of the validation clips, analysed by the app's worker once served
_DEMO_VIDEO = Path(__file__).resolve().parents[3] / "tests" / "data" / "validation" / "quick-sls-front" / "video.mp4"


def _demo_visits(db: Any, settings: Any, clinic_id: int, patient_id: Any, admin_id: int) -> None:
    """Two visits six weeks apart with the example assessments (findings, program, progress) and,
    on the first, the rendered single-leg squat video queued for analysis."""
    import datetime as dt
    import hashlib
    import shutil
    import uuid

    from medius.web.models import Recording, Visit

    today = dt.date.today()
    visits = []
    for days, reason in ((42, "first visit: anterior knee pain, right"), (0, "review after six weeks of the program")):
        v = Visit(clinic_id=clinic_id, patient_id=patient_id, visit_date=today - dt.timedelta(days=days),
                  reason=reason, clinician_id=admin_id)
        db.add(v)
        db.flush()
        visits.append(v)
    for v, example in zip(visits, ("pfp_right_visit1.yaml", "pfp_right_visit2.yaml"), strict=True):
        path = _EXAMPLES / example
        if not path.is_file():
            continue
        from medius.clinic.records import read_assessment
        from medius.web.clinical_views import _evaluate

        assessment = read_assessment(path).model_copy(update={"visit_id": str(v.id), "date": v.visit_date})
        _evaluate(settings, v, assessment)
    if _DEMO_VIDEO.is_file():
        from medius.web.media.jobs import enqueue_job

        rid = uuid.uuid4()
        folder = settings.media_dir / str(rid)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_DEMO_VIDEO, folder / "input.mp4")
        data = (folder / "input.mp4").read_bytes()
        rec = Recording(
            id=rid, clinic_id=clinic_id, visit_id=visits[0].id, kind="video", task="single-leg-squat", side="auto",
            original_name="rendered-single-leg-squat.mp4", stored_name="input.mp4", size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(), media_info={"note": "RENDERED (a CC0 human, not a person)"},
            created_by=admin_id,
        )
        db.add(rec)
        db.flush()
        enqueue_job(db, rec, {"annotated_video": True, "blur_faces": True})


def create_demo_data(data_dir: Path | None, password: str) -> tuple[str, bool]:
    """A demo clinic, admin and patient with one visit (idempotent). Returns the admin's e-mail
    and whether the admin was created now."""
    from sqlalchemy import select

    from medius.web.auth.service import create_user, get_or_create_clinic
    from medius.web.db import create_db_engine, make_sessionmaker, upgrade_database
    from medius.web.models import Patient, User

    settings = _settings(data_dir)
    engine = create_db_engine(settings.database_url)
    try:
        upgrade_database(engine)
        with make_sessionmaker(engine)() as db:
            c = get_or_create_clinic(db, DEMO_CLINIC)
            demo_admin = select(User).where(User.clinic_id == c.id, User.email == DEMO_EMAIL)
            created = db.scalars(demo_admin).first() is None
            if created:
                create_user(
                    db, clinic_id=c.id, email=DEMO_EMAIL, password=password, name="Demo admin", role="admin"
                )
            if db.scalars(select(Patient).where(Patient.clinic_id == c.id)).first() is None:
                import datetime as dt

                admin = db.scalars(demo_admin).one()
                p = Patient(
                    clinic_id=c.id,
                    family_name="Demo",
                    given_name="Dana",
                    sort_name="demo dana",
                    reference="DEMO-1",
                    sex="female",
                    birth_date=dt.date(1990, 5, 17),
                    notes="Demo patient (not a real person): anterior knee pain on the right when running.",
                )
                db.add(p)
                db.flush()
                _demo_visits(db, settings, c.id, p.id, admin.id)
            db.commit()
    finally:
        engine.dispose()
    return DEMO_EMAIL, created


@guarded
def demo_data(data_dir: DataDir = None) -> None:
    """Create a demo clinic, its admin and a demo patient, and print how to sign in.

    The admin's password comes from MEDIUS_PASSWORD, else a new random one is made and printed
    (only when the admin is created; an existing demo admin keeps its password).
    """
    given = os.environ.get("MEDIUS_PASSWORD")
    password = given or generate_password()
    email, created = create_demo_data(data_dir, password)
    if not created:
        _say(f"demo admin: {email} (exists already; its password is unchanged: medius user set-password {email})")
    elif given:
        _say(f"demo admin: {email} / password from MEDIUS_PASSWORD")
    else:
        _say(f"demo admin: {email} / password: {password} (generated; change it with medius user set-password)")


def generate_password() -> str:
    """A random password of 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


@guarded
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    data_dir: DataDir = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Create the demo clinic, admin and patient first.")
    ] = False,
    workers: Annotated[
        int, typer.Option(help="Web server processes (each with its own analysis worker).", min=1, max=64)
    ] = 1,
) -> None:
    """Start the clinic web app (migrates the database first; Ctrl-C stops it).

    SQLite in the data folder by default; set DATABASE_URL=postgresql+psycopg://... for PostgreSQL.
    """
    import uvicorn

    from medius.web.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"warning: listening on {host}: serve it behind an https reverse proxy and set "
            "MEDIUS_COOKIE_SECURE=1",
            markup=False,
            highlight=False,
        )
        if not os.environ.get("MEDIUS_TRUSTED_HOSTS"):
            if host in ("0.0.0.0", "::", ""):
                console.print(
                    "warning: only requests for localhost are answered until MEDIUS_TRUSTED_HOSTS names "
                    "the host names clients use (e.g. MEDIUS_TRUSTED_HOSTS=clinic.example.org)",
                    markup=False,
                    highlight=False,
                )
            else:
                os.environ["MEDIUS_TRUSTED_HOSTS"] = f"localhost,127.0.0.1,::1,{host}"
    if demo:
        demo_data(data_dir)
    settings = _settings(data_dir)
    console.print(
        f"medius clinic on http://{host}:{port}/ (data in {settings.data_dir})", markup=False, highlight=False
    )
    try:
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", proxy_headers=False)
        else:  # each process builds its app from the environment
            create_app(settings)  # migrate once, before the workers start
            os.environ["MEDIUS_DATA_DIR"] = str(settings.data_dir)
            os.environ["DATABASE_URL"] = settings.database_url
            uvicorn.run(
                "medius.web.app:create_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="warning",
                proxy_headers=False,
            )
    except OSError as exc:
        raise InvalidInputError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def register(app: typer.Typer) -> None:
    """Add the web app's commands to the ``medius`` command line."""
    app.command("serve")(serve)
    app.command("demo-data")(demo_data)
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
