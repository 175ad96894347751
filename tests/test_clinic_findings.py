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


# ----------------------------------------------------------------------------- squat rating + strength
POOR_SLS = {"overall_impression": "poor", "trunk_posture": "good", "pelvis": "poor", "hip": "poor", "knee": "poor"}
GOOD_SLS = dict.fromkeys(("overall_impression", "trunk_posture", "pelvis", "hip", "knee"), "good")


def test_poor_squat_rating_with_weak_abductors_is_one_finding():
    """Crossley et al. 2011: poor single-leg squat performers had weaker hip abduction (34 asymptomatic adults)."""
    data = {"person": PERSON, "strength": _strength([250, 255], [190, 195]),
            "clinical_tests": {"single_leg_squat": {"right": POOR_SLS, "left": GOOD_SLS}}}
    findings = evaluate_findings(parse_assessment(data))
    ids = {f.id for f in findings}
    assert "sls_poor_with_abductor_weakness.right" in ids
    # the combined finding replaces the two separate ones
    assert "hip_abductor_weakness.right" not in ids and "single_leg_squat_poor.right" not in ids
    f = next(f for f in findings if f.id == "sls_poor_with_abductor_weakness.right")
    assert f.text.startswith("Right single-leg squat rated poor (1 of 5 criteria good; poor: overall impression, "
                             "pelvis in space, hip joint, knee joint); right hip abductor strength 24% below the left, "
                             "beyond the measurement error (5%, Thorborg et al. 2010). Together this matches Crossley "
                             "et al. 2011")
    assert "weaker hip abduction" in f.text and "34 asymptomatic adults" in f.text
    assert "provisional" in f.text and "association" in f.text
    names = {(m.name, m.side) for m in f.measurements}
    assert ("single_leg_squat", "right") in names and ("strength_pct_bw", "right") in names
    assert {"clinical.sls_rating.poor.crossley2011", "strength.hhd.error.thorborg2010.abduction"} <= set(f.evidence)
    assert f.kind == "finding" and f.priority == 1 and "hip_abductor_strength" in f.targets


def test_poor_squat_rating_alone_and_weakness_alone_keep_their_findings():
    poor_only = {"person": PERSON, "strength": _strength([250, 252], [251, 253]),
                 "clinical_tests": {"single_leg_squat": {"right": POOR_SLS}}}
    ids = {f.id for f in evaluate_findings(parse_assessment(poor_only))}
    assert "single_leg_squat_poor.right" in ids and "sls_poor_with_abductor_weakness.right" not in ids
    weak_only = {"person": PERSON, "strength": _strength([250, 255], [190, 195]),
                 "clinical_tests": {"single_leg_squat": {"right": GOOD_SLS}}}
    ids = {f.id for f in evaluate_findings(parse_assessment(weak_only))}
    assert "hip_abductor_weakness.right" in ids and "sls_poor_with_abductor_weakness.right" not in ids


def test_example_visit1_reports_the_squat_and_strength_finding():
    from pathlib import Path

    from medius.clinic.records import read_assessment

    example = Path(__file__).resolve().parents[1] / "examples" / "assessments" / "pfp_right_visit1.yaml"
    ids = {f.id for f in evaluate_findings(read_assessment(example))}
    assert "sls_poor_with_abductor_weakness.right" in ids


# ----------------------------------------------------------------------------- questionnaires
KUJALA_80 = {"limp": "a", "support": "a", "walking": "b", "stairs": "c", "squatting": "c", "running": "c",
             "jumping": "b", "prolonged_sitting": "b", "pain": "b", "swelling": "a", "patellar_subluxation": "a",
             "thigh_atrophy": "a", "flexion_deficiency": "a"}


def _q(**q):
    return evaluate_findings(parse_assessment({"person": PERSON, "questionnaires": q}))


def test_questionnaire_scores_are_reported_with_their_registry_meaning():
    findings = {f.id: f for f in _q(kujala={"answers": KUJALA_80}, lefs={"answers": [3] * 20},
                                    nprs={"score": 4, "recall": "average_week"})}
    k = findings["kujala_score"]
    assert k.kind == "note" and k.side is None and k.targets == []
    assert k.text.startswith("Kujala AKPS 80/100 (version kujala1993; 100 = no problems); a rise of 10 points or "
                             "more is the minimal clinically important difference (Crossley et al. 2004) and 9 "
                             "points the measurement error (Esculier et al. 2013).")
    assert "not their cause" in k.text
    assert [(m.name, m.value, m.unit) for m in k.measurements] == [("kujala_score", 80.0, "points")]
    assert {"questionnaire.kujala.mcid.crossley2004", "questionnaire.kujala.error.esculier2013"} <= set(k.evidence)
    lefs = findings["lefs_score"]
    assert lefs.text.startswith("LEFS 60/80 (version lefs1999; 80 = no difficulty); a rise of 9 points or more is "
                                "the minimal clinically important difference (Binkley et al. 1999)")
    assert "median LEFS of 1014 healthy adults was 77 of 80" in lefs.text and "not a threshold" in lefs.text
    assert "questionnaire.lefs.norm.dingemans2017" in lefs.evidence
    pain = findings["pain_level"]
    assert pain.text.startswith("Pain 4/10 on the NPRS (average over the last week); a fall of 1.16 points or more "
                                "is the minimal clinically important difference (Piva et al. 2009).")
    assert "pain_above_exercise_limit" not in findings


def test_lefs_context_matches_its_registry_entry():
    reason = load_registry().get("questionnaire.lefs.norm.dingemans2017").reason
    assert "77 of 80 (men 78, women 76)" in reason and reason.startswith("No individual cut-off")
    rule = next(r for r in load_findings_rules() if r["id"] == "lefs_score")
    assert "77 of 80 (women 76, men 78" in " ".join(rule["text"].split())


@pytest.mark.parametrize(("score", "above"), [(5, False), (6, True), (9, True)])
def test_pain_above_the_exercise_limit_of_the_pain_monitoring_model(score, above):
    findings = {f.id: f for f in _q(nprs={"score": score, "recall": "now"})}
    assert ("pain_above_exercise_limit" in findings) is above
    assert ("pain_level" in findings) is not above
    if above:
        f = findings["pain_above_exercise_limit"]
        assert f.text.startswith(f"Pain {score}/10 on the NPRS (now), above the 0–5/10 allowed during exercise by "
                                 "the pain-monitoring model (Silbernagel et al. 2007), a provisional reference.")
        assert "pain.acceptable.pain_monitoring" in f.evidence and f.priority == 1


def test_no_questionnaire_no_questionnaire_note():
    ids = {f.id for f in evaluate_findings(parse_assessment({"person": PERSON}))}
    assert not ids & {"kujala_score", "lefs_score", "pain_level", "pain_above_exercise_limit"}


# ----------------------------------------------------------------------------- gait Trendelenburg block
def _gait(left_flag, right_flag, *, rule=True, task="walk"):
    """A walk/run result.json with the `trendelenburg` block of docs/result-schema.md."""
    def side(flag, value):
        return {"flag": flag, "value": value, "text": "..."} if flag is not None else {"flag": None, "value": None}
    block = {
        "rule": {"reference_id": "trendelenburg_pattern.gait.magee", "cutoff": 4.8, "unit": "deg",
                 "source": "Magee (Trendelenburg sign, via a secondary source); medius conversion",
                 "provisional": True} if rule else None,
        "left": side(left_flag, 6.4 if left_flag else 1.6),
        "right": side(right_flag, 6.4 if right_flag else 1.6),
    }
    result = {"task": task, "status": "ok", "summary": {}, "interpretation": [], "trendelenburg": block}
    return [MovementResult(path=f"{task}/result.json", label=task, result=result)]


def test_gait_trendelenburg_pattern_feeds_pelvic_control():
    findings = evaluate_findings(parse_assessment({"person": PERSON}), _gait(False, True))
    f = next(f for f in findings if f.rule_id == "pelvic_control")
    assert f.side == "right"
    assert f.text.startswith("Right stance in walk: mean pelvic drop at mid-stance 6.4°, at or above the 4.8° of the "
                             "Trendelenburg-pattern rule (Magee (Trendelenburg sign, via a secondary source); medius "
                             "conversion; provisional).")
    assert [(m.source, m.name, m.side, m.value, m.unit) for m in f.measurements] == [
        ("walk/result.json", "walk.pelvic_drop_midstance_deg", "right", 6.4, "deg")]
    assert "trendelenburg_pattern.gait.magee" in f.evidence
    assert not any(f.rule_id == "pelvic_control" and f.side == "left" for f in findings)


def test_clinical_test_and_gait_disagreement_notes():
    a = parse_assessment({"person": PERSON, "clinical_tests": {"trendelenburg": {"left": "positive", "right": "negative"}}})
    ids = {f.id for f in evaluate_findings(a, _gait(False, True))}
    assert "trendelenburg_test_not_seen_in_gait.left" in ids  # positive test, no pattern in gait
    assert "trendelenburg_gait_not_seen_in_test.right" in ids  # pattern in gait, negative test
    assert {"pelvic_control.left", "pelvic_control.right"} <= ids
    agree = parse_assessment({"person": PERSON, "clinical_tests": {"trendelenburg": {"right": "positive"}}})
    ids = {f.id for f in evaluate_findings(agree, _gait(False, True))}
    assert not any(i.startswith("trendelenburg_") for i in ids)


def test_gait_block_without_rule_or_measurement_gives_no_fact():
    a = parse_assessment({"person": PERSON})
    for movement in (_gait(True, True, rule=False), _gait(None, None)):
        assert not any(f.rule_id == "pelvic_control" for f in evaluate_findings(a, movement))
    not_judgeable = _gait(True, True)
    not_judgeable[0].result["status"] = "not_judgeable"
    assert not any(f.rule_id == "pelvic_control" for f in evaluate_findings(a, not_judgeable))


# ----------------------------------------------------------------------------- red flags of §8.2
@pytest.mark.parametrize(
    ("field", "flag_id", "urgency", "evidence"),
    [
        ("psoriasis_or_inflammatory_bowel_disease", "inflammatory_condition", "clinician",
         "red_flags.inflammatory.nhs_gloucestershire"),
        ("arthritis_after_sore_throat", "rheumatic_fever", "clinician", "red_flags.inflammatory.nhs_gloucestershire"),
        ("traumatic_patellar_dislocation", "patellar_dislocation", "urgent",
         "red_flags.patellar_dislocation.nhs_gloucestershire"),
    ],
)
def test_added_red_flags_lead_and_block_the_program(field, flag_id, urgency, evidence):
    outcome = evaluate_assessment(parse_assessment({"person": PERSON, "strength": _strength([250, 255], [190, 195]),
                                                    "red_flags": {field: True}}))
    flags = outcome.document["red_flags"]
    assert [f["id"] for f in flags] == [flag_id] and flags[0]["urgency"] == urgency
    assert evidence in flags[0]["evidence"] and flags[0]["fields"] == [field]
    assert outcome.document["headline"] == SEE_A_CLINICIAN
    assert outcome.findings[0].kind == "red_flag" and outcome.findings[0].text.startswith(SEE_A_CLINICIAN)
    assert outcome.program.blocked_by_red_flags and outcome.program.phases == []
    reason = load_registry().get(evidence).reason
    assert reason.startswith("No numeric threshold")


def test_added_red_flag_sources_name_what_they_flag():
    reg = load_registry()
    inflammatory = reg.get("red_flags.inflammatory.nhs_gloucestershire").reason
    assert "psoriasis" in inflammatory and "inflammatory bowel disease" in inflammatory
    assert "sore throat" in inflammatory and "rheumatic fever" in inflammatory
    assert "patellar dislocation" in reg.get("red_flags.patellar_dislocation.nhs_gloucestershire").reason
    for rid in ("red_flags.inflammatory.nhs_gloucestershire", "red_flags.patellar_dislocation.nhs_gloucestershire"):
        assert reg.get(rid).facts_sheet == "§8.2"
