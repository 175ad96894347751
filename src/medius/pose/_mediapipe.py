"""MediaPipe BlazePose *full*, run offline from the model files inside the mediapipe wheel.

mediapipe 0.10.21 ships ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` inside its
wheel (used by the legacy ``mp.solutions.pose`` API, which tracks one person only). The Tasks API
``PoseLandmarker`` can track several people (``num_poses``) but expects a ``.task`` bundle whose
models carry input-normalisation metadata. We build that bundle in memory from the wheel's own
files, adding the metadata with mediapipe's metadata writer: the detector takes RGB scaled to
[-1, 1] (mean 127.5, std 127.5), the landmark model RGB scaled to [0, 1] (mean 0, std 255). Nothing
is downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from medius.pose._base import PersonPose

__all__ = ["BLAZEPOSE_TO_CANONICAL", "BlazePoseBackend"]

#: BlazePose landmark index for each canonical keypoint (see medius.io.KEYPOINTS)
BLAZEPOSE_TO_CANONICAL: tuple[int, ...] = (
    0,  # nose
    2,  # left_eye
    5,  # right_eye
    7,  # left_ear
    8,  # right_ear
    11,  # left_shoulder
    12,  # right_shoulder
    13,  # left_elbow
    14,  # right_elbow
    15,  # left_wrist
    16,  # right_wrist
    23,  # left_hip
    24,  # right_hip
    25,  # left_knee
    26,  # right_knee
    27,  # left_ankle
    28,  # right_ankle
    29,  # left_heel
    30,  # right_heel
    31,  # left_toe (foot_index)
    32,  # right_toe (foot_index)
)

_DETECTOR = ("modules", "pose_detection", "pose_detection.tflite")
_LANDMARKS = ("modules", "pose_landmark", "pose_landmark_full.tflite")


def facing_from_depth(depths: list[float]) -> dict[str, float] | None:
    """Summary of per-frame nose-minus-ears depths: median and the share of frames facing the camera."""
    d = np.asarray(depths, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 5:
        return None
    return {"median_nose_minus_ears_depth": float(np.median(d)), "frames_nose_nearer": float(np.mean(d < 0)),
            "frames": float(d.size)}


def _trunk_yaw(world: Any) -> float:
    """Signed turn (degrees) of the hip and shoulder lines out of the image plane, from BlazePose's
    world landmarks (metres, z towards the camera negative); folded to [-90, 90] so facing the
    camera and turning one's back both read 0 when square."""
    out = []
    for a, b in ((23, 24), (11, 12)):
        ang = float(np.degrees(np.arctan2(world[a].z - world[b].z, world[a].x - world[b].x)))
        if ang > 90:
            ang -= 180
        elif ang < -90:
            ang += 180
        out.append(ang)
    return float(np.mean(out))


def _quiet_mediapipe_logs() -> None:
    # glog / absl / TFLite chatter goes to stderr; keep the CLI output clean.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@functools.lru_cache(maxsize=1)
def _model_bundle() -> tuple[bytes, dict[str, str]]:
    """The in-memory ``.task`` bundle and the sha256 of the two source model files."""
    _quiet_mediapipe_logs()
    import mediapipe as mp
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer as mw

    root = Path(mp.__file__).parent
    det_path = root.joinpath(*_DETECTOR)
    lmk_path = root.joinpath(*_LANDMARKS)
    hashes = {}
    blobs = {}
    for key, path, mean, std, n_out in (
        ("pose_detector.tflite", det_path, 127.5, 127.5, 2),
        ("pose_landmarks_detector.tflite", lmk_path, 0.0, 255.0, 5),
    ):
        raw = path.read_bytes()
        hashes[path.name] = hashlib.sha256(raw).hexdigest()
        writer = mw.MetadataWriter.create(bytearray(raw))
        writer.add_general_info(key.removesuffix(".tflite"), "BlazePose model from the mediapipe wheel")
        writer.add_image_input(norm_mean=[mean], norm_std=[std])
        for i in range(n_out):
            writer.add_feature_output(name=f"output_{i}")
        blobs[key] = bytes(writer.populate()[0])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, blob in blobs.items():
            zf.writestr(key, blob)
    return buf.getvalue(), hashes


class BlazePoseBackend:
    """BlazePose full (33 landmarks) through MediaPipe's PoseLandmarker in video mode.

    Parameters
    ----------
    num_poses
        Most people detected per frame. The analysis tracks one person frame by frame
        (``num_poses=1`` in video mode: MediaPipe then follows the person with its landmark-based
        region of interest, which keeps the landmarks stable) and counts everyone in view with a
        separate ``num_poses=3`` image-mode landmarker on one frame a second
        (:class:`medius.pose.PeopleCensus`). In video mode with several poses the landmarker
        re-detects every frame and its landmarks jump (tens of pixels on the sample clip).
    mode
        ``"video"`` (tracking between frames; timestamps must increase) or ``"image"`` (every
        frame on its own).
    min_detection_confidence, min_presence_confidence, min_tracking_confidence
        MediaPipe's thresholds (see the PoseLandmarker documentation).
    """

    name = "mediapipe-blazepose-full"

    def __init__(
        self,
        *,
        num_poses: int = 1,
        mode: str = "video",
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        _quiet_mediapipe_logs()
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        if mode not in ("video", "image"):
            raise ValueError(f"Invalid value for 'mode'. Allowed values are 'video', 'image', but got {mode!r}.")
        self.num_poses = int(num_poses)
        self.mode = mode
        self.params = {
            "num_poses": self.num_poses,
            "mode": mode,
            "min_detection_confidence": min_detection_confidence,
            "min_presence_confidence": min_presence_confidence,
            "min_tracking_confidence": min_tracking_confidence,
        }
        bundle, self._hashes = _model_bundle()
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=bundle),
            running_mode=vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE,
            num_poses=self.num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._landmarker = vision.PoseLandmarker.create_from_options(options)
        self._last_ms = -1
        #: per detection of the first person: the model's depth of the nose minus that of the ears
        #: (image-normalised; negative = the nose nearer the camera than the ears = facing it)
        self.nose_minus_ears_depth: list[float] = []
        #: per detection of the first person: the turn of the hip and shoulder lines out of the
        #: image plane (degrees, from the model's 3D world landmarks; 0 = square to the camera)
        self.trunk_yaw_deg: list[float] = []
        self._index = np.asarray(BLAZEPOSE_TO_CANONICAL)

    def describe(self) -> dict[str, Any]:
        return {
            "name": "BlazePose full (MediaPipe PoseLandmarker, video mode)",
            "backend": self.name,
            "mediapipe_version": getattr(self._mp, "__version__", "unknown"),
            "model_files_sha256": dict(self._hashes),
            "confidence": "landmark visibility",
            **self.params,
        }

    def detect(self, image_rgb: np.ndarray, time_s: float) -> list[PersonPose]:
        h, w = image_rgb.shape[:2]
        img = self._mp.Image(
            image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(image_rgb)
        )
        if self.mode == "image":
            res = self._landmarker.detect(img)
        else:
            ms = int(round(time_s * 1000.0))
            if ms <= self._last_ms:  # VideoMode needs strictly increasing integer milliseconds
                ms = self._last_ms + 1
            self._last_ms = ms
            res = self._landmarker.detect_for_video(img, ms)
        people = []
        for k, lms in enumerate(res.pose_landmarks):
            arr = np.array([(p.x, p.y, p.visibility) for p in lms], dtype=float)[self._index]
            xy = arr[:, :2] * (w, h)
            # BlazePose's landmark depth (z, relative to the hips): seen from behind the nose is
            # farther than the ears, from the front nearer; the face's visibility says nothing there
            depth = float(lms[0].z - 0.5 * (lms[7].z + lms[8].z))
            if k == 0:
                self.nose_minus_ears_depth.append(depth)
                if res.pose_world_landmarks:
                    self.trunk_yaw_deg.append(_trunk_yaw(res.pose_world_landmarks[0]))
            people.append(PersonPose(xy=xy, confidence=np.clip(arr[:, 2], 0.0, 1.0),
                                     extra={"nose_minus_ears_depth": depth}))
        return people

    def facing_from_depth(self) -> dict[str, float] | None:
        """What the model's depth says about the facing direction over the frames seen so far."""
        return facing_from_depth(self.nose_minus_ears_depth)

    def camera_yaw(self) -> dict[str, float] | None:
        """Median turn of the trunk out of the image plane over the frames seen so far (degrees)."""
        y = np.asarray(self.trunk_yaw_deg, dtype=float)
        y = y[np.isfinite(y)]
        if y.size < 5:
            return None
        return {"trunk_yaw_deg": float(np.median(y)), "trunk_yaw_iqr_deg": float(np.subtract(*np.percentile(y, [75, 25])))}

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> BlazePoseBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
