"""Issue 21: the patient's home program fits two A4 pages (with pictures), in plain words."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from medius.report import patient_program as pp

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "assessments"


@pytest.fixture(scope="module")
def program():
    from medius.clinic.findings import evaluate_assessment, read_movement_results
    from medius.clinic.records import read_assessment

    assessment = read_assessment(EXAMPLES / "pfp_right_visit1.yaml")
    return evaluate_assessment(assessment, read_movement_results(assessment, EXAMPLES)).program


@pytest.fixture
def pictures(tmp_path, monkeypatch, program):
    """A 4:3 picture for every exercise of the program (the lead generates the real ones)."""
    for phase in program.phases:
        for ex in phase.exercises:
            Image.new("RGB", (800, 600), (200, 210, 220)).save(tmp_path / f"{ex.exercise_id}.png")
    monkeypatch.setattr(pp, "EXERCISE_IMAGES", tmp_path)
    pp.exercise_image_data_uri.cache_clear()
    yield tmp_path
    pp.exercise_image_data_uri.cache_clear()


def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


def test_the_example_program_fits_two_a4_pages_with_pictures(program, pictures):
    html = pp.render_patient_program_html(program, person_name="Dana Demo", clinic="Demo clinic",
                                          contact="0123 456 789")
    assert html.count("data:image/png;base64,") == len(pp.patient_program_context(program, person_name=None)["cards"])
    pages = _pages(pp.render_patient_program_pdf(program, html=html))
    assert len(pages) <= 2
    text = " ".join(pages)
    assert "Dana Demo" in text and "Demo clinic" in text and "0123 456 789" in text
    assert "How to know it is too much" in text


def test_without_pictures_the_cards_have_no_image_slot(program):
    pp.exercise_image_data_uri.cache_clear()
    html = pp.render_patient_program_html(program, person_name="Dana Demo")
    if not any(pp.EXERCISE_IMAGES.glob("*.png")):
        assert "<img" not in html
    assert len(_pages(pp.render_patient_program_pdf(program, html=html))) <= 2


def test_plain_words_only(program):
    ctx = pp.patient_program_context(program, person_name="Dana Demo")
    assert 4 <= len(ctx["cards"]) <= 6
    html = pp.render_patient_program_html(program, person_name="Dana Demo")
    body = re.sub(r"<[^>]+>", " ", html.split("<body>", 1)[1])
    for word in ("TFL", "RM", "ACSM", "MVIC", "design default", "Distefano", "pct_", "%BW", "provisional"):
        assert not re.search(rf"\b{re.escape(word)}", body), word
    for card in ctx["cards"]:
        assert "times a week" in card["dose"] and card["steps"]


def test_assess_writes_the_patient_program(tmp_path):
    from typer.testing import CliRunner

    from medius.cli import app

    res = CliRunner().invoke(app, ["assess", str(EXAMPLES / "pfp_right_visit1.yaml"), "--out", str(tmp_path / "o"),
                                   "--pdf"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "patient_program.html").is_file()
    assert len(PdfReader(tmp_path / "o" / "patient_program.pdf").pages) <= 2
