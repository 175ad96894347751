"""Account management for a clinic's administrators (pages and JSON API): unlock a user, deactivate
or reactivate them, set a new password, end their sign-ins. An administrator acts only on the
users of their own clinic and cannot deactivate themselves (a clinic must keep an admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from medius.errors import InputNotFoundError, InvalidInputError
from medius.web import messages
from medius.web.auth.schemas import UserPublic
from medius.web.auth.service import (
    end_user_sessions,
    find_user,
    set_user_active,
    set_user_password,
    unlock_user,
)
from medius.web.deps import AdminUser, Principal, SessionDep
from medius.web.models import User

__all__ = ["api", "router"]

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["auth"])
ACTIONS = ("unlock", "deactivate", "activate", "end-sessions")
_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": messages.ADMIN_ONLY},
    404: {"description": messages.USER_NOT_FOUND},
    409: {"description": messages.NOT_YOURSELF},
}


class PasswordSet(BaseModel):
    password: str = Field(min_length=1, max_length=1000)


def _user(db: Any, principal: Principal, user_id: int) -> User:
    try:
        return find_user(db, user_id=user_id, clinic_id=principal.clinic_id)
    except InputNotFoundError:
        raise HTTPException(404, messages.USER_NOT_FOUND) from None


def apply_action(db: Any, principal: Principal, user_id: int, action: str) -> User:
    """One of :data:`ACTIONS` on a user of the admin's clinic."""
    user = _user(db, principal, user_id)
    if action == "unlock":
        unlock_user(db, user)
    elif action in ("deactivate", "activate"):
        if user.id == principal.user.id:
            raise HTTPException(409, messages.NOT_YOURSELF)
        set_user_active(db, user, action == "activate")
    elif action == "end-sessions":
        end_user_sessions(
            db, user, keep_token_hash=principal.token_hash if user.id == principal.user.id else None
        )
    else:
        raise HTTPException(404, messages.NOT_FOUND)
    db.refresh(user)
    return user


def apply_password(db: Any, principal: Principal, user_id: int, password: str) -> User:
    user = _user(db, principal, user_id)
    try:
        set_user_password(
            db, user, password, keep_token_hash=principal.token_hash if user.id == principal.user.id else None
        )
    except InvalidInputError as exc:
        raise HTTPException(422, exc.message) from None
    db.refresh(user)
    return user


@router.post("/users/{user_id}/password", name="user_password_page")
def user_password_page(
    request: Request,
    user_id: int,
    principal: AdminUser,
    db: SessionDep,
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    apply_password(db, principal, user_id, password)
    return RedirectResponse(request.url_for("users_page").path, status_code=303)


@router.post("/users/{user_id}/{action}", name="user_action_page")
def user_action_page(
    request: Request, user_id: int, action: str, principal: AdminUser, db: SessionDep
) -> Response:
    apply_action(db, principal, user_id, action)
    return RedirectResponse(request.url_for("users_page").path, status_code=303)


@api.post(
    "/users/{user_id}/password", response_model=UserPublic, responses=_RESPONSES, name="set_user_password"
)
def api_set_password(user_id: int, body: PasswordSet, principal: AdminUser, db: SessionDep) -> User:
    """Set a new password for a user of the clinic (administrators only); their other sign-ins end."""
    return apply_password(db, principal, user_id, body.password)


@api.post("/users/{user_id}/unlock", response_model=UserPublic, responses=_RESPONSES, name="unlock_user")
def api_unlock(user_id: int, principal: AdminUser, db: SessionDep) -> User:
    """Clear a user's failed sign-ins and sign-in delay."""
    return apply_action(db, principal, user_id, "unlock")


@api.post(
    "/users/{user_id}/deactivate", response_model=UserPublic, responses=_RESPONSES, name="deactivate_user"
)
def api_deactivate(user_id: int, principal: AdminUser, db: SessionDep) -> User:
    """Stop a user from signing in; their sign-ins end at once."""
    return apply_action(db, principal, user_id, "deactivate")


@api.post("/users/{user_id}/activate", response_model=UserPublic, responses=_RESPONSES, name="activate_user")
def api_activate(user_id: int, principal: AdminUser, db: SessionDep) -> User:
    """Let a deactivated user sign in again."""
    return apply_action(db, principal, user_id, "activate")


@api.post(
    "/users/{user_id}/end-sessions", response_model=UserPublic, responses=_RESPONSES, name="end_user_sessions"
)
def api_end_sessions(user_id: int, principal: AdminUser, db: SessionDep) -> User:
    """End a user's sign-ins (the admin's own current one is kept)."""
    return apply_action(db, principal, user_id, "end-sessions")
