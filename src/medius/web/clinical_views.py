"""Assessment, findings, program (edit, give, PDF) and progress pages.

Everything clinical comes from the library: the ``Assessment`` model validates the form,
``evaluate_assessment`` gives the findings and the program, ``compare_visits`` the changes and their
measurement errors, ``render_program_pdf`` the printable program. This module only stores and shows.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from medius.web import clinical, messages
from medius.web.clinical_forms import (
    assessment_errors,
    assessment_form_spec,
    flatten,
    form_to_assessment_data,
)
from medius.web.deps import CsrfChecked, CurrentUser, SessionDep, SettingsDep, render
from medius.web.models import Job, Patient, ProgramSession, Recording, Visit
from medius.web.patients.service import get_patient
from medius.web.progress_view import group_measures, measure_svg, verdict_words
from medius.web.results.service import load_result
from medius.web.visits.service import get_visit

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["clinical"])


def _require_library() -> None:
    if not clinical.available():
        raise HTTPException(501, messages.CLINIC_LIBRARY_MISSING)


def _person_defaults(patient: Patient, visit: Visit) -> dict[str, str]:
    out: dict[str, str] = {}
    if patient.sex in ("female", "male"):
        out["person.sex"] = patient.sex
    if patient.birth_date:
        d = visit.visit_date
        b = patient.birth_date
        out["person.age_years"] = str(d.year - b.year - ((d.month, d.day) < (b.month, b.day)))
    return out


def _validate(form: dict[str, str], visit: Visit, clinician: str) -> tuple[Any, list[dict[str, str]]]:
    from pydantic import ValidationError

    from medius.clinic.records import Assessment

    data = form_to_assessment_data(form)
    data.update(visit_id=str(visit.id), date=visit.visit_date.isoformat(), clinician=clinician)
    try:
        return Assessment.model_validate(data), []
    except ValidationError as exc:
        return None, assessment_errors(exc)


def _movement_results(settings: Any, visit: Visit) -> list[Any]:
    from medius.clinic.findings import MovementResult

    out = []
    for rec in visit.recordings:
        result = load_result(settings, rec) if rec.job and rec.job.finished else None
        if result is not None:
            out.append(
                MovementResult(
                    path=f"recordings/{rec.id}/result.json", label=result.get("task_label"), result=result
                )
            )
    return out


def _evaluate(settings: Any, visit: Visit, assessment: Any) -> None:
    from medius.clinic.findings import evaluate_assessment

    outcome = evaluate_assessment(assessment, _movement_results(settings, visit))
    document = {k: v for k, v in outcome.document.items() if k not in ("assessment", "program")}
    previous = (visit.findings or {}).get("red_flag_override")
    visit.assessment = assessment.model_dump(mode="json")
    visit.findings = document
    if visit.program_status != "given":
        visit.program = outcome.program.model_dump(mode="json") if outcome.program is not None else None
        visit.program_status = "draft" if outcome.program is not None else None
    # a reasoned override of the same red flags stays in force when the assessment is saved again
    if previous and sorted(previous.get("flags") or []) == sorted(_red_flag_labels(document)):
        _apply_override(visit, previous)


def _red_flag_labels(findings: dict[str, Any]) -> list[str]:
    return [str(f.get("label") or "") for f in findings.get("red_flags") or [] if isinstance(f, dict)]


def _apply_override(visit: Visit, override: dict[str, Any]) -> None:
    """The program without the red flags, with the clinician's override recorded in it and the findings."""
    from medius.clinic.program import Program, generate_program

    visit.findings = {**(visit.findings or {}), "red_flag_override": override}
    if visit.program_status == "given" or not visit.program or not visit.program.get("blocked_by_red_flags"):
        return
    request = Program.model_validate(visit.program).request.model_copy(update={"red_flags": []})
    program = generate_program(request)
    note = (
        f"Red flags ({'; '.join(override['flags'])}) overridden by {override['by']} on {override['date']}: "
        f"{override['reason']}"
    )
    program.notes = [note, *program.notes]
    visit.program = program.model_dump(mode="json")
    visit.program_status = "draft"


@router.get("/visits/{visit_id}/assessment", name="assessment_page")
def assessment_page(
    request: Request, visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> HTMLResponse:
    _require_library()
    visit = get_visit(db, principal.clinic_id, visit_id)
    values = flatten(visit.assessment) if visit.assessment else _person_defaults(visit.patient, visit)
    return render(
        request,
        "assessment.html",
        {
            "visit": visit,
            "patient": visit.patient,
            "values": values,
            "errors": {},
            "spec": assessment_form_spec(),
        },
    )


class FieldError(BaseModel):
    field: str = Field(description="dotted form name, e.g. strength.hip_abduction.left.0.force")
    message: str


class AssessmentCheck(BaseModel):
    errors: list[FieldError]


_FORM_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "the assessment form's fields by dotted name (person.age_years, "
                "strength.hip_abduction.left.0.force, ...), as typed",
            }
        }
    },
}


@router.post("/visits/{visit_id}/assessment/validate", name="validate_assessment")
@api.post(
    "/visits/{visit_id}/assessment/validate",
    name="api_validate_assessment",
    response_model=AssessmentCheck,
    openapi_extra={"requestBody": _FORM_BODY},
)
async def validate_assessment(request: Request, visit_id: uuid.UUID, principal: CsrfChecked) -> JSONResponse:
    """Check an assessment form (as typed) against the library's ``Assessment`` model."""
    _require_library()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    def check() -> list[dict[str, str]]:
        with request.app.state.sessionmaker() as db:
            visit = get_visit(db, principal.clinic_id, visit_id)
            return _validate(form, visit, principal.user.email)[1]

    return JSONResponse({"errors": await run_in_threadpool(check)})


@router.post("/visits/{visit_id}/assessment", name="save_assessment_page")
async def save_assessment_page(request: Request, visit_id: uuid.UUID, principal: CsrfChecked) -> Response:
    _require_library()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    settings = request.app.state.settings

    def save() -> Response:
        with request.app.state.sessionmaker() as db:
            visit = get_visit(db, principal.clinic_id, visit_id)
            assessment, errors = _validate(form, visit, principal.user.email)
            if assessment is None:
                by_field = {e["field"]: e["message"] for e in errors}
                return render(
                    request,
                    "assessment.html",
                    {
                        "visit": visit,
                        "patient": visit.patient,
                        "values": form,
                        "errors": by_field,
                        "error_list": errors,
                        "spec": assessment_form_spec(),
                    },
                    status_code=422,
                )
            _evaluate(settings, visit, assessment)
            db.commit()
            return RedirectResponse(f"/visits/{visit.id}/findings", status_code=303)

    return await run_in_threadpool(save)


class AssessmentOutcome(BaseModel):
    findings: dict[str, Any] | None = Field(description="the library's findings document")
    program: dict[str, Any] | None = Field(description="the library's Program JSON (a draft until given)")
    program_status: str | None = Field(description="draft, given or null")


@api.put(
    "/visits/{visit_id}/assessment",
    name="api_save_assessment",
    response_model=AssessmentOutcome,
    responses={422: {"description": "the assessment does not validate: [{field, message}]"}},
    openapi_extra={"x-medius-body-schema": "Assessment"},
)
def api_save_assessment(
    visit_id: uuid.UUID, body: dict[str, Any], principal: CsrfChecked, db: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """Store the visit's assessment (the library's ``Assessment`` JSON) and evaluate findings and program."""
    _require_library()
    from pydantic import ValidationError

    from medius.clinic.records import Assessment

    visit = get_visit(db, principal.clinic_id, visit_id)
    try:
        assessment = Assessment.model_validate({**body, "visit_id": str(visit.id)})
    except ValidationError as exc:
        raise HTTPException(422, assessment_errors(exc)) from None
    _evaluate(settings, visit, assessment)
    db.commit()
    return {"findings": visit.findings, "program": visit.program, "program_status": visit.program_status}


@router.get("/visits/{visit_id}/findings", name="findings_page")
def findings_page(
    request: Request, visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> HTMLResponse:
    visit = get_visit(db, principal.clinic_id, visit_id)
    if not visit.findings:
        raise HTTPException(404, "No findings yet: enter the assessment first.")
    from medius.report.findings_view import (
        findings_for_people,
        questionnaire_rows,
        red_flag_screen,
        source_names,
        strength_rows,
    )

    doc = visit.findings
    screen_doc = {**doc, "assessment": visit.assessment or {}}
    return render(
        request,
        "findings.html",
        {
            "visit": visit,
            "patient": visit.patient,
            "doc": doc,
            "people": findings_for_people(doc),
            "screen": red_flag_screen(screen_doc),
            "strength": strength_rows(doc),
            "questionnaires": questionnaire_rows(doc),
            "source_names": source_names,
        },
    )


# ------------------------------------------------------------------------------ program
EDITABLE = {
    "sets": int,
    "reps_min": int,
    "reps_max": int,
    "hold_s": float,
    "time_s": float,
    "load_kg": float,
    "frequency_per_week": int,
}


def _program_or_404(visit: Visit) -> dict[str, Any]:
    if not visit.program:
        raise HTTPException(404, "No program for this visit yet: enter the assessment first.")
    return visit.program


def _library_choices() -> list[tuple[str, str]]:
    from medius.clinic.exercises import load_exercise_library

    lib = load_exercise_library()
    return sorted(((e.id, e.name) for e in lib.exercises.values()), key=lambda t: t[1].lower())


def _new_exercise(program: dict[str, Any], phase: dict[str, Any], exercise_id: str) -> dict[str, Any]:
    """A library exercise dosed for ``phase`` (the program's emphasised side and sessions a week)."""
    from medius.clinic.program import build_program_exercise

    request = program.get("request") or {}
    affected = request.get("affected_side")
    side: Literal["left", "right", "both"] = affected if affected in ("left", "right") else "both"
    ex = build_program_exercise(
        exercise_id,
        str(phase.get("id")),
        side=side,
        frequency_per_week=int(program.get("frequency_per_week") or 3),
    )
    return ex.model_dump(mode="json")


@router.get("/visits/{visit_id}/program", name="program_page")
def program_page(
    request: Request, visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> HTMLResponse:
    visit = get_visit(db, principal.clinic_id, visit_id)
    return render(
        request,
        "program.html",
        {"visit": visit, "patient": visit.patient, "program": _program_or_404(visit), "errors": [],
         "exercises": _library_choices() if clinical.available() else []},
    )


@router.post("/visits/{visit_id}/program", name="edit_program_page")
async def edit_program_page(request: Request, visit_id: uuid.UUID, principal: CsrfChecked) -> Response:
    """Save the clinician's changes of doses, removed exercises and notes (before the program is given)."""
    _require_library()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    def save() -> Response:
        from pydantic import ValidationError

        from medius.clinic.program import Program

        with request.app.state.sessionmaker() as db:
            visit = get_visit(db, principal.clinic_id, visit_id)
            program = dict(_program_or_404(visit))
            if visit.program_status == "given":
                raise HTTPException(409, "This program was already given; it cannot be changed any more.")
            errors: list[str] = []
            phases = []
            for pi, phase in enumerate(program.get("phases", [])):
                kept = []
                for ei, ex in enumerate(phase.get("exercises", [])):
                    key = f"ex.{pi}.{ei}."
                    if form.get(key + "remove") == "on":
                        continue
                    order_text = (form.get(key + "order") or "").strip()
                    order = float(order_text) if re.fullmatch(r"\d+(\.\d+)?", order_text) else float(ei + 1)
                    ex = {**ex, "dosage": dict(ex["dosage"]), "_order": order}
                    for name, kind in EDITABLE.items():
                        text = form.get(key + name)
                        if text is None:
                            continue
                        text = text.strip().replace(",", ".")
                        what = "a whole number" if kind is int else "a number"
                        try:
                            if kind is int and text and not text.isdigit():
                                raise ValueError(text)
                            ex["dosage"][name] = None if text == "" else kind(text)
                        except ValueError:
                            errors.append(
                                f"{ex['name']}: {name.replace('_', ' ')} must be {what}, got {text!r}"
                            )
                    kept.append(ex)
                kept.sort(key=lambda e: e["_order"])  # stable: equal numbers keep their order
                kept = [{k: v for k, v in e.items() if k != "_order"} for e in kept]
                added = (form.get(f"add.{pi}") or "").strip()
                if added:
                    try:
                        kept.append(_new_exercise(program, phase, added))
                    except (KeyError, ValueError) as exc:
                        errors.append(f"{phase.get('label')}: cannot add {added!r} ({exc})")
                phases.append({**phase, "exercises": kept})
            program["phases"] = phases
            note = form.get("note", "").strip()
            if note:
                program["notes"] = [*program.get("notes", []), note[:2000]]
            program["revision"] = int(program.get("revision", 0)) + 1
            if not errors:
                try:
                    program = Program.model_validate(program).model_dump(mode="json")
                except ValidationError as exc:
                    errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            if errors:
                return render(
                    request,
                    "program.html",
                    {"visit": visit, "patient": visit.patient, "program": visit.program, "errors": errors,
                     "exercises": _library_choices()},
                    status_code=422,
                )
            visit.program = program
            if form.get("give") == "on":
                visit.program_status = "given"
            db.commit()
            return RedirectResponse(f"/visits/{visit.id}/program", status_code=303)

    return await run_in_threadpool(save)


@router.post("/visits/{visit_id}/program/override", name="override_red_flags")
async def override_red_flags(request: Request, visit_id: uuid.UUID, principal: CsrfChecked) -> Response:
    """The clinician has assessed the red flags: a program is made, and the reason is recorded and shown
    on the findings, the program and the visit report from now on."""
    _require_library()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}

    def save() -> Response:
        with request.app.state.sessionmaker() as db:
            visit = get_visit(db, principal.clinic_id, visit_id)
            program = _program_or_404(visit)
            if not program.get("blocked_by_red_flags") or visit.program_status == "given":
                raise HTTPException(409, "The program is not blocked by red flags.")
            reason = " ".join(form.get("reason", "").split())[:2000]
            if len(reason) < 10 or form.get("assessed") != "on":
                return render(
                    request,
                    "program.html",
                    {"visit": visit, "patient": visit.patient, "program": program, "exercises": [],
                     "errors": ["To override, confirm that you assessed the red flags and give the reason "
                                "(at least 10 characters)."]},
                    status_code=422,
                )
            user = principal.user
            override = {
                "by": (getattr(user, "name", "") or user.email).strip(),
                "date": date.today().isoformat(),
                "reason": reason,
                "flags": _red_flag_labels(visit.findings or {}) or list(program.get("red_flags") or []),
            }
            _apply_override(visit, override)
            db.commit()
            return RedirectResponse(f"/visits/{visit.id}/program", status_code=303)

    return await run_in_threadpool(save)


@router.get("/visits/{visit_id}/program.pdf", name="program_pdf_page")
@api.get(
    "/visits/{visit_id}/program.pdf",
    name="program_pdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the printable home program",
        }
    },
)
def program_pdf(visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> Response:
    """The printable home program (PDF, from the library's program report)."""
    _require_library()
    from medius.clinic.program import Program
    from medius.report.program import render_program_pdf

    visit = get_visit(db, principal.clinic_id, visit_id)
    program = Program.model_validate(_program_or_404(visit))
    name = f"{visit.patient.given_name} {visit.patient.family_name}".strip()
    return Response(
        render_program_pdf(program, person_name=name),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="program-{visit.visit_date}.pdf"'},
    )


def _patient_program_args(visit: Visit, principal: Any) -> dict[str, Any]:
    user = principal.user
    who = (getattr(user, "name", "") or "").strip()
    contact = ", ".join(x for x in (who, user.email) if x)
    return {
        "person_name": f"{visit.patient.given_name or ''} {visit.patient.family_name}".strip(),
        "clinic": user.clinic.name if getattr(user, "clinic", None) else None,
        "contact": contact or None,
    }


@router.get("/visits/{visit_id}/program/patient", name="patient_program_page")
def patient_program_page(visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> HTMLResponse:
    """The patient's program: this phase's exercises in plain words, one column on a phone."""
    _require_library()
    from medius.clinic.program import Program
    from medius.report.patient_program import render_patient_program_html

    visit = get_visit(db, principal.clinic_id, visit_id)
    program = Program.model_validate(_program_or_404(visit))
    return HTMLResponse(
        render_patient_program_html(program, **_patient_program_args(visit, principal)),
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"},
    )


@router.get("/visits/{visit_id}/program/patient.pdf", name="patient_program_pdf")
def patient_program_pdf(visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> Response:
    """The patient's program on one or two A4 pages (PDF)."""
    _require_library()
    from medius.clinic.program import Program
    from medius.report.patient_program import render_patient_program_pdf

    visit = get_visit(db, principal.clinic_id, visit_id)
    program = Program.model_validate(_program_or_404(visit))
    return Response(
        render_patient_program_pdf(program, **_patient_program_args(visit, principal)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="home-exercises-{visit.visit_date}.pdf"'},
    )


class ProgramState(BaseModel):
    program: dict[str, Any] = Field(description="the library's Program JSON")
    status: str | None = Field(description="draft (editable) or given (frozen)")


_PROGRAM_409: dict[int | str, dict[str, Any]] = {409: {"description": "the program was already given, or is blocked by red flags"}}


@api.get(
    "/visits/{visit_id}/program",
    name="api_program",
    response_model=ProgramState,
    responses={404: {"description": "no program yet"}},
)
def api_program(visit_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> dict[str, Any]:
    """The visit's program (the library's ``Program`` JSON) and whether it was given."""
    visit = get_visit(db, principal.clinic_id, visit_id)
    return {"program": _program_or_404(visit), "status": visit.program_status}


def _editable_program(visit: Visit) -> dict[str, Any]:
    program = _program_or_404(visit)
    if visit.program_status == "given":
        raise HTTPException(409, "This program was already given; it cannot be changed any more.")
    return program


@api.put(
    "/visits/{visit_id}/program",
    name="api_edit_program",
    response_model=ProgramState,
    responses={**_PROGRAM_409, 422: {"description": "not a valid Program"}},
    openapi_extra={"x-medius-body-schema": "Program"},
)
def api_edit_program(
    visit_id: uuid.UUID, body: dict[str, Any], principal: CsrfChecked, db: SessionDep
) -> dict[str, Any]:
    """Replace the draft program with the clinician's edited one (the library's ``Program`` JSON:
    doses changed, exercises removed, notes added), before it is given."""
    _require_library()
    from pydantic import ValidationError

    from medius.clinic.program import Program

    visit = get_visit(db, principal.clinic_id, visit_id)
    current = _editable_program(visit)
    if current.get("blocked_by_red_flags"):
        raise HTTPException(409, "The program is blocked by red flags: refer the patient first.")
    data = {**body, "blocked_by_red_flags": False, "revision": int(current.get("revision", 0)) + 1}
    try:
        program = Program.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        raise HTTPException(
            422, [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        ) from None
    visit.program = program
    db.commit()
    return {"program": program, "status": visit.program_status}


@api.post(
    "/visits/{visit_id}/program/give",
    name="api_give_program",
    response_model=ProgramState,
    responses=_PROGRAM_409,
)
def api_give_program(visit_id: uuid.UUID, principal: CsrfChecked, db: SessionDep) -> dict[str, Any]:
    """Give the program to the patient: from now on it is frozen."""
    visit = get_visit(db, principal.clinic_id, visit_id)
    program = _editable_program(visit)
    if program.get("blocked_by_red_flags"):
        raise HTTPException(409, "The program is blocked by red flags: refer the patient first.")
    visit.program_status = "given"
    db.commit()
    return {"program": program, "status": visit.program_status}


# ------------------------------------------------------------------------------ progress
@dataclass
class Series:
    key: str
    title: str
    unit: str
    points: list[tuple[date, float]] = field(default_factory=list)
    band: float | None = None  #: ± around the first value (same unit), the measurement error
    band_label: str = ""
    measure: str = ""  #: the chart this side's line belongs to (both sides of one measure)
    measure_title: str = ""
    side: str | None = None
    verdict: str = ""  #: improved / unchanged / worse / changed, first visit against the last
    verdict_text: str = ""


def _slug(*parts: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(str(p) for p in parts if p).lower()).strip("-")[:120]


def progress_series(db: Session, settings: Any, patient: Patient) -> list[Series]:
    """Each measurement across the patient's visits, with the measurement-error band around the first."""
    visits = db.scalars(
        select(Visit)
        .where(Visit.patient_id == patient.id, Visit.clinic_id == patient.clinic_id)
        .order_by(Visit.visit_date, Visit.created_at)
        .options(selectinload(Visit.recordings).selectinload(Recording.job))
    ).all()
    series: dict[str, Series] = {}
    # movement screens: the per-side means the analysis stored, MDC from its interpretation
    for v in visits:
        for rec in v.recordings:
            job: Job | None = rec.job
            if job is None or job.status != "done" or not job.summary:
                continue
            summ = job.summary
            mdc = {
                i["metric"]: i["measurement_error"]
                for i in summ.get("interpretation", [])
                if i.get("measurement_error") and i["measurement_error"].get("mdc") is not None
            }
            for metric, meta in summ.get("metrics", {}).items():
                for side in ("left", "right"):
                    mean = summ.get("summary", {}).get(side, {}).get(metric, {}).get("mean")
                    if mean is None:
                        continue
                    key = _slug("movement", summ.get("task"), metric, side)
                    s = series.setdefault(
                        key,
                        Series(
                            key,
                            f"{summ.get('task_label')}: {meta.get('label')} ({side})",
                            meta.get("unit_symbol") or "",
                            measure=_slug("movement", summ.get("task"), metric),
                            measure_title=f"{summ.get('task_label')}: {meta.get('label')}",
                            side=side,
                        ),
                    )
                    if metric in mdc and s.band is None:
                        s.band = float(mdc[metric]["mdc"])
                        s.band_label = (
                            f"MDC {mdc[metric]['mdc']:g} ({mdc[metric].get('source') or 'registry'})"
                        )
                    s.points.append((v.visit_date, float(mean)))
    for line in series.values():
        # as medius compare judges a movement metric: changed only beyond its MDC
        if len(line.points) >= 2 and line.band is not None:
            beyond = abs(line.points[-1][1] - line.points[0][1]) > line.band
            line.verdict, line.verdict_text = verdict_words("changed" if beyond else "no_real_change", None, None)
    # clinical measurements: the library's comparison of each later visit with the first
    assessed = [v for v in visits if v.assessment]
    if clinical.available() and len(assessed) >= 2:
        from medius.clinic.progress import compare_visits
        from medius.clinic.records import Assessment

        first = Assessment.model_validate(assessed[0].assessment)
        for v in assessed[1:]:
            for ch in compare_visits(first, Assessment.model_validate(v.assessment)):
                if ch.name.startswith("movement"):  # drawn above, from every analysis
                    continue
                key = _slug("clinic", ch.name, ch.side)
                found = series.get(key)
                if found is not None:
                    s = found
                else:
                    plain = ch.label[len(ch.side) + 1 :] if ch.side and ch.label.startswith(ch.side + " ") else ch.label
                    s = series[key] = Series(
                        key,
                        ch.label + (f" ({ch.side})" if ch.side else ""),
                        ch.unit,
                        measure=_slug("clinic", ch.name),
                        measure_title=plain[:1].upper() + plain[1:],
                        side=ch.side,
                    )
                    s.points.append((assessed[0].visit_date, ch.before))
                    if ch.measurement_error is not None:
                        # a relative error (hand-held dynamometry: % of the value) is taken of the value
                        rel = ch.measurement_error_unit in ("%", "pct_change") and ch.unit not in ("%", "pct")
                        s.band = abs(ch.before) * ch.measurement_error / 100 if rel else ch.measurement_error
                        s.band_label = (
                            f"measurement error {ch.measurement_error:g} {ch.measurement_error_unit or ''}"
                            f" ({ch.measurement_error_source or 'registry'})"
                        )
                s.points.append((v.visit_date, ch.after))
                # the last visit's comparison with the first: the verdict medius compare gives
                s.verdict, s.verdict_text = verdict_words(ch.direction, ch.exceeds_mcid, ch.mcid)
    # the program's session log: pain and effort per session
    sessions = [s for s, _ in patient_session_log(db, patient)]
    pain = Series("sessions-pain", "Pain during the program sessions (NPRS)", "/10")
    pain.points = [(s.session_date, float(s.pain_nprs)) for s in sessions if s.pain_nprs is not None]
    if pain.points:
        series[pain.key] = pain
    effort = Series("sessions-effort", "Effort of the program sessions (RPE)", "/10")
    effort.points = [(s.session_date, float(s.rpe)) for s in sessions if s.rpe is not None]
    if effort.points:
        series[effort.key] = effort
    return list(series.values())


def patient_session_log(db: Session, patient: Patient) -> list[tuple[ProgramSession, Visit]]:
    """Every logged session of the patient's programs, oldest first, with the visit it belongs to."""
    rows = db.execute(
        select(ProgramSession, Visit)
        .join(Visit, ProgramSession.visit_id == Visit.id)
        .where(
            Visit.patient_id == patient.id,
            Visit.clinic_id == patient.clinic_id,
            ProgramSession.clinic_id == patient.clinic_id,
        )
        .order_by(ProgramSession.session_date, ProgramSession.created_at)
    ).all()
    return [(s, v) for s, v in rows]


def _session_json(s: ProgramSession, v: Visit) -> dict[str, Any]:
    return {
        "date": s.session_date.isoformat(),
        "visit_id": str(v.id),
        "visit_date": v.visit_date.isoformat(),
        "program_status": v.program_status,
        "completed": s.completed,
        "pain_nprs": s.pain_nprs,
        "rpe": s.rpe,
        "notes": s.notes,
    }


@router.get("/patients/{patient_id}/progress", name="progress_page")
def progress_page(
    request: Request, patient_id: uuid.UUID, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    from medius.report.findings_view import unit_words

    patient = get_patient(db, principal.clinic_id, patient_id)
    log = patient_session_log(db, patient)
    series = progress_series(db, settings, patient)
    measures = group_measures(series, unit_words)
    return render(
        request,
        "progress.html",
        {
            "patient": patient,
            "series": series,
            "measures": [(m, measure_svg(m)) for m in measures],
            "sessions": log,
            "sessions_done": sum(1 for s, _ in log if s.completed),
        },
    )


@router.get("/patients/{patient_id}/progress/{key}.svg", name="progress_chart")
def progress_chart(
    patient_id: uuid.UUID, key: str, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> Response:
    from medius.report.findings_view import unit_words

    patient = get_patient(db, principal.clinic_id, patient_id)
    series = progress_series(db, settings, patient)
    for m in group_measures(series, unit_words) + group_measures(
        [replace(s, measure=s.key, measure_title=s.title) for s in series], unit_words
    ):
        if m.key == key:
            return Response(
                str(measure_svg(m, standalone=True)).encode("utf-8"),
                media_type="image/svg+xml",
                headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"},
            )
    raise HTTPException(404, messages.NOT_FOUND)


@api.get("/patients/{patient_id}/progress", name="api_progress")
def api_progress(
    patient_id: uuid.UUID, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> list[dict[str, Any]]:
    """Every measurement across visits, with its measurement-error band (± around the first value)."""
    patient = get_patient(db, principal.clinic_id, patient_id)
    return [
        {
            "key": s.key,
            "title": s.title,
            "unit": s.unit,
            "band": s.band,
            "band_label": s.band_label,
            "measure": s.measure or s.key,
            "side": s.side,
            "verdict": s.verdict,
            "verdict_text": s.verdict_text,
            "points": [{"date": d.isoformat(), "value": v} for d, v in s.points],
        }
        for s in progress_series(db, settings, patient)
    ]


@api.get("/patients/{patient_id}/sessions", name="api_patient_sessions")
def api_patient_sessions(
    patient_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> list[dict[str, Any]]:
    """The session log of the patient's programs across visits (oldest first)."""
    patient = get_patient(db, principal.clinic_id, patient_id)
    return [_session_json(s, v) for s, v in patient_session_log(db, patient)]
