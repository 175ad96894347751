"""The perception chain after the pose model, as the analysis runs it, for the real-video tests.

``select_person`` → ``correct_left_right`` (facing the camera) → ``preprocess`` → the per-frame
series of both sides (FPPA, hip adduction, ... and each stance's pelvic tilt and trunk lean).
"""

from __future__ import annotations

import numpy as np

from medius.io import Keypoints2D
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.kinematics import compute_all_series, compute_side_series, preprocess
from medius.pose import PersonSelection, SideCheck, correct_left_right, select_person


def run_chain(people: MultiPersonKeypoints) -> tuple[PersonSelection, Keypoints2D, SideCheck, dict[str, np.ndarray]]:
    """``(selection, sided keypoints, side check, series)`` of everyone the model found."""
    kp, selection = select_person(people)
    sided, sides = correct_left_right(kp, expected_facing="camera")
    clean = preprocess(sided)
    series = compute_all_series(clean)
    for stance in ("left", "right"):
        per_side = compute_side_series(clean, stance)
        for key in ("pelvic_tilt_deg", "trunk_lean_deg"):
            series[f"{key}_{stance}"] = per_side[key]
    return selection, sided, sides, series
