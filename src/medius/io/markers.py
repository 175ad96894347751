"""Laboratory 3D marker trajectories: the :class:`Markers3D` container and its readers and writers.

Conventions (``docs/lab-kinematics.md``):

* positions in **metres** in the **lab frame** of the file, whatever unit the file uses
  (C3D ``POINT:UNITS``, TRC ``Units``, or the ``units`` argument of a text file); the lab axes
  are kept as they are (Vicon labs are usually Z up, OpenSim/Pose2Sim files Y up):
  :mod:`medius.kinematics.angles3d` finds or is told which axis is up and which is forward;
* time in **seconds**; for a C3D, ``time_s`` counts from the start of the capture (frame 1 at
  0 s, so a trial whose first frame is 261 at 100 Hz starts at 2.60 s), the clock of the C3D
  ``EVENT`` times;
* a missing marker is ``NaN`` in all three coordinates (a marker with any coordinate missing
  is missing);
* gait events: one dict per event, ``{"side": "left" | "right" | None, "kind": "foot_strike"
  | "foot_off" | <other label, lower case, spaces as underscores>, "time_s": float}``;
  ``side`` is None where the file gives no (or another) context.

Readers raise :class:`~medius.errors.InputNotFoundError` (missing file) or
:class:`~medius.errors.InvalidInputError` (not the format, unreadable, no point data), with a
one-line message that names the file.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from medius.errors import InputNotFoundError, InvalidInputError, OutputError
from medius.io._sequence import provenance_entry
from medius.io._text import read_text_file

__all__ = [
    "EVENT_KINDS",
    "LENGTH_UNITS_M",
    "Markers3D",
    "MARKER_SUFFIXES",
    "EVENT_SOURCES",
    "MARKER_UNIT_CHOICES",
    "SUBJECT_PARAMETERS",
    "markers_from_c3d",
    "open_c3d",
    "read_c3d",
    "read_markers",
    "trc_units",
    "read_marker_text",
    "read_trc_3d",
    "write_c3d",
]

#: metres per unit, for the length units the readers accept (lower case)
LENGTH_UNITS_M: dict[str, float] = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}
#: the length units a reader may be told for a TRC or marker table that does not state its own
#: (``units=``; ``--marker-units`` and the batch manifest's ``marker_units`` column)
MARKER_UNIT_CHOICES: tuple[str, ...] = ("mm", "m")
#: how the gait events of a lab trial are found (``medius analyze --events``, the batch column ``events``)
EVENT_SOURCES: tuple[str, ...] = ("auto", "markers", "force-plates", "file")

#: the gait-event kinds medius uses (C3D labels "Foot Strike" / "Foot Off")
EVENT_KINDS: tuple[str, ...] = ("foot_strike", "foot_off")

_SIDES = ("left", "right")

#: C3D POINT parameters that list model outputs (angles, forces ...), not markers
_C3D_OUTPUT_GROUPS: tuple[tuple[str, str], ...] = (
    ("ANGLES", "ANGLE_UNITS"),
    ("FORCES", "FORCE_UNITS"),
    ("MOMENTS", "MOMENT_UNITS"),
    ("POWERS", "POWER_UNITS"),
    ("SCALARS", "SCALAR_UNITS"),
)


#: subject parameters of a trial (``Markers3D.subject``): medius name -> the Vicon Plug-in Gait
#: name of the C3D ``PROCESSING`` group (lengths in mm there, in metres in medius; mass in kg)
SUBJECT_PARAMETERS: Mapping[str, str] = {
    "left_knee_width_m": "LKneeWidth",
    "right_knee_width_m": "RKneeWidth",
    "left_ankle_width_m": "LAnkleWidth",
    "right_ankle_width_m": "RAnkleWidth",
    "marker_diameter_m": "MarkerDiameter",
    "left_leg_length_m": "LLegLength",
    "right_leg_length_m": "RLegLength",
    "inter_asis_distance_m": "InterAsisDistance",
    "height_m": "Height",
    "body_mass_kg": "Bodymass",
}


def _check_subject(subject: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in dict(subject).items():
        if key not in SUBJECT_PARAMETERS:
            raise ValueError(
                f"invalid Markers3D: unknown subject parameter {key!r}; known: {', '.join(SUBJECT_PARAMETERS)}"
            )
        v = float(value)
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"invalid Markers3D: subject parameter {key!r} must be a positive number, got {value!r}")
        out[key] = v
    return out


def _normalise_event(ev: Mapping[str, Any]) -> dict[str, Any]:
    try:
        side, kind, t = ev["side"], ev["kind"], float(ev["time_s"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"invalid event {dict(ev)!r}: an event is a dict with 'side' ('left', 'right' or None), "
            "'kind' (e.g. 'foot_strike') and 'time_s' (seconds)"
        ) from None
    if side not in (*_SIDES, None):
        raise ValueError(f"invalid event side {side!r}: allowed values are 'left', 'right' and None")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"invalid event kind {kind!r}: a non-empty string such as 'foot_strike'")
    if not math.isfinite(t):
        raise ValueError(f"invalid event time {t!r}: must be finite seconds")
    return {"side": side, "kind": kind, "time_s": t}


# ---------------------------------------------------------------------------------------
# container
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Markers3D:
    """3D marker trajectories of one trial, in metres in the lab frame.

    Attributes
    ----------
    position
        ``(time, marker, 3)`` float64 array, metres in the lab frame; NaN = missing (a marker
        with any coordinate missing has all three set to NaN).
    labels
        marker names of the marker axis, unique (C3D labels stripped, Vicon ``subject:``
        prefixes removed).
    time_s
        ``(time,)`` seconds, strictly increasing (for a C3D, from the start of the capture).
    rate_hz
        sampling rate in Hz (C3D ``POINT:RATE``, TRC ``DataRate``, else from ``time_s``).
    events
        gait events, each ``{"side", "kind", "time_s"}`` (see the module docstring), sorted by
        time. Given as any iterable of dicts; stored as a tuple.
    source
        where the data came from (the file path, ``"synthetic"``, ...).
    log
        provenance: one dict per processing step (``operation``, parameters, time).
    model_outputs
        model outputs a C3D declares as such (``POINT:ANGLES``, ``FORCES``, ``MOMENTS``,
        ``POWERS``, ``SCALARS``), label -> ``(time, 3)`` array **in the file's units, never
        converted** (angles in degrees). Empty when the file does not declare them.
    subject
        subject parameters measured on the person (:data:`SUBJECT_PARAMETERS`: knee and ankle
        widths, marker diameter, leg lengths, in **metres**; body mass in kg), e.g. the
        Plug-in Gait values of a C3D's ``PROCESSING`` group. Empty when unknown.
    """

    position: np.ndarray
    labels: tuple[str, ...]
    time_s: np.ndarray
    rate_hz: float
    events: tuple[dict[str, Any], ...] = ()
    source: str = "unknown"
    log: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    model_outputs: Mapping[str, np.ndarray] = field(default_factory=dict)
    subject: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pos = np.array(self.position, dtype=float)  # a copy: the container owns its array
        t = np.asarray(self.time_s, dtype=float)
        labels = tuple(str(x) for x in self.labels)
        problems = []
        if pos.ndim != 3 or pos.shape[2] != 3:
            problems.append(f"position must be (time, marker, 3), got shape {pos.shape}")
        elif pos.shape[1] != len(labels):
            problems.append(f"position has {pos.shape[1]} markers but {len(labels)} labels")
        if len(set(labels)) != len(labels):
            dup = sorted({x for x in labels if labels.count(x) > 1})
            problems.append(f"labels must be unique, repeated: {', '.join(dup)}")
        if pos.ndim == 3 and t.shape != pos.shape[:1]:
            problems.append(f"time_s must have {pos.shape[0]} samples, got shape {t.shape}")
        elif t.size > 1 and not np.all(np.diff(t) > 0):
            problems.append("time_s must be strictly increasing")
        rate = float(self.rate_hz)
        if not (math.isfinite(rate) and rate > 0):
            problems.append(f"rate_hz must be a positive number, got {self.rate_hz!r}")
        if problems:
            raise ValueError("invalid Markers3D: " + "; ".join(problems))
        pos[~np.all(np.isfinite(pos), axis=-1)] = np.nan
        events = tuple(sorted((_normalise_event(e) for e in self.events), key=lambda e: e["time_s"]))
        outputs = {str(k): np.asarray(v, dtype=float) for k, v in dict(self.model_outputs).items()}
        object.__setattr__(self, "position", pos)
        object.__setattr__(self, "time_s", t)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "rate_hz", rate)
        object.__setattr__(self, "events", events)
        object.__setattr__(self, "log", tuple(self.log))
        object.__setattr__(self, "model_outputs", outputs)
        object.__setattr__(self, "subject", _check_subject(self.subject))

    # ------------------------------------------------------------------ access
    @property
    def n_frames(self) -> int:
        return int(self.position.shape[0])

    @property
    def n_markers(self) -> int:
        return int(self.position.shape[1])

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if self.n_frames > 1 else 0.0

    def has(self, label: str) -> bool:
        """True if the trial has a marker with this label (it may still be all NaN)."""
        return label in self.labels

    def index(self, label: str) -> int:
        """Index of a marker on the marker axis; :class:`KeyError` naming close matches."""
        try:
            return self.labels.index(label)
        except ValueError:
            close = difflib.get_close_matches(label, self.labels, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(
                f"no marker {label!r} in {self.source!r} ({self.n_markers} markers){hint}"
            ) from None

    def xyz(self, label: str) -> np.ndarray:
        """``(time, 3)`` positions of one marker in metres (a view, do not mutate).

        Raises
        ------
        KeyError
            If the trial has no such marker; the message names it and lists close matches.
        """
        return self.position[:, self.index(label), :]

    def present(self) -> np.ndarray:
        """``(time, marker)``: True where the marker is present (all coordinates finite)."""
        return np.all(np.isfinite(self.position), axis=-1)

    # ------------------------------------------------------------------ transforms
    def replace(self, **changes: Any) -> Markers3D:
        return replace(self, **changes)

    def with_log(self, operation: str, **params: Any) -> Markers3D:
        """A copy with one provenance entry appended."""
        return replace(self, log=(*self.log, provenance_entry(operation, **params)))

    def with_markers(self, new: Mapping[str, np.ndarray]) -> Markers3D:
        """A copy with markers added (or replaced, for a label already present).

        Parameters
        ----------
        new
            label -> ``(time, 3)`` positions in metres, one row per frame of this trial.
        """
        pos = self.position
        labels = list(self.labels)
        extra = []
        for label, xyz in new.items():
            arr = np.asarray(xyz, dtype=float)
            if arr.shape != (self.n_frames, 3):
                raise ValueError(f"marker {label!r} must have shape ({self.n_frames}, 3), got {arr.shape}")
            if label in labels:
                pos = pos.copy() if pos is self.position else pos
                pos[:, labels.index(label), :] = arr
            else:
                extra.append(arr)
                labels.append(label)
        if extra:
            pos = np.concatenate([pos, np.stack(extra, axis=1)], axis=1)
        return replace(self, position=pos, labels=tuple(labels))

    def select(self, labels: Iterable[str]) -> Markers3D:
        """A copy with only these markers, in this order (:class:`KeyError` for an unknown one)."""
        labels = tuple(labels)
        idx = [self.index(x) for x in labels]
        return replace(self, position=self.position[:, idx, :], labels=labels)

    def slice_frames(self, sel: slice | np.ndarray) -> Markers3D:
        """A copy with a subset of frames (events outside the kept time range are dropped)."""
        t = self.time_s[sel]
        kept = tuple(e for e in self.events if t.size and t[0] <= e["time_s"] <= t[-1])
        return replace(
            self,
            position=self.position[sel],
            time_s=t,
            events=kept,
            model_outputs={k: v[sel] for k, v in self.model_outputs.items()},
        )


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _require_file(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError("no such file", path=p)
    if p.is_dir():
        raise InvalidInputError(f"is a folder; expected {what}", path=p)
    return p


def _unit_factor(unit: str, path: Path, where: str) -> float:
    u = unit.strip().lower()
    if u in ("millimeter", "millimeters", "millimetre", "millimetres"):
        u = "mm"
    if u in ("meter", "meters", "metre", "metres"):
        u = "m"
    if u in ("centimeter", "centimeters", "centimetre", "centimetres"):
        u = "cm"
    if u not in LENGTH_UNITS_M:
        raise InvalidInputError(
            f"unknown length unit {unit!r} in {where}; expected one of 'mm', 'cm', 'm'", path=path
        )
    return LENGTH_UNITS_M[u]


def _check_units_arg(units: str | None) -> Literal["mm", "m"] | None:
    if units is None or units in MARKER_UNIT_CHOICES:
        return units  # type: ignore[return-value]
    raise ValueError(
        f"Invalid value for the 'units' parameter. Allowed values are 'mm', 'm' and None, "
        f"but got {units!r} instead."
    )


def _strip_subject_prefixes(labels: Sequence[str]) -> tuple[list[str], str | None]:
    """Remove Vicon's ``subject:`` prefix when every prefixed label has the same one."""
    prefixes = {lab.rsplit(":", 1)[0] for lab in labels if ":" in lab}
    if len(prefixes) != 1:
        return list(labels), None
    (prefix,) = prefixes
    stripped = [lab[len(prefix) + 1 :] if lab.startswith(prefix + ":") else lab for lab in labels]
    if len(set(stripped)) != len(stripped) or any(not s for s in stripped):
        return list(labels), None
    return stripped, prefix


def _param(params: Any, group: str, name: str) -> Any:
    try:
        return params[group][name]["value"]
    except KeyError:
        return None


def _labels_of(params: Any, group: str, name: str = "LABELS") -> list[str]:
    """``LABELS`` + ``LABELS2`` + ... of a C3D group (more than 255 points), stripped."""
    out: list[str] = []
    first = _param(params, group, name)
    if first is None:
        return out
    out.extend(str(x).strip() for x in first)
    k = 2
    while (more := _param(params, group, f"{name}{k}")) is not None:
        out.extend(str(x).strip() for x in more)
        k += 1
    return out


# ---------------------------------------------------------------------------------------
# C3D
# ---------------------------------------------------------------------------------------
_CONTEXT_SIDES = {"left": "left", "right": "right", "l": "left", "r": "right", "gauche": "left", "droite": "right"}
_EVENT_KINDS = {
    "foot_strike": "foot_strike", "heel_strike": "foot_strike", "initial_contact": "foot_strike",
    "hs": "foot_strike", "fs": "foot_strike", "ic": "foot_strike", "footstrike": "foot_strike",
    "heelstrike": "foot_strike",
    "foot_off": "foot_off", "toe_off": "foot_off", "hs_off": "foot_off", "to": "foot_off", "fo": "foot_off",
    "footoff": "foot_off", "toeoff": "foot_off",
}


def _event_kind(label: str) -> tuple[str, str | None]:
    """Kind and side of an EVENT label in any case: ``Foot Strike``, ``foot strike``, ``Heel Strike``,
    ``Toe Off``, and the side-prefixed short forms ``LHS``/``RTO``/``LFS``/``Left Foot Strike``."""
    text = re.sub(r"[\s\-]+", "_", label.strip().lower())
    if text in _EVENT_KINDS:
        return _EVENT_KINDS[text], None
    for prefix, side in (("left_", "left"), ("right_", "right"), ("l_", "left"), ("r_", "right"),
                         ("l", "left"), ("r", "right")):
        rest = text[len(prefix):]
        if text.startswith(prefix) and rest in _EVENT_KINDS:
            return _EVENT_KINDS[rest], side
    return text or "event", None


def _c3d_events(params: Any) -> list[dict[str, Any]]:
    if "EVENT" not in params:
        return []
    used = _param(params, "EVENT", "USED")
    n = int(np.asarray(used).ravel()[0]) if used is not None and np.asarray(used).size else 0
    times = _param(params, "EVENT", "TIMES")
    if n == 0 or times is None:
        return []
    times = np.asarray(times, dtype=float)
    if times.ndim == 1:  # a single event collapses to (2,)
        times = times.reshape(2, -1)
    labels = [str(x).strip() for x in (_param(params, "EVENT", "LABELS") or [])]
    contexts = [str(x).strip() for x in (_param(params, "EVENT", "CONTEXTS") or [])]
    events = []
    for i in range(min(n, times.shape[1])):
        # EVENT:TIMES is (2, n): row 0 minutes, row 1 seconds, since the start of the capture
        t = 60.0 * float(times[0, i]) + float(times[1, i])
        label = labels[i] if i < len(labels) else ""
        context = contexts[i].lower() if i < len(contexts) else ""
        side = _CONTEXT_SIDES.get(context)
        kind, label_side = _event_kind(label)
        events.append({"side": side or label_side, "kind": kind, "time_s": t})
    return events


def _c3d_subject(params: Any) -> dict[str, float]:
    """Vicon subject parameters of the ``PROCESSING`` group (mm, kg), in metres and kg.

    A parameter that is absent, not a number, zero or negative (Vicon writes 0 for a parameter
    that was never set) is left out.
    """
    if "PROCESSING" not in params:
        return {}
    out = {}
    for key, name in SUBJECT_PARAMETERS.items():
        value = _param(params, "PROCESSING", name)
        try:
            v = float(np.asarray(value, dtype=float).ravel()[0])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isfinite(v) and v > 0:
            out[key] = v if key.endswith("_kg") else v / 1000.0
    return out


def _c3d_truncation(path: Path) -> tuple[int, int] | None:
    """``(announced, complete)`` frame counts if the file is shorter than its header says.

    ezc3d reads a truncated file silently (it shortens its own frame count), so the raw
    header is checked: words 2-5 (points, analog samples per frame, first and last frame),
    the scale factor (negative: 4-byte floats, else 2-byte integers) and the first data
    block. Only Intel (little-endian) files with fewer than 65535 frames are checked.
    """
    import struct

    try:
        with path.open("rb") as fh:
            head = fh.read(512)
            size = path.stat().st_size
            if len(head) < 20 or head[1] != 0x50:
                return None
            p_block = head[0]
            fh.seek((p_block - 1) * 512 + 3)
            proc = fh.read(1)
    except OSError:
        return None
    if proc != bytes([84]):
        return None
    n_pts, n_analog, first, last = struct.unpack("<HHHH", head[2:10])
    (scale,) = struct.unpack("<f", head[12:16])
    (data_block,) = struct.unpack("<H", head[16:18])
    if last == 65535 or last < first or data_block < 1:
        return None
    per_value = 4 if scale < 0 else 2
    per_frame = (4 * n_pts + n_analog) * per_value
    if per_frame == 0:
        return None
    announced = last - first + 1
    have = size - (data_block - 1) * 512
    complete = max(0, have // per_frame)
    return (announced, complete) if complete < announced else None


def read_c3d(path: str | Path) -> Markers3D:
    """Read the marker trajectories and gait events of a C3D file (through ezc3d).

    Parameters
    ----------
    path
        the ``.c3d`` file.

    Returns
    -------
    Markers3D
        positions converted to metres from ``POINT:UNITS`` (``mm``, ``cm`` or ``m``; ``mm``,
        the C3D default, when the parameter is absent, and the log says so); ``rate_hz`` from
        ``POINT:RATE``; ``time_s = (first_frame - 1 + i) / rate_hz`` with the 1-based first
        frame of the header, the clock of the ``EVENT`` times; labels stripped and Vicon's
        ``subject:`` prefix removed (when the file has a single subject); a marker whose
        residual is negative (ezc3d reports it as NaN) is missing. Gait events from the
        ``EVENT`` group: ``CONTEXTS`` ``Left``/``Right`` give the side (None otherwise),
        ``LABELS`` ``Foot Strike``/``Foot Off`` the kind (``foot_strike``/``foot_off``; any
        other label lower-cased with underscores), ``TIMES`` row 0 (minutes) x 60 + row 1
        (seconds) the time. Points listed in ``POINT:ANGLES``/``FORCES``/``MOMENTS``/
        ``POWERS``/``SCALARS`` are model outputs, not markers: they go to ``model_outputs``
        unconverted. Vicon's subject parameters in the ``PROCESSING`` group (``LKneeWidth``,
        ``RKneeWidth``, ``LAnkleWidth``, ``RAnkleWidth``, ``MarkerDiameter``, leg lengths ...,
        :data:`SUBJECT_PARAMETERS`; millimetres, as Vicon writes them; a 0 means "not set" and is
        left out) go to ``subject`` in metres. One log entry ``read_c3d``.

    Raises
    ------
    InputNotFoundError
        the file does not exist.
    InvalidInputError
        not a C3D file or unreadable (corrupt, truncated), an unknown ``POINT:UNITS``, a bad
        ``POINT:RATE``, or no point data (0 markers or 0 frames).
    """
    p = _require_file(path, "a .c3d file")
    return markers_from_c3d(open_c3d(p), p)


def open_c3d(path: Path) -> Any:
    """The contents of a C3D file as ezc3d reads them (header, parameters, data as plain dicts),
    parsed once, for :func:`markers_from_c3d` and the force plates, in a child process
    (:func:`medius.isolated.run_isolated`): a file that crashes the parser is an invalid input.

    Raises
    ------
    InvalidInputError
        not a C3D file or unreadable (corrupt, truncated).
    """
    from medius.io._c3d_header import check_c3d_structure
    from medius.isolated import run_isolated

    # the header and parameter section checked first, in milliseconds: an SGI/MIPS file, a malformed
    # parameter section or a truncated file is refused before ezc3d spends time on it
    head = check_c3d_structure(path)
    # (a file announcing one frame or no points is left to the "no point data" check after parsing)
    truncated = _c3d_truncation(Path(path)) if head.n_points > 0 and head.last_frame > head.first_frame else None
    if truncated is not None:
        raise InvalidInputError(
            f"truncated C3D file: the header announces {truncated[0]} frames but the file holds "
            f"only {truncated[1]} complete frames",
            path=path,
        )
    # ezc3d crashes the process (segfault) on some malformed files: parse in a child process
    # (medius.isolated), which hands back the same structure as plain dicts
    return run_isolated("medius.isolated:c3d_contents", str(path), path=path, what="C3D")


def markers_from_c3d(c3d: Any, p: Path) -> Markers3D:
    """:func:`read_c3d` on a C3D already opened by :func:`open_c3d` (``p`` names it in messages)."""
    params = c3d["parameters"]
    header = c3d["header"]["points"]
    points = np.asarray(c3d["data"]["points"], dtype=float)  # (4, point, frame)
    n_points, n_frames = (points.shape[1], points.shape[2]) if points.ndim == 3 else (0, 0)
    if n_points == 0 or n_frames == 0:
        raise InvalidInputError(
            f"the C3D file has no point data ({n_points} points, {n_frames} frames); "
            "medius needs marker trajectories",
            path=p,
        )
    truncated = _c3d_truncation(p)
    if truncated is not None:
        raise InvalidInputError(
            f"truncated C3D file: the header announces {truncated[0]} frames but the file holds "
            f"only {truncated[1]} complete frames",
            path=p,
        )

    rate_param = _param(params, "POINT", "RATE")
    rate = float(np.asarray(rate_param).ravel()[0]) if rate_param is not None else float(header["frame_rate"])
    if not (math.isfinite(rate) and rate > 0):
        raise InvalidInputError(f"POINT:RATE must be a positive frame rate, found {rate:g}", path=p)

    labels = _labels_of(params, "POINT")
    if len(labels) < n_points:
        labels += [f"point{i + 1}" for i in range(len(labels), n_points)]
    labels = labels[:n_points]
    unit_values = _param(params, "POINT", "UNITS")
    unit_text = str(unit_values[0]).strip() if unit_values else ""
    if unit_text:
        factor, units_from = _unit_factor(unit_text, p, "POINT:UNITS"), "POINT:UNITS"
    else:
        factor, units_from, unit_text = 1e-3, "assumed (no POINT:UNITS; the C3D default is mm)", "mm"

    xyz = np.transpose(points[:3], (2, 1, 0)).copy()  # (frame, point, 3)
    residuals = c3d["data"]["meta_points"].get("residuals")
    if residuals is not None and np.asarray(residuals).shape == (1, n_points, n_frames):
        xyz[np.asarray(residuals)[0].T < 0] = np.nan
    # some systems store a missing marker as exactly (0, 0, 0) with a positive residual
    zero = np.all(xyz == 0.0, axis=-1)
    n_zero = int(zero.sum())
    xyz[zero] = np.nan

    outputs_declared: set[str] = set()
    for group, _unit in _C3D_OUTPUT_GROUPS:
        outputs_declared.update(_labels_of(params, "POINT", group))
    names, subject = _strip_subject_prefixes(labels)
    is_output = [
        lab in outputs_declared or name in outputs_declared for lab, name in zip(labels, names, strict=True)
    ]
    marker_idx = [i for i, o in enumerate(is_output) if not o]
    if not marker_idx:
        raise InvalidInputError("the C3D file has no marker points (only model outputs)", path=p)
    seen: dict[str, int] = {}
    marker_names = []
    for i in marker_idx:  # keep labels unique (a C3D may repeat a label)
        name = names[i] or f"point{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        marker_names.append(name)
    outputs = {names[i]: xyz[:, i, :].copy() for i, o in enumerate(is_output) if o}

    first_frame0 = int(header["first_frame"])  # ezc3d gives it 0-based (header value - 1)
    time_s = (first_frame0 + np.arange(n_frames)) / rate
    events = _c3d_events(params)
    subject_params = _c3d_subject(params)
    m = Markers3D(
        position=xyz[:, marker_idx, :] * factor,
        labels=tuple(marker_names),
        time_s=time_s,
        rate_hz=rate,
        events=tuple(events),
        source=str(p),
        model_outputs=outputs,
        subject=subject_params,
    )
    return m.with_log(
        "read_c3d",
        path=str(p),
        reader="ezc3d",
        n_frames=n_frames,
        n_markers=len(marker_idx),
        n_model_outputs=len(outputs),
        rate_hz=rate,
        units=unit_text,
        units_from=units_from,
        metres_per_unit=factor,
        first_frame=first_frame0 + 1,
        subject_prefix_removed=subject,
        n_events=len(events),
        n_missing_points=int((~m.present()).sum()),
        n_exact_zero_points_missing=n_zero,
        subject_parameters={k: round(v, 6) for k, v in subject_params.items()},
    )


def write_c3d(markers: Markers3D, path: str | Path) -> Path:
    """Write marker trajectories and gait events to a C3D file (through ezc3d).

    Parameters
    ----------
    markers
        the trajectories; written in millimetres (``POINT:UNITS = mm``) at ``rate_hz``, with
        the header's first frame ``round(time_s[0] * rate_hz) + 1``, so :func:`read_c3d`
        gives back the same ``time_s`` for a uniformly sampled trial. NaN points are written
        as missing (residual -1). Events go to the ``EVENT`` group (``CONTEXTS`` ``Left``/
        ``Right``/``General``, ``LABELS`` ``Foot Strike``/``Foot Off``/the kind, ``TIMES``
        minutes and seconds). ``subject`` goes to the ``PROCESSING`` group under the Vicon names
        (:data:`SUBJECT_PARAMETERS`, in mm; kg for the mass). ``model_outputs`` are not written.
    path
        output file; must end in ``.c3d``.

    Returns
    -------
    Path
        the file written.

    Raises
    ------
    OutputError
        the name does not end in ``.c3d`` or the file cannot be written.
    """
    p = Path(path)
    if p.suffix != ".c3d":
        raise OutputError("a C3D file name must end in '.c3d' (lower case)", path=p)
    import ezc3d  # lazy: keeps `import medius` fast

    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [float(markers.rate_hz)]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = tuple(markers.labels)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    pts = np.ones((4, markers.n_markers, markers.n_frames))
    pts[:3] = np.transpose(markers.position * 1000.0, (2, 1, 0))
    c3d["data"]["points"] = pts
    if "rotations" in c3d["data"]:
        del c3d["data"]["rotations"]
    t0 = float(markers.time_s[0]) if markers.n_frames else 0.0
    c3d["header"]["points"]["first_frame"] = max(0, int(round(t0 * markers.rate_hz)))
    names = {"foot_strike": "Foot Strike", "foot_off": "Foot Off"}
    for ev in markers.events:
        minutes = math.floor(ev["time_s"] / 60.0)
        context = ev["side"].capitalize() if ev["side"] else "General"
        label = names.get(ev["kind"], ev["kind"])
        c3d.add_event([minutes, ev["time_s"] - 60.0 * minutes], context=context, label=label)
    for key, value in markers.subject.items():
        c3d.add_parameter("PROCESSING", SUBJECT_PARAMETERS[key], [value if key.endswith("_kg") else value * 1000.0])
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        c3d.write(str(p))
    except (OSError, RuntimeError, ValueError) as exc:
        raise OutputError(f"cannot write the C3D file: {exc}", path=p) from None
    if not p.exists():
        raise OutputError("cannot write the C3D file", path=p)
    return p


# ---------------------------------------------------------------------------------------
# text formats: TRC and tab/comma-separated marker tables
# ---------------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    return read_text_file(path, expected="a marker table")


def _number(cell: str, path: Path, line_no: int, column: str) -> float:
    s = cell.strip()
    if not s or s.lower() == "nan":
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise InvalidInputError(f"line {line_no}: {column} is not a number: {s!r}", path=path) from None


def _resolve_units(
    file_unit: str | None, units: str | None, path: Path, where: str
) -> tuple[float, str, str]:
    """(metres per unit, unit used, where it came from)."""
    if file_unit:
        factor = _unit_factor(file_unit, path, where)
        if units is not None and LENGTH_UNITS_M[units] != factor:
            raise InvalidInputError(
                f"the file says its unit is {file_unit!r} ({where}) but units={units!r} was given; "
                "leave units unset to use the file's",
                path=path,
            )
        return factor, file_unit.strip(), where
    if units is None:
        raise InvalidInputError(
            "the file does not state its length unit; give it (units='mm' or 'm'; medius analyze --marker-units mm|m)", path=path
        )
    return LENGTH_UNITS_M[units], units, "units argument"


def _times(
    data_time: np.ndarray | None,
    frames: np.ndarray | None,
    rate_hz: float | None,
    n: int,
    path: Path,
    line_nos: list[int],
) -> tuple[np.ndarray, float, str]:
    if data_time is not None and np.isfinite(data_time).all():
        t = data_time
        how = "Time column"
    else:
        if data_time is not None:
            k = int(np.argmax(~np.isfinite(data_time)))
            raise InvalidInputError(f"line {line_nos[k]}: Time is empty", path=path)
        if rate_hz is None or not (math.isfinite(rate_hz) and rate_hz > 0):
            raise InvalidInputError("the file has no Time column and no usable rate; give the sampling rate (rate_hz; medius analyze --marker-rate HZ)", path=path)
        base = frames - frames[0] if frames is not None else np.arange(n)
        t = base / rate_hz
        how = "Frame column / rate" if frames is not None else "row number / rate"
    d = np.diff(t)
    if (d <= 0).any():
        k = int(np.argmax(d <= 0)) + 1
        raise InvalidInputError(
            f"line {line_nos[k]}: time {t[k]:g} s is not after the previous {t[k - 1]:g} s; times must increase",
            path=path,
        )
    if rate_hz is None or not (math.isfinite(rate_hz) and rate_hz > 0):
        rate_hz = float(1.0 / np.median(d)) if d.size else 1.0
    return t, float(rate_hz), how


def read_trc_3d(path: str | Path, *, units: Literal["mm", "m"] | None = None) -> Markers3D:
    """Read a TRC file of 3D marker trajectories (OpenSim, Pose2Sim, Vicon/Cortex exports).

    Layout (tab-separated)::

        PathFileType<TAB>4<TAB>(X/Y/Z)<TAB>trial.trc
        DataRate<TAB>CameraRate<TAB>NumFrames<TAB>NumMarkers<TAB>Units<TAB>OrigDataRate<TAB>...
        100<TAB>100<TAB>474<TAB>12<TAB>mm<TAB>100<TAB>1<TAB>474
        Frame#<TAB>Time<TAB>LASI<TAB><TAB><TAB>RASI<TAB><TAB><TAB>...
        <TAB><TAB>X1<TAB>Y1<TAB>Z1<TAB>X2<TAB>Y2<TAB>Z2...
        1<TAB>0.00<TAB>x<TAB>y<TAB>z<TAB>...

    Parameters
    ----------
    path
        the ``.trc`` file.
    units
        ``"mm"`` or ``"m"``: the length unit, used only when the header has no ``Units``
        field; if it has one, giving a different unit here is an error.

    Returns
    -------
    Markers3D
        positions in metres (``Units`` ``mm``, ``cm`` or ``m``); time from the ``Time``
        column, else ``(Frame# - first) / DataRate``; ``rate_hz`` from ``DataRate`` (else the
        median time step); empty cells and ``NaN`` are missing. The lab axes are those of the
        file (OpenSim and Pose2Sim write Y up). One log entry ``read_trc_3d``.

    Raises
    ------
    InputNotFoundError
        the file does not exist.
    InvalidInputError
        a header that does not parse, an unknown unit or none (and no ``units``), rows of
        the wrong length, non-numeric cells, zero frames, times that do not increase.
    """
    p = _require_file(path, "a .trc file")
    units = _check_units_arg(units)
    lines = _read_text(p).splitlines()
    if len(lines) < 5 or not lines[0].strip().lower().startswith("pathfiletype"):
        raise InvalidInputError(
            "not a TRC file: expected 5 header lines starting with 'PathFileType'", path=p
        )
    keys = [k.strip().lower() for k in lines[1].split("\t")]
    vals = [v.strip() for v in lines[2].split("\t")]
    while keys and not keys[-1]:
        keys.pop()
    header = {k: (vals[i] if i < len(vals) else "") for i, k in enumerate(keys) if k}
    if "datarate" not in header:
        raise InvalidInputError(
            "TRC header does not parse: line 2 must name 'DataRate ... Units ...'", path=p
        )
    factor, unit_used, units_from = _resolve_units(header.get("units") or None, units, p, "TRC Units")
    try:
        rate: float | None = float(header["datarate"])
    except ValueError:
        rate = None

    names_row = [c.strip() for c in lines[3].split("\t")]
    if not names_row or names_row[0].lower() not in ("frame#", "frame"):
        raise InvalidInputError("TRC header does not parse: line 4 must start with 'Frame#'", path=p)
    has_time = len(names_row) > 1 and names_row[1].lower() == "time"
    first = 2 if has_time else 1
    labels = [m for m in names_row[first:] if m]
    if not labels:
        raise InvalidInputError("TRC header does not parse: line 4 names no markers", path=p)
    return _table_to_markers(
        p,
        lines,
        5,
        labels,
        first_data_col=first,
        frame_col=0,
        time_col=1 if has_time else None,
        factor=factor,
        unit_used=unit_used,
        units_from=units_from,
        rate_hz=rate,
        operation="read_trc_3d",
        delimiter="\t",
    )


_AXIS_SUFFIX = re.compile(r"^(?P<name>.+?)[ _.:\-]?(?P<axis>[XYZxyz])$")
_TIME_NAMES = {"time", "time_s", "t", "time (s)", "seconds"}
_FRAME_NAMES = {"frame", "frame#", "frames", "frame_index", "sample"}


def read_marker_text(
    path: str | Path,
    *,
    units: Literal["mm", "m"] | None = None,
    rate_hz: float | None = None,
) -> Markers3D:
    """Read a tab- (or comma-) separated table of 3D marker trajectories.

    Two layouts are accepted (the delimiter is a tab, or a comma if the first line has no
    tab; blank lines are skipped):

    **One header row**, three columns per marker named ``<marker>_X``, ``<marker>_Y``,
    ``<marker>_Z`` (the separator may also be ``.``, ``:``, ``-``, a space or nothing; ``x``
    or ``X``), optionally preceded by a ``Frame`` and/or a ``Time`` column::

        Time    LASI_X  LASI_Y  LASI_Z  RASI_X  RASI_Y  RASI_Z
        0.00    412.1   -2005.4 737.9   615.0   -2036.9 751.3

    **Two header rows**: marker names, each followed by two empty cells, then a row of
    ``X Y Z`` (or ``X1 Y1 Z1``) under them; the first cells of both rows may hold ``Frame``/
    ``Time`` (row 1) and be empty (row 2). An optional third row of units (``mm`` or ``m``
    under every coordinate, as Vicon Nexus exports) sets the unit::

        Frame   Time    LASI            RASI
                        X   Y   Z       X   Y   Z
        1       0.00    412.1 ...

    Parameters
    ----------
    path
        the text file.
    units
        ``"mm"`` or ``"m"``; required unless the file has a units row (then giving a
        different unit is an error).
    rate_hz
        sampling rate in Hz; required when the file has no ``Time`` column (frame ``k`` is
        then at ``(k - first) / rate_hz`` s, or row ``i`` at ``i / rate_hz``).

    Returns
    -------
    Markers3D
        positions in metres in the file's lab frame; empty cells and ``NaN`` are missing.
        One log entry ``read_marker_text`` with the layout found.

    Raises
    ------
    InputNotFoundError
        the file does not exist.
    InvalidInputError
        a header in neither layout, no unit, rows of the wrong length, non-numeric cells,
        zero frames, no time and no ``rate_hz``, times that do not increase.
    """
    p = _require_file(path, "a marker text file")
    units = _check_units_arg(units)
    if rate_hz is not None and not (
        isinstance(rate_hz, int | float) and math.isfinite(rate_hz) and rate_hz > 0
    ):
        raise ValueError(
            f"Invalid value for the 'rate_hz' parameter. Allowed values are positive numbers and None, "
            f"but got {rate_hz!r} instead."
        )
    all_lines = _read_text(p).splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(all_lines) if ln.strip()]
    if not numbered:
        raise InvalidInputError("the marker table is empty", path=p)
    delim = "\t" if "\t" in numbered[0][1] else ","
    row0 = [c.strip() for c in numbered[0][1].split(delim)]

    def special(cells: list[str]) -> tuple[int | None, int | None, int]:
        frame_col = time_col = None
        k = 0
        while k < len(cells) and k < 2:
            low = cells[k].lower()
            if low in _FRAME_NAMES and frame_col is None:
                frame_col = k
            elif low in _TIME_NAMES and time_col is None:
                time_col = k
            else:
                break
            k += 1
        return frame_col, time_col, k

    frame_col, time_col, first = special(row0)
    rest = row0[first:]
    # layout A: every remaining cell is <name><sep><axis>
    matches = [_AXIS_SUFFIX.match(c) for c in rest]
    labels: list[str] = []
    layout = ""
    if rest and all(matches) and len(rest) % 3 == 0:
        ok = True
        for j in range(0, len(rest), 3):
            found = matches[j : j + 3]
            names = {m.group("name") for m in found if m}
            axes = "".join(m.group("axis").upper() for m in found if m)
            if len(names) != 1 or axes != "XYZ":
                ok = False
                break
            labels.append(names.pop())
        if ok:
            layout, header_rows = "one header row (<marker>_X <marker>_Y <marker>_Z)", 1
        else:
            labels = []
    if not layout:
        if len(numbered) < 2:
            raise InvalidInputError(
                "marker table header does not parse: expected '<marker>_X <marker>_Y <marker>_Z' "
                "columns or a row of marker names over a row of X Y Z",
                path=p,
            )
        row1 = [c.strip() for c in numbered[1][1].split(delim)]
        coords = row1[first:]
        names_cells = row0[first:]
        n_m = len([c for c in names_cells if c])
        ok = n_m > 0 and len(coords) >= 3 * n_m
        if ok:
            for j in range(n_m):
                trio = [re.sub(r"\d+$", "", c).upper() for c in coords[3 * j : 3 * j + 3]]
                name = names_cells[3 * j] if 3 * j < len(names_cells) else ""
                extra = [c for c in names_cells[3 * j + 1 : 3 * j + 3] if c]
                if trio != ["X", "Y", "Z"] or not name or extra:
                    ok = False
                    break
                labels.append(name)
        if not ok:
            raise InvalidInputError(
                "marker table header does not parse: expected '<marker>_X <marker>_Y <marker>_Z' "
                "columns (one header row) or marker names each followed by two empty cells over a "
                "row of X Y Z (two header rows)",
                path=p,
            )
        layout, header_rows = "two header rows (marker names over X Y Z)", 2
    file_unit = None
    if layout.startswith("two") and len(numbered) > 2:
        row2 = [c.strip().lower() for c in numbered[2][1].split(delim)][first:]
        cells = [c for c in row2 if c]
        if cells and all(c in LENGTH_UNITS_M for c in cells):
            if len(set(cells)) != 1:
                raise InvalidInputError(f"line {numbered[2][0]}: mixed units {sorted(set(cells))}", path=p)
            file_unit = cells[0]
            header_rows = 3
    factor, unit_used, units_from = _resolve_units(file_unit, units, p, "units row")
    data_lines = [ln for _, ln in numbered[header_rows:]]
    line_nos = [no for no, _ in numbered[header_rows:]]
    return _table_to_markers(
        p,
        data_lines,
        0,
        labels,
        first_data_col=first,
        frame_col=frame_col,
        time_col=time_col,
        factor=factor,
        unit_used=unit_used,
        units_from=units_from,
        rate_hz=rate_hz,
        operation="read_marker_text",
        delimiter=delim,
        line_nos=line_nos,
        layout=layout,
    )


def _table_to_markers(
    p: Path,
    lines: list[str],
    start: int,
    labels: list[str],
    *,
    first_data_col: int,
    frame_col: int | None,
    time_col: int | None,
    factor: float,
    unit_used: str,
    units_from: str,
    rate_hz: float | None,
    operation: str,
    delimiter: str,
    line_nos: list[int] | None = None,
    layout: str | None = None,
) -> Markers3D:
    if len(set(labels)) != len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise InvalidInputError(f"marker names repeated in the header: {', '.join(dup)}", path=p)
    n_cols = first_data_col + 3 * len(labels)
    rows: list[list[float]] = []
    used_line_nos: list[int] = []
    for i in range(start, len(lines)):
        line = lines[i]
        line_no = line_nos[i] if line_nos is not None else i + 1
        if not line.strip():
            continue
        cells = line.split(delimiter)
        if len(cells) > n_cols and not any(c.strip() for c in cells[n_cols:]):
            cells = cells[:n_cols]
        if len(cells) != n_cols:
            raise InvalidInputError(
                f"line {line_no}: {len(cells)} values, expected {n_cols} "
                f"({first_data_col} leading column(s) and X Y Z for {len(labels)} markers)",
                path=p,
            )
        row = []
        for j, cell in enumerate(cells):
            if j < first_data_col:
                col = "Frame" if j == frame_col else ("Time" if j == time_col else f"column {j + 1}")
            else:
                k = j - first_data_col
                col = f"{labels[k // 3]} {'XYZ'[k % 3]}"
            row.append(_number(cell, p, line_no, col))
        rows.append(row)
        used_line_nos.append(line_no)
    if not rows:
        raise InvalidInputError("the file has zero frames (no data rows after the header)", path=p)
    data = np.asarray(rows, dtype=float)
    frames = data[:, frame_col] if frame_col is not None else None
    if frames is not None and not np.isfinite(frames).all():
        k = int(np.argmax(~np.isfinite(frames)))
        raise InvalidInputError(f"line {used_line_nos[k]}: Frame is empty", path=p)
    t_col = data[:, time_col] if time_col is not None else None
    time_s, rate, time_from = _times(t_col, frames, rate_hz, len(rows), p, used_line_nos)
    xyz = data[:, first_data_col:].reshape(len(rows), len(labels), 3) * factor
    m = Markers3D(position=xyz, labels=tuple(labels), time_s=time_s, rate_hz=rate, source=str(p))
    extra: dict[str, Any] = {"layout": layout} if layout else {}
    return m.with_log(
        operation,
        path=str(p),
        **extra,
        n_frames=len(rows),
        n_markers=len(labels),
        units=unit_used,
        units_from=units_from,
        metres_per_unit=factor,
        time_from=time_from,
        rate_hz=rate,
        n_missing_points=int((~m.present()).sum()),
    )


#: file suffixes read as 3D marker data (``.trc`` only when its units are not pixels)
MARKER_SUFFIXES: tuple[str, ...] = (".c3d", ".trc", ".txt", ".tsv", ".csv")


def trc_units(path: str | Path) -> str | None:
    """The ``Units`` value of a TRC header (``"mm"``, ``"m"``, ``"px"``, ...), or None if absent."""
    p = Path(path)
    try:
        with p.open("r", encoding="utf-8", errors="replace") as fh:
            lines = [fh.readline() for _ in range(3)]
    except OSError:
        return None
    keys, values = lines[1].rstrip("\r\n").split("\t"), lines[2].rstrip("\r\n").split("\t")
    for k, v in zip(keys, values, strict=False):
        if k.strip().lower() == "units":
            return v.strip() or None
    return None


def read_markers(
    path: str | Path, *, units: Literal["mm", "m"] | None = None, rate_hz: float | None = None
) -> Markers3D:
    """Read 3D marker trajectories by file type: C3D, TRC (mm/m) or a marker text table.

    Parameters
    ----------
    path
        ``.c3d`` (:func:`read_c3d`), ``.trc`` (:func:`read_trc_3d`) or ``.txt``/``.tsv``/``.csv``
        (:func:`read_marker_text`).
    units, rate_hz
        for text tables (and TRC units) without them in the header.

    Raises
    ------
    InputNotFoundError, InvalidInputError
        as the reader for that type.
    """
    p = _require_file(path, "marker file")
    suffix = p.suffix.lower()
    if suffix == ".c3d":
        return read_c3d(p)
    if suffix == ".trc":
        return read_trc_3d(p, units=units)
    if suffix in (".txt", ".tsv", ".csv"):
        return read_marker_text(p, units=units, rate_hz=rate_hz)
    raise InvalidInputError(
        f"not a marker file type medius reads ({', '.join(MARKER_SUFFIXES)})", path=p
    )
