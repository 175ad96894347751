"""Pose estimation backends, running them over frames, and selecting the tested person."""

from medius.pose._base import PersonPose, PoseBackend
from medius.pose._census import PeopleCensus
from medius.pose._flip import FlipTestBackend
from medius.pose._mediapipe import BlazePoseBackend
from medius.pose._run import estimate_poses
from medius.pose._select import PersonSelection, select_person, select_tracked_person
from medius.pose._sides import SideCheck, correct_left_right

__all__ = [
    "BlazePoseBackend",
    "FlipTestBackend",
    "PeopleCensus",
    "PersonPose",
    "PersonSelection",
    "PoseBackend",
    "SideCheck",
    "correct_left_right",
    "estimate_poses",
    "select_person",
    "select_tracked_person",
]
