"""The analysis job queue: atomic claims, live progress, restarts lose nothing and run nothing twice,
failures say why (on SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import json
import socket
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from medius.web.media.jobs import JobQueue, run_in_subprocess
from medius.web.models import Job, utcnow
from tests.web.conftest import new_patient, new_visit, upload, wait_for


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _job(app, job_id: str) -> Job:
    with app.state.sessionmaker() as db:
        return db.get(Job, uuid.UUID(job_id))


def _queued_job(north, path: Path) -> dict:
    v = new_visit(north, new_patient(north)["id"])
    r = upload(north, v["id"], path)
    assert r.status_code == 201, r.text
    return r.json()


def test_upload_queues_a_job_that_runs_once_and_shows_the_result(app, north, synthetic_trc, copy_runner):
    data = _queued_job(north, synthetic_trc)
    job = north.get(f"/api/jobs/{data['job']['id']}").json()
    assert job["status"] == "queued" and job["attempts"] == 0
    page = north.get(data["url"]).text
    assert 'data-job-id="' in page and "queued" in page
    assert app.state.jobs.run_once() is True
    assert app.state.jobs.run_once() is False  # nothing left
    job = north.get(f"/api/jobs/{data['job']['id']}").json()
    assert job["status"] == "done" and job["attempts"] == 1 and job["summary"]["n_reps"] == 2
    assert len(copy_runner.calls) == 1
    assert _job(app, data["job"]["id"]).results_recorded == 1
    page = north.get(data["url"]).text
    assert 'id="reps"' in page and 'id="summary"' in page and ".svg" in page and "data-job-id" not in page


def test_claims_are_atomic_between_two_workers(app, north, synthetic_trc):
    _queued_job(north, synthetic_trc)
    a = JobQueue(app.state.sessionmaker, app.state.settings, worker_id="host:1:a")
    b = JobQueue(app.state.sessionmaker, app.state.settings, worker_id="host:1:b")
    first, second = a.claim_next(), b.claim_next()
    assert first is not None and second is None


def test_queued_jobs_survive_a_restart(make_app, north, synthetic_trc, copy_runner, app):
    data = _queued_job(north, synthetic_trc)
    app.state.jobs.stop()
    app.state.engine.dispose()
    # a new app process on the same database and data folder
    again = make_app(runner=copy_runner)
    assert again.state.jobs.run_until_empty() == 1
    assert _job(again, data["job"]["id"]).status == "done"
    assert len(copy_runner.calls) == 1


def test_a_running_job_interrupted_by_a_restart_completes_exactly_once(
    make_app, north, synthetic_trc, copy_runner, app
):
    data = _queued_job(north, synthetic_trc)
    # the old process claimed the job, then died (its pid is gone)
    old = JobQueue(
        app.state.sessionmaker,
        app.state.settings,
        runner=copy_runner,
        worker_id=f"{socket.gethostname()}:{_dead_pid()}:old",
    )
    job_id = old.claim_next()
    assert _job(app, data["job"]["id"]).status == "running"
    again = make_app(runner=copy_runner)
    assert again.state.jobs.recover_orphans() == 1
    assert _job(again, data["job"]["id"]).status == "queued"
    assert again.state.jobs.run_until_empty() == 1
    done = _job(again, data["job"]["id"])
    assert done.status == "done" and done.attempts == 2 and done.results_recorded == 1
    # had the old worker survived, it would stop at its next progress report ...
    assert old.run_job(job_id) == "cancelled"
    # ... and a result it finished anyway would not be recorded again
    old.runner = lambda spec, progress: {"status": "done", "summary": {"late": True}}
    assert old.run_job(job_id) == "discarded"
    assert _job(again, data["job"]["id"]).results_recorded == 1
    assert _job(again, data["job"]["id"]).summary["n_reps"] == 2
    assert (
        Path(again.state.settings.media_dir) / data["recording"]["id"] / "result" / "result.json"
    ).is_file()


def test_the_worker_thread_resumes_jobs_at_start_up(make_app, north, synthetic_trc, copy_runner, app):
    data = _queued_job(north, synthetic_trc)
    app.state.jobs.stop()
    running = make_app(runner=copy_runner, worker_enabled=True)
    running.state.jobs.start()  # what the lifespan does
    wait_for(lambda: _job(running, data["job"]["id"]).status == "done", timeout_s=30)
    running.state.jobs.stop()


def test_a_live_job_of_another_process_is_left_alone_until_its_heartbeat_stops(app, north, synthetic_trc):
    data = _queued_job(north, synthetic_trc)
    other = JobQueue(app.state.sessionmaker, app.state.settings, worker_id="other-host:4242:x")
    other.claim_next()
    assert app.state.jobs.recover_orphans() == 0  # fresh heartbeat on another machine
    with app.state.sessionmaker() as db:
        db.execute(update(Job).values(heartbeat_at=utcnow() - timedelta(seconds=61)))
        db.commit()
    assert app.state.jobs.recover_orphans() == 1
    assert _job(app, data["job"]["id"]).status == "queued"


def test_interrupted_too_often_the_job_fails_with_a_reason(app, north, synthetic_trc):
    data = _queued_job(north, synthetic_trc)
    with app.state.sessionmaker() as db:
        db.execute(
            update(Job).values(
                status="running",
                attempts=3,
                worker_id="gone-host:1:x",
                heartbeat_at=utcnow() - timedelta(hours=1),
            )
        )
        db.commit()
    app.state.jobs.recover_orphans()
    job = north.get(f"/api/jobs/{data['job']['id']}").json()
    assert job["status"] == "failed" and "interrupted 3 times" in job["error"]
    page = north.get(data["url"]).text
    assert "interrupted 3 times" in page and "Try again" in page
    assert north.form(f"/recordings/{data['recording']['id']}/retry").status_code == 303
    assert north.get(f"/api/jobs/{data['job']['id']}").json()["status"] == "queued"


def test_progress_is_relayed_and_a_deleted_job_stops(app, north, synthetic_trc):
    data = _queued_job(north, synthetic_trc)
    seen = []

    def runner(spec, progress):
        assert progress("pose", 10, 100)
        seen.append(north.get(f"/api/jobs/{data['job']['id']}").json())
        north.api("DELETE", f"/api/patients/{_patient_of(app, data)}")
        Path(spec["out_dir"]).mkdir(parents=True)
        return {"status": "cancelled"} if not progress("pose", 20, 100) else {"status": "done"}

    app.state.jobs.runner = runner
    app.state.jobs.run_once()
    assert seen[0]["status"] == "running" and seen[0]["stage"] == "pose" and seen[0]["progress_done"] == 10
    assert seen[0]["progress_total"] == 100
    assert not (Path(app.state.settings.media_dir) / data["recording"]["id"]).exists()


def _patient_of(app, data) -> str:
    from medius.web.models import Recording, Visit

    with app.state.sessionmaker() as db:
        rec = db.get(Recording, uuid.UUID(data["recording"]["id"]))
        return str(db.scalars(select(Visit.patient_id).where(Visit.id == rec.visit_id)).one())


def test_the_real_analysis_runs_in_a_child_process(app, north, synthetic_trc):
    """The real runner: a child process runs the library on synthetic keypoints."""
    app.state.jobs.runner = run_in_subprocess
    data = _queued_job(north, synthetic_trc)
    assert app.state.jobs.run_once()
    job = north.get(f"/api/jobs/{data['job']['id']}").json()
    assert job["status"] == "done", job
    result = north.get(f"/api/recordings/{data['recording']['id']}/result").json()
    assert result["status"] == "ok" and result["input"]["kind"] == "trc"
    assert {r["side"] for r in result["reps"]} == {"left", "right"}
    # fppa of the synthetic squat: 8° left and 16° right, within the detection error
    assert abs(result["summary"]["left"]["fppa_deg"]["mean"] - 8.0) < 2.0
    assert abs(result["summary"]["right"]["fppa_deg"]["mean"] - 16.0) < 2.0


def test_a_failing_analysis_says_why(tmp_path):
    spec = {
        "input": str(tmp_path / "missing.mp4"),
        "out_dir": str(tmp_path / "out"),
        "task": "single-leg-squat",
        "log": str(tmp_path / "analysis.log"),
        "annotated_video": False,
    }
    ticks = []
    out = run_in_subprocess(spec, lambda stage, done, total: ticks.append(stage) or True)
    assert out["status"] == "failed" and out["error"] == "no such file or folder"
    assert not (tmp_path / "out").exists()


def test_a_crashing_child_is_a_failed_job_not_a_dead_app(tmp_path, monkeypatch):
    import medius.web.media.jobs as jobs

    real_popen = subprocess.Popen

    def crash(args, **kw):  # the child dies hard (as a segfault in native code would)
        return real_popen([sys.executable, "-c", "import os; os.abort()"], **kw)

    monkeypatch.setattr(jobs.subprocess, "Popen", crash)
    out = run_in_subprocess(
        {
            "input": "x",
            "out_dir": str(tmp_path / "o"),
            "task": "single-leg-squat",
            "log": str(tmp_path / "log"),
        },
        lambda *a: True,
    )
    assert out["status"] == "failed" and "stopped unexpectedly" in out["error"]
    assert json.dumps(out)


def test_an_unjudgeable_recording_says_why_and_what_to_film(app, north, tmp_path):
    """The real analysis (child process) of a 0.5 s SYNTHETIC clip: not judgeable, and the page says
    why and what to film instead, in the library's words."""
    from medius.io.keypoint_files import write_trc
    from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats

    kp, _ = make_single_leg_squats(SyntheticSquats(reps=(SyntheticRep("left", fppa_deg=8.0),)))
    short = write_trc(kp.slice_frames(slice(0, 15)), tmp_path / "short_px.trc")
    app.state.jobs.runner = run_in_subprocess
    data = _queued_job(north, short)
    assert app.state.jobs.run_once()
    job = north.get(f"/api/jobs/{data['job']['id']}").json()
    assert job["status"] == "not_judgeable" and job["summary"]["reasons"], job
    result = north.get(f"/api/recordings/{data['recording']['id']}/result").json()
    assert result["status"] == "not_judgeable"
    page = north.get(data["url"]).text
    section = page.split('id="not-judgeable"')[1].split("</section>")[0]
    for text in (*result["quality"]["reasons"], *result["quality"]["advice"]):
        assert html.escape(text) in section
    assert "What to film instead" in section and 'id="reps"' not in page
    # the filming checklist of the task, where filming is decided
    assert 'id="filming-guide"' in section and "tripod" in section and "Single-leg squat (from the front)" in section
