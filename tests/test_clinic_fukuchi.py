"""Regression on real data: four runners of the Fukuchi et al. 2017 running data set.

tests/data/fukuchi2017/README.md says where the rows come from, the licence and exactly what was
taken. Strength is read as kgf (see the README); the side-to-side deficits do not depend on it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from medius.clinic.findings import evaluate_findings
from medius.clinic.records import parse_assessment
from medius.clinic.strength import evaluate_strength

ROWS = {
    int(r["Subject"]): r
    for r in csv.DictReader(
        (Path(__file__).parent / "data" / "fukuchi2017" / "rbds_info_subset.tsv").open(encoding="utf-8"),
        delimiter="\t",
    )
}


def _assessment(row):
    injured = row["InjuryLoc"].lower()
    side = "right" if injured.startswith("right") else "left" if injured.startswith("left") else "none"
    strength = {}
    for group, col in (("hip_abduction", "HIPABD"), ("hip_extension", "HIPEXT"), ("hip_external_rotation", "HIPER")):
        strength[group] = {"unit": "kgf", "position": "unrecorded", "protocol": "Fukuchi et al. 2017 data set",
                           "left": [float(row["L" + col])], "right": [float(row["R" + col])]}
    return parse_assessment({
        "person": {"id": f"RBDS{int(row['Subject']):03d}", "age_years": int(row["Age"]),
                   "sex": "male" if row["Gender"] == "M" else "female", "body_mass_kg": float(row["Mass"]),
                   "height_cm": float(row["Height"]), "affected_side": side, "goal": "running"},
        "strength": strength,
    })


# subject: (weak abductor side, abduction deficit %, findings expected)
EXPECTED = {
    1: ("right", 22.13, {"hip_abductor_weakness.right", "hip_extensor_weakness.right", "running_goal"}),
    4: ("left", 21.58, {"hip_abductor_weakness.left", "running_goal"}),
    5: ("right", 25.56, {"hip_abductor_weakness.right", "running_goal"}),
    6: (None, 4.00, {"hip_strength_symmetric", "hip_extensor_weakness.right", "running_goal"}),
}


@pytest.mark.parametrize("subject", sorted(EXPECTED))
def test_fukuchi_rows(subject):
    row = ROWS[subject]
    a = _assessment(row)
    weak, deficit, expected = EXPECTED[subject]
    abd = next(s for s in evaluate_strength(a) if s.group == "hip_abduction")
    assert abd.weak_side == weak
    assert abd.deficit_pct == pytest.approx(deficit, abs=0.01)
    # % BW with kgf: value × g / (mass × g) × 100 = value / mass × 100
    assert abd.sides["right"].pct_bw == pytest.approx(float(row["RHIPABD"]) / float(row["Mass"]) * 100)
    ids = {f.id for f in evaluate_findings(a)}
    assert expected <= ids, ids


def test_injured_right_knees_have_weaker_right_abductors():
    """Subjects 1 and 5 (right-knee injuries, one ITB syndrome) show a right abductor deficit beyond
    the measurement error; subject 4 (uninjured) shows a left one: asymmetry is not injury."""
    for subject in (1, 5):
        assert ROWS[subject]["InjuryLoc"] == "Right knee"
        assert next(s for s in evaluate_strength(_assessment(ROWS[subject])) if s.group == "hip_abduction").weak_side == "right"
    assert ROWS[4]["Injury"] == "No"
