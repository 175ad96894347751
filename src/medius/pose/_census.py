"""Who else is in view: a sparse multi-person pass beside the single-person tracking.

The tested person is tracked on every frame by a single-pose landmarker (stable landmarks). To
know whether that is the right person, and whether others are in view, a second landmarker finds
up to three people on one frame every ``interval_s`` seconds (image mode, no tracking). The census
costs about ``1 / (interval_s × fps)`` of the tracking's inference per person found.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medius.io import KEYPOINTS
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.pose._base import PoseBackend

__all__ = ["PeopleCensus"]


class PeopleCensus:
    """Collects everyone a multi-person backend sees on frames ``interval_s`` apart.

    Parameters
    ----------
    backend
        A backend detecting several people per image (``BlazePoseBackend(num_poses=3,
        mode="image")``).
    interval_s
        Time between census frames; the first frame is always included.
    max_people
        Slots kept per census frame.
    """

    def __init__(self, backend: PoseBackend, *, interval_s: float = 1.0, max_people: int = 3) -> None:
        self.backend = backend
        self.interval_s = float(interval_s)
        self.max_people = int(max_people)
        self._next_t = -np.inf
        self._pos: list[np.ndarray] = []
        self._conf: list[np.ndarray] = []
        self._t: list[float] = []
        self._idx: list[int] = []

    def observe(self, frame: Any) -> None:
        """Look at one frame (``index``, ``time_s``, ``image``, ``scale``) if it is due."""
        if frame.time_s < self._next_t:
            return
        self._next_t = frame.time_s + self.interval_s
        k = len(KEYPOINTS)
        p = np.full((self.max_people, k, 2), np.nan)
        c = np.full((self.max_people, k), np.nan)
        inv = 1.0 / (frame.scale or 1.0)
        for s, person in enumerate(self.backend.detect(frame.image, frame.time_s)[: self.max_people]):
            p[s] = person.xy * inv
            c[s] = person.confidence
        self._pos.append(p)
        self._conf.append(c)
        self._t.append(float(frame.time_s))
        self._idx.append(int(frame.index))

    def result(self, image_size: tuple[int, int]) -> MultiPersonKeypoints:
        """The census frames as a (sparse in time) multi-person recording."""
        k = len(KEYPOINTS)
        n = len(self._t)
        return MultiPersonKeypoints(
            position=np.stack(self._pos) if n else np.zeros((0, self.max_people, k, 2)),
            confidence=np.stack(self._conf) if n else np.zeros((0, self.max_people, k)),
            time_s=np.asarray(self._t, dtype=float),
            image_size=image_size,
            frame_index=np.asarray(self._idx, dtype=int),
            source=f"census:{self.backend.name}",
        )
