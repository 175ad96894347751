"""Which gait events a lab trial uses: markers, force plates, the file's own, or markers and plates.

:func:`choose_lab_events` is the one place that picks the event source of a lab trial and says
why; ``medius analyze`` calls it for every marker trial of a gait task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medius.errors import InvalidInputError, NotJudgeableError
from medius.events._detectors import ForcePlateEventDetector, ForcePlateTrial, ZeniEventDetector
from medius.events._gait import assign_event_sides
from medius.io.markers import EVENT_SOURCES
from medius.kinematics._validation import check_option
from medius.kinematics.filtering3d import fill_gaps
from medius.kinematics.labtrial import drop_empty_markers, event_markers

if TYPE_CHECKING:  # pragma: no cover
    from medius.io.force_plates import ForcePlates
    from medius.io.markers import Markers3D

__all__ = ["EVENT_SOURCES", "LabEvents", "choose_lab_events"]



@dataclass(frozen=True)
class LabEvents:
    """The gait events of a lab trial, which source gave them and why.

    Attributes
    ----------
    events
        ``{"side", "kind", "time_s", "source"}`` dicts sorted by time (``source``: ``"markers"``,
        ``"force_plate"`` or ``"file"``).
    used
        the source used: ``"markers"``, ``"force-plates"``, ``"file"`` or
        ``"markers + force plates"``.
    info
        the record of the choice, as written in result.json (``parameters.events``):
        ``requested``, ``used``, ``n``, ``warnings`` (why a source was not used), the force
        plates' notes and problems, the marker method and notes, and the marker events a plate
        replaced (``replaced_by_force_plates``, with the marker minus plate time in ms).
    """

    events: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def used(self) -> str:
        """The source used (``info["used"]``)."""
        return str(self.info.get("used", ""))

    @property
    def warnings(self) -> list[str]:
        """Why a requested or better source was not used (one line each)."""
        return list(self.info.get("warnings", []))


def _absent_foot_markers(markers: Markers3D, marker_set: str | Path) -> str:
    """``; the marker set's 'LHEE' (left_heel) ... are not in the trial`` for the foot and pelvis
    roles the trial lacks (or never sees), to name them in an events message."""
    from medius.kinematics.markersets import load_marker_set

    ms = load_marker_set(marker_set)
    seen = set(drop_empty_markers(markers).labels)
    roles = ("left_heel", "left_toe", "right_heel", "right_toe", "left_psis", "right_psis", "sacrum")
    gone = [f"{ms.label(r)!r} ({r})" for r in roles if ms.label(r) is not None and ms.label(r) not in seen]
    return f"; marker set {ms.name!r}: {', '.join(gone)} not in the trial" if gone else f" (marker set {ms.name!r})"


def choose_lab_events(
    markers: Markers3D,
    angles: Any,
    *,
    path: Path,
    task: str,
    source: str = "auto",
    plates: ForcePlates | None = None,
    marker_set: str | Path = "plug-in-gait",
) -> LabEvents:
    """The gait events of a lab trial, from the source asked for or the best one available.

    ``auto``: from the markers over the whole trial (:class:`ZeniEventDetector`, Zeni et al.
    2008, on the gap-filled unfiltered foot markers: the foot-velocity method measured far worse
    on the synthetic and real trials, docs/gait-events.md); on a C3D with force plates
    (``plates``, read with its markers; None for other files), each contact a plate saw
    (:class:`ForcePlateEventDetector`) replaces the marker event of the same foot and kind within
    0.1 s (the plate is the reference method). When the foot or pelvis markers are missing,
    ``auto`` falls back to the plates alone, then to the file's own EVENT times, saying why.
    ``markers``, ``force-plates`` or ``file`` (the C3D's own EVENT times) use that source alone.

    Parameters
    ----------
    markers
        the trial's markers (its ``events`` are the file's own).
    angles
        the trial's ``LabAngles`` (its ``axes`` orient the detectors; its joint centres place
        the feet on the plates).
    path
        the trial's file, named in errors.
    task
        ``"walk"`` or ``"run"``.
    source
        one of :data:`EVENT_SOURCES`.
    plates
        the trial's force plates (None: not a C3D, or not read).
    marker_set
        the marker set mapping the foot and pelvis roles to the trial's labels.

    Returns
    -------
    LabEvents

    Raises
    ------
    InvalidInputError
        the source asked for gives no events (no plates, no contacts, no EVENT times, no foot
        markers), or no source does.
    """
    src = check_option("source", source, EVENT_SOURCES)
    info: dict[str, Any] = {"requested": src}
    feet = fill_gaps(event_markers(markers, marker_set))  # the foot and pelvis markers, through the marker set

    def done(evs: list[dict[str, Any]], used: str, **extra: Any) -> LabEvents:
        info.update(used=used, n=len(evs), **extra)
        return LabEvents(events=evs, info=info)

    def file_events() -> list[dict[str, Any]]:
        evs = [dict(e) for e in markers.events if e.get("kind") in ("foot_strike", "foot_off")]
        if any(not e.get("side") for e in evs):  # EVENT:CONTEXTS empty: sides from the feet
            evs = assign_event_sides(evs, feet, angles.axes)
            info["sides_assigned_from_feet"] = True
        return [dict(e, source="file") for e in evs if e.get("side") in ("left", "right")]

    if src == "file":
        evs = file_events()
        if not evs:
            raise InvalidInputError("the trial holds no foot-strike / foot-off events (--events file)", path=path)
        return done(evs, "file")
    fp_events: list[dict[str, Any]] = []
    warnings: list[str] = []
    info["warnings"] = warnings
    skipped = [n for entry in (plates.log if plates is not None else ()) for n in entry.get("notes", ())
               if "skipped" in str(n)]
    if skipped:
        info["force_plates_skipped"] = skipped
        warnings.append("Force plates: " + "; ".join(skipped) + ": the events come from the markers.")
    if plates is not None and len(plates.plates) > 0 and src != "markers":
        try:
            fp = ForcePlateEventDetector().detect(ForcePlateTrial(plates, angles))
        except (NotJudgeableError, InvalidInputError) as exc:  # a plate problem: marker events, and why
            info["force_plate_problem"] = exc.message
            if src == "force-plates":
                raise InvalidInputError(f"{exc.message} (--events force-plates)", path=path) from None
            warnings.append(f"Force plates not used for the events ({exc.message}); the events come from the markers.")
        else:
            fp_events = [dict(e, source="force_plate") for e in fp.events]
            info["force_plate_notes"] = list(fp.notes)
    info["force_plates"] = 0 if plates is None else len(plates.plates)
    if src == "force-plates":
        if not fp_events:
            raise InvalidInputError("no foot contacts on force plates in this trial (--events force-plates)", path=path)
        return done(fp_events, "force-plates")
    # on the gap-filled, unfiltered markers: low-pass filtering moves the heel and toe extrema
    try:
        found = ZeniEventDetector(task=task).detect(feet, axes=angles.axes)  # type: ignore[arg-type]
    except InvalidInputError as exc:  # foot or pelvis markers missing: the other sources, and why
        why = f"{exc.message}{_absent_foot_markers(markers, marker_set)}"
        if src == "auto" and fp_events:
            warnings.append(f"Events from the force plates only: no marker events ({why}).")
            return done(fp_events, "force-plates", marker_problem=exc.message)
        evs = file_events() if src == "auto" else []
        if evs:
            warnings.append(f"Events from the file's own EVENT times: no marker events ({why}).")
            return done(evs, "file", marker_problem=exc.message)
        raise InvalidInputError(
            f"{why}; map the heel and toe roles in a marker-set YAML, or use the file's own events (--events file)",
            path=path,
        ) from None
    mk = [dict(e, source="markers") for e in found.events]
    info["marker_method"] = found.method
    info["marker_notes"] = list(found.notes)
    if src == "markers" or not fp_events:
        return done(mk, "markers")
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
    return done(out, "markers + force plates", replaced_by_force_plates=replaced)
