"""Input and output: video (PyAV), 2D keypoint files (OpenPose JSON, TRC), the keypoint containers, input metadata."""

from medius.io._metadata import INPUT_METADATA_FILE, read_input_metadata, synthetic_metadata
from medius.io._sequence import (
    KEYPOINTS,
    LEFT_RIGHT_PAIRS,
    Keypoints2D,
    keypoint_index,
    swap_left_right_names,
)
from medius.io.force_plates import ForcePlate, ForcePlates, read_force_plates
from medius.io.keypoint_files import (
    MultiPersonKeypoints,
    read_keypoints,
    read_openpose_json,
    read_trc,
    write_openpose_json,
    write_trc,
)
from medius.io.video import Frame, VideoInfo, VideoWriter, iter_frames, probe_video, transcode_video

__all__ = [
    "INPUT_METADATA_FILE",
    "KEYPOINTS",
    "LEFT_RIGHT_PAIRS",
    "ForcePlate",
    "ForcePlates",
    "Frame",
    "Keypoints2D",
    "MultiPersonKeypoints",
    "VideoInfo",
    "VideoWriter",
    "iter_frames",
    "keypoint_index",
    "probe_video",
    "read_force_plates",
    "read_input_metadata",
    "read_keypoints",
    "read_openpose_json",
    "read_trc",
    "swap_left_right_names",
    "synthetic_metadata",
    "transcode_video",
    "write_openpose_json",
    "write_trc",
]
