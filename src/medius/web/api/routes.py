"""The JSON API beside the pages (documented by the OpenAPI schema at ``/api/openapi.json``).

Authentication is the same session cookie as the pages; every state-changing request carries the
session's CSRF token in the ``X-CSRF-Token`` header (``GET /api/me`` returns it).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from sqlalchemy import select

from medius.errors import InvalidInputError
from medius.web import messages
from medius.web.auth.schemas import Me, UserCreate, UserPublic
from medius.web.auth.service import create_user
from medius.web.deps import AdminUser, CsrfChecked, CurrentUser, SessionDep, SettingsDep
from medius.web.models import Patient, ProgramSession, User, Visit
from medius.web.patients.schemas import PatientCreate, PatientPublic, PatientsPublic, PatientUpdate
from medius.web.patients.service import (
    clamp_page,
    create_patient,
    delete_patient,
    get_patient,
    list_patients,
    update_patient,
)
from medius.web.visits.schemas import (
    JobPublic,
    RecordingPublic,
    RecordingWithJob,
    SessionEntry,
    SessionPublic,
    VisitCreate,
    VisitPublic,
    VisitUpdate,
)
from medius.web.visits.service import (
    add_session,
    create_visit,
    delete_visit,
    get_visit,
    patient_visits,
    session_log,
    update_visit,
)

router = APIRouter(prefix="/api")
_404: dict[int | str, dict[str, Any]] = {404: {"description": messages.NOT_FOUND}}
_403: dict[int | str, dict[str, Any]] = {403: {"description": messages.CSRF_FAILED}}


@router.get("/me", response_model=Me, tags=["auth"])
def me(principal: CurrentUser, db: SessionDep) -> dict[str, Any]:
    """The signed-in clinician, with the CSRF token the API's state-changing requests must send."""
    u = db.get(User, principal.user.id)
    return {
        **UserPublic.model_validate(u).model_dump(),
        "clinic_name": principal.user.clinic.name,
        "csrf_token": principal.csrf_token,
    }


@router.get("/users", response_model=list[UserPublic], tags=["auth"])
def list_users(principal: AdminUser, db: SessionDep) -> Any:
    """The clinic's users (administrators only)."""
    return db.scalars(select(User).where(User.clinic_id == principal.clinic_id).order_by(User.email)).all()


@router.post("/users", response_model=UserPublic, status_code=201, tags=["auth"], responses=_403)
def add_user(body: UserCreate, principal: AdminUser, db: SessionDep) -> Any:
    """Create a clinician (or another administrator) in the administrator's clinic."""
    try:
        user = create_user(
            db,
            clinic_id=principal.clinic_id,
            email=body.email,
            password=body.password,
            name=body.name,
            role=body.role,
        )
    except InvalidInputError as exc:
        raise HTTPException(409 if exc.message == messages.EMAIL_TAKEN else 422, exc.message) from None
    db.commit()
    return user


@router.get("/patients", response_model=PatientsPublic, tags=["patients"])
def api_list_patients(
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    q: str = "",
    page: int = 1,
    page_size: int | None = None,
) -> dict[str, Any]:
    """One page of the clinic's patients in name order; ``q`` matches the name or the reference."""
    size = min(max(1, page_size or settings.page_size), 200)
    rows, total = list_patients(db, principal.clinic_id, q=q, page=page, page_size=size)
    return {"data": rows, "count": total, "page": clamp_page(page), "page_size": size}


@router.post("/patients", response_model=PatientPublic, status_code=201, tags=["patients"], responses=_403)
def api_create_patient(body: PatientCreate, principal: CsrfChecked, db: SessionDep) -> Patient:
    return create_patient(db, principal.clinic_id, body)


@router.get("/patients/{patient_id}", response_model=PatientPublic, tags=["patients"], responses=_404)
def api_get_patient(patient_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> Patient:
    return get_patient(db, principal.clinic_id, patient_id)


@router.patch(
    "/patients/{patient_id}", response_model=PatientPublic, tags=["patients"], responses={**_404, **_403}
)
def api_update_patient(
    patient_id: uuid.UUID, body: PatientUpdate, principal: CsrfChecked, db: SessionDep
) -> Patient:
    return update_patient(db, get_patient(db, principal.clinic_id, patient_id), body)


@router.delete("/patients/{patient_id}", status_code=204, tags=["patients"], responses={**_404, **_403})
def api_delete_patient(
    patient_id: uuid.UUID, principal: CsrfChecked, db: SessionDep, settings: SettingsDep
) -> Response:
    """Delete a patient with every visit, recording, analysis and file (gone from disk and database)."""
    delete_patient(db, settings, get_patient(db, principal.clinic_id, patient_id))
    return Response(status_code=204)


@router.get(
    "/patients/{patient_id}/visits", response_model=list[VisitPublic], tags=["visits"], responses=_404
)
def api_list_visits(patient_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> Any:
    return patient_visits(db, get_patient(db, principal.clinic_id, patient_id))


@router.post(
    "/patients/{patient_id}/visits",
    response_model=VisitPublic,
    status_code=201,
    tags=["visits"],
    responses={**_404, **_403},
)
def api_create_visit(
    patient_id: uuid.UUID, body: VisitCreate, principal: CsrfChecked, db: SessionDep
) -> Visit:
    return create_visit(db, get_patient(db, principal.clinic_id, patient_id), body, principal.user.id)


@router.get("/visits/{visit_id}", response_model=VisitPublic, tags=["visits"], responses=_404)
def api_get_visit(visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> Visit:
    return get_visit(db, principal.clinic_id, visit_id)


@router.patch("/visits/{visit_id}", response_model=VisitPublic, tags=["visits"], responses={**_404, **_403})
def api_update_visit(visit_id: uuid.UUID, body: VisitUpdate, principal: CsrfChecked, db: SessionDep) -> Visit:
    return update_visit(db, get_visit(db, principal.clinic_id, visit_id), body)


@router.delete("/visits/{visit_id}", status_code=204, tags=["visits"], responses={**_404, **_403})
def api_delete_visit(
    visit_id: uuid.UUID, principal: CsrfChecked, db: SessionDep, settings: SettingsDep
) -> Response:
    """Delete a visit with its recordings, analyses, session log and files (gone from disk and database)."""
    delete_visit(db, settings, get_visit(db, principal.clinic_id, visit_id))
    return Response(status_code=204)


@router.get(
    "/visits/{visit_id}/sessions", response_model=list[SessionPublic], tags=["visits"], responses=_404
)
def api_list_sessions(visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> Any:
    """The session log of the visit's program (oldest first)."""
    return session_log(db, get_visit(db, principal.clinic_id, visit_id))


@router.post(
    "/visits/{visit_id}/sessions",
    response_model=SessionPublic,
    status_code=201,
    tags=["visits"],
    responses={**_404, **_403},
)
def api_add_session(
    visit_id: uuid.UUID, body: SessionEntry, principal: CsrfChecked, db: SessionDep
) -> ProgramSession:
    """Log one exercise session of the visit's program (pain and effort 0–10)."""
    return add_session(db, get_visit(db, principal.clinic_id, visit_id), body)


@router.get(
    "/visits/{visit_id}/recordings",
    response_model=list[RecordingWithJob],
    tags=["recordings"],
    responses=_404,
)
def api_list_recordings(visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> list[dict[str, Any]]:
    """The visit's recordings, each with its analysis job."""
    visit = get_visit(db, principal.clinic_id, visit_id)
    return [
        {
            "recording": RecordingPublic.model_validate(r).model_dump(mode="json"),
            "job": JobPublic.model_validate(r.job).model_dump(mode="json") if r.job else None,
        }
        for r in visit.recordings
    ]
