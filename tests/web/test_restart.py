"""Analysis jobs survive a real restart of the app (on SQLite and PostgreSQL).

Not an app object rebuilt in the test process: ``medius serve`` runs as its own process (with its
worker thread and the child process of the real analysis), is killed (``SIGKILL`` of its whole
process group, as a power cut or the OOM killer would) or stopped (``SIGTERM``, as Ctrl-C or a
service manager would), and started again on the same database and data folder:

* jobs queued when the app dies all run after the restart, once each;
* a job that was running when the app was killed goes back to the queue at start-up and runs to
  completion again, its result recorded exactly once, the half-written output of the killed run
  cleaned away;
* a job that was running at a graceful stop is put back in the queue without counting the attempt.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from medius.web.models import Job
from tests.web._serve import ServeProcess
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")

EMAIL = "doc@north.example"


#: ``medius serve`` in its own process group (tests/web/_serve.py)
Server = ServeProcess


class Clinician:
    """A signed-in HTTP client of a running app."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
        page = self.http.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        r = self.http.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 303, r.text
        self.csrf = self.http.get("/api/me").json()["csrf_token"]

    def visit(self) -> str:
        h = {"X-CSRF-Token": self.csrf}
        p = self.http.post("/api/patients", json={"family_name": "Restart"}, headers=h).json()
        v = self.http.post(f"/api/patients/{p['id']}/visits", json={"visit_date": "2026-03-02"}, headers=h)
        assert v.status_code == 201, v.text
        return v.json()["id"]

    def upload(self, visit_id: str, path: Path) -> dict[str, Any]:
        with open(path, "rb") as fh:
            r = self.http.post(
                f"/api/visits/{visit_id}/recordings",
                data={"task": "single-leg-squat", "annotated_video": "0"},
                files={"file": (path.name, fh, "application/octet-stream")},
                headers={"X-CSRF-Token": self.csrf},
            )
        assert r.status_code == 201, r.text
        return r.json()

    def job(self, job_id: str) -> dict[str, Any]:
        return self.http.get(f"/api/jobs/{job_id}").json()

    def wait(self, job_id: str, statuses: tuple[str, ...], timeout_s: float = 120.0) -> dict[str, Any]:
        end = time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job["status"] in statuses:
                return job
            assert time.monotonic() < end, f"job {job_id} still {job['status']} after {timeout_s} s"
            time.sleep(0.05)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A data folder and database with one clinician, and a way to read the jobs table directly."""
    from medius.web.auth.service import create_user, get_or_create_clinic
    from medius.web.db import create_db_engine, make_sessionmaker, upgrade_database

    engine = create_db_engine(database_url)
    upgrade_database(engine)
    factory = make_sessionmaker(engine)
    with factory() as db:
        c = get_or_create_clinic(db, "North clinic")
        create_user(db, clinic_id=c.id, email=EMAIL, password=PASSWORD)
        db.commit()

    def job_row(job_id: str) -> Job:
        with factory() as db:
            job = db.scalars(select(Job).where(Job.id == uuid.UUID(job_id))).one()
            db.expunge(job)
            return job

    servers: list[Server] = []

    def start(*, worker: bool) -> Server:
        s = Server(tmp_path / "data", database_url, tmp_path / "server.log", worker=worker)
        servers.append(s)
        return s

    yield {"start": start, "job": job_row, "media": tmp_path / "data" / "media"}
    for s in servers:
        if s.proc.poll() is None:
            s.kill()
    engine.dispose()


def _assert_done_once(d: dict[str, Any], data: dict[str, Any], attempts: int) -> None:
    job = d["job"](data["job"]["id"])
    assert job.status == "done", (job.status, job.error)
    assert job.attempts == attempts and job.results_recorded == 1
    folder = d["media"] / data["recording"]["id"]
    assert (folder / "result" / "result.json").is_file()
    # nothing half-written is left behind by a killed run
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


def test_jobs_survive_a_real_restart(deployment, synthetic_trc):
    d = deployment
    # 1. the app takes two uploads (its worker off, so they stay queued), then dies hard
    first = d["start"](worker=False)
    doc = Clinician(first.base)
    visit = doc.visit()
    queued = [doc.upload(visit, synthetic_trc) for _ in range(2)]
    doc.close()
    first.kill()
    assert [d["job"](q["job"]["id"]).status for q in queued] == ["queued", "queued"]

    # 2. started again, it runs both, once each; a third upload is killed mid-analysis
    second = d["start"](worker=True)
    doc = Clinician(second.base)
    for q in queued:
        doc.wait(q["job"]["id"], ("done", "failed", "not_judgeable"))
    for q in queued:
        _assert_done_once(d, q, attempts=1)
    running = doc.upload(visit, synthetic_trc)
    doc.wait(running["job"]["id"], ("running",))
    doc.close()
    second.kill()
    row = d["job"](running["job"]["id"])
    assert row.status == "running", "the analysis ended before the app was killed: nothing was tested"
    assert row.attempts == 1 and row.results_recorded == 0

    # 3. at start-up the interrupted job goes back to the queue and runs to the end once
    third = d["start"](worker=True)
    doc = Clinician(third.base)
    job = doc.wait(running["job"]["id"], ("done", "failed", "not_judgeable"))
    assert job["status"] == "done" and job["summary"]["n_reps"] == 2, job
    _assert_done_once(d, running, attempts=2)
    result = doc.http.get(f"/api/recordings/{running['recording']['id']}/result").json()
    assert {r["side"] for r in result["reps"]} == {"left", "right"}

    # 4. a graceful stop in the middle of an analysis puts the job back, attempt not counted
    graceful = doc.upload(visit, synthetic_trc)
    doc.wait(graceful["job"]["id"], ("running",))
    doc.close()
    assert third.terminate() in (0, -signal.SIGTERM), third.log()
    row = d["job"](graceful["job"]["id"])
    assert (row.status, row.attempts, row.results_recorded) == ("queued", 0, 0), (row.status, row.error)

    fourth = d["start"](worker=True)
    doc = Clinician(fourth.base)
    doc.wait(graceful["job"]["id"], ("done", "failed", "not_judgeable"))
    _assert_done_once(d, graceful, attempts=1)
    # every job ran to one recorded result: none lost, none recorded twice
    for q in [*queued, running, graceful]:
        assert d["job"](q["job"]["id"]).results_recorded == 1
    doc.close()
    assert fourth.terminate() in (0, -signal.SIGTERM)
