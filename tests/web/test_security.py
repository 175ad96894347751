"""Security: clinic isolation, CSRF on every form, upload checks, injection attempts escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from medius.web import messages
from tests.web.conftest import new_patient, new_visit, upload

ATTACK = "<script>alert('x')</script>\"'><img src=x onerror=alert(1)>' OR '1'='1'; DROP TABLE patients;--"


@pytest.fixture
def north_data(app, north, synthetic_trc):
    p = new_patient(north)
    v = new_visit(north, p["id"])
    r = upload(north, v["id"], synthetic_trc).json()
    app.state.jobs.run_once()
    return {"patient": p["id"], "visit": v["id"], "recording": r["recording"]["id"], "job": r["job"]["id"]}


def test_another_clinics_data_is_not_reachable_by_id(north, south, north_data):
    from medius.web import clinical

    d = north_data
    gets = [
        f"/api/patients/{d['patient']}",
        f"/patients/{d['patient']}",
        f"/patients/{d['patient']}/edit",
        f"/api/patients/{d['patient']}/visits",
        f"/visits/{d['visit']}",
        f"/api/visits/{d['visit']}",
        f"/visits/{d['visit']}/report.pdf",
        f"/visits/{d['visit']}/export.json",
        f"/visits/{d['visit']}/export.csv",
        f"/recordings/{d['recording']}",
        f"/recordings/{d['recording']}/files/result.json",
        f"/api/recordings/{d['recording']}/result",
        f"/api/jobs/{d['job']}",
        f"/patients/{d['patient']}/progress",
        f"/api/patients/{d['patient']}/progress",
        f"/api/patients/{d['patient']}/sessions",
        f"/api/visits/{d['visit']}/sessions",
        f"/api/visits/{d['visit']}/recordings",
        f"/api/visits/{d['visit']}/export.json",
        f"/api/visits/{d['visit']}/export.csv",
        f"/api/visits/{d['visit']}/report.pdf",
        f"/api/visits/{d['visit']}/program",
        f"/visits/{d['visit']}/program",
        f"/visits/{d['visit']}/findings",
        f"/recordings/{d['recording']}/files/reps.csv",
    ]
    for url in gets:
        r = south.get(url)
        assert r.status_code == 404, url
        assert "Doe" not in r.text and d["patient"] not in r.text, url  # nothing of it leaks
    if clinical.available():
        assert south.get(f"/visits/{d['visit']}/assessment").status_code == 404
    posts = [
        f"/patients/{d['patient']}/delete",
        f"/patients/{d['patient']}/edit",
        f"/visits/{d['visit']}/delete",
        f"/patients/{d['patient']}/visits",
        f"/recordings/{d['recording']}/delete",
    ]
    for url in posts:
        assert south.form(url, {"family_name": "x", "visit_date": "2026-01-01"}).status_code == 404, url
    assert south.api("DELETE", f"/api/patients/{d['patient']}").status_code == 404
    assert south.api("PATCH", f"/api/patients/{d['patient']}", json={"notes": "x"}).status_code == 404
    assert south.api("PATCH", f"/api/visits/{d['visit']}", json={"reason": "x"}).status_code == 404
    assert south.api("DELETE", f"/api/visits/{d['visit']}").status_code == 404
    assert south.api("DELETE", f"/api/recordings/{d['recording']}").status_code == 404
    assert south.api("POST", f"/api/recordings/{d['recording']}/retry").status_code == 404
    assert (
        south.api(
            "POST", f"/api/visits/{d['visit']}/sessions", json={"session_date": "2026-01-01"}
        ).status_code
        == 404
    )
    assert south.api("PUT", f"/api/visits/{d['visit']}/program", json={}).status_code in (404, 501)
    assert south.api("POST", f"/api/visits/{d['visit']}/program/give").status_code == 404
    if clinical.available():
        assert south.api("PUT", f"/api/visits/{d['visit']}/assessment", json={}).status_code == 404
    # and nothing of North's changed
    assert north.get(f"/api/patients/{d['patient']}").json()["notes"] == ""
    assert north.get(f"/api/visits/{d['visit']}").json()["reason"] == ""
    assert north.get(f"/api/jobs/{d['job']}").json()["status"] == "done"
    assert south.get("/api/patients").json()["count"] == 0
    assert upload(south, d["visit"], Path(__file__)).status_code == 404


def test_post_without_csrf_token_is_refused(north, north_data):
    d = north_data
    forms = [
        "/patients/new",
        f"/patients/{d['patient']}/edit",
        f"/patients/{d['patient']}/delete",
        f"/patients/{d['patient']}/visits",
        f"/visits/{d['visit']}/edit",
        f"/visits/{d['visit']}/delete",
        f"/visits/{d['visit']}/sessions",
        f"/recordings/{d['recording']}/delete",
        f"/recordings/{d['recording']}/retry",
        f"/visits/{d['visit']}/assessment",
        f"/visits/{d['visit']}/assessment/validate",
        f"/visits/{d['visit']}/program",
        "/logout",
        "/users",
    ]
    for url in forms:
        for token in (None, "wrong-token"):
            data = {"family_name": "x", "visit_date": "2026-01-01", "session_date": "2026-01-01"}
            if token:
                data["csrf_token"] = token
            r = north.client.post(url, data=data, follow_redirects=False)
            assert r.status_code == 403, (url, token, r.status_code)
    for method, url in (
        ("POST", "/api/patients"),
        ("PATCH", f"/api/patients/{d['patient']}"),
        ("DELETE", f"/api/patients/{d['patient']}"),
        ("POST", f"/api/patients/{d['patient']}/visits"),
        ("PATCH", f"/api/visits/{d['visit']}"),
        ("DELETE", f"/api/visits/{d['visit']}"),
        ("POST", f"/api/visits/{d['visit']}/sessions"),
        ("PUT", f"/api/visits/{d['visit']}/assessment"),
        ("POST", f"/api/visits/{d['visit']}/assessment/validate"),
        ("PUT", f"/api/visits/{d['visit']}/program"),
        ("POST", f"/api/visits/{d['visit']}/program/give"),
        ("DELETE", f"/api/recordings/{d['recording']}"),
        ("POST", f"/api/recordings/{d['recording']}/retry"),
        ("POST", "/api/users"),
    ):
        for headers in ({}, {"X-CSRF-Token": "wrong-token"}):
            r = north.client.request(method, url, json={"family_name": "x"}, headers=headers)
            assert r.status_code == 403 and r.json()["detail"] == messages.CSRF_FAILED, (method, url)
    assert north.get(f"/api/patients/{d['patient']}").status_code == 200  # nothing was deleted


def _media_entries(app) -> set[str]:
    return {p.name for p in Path(app.state.settings.media_dir).iterdir()}


def test_upload_without_csrf_is_refused_before_anything_is_stored(app, north, north_data, synthetic_trc):
    before = _media_entries(app)
    r = upload(north, north_data["visit"], synthetic_trc, csrf=False)
    assert r.status_code == 403
    assert _media_entries(app) == before


@pytest.mark.parametrize(
    "content, name",
    [
        (b"just some text, not a video\n" * 50, "clip.mp4"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000, "truncated.mov"),
        (b"PathFileType\t4\t(X/Y/Z)\tx.trc\nnot a trc\n", "markers.trc"),
        (b"%PDF-1.4 not a video", "report.mp4"),
    ],
)
def test_upload_that_is_not_a_video_is_refused_by_content(app, north, north_data, tmp_path, content, name):
    path = tmp_path / "payload"
    path.write_bytes(content)
    before = _media_entries(app)
    r = upload(north, north_data["visit"], path, name=name)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(("Not a video", "Not a marker"))
    assert _media_entries(app) == before


def test_upload_too_large_is_refused(make_app, tmp_path, synthetic_trc):
    from tests.web.conftest import Browser, add_user

    a = make_app(max_upload_bytes=50_000)
    add_user(a, "doc@north.example")
    b = Browser(a)
    b.sign_in("doc@north.example")
    v = new_visit(b, new_patient(b)["id"])
    assert synthetic_trc.stat().st_size > 50_000
    r = upload(b, v["id"], synthetic_trc)
    assert r.status_code == 413 and "upload limit" in r.json()["detail"]
    assert list(Path(a.state.settings.media_dir).iterdir()) == []


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.mp4", "dir/clip.mp4", "C:\\Users\\x\\clip.mp4", "..", "./clip.mp4"]
)
def test_upload_with_a_path_in_the_name_is_refused(app, north, north_data, synthetic_trc, name):
    before = _media_entries(app)
    with open(synthetic_trc, "rb") as fh:
        r = north.client.post(
            f"/api/visits/{north_data['visit']}/recordings",
            data={"csrf_token": north.csrf, "task": "single-leg-squat"},
            files={"file": (name, fh, "video/mp4")},
        )
    assert r.status_code == 400 and "plain name" in r.json()["detail"]
    assert _media_entries(app) == before


def test_upload_with_unknown_task_is_refused(north, north_data, synthetic_trc):
    r = upload(north, north_data["visit"], synthetic_trc, task="moonwalk")
    assert r.status_code == 422 and "unknown task 'moonwalk'" in r.json()["detail"].lower()


def test_stored_upload_has_a_generated_name_outside_the_web_root(app, north, north_data):
    folder = Path(app.state.settings.media_dir) / north_data["recording"]
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["analysis.log", "input.trc"] or sorted(
        p.name for p in folder.iterdir() if p.is_file()
    ) == ["input.trc"]
    assert north.get(f"/static/../media/{north_data['recording']}/input.trc").status_code == 404
    # result files are served only by plain name from the result folder
    for name in ("..%2Finput.trc", "../input.trc", "%2Fetc%2Fpasswd", "result.json%00"):
        assert north.get(f"/recordings/{north_data['recording']}/files/{name}").status_code == 404


def test_injection_in_every_text_field_comes_back_escaped(app, north, north_data):
    fields = {
        "family_name": ATTACK[:200],
        "given_name": ATTACK[:200],
        "reference": ATTACK[:100],
        "notes": ATTACK,
    }
    r = north.form("/patients/new", fields)
    assert r.status_code == 303
    url = r.headers["location"]
    north.form(f"{url}/visits", {"visit_date": "2026-01-05", "reason": ATTACK})
    visit_url = north.get(url).text.split('href="/visits/')[1].split('"')[0]
    north.form(f"/visits/{visit_url}/sessions", {"session_date": "2026-01-06", "notes": ATTACK})
    pages = [
        north.get("/patients").text,
        north.get(url).text,
        north.get(f"{url}/edit").text,
        north.get(f"/visits/{visit_url}").text,
        north.get("/patients?q=" + ATTACK[:60]).text,
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html
    # SQL injection attempts are plain data: the table is still there and search finds the text
    found = north.get("/api/patients", params={"q": "' OR '1'='1"}).json()
    assert found["count"] == 1 and found["data"][0]["family_name"] == ATTACK[:200]
    assert north.get("/api/patients", params={"q": "x'; DROP TABLE patients;--"}).json()["count"] == 0
    assert north.get("/api/patients").json()["count"] == 2
    # the JSON API returns the text as data, the PDF renders it as text
    assert north.get(url.replace("/patients", "/api/patients")).json()["notes"] == ATTACK
    assert north.get(f"/visits/{visit_url}/report.pdf").status_code == 200


def test_admin_user_form_escapes_names(app):
    from tests.web.conftest import Browser

    admin = Browser(app)
    admin.sign_in("admin@north.example")
    r = admin.form(
        "/users", {"email": "evil@north.example", "name": ATTACK[:200], "password": "long enough pw"}
    )
    assert r.status_code == 303
    html = admin.get("/users").text
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_svg_result_files_are_sandboxed(north, north_data):
    names = north.get(f"/api/recordings/{north_data['recording']}/result").json()["files"]["plots"]
    r = north.get(f"/recordings/{north_data['recording']}/files/{names[0]}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in r.headers["content-security-policy"]
    r = north.get(f"/recordings/{north_data['recording']}/files/report.html")
    assert r.headers["content-disposition"].startswith("attachment")


def test_bad_ids_are_404_not_500(north):
    for url in (
        "/patients/not-a-uuid",
        "/api/patients/123",
        "/visits/zzz",
        "/recordings/1/files/result.json",
    ):
        assert north.get(url).status_code in (404, 422), url


def test_marker_files_are_checked_by_content_too(app, north, north_data, tmp_path):
    import numpy as np

    from medius.io.markers import Markers3D, write_c3d

    t = np.arange(100) / 100.0
    pos = np.stack([np.stack([t + i, np.zeros_like(t), np.ones_like(t)], axis=-1) for i in range(3)], axis=1)
    path = write_c3d(
        Markers3D(position=pos, labels=("LASI", "RASI", "SACR"), time_s=t, rate_hz=100.0),
        tmp_path / "trial.c3d",
    )
    r = upload(north, north_data["visit"], path, name="lab trial.c3d")
    assert r.status_code == 201, r.text
    rec = r.json()["recording"]
    assert rec["kind"] == "markers" and rec["original_name"] == "lab trial.c3d"
    assert (Path(app.state.settings.media_dir) / rec["id"] / "input.c3d").is_file()
    # a C3D-looking file that is not one is refused
    bad = tmp_path / "bad.c3d"
    bad.write_bytes(b"\x02\x50" + b"\x00" * 600)
    r = upload(north, north_data["visit"], bad)
    assert r.status_code == 422 and r.json()["detail"].startswith("Not a marker")


NAME_ATTACK = "<img src=x onerror=alert(1)>' OR '1'='1'; DROP TABLE recordings;--.trc"
CLINIC_ATTACK = "Clinic <script>alert('c')</script>\" \\ } body { display: none }"


def _raw_markup(html: str) -> list[str]:
    return [bad for bad in ("<script>alert", "<img src=x", "<b>bold") if bad in html]


def test_injection_in_every_text_field_on_every_page_export_and_pdf(make_app, copy_runner, synthetic_trc):
    """Every free-text field a clinician (or the clinic's set-up) can fill in, sent with HTML and SQL
    attacks, shown on every page that displays it, in the JSON API and exports, and in the PDFs."""
    import io

    from pypdf import PdfReader

    from medius.web import clinical
    from tests.web.conftest import Browser, add_user

    a = make_app(runner=copy_runner)
    add_user(a, "admin@evil.example", clinic=CLINIC_ATTACK, role="admin")
    b = Browser(a)
    assert b.sign_in("admin@evil.example").status_code == 303
    # user (admin form), patient, visit (create and edit), session log, upload name
    assert (
        b.form(
            "/users", {"email": "doc@evil.example", "name": ATTACK[:200], "password": "long enough pw"}
        ).status_code
        == 303
    )
    r = b.form(
        "/patients/new",
        {"family_name": ATTACK[:200], "given_name": ATTACK[:200], "reference": ATTACK[:100], "notes": ATTACK},
    )
    assert r.status_code == 303
    pid = r.headers["location"].rsplit("/", 1)[1]
    r = b.form(f"/patients/{pid}/visits", {"visit_date": "2026-01-05", "reason": "first " + ATTACK})
    assert r.status_code == 303
    vid = r.headers["location"].rsplit("/", 1)[1]
    assert b.form(f"/visits/{vid}/edit", {"visit_date": "2026-01-05", "reason": ATTACK}).status_code == 303
    assert (
        b.form(
            f"/visits/{vid}/sessions", {"session_date": "2026-01-06", "pain_nprs": "2", "notes": ATTACK}
        ).status_code
        == 303
    )
    r = upload(b, vid, synthetic_trc, name=NAME_ATTACK)
    assert r.status_code == 201, r.text
    rid = r.json()["recording"]["id"]
    assert a.state.jobs.run_once()
    pages = [
        "/patients",
        "/patients?q=" + ATTACK[:60],
        "/patients?q=" + NAME_ATTACK[:40],
        f"/patients/{pid}",
        f"/patients/{pid}/edit",
        f"/patients/{pid}/progress",
        f"/visits/{vid}",
        f"/recordings/{rid}",
        "/users",
    ]
    if clinical.available():  # assessment notes and the program's note for the patient
        from tests.web.test_clinical import FORM

        r = b.form(f"/visits/{vid}/assessment", {**FORM, "notes": "</textarea>" + ATTACK})
        assert r.status_code == 303, r.text[:1000]
        assert b.form(f"/visits/{vid}/program", {"note": ATTACK + " <b>bold</b>"}).status_code == 303
        pages += [f"/visits/{vid}/assessment", f"/visits/{vid}/findings", f"/visits/{vid}/program"]
    for url in pages:
        r = b.get(url)
        assert r.status_code == 200, url
        assert _raw_markup(r.text) == [], url
        assert "&lt;script&gt;alert(&#39;c&#39;)" in r.text, url  # the clinic's name, in the header
    by_page = {
        f"/patients/{pid}": ("&lt;script&gt;alert(&#39;x&#39;)", "&lt;img src=x onerror=alert(1)&gt;"),
        f"/visits/{vid}": (
            "&lt;img src=x onerror=alert(1)&gt;&#39; OR &#39;1&#39;=&#39;1&#39;; DROP TABLE recordings",
        ),
        f"/recordings/{rid}": ("&lt;img src=x onerror=alert(1)&gt;&#39; OR",),
        "/users": ("&lt;script&gt;alert(&#39;x&#39;)",),
    }
    if clinical.available():
        by_page[f"/visits/{vid}/assessment"] = ("&lt;/textarea&gt;&lt;script&gt;alert(&#39;x&#39;)",)
        by_page[f"/visits/{vid}/program"] = ("&lt;b&gt;bold&lt;/b&gt;",)
    for url, needles in by_page.items():
        html = b.get(url).text
        for needle in needles:
            assert needle in html, (url, needle)
    # a refused upload name is echoed escaped on the error page (the page form, not the API)
    with open(synthetic_trc, "rb") as fh:
        r = b.client.post(
            f"/visits/{vid}/recordings",
            data={"csrf_token": b.csrf, "task": "single-leg-squat"},
            files={"file": ("<script>alert(1)</script>.mp4", fh, "video/mp4")},
        )
    assert r.status_code == 400 and _raw_markup(r.text) == [] and "&lt;script&gt;alert(1)&lt;" in r.text
    # the JSON API and the exports give the text back as data, unchanged
    assert b.get(f"/api/patients/{pid}").json()["notes"] == ATTACK
    assert b.get(f"/api/visits/{vid}").json()["reason"] == ATTACK
    (item,) = b.get(f"/api/visits/{vid}/recordings").json()
    assert item["recording"]["original_name"] == NAME_ATTACK
    data = b.get(f"/visits/{vid}/export.json").json()
    assert data["patient"]["family_name"] == ATTACK[:200] and data["program_sessions"][0]["notes"] == ATTACK
    assert b.get("/api/me").json()["clinic_name"] == CLINIC_ATTACK
    assert {u["name"] for u in b.get("/api/users").json()} == {"", ATTACK[:200]}
    # SQL in the text is plain data: every table is still there, the search finds the text
    assert b.get("/api/patients", params={"q": "' OR '1'='1"}).json()["count"] == 1
    assert b.get("/api/patients", params={"q": "'; DROP TABLE patients;--"}).json()["count"] == 1
    assert b.get("/api/patients", params={"q": "x' OR 1=1 --"}).json()["count"] == 0
    assert len(b.get(f"/api/patients/{pid}/visits").json()) == 1
    # the PDFs print the text as text: the markup is not interpreted, the page is not hidden
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(b.get(f"/visits/{vid}/report.pdf").content)).pages
    )
    assert "<script>alert('x')</script>" in text.replace("\n", "") and "onerror=alert(1)>" in text
    assert "Visit report" in text and "· page 1 of" in text  # the page is shown, with its footer
    footer = [line for line in text.splitlines() if "· page 1 of" in line]
    assert footer and "Clinic <script>alert('c')</script>" in footer[0]  # the clinic's name as text
    if clinical.available():
        pdf = b.get(f"/visits/{vid}/program.pdf").content
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "<b>bold</b>" in text.replace("\n", "")
