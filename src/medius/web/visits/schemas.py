"""API schemas of visits (separate from the ORM models)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class VisitCreate(BaseModel):
    visit_date: date = Field(default_factory=date.today)
    reason: str = Field(default="", max_length=10000)

    @field_validator("visit_date")
    @classmethod
    def _plausible(cls, v: date) -> date:
        if v.year < 1990 or v > date.today().replace(year=date.today().year + 1):
            raise ValueError(f"must be a real visit date (1990 to next year), got {v.isoformat()}")
        return v


class VisitUpdate(BaseModel):
    visit_date: date | None = None
    reason: str | None = Field(default=None, max_length=10000)


class SessionEntry(BaseModel):
    """One exercise session of a visit's program, as the patient reported it."""

    session_date: date
    completed: bool = True
    pain_nprs: float | None = Field(default=None, ge=0, le=10)
    rpe: float | None = Field(default=None, ge=0, le=10)
    notes: str = Field(default="", max_length=2000)


class SessionPublic(SessionEntry):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    visit_id: uuid.UUID
    created_at: datetime


class RecordingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: str
    task: str
    side: str
    original_name: str
    size_bytes: int
    sha256: str
    created_at: datetime


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    recording_id: uuid.UUID
    status: str
    attempts: int
    stage: str
    progress_done: int
    progress_total: int | None
    error: str
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: dict[str, Any] | None


class UploadAccepted(BaseModel):
    """An accepted upload: the stored recording, its queued analysis job and the result page."""

    recording: RecordingPublic
    job: JobPublic
    url: str = Field(description="the recording's result page (shows the live progress)")


class RecordingWithJob(BaseModel):
    recording: RecordingPublic
    job: JobPublic | None


class VisitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    patient_id: uuid.UUID
    visit_date: date
    reason: str
    assessment: dict[str, Any] | None
    findings: dict[str, Any] | None
    program: dict[str, Any] | None
    program_status: str | None
    created_at: datetime
    updated_at: datetime
