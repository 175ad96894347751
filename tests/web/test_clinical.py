"""The clinic library in the app: assessment form, findings, program (edit, give, PDF), progress.

The app does no clinical scoring: these tests check that what the clinician enters reaches the
library's ``Assessment`` model and that what the library returns is stored and shown.
"""

from __future__ import annotations

import html
import io

import pytest
from pypdf import PdfReader

from medius.web import clinical
from tests.web.conftest import new_patient, new_visit, skip_or_fail, upload


@pytest.fixture(autouse=True)
def _clinic_library() -> None:
    if not clinical.available():
        skip_or_fail("medius.clinic is not installed")


FORM = {
    "person.age_years": "34",
    "person.sex": "female",
    "person.body_mass_kg": "64",
    "person.height_cm": "170",
    "person.affected_side": "right",
    "person.goal": "daily_activity",
    "strength.hip_abduction.unit": "N",
    "strength.hip_abduction.position": "side-lying",
    "strength.hip_abduction.left.0.force": "160",
    "strength.hip_abduction.left.1.force": "158",
    "strength.hip_abduction.right.0.force": "110",
    "questionnaires.nprs.score": "4",
    "questionnaires.nprs.recall": "average_week",
    "clinical_tests.trendelenburg.right": "positive",
}


def library_message(**person: object) -> str:
    """What the library's ``Person`` model says about these values (the app passes it on as is)."""
    from pydantic import ValidationError

    from medius.clinic.records import Person
    from medius.web.clinical_forms import assessment_errors

    values = {"age_years": 34, "sex": "female", "body_mass_kg": 64.0, "height_cm": 170.0, **person}
    try:
        Person.model_validate(values)
    except ValidationError as exc:
        return assessment_errors(exc)[0]["message"]
    raise AssertionError(f"the library accepts {person}")


def _assessed_visit(north, visit_date="2026-03-02", **changes):
    p = new_patient(north, sex="female", birth_date="1991-06-01")
    v = new_visit(north, p["id"], visit_date=visit_date)
    r = north.form(f"/visits/{v['id']}/assessment", {**FORM, **changes})
    assert r.status_code == 303 and r.headers["location"].endswith("/findings"), r.text[:2000]
    return p, v


def test_form_is_prefilled_and_validated_as_you_type(north):
    p = new_patient(north, sex="female", birth_date="1990-05-20")
    v = new_visit(north, p["id"], visit_date="2026-03-02")
    page = north.get(f"/visits/{v['id']}/assessment").text
    assert 'name="person.age_years" value="35"' in page and 'value="female" selected' in page
    r = north.api(
        "POST",
        f"/visits/{v['id']}/assessment/validate",
        data={
            "person.age_years": "3",
            "person.sex": "female",
            "strength.hip_abduction.unit": "N",
            "strength.hip_abduction.position": "side-lying",
            "strength.hip_abduction.left.0.force": "-5",
        },
    )
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert errors["person.age_years"] == library_message(age_years=3) != ""
    assert "person.body_mass_kg" in errors and "strength.hip_abduction.left.0.force" in errors
    r = north.form(f"/visits/{v['id']}/assessment", {"person.age_years": "3"})
    assert r.status_code == 422 and html.escape(library_message(age_years=3)) in r.text
    assert north.api("POST", f"/visits/{v['id']}/assessment/validate", data=FORM).json() == {"errors": []}


def test_assessment_gives_findings_and_a_draft_program(north):
    p, v = _assessed_visit(north)
    visit = north.get(f"/api/visits/{v['id']}").json()
    a = visit["assessment"]
    assert a["person"]["age_years"] == 34 and a["strength"]["hip_abduction"]["right"] == [{"force": 110.0}]
    assert a["questionnaires"]["nprs"]["score"] == 4 and a["visit_id"] == v["id"]
    targets = {t for f in visit["findings"]["findings"] for t in f["targets"]}
    assert {"hip_abductor_strength", "pelvic_control"} <= targets
    assert visit["program_status"] == "draft" and not visit["program"]["blocked_by_red_flags"]
    page = north.get(f"/visits/{v['id']}/findings").text
    assert 'id="findings"' in page and "abductor" in page
    # the stored assessment fills the form in again
    assert (
        'name="strength.hip_abduction.right.0.force" value="110"'
        in north.get(f"/visits/{v['id']}/assessment").text
    )


def test_a_red_flag_blocks_the_program(north):
    p, v = _assessed_visit(north, **{"red_flags.fever": "on", "red_flags.hot_red_swollen_joint": "on"})
    visit = north.get(f"/api/visits/{v['id']}").json()
    assert visit["program"]["blocked_by_red_flags"] is True and visit["program"]["phases"] == []
    assert 'id="headline"' in north.get(f"/visits/{v['id']}/findings").text
    assert 'role="alert"' in north.get(f"/visits/{v['id']}/program").text


def test_clinician_edits_then_gives_the_program(north):
    p, v = _assessed_visit(north)
    program = north.get(f"/api/visits/{v['id']}/program").json()["program"]
    first = program["phases"][0]["exercises"]
    n_before = sum(len(ph["exercises"]) for ph in program["phases"])
    edits = {
        "ex.0.0.sets": "4",
        "ex.0.0.frequency_per_week": str(first[0]["dosage"]["frequency_per_week"]),
        "ex.0.1.remove": "on",
        "note": "Start on Monday <b>gently</b>",
    }
    r = north.form(f"/visits/{v['id']}/program", edits)
    assert r.status_code == 303
    after = north.get(f"/api/visits/{v['id']}/program").json()
    prog = after["program"]
    assert prog["revision"] == 1 and prog["phases"][0]["exercises"][0]["dosage"]["sets"] == 4
    assert sum(len(ph["exercises"]) for ph in prog["phases"]) == n_before - 1
    assert prog["notes"][-1] == "Start on Monday <b>gently</b>"
    assert "&lt;b&gt;gently" in north.get(f"/visits/{v['id']}/program").text
    r = north.form(f"/visits/{v['id']}/program", {"ex.0.0.sets": "lots"})
    assert r.status_code == 422 and "must be a whole number, got &#39;lots&#39;" in r.text
    assert north.form(f"/visits/{v['id']}/program", {"give": "on"}).status_code == 303
    assert north.get(f"/api/visits/{v['id']}/program").json()["status"] == "given"
    assert north.form(f"/visits/{v['id']}/program", {"ex.0.0.sets": "2"}).status_code == 409
    pdf = north.get(f"/visits/{v['id']}/program.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(pdf.content)).pages)
    assert prog["phases"][0]["exercises"][0]["name"].split()[0] in text
    # the visit report carries findings and the program pages
    report = PdfReader(io.BytesIO(north.get(f"/visits/{v['id']}/report.pdf").content))
    assert len(report.pages) >= 2 and "Findings" in report.pages[0].extract_text()


def test_progress_charts_with_measurement_error_bands(app, north, synthetic_trc):
    p = new_patient(north, sex="female", birth_date="1991-06-01")
    for day, right_force in (("2026-01-10", "110"), ("2026-02-20", "150")):
        v = new_visit(north, p["id"], visit_date=day)
        north.form(
            f"/visits/{v['id']}/assessment", {**FORM, "strength.hip_abduction.right.0.force": right_force}
        )
        upload(north, v["id"], synthetic_trc)
        north.form(f"/visits/{v['id']}/sessions", {"session_date": day, "pain_nprs": "3"})
    app.state.jobs.run_until_empty()
    series = {s["key"]: s for s in north.get(f"/api/patients/{p['id']}/progress").json()}
    fppa = series["movement-single-leg-squat-fppa-deg-right"]
    assert [pt["date"] for pt in fppa["points"]] == ["2026-01-10", "2026-02-20"]
    assert fppa["band"] is not None and fppa["band_label"].startswith("MDC")
    strength = [s for k, s in series.items() if k.startswith("clinic-") and "abduction" in k and "right" in k]
    assert strength and [pt["date"] for pt in strength[0]["points"]] == ["2026-01-10", "2026-02-20"]
    assert strength[0]["points"][1]["value"] > strength[0]["points"][0]["value"]
    assert series["sessions-pain"]["points"] == [
        {"date": "2026-01-10", "value": 3.0},
        {"date": "2026-02-20", "value": 3.0},
    ]
    page = north.get(f"/patients/{p['id']}/progress").text
    # one chart per measure with both sides, inline (one request for the page)
    assert page.count('class="chart"') == len({s["measure"] for s in series.values()}) < len(series)
    assert page.count("<svg") == page.count('class="chart"') and '<img src="/patients' not in page
    svg = north.get(f"/patients/{p['id']}/progress/{fppa['key']}.svg")
    assert svg.status_code == 200 and svg.content.lstrip().startswith(b"<?xml") and b"<svg" in svg.content
    assert north.get(f"/patients/{p['id']}/progress/nothing.svg").status_code == 404
    # the relative measurement error of dynamometry (5 % of the value) in the measure's own unit
    first = strength[0]["points"][0]["value"]
    assert strength[0]["band"] == pytest.approx(first * 0.05, rel=1e-6)
    assert strength[0]["band"] < 5.0 and strength[0]["verdict"] == "improved"


def test_progress_verdicts_agree_with_medius_compare(north, tmp_path):
    import json

    from typer.testing import CliRunner

    from medius.cli import app as cli_app

    p = new_patient(north, sex="female", birth_date="1991-06-01")
    files = []
    for k, (day, right, nprs) in enumerate((("2026-01-10", "110", "6"), ("2026-02-20", "132", "2"))):
        v = new_visit(north, p["id"], visit_date=day)
        north.form(f"/visits/{v['id']}/assessment", {**FORM, "strength.hip_abduction.right.0.force": right,
                                                     "questionnaires.nprs.score": nprs})
        path = tmp_path / f"v{k}.json"
        path.write_text(json.dumps(north.get(f"/api/visits/{v['id']}").json()["assessment"]))
        files.append(path)
    res = CliRunner().invoke(cli_app, ["compare", *map(str, files), "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    changes = json.loads((tmp_path / "cmp" / "progress.json").read_text())["changes"]
    series = north.get(f"/api/patients/{p['id']}/progress").json()
    clinic = {(s["measure"], s["side"]): s for s in series if s["key"].startswith("clinic-")}
    assert len(clinic) >= 3
    words = {"no_real_change": "unchanged"}
    matched = 0
    for c in changes:
        s = next((s for (m, side), s in clinic.items() if m.endswith(c["name"].replace(".", "-").replace("_", "-"))
                  and side == c["side"]), None)
        if s is None:
            continue
        matched += 1
        assert s["verdict"] == words.get(c["direction"], c["direction"].split(" ")[0]), (c["name"], c["side"])
    assert matched >= 3
    abd = clinic[next(k for k in clinic if "abduction" in k[0] and k[1] == "right")]
    # 110 -> 132 N is +20 %: beyond the 5 % error, as compare says, not "within measurement error"
    assert abd["verdict"] == "improved" and "beyond the measurement error" in abd["verdict_text"]
    pain = clinic[next(k for k in clinic if "nprs" in k[0])]
    assert pain["verdict"] == "improved" and "minimal important difference" in pain["verdict_text"]


def test_program_edited_and_given_through_the_api(north, south):
    p, v = _assessed_visit(north)
    state = north.get(f"/api/visits/{v['id']}/program").json()
    assert state["status"] == "draft"
    program = state["program"]
    program["phases"][0]["exercises"][0]["dosage"]["sets"] = 5
    del program["phases"][0]["exercises"][1]
    program["notes"] = [*program["notes"], "API note"]
    assert south.api("PUT", f"/api/visits/{v['id']}/program", json=program).status_code == 404
    assert north.client.put(f"/api/visits/{v['id']}/program", json=program).status_code == 403  # no CSRF
    r = north.api("PUT", f"/api/visits/{v['id']}/program", json=program)
    assert r.status_code == 200, r.text
    saved = r.json()["program"]
    assert saved["revision"] == 1 and saved["phases"][0]["exercises"][0]["dosage"]["sets"] == 5
    assert saved["notes"][-1] == "API note"
    # the library's Program model checks the edit
    bad = {**saved, "phases": [{**saved["phases"][0], "exercises": [{"name": "x"}]}]}
    r = north.api("PUT", f"/api/visits/{v['id']}/program", json=bad)
    assert r.status_code == 422 and r.json()["detail"][0]["field"].startswith("phases.0.exercises.0")
    assert north.api("PUT", f"/api/visits/{v['id']}/program", json={**saved, "unknown": 1}).status_code == 422
    assert north.get(f"/api/visits/{v['id']}/program").json()["program"]["revision"] == 1
    # given: frozen, through the API and the page alike
    r = north.api("POST", f"/api/visits/{v['id']}/program/give")
    assert r.status_code == 200 and r.json()["status"] == "given"
    assert north.api("PUT", f"/api/visits/{v['id']}/program", json=saved).status_code == 409
    assert north.api("POST", f"/api/visits/{v['id']}/program/give").status_code == 409
    assert north.form(f"/visits/{v['id']}/program", {"ex.0.0.sets": "2"}).status_code == 409
    assert "program-save" not in north.get(f"/visits/{v['id']}/program").text  # no form any more
    # a new assessment of the visit keeps the given program as it was
    north.form(f"/visits/{v['id']}/assessment", {**FORM, "questionnaires.nprs.score": "2"})
    again = north.get(f"/api/visits/{v['id']}/program").json()
    assert again["status"] == "given" and again["program"] == r.json()["program"]


def test_a_blocked_program_cannot_be_edited_or_given(north):
    p, v = _assessed_visit(north, **{"red_flags.fever": "on"})
    program = north.get(f"/api/visits/{v['id']}/program").json()["program"]
    assert program["blocked_by_red_flags"]
    assert north.api("PUT", f"/api/visits/{v['id']}/program", json=program).status_code == 409
    assert north.api("POST", f"/api/visits/{v['id']}/program/give").status_code == 409


def test_patient_program_page_and_sheet(north, south):
    p, v = _assessed_visit(north)
    page = north.get(f"/visits/{v['id']}/program/patient")
    assert page.status_code == 200 and "Your home exercises" in page.text
    assert p["family_name"] in page.text and "How to know it is too much" in page.text
    assert 'name="viewport"' in page.text and page.text.count('class="card"') >= 3
    pdf = north.get(f"/visits/{v['id']}/program/patient.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) <= 2
    assert south.get(f"/visits/{v['id']}/program/patient").status_code == 404
    assert 'id="patient-program"' in north.get(f"/visits/{v['id']}/program").text


def test_program_editor_timed_doses_add_remove_reorder(north):
    p, v = _assessed_visit(north)
    program = north.get(f"/api/visits/{v['id']}/program").json()["program"]
    first = program["phases"][0]
    names = [e["name"] for e in first["exercises"]]
    page = north.get(f"/visits/{v['id']}/program").text
    timed = [i for i, e in enumerate(first["exercises"]) if e["dosage"]["time_s"] is not None]
    for i in timed:  # a timed dose shows its seconds, not an empty Hold (s)
        assert f'name="ex.0.{i}.time_s" value="{first["exercises"][i]["dosage"]["time_s"]}' in page
    assert 'id="add-0"' in page and 'value="clamshell"' in page
    form = {"ex.0.0.order": "3", "ex.0.1.order": "1", "ex.0.2.order": "2", "ex.0.2.remove": "on",
            "add.0": "monster-walk"}
    if timed:
        form[f"ex.0.{timed[0]}.time_s"] = "45"
    r = north.form(f"/visits/{v['id']}/program", form)
    assert r.status_code == 303, r.text
    saved = north.get(f"/api/visits/{v['id']}/program").json()["program"]["phases"][0]["exercises"]
    order = [e["name"] for e in saved]
    assert order[:2] == [names[1], names[0]] and names[2] not in order[:2]
    assert order[-1] == "Monster walk" and saved[-1]["phase"] == first["id"]
    if timed:
        assert next(e for e in saved if e["name"] == names[timed[0]])["dosage"]["time_s"] == 45.0
    bad = north.form(f"/visits/{v['id']}/program", {"add.0": "no-such-exercise"})
    assert bad.status_code == 422 and "cannot add" in bad.text


def test_red_flag_override_with_a_reason_is_recorded_and_shown(north):
    p, v = _assessed_visit(north, **{"red_flags.fever": "on"})
    page = north.get(f"/visits/{v['id']}/program").text
    assert 'id="override-form"' in page and "physiotherapist" not in page.split('id="program"')[1]
    short = north.form(f"/visits/{v['id']}/program/override", {"assessed": "on", "reason": "ok"})
    assert short.status_code == 422
    assert north.get(f"/api/visits/{v['id']}/program").json()["program"]["blocked_by_red_flags"]
    reason = "Fever resolved 2 weeks ago; GP letter seen, no infection."
    r = north.form(f"/visits/{v['id']}/program/override", {"assessed": "on", "reason": reason})
    assert r.status_code == 303, r.text
    program = north.get(f"/api/visits/{v['id']}/program").json()["program"]
    assert not program["blocked_by_red_flags"] and program["phases"]
    assert reason in program["notes"][0]
    for url in (f"/visits/{v['id']}/program", f"/visits/{v['id']}/findings"):
        assert reason in html.unescape(north.get(url).text), url
    report = PdfReader(io.BytesIO(north.get(f"/visits/{v['id']}/report.pdf").content))
    assert "overridden" in " ".join(pg.extract_text() for pg in report.pages)
    # saving the assessment again keeps the override of the same red flags
    north.form(f"/visits/{v['id']}/assessment", {**FORM, "red_flags.fever": "on", "notes": "again"})
    assert not north.get(f"/api/visits/{v['id']}/program").json()["program"]["blocked_by_red_flags"]
