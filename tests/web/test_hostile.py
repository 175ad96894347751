"""Hostile uploads: a file that crashes a parser (ezc3d's segmentation fault on a malformed C3D)
is refused with one clear message; the app keeps answering during and after, and no upload
folder is left behind. The content check runs in a child process (medius.isolated)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests._hostile import byte929_c3d
from tests.web.conftest import new_patient, new_visit, upload
from tests.web.test_restart import Clinician, deployment  # noqa: F401 - the fixture


def test_crashing_c3d_upload_is_refused_and_leaves_nothing(app, north, tmp_path):
    visit = new_visit(north, new_patient(north)["id"])["id"]
    bad = byte929_c3d(tmp_path / "gait.c3d")
    r = upload(north, visit, bad, task="walk")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert (
        detail.startswith("Not a marker or keypoint file") and "crashed" in detail and "\n" not in detail
    )
    assert list(Path(app.state.settings.media_dir).iterdir()) == []
    assert north.get("/api/me").status_code == 200  # the app (this very process) is alive


def test_real_server_survives_a_crashing_upload(deployment, synthetic_trc, tmp_path):  # noqa: F811
    server = deployment["start"](worker=False)
    doc = Clinician(server.base)
    visit = doc.visit()
    bad = byte929_c3d(tmp_path / "gait.c3d")
    answers: list[int] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=server.base, timeout=10) as c:
            while not done.is_set() and len(answers) < 500:
                answers.append(c.get("/healthz").status_code)
                time.sleep(0.02)

    t = threading.Thread(target=poll)
    t.start()
    try:
        with open(bad, "rb") as fh:
            r = doc.http.post(
                f"/api/visits/{visit}/recordings",
                data={"task": "walk"},
                files={"file": (bad.name, fh, "application/octet-stream")},
                headers={"X-CSRF-Token": doc.csrf},
            )
    finally:
        done.set()
        t.join()
    assert r.status_code == 422 and "crashed" in r.json()["detail"], r.text
    assert answers and set(answers) == {200}
    assert server.proc.poll() is None
    assert list(deployment["media"].iterdir()) == []
    # and it goes on taking good uploads
    assert doc.upload(visit, synthetic_trc)["recording"]["kind"] == "keypoints"
    doc.close()
    server.kill()
