"""`medius program make / progress / exercises` end to end, with the error paths."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from medius.cli import app

runner = CliRunner()

REQUEST = {
    "targets": [
        {"target": "hip_abductor_strength", "side": "right", "finding_ids": ["f1"]},
        {"target": "dynamic_knee_control", "side": "right"},
    ],
    "pain_nprs": 2,
    "start_date": "2025-03-03",
}


def _make(tmp_path, request=REQUEST, *extra):
    req = tmp_path / "request.yaml"
    req.write_text(yaml.safe_dump(request))
    out = tmp_path / "out"
    return runner.invoke(app, ["program", "make", str(req), "--out", str(out), *extra]), out


def test_make_writes_program_json_and_html(tmp_path):
    res, out = _make(tmp_path)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["program.html", "program.json"]
    prog = json.loads((out / "program.json").read_text())
    assert prog["format"] == "medius.program/1" and prog["phases"][0]["exercises"][0]["exercise_id"] == \
        "side-lying-hip-abduction"
    assert (out / "program.html").read_text().count('class="card"') == sum(len(p["exercises"]) for p in prog["phases"])
    # an existing folder is refused without --force (exit 6), and replaced with it
    res2, _ = _make(tmp_path)
    assert res2.exit_code == 6 and "use --force" in res2.output
    assert _make(tmp_path, REQUEST, "--force")[0].exit_code == 0


def test_make_with_pdf_and_from_a_findings_file(tmp_path):
    findings = tmp_path / "findings.json"
    findings.write_text(json.dumps({"findings": [
        {"id": "f1", "kind": "finding", "side": "left", "targets": ["pelvic_control"], "text": "drop"}]}))
    out = tmp_path / "o"
    res = runner.invoke(app, ["program", "make", str(findings), "--out", str(out), "--pdf"])
    assert res.exit_code == 0, res.output
    assert (out / "program.pdf").read_bytes().startswith(b"%PDF")


def test_red_flag_makes_a_blocked_program(tmp_path):
    res, out = _make(tmp_path, {**REQUEST, "red_flags": ["suspected fracture"]})
    assert res.exit_code == 0
    prog = json.loads((out / "program.json").read_text())
    assert prog["blocked_by_red_flags"] and prog["phases"] == []
    assert "clinician" in res.output


@pytest.mark.parametrize(
    ("request_", "phrase"),
    [
        ({"targets": [{"target": "calf_strength"}]}, "targets.0.target"),
        ({"targets": [], "pain_nprs": -1}, "pain_nprs"),
        ({"targets": [], "equipment": ["treadmill"]}, "must be items of resistance_band"),
    ],
)
def test_make_bad_input_is_one_line_exit_4_and_nothing_written(tmp_path, request_, phrase):
    res, out = _make(tmp_path, request_)
    assert res.exit_code == 4
    assert res.output.startswith("medius: error: ") and "request.yaml" in res.output and phrase in res.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_make_missing_input_is_exit_3(tmp_path):
    res = runner.invoke(app, ["program", "make", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 3 and "file not found" in res.output


def test_progress_end_to_end_and_errors(tmp_path):
    res, out = _make(tmp_path)
    assert res.exit_code == 0
    sessions = tmp_path / "sessions.yaml"
    sessions.write_text(yaml.safe_dump({"sessions": [
        {"date": f"2025-03-0{d}", "pain_during": 2, "pain_next_morning": 2,
         "exercises": [{"id": "side-lying-hip-abduction", "side": "right", "sets": 2, "reps": 17},
                       {"id": "clamshell", "sets": 2, "reps": 12, "pain_during": 7}]}
        for d in (3, 5)]}))
    upd = tmp_path / "upd"
    res = runner.invoke(app, ["program", "progress", str(out / "program.json"), str(sessions), "--out", str(upd)])
    assert res.exit_code == 0, res.output
    update = json.loads((upd / "update.json").read_text())
    actions = {c["exercise_id"]: c["action"] for c in update["changes"]}
    assert actions == {"side-lying-hip-abduction": "progress", "clamshell": "regress"}
    prog = json.loads((upd / "program.json").read_text())
    assert prog["revision"] == 1
    assert prog["phases"][0]["exercises"][0]["exercise_id"] == "side-lying-hip-abduction-weighted"

    sessions.write_text("sessions:\n  - {date: 2025-03-03, pain_next_morning: 11}\n")
    res = runner.invoke(app, ["program", "progress", str(out / "program.json"), str(sessions), "--out",
                              str(tmp_path / "bad")])
    assert res.exit_code == 4 and "sessions.yaml" in res.output and "pain_next_morning" in res.output
    assert not (tmp_path / "bad").exists()
    sessions.write_text("sessions:\n  - {date: 2025-03-03, exercises: [{id: nordic-curl, sets: 1}]}\n")
    res = runner.invoke(app, ["program", "progress", str(out / "program.json"), str(sessions), "--out",
                              str(tmp_path / "bad")])
    assert res.exit_code == 4 and "unknown exercise 'nordic-curl'; allowed: clamshell" in res.output
    res = runner.invoke(app, ["program", "progress", str(sessions), str(sessions), "--out", str(tmp_path / "bad")])
    assert res.exit_code == 4 and "is not a medius program" in res.output


def test_exercises_lists_the_library():
    res = runner.invoke(app, ["program", "exercises"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "clamshell" in res.output and "balance-board" in res.output
