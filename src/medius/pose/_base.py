"""The pose-backend interface: what a 2D pose model must provide to the rest of medius."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["PersonPose", "PoseBackend"]


@dataclass(frozen=True)
class PersonPose:
    """One detected person in one frame.

    ``xy`` is ``(keypoint, 2)`` in the pixels of the image given to the backend, in the canonical
    keypoint order (:data:`medius.io.KEYPOINTS`); ``confidence`` is ``(keypoint,)`` in [0, 1].
    """

    xy: np.ndarray
    confidence: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class PoseBackend(Protocol):
    """A 2D pose model, used frame by frame in time order.

    A backend is created for one video (it may keep tracking state between frames) and closed
    afterwards. Later layers only see :class:`medius.io.keypoint_files.MultiPersonKeypoints`, so a
    new model needs only this class: ``name``, ``describe()``, ``detect()`` and ``close()``.
    """

    name: str

    def describe(self) -> dict[str, Any]:
        """Model name, version, files and parameters, for the result's provenance."""
        ...

    def detect(self, image_rgb: np.ndarray, time_s: float) -> list[PersonPose]:
        """Detect the people in one RGB ``(H, W, 3)`` uint8 frame taken at ``time_s`` seconds."""
        ...

    def close(self) -> None: ...
