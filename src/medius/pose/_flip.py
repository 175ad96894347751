"""Flip test: run a pose model on each frame and on its mirror image, and average the two.

A pose model trained on images is not exactly mirror-symmetric: BlazePose on a left-right mirrored
video does not give the mirror image of its keypoints on the original (on the shipped portrait
clip the knee FPPA of one leg differs by a median of 2-4° between the two). For a screen whose
point is a left-right comparison, that bias lands in the left-right difference. The *flip test*
(standard in pose-estimation evaluation: Xiao et al. 2018, Simple Baselines for Human Pose
Estimation, ECCV; Sun et al. 2019, HRNet, CVPR) removes it by construction:

1. the model runs on the frame, giving keypoints ``P``;
2. a second instance of the model runs on the mirrored frame, giving ``Q``; ``Q`` is mirrored
   back (``x -> W - x``: the origin is the top-left corner of the top-left pixel,
   docs/conventions.md) and its left and right keypoints exchanged
   (the model's "left knee" in the mirrored image is the person's right knee);
3. each keypoint is the confidence-weighted mean of the two, its confidence their mean.

Given the mirrored video, the two model instances simply exchange roles, so the output is the
exact mirror image of the output on the original (up to the video's re-encoding): measured on
the portrait clip, median left-right disagreement of the series 0.06-0.32° instead of 0.6-3.7°
(``tests/test_video_real_portrait.py``).

The two instances run side by side (the second on a worker thread: MediaPipe releases the
interpreter lock while it computes), so on two free cores the pass costs about 1.4x the single
model's time, not 2x (``make bench``). Each instance keeps its own tracking state (video mode).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from medius.io import KEYPOINTS
from medius.pose._base import PersonPose, PoseBackend

__all__ = ["FLIP_PAIRS", "FlipTestBackend", "combine_flip", "mirror_pose"]


def _opposite(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[len("left_") :]
    if name.startswith("right_"):
        return "left_" + name[len("right_") :]
    return name


#: for each canonical keypoint, the index of its mirror-image partner (itself on the midline)
FLIP_PAIRS: tuple[int, ...] = tuple(KEYPOINTS.index(_opposite(name)) for name in KEYPOINTS)

#: two detections are the same person when their mean keypoint distance is under this fraction
#: of the larger one's bounding-box diagonal
_SAME_PERSON_FRACTION = 0.25


def mirror_pose(pose: PersonPose, width: int) -> PersonPose:
    """``pose`` found in a left-right mirrored image of ``width`` px, in the original image.

    The x coordinates are mirrored about the image's centre line (``x -> W - x``; the origin is
    the top-left corner of the top-left pixel) and left and right keypoints exchanged.
    """
    index = np.asarray(FLIP_PAIRS)
    xy = np.array(pose.xy, dtype=float)[index]
    xy[:, 0] = width - xy[:, 0]
    return PersonPose(xy=xy, confidence=np.asarray(pose.confidence, dtype=float)[index], extra=dict(pose.extra))


def _diagonal(pose: PersonPose) -> float:
    pts = pose.xy[np.all(np.isfinite(pose.xy), axis=1)]
    if len(pts) < 2:
        return float("nan")
    return float(np.hypot(*(pts.max(axis=0) - pts.min(axis=0))))


def _distance(a: PersonPose, b: PersonPose) -> float:
    d = np.hypot(*(a.xy - b.xy).T)
    d = d[np.isfinite(d)]
    return float(np.mean(d)) if len(d) else float("inf")


def _merge(a: PersonPose, b: PersonPose) -> PersonPose:
    """The confidence-weighted mean of two detections of the same person (order does not matter)."""
    ca = np.nan_to_num(np.asarray(a.confidence, dtype=float), nan=0.0)
    cb = np.nan_to_num(np.asarray(b.confidence, dtype=float), nan=0.0)
    wa, wb = ca[:, None], cb[:, None]
    total = wa + wb
    plain = 0.5 * (a.xy + b.xy)
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = (wa * a.xy + wb * b.xy) / total
    xy = np.where(total > 0, weighted, plain)
    # a keypoint one of the two did not give comes from the other
    xy = np.where(np.isfinite(a.xy) & ~np.isfinite(b.xy), a.xy, xy)
    xy = np.where(np.isfinite(b.xy) & ~np.isfinite(a.xy), b.xy, xy)
    return PersonPose(xy=xy, confidence=0.5 * (ca + cb), extra={"flip_test": "merged"})


def _score(pose: PersonPose) -> float:
    c = np.asarray(pose.confidence, dtype=float)
    return float(np.nanmean(c)) if np.isfinite(c).any() else 0.0


def combine_flip(direct: list[PersonPose], mirrored_back: list[PersonPose], width: int = 0) -> list[PersonPose]:
    """Pair the detections of the frame with those of its mirror (mirrored back) and merge pairs.

    Pairs are made greedily, closest first, between detections closer than a quarter of the
    larger one's size; a detection without a partner is kept as it is. The people are returned
    most confident first, then largest, then nearest the image's vertical centre line (``width``
    px wide) and highest. Every rule is symmetric in the two lists and unchanged by mirroring, so
    the mirrored video gives the same people in the same order.
    """
    pairs: list[tuple[float, int, int]] = []
    for i, a in enumerate(direct):
        for j, b in enumerate(mirrored_back):
            size = np.nanmax([_diagonal(a), _diagonal(b)])
            dist = _distance(a, b)
            if np.isfinite(size) and dist < _SAME_PERSON_FRACTION * size:
                pairs.append((dist, i, j))
    pairs.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    people: list[PersonPose] = []
    for _, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        people.append(_merge(direct[i], mirrored_back[j]))
    people += [p for i, p in enumerate(direct) if i not in used_a]
    people += [p for j, p in enumerate(mirrored_back) if j not in used_b]
    return sorted(people, key=lambda p: _order(p, width))


def _order(pose: PersonPose, width: int) -> tuple[float, float, float, float]:
    """Sort key that mirroring the image does not change (confidence, size, distance to centre line)."""
    finite = pose.xy[np.all(np.isfinite(pose.xy), axis=1)]
    if len(finite) == 0:
        return (-round(_score(pose), 9), 0.0, 0.0, 0.0)
    size = _diagonal(pose)
    off_centre = abs(float(np.mean(finite[:, 0])) - 0.5 * width)
    return (-round(_score(pose), 9), -round(size, 6), round(off_centre, 6), round(float(np.mean(finite[:, 1])), 6))


class FlipTestBackend:
    """A :class:`~medius.pose.PoseBackend` that averages a model's output on each frame and its mirror.

    Parameters
    ----------
    make_backend
        creates one instance of the model (called twice: one instance sees the frames, the other
        their mirror images; each keeps its own tracking state).
    parallel
        run the mirrored frame's inference on a worker thread beside the direct one (default).
    """

    def __init__(self, make_backend: Callable[[], PoseBackend], *, parallel: bool = True) -> None:
        self._direct = make_backend()
        try:
            self._mirror = make_backend()
        except BaseException:
            self._direct.close()
            raise
        self.name = f"{self._direct.name}+flip-test"
        self.parallel = bool(parallel)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medius-flip") if parallel else None
        self._lock = threading.Lock()

    def camera_yaw(self) -> dict[str, float] | None:
        """The direct model's trunk turn (the mirrored image turns it the other way)."""
        f = getattr(self._direct, "camera_yaw", None)
        return f() if callable(f) else None

    def facing_from_depth(self) -> dict[str, float] | None:
        """The direct (unmirrored) model's depth evidence; mirroring does not change depth."""
        f = getattr(self._direct, "facing_from_depth", None)
        return f() if callable(f) else None

    def describe(self) -> dict[str, Any]:
        return {
            **self._direct.describe(),
            "flip_test": {
                "method": "each frame and its left-right mirror image, mirrored back with left and right "
                "keypoints exchanged; confidence-weighted mean per keypoint",
                "reference": "Xiao et al. 2018 (Simple Baselines, ECCV); Sun et al. 2019 (HRNet, CVPR)",
                "parallel": self.parallel,
            },
        }

    def detect(self, image_rgb: np.ndarray, time_s: float) -> list[PersonPose]:
        width = image_rgb.shape[1]
        flipped = np.ascontiguousarray(image_rgb[:, ::-1])
        if self._pool is not None:
            future = self._pool.submit(self._mirror.detect, flipped, time_s)
            direct = self._direct.detect(image_rgb, time_s)
            mirrored = future.result()
        else:
            direct = self._direct.detect(image_rgb, time_s)
            mirrored = self._mirror.detect(flipped, time_s)
        return combine_flip(direct, [mirror_pose(p, width) for p in mirrored], width)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            try:
                self._direct.close()
            finally:
                self._mirror.close()

    def __enter__(self) -> FlipTestBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
