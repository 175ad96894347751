"""Pose estimation backends, running them over frames, and selecting the tested person."""

from medius.pose._base import PersonPose, PoseBackend
from medius.pose._mediapipe import BlazePoseBackend

__all__ = ["BlazePoseBackend", "PersonPose", "PoseBackend"]
