"""Input and output: video (PyAV), 2D keypoint files (OpenPose JSON, TRC), the keypoint container."""

from medius.io._sequence import (
    KEYPOINTS,
    LEFT_RIGHT_PAIRS,
    Keypoints2D,
    keypoint_index,
    swap_left_right_names,
)

__all__ = [
    "KEYPOINTS",
    "LEFT_RIGHT_PAIRS",
    "Keypoints2D",
    "keypoint_index",
    "swap_left_right_names",
]
