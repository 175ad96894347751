"""A visit's exports: the full report as PDF, its data as JSON and the reps as CSV; result files."""

from __future__ import annotations

import csv
import io

from pypdf import PdfReader

from tests.web.conftest import new_patient, new_visit, upload


def _analysed_visit(app, north, synthetic_trc):
    p = new_patient(north, family_name="Export", given_name="Emma", reference="E-1")
    v = new_visit(north, p["id"], reason="anterior knee pain")
    rec = upload(north, v["id"], synthetic_trc).json()["recording"]
    assert app.state.jobs.run_once()
    return p, v, rec


def test_visit_report_pdf(app, north, synthetic_trc):
    p, v, rec = _analysed_visit(app, north, synthetic_trc)
    r = north.get(f"/visits/{v['id']}/report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "Export, Emma" in text and "E-1" in text and "anterior knee pain" in text
    assert "Single-leg squat" in text and "FPPA" in text


def test_visit_json_and_csv(app, north, synthetic_trc):
    p, v, rec = _analysed_visit(app, north, synthetic_trc)
    data = north.get(f"/visits/{v['id']}/export.json").json()
    assert data["patient"]["reference"] == "E-1" and data["visit"]["reason"] == "anterior knee pain"
    (r,) = data["recordings"]
    assert (
        r["analysis"]["status"] == "done" and r["result"]["status"] == "ok" and len(r["result"]["reps"]) == 2
    )
    rows = list(csv.DictReader(io.StringIO(north.get(f"/visits/{v['id']}/export.csv").text)))
    assert [(row["recording_id"], row["side"]) for row in rows] == [(rec["id"], "left"), (rec["id"], "right")]
    assert float(rows[1]["fppa_deg_peak"]) > float(rows[0]["fppa_deg_peak"])


def test_result_files_and_range_requests(app, north, synthetic_trc):
    p, v, rec = _analysed_visit(app, north, synthetic_trc)
    url = f"/recordings/{rec['id']}/files/result.json"
    full = north.get(url)
    assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
    part = north.get(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == full.content[:10]
    assert part.headers["content-range"].startswith("bytes 0-9/")


def test_empty_visit_exports(north):
    v = new_visit(north, new_patient(north)["id"])
    assert north.get(f"/visits/{v['id']}/export.csv").text.startswith("visit_date,recording_id,task")
    assert north.get(f"/visits/{v['id']}/report.pdf").status_code == 200
