"""Exercise library and program generator: known programs, red flags, equipment, properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medius.clinic.exercises import PHASE_IDS, PROGRAM_TARGETS, load_exercise_library, parse_exercise_library
from medius.clinic.program import (
    Program,
    ProgramRequest,
    TargetNeed,
    generate_program,
    read_program_request,
    request_from_findings,
)
from medius.errors import InputNotFoundError, InvalidInputError
from medius.registry import load_registry

REQUIRED = {
    "side-lying-hip-abduction", "clamshell", "fire-hydrant", "monster-walk", "lateral-band-walk", "hip-hike",
    "side-plank-hip-abduction", "single-leg-bridge", "single-leg-squat", "step-down", "single-leg-deadlift",
    "balance-board", "foam-rolling-lateral-hip",
}


def _weak_right_abductors_valgus(**kw) -> ProgramRequest:
    return ProgramRequest(
        targets=[
            TargetNeed(target="hip_abductor_strength", side="right", finding_ids=["hhd-abd-right"]),
            TargetNeed(target="dynamic_knee_control", side="right", finding_ids=["fppa-right"]),
        ],
        **kw,
    )


# ------------------------------------------------------------------------------------ library
def test_library_has_the_required_exercises_with_all_fields():
    lib = load_exercise_library()
    assert set(lib.exercises) >= REQUIRED
    reg = load_registry()
    for e in lib.exercises.values():
        assert e.name and e.instructions and e.faults and e.target_muscles, e.id
        assert set(e.targets) <= set(PROGRAM_TARGETS), e.id
        assert set(e.equipment) <= set(lib.equipment), e.id
        assert e.id in reg.tasks, e.id
        for link in (e.regression, e.progression):
            assert link is None or link in lib.exercises
    for t in PROGRAM_TARGETS:
        assert any(lib.exercises_for(t, p) for p in PHASE_IDS), t


def test_published_activation_comes_from_the_registry():
    reg = load_registry()
    (sla,) = [r for r in reg.references_for("gmed_activation_pct_mvic", "side-lying-hip-abduction")
              if r.kind == "group_mean_sd" and r.source.startswith("Distefano")]
    assert (sla.mean, sla.sd, sla.status) == (81, 42, "verified")
    sls = reg.references_for("gmax_activation_pct_mvic", "single-leg-squat", kind="group_mean_sd")[0]
    assert (sls.mean, sls.sd) == (59, 27)
    plank = reg.references_for("gmed_activation_pct_mvic", "side-plank-hip-abduction")[0]
    assert (plank.low, plank.high) == (74, 103)
    # facts sheet: no EMG values for fire hydrant, balance board, foam rolling
    for ex in ("fire-hydrant", "balance-board", "foam-rolling-lateral-hip"):
        (none,) = reg.references_for("gmed_activation_pct_mvic", ex)
        assert none.kind == "no_reference" and none.status == "provisional"
    # the ACSM load rule and the pain ceiling
    inc = reg.get("progression.load_increase.acsm2009")
    assert (inc.low, inc.high, inc.status) == (2, 10, "verified")
    pain = reg.get("pain.acceptable.pain_monitoring")
    assert (pain.low, pain.high, pain.provisional) == (0, 5, True)
    assert reg.get("progression.consecutive_sessions.acsm2009").status == "provisional"


def test_broken_library_lists_problems_naming_the_exercise():
    text = (load_exercise_library.__wrapped__  # noqa: SLF001 - re-read the shipped text
            and __import__("importlib.resources").resources.files("medius.clinic")
            .joinpath("data/exercises.yaml").read_text(encoding="utf-8"))
    bad = text.replace("progression: side-lying-hip-abduction-weighted", "progression: no-such-exercise", 1)
    with pytest.raises(InvalidInputError, match="exercise 'side-lying-hip-abduction': field 'progression' names unknown"):
        parse_exercise_library(bad)
    bad = text.replace("equipment: [ankle_weight]", "equipment: [trampoline]", 1)
    with pytest.raises(InvalidInputError, match="field 'equipment' has 'trampoline'; allowed: resistance_band"):
        parse_exercise_library(bad)


# ------------------------------------------------------------------------------------ known programs
def test_weak_right_abductors_and_valgus_known_program():
    p = generate_program(_weak_right_abductors_valgus(pain_nprs=3))
    assert not p.blocked_by_red_flags
    assert [ph.id for ph in p.phases] == ["activation", "strengthening", "functional"]
    assert p.total_weeks == 6 and p.frequency_per_week == 3
    act = p.phase("activation")
    assert [e.exercise_id for e in act.exercises] == ["side-lying-hip-abduction", "clamshell"]
    for e in act.exercises:  # ITBS pilot: 2–3 sets of 10–15 reps; the right side is emphasised
        d = e.dosage
        assert (d.sets, d.reps_min, d.reps_max, d.side, d.sets_other_side) == (2, 10, 15, "right", 1)
        assert d.frequency_per_week == 3 and d.load == "body_weight"
    strength = p.phase("strengthening")
    ids = [e.exercise_id for e in strength.exercises]
    assert ids[:2] == ["side-lying-hip-abduction-weighted", "lateral-band-walk"]
    w = strength.exercises[0].dosage  # ACSM novice: up to 3 sets at 8–12 RM
    assert (w.sets, w.reps_min, w.reps_max, w.load) == (3, 8, 12, "external")
    assert strength.exercises[1].dosage.side == "both"  # a two-leg exercise
    assert {"step-down", "single-leg-squat"} <= {e.exercise_id for e in p.phase("functional").exercises}
    assert p.created_from == ["hhd-abd-right", "fppa-right"]
    assert "dose.load_rm.novice.acsm2009" in p.sources and "progression.load_increase.acsm2009" in p.sources
    assert "pain.acceptable.pain_monitoring" in p.provisional_sources
    crit = strength.exercises[0].progression_criterion
    assert "13–14 reps" in crit and "2 sessions in a row" in crit and "add 2–10 % load" in crit
    assert "above 5/10" in act.exercises[0].regression_criterion
    Program.model_validate_json(p.model_dump_json())  # JSON round trip


def test_running_goal_adds_the_return_to_running_phase_within_the_trial_duration():
    p = generate_program(_weak_right_abductors_valgus(goal="running"))
    assert [ph.id for ph in p.phases] == list(PHASE_IDS)
    assert p.total_weeks == 8
    assert [(ph.start_week, ph.end_week) for ph in p.phases] == [(1, 2), (3, 4), (5, 6), (7, 8)]
    ref = load_registry().get("dose.duration.pfp_trials")
    assert ref.low <= p.total_weeks <= ref.high


def test_red_flag_blocks_the_program():
    p = generate_program(_weak_right_abductors_valgus(red_flags=["hot swollen knee with fever"]))
    assert p.blocked_by_red_flags and p.phases == [] and p.exercises() == []
    assert "clinician" in p.message and "hot swollen knee" in p.message


def test_missing_equipment_is_replaced_by_a_regression_or_left_out():
    p = generate_program(_weak_right_abductors_valgus(equipment=[]))
    all_ids = {e.exercise_id for e in p.exercises()}
    assert "side-lying-hip-abduction-weighted" not in all_ids and "lateral-band-walk" not in all_ids
    sub = next(e for e in p.phase("strengthening").exercises if e.substituted_for == "side-lying-hip-abduction-weighted")
    assert sub.exercise_id == "side-lying-hip-abduction"
    # foam rolling has no easier version without a roller: it is left out, and the program says so
    p = generate_program(ProgramRequest(targets=[TargetNeed(target="itb_tfl_flexibility")], equipment=[]))
    assert "foam-rolling-lateral-hip" not in {e.exercise_id for e in p.exercises()}
    assert any("no easier version without it): Foam rolling" in n for n in p.notes)


def test_no_targets_gives_the_general_hip_and_knee_program():
    p = generate_program(ProgramRequest(targets=[]))
    assert set(p.targets) == {"hip_abductor_strength", "hip_external_rotator_strength", "hip_extensor_strength",
                              "knee_extensor_strength"}
    assert any("general hip-and-knee program" in n for n in p.notes)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"targets": [{"target": "ankle_strength"}]}, r"targets\.0\.target'.*must be one of hip_abductor_strength"),
        ({"targets": [], "pain_nprs": 11}, r"pain_nprs'.*less than or equal to 10"),
        ({"targets": [], "equipment": ["rower"]}, r"equipment'.*must be items of resistance_band.*'rower'"),
        ({"targets": [{"target": "pelvic_control", "side": "up"}]}, r"side'.*'left', 'right' or 'both'"),
    ],
)
def test_bad_requests_name_the_field_and_allowed_values(tmp_path, payload, message):
    f = tmp_path / "req.json"
    f.write_text(json.dumps(payload))
    with pytest.raises(InvalidInputError, match=message) as info:
        read_program_request(f)
    assert str(f) in str(info.value)
    with pytest.raises(InputNotFoundError):
        read_program_request(tmp_path / "missing.yaml")


def test_findings_file_becomes_a_request():
    findings = {
        "findings": [
            {"id": "f1", "kind": "finding", "side": "left", "targets": ["hip_abductor_strength"], "text": "weak"},
            {"id": "n1", "kind": "note", "targets": [], "text": "note"},
        ]
    }
    req = request_from_findings(findings)
    assert [(t.target, t.side, t.finding_ids) for t in req.targets] == [("hip_abductor_strength", "left", ["f1"])]
    flagged = request_from_findings({"findings": findings["findings"] + [
        {"id": "r1", "kind": "red_flag", "text": "night pain", "targets": []}]})
    assert flagged.red_flags == ["night pain"] and generate_program(flagged).blocked_by_red_flags
    direct = request_from_findings({"program_request": {"targets": [{"target": "trunk_control"}]}, "findings": []})
    assert direct.targets[0].target == "trunk_control"


# ------------------------------------------------------------------------------------ properties
_needs = st.lists(
    st.builds(
        TargetNeed,
        target=st.sampled_from(PROGRAM_TARGETS),
        side=st.sampled_from(["left", "right", "both"]),
        priority=st.integers(1, 3),
    ),
    max_size=5,
)
_equipment = st.one_of(st.none(), st.lists(st.sampled_from(sorted(load_exercise_library().equipment)), unique=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(needs=_needs, equipment=_equipment, flags=st.lists(st.text(min_size=1, max_size=10), max_size=2),
       goal=st.sampled_from(["daily_activity", "running", "sport"]))
def test_generated_programs_respect_library_equipment_and_red_flags(needs, equipment, flags, goal):
    lib = load_exercise_library()
    p = generate_program(ProgramRequest(targets=needs, red_flags=flags, equipment=equipment, goal=goal))
    if flags:
        assert p.blocked_by_red_flags and not p.exercises()
        return
    assert p.exercises(), "a program without red flags has exercises"
    for ph in p.phases:
        assert len(ph.exercises) <= lib.rules.max_exercises_per_phase
        assert len({e.exercise_id for e in ph.exercises}) == len(ph.exercises)
        for e in ph.exercises:
            ex = lib.get(e.exercise_id)
            assert equipment is None or set(ex.equipment) <= set(equipment)
            assert e.progression_to is None or equipment is None or set(lib.get(e.progression_to).equipment) <= set(equipment)
            if not ex.unilateral:
                assert e.dosage.side == "both"
            if e.dosage.reps_max is not None:
                assert 8 <= e.dosage.reps_min <= e.dosage.reps_max <= 15
            assert 1 <= e.dosage.sets <= 3
