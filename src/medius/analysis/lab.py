"""A lab marker trial (C3D, TRC in mm/m, marker table): read, calibrate, model, gait events, protocol.

:func:`read_lab_trial` reads the markers (and a C3D's force plates, parsed once with them) and
the static trial before any output is created; :func:`analyze_lab_trial` builds the lab model
(:func:`medius.kinematics.labtrial.prepare_lab_trial`), finds the gait events of walking and
running (:func:`lab_events`: markers, force plates, the file's own events, or markers with each
plate contact replacing the marker event it matches) and runs the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medius.analysis.inputs import input_sha256
from medius.analysis.request import AnalysisRequest
from medius.errors import InvalidInputError, NotJudgeableError
from medius.io import Keypoints2D
from medius.io.force_plates import ForcePlates, read_c3d_trial
from medius.io.markers import Markers3D, read_markers
from medius.kinematics.angles3d import project_frontal
from medius.kinematics.filtering3d import fill_gaps
from medius.kinematics.labtrial import drop_empty_markers, event_markers, prepare_lab_trial
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

__all__ = ["LabTrial", "analyze_lab_trial", "lab_events", "read_lab_trial"]


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
        evs, ev_info = lab_events(trial.markers, angles, path, task, request.events, trial.plates, marker_set)
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


def _absent_foot_markers(markers: Markers3D, marker_set: str | Path) -> str:
    """``; the marker set's 'LHEE' (left_heel) ... are not in the trial`` for the foot and pelvis
    roles the trial lacks (or never sees), to name them in an events message."""
    from medius.kinematics.markersets import load_marker_set

    ms = load_marker_set(marker_set)
    seen = set(drop_empty_markers(markers).labels)
    roles = ("left_heel", "left_toe", "right_heel", "right_toe", "left_psis", "right_psis", "sacrum")
    gone = [f"{ms.label(r)!r} ({r})" for r in roles if ms.label(r) is not None and ms.label(r) not in seen]
    return f"; marker set {ms.name!r}: {', '.join(gone)} not in the trial" if gone else f" (marker set {ms.name!r})"


def lab_events(
    markers: Markers3D, angles: Any, path: Path, task: str, source: str, plates: ForcePlates | None,
    marker_set: str | Path = "plug-in-gait",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The gait events of a lab trial and where they came from.

    ``auto``: from the markers over the whole trial; on a C3D with force plates (``plates``, read
    with its markers; None for other files), each contact a plate saw replaces the marker event of
    the same foot and kind within 0.1 s (the plate is the reference method). ``markers``,
    ``force-plates`` or ``file`` (the C3D's own EVENT times) use that source alone.
    """
    from medius.events import assign_event_sides, detect_events_force_plates, detect_events_markers

    info: dict[str, Any] = {"requested": source}
    feet = fill_gaps(event_markers(markers, marker_set))  # the foot and pelvis markers, through the marker set

    def file_events() -> list[dict[str, Any]]:
        evs = [dict(e) for e in markers.events if e.get("kind") in ("foot_strike", "foot_off")]
        if any(not e.get("side") for e in evs):  # EVENT:CONTEXTS empty: sides from the feet
            evs = assign_event_sides(evs, feet, angles.axes)
            info["sides_assigned_from_feet"] = True
        return [dict(e, source="file") for e in evs if e.get("side") in ("left", "right")]

    if source == "file":
        evs = file_events()
        if not evs:
            raise InvalidInputError("the trial holds no foot-strike / foot-off events (--events file)", path=path)
        info.update(used="file", n=len(evs))
        return evs, info
    fp_events: list[dict[str, Any]] = []
    warnings: list[str] = []
    info["warnings"] = warnings
    skipped = [n for entry in (plates.log if plates is not None else ()) for n in entry.get("notes", ())
               if "skipped" in str(n)]
    if skipped:
        info["force_plates_skipped"] = skipped
        warnings.append("Force plates: " + "; ".join(skipped) + ": the events come from the markers.")
    if plates is not None and len(plates.plates) > 0 and source != "markers":
        try:
            fp = detect_events_force_plates(plates, angles)
        except (NotJudgeableError, InvalidInputError) as exc:  # a plate problem: marker events, and why
            info["force_plate_problem"] = exc.message
            if source == "force-plates":
                raise InvalidInputError(f"{exc.message} (--events force-plates)", path=path) from None
            warnings.append(f"Force plates not used for the events ({exc.message}); the events come from the markers.")
        else:
            fp_events = [dict(e, source="force_plate") for e in fp.events]
            info["force_plate_notes"] = list(fp.notes)
    info["force_plates"] = 0 if plates is None else len(plates.plates)
    if source == "force-plates":
        if not fp_events:
            raise InvalidInputError("no foot contacts on force plates in this trial (--events force-plates)", path=path)
        info.update(used="force-plates", n=len(fp_events))
        return fp_events, info
    # Zeni et al. 2008 for walking and running: the foot-velocity method measured far worse on the
    # synthetic and real trials (docs/gait-events.md)
    # on the gap-filled, unfiltered markers: low-pass filtering moves the heel and toe extrema
    try:
        found = detect_events_markers(feet, angles.axes, method="zeni", task=task)  # type: ignore[arg-type]
    except InvalidInputError as exc:  # foot or pelvis markers missing: the other sources, and why
        why = f"{exc.message}{_absent_foot_markers(markers, marker_set)}"
        if source == "auto" and fp_events:
            warnings.append(f"Events from the force plates only: no marker events ({why}).")
            info.update(used="force-plates", n=len(fp_events), marker_problem=exc.message)
            return fp_events, info
        evs = file_events() if source == "auto" else []
        if evs:
            warnings.append(f"Events from the file's own EVENT times: no marker events ({why}).")
            info.update(used="file", n=len(evs), marker_problem=exc.message)
            return evs, info
        raise InvalidInputError(
            f"{why}; map the heel and toe roles in a marker-set YAML, or use the file's own events (--events file)",
            path=path,
        ) from None
    mk = [dict(e, source="markers") for e in found.events]
    info["marker_method"] = found.method
    info["marker_notes"] = list(found.notes)
    if source == "markers" or not fp_events:
        info.update(used="markers", n=len(mk))
        return mk, info
    replaced = []
    out = list(mk)
    for fe in fp_events:
        near = [
            (abs(m["time_s"] - fe["time_s"]), i)
            for i, m in enumerate(out)
            if m.get("source") == "markers" and m["side"] == fe["side"] and m["kind"] == fe["kind"]
            and abs(m["time_s"] - fe["time_s"]) <= 0.1
        ]
        if near:
            d, i = min(near)
            replaced.append({"side": fe["side"], "kind": fe["kind"], "time_s": round(fe["time_s"], 4),
                             "marker_minus_plate_ms": round(1000 * (out[i]["time_s"] - fe["time_s"]), 1)})
            out[i] = fe
        else:
            out.append(fe)
    out.sort(key=lambda e: e["time_s"])
    info.update(used="markers + force plates", n=len(out), replaced_by_force_plates=replaced)
    return out, info