"""The annotated video: skeleton, FPPA / pelvis / trunk lines, live values, reps, face blurring.

Drawing uses cv2 on the RGB ``ndarray`` of each decoded frame (colours below are RGB);
decoding and H.264 encoding go through :mod:`medius.io.video`. All per-frame geometry
(rep of each frame, head ellipse) is precomputed with numpy so that the per-frame Python
work is a handful of cv2 calls.

Face blurring is on by default: a strong blur over a generous ellipse around the head,
computed from nose, eyes and ears (size from the ear-to-ear, eye-to-eye or shoulder
distance). When a frame has no face point the last head region is blurred for up to
``0.5 s``; after that, if both shoulders are known, the head region is estimated above
the shoulders, so that a face the pose model missed is still hidden.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from medius.errors import InvalidInputError
from medius.io._sequence import Keypoints2D
from medius.io.video import VideoWriter, iter_frames
from medius.report._common import (
    SIDE_COLOURS_RGB,
    SIDES,
    is_judgeable,
    rep_labels,
)

__all__ = ["FACE_HOLD_S", "render_annotated_video", "render_keypoint_video"]

#: how long the last known head region stays blurred when the face points disappear
FACE_HOLD_S = 0.5
#: time around a rep's deepest frame during which "DEEPEST" is shown
_DEEPEST_FLASH_S = 0.2

_FACE_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
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


# ---------------------------------------------------------------------------- geometry
def _pair_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1])


def _get(keypoints: Keypoints2D, name: str) -> np.ndarray:
    if name in keypoints.keypoint_names:
        return keypoints.xy(name)
    return np.full((keypoints.n_frames, 2), np.nan)


def compute_head_ellipses(keypoints: Keypoints2D) -> tuple[np.ndarray, np.ndarray]:
    """Head ellipse per frame from the face points, in displayed-frame px.

    Returns
    -------
    ellipse
        ``(time, 4)`` array of centre x, centre y, semi-axis x, semi-axis y; NaN where no face
        point exists.
    estimate
        the same, estimated from the shoulders alone (NaN where a shoulder is missing); used
        only when neither a face point nor a recent head region is available.
    """
    n = keypoints.n_frames
    face = np.stack([_get(keypoints, name) for name in _FACE_POINTS], axis=1)  # (n, 5, 2)
    valid = np.all(np.isfinite(face), axis=2)
    count = valid.sum(axis=1)
    sums = np.where(valid[..., None], face, 0.0).sum(axis=1)
    centre = np.full((n, 2), np.nan)
    has_face = count > 0
    centre[has_face] = sums[has_face] / count[has_face, None]

    ear_d = _pair_distance(_get(keypoints, "left_ear"), _get(keypoints, "right_ear"))
    eye_d = _pair_distance(_get(keypoints, "left_eye"), _get(keypoints, "right_eye"))
    ls, rs = _get(keypoints, "left_shoulder"), _get(keypoints, "right_shoulder")
    shoulder_d = _pair_distance(ls, rs)
    min_axis = 0.02 * max(keypoints.image_size)
    candidates = np.stack([0.85 * ear_d, 1.6 * eye_d, 0.3 * shoulder_d], axis=1)
    candidates = np.where(np.isfinite(candidates), candidates, 0.0)
    semi_x = candidates.max(axis=1)
    # only the nose (or one eye/ear) and no shoulders: a generous fixed size
    semi_x = np.where(semi_x > 0, semi_x, 0.06 * max(keypoints.image_size))
    semi_x = np.maximum(semi_x, min_axis)
    ellipse = np.full((n, 4), np.nan)
    ellipse[has_face, 0:2] = centre[has_face]
    ellipse[has_face, 2] = semi_x[has_face]
    ellipse[has_face, 3] = 1.35 * semi_x[has_face]

    estimate = np.full((n, 4), np.nan)
    ok = np.isfinite(shoulder_d) & (shoulder_d > 0)
    mid = (ls + rs) / 2.0
    estimate[ok, 0] = mid[ok, 0]
    estimate[ok, 1] = mid[ok, 1] - 0.6 * shoulder_d[ok]
    estimate[ok, 2] = np.maximum(0.35 * shoulder_d[ok], min_axis)
    estimate[ok, 3] = 1.35 * estimate[ok, 2]
    return ellipse, estimate


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


def blur_ellipse(image: np.ndarray, ellipse: Sequence[float]) -> None:
    """Blur ``image`` in place inside an ellipse ``(cx, cy, semi_x, semi_y)`` (image px), strongly.

    The region is pixelated and then Gaussian-blurred (no recognisable detail survives); the
    edge is feathered outside the ellipse so the whole ellipse is fully blurred.
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
    blurred = cv2.GaussianBlur(blurred, (0, 0), sigmaX=0.75 * block)
    mask = np.zeros((ch, cw), np.float32)
    cv2.ellipse(
        mask,
        (int(round(cx - x0)), int(round(cy - y0))),
        (int(round(ax + feather)), int(round(ay + feather))),
        0.0,
        0.0,
        360.0,
        1.0,
        -1,
    )
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=feather / 2.0)[..., None]
    image[y0:y1, x0:x1] = (crop * (1.0 - mask) + blurred * mask + 0.5).astype(np.uint8)


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
        self.reps = (
            [r for r in (result.get("reps") or []) if r.get("side") in SIDES] if self.judgeable else []
        )
        self.labels = rep_labels(self.reps)
        self.values: dict[tuple[str, str], np.ndarray] = {}
        for key in ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg"):
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
        duration = (result.get("input") or {}).get("duration_s")
        last = float(keypoints.time_s[-1]) if n else 0.0
        dt = 1.0 / keypoints.fps if n > 1 and np.isfinite(keypoints.fps) else 0.0
        self.duration_s = max(float(duration) if duration else 0.0, last + dt, 1e-6)
        self.index_of = {int(fi): row for row, fi in enumerate(np.asarray(keypoints.frame_index))}
        self.names = {name: i for i, name in enumerate(keypoints.keypoint_names)}
        self.has_points = np.any(np.all(np.isfinite(keypoints.position), axis=2), axis=1)
        self._half_dt = 0.5 * dt if dt > 0 else 1e-3

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
        st = _Style.for_size(w, h)
        pts = self.keypoints.position[row] * scale
        ipt = {
            name: (int(round(p[0])), int(round(p[1])))
            for name in self.names
            if (p := self._pt(pts, name)) is not None
        }
        rep_i = int(self.rep_of_row[row])
        rep = self.reps[rep_i] if rep_i >= 0 else None

        if draw_head:
            face = [self._pt(pts, n) for n in _FACE_POINTS]
            face = [p for p in face if p is not None]
            if face:
                c = np.mean(face, axis=0)
                ears = [self._pt(pts, "left_ear"), self._pt(pts, "right_ear")]
                r = (
                    0.7 * float(np.hypot(*(ears[0] - ears[1])))
                    if all(e is not None for e in ears)
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
        hips = [self._pt(pts, "left_hip"), self._pt(pts, "right_hip")]
        shoulders = [self._pt(pts, "left_shoulder"), self._pt(pts, "right_shoulder")]
        if all(p is not None for p in hips + shoulders):
            mid_hip = (hips[0] + hips[1]) / 2.0
            mid_sh = (shoulders[0] + shoulders[1]) / 2.0
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
        # FPPA lines of the stance leg (both legs between reps)
        for side in (rep["side"],) if rep else SIDES:
            hip, knee, ankle = (self._pt(pts, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
            if hip is None or knee is None or ankle is None:
                continue
            colour = SIDE_COLOURS_RGB[side]
            thick = 2 * st.lw + 1 if rep else st.lw + 1
            _dashed_line(img, hip, ankle, colour, st.lw, 3 * st.lw + 2)
            poly = np.array([hip, knee, ankle]).round().astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(img, [poly], False, colour, thick, cv2.LINE_AA)
            cv2.circle(img, ipt[f"{side}_knee"], 2 * st.lw + 2, colour, -1, cv2.LINE_AA)
        for name, p in ipt.items():
            if draw_head or name not in _FACE_POINTS:  # no face dots on a blurred face
                cv2.circle(img, p, st.lw + 1, _WHITE, -1, cv2.LINE_AA)

        self._draw_progress(img, time_s, st)
        self._draw_panel(img, row, rep_i, st)
        if (
            rep is not None
            and rep.get("bottom_s") is not None
            and abs(time_s - rep["bottom_s"]) <= _DEEPEST_FLASH_S
        ):
            self._draw_flash(img, "DEEPEST", SIDE_COLOURS_RGB[rep["side"]], st)

    def _draw_progress(self, img: np.ndarray, time_s: float, st: _Style) -> None:
        w = img.shape[1]
        img[: st.bar_h] = (img[: st.bar_h] * 0.3).astype(np.uint8)
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

    def _panel_lines(self, row: int, rep_i: int) -> list[tuple[str, tuple[int, int, int]]]:
        lines: list[tuple[str, tuple[int, int, int]]] = []
        if not self.judgeable:
            lines.append(("Not judgeable - see the report", _WARN))
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
            lines.append((f"Knee FPPA   {_fmt(self.values[('fppa_deg', side)][row])}", _WHITE))
            lines.append((f"Pelvic drop {_fmt(self.values[('pelvic_drop_deg', side)][row])}", _WHITE))
            lines.append((f"Trunk lean  {_fmt(self.values[('trunk_lean_deg', side)][row])}", _WHITE))
        else:
            lines.append(("Between reps", _WHITE))
            for side in SIDES:
                lines.append(
                    (
                        f"{side.capitalize()} knee FPPA {_fmt(self.values[('fppa_deg', side)][row])}",
                        _SIDE_TEXT[side],
                    )
                )
        if self.synthetic:
            lines.append(("SYNTHETIC DATA - demo only", _WARN))
        return lines

    def _draw_panel(self, img: np.ndarray, row: int, rep_i: int, st: _Style) -> None:
        lines = self._panel_lines(row, rep_i)
        sizes = [_text_size(text, st.font_scale, st.font_thickness) for text, _ in lines]
        line_h = int(max(h for _, h in sizes) * 1.75)
        width = max(w for w, _ in sizes) + 2 * st.pad
        height = line_h * len(lines) + st.pad
        x0, y0 = st.pad, st.bar_h + st.pad
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
) -> Path:
    """Write the input video with the analysis drawn on it (H.264 MP4).

    Every decoded frame is written with its own timestamp. Frames with keypoints get the
    skeleton, the stance leg's FPPA lines (hip-knee-ankle and the dashed hip-ankle reference),
    the pelvis line, the trunk line with a vertical reference, a progress bar with the reps,
    a panel with the rep (``Rep 2 - left stance (L1)``) and the current FPPA, pelvic drop and
    trunk lean of the stance side (both knees' FPPA between reps) and a ``DEEPEST`` flash at
    each rep's deepest frame. A not-judgeable result shows no values. Frames without keypoints
    are written unannotated. Faces are blurred in every frame unless ``blur_faces`` is False.

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
        blur a generous ellipse around the head in every frame (default True).
    max_side_px
        decode size, as in :func:`medius.io.video.iter_frames` (keypoints are scaled with
        ``frame.scale``).

    Returns
    -------
    Path
        ``out_path``.
    """
    out_path = Path(out_path)
    overlay = _Overlay(result, series, keypoints)
    heads = _HeadTracker(keypoints) if blur_faces else None
    n_written = 0
    with contextlib.ExitStack() as stack:
        writer: VideoWriter | None = None
        for frame in iter_frames(video_path, max_side_px=max_side_px):
            img = frame.image if frame.image.flags.writeable else frame.image.copy()
            if writer is None:
                h, w = img.shape[:2]
                writer = stack.enter_context(
                    VideoWriter(out_path, w, h, fps_hint=_fps_hint(result, keypoints))
                )
            row = overlay.row_for(frame.index, frame.time_s)
            if heads is not None:
                region = heads.region(row, frame.time_s)
                if region is not None:
                    blur_ellipse(img, np.asarray(region) * frame.scale)
            if row is not None and overlay.has_points[row]:
                overlay.draw(img, row, frame.time_s, frame.scale)
            writer.write(img, frame.time_s)
            n_written += 1
    if n_written == 0:
        raise InvalidInputError("no frame could be decoded to annotate", path=video_path)
    return out_path


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
            writer.write(img, float(time_s) - shift_s)
    return out_path
