"""One clinic cannot starve another: upload limits, a job time-out, fair claims between clinics,
several analyses at once (on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from medius.web import messages
from medius.web.media.jobs import JobQueue, run_in_subprocess
from tests.web.conftest import Browser, add_user, new_patient, new_visit, upload


def _clinics(make_app, runner=None, **overrides):
    a = make_app(runner=runner, **overrides)
    from sqlalchemy import select

    from medius.web.models import User

    with a.state.sessionmaker() as db:
        known = set(db.scalars(select(User.email)).all())
    if "doc@north.example" not in known:
        add_user(a, "doc@north.example")
        add_user(a, "doc@south.example", clinic="South clinic")
    north, south = Browser(a), Browser(a)
    assert north.sign_in("doc@north.example").status_code == 303
    assert south.sign_in("doc@south.example").status_code == 303
    return a, north, south


def _visit(b: Browser) -> str:
    return new_visit(b, new_patient(b)["id"])["id"]


def test_uploads_over_the_frame_or_duration_limit_are_refused(make_app, synthetic_trc, tmp_path):
    a, north, _ = _clinics(make_app, max_frames=50)
    r = upload(north, _visit(north), synthetic_trc)
    assert r.status_code == 413, r.text
    assert "more than the limit of 50 (MEDIUS_MAX_FRAMES)" in r.json()["detail"]
    assert list(Path(a.state.settings.media_dir).iterdir()) == []
    from tests import _videos

    video = _videos.write_test_video(tmp_path / "clip.mp4", n_frames=60)  # 2 s at 30 fps
    b, north, _ = _clinics(make_app, max_video_s=1.0)
    r = upload(north, _visit(north), video)
    assert r.status_code == 413 and "(MEDIUS_MAX_VIDEO_SECONDS)" in r.json()["detail"], r.text
    assert messages.UPLOAD_TOO_LONG.split("{")[0] in r.json()["detail"]


def test_an_analysis_past_the_time_out_is_stopped_and_fails(synthetic_trc, tmp_path):
    spec = {
        "input": str(synthetic_trc),
        "out_dir": str(tmp_path / "out"),
        "task": "single-leg-squat",
        "log": str(tmp_path / "analysis.log"),
        "annotated_video": False,
        "timeout_s": 0.5,
    }
    t0 = time.monotonic()
    out = run_in_subprocess(spec, lambda *a: True)
    assert out["status"] == "failed" and "longer than the limit" in out["error"], out
    assert "MEDIUS_JOB_TIMEOUT_MIN" in out["error"]
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "out").exists()


def test_claims_are_fair_between_clinics(make_app, synthetic_trc, copy_runner):
    a, north, south = _clinics(make_app, runner=copy_runner)
    nv, sv = _visit(north), _visit(south)
    order = [upload(north, nv, synthetic_trc).json()["job"]["id"] for _ in range(3)]
    order.append(upload(south, sv, synthetic_trc).json()["job"]["id"])
    q = a.state.jobs
    ran = []
    for _ in range(4):
        job_id = q.claim_next()
        ran.append(str(job_id))
        q.run_job(job_id)
    # north's first job, then south's (never served yet), then north's others in order
    assert ran == [order[0], order[3], order[1], order[2]]


def test_several_workers_run_two_clinics_at_once(make_app, synthetic_trc):
    started: list[str] = []
    release = threading.Event()
    both = threading.Event()

    def slow_runner(spec, progress):
        started.append(spec["input"])
        if len(started) >= 2:
            both.set()
        release.wait(20)
        return {"status": "failed", "error": "test"}

    a, north, south = _clinics(make_app, runner=slow_runner, workers=2)
    upload(north, _visit(north), synthetic_trc)  # a long job of north ...
    upload(south, _visit(south), synthetic_trc)  # ... does not hold south's
    q: JobQueue = a.state.jobs
    q.poll_s = 0.05
    q.start()
    try:
        assert both.wait(20), started
        assert len(q._threads) == 2
    finally:
        release.set()
        q.stop()
