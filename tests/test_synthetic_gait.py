"""Synthetic walking and running with known answers (medius.testing.synthetic_gait).

The generator's truth is checked against itself (set peaks, events on samples, feet planted),
then against the independent code paths that will consume it: real C3D files through ezc3d,
the 3D lab model (compute_lab_angles, with and without a static trial), the Zeni et al. (2008)
event definition, and the 2D angle functions on the rendered video keypoints.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from medius.io import read_keypoints
from medius.io.markers import read_c3d
from medius.kinematics import ParameterError
from medius.kinematics.angles2d import compute_side_series
from medius.kinematics.angles3d import (
    LAB_SERIES_KEYS,
    compute_hip_joint_centres,
    compute_lab_angles,
    compute_pelvic_drop_3d,
    measure_joint_offsets,
)
from medius.kinematics.markersets import calibrate_clusters
from medius.testing.synthetic import SYNTHETIC_MARKER, read_marker
from medius.testing.synthetic_gait import (
    MEDIAL_MARKERS,
    CameraSpec,
    GaitSpec,
    compute_gait_marker_set,
    make_gait_trial,
    make_static_trial,
    render_gait_video_keypoints,
    write_gait_c3d,
    write_gait_keypoints,
)

DROPS = {"left": 4.0, "right": 8.0}
ADDUCTION = {"left": 6.0, "right": 10.0}
LEAN = {"left": 1.5, "right": 3.0}


def _spec(task: str = "walk", **kw) -> GaitSpec:
    base = dict(task=task, duration_s=4.0, pelvic_drop_deg=DROPS, hip_adduction_deg=ADDUCTION, trunk_lean_deg=LEAN)
    base.update(kw)
    return GaitSpec(**base)


@pytest.fixture(scope="module", params=["walk", "run"])
def walk_or_run(request):
    spec = _spec(request.param)
    trial, truth = make_gait_trial(spec)
    return spec, trial, truth


def _frames(truth, side, kind):
    rate = truth.spec.rate_hz
    return [round(e["time_s"] * rate) for e in truth.events if e["side"] == side and e["kind"] == kind]


# ----------------------------------------------------------------------------- the truth itself
def test_truth_reproduces_the_set_peaks_on_samples(walk_or_run):
    spec, trial, truth = walk_or_run
    s = truth.series
    assert len(truth.stances) >= 4 and {st["side"] for st in truth.stances} == {"left", "right"}
    for st in truth.stances:
        side, i0, i1 = st["side"], st["foot_strike_frame"], st["foot_off_frame"]
        drop = compute_pelvic_drop_3d(s["pelvic_obliquity_deg_left"], side)[i0 : i1 + 1]
        add = s[f"hip_adduction_deg_{side}"][i0 : i1 + 1]
        lean = s[f"trunk_lean_deg_{side}"][i0 : i1 + 1]
        # the peak is the set value, on a sample, at the frame the truth names
        assert drop.max() == pytest.approx(DROPS[side], abs=1e-12) == st["pelvic_drop_peak_deg"]
        assert add.max() == pytest.approx(ADDUCTION[side], abs=1e-12) == st["hip_adduction_peak_deg"]
        assert lean.max() == pytest.approx(LEAN[side], abs=1e-12) == st["trunk_lean_peak_deg"]
        assert i0 + int(np.argmax(drop)) == st["pelvic_drop_peak_frame"] == st["hip_adduction_peak_frame"]
        # at foot strike only the other leg's stance acts: 0 in running (flight before), the tail
        # of the other side's drop in walking (double support)
        assert drop[0] == pytest.approx(0.0, abs=1e-12) if spec.task == "run" else drop[0] <= 0.0
        assert st["pelvic_drop_mid_stance_deg"] == pytest.approx(
            compute_pelvic_drop_3d(s["pelvic_obliquity_deg_left"], side)[st["mid_stance_frame"]]
        )
        assert 0 < st["pelvic_drop_mid_stance_deg"] <= DROPS[side]
        assert st["step_width_m"] == spec.step_width_m
    np.testing.assert_allclose(s["pelvic_obliquity_deg_right"], -s["pelvic_obliquity_deg_left"])
    # the other LabAngles keys are there, with their meaning
    assert set(LAB_SERIES_KEYS) <= set(s)
    assert s["pelvic_tilt_deg"].mean() == pytest.approx(spec.pelvic_tilt_deg, abs=0.2)


def test_events_fall_on_samples_and_alternate(walk_or_run):
    spec, trial, truth = walk_or_run
    assert trial.events == truth.events
    times = np.array([e["time_s"] for e in truth.events])
    np.testing.assert_allclose(times * spec.rate_hz, np.round(times * spec.rate_hz), atol=1e-6)
    info = truth.info
    assert info["stride_samples"] % 2 == 0
    assert abs(info["cadence_steps_per_min"] - spec.cadence_steps_per_min) <= 60 * spec.rate_hz / (
        info["stride_samples"] / 2
    ) ** 2 * 1.01  # within one sample per step
    assert abs(info["stance_fraction"] - spec.stance_fraction) <= 0.5 / info["stride_samples"] + 1e-12
    for side in ("left", "right"):
        fs, fo = _frames(truth, side, "foot_strike"), _frames(truth, side, "foot_off")
        assert np.all(np.diff(fs) == info["stride_samples"])
        assert all(o - s == info["stance_samples"] for s, o in zip(fs, [o for o in fo if o > fs[0]], strict=False))
    if spec.task == "run":  # a flight phase: never both feet on the ground
        assert info["stance_fraction"] < 0.5
    else:  # double support
        assert info["stance_fraction"] > 0.5


@pytest.mark.parametrize("treadmill", [False, True])
def test_feet_are_planted_in_stance(treadmill):
    spec = _spec("walk", treadmill=treadmill, forward_axis="+y")
    trial, truth = make_gait_trial(spec)
    up, fwd = truth.axes.up, truth.axes.forward
    height = truth.info["foot_marker_height_m"]
    v = 0.0 if not treadmill else -spec.speed_m_s
    for side, pre in (("left", "L"), ("right", "R")):
        heel, toe = trial.xyz(f"{pre}HEE"), trial.xyz(f"{pre}TOE")
        assert (heel @ up).min() >= height - 1e-9 and (toe @ up).min() >= height - 1e-9  # never below the floor
        for st in (x for x in truth.stances if x["side"] == side):
            i0, i1 = st["foot_strike_frame"], st["foot_off_frame"]
            n = i1 - i0
            rise = i0 + int(np.floor(truth.info["heel_rise_stance_fraction"] * n))
            flat = i0 + int(np.ceil(truth.info["foot_flat_stance_fraction"] * n))
            t = trial.time_s
            # the heel marker rests on the floor from foot strike to heel rise, the toe marker
            # from foot flat until heel rise, moving only with the belt
            for marker, a, b in ((heel, i0, rise), (toe, flat, rise)):
                np.testing.assert_allclose(marker[a : b + 1] @ up, height, atol=1e-12)
                along = marker[a : b + 1] @ fwd - v * (t[a : b + 1] - t[a])
                assert np.ptp(along) < 1e-9
            assert (heel[i0 + n // 2 + n // 4 : i1 + 1] @ up).max() > height + 0.03  # the heel rises before foot off
    assert truth.info["foot_slip_m"] < 1e-12


@pytest.mark.parametrize("task", ["walk", "run"])
@pytest.mark.parametrize("treadmill", [False, True])
def test_zeni_extrema_fall_exactly_on_the_events(task, treadmill):
    """Heel forward of the sacrum peaks at foot strike, toe backward at foot off (Zeni 2008)."""
    trial, truth = make_gait_trial(_spec(task, treadmill=treadmill))
    sacrum = 0.5 * (trial.xyz("LPSI") + trial.xyz("RPSI"))
    fwd = truth.axes.forward
    for side, pre in (("left", "L"), ("right", "R")):
        heel = (trial.xyz(f"{pre}HEE") - sacrum) @ fwd
        toe = (trial.xyz(f"{pre}TOE") - sacrum) @ fwd
        peaks = [i for i in range(1, len(heel) - 1) if heel[i - 1] < heel[i] > heel[i + 1]]
        troughs = [i for i in range(1, len(toe) - 1) if toe[i - 1] > toe[i] < toe[i + 1]]
        inside = range(1, trial.n_frames - 1)  # an extremum needs a sample on each side
        assert peaks == [i for i in _frames(truth, side, "foot_strike") if i in inside]
        assert troughs == [i for i in _frames(truth, side, "foot_off") if i in inside]


# ----------------------------------------------------------------------------- C3D and the 3D model
def test_c3d_round_trip_keeps_labels_rate_events_and_positions(tmp_path):
    trial, truth = make_gait_trial(_spec("run", forward_axis="+y", start_s=1.5))
    back = read_c3d(write_gait_c3d(trial, tmp_path / "run.c3d", truth))
    assert back.labels == trial.labels and back.rate_hz == trial.rate_hz
    np.testing.assert_allclose(back.time_s, trial.time_s, atol=1e-9)
    assert [(e["side"], e["kind"]) for e in back.events] == [(e["side"], e["kind"]) for e in trial.events]
    np.testing.assert_allclose([e["time_s"] for e in back.events], [e["time_s"] for e in trial.events], atol=1e-5)
    np.testing.assert_allclose(back.position, trial.position, atol=2e-6)  # float32 millimetres
    marker = read_marker(tmp_path / "run.c3d")
    assert marker is not None and marker["task"] == "run" and marker["spec"]["task"] == "run"
    assert len(marker["ground_truth"]["stances"]) == len(truth.stances)


@pytest.mark.parametrize(
    ("task", "forward", "treadmill"), [("walk", "+x", False), ("walk", "+y", True), ("run", "+y", False)]
)
def test_lab_angles_from_the_c3d_without_a_static_trial(tmp_path, task, forward, treadmill):
    trial, truth = make_gait_trial(_spec(task, forward_axis=forward, treadmill=treadmill))
    back = read_c3d(write_gait_c3d(trial, tmp_path / "gait.c3d"))
    axes = {"forward_axis": forward, "up_axis": "+z"} if treadmill else {}
    lab = compute_lab_angles(
        back,
        "plug-in-gait",
        knee_offset_m=truth.info["knee_offset_m"],
        ankle_offset_m=truth.info["ankle_offset_m"],
        **axes,
    )
    if not treadmill:
        assert lab.axes.forward_from.startswith("auto: walking direction")
    np.testing.assert_allclose(lab.axes.forward, truth.axes.forward)
    for key in LAB_SERIES_KEYS:
        np.testing.assert_allclose(lab.series[key], truth.series[key], atol=0.01, err_msg=key)
    for name in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"):
        np.testing.assert_allclose(lab.joint_centres.xyz(name), truth.joint_centres.xyz(name), atol=1e-5)
    # the per-stance peaks, as a metric engine would take them
    for st in truth.stances:
        side, sl = st["side"], slice(st["foot_strike_frame"], st["foot_off_frame"] + 1)
        drop = compute_pelvic_drop_3d(lab.series["pelvic_obliquity_deg_left"], side)[sl]
        assert drop.max() == pytest.approx(st["pelvic_drop_peak_deg"], abs=0.5)
        assert lab.series[f"hip_adduction_deg_{side}"][sl].max() == pytest.approx(st["hip_adduction_peak_deg"], abs=0.5)


def test_lab_angles_with_a_static_trial(tmp_path):
    spec = _spec("walk")
    trial, truth = make_gait_trial(spec)
    static = read_c3d(write_gait_c3d(make_static_trial(spec), tmp_path / "static.c3d"))
    ms = compute_gait_marker_set()
    # 1. offsets measured on the static trial, then Plug-in Gait's chord
    offsets = measure_joint_offsets(static, ms.resolve(static))
    assert offsets["left_knee"] == pytest.approx(truth.info["knee_offset_m"], abs=1e-6)
    assert offsets["right_ankle"] == pytest.approx(truth.info["ankle_offset_m"], abs=1e-6)
    lab = compute_lab_angles(
        trial,
        "plug-in-gait",
        knee_offset_m={s: offsets[f"{s}_knee"] for s in ("left", "right")},
        ankle_offset_m={s: offsets[f"{s}_ankle"] for s in ("left", "right")},
    )
    for key in LAB_SERIES_KEYS:
        np.testing.assert_allclose(lab.series[key], truth.series[key], atol=0.01, err_msg=key)
    # 2. medial knee markers carried from the static trial by thigh clusters (hip centre, THI, KNE)
    def with_hjc(m):
        post = 0.5 * (m.xyz("LPSI") + m.xyz("RPSI"))
        left, right, _ = compute_hip_joint_centres(m.xyz("LASI"), m.xyz("RASI"), post)
        return m.with_markers({"LHJC": left, "RHJC": right})

    moved = calibrate_clusters(
        with_hjc(static),
        with_hjc(trial),
        {"left_thigh": ["LHJC", "LTHI", "LKNE"], "right_thigh": ["RHJC", "RTHI", "RKNE"]},
        {"left_thigh": ["LKNM"], "right_thigh": ["RKNM"]},
    )
    lab2 = compute_lab_angles(moved, ms)
    assert lab2.info["centres"]["left_knee"].startswith("midpoint of LKNE and LKNM")
    for key in LAB_SERIES_KEYS:
        np.testing.assert_allclose(lab2.series[key], truth.series[key], atol=0.01, err_msg=key)
    # 3. medial markers in the walking trial itself
    trial_m, _ = make_gait_trial(_spec("walk", medial_markers=True))
    assert set(MEDIAL_MARKERS.values()) <= set(trial_m.labels)
    lab3 = compute_lab_angles(trial_m, ms)
    for key in LAB_SERIES_KEYS:
        np.testing.assert_allclose(lab3.series[key], truth.series[key], atol=1e-8, err_msg=key)
    np.testing.assert_allclose(lab3.joint_centres.xyz("left_ankle"), truth.joint_centres.xyz("left_ankle"), atol=1e-9)


def test_noise_and_gaps_touch_the_markers_not_the_truth():
    clean, truth = make_gait_trial(_spec("walk"))
    noisy, truth_n = make_gait_trial(_spec("walk", noise_mm=2.0, seed=3, gaps=(("LKNE", 1.0, 0.25),)))
    diff = (noisy.position - clean.position) * 1000.0
    ok = np.isfinite(diff)
    assert np.std(diff[ok]) == pytest.approx(2.0, rel=0.05)
    gap = noisy.present()[:, noisy.index("LKNE")]
    t = noisy.time_s
    assert not gap[(t >= 1.0 - 1e-9) & (t < 1.25 - 1e-9)].any() and gap[(t < 1.0) | (t >= 1.25)].all()
    assert np.count_nonzero(~gap) == 25
    np.testing.assert_allclose(truth_n.series["hip_adduction_deg_left"], truth.series["hip_adduction_deg_left"], atol=1e-12)
    again, _ = make_gait_trial(_spec("walk", noise_mm=2.0, seed=3, gaps=(("LKNE", 1.0, 0.25),)))
    np.testing.assert_allclose(again.position, noisy.position, atol=1e-12)  # seeded


# ----------------------------------------------------------------------------- the video path
@pytest.mark.parametrize("task", ["walk", "run"])
def test_rendered_keypoints_give_the_2d_truth_through_angles2d(task):
    spec = _spec(task, treadmill=True)
    kp, video = render_gait_video_keypoints(spec, camera=CameraSpec(distance_m=3.0, fps=60.0))
    assert kp.source == "synthetic-gait-video" and kp.fps == pytest.approx(60.0)
    assert kp.keypoint_names[0] == "nose" and np.isfinite(kp.position).all()
    assert np.all(kp.xy("left_hip")[:, 0] < kp.xy("right_hip")[:, 0])  # from behind: left on the image left
    assert video.info["frames_with_keypoints_outside_image"] == 0
    assert len(video.stances) >= 4
    for st in video.stances:
        side = st["side"]
        a, b = st["frames"]
        series = compute_side_series(kp, side)
        for metric, key in (("pelvic_drop", "pelvic_tilt_deg"), ("hip_adduction", "hip_adduction_deg"),
                            ("trunk_lean", "trunk_lean_deg")):
            got = series[key][a : b + 1]
            assert got.max() == pytest.approx(st[f"{metric}_peak_deg_2d"], abs=0.1)
            np.testing.assert_allclose(got, video.series[f"{key}_{side}"][a : b + 1], atol=1e-6)
        fppa = series["fppa_deg"][a : b + 1]
        assert fppa[np.argmax(np.abs(fppa))] == pytest.approx(st["fppa_peak_deg_2d"], abs=0.1)


def test_front_view_puts_the_left_side_on_the_image_right_and_agrees():
    spec = _spec("walk", treadmill=True)
    kp_b, back = render_gait_video_keypoints(spec, camera=CameraSpec(view="back"))
    kp_f, front = render_gait_video_keypoints(spec, camera=CameraSpec(view="front"))
    assert np.all(kp_f.xy("left_hip")[:, 0] > kp_f.xy("right_hip")[:, 0])
    # person-relative signs: from the front too the 2D peaks stay within the stated bounds of the
    # 3D truth (the perspective differs: the flexed thigh comes towards the camera)
    for sb, sf in zip(back.stances, front.stances, strict=True):
        assert sb["side"] == sf["side"]
        for metric in ("pelvic_drop", "hip_adduction", "trunk_lean"):
            assert abs(sf[f"{metric}_error_deg"]) <= STATED["walk"][f"{metric}_deg"], metric


#: the stated projection error (docs/synthetic-gait.md): |2D stance peak - 3D set peak|, degrees,
#: for the default person, from behind, level camera, 3 or 5 m, pelvis level or 1.0 m, 30 or 60 fps
STATED = {
    "walk": {"pelvic_drop_deg": 0.35, "hip_adduction_deg": 1.15, "trunk_lean_deg": 0.05},
    "run": {"pelvic_drop_deg": 0.9, "hip_adduction_deg": 1.8, "trunk_lean_deg": 0.15},
}


@pytest.mark.parametrize("task", ["walk", "run"])
@pytest.mark.parametrize(("distance_m", "height_m", "fps"), [(3.0, None, 30.0), (5.0, 1.0, 60.0), (3.0, 1.0, 60.0)])
def test_projection_error_is_what_is_stated(task, distance_m, height_m, fps):
    spec = _spec(task, treadmill=True, pelvic_drop_deg={"left": 4.0, "right": 8.0}, hip_adduction_deg=None,
                 trunk_lean_deg=None)
    trial, truth = make_gait_trial(spec)
    kp, video = render_gait_video_keypoints(truth, camera=CameraSpec(distance_m=distance_m, height_m=height_m, fps=fps))
    for metric, bound in STATED[task].items():
        assert video.projection_error[metric] <= bound, metric
    for st in video.stances:
        series = compute_side_series(kp, st["side"])
        a, b = st["frames"]
        # measured on the keypoints with medius's own 2D functions, against the 3D truth
        assert abs(series["pelvic_tilt_deg"][a : b + 1].max() - spec.pelvic_drop_deg[st["side"]]) <= (
            STATED[task]["pelvic_drop_deg"] + 1e-6
        )
        assert abs(series["hip_adduction_deg"][a : b + 1].max() - spec.hip_adduction_deg[st["side"]]) <= (
            STATED[task]["hip_adduction_deg"] + 1e-6
        )
        # the 2D video under-reads the drop and over-reads the adduction (hip flexion tilts the thigh)
        assert st["pelvic_drop_error_deg"] < 0 < st["hip_adduction_error_deg"]


def test_write_gait_keypoints_reads_back(tmp_path):
    spec = _spec("walk", treadmill=True, duration_s=2.0)
    trial, truth = make_gait_trial(spec)
    kp, video = render_gait_video_keypoints(truth, camera=CameraSpec(fps=30.0))
    paths = write_gait_keypoints(kp, tmp_path / "video", truth=truth, video=video)
    back = read_keypoints(paths["openpose"], fps=30.0, image_size=kp.image_size).person(0)
    np.testing.assert_allclose(back.xy("left_knee"), kp.xy("left_knee"), atol=0.01)
    trc = read_keypoints(paths["trc"], image_size=kp.image_size)
    trc = trc.person(0) if hasattr(trc, "person") else trc
    np.testing.assert_allclose(trc.xy("right_hip"), kp.xy("right_hip"), atol=0.01)
    doc = json.loads((tmp_path / "video" / SYNTHETIC_MARKER).read_text())
    assert doc["synthetic"] is True and doc["task"] == "walk"
    assert doc["ground_truth"]["video"]["projection_error"]["pelvic_drop_deg"] == pytest.approx(
        video.projection_error["pelvic_drop_deg"]
    )
    assert read_marker(paths["trc"])["task"] == "walk"


# ----------------------------------------------------------------------------- parameter errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "jog"}, r"'task'.*'walk' and 'run'.*'jog'"),
        ({"task": "run", "stance_fraction": 0.6}, r"'stance_fraction'.*< 0.5.*0.6"),
        ({"pelvic_drop_deg": {"left": 4.0}}, r"'pelvic_drop_deg'.*'left' and 'right'"),
        ({"hip_adduction_deg": -3.0}, r"'hip_adduction_deg'.*>= 0.*-3"),
        ({"forward_axis": "+z"}, r"'forward_axis'.*perpendicular to up_axis"),
        ({"peak_stance_fraction": 0.1}, r"'peak_stance_fraction'.*single support"),
    ],
)
def test_bad_specs_are_refused(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        GaitSpec(**kwargs) if "peak_stance_fraction" not in kwargs else make_gait_trial(GaitSpec(**kwargs))


def test_bad_gap_and_camera_are_refused():
    with pytest.raises(ParameterError, match=r"'gaps'.*Allowed markers.*'LKNEE'"):
        make_gait_trial(_spec("walk", gaps=(("LKNEE", 1.0, 0.1),)))
    with pytest.raises(ParameterError, match=r"'view'.*'back' and 'front'.*'side'"):
        CameraSpec(view="side")
    with pytest.raises(ParameterError, match=r"'trial_or_spec'.*GaitSpec or GaitTruth"):
        render_gait_video_keypoints("walk")
