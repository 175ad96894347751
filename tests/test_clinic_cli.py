"""``medius assess`` and ``medius compare``: outputs, red flags first, exit codes, nothing partial."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from medius.cli import app
from medius.protocols._interpret import interpret_summary

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "assessments"
runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_assess_example_writes_findings_and_html(tmp_path):
    out = tmp_path / "v1"
    r = _run("assess", EXAMPLES / "pfp_right_visit1.yaml", "--out", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["assessment.html", "findings.json"]
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert doc["headline"] is None
    assert any(f["id"] == "hip_abductor_weakness.right" for f in doc["findings"])
    assert doc["program"]["phases"] and not doc["program"]["blocked_by_red_flags"]
    assert doc["measurements"]["questionnaires"]["kujala"]["score"] == 80
    html = (out / "assessment.html").read_text(encoding="utf-8")
    assert "Right hip abductor strength 22% below the left" in html
    assert "<script src" not in html and "<link" not in html  # self-contained
    assert not list(tmp_path.glob(".*partial"))


def test_assess_red_flags_lead(tmp_path):
    out = tmp_path / "rf"
    r = _run("assess", EXAMPLES / "knee_injury_red_flags.yaml", "--out", out)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("See a clinician before starting exercises")
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert doc["headline"] == "See a clinician before starting exercises"
    assert doc["program"]["blocked_by_red_flags"] and doc["program"]["phases"] == []
    html = (out / "assessment.html").read_text(encoding="utf-8")
    body = html.split("<body>", 1)[1]
    assert body.index("See a clinician before starting exercises") < body.index("Findings")


def _write_result(path: Path, fppa_right: float) -> None:
    summary = {"left": {"fppa_deg": {"mean": 7.0}}, "right": {"fppa_deg": {"mean": fppa_right}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "task": "single-leg-squat", "status": "ok", "summary": summary,
        "interpretation": interpret_summary(summary, task="single-leg-squat", metrics=("fppa_deg",), sex="female"),
    }), encoding="utf-8")


def test_assess_with_movement_result_relative_path(tmp_path):
    visit = tmp_path / "visit.yaml"
    shutil.copy(EXAMPLES / "pfp_right_visit1.yaml", visit)
    visit.write_text(visit.read_text(encoding="utf-8") + "movement_results:\n  - {path: screens/sls.json, label: SLS}\n",
                     encoding="utf-8")
    _write_result(tmp_path / "screens" / "sls.json", 19.0)
    r = _run("assess", visit, "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert any(f["id"] == "hip_driven_pattern.right" for f in doc["findings"])


def test_missing_result_file_exit_3_names_file_and_field(tmp_path):
    visit = tmp_path / "visit.yaml"
    shutil.copy(EXAMPLES / "pfp_right_visit1.yaml", visit)
    visit.write_text(visit.read_text(encoding="utf-8") + "movement_results:\n  - {path: nope.json}\n", encoding="utf-8")
    r = _run("assess", visit, "--out", tmp_path / "out")
    assert r.exit_code == 3
    assert "nope.json: movement result file not found (field movement_results[0].path = 'nope.json'" in r.output
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".*partial"))


def test_invalid_assessment_exit_4_one_line(tmp_path):
    visit = tmp_path / "bad.yaml"
    visit.write_text(
        "person: {age_years: 30, sex: female, body_mass_kg: 60, height_cm: 165}\n"
        "strength:\n  hip_abduction: {unit: stone, position: supine, right: [100]}\n", encoding="utf-8")
    r = _run("assess", visit, "--out", tmp_path / "out")
    assert r.exit_code == 4
    line = r.output.strip()
    assert "\n" not in line
    assert line.startswith("medius: error: ") and "field strength.hip_abduction.unit" in line and "'kgf'" in line
    assert not (tmp_path / "out").exists()


def test_existing_output_exit_6_then_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x", encoding="utf-8")
    r = _run("assess", EXAMPLES / "pfp_right_visit1.yaml", "--out", out)
    assert r.exit_code == 6 and (out / "keep.txt").exists()
    r = _run("assess", EXAMPLES / "pfp_right_visit1.yaml", "--out", out, "--force")
    assert r.exit_code == 0 and not (out / "keep.txt").exists()


def test_compare_table_and_outputs(tmp_path):
    r = _run("compare", EXAMPLES / "pfp_right_visit1.yaml", EXAMPLES / "pfp_right_visit2.yaml", "--out", tmp_path / "p")
    assert r.exit_code == 0, r.output
    assert "Kujala" in r.output and "improved" in r.output and "no real" in r.output
    doc = json.loads((tmp_path / "p" / "progress.json").read_text(encoding="utf-8"))
    assert {c["name"] for c in doc["changes"]} >= {"questionnaire.lefs", "strength.hip_abduction.pct_bw"}
    assert "<table>" in (tmp_path / "p" / "progress.html").read_text(encoding="utf-8")
    r = _run("compare", EXAMPLES / "pfp_right_visit1.yaml", EXAMPLES / "knee_injury_red_flags.yaml")
    assert r.exit_code == 4 and "different people" in r.output


def test_assess_pdf(tmp_path):
    r = _run("assess", EXAMPLES / "pfp_right_visit1.yaml", "--out", tmp_path / "o", "--pdf")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "assessment.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "o" / "program.pdf").read_bytes().startswith(b"%PDF")
