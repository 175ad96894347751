"""Running a pose backend over a stream of frames."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from medius.io import KEYPOINTS
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.pose._base import PoseBackend
from medius.pose._census import PeopleCensus

__all__ = ["estimate_poses"]


class _SideWork:
    """Runs the per-frame side work (camera tracker, census) on a worker thread.

    OpenCV and MediaPipe release the interpreter lock while they compute, so this work can use
    the core the decoder leaves idle instead of lengthening every step of the pose loop. The
    queue is bounded (frames are referenced, not copied: nobody mutates them), and the first
    error raised by the work is re-raised in the caller at :meth:`finish`.
    """

    def __init__(
        self,
        observers: list[Callable[[np.ndarray, float], None]],
        census: PeopleCensus | None,
        sinks: list[Callable[[Any, list[Any]], None]] | None = None,
    ) -> None:
        self.observers = observers
        self.census = census
        self.sinks = sinks or []
        self._q: queue.Queue[Any] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="medius-side-work", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is not None:
                continue
            frame, previous = item
            try:
                for observe in self.observers:
                    observe(frame.image, frame.scale or 1.0)
                if self.census is not None:
                    self.census.observe(frame)
                for sink in self.sinks:
                    sink(frame, previous)
            except BaseException as exc:  # handed to the caller
                self._error = exc

    def submit(self, frame: Any, previous: list[Any]) -> None:
        """Queue ``frame`` with the people detected in the frame before it (for the sinks)."""
        self._q.put((frame, previous))

    def finish(self) -> None:
        self._q.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


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
    frame_sinks: Iterable[Callable[[Any, list[Any]], None]] = (),
) -> MultiPersonKeypoints:
    """Run ``backend`` on every frame and collect everyone it finds.

    ``frames`` yields objects with ``index``, ``time_s``, ``image`` (RGB) and ``scale`` (image px
    per displayed-frame px, as :func:`medius.io.video.iter_frames` gives them). Keypoints are
    returned in displayed-frame pixels. Memory grows by ``max_people × 21 × 3`` numbers a frame
    (about 1.5 kB): the frames themselves are not kept. Each of ``frame_observers`` is called
    with ``(image, scale)`` for every frame (for example a camera-motion tracker); ``census``
    (a :class:`~medius.pose.PeopleCensus`) looks at the frames it is due on. Both run on a
    worker thread beside the pose loop, in frame order. Each of ``frame_sinks`` is called there
    too, after them, with the frame itself and the people detected in the frame before it (none
    for the first frame): the analysis keeps a small copy of the frames for the annotated video
    and scans it for faces other than the tracked person's there. The sinks see that detection,
    not "the latest", so what they do does not depend on how far the pose loop has run ahead.
    """
    observers = list(frame_observers)
    sinks = list(frame_sinks)
    side = _SideWork(observers, census, sinks) if observers or sinks or census is not None else None
    k = len(KEYPOINTS)
    pos_chunks: list[np.ndarray] = []
    conf_chunks: list[np.ndarray] = []
    times: list[float] = []
    index: list[int] = []
    people: list[Any] = []
    try:
        for frame in frames:
            if side is not None:
                side.submit(frame, people)
            people = backend.detect(frame.image, frame.time_s)[:max_people]
            _collect(people, frame, max_people, k, pos_chunks, conf_chunks, times, index)
            if on_frame is not None:
                on_frame(frame.index, frame.time_s)
    finally:
        if side is not None:
            side.finish()
    n = len(times)
    position = np.stack(pos_chunks).astype(float) if n else np.zeros((0, max_people, k, 2))
    confidence = np.stack(conf_chunks).astype(float) if n else np.zeros((0, max_people, k))
    return MultiPersonKeypoints(
        position=position,
        confidence=confidence,
        time_s=np.asarray(times, dtype=float),
        image_size=image_size,
        frame_index=np.asarray(index),
        source=source or backend.name,
    )


def _collect(
    people: list[Any],
    frame: Any,
    max_people: int,
    k: int,
    pos_chunks: list[np.ndarray],
    conf_chunks: list[np.ndarray],
    times: list[float],
    index: list[int],
) -> None:
    """Append one frame's detections (in displayed-frame pixels) to the growing arrays."""
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
