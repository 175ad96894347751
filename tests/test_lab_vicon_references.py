"""medius' lab model against Vicon Plug-in Gait's own outputs in public trials (tests/data/lab-reference).

Snapshot figures (docs/lab-kinematics.md, "every reference trial"): pelvic obliquity within 0.5 deg
and hip adduction within 2 deg RMS of Vicon's, per stance (Vicon's events) or per frame where the
trial has none; what is left of the hip adduction is the hip-centre model (Harrington, not Davis).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from medius.cli import app
from medius.io.force_plates import read_c3d_trial
from medius.io.markers import Markers3D, read_c3d
from medius.kinematics.angles3d import (
    compute_femur_frame,
    compute_hip_angles,
    compute_joint_centre_chord,
    compute_pelvis_frame,
)
from medius.kinematics.labtrial import prepare_lab_trial

DATA = Path(__file__).parent / "data" / "lab-reference"
runner = CliRunner()


def _stance_frames(m: Markers3D, side: str) -> np.ndarray:
    """Frames inside the side's stances (foot strike to the next foot off of the file's events);
    every frame when the trial has no events."""
    ev = sorted(m.events, key=lambda e: e["time_s"])
    sel = np.zeros(m.n_frames, bool)
    for e in ev:
        if e["side"] == side and e["kind"] == "foot_strike":
            off = [f["time_s"] for f in ev if f["side"] == side and f["kind"] == "foot_off" and f["time_s"] > e["time_s"]]
            if off:
                sel |= (m.time_s >= e["time_s"] - 1e-6) & (m.time_s <= off[0] + 1e-6)
    return sel if ev else np.ones(m.n_frames, bool)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean(x**2)))


# file, (obliquity RMS left/right), (hip adduction RMS left/right), stances per side
SNAPSHOT = {
    "walk-lower-body.c3d": ((0.001, 0.001), (1.95, 1.49), (1, 2)),
    "pycgm-movement-lower-body.c3d": ((0.006, 0.006), (1.06, 1.08), (0, 0)),
    "pycgm-static-120frames.c3d": ((0.33, 0.33), (1.16, 1.19), (0, 0)),
}


@pytest.mark.parametrize("name", sorted(SNAPSHOT))
def test_obliquity_and_hip_adduction_agree_with_vicon(name):
    m = read_c3d(DATA / name)
    angles, info = prepare_lab_trial(m)
    obl, add, n_st = SNAPSHOT[name]
    for i, (side, s) in enumerate((("left", "L"), ("right", "R"))):
        sel = _stance_frames(m, side)
        n = sum(1 for e in m.events if e["side"] == side and e["kind"] == "foot_strike" and
                any(f["side"] == side and f["kind"] == "foot_off" and f["time_s"] > e["time_s"] for f in m.events))
        assert n == n_st[i]
        d_obl = (angles.series[f"pelvic_obliquity_deg_{side}"] - m.model_outputs[f"{s}PelvisAngles"][:, 1])[sel]
        d_add = (angles.series[f"hip_adduction_deg_{side}"] - m.model_outputs[f"{s}HipAngles"][:, 1])[sel]
        assert _rms(d_obl) < 0.5 and _rms(d_obl) == pytest.approx(obl[i], abs=0.01)
        assert _rms(d_add) < 2.0 and _rms(d_add) == pytest.approx(add[i], abs=0.02)


def test_walk_thigh_marker_that_is_not_a_wand_is_replaced():
    """walk.c3d's LTHI sits 15 mm above the knee, 73 mm medial of LKNE (not Plug-in Gait's
    lateral thigh wand: that is LTHI2). With LTHI the chord put the knee centre lateral of KNE, 111
    mm from Vicon's, and the hip adduction 11.6 deg off (the issue's -9.9 / -5.1 against +2.1 / +6.8
    peak); LTHI2 is used instead, with a warning, and the subject's InterAsisDistance (227 mm; the
    ASIS markers are 275 mm apart) gives the Harrington pelvic width, as in Plug-in Gait."""
    m = read_c3d(DATA / "walk-lower-body.c3d")
    angles, info = prepare_lab_trial(m)
    assert any("'LTHI2', which lies laterally, was used instead" in w for w in info["warnings"])
    assert any("'RTHI2'" in w for w in info["warnings"])
    assert info["thigh_wand_check_mm"]["left"]["LTHI"] > 30  # knee centre lateral of LKNE with LTHI
    assert info["thigh_wand_check_mm"]["left"]["used"] == "LTHI2"
    assert info["pelvic_width"]["subject_m"] == 0.227 and info["pelvic_width"]["asis_markers_m"] > 0.27
    for side, s in (("left", "L"), ("right", "R")):
        kjc = np.linalg.norm(angles.joint_centres.xyz(f"{side}_knee") - m.xyz(f"{s}KJC"), axis=1)
        assert np.nanmedian(kjc) < 0.013  # mm-level: 7.4 / 11.6 mm
    # peaks of the stance, as in the issue: Vicon +2.1 / +6.8
    sel = _stance_frames(m, "left")
    assert np.nanmax(angles.series["hip_adduction_deg_left"][sel]) == pytest.approx(
        np.nanmax(m.model_outputs["LHipAngles"][sel, 1]), abs=2.5)


def test_remaining_adduction_difference_is_the_hip_centre_model():
    """Vicon's own hip centre (Davis) with medius' knee chord (LTHI2, Vicon's 59.25 mm offset)
    reproduces Vicon's hip adduction to 0.1 / 0.4 deg RMS: what remains with medius is Harrington's
    hip centre (10 mm more lateral, 23 mm more posterior than Davis at the same pelvic width)."""
    m = read_c3d(DATA / "walk-lower-body.c3d")
    x = m.xyz
    _, pelvis = compute_pelvis_frame(x("LASI"), x("RASI"), 0.5 * (x("LPSI") + x("RPSI")))
    for side, s, limit in (("left", "L", 0.15), ("right", "R", 0.45)):
        hjc = x(f"{s}FEP")
        kjc = compute_joint_centre_chord(hjc, x(f"{s}KNE"), x(f"{s}THI2"), 0.05925)
        femur = compute_femur_frame(hjc, kjc, x(f"{s}KNE"), side)
        add = compute_hip_angles(pelvis, femur, side)["hip_adduction_deg"]
        assert _rms(add - m.model_outputs[f"{s}HipAngles"][:, 1]) < limit


def test_walk_analyses_with_default_options_and_plate_events(tmp_path):
    """The whole pipeline on the reduced walk: plate 4 carries a clean right stance (Vicon 1.6605 /
    2.364 s), no longer read as two feet because the left foot swings over the plate."""
    res = runner.invoke(app, ["analyze", str(DATA / "walk-lower-body.c3d"), "--task", "walk", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "o" / "result.json").read_text())
    plate = [e for e in r["events"] if e["source"] == "force_plate"]
    assert {"side": "right", "kind": "foot_strike", "time_s": 1.661, "source": "force_plate"} in plate
    assert any(e["side"] == "right" and e["kind"] == "foot_off" and abs(e["time_s"] - 2.3635) < 1e-3 for e in plate)
    notes = r["provenance"]["parameters"]["events"]["force_plate_notes"]
    assert not any(n.startswith("plate 4") for n in notes)
    # plate 1: the right foot lands (Vicon 2.740 s), then the left one (3.33 s) on the same plate
    assert {"side": "right", "kind": "foot_strike", "time_s": 2.747, "source": "force_plate"} in plate
    assert any(n.startswith("plate 1") and "only the right foot strike kept" in n for n in notes)


def test_plates_read_unchanged_from_the_reduced_file():
    _, plates = read_c3d_trial(DATA / "walk-lower-body.c3d")
    assert len(plates.plates) == 4 and plates.rate_hz == 2000.0


def test_thigh_marker_not_a_wand_without_alternative_is_refused():
    from medius.errors import InvalidInputError

    m = read_c3d(DATA / "walk-lower-body.c3d")
    m = m.select([x for x in m.labels if x not in ("LTHI2", "RTHI2")])
    with pytest.raises(InvalidInputError, match=r"thigh marker 'LTHI' \(role left_thigh.*not a lateral thigh wand.*"
                                                r"map left_thigh to the lateral thigh marker"):
        prepare_lab_trial(m)
