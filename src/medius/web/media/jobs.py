"""The analysis job queue: a table of jobs and an in-app worker thread.

* A job is **claimed atomically**: ``UPDATE jobs SET status='running', worker_id=me ... WHERE
  id=:id AND status='queued'``; only the worker whose update changed the row runs it.
* Each analysis runs in a **child process** (``python -m medius.web.media._child``), so a crash
  of the pose model cannot take the app down; the worker thread relays its progress to the
  table and writes a heartbeat.
* A result is **recorded once**: the final update only succeeds while the job is still
  ``running`` under this worker (a deleted or re-queued job throws the output away).
* **Restarts lose nothing**: queued jobs stay queued in the database; a job left ``running`` by
  a process that is gone (same host and its pid dead, or no heartbeat for ``stale_job_s``) goes
  back to the queue, at most ``max_job_attempts`` times. A graceful shutdown puts its running
  job back without counting the attempt.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from medius.web.models import Job, Recording, utcnow
from medius.web.settings import Settings

__all__ = ["JobQueue", "ProgressFn", "Runner", "enqueue_job", "job_spec", "run_in_subprocess"]

_log = logging.getLogger("medius.web.jobs")

#: ``progress(stage, done, total) -> keep going?``
ProgressFn = Callable[[str, int, int | None], bool]
#: ``runner(spec, progress) -> {"status": done|not_judgeable|failed, "summary": ..., "error": ...}``
Runner = Callable[[dict[str, Any], ProgressFn], dict[str, Any]]


def enqueue_job(db: Session, recording: Recording, options: dict[str, Any]) -> Job:
    job = Job(clinic_id=recording.clinic_id, recording_id=recording.id, status="queued", options=options)
    db.add(job)
    return job


def job_spec(settings: Settings, recording: Recording, job: Job) -> dict[str, Any]:
    """What the child process runs: the job's :class:`~medius.analysis.AnalysisRequest` (as JSON,
    checked here) and, for this process, the log file and the time limit."""
    from medius.analysis.request import AnalysisRequest

    folder = settings.media_dir / str(recording.id)
    inputs = sorted(folder.glob("input*"))
    request = AnalysisRequest(
        inputs[0] if inputs else folder / "input",
        out_dir=folder / "result",
        task=recording.task,
        side=recording.side,
        force=True,
        max_side_px=settings.max_side_px,
        **(job.options or {}),
    )
    return {**request.to_json(), "log": str(folder / "analysis.log"), "timeout_s": settings.job_timeout_s}


def run_in_subprocess(spec: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
    """Run :mod:`medius.web.media._child` on ``spec``; stop it when ``progress`` returns False or
    when it runs longer than ``spec["timeout_s"]`` (the job then fails, saying so)."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    log_path = Path(spec.get("log") or os.devnull)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "medius.web.media._child", json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        lines: queue.Queue[bytes | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        final: dict[str, Any] | None = None
        keep_going = True
        timeout_s = float(spec.get("timeout_s") or 0)
        deadline = time.monotonic() + timeout_s if timeout_s > 0 else None
        timed_out = False
        while True:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                line = b""
            if line is None:
                break
            msg: dict[str, Any] = {}
            if line.strip():
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = {}
            if msg.get("event") == "progress":
                keep_going = progress(str(msg.get("stage", "")), int(msg.get("done") or 0), msg.get("total"))
            elif msg.get("event") in ("result", "error"):
                final = msg
            else:
                keep_going = progress("", -1, None)  # heartbeat only
            if deadline is not None and time.monotonic() > deadline:
                timed_out, keep_going = True, False
            if not keep_going:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                break
        code = proc.wait()
        reader.join(timeout=5)
    if timed_out:
        return {
            "status": "failed",
            "error": f"the analysis took longer than the limit of {timeout_s / 60:g} min "
            "(MEDIUS_JOB_TIMEOUT_MIN) and was stopped",
        }
    if not keep_going:
        return {"status": "cancelled", "error": "the job was stopped"}
    if final is None:
        return {
            "status": "failed",
            "error": f"the analysis process stopped unexpectedly (exit code {code}); see analysis.log",
        }
    if final["event"] == "error":
        return {"status": "failed", "error": str(final.get("message", "analysis failed"))}
    return {"status": final["status"], "summary": final.get("summary")}


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC): compare them as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rowcount(result: Any) -> int:
    """Rows an UPDATE touched (a ``CursorResult``; ``Session.execute`` is typed as a plain ``Result``)."""
    return int(result.rowcount)


class JobQueue:
    """Claims and runs the queued jobs of one app process: ``settings.workers`` worker threads,
    each running one analysis (in its own child process) at a time."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        *,
        runner: Runner | None = None,
        worker_id: str | None = None,
        poll_s: float = 2.0,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.runner: Runner = runner or run_in_subprocess
        self.host = socket.gethostname()
        self.worker_id = worker_id or f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._shutting_down = False
        self._last_recover = 0.0

    # ------------------------------------------------------------------ recovery
    def _is_orphan(self, job: Job, now: Any) -> bool:
        if job.worker_id == self.worker_id:
            return False
        parts = (job.worker_id or "").split(":")
        if len(parts) >= 3 and parts[0] == self.host and parts[1].isdigit():
            pid = int(parts[1])
            if pid == os.getpid() or not _pid_alive(pid):
                return True  # our own previous incarnation, or a dead process on this machine
        return job.heartbeat_at is None or job.heartbeat_at < now - timedelta(
            seconds=self.settings.stale_job_s
        )

    def recover_orphans(self) -> int:
        """Put jobs left running by a dead process back in the queue (or fail them after too many tries)."""
        now = utcnow()
        n = 0
        with self.factory() as db:
            for job in db.scalars(select(Job).where(Job.status == "running")).all():
                if not self._is_orphan(job, now):
                    continue
                exhausted = job.attempts >= self.settings.max_job_attempts
                res = db.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.status == "running", Job.worker_id == job.worker_id)
                    .values(
                        status="failed" if exhausted else "queued",
                        worker_id=None,
                        finished_at=now if exhausted else None,
                        stage="",
                        error=(
                            f"the analysis was interrupted {job.attempts} times; upload again or retry"
                            if exhausted
                            else ""
                        ),
                    )
                )
                n += _rowcount(res)
            db.commit()
        self._last_recover = time.monotonic()
        return n

    # ------------------------------------------------------------------ claiming and running
    def _next_queued(self, db: Session) -> uuid.UUID | None:
        """The job to run next, fair between clinics: the clinic with the fewest running jobs, then
        the one served least recently (never served first), then the oldest queue; within the
        clinic its oldest job. One clinic's many or long uploads cannot make another wait for all."""
        waiting = db.execute(
            select(Job.clinic_id, func.min(Job.queued_at))
            .where(Job.status == "queued")
            .group_by(Job.clinic_id)
        ).all()
        if not waiting:
            return None
        if len(waiting) == 1:
            clinic_id = waiting[0][0]
        else:
            ids = [c for c, _ in waiting]
            running = dict(
                db.execute(
                    select(Job.clinic_id, func.count())
                    .where(Job.status == "running", Job.clinic_id.in_(ids))
                    .group_by(Job.clinic_id)
                ).all()
            )
            served = dict(
                db.execute(
                    select(Job.clinic_id, func.max(Job.started_at))
                    .where(Job.clinic_id.in_(ids), Job.started_at.is_not(None))
                    .group_by(Job.clinic_id)
                ).all()
            )

            def key(row: Any) -> tuple[Any, ...]:
                cid, oldest = row
                last = served.get(cid)
                return (running.get(cid, 0), last is not None, _aware(last or oldest), _aware(oldest), cid)

            clinic_id = min(waiting, key=key)[0]
        return db.scalars(
            select(Job.id)
            .where(Job.status == "queued", Job.clinic_id == clinic_id)
            .order_by(Job.queued_at, Job.id)
            .limit(1)
        ).first()

    def claim_next(self) -> uuid.UUID | None:
        """Claim the next queued job (:meth:`_next_queued`) for this worker; None when there is
        none (or another won it)."""
        with self.factory() as db:
            for _ in range(5):
                job_id = self._next_queued(db)
                if job_id is None:
                    return None
                now = utcnow()
                res = db.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "queued")
                    .values(
                        status="running",
                        worker_id=self.worker_id,
                        attempts=Job.attempts + 1,
                        started_at=now,
                        heartbeat_at=now,
                        stage="starting",
                        progress_done=0,
                        progress_total=None,
                        error="",
                    )
                )
                db.commit()
                if _rowcount(res) == 1:
                    return job_id
            return None

    def _progress(self, job_id: uuid.UUID) -> ProgressFn:
        last = [0.0]

        def progress(stage: str, done: int, total: int | None) -> bool:
            if self._shutting_down:
                return False
            now = time.monotonic()
            if now - last[0] < 0.5 and done >= 0:
                return True
            last[0] = now
            values: dict[str, Any] = {"heartbeat_at": utcnow()}
            if done >= 0:
                values.update(stage=stage[:100], progress_done=done, progress_total=total)
            with self.factory() as db:
                res = db.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "running", Job.worker_id == self.worker_id)
                    .values(**values)
                )
                db.commit()
            return _rowcount(res) == 1  # gone (patient deleted) or taken over: stop

        return progress

    def run_job(self, job_id: uuid.UUID) -> str:
        """Run a job this worker has claimed and record its outcome once. Returns the final status."""
        with self.factory() as db:
            job = db.get(Job, job_id)
            rec = db.get(Recording, job.recording_id) if job else None
            if job is None or rec is None:
                return "gone"
            spec = job_spec(self.settings, rec, job)
        out_dir = Path(spec["out_dir"])
        # what a run killed mid-way left (the library writes into ``.result.*.partial`` and renames
        # it into place only when done): this job is ours now, so nothing else is writing there
        for leftover in out_dir.parent.glob(f".{out_dir.name}.*"):
            shutil.rmtree(leftover, ignore_errors=True)
        try:
            outcome = self.runner(spec, self._progress(job_id))
        except Exception as exc:  # the runner itself failed: record it, keep the worker alive
            _log.exception("analysis runner failed")
            outcome = {"status": "failed", "error": f"internal error: {type(exc).__name__}: {exc}"}
        status = str(outcome.get("status", "failed"))
        with self.factory() as db:
            if status == "cancelled":
                if self._shutting_down:  # graceful stop: back in the queue, attempt not counted
                    db.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.status == "running", Job.worker_id == self.worker_id)
                        .values(status="queued", worker_id=None, stage="", attempts=Job.attempts - 1)
                    )
                    db.commit()
                    return "queued"
                if db.get(Job, job_id) is None:
                    shutil.rmtree(out_dir.parent, ignore_errors=True)
                return "cancelled"
            res = db.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running", Job.worker_id == self.worker_id)
                .values(
                    status=status,
                    summary=outcome.get("summary"),
                    error=str(outcome.get("error", ""))[:5000],
                    finished_at=utcnow(),
                    heartbeat_at=utcnow(),
                    stage="finished",
                    results_recorded=Job.results_recorded + 1,
                )
            )
            db.commit()
            if _rowcount(res) != 1:
                if db.get(Job, job_id) is None:  # deleted meanwhile: leave nothing on disk
                    shutil.rmtree(out_dir.parent, ignore_errors=True)
                return "discarded"
        return status

    def run_once(self) -> bool:
        """Recover orphans when due, then claim and run one job. True when a job ran."""
        if time.monotonic() - self._last_recover > max(1.0, self.settings.stale_job_s / 2):
            self.recover_orphans()
        job_id = self.claim_next()
        if job_id is None:
            return False
        self.run_job(job_id)
        return True

    def run_until_empty(self, max_jobs: int = 100) -> int:
        n = 0
        while n < max_jobs and self.run_once():
            n += 1
        return n

    # ------------------------------------------------------------------ thread
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._threads:
            return
        self.recover_orphans()
        self._stop.clear()
        for i in range(max(1, self.settings.workers)):
            t = threading.Thread(target=self._loop, name=f"medius-jobs-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # the database is away for a moment: try again later
                _log.exception("job worker error")
                ran = False
            if not ran:
                self._wake.wait(self.poll_s)
                self._wake.clear()
            elif len(self._threads) > 1:
                self._wake.set()  # another thread may find work that this one left

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the thread; a running analysis is stopped and its job put back in the queue."""
        self._shutting_down = True
        self._stop.set()
        self._wake.set()
        end = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.1, end - time.monotonic()))
        self._threads = []
        self._shutting_down = False
