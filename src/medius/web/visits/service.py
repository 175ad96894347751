"""Visits of a patient and what they hold (recordings, analyses)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from medius.web import messages
from medius.web.models import Job, Patient, ProgramSession, Recording, Visit
from medius.web.settings import Settings
from medius.web.visits.schemas import SessionEntry, VisitCreate, VisitUpdate

__all__ = [
    "add_session",
    "create_visit",
    "delete_visit",
    "get_visit",
    "patient_visits",
    "session_log",
    "update_visit",
    "visit_overview",
]


def _uuid(value: uuid.UUID | str, message: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise HTTPException(404, message) from None


def get_visit(db: Session, clinic_id: int, visit_id: uuid.UUID | str) -> Visit:
    """The visit if it belongs to ``clinic_id``; else 404."""
    vid = _uuid(visit_id, messages.VISIT_NOT_FOUND)
    visit = db.scalars(
        select(Visit)
        .where(Visit.id == vid, Visit.clinic_id == clinic_id)
        .options(selectinload(Visit.recordings).selectinload(Recording.job))
    ).one_or_none()
    if visit is None:
        raise HTTPException(404, messages.VISIT_NOT_FOUND)
    return visit


def patient_visits(db: Session, patient: Patient) -> Sequence[Visit]:
    return db.scalars(
        select(Visit)
        .where(Visit.patient_id == patient.id, Visit.clinic_id == patient.clinic_id)
        .order_by(Visit.visit_date.desc(), Visit.created_at.desc())
        .options(selectinload(Visit.recordings).selectinload(Recording.job))
    ).all()


def visit_overview(db: Session, patient: Patient) -> list[dict[str, Any]]:
    """Each visit with its recordings and their analysis status, newest first."""
    out = []
    for v in patient_visits(db, patient):
        out.append({"visit": v, "recordings": [(r, r.job) for r in v.recordings]})
    return out


def create_visit(db: Session, patient: Patient, data: VisitCreate, clinician_id: int | None) -> Visit:
    visit = Visit(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        clinician_id=clinician_id,
        visit_date=data.visit_date,
        reason=data.reason,
    )
    db.add(visit)
    db.commit()
    return visit


def update_visit(db: Session, visit: Visit, data: VisitUpdate) -> Visit:
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(visit, key, value)
    db.commit()
    return visit


def delete_visit(db: Session, settings: Settings, visit: Visit) -> None:
    """Delete a visit with its recordings, analyses, session log and files."""
    rec_ids = [r.id for r in visit.recordings]
    db.execute(delete(Job).where(Job.recording_id.in_(rec_ids)))
    db.execute(delete(Recording).where(Recording.id.in_(rec_ids)))
    db.execute(delete(ProgramSession).where(ProgramSession.visit_id == visit.id))
    db.execute(delete(Visit).where(Visit.id == visit.id))
    db.commit()
    for rid in rec_ids:
        shutil.rmtree(settings.media_dir / str(rid), ignore_errors=True)


def session_log(db: Session, visit: Visit) -> Sequence[ProgramSession]:
    """The session log of the visit's program, oldest first."""
    return db.scalars(
        select(ProgramSession)
        .where(ProgramSession.visit_id == visit.id, ProgramSession.clinic_id == visit.clinic_id)
        .order_by(ProgramSession.session_date, ProgramSession.created_at)
    ).all()


def add_session(db: Session, visit: Visit, entry: SessionEntry) -> ProgramSession:
    """Log one exercise session of the visit's program."""
    session = ProgramSession(clinic_id=visit.clinic_id, visit_id=visit.id, **entry.model_dump())
    db.add(session)
    db.commit()
    return session
