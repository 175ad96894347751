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
    assert sorted(p.name for p in out.iterdir()) == [
        "assessment.html", "findings.json", "patient_program.html", "program.html", "program.json"
    ]
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert doc["headline"] is None
    assert doc["files"] == {"findings": "findings.json", "report": "assessment.html", "program": "program.json",
                            "program_html": "program.html", "patient_program": "patient_program.html"}
    assert any(f["id"] == "sls_poor_with_abductor_weakness.right" for f in doc["findings"])
    assert {"kujala_score", "lefs_score", "pain_level"} <= {f["id"] for f in doc["findings"]}
    assert doc["program"]["phases"] and not doc["program"]["blocked_by_red_flags"]
    assert doc["measurements"]["questionnaires"]["kujala"]["score"] == 80
    html = (out / "assessment.html").read_text(encoding="utf-8")
    assert "Right single-leg squat rated poor" in html and "right hip abductor strength 22% below the left" in html
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
    # the program files hold the blocked program: no exercises, the message to see a clinician
    program = json.loads((out / "program.json").read_text(encoding="utf-8"))
    assert program["blocked_by_red_flags"] and program["phases"] == []
    assert "clinician" in (out / "program.html").read_text(encoding="utf-8")


def test_assess_program_json_is_what_program_progress_reads(tmp_path):
    """README: medius program progress results/visit1/program.json sessions.yaml --out results/week3"""
    from medius.clinic.program import read_program

    out = tmp_path / "visit1"
    assert _run("assess", EXAMPLES / "pfp_right_visit1.yaml", "--out", out).exit_code == 0
    program = read_program(out / "program.json")
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert program.model_dump(mode="json") == doc["program"]
    first = program.phases[0].exercises[0]
    sessions = tmp_path / "sessions.yaml"
    sessions.write_text(
        "sessions:\n  - {date: 2025-03-05, pain_before: 3, pain_during: 3, pain_next_morning: 3,\n"
        f"     exercises: [{{id: {first.exercise_id}, sets: 2, reps: 10}}]}}\n", encoding="utf-8")
    r = _run("program", "progress", out / "program.json", sessions, "--out", tmp_path / "week1")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "week1" / "update.json").is_file()


def test_assess_reads_a_gait_result_trendelenburg_block(tmp_path):
    """A real walking result.json (synthetic C3D through ``medius analyze``) named by the assessment:
    its per-side Trendelenburg-pattern flag feeds the findings."""
    from medius.testing.synthetic_gait import GaitSpec, make_gait_trial, write_gait_c3d

    spec = GaitSpec(task="walk", duration_s=5.0, treadmill=False, pelvic_drop_deg={"left": 2.0, "right": 8.0},
                    hip_adduction_deg={"left": 6.0, "right": 10.0}, forward_axis="+x", up_axis="+z",
                    medial_markers=True)
    trial, truth = make_gait_trial(spec)
    c3d = write_gait_c3d(trial, tmp_path / "trial.c3d", truth)
    r = _run("analyze", c3d, "--task", "walk", "--out", tmp_path / "walk", "--no-video", "--force")
    assert r.exit_code == 0, r.output
    result = json.loads((tmp_path / "walk" / "result.json").read_text(encoding="utf-8"))
    assert result["trendelenburg"]["right"]["flag"] is True and result["trendelenburg"]["left"]["flag"] is False
    visit = tmp_path / "visit.yaml"
    visit.write_text(
        "person: {age_years: 30, sex: female, body_mass_kg: 60, height_cm: 165, affected_side: right}\n"
        "clinical_tests: {trendelenburg: {left: positive, right: negative}}\n"
        "movement_results: [{path: walk/result.json, label: walking}]\n", encoding="utf-8")
    r = _run("assess", visit, "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    by_id = {f["id"]: f for f in doc["findings"]}
    right = by_id["pelvic_control.right"]
    assert right["text"].startswith(
        f"Right stance in walk: mean pelvic drop at mid-stance {result['trendelenburg']['right']['value']:.1f}°, "
        "at or above the 4.8° of the Trendelenburg-pattern rule")
    assert {"source": "walk/result.json", "name": "walk.pelvic_drop_midstance_deg", "side": "right",
            "value": result["trendelenburg"]["right"]["value"], "unit": "deg"} in right["measurements"]
    assert "trendelenburg_pattern.gait.magee" in right["evidence"]
    # the clinical test and the gait flag disagree on both sides: both are reported
    assert "trendelenburg_test_not_seen_in_gait.left" in by_id and "trendelenburg_gait_not_seen_in_test.right" in by_id


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
    tests_table = r.output.split("clinical tests", 1)[1]
    assert "Trendelenburg" in tests_table and "positive" in tests_table and "negative" in tests_table
    assert "poor (1)" in tests_table and "good (4)" in tests_table  # squat rating: category (criteria good)
    doc = json.loads((tmp_path / "p" / "progress.json").read_text(encoding="utf-8"))
    assert {c["name"] for c in doc["changes"]} >= {"questionnaire.lefs", "strength.hip_abduction.pct_bw",
                                                   "clinical.trendelenburg", "clinical.single_leg_squat",
                                                   "clinical.ober", "clinical.modified_thomas"}
    tr = next(c for c in doc["changes"] if c["name"] == "clinical.trendelenburg" and c["side"] == "right")
    assert (tr["kind"], tr["before_category"], tr["after_category"]) == ("categorical", "positive", "negative")
    assert "<table>" in (tmp_path / "p" / "progress.html").read_text(encoding="utf-8")
    r = _run("compare", EXAMPLES / "pfp_right_visit1.yaml", EXAMPLES / "knee_injury_red_flags.yaml")
    assert r.exit_code == 4 and "different people" in r.output


def test_assess_pdf(tmp_path):
    r = _run("assess", EXAMPLES / "pfp_right_visit1.yaml", "--out", tmp_path / "o", "--pdf")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "assessment.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "o" / "program.pdf").read_bytes().startswith(b"%PDF")


def test_a_failure_while_writing_the_program_leaves_nothing(tmp_path, monkeypatch):
    import medius.report.program as report_program

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_program, "render_program_html", broken)
    out = tmp_path / "out"
    r = _run("assess", EXAMPLES / "pfp_right_visit1.yaml", "--out", out)
    assert r.exit_code == 6
    line = r.output.strip()
    assert "\n" not in line and line.startswith("medius: error: ") and "No space left on device" in line
    assert str(out) in line
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no partial or temporary folder left
