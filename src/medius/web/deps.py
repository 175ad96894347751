"""Request dependencies shared by every feature: the database session, the signed-in clinician,
the CSRF check and page rendering (``Annotated`` aliases, so routes read as plain signatures)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from medius.web import messages
from medius.web.models import AuthSession, Clinic, User, utcnow
from medius.web.security import hash_token, tokens_equal
from medius.web.settings import Settings

__all__ = [
    "SESSION_COOKIE",
    "AdminUser",
    "CsrfChecked",
    "CurrentUser",
    "NotSignedIn",
    "Principal",
    "SessionDep",
    "SettingsDep",
    "get_db",
    "render",
]

SESSION_COOKIE = "medius_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in page, the API answers 401."""


@dataclass(frozen=True)
class ClinicView:
    id: int
    name: str
    code: str  #: the clinic's sign-in code


@dataclass(frozen=True)
class UserView:
    """The signed-in user's columns the pages need (read without the ORM: it runs on every request)."""

    id: int
    email: str
    name: str
    role: str
    clinic_id: int
    clinic: ClinicView

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass
class Principal:
    """The signed-in clinician of a request."""

    user: UserView
    csrf_token: str
    token_hash: str

    @property
    def clinic_id(self) -> int:
        return self.user.clinic_id

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session per request (async only so that FastAPI does not hop threads for it: making a
    session does no I/O; queries run in the route's worker thread)."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_PRINCIPAL_QUERY = (
    select(
        AuthSession.csrf_token,
        AuthSession.expires_at,
        AuthSession.last_seen_at,
        User.id,
        User.email,
        User.name,
        User.role,
        User.is_active,
        User.clinic_id,
        Clinic.name,
        Clinic.code,
    )
    .join(User, User.id == AuthSession.user_id)
    .join(Clinic, Clinic.id == User.clinic_id)
)


def get_principal(request: Request, db: SessionDep, settings: SettingsDep) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        raise NotSignedIn()
    token_hash = hash_token(token)
    row = db.execute(_PRINCIPAL_QUERY.where(AuthSession.token_hash == token_hash)).one_or_none()
    now = utcnow()
    if row is None:
        raise NotSignedIn()
    csrf, expires_at, last_seen_at, uid, email, name, role, is_active, clinic_id, clinic_name, clinic_code = row
    if expires_at <= now or not is_active:
        db.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))
        db.commit()
        raise NotSignedIn()
    # sliding expiry, written at most every five minutes
    if now - last_seen_at > timedelta(minutes=5):
        db.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == token_hash)
            .values(last_seen_at=now, expires_at=now + timedelta(hours=settings.session_hours))
        )
        db.commit()
    user = UserView(
        id=uid,
        email=email,
        name=name,
        role=role,
        clinic_id=clinic_id,
        clinic=ClinicView(id=clinic_id, name=clinic_name, code=clinic_code),
    )
    principal = Principal(user=user, csrf_token=csrf, token_hash=token_hash)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(get_principal)]


async def check_csrf(request: Request, principal: CurrentUser) -> Principal:
    """Refuse a state-changing request without the session's CSRF token (header or form field)."""
    if request.method in SAFE_METHODS:
        return principal
    token = request.headers.get("x-csrf-token")
    if not token:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    if not tokens_equal(token, principal.csrf_token):
        raise HTTPException(status_code=403, detail=messages.CSRF_FAILED)
    return principal


CsrfChecked = Annotated[Principal, Depends(check_csrf)]


def require_admin(principal: CsrfChecked) -> Principal:
    if not principal.is_admin:
        raise HTTPException(status_code=403, detail=messages.ADMIN_ONLY)
    return principal


AdminUser = Annotated[Principal, Depends(require_admin)]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the request, the signed-in clinician and the CSRF token in its context."""
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
    }
    ctx.update(context or {})
    response: HTMLResponse = request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status_code)
    return response
