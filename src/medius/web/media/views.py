"""Uploading recordings, the analysis job status (live progress) and retrying an analysis."""

from __future__ import annotations

import shutil
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from medius.analysis.request import SIDES
from medius.web import messages
from medius.web.deps import CsrfChecked, CurrentUser, SessionDep, render
from medius.web.media.jobs import enqueue_job
from medius.web.media.storage import (
    UploadRefused,
    check_media_content,
    new_recording_folder,
    receive_upload,
    store_upload,
)
from medius.web.models import Job, Recording
from medius.web.visits.schemas import JobPublic, RecordingPublic, UploadAccepted
from medius.web.visits.service import get_visit

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["recordings"])

_FLAG = {"type": "string", "enum": ["on", "1", "true", "0", "off", "false"], "default": "on"}
#: the multipart body the upload reads itself (streamed to disk, so FastAPI does not parse it)
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["task", "file"],
                "properties": {
                    "csrf_token": {
                        "type": "string",
                        "description": "the session's CSRF token (or the X-CSRF-Token header); "
                        "it must come before the file",
                    },
                    "task": {"type": "string", "description": "a movement task, see GET /api/tasks"},
                    "side": {"type": "string", "enum": list(SIDES), "default": "auto"},
                    "annotated_video": {**_FLAG, "description": "make the annotated video"},
                    "blur_faces": {**_FLAG, "description": "blur faces in the annotated video"},
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "a phone video, or a C3D / TRC marker or keypoint file; the type is "
                        "decided by the content; a plain name without folders",
                    },
                },
                "encoding": {"file": {"contentType": "application/octet-stream"}},
            }
        }
    },
}


def check_upload_limits(settings: Any, info: dict[str, Any]) -> None:
    """Refuse (413) a video longer than ``MEDIUS_MAX_VIDEO_SECONDS`` or an upload with more than
    ``MEDIUS_MAX_FRAMES`` frames (video) or samples (marker or keypoint file)."""
    duration = info.get("duration_s")
    if isinstance(duration, int | float) and duration > settings.max_video_s:
        raise UploadRefused(
            messages.UPLOAD_TOO_LONG.format(seconds=round(duration), limit=round(settings.max_video_s)), 413
        )
    frames = info.get("n_frames")
    if isinstance(frames, int) and frames > settings.max_frames:
        raise UploadRefused(
            messages.UPLOAD_TOO_MANY_FRAMES.format(frames=frames, limit=settings.max_frames), 413
        )


def available_tasks() -> dict[str, str]:
    """The tasks the analysis library offers (read from ``medius.protocols.TASKS``): name → label."""
    from medius.protocols import TASKS

    return {name: str(spec.get("label", name)) for name, spec in TASKS.items()}


def warm_up() -> None:
    """Import what the pages need (the protocols, the clinic library) before the first request."""
    available_tasks()
    from medius.web import clinical

    clinical.available()


def get_recording(db: Any, clinic_id: int, recording_id: uuid.UUID | str) -> Recording:
    try:
        rid = recording_id if isinstance(recording_id, uuid.UUID) else uuid.UUID(str(recording_id))
    except ValueError:
        raise HTTPException(404, messages.RECORDING_NOT_FOUND) from None
    rec = db.scalars(
        select(Recording).where(Recording.id == rid, Recording.clinic_id == clinic_id)
    ).one_or_none()
    if rec is None:
        raise HTTPException(404, messages.RECORDING_NOT_FOUND)
    found: Recording = rec
    return found


def _create_recording(
    request: Request,
    principal: Any,
    visit_id: uuid.UUID,
    rid: uuid.UUID,
    kind: str,
    suffix: str,
    info: dict[str, Any],
    upload: Any,
) -> tuple[Recording, Job]:
    fields = upload.fields
    factory = request.app.state.sessionmaker
    settings = request.app.state.settings
    with factory() as db:
        visit = get_visit(db, principal.clinic_id, visit_id)
        store_upload(upload, settings.media_dir / str(rid), suffix)
        rec = Recording(
            id=rid,
            clinic_id=visit.clinic_id,
            visit_id=visit.id,
            kind=kind,
            task=fields["task"],
            side=fields.get("side") or "auto",
            original_name=upload.client_name,
            stored_name=f"input{suffix}",
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
            media_info=info,
            created_by=principal.user.id,
        )
        db.add(rec)
        db.flush()
        job = enqueue_job(
            db,
            rec,
            {
                "annotated_video": fields.get("annotated_video", "on") in ("on", "1", "true"),
                "blur_faces": fields.get("blur_faces", "on") in ("on", "1", "true"),
            },
        )
        db.commit()
        return rec, job


async def _upload(request: Request, visit_id: uuid.UUID, principal: Any, *, as_json: bool) -> Response:
    settings = request.app.state.settings
    factory = request.app.state.sessionmaker

    def check_visit() -> None:
        with factory() as db:
            get_visit(db, principal.clinic_id, visit_id)

    await run_in_threadpool(check_visit)
    rid, folder = new_recording_folder(settings.media_dir)
    try:
        upload = await receive_upload(
            request, dest_dir=folder, max_bytes=settings.max_upload_bytes, csrf_token=principal.csrf_token
        )
        tasks = available_tasks()
        task = upload.fields.get("task", "")
        if task not in tasks:
            raise UploadRefused(messages.UNKNOWN_TASK.format(task=task[:50], allowed=", ".join(tasks)))
        if upload.fields.get("side", "auto") not in SIDES:
            raise UploadRefused(f"invalid side {upload.fields.get('side')!r}; allowed: {', '.join(SIDES)}")
        if upload.path is None:  # the form had no file part (refused above); for the type checker
            raise UploadRefused("no file in the upload")
        kind, suffix, info = await run_in_threadpool(check_media_content, upload.path)
        check_upload_limits(settings, info)
        rec, job = await run_in_threadpool(
            _create_recording, request, principal, visit_id, rid, kind, suffix, info, upload
        )
    except UploadRefused as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if as_json or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)
        return render(
            request,
            "error.html",
            {"message": str(exc), "back": f"/visits/{visit_id}"},
            status_code=exc.status_code,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    request.app.state.jobs.wake()
    if as_json or "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            {
                "recording": RecordingPublic.model_validate(rec).model_dump(mode="json"),
                "job": JobPublic.model_validate(job).model_dump(mode="json"),
                "url": f"/recordings/{rec.id}",
            },
            status_code=201,
        )
    return RedirectResponse(f"/recordings/{rec.id}", status_code=303)


@router.post("/visits/{visit_id}/recordings", name="upload_recording_page")
async def upload_recording_page(request: Request, visit_id: uuid.UUID, principal: CurrentUser) -> Response:
    return await _upload(request, visit_id, principal, as_json=False)


@api.post(
    "/visits/{visit_id}/recordings",
    name="upload_recording",
    status_code=201,
    response_model=UploadAccepted,
    openapi_extra={"requestBody": UPLOAD_BODY},
    summary="Upload a video or marker file and queue its analysis",
    description="multipart/form-data with fields `csrf_token` (or header `X-CSRF-Token`), `task`, `side` "
    "(auto/left/right), optional `annotated_video`, then `file`. The type is checked by content; the size "
    "is capped by MEDIUS_MAX_UPLOAD_MB.",
    responses={
        400: {"description": "a file name with a folder part, or a malformed form"},
        403: {"description": messages.CSRF_FAILED},
        404: {"description": messages.VISIT_NOT_FOUND},
        413: {"description": messages.UPLOAD_TOO_LARGE},
        422: {"description": messages.UPLOAD_NOT_VIDEO},
    },
)
async def upload_recording(request: Request, visit_id: uuid.UUID, principal: CurrentUser) -> Response:
    return await _upload(request, visit_id, principal, as_json=True)


def _job_of(db: Any, clinic_id: int, job_id: uuid.UUID) -> Job:
    job = db.scalars(select(Job).where(Job.id == job_id, Job.clinic_id == clinic_id)).one_or_none()
    if job is None:
        raise HTTPException(404, messages.JOB_NOT_FOUND)
    found: Job = job
    return found


@api.get(
    "/jobs/{job_id}",
    name="job_status",
    response_model=JobPublic,
    responses={404: {"description": messages.JOB_NOT_FOUND}},
)
def job_status(job_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> Job:
    """Status and progress of one analysis (polled by the result page)."""
    return _job_of(db, principal.clinic_id, job_id)


@api.get("/tasks", name="list_tasks")
def list_tasks(principal: CurrentUser) -> dict[str, str]:
    """The movement tasks the analysis library offers (name → label)."""
    return available_tasks()


def _retry(request: Request, db: Any, principal: Any, recording_id: uuid.UUID) -> Job:
    rec = get_recording(db, principal.clinic_id, recording_id)
    job = rec.job
    if job is None or job.status in ("queued", "running"):
        raise HTTPException(409, "The analysis is already queued or running.")
    job.status, job.attempts, job.error, job.summary, job.stage = "queued", 0, "", None, ""
    job.progress_done, job.progress_total, job.worker_id, job.finished_at = 0, None, None, None
    db.commit()
    request.app.state.jobs.wake()
    return job


@router.post("/recordings/{recording_id}/retry", name="retry_recording_page")
def retry_recording_page(
    request: Request, recording_id: uuid.UUID, principal: CsrfChecked, db: SessionDep
) -> Response:
    _retry(request, db, principal, recording_id)
    return RedirectResponse(f"/recordings/{recording_id}", status_code=303)


@api.post("/recordings/{recording_id}/retry", name="retry_recording", response_model=JobPublic)
def retry_recording(request: Request, recording_id: uuid.UUID, principal: CsrfChecked, db: SessionDep) -> Job:
    """Queue a finished (or failed) analysis again."""
    return _retry(request, db, principal, recording_id)
