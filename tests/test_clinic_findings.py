"""Findings: a table of synthetic people, the rules file, red flags first, no exercises with a flag."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medius.clinic.findings import (
    MovementResult,
    check_findings_rules,
    evaluate_assessment,
    evaluate_findings,
    load_findings_rules,
)
from medius.clinic.program import PROGRAM_TARGETS
from medius.clinic.records import RedFlagScreen, parse_assessment
from medius.clinic.red_flags import SEE_A_CLINICIAN, load_red_flag_rules, screen_red_flags
from medius.protocols._interpret import interpret_summary
from medius.registry import load_registry

PERSON = {"age_years": 27, "sex": "female", "body_mass_kg": 62, "height_cm": 168, "affected_side": "right"}


def _strength(left, right):
    return {"hip_abduction": {"unit": "N", "position": "side-lying", "lever_arm_m": 0.8, "left": left, "right": right}}


def _screen(fppa_left, fppa_right):
    """A single-leg-squat result.json built with the protocol's own interpretation code."""
    summary = {
        side: {"fppa_deg": {"mean": v, "sd": 1.0, "n": 5}}
        for side, v in (("left", fppa_left), ("right", fppa_right))
    }
    interp = interpret_summary(summary, task="single-leg-squat", metrics=("fppa_deg",), sex="female")
    result = {"task": "single-leg-squat", "status": "ok", "summary": summary, "interpretation": interp,
              "metrics": {"fppa_deg": {"label": "knee frontal-plane projection angle (FPPA)", "unit": "deg"}}}
    return [MovementResult(path="sls/result.json", label="single-leg squat", result=result)]


CASES = {
    "strong_symmetric": (
        {"person": PERSON, "strength": _strength([250, 252], [251, 253])},
        _screen(6.0, 7.0),
        {"hip_strength_symmetric"},
        set(),
    ),
    "weak_right_abductors_with_valgus": (
        {"person": PERSON, "strength": _strength([250, 255], [190, 195])},
        _screen(7.0, 19.0),
        {"hip_driven_pattern.right"},
        {"hip_abductor_strength", "dynamic_knee_control"},
    ),
    "valgus_but_symmetric_strength": (
        {"person": PERSON, "strength": _strength([250, 255], [251, 254])},
        _screen(7.0, 19.0),
        {"valgus_with_symmetric_strength.right"},
        {"dynamic_knee_control"},
    ),
    "weak_without_valgus": (
        {"person": PERSON, "strength": _strength([250, 255], [190, 195])},
        _screen(7.0, 8.0),
        {"hip_abductor_weakness.right", "weakness_without_valgus.right"},
        {"hip_abductor_strength"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_synthetic_people(case):
    data, movement, expected_ids, expected_targets = CASES[case]
    outcome = evaluate_assessment(parse_assessment(data), movement)
    ids = {f.id for f in outcome.findings}
    assert expected_ids <= ids, ids
    targets = {t["target"] for t in outcome.document["program_request"]["targets"]}
    assert targets == expected_targets
    program = outcome.program
    assert not program.blocked_by_red_flags
    if expected_targets:
        assert set(program.targets) >= expected_targets
        assert sum(len(p.exercises) for p in program.phases) > 0
    for f in outcome.findings:
        assert f.measurements, f.id  # every finding links to the measurements behind it
        assert f.evidence
        assert set(f.targets) <= set(PROGRAM_TARGETS)


def test_hip_driven_finding_text_and_measurements():
    data, movement, _, _ = CASES["weak_right_abductors_with_valgus"]
    f = next(f for f in evaluate_findings(parse_assessment(data), movement) if f.rule_id == "hip_driven_pattern")
    assert f.text.startswith("Right hip abductor strength 24% below the left, beyond the measurement error")
    assert "right knee frontal-plane projection angle (FPPA) (19.0° in single-leg-squat) above the reference" in f.text
    assert "association, not a cause" in f.text and "Brund et al. 2018" in f.text
    names = {(m.name, m.side) for m in f.measurements}
    assert ("strength_pct_bw", "right") in names and ("single-leg-squat.fppa_deg", "right") in names
    assert "strength.running_kinematics.brund2018" in f.evidence
    assert f.side == "right" and f.targets == ["hip_abductor_strength", "dynamic_knee_control"]


def test_red_flag_leads_and_blocks_program():
    data = {"person": PERSON, "strength": _strength([250, 255], [190, 195]),
            "red_flags": {"night_or_rest_pain": True, "unexplained_weight_loss": True}}
    outcome = evaluate_assessment(parse_assessment(data), _screen(7.0, 19.0))
    assert outcome.document["headline"] == SEE_A_CLINICIAN
    kinds = [f.kind for f in outcome.findings]
    assert kinds[:2] == ["red_flag", "red_flag"] and "red_flag" not in kinds[2:]
    assert outcome.findings[0].text.startswith(SEE_A_CLINICIAN)
    assert outcome.program.blocked_by_red_flags and outcome.program.phases == []
    assert outcome.document["program"]["phases"] == []


def test_ottawa_rule_needs_trauma_and_uses_registry_age():
    old = dict(PERSON, age_years=60)
    assert screen_red_flags(parse_assessment({"person": old})) == []
    flags = screen_red_flags(parse_assessment({"person": old, "red_flags": {"recent_trauma": True}}))
    assert [f.id for f in flags] == ["ottawa_knee_rule"] and "age 60 (at or above 55)" in flags[0].label
    young = screen_red_flags(parse_assessment({"person": PERSON, "red_flags": {"recent_trauma": True}}))
    assert young == []


def test_septic_arthritis_supersedes_its_parts():
    flags = screen_red_flags(parse_assessment({"person": PERSON, "red_flags": {"fever": True, "hot_red_swollen_joint": True}}))
    assert [f.id for f in flags] == ["septic_arthritis"] and flags[0].urgency == "emergency"


red_flag_fields = [f for f, info in RedFlagScreen.model_fields.items() if info.annotation is bool and f != "recent_trauma"]


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(red_flag_fields), st.booleans())
def test_a_red_flag_never_yields_exercises(field, trauma):
    flags = {field: True, "recent_trauma": trauma}
    if field in ("swelling_within_12h_of_trauma", "giving_way_after_trauma"):
        flags["recent_trauma"] = True
    if field == "hot_red_swollen_joint":
        flags["fever"] = True
    data = {"person": dict(PERSON, goal="running"), "strength": _strength([250, 255], [190, 195]), "red_flags": flags}
    outcome = evaluate_assessment(parse_assessment(data), _screen(7.0, 19.0))
    assert outcome.document["headline"] == SEE_A_CLINICIAN
    assert outcome.program.blocked_by_red_flags
    assert sum(len(p.exercises) for p in outcome.program.phases) == 0


def test_rules_files_cite_registry_ids_and_program_targets():
    ids = {r.id for r in load_registry().references}
    for rule in load_findings_rules():
        assert set(rule["evidence"]) <= ids
        assert set(rule["targets"]) <= set(PROGRAM_TARGETS)
    for flag in load_red_flag_rules()["flags"]:
        assert set(flag["evidence"]) <= ids


def test_rules_validation_names_the_problem():
    good = {"id": "x", "kind": "finding", "scope": "side", "all": ["strength.hip_abduction.weak"], "text": "t",
            "evidence": ["strength.hhd.error.thorborg2010.abduction"], "targets": ["hip_abductor_strength"]}
    check_findings_rules({"schema_version": 1, "rules": [good]}, targets=PROGRAM_TARGETS)
    for change, msg in [
        ({"all": ["strength.hip_abduction.wek"]}, "unknown fact 'strength.hip_abduction.wek'"),
        ({"evidence": ["nope.nope"]}, "evidence 'nope.nope' is not a registry id"),
        ({"targets": ["glutes"]}, "target 'glutes' is not one of"),
        ({"kind": "diagnosis"}, "kind must be finding or note"),
        ({"colour": "red"}, "unknown key"),
    ]:
        bad = copy.deepcopy(good)
        bad.update(change)
        with pytest.raises(ValueError, match=msg):
            check_findings_rules({"schema_version": 1, "rules": [bad]}, targets=PROGRAM_TARGETS)


def test_gait_result_metrics_read_generically():
    """A walk/run result with per-side summary and interpretation feeds the same facts."""
    result = {
        "task": "run", "status": "ok",
        "summary": {"right": {"pelvic_drop_deg": {"mean": 9.0}}, "left": {"pelvic_drop_deg": {"mean": 4.0}}},
        "interpretation": [{"metric": "pelvic_drop_deg", "side": "right", "value": 9.0, "verdict": "above",
                            "source": "a gait study", "reference_id": None, "cohort": "healthy"}],
        "metrics": {"pelvic_drop_deg": {"label": "contralateral pelvic drop"}},
    }
    findings = evaluate_findings(parse_assessment({"person": PERSON}), [MovementResult("run/result.json", None, result)])
    f = next(f for f in findings if f.rule_id == "pelvic_control")
    assert f.side == "right" and "contralateral pelvic drop (9.0° in run) above the reference" in f.text
