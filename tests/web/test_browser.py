"""End to end in headless Debian chromium driven by Playwright: sign in, create a patient and a
visit, upload a real video, watch the progress finish, open the result and its video, enter an
assessment, get a program, print the PDFs. Screenshots go to ``test-artifacts/web/``.

The app runs with uvicorn on a free loopback port, on SQLite, with its real worker thread and
child-process analysis. The video is 2.5 s cut from the bundled Sports2D demo clip.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD, add_user, free_port, required_in_ci, skip_or_fail

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

pytestmark = pytest.mark.browser


def _cut_sample(dst: Path, seconds: float = 2.5) -> Path:
    from medius.io.samples import sample_path
    from medius.io.video import VideoWriter, iter_frames

    writer = None
    for frame in iter_frames(sample_path(), max_side_px=640):
        if frame.time_s > seconds:
            break
        if writer is None:
            h, w = frame.image.shape[:2]
            writer = VideoWriter(dst, w, h, fps_hint=30.0)
        writer.write(frame.image, frame.time_s)
    assert writer is not None
    writer.close()
    return dst


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, sqlite_template):
    import shutil

    import uvicorn

    from medius.web.app import create_app
    from medius.web.settings import Settings

    root = tmp_path_factory.mktemp("live")
    db = root / "medius.sqlite3"
    shutil.copyfile(sqlite_template, db)
    app = create_app(
        Settings(
            data_dir=root / "data",
            database_url=f"sqlite:///{db}",
            secret_key="s" * 48,
            max_side_px=480,
            worker_enabled=True,
        )
    )
    add_user(app, "clinician@north.example", role="admin")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"chromium not found at {CHROMIUM} (install Debian's chromium or set CHROMIUM_PATH)")
    try:
        from playwright import sync_api
    except ImportError:
        skip_or_fail("playwright is not installed (uv sync installs it with the dev group)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-gpu"])
        yield b
        b.close()


def poll(page, expression: str, timeout_s: float = 60.0) -> None:
    """Wait until ``expression`` is true (the app's CSP forbids eval, so no wait_for_function)."""
    end = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < end, f"timed out waiting for {expression}"
        time.sleep(0.1)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_clinic_workflow_in_the_browser(live_server, browser, tmp_path):
    from medius.web import clinical

    video = _cut_sample(tmp_path / "phone-clip.mp4")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(60_000)  # generous: CI machines can be busy
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # sign in
    page.goto(live_server + "/patients")
    assert "/login" in page.url
    page.fill('input[name="email"]', "clinician@north.example")
    page.fill('input[name="password"]', PASSWORD)
    shot(page, "01-sign-in")
    page.click('button[type="submit"]')
    page.wait_for_url("**/patients")

    # create a patient; the form validates as you type
    page.click("#new-patient")
    page.fill('input[name="family_name"]', "x")
    page.fill('input[name="family_name"]', "")
    assert page.locator('input[name="family_name"] + .field-error').inner_text() != ""
    page.fill('input[name="family_name"]', "Browser")
    page.fill('input[name="given_name"]', "Bea")
    page.fill('input[name="birth_date"]', "1991-04-05")
    page.select_option('select[name="sex"]', "female")
    page.click('#patient-form button[type="submit"]')
    page.wait_for_selector("#patient-name")
    assert page.inner_text("#patient-name") == "Browser, Bea"

    # a visit, then the upload (with progress) and the live analysis progress
    page.click('#new-visit button[type="submit"]')
    page.wait_for_selector("#upload-form")
    shot(page, "02-visit")
    page.set_input_files('input[name="file"]', str(video))
    page.click("#upload-button")
    page.wait_for_url("**/recordings/**")
    shot(page, "03-analysis-progress")
    page.wait_for_selector("#annotated-video, #not-judgeable, #job-failed", timeout=150_000)
    assert page.locator("#job-failed").count() == 0, page.inner_text("#job-failed")
    # the annotated video loads and seeks (served with Range support)
    poll(page, "document.querySelector('#annotated-video').readyState >= 1")
    duration = page.evaluate("document.querySelector('#annotated-video').duration")
    assert 1.5 < duration < 4.0
    page.evaluate("document.querySelector('#annotated-video').currentTime = 1.0")
    poll(page, "document.querySelector('#annotated-video').currentTime >= 0.9")
    judged = page.locator("#reps").count() == 1
    assert judged or page.locator("#not-judgeable li").count() >= 1  # the reasons are shown
    shot(page, "04-result")

    # the visit's full report as PDF
    page.click(".crumbs a:nth-of-type(2)")
    page.wait_for_selector("#visit-pdf")
    pdf = page.request.get(page.eval_on_selector("#visit-pdf", "a => a.href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    (ARTIFACTS / "visit-report.pdf").write_bytes(pdf.body())
    assert "Browser, Bea" in _pdf_text(pdf.body())

    if not clinical.available() and required_in_ci():
        pytest.fail("medius.clinic is not installed: CI must enter an assessment and get a program")
    if clinical.available():
        try:
            _assessment_and_program(page)
        except Exception:
            shot(page, "failure")  # what the page showed, for the artefacts
            print(
                "invalid fields:",
                page.evaluate(
                    "Array.from(document.querySelectorAll(':invalid')).map(e => e.name + '=' + e.value + ':' + e.validationMessage)"
                ),
            )
            print("url:", page.url)
            raise
    assert errors == []


def _assessment_and_program(page) -> None:
    page.click("#assessment-link")
    page.wait_for_selector("form[data-assessment]")
    page.fill('input[name="person.age_years"]', "3")  # out of range: said as you type
    page.wait_for_selector('input[name="person.age_years"].invalid')
    from tests.web.test_clinical import library_message

    said = page.inner_text('input[name="person.age_years"] + .field-error')
    assert said == library_message(age_years=3), said  # the library's own words, as you type
    page.fill('input[name="person.age_years"]', "34")
    page.select_option('select[name="person.sex"]', "female")
    page.fill('input[name="person.body_mass_kg"]', "64")
    page.fill('input[name="person.height_cm"]', "170")
    page.select_option('select[name="person.affected_side"]', "right")
    page.select_option('select[name="strength.hip_abduction.unit"]', "N")
    page.select_option('select[name="strength.hip_abduction.position"]', "side-lying")
    page.fill('input[name="strength.hip_abduction.left.0.force"]', "160")
    page.fill('input[name="strength.hip_abduction.right.0.force"]', "110")
    page.fill('input[name="questionnaires.nprs.score"]', "4")
    # let the validation as you type settle (its messages move the layout) before submitting
    poll(page, "document.querySelectorAll('#assessment-form .invalid').length === 0")
    time.sleep(0.6)
    shot(page, "05-assessment")
    # the browser's own form submission (constraint validation, submit event); a synthetic click on
    # the button at the end of this long form did not always submit in headless chromium (open issue)
    with page.expect_navigation():
        page.evaluate("document.querySelector('#assessment-form').requestSubmit()")
    page.wait_for_selector("#findings")
    shot(page, "06-findings")
    page.click("#program-link")
    page.wait_for_selector("#program")
    # the program is editable before it is given, and its form validates as you type too
    sets = page.locator('input[name="ex.0.0.sets"]')
    sets.fill("0")
    poll(page, "document.querySelector('input[name=\"ex.0.0.sets\"]').classList.contains('invalid')")
    assert page.locator('input[name="ex.0.0.sets"] + .field-error').inner_text() != ""
    sets.fill("4")
    poll(page, "!document.querySelector('input[name=\"ex.0.0.sets\"]').classList.contains('invalid')")
    with page.expect_navigation():  # as for the assessment: the browser's own submission
        page.evaluate("document.querySelector('#program-form').requestSubmit()")
    assert page.input_value('input[name="ex.0.0.sets"]') == "4" and "revision 1" in page.inner_text("h1")
    shot(page, "07-program")
    pdf = page.request.get(page.eval_on_selector("#program-pdf", "a => a.href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    (ARTIFACTS / "program.pdf").write_bytes(pdf.body())
    first_exercise = page.inner_text("#program table strong")
    assert first_exercise.split()[0] in _pdf_text(pdf.body())


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_api_docs_render_offline_under_the_apps_csp(live_server, browser):
    """Swagger UI from the files shipped in the package, under the app's CSP, for a signed-in user."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(60_000)
    errors: list[str] = []
    blocked: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(live_server) else None)
    page.goto(live_server + "/login")
    page.fill('input[name="email"]', "clinician@north.example")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/patients")
    page.goto(live_server + "/api/docs")
    try:
        poll(page, "document.querySelectorAll('.opblock').length > 10", timeout_s=20)
    except AssertionError:
        raise AssertionError((errors, blocked, outside, page.inner_text("body")[:1500])) from None
    assert "medius clinic" in page.inner_text(".info .title")
    shot(page, "20-api-docs")
    assert outside == [] and errors == [], (outside, errors)
    assert not [b for b in blocked if "script" in b.lower()], blocked
    page.close()
