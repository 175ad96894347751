"""Issue 21: every page at 1280 and 390 px wide in Debian chromium: the summary first, no page wider
than the window (wide tables scroll inside their own box), every value of a walking and a
single-leg analysis on its result page. Screenshots go to ``test-artifacts/web/layout/``; with
``MEDIUS_SCREENSHOTS=1`` they are also written to ``docs/screenshots/`` (committed, shown in the README).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PASSWORD
from tests.web.test_browser import ARTIFACTS, browser, live_server  # noqa: F401 - fixtures
from tests.web.test_clinical import FORM

pytestmark = pytest.mark.browser

LAYOUT = ARTIFACTS / "layout"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = (1280, 390)
#: the pages whose screenshots are committed under docs/screenshots/ (MEDIUS_SCREENSHOTS=1)
DOC_SHOTS = {"result-walk", "result-single-leg-squat", "findings", "progress", "program", "patient-program",
             "visit-upload", "report-walk", "assessment"}


def _csrf(page: Any, base: str) -> str:
    return page.request.get(base + "/api/me").json()["csrf_token"]


def _api(page: Any, base: str, method: str, url: str, **kw: Any) -> Any:
    headers = {"X-CSRF-Token": _csrf(page, base)}
    r = page.request.fetch(base + url, method=method, headers=headers, **kw)
    assert r.ok, (url, r.status, r.text())
    return r.json()


def _walk_trc(tmp: Path) -> Path:
    from medius.io.keypoint_files import write_trc
    from medius.testing.synthetic_gait import (
        DEMO_HIP_ADDUCTION_DEG,
        DEMO_PELVIC_DROP_DEG,
        CameraSpec,
        GaitSpec,
        make_gait_trial,
        render_gait_video_keypoints,
    )

    spec = GaitSpec(task="walk", duration_s=10.0, pelvic_drop_deg=dict(DEMO_PELVIC_DROP_DEG),
                    hip_adduction_deg=dict(DEMO_HIP_ADDUCTION_DEG))
    _, truth = make_gait_trial(spec)
    kp, _ = render_gait_video_keypoints(truth, camera=CameraSpec(fps=30.0))
    return write_trc(kp, tmp / "walk_px.trc")


@pytest.fixture(scope="module")
def clinic(live_server, browser, tmp_path_factory):  # noqa: F811 - the imported fixtures
    """A signed-in page and a patient with two assessed visits, a single-leg squat and a walk analysed."""
    from medius.io.keypoint_files import write_trc
    from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats
    from tests.web.conftest import add_user  # noqa: F401 - the live server already has its user

    tmp = tmp_path_factory.mktemp("layout")
    reps = [SyntheticRep("left", fppa_deg=8.0, pelvic_drop_deg=3.0, trunk_lean_deg=4.0)] * 3 + [
        SyntheticRep("right", fppa_deg=16.0, pelvic_drop_deg=7.0, trunk_lean_deg=9.0)
    ] * 3
    kp, _ = make_single_leg_squats(SyntheticSquats(reps=tuple(reps)))
    squat = write_trc(kp, tmp / "squat_px.trc")
    walk = _walk_trc(tmp)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    base = live_server
    page.goto(base + "/login")
    page.fill('input[name="email"]', "clinician@north.example")
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('button[type="submit"]')
    patient = _api(page, base, "POST", "/api/patients",
                   data={"family_name": "Layout", "given_name": "Lea", "sex": "female", "birth_date": "1991-06-01"})
    visits = []
    for day, right in (("2026-01-10", "110"), ("2026-02-20", "135")):
        v = _api(page, base, "POST", f"/api/patients/{patient['id']}/visits", data={"visit_date": day})
        form = {**FORM, "strength.hip_abduction.right.0.force": right, "csrf_token": _csrf(page, base)}
        r = page.request.post(base + f"/visits/{v['id']}/assessment", form=form, max_redirects=0)
        assert r.status in (200, 303), r.text()
        visits.append(v)
    recordings = {}
    for name, path, task in (("squat", squat, "single-leg-squat"), ("walk", walk, "walk")):
        up = _api(page, base, "POST", f"/api/visits/{visits[0]['id']}/recordings", multipart={
            "task": task, "annotated_video": "0",
            "file": {"name": path.name, "mimeType": "application/octet-stream", "buffer": path.read_bytes()},
        })
        recordings[name] = up
    end = time.monotonic() + 240
    for up in recordings.values():
        while _api(page, base, "GET", f"/api/jobs/{up['job']['id']}")["status"] not in ("done", "not_judgeable",
                                                                                         "failed"):
            assert time.monotonic() < end, "analysis did not finish"
            time.sleep(0.3)
    results = {k: _api(page, base, "GET", f"/api/recordings/{up['recording']['id']}/result")
               for k, up in recordings.items()}
    yield {"page": page, "base": base, "patient": patient, "visits": visits, "recordings": recordings,
           "results": results}
    context.close()


def _pages(c: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(screenshot name, url, selector of the summary that must come first or None)."""
    p, v, rec = c["patient"]["id"], c["visits"][0]["id"], c["recordings"]
    return [
        ("patients", "/patients", None),
        ("patient-new", "/patients/new", None),
        ("patient", f"/patients/{p}", None),
        ("patient-edit", f"/patients/{p}/edit", None),
        ("users", "/users", None),
        ("assessment-form", f"/visits/{v}/assessment", None),
        ("visit-upload", f"/visits/{v}", None),
        ("result-single-leg-squat", f"/recordings/{rec['squat']['recording']['id']}", "#key-summary"),
        ("result-walk", f"/recordings/{rec['walk']['recording']['id']}", "#key-summary"),
        ("findings", f"/visits/{v}/findings", "#summary"),
        ("program", f"/visits/{v}/program", None),
        ("patient-program", f"/visits/{v}/program/patient", None),
        ("progress", f"/patients/{p}/progress", None),
    ]


def _first_section_is(page: Any, selector: str) -> bool:
    return page.evaluate(
        """sel => { const first = document.querySelector('main section, main .key-summary');
                    return first !== null && first.matches(sel); }""",
        selector,
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_window_and_opens_with_the_summary(clinic, width):
    page, base = clinic["page"], clinic["base"]
    page.set_viewport_size({"width": width, "height": 900})
    LAYOUT.mkdir(parents=True, exist_ok=True)
    too_wide = []
    for name, url, summary in _pages(clinic):
        page.goto(base + url)
        page.wait_for_load_state("load")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            too_wide.append((name, overflow))
        if summary:
            assert _first_section_is(page, summary), (name, width)
        if name == "visit-upload":  # the filming guide where the recording is uploaded
            assert page.locator("#upload-form").count() == 1 and page.locator("#filming-guide").count() == 1
        shot = LAYOUT / f"{name}-{width}.jpg"
        page.screenshot(path=str(shot), full_page=True, type="jpeg", quality=60)
        if os.environ.get("MEDIUS_SCREENSHOTS") and name in DOC_SHOTS:
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, DOCS / shot.name)
    assert too_wide == [], f"pages wider than {width} px: {too_wide}"


@pytest.mark.parametrize("width", WIDTHS)
def test_sign_in_page_fits_the_window(live_server, browser, width):  # noqa: F811 - the imported fixtures
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(live_server + "/login")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.close()


@pytest.mark.parametrize("which", ["squat", "walk"])
def test_every_value_of_the_analysis_is_on_its_result_page(clinic, which):
    page, base = clinic["page"], clinic["base"]
    page.set_viewport_size({"width": 1280, "height": 900})
    result = clinic["results"][which]
    assert result["status"] == "ok", result.get("quality", {}).get("reasons")
    page.goto(base + f"/recordings/{clinic['recordings'][which]['recording']['id']}")
    text = page.content().replace("\u2212", "-")
    missing = []
    for side in ("left", "right"):
        for metric, stats in (result["summary"].get(side) or {}).items():
            mean = stats.get("mean")
            if mean is not None and f"{mean:.1f}" not in text and f"{mean:.2f}" not in text:
                missing.append((side, metric, mean))
    assert missing == []
    if which == "walk":
        key = page.inner_text("#key-summary")
        assert "Trendelenburg pattern" in key and key.index("Left stance") < key.index("Right stance")


@pytest.mark.parametrize("width", WIDTHS)
def test_standalone_reports_fit_the_window(clinic, width, tmp_path):
    """The self-contained reports (movement, assessment, patient program) at 1280 and 390 px."""
    from medius.clinic.findings import evaluate_assessment, read_movement_results
    from medius.clinic.records import read_assessment
    from medius.report.assessment import render_assessment_html
    from medius.report.html import render_html_report
    from medius.report.patient_program import render_patient_program_html

    examples = Path(__file__).resolve().parents[2] / "examples" / "assessments"
    assessment = read_assessment(examples / "pfp_right_visit1.yaml")
    outcome = evaluate_assessment(assessment, read_movement_results(assessment, examples))
    docs = {
        "report-walk": render_html_report(clinic["results"]["walk"]),
        "report-single-leg-squat": render_html_report(clinic["results"]["squat"]),
        "assessment": render_assessment_html(outcome, include_program=False),
        "patient-program-sheet": render_patient_program_html(outcome.program, person_name="Dana Demo",
                                                             clinic="Demo clinic", contact="0123 456 789"),
    }
    page = clinic["page"].context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    too_wide = []
    for name, text in docs.items():
        path = tmp_path / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        page.goto(path.as_uri())
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            too_wide.append((name, overflow))
        if name.startswith("report-"):
            assert page.evaluate("document.querySelector('main section').id") == "key-summary", name
        shot = LAYOUT / f"{name}-{width}.jpg"
        page.screenshot(path=str(shot), full_page=True, type="jpeg", quality=60)
        if os.environ.get("MEDIUS_SCREENSHOTS") and name in DOC_SHOTS:
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, DOCS / shot.name)
    page.close()
    assert too_wide == [], f"pages wider than {width} px: {too_wide}"
