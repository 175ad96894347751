"""Patients and visits: API and pages (create, edit, search, paginate, delete with every file)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from medius.web.models import Clinic, Job, Patient, ProgramSession, Recording, Visit
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
    p = new_patient(north, family_name="Gone", reference="DEL-1")
    media = Path(app.state.settings.media_dir)
    folders = []
    for day in ("2026-01-10", "2026-02-20"):  # two visits, each with an analysed upload and a session
        v = new_visit(north, p["id"], visit_date=day)
        rec = upload(north, v["id"], synthetic_trc).json()["recording"]
        north.form(f"/visits/{v['id']}/sessions", {"session_date": day, "notes": "x"})
        folders.append(media / rec["id"])
    assert app.state.jobs.run_until_empty() == 2
    for folder in folders:
        assert (folder / "result" / "result.json").is_file() and (folder / "input.trc").is_file()
    keep = new_patient(south)  # another clinic's patient is untouched
    keep_rec = upload(south, new_visit(south, keep["id"])["id"], synthetic_trc).json()["recording"]
    r = north.form(f"/patients/{p['id']}/delete")
    assert r.status_code == 303
    assert not any(folder.exists() for folder in folders)
    assert [x.name for x in media.iterdir()] == [keep_rec["id"]]  # nothing else left on disk
    assert north.get(f"/api/patients/{p['id']}").status_code == 404
    assert north.get("/api/patients", params={"q": "DEL-1"}).json()["count"] == 0
    with app.state.sessionmaker() as db:
        north_id = db.scalar(select(Clinic.id).where(Clinic.name == "North clinic"))
        for model in (Visit, Recording, Job, ProgramSession):
            assert db.scalar(select(func.count()).select_from(model).where(model.clinic_id == north_id)) == 0
        assert db.scalar(select(func.count()).select_from(Patient)) == 1
        assert db.scalar(select(func.count()).select_from(Recording)) == 1  # South's
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


def test_openapi_documents_every_route_of_the_json_api(app, north):
    from fastapi.routing import APIRoute

    from medius.web import clinical
    from medius.web.api.routes import router as api_router
    from medius.web.auth.admin import api as users_api
    from medius.web.clinical_views import api as clinical_api
    from medius.web.clinical_views import router as clinical_pages
    from medius.web.media.views import api as media_api
    from medius.web.media.views import router as media_pages
    from medius.web.results.views import api as results_api
    from medius.web.results.views import router as results_pages

    spec = north.get("/api/openapi.json").json()
    routes = {
        (m.lower(), r.path)
        for router in (api_router, clinical_api, media_api, results_api, users_api)
        for r in router.routes
        if isinstance(r, APIRoute)
        for m in r.methods
    }
    # the page routers hold no /api route that would escape the schema
    for router in (clinical_pages, media_pages, results_pages):
        assert not [r.path for r in router.routes if r.path.startswith("/api")]
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert routes == documented  # every JSON route, nothing hidden
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") and op.get("tags"), (method, path)
            ok = [code for code in op["responses"] if code.startswith("2")]
            assert len(ok) == 1, (method, path)
            content = op["responses"][ok[0]].get("content", {})
            if ok[0] == "204":
                assert content == {}, (method, path)
                continue
            (ctype,) = content
            expected = {".pdf": "application/pdf", ".csv": "text/csv"}.get(path[-4:], "application/json")
            assert ctype == expected, (method, path, ctype)
            assert content[ctype].get("schema"), (method, path)
            if method in ("post", "put", "patch") and path not in (
                "/api/recordings/{recording_id}/retry",
                "/api/visits/{visit_id}/program/give",
                *(f"/api/users/{{user_id}}/{action}" for action in ("unlock", "deactivate", "activate", "end-sessions")),
            ):
                assert op.get("requestBody", {}).get("content"), (method, path)
    upload = spec["paths"]["/api/visits/{visit_id}/recordings"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["task", "file"] and form["properties"]["file"]["format"] == "binary"
    assert {"400", "403", "404", "413", "422"} <= set(upload["responses"])
    assert upload["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/UploadAccepted"
    )
    schemas = spec["components"]["schemas"]
    if clinical.available():  # the library's own models document the assessment and program bodies
        body = spec["paths"]["/api/visits/{visit_id}/assessment"]["put"]["requestBody"]
        assert (
            body["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ClinicAssessment"
        )
        assert "person" in schemas["ClinicAssessment"]["properties"] and "ClinicStrengthTest" in schemas
        body = spec["paths"]["/api/visits/{visit_id}/program"]["put"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ClinicProgram"
    refs = re.findall(r'"\$ref": ?"#/components/schemas/([^"]+)"', north.get("/api/openapi.json").text)
    assert set(refs) <= set(schemas)  # every reference resolves
    assert north.get("/api/docs").status_code == 200


def test_visits_sessions_and_recordings_through_the_api(app, north, south, synthetic_trc):
    p = new_patient(north)
    v = new_visit(north, p["id"])
    r = north.api(
        "POST", f"/api/visits/{v['id']}/sessions", json={"session_date": "2026-03-04", "pain_nprs": 3}
    )
    assert r.status_code == 201 and r.json()["completed"] is True and r.json()["pain_nprs"] == 3.0
    assert north.api("POST", f"/api/visits/{v['id']}/sessions", json={"session_date": "x"}).status_code == 422
    r = north.api("POST", f"/api/visits/{v['id']}/sessions", json={"session_date": "2026-03-05", "rpe": 11})
    assert r.status_code == 422
    assert [s["session_date"] for s in north.get(f"/api/visits/{v['id']}/sessions").json()] == ["2026-03-04"]
    assert south.get(f"/api/visits/{v['id']}/sessions").status_code == 404
    assert (
        south.api("POST", f"/api/visits/{v['id']}/sessions", json={"session_date": "2026-03-04"}).status_code
        == 404
    )
    first = upload(north, v["id"], synthetic_trc).json()["recording"]
    second = upload(north, v["id"], synthetic_trc).json()["recording"]
    app.state.jobs.run_until_empty()
    media = Path(app.state.settings.media_dir)
    assert south.api("DELETE", f"/api/recordings/{first['id']}").status_code == 404
    assert north.client.delete(f"/api/recordings/{first['id']}").status_code == 403  # no CSRF token
    assert north.api("DELETE", f"/api/recordings/{first['id']}").status_code == 204
    assert not (media / first["id"]).exists() and (media / second["id"]).is_dir()
    assert [x["recording"]["id"] for x in north.get(f"/api/visits/{v['id']}/recordings").json()] == [
        second["id"]
    ]
    assert south.api("DELETE", f"/api/visits/{v['id']}").status_code == 404
    assert north.api("DELETE", f"/api/visits/{v['id']}").status_code == 204
    assert not (media / second["id"]).exists()
    assert north.get(f"/api/visits/{v['id']}").status_code == 404
    with app.state.sessionmaker() as db:
        for model in (Visit, Recording, Job):
            assert db.scalar(select(func.count()).select_from(model)) == 0


def test_progress_page_shows_the_session_log_across_visits(north, south):
    p = new_patient(north)
    first = new_visit(north, p["id"], visit_date="2026-01-10")
    second = new_visit(north, p["id"], visit_date="2026-02-20")
    for visit, day, pain, rpe, notes in (
        (first, "2026-01-12", "5", "7", "hard"),
        (first, "2026-01-15", "4", "", "better"),
        (second, "2026-02-22", "2", "5.5", "easy now"),
    ):
        form = {"session_date": day, "completed": "on", "pain_nprs": pain, "rpe": rpe, "notes": notes}
        assert north.form(f"/visits/{visit['id']}/sessions", form).status_code == 303
    north.form(f"/visits/{second['id']}/sessions", {"session_date": "2026-02-25", "notes": "skipped"})
    log = north.get(f"/api/patients/{p['id']}/sessions").json()
    assert [(s["date"], s["visit_date"], s["completed"], s["pain_nprs"], s["rpe"]) for s in log] == [
        ("2026-01-12", "2026-01-10", True, 5.0, 7.0),
        ("2026-01-15", "2026-01-10", True, 4.0, None),
        ("2026-02-22", "2026-02-20", True, 2.0, 5.5),
        ("2026-02-25", "2026-02-20", False, None, None),
    ]
    html = north.get(f"/patients/{p['id']}/progress").text
    table = html.split('id="session-log"')[1].split("</table>")[0]
    assert table.count("<tr>") == 5  # the header and four sessions
    assert "4 sessions logged, 3 done" in html
    for text in ("hard", "better", "easy now", "skipped", f'href="/visits/{second["id"]}#sessions"'):
        assert text in table
    # the pain and effort of the sessions are charted too
    series = {s["key"]: s for s in north.get(f"/api/patients/{p['id']}/progress").json()}
    assert [pt["value"] for pt in series["sessions-pain"]["points"]] == [5.0, 4.0, 2.0]
    assert [pt["value"] for pt in series["sessions-effort"]["points"]] == [7.0, 5.5]
    svg = north.get(f"/patients/{p['id']}/progress/sessions-effort.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert south.get(f"/api/patients/{p['id']}/sessions").status_code == 404
    assert south.get(f"/patients/{p['id']}/progress").status_code == 404
