"""Clinical tests: single-leg squat rating, Trendelenburg, Ober, modified Thomas and range of motion.

Known answers against the registry's thresholds (Crossley et al. 2011 aggregation: good = at least 4
of 5 criteria good, poor = at most 1; Ober positive at or above −23.16°, Ferber et al. 2010; Thomas hip
angle positive at or above 0°, knee angle at or below 67°, BMC Sports Sci Med Rehabil 2021), the
clinician's result winning over an angle, imported angles of unknown convention, and the one-line
errors of bad input.
"""

from __future__ import annotations

import pytest

from medius.clinic.clinical_tests import evaluate_clinical_tests
from medius.clinic.records import SLS_CRITERIA, parse_assessment
from medius.errors import InvalidInputError

PERSON = {"age_years": 27, "sex": "female", "body_mass_kg": 62, "height_cm": 168}


def _results(**tests):
    return evaluate_clinical_tests(parse_assessment({"person": PERSON, "clinical_tests": tests}))


def _one(**tests):
    (r,) = _results(**tests)
    return r


# ----------------------------------------------------------------------------- single-leg squat
@pytest.mark.parametrize(
    ("n_good", "category"),
    [(5, "good"), (4, "good"), (3, "fair"), (2, "fair"), (1, "poor"), (0, "poor")],
)
def test_sls_rating_aggregation(n_good, category):
    rating = {c: ("good" if i < n_good else "poor") for i, c in enumerate(SLS_CRITERIA)}
    r = _one(single_leg_squat={"right": rating})
    assert (r.test, r.side, r.category, r.value, r.unit) == ("single_leg_squat", "right", category, n_good, "criteria")
    assert r.positive is (category == "poor")
    assert r.detail["poor_criteria"] == list(SLS_CRITERIA[n_good:])
    assert {"clinical.sls_rating.good.crossley2011", "clinical.sls_rating.poor.crossley2011"} <= set(r.reference_ids)
    assert all(c["provisional"] for c in r.comparisons)  # the aggregation is not confirmed in the paper


def test_sls_text_names_the_poor_criteria():
    r = _one(single_leg_squat={"left": {"overall_impression": "poor", "trunk_posture": "good", "pelvis": "poor",
                                        "hip": "poor", "knee": "poor"}})
    assert r.text == ("left single-leg squat rated poor (1 of 5 criteria good; poor: overall impression, "
                      "pelvis in space, hip joint, knee joint)")
    r = _one(single_leg_squat={"left": dict.fromkeys(SLS_CRITERIA, "good")})
    assert r.text == "left single-leg squat rated good (5 of 5 criteria good)"


# ----------------------------------------------------------------------------- Trendelenburg
def test_trendelenburg_per_stance_leg():
    left, right = _results(trendelenburg={"right": "positive", "left": "negative"})
    assert (left.side, left.positive, left.category) == ("left", False, "negative")
    assert (right.side, right.positive, right.category) == ("right", True, "positive")
    assert right.text == "Trendelenburg test positive standing on the right leg"
    assert right.reference_ids == ["clinical.trendelenburg.sources"]


# ----------------------------------------------------------------------------- Ober
@pytest.mark.parametrize(
    ("angle", "positive"),
    [(-30.0, False), (-24.0, False), (-23.0, True), (-10.0, True), (5.0, True)],
)
def test_ober_angle_against_ferber_critical_criterion(angle, positive):
    r = _one(ober={"right": {"angle_deg": angle, "method": "inclinometer"}})
    assert r.positive is positive and r.value == angle and r.unit == "deg"
    assert r.text == f"right Ober test {'positive' if positive else 'negative'} (thigh {angle:.0f}° to the horizontal)"
    cut = next(c for c in r.comparisons if c["reference_id"] == "clinical.ober.critical.ferber2010")
    assert cut["flagged"] is positive and cut["provisional"]  # critical criterion from a secondary source
    assert "clinical.ober.all.ferber2010" in r.reference_ids


def test_ober_clinician_result_wins_and_disagreement_is_reported():
    r = _one(ober={"left": {"angle_deg": -30, "result": "positive"}})
    assert r.positive is True and r.detail["angle_flagged"] is False
    assert r.text.endswith("; the angle and the clinician's result disagree (the result is used)")
    r = _one(ober={"left": {"result": "negative"}})
    assert r.positive is False and r.value is None and r.comparisons == [] and r.text == "left Ober test negative"


# ----------------------------------------------------------------------------- modified Thomas
@pytest.mark.parametrize(
    ("hip", "knee", "positive", "hip_short", "knee_short"),
    [
        (-11.0, 70.0, False, False, False),
        (2.0, 70.0, True, True, False),  # thigh above the horizontal: short one-joint hip flexors
        (-11.0, 60.0, True, False, True),  # knee flexion at or below 67°: short rectus femoris
        (0.0, 67.0, True, True, True),  # both at the threshold
    ],
)
def test_thomas_angles_against_thresholds(hip, knee, positive, hip_short, knee_short):
    r = _one(modified_thomas={"right": {"hip_angle_deg": hip, "knee_angle_deg": knee}})
    assert r.positive is positive
    assert (r.detail["hip_flexor_short"], r.detail["rectus_femoris_short"]) == (hip_short, knee_short)
    assert r.text.startswith(f"right modified Thomas test {'positive' if positive else 'negative'} "
                             f"(hip {hip:.0f}°, knee {knee:.0f}°)")
    assert ("short one-joint hip flexors" in r.text) is hip_short
    assert ("rectus femoris" in r.text) is knee_short
    assert {"clinical.thomas_hip.cutoff.bmc2021", "clinical.thomas_knee.cutoff.bmc2021"} <= set(r.reference_ids)


def test_thomas_result_only_and_disagreement():
    r = _one(modified_thomas={"left": {"result": "positive"}})
    assert r.positive is True and r.comparisons == []
    r = _one(modified_thomas={"left": {"hip_angle_deg": 5, "result": "negative"}})
    assert r.positive is False and r.text.endswith("disagree (the result is used)")


def test_unrecorded_angle_convention_is_stored_not_judged():
    """Imported angles whose sign convention is not documented (the Fukuchi et al. 2017 data) are
    kept and shown but never compared with the registry: without a result the test is not judged."""
    ober = _one(ober={"right": {"angle_deg": 43, "angle_convention": "unrecorded"}})
    assert ober.positive is None and ober.category == "not judged" and ober.comparisons == []
    assert ober.value == 43 and ober.detail["angle_convention"] == "unrecorded"
    assert ober.text == ("right Ober test not judged (angle 43°), angle convention not recorded, so not compared "
                         "with the registry")
    thomas = _one(modified_thomas={"left": {"hip_angle_deg": 10, "angle_convention": "unrecorded", "result": "negative"}})
    assert thomas.positive is False and thomas.comparisons == []  # the clinician's result still counts


# ----------------------------------------------------------------------------- range of motion
def test_range_of_motion_is_reported_not_judged():
    r = _one(range_of_motion=[{"joint": "hip", "movement": "internal_rotation", "side": "left", "value_deg": 38,
                               "method": "goniometer"}])
    assert (r.test, r.positive, r.category, r.value, r.unit) == ("range_of_motion", None, "measured", 38, "deg")
    assert r.text == "left hip internal rotation 38°" and r.detail["method"] == "goniometer"


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("tests", "message"),
    [
        ({"ober": {"right": {"method": "inclinometer"}}},
         r"field clinical_tests\.ober\.right: give angle_deg \(thigh to horizontal, negative below\) or result"),
        ({"modified_thomas": {"left": {}}},
         r"field clinical_tests\.modified_thomas\.left: give hip_angle_deg, knee_angle_deg or result"),
        ({"ober": {"right": {"angle_deg": -75}}},
         r"field clinical_tests\.ober\.right\.angle_deg: Input should be greater than or equal to -60; got -75"),
        ({"modified_thomas": {"right": {"knee_angle_deg": 200}}},
         r"field clinical_tests\.modified_thomas\.right\.knee_angle_deg: Input should be less than or equal to 160"),
        ({"trendelenburg": {"right": "maybe"}},
         r"field clinical_tests\.trendelenburg\.right: Input should be 'negative' or 'positive'; got 'maybe'"),
        ({"trendelenburg": {"middle": "positive"}},
         r"field clinical_tests\.trendelenburg\.middle: Input should be 'left' or 'right'; got 'middle'"),
        ({"single_leg_squat": {"right": {"overall_impression": "good", "trunk_posture": "good", "pelvis": "good",
                                         "hip": "good"}}},
         r"field clinical_tests\.single_leg_squat\.right\.knee: Field required$"),
        ({"single_leg_squat": {"right": dict.fromkeys(SLS_CRITERIA, "fair")}},
         r"field clinical_tests\.single_leg_squat\.right\.overall_impression: Input should be 'good' or 'poor'; "
         r"got 'fair' \(and 4 more problems\)"),
        ({"ober": {"right": {"angle_deg": -20, "angle_convention": "vertical"}}},
         r"field clinical_tests\.ober\.right\.angle_convention: Input should be 'horizontal' or 'unrecorded'"),
        ({"range_of_motion": [{"joint": "hip", "movement": "circumduction", "side": "left", "value_deg": 30}]},
         r"field clinical_tests\.range_of_motion\[0\]\.movement: Input should be 'flexion'"),
    ],
)
def test_bad_clinical_tests_give_one_line(tests, message):
    with pytest.raises(InvalidInputError, match=message) as exc:
        parse_assessment({"person": PERSON, "clinical_tests": tests}, path="visit.yaml")
    assert "\n" not in str(exc.value) and str(exc.value).startswith("visit.yaml: invalid assessment: ")
    assert exc.value.exit_code == 4
