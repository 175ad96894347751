"""Patients and visits: API and pages (create, edit, search, paginate, delete with every file)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from medius.web.models import Job, Patient, Recording, Visit
from medius.web.patients.service import sort_name
from tests.web.conftest import new_patient, new_visit, upload


def test_create_read_update_patient_through_the_api(north):
    p = new_patient(north, reference="R-17", birth_date="1985-02-03", sex="female", notes="knee")
    assert north.get(f"/api/patients/{p['id']}").json()["reference"] == "R-17"
    r = north.api("PATCH", f"/api/patients/{p['id']}", json={"given_name": "Janet", "notes": ""})
    assert (
        r.status_code == 200 and r.json()["given_name"] == "Janet" and r.json()["birth_date"] == "1985-02-03"
    )
    r = north.api("POST", "/api/patients", json={"family_name": "", "birth_date": "2999-01-01"})
    assert r.status_code == 422
    fields = {e["loc"][-1] for e in r.json()["detail"]}
    assert fields == {"family_name", "birth_date"}


def test_list_is_sorted_paginated_and_searchable(app, north):
    from medius.web.auth.service import get_or_create_clinic

    with app.state.sessionmaker() as db:
        clinic = get_or_create_clinic(db, "North clinic")
        for i in range(30):
            db.add(
                Patient(
                    clinic_id=clinic.id,
                    family_name=f"Name{i:02d}",
                    given_name="X",
                    sort_name=sort_name(f"Name{i:02d}", "X"),
                    reference=f"REF{i}",
                )
            )
        db.commit()
    page1 = north.get("/api/patients?page=1&page_size=25").json()
    page2 = north.get("/api/patients?page=2&page_size=25").json()
    assert page1["count"] == 30 and len(page1["data"]) == 25 and len(page2["data"]) == 5
    names = [p["family_name"] for p in page1["data"] + page2["data"]]
    assert names == sorted(names)
    assert [p["family_name"] for p in north.get("/api/patients?q=name0").json()["data"]] == [
        f"Name0{i}" for i in range(10)
    ]
    assert north.get("/api/patients?q=REF29").json()["count"] == 1
    assert north.get("/api/patients?q=%25").json()["count"] == 0  # LIKE wildcards are literal
    assert north.get("/api/patients?q=_").json()["count"] == 0
    html = north.get("/patients?page=2").text
    assert "Page 2 of 2" in html and "Name29" in html and "Name00" not in html
    assert 'rel="prev"' in html


def test_patient_pages_create_validate_and_edit(north):
    r = north.form("/patients/new", {"family_name": "", "birth_date": "1800-01-01"})
    assert r.status_code == 422
    assert "Please correct" in r.text and "1800-01-01" in r.text  # the form comes back filled in
    r = north.form("/patients/new", {"family_name": "Smith", "given_name": "Al", "birth_date": "", "sex": ""})
    assert r.status_code == 303
    url = r.headers["location"]
    assert "Smith, Al" in north.get(url).text
    r = north.form(url + "/edit", {"family_name": "Smyth", "given_name": "Al", "notes": "moved"})
    assert r.status_code == 303
    page = north.get(url).text
    assert "Smyth" in page and "moved" in page


def test_visits_created_edited_and_listed(north):
    p = new_patient(north)
    r = north.form(f"/patients/{p['id']}/visits", {"visit_date": "2026-02-01", "reason": "first"})
    assert r.status_code == 303
    visit_url = r.headers["location"]
    assert "Visit of 2026-02-01" in north.get(visit_url).text
    r = north.form(visit_url + "/edit", {"visit_date": "not a date"})
    assert r.status_code == 422
    r = north.form(visit_url + "/edit", {"visit_date": "2026-02-03", "reason": "second"})
    assert r.status_code == 303
    visits = north.get(f"/api/patients/{p['id']}/visits").json()
    assert [(v["visit_date"], v["reason"]) for v in visits] == [("2026-02-03", "second")]


def test_session_log(north):
    p = new_patient(north)
    v = new_visit(north, p["id"])
    r = north.form(
        f"/visits/{v['id']}/sessions",
        {"session_date": "2026-03-05", "completed": "on", "pain_nprs": "3", "rpe": "6", "notes": "ok"},
    )
    assert r.status_code == 303
    r = north.form(f"/visits/{v['id']}/sessions", {"session_date": "2026-03-06", "pain_nprs": "11"})
    assert r.status_code == 422
    data = north.get(f"/api/visits/{v['id']}/export.json").json()
    assert [(s["date"], s["pain_nprs"], s["completed"]) for s in data["program_sessions"]] == [
        ("2026-03-05", 3.0, True)
    ]


def test_delete_patient_removes_rows_and_files(app, north, south, synthetic_trc):
    p = new_patient(north)
    v = new_visit(north, p["id"])
    rec = upload(north, v["id"], synthetic_trc).json()["recording"]
    assert app.state.jobs.run_once()
    folder = Path(app.state.settings.media_dir) / rec["id"]
    assert (folder / "result" / "result.json").is_file() and (folder / "input.trc").is_file()
    keep = new_patient(south)  # another clinic's patient is untouched
    r = north.form(f"/patients/{p['id']}/delete")
    assert r.status_code == 303
    assert not folder.exists()
    assert north.get(f"/api/patients/{p['id']}").status_code == 404
    with app.state.sessionmaker() as db:
        for model in (Visit, Recording, Job):
            assert db.scalar(select(func.count()).select_from(model)) == 0
        assert db.scalar(select(func.count()).select_from(Patient)) == 1
    assert south.get(f"/api/patients/{keep['id']}").status_code == 200


def test_delete_patient_through_the_api(app, north, synthetic_trc):
    p = new_patient(north)
    v = new_visit(north, p["id"])
    rec = upload(north, v["id"], synthetic_trc).json()["recording"]
    r = north.api("DELETE", f"/api/patients/{p['id']}")
    assert r.status_code == 204
    assert not (Path(app.state.settings.media_dir) / rec["id"]).exists()
    assert not app.state.jobs.run_once()  # its queued job went with it


def test_openapi_documents_the_json_api(north):
    spec = north.get("/api/openapi.json").json()
    for path in (
        "/api/patients",
        "/api/patients/{patient_id}",
        "/api/visits/{visit_id}/recordings",
        "/api/jobs/{job_id}",
        "/api/visits/{visit_id}/report.pdf",
        "/api/me",
    ):
        assert path in spec["paths"], path
    assert "PatientPublic" in spec["components"]["schemas"]
    assert not any(re.match(r"^/(patients|visits|login)", p) for p in spec["paths"])  # pages stay out
