"""Precomputed 2D keypoint files: OpenPose JSON and pixel TRC (Sports2D, Pose2Sim).

A user may give keypoints that another tool already computed instead of a video. This
module reads them into :class:`MultiPersonKeypoints` (a file may hold several people per
frame); the pose layer later picks and tracks one person.

Formats
-------
OpenPose JSON
    One file per frame, ``<name>_000000000000_keypoints.json`` (OpenPose) or
    ``<name>_000000.json`` (Pose2Sim / Sports2D ``save_to_openpose``), holding
    ``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x, y, c, ...],
    ...}]}``. The layout is recognised from the number of values per person:

    ====  ============  ===========================================================
    n     layout        written by
    ====  ============  ===========================================================
    75    BODY_25       OpenPose default (``--model_pose BODY_25``)
    75    BODY_25B      OpenPose experimental ``BODY_25B`` (Pose2Sim); told from BODY_25 by
                        the data (:func:`detect_25_keypoint_layout`), else refused
    54    COCO_18       OpenPose ``--model_pose COCO`` (BODY_18)
    51    COCO_17       MMPose / RTMPose body models through Pose2Sim
    78    HALPE_26      Pose2Sim default (RTMPose body-with-feet)
    99    BLAZEPOSE_33  Pose2Sim with MediaPipe BlazePose
    ====  ============  ===========================================================

    ``toe`` is the big toe (BlazePose ``foot_index``). OpenPose writes ``0, 0, 0`` for a
    point it did not find, Pose2Sim writes ``NaN``: a point is missing when a value is not
    finite, its score is ``<= 0`` or ``x == y == 0``. The files carry no time, so ``fps``
    is required: frame ``k`` (the number in the file name) is at ``k / fps`` seconds.

TRC in pixels
    Sports2D writes ``<video>_Sports2D_px_person00.trc`` (one file per person) with
    ``Sports2D/process.py:make_trc_with_trc_data``::

        PathFileType<TAB>4<TAB>(X/Y/Z)<TAB><path>
        DataRate<TAB>CameraRate<TAB>NumFrames<TAB>NumMarkers<TAB>Units<TAB>OrigDataRate<TAB>...
        30<TAB>30<TAB>120<TAB>22<TAB>m<TAB>30<TAB>0<TAB>120
        Frame#<TAB>Time<TAB>Hip<TAB><TAB><TAB>RHip<TAB><TAB><TAB>...
        <TAB><TAB>X1<TAB>Y1<TAB>Z1<TAB>X2<TAB>...
        0<TAB>0.0<TAB>x<TAB>y<TAB>0.0<TAB>...

    ``x, y`` are image pixels with ``y`` pointing down (Sports2D only negates ``y`` when it
    converts to metres, in ``convert_px_to_meters``); ``Z`` is 0 and ignored. Sports2D
    writes ``Units = m`` even in its pixel file and tells the two apart by ``_px`` in the
    file name, so a file whose name contains the token ``px`` is read as pixels whatever
    its Units field says. Otherwise Units must be ``px``/``pixel(s)``; metres or
    millimetres are refused. Empty or ``NaN`` cells are missing; ``(0, 0)`` is missing too,
    because Sports2D's ``fill_large_gaps_with = zeros`` writes it for gaps. TRC holds no
    score: a present point gets confidence 1.0, a missing one NaN. If every ``y`` in the
    file is ``<= 0`` (a y-up export storing ``-y``), ``y`` is negated back and the log says
    so. Marker names are matched case-insensitively, ignoring ``_ - . space``, with
    :data:`TRC_MARKER_ALIASES`; markers without a canonical counterpart (``Hip``,
    ``Neck``, ``Head``, small toes, ...) are ignored and listed in the log.

Every error a user can cause is an :class:`~medius.errors.InputNotFoundError` or
:class:`~medius.errors.InvalidInputError` whose one-line message names the file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from medius.errors import InputNotFoundError, InvalidInputError, OutputError
from medius.io._sequence import KEYPOINTS, Keypoints2D, provenance_entry
from medius.io._text import read_text_file

__all__ = [
    "JSON_LAYOUTS",
    "SPORTS2D_MARKER_NAMES",
    "SUPPORTED_FORMATS",
    "TRC_MARKER_ALIASES",
    "MultiPersonKeypoints",
    "read_keypoints",
    "read_openpose_json",
    "read_trc",
    "write_openpose_json",
    "write_trc",
]


# ---------------------------------------------------------------------------------------
# container
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultiPersonKeypoints:
    """Raw per-frame detections of possibly several people, before one person is selected.

    Person slots carry **no identity** across frames: slot ``k`` of frame ``t`` and slot
    ``k`` of frame ``t + 1`` may be different people (tracking happens in the pose layer).
    Within a frame the occupied slots come first, in the order of the file.

    Attributes
    ----------
    position
        ``(time, person, keypoint, 2)`` float64 array, image pixels (x right, y down);
        NaN where that point or person slot is empty.
    confidence
        ``(time, person, keypoint)`` float64 array; NaN where empty.
    time_s
        ``(time,)`` seconds, strictly increasing.
    image_size
        ``(width, height)`` in pixels if known, else None (keypoint files rarely say).
    keypoint_names
        names of the keypoint axis, :data:`~medius.io._sequence.KEYPOINTS` by default.
    frame_index
        ``(time,)`` frame number of each sample in the source (file-name number, Frame#).
    source
        ``"openpose-body25"``, ``"openpose-halpe26"``, ``"trc"``, ...
    log
        provenance entries, one dict per step.
    """

    position: np.ndarray
    confidence: np.ndarray
    time_s: np.ndarray
    image_size: tuple[int, int] | None
    keypoint_names: tuple[str, ...] = KEYPOINTS
    frame_index: np.ndarray | None = None
    source: str = "unknown"
    log: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        pos = np.asarray(self.position, dtype=float)
        conf = np.asarray(self.confidence, dtype=float)
        t = np.asarray(self.time_s, dtype=float)
        problems = []
        if pos.ndim != 4 or pos.shape[3] != 2:
            problems.append(f"position must be (time, person, keypoint, 2), got shape {pos.shape}")
        elif pos.shape[2] != len(self.keypoint_names):
            problems.append(f"position has {pos.shape[2]} keypoints but {len(self.keypoint_names)} names")
        if pos.ndim == 4 and conf.shape != pos.shape[:3]:
            problems.append(f"confidence must be {pos.shape[:3]}, got {conf.shape}")
        n_t = pos.shape[0] if pos.ndim else 0
        if t.shape != (n_t,):
            problems.append(f"time_s must have {n_t} samples, got shape {t.shape}")
        elif t.size > 1 and not np.all(np.diff(t) > 0):
            problems.append("time_s must be strictly increasing")
        fi = np.arange(n_t) if self.frame_index is None else np.asarray(self.frame_index)
        if fi.shape != (n_t,):
            problems.append(f"frame_index must have {n_t} samples, got shape {fi.shape}")
        size = self.image_size
        if size is not None:
            if len(size) != 2 or int(size[0]) <= 0 or int(size[1]) <= 0:
                problems.append(f"image_size must be (width, height) > 0 or None, got {size!r}")
            else:
                size = (int(size[0]), int(size[1]))
        if problems:
            raise ValueError("invalid MultiPersonKeypoints: " + "; ".join(problems))
        object.__setattr__(self, "position", pos)
        object.__setattr__(self, "confidence", conf)
        object.__setattr__(self, "time_s", t)
        object.__setattr__(self, "frame_index", fi)
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "keypoint_names", tuple(self.keypoint_names))
        object.__setattr__(self, "log", tuple(self.log))

    # ------------------------------------------------------------------ access
    @property
    def n_frames(self) -> int:
        return int(self.position.shape[0])

    @property
    def n_people_max(self) -> int:
        """Number of person slots (the most people seen in one frame)."""
        return int(self.position.shape[1])

    def people_per_frame(self) -> np.ndarray:
        """``(time,)`` int: number of non-empty person slots in each frame."""
        occupied = np.any(np.isfinite(self.position).all(axis=-1), axis=-1)  # (time, person)
        return occupied.sum(axis=1).astype(int)

    def person(self, k: int, *, image_size: tuple[int, int] | None = None) -> Keypoints2D:
        """The keypoints of person slot ``k`` in every frame, as one :class:`Keypoints2D`.

        No tracking is done: slot ``k`` may hold different people in different frames.

        Parameters
        ----------
        k
            slot index, ``0 <= k < n_people_max``.
        image_size
            ``(width, height)`` to use when the file did not record it.
        """
        if not 0 <= k < self.n_people_max:
            raise IndexError(f"person slot k must be in [0, {self.n_people_max}), got {k}")
        size = image_size if image_size is not None else self.image_size
        if size is None:
            raise InvalidInputError(
                f"image size unknown: the keypoint file ({self.source}) does not record it; "
                "pass --image-size WIDTHxHEIGHT"
            )
        return Keypoints2D(
            position=self.position[:, k].copy(),
            confidence=self.confidence[:, k].copy(),
            time_s=self.time_s.copy(),
            image_size=(int(size[0]), int(size[1])),
            keypoint_names=self.keypoint_names,
            frame_index=None if self.frame_index is None else self.frame_index.copy(),
            source=self.source,
            log=self.log,
        )

    @classmethod
    def from_single(cls, kp: Keypoints2D) -> MultiPersonKeypoints:
        """Wrap one person's :class:`Keypoints2D` as a one-slot container."""
        return cls(
            position=kp.position[:, None],
            confidence=kp.confidence[:, None],
            time_s=kp.time_s,
            image_size=kp.image_size,
            keypoint_names=kp.keypoint_names,
            frame_index=kp.frame_index,
            source=kp.source,
            log=kp.log,
        )

    # ------------------------------------------------------------------ transforms
    def replace(self, **changes: Any) -> MultiPersonKeypoints:
        return replace(self, **changes)

    def with_log(self, operation: str, **params: Any) -> MultiPersonKeypoints:
        """A copy with one provenance entry appended."""
        return replace(self, log=(*self.log, provenance_entry(operation, **params)))

    def with_image_size(self, image_size: tuple[int, int]) -> MultiPersonKeypoints:
        """A copy with a known ``(width, height)``."""
        return replace(self, image_size=(int(image_size[0]), int(image_size[1])))


# ---------------------------------------------------------------------------------------
# layouts and names
# ---------------------------------------------------------------------------------------
def _layout(pairs: Mapping[str, int]) -> dict[str, int]:
    unknown = set(pairs) - set(KEYPOINTS)
    assert not unknown, unknown
    return dict(pairs)


_BODY_25 = _layout(
    {
        "nose": 0,
        "right_shoulder": 2,
        "right_elbow": 3,
        "right_wrist": 4,
        "left_shoulder": 5,
        "left_elbow": 6,
        "left_wrist": 7,
        "right_hip": 9,
        "right_knee": 10,
        "right_ankle": 11,
        "left_hip": 12,
        "left_knee": 13,
        "left_ankle": 14,
        "right_eye": 15,
        "left_eye": 16,
        "right_ear": 17,
        "left_ear": 18,
        "left_toe": 19,
        "left_heel": 21,
        "right_toe": 22,
        "right_heel": 24,
    }
)
_COCO_18 = _layout(
    {
        "nose": 0,
        "right_shoulder": 2,
        "right_elbow": 3,
        "right_wrist": 4,
        "left_shoulder": 5,
        "left_elbow": 6,
        "left_wrist": 7,
        "right_hip": 8,
        "right_knee": 9,
        "right_ankle": 10,
        "left_hip": 11,
        "left_knee": 12,
        "left_ankle": 13,
        "right_eye": 14,
        "left_eye": 15,
        "right_ear": 16,
        "left_ear": 17,
    }
)
# COCO_17 order is the first 17 canonical names (nose, eyes, ears, shoulders ... ankles)
_COCO_17 = _layout({name: i for i, name in enumerate(KEYPOINTS[:17])})
_HALPE_26 = _layout({**_COCO_17, "left_toe": 20, "right_toe": 21, "left_heel": 24, "right_heel": 25})
_BLAZEPOSE_33 = _layout(
    {
        "nose": 0,
        "left_eye": 2,
        "right_eye": 5,
        "left_ear": 7,
        "right_ear": 8,
        "left_shoulder": 11,
        "right_shoulder": 12,
        "left_elbow": 13,
        "right_elbow": 14,
        "left_wrist": 15,
        "right_wrist": 16,
        "left_hip": 23,
        "right_hip": 24,
        "left_knee": 25,
        "right_knee": 26,
        "left_ankle": 27,
        "right_ankle": 28,
        "left_heel": 29,
        "right_heel": 30,
        "left_toe": 31,
        "right_toe": 32,
    }
)

# OpenPose's BODY_25B (experimental model; Pose2Sim writes it): the COCO_17 order, then upper neck
# (17), head top (18) and the feet; index 8 is the right elbow, not BODY_25's mid-hip
_BODY_25B = _layout({**_COCO_17, "left_toe": 19, "left_heel": 21, "right_toe": 22, "right_heel": 24})

#: largest median distance (in torso lengths) of a BODY_25 neck / mid-hip from the midpoint of its
#: shoulders / hips for 25-keypoint data to be read as BODY_25 (OpenPose predicts both points
#: themselves: within a few % of the torso; BODY_25B data read as BODY_25 gives 0.5 and more)
BODY25_MIDPOINT_TOLERANCE = 0.2


def _median_midpoint_error(people: list[np.ndarray], point: int, a: int, b: int, top: int, bottom: tuple[int, int]) -> float:
    """Median over the detections of ``|p[point] - (p[a] + p[b]) / 2|`` divided by the torso length
    ``|p[top] - (p[bottom0] + p[bottom1]) / 2|``; NaN when no detection has the points."""
    errs = []
    for arr in people:
        idx = [point, a, b, top, *bottom]
        sel = arr[idx]
        if not (np.isfinite(sel).all() and (sel[:, 2] > 0).all() and not ((sel[:, 0] == 0) & (sel[:, 1] == 0)).any()):
            continue
        xy = sel[:, :2]
        torso = float(np.linalg.norm(xy[3] - 0.5 * (xy[4] + xy[5])))
        if torso > 0:
            errs.append(float(np.linalg.norm(xy[0] - 0.5 * (xy[1] + xy[2]))) / torso)
    return float(np.median(errs)) if errs else float("nan")


def detect_25_keypoint_layout(people: list[np.ndarray], where: Path) -> str:
    """``"BODY_25"`` or ``"BODY_25B"`` for 25-keypoint OpenPose data, from the data itself.

    BODY_25 has a neck (1) at the midpoint of the shoulders (2, 5) and a mid-hip (8) at the midpoint
    of the hips (9, 12); BODY_25B has the COCO order (shoulders 5/6, elbows 7/8, wrists 9/10, hips
    11/12) with an upper neck (17) just above the shoulders' midpoint. Refuses to guess
    (:class:`InvalidInputError`) when the data fits neither; OpenPose's default BODY_25 when no
    detection shows the shoulders and hips of either layout.
    """
    tol = BODY25_MIDPOINT_TOLERANCE
    neck = _median_midpoint_error(people, 1, 2, 5, 1, (9, 12))
    midhip = _median_midpoint_error(people, 8, 9, 12, 1, (9, 12))
    body25 = np.isfinite(neck) and np.isfinite(midhip) and neck < tol and midhip < tol
    # BODY_25B: the upper neck near the shoulders' midpoint (it sits a little above it)
    upper_neck = _median_midpoint_error(people, 17, 5, 6, 17, (11, 12))
    body25b = np.isfinite(upper_neck) and upper_neck < 2 * tol and not body25
    if body25:
        return "BODY_25"
    if body25b:
        return "BODY_25B"
    if not any(np.isfinite(x) for x in (neck, midhip, upper_neck)):
        # no detection shows a torso in either layout (neither hips nor shoulders): nothing to
        # mislabel, OpenPose's default is kept
        return "BODY_25"
    raise InvalidInputError(
        "25 keypoints per person, but the data fits neither OpenPose BODY_25 (neck and mid-hip at the midpoints "
        f"of the shoulders and hips: {neck:.2f} / {midhip:.2f} torso lengths away) nor BODY_25B (upper neck at the "
        f"shoulders: {upper_neck:.2f}); medius does not guess the layout: write BODY_25 or HALPE_26",
        path=where,
    )


#: JSON ``pose_keypoints_2d`` layouts by number of keypoints: (name, canonical -> index)
JSON_LAYOUTS: dict[int, tuple[str, dict[str, int]]] = {
    25: ("BODY_25", _BODY_25),
    18: ("COCO_18", _COCO_18),
    17: ("COCO_17", _COCO_17),
    26: ("HALPE_26", _HALPE_26),
    33: ("BLAZEPOSE_33", _BLAZEPOSE_33),
}

#: TRC marker names accepted for each canonical keypoint, in order of preference (a file
#: with both ``LBigToe`` and ``LToe`` uses ``LBigToe``). Matching ignores case and the
#: characters ``_ - . space``, so ``R_Knee``, ``rknee`` and ``right-knee`` all match.
#: Sources: HALPE_26 / BODY_25 / COCO names of Pose2Sim ``skeletons.py`` (RHip, RBigToe,
#: RHeel ...), BlazePose names (right_foot_index), and spelled-out variants.
TRC_MARKER_ALIASES: dict[str, tuple[str, ...]] = {
    "nose": ("Nose",),
    **{
        f"{side}_{part}": (f"{s}{p}", f"{side}{p}", f"{side}_{part}")
        for side, s in (("left", "L"), ("right", "R"))
        for part, p in (
            ("eye", "Eye"),
            ("ear", "Ear"),
            ("shoulder", "Shoulder"),
            ("elbow", "Elbow"),
            ("wrist", "Wrist"),
            ("hip", "Hip"),
            ("knee", "Knee"),
            ("ankle", "Ankle"),
            ("heel", "Heel"),
        )
    },
    **{
        f"{side}_toe": (
            f"{s}BigToe",
            f"{side}BigToe",
            f"{side}_big_toe",
            f"{side}_foot_index",
            f"{s}FootIndex",
            f"{s}Toe",
            f"{side}Toe",
        )
        for side, s in (("left", "L"), ("right", "R"))
    },
}

#: canonical name -> marker name written by :func:`write_trc` (Sports2D / HALPE_26 names)
SPORTS2D_MARKER_NAMES: dict[str, str] = {
    "nose": "Nose",
    **{
        f"{side}_{part}": f"{s}{p}"
        for side, s in (("left", "L"), ("right", "R"))
        for part, p in (
            ("eye", "Eye"),
            ("ear", "Ear"),
            ("shoulder", "Shoulder"),
            ("elbow", "Elbow"),
            ("wrist", "Wrist"),
            ("hip", "Hip"),
            ("knee", "Knee"),
            ("ankle", "Ankle"),
            ("heel", "Heel"),
            ("toe", "BigToe"),
        )
    },
}


def _norm_marker(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


#: normalised alias -> (canonical name, preference rank)
_ALIAS_LOOKUP: dict[str, tuple[str, int]] = {
    _norm_marker(alias): (canon, rank)
    for canon, aliases in TRC_MARKER_ALIASES.items()
    for rank, alias in enumerate(aliases)
}

_PX_UNITS = frozenset({"px", "pix", "pixel", "pixels"})
_LENGTH_UNITS = frozenset({"m", "mm", "cm", "in", "ft", "meter", "meters", "metre", "metres"})


#: largest pixel coordinate read from a keypoint file (a 100-megapixel image is 12,000 px wide)
MAX_PIXEL_COORD = 1e6
#: highest frame rate accepted from a file header (high-speed cameras reach a few thousand)
MAX_RATE_HZ = 100_000.0


# ---------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------
def _check_fps(fps: float | None, path: Path, *, required: bool) -> float | None:
    if fps is None:
        if required:
            raise InvalidInputError("OpenPose JSON carries no frame rate; pass --fps", path=path)
        return None
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(
            f"invalid value for 'fps': must be a finite number > 0 (frames per second), got {fps!r}",
            path=path,
        )
    return value


def _check_image_size(image_size: Sequence[int] | None, path: Path) -> tuple[int, int] | None:
    if image_size is None:
        return None
    try:
        w, h = (float(v) for v in image_size)
        ok = w == int(w) and h == int(h) and w > 0 and h > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidInputError(
            f"invalid value for 'image_size': must be (width, height) in whole pixels > 0, got {image_size!r}",
            path=path,
        )
    return int(w), int(h)


def _require_exists(path: Path) -> None:
    if not path.exists():
        raise InputNotFoundError("no such file or folder", path=path)


def _read_text(path: Path) -> str:
    return read_text_file(path, expected="a keypoint file")


def _natural_key(name: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


_FRAME_NUMBER = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?:_keypoints)?$", re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# OpenPose JSON
# ---------------------------------------------------------------------------------------
def _list_json_files(folder_or_files: str | Path | Iterable[str | Path]) -> tuple[Path, list[Path]]:
    """(path to name in messages, JSON files in frame order)."""
    if isinstance(folder_or_files, str | Path):
        where = Path(folder_or_files)
        _require_exists(where)
        if where.is_dir():
            files = [p for p in where.iterdir() if p.is_file() and p.suffix.lower() == ".json"]
            keypoint_files = [p for p in files if p.stem.lower().endswith("_keypoints")]
            files = keypoint_files or files
            if not files:
                raise InvalidInputError(
                    "folder holds no OpenPose JSON files (*.json, one per frame)", path=where
                )
        else:
            files = [where]
    else:
        files = [Path(p) for p in folder_or_files]
        if not files:
            raise InvalidInputError("no OpenPose JSON files given (zero frames)")
        for p in files:
            _require_exists(p)
        where = files[0].parent
    files.sort(key=lambda p: _natural_key(p.name))
    return where, files


def _frame_numbers(files: list[Path], where: Path) -> np.ndarray:
    """Frame number of each file: the number at the end of its name, else its position."""
    matches = [_FRAME_NUMBER.match(p.stem) for p in files]
    if not all(matches):
        return np.arange(len(files))
    prefixes = sorted({m.group("prefix") for m in matches if m})
    numbers = np.array([int(m.group("number")) for m in matches if m])
    if len(prefixes) > 1:
        shown = ", ".join(repr(p) for p in prefixes[:4])
        raise InvalidInputError(
            f"folder mixes frame files of several clips (name prefixes {shown}); "
            "keep one clip's JSON files per folder",
            path=where,
        )
    order = np.argsort(numbers, kind="stable")
    if np.any(np.diff(numbers[order]) == 0):
        dup = int(numbers[order][np.flatnonzero(np.diff(numbers[order]) == 0)[0]])
        raise InvalidInputError(
            f"two files carry frame number {dup}; frame numbers must be unique", path=where
        )
    return numbers


def _parse_people(doc: Any, path: Path) -> list[list[Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise InvalidInputError(
            "not an OpenPose keypoint file: expected an object with a 'people' list", path=path
        )
    out = []
    for i, person in enumerate(doc["people"]):
        values = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        if not isinstance(values, list):
            raise InvalidInputError(f"people[{i}] has no 'pose_keypoints_2d' list", path=path)
        if values:  # an empty list = body not estimated for that detection
            out.append(values)
    return out


def _to_floats(values: list[Any], path: Path, person: int) -> np.ndarray:
    for j, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InvalidInputError(
                f"people[{person}].pose_keypoints_2d[{j}] is not a number: {v!r}", path=path
            )
    return np.asarray(values, dtype=float)


def read_openpose_json(
    folder_or_files: str | Path | Iterable[str | Path],
    *,
    fps: float | None,
    image_size: tuple[int, int] | None = None,
) -> MultiPersonKeypoints:
    """Read OpenPose-style JSON keypoints, one file per frame.

    Parameters
    ----------
    folder_or_files
        a folder of ``*.json`` frame files (only ``*_keypoints.json`` if there are any), a
        single JSON file (one frame), or an iterable of JSON files.
    fps
        frame rate in Hz; required, the files carry no time. Frame ``k`` (the number at
        the end of the file name, ``_keypoints`` aside) is at ``k / fps`` seconds; names
        without a number are numbered by their natural sort order.
    image_size
        ``(width, height)`` of the video the keypoints come from, if known.

    Returns
    -------
    MultiPersonKeypoints
        one slot per detected person (no tracking), canonical keypoint names.

    Raises
    ------
    InputNotFoundError
        the path does not exist or cannot be read.
    InvalidInputError
        no fps, no JSON files, malformed JSON, an unknown number of values per person,
        non-numeric values, inconsistent layouts, duplicate frame numbers.
    """
    where, files = _list_json_files(folder_or_files)
    rate = _check_fps(fps, where, required=True)
    assert rate is not None
    size = _check_image_size(image_size, where)
    numbers = _frame_numbers(files, where)
    order = np.argsort(numbers, kind="stable")
    files, numbers = [files[i] for i in order], numbers[order]

    frames: list[list[np.ndarray]] = []
    layout_n: int | None = None
    layout_file: Path | None = None
    for path in files:
        text = _read_text(path)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", path=path
            ) from None
        except RecursionError:
            raise InvalidInputError(
                "the JSON is nested too deeply to be a keypoint file", path=path
            ) from None
        except ValueError as exc:  # a number too long to convert (Python's 4300-digit limit)
            raise InvalidInputError(
                f"malformed JSON: {' '.join(str(exc).split())[:200]}", path=path
            ) from None
        people = []
        for i, values in enumerate(_parse_people(doc, path)):
            arr = _to_floats(values, path, i)
            n_kp, rest = divmod(arr.size, 3)
            if rest or n_kp not in JSON_LAYOUTS:
                raise InvalidInputError(
                    f"people[{i}].pose_keypoints_2d has {arr.size} values; expected 75 (BODY_25: 25 x 3) "
                    f"or {', '.join(f'{k * 3} ({v[0]})' for k, v in JSON_LAYOUTS.items() if k != 25)}",
                    path=path,
                )
            if layout_n is None:
                layout_n, layout_file = n_kp, path
            elif n_kp != layout_n:
                raise InvalidInputError(
                    f"people[{i}] has {n_kp} keypoints but {layout_file.name if layout_file else '?'} "
                    f"has {layout_n}; all frames must use one layout",
                    path=path,
                )
            people.append(arr.reshape(n_kp, 3))
        frames.append(people)

    n_t = len(files)
    n_p = max((len(p) for p in frames), default=0)
    n_k = len(KEYPOINTS)
    position = np.full((n_t, n_p, n_k, 2), np.nan)
    confidence = np.full((n_t, n_p, n_k), np.nan)
    layout_name, mapping = JSON_LAYOUTS[layout_n] if layout_n is not None else ("BODY_25", _BODY_25)
    if layout_n == 25 and detect_25_keypoint_layout([a for f in frames for a in f], where) == "BODY_25B":
        layout_name, mapping = "BODY_25B", _BODY_25B  # index 8 is an elbow there, not the mid-hip
    canon_idx = np.array([KEYPOINTS.index(n) for n in mapping])
    src_idx = np.array(list(mapping.values()))
    for t, people in enumerate(frames):
        for p, arr in enumerate(people):
            sel = arr[src_idx]  # (n_mapped, 3)
            x, y, c = sel[:, 0], sel[:, 1], sel[:, 2]
            ok = np.isfinite(sel).all(axis=1) & (c > 0) & ~((x == 0) & (y == 0))
            position[t, p, canon_idx[ok]] = sel[ok, :2]
            confidence[t, p, canon_idx[ok]] = c[ok]

    time_s = numbers.astype(float) / rate
    mp = MultiPersonKeypoints(
        position=position,
        confidence=confidence,
        time_s=time_s,
        image_size=size,
        frame_index=numbers,
        source=f"openpose-{layout_name.lower().replace('_', '')}",
    )
    return mp.with_log(
        "read_openpose_json",
        path=str(where),
        n_files=n_t,
        layout=layout_name,
        fps=rate,
        n_people_max=n_p,
    )


_BODY25_DERIVED: dict[int, tuple[str, ...]] = {
    1: ("left_shoulder", "right_shoulder"),  # Neck = mid-shoulder
    8: ("left_hip", "right_hip"),  # MidHip = mid-hip
    20: ("left_toe",),  # LSmallToe = copy of LBigToe
    23: ("right_toe",),  # RSmallToe = copy of RBigToe
}
_BODY25_SOURCE: tuple[tuple[str, ...], ...] = tuple(
    _BODY25_DERIVED.get(i) or tuple(n for n, j in _BODY_25.items() if j == i) for i in range(25)
)
"""For each BODY_25 index: the canonical point it copies, or the two it is the midpoint of."""


def _body25_array(mp: MultiPersonKeypoints) -> np.ndarray:
    """``(time, person, 25, 3)`` BODY_25 ``x, y, c``; NaN where a point is not available."""
    out = np.full((*mp.position.shape[:2], 25, 3), np.nan)
    names = mp.keypoint_names
    conf = np.where(np.isfinite(mp.confidence), mp.confidence, 1.0)  # present, no score -> 1.0
    for j, sources in enumerate(_BODY25_SOURCE):
        if not all(n in names for n in sources):
            continue
        idx = [names.index(n) for n in sources]
        out[:, :, j, :2] = mp.position[:, :, idx].mean(axis=2)  # NaN if any source is missing
        out[:, :, j, 2] = conf[:, :, idx].min(axis=2)
    out[~np.isfinite(out[..., :2]).all(axis=-1)] = np.nan
    return out


def _as_multi(kp: MultiPersonKeypoints | Keypoints2D) -> MultiPersonKeypoints:
    return MultiPersonKeypoints.from_single(kp) if isinstance(kp, Keypoints2D) else kp


def write_openpose_json(
    kp: MultiPersonKeypoints | Keypoints2D,
    folder: str | Path,
    *,
    prefix: str = "clip",
) -> list[Path]:
    """Write keypoints as OpenPose BODY_25 JSON, one ``<prefix>_<frame:012d>_keypoints.json`` per frame.

    The layout is OpenPose's: ``{"version":1.3,"people":[{"person_id":[-1],
    "pose_keypoints_2d":[x,y,c]*25,"face_keypoints_2d":[],...}]}``. ``Neck`` is the
    mid-shoulder point, ``MidHip`` the mid-hip point (score: the smaller of the two),
    ``SmallToe`` copies ``BigToe``, and every point not available is ``0,0,0``. A present
    point without a confidence is written with score 1.0. Empty person slots are left
    out. The frame number in each name is ``kp.frame_index``; time is not stored (read
    back with the same ``fps``).

    Parameters
    ----------
    kp
        the keypoints (one person or several).
    folder
        output folder, created if needed.
    prefix
        file name prefix (OpenPose uses the video name).

    Returns
    -------
    list of Path
        the files written, in frame order.
    """
    mp = _as_multi(kp)
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder: {exc.strerror or exc}", path=out) from None

    body = _body25_array(mp)
    paths = []
    assert mp.frame_index is not None
    for t in range(mp.n_frames):
        people = []
        for p in range(mp.n_people_max):
            if not np.isfinite(mp.position[t, p]).all(axis=-1).any():
                continue
            values = [0 if math.isnan(v) else v for v in body[t, p].ravel().tolist()]
            people.append(
                {
                    "person_id": [-1],
                    "pose_keypoints_2d": values,
                    "face_keypoints_2d": [],
                    "hand_left_keypoints_2d": [],
                    "hand_right_keypoints_2d": [],
                    "pose_keypoints_3d": [],
                    "face_keypoints_3d": [],
                    "hand_left_keypoints_3d": [],
                    "hand_right_keypoints_3d": [],
                }
            )
        path = out / f"{prefix}_{int(mp.frame_index[t]):012d}_keypoints.json"
        text = json.dumps({"version": 1.3, "people": people}, separators=(",", ":"))
        try:
            path.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write: {exc.strerror or exc}", path=path) from None
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------
# TRC
# ---------------------------------------------------------------------------------------
def _parse_number(cell: str, path: Path, line_no: int, column: str) -> float:
    s = cell.strip()
    if not s:
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise InvalidInputError(f"line {line_no}: {column} is not a number: {s!r}", path=path) from None


def _trc_header(lines: list[str], path: Path) -> dict[str, str]:
    if len(lines) < 5:
        raise InvalidInputError(
            f"TRC header does not parse: {len(lines)} line(s), expected at least 5 header lines "
            "(PathFileType, field names, field values, marker names, X1/Y1/Z1)",
            path=path,
        )
    if not lines[0].strip().lower().startswith("pathfiletype"):
        raise InvalidInputError(
            f"TRC header does not parse: line 1 must start with 'PathFileType', found {lines[0][:40]!r}",
            path=path,
        )
    keys = [k.strip() for k in lines[1].split("\t") if k.strip()]
    vals = [v.strip() for v in lines[2].split("\t")]
    while vals and not vals[-1]:
        vals.pop()
    if len(keys) != len(vals):
        keys, vals = lines[1].split(), lines[2].split()
    if len(keys) != len(vals) or "datarate" not in {k.lower() for k in keys}:
        raise InvalidInputError(
            "TRC header does not parse: lines 2-3 must be matching 'DataRate CameraRate NumFrames "
            f"NumMarkers Units ...' names and values, found {len(keys)} names and {len(vals)} values",
            path=path,
        )
    return {k.lower(): v for k, v in zip(keys, vals, strict=True)}


def _check_trc_units(units: str | None, path: Path) -> str:
    unit = (units or "").strip()
    low = unit.lower()
    named_px = re.search(r"(^|[_\-. ])px($|[_\-. ])", path.stem.lower()) is not None
    if low in _PX_UNITS or "pixel" in low:
        return "header"
    if named_px:
        return "file name"  # Sports2D writes Units 'm' in its *_px.trc files
    if low in _LENGTH_UNITS:
        raise InvalidInputError(
            f"this command needs pixel keypoints, but the TRC Units field is {unit!r} "
            "(a Sports2D pixel file is named *_px*.trc; use that one, not the metre file)",
            path=path,
        )
    raise InvalidInputError(
        f"unknown TRC Units {unit!r}: this command needs pixel keypoints (Units 'px')", path=path
    )


def _optional_rate(header: dict[str, str]) -> float | None:
    raw = header.get("datarate", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_trc(
    path: str | Path,
    *,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
) -> MultiPersonKeypoints:
    """Read a TRC file of 2D keypoints in pixels (Sports2D ``*_px*.trc``, Pose2Sim layout).

    Parameters
    ----------
    path
        the ``.trc`` file (one person; Sports2D writes one file per person).
    fps
        frame rate in Hz, used only when the file has neither a Time column nor a
        usable DataRate.
    image_size
        ``(width, height)`` of the video, if known (TRC does not record it).

    Returns
    -------
    MultiPersonKeypoints
        one person slot; time from the Time column (kept as is, possibly variable),
        else ``(Frame# - first Frame#) / DataRate``; confidence 1.0 where a point is
        present, NaN where missing.

    Raises
    ------
    InputNotFoundError
        the file does not exist or cannot be read.
    InvalidInputError
        header that does not parse, non-pixel units, rows of the wrong length, non-numeric
        cells, zero frames, no known marker names, no time, non-increasing times.
    """
    p = Path(path)
    _require_exists(p)
    if p.is_dir():
        raise InvalidInputError("is a folder; expected a .trc file", path=p)
    rate_arg = _check_fps(fps, p, required=False)
    size = _check_image_size(image_size, p)
    lines = _read_text(p).splitlines()
    header = _trc_header(lines, p)
    px_from = _check_trc_units(header.get("units"), p)

    names_row = lines[3].split("\t")
    if names_row[0].strip().lower() not in {"frame#", "frame"}:
        raise InvalidInputError(
            f"TRC header does not parse: line 4 must start with 'Frame#', found {names_row[0].strip()!r}",
            path=p,
        )
    has_time = len(names_row) > 1 and names_row[1].strip().lower() == "time"
    first = 2 if has_time else 1
    markers = [m.strip() for m in names_row[first:] if m.strip()]
    if not markers:
        raise InvalidInputError("TRC header does not parse: line 4 names no markers", path=p)
    coord_row = [c.strip() for c in lines[4].split("\t") if c.strip()]
    if not coord_row or not re.fullmatch(r"[XYZ]\d+", coord_row[0], re.IGNORECASE):
        raise InvalidInputError(
            "TRC header does not parse: line 5 must be the X1 Y1 Z1 ... coordinate row", path=p
        )

    # map markers to canonical keypoints, best-ranked alias wins
    chosen: dict[str, tuple[int, int]] = {}  # canonical -> (rank, marker column)
    unused = []
    for col, name in enumerate(markers):
        hit = _ALIAS_LOOKUP.get(_norm_marker(name))
        if hit is None:
            unused.append(name)
            continue
        canon, rank = hit
        if canon not in chosen or rank < chosen[canon][0]:
            if canon in chosen:
                unused.append(markers[chosen[canon][1]])
            chosen[canon] = (rank, col)
        else:
            unused.append(name)
    if not chosen:
        raise InvalidInputError(
            f"no known keypoint among the TRC markers ({', '.join(markers[:8])}"
            f"{', ...' if len(markers) > 8 else ''}); expected names such as RHip, RKnee, RAnkle",
            path=p,
        )

    n_cols = first + 3 * len(markers)
    rows: list[list[float]] = []
    line_nos: list[int] = []
    for i in range(5, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) > n_cols and not any(c.strip() for c in cells[n_cols:]):
            cells = cells[:n_cols]
        if len(cells) != n_cols:
            raise InvalidInputError(
                f"line {i + 1}: {len(cells)} tab-separated values, expected {n_cols} "
                f"(Frame#{', Time' if has_time else ''} and X Y Z for {len(markers)} markers)",
                path=p,
            )
        row = [_parse_number(cells[0], p, i + 1, "Frame#")]
        if has_time:
            row.append(_parse_number(cells[1], p, i + 1, "Time"))
        for j, cell in enumerate(cells[first:]):
            row.append(_parse_number(cell, p, i + 1, f"{'XYZ'[j % 3]}{j // 3 + 1}"))
        rows.append(row)
        line_nos.append(i + 1)
    if not rows:
        raise InvalidInputError("TRC file has zero frames (no data rows after the header)", path=p)

    data = np.asarray(rows, dtype=float)
    frames = data[:, 0]
    bad = ~np.isfinite(frames) | (frames != np.round(frames))
    if bad.any():
        raise InvalidInputError(
            f"line {line_nos[int(np.argmax(bad))]}: Frame# must be a whole number", path=p
        )
    frame_index = frames.astype(int)

    log: dict[str, Any] = {}
    if has_time and np.isfinite(data[:, 1]).any():
        time_s = data[:, 1]
        missing = ~np.isfinite(time_s)
        if missing.any():
            raise InvalidInputError(f"line {line_nos[int(np.argmax(missing))]}: Time is empty", path=p)
        time_from = "Time column"
    else:
        rate = _optional_rate(header)
        time_from = "DataRate"
        if rate is None:
            rate, time_from = rate_arg, "fps"
        if rate is None:
            raise InvalidInputError("TRC file has neither a Time column nor a DataRate; pass --fps", path=p)
        if rate <= 0 or rate > MAX_RATE_HZ:
            raise InvalidInputError(
                f"DataRate must be > 0 and at most {MAX_RATE_HZ:g} (frames per second), found {rate:g}",
                path=p,
            )
        time_s = (frames - frames[0]) / rate
    step = np.diff(time_s)
    if (step <= 0).any():
        k = int(np.argmax(step <= 0)) + 1
        raise InvalidInputError(
            f"line {line_nos[k]}: time {time_s[k]:g} s is not after the previous {time_s[k - 1]:g} s; "
            "times must increase",
            path=p,
        )

    n_k = len(KEYPOINTS)
    position = np.full((len(rows), 1, n_k, 2), np.nan)
    for canon, (_, col) in chosen.items():
        xy = data[:, first + 3 * col : first + 3 * col + 2]
        ok = np.isfinite(xy).all(axis=1) & ~((xy[:, 0] == 0) & (xy[:, 1] == 0))
        position[ok, 0, KEYPOINTS.index(canon)] = xy[ok]
        absurd = ok & (np.abs(xy) > MAX_PIXEL_COORD).any(axis=1)
        if absurd.any():
            k = int(np.argmax(absurd))
            raise InvalidInputError(
                f"line {line_nos[k]}: {markers[col]} at ({xy[k, 0]:g}, {xy[k, 1]:g}) px is out of range "
                f"(pixel coordinates beyond {MAX_PIXEL_COORD:g} are not an image)",
                path=p,
            )
    ys = position[..., 1][np.isfinite(position[..., 1])]
    if ys.size and np.all(ys <= 0) and np.any(ys < 0):
        position[..., 1] = -position[..., 1]
        log["y_negated"] = True
    confidence = np.where(np.isfinite(position).all(axis=-1), 1.0, np.nan)

    mp = MultiPersonKeypoints(
        position=position,
        confidence=confidence,
        time_s=time_s,
        image_size=size,
        frame_index=frame_index,
        source="trc",
    )
    return mp.with_log(
        "read_trc",
        path=str(p),
        n_frames=len(rows),
        units=header.get("units", ""),
        pixels_from=px_from,
        time_from=time_from,
        markers_used={c: markers[col] for c, (_, col) in chosen.items()},
        markers_ignored=unused,
        **log,
    )


def write_trc(
    kp: Keypoints2D,
    path: str | Path,
    *,
    marker_names: Mapping[str, str] = SPORTS2D_MARKER_NAMES,
) -> Path:
    """Write one person's keypoints as a pixel TRC file in Sports2D's layout.

    Same five header lines as Sports2D's ``make_trc_with_trc_data`` (but ``Units`` is
    ``px``), then ``Frame#  Time  x y z ...`` rows; ``Z`` is 0, a missing point is written
    as empty cells. ``DataRate`` is the median frame rate of ``kp.time_s``.

    Parameters
    ----------
    kp
        the keypoints of one person.
    path
        output ``.trc`` file.
    marker_names
        canonical keypoint name -> marker name; keypoints not in it are not written.

    Returns
    -------
    Path
        the file written.
    """
    p = Path(path)
    cols = [(i, marker_names[n]) for i, n in enumerate(kp.keypoint_names) if n in marker_names]
    rate = kp.fps
    rate_txt = format(rate, ".10g") if math.isfinite(rate) else "NaN"
    names = [m for _, m in cols]
    out = [
        f"PathFileType\t4\t(X/Y/Z)\t{p.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        "\t".join(
            [rate_txt, rate_txt, str(kp.n_frames), str(len(cols)), "px", rate_txt, "0", str(kp.n_frames)]
        ),
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t\t",
        "\t\t" + "\t".join(f"X{j + 1}\tY{j + 1}\tZ{j + 1}" for j in range(len(cols))),
    ]
    assert kp.frame_index is not None
    for t in range(kp.n_frames):
        cells = [str(int(kp.frame_index[t])), repr(float(kp.time_s[t]))]
        for i, _ in cols:
            x, y = kp.position[t, i]
            if np.isfinite(x) and np.isfinite(y):
                cells += [repr(float(x)), repr(float(y)), "0.0"]
            else:
                cells += ["", "", ""]
        out.append("\t".join(cells))
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("\n".join(out) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=p) from None
    return p


# ---------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------
SUPPORTED_FORMATS = (
    "a folder of OpenPose JSON files (one *.json per frame), a single OpenPose .json file, "
    "or a .trc file in pixels (Sports2D *_px*.trc)"
)


def read_keypoints(
    path: str | Path,
    *,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
) -> MultiPersonKeypoints:
    """Read a keypoint file, choosing the reader from what ``path`` is.

    A folder or a ``.json`` file is read with :func:`read_openpose_json` (``fps``
    required), a ``.trc`` file with :func:`read_trc`; anything else is refused.

    Parameters
    ----------
    path
        file or folder.
    fps
        frame rate in Hz (required for JSON; for TRC only when the file has no time).
    image_size
        ``(width, height)`` of the video, if known.
    """
    p = Path(path)
    _require_exists(p)
    if p.is_dir() or p.suffix.lower() == ".json":
        return read_openpose_json(p, fps=fps, image_size=image_size)
    if p.suffix.lower() == ".trc":
        return read_trc(p, fps=fps, image_size=image_size)
    raise InvalidInputError(
        f"unsupported keypoint file type {p.suffix or '(no extension)'!r}; supported: {SUPPORTED_FORMATS}",
        path=p,
    )
