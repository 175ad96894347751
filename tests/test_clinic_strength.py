"""Strength: unit conversion and normalisation against hand-computed values, LSI, weak-side rule."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medius.clinic.records import Person, StrengthTest
from medius.clinic.strength import (
    compute_deficit_pct,
    compute_lsi,
    compute_nm_per_kg,
    compute_pct_bw,
    compute_torque_nm,
    convert_force_to_newtons,
    evaluate_strength_test,
)

PERSON = Person(age_years=25, sex="female", body_mass_kg=60.0, height_cm=165, affected_side="right")


def test_force_units_exact():
    assert convert_force_to_newtons(1, "kgf") == 9.80665
    assert convert_force_to_newtons(1, "lbf") == 4.4482216152605
    assert convert_force_to_newtons(123.4, "N") == 123.4
    with pytest.raises(ValueError, match="allowed values are N, kgf, lbf; got 'kg'"):
        convert_force_to_newtons(10, "kg")
    with pytest.raises(ValueError, match="'value' parameter: must be a finite number > 0; got -5"):
        convert_force_to_newtons(-5, "N")


@pytest.mark.parametrize(
    ("force", "unit", "mass_kg", "lever_m", "newtons", "pct_bw", "torque", "nm_per_kg"),
    [
        # 20 kgf = 196.133 N; 60 kg weighs 588.399 N -> 33.333...% BW; × 0.8 m = 156.9064 N·m; /60 = 2.615107
        (20, "kgf", 60.0, 0.8, 196.133, 100 / 3, 156.9064, 2.6151067),
        # 45 lbf = 200.1699726867 N; 70 kg weighs 686.4655 N -> 29.15951...% BW; × 0.35 m = 70.05949 N·m
        (45, "lbf", 70.0, 0.35, 200.16997268672, 29.159513, 70.059490, 1.0008499),
        # 300 N; 75 kg weighs 735.49875 N -> 40.78865% BW; × 0.5 m = 150 N·m; /75 = 2.0
        (300, "N", 75.0, 0.5, 300.0, 40.788648, 150.0, 2.0),
    ],
)
def test_normalisation_hand_computed(force, unit, mass_kg, lever_m, newtons, pct_bw, torque, nm_per_kg):
    n = convert_force_to_newtons(force, unit)
    assert n == pytest.approx(newtons, rel=1e-9)
    assert compute_pct_bw(n, mass_kg) == pytest.approx(pct_bw, rel=1e-6)
    assert compute_torque_nm(n, lever_m) == pytest.approx(torque, rel=1e-6)
    assert compute_nm_per_kg(compute_torque_nm(n, lever_m), mass_kg) == pytest.approx(nm_per_kg, rel=1e-6)


def test_evaluate_keeps_protocol_and_uses_max_trial():
    test = StrengthTest(unit="kgf", position="side-lying", stabilisation="belt", contraction="make",
                        lever_arm_m=0.8, left=[20, 19, 18], right=[15, 16, 14])
    s = evaluate_strength_test("hip_abduction", test, PERSON)
    assert (s.position, s.stabilisation, s.contraction, s.unit_entered) == ("side-lying", "belt", "make", "kgf")
    assert s.sides["left"].value_n == pytest.approx(20 * 9.80665)
    assert s.sides["left"].pct_bw == pytest.approx(100 / 3)
    assert s.sides["right"].nm_per_kg == pytest.approx(16 * 9.80665 * 0.8 / 60)
    assert s.deficit_pct == pytest.approx(20.0)
    assert s.lsi_pct == pytest.approx(80.0)  # involved (right) ÷ uninvolved (left)
    assert s.weak_side == "right" and s.beyond_error is True
    assert s.text == "right hip abductor strength 20% below the left, beyond the measurement error (5%, Thorborg et al. 2010)"
    assert s.lsi_comparison["flagged"] is True
    ids = {c["reference_id"] for c in s.sides["left"].comparisons}
    assert "strength.hip_abduction.female.alvarenga2019" in ids  # women's norm used for a woman
    mean_trial = StrengthTest(unit="N", position="supine", summary="mean", left=[100, 110], right=[100])
    assert evaluate_strength_test("hip_abduction", mean_trial, PERSON).sides["left"].value_n == 105


@pytest.mark.parametrize(("right", "weak"), [(96.0, None), (94.0, "right")])
def test_weak_side_only_beyond_measurement_error(right, weak):
    # abduction: Thorborg et al. 2010 variation 5% -> a 4% deficit is not flagged, a 6% deficit is
    s = evaluate_strength_test("hip_abduction", StrengthTest(unit="N", position="supine", left=[100], right=[right]), PERSON)
    assert s.weak_side == weak
    assert s.measurement_error["mdc_pct"] == 5


def test_knee_extension_without_error_uses_lsi_convention():
    test = StrengthTest(unit="N", position="seated", left=[400], right=[350])
    s = evaluate_strength_test("knee_extension", test, PERSON)
    assert s.measurement_error is None and s.beyond_error is None
    assert s.lsi_pct == pytest.approx(87.5) and s.weak_side == "right"
    assert "judged by the LSI convention only" in s.text


def test_male_person_gets_no_womens_norm():
    man = PERSON.model_copy(update={"sex": "male"})
    s = evaluate_strength_test("hip_abduction", StrengthTest(unit="N", position="supine", left=[200], right=[200]), man)
    ids = {c["reference_id"] for c in s.sides["left"].comparisons}
    assert "strength.hip_abduction.female.alvarenga2019" not in ids
    assert s.weak_side is None and s.beyond_error is False


pos = st.floats(min_value=1.0, max_value=2000.0, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(pos, pos)
def test_lsi_symmetric_properties(a, b):
    assert compute_lsi(a, b) * compute_lsi(b, a) == pytest.approx(10000.0, rel=1e-9)
    assert compute_deficit_pct(a, b) == compute_deficit_pct(b, a)
    assert 0 <= compute_deficit_pct(a, b) < 100
    assert compute_lsi(min(a, b), max(a, b)) == pytest.approx(100 - compute_deficit_pct(a, b), abs=1e-9)
    assert compute_lsi(a, a) == pytest.approx(100.0)


@settings(max_examples=40, deadline=None)
@given(pos, pos)
def test_swapping_sides_swaps_the_weak_side(a, b):
    p = PERSON.model_copy(update={"affected_side": "none"})
    s1 = evaluate_strength_test("hip_abduction", StrengthTest(unit="N", position="supine", left=[a], right=[b]), p)
    s2 = evaluate_strength_test("hip_abduction", StrengthTest(unit="N", position="supine", left=[b], right=[a]), p)
    swap = {"left": "right", "right": "left", None: None}
    assert s2.weak_side == swap[s1.weak_side]
    assert math.isclose(s1.lsi_pct, s2.lsi_pct)
