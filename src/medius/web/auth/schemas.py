"""API schemas of clinicians and sign-in (separate from the ORM models)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from medius.web.security import MIN_PASSWORD_LENGTH

Role = Literal["admin", "clinician"]


class UserCreate(BaseModel):
    email: EmailStr
    name: str = Field(default="", max_length=200)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1000)
    role: Role = "clinician"


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    name: str
    role: Role
    is_active: bool
    clinic_id: int
    created_at: datetime
    last_login_at: datetime | None


class Me(UserPublic):
    clinic_name: str
    csrf_token: str
