"""The video pass: one decode of the video feeds the pose model, the census, the frame copy and the faces.

:func:`run_video_pass` decodes the video on a background thread (:func:`medius.io.video.
iter_frames`), runs BlazePose in video mode on every frame to track the tested person (with the
flip test if asked), counts everyone in view once a second (:class:`medius.pose.PeopleCensus`),
measures camera motion on the frame borders, and, when an annotated video is wanted, keeps a
small copy of the frames in the workspace (:class:`medius.io.video.FrameCache`) and finds the
faces to blur on it (:class:`medius.analysis.faces.FaceScan`), so the source is decoded once.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medius.analysis.faces import FaceScan, head_ellipse_of
from medius.errors import InvalidInputError
from medius.io import KEYPOINTS
from medius.io._motion import CameraMotionTracker
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.io.video import Frame, FrameCache, VideoInfo, iter_frames
from medius.pose import BlazePoseBackend, FlipTestBackend, PeopleCensus, PersonPose, estimate_poses

if TYPE_CHECKING:
    from medius.analysis.run import Progress

__all__ = ["ANNOTATED_MAX_SIDE_PX", "CENSUS_INTERVAL_S", "VideoPass", "run_video_pass"]

#: seconds between the frames on which everyone in view is counted (medius.pose.PeopleCensus)
CENSUS_INTERVAL_S = 1.0
#: long side (px) of the frame copy, at which the annotated video is written: 960 x 540 for a
#: 16:9 video costs about 15 ms less CPU a frame than 1280 x 720 (drawing, blurring, encoding)
#: and is still sharp enough to read the overlay and judge the movement
ANNOTATED_MAX_SIDE_PX = 960
#: the temporary copy of the frames for the annotated video, inside the workspace
_FRAME_CACHE_NAME = ".frames-for-annotated-video.mkv"


@dataclass
class VideoPass:
    """What the pass over a video found."""

    #: the tracked person, one per frame
    people: MultiPersonKeypoints
    #: everyone in view, on the census frames
    census: MultiPersonKeypoints
    #: which way the person faces, from the model's depth (None: not known)
    facing_depth: dict[str, float] | None
    #: camera motion (and the trunk's yaw to the camera, when known)
    camera: dict[str, float]
    #: the tracking and census models, as provenance
    pose_model: dict[str, Any]
    #: the frames kept for the annotated video (None without one)
    frame_cache: FrameCache | None
    #: the faces to blur, displayed-frame px by frame index (None: not scanned)
    face_ellipses: dict[int, list[np.ndarray]] | None


def run_video_pass(
    path: Path,
    vinfo: VideoInfo,
    *,
    workspace: Path,
    max_side_px: int,
    annotated_video: bool,
    blur_faces: bool,
    flip_test: bool,
    say: Progress,
) -> VideoPass:
    """Decode ``path`` once: pose, census, camera motion, frame copy and faces (see the module)."""
    tracker = CameraMotionTracker()
    total = vinfo.n_frames
    frame_cache: FrameCache | None = None
    face_scan: FaceScan | None = None
    if annotated_video:
        # a small copy of the frames for the annotated video, kept while the pose pass
        # decodes them, so the source is decoded once (see FrameCache)
        frame_cache = FrameCache(
            workspace / _FRAME_CACHE_NAME,
            display_size=(vinfo.width, vinfo.height),
            max_side_px=min(max_side_px, ANNOTATED_MAX_SIDE_PX),
            fps_hint=vinfo.fps if vinfo.fps and np.isfinite(vinfo.fps) else 30.0,
        )
        if blur_faces:
            # faces are found while the frames go by, on the pose pass's side thread
            face_scan = FaceScan()
    try:
        frames, census_model = _start_pose_pass(path, max_side_px)
        with (
            _tracking_backend(flip_test) as backend,
            contextlib.closing(census_model()) as census_backend,
        ):
            census = PeopleCensus(census_backend, interval_s=CENSUS_INTERVAL_S)
            pose_model = {
                **backend.describe(),
                "census": {**census_backend.describe(), "interval_s": CENSUS_INTERVAL_S},
            }
            people = estimate_poses(
                frames,
                backend,
                image_size=(vinfo.width, vinfo.height),
                max_people=1,
                on_frame=lambda i, t: say("pose", i + 1, total),
                frame_observers=[tracker.update],
                census=census,
                frame_sinks=[_copy_sink(frame_cache, face_scan)] if frame_cache is not None else (),
            )
            census_people = census.result((vinfo.width, vinfo.height))
            facing_depth = backend.facing_from_depth()
            trunk_yaw = backend.camera_yaw()
        _release_memory()
        camera = tracker.summary((vinfo.width, vinfo.height))
        if trunk_yaw:
            camera = {**camera, **trunk_yaw}
        if people.n_frames == 0:
            raise InvalidInputError("the video has no decodable frames", path=path)
        face_ellipses = face_scan.ellipses() if face_scan is not None else None
    except BaseException:
        if frame_cache is not None:
            frame_cache.remove()  # its encoder closed now, not when collected
        raise
    finally:
        if face_scan is not None:
            face_scan.close()
    return VideoPass(
        people=people,
        census=census_people,
        facing_depth=facing_depth,
        camera=camera,
        pose_model=pose_model,
        frame_cache=frame_cache,
        face_ellipses=face_ellipses,
    )


def _release_memory() -> None:
    """Give the pose models' freed buffers back to the OS (glibc only; measured: −225 to −250 MB
    of peak RSS while the outputs are written)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _copy_sink(frame_cache: FrameCache, face_scan: FaceScan | None) -> Callable[[Frame, list[PersonPose]], None]:
    """The pose pass's frame sink: the frame copy, then the face scan on the copy's image.

    The tracked person's head in the previous frame's detection is passed to the face scan as covered:
    it is blurred from the keypoints anyway, so their face is not followed (saves a face-model
    run a frame on the side thread).
    """

    def sink(frame: Frame, previous: list[PersonPose]) -> None:
        image = frame_cache.add(frame)
        if face_scan is None:
            return
        covered = []
        factor = frame_cache.scale / (frame.scale or 1.0)  # pose-frame px -> copy px
        for person in previous[:1]:
            head = head_ellipse_of(person.xy * factor, person.confidence, KEYPOINTS, max(image.shape[:2]))
            if head is not None:
                covered.append(head)
        face_scan.add(image, frame.index, frame.time_s, frame_cache.scale, covered=covered)

    return sink


def _tracking_backend(flip_test: bool) -> BlazePoseBackend | FlipTestBackend:
    """The model that tracks the tested person: BlazePose in video mode, with the flip test if asked."""
    if flip_test:
        return FlipTestBackend(lambda: BlazePoseBackend(num_poses=1, mode="video"))
    return BlazePoseBackend(num_poses=1, mode="video")


def _start_pose_pass(path: Path, max_side_px: int) -> tuple[Iterator[Frame], Callable[[], BlazePoseBackend]]:
    """Start decoding ``path`` and creating the census model while the caller creates the tracker.

    A helper thread takes the first frame (which starts the decoding thread and fills its queue)
    and then creates the census's multi-person model, so neither waits for the tracker's model.
    Returns the frames (the first one included) and a function giving the census model (waiting
    for it, re-raising its error).
    """
    frames = iter_frames(path, max_side_px=max_side_px)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["first"] = next(frames, None)
            box["census"] = BlazePoseBackend(num_poses=3, mode="image")
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    helper = threading.Thread(target=work, name="medius-pose-start", daemon=True)
    helper.start()

    def census_backend() -> BlazePoseBackend:
        helper.join()
        if "error" in box:
            raise box["error"]
        backend: BlazePoseBackend = box["census"]
        return backend

    def all_frames() -> Iterator[Frame]:
        helper.join()
        if "error" in box:
            raise box["error"]
        if box["first"] is None:
            return
        yield box["first"]
        yield from frames

    return all_frames(), census_backend
