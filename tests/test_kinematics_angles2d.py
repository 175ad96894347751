"""Known-answer tests of the 2D angle and distance series (medius.kinematics.angles2d).

The synthetic world: a person seen from the front in a 1000 x 1000 px image (x right, y down).
Facing the camera, the person's left hip is on the image *right* (x = 540) and the right hip on
the image left (x = 460); filmed from behind, it is the other way round. Segments are built
from chosen angles (measured from the downward image vertical, positive towards the person's
midline), so every expected value is exact.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medius.io import KEYPOINTS, Keypoints2D
from medius.kinematics import (
    ALL_SERIES_KEYS,
    SIDE_SERIES_KEYS,
    ParameterError,
    compute_all_series,
    compute_depth_pct,
    compute_fppa,
    compute_hip_adduction,
    compute_knee_medial_displacement_pct,
    compute_pelvic_tilt,
    compute_segment_length,
    compute_side_series,
    compute_trunk_lean,
    relative_to_baseline,
)

TOL_DEG = 1e-6
WIDTH = 1000
SIDES = ("left", "right")
VIEWS = ("front", "back")


def other(side: str) -> str:
    return "right" if side == "left" else "left"


def hip_x(side: str, view: str) -> float:
    """Image x of a hip: facing the camera the person's left is on the image right."""
    on_image_right = (side == "left") == (view == "front")
    return 540.0 if on_image_right else 460.0


def medial_x(side: str, view: str) -> float:
    """Image x direction (+1/-1) of the person's midline from this side's hip."""
    return float(np.sign(hip_x(other(side), view) - hip_x(side, view)))


def unit(deg: float, mdir: float) -> np.ndarray:
    """Unit vector at ``deg`` from the downward vertical, positive towards ``mdir``."""
    a = np.radians(deg)
    return np.array([mdir * np.sin(a), np.cos(a)])


def leg(side: str, view: str, thigh_deg: float, shank_deg: float, hip_y: float = 400.0):
    """(hip, knee, ankle, other_hip) as (1, 2) arrays, thigh 200 px and shank 220 px long."""
    m = medial_x(side, view)
    hip = np.array([hip_x(side, view), hip_y])
    knee = hip + 200.0 * unit(thigh_deg, m)
    ankle = knee + 220.0 * unit(shank_deg, m)
    other_hip = np.array([hip_x(other(side), view), hip_y])
    return hip[None], knee[None], ankle[None], other_hip[None]


def make_kp(points: dict[str, np.ndarray]) -> Keypoints2D:
    """A Keypoints2D with the given ``(time, 2)`` points; all others NaN."""
    n = len(next(iter(points.values())))
    pos = np.full((n, len(KEYPOINTS), 2), np.nan)
    for name, xy in points.items():
        pos[:, KEYPOINTS.index(name)] = xy
    conf = np.where(np.isfinite(pos[..., 0]), 1.0, np.nan)
    return Keypoints2D(
        position=pos,
        confidence=conf,
        time_s=np.arange(n) / 30.0,
        image_size=(WIDTH, 1000),
        source="synthetic",
    )


# ----------------------------------------------------------------------------- FPPA
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(
    ("thigh_deg", "shank_deg", "expected"),
    [
        (0.0, 0.0, 0.0),  # straight leg
        (10.0, -5.0, 15.0),  # knee medial: valgus
        (12.0, 2.0, 10.0),  # whole leg leaning in, knee still medial of hip-ankle line
        (-4.0, 6.0, -10.0),  # knee lateral: varus
        (-8.0, -20.0, 12.0),  # leg abducted, knee medial of the hip-ankle line
        (25.0, -30.0, 55.0),  # extreme valgus
    ],
)
def test_fppa_known_angles_both_sides_both_views(side, view, thigh_deg, shank_deg, expected):
    hip, knee, ankle, other_hip = leg(side, view, thigh_deg, shank_deg)
    fppa = compute_fppa(hip, knee, ankle, other_hip)
    assert fppa.shape == (1,)
    assert fppa[0] == pytest.approx(expected, abs=TOL_DEG)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("view", VIEWS)
def test_fppa_sign_is_medial_knee_positive(side, view):
    """Move the knee horizontally towards the midline: positive; away from it: negative."""
    hip, _, ankle, other_hip = leg(side, view, 0.0, 0.0)
    knee_mid = 0.5 * (hip + ankle)
    m = medial_x(side, view)
    assert compute_fppa(hip, knee_mid + [[20.0 * m, 0.0]], ankle, other_hip)[0] > 5
    assert compute_fppa(hip, knee_mid - [[20.0 * m, 0.0]], ankle, other_hip)[0] < -5


def test_fppa_is_180_minus_knee_angle():
    hip = np.array([[0.0, 0.0]])
    knee = np.array([[30.0, 100.0]])
    ankle = np.array([[0.0, 200.0]])
    other_hip = np.array([[80.0, 0.0]])  # medial = +x: knee is medial
    ray_h, ray_a = hip - knee, ankle - knee
    cos_k = (ray_h @ ray_a.T)[0, 0] / (np.linalg.norm(ray_h) * np.linalg.norm(ray_a))
    knee_angle = np.degrees(np.arccos(cos_k))
    assert compute_fppa(hip, knee, ankle, other_hip)[0] == pytest.approx(180.0 - knee_angle, abs=TOL_DEG)


def test_fppa_time_series_and_nan():
    hip, knee, ankle, other_hip = (np.repeat(a, 4, axis=0) for a in leg("left", "front", 10, -5))
    knee[1] = np.nan
    other_hip[2, 0] = np.nan
    fppa = compute_fppa(hip, knee, ankle, other_hip)
    assert fppa.shape == (4,)
    np.testing.assert_allclose(fppa[[0, 3]], 15.0, atol=TOL_DEG)
    assert np.isnan(fppa[1]) and np.isnan(fppa[2])


def test_fppa_degenerate_geometry_is_nan():
    hip, knee, ankle, _ = leg("left", "front", 10, -5)
    # other hip on the hip-ankle line: medial side unknown
    on_line = hip + 0.5 * (ankle - hip)
    assert np.isnan(compute_fppa(hip, knee, ankle, on_line)[0])
    # zero-length thigh
    assert np.isnan(compute_fppa(hip, hip, ankle, leg("left", "front", 0, 0)[3])[0])


def test_fppa_rejects_bad_shape():
    hip, knee, ankle, other_hip = leg("left", "front", 10, -5)
    with pytest.raises(ParameterError, match=r"'knee' parameter.*shape \(time, 2\).*\(1, 3\)"):
        compute_fppa(hip, np.zeros((1, 3)), ankle, other_hip)
    with pytest.raises(ParameterError, match="matching shapes"):
        compute_fppa(hip, np.zeros((3, 2)), np.zeros((2, 2)), other_hip)


# ----------------------------------------------------------------------------- pelvis
@pytest.mark.parametrize("stance", SIDES)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("tilt_deg", [-12.0, -3.0, 0.0, 4.5, 10.0])
def test_pelvic_tilt_positive_when_free_hip_lower(stance, view, tilt_deg):
    stance_hip = np.array([[hip_x(stance, view), 400.0]])
    towards_free = medial_x(stance, view)
    a = np.radians(tilt_deg)
    free_hip = stance_hip + 85.0 * np.array([[towards_free * np.cos(a), np.sin(a)]])
    assert compute_pelvic_tilt(stance_hip, free_hip)[0] == pytest.approx(tilt_deg, abs=TOL_DEG)
    if tilt_deg > 0:
        assert free_hip[0, 1] > stance_hip[0, 1]  # the free hip is lower in the image


def test_pelvic_tilt_nan():
    assert np.isnan(compute_pelvic_tilt([[1.0, 2.0]], [[np.nan, 2.0]])[0])
    assert np.isnan(compute_pelvic_tilt([[1.0, 2.0]], [[1.0, 2.0]])[0])


def test_relative_to_baseline_value_and_mask():
    tilt = np.array([1.0, 1.5, 0.5, 6.0, 9.0, np.nan])
    np.testing.assert_allclose(relative_to_baseline(tilt, 1.0), tilt - 1.0)
    standing = np.array([True, True, True, False, False, True])
    np.testing.assert_allclose(relative_to_baseline(tilt, standing), tilt - 1.0)  # median of 1, 1.5, .5
    assert np.all(np.isnan(relative_to_baseline(tilt, np.zeros(6, dtype=bool))))
    with pytest.raises(ParameterError, match=r"'baseline' parameter.*shape \(6,\).*\(3,\)"):
        relative_to_baseline(tilt, np.ones(3, dtype=bool))


# ----------------------------------------------------------------------------- trunk
@pytest.mark.parametrize("stance", SIDES)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("lean_deg", [-15.0, -2.0, 0.0, 7.0, 20.0])
@pytest.mark.parametrize("pelvis_tilt_deg", [0.0, 8.0])
def test_trunk_lean_positive_towards_stance_side(stance, view, lean_deg, pelvis_tilt_deg):
    stance_hip = np.array([hip_x(stance, view), 400.0])
    to_free = medial_x(stance, view)
    a = np.radians(pelvis_tilt_deg)
    free_hip = stance_hip + 80.0 * np.array([to_free * np.cos(a), np.sin(a)])
    mid_hip = 0.5 * (stance_hip + free_hip)
    to_stance = -to_free
    lean = np.radians(lean_deg)
    mid_sh = mid_hip + 260.0 * np.array([to_stance * np.sin(lean), -np.cos(lean)])
    stance_sh = mid_sh + [to_stance * 90.0, 3.0]
    free_sh = mid_sh - [to_stance * 90.0, 3.0]
    got = compute_trunk_lean(stance_hip[None], free_hip[None], stance_sh[None], free_sh[None])
    assert got[0] == pytest.approx(lean_deg, abs=TOL_DEG)


def test_trunk_lean_nan_when_side_unknown():
    got = compute_trunk_lean([[500.0, 400.0]], [[500.0, 420.0]], [[500.0, 150.0]], [[500.0, 150.0]])
    assert np.isnan(got[0])


# ----------------------------------------------------------------------------- hip adduction
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("thigh_deg", [-10.0, 0.0, 6.0, 18.0])
def test_hip_adduction_level_pelvis_equals_thigh_angle(side, view, thigh_deg):
    hip, knee, _, other_hip = leg(side, view, thigh_deg, 0.0)
    assert compute_hip_adduction(hip, knee, other_hip)[0] == pytest.approx(thigh_deg, abs=TOL_DEG)


@pytest.mark.parametrize("stance", SIDES)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("drop_deg", [-5.0, 3.0, 9.0])
def test_pelvic_drop_with_vertical_thigh_is_stance_hip_adduction(stance, view, drop_deg):
    """Free hip lower by ``drop_deg`` while the stance thigh stays vertical: adduction = drop."""
    stance_hip = np.array([[hip_x(stance, view), 400.0]])
    a = np.radians(drop_deg)
    free_hip = stance_hip + 80.0 * np.array([[medial_x(stance, view) * np.cos(a), np.sin(a)]])
    knee = stance_hip + [[0.0, 200.0]]
    assert compute_pelvic_tilt(stance_hip, free_hip)[0] == pytest.approx(drop_deg, abs=TOL_DEG)
    assert compute_hip_adduction(stance_hip, knee, free_hip)[0] == pytest.approx(drop_deg, abs=TOL_DEG)


def test_hip_adduction_nan_for_vertical_pelvis_line():
    assert np.isnan(compute_hip_adduction([[500.0, 400.0]], [[500.0, 600.0]], [[500.0, 480.0]])[0])


# ----------------------------------------------------------------------------- distances
def test_segment_length():
    a = np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, 0.0]])
    b = np.array([[3.0, 4.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(compute_segment_length(a, b), [5.0, 0.0, np.nan])


def test_depth_pct():
    mid_hip_y = np.array([400.0, 420.0, 500.0, 390.0])
    np.testing.assert_allclose(compute_depth_pct(mid_hip_y, 400.0, 400.0), [0.0, 5.0, 25.0, -2.5])
    for bad in (0.0, -3.0, np.nan):
        with pytest.raises(ParameterError, match=r"'standing_leg_length_px' parameter.*> 0"):
            compute_depth_pct(mid_hip_y, 400.0, bad)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("view", VIEWS)
def test_knee_medial_displacement_pct(side, view):
    m = medial_x(side, view)
    hip = np.array([[hip_x(side, view), 400.0]])
    other_hip = np.array([[hip_x(other(side), view), 400.0]])
    ankle = hip + [[0.0, 420.0]]
    toe = ankle + [[-m * 10.0, 30.0]]  # toe slightly lateral: foot centre 5 px lateral of ankle
    knee_medial = hip + [[m * 15.0, 200.0]]
    got = compute_knee_medial_displacement_pct(knee_medial, ankle, toe, hip, other_hip, 200.0)
    assert got[0] == pytest.approx(100.0 * (15.0 + 5.0) / 200.0)
    # toe missing: the ankle alone is the foot centre
    got = compute_knee_medial_displacement_pct(knee_medial, ankle, [[np.nan, np.nan]], hip, other_hip, 200.0)
    assert got[0] == pytest.approx(100.0 * 15.0 / 200.0)
    knee_lateral = hip + [[-m * 15.0, 200.0]]
    got = compute_knee_medial_displacement_pct(knee_lateral, ankle, ankle, hip, other_hip, 200.0)
    assert got[0] == pytest.approx(-7.5)
    with pytest.raises(ParameterError, match="'shank_length_px'"):
        compute_knee_medial_displacement_pct(knee_lateral, ankle, ankle, hip, other_hip, 0)


# ----------------------------------------------------------------------------- from Keypoints2D
def squat_pose(stance: str, view: str, *, fppa: float, drop: float, lean: float) -> dict[str, np.ndarray]:
    """One frame of a single-leg squat with known stance FPPA, pelvic tilt and trunk lean."""
    to_free = medial_x(stance, view)
    s_hip = np.array([hip_x(stance, view), 400.0])
    a = np.radians(drop)
    f_hip = s_hip + 80.0 * np.array([to_free * np.cos(a), np.sin(a)])
    s_knee = s_hip + 200.0 * unit(fppa / 2, to_free)
    s_ankle = s_knee + 220.0 * unit(-fppa / 2, to_free)
    f_knee = f_hip + np.array([0.0, 150.0])
    f_ankle = f_knee + np.array([to_free * 40.0, 100.0])  # free shank swings out laterally
    mid_hip = 0.5 * (s_hip + f_hip)
    lean_r = np.radians(lean)
    mid_sh = mid_hip + 250.0 * np.array([-to_free * np.sin(lean_r), -np.cos(lean_r)])
    pts = {
        f"{stance}_hip": s_hip,
        f"{other(stance)}_hip": f_hip,
        f"{stance}_knee": s_knee,
        f"{other(stance)}_knee": f_knee,
        f"{stance}_ankle": s_ankle,
        f"{other(stance)}_ankle": f_ankle,
        f"{stance}_shoulder": mid_sh - [to_free * 90.0, 0.0],
        f"{other(stance)}_shoulder": mid_sh + [to_free * 90.0, 0.0],
    }
    return {k: v[None].astype(float) for k, v in pts.items()}


@pytest.mark.parametrize("stance", SIDES)
@pytest.mark.parametrize("view", VIEWS)
def test_compute_side_series_known_pose(stance, view):
    kp = make_kp(squat_pose(stance, view, fppa=14.0, drop=6.0, lean=-4.0))
    series = compute_side_series(kp, stance)
    assert tuple(series) == SIDE_SERIES_KEYS
    assert all(v.shape == (1,) for v in series.values())
    assert series["fppa_deg"][0] == pytest.approx(14.0, abs=TOL_DEG)
    assert series["pelvic_tilt_deg"][0] == pytest.approx(6.0, abs=TOL_DEG)
    assert series["trunk_lean_deg"][0] == pytest.approx(-4.0, abs=TOL_DEG)
    # thigh at fppa/2 from the image vertical, pelvis tilted by 6 deg: adduction = 7 + 6
    assert series["hip_adduction_deg"][0] == pytest.approx(13.0, abs=TOL_DEG)
    assert series["mid_hip_y_px"][0] == pytest.approx(400.0 + 40.0 * np.sin(np.radians(6.0)))
    assert series["fppa_free_deg"][0] > 0  # free knee medial of its hip-ankle line

    both = compute_all_series(kp)
    assert tuple(both) == ALL_SERIES_KEYS
    assert both[f"fppa_deg_{stance}"][0] == pytest.approx(14.0, abs=TOL_DEG)
    assert both[f"hip_adduction_deg_{stance}"][0] == pytest.approx(13.0, abs=TOL_DEG)
    assert both[f"fppa_deg_{other(stance)}"][0] == pytest.approx(series["fppa_free_deg"][0])


def test_compute_side_series_rejects_bad_side():
    kp = make_kp(squat_pose("left", "front", fppa=5.0, drop=0.0, lean=0.0))
    with pytest.raises(
        ParameterError, match=r"'stance_side' parameter.*'left' and 'right'.*'lft'.*Did you mean 'left'"
    ):
        compute_side_series(kp, "lft")


# ----------------------------------------------------------------------------- symmetry properties
def _rot(points: np.ndarray, deg: float, centre: np.ndarray) -> np.ndarray:
    a = np.radians(deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - centre) @ r.T + centre


coord = st.floats(-60.0, 60.0, allow_nan=False)
frame_params = st.tuples(
    st.floats(300.0, 700.0),  # pelvis centre x
    st.floats(40.0, 140.0),  # hip half-width
    st.floats(-25.0, 25.0),  # pelvis tilt, deg
    *([coord] * 8),  # knee/ankle x offsets and shoulder offsets
    st.booleans(),  # facing the camera or not
)


def _random_kp(frames: list[tuple]) -> Keypoints2D:
    pts: dict[str, list[np.ndarray]] = {}
    for cx, half, tilt, kl, kr, al, ar, sl, sr, tl, tr, front in frames:
        a = np.radians(tilt)
        sgn = 1.0 if front else -1.0  # facing: left hip on the image right
        offset = half * np.array([np.cos(a), np.sin(a)])
        centre = np.array([cx, 450.0])
        frame = {
            "left_hip": centre + sgn * offset,
            "right_hip": centre - sgn * offset,
        }
        frame["left_knee"] = frame["left_hip"] + [kl, 200.0]
        frame["right_knee"] = frame["right_hip"] + [kr, 200.0]
        frame["left_ankle"] = frame["left_knee"] + [al, 210.0]
        frame["right_ankle"] = frame["right_knee"] + [ar, 210.0]
        frame["left_shoulder"] = frame["left_hip"] + [sl + 2 * tl, -260.0 + tl]
        frame["right_shoulder"] = frame["right_hip"] + [sr + 2 * tr, -260.0 + tr]
        for k, v in frame.items():
            pts.setdefault(k, []).append(v)
    return make_kp({k: np.array(v) for k, v in pts.items()})


@settings(max_examples=60, deadline=None)
@given(st.lists(frame_params, min_size=1, max_size=5))
def test_mirroring_the_image_and_swapping_sides_gives_identical_values(frames):
    kp = _random_kp(frames)
    mirrored = kp.mirrored()  # x -> width - x and left <-> right labels
    for stance in SIDES:
        a = compute_side_series(kp, stance)
        b = compute_side_series(mirrored, other(stance))
        for key in SIDE_SERIES_KEYS:
            np.testing.assert_allclose(a[key], b[key], atol=1e-6, err_msg=key)
    a, b = compute_all_series(kp), compute_all_series(mirrored)
    for side in SIDES:
        for name in ("fppa_deg", "hip_adduction_deg"):
            np.testing.assert_allclose(a[f"{name}_{side}"], b[f"{name}_{other(side)}"], atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(frame_params, min_size=1, max_size=5), st.floats(-30.0, 30.0))
def test_rotating_the_image_changes_only_the_gravity_referenced_angles(frames, deg):
    kp = _random_kp(frames)
    centre = np.array([500.0, 500.0])
    rotated = kp.replace(position=_rot(kp.position, deg, centre))
    a, b = compute_all_series(kp), compute_all_series(rotated)
    for key in ALL_SERIES_KEYS:  # FPPA and pelvis-referenced hip adduction are intrinsic
        np.testing.assert_allclose(a[key], b[key], atol=1e-6, err_msg=key)
    # pelvic tilt is image-referenced: for stance left, a clockwise on-screen rotation (positive
    # deg with y down) lowers the hip on the image right; its sign depends on the free hip's side
    ta = compute_side_series(kp, "left")["pelvic_tilt_deg"]
    tb = compute_side_series(rotated, "left")["pelvic_tilt_deg"]
    free_on_right = kp.xy("right_hip")[:, 0] > kp.xy("left_hip")[:, 0]
    expected = np.where(free_on_right, ta + deg, ta - deg)
    np.testing.assert_allclose(tb, expected, atol=1e-6)
