"""ORM models of the clinic web app (SQLAlchemy 2 typed mappings).

These are the database schema; the API contract lives in each feature's ``schemas.py``.
Every clinical row carries ``clinic_id`` and every query filters on it: a clinician only
ever reaches the rows of their own clinic. The schema changes only through the Alembic
migrations in :mod:`medius.web.migrations`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AuthSession",
    "Base",
    "Clinic",
    "Job",
    "Patient",
    "ProgramSession",
    "Recording",
    "User",
    "Visit",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, in UTC, without microseconds' worth of backend differences (stored tz-aware)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone: it is added back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Clinic(Base):
    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: the clinic's sign-in code (lower-case letters, digits and hyphens, made from the name): the
    #: sign-in form asks for it, since the same e-mail may have an account in several clinics
    code: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A clinician or administrator of one clinic. The e-mail is unique within the clinic only: the
    same person may hold an account in two clinics, and one clinic cannot learn about the other's."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("clinic_id", "email", name="uq_users_clinic_email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="clinician")  # admin | clinician
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    clinic: Mapped[Clinic] = relationship(lazy="joined")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class AuthSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "auth_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

    user: Mapped[User] = relationship(lazy="joined")


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_clinic_sort", "clinic_id", "sort_name", "id"),
        Index("ix_patients_clinic_reference", "clinic_id", "reference"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    family_name: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str] = mapped_column(String(200), default="")
    #: lower-case "family given", the list order and the prefix search key
    sort_name: Mapped[str] = mapped_column(String(401))
    reference: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    sex: Mapped[str | None] = mapped_column(String(10), default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    visits: Mapped[list[Visit]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Visit.visit_date.desc()",
    )


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_clinic_patient_date", "clinic_id", "patient_id", "visit_date"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    visit_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: the clinical assessment (``medius.clinic.records.Assessment`` as JSON)
    assessment: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    #: findings evaluated from the assessment and the movement results
    findings: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    #: the exercise program (``medius.clinic.program.Program`` as JSON), editable until given
    program: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    program_status: Mapped[str | None] = mapped_column(String(20), default=None)  # draft | given
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="visits")
    recordings: Mapped[list[Recording]] = relationship(
        back_populates="visit",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Recording.created_at",
    )


class Recording(Base):
    """An uploaded video or marker file. Stored under a generated name outside any web root."""

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_clinic_visit", "clinic_id", "visit_id"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # video | markers
    task: Mapped[str] = mapped_column(String(50))
    side: Mapped[str] = mapped_column(String(10), default="auto")
    original_name: Mapped[str] = mapped_column(String(255), default="")
    stored_name: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    media_info: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    visit: Mapped[Visit] = relationship(back_populates="recordings")
    job: Mapped[Job | None] = relationship(
        back_populates="recording", cascade="all, delete-orphan", passive_deletes=True, uselist=False
    )


class Job(Base):
    """One analysis of one recording; claimed atomically by a worker, recorded once."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_queued", "status", "queued_at"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), unique=True
    )
    #: queued | running | done | not_judgeable | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stage: Mapped[str] = mapped_column(String(100), default="")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    worker_id: Mapped[str | None] = mapped_column(String(200), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    #: summary of result.json (status, reasons, per-side metric means) for lists and progress charts
    summary: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    #: how many times a result was recorded (the queue guarantees at most 1)
    results_recorded: Mapped[int] = mapped_column(Integer, default=0)

    recording: Mapped[Recording] = relationship(back_populates="job")

    @property
    def finished(self) -> bool:
        return self.status in ("done", "not_judgeable", "failed")


class ProgramSession(Base):
    """One exercise session of a visit's program, as the patient reported it."""

    __tablename__ = "program_sessions"
    __table_args__ = (Index("ix_program_sessions_clinic_visit", "clinic_id", "visit_id", "session_date"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    session_date: Mapped[date] = mapped_column(Date)
    completed: Mapped[bool] = mapped_column(Boolean, default=True)
    pain_nprs: Mapped[float | None] = mapped_column(Float, default=None)
    rpe: Mapped[float | None] = mapped_column(Float, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
