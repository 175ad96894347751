"""Progress between visits: change against measurement error and minimal important difference."""

from __future__ import annotations

from pathlib import Path

import pytest

from medius.clinic.findings import MovementResult
from medius.clinic.progress import compare_visits
from medius.clinic.records import parse_assessment, read_assessment

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "assessments"
PERSON = {"id": "p1", "age_years": 30, "sex": "female", "body_mass_kg": 60, "height_cm": 165}


def test_example_visits():
    changes = {(c.name, c.side): c for c in compare_visits(
        read_assessment(EXAMPLES / "pfp_right_visit1.yaml"), read_assessment(EXAMPLES / "pfp_right_visit2.yaml"))}
    right = changes[("strength.hip_abduction.pct_bw", "right")]
    assert right.exceeds_error and right.direction == "improved"
    # 146 N / (61 kg g) -> 176 N / (60.5 kg g)
    assert right.before == pytest.approx(146 / (61 * 9.80665) * 100, abs=1e-3)
    assert right.after == pytest.approx(176 / (60.5 * 9.80665) * 100, abs=1e-3)
    left = changes[("strength.hip_abduction.pct_bw", "left")]
    assert left.exceeds_error is False and left.direction == "no_real_change"
    k = changes[("questionnaire.kujala", None)]
    assert (k.before, k.after, k.exceeds_error, k.exceeds_mcid, k.mcid) == (80, 90, True, True, 10)
    nprs = changes[("questionnaire.nprs", None)]
    assert nprs.change == -3 and nprs.exceeds_mcid and nprs.direction == "improved" and nprs.better_when == "lower"


def _visit(kujala_running, force, position="supine", nprs=4):
    answers = {"limp": "a", "support": "a", "walking": "a", "stairs": "b", "squatting": "b", "running": kujala_running,
               "jumping": "b", "prolonged_sitting": "b", "pain": "b", "swelling": "a", "patellar_subluxation": "a",
               "thigh_atrophy": "a", "flexion_deficiency": "a"}
    return parse_assessment({
        "person": PERSON,
        "strength": {"hip_abduction": {"unit": "N", "position": position, "left": [force], "right": [200]}},
        "questionnaires": {"kujala": {"answers": answers}, "nprs": {"score": nprs}},
    })


def test_small_changes_are_within_error_and_below_mcid():
    changes = {(c.name, c.side): c for c in compare_visits(_visit("c", 200), _visit("b", 208, nprs=3))}
    k = changes[("questionnaire.kujala", None)]
    assert k.change == 2 and k.exceeds_error is False and k.exceeds_mcid is False and k.direction == "no_real_change"
    s = changes[("strength.hip_abduction.pct_bw", "left")]
    assert s.change_pct == pytest.approx(4.0) and s.exceeds_error is False
    n = changes[("questionnaire.nprs", None)]
    assert n.exceeds_mcid is False  # 1 point < 1.16 (Piva et al. 2009)


def test_position_change_is_not_comparable_and_other_person_refused():
    s = {(c.name, c.side): c for c in compare_visits(_visit("c", 200), _visit("c", 260, position="side-lying"))}
    c = s[("strength.hip_abduction.pct_bw", "left")]
    assert c.exceeds_error is None and "not comparable" in c.text
    other = _visit("c", 200).model_copy(update={"person": _visit("c", 200).person.model_copy(update={"id": "p2"})})
    with pytest.raises(ValueError, match="different people"):
        compare_visits(_visit("c", 200), other)


def test_movement_change_uses_registry_mdc():
    def mr(v):
        return [MovementResult("r.json", None, {"task": "single-leg-squat", "status": "ok",
                                                "summary": {"right": {"fppa_deg": {"mean": v}}}})]
    a = parse_assessment({"person": PERSON})
    big = compare_visits(a, a, movement_first=mr(18.0), movement_second=mr(8.0))[0]
    small = compare_visits(a, a, movement_first=mr(18.0), movement_second=mr(12.0))[0]
    assert big.measurement_error == pytest.approx(8.93) and big.exceeds_error  # Munro et al. 2012
    assert small.exceeds_error is False
