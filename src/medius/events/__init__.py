"""Events: repetitions of single-leg tasks and the stance leg of each; gait events and stances."""

from medius.events._gait import (
    GaitEvents,
    Stance,
    StanceList,
    assign_event_sides,
    compute_cadence,
    compute_step_times,
    compute_stride_times,
    detect_events_2d,
    detect_events_force_plates,
    detect_events_markers,
    detect_events_velocity,
    detect_events_zeni,
    segment_stances,
)
from medius.events._reps import Rep, SquatRepDetector, detect_stance_side

__all__ = [
    "GaitEvents",
    "Rep",
    "SquatRepDetector",
    "Stance",
    "StanceList",
    "assign_event_sides",
    "compute_cadence",
    "compute_step_times",
    "compute_stride_times",
    "detect_events_2d",
    "detect_events_force_plates",
    "detect_events_markers",
    "detect_events_velocity",
    "detect_events_zeni",
    "detect_stance_side",
    "segment_stances",
]
