"""Issue 21: findings written for people (assessment report; the web page shares the view)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medius.report.assessment import render_assessment_html
from medius.report.findings_view import findings_for_people, red_flag_screen, strength_rows

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "assessments"


@pytest.fixture(scope="module")
def outcome():
    from medius.clinic.findings import evaluate_assessment, read_movement_results
    from medius.clinic.records import read_assessment

    assessment = read_assessment(EXAMPLES / "pfp_right_visit1.yaml")
    return evaluate_assessment(assessment, read_movement_results(assessment, EXAMPLES))


def _text(html: str) -> str:
    body = html.split("<body>", 1)[1].split("<iframe", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_summary_comes_first_with_the_red_flag_screen_and_the_painful_side(outcome):
    text = _text(render_assessment_html(outcome))
    assert text.index("Summary") < text.index("Findings in detail") < text.index("Strength")
    assert "Red-flag screen done: negative (none of 27 screening questions positive)." in text
    # the painful side (right) comes before the other side
    assert text.index("Painful side (right)") < text.index("Other side")
    assert text.index("Right single-leg squat rated poor") < text.index("Left hip external rotator")


def test_no_unit_codes_or_internal_ids_on_the_page(outcome):
    text = _text(render_assessment_html(outcome))
    for code in ("pct_bw", "yes_no", "pain_nprs", "nprs: 5.0", "strength_pct_bw", "strength.pfp_deficits",
                 "evidence:", "None", "True", "22.340425"):
        assert code not in text, code
    assert "% of body weight" in text


def test_each_strength_value_has_one_closest_reference_and_the_others_folded(outcome):
    rows = strength_rows(outcome.document)
    abd = [r for r in rows if r["group"] == "Hip abductor"]
    assert [r["side"] for r in abd] == ["right", "left"]  # painful side first
    # the person is a woman: the closest reference is the women's group of the same position
    assert "women" in abd[0]["closest"] and "Alvarenga" in abd[0]["closest"]
    assert len(abd[0]["others"]) == 2
    assert abd[0]["symmetry"].startswith("right hip abductor strength 22% below the left")


def test_one_sentence_per_finding():
    doc = {"person": {"affected_side": "left"}, "findings": [
        {"kind": "finding", "side": "right", "text": "Right thing (population A; protocol B). Second sentence.",
         "measurements": [{"name": "strength_pct_bw", "side": "right", "value": 19.34, "unit": "pct_bw"}]},
        {"kind": "finding", "side": "left", "text": "Left thing of Khayambashi et al. 2016 (501 athletes). More."},
    ]}
    items = findings_for_people(doc)
    assert [i["side"] for i in items] == ["left", "right"]
    assert items[0]["sentence"] == "Left thing of Khayambashi et al. 2016."
    assert items[1]["sentence"] == "Right thing."
    assert items[1]["measurements"] == ["right strength: 19.3 % of body weight"]


def test_red_flag_screen_states_positive_flags_and_an_override():
    doc = {"assessment": {"red_flags": {"fever": True, "locking": False}},
           "red_flags": [{"label": "fever"}],
           "red_flag_override": {"by": "A. Physio", "date": "2026-12-06", "reason": "fever was 2 weeks ago"}}
    screen = red_flag_screen(doc)
    assert screen["positive"] and "fever" in screen["text"]
    assert "Overridden by A. Physio on 2026-12-06: fever was 2 weeks ago" in screen["text"]


def test_a_reasoned_red_flag_override_in_the_assessment_file(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from medius.cli import app

    data = yaml.safe_load((EXAMPLES / "knee_injury_red_flags.yaml").read_text())
    data["red_flag_override"] = {"by": "A. Physio", "reason": "MRI and orthopaedic review: no fracture, cleared"}
    path = tmp_path / "visit.yaml"
    path.write_text(yaml.safe_dump(data))
    res = CliRunner().invoke(app, ["assess", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads((tmp_path / "o" / "findings.json").read_text())
    assert doc["red_flag_override"]["by"] == "A. Physio" and doc["red_flag_override"]["date"] == "2025-03-10"
    assert not doc["program"]["blocked_by_red_flags"] and doc["program"]["phases"]
    assert "overridden by A. Physio" in doc["program"]["notes"][0]
    html = _text((tmp_path / "o" / "assessment.html").read_text())
    assert "Overridden by A. Physio on 2025-03-10" in html
    assert "Overridden by A. Physio on 2025-03-10: MRI and orthopaedic review" in html
    assert (tmp_path / "o" / "patient_program.html").is_file()
    # too short a reason is refused with one line (exit 4)
    data["red_flag_override"]["reason"] = "ok"
    path.write_text(yaml.safe_dump(data))
    res = CliRunner().invoke(app, ["assess", str(path), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 4 and not (tmp_path / "o2").exists()
