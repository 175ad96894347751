"""Running a pose backend over a stream of frames."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from medius.io import KEYPOINTS
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.pose._base import PoseBackend
from medius.pose._census import PeopleCensus

__all__ = ["estimate_poses"]


def estimate_poses(
    frames: Iterable[Any],
    backend: PoseBackend,
    *,
    image_size: tuple[int, int],
    max_people: int = 3,
    on_frame: Callable[[int, float], None] | None = None,
    source: str | None = None,
    frame_observers: Iterable[Callable[[np.ndarray, float], None]] = (),
    census: PeopleCensus | None = None,
) -> MultiPersonKeypoints:
    """Run ``backend`` on every frame and collect everyone it finds.

    ``frames`` yields objects with ``index``, ``time_s``, ``image`` (RGB) and ``scale`` (image px
    per displayed-frame px, as :func:`medius.io.video.iter_frames` gives them). Keypoints are
    returned in displayed-frame pixels. Memory grows by ``max_people × 21 × 3`` numbers a frame
    (about 1.5 kB): the frames themselves are not kept. Each of ``frame_observers`` is called
    with ``(image, scale)`` for every frame (for example a camera-motion tracker); ``census``
    (a :class:`~medius.pose.PeopleCensus`) looks at the frames it is due on.
    """
    observers = list(frame_observers)
    k = len(KEYPOINTS)
    pos_chunks: list[np.ndarray] = []
    conf_chunks: list[np.ndarray] = []
    times: list[float] = []
    index: list[int] = []
    for frame in frames:
        people = backend.detect(frame.image, frame.time_s)[:max_people]
        for observe in observers:
            observe(frame.image, frame.scale or 1.0)
        if census is not None:
            census.observe(frame)
        p = np.full((max_people, k, 2), np.nan, dtype=np.float32)
        c = np.full((max_people, k), np.nan, dtype=np.float32)
        inv = 1.0 / (frame.scale or 1.0)
        for s, person in enumerate(people):
            p[s] = person.xy * inv
            c[s] = person.confidence
        pos_chunks.append(p)
        conf_chunks.append(c)
        times.append(frame.time_s)
        index.append(frame.index)
        if on_frame is not None:
            on_frame(frame.index, frame.time_s)
    n = len(times)
    position = np.stack(pos_chunks).astype(float) if n else np.zeros((0, max_people, k, 2))
    confidence = np.stack(conf_chunks).astype(float) if n else np.zeros((0, max_people, k))
    mp = MultiPersonKeypoints(
        position=position,
        confidence=confidence,
        time_s=np.asarray(times, dtype=float),
        image_size=image_size,
        frame_index=np.asarray(index),
        source=source or backend.name,
    )
    return mp
