"""Patient pages: list (search, pages), create, edit, show with visits, delete."""

from __future__ import annotations

import math
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medius.web.deps import CsrfChecked, CurrentUser, SessionDep, SettingsDep, render
from medius.web.forms import parse_form
from medius.web.patients.schemas import PatientCreate, PatientUpdate
from medius.web.patients.service import (
    clamp_page,
    create_patient,
    delete_patient,
    get_patient,
    list_patients,
    update_patient,
)

router = APIRouter(include_in_schema=False)


@router.get("/", name="home")
def home() -> Response:
    return RedirectResponse("/patients", status_code=303)


@router.get("/patients", name="patients_page")
def patients_page(
    request: Request,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    q: str = "",
    page: int = 1,
) -> HTMLResponse:
    rows, total = list_patients(db, principal.clinic_id, q=q, page=page, page_size=settings.page_size)
    pages = max(1, math.ceil(total / settings.page_size))
    return render(
        request,
        "patients.html",
        {"patients": rows, "total": total, "q": q, "page": min(clamp_page(page), pages), "pages": pages},
    )


@router.get("/patients/new", name="new_patient_page")
def new_patient_page(request: Request, principal: CurrentUser) -> HTMLResponse:
    return render(request, "patient_form.html", {"patient": None, "form": {}, "errors": {}})


@router.post("/patients/new", name="create_patient_page")
async def create_patient_page(request: Request, principal: CsrfChecked) -> Response:
    form = dict(await request.form())
    data, errors = parse_form(PatientCreate, form)
    if data is None:
        return render(
            request, "patient_form.html", {"patient": None, "form": form, "errors": errors}, status_code=422
        )
    db = request.app.state.sessionmaker()
    try:
        patient = create_patient(db, principal.clinic_id, data)
        return RedirectResponse(f"/patients/{patient.id}", status_code=303)
    finally:
        db.close()


@router.get("/patients/{patient_id}", name="patient_page")
def patient_page(
    request: Request, patient_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> HTMLResponse:
    from medius.web.visits.service import visit_overview

    patient = get_patient(db, principal.clinic_id, patient_id)
    return render(request, "patient.html", {"patient": patient, "visits": visit_overview(db, patient)})


@router.get("/patients/{patient_id}/edit", name="edit_patient_page")
def edit_patient_page(
    request: Request, patient_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> HTMLResponse:
    patient = get_patient(db, principal.clinic_id, patient_id)
    form = {k: getattr(patient, k) for k in PatientCreate.model_fields}
    return render(request, "patient_form.html", {"patient": patient, "form": form, "errors": {}})


@router.post("/patients/{patient_id}/edit", name="update_patient_page")
async def update_patient_page(request: Request, patient_id: uuid.UUID, principal: CsrfChecked) -> Response:
    form = dict(await request.form())
    db = request.app.state.sessionmaker()
    try:
        patient = get_patient(db, principal.clinic_id, patient_id)
        data, errors = parse_form(PatientCreate, form)
        if data is None:
            return render(
                request,
                "patient_form.html",
                {"patient": patient, "form": form, "errors": errors},
                status_code=422,
            )
        update_patient(db, patient, PatientUpdate(**data.model_dump()))
        return RedirectResponse(f"/patients/{patient.id}", status_code=303)
    finally:
        db.close()


@router.post("/patients/{patient_id}/delete", name="delete_patient_page")
def delete_patient_page(
    patient_id: uuid.UUID, principal: CsrfChecked, db: SessionDep, settings: SettingsDep
) -> Response:
    patient = get_patient(db, principal.clinic_id, patient_id)
    delete_patient(db, settings, patient)
    return RedirectResponse("/patients", status_code=303)
