"""Faces and heads in the frames of one video, found for anonymisation while the pose pass runs.

Finding the faces is part of the analysis: :class:`FaceScan` runs on the pose pass's side
thread (:mod:`medius.analysis.video_pass`), on the frames kept for the annotated video, and
hands the ellipses to blur, by frame, to the renderer (:func:`medius.report.annotate.
render_annotated_video`, ``face_ellipses``), which only draws the blur. The geometry of the
tested person's head from the pose keypoints (:func:`head_ellipse_of`,
:func:`compute_head_ellipses`) lives here too: the scan uses it to skip the tested person's own
face, the renderer to blur it.

* every face a face detector finds (:class:`FaceDetector`: MediaPipe Face Detection, run
  offline from the models inside the mediapipe wheel), bystanders included: the face box
  enlarged 1.6 times (hair, ears, chin), held for ``0.3 s`` after the detector last saw it;
  a face found for the first time is followed back into the frames before it (held for
  :data:`_LOOKBACK_CYCLES` scan cycles).
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medius.io._sequence import Keypoints2D

__all__ = [
    "DETECTED_FACE_HOLD_S",
    "FACE_POINTS",
    "LOOKBACK_MAX_BYTES",
    "FACE_BOX_SCALE",
    "FaceDetector",
    "FaceScan",
    "compute_face_ellipse",
    "compute_head_ellipses",
    "head_ellipse_of",
    "head_ellipses_of_points",
    "inside_ellipses",
]

#: how long a face found by the face detector stays blurred after it was last seen (covers
#: the detector's flicker from one frame to the next)
DETECTED_FACE_HOLD_S = 0.3
#: the blurred region around a detected face: the face box enlarged this many times (the box
#: covers brows to chin; the enlargement covers hair, ears and chin)
FACE_BOX_SCALE = 1.6


FACE_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


def head_ellipse_of(xy: np.ndarray, confidence: np.ndarray, names: Sequence[str], long_side_px: float,
                    min_confidence: float = 0.5) -> np.ndarray | None:
    """The head ellipse of one detection (``(keypoint, 2)`` px), or None without a confident face point."""
    pts = np.where((np.asarray(confidence) >= min_confidence)[:, None], np.asarray(xy, dtype=float), np.nan)
    ellipse, _ = head_ellipses_of_points(pts[None], names, long_side_px)
    return ellipse[0] if np.isfinite(ellipse[0, 0]) else None


def _pair_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1])


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
    return head_ellipses_of_points(keypoints.position, keypoints.keypoint_names, max(keypoints.image_size))


def head_ellipses_of_points(
    position: np.ndarray, names: Sequence[str], long_side_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compute_head_ellipses` on a ``(n, keypoint, 2)`` array of one person's points."""
    n = position.shape[0]
    index = {name: i for i, name in enumerate(names)}

    def get(name: str) -> np.ndarray:
        i = index.get(name)
        return position[:, i] if i is not None else np.full((n, 2), np.nan)

    face = np.stack([get(name) for name in FACE_POINTS], axis=1)  # (n, 5, 2)
    valid = np.all(np.isfinite(face), axis=2)
    count = valid.sum(axis=1)
    sums = np.where(valid[..., None], face, 0.0).sum(axis=1)
    centre = np.full((n, 2), np.nan)
    has_face = count > 0
    centre[has_face] = sums[has_face] / count[has_face, None]

    ear_d = _pair_distance(get("left_ear"), get("right_ear"))
    eye_d = _pair_distance(get("left_eye"), get("right_eye"))
    ls, rs = get("left_shoulder"), get("right_shoulder")
    shoulder_d = _pair_distance(ls, rs)
    min_axis = 0.02 * long_side_px
    candidates = np.stack([0.85 * ear_d, 1.6 * eye_d, 0.3 * shoulder_d], axis=1)
    candidates = np.where(np.isfinite(candidates), candidates, 0.0)
    semi_x = candidates.max(axis=1)
    # only the nose (or one eye/ear) and no shoulders: a generous fixed size
    semi_x = np.where(semi_x > 0, semi_x, 0.06 * long_side_px)
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


# ---------------------------------------------------------------------------- face detection
#: tile side as a fraction of the frame's long side (400 px tiles at 1280 px): the full-range
#: model sees its input at 192 px, so in a tile a face of ~2 % of the long side (24 px at
#: 1280 px) is still ~12 px there, which it finds
_TILE_FRACTION = 5 / 16
#: the smallest tile side (smaller tiles would only be upscaled)
_MIN_TILE_PX = 192
#: overlap of neighbouring tiles, as a fraction of the tile side
_TILE_OVERLAP = 0.2
#: side of the crop around a known face, in face widths (the short-range model finds a face
#: that fills a fifth of its picture reliably)
_FOLLOW_CROP_FACES = 5.0
#: the same for the full-range model, tried where the short-range one finds nothing
_FOLLOW_WIDE_CROP_FACES = 8.0
_FOLLOW_MIN_PX = 64
#: one window is searched every this many frames (the faces already found are followed in
#: every frame)
_SCAN_STRIDE_FRAMES = 2
#: frames wait for the encoder this many scan cycles, so that a face the detector missed in
#: one search of its window is still followed back to where it came into view
_LOOKBACK_CYCLES = 2
#: most memory held by the frames waiting for the encoder (see render_annotated_video)
LOOKBACK_MAX_BYTES = 160 * 2**20
#: the fastest face motion believed, in face widths per second (a walking bystander: ~8)
_MAX_FACE_SPEED = 12.0
#: weight of the newest measurement in the smoothed face velocity
_VELOCITY_WEIGHT = 0.3


def inside_ellipses(box: np.ndarray, ellipses: np.ndarray) -> bool:
    """Whether the centre of ``box`` lies in one of the ``(n, 4)`` ellipses."""
    if ellipses.size == 0:
        return False
    dx = (box[0] - ellipses[:, 0]) / np.maximum(ellipses[:, 2], 1e-9)
    dy = (box[1] - ellipses[:, 1]) / np.maximum(ellipses[:, 3], 1e-9)
    return bool(np.any(dx * dx + dy * dy <= 1.0))


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of overlapping tiles of side ``tile`` covering ``length`` px."""
    if tile >= length:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def compute_face_ellipse(box: Sequence[float] | np.ndarray, grow_x_px: float = 0.0, grow_y_px: float = 0.0) -> np.ndarray:
    """The ellipse ``(cx, cy, semi_x, semi_y)`` blurred over a detected face box ``(cx, cy, w, h)``.

    The box (brows to chin) is enlarged :data:`FACE_BOX_SCALE` times, a quarter more in height,
    and moved up by a tenth of its height, so that hair, ears and chin are covered too;
    ``grow_x_px`` / ``grow_y_px`` are added to the semi-axes.
    """
    cx, cy, w, h = (float(v) for v in box[:4])
    return np.array(
        [
            cx,
            cy - 0.1 * h,
            0.5 * FACE_BOX_SCALE * w + grow_x_px,
            0.5 * FACE_BOX_SCALE * 1.25 * h + grow_y_px,
        ]
    )


@dataclass
class _FaceTrack:
    box: np.ndarray  # cx, cy, w, h in image px, where last seen
    time_s: float  # when last seen
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # px/s
    seen_now: bool = True
    n_seen: int = 1


class FaceDetector:
    """Every face in the frames of one video, for blurring: MediaPipe Face Detection, offline.

    Runs the two face-detection models shipped inside the mediapipe wheel through
    ``mp.solutions.face_detection.FaceDetection`` (nothing is downloaded): the *full-range*
    model looks for faces, the *short-range* model follows each known face from frame to frame
    in a small crop around it.

    The full-range model sees its input at 192 x 192 px, so on a whole 1280 x 720 frame it
    misses faces smaller than about 80 px (a person filmed full-length 3 m away has a face of
    about 25 px). The frame is therefore searched in overlapping square tiles of 5/16 of its
    long side (400 px at 1280 px; faces from about 2 % of the long side) and as a whole (large
    faces). :meth:`update` searches every window on the first frame, then one window every
    second frame in turn (every window once per :attr:`scan_cycle_frames` frames: 18 at
    1280 x 720), and follows the faces it knows in every frame; a face not seen again is held
    for ``hold_s``, moved along its last velocity with the region stretched to cover both
    "stopped" and "kept going". Cost per frame: one full-range run every second frame plus one
    short-range run per face followed (on a 2.5 GHz Xeon core about 7.5-9 ms per full-range
    run and 2.7-3 ms per short-range run: about 4.5 ms per frame with no face to follow, 7 ms
    with one).

    Create one per video and :meth:`close` it after (or use it as a context manager).

    Parameters
    ----------
    min_confidence
        Score a detection of the full-range model needs to start a new face (0-1).
    follow_confidence
        Score the short-range model needs to confirm a known face near where it was (0-1).
    hold_s
        How long a face stays in the output of :meth:`update` after it was last seen.
    """

    def __init__(
        self,
        *,
        min_confidence: float = 0.5,
        follow_confidence: float = 0.4,
        hold_s: float = DETECTED_FACE_HOLD_S,
    ) -> None:
        for name, value in (("min_confidence", min_confidence), ("follow_confidence", follow_confidence)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
        if isinstance(hold_s, bool) or not isinstance(hold_s, int | float) or not 0.0 <= hold_s < math.inf:
            raise ValueError(f"hold_s must be a finite number >= 0, got {hold_s!r}")
        from medius.pose._mediapipe import _quiet_mediapipe_logs

        _quiet_mediapipe_logs()
        import mediapipe as mp

        solution = mp.solutions.face_detection
        self.hold_s = float(hold_s)
        self._full = solution.FaceDetection(model_selection=1, min_detection_confidence=float(min_confidence))
        self._short = solution.FaceDetection(
            model_selection=0, min_detection_confidence=float(follow_confidence)
        )
        self._tracks: list[_FaceTrack] = []
        self._size: tuple[int, int] | None = None
        self._windows: list[tuple[int, int, int, int]] = []
        self._frame_count = 0

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Release the two models (idempotent)."""
        for model in (self._full, self._short):
            if model is not None:
                with contextlib.suppress(Exception):
                    model.close()
        self._full = self._short = None

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ geometry
    @staticmethod
    def scan_windows(width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The windows ``(x0, y0, x1, y1)`` searched for faces: the whole frame, then the tiles."""
        tile = max(_MIN_TILE_PX, round(_TILE_FRACTION * max(width, height)))
        tw, th = min(tile, width), min(tile, height)
        overlap = round(_TILE_OVERLAP * tile)
        windows = [(0, 0, width, height)]
        if (tw, th) != (width, height):
            windows += [
                (x, y, x + tw, y + th)
                for y in _tile_starts(height, th, overlap)
                for x in _tile_starts(width, tw, overlap)
            ]
        return windows

    @property
    def scan_cycle_frames(self) -> int:
        """Frames between two searches of the same window (known after the first frame; else 1)."""
        return max(1, _SCAN_STRIDE_FRAMES * len(self._windows))

    # ------------------------------------------------------------------ detection
    def _run(self, model: Any, image: np.ndarray, window: tuple[int, int, int, int]) -> list[np.ndarray]:
        """Detections ``(cx, cy, w, h, score)`` of one model in one window, in image px."""
        x0, y0, x1, y1 = window
        crop = np.ascontiguousarray(image[y0:y1, x0:x1])
        if crop.shape[0] < 2 or crop.shape[1] < 2:
            return []
        result = model.process(crop)
        ch, cw = crop.shape[:2]
        out = []
        for det in result.detections or ():
            box = det.location_data.relative_bounding_box
            w, h = box.width * cw, box.height * ch
            if not (w > 0 and h > 0):
                continue
            cx, cy = x0 + (box.xmin + 0.5 * box.width) * cw, y0 + (box.ymin + 0.5 * box.height) * ch
            out.append(np.array([cx, cy, w, h, float(det.score[0])]))
        return out

    @staticmethod
    def _merge(detections: list[np.ndarray]) -> list[np.ndarray]:
        """Detections of the same face in overlapping windows reduced to the best one."""
        kept: list[np.ndarray] = []
        for det in sorted(detections, key=lambda d: -d[4]):
            if all(np.hypot(*(det[:2] - k[:2])) >= 0.5 * max(det[2], k[2]) for k in kept):
                kept.append(det)
        return kept

    def detect(self, image: np.ndarray) -> np.ndarray:
        """All faces in one RGB image, searched in every window (no tracking, no hold).

        Parameters
        ----------
        image
            RGB ``(height, width, 3)`` uint8.

        Returns
        -------
        numpy.ndarray
            ``(n, 5)``: centre x, centre y, width, height (image px) and score of each face,
            best first.
        """
        self._check_open()
        h, w = image.shape[:2]
        found = [d for win in self.scan_windows(w, h) for d in self._run(self._full, image, win)]
        merged = self._merge(found)
        return np.array(merged).reshape(-1, 5)

    def follow(self, image: np.ndarray, box: Sequence[float] | np.ndarray) -> np.ndarray | None:
        """The face near ``box`` ``(cx, cy, w, h)`` in ``image``: ``(cx, cy, w, h, score)``, or None.

        The short-range model runs on a square crop of five face widths around the box centre;
        where it finds nothing, the full-range model runs on a crop of eight face widths. The
        detection nearest the centre is taken if it lies within about a face width and has about
        the same size (half to twice the width).
        """
        self._check_open()
        h, w = image.shape[:2]
        cx, cy, fw = float(box[0]), float(box[1]), max(float(box[2]), 1.0)
        if not (0.0 <= cx < w and 0.0 <= cy < h):
            return None
        for model, faces in ((self._short, _FOLLOW_CROP_FACES), (self._full, _FOLLOW_WIDE_CROP_FACES)):
            side = int(round(min(max(faces * fw, _FOLLOW_MIN_PX), w, h)))
            x0 = min(max(int(round(cx - side / 2)), 0), w - side)
            y0 = min(max(int(round(cy - side / 2)), 0), h - side)
            best, best_d = None, math.inf
            for det in self._run(model, image, (x0, y0, x0 + side, y0 + side)):
                d = float(np.hypot(det[0] - cx, det[1] - cy))
                if d < best_d and d <= 0.9 * max(fw, det[2]) and 0.5 <= det[2] / fw <= 2.0:
                    best, best_d = det, d
            if best is not None:
                return best
        return None

    def _check_open(self) -> None:
        if self._full is None:
            raise RuntimeError("this FaceDetector is closed; create a new one")

    # ------------------------------------------------------------------ tracking
    def _see(self, track: _FaceTrack, det: np.ndarray, time_s: float) -> None:
        dt = time_s - track.time_s
        if dt > 0:
            v_new = (det[:2] - track.box[:2]) / dt
            v = (
                v_new
                if track.n_seen == 1
                else (1 - _VELOCITY_WEIGHT) * track.velocity + _VELOCITY_WEIGHT * v_new
            )
            limit = _MAX_FACE_SPEED * float(det[2])
            speed = float(np.hypot(*v))
            track.velocity = v * (limit / speed) if speed > limit else v
        track.box = det[:4].copy()
        track.time_s = time_s
        track.seen_now = True
        track.n_seen += 1

    def _predicted(self, track: _FaceTrack, time_s: float) -> np.ndarray:
        box = track.box.copy()
        box[:2] += track.velocity * (time_s - track.time_s)
        return box

    def update(
        self, image: np.ndarray, time_s: float, covered: Sequence[Sequence[float] | np.ndarray] = ()
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Faces to blur in the next frame of the video.

        Parameters
        ----------
        image
            the frame, RGB ``(height, width, 3)`` uint8.
        time_s
            its time; frames must come in time order.
        covered
            ellipses ``(cx, cy, semi_x, semi_y)`` (image px) blurred anyway, such as the tested
            person's head from the keypoints: faces centred inside them are neither reported
            nor followed, which saves the cost of following them.

        Returns
        -------
        ellipses
            ``(cx, cy, semi_x, semi_y)`` in image px of every face seen in this frame or in
            the last ``hold_s`` (see :func:`compute_face_ellipse`).
        new_faces
            the boxes ``(cx, cy, w, h)`` of the faces seen for the first time in this frame
            (the caller may look for them in the frames before with :meth:`follow`).
        """
        self._check_open()
        h, w = image.shape[:2]
        if self._size != (w, h):  # first frame (or a new size): search everywhere, forget all
            self._size = (w, h)
            self._windows = self.scan_windows(w, h)
            self._tracks = []
            windows = self._windows
            self._frame_count = 0
        elif self._frame_count % _SCAN_STRIDE_FRAMES == 0:
            windows = [self._windows[(self._frame_count // _SCAN_STRIDE_FRAMES) % len(self._windows)]]
        else:
            windows = []
        self._frame_count += 1
        cover = np.asarray(covered, dtype=float).reshape(-1, 4)
        self._tracks = [t for t in self._tracks if not inside_ellipses(self._predicted(t, time_s), cover)]
        for track in self._tracks:
            track.seen_now = False
            found = self.follow(image, self._predicted(track, time_s))
            if found is not None:
                self._see(track, found, time_s)
        new_faces = []
        detections = self._merge([d for win in windows for d in self._run(self._full, image, win)])
        for det in detections:
            if inside_ellipses(det, cover):
                continue
            near, near_d = None, math.inf
            for track in self._tracks:
                centre = track.box[:2] if track.seen_now else self._predicted(track, time_s)[:2]
                d = float(np.hypot(*(det[:2] - centre)))
                if d < near_d and d < 0.75 * max(det[2], track.box[2]):
                    near, near_d = track, d
            if near is None:
                self._tracks.append(_FaceTrack(box=det[:4].copy(), time_s=time_s))
                new_faces.append(det[:4].copy())
            elif not near.seen_now:
                self._see(near, det, time_s)
        kept: list[_FaceTrack] = []
        for track in self._tracks:
            box = self._predicted(track, time_s)
            if time_s - track.time_s > self.hold_s + 1e-9 or not (0 <= box[0] < w and 0 <= box[1] < h):
                continue
            if track.seen_now and any(
                k.seen_now and np.hypot(*(k.box[:2] - track.box[:2])) < 0.5 * max(k.box[2], track.box[2])
                for k in kept
            ):
                continue  # two tracks on one face: keep the older
            kept.append(track)
        self._tracks = kept
        ellipses = []
        for track in kept:
            if track.seen_now:
                ellipses.append(compute_face_ellipse(track.box))
            else:  # between "stopped where last seen" and "kept its velocity"
                shift = track.velocity * (time_s - track.time_s)
                box = track.box.copy()
                box[:2] += 0.5 * shift
                ellipses.append(compute_face_ellipse(box, 0.5 * abs(shift[0]), 0.5 * abs(shift[1])))
        return ellipses, new_faces


class FaceScan:
    """The face detection of the annotated video, frame by frame, with following back.

    :func:`render_annotated_video` runs one on the frames it draws, unless it is given the
    faces already (``face_ellipses``): the analysis runs one during the pose pass.

    The annotated video is drawn after the analysis; finding faces needs only the frames, so it
    can run during the pose pass, on the side thread that has a core's worth of idle time beside
    the model (``medius.pose.estimate_poses``'s ``frame_sinks``), instead of in the annotated
    video's own pass. :meth:`add` takes each frame (in the frame copy's pixels, as
    :meth:`medius.io.video.FrameCache.add` returns it) and does what the annotated pass did with
    :class:`FaceDetector`: one scan window a frame every :data:`_SCAN_STRIDE_FRAMES`, every known
    face followed, a new face followed back through the frames held for
    :data:`_LOOKBACK_CYCLES` scan cycles (at most :data:`LOOKBACK_MAX_BYTES` of them). Only the
    ellipses to blur are kept for each frame (in displayed-frame px); :meth:`ellipses` gives
    them to :func:`render_annotated_video` (``face_ellipses``).

    The tested person's head is blurred from the keypoints anyway; the caller may pass it as
    ``covered`` (from the pose model's latest detection) so that their face is not followed.
    """

    def __init__(self) -> None:
        self._faces = FaceDetector()
        self._pending: deque[_ScanFrame] = deque()
        self._done: dict[int, list[np.ndarray]] = {}
        self._max_held: int | None = None
        self._closed = False

    def add(
        self, image: np.ndarray, index: int, time_s: float, scale: float, covered: Sequence[Sequence[float] | np.ndarray] = ()
    ) -> None:
        """One frame: ``image`` at ``scale`` image px per displayed-frame px, in time order.

        ``covered``: ellipses (``image`` px) blurred anyway, as in :meth:`FaceDetector.update`
        (the tested person's head from the latest keypoints: their face need not be followed).
        """
        if self._closed:
            raise ValueError("FaceScan is closed")
        item = _ScanFrame(image, time_s, scale, int(index))
        ellipses, new_faces = self._faces.update(image, time_s, covered=covered)
        item.ellipses.extend(ellipses)
        for box in new_faces:
            _follow_back(self._faces, self._pending, box, time_s)
        self._pending.append(item)
        if self._max_held is None:
            self._max_held = max(1, LOOKBACK_MAX_BYTES // max(1, image.nbytes))
        while len(self._pending) > self.lookback_frames:
            self._release(self._pending.popleft())

    @property
    def lookback_frames(self) -> int:
        """How many of the latest frames a new face can still be followed back into."""
        cycles = _LOOKBACK_CYCLES * self._faces.scan_cycle_frames
        return cycles if self._max_held is None else min(self._max_held, cycles)

    def take(self, index: int) -> list[np.ndarray]:
        """The faces of frame ``index`` (displayed-frame px), forgotten here once taken.

        A frame still held for following back is finished now (with the frames before it).
        """
        while index not in self._done and self._pending:
            self._release(self._pending.popleft())
        return self._done.pop(index, [])

    def _release(self, item: _ScanFrame) -> None:
        factor = 1.0 / (item.scale or 1.0)
        self._done[item.index] = [np.asarray(e, dtype=float) * factor for e in item.ellipses]

    def close(self) -> None:
        """Finish the held frames and free the detector (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        try:
            while self._pending:
                self._release(self._pending.popleft())
        finally:
            self._faces.close()

    def ellipses(self) -> dict[int, list[np.ndarray]]:
        """``(cx, cy, semi_x, semi_y)`` in displayed-frame px of the faces to blur, by frame index."""
        self.close()
        return self._done

    def __enter__(self) -> FaceScan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _ScanFrame:
    """A frame held by :class:`FaceScan` until no new face can be followed back into it."""

    image: np.ndarray
    time_s: float
    scale: float
    index: int
    ellipses: list[np.ndarray] = field(default_factory=list)


def _follow_back(faces: FaceDetector, pending: deque[_ScanFrame], box: np.ndarray, time_s: float) -> None:
    """Blur a face first found at ``time_s`` in the frames before it too, newest first.

    The face is followed back with :meth:`FaceDetector.follow`; where it is not found its last
    region is used, until it has not been seen for the detector's hold time.
    """
    current, seen_s = box, time_s
    for item in reversed(pending):
        found = faces.follow(item.image, current)
        if found is not None:
            current, seen_s = found[:4], item.time_s
        elif seen_s - item.time_s > faces.hold_s + 1e-9:
            break
        item.ellipses.append(compute_face_ellipse(current))
