"""API schemas of patients (separate from the ORM models)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Sex = Literal["female", "male", "other"]


def _strip(v: object) -> object:
    return v.strip() if isinstance(v, str) else v


class PatientBase(BaseModel):
    family_name: str = Field(min_length=1, max_length=200)
    given_name: str = Field(default="", max_length=200)
    reference: str = Field(default="", max_length=100, description="the clinic's own patient number")
    birth_date: date | None = None
    sex: Sex | None = None
    notes: str = Field(default="", max_length=10000)

    _strip_text = field_validator("family_name", "given_name", "reference", "notes", mode="before")(_strip)

    @field_validator("birth_date")
    @classmethod
    def _birth_date_in_past(cls, v: date | None) -> date | None:
        if v is not None and (v > date.today() or v.year < 1900):
            raise ValueError(f"must be between 1900-01-01 and today, got {v.isoformat()}")
        return v


class PatientCreate(PatientBase):
    pass


class PatientUpdate(BaseModel):
    family_name: str | None = Field(default=None, min_length=1, max_length=200)
    given_name: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=100)
    birth_date: date | None = None
    sex: Sex | None = None
    notes: str | None = Field(default=None, max_length=10000)

    _strip_text = field_validator("family_name", "given_name", "reference", "notes", mode="before")(_strip)


class PatientPublic(PatientBase):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class PatientsPublic(BaseModel):
    data: list[PatientPublic]
    count: int
    page: int
    page_size: int
