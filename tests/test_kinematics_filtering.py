"""Known-answer tests of the keypoint clean-up (medius.kinematics.filtering).

Synthetic signals: every keypoint moves as ``x = 500 + 50 sin(2 pi 1 t) + 10 sin(2 pi 15 t)``
(a 1 Hz "squat" plus 15 Hz "jitter"), ``y = 400 + 30 cos(2 pi 1 t)``, sampled at 60 fps, on
uniform or jittered timestamps. A 6 Hz zero-lag low-pass must remove the 15 Hz part and keep
the 1 Hz part without delaying it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import sosfreqz

from medius.errors import NotJudgeableError
from medius.io import KEYPOINTS, Keypoints2D
from medius.kinematics import (
    ParameterError,
    design_cutoff_hz,
    interpolate_gaps,
    lowpass_filter,
    mask_low_confidence,
    preprocess,
)
from medius.kinematics.filtering import _sos_and_padlen

N_KP = len(KEYPOINTS)
KNEE = KEYPOINTS.index("left_knee")


def slow(t: np.ndarray) -> np.ndarray:
    return 500.0 + 50.0 * np.sin(2 * np.pi * 1.0 * t)


def fast(t: np.ndarray) -> np.ndarray:
    return 10.0 * np.sin(2 * np.pi * 15.0 * t)


def make_kp(t: np.ndarray, x: np.ndarray | None = None, conf: float | np.ndarray = 0.9) -> Keypoints2D:
    """Every keypoint at ``(x(t), 400 + 30 cos(2 pi t))``."""
    x = slow(t) + fast(t) if x is None else x
    pos = np.empty((t.size, N_KP, 2))
    pos[..., 0] = x[:, None]
    pos[..., 1] = (400.0 + 30.0 * np.cos(2 * np.pi * t))[:, None]
    c = np.broadcast_to(np.asarray(conf, dtype=float), (t.size, N_KP)).copy()
    return Keypoints2D(position=pos, confidence=c, time_s=t, image_size=(1000, 800), source="synthetic")


def amplitude(t: np.ndarray, x: np.ndarray, f_hz: float) -> float:
    """Least-squares amplitude of the ``f_hz`` component of ``x(t)`` (with an offset)."""
    a = np.column_stack([np.sin(2 * np.pi * f_hz * t), np.cos(2 * np.pi * f_hz * t), np.ones_like(t)])
    coef, *_ = np.linalg.lstsq(a, x, rcond=None)
    return float(np.hypot(coef[0], coef[1]))


# ----------------------------------------------------------------------------- low-pass filter
def test_lowpass_removes_15hz_keeps_1hz_without_lag():
    t = np.arange(600) / 60.0  # 10 s at 60 fps
    kp = make_kp(t)
    out = lowpass_filter(kp, cutoff_hz=6.0, order=4)
    x = out.position[:, KNEE, 0]
    inner = (t >= 1.0) & (t <= 9.0)  # away from the edge transients
    assert amplitude(t[inner], x[inner], 15.0) < 0.05 * 10.0
    assert amplitude(t[inner], x[inner], 1.0) == pytest.approx(50.0, rel=0.02)
    # no phase lag: every 1 Hz peak stays on the same sample (t = 0.25 + k s -> sample 15 + 60 k)
    for k in range(1, 9):
        cycle = slice(60 * k, 60 * (k + 1))
        assert np.argmax(x[cycle]) == np.argmax(slow(t[cycle])) == 15
    np.testing.assert_allclose(x[inner], slow(t[inner]), atol=0.5)
    # y (a pure 1 Hz cosine) passes unchanged; confidence is untouched
    np.testing.assert_allclose(out.position[inner, KNEE, 1], kp.position[inner, KNEE, 1], atol=0.05)
    np.testing.assert_array_equal(out.confidence, kp.confidence)


def test_lowpass_cutoff_is_minus_3db_point_of_double_pass():
    for fs in (25.0, 30.0, 60.0, 240.0):
        sos, _ = _sos_and_padlen(6.0, fs, 4)
        _, h = sosfreqz(sos, worN=[6.0], fs=fs)
        assert abs(h[0]) ** 2 == pytest.approx(1 / np.sqrt(2), rel=1e-9)  # forward + backward
    assert design_cutoff_hz(6.0, 60.0, 4) == pytest.approx(6.6463, abs=1e-4)


def test_lowpass_log_entry():
    t = np.arange(300) / 60.0
    out = lowpass_filter(make_kp(t), cutoff_hz=6.0, order=4)
    entry = out.log[-1]
    assert entry["operation"] == "lowpass_filter"
    assert entry["cutoff_hz"] == 6.0
    assert entry["order"] == 4 and entry["effective_order"] == 8
    assert entry["frame_rate_hz"] == pytest.approx(60.0)
    assert entry["design_cutoff_hz"] == pytest.approx(design_cutoff_hz(6.0, 60.0, 4))
    assert "Winter" in entry["cutoff_definition"]
    assert entry["n_runs_filtered"] == N_KP
    assert entry["n_runs_resampled"] == 0
    assert entry["n_runs_too_short"] == 0 and entry["n_points_unfiltered"] == 0
    assert entry["min_run_samples"] == 16
    assert "datetime" in entry


def test_lowpass_variable_frame_rate():
    rng = np.random.default_rng(7)
    t = (np.arange(600) + rng.uniform(-0.3, 0.3, 600)) / 60.0  # +-30 % timing jitter
    t = t - t[0]
    out = lowpass_filter(make_kp(t), cutoff_hz=6.0)
    x = out.position[:, KNEE, 0]
    inner = (t >= 1.0) & (t <= 9.0)
    assert amplitude(t[inner], x[inner], 15.0) < 0.05 * 10.0
    assert amplitude(t[inner], x[inner], 1.0) == pytest.approx(50.0, rel=0.02)
    np.testing.assert_allclose(x[inner], slow(t[inner]), atol=0.5)
    assert out.log[-1]["n_runs_resampled"] == N_KP
    # a filter that ignored the timestamps would not get this right
    naive = lowpass_filter(make_kp(np.arange(600) / 60.0, x=slow(t) + fast(t)), cutoff_hz=6.0)
    assert np.max(np.abs(naive.position[inner, KNEE, 0] - slow(t[inner]))) > 1.0


def test_lowpass_mixed_frame_rate_is_not_downsampled():
    # 8 s at 30 fps, then 3 s at 60 fps (the median rate is 30 fps); 25 Hz jitter in the 60 fps
    # stretch would alias to 5 Hz, inside the pass band, if that stretch were resampled at 30 fps
    t = np.concatenate([np.arange(240) / 30.0, 8.0 + np.arange(180) / 60.0])
    x = slow(t) + np.where(t >= 8.0, 8.0 * np.sin(2 * np.pi * 25.0 * t + 0.3), 0.0)
    out = lowpass_filter(make_kp(t, x=x), cutoff_hz=6.0)
    assert out.log[-1]["frame_rate_hz"] == pytest.approx(30.0)
    assert out.log[-1]["n_runs_resampled"] == N_KP
    inner = (t >= 1.0) & (t <= 10.0)
    np.testing.assert_allclose(out.position[inner, KNEE, 0], slow(t[inner]), atol=1.0)
    steady = inner & ((t < 7.8) | (t > 8.3))  # away from the switch-on of the jitter
    np.testing.assert_allclose(out.position[steady, KNEE, 0], slow(t[steady]), atol=0.1)


def test_lowpass_dropped_frames_and_time_hole():
    t = np.arange(900) / 60.0
    keep = np.ones(t.size, dtype=bool)
    keep[100:400:7] = False  # scattered dropped frames: irregular steps of 2 frame intervals
    keep[500:560] = False  # a 1 s hole in the time base: never filtered across
    t = t[keep]
    out = lowpass_filter(make_kp(t), cutoff_hz=6.0)
    x = out.position[:, KNEE, 0]
    entry = out.log[-1]
    assert entry["n_time_holes"] == 1
    assert entry["n_runs_filtered"] == 2 * N_KP
    assert entry["n_runs_resampled"] == N_KP  # the run with dropped frames
    inner = ((t >= 1.0) & (t <= 8.0)) | ((t >= 10.5) & (t <= 14.0))
    # 15 Hz at 60 fps has 4 samples a cycle: a dropped frame loses some of it for good, so the
    # resampled run is within 1 px (10 % of the jitter amplitude), the regular ones within 0.5 px
    np.testing.assert_allclose(x[inner], slow(t[inner]), atol=1.0)
    regular = inner & ((t < 100 / 60 - 0.3) | (t > 410 / 60 + 0.3))
    np.testing.assert_allclose(x[regular], slow(t[regular]), atol=0.5)


def test_lowpass_does_not_filter_across_nan_and_leaves_short_runs():
    t = np.arange(200) / 60.0
    kp = make_kp(t)
    pos = kp.position.copy()
    pos[100:105] = np.nan  # split into runs 0..99 and 105..199
    pos[150:152] = np.nan  # ... 105..149 and a 10-sample run 152..161 before ...
    pos[162:164] = np.nan  # ... another NaN, then 164..199
    a = kp.replace(position=pos)
    out_a = lowpass_filter(a)
    # change the data after the first gap: the first run's output must not change
    pos_b = pos.copy()
    pos_b[105:] += 37.0
    out_b = lowpass_filter(a.replace(position=pos_b))
    np.testing.assert_array_equal(out_a.position[:100], out_b.position[:100])
    # NaN stays NaN, the 10-sample run is left as it was
    assert np.all(np.isnan(out_a.position[100:105]))
    np.testing.assert_array_equal(out_a.position[152:162], pos[152:162])
    entry = out_a.log[-1]
    assert entry["n_runs_too_short"] == N_KP
    assert entry["n_points_unfiltered"] == 10 * N_KP
    assert entry["n_runs_filtered"] == 3 * N_KP


def test_lowpass_too_low_frame_rate():
    t = np.arange(40) / 8.0
    with pytest.raises(
        NotJudgeableError,
        match=(
            r"frame rate 8\.0 Hz is too low for a 6 Hz low-pass filter: 'cutoff_hz' must be below "
            r"half the frame rate \(4\.0 Hz\), got 6; film at ≥ 25 fps"
        ),
    ) as info:
        lowpass_filter(make_kp(t), cutoff_hz=6.0)
    assert info.value.exit_code == 5
    assert info.value.advice == ["film at 25 fps or more"]
    t = np.arange(300) / 60.0
    with pytest.raises(
        NotJudgeableError,
        match=r"'cutoff_hz' must be below half the frame rate \(30\.0 Hz\), got 40; film at ≥ 160 fps",
    ):
        lowpass_filter(make_kp(t), cutoff_hz=40.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"cutoff_hz": 0.0},
            r"'cutoff_hz' parameter\. Allowed values are finite real numbers > 0, but got 0\.0",
        ),
        ({"cutoff_hz": float("nan")}, r"'cutoff_hz' parameter.*got nan"),
        ({"order": 0}, r"'order' parameter\. Allowed values are integers >= 1 and <= 10, but got 0"),
        ({"order": 2.5}, r"'order' parameter.*got 2\.5"),
    ],
)
def test_lowpass_parameter_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        lowpass_filter(make_kp(np.arange(100) / 60.0), **kwargs)


def test_lowpass_single_frame_is_logged_and_unchanged():
    kp = make_kp(np.array([0.0]))
    out = lowpass_filter(kp)
    np.testing.assert_array_equal(out.position, kp.position)
    assert out.log[-1]["skipped"] == "fewer than 2 frames"


# ----------------------------------------------------------------------------- gaps
def _with_gaps(t: np.ndarray, gaps: list[slice]) -> Keypoints2D:
    kp = make_kp(t, x=slow(t))
    pos, conf = kp.position.copy(), kp.confidence.copy()
    for g in gaps:
        pos[g, KNEE] = np.nan
        conf[g, KNEE] = np.nan
    return kp.replace(position=pos, confidence=conf)


@pytest.mark.parametrize("method", ["cubic", "linear"])
def test_interpolate_short_gap_filled_long_gap_and_edges_left(method):
    t = np.arange(300) / 60.0
    short, long_, lead = slice(60, 66), slice(150, 180), slice(0, 3)  # 0.1 s, 0.5 s missing
    kp = _with_gaps(t, [short, long_, lead])
    out = interpolate_gaps(kp, max_gap_s=0.25, method=method)
    truth = make_kp(t, x=slow(t)).position[:, KNEE]
    # the gap straddles the peak of y (t = 1 s): Akima keeps it, straight lines cut it
    np.testing.assert_allclose(
        out.position[short, KNEE], truth[short], atol=0.5 if method == "cubic" else 2.0
    )
    assert np.all(np.isnan(out.position[long_, KNEE]))
    assert np.all(np.isnan(out.position[lead, KNEE]))
    assert np.all(np.isnan(out.confidence[short, KNEE]))  # filled points keep NaN confidence
    entry = out.log[-1]
    assert entry["operation"] == "interpolate_gaps"
    assert entry["method"] == method and entry["max_gap_s"] == 0.25
    assert (entry["n_gaps_filled"], entry["n_points_filled"]) == (1, 6)
    assert (entry["n_gaps_left"], entry["n_points_left"]) == (1, 30)
    assert entry["n_points_left_at_edges"] == 3
    assert entry["filled_by_keypoint"] == {"left_knee": 6}
    # other keypoints untouched, input not mutated
    np.testing.assert_array_equal(np.delete(out.position, KNEE, axis=1), np.delete(kp.position, KNEE, axis=1))
    assert np.all(np.isnan(kp.position[short, KNEE]))


def test_gap_length_is_measured_on_time_not_frames():
    # 60 fps for 2 s, then 10 fps: the same 5 missing frames are 0.1 s then 0.6 s long
    t = np.concatenate([np.arange(120) / 60.0, 2.0 + np.arange(1, 40) / 10.0])
    kp = _with_gaps(t, [slice(50, 55), slice(140, 145)])
    out = interpolate_gaps(kp, max_gap_s=0.25)
    assert np.all(np.isfinite(out.position[50:55, KNEE]))
    assert np.all(np.isnan(out.position[140:145, KNEE]))


def test_gap_boundary_is_time_between_bounding_valid_samples():
    t = np.arange(120) / 60.0
    kp = _with_gaps(t, [slice(30, 36)])  # 6 missing: bounded by samples 29 and 36 -> 7/60 s
    assert interpolate_gaps(kp, max_gap_s=7 / 60).log[-1]["n_gaps_filled"] == 1
    assert interpolate_gaps(kp, max_gap_s=6.9 / 60).log[-1]["n_gaps_filled"] == 0
    assert interpolate_gaps(kp, max_gap_s=0.0).log[-1]["n_points_filled"] == 0


def test_interpolate_parameter_errors():
    kp = _with_gaps(np.arange(60) / 60.0, [slice(10, 12)])
    with pytest.raises(
        ParameterError,
        match=(
            r"'method' parameter\. Allowed values are 'cubic' and 'linear', "
            r"but got 'cubuc' instead\. Did you mean 'cubic'\?"
        ),
    ):
        interpolate_gaps(kp, method="cubuc")
    with pytest.raises(
        ParameterError,
        match=r"'max_gap_s' parameter\. Allowed values are finite real numbers >= 0, but got -1",
    ):
        interpolate_gaps(kp, max_gap_s=-1)


# ----------------------------------------------------------------------------- masking
def test_mask_low_confidence_counts():
    t = np.arange(10) / 30.0
    conf = np.full((10, N_KP), 0.9)
    conf[2:5, KNEE] = 0.3  # 3 low points
    conf[7, 0] = 0.49  # 1 more, just under
    conf[8, 1] = 0.5  # exactly at the threshold: kept
    conf[9, 2] = np.nan  # no score: kept
    kp = make_kp(t, conf=conf)
    pos = kp.position.copy()
    pos[0, 3] = np.nan  # already missing
    kp = kp.replace(position=pos)
    out = mask_low_confidence(kp, min_confidence=0.5)
    assert np.all(np.isnan(out.position[2:5, KNEE])) and np.all(np.isnan(out.confidence[2:5, KNEE]))
    assert np.isnan(out.position[7, 0, 0])
    assert np.all(np.isfinite(out.position[8, 1])) and np.all(np.isfinite(out.position[9, 2]))
    entry = out.log[-1]
    assert entry["operation"] == "mask_low_confidence"
    assert entry["min_confidence"] == 0.5
    assert entry["n_points"] == 10 * N_KP
    assert entry["n_masked"] == 4
    assert entry["n_missing_before"] == 1 and entry["n_missing_after"] == 5
    assert entry["n_kept_without_confidence"] == 1
    assert entry["masked_by_keypoint"] == {"nose": 1, "left_knee": 3}
    assert np.all(np.isfinite(kp.position[2:5, KNEE]))  # input not mutated
    assert mask_low_confidence(kp, min_confidence=0.0).log[-1]["n_masked"] == 0


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "high", True])
def test_mask_low_confidence_parameter_error(bad):
    with pytest.raises(
        ParameterError,
        match=r"'min_confidence' parameter\. Allowed values are finite real numbers >= 0 and <= 1",
    ):
        mask_low_confidence(make_kp(np.arange(5) / 30.0), min_confidence=bad)


# ----------------------------------------------------------------------------- pipeline
def test_preprocess_runs_all_three_steps_and_logs_them():
    rng = np.random.default_rng(3)
    t = np.arange(600) / 60.0
    conf = rng.uniform(0.6, 1.0, (t.size, N_KP))
    conf[200:206, KNEE] = 0.1  # 0.1 s of low confidence: masked, then filled
    conf[400:430, KNEE] = 0.1  # 0.5 s: masked, left NaN
    noisy = slow(t) + rng.normal(0.0, 1.5, t.size)  # pose-model jitter, 1.5 px
    out = preprocess(make_kp(t, x=noisy, conf=conf))
    assert [e["operation"] for e in out.log] == ["mask_low_confidence", "interpolate_gaps", "lowpass_filter"]
    mask, gaps, lp = out.log
    assert mask["n_masked"] == 36
    assert gaps["n_points_filled"] == 6 and gaps["n_points_left"] == 30
    assert lp["cutoff_hz"] == 6.0 and lp["order"] == 4
    x = out.position[:, KNEE, 0]
    assert np.all(np.isnan(x[400:430]))
    inner = ((t >= 1.0) & (t <= 6.5)) | ((t >= 7.5) & (t <= 9.0))
    # 6 Hz of the 30 Hz noise band passes: the jitter's standard deviation drops by ~sqrt(6/30)
    assert np.std(x[inner] - slow(t[inner])) < 0.6 * np.std(noisy - slow(t))
    np.testing.assert_allclose(x[inner], slow(t[inner]), atol=3.0)
    np.testing.assert_allclose(x[200:206], slow(t[200:206]), atol=3.0)  # the filled 0.1 s


def test_preprocess_checks_all_parameters_first():
    with pytest.raises(ParameterError, match="'order'"):
        preprocess(make_kp(np.arange(100) / 60.0), order=-1)
