"""Events: repetitions of single-leg tasks and the stance leg of each; gait events and stances.

Gait event detectors are algorithm objects with one interface (:class:`GaitEventDetector`):
parameters validated when built, ``detect(data) -> GaitEvents``. :func:`choose_lab_events` picks
the event source of a lab trial; :class:`Stance` is the one stance type; :func:`compute_cadence`
the one cadence.
"""

from medius.events._detectors import (
    EVENT_DETECTORS,
    FootVelocityEventDetector,
    ForcePlateEventDetector,
    ForcePlateTrial,
    GaitEventDetector,
    VideoEventDetector,
    ZeniEventDetector,
    detect_events_markers,
)
from medius.events._gait import (
    GaitEvents,
    Stance,
    assign_event_sides,
    compute_cadence,
    compute_step_times,
    compute_stride_times,
    detect_events_velocity,
    detect_events_zeni,
    stances_from_events,
)
from medius.events._lab import EVENT_SOURCES, LabEvents, choose_lab_events
from medius.events._reps import Rep, SquatRepDetector, detect_stance_side

__all__ = [
    "EVENT_DETECTORS",
    "EVENT_SOURCES",
    "FootVelocityEventDetector",
    "ForcePlateEventDetector",
    "ForcePlateTrial",
    "GaitEventDetector",
    "GaitEvents",
    "LabEvents",
    "Rep",
    "SquatRepDetector",
    "Stance",
    "VideoEventDetector",
    "ZeniEventDetector",
    "assign_event_sides",
    "choose_lab_events",
    "compute_cadence",
    "compute_step_times",
    "compute_stride_times",
    "detect_events_markers",
    "detect_events_velocity",
    "detect_events_zeni",
    "detect_stance_side",
    "stances_from_events",
]
