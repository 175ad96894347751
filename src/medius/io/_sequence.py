"""The one canonical 2D keypoint container every later layer works on.

Conventions (see ``docs/conventions.md``):

* image frame: origin at the top-left pixel corner of the *displayed* (upright, rotation
  metadata applied) frame, ``x`` to the right, ``y`` down, unit pixel (``px``);
* time in seconds from the container's presentation timestamps (never an assumed fps);
* ``left``/``right`` are the *person's* left and right (anatomical), not the image's;
* a missing point is ``NaN`` in ``position`` and ``confidence``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = [
    "KEYPOINTS",
    "LEFT_RIGHT_PAIRS",
    "Keypoints2D",
    "keypoint_index",
    "swap_left_right_names",
]

#: Canonical keypoint names, in storage order. A subset shared by BlazePose (33 points)
#: and OpenPose BODY_25; ``toe`` is BlazePose ``foot_index`` / BODY_25 ``BigToe``.
KEYPOINTS: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_toe",
    "right_toe",
)

#: (left, right) index pairs in :data:`KEYPOINTS`
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (KEYPOINTS.index(n), KEYPOINTS.index("right_" + n[5:])) for n in KEYPOINTS if n.startswith("left_")
)


def keypoint_index(name: str) -> int:
    """Index of a canonical keypoint, with a clear error for an unknown name."""
    try:
        return KEYPOINTS.index(name)
    except ValueError:
        raise KeyError(f"unknown keypoint {name!r}; known: {', '.join(KEYPOINTS)}") from None


def swap_left_right_names(names: Sequence[str]) -> list[str]:
    """``left_x`` <-> ``right_x`` for every name (others unchanged)."""
    out = []
    for n in names:
        if n.startswith("left_"):
            out.append("right_" + n[5:])
        elif n.startswith("right_"):
            out.append("left_" + n[6:])
        else:
            out.append(n)
    return out


def provenance_entry(operation: str, **params: Any) -> dict[str, Any]:
    """One provenance step, as every container's ``with_log`` appends it: the operation, its
    parameters and counts, and the time (UTC, seconds)."""
    return {"operation": operation, **params, "datetime": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}


@dataclass(frozen=True)
class Keypoints2D:
    """2D keypoints of one person over time.

    Attributes
    ----------
    position
        ``(time, keypoint, space)`` array, float64, pixels in the image frame; NaN = missing.
    confidence
        ``(time, keypoint)`` array in [0, 1] (BlazePose visibility, OpenPose score); NaN = missing.
    time_s
        ``(time,)`` presentation time of each frame in seconds, strictly increasing.
    image_size
        ``(width, height)`` of the displayed frame in pixels.
    keypoint_names
        names of the keypoint axis, :data:`KEYPOINTS` by default.
    frame_index
        ``(time,)`` index of each sample in the source's frame order.
    source
        where the data came from (``"mediapipe-blazepose-full"``, ``"openpose-body25"``, ``"trc"``,
        ``"synthetic"``).
    log
        provenance: one dict per processing step, in order (``operation``, parameters, time).
    """

    position: np.ndarray
    confidence: np.ndarray
    time_s: np.ndarray
    image_size: tuple[int, int]
    keypoint_names: tuple[str, ...] = KEYPOINTS
    frame_index: np.ndarray | None = None
    source: str = "unknown"
    log: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        pos = np.asarray(self.position, dtype=float)
        conf = np.asarray(self.confidence, dtype=float)
        t = np.asarray(self.time_s, dtype=float)
        problems = []
        if pos.ndim != 3 or pos.shape[2] != 2:
            problems.append(f"position must be (time, keypoint, 2), got shape {pos.shape}")
        elif pos.shape[1] != len(self.keypoint_names):
            problems.append(
                f"position has {pos.shape[1]} keypoints but {len(self.keypoint_names)} names"
            )
        if conf.shape != pos.shape[:2]:
            problems.append(f"confidence must be {pos.shape[:2]}, got {conf.shape}")
        if t.shape != pos.shape[:1]:
            problems.append(f"time_s must have {pos.shape[0]} samples, got shape {t.shape}")
        elif t.size > 1 and not np.all(np.diff(t) > 0):
            problems.append("time_s must be strictly increasing")
        if problems:
            raise ValueError("invalid Keypoints2D: " + "; ".join(problems))
        fi = np.arange(pos.shape[0]) if self.frame_index is None else np.asarray(self.frame_index)
        object.__setattr__(self, "position", pos)
        object.__setattr__(self, "confidence", conf)
        object.__setattr__(self, "time_s", t)
        object.__setattr__(self, "frame_index", fi)
        object.__setattr__(self, "keypoint_names", tuple(self.keypoint_names))
        object.__setattr__(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))
        object.__setattr__(self, "log", tuple(self.log))

    # ------------------------------------------------------------------ access
    @property
    def n_frames(self) -> int:
        return int(self.position.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if self.n_frames > 1 else 0.0

    @property
    def fps(self) -> float:
        """Median frame rate from the timestamps (Hz)."""
        if self.n_frames < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.time_s)))

    def index(self, name: str) -> int:
        try:
            return self.keypoint_names.index(name)
        except ValueError:
            raise KeyError(f"unknown keypoint {name!r}") from None

    def xy(self, name: str) -> np.ndarray:
        """``(time, 2)`` positions of one keypoint (a view, do not mutate)."""
        return self.position[:, self.index(name), :]

    def conf(self, name: str) -> np.ndarray:
        return self.confidence[:, self.index(name)]

    # ------------------------------------------------------------------ transforms
    def replace(self, **changes: Any) -> Keypoints2D:
        return replace(self, **changes)

    def with_log(self, operation: str, **params: Any) -> Keypoints2D:
        """A copy with one provenance entry appended."""
        return replace(self, log=(*self.log, provenance_entry(operation, **params)))

    def slice_frames(self, sel: slice | np.ndarray) -> Keypoints2D:
        assert self.frame_index is not None
        return replace(
            self,
            position=self.position[sel],
            confidence=self.confidence[sel],
            time_s=self.time_s[sel],
            frame_index=self.frame_index[sel],
        )

    def swap_left_right(self, frames: np.ndarray | None = None) -> Keypoints2D:
        """Exchange every left/right keypoint pair (in all frames, or a boolean/int selection)."""
        pos = self.position.copy()
        conf = self.confidence.copy()
        sel = np.arange(self.n_frames) if frames is None else np.asarray(frames)
        names = self.keypoint_names
        for i, n in enumerate(names):
            if n.startswith("left_") and ("right_" + n[5:]) in names:
                j = names.index("right_" + n[5:])
                pos[sel, i], pos[sel, j] = self.position[sel, j], self.position[sel, i]
                conf[sel, i], conf[sel, j] = self.confidence[sel, j], self.confidence[sel, i]
        return replace(self, position=pos, confidence=conf)

    def mirrored(self) -> Keypoints2D:
        """The keypoints of the horizontally mirrored video (x -> width - x, left <-> right).

        Mirroring the image turns the person's left side into what looks like a right side,
        so a pose model labels it ``right``: the mirror of a recording is modelled as
        ``x' = width - x`` plus a left/right swap of the labels.
        """
        pos = self.position.copy()
        pos[..., 0] = self.image_size[0] - pos[..., 0]
        return replace(self, position=pos).swap_left_right()

    @classmethod
    def empty_like_names(
        cls, n_frames: int, names: Iterable[str] = KEYPOINTS, **kw: Any
    ) -> Keypoints2D:
        names = tuple(names)
        return cls(
            position=np.full((n_frames, len(names), 2), np.nan),
            confidence=np.full((n_frames, len(names)), np.nan),
            keypoint_names=names,
            **kw,
        )
