"""Sign-in, sign-out and the clinic's user administration (HTML pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from medius.errors import InvalidInputError
from medius.web import messages
from medius.web.auth.service import (
    authenticate,
    create_session,
    create_user,
    end_session,
    find_clinic,
    only_clinic,
)
from medius.web.auth.throttle import (
    DEVICE_COOKIE,
    DEVICE_MAX_AGE_S,
    HashingBusy,
    SignInThrottle,
    device_account,
    device_cookie,
    device_email_hash,
    device_email_of,
    throttled_answer,
)
from medius.web.deps import (
    SESSION_COOKIE,
    AdminUser,
    CsrfChecked,
    SessionDep,
    SettingsDep,
    render,
)
from medius.web.models import User
from medius.web.security import check_login_csrf, make_login_csrf
from medius.web.settings import Settings

router = APIRouter(tags=["pages"], include_in_schema=False)
LOGIN_CSRF_COOKIE = "medius_login_csrf"
#: the clinic code this browser last signed in with (fills the sign-in form's clinic field)
CLINIC_COOKIE = "medius_clinic"


def _secure(request: Request, settings: Settings) -> bool:
    return settings.cookie_secure if settings.cookie_secure is not None else request.url.scheme == "https"


def safe_next(target: str | None) -> str:
    """Only same-site relative paths (no ``//host``, no scheme) are followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/patients"
    return target


def _login_page(
    request: Request,
    settings: Settings,
    *,
    error: str = "",
    next_url: str = "/patients",
    email: str = "",
    clinic: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    cookie, form_token = make_login_csrf(settings.secret_key)
    clinic = clinic or request.cookies.get(CLINIC_COOKIE, "")[:40]
    resp = render(
        request,
        "login.html",
        {
            "error": error,
            "next_url": safe_next(next_url),
            "email": email,
            "clinic": clinic,
            "login_csrf": form_token,
        },
        status_code=status_code,
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
        max_age=3600,
        path="/login",
    )
    return resp


def _throttled(wait_s: float, message: str, status_code: int = 429) -> Response:
    """A small page for an address that must wait (:func:`throttled_answer`)."""
    status, headers, body = throttled_answer(wait_s, message, status_code)
    retry_after = dict(headers)[b"retry-after"].decode()
    return Response(body, status_code=status, headers={"Retry-After": retry_after}, media_type="text/html")


@router.get("/login", name="login_page")
async def login_page(
    request: Request, settings: SettingsDep, next: str = "/patients", clinic: str = ""
) -> Response:
    # an address that must wait is answered by SignInGate before this route
    return _login_page(request, settings, next_url=next, clinic=clinic[:40])


def client_address(request: Request) -> str:
    """The connecting address (the per-client sign-in throttle's key)."""
    return request.client.host if request.client else "unknown"


@router.post("/login", name="login")
async def login(
    request: Request,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/patients",
    clinic: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Sign in to the account of ``email`` in the clinic whose code (or name) is ``clinic``; a blank
    ``clinic`` means the server's only clinic. The same e-mail may have accounts in several clinics:
    every failure (unknown clinic, unknown e-mail, wrong password, held account) costs one password
    check and gives the same answer, so the form reveals nothing about where an e-mail exists."""
    # async: a refused or throttled try is answered on the event loop, without taking one of the
    # worker threads the signed-in clinicians' pages need; only the password check goes to a thread
    throttle: SignInThrottle = request.app.state.signin_throttle
    client = client_address(request)
    # SignInGate answered an address that had to wait before the body was read; this catches the
    # failures other requests from the address recorded while this one's body was being parsed
    wait_s = throttle.client_wait_s(client)
    if wait_s > 0:
        return _throttled(wait_s, messages.SIGN_IN_THROTTLED)

    def again(error: str, status_code: int, *, clinic: str = clinic) -> HTMLResponse:
        """The form once more, filled in, with ``error``."""
        return _login_page(request, settings, error=error, next_url=next, email=email, clinic=clinic,
                           status_code=status_code)

    if not check_login_csrf(settings.secret_key, request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return again(messages.CSRF_FAILED, 403)
    device = device_email_of(settings.secret_key, request.cookies.get(DEVICE_COOKIE)) or ""
    # a browser that signed in to this e-mail before queues for the password check (any clinic); it
    # passes the account's delay only for the very account it signed in to (checked below)
    known = device.endswith(":" + device_email_hash(email))
    factory = request.app.state.sessionmaker

    def check() -> tuple[User | None, str, str | None]:
        """(user, session token, clinic code); clinic code None: a clinic must be named."""
        with factory() as db:
            found = find_clinic(db, clinic) if clinic.strip() else only_clinic(db)
            if found is None and not clinic.strip():
                return None, "", None
            clinic_id = found.id if found is not None else None
            known_account = found is not None and device == device_account(found.id, email)
            user = authenticate(
                db, settings, clinic_id, email, password, known_device=known_account, verify=throttle.verify
            )
            code = found.code if found is not None else ""
            return user, (create_session(db, settings, user) if user is not None else ""), code

    try:
        user, token, code = await throttle.run(check, known=known)
    except HashingBusy:
        throttle.record_failure(client)  # a try the server had no room for counts against the address
        return _throttled(5, messages.SIGN_IN_BUSY, 503)
    if code is None:  # no clinic named on a server of several: nothing was checked, nothing counted
        return again(messages.SIGN_IN_CLINIC_NEEDED, 422, clinic="")
    if user is None:
        throttle.record_failure(client)
        return again(messages.SIGN_IN_FAILED, 401)
    throttle.record_success(client)
    done = RedirectResponse(safe_next(next), status_code=303)
    done.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
        max_age=settings.session_hours * 3600,
        path="/",
    )
    done.set_cookie(
        DEVICE_COOKIE,
        device_cookie(settings.secret_key, user.clinic_id, email),
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
        max_age=DEVICE_MAX_AGE_S,
        path="/login",
    )
    done.set_cookie(
        CLINIC_COOKIE,
        code,
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
        max_age=DEVICE_MAX_AGE_S,
        path="/login",
    )
    done.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return done


@router.post("/logout", name="logout")
def logout(request: Request, principal: CsrfChecked, db: SessionDep) -> Response:
    end_session(db, request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/users", name="users_page")
def users_page(request: Request, principal: AdminUser, db: SessionDep) -> HTMLResponse:
    users = db.scalars(select(User).where(User.clinic_id == principal.clinic_id).order_by(User.email)).all()
    return render(
        request, "users.html", {"users": users, "error": "", "form": {}, "clinic_code": principal.user.clinic.code}
    )


@router.post("/users", name="create_user_page")
def create_user_page(
    request: Request,
    principal: AdminUser,
    db: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "clinician",
) -> Response:
    from pydantic import ValidationError

    from medius.web.auth.schemas import UserCreate

    try:
        data = UserCreate(email=email, name=name, password=password, role=role)  # type: ignore[arg-type]
        create_user(
            db,
            clinic_id=principal.clinic_id,
            email=data.email,
            password=data.password,
            name=data.name,
            role=data.role,
        )
        db.commit()
    except (ValidationError, InvalidInputError) as exc:
        db.rollback()
        text = (
            str(exc)
            if isinstance(exc, InvalidInputError)
            else "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        )
        users = db.scalars(
            select(User).where(User.clinic_id == principal.clinic_id).order_by(User.email)
        ).all()
        return render(
            request,
            "users.html",
            {
                "users": users,
                "error": text,
                "form": {"email": email, "name": name, "role": role},
                "clinic_code": principal.user.clinic.code,
            },
            status_code=422,
        )
    return RedirectResponse(request.url_for("users_page").path, status_code=303)
