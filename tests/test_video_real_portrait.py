"""Metamorphic tests on a second real video: a phone-format portrait clip of a person filling the frame.

The clip (``tests/data/pose2sim/``, BSD-3-Clause) is Pose2Sim's single-person demo, camera 1:
1080×1920 portrait H.264 at 60 fps, 100 frames, a man filmed from the front and a little to the
side balancing on one leg. Unlike the Sports2D sample (a ~270 px tall backlit man doing jumping
jacks) the person is ~1500 px tall, as in a clinic video filmed at 3 m. Through the real pose
model and the analysis chain (``select_person`` → ``correct_left_right`` → ``preprocess`` → series):

* **half size**: the clip at half resolution gives the same series within the issue's 2° (median
  over the frames; measured 0.15-0.37°, 90th percentiles 0.26-1.8°);
* **mirror**: the left-right mirrored clip gives the original's right series as its left series.
  BlazePose is not mirror-equivariant (the chain is, exactly: ``tests/test_video_real.py``), so the
  bounds are what the model reaches here: measured medians FPPA 2.3-3.7°, hip adduction 1.3-1.7°,
  pelvic tilt 1.1°, trunk lean 0.6°; a flipped sign or a missed side exchange is far outside them
  (negative controls below);
* **mirror with the flip test** (``analyze --flip-test``: the model runs on each frame and its
  mirror image, averaged; :class:`medius.pose.FlipTestBackend`): the issue's 1° is met, measured
  medians 0.06-0.32°, 90th percentiles 0.17-1.06°;
* the mirrored clip gets the same verdict and reasons from ``analyze_path``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from medius.analysis import AnalysisRequest
from medius.io.video import VideoWriter, iter_frames, probe_video
from medius.pose import BlazePoseBackend, FlipTestBackend
from medius.pose._run import estimate_poses
from medius.report.outputs import run_analysis
from tests._chain import run_chain

pytestmark = [pytest.mark.video, pytest.mark.xdist_group("real-video-portrait")]

CLIP = Path(__file__).parent / "data" / "pose2sim" / "demo-single-person-cam01.mp4"
CLIP_SHA256 = "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a"
SERIES = ("fppa_deg", "hip_adduction_deg", "pelvic_tilt_deg", "trunk_lean_deg")
#: (median, 90th percentile) of |difference| in degrees over the frames where both are finite
BOUNDS = {
    "half": {key: (2.0, 4.0) for key in SERIES},
    "mirror": {
        "fppa_deg": (5.0, 25.0),
        "hip_adduction_deg": (3.0, 8.0),
        "pelvic_tilt_deg": (2.0, 5.0),
        "trunk_lean_deg": (1.5, 3.0),
    },
    # the 1° for the mirrored video, reached with the flip test
    "flip_mirror": {key: (1.0, 1.5) for key in SERIES},
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    assert hashlib.sha256(CLIP.read_bytes()).hexdigest() == CLIP_SHA256
    tmp = tmp_path_factory.mktemp("portrait")
    info = probe_video(CLIP)
    w, h = info.width, info.height
    half = (round(w * 0.5) // 2 * 2, round(h * 0.5) // 2 * 2)
    paths = {name: tmp / f"{name}.mp4" for name in ("orig", "mirror", "half")}
    with (
        VideoWriter(paths["orig"], w, h, fps_hint=info.fps, crf=12, preset="ultrafast") as orig,
        VideoWriter(paths["mirror"], w, h, fps_hint=info.fps, crf=12, preset="ultrafast") as mirror,
        VideoWriter(paths["half"], *half, fps_hint=info.fps, crf=12, preset="ultrafast") as small,
    ):
        for frame in iter_frames(CLIP, max_side_px=None):
            orig.write(frame.image, frame.time_s)
            mirror.write(np.ascontiguousarray(frame.image[:, ::-1]), frame.time_s)
            small.write(cv2.resize(frame.image, half, interpolation=cv2.INTER_AREA), frame.time_s)
    return paths


def _series(video: Path, flip: bool = False) -> dict[str, np.ndarray]:
    info = probe_video(video)
    with (FlipTestBackend(BlazePoseBackend) if flip else BlazePoseBackend()) as backend:
        people = estimate_poses(
            iter_frames(video, max_side_px=1280), backend, image_size=(info.width, info.height)
        )
    return run_chain(people)[3]


@pytest.fixture(scope="module")
def series(clips: dict[str, Path]) -> dict[str, dict[str, np.ndarray]]:
    out = {name: _series(path) for name, path in clips.items()}
    out["flip_orig"] = _series(clips["orig"], flip=True)
    out["flip_mirror"] = _series(clips["mirror"], flip=True)
    return out


def _stats(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float]:
    ok = np.isfinite(a) & np.isfinite(b)
    d = np.abs(a[ok] - b[ok])
    return int(ok.sum()), float(np.median(d)), float(np.percentile(d, 90))


def _failures(series, other: str, *, exchange: bool, sign: float = 1.0, base: str = "orig") -> list[str]:
    out = []
    for key, (med_max, p90_max) in BOUNDS[other].items():
        for side, opposite in (("left", "right"), ("right", "left")):
            a = series[base][f"{key}_{side}"]
            b = sign * series[other][f"{key}_{opposite if exchange else side}"]
            n, med, p90 = _stats(a, b)
            if n < 80 or med > med_max or p90 > p90_max:
                out.append(f"{key}_{side}: {n} frames, median {med:.2f}°, p90 {p90:.2f}° (bounds {med_max}°, {p90_max}°)")
    return out


def test_half_resolution_gives_the_same_series_within_2_degrees(series):
    failures = _failures(series, "half", exchange=False)
    assert not failures, "\n".join(failures)


def test_mirrored_clip_left_series_equal_original_right_series(series):
    failures = _failures(series, "mirror", exchange=True)
    assert not failures, "\n".join(failures)


def test_with_the_flip_test_the_mirrored_clip_agrees_within_1_degree(series):
    failures = _failures(series, "flip_mirror", exchange=True, base="flip_orig")
    assert not failures, "\n".join(failures)
    # and the flip test does not move the series far from the plain model's (same person, same frames)
    for key in SERIES:
        n, med, _ = _stats(series["orig"][f"{key}_left"], series["flip_orig"][f"{key}_left"])
        assert n >= 80 and med < 3.0, (key, med)


def test_flip_test_bounds_catch_a_missed_side_exchange(series):
    assert _failures(series, "flip_mirror", exchange=False, base="flip_orig")


def test_analyze_with_the_flip_test_records_it_in_the_provenance(clips, tmp_path):
    outcome = run_analysis(AnalysisRequest(
        clips["orig"], task="single-leg-squat", out_dir=tmp_path / "flip", annotated_video=False, flip_test=True))
    model = outcome.result["provenance"]["pose_model"]
    assert model["backend"] == "mediapipe-blazepose-full"
    assert "mirror" in model["flip_test"]["method"]


def test_mirror_bounds_catch_a_missed_side_exchange_or_a_flipped_sign(series):
    # FPPA and hip adduction differ between the legs of a person balancing on one of them
    assert _failures(series, "mirror", exchange=False)
    assert len(_failures(series, "mirror", exchange=True, sign=-1.0)) >= 4


def test_mirrored_clip_gets_the_same_verdict_and_reasons(clips, tmp_path):
    results = [
        run_analysis(AnalysisRequest(clips[name], task="single-leg-squat", out_dir=tmp_path / name, annotated_video=False)).result
        for name in ("orig", "mirror")
    ]
    assert results[0]["quality"]["judgeable"] == results[1]["quality"]["judgeable"]
    assert results[0]["quality"]["reasons"] == results[1]["quality"]["reasons"]
