"""Clinicians, clinics, sign-in with lock-out, sessions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medius.errors import InvalidInputError
from medius.web import messages
from medius.web.models import AuthSession, Clinic, User, utcnow
from medius.web.security import (
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    password_problem,
    verify_password,
)
from medius.web.settings import Settings

__all__ = [
    "authenticate",
    "check_password",
    "clinic_code",
    "create_session",
    "create_user",
    "end_session",
    "end_user_sessions",
    "find_clinic",
    "find_user",
    "get_or_create_clinic",
    "only_clinic",
    "set_user_active",
    "set_user_password",
    "unlock_user",
]


def check_password(password: str, *, email: str = "") -> None:
    """Raise :class:`InvalidInputError` with the reason when ``password`` is refused
    (:func:`medius.web.security.password_problem`)."""
    problem = password_problem(password, email=email)
    if problem is not None:
        raise InvalidInputError(problem)


CLINIC_CODE_MAX = 40


def clinic_code(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """The sign-in code of a clinic called ``name``: lower-case ASCII letters, digits and hyphens
    ("North clinic" -> ``north-clinic``), with ``-2``, ``-3`` ... when the code is ``taken``.
    (Migration 0002 holds a frozen copy.)"""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[: CLINIC_CODE_MAX - 6].strip("-")
    base = base or "clinic"
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}-{n}"
    return code


def get_or_create_clinic(db: Session, name: str) -> Clinic:
    """The clinic called ``name`` (or whose code is ``name``), created with a new code if none."""
    name = name.strip()
    if not name:
        raise InvalidInputError("the clinic name is empty")
    clinic = db.scalars(select(Clinic).where(Clinic.name == name)).one_or_none()
    if clinic is None:
        clinic = db.scalars(select(Clinic).where(Clinic.code == name.lower())).one_or_none()
    if clinic is None:
        base = clinic_code(name)
        taken = set(db.scalars(select(Clinic.code).where(Clinic.code.startswith(base))).all())
        clinic = Clinic(name=name, code=clinic_code(name, taken))
        db.add(clinic)
        db.flush()
    return clinic


def find_clinic(db: Session, code_or_name: str) -> Clinic | None:
    """The clinic whose code (or name, letter case ignored) is ``code_or_name``, else None."""
    key = code_or_name.strip().lower()[:200]
    if not key:
        return None
    clinic = db.scalars(select(Clinic).where(Clinic.code == key)).one_or_none()
    if clinic is None:
        clinic = db.scalars(select(Clinic).where(func.lower(Clinic.name) == key)).first()
    return clinic


def only_clinic(db: Session) -> Clinic | None:
    """The clinic when the server holds exactly one, else None (the sign-in form then needs the
    clinic's code; this is a fact about the server, not about any e-mail)."""
    clinics = db.scalars(select(Clinic).limit(2)).all()
    return clinics[0] if len(clinics) == 1 else None


def create_user(
    db: Session, *, clinic_id: int, email: str, password: str, name: str = "", role: str = "clinician"
) -> User:
    """Add a clinician (or an admin) to a clinic. The e-mail is unique within the clinic only
    (:data:`messages.EMAIL_TAKEN` there); whether it has an account in another clinic makes no
    difference, so creating users tells an administrator nothing about other clinics."""
    email = email.strip().lower()
    if role not in ("admin", "clinician"):
        raise InvalidInputError(f"invalid role {role!r}; allowed: admin, clinician")
    check_password(password, email=email)
    taken = select(User.id).where(User.clinic_id == clinic_id, User.email == email)
    if db.scalars(taken).first() is not None:
        raise InvalidInputError(messages.EMAIL_TAKEN)
    user = User(
        clinic_id=clinic_id, email=email, name=name.strip(), role=role, password_hash=hash_password(password)
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise InvalidInputError(messages.EMAIL_TAKEN) from None
    return user


def authenticate(
    db: Session,
    settings: Settings,
    clinic_id: int | None,
    email: str,
    password: str,
    *,
    known_device: bool = False,
    verify: Callable[[str | None, str], bool] | None = None,
) -> User | None:
    """The user of clinic ``clinic_id`` with ``email`` when the password is right and the account
    not held back; counts failures (per account, that is per clinic and e-mail).

    An unknown clinic (``None``) or e-mail costs one Argon2 verification of a dummy hash, like a
    known one, and gives the same None: the answer and its time say nothing about which clinics an
    e-mail has accounts in. ``verify`` checks the password (default
    :func:`medius.web.security.verify_password`; the sign-in page passes the throttle's, which runs
    it in a low-priority child process).

    After ``settings.lockout_attempts`` failures in a row each further failure holds the account
    back for a doubling delay (1 s, 2 s, 4 s ... up to ``settings.lockout_minutes``), during which
    even the right password is refused, except from a ``known_device`` (a browser that signed in to
    this account before): a stranger's failures do not lock the clinician out. Commits.
    """
    email = email.strip().lower()[:320]
    user = (
        db.scalars(select(User).where(User.clinic_id == clinic_id, User.email == email)).one_or_none()
        if clinic_id is not None
        else None
    )
    now = utcnow()
    ok = (verify or verify_password)(user.password_hash if user else None, password)
    if user is None or not user.is_active:
        return None
    held = user.locked_until is not None and user.locked_until > now
    if held and not known_device:
        return None
    if not ok:
        user.failed_logins += 1
        over = user.failed_logins - settings.lockout_attempts
        if over >= 0 and not known_device:
            delay_s = min(settings.lockout_minutes * 60.0, float(2 ** min(over, 30)))
            user.locked_until = now + timedelta(seconds=delay_s)
        db.commit()
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.commit()
    return user


def create_session(db: Session, settings: Settings, user: User) -> str:
    """A new session for ``user``; returns the cookie token (only its hash is stored). Commits."""
    token = new_token()
    now = utcnow()
    db.execute(delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at < now))
    db.add(
        AuthSession(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_token=new_token(),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    db.commit()
    return token


def end_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(AuthSession).where(AuthSession.token_hash == hash_token(token)))
        db.commit()


# ---------------------------------------------------------------------------- account management
def find_user(
    db: Session, *, email: str | None = None, user_id: int | None = None, clinic_id: int | None = None
) -> User:
    """One user by e-mail or id, within ``clinic_id`` when given (an admin sees only their clinic).

    Raises
    ------
    InputNotFoundError
        no such user (or not in the clinic).
    InvalidInputError
        ``email`` without ``clinic_id`` has accounts in several clinics (the message names them:
        this is for the server's operator, the ``medius user`` commands).
    """
    from medius.errors import InputNotFoundError

    q = select(User)
    if email is not None:
        q = q.where(User.email == email.strip().lower())
    if user_id is not None:
        q = q.where(User.id == user_id)
    if clinic_id is not None:
        q = q.where(User.clinic_id == clinic_id)
    # only an e-mail without a clinic can match several accounts (one per clinic)
    found = db.scalars(q.order_by(User.clinic_id)).all()
    if len(found) > 1:
        codes = ", ".join(u.clinic.code for u in found)
        raise InvalidInputError(
            f"{email.strip().lower() if email else ''} has an account in {len(found)} clinics ({codes}); "
            "name one with --clinic"
        )
    if not found:
        raise InputNotFoundError(messages.USER_NOT_FOUND)
    return found[0]


def unlock_user(db: Session, user: User) -> None:
    """Clear the failed sign-ins and any delay. Commits."""
    user.failed_logins = 0
    user.locked_until = None
    db.commit()


def end_user_sessions(db: Session, user: User, *, keep_token_hash: str | None = None) -> int:
    """End the user's sign-ins (all, or all but ``keep_token_hash``). Commits; returns how many."""
    q = delete(AuthSession).where(AuthSession.user_id == user.id)
    if keep_token_hash:
        q = q.where(AuthSession.token_hash != keep_token_hash)
    n = db.execute(q).rowcount  # type: ignore[attr-defined]
    db.commit()
    return int(n or 0)


def set_user_active(db: Session, user: User, active: bool) -> None:
    """Deactivate (its sign-ins end, it cannot sign in) or reactivate a user. Commits."""
    user.is_active = active
    if not active:
        db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    db.commit()


def set_user_password(db: Session, user: User, password: str, *, keep_token_hash: str | None = None) -> None:
    """A new password (checked by :func:`check_password`); ends the user's other sign-ins, clears
    the failures. Commits."""
    check_password(password, email=user.email)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    end_user_sessions(db, user, keep_token_hash=keep_token_hash)
