"""Visit pages: create, show (recordings, analyses, assessment, program), edit, delete, session log."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from medius.web.deps import CsrfChecked, CurrentUser, SessionDep, SettingsDep, render
from medius.web.forms import parse_form
from medius.web.media.views import available_tasks
from medius.web.models import Visit
from medius.web.patients.service import get_patient
from medius.web.visits.schemas import SessionEntry, VisitCreate, VisitUpdate
from medius.web.visits.service import (
    add_session,
    create_visit,
    delete_visit,
    get_visit,
    session_log,
    update_visit,
)

router = APIRouter(include_in_schema=False)


def _filming_guide() -> Any:
    from markupsafe import Markup

    from medius.report.filming import render_filming_guide_html

    return Markup(render_filming_guide_html(standalone=False))


def visit_tables(settings: Any, visit: Visit) -> list[str]:
    from medius.web.results.service import visit_tables as tables

    return tables(settings, visit)


def visit_context(db: Session, settings: Any, visit: Visit, **extra: Any) -> dict[str, Any]:
    from medius.web import clinical

    ctx: dict[str, Any] = {
        "visit": visit,
        "patient": visit.patient,
        "tasks": available_tasks(),
        "sessions": session_log(db, visit),
        "clinic_available": clinical.available(),
        "max_upload_mb": settings.max_upload_bytes // (1024 * 1024),
        "errors": {},
        "form": {},
        "session_errors": {},
        "filming_guide": _filming_guide(),
        "csv_tables": visit_tables(settings, visit),
    }
    ctx.update(extra)
    return ctx


@router.post("/patients/{patient_id}/visits", name="create_visit_page")
def create_visit_page(
    request: Request,
    patient_id: uuid.UUID,
    principal: CsrfChecked,
    db: SessionDep,
    visit_date: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    patient = get_patient(db, principal.clinic_id, patient_id)
    form = {"visit_date": visit_date or date.today().isoformat(), "reason": reason}
    data, errors = parse_form(VisitCreate, form)
    if data is None:
        from medius.web.visits.service import visit_overview

        return render(
            request,
            "patient.html",
            {
                "patient": patient,
                "visits": visit_overview(db, patient),
                "visit_errors": errors,
                "visit_form": form,
            },
            status_code=422,
        )
    visit = create_visit(db, patient, data, principal.user.id)
    return RedirectResponse(f"/visits/{visit.id}", status_code=303)


@router.get("/visits/{visit_id}", name="visit_page")
def visit_page(
    request: Request, visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    visit = get_visit(db, principal.clinic_id, visit_id)
    return render(request, "visit.html", visit_context(db, settings, visit))


@router.post("/visits/{visit_id}/edit", name="update_visit_page")
def update_visit_page(
    request: Request,
    visit_id: uuid.UUID,
    principal: CsrfChecked,
    db: SessionDep,
    settings: SettingsDep,
    visit_date: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    visit = get_visit(db, principal.clinic_id, visit_id)
    form = {"visit_date": visit_date, "reason": reason}
    data, errors = parse_form(VisitCreate, form)
    if data is None:
        return render(
            request,
            "visit.html",
            visit_context(db, settings, visit, errors=errors, form=form),
            status_code=422,
        )
    update_visit(db, visit, VisitUpdate(**data.model_dump()))
    return RedirectResponse(f"/visits/{visit.id}", status_code=303)


@router.post("/visits/{visit_id}/delete", name="delete_visit_page")
def delete_visit_page(
    visit_id: uuid.UUID, principal: CsrfChecked, db: SessionDep, settings: SettingsDep
) -> Response:
    visit = get_visit(db, principal.clinic_id, visit_id)
    patient_id = visit.patient_id
    delete_visit(db, settings, visit)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


@router.post("/visits/{visit_id}/sessions", name="add_session_page")
def add_session_page(
    request: Request,
    visit_id: uuid.UUID,
    principal: CsrfChecked,
    db: SessionDep,
    settings: SettingsDep,
    session_date: Annotated[str, Form(max_length=20)],
    completed: Annotated[str, Form(max_length=5)] = "",
    pain_nprs: Annotated[str, Form(max_length=10)] = "",
    rpe: Annotated[str, Form(max_length=10)] = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    visit = get_visit(db, principal.clinic_id, visit_id)
    form = {
        "session_date": session_date,
        "completed": completed in ("on", "1", "true"),
        "pain_nprs": pain_nprs or None,
        "rpe": rpe or None,
        "notes": notes,
    }
    try:
        entry = SessionEntry.model_validate(form)
    except ValidationError as exc:
        errors = {str(e["loc"][0]): e["msg"] for e in exc.errors()}
        return render(
            request, "visit.html", visit_context(db, settings, visit, session_errors=errors), status_code=422
        )
    add_session(db, visit, entry)
    return RedirectResponse(f"/visits/{visit.id}#sessions", status_code=303)
