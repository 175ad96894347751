"""The progress page with 20 visits (alone: ``python benchmarks/bench_progress.py``).

A fresh SQLite data folder with the demo clinic; its patient gets ``--visits`` (default 20) visits,
each with a clinical assessment (the example visit, hip abductor force rising by 2 N a visit) and
an analysed single-leg-squat recording (the summary of a real analysis of the SYNTHETIC squat).
The app runs in process (FastAPI's test client, a signed-in clinician); prints the median and
worst of ``--repeat`` (default 7) loads of everything the page needs: the page itself and every
chart image it links to (the charts were separate SVG requests before issue 21; now they are inline).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password 1"


def _summary(tmp: Path) -> dict:
    from medius.analysis import AnalysisRequest
    from medius.io.keypoint_files import write_openpose_json
    from medius.report.outputs import run_analysis
    from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats
    from medius.web.media._child import summarize_result

    left = [SyntheticRep("left", fppa_deg=8.0, pelvic_drop_deg=3.0, trunk_lean_deg=4.0, depth_pct=15.0)] * 5
    right = [SyntheticRep("right", fppa_deg=16.0, pelvic_drop_deg=7.0, trunk_lean_deg=9.0, depth_pct=12.0)] * 5
    kp, _ = make_single_leg_squats(SyntheticSquats(reps=tuple(left + right)))
    write_openpose_json(kp, tmp / "kp", prefix="clip")
    oc = run_analysis(AnalysisRequest(tmp / "kp", task="single-leg-squat", out_dir=tmp / "out", fps=30.0,
                      image_size=(1080, 1920), annotated_video=False))
    return summarize_result(oc.result)


def seed(data_dir: Path, visits: int) -> str:
    from sqlalchemy import select

    from medius.clinic.records import read_assessment
    from medius.web.cli import _settings, create_demo_data
    from medius.web.db import create_db_engine, make_sessionmaker
    from medius.web.models import Job, Patient, Recording, Visit

    create_demo_data(data_dir, PASSWORD)
    summary = _summary(data_dir)
    base = read_assessment(ROOT / "examples" / "assessments" / "pfp_right_visit1.yaml").model_dump(mode="json")
    engine = create_db_engine(_settings(data_dir).database_url)
    with make_sessionmaker(engine)() as db:
        patient = db.scalars(select(Patient)).one()
        for k in range(visits):
            a = json.loads(json.dumps(base))
            for t in a["strength"]["hip_abduction"]["right"]:
                t["force"] += 2 * k
            v = Visit(clinic_id=patient.clinic_id, patient_id=patient.id,
                      visit_date=date(2026, 1, 5) + timedelta(days=7 * k), reason=f"visit {k + 1}", assessment=a)
            db.add(v)
            db.flush()
            rec = Recording(clinic_id=patient.clinic_id, visit_id=v.id, kind="markers", task="single-leg-squat",
                            original_name="kp.json", stored_name=f"r{k}", size_bytes=1, sha256="0" * 64)
            db.add(rec)
            db.flush()
            db.add(Job(clinic_id=patient.clinic_id, recording_id=rec.id, status="done", summary=summary))
        db.commit()
        pid = str(patient.id)
    engine.dispose()
    return pid


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    from fastapi.testclient import TestClient

    from medius.web.app import create_app
    from medius.web.cli import DEMO_EMAIL, _settings

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        pid = seed(data_dir, args.visits)
        app = create_app(_settings(data_dir))
        with TestClient(app) as client:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
            r = client.post("/login", data={"email": DEMO_EMAIL, "password": PASSWORD, "csrf_token": token},
                            follow_redirects=False)
            assert r.status_code == 303, r.text
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                page = client.get(f"/patients/{pid}/progress")
                assert page.status_code == 200
                for src in re.findall(r'<img src="(/patients/[^"]+\.svg)"', page.text):
                    assert client.get(src).status_code == 200
                times.append(time.perf_counter() - t0)
            n_inline = page.text.count("<svg")
            n_img = len(re.findall(r'<img src="(/patients/[^"]+\.svg)"', page.text))
    print(f"progress page, {args.visits} visits: median {statistics.median(times) * 1000:.0f} ms, "
          f"worst {max(times) * 1000:.0f} ms over {args.repeat} loads ({n_img} chart requests, {n_inline} inline charts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
