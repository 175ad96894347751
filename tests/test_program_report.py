"""The printable home program: one card per exercise in HTML, and a PDF made offline."""

from __future__ import annotations

import io
import re

import pypdf

from medius.clinic.program import ProgramRequest, TargetNeed, generate_program
from medius.report.program import PROGRAM_LOG_ROWS, render_program_html, render_program_pdf, write_program_pdf


def _program(**kw):
    return generate_program(ProgramRequest(
        targets=[TargetNeed(target="hip_abductor_strength", side="right"),
                 TargetNeed(target="dynamic_knee_control", side="right")], **kw))


def test_html_has_one_card_per_exercise_with_dose_faults_criterion_and_log():
    p = _program()
    html = render_program_html(p, person_name="Ana <script>")
    cards = re.findall(r'<div class="card" data-exercise="([^"]+)">', html)
    assert cards == [e.exercise_id for e in p.exercises()]
    assert "Ana &lt;script&gt;" in html and "<script>" not in html
    assert "break-inside: avoid" in html and "size: A4" in html
    assert "2 sets × 10–15 reps on the right leg (left leg: 1 set)" in html
    assert "The pelvis rolls back as the knee lifts" in html or "The pelvis rolls backwards" in html
    assert html.count("When you can do") == len(p.exercises())
    assert html.count("<tr><td></td><td></td><td></td><td></td><td></td></tr>") == PROGRAM_LOG_ROWS * len(cards)
    assert "Gluteus medius activation: 81 ± 42 % MVIC (mean ± SD), Distefano et al. 2009" in html
    assert "(provisional reference)" in html  # the pain-monitoring model is a secondary source
    assert "http://" not in html and "https://" not in html


def test_blocked_program_prints_the_message_and_no_cards():
    html = render_program_html(_program(red_flags=["locked knee"]))
    assert 'class="card"' not in html and "No exercise program." in html and "locked knee" in html


def test_pdf_renders_offline_with_pages_and_text(tmp_path):
    p = _program()
    path = write_program_pdf(p, tmp_path / "program.pdf", person_name="Ana")
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) >= 3  # overview + one page per phase at least
    text = " ".join(page.extract_text() for page in reader.pages)
    for e in p.exercises():
        assert e.name.split(" (")[0] in text
    assert "Pain during (0–10)" in text and "Home exercise program" in text
    blocked = pypdf.PdfReader(io.BytesIO(render_program_pdf(_program(red_flags=["fever"]))))
    assert len(blocked.pages) == 1
