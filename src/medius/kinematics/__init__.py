"""Kinematics: clean keypoint trajectories and the 2D angle and distance series computed from them.

* :mod:`medius.kinematics.filtering`: confidence masking, gap interpolation and a zero-lag
  Butterworth low-pass filter on :class:`~medius.io.Keypoints2D` (each step logged in ``kp.log``);
* :mod:`medius.kinematics.angles2d`: frontal-plane angles (FPPA, pelvic tilt, trunk lean, hip
  adduction) and distances (depth, knee medial displacement) as ``(time,)`` numpy arrays.

Conventions and every sign are on one page: ``docs/conventions.md``.
"""

from medius.kinematics._validation import ParameterError
from medius.kinematics.angles2d import (
    ALL_SERIES_KEYS,
    SIDE_SERIES_KEYS,
    compute_all_series,
    compute_depth_pct,
    compute_fppa,
    compute_hip_adduction,
    compute_knee_medial_displacement_pct,
    compute_pelvic_tilt,
    compute_segment_length,
    compute_side_series,
    compute_trunk_lean,
    relative_to_baseline,
)
from medius.kinematics.filtering import (
    design_cutoff_hz,
    interpolate_gaps,
    lowpass_filter,
    mask_low_confidence,
    preprocess,
)

__all__ = [
    "ALL_SERIES_KEYS",
    "SIDE_SERIES_KEYS",
    "ParameterError",
    "compute_all_series",
    "compute_depth_pct",
    "compute_fppa",
    "compute_hip_adduction",
    "compute_knee_medial_displacement_pct",
    "compute_pelvic_tilt",
    "compute_segment_length",
    "compute_side_series",
    "compute_trunk_lean",
    "design_cutoff_hz",
    "interpolate_gaps",
    "lowpass_filter",
    "mask_low_confidence",
    "preprocess",
    "relative_to_baseline",
]
