"""Clinicians, clinics, sign-in with lock-out, sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medius.errors import InvalidInputError
from medius.web import messages
from medius.web.models import AuthSession, Clinic, User, utcnow
from medius.web.security import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)
from medius.web.settings import Settings

__all__ = ["authenticate", "create_session", "create_user", "end_session", "get_or_create_clinic"]


def get_or_create_clinic(db: Session, name: str) -> Clinic:
    name = name.strip()
    if not name:
        raise InvalidInputError("the clinic name is empty")
    clinic = db.scalars(select(Clinic).where(Clinic.name == name)).one_or_none()
    if clinic is None:
        clinic = Clinic(name=name)
        db.add(clinic)
        db.flush()
    return clinic


def create_user(
    db: Session, *, clinic_id: int, email: str, password: str, name: str = "", role: str = "clinician"
) -> User:
    """Add a clinician (or an admin) to a clinic; the e-mail is unique across the app."""
    email = email.strip().lower()
    if role not in ("admin", "clinician"):
        raise InvalidInputError(f"invalid role {role!r}; allowed: admin, clinician")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if db.scalars(select(User.id).where(User.email == email)).first() is not None:
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


def authenticate(db: Session, settings: Settings, email: str, password: str) -> User | None:
    """The user when the password is right and the account not locked; counts failures.

    After ``settings.lockout_attempts`` failures in a row the account is locked for
    ``settings.lockout_minutes``, even for the right password. Commits.
    """
    email = email.strip().lower()[:320]
    user = db.scalars(select(User).where(User.email == email)).one_or_none()
    now = utcnow()
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not user.is_active:
        return None
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not ok:
        user.failed_logins += 1
        if user.failed_logins >= settings.lockout_attempts:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
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
