"""Result pages (annotated video, rep table, plots), result files with Range support, and a visit's
exports: full report as PDF, data as JSON and CSV."""

from __future__ import annotations

import json
import shutil
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import delete

from medius.web import messages
from medius.web.deps import CsrfChecked, CurrentUser, SessionDep, SettingsDep, render
from medius.web.media.views import available_tasks, get_recording
from medius.web.models import Job, Recording
from medius.web.results.service import (
    CSV_TABLES,
    MEDIA_TYPES,
    export_visit_csv,
    export_visit_json,
    load_result,
    plot_names,
    result_file,
    result_view,
)
from medius.web.visits.service import get_visit

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["results"])
PDF_RESPONSE: dict[str, Any] = {
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    "description": "a PDF document",
}


@router.get("/recordings/{recording_id}", name="recording_page")
def recording_page(
    request: Request, recording_id: uuid.UUID, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    rec = get_recording(db, principal.clinic_id, recording_id)
    result = load_result(settings, rec) if rec.job and rec.job.finished else None
    has_video = bool(result and result_file(settings, rec, "annotated.mp4"))
    key = filming = view = None
    if result:
        from markupsafe import Markup

        from medius.report._key import key_summary
        from medius.report.filming import render_filming_guide_html

        view = result_view(result)
        key = key_summary(view["res"])
        if not view["res"].judgeable:
            task = rec.task if rec.task in ("single-leg-squat", "walk", "run") else "single-leg-squat"
            filming = Markup(render_filming_guide_html(standalone=False, tasks=(task,)))
    return render(
        request,
        "recording.html",
        {
            "rec": rec,
            "visit": rec.visit,
            "patient": rec.visit.patient,
            "job": rec.job,
            "result": result,
            "plots": plot_names(settings, rec, result) if result else [],
            "has_video": has_video,
            "tasks": available_tasks(),
            "key": key,
            "filming": filming,
            "view": view,
        },
    )


def _serve(request: Request, settings: Any, rec: Recording, name: str) -> Response:
    path = result_file(settings, rec, name)
    if path is None:
        raise HTTPException(404, messages.NOT_FOUND)
    media_type = MEDIA_TYPES[path.suffix.lower()]
    headers = {"Cache-Control": "private, max-age=0, must-revalidate"}
    if path.suffix.lower() == ".html":  # the library's standalone report: download, never render here
        return FileResponse(
            path,
            media_type=media_type,
            headers=headers,
            filename=f"medius-report-{rec.id}.html",
            content_disposition_type="attachment",
        )
    if path.suffix.lower() == ".svg":
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/recordings/{recording_id}/files/{name}", name="recording_file")
def recording_file(
    request: Request,
    recording_id: uuid.UUID,
    name: str,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    rec = get_recording(db, principal.clinic_id, recording_id)
    return _serve(request, settings, rec, name)


@api.get(
    "/recordings/{recording_id}/result",
    name="recording_result",
    responses={404: {"description": messages.NO_RESULT}},
)
def recording_result(
    recording_id: uuid.UUID, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """The analysis result (``result.json``, schema in docs/result-schema.md)."""
    rec = get_recording(db, principal.clinic_id, recording_id)
    result = load_result(settings, rec)
    if result is None:
        raise HTTPException(404, messages.NO_RESULT)
    return result


def _delete_recording(db: Any, settings: Any, rec: Recording) -> uuid.UUID:
    """Delete a recording's rows (job first), then its folder; returns its visit's id."""
    visit_id = rec.visit_id
    db.execute(delete(Job).where(Job.recording_id == rec.id))
    db.execute(delete(Recording).where(Recording.id == rec.id))
    db.commit()
    shutil.rmtree(settings.media_dir / str(rec.id), ignore_errors=True)
    return visit_id


@router.post("/recordings/{recording_id}/delete", name="delete_recording_page")
def delete_recording_page(
    recording_id: uuid.UUID, principal: CsrfChecked, db: SessionDep, settings: SettingsDep
) -> Response:
    rec = get_recording(db, principal.clinic_id, recording_id)
    visit_id = _delete_recording(db, settings, rec)
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


@api.delete(
    "/recordings/{recording_id}",
    name="delete_recording",
    status_code=204,
    tags=["recordings"],
    responses={
        404: {"description": messages.RECORDING_NOT_FOUND},
        403: {"description": messages.CSRF_FAILED},
    },
)
def delete_recording(
    recording_id: uuid.UUID, principal: CsrfChecked, db: SessionDep, settings: SettingsDep
) -> Response:
    """Delete a recording with its analysis and every file of it (a running analysis stops)."""
    _delete_recording(db, settings, get_recording(db, principal.clinic_id, recording_id))
    return Response(status_code=204)


# ---------------------------------------------------------------------- exports
def _sessions(db: Any, visit: Any) -> list[dict[str, Any]]:
    from medius.web.visits.service import session_log

    return [
        {
            "date": s.session_date.isoformat(),
            "completed": s.completed,
            "pain_nprs": s.pain_nprs,
            "rpe": s.rpe,
            "notes": s.notes,
            "data": s.data,
        }
        for s in session_log(db, visit)
    ]


@router.get("/visits/{visit_id}/export.json", name="export_visit_json_page")
@api.get(
    "/visits/{visit_id}/export.json",
    name="export_visit_json",
    tags=["exports"],
    responses={
        200: {
            "description": "patient, visit, assessment, findings, program, session log and every "
            "recording with its analysis and result.json",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def export_json(
    visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> Response:
    """A visit's full data as JSON (patient, assessment, findings, program, every analysis result)."""
    visit = get_visit(db, principal.clinic_id, visit_id)
    data = export_visit_json(settings, visit.patient, visit, _sessions(db, visit))
    return JSONResponse(
        json.loads(json.dumps(data, default=str)),
        headers={"Content-Disposition": f'attachment; filename="medius-visit-{visit.id}.json"'},
    )


@router.get("/visits/{visit_id}/export.csv", name="export_visit_csv_page")
@api.get(
    "/visits/{visit_id}/export.csv",
    name="export_visit_csv",
    tags=["exports"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}},
)
def export_csv(
    visit_id: uuid.UUID,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    table: str = "reps",
) -> Response:
    """The per-rep table (``table=reps``, single-leg tasks) or the per-stance table
    (``table=stances``, walking and running) of every analysis of a visit as CSV."""
    if table not in CSV_TABLES:
        raise HTTPException(422, f"table must be one of {', '.join(CSV_TABLES)}, got {table!r}")
    visit = get_visit(db, principal.clinic_id, visit_id)
    suffix = "" if table == "reps" else f"-{table}"
    return Response(
        export_visit_csv(settings, visit, table=table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="medius-visit-{visit.id}{suffix}.csv"'},
    )


@router.get("/visits/{visit_id}/report.pdf", name="visit_report_pdf_page")
@api.get(
    "/visits/{visit_id}/report.pdf",
    name="visit_report_pdf",
    tags=["exports"],
    response_class=Response,
    responses={200: PDF_RESPONSE},
)
def visit_report_pdf(
    request: Request, visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> Response:
    """The visit's full report as a printable PDF (WeasyPrint)."""
    from medius.web.results.pdf import render_visit_pdf

    visit = get_visit(db, principal.clinic_id, visit_id)
    pdf = render_visit_pdf(
        request.app.state.templates.env,
        settings,
        visit.patient,
        visit,
        _sessions(db, visit),
        clinic_name=principal.user.clinic.name,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="medius-visit-{visit.visit_date.isoformat()}.pdf"'
        },
    )
