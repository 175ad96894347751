"""Patients of one clinic: list, search, create, update, delete (with every file)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from medius.web import messages
from medius.web.models import Job, Patient, ProgramSession, Recording, Visit
from medius.web.patients.schemas import PatientCreate, PatientUpdate
from medius.web.settings import Settings

__all__ = ["create_patient", "delete_patient", "get_patient", "list_patients", "sort_name", "update_patient"]


def sort_name(family_name: str, given_name: str) -> str:
    return f"{family_name} {given_name}".strip().lower()[:401]


def _like_prefix(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: the highest page number looked up (a huge ``?page=`` would overflow the database's OFFSET)
MAX_PAGE = 1_000_000


def clamp_page(page: int) -> int:
    """``page`` within 1 .. :data:`MAX_PAGE`."""
    return min(max(1, page), MAX_PAGE)


def list_patients(
    db: Session, clinic_id: int, *, q: str = "", page: int = 1, page_size: int = 25
) -> tuple[Sequence[Any], int]:
    """One page of a clinic's patients in name order, optionally matching ``q`` (name or reference)."""
    page = clamp_page(page)
    cond = [Patient.clinic_id == clinic_id]
    q = q.strip().lower()[:200]
    if q:
        pat = f"%{_like_prefix(q)}%"
        cond.append(
            or_(
                Patient.sort_name.like(pat, escape="\\"), func.lower(Patient.reference).like(pat, escape="\\")
            )
        )
    total = db.scalar(select(func.count()).select_from(Patient).where(*cond)) or 0
    # plain rows, not ORM objects: a list page only reads them (about twice as fast)
    rows = db.execute(
        select(*Patient.__table__.columns)
        .where(*cond)
        .order_by(Patient.sort_name, Patient.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return rows, total


def get_patient(db: Session, clinic_id: int, patient_id: uuid.UUID | str) -> Patient:
    """The patient if it belongs to ``clinic_id``; else 404 (another clinic's id is not revealed)."""
    try:
        pid = patient_id if isinstance(patient_id, uuid.UUID) else uuid.UUID(str(patient_id))
    except ValueError:
        raise HTTPException(404, messages.PATIENT_NOT_FOUND) from None
    patient = db.scalars(
        select(Patient).where(Patient.id == pid, Patient.clinic_id == clinic_id)
    ).one_or_none()
    if patient is None:
        raise HTTPException(404, messages.PATIENT_NOT_FOUND)
    return patient


def create_patient(db: Session, clinic_id: int, data: PatientCreate) -> Patient:
    patient = Patient(
        clinic_id=clinic_id, sort_name=sort_name(data.family_name, data.given_name), **data.model_dump()
    )
    db.add(patient)
    db.commit()
    return patient


def update_patient(db: Session, patient: Patient, data: PatientUpdate) -> Patient:
    for key, value in data.model_dump(exclude_unset=True).items():
        if key == "family_name" and value is None:
            continue
        setattr(patient, key, value if value is not None or key in ("birth_date", "sex") else "")
    patient.sort_name = sort_name(patient.family_name, patient.given_name)
    db.commit()
    return patient


def delete_patient(db: Session, settings: Settings, patient: Patient) -> list[str]:
    """Delete a patient with every visit, recording, job, session log and file. Returns the folders removed.

    Rows go first (one transaction), then the files; a running analysis of a deleted recording
    notices that its job is gone and throws its output away.
    """
    visit_ids = select(Visit.id).where(Visit.patient_id == patient.id, Visit.clinic_id == patient.clinic_id)
    rec_ids = db.scalars(select(Recording.id).where(Recording.visit_id.in_(visit_ids))).all()
    db.execute(delete(Job).where(Job.recording_id.in_(rec_ids)))
    db.execute(delete(Recording).where(Recording.id.in_(rec_ids)))
    db.execute(delete(ProgramSession).where(ProgramSession.visit_id.in_(visit_ids)))
    db.execute(delete(Visit).where(Visit.patient_id == patient.id))
    db.execute(delete(Patient).where(Patient.id == patient.id))
    db.commit()
    removed = []
    for rid in rec_ids:
        folder = settings.media_dir / str(rid)
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(str(folder))
    return removed
