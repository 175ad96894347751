"""A lab marker trial (C3D, TRC in mm/m, marker table): read, calibrate, model, gait events, protocol.

:func:`read_lab_trial` reads the markers (and a C3D's force plates, parsed once with them) and
the static trial before any output is created; :func:`analyze_lab_trial` builds the lab model
(:func:`medius.kinematics.labtrial.prepare_lab_trial`), finds the gait events of walking and
running (:func:`medius.events.choose_lab_events`: markers, force plates, the file's own events, or markers with each
plate contact replacing the marker event it matches) and runs the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from medius.analysis.inputs import input_sha256
from medius.analysis.request import AnalysisRequest
from medius.errors import InvalidInputError
from medius.events import choose_lab_events
from medius.io import Keypoints2D
from medius.io.force_plates import ForcePlates, read_c3d_trial
from medius.io.markers import Markers3D, read_markers
from medius.kinematics.angles3d import project_frontal
from medius.kinematics.labtrial import prepare_lab_trial
from medius.protocols import (
    GAIT_TASKS,
    AnalysisParameters,
    GaitAnalysis,
    GaitParameters,
    SingleLegAnalysis,
    analyze_gait_lab,
    analyze_single_leg,
)

if TYPE_CHECKING:
    from medius.analysis.run import Progress

__all__ = ["LabTrial", "analyze_lab_trial", "read_lab_trial"]


@dataclass
class LabTrial:
    """A marker trial as read, before any output exists."""

    markers: Markers3D
    #: the C3D's force plates (None: not read, or not a C3D)
    plates: ForcePlates | None
    #: the static calibration trial (None: none given)
    static: Markers3D | None
    #: ``result.json``'s ``input``
    info: dict[str, Any]


def read_lab_trial(request: AnalysisRequest, kind: str, say: Progress) -> LabTrial:
    """Read the trial of ``request`` (``kind``: :data:`medius.analysis.inputs.MARKER_KINDS`)."""
    path, task, units, rate_hz = request.input, request.task, request.marker_units, request.marker_rate_hz
    say("reading markers", 0, None)
    plates: ForcePlates | None = None
    if kind == "c3d" and task in GAIT_TASKS and request.events != "file":  # the C3D parsed once for both
        markers, plates = read_c3d_trial(path)
    else:
        markers = read_markers(path, units=units, rate_hz=rate_hz)  # type: ignore[arg-type]
    static = request.static
    static_m = read_markers(static, units=units, rate_hz=rate_hz) if static is not None else None  # type: ignore[arg-type]
    if markers.n_frames == 0 or not np.isfinite(markers.position).any():
        raise InvalidInputError("the trial has no 3D point data", path=path)
    info: dict[str, Any] = {
        "name": path.name,
        "kind": kind,
        "rate_hz": round(float(markers.rate_hz), 3),
        "n_frames": int(markers.n_frames),
        "n_markers": len(markers.labels),
        "duration_s": round(float(markers.time_s[-1] - markers.time_s[0]), 4),
        "units": "m",
        "static": static.name if static is not None else None,
    }
    return LabTrial(markers=markers, plates=plates, static=static_m, info=info)


def analyze_lab_trial(
    trial: LabTrial, request: AnalysisRequest, say: Progress
) -> tuple[SingleLegAnalysis | GaitAnalysis, Keypoints2D]:
    """Lab model, events and protocol: the analysis and the keypoints it drew on (the frontal
    projection of the joint centres). Adds the content hashes to ``trial.info``."""
    path, task, marker_set = request.input, request.task, request.marker_set
    info = trial.info
    info["sha256"] = input_sha256(path)
    if request.static is not None:
        info["static_sha256"] = input_sha256(request.static)
    gp = GaitParameters()
    cutoff = gp.lab_cutoff_hz(task) if task in GAIT_TASKS else AnalysisParameters().cutoff_hz
    say("lab model", 0, None)
    angles, lab_info = prepare_lab_trial(trial.markers, marker_set=marker_set, static=trial.static, cutoff_hz=cutoff,
                                         partial=task in GAIT_TASKS)  # gait: stance by stance
    if task in GAIT_TASKS:
        say("gait events", 0, None)
        chosen = choose_lab_events(trial.markers, angles, path=path, task=task, source=request.events,
                                   plates=trial.plates, marker_set=marker_set)
        evs, ev_info = chosen.events, chosen.info
        lab_info.setdefault("warnings", []).extend(ev_info.pop("warnings", []))
        analysis: SingleLegAnalysis | GaitAnalysis = analyze_gait_lab(
            angles, evs, task=task, params=gp,  # type: ignore[arg-type]
            parameters={"lab_model": lab_info, "events": ev_info},
        )
        keypoints = analysis.keypoints
    else:
        keypoints = project_frontal(angles.joint_centres, angles.axes)
        analysis = analyze_single_leg(keypoints, task=task, facing="camera", params=None)  # type: ignore[arg-type]
        analysis.parameters["lab_model"] = lab_info
        analysis.warnings.append(
            "Lab trial: the single-leg metrics are measured on the frontal projection of the joint centres."
        )
    assert keypoints is not None
    return analysis, keypoints
