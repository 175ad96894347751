"""The annotated video: skeleton, FPPA / pelvis / trunk lines, live values, reps or stances, face blurring.

A single-leg result (squat, step-down) is drawn with its reps ("Rep 2 - left stance (L1)", a
``DEEPEST`` flash); a gait result (``task`` walk/run, or a ``stances`` list) with its stances: the
panel names the stance under way (``L stance 3 - right swing``), ``Double support`` when both feet
are down and ``Flight`` when neither is (running), with the live pelvic drop, hip adduction and
trunk lean of the stance leg; a ``MID-STANCE`` flash; the progress bar shows the left stances in
its upper half and the right stances in its lower half.

Drawing uses cv2 on the RGB ``ndarray`` of each decoded frame (colours below are RGB);
decoding and H.264 encoding go through :mod:`medius.io.video`. All per-frame geometry
(rep of each frame, head ellipse, person box) is precomputed with numpy so that the
per-frame Python work is a handful of cv2 calls.

Face blurring is on by default and covers everyone in the picture, from two sources:

* the tested person's head, from the pose keypoints: a generous ellipse computed from nose,
  eyes and ears (size from the ear-to-ear, eye-to-eye or shoulder distance). When a frame has
  no face point the last head region is blurred for up to ``0.5 s``; after that, if both
  shoulders are known, the head region is estimated above the shoulders. This works when the
  face is turned away from the camera.
* every face a face detector finds (:class:`medius.analysis.faces.FaceDetector`: MediaPipe Face Detection, run
  offline from the models inside the mediapipe wheel), bystanders included: the face box
  enlarged 1.6 times (hair, ears, chin), held for ``0.3 s`` after the detector last saw it.
  Frames are written about a second late (36 frames at 1280 x 720) so that a face found for
  the first time is also blurred in the frames before, where the detector had not looked for
  it yet or had missed it.
* every person the pose layer's once-a-second census saw (``census``): the head region from
  that person's keypoints (as for the tested person, enlarged 1.3 times), carried forwards to
  the next census frame and backwards to the previous one by Lucas-Kanade optical flow on the
  person's face and trunk points (the trunk's median motion), growing with the time and the
  distance carried. This covers bystanders whose face the detector cannot see (turned away,
  looking down) and the tested person while the tracking has lost them; a census head inside
  the tested person's own head region is left to that region, so the tested person's body is
  not blurred.

The analysis keeps its frame copy at
:data:`medius.analysis.video_pass.ANNOTATED_MAX_SIDE_PX` (960 px), and the video is written at that size. Decoding
(its thread), face detection and optical flow (the calling thread) and blurring, drawing and
encoding (a worker thread) overlap.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import queue
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from medius.analysis.faces import (
    FACE_POINTS,
    LOOKBACK_MAX_BYTES,
    FaceScan,
    compute_head_ellipses,
    head_ellipses_of_points,
    inside_ellipses,
)
from medius.errors import InvalidInputError
from medius.io._sequence import Keypoints2D
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.io.video import Frame, VideoWriter, iter_frames
from medius.protocols.metric_spec import GAIT, SINGLE_LEG, metric_names, spec
from medius.report._common import (
    SIDE_COLOURS_RGB,
    SIDES,
    gait_phase_at_time,
    is_gait,
    is_judgeable,
    rep_at_time,
    rep_labels,
    stance_labels,
)

#: the per-frame angle series the overlay reads (the single-leg curves in degrees, from the spec)
_SERIES_METRICS: tuple[str, ...] = tuple(m for m in metric_names(SINGLE_LEG, "curve") if spec(m).unit == "deg")
#: the live values of the panel, per task group, labelled with the specification's short labels
_OVERLAY_METRICS: dict[str, tuple[str, ...]] = {
    SINGLE_LEG: ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg"),
    GAIT: ("pelvic_drop_deg", "hip_adduction_deg", "trunk_lean_deg"),
}

__all__ = [
    "CENSUS_HEAD_MARGIN",
    "FACE_HOLD_S",
    "compute_census_heads",
    "render_annotated_video",
    "render_keypoint_video",
]

#: how long the last known head region stays blurred when the face points disappear
FACE_HOLD_S = 0.5
#: x264 preset of the annotated video. At 960 x 540 (the sample's frames, crf 23, 2 threads)
#: "ultrafast" takes 3.0 ms of CPU a frame against 4.9 for "superfast" and 8.3 for "veryfast",
#: for a file 1.7 times the size of superfast's (6.1 against 3.7 MB for 20 s; PSNR 36.5 against
#: 36.3 dB): the encoder was the annotated pass's slowest stage. Its Constrained Baseline
#: stream plays in every browser; the report embeds it up to 25 MiB (about 80 s), links it above.
ANNOTATED_PRESET = "ultrafast"
#: time around a rep's deepest frame during which "DEEPEST" is shown
_DEEPEST_FLASH_S = 0.2
#: fraction of a stance's duration around its mid-stance during which "MID-STANCE" is shown
_MID_STANCE_FLASH_FRACTION = 0.08

_TRUNK_POINTS = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
_SKELETON = (
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"),
    ("left_heel", "left_toe"),
    ("left_ankle", "left_toe"),
    ("right_ankle", "right_heel"),
    ("right_heel", "right_toe"),
    ("right_ankle", "right_toe"),
)
_WHITE = (235, 235, 235)
_PELVIS = (240, 228, 66)  # Okabe-Ito yellow
_TRUNK = (86, 180, 233)  # Okabe-Ito sky blue
_WARN = (255, 110, 110)
#: lighter tints of the side colours, readable as text on the dark panel
_SIDE_TEXT = {"left": (110, 180, 240), "right": (245, 150, 70)}
_FONT = cv2.FONT_HERSHEY_SIMPLEX
#: where the value panel may go, in order of preference: (0 left / 1 right, 0 top / 1 bottom)
_PANEL_CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))


# ---------------------------------------------------------------------------- geometry


def compute_person_boxes(keypoints: Keypoints2D) -> np.ndarray:
    """Box around the tested person per frame, head included, in displayed-frame px.

    Returns
    -------
    numpy.ndarray
        ``(time, 4)``: x0, y0, x1, y1 of every known keypoint and of the head ellipse of
        :func:`compute_head_ellipses`; NaN where the frame has no keypoint.
    """
    pos = keypoints.position
    ok = np.all(np.isfinite(pos), axis=2)
    x0 = np.where(ok, pos[..., 0], np.inf).min(axis=1)
    y0 = np.where(ok, pos[..., 1], np.inf).min(axis=1)
    x1 = np.where(ok, pos[..., 0], -np.inf).max(axis=1)
    y1 = np.where(ok, pos[..., 1], -np.inf).max(axis=1)
    head, _ = compute_head_ellipses(keypoints)
    box = np.stack(
        [
            np.fmin(x0, head[:, 0] - head[:, 2]),
            np.fmin(y0, head[:, 1] - head[:, 3]),
            np.fmax(x1, head[:, 0] + head[:, 2]),
            np.fmax(y1, head[:, 1] + head[:, 3]),
        ],
        axis=1,
    )
    box[~ok.any(axis=1)] = np.nan
    return box


class _HeadTracker:
    """The head ellipse to blur in each frame: face points, else the last one for 0.5 s, else shoulders."""

    def __init__(self, keypoints: Keypoints2D, hold_s: float = FACE_HOLD_S) -> None:
        self.ellipse, self.estimate = compute_head_ellipses(keypoints)
        self.hold_s = hold_s
        self._last: np.ndarray | None = None
        self._last_t = -math.inf

    def region(self, row: int | None, time_s: float) -> np.ndarray | None:
        if row is not None and np.isfinite(self.ellipse[row, 0]):
            self._last = self.ellipse[row]
            self._last_t = time_s
            return self._last
        if self._last is not None and 0.0 <= time_s - self._last_t <= self.hold_s + 1e-9:
            return self._last
        if row is not None and np.isfinite(self.estimate[row, 0]):
            return self.estimate[row]
        return None


def blur_ellipse(image: np.ndarray, ellipse: Sequence[float] | np.ndarray) -> None:
    """Blur ``image`` in place inside an ellipse ``(cx, cy, semi_x, semi_y)`` (image px), strongly.

    The region is pixelated (blocks of a third of the semi-axis) and then smoothed with two box
    filters, about a Gaussian of 0.75 blocks, whose cost does not grow with the size of the head
    (no recognisable detail survives); the edge is feathered outside the ellipse so the whole
    ellipse is fully blurred.
    """
    h, w = image.shape[:2]
    cx, cy, ax, ay = (float(v) for v in ellipse)
    feather = max(2.0, 0.15 * ax)
    x0 = max(0, int(math.floor(cx - ax - 2 * feather)))
    x1 = min(w, int(math.ceil(cx + ax + 2 * feather)))
    y0 = max(0, int(math.floor(cy - ay - 2 * feather)))
    y1 = min(h, int(math.ceil(cy + ay + 2 * feather)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    crop = image[y0:y1, x0:x1]
    ch, cw = crop.shape[:2]
    block = max(3, int(ax / 3))
    small = cv2.resize(crop, (max(1, cw // block), max(1, ch // block)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=1.0)
    blurred = cv2.resize(small, (cw, ch), interpolation=cv2.INTER_LINEAR)
    # two box filters of width ~1.8 blocks: about a Gaussian of 0.75 blocks, at a cost that does
    # not grow with the width (a large head's Gaussian costs tens of ms)
    box = 2 * int(0.9 * block) + 1
    blurred = cv2.blur(cv2.blur(blurred, (box, box)), (box, box))
    mask: np.ndarray = np.zeros((ch, cw), np.float32)
    cv2.ellipse(
        mask,
        (int(round(cx - x0)), int(round(cy - y0))),
        (int(round(ax + feather)), int(round(ay + feather))),
        0.0,
        0.0,
        360.0,
        (1.0,),
        -1,
    )
    edge = 2 * int(0.6 * feather) + 1  # two box passes: about a Gaussian of feather / 2
    mask = cv2.blur(cv2.blur(mask, (edge, edge)), (edge, edge))
    image[y0:y1, x0:x1] = cv2.blendLinear(crop, blurred, 1.0 - mask, mask)




# ---------------------------------------------------------------------------- census heads
#: the region blurred over a head the census saw: its head ellipse (as for the tested person)
#: enlarged this many times
CENSUS_HEAD_MARGIN = 1.3
#: a carried head's region grows by this fraction of its size per second it is carried by the
#: optical flow (covers a drift of the flow and a head that turns or bends)
_CENSUS_GROWTH_PER_S = 1.0
#: the same once the flow has lost the head (the region stays where it was last followed)
_CENSUS_LOST_GROWTH_PER_S = 4.0
#: a carried region grows to at most this many times its first size (margins included)
_CENSUS_MAX_GROWTH = 2.5
#: and by this fraction of the distance it was carried (the flow lags behind a fast head that
#: turns or bends: a runner gets a wider region than someone standing still)
_CENSUS_MOTION_MARGIN = 0.5
#: a face centred inside a census head region shrunk this much (centre kept) is left to that
#: region by the face detector (not followed: it is blurred anyway)
_CENSUS_COVERS = np.array([1.0, 1.0, 0.5, 0.5])
#: census keypoints below this confidence are ignored
_CENSUS_MIN_CONFIDENCE = 0.3
#: the optical flow runs on a grey copy of the frame reduced to this long side (px): heads are
#: followed to a few px, far less than the margins, for a quarter of the cost at 960 px
_FLOW_MAX_SIDE_PX = 480
#: optical-flow window (px in that copy) and pyramid levels
_FLOW_WINDOW_PX = 15
_FLOW_LEVELS = 3


def compute_census_heads(census: MultiPersonKeypoints) -> np.ndarray:
    """The head ellipse of every person the census saw: ``(census frame, person slot, 4)``.

    Each ellipse is ``(cx, cy, semi_x, semi_y)`` in displayed-frame px, computed as for the
    tested person (:func:`compute_head_ellipses`: from the face points, else estimated above the
    shoulders) from the keypoints of confidence 0.3 or more; NaN for an empty slot or a person
    with neither face points nor both shoulders.
    """
    names = list(census.keypoint_names)
    if census.image_size:
        long_side = float(max(census.image_size))
    else:
        long_side = float(np.nanmax(census.position, initial=1.0))
    confident = np.nan_to_num(census.confidence, nan=0.0) >= _CENSUS_MIN_CONFIDENCE
    pos = np.where(confident[..., None], census.position, np.nan)
    n, people = pos.shape[:2]
    ellipse, estimate = head_ellipses_of_points(pos.reshape(n * people, *pos.shape[2:]), names, long_side)
    best = np.where(np.isfinite(ellipse[:, :1]), ellipse, estimate)
    best[~np.all(np.isfinite(best), axis=1)] = np.nan
    return best.reshape(n, people, 4)


@dataclass
class _CarriedHead:
    """A census head carried from its census frame to the frames around it by the optical flow."""

    points: np.ndarray  # (m, 2) float32 image px: the person's head and trunk points, moved with the flow
    trunk: np.ndarray  # (m,) bool: which of them are shoulders and hips
    centre: np.ndarray  # (2,) head centre, image px
    axes: np.ndarray  # (2,) semi-axes at the census frame, image px (margin included)
    start_s: float  # the census frame's time
    limit_s: float  # carried up to this time (after start_s forwards, before it backwards)
    lost_at_s: float | None = None  # when the flow lost it
    path_px: float = 0.0  # distance carried so far

    def ellipse(self, time_s: float) -> np.ndarray:
        carried = abs(time_s - self.start_s)
        lost = 0.0 if self.lost_at_s is None else abs(time_s - self.lost_at_s)
        grow = 1.0 + _CENSUS_GROWTH_PER_S * carried + _CENSUS_LOST_GROWTH_PER_S * lost
        grow = min(_CENSUS_MAX_GROWTH, grow)
        extra = _CENSUS_MOTION_MARGIN * self.path_px
        semi = np.minimum(self.axes * grow + extra, self.axes * _CENSUS_MAX_GROWTH)
        return np.array([self.centre[0], self.centre[1], semi[0], semi[1]])


class _CensusHeads:
    """Blur regions of everyone the once-a-second census saw, carried to the frames in between.

    On a census frame every census person's head region (:func:`compute_census_heads`,
    enlarged :data:`CENSUS_HEAD_MARGIN` times) is blurred; the person's keypoints are then
    followed with pyramidal Lucas-Kanade optical flow forwards until the next census frame and
    backwards (through the frames still waiting for the encoder) to the previous one, and the
    head region moves with the median motion of the trunk (shoulders, hips; of the face points
    where fewer than two trunk points are followed). The region grows with the time carried
    (faster where the flow lost the points) and with the distance carried, so that a person who
    moves between two census frames stays covered.
    """

    def __init__(self, census: MultiPersonKeypoints, interval_s: float | None = None) -> None:
        self.heads = compute_census_heads(census)
        self.time_s = np.asarray(census.time_s, dtype=float)
        self._by_time = np.argsort(self.time_s, kind="stable")  # census frames in time order
        self._times_sorted = self.time_s[self._by_time]
        self._times_list = [float(v) for v in self._times_sorted]  # bisect: no numpy per frame
        self._times_list_by_slot = [float(v) for v in self.time_s]
        self.frame_index = {int(f): k for k, f in enumerate(np.asarray(census.frame_index))}
        names = list(census.keypoint_names)
        self._trunk = np.array([n in _TRUNK_POINTS for n in names])
        self._tracked = self._trunk | np.array([n in FACE_POINTS for n in names])
        self.census = census
        if interval_s is None:
            steps = np.diff(self.time_s)
            interval_s = float(np.median(steps)) if steps.size else 1.0
        self.interval_s = float(interval_s)
        self.forward: list[_CarriedHead] = []
        self._used: set[int] = set()

    def observation(self, frame_index: int, time_s: float, scale: float) -> list[_CarriedHead]:
        """The census people of this frame (empty unless it is a census frame), as carried heads."""
        k = self.frame_index.get(int(frame_index))
        if k is None and self.time_s.size:  # a census frame within 1 ms: one of two neighbours
            j = bisect.bisect_left(self._times_list, time_s)
            near = [int(self._by_time[i]) for i in (j - 1, j) if 0 <= i < len(self._times_list)]
            near = [c for c in near if abs(self._times_list_by_slot[c] - time_s) < 1e-3]
            k = min(near, key=lambda c: abs(self._times_list_by_slot[c] - time_s)) if near else None
        if k is None or k in self._used:
            return []
        self._used.add(k)
        conf = np.nan_to_num(self.census.confidence[k], nan=0.0)
        pos = self.census.position[k]
        out = []
        for slot, head in enumerate(self.heads[k]):
            if not np.isfinite(head[0]):
                continue
            ok = conf[slot] >= _CENSUS_MIN_CONFIDENCE
            ok &= np.all(np.isfinite(pos[slot]), axis=1) & self._tracked
            out.append(
                _CarriedHead(
                    points=(pos[slot][ok] * scale).astype(np.float32),
                    trunk=self._trunk[ok],
                    centre=head[:2] * scale,
                    axes=head[2:] * scale * CENSUS_HEAD_MARGIN,
                    start_s=float(time_s),
                    limit_s=float(time_s) + self.interval_s,
                )
            )
        return out


def _to_gray(image: np.ndarray) -> np.ndarray:
    """The grey picture the optical flow runs on: long side at most :data:`_FLOW_MAX_SIDE_PX`."""
    h, w = image.shape[:2]
    step = max(1, math.ceil(max(h, w) / _FLOW_MAX_SIDE_PX))
    if step > 1:
        image = cv2.resize(image, (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _column_median(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=0)`` of a small ``(n >= 1, 2)`` array, without its overhead.

    The same numbers (the middle value, or the mean of the two middle values, of each sorted
    column) at a tenth of the cost for the handful of points of one head.
    """
    ordered = np.sort(values, axis=0)
    n = ordered.shape[0]
    if n % 2:
        return ordered[n // 2]
    return (ordered[n // 2 - 1] + ordered[n // 2]) / ordered.dtype.type(2)


def _flow_heads(
    heads: Sequence[_CarriedHead], src: np.ndarray, dst: np.ndarray, dst_time_s: float, factor: float = 1.0
) -> None:
    """Move ``heads`` (points in ``src``) to the grey image ``dst`` with one optical-flow call.

    The grey images are the frames reduced ``factor`` times (see :func:`_to_gray`); the points
    are in frame px.
    """
    live = [h for h in heads if h.lost_at_s is None and len(h.points)]
    if not live:
        return
    pts = np.concatenate([h.points for h in live]).reshape(-1, 1, 2) / np.float32(factor)
    new, status, _ = cv2.calcOpticalFlowPyrLK(  # type: ignore[call-overload]  # cv2 stubs: nextPts may be None
        src,
        dst,
        pts,
        None,
        winSize=(_FLOW_WINDOW_PX, _FLOW_WINDOW_PX),
        maxLevel=_FLOW_LEVELS,
        criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 0.03),
    )
    new = new.reshape(-1, 2) * np.float32(factor)
    status = status.reshape(-1).astype(bool) & np.all(np.isfinite(new), axis=1)
    start = 0
    for head in live:
        m = len(head.points)
        d = new[start : start + m] - head.points
        ok = status[start : start + m]
        start += m
        if ok.sum() < 2:
            head.lost_at_s = dst_time_s
            continue
        median = _column_median(d[ok])
        # points that moved unlike the rest lost their texture (or hit an occluder)
        good = ok & (np.hypot(*(d - median).T) <= max(2.0, 0.75 * float(head.axes[0])))
        if good.sum() < 2:
            head.lost_at_s = dst_time_s
            continue
        # the median motion of the trunk (shoulders, hips): the few face points on a small head
        # lose their texture first (they stick to the background while the body moves on)
        trunk = good & head.trunk
        shift = _column_median(d[trunk if trunk.sum() >= 2 else good])
        head.centre = head.centre + shift
        head.path_px += float(np.hypot(*shift))
        head.points = np.where(good[:, None], head.points + d, head.points + median).astype(np.float32)


# ---------------------------------------------------------------------------- text
def _text_size(text: str, scale: float, thickness: int) -> tuple[int, int]:
    (w, h), _ = cv2.getTextSize(text.replace("°", "o"), _FONT, scale, thickness)
    return w, h


def _put_text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float,
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    """cv2.putText that draws ``°`` as a small circle (Hershey fonts have no degree sign)."""
    x, y = org
    parts = text.split("°")
    for i, part in enumerate(parts):
        if part:
            cv2.putText(img, part, (x, y), _FONT, scale, colour, thickness, cv2.LINE_AA)
            x += _text_size(part, scale, thickness)[0]
        if i < len(parts) - 1:
            _, th = _text_size("0", scale, thickness)
            r = max(2, int(round(th * 0.2)))
            cv2.circle(img, (x + r + 1, y - th + r), r, colour, max(1, thickness // 2), cv2.LINE_AA)
            x += 2 * r + 3


def _fmt(value: float, signed: bool = True) -> str:
    if value is None or not np.isfinite(value):
        return "--"
    value = round(float(value), 1) + 0.0  # no "-0.0"
    return f"{value:+.1f}°" if signed else f"{value:.1f}°"


# ---------------------------------------------------------------------------- overlay
@dataclass
class _Style:
    lw: int
    font_scale: float
    font_thickness: int
    pad: int
    bar_h: int

    @classmethod
    def for_size(cls, width: int, height: int) -> _Style:
        short = min(width, height)
        lw = max(1, int(round(short / 320)))
        font_scale = max(0.38, short / 680)
        return cls(
            lw=lw,
            font_scale=font_scale,
            font_thickness=max(1, int(round(font_scale * 1.6))),
            pad=max(4, int(round(short / 90))),
            bar_h=max(4, int(round(height / 90))),
        )


def _dashed_line(
    img: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    colour: tuple[int, int, int],
    thickness: int,
    dash_px: float,
) -> None:
    length = float(np.hypot(*(q - p)))
    if not np.isfinite(length) or length < 1:
        return
    n = max(1, int(length / (2 * dash_px)))
    for k in range(n):
        a = p + (q - p) * (2 * k) / (2 * n)
        b = p + (q - p) * (2 * k + 1) / (2 * n)
        cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour, thickness, cv2.LINE_AA)


class _Overlay:
    """Everything drawn on one frame, with all per-frame lookups precomputed."""

    def __init__(self, result: Mapping[str, Any], series: Mapping[str, Any], keypoints: Keypoints2D) -> None:
        n = keypoints.n_frames
        series = series or {}
        t = np.asarray(series.get("time_s", keypoints.time_s), dtype=float)
        if t.shape != (n,):
            raise ValueError(
                f"series['time_s'] must have one value per keypoint frame ({n}), got shape {t.shape}"
            )
        self.keypoints = keypoints
        self.time_s = keypoints.time_s
        self.judgeable = is_judgeable(result)
        self.synthetic = bool(result.get("synthetic"))
        self.gait = is_gait(result)
        self.task = str(result.get("task") or "")
        self.reps = (
            [r for r in (result.get("reps") or []) if r.get("side") in SIDES]
            if self.judgeable and not self.gait
            else []
        )
        self.labels = rep_labels(self.reps)
        self.stances = (
            [
                st
                for st in result.get("stances") or []
                if st.get("side") in SIDES
                and isinstance(st.get("foot_strike_s"), int | float)
                and isinstance(st.get("foot_off_s"), int | float)
            ]
            if self.judgeable and self.gait
            else []
        )
        self.stances.sort(key=lambda st: float(st["foot_strike_s"]))
        self.stance_names = stance_labels(self.stances)
        self.values: dict[tuple[str, str], np.ndarray] = {}
        for key in _SERIES_METRICS:
            for side in SIDES:
                arr = series.get(f"{key}_{side}")
                arr = np.full(n, np.nan) if arr is None else np.asarray(arr, float)
                if arr.shape != (n,):
                    raise ValueError(
                        f"series['{key}_{side}'] must have one value per keypoint frame ({n}), got shape {arr.shape}"
                    )
                self.values[(key, side)] = arr
        self.rep_of_row = np.full(n, -1)
        for i, rep in enumerate(self.reps):
            start, end = rep.get("start_s"), rep.get("end_s")
            if start is not None and end is not None:
                self.rep_of_row[(keypoints.time_s >= start - 1e-9) & (keypoints.time_s <= end + 1e-9)] = i
        # gait: the stance under way in each row (latest foot strike) and, in double support, the other
        self.stance_of_row = np.full((n, 2), -1)
        for i, st in enumerate(self.stances):
            inside = (keypoints.time_s >= float(st["foot_strike_s"]) - 1e-9) & (
                keypoints.time_s <= float(st["foot_off_s"]) + 1e-9
            )
            self.stance_of_row[inside, 1] = self.stance_of_row[inside, 0]
            self.stance_of_row[inside, 0] = i
        duration = (result.get("input") or {}).get("duration_s")
        last = float(keypoints.time_s[-1]) if n else 0.0
        dt = 1.0 / keypoints.fps if n > 1 and np.isfinite(keypoints.fps) else 0.0
        self.duration_s = max(float(duration) if duration else 0.0, last + dt, 1e-6)
        self.index_of = {int(fi): row for row, fi in enumerate(np.asarray(keypoints.frame_index))}
        self.names = {name: i for i, name in enumerate(keypoints.keypoint_names)}
        self.has_points = np.any(np.all(np.isfinite(keypoints.position), axis=2), axis=1)
        self.person_box = compute_person_boxes(keypoints)
        self._half_dt = 0.5 * dt if dt > 0 else 1e-3
        self._corner = 0  # where the value panel was drawn last (index in _PANEL_CORNERS)

    def row_for(self, frame_index: int, time_s: float) -> int | None:
        """The keypoint row of a decoded frame (by frame index, else by nearest timestamp)."""
        row = self.index_of.get(int(frame_index))
        if row is not None:
            return row
        if self.time_s.size == 0:
            return None
        row = int(np.argmin(np.abs(self.time_s - time_s)))
        return row if abs(self.time_s[row] - time_s) <= self._half_dt else None

    def _pt(self, pts: np.ndarray, name: str) -> np.ndarray | None:
        i = self.names.get(name)
        if i is None or not np.all(np.isfinite(pts[i])):
            return None
        return pts[i]

    def draw(
        self, img: np.ndarray, row: int, time_s: float, scale: float, *, draw_head: bool = False
    ) -> None:
        h, w = img.shape[:2]
        st = self._style(w, h)
        pts = self.keypoints.position[row] * scale
        ipt = {
            name: (int(round(p[0])), int(round(p[1])))
            for name in self.names
            if (p := self._pt(pts, name)) is not None
        }
        rep_i = int(self.rep_of_row[row])
        rep = self.reps[rep_i] if rep_i >= 0 else None
        phase = [int(i) for i in self.stance_of_row[row] if i >= 0]

        if draw_head:
            face = [p for n in FACE_POINTS if (p := self._pt(pts, n)) is not None]
            if face:
                c = np.mean(face, axis=0)
                left_ear, right_ear = self._pt(pts, "left_ear"), self._pt(pts, "right_ear")
                r = (
                    0.7 * float(np.hypot(*(left_ear - right_ear)))
                    if left_ear is not None and right_ear is not None
                    else 10 * st.lw
                )
                cv2.circle(img, (int(c[0]), int(c[1])), max(3, int(r)), _WHITE, st.lw, cv2.LINE_AA)

        # skeleton
        for a, b in _SKELETON:
            if a in ipt and b in ipt:
                cv2.line(img, ipt[a], ipt[b], _WHITE, st.lw, cv2.LINE_AA)
        # pelvis and trunk
        if "left_hip" in ipt and "right_hip" in ipt:
            cv2.line(img, ipt["left_hip"], ipt["right_hip"], _PELVIS, 2 * st.lw + 1, cv2.LINE_AA)
        l_hip, r_hip = self._pt(pts, "left_hip"), self._pt(pts, "right_hip")
        l_sh, r_sh = self._pt(pts, "left_shoulder"), self._pt(pts, "right_shoulder")
        if l_hip is not None and r_hip is not None and l_sh is not None and r_sh is not None:
            mid_hip = (l_hip + r_hip) / 2.0
            mid_sh = (l_sh + r_sh) / 2.0
            length = float(np.hypot(*(mid_sh - mid_hip)))
            _dashed_line(img, mid_hip, mid_hip - np.array([0.0, length]), _TRUNK, st.lw, 4 * st.lw + 2)
            cv2.line(
                img,
                tuple(int(v) for v in mid_hip),
                tuple(int(v) for v in mid_sh),
                _TRUNK,
                2 * st.lw + 1,
                cv2.LINE_AA,
            )
        # FPPA lines of the stance leg (both legs between reps); gait: of each leg in stance
        if self.gait:
            legs = tuple(self.stances[i]["side"] for i in phase) or SIDES
            emphasise = bool(phase)
        else:
            legs = (rep["side"],) if rep else SIDES
            emphasise = rep is not None
        for side in legs:
            hip, knee, ankle = (self._pt(pts, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
            if hip is None or knee is None or ankle is None:
                continue
            colour = SIDE_COLOURS_RGB[side]
            thick = 2 * st.lw + 1 if emphasise else st.lw + 1
            _dashed_line(img, hip, ankle, colour, st.lw, 3 * st.lw + 2)
            poly = np.array([hip, knee, ankle]).round().astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(img, [poly], False, colour, thick, cv2.LINE_AA)
            cv2.circle(img, ipt[f"{side}_knee"], 2 * st.lw + 2, colour, -1, cv2.LINE_AA)
        for name, xy in ipt.items():
            if draw_head or name not in FACE_POINTS:  # no face dots on a blurred face
                cv2.circle(img, xy, st.lw + 1, _WHITE, -1, cv2.LINE_AA)

        self._draw_progress(img, time_s, st)
        self._draw_panel(img, row, rep_i, st, self.person_box[row] * scale, phase)
        if (
            rep is not None
            and rep.get("bottom_s") is not None
            and abs(time_s - rep["bottom_s"]) <= _DEEPEST_FLASH_S
        ):
            self._draw_flash(img, "DEEPEST", SIDE_COLOURS_RGB[rep["side"]], st)
        for i in phase:
            stance = self.stances[i]
            mid, strike, off = stance.get("mid_stance_s"), stance["foot_strike_s"], stance["foot_off_s"]
            window = max(_MID_STANCE_FLASH_FRACTION * (float(off) - float(strike)), self._half_dt)
            if isinstance(mid, int | float) and abs(time_s - mid) <= window + 1e-9:
                self._draw_flash(img, "MID-STANCE", SIDE_COLOURS_RGB[stance["side"]], st)
                break

    def draw_status(self, img: np.ndarray, time_s: float) -> None:
        """The progress bar and the panel alone, for a frame without the tested person.

        The panel shows the rep (gait: the stance) at ``time_s`` without values ("Not judgeable -
        see the report" when the result is not judgeable), so that the banner is on every frame.
        """
        h, w = img.shape[:2]
        st = self._style(w, h)
        rep_i = rep_at_time(self.reps, time_s)
        phase = gait_phase_at_time(self.stances, time_s)[::-1]  # latest foot strike first
        self._draw_progress(img, time_s, st)
        self._draw_panel(img, None, -1 if rep_i is None else rep_i, st, None, phase)

    def _style(self, width: int, height: int) -> _Style:
        """The drawing sizes; a gait result gets a progress bar twice as tall (a half per side)."""
        st = _Style.for_size(width, height)
        if self.gait:
            st = replace(st, bar_h=2 * st.bar_h)
        return st

    def _draw_progress(self, img: np.ndarray, time_s: float, st: _Style) -> None:
        w = img.shape[1]
        img[: st.bar_h] = (img[: st.bar_h] * 0.3).astype(np.uint8)
        half = st.bar_h // 2
        for stance in self.stances:
            x0 = int(round(float(stance["foot_strike_s"]) / self.duration_s * w))
            x1 = max(x0 + 1, int(round(float(stance["foot_off_s"]) / self.duration_s * w)))
            y0, y1 = (0, half - 1) if stance["side"] == "left" else (half, st.bar_h - 1)
            cv2.rectangle(img, (x0, y0), (x1 - 1, y1), SIDE_COLOURS_RGB[stance["side"]], -1)
        for rep in self.reps:
            start, end = rep.get("start_s"), rep.get("end_s")
            if start is None or end is None:
                continue
            x0 = int(round(start / self.duration_s * w))
            x1 = max(x0 + 1, int(round(end / self.duration_s * w)))
            cv2.rectangle(img, (x0, 0), (x1, st.bar_h - 1), SIDE_COLOURS_RGB[rep["side"]], -1)
        x = int(round(min(max(time_s / self.duration_s, 0.0), 1.0) * (w - 1)))
        cv2.rectangle(img, (0, st.bar_h - max(1, st.bar_h // 4)), (x, st.bar_h - 1), _WHITE, -1)
        cv2.line(img, (x, 0), (x, st.bar_h + st.pad // 2), _WHITE, max(2, st.lw + 1))

    def _value(self, key: str, side: str, row: int | None) -> float:
        return float("nan") if row is None else float(self.values[(key, side)][row])

    def _gait_lines(self, row: int | None, phase: Sequence[int]) -> list[tuple[str, tuple[int, int, int]]]:
        """The panel lines of a gait result: the stance under way and the stance leg's live values."""
        lines: list[tuple[str, tuple[int, int, int]]] = []
        if not phase:
            if self.task == "run":
                lines.append(("Flight - both feet off the ground", _WHITE))
            else:
                lines.append(("No stance detected", _WHITE))
            for side in SIDES:
                lines.append(
                    (f"{side.capitalize()} pelvic drop {_fmt(self._value('pelvic_drop_deg', side, row))}", _SIDE_TEXT[side])
                )
            return lines
        cur = self.stances[phase[0]]
        side = cur["side"]
        label = self.stance_names[phase[0]]
        other = "right" if side == "left" else "left"
        if len(phase) > 1:
            prev = self.stance_names[phase[1]]
            lines.append((f"Double support - {prev} to {label}", _SIDE_TEXT[side]))
        else:
            lines.append((f"{side[0].upper()} stance {label[1:]} - {other} swing", _SIDE_TEXT[side]))
        lines += self._value_lines(_OVERLAY_METRICS["gait"], side, row)
        return lines

    def _value_lines(
        self, metrics: Sequence[str], side: str, row: int | None
    ) -> list[tuple[str, tuple[int, int, int]]]:
        """``Pelvic drop   4.2°``: the metrics' short labels (metric specification), aligned."""
        labels = [spec(m).short_label for m in metrics]
        width = max(len(lab) for lab in labels) + 1
        return [(f"{lab:<{width}}{_fmt(self._value(m, side, row))}", _WHITE) for lab, m in zip(labels, metrics,
                                                                                               strict=True)]

    def _panel_lines(
        self, row: int | None, rep_i: int, phase: Sequence[int] = ()
    ) -> list[tuple[str, tuple[int, int, int]]]:
        """The panel's text lines and colours; values are ``--`` where ``row`` is None."""
        lines: list[tuple[str, tuple[int, int, int]]] = []
        if not self.judgeable:
            lines.append(("Not judgeable - see the report", _WARN))
        elif self.gait:
            lines.extend(self._gait_lines(row, phase))
        elif rep_i >= 0:
            rep = self.reps[rep_i]
            side = rep["side"]
            status = " (partial)" if rep.get("status") == "partial" else ""
            lines.append(
                (
                    f"Rep {rep.get('rep', rep_i + 1)} - {side} stance ({self.labels[rep_i]}){status}",
                    _SIDE_TEXT[side],
                )
            )
            lines += self._value_lines(_OVERLAY_METRICS["single_leg"], side, row)
        else:
            lines.append(("Between reps", _WHITE))
            for side in SIDES:
                lines.append(
                    (
                        f"{side.capitalize()} knee FPPA {_fmt(self._value('fppa_deg', side, row))}",
                        _SIDE_TEXT[side],
                    )
                )
        if self.synthetic:
            lines.append(("SYNTHETIC DATA - demo only", _WARN))
        return lines

    def _panel_origin(
        self, img_w: int, img_h: int, width: int, height: int, st: _Style, person: np.ndarray | None
    ) -> tuple[int, int]:
        """Top-left corner of the panel: top-left of the frame unless it would cover the person.

        The corners are tried in the order of :data:`_PANEL_CORNERS`; the panel stays where it
        was while it covers nothing, else goes to the first corner free of the person's box
        (enlarged by the padding), else to the one covering the least of it.
        """
        xs = (st.pad, max(0, img_w - st.pad - width))
        ys = (st.bar_h + st.pad, max(st.bar_h + st.pad, img_h - st.pad - height))
        origins = [(xs[cx], ys[cy]) for cx, cy in _PANEL_CORNERS]
        if person is None or not np.all(np.isfinite(person)):
            return origins[self._corner]
        px0, py0, px1, py1 = person[0] - st.pad, person[1] - st.pad, person[2] + st.pad, person[3] + st.pad
        overlaps = [
            max(0.0, min(x + width, px1) - max(x, px0)) * max(0.0, min(y + height, py1) - max(y, py0))
            for x, y in origins
        ]
        if overlaps[self._corner] > 0:
            self._corner = int(np.argmin(overlaps))  # the first of equal ones
        return origins[self._corner]

    def _draw_panel(
        self,
        img: np.ndarray,
        row: int | None,
        rep_i: int,
        st: _Style,
        person: np.ndarray | None,
        phase: Sequence[int] = (),
    ) -> None:
        lines = self._panel_lines(row, rep_i, phase)
        sizes = [_text_size(text, st.font_scale, st.font_thickness) for text, _ in lines]
        line_h = int(max(h for _, h in sizes) * 1.75)
        width = max(w for w, _ in sizes) + 2 * st.pad
        height = line_h * len(lines) + st.pad
        x0, y0 = self._panel_origin(img.shape[1], img.shape[0], width, height, st, person)
        x1, y1 = min(img.shape[1], x0 + width), min(img.shape[0], y0 + height)
        img[y0:y1, x0:x1] = (img[y0:y1, x0:x1] * 0.35).astype(np.uint8)
        for k, (text, colour) in enumerate(lines):
            _put_text(
                img,
                text,
                (x0 + st.pad, y0 + line_h * (k + 1) - line_h // 4),
                st.font_scale,
                colour,
                st.font_thickness,
            )

    def _draw_flash(self, img: np.ndarray, text: str, colour: tuple[int, int, int], st: _Style) -> None:
        h, w = img.shape[:2]
        scale = st.font_scale * 1.4
        thick = st.font_thickness + 1
        tw, th = _text_size(text, scale, thick)
        x0 = (w - tw) // 2 - st.pad
        y1 = h - 2 * st.pad
        y0 = y1 - th - 2 * st.pad
        cv2.rectangle(img, (x0, y0), (x0 + tw + 2 * st.pad, y1), colour, -1)
        _put_text(img, text, (x0 + st.pad, y1 - st.pad), scale, (255, 255, 255), thick)


def _fps_hint(result: Mapping[str, Any], keypoints: Keypoints2D) -> float:
    fps = (result.get("input") or {}).get("fps_median")
    if isinstance(fps, int | float) and math.isfinite(fps) and fps > 0:
        return float(fps)
    return keypoints.fps if np.isfinite(keypoints.fps) and keypoints.fps > 0 else 30.0


def render_annotated_video(
    video_path: str | Path,
    out_path: str | Path,
    *,
    result: Mapping[str, Any],
    series: Mapping[str, Any],
    keypoints: Keypoints2D,
    blur_faces: bool = True,
    max_side_px: int | None = 1280,
    census: MultiPersonKeypoints | None = None,
    census_interval_s: float | None = None,
    frames: Iterable[Frame] | None = None,
    face_ellipses: Mapping[int, Sequence[np.ndarray]] | None = None,
) -> Path:
    """Write the input video with the analysis drawn on it (H.264 MP4).

    Every decoded frame is written with its own timestamp. Frames with keypoints get the
    skeleton, the stance leg's FPPA lines (hip-knee-ankle and the dashed hip-ankle reference),
    the pelvis line, the trunk line with a vertical reference, a progress bar with the reps,
    a panel with the rep (``Rep 2 - left stance (L1)``) and the current FPPA, pelvic drop and
    trunk lean of the stance side (both knees' FPPA between reps) and a ``DEEPEST`` flash at
    each rep's deepest frame. A gait result (walk, run) is drawn with its stances instead: the
    panel names the stance under way (``L stance 3 - right swing``, ``Double support - L3 to R4``,
    ``Flight`` in running), the live pelvic drop, hip adduction and trunk lean of the stance leg,
    a ``MID-STANCE`` flash, and the progress bar shows left stances in its upper half and right
    stances in its lower half. A not-judgeable result shows no values, only a "Not judgeable -
    see the report" banner. Frames without keypoints get the progress bar and the panel (without
    values). The panel sits in the top-left corner unless it would cover the tested person; it
    then moves to another corner (bottom-left first).

    Unless ``blur_faces`` is False, every face is blurred in every frame, from three sources:
    the tested person's head from the keypoints; every face :class:`FaceDetector` finds
    (bystanders included), held for :data:`DETECTED_FACE_HOLD_S` after it was last seen; and,
    when ``census`` is given, the head of every person the census saw (also people whose face
    is turned away or down), carried by optical flow to the frames between census frames (see
    :class:`_CensusHeads`). A census head lying inside the tested person's head region of the
    frame is left to that region. Frames leave for the encoder late (two scan cycles of the
    face detector, and at least one census interval; at most 160 MB of frames), so that a face
    found for the first time, or a census person, is followed back into the frames before and
    blurred there too.

    Blurring and drawing (on a worker thread, with the encoding) overlap the decoding (its own
    thread) and the face detection (the calling thread).

    Parameters
    ----------
    video_path
        the input video.
    out_path
        the MP4 file to write.
    result
        the analysis result dict (schema 1.0).
    series
        per-frame metric arrays aligned with ``keypoints`` (``fppa_deg_left`` ...).
    keypoints
        the filtered keypoints in displayed-frame px; rows are matched to decoded frames by
        ``frame_index`` (or, failing that, by timestamp).
    blur_faces
        blur every face in every frame (default True).
    max_side_px
        decode size, as in :func:`medius.io.video.iter_frames` (keypoints are scaled with
        ``frame.scale``); the video is written at this size. The analysis writes its
        annotated video at :data:`medius.analysis.video_pass.ANNOTATED_MAX_SIDE_PX`.
    census
        everyone the pose layer's census saw (displayed-frame px; matched to decoded frames by
        ``frame_index``, else by timestamp); used only when ``blur_faces`` is True.
    census_interval_s
        time between census frames; default: the median step of ``census.time_s`` (1 s if it
        has a single frame).
    frames
        the frames to draw on, instead of decoding ``video_path`` again: for example
        :meth:`medius.io.video.FrameCache.frames`, the copy the pose pass kept (each with the
        source's ``index``, ``time_s`` and its own ``scale``). ``video_path`` then only names
        the input in messages.
    face_ellipses
        the faces found beforehand (:meth:`FaceScan.ellipses`: displayed-frame px by frame
        index), blurred instead of running :class:`FaceDetector` here; used only when
        ``blur_faces`` is True.

    Returns
    -------
    Path
        ``out_path``.
    """
    out_path = Path(out_path)
    overlay = _Overlay(result, series, keypoints)
    heads = _HeadTracker(keypoints) if blur_faces else None
    crowd = (
        _CensusHeads(census, census_interval_s)
        if blur_faces and census is not None and census.position.shape[0] > 0
        else None
    )
    n_written = 0
    with contextlib.ExitStack() as stack:
        found = face_ellipses if blur_faces else None
        scan = stack.enter_context(FaceScan()) if blur_faces and found is None else None
        sink: _EncoderThread | None = None
        pending: deque[_PendingFrame] = deque()
        prev: _PendingFrame | None = None

        def prepare(item: _PendingFrame) -> _PendingFrame:
            # blurring and drawing here, encoding on the worker thread: the two overlap
            faces: Sequence[np.ndarray]
            if scan is not None:
                faces = scan.take(item.index)
            else:
                faces = found.get(item.index, ()) if found is not None else ()
            item.ellipses.extend(np.asarray(e, dtype=float) * item.scale for e in faces)
            img = item.image if item.image.flags.writeable else item.image.copy()
            for ellipse in item.ellipses:
                blur_ellipse(img, ellipse)
            for ellipse in item.crowd:
                if not inside_ellipses(ellipse, item.own_head):
                    blur_ellipse(img, ellipse)
            if item.row is not None and overlay.has_points[item.row]:
                overlay.draw(img, item.row, item.time_s, item.scale)
            else:
                overlay.draw_status(img, item.time_s)
            item.image = img
            return item

        def flush(item: _PendingFrame, writer: VideoWriter) -> None:
            writer.write(item.image, item.time_s)

        max_held: int | None = None  # frames held back at most (the grey copies add a third)
        source = frames if frames is not None else iter_frames(video_path, max_side_px=max_side_px)
        for frame in source:
            if sink is None:
                h, w = frame.image.shape[:2]
                writer = stack.enter_context(
                    VideoWriter(
                        out_path,
                        w,
                        h,
                        fps_hint=_fps_hint(result, keypoints),
                        preset=ANNOTATED_PRESET,
                        fast_convert=True,
                    )
                )
                sink = stack.enter_context(_EncoderThread(flush, writer))
            row = overlay.row_for(frame.index, frame.time_s)
            item = _PendingFrame(frame.image, frame.time_s, frame.scale, row, index=int(frame.index))
            if heads is not None:
                region = heads.region(row, frame.time_s)
                if region is not None:
                    item.ellipses.append(np.asarray(region) * frame.scale)
                if row is not None and np.isfinite(heads.ellipse[row, 0]):
                    own = heads.ellipse[row] * frame.scale
                    item.own_head = (own * np.array([1.0, 1.0, 1.5, 1.5]))[None, :]
            if crowd is not None:
                _carry_census_heads(crowd, item, prev, pending, frame.index)
            if scan is not None:
                # faces well inside a census head blurred in this frame need no following
                covered = item.ellipses + [
                    e * _CENSUS_COVERS for e in item.crowd if not inside_ellipses(e, item.own_head)
                ]
                scan.add(frame.image, frame.index, frame.time_s, frame.scale, covered=covered)
            pending.append(item)
            prev = item
            if max_held is None:
                held_bytes = frame.image.nbytes * (4 if crowd is not None else 3) // 3
                max_held = LOOKBACK_MAX_BYTES // max(1, held_bytes)
            face_lookback = min(max_held, scan.lookback_frames) if scan is not None else 0
            while len(pending) > max_held or (
                len(pending) > face_lookback
                and (crowd is None or frame.time_s - pending[0].time_s > crowd.interval_s + 1e-6)
            ):
                sink.put(prepare(pending.popleft()))
            n_written += 1
        while pending:
            sink.put(prepare(pending.popleft()))  # type: ignore[union-attr]
        if sink is not None:
            sink.close()
    if n_written == 0:
        raise InvalidInputError("no frame could be decoded to annotate", path=video_path)
    return out_path




def _carry_census_heads(
    crowd: _CensusHeads,
    item: _PendingFrame,
    prev: _PendingFrame | None,
    pending: deque[_PendingFrame],
    frame_index: int,
) -> None:
    """Census heads for a new frame: carry the running ones into it, start the ones seen in it.

    A census frame's people are blurred there, carried back through the waiting frames to the
    previous census frame, and carried forwards from here to the next one.
    """
    crowd.forward = [h for h in crowd.forward if item.time_s <= h.limit_s + 1e-9]
    observed = crowd.observation(frame_index, item.time_s, item.scale)
    if not crowd.forward and not observed:
        return
    item.gray = _to_gray(item.image)
    if crowd.forward:
        if prev is not None and prev.gray is not None:
            _flow_heads(crowd.forward, prev.gray, item.gray, item.time_s, _gray_factor(item))
        item.crowd.extend(h.ellipse(item.time_s) for h in crowd.forward)
    if not observed:
        return
    item.crowd.extend(h.ellipse(item.time_s) for h in observed)
    # backwards through the frames waiting for the encoder
    back = [replace(h, limit_s=h.start_s - crowd.interval_s) for h in observed]
    newer_gray = item.gray  # the grey image of the frame after ``older``
    for older in reversed(pending):
        if older.time_s < back[0].limit_s - 1e-9:
            break
        if older.gray is None:
            older.gray = _to_gray(older.image)
        _flow_heads(back, newer_gray, older.gray, older.time_s, _gray_factor(item))
        older.crowd.extend(h.ellipse(older.time_s) for h in back)
        newer_gray = older.gray
    crowd.forward.extend(observed)


def _gray_factor(item: _PendingFrame) -> float:
    assert item.gray is not None
    return item.image.shape[1] / item.gray.shape[1]


class _EncoderThread:
    """Blurs, draws and encodes the frames handed to :meth:`put`, in order, on a worker thread.

    cv2 and PyAV's encoder release the interpreter lock, so this overlaps the face detection on
    the calling thread. The queue is short (the frames are already held back for the face
    detector); the first error of the worker is raised in the caller at the next :meth:`put` or
    at :meth:`close`.
    """

    def __init__(self, process: Any, writer: VideoWriter, maxsize: int = 4) -> None:
        self._process = process
        self._writer = writer
        self._q: queue.Queue[_PendingFrame | None] = queue.Queue(maxsize=maxsize)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="medius-annotate-encode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is not None:
                continue
            try:
                self._process(item, self._writer)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                self._error = exc

    def put(self, item: _PendingFrame) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(item)

    def close(self) -> None:
        """Wait for every frame to be written; raise the worker's error if it had one."""
        if not self._closed:
            self._closed = True
            self._q.put(None)
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __enter__(self) -> _EncoderThread:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:  # stop the worker; keep the original error
            with contextlib.suppress(BaseException):
                self.close()


@dataclass
class _PendingFrame:
    """A decoded frame waiting to be blurred, annotated and written."""

    image: np.ndarray
    time_s: float
    scale: float
    row: int | None
    ellipses: list[np.ndarray] = field(default_factory=list)
    #: census heads to blur (skipped where they lie in ``own_head``)
    crowd: list[np.ndarray] = field(default_factory=list)
    #: the tested person's head region from the keypoints, enlarged, ``(0 or 1, 4)``
    own_head: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    #: grey copy for the optical flow of the census heads (made only when needed)
    gray: np.ndarray | None = None
    #: the source frame's index
    index: int = -1




def render_keypoint_video(
    out_path: str | Path,
    *,
    result: Mapping[str, Any],
    series: Mapping[str, Any],
    keypoints: Keypoints2D,
    size: tuple[int, int] | None = None,
) -> Path:
    """Draw the same overlay as :func:`render_annotated_video` on a plain dark background.

    For keypoint-file inputs (OpenPose JSON, TRC, synthetic demos) that have no video. One
    frame per keypoint sample, at the sample's timestamp; the head is drawn as a circle.

    Parameters
    ----------
    out_path
        the MP4 file to write.
    result, series, keypoints
        as in :func:`render_annotated_video`.
    size
        ``(width, height)`` of the output in px; default: ``keypoints.image_size`` scaled so
        that its longer side is at most 1280 px. The keypoints are scaled uniformly to fit.

    Returns
    -------
    Path
        ``out_path``.
    """
    out_path = Path(out_path)
    if keypoints.n_frames == 0:
        raise ValueError("keypoints must hold at least one frame to render a video, got 0")
    src_w, src_h = keypoints.image_size
    if src_w <= 0 or src_h <= 0:
        raise ValueError(f"keypoints.image_size must be positive, got {keypoints.image_size}")
    if size is None:
        factor = min(1.0, 1280.0 / max(src_w, src_h))
        width, height = int(round(src_w * factor)), int(round(src_h * factor))
    else:
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f"size must be (width, height) with positive values, got {size!r}")
        width, height = int(size[0]), int(size[1])
    width, height = max(2, width - width % 2), max(2, height - height % 2)
    scale = min(width / src_w, height / src_h)
    overlay = _Overlay(result, series, keypoints)
    background = np.empty((height, width, 3), np.uint8)
    background[:] = (22, 25, 31)
    with VideoWriter(out_path, width, height, fps_hint=_fps_hint(result, keypoints)) as writer:
        shift_s = min(0.0, float(keypoints.time_s[0]))  # the writer needs times >= 0
        for row, time_s in enumerate(keypoints.time_s):
            img = background.copy()
            if overlay.has_points[row]:
                overlay.draw(img, row, float(time_s), scale, draw_head=True)
            else:
                overlay.draw_status(img, float(time_s))
            writer.write(img, float(time_s) - shift_s)
    return out_path
