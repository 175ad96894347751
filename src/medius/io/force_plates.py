"""Force plates of a C3D file: ground reaction force and centre of pressure in the lab frame.

Conventions (the C3D standard, as ezc3d and BTK read it):

* ``FORCE_PLATFORM:CORNERS`` (3, 4, plates) are the corners in the lab frame, in the
  ``POINT:UNITS`` length unit, numbered by the quadrants of the plate's own frame: ``+x+y``,
  ``-x+y``, ``-x-y``, ``+x-y``. The plate ``x`` axis is corner 1 - corner 2, ``y`` corner 1 -
  corner 4, ``z = x × y``; by the standard the plate ``z`` points *down*, into the floor;
* ``FORCE_PLATFORM:ORIGIN`` (3, plates) is the vector between the centre of the plate surface
  and the transducer origin, in the plate frame; as in ezc3d and BTK it is taken with a
  negative (or zero) ``z`` (the surface is above the sensor), its sign flipped otherwise;
* type 2 (AMTI-style Fx Fy Fz Mx My Mz at the transducer origin) and type 4 (the same channels
  through the 6 x 6 ``FORCE_PLATFORM:CAL_MATRIX``) are computed here from the analog channels
  that ezc3d reads (already scaled by ``ANALOG:SCALE``/``OFFSET``/``GEN_SCALE``); type 1
  (Fx Fy Fz, CoPx CoPy, Tz) is accepted too. The plates measure the force the person applies;
  the ground reaction force on the person is its opposite;
* output units: newtons, metres, the lab frame of the file, the analog rate; the time of
  analog sample ``i`` is ``(first_frame - 1) / POINT:RATE + i / ANALOG:RATE``, the clock of
  :func:`medius.io.markers.read_c3d` and of the C3D ``EVENT`` times.

The moments of a type 2/4 plate are in ``ANALOG:UNITS`` of their channels (``Nmm`` or ``Nm``;
when the unit is missing, newtons times the ``POINT:UNITS`` length, as ezc3d assumes).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medius.errors import InputNotFoundError, InvalidInputError
from medius.io._sequence import provenance_entry
from medius.io.markers import Markers3D, markers_from_c3d, open_c3d

__all__ = ["ForcePlate", "ForcePlates", "force_plates_from_c3d", "read_c3d_trial", "read_force_plates"]

#: force-plate types this reader computes
SUPPORTED_PLATE_TYPES: tuple[int, ...] = (1, 2, 4)

_LENGTH_M = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}
_MOMENT_NM = {"nmm": 1e-3, "n.mm": 1e-3, "n*mm": 1e-3, "nm": 1.0, "n.m": 1.0, "n*m": 1.0}
_FORCE_N = {"n": 1.0, "kn": 1e3}


@dataclass(frozen=True)
class ForcePlate:
    """One force plate of a trial.

    Attributes
    ----------
    number
        1-based plate number in the file (``FORCE_PLATFORM`` order).
    plate_type
        the C3D plate type (1, 2 or 4).
    grf_n
        ``(time, 3)`` ground reaction force on the person, newtons, lab frame, analog rate.
    cop_m
        ``(time, 3)`` centre of pressure on the plate surface, metres, lab frame; NaN where
        the vertical force is below ``min_force_n`` of :func:`read_force_plates` (the centre
        of pressure of an unloaded plate is noise).
    corners_m
        ``(4, 3)`` plate corners in metres in the lab frame (C3D order).
    up
        ``(3,)`` unit normal of the plate surface pointing up, out of the floor.
    """

    number: int
    plate_type: int
    grf_n: np.ndarray
    cop_m: np.ndarray
    corners_m: np.ndarray
    up: np.ndarray

    @property
    def vertical_n(self) -> np.ndarray:
        """``(time,)`` vertical ground reaction force in newtons (positive = pushing up)."""
        return self.grf_n @ self.up

    @property
    def centre_m(self) -> np.ndarray:
        """``(3,)`` centre of the plate surface in metres."""
        return self.corners_m.mean(axis=0)

    def contains(self, points_m: np.ndarray, *, margin_m: float = 0.0) -> np.ndarray:
        """Whether points lie over the plate (horizontal projection), with a margin.

        Parameters
        ----------
        points_m
            ``(..., 3)`` points in metres in the lab frame.
        margin_m
            the outline is grown by this much on every side.

        Returns
        -------
        numpy.ndarray
            ``(...)`` bool, False for NaN points.
        """
        c = self.corners_m
        x = c[0] - c[1]
        y = c[0] - c[3]
        half = np.array([np.linalg.norm(x), np.linalg.norm(y)]) / 2.0
        x = x / np.linalg.norm(x)
        y = y - (y @ x) * x
        y = y / np.linalg.norm(y)
        d = np.asarray(points_m, dtype=float) - self.centre_m
        u = np.abs(d @ x)
        v = np.abs(d @ y)
        with np.errstate(invalid="ignore"):
            return (u <= half[0] + margin_m) & (v <= half[1] + margin_m)


@dataclass(frozen=True)
class ForcePlates:
    """The force plates of one trial (possibly none).

    Attributes
    ----------
    plates
        the :class:`ForcePlate` of the file, in file order; empty when the file has none.
    time_s
        ``(time,)`` seconds of the analog samples (the clock of the marker data and events).
    rate_hz
        the analog rate in Hz (NaN when there are no plates).
    source
        the file read.
    log
        provenance entries.
    """

    plates: tuple[ForcePlate, ...]
    time_s: np.ndarray
    rate_hz: float
    source: str = "unknown"
    log: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.plates)

    def __iter__(self) -> Iterator[ForcePlate]:
        return iter(self.plates)

    def __getitem__(self, i: int) -> ForcePlate:
        return self.plates[i]


def _value(params: Any, group: str, name: str) -> Any:
    try:
        return params[group][name]["value"]
    except KeyError:
        return None


def _as_int(values: Any) -> list[int]:
    return [int(round(float(v))) for v in np.asarray(values, dtype=float).ravel(order="F")]


def _bad(path: Path, parameter: str, what: str) -> InvalidInputError:
    return InvalidInputError(f"inconsistent FORCE_PLATFORM parameters: {parameter} {what}", path=path)


def _empty(path: Path, reason: str) -> ForcePlates:
    return ForcePlates(
        plates=(),
        time_s=np.zeros(0),
        rate_hz=float("nan"),
        source=str(path),
        log=(provenance_entry("read_force_plates", path=str(path), n_plates=0, reason=reason),),
    )


def _unit(text: str) -> str:
    return text.strip().lower().replace(" ", "").replace("·", ".")


def read_force_plates(path: str | Path, *, min_force_n: float = 10.0) -> ForcePlates:
    """Read the force plates of a C3D file (analog channels read by ezc3d).

    Parameters
    ----------
    path
        the ``.c3d`` file.
    min_force_n
        the centre of pressure is NaN where the vertical force is below this (newtons).

    Returns
    -------
    ForcePlates
        one :class:`ForcePlate` per plate of ``FORCE_PLATFORM:USED``, with the ground reaction
        force (N) and the centre of pressure (m) in the lab frame at the analog rate, and the
        corners (m); empty (no error) when the file has no force plates (``FORCE_PLATFORM``
        absent or ``USED`` 0). One log entry ``read_force_plates``.

    Raises
    ------
    InputNotFoundError
        the file does not exist.
    InvalidInputError
        not a readable C3D; force plates declared but no analog data; ``FORCE_PLATFORM``
        parameters inconsistent (``TYPE``, ``CORNERS``, ``ORIGIN``, ``CHANNEL``,
        ``CAL_MATRIX`` too short or out of range, degenerate corners), an unsupported plate
        type or an unknown force or moment unit; the message names the parameter.
    """
    p = _c3d_path(path, min_force_n)
    return force_plates_from_c3d(open_c3d(p), p, min_force_n=min_force_n)


def read_c3d_trial(path: str | Path, *, min_force_n: float = 10.0) -> tuple[Markers3D, ForcePlates]:
    """The markers (:func:`medius.io.markers.read_c3d`) and the force plates
    (:func:`read_force_plates`) of one C3D file, parsed once: ezc3d's parsing is most of the
    cost of either reader (0.09 s of a 30 s, 150 Hz trial with 40 markers).

    Raises
    ------
    InputNotFoundError, InvalidInputError
        as the two readers; the markers are checked first.
    """
    p = _c3d_path(path, min_force_n)
    c3d = open_c3d(p)
    return markers_from_c3d(c3d, p), force_plates_from_c3d(c3d, p, min_force_n=min_force_n)


def _c3d_path(path: str | Path, min_force_n: float) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError("no such file", path=p)
    if p.is_dir():
        raise InvalidInputError("is a folder; expected a .c3d file", path=p)
    if not (isinstance(min_force_n, int | float) and math.isfinite(min_force_n) and min_force_n >= 0):
        raise ValueError(
            f"Invalid value for the 'min_force_n' parameter. Allowed values are numbers >= 0, "
            f"but got {min_force_n!r} instead."
        )
    return p


def force_plates_from_c3d(c3d: Any, p: Path, *, min_force_n: float = 10.0) -> ForcePlates:
    """:func:`read_force_plates` on a C3D already opened by :func:`medius.io.markers.open_c3d`."""
    params = c3d["parameters"]
    if "FORCE_PLATFORM" not in params:
        return _empty(p, "no FORCE_PLATFORM group")
    used_v = _value(params, "FORCE_PLATFORM", "USED")
    if used_v is None or np.asarray(used_v).size == 0:
        return _empty(p, "no FORCE_PLATFORM:USED")
    n_plates = _as_int(used_v)[0]
    if n_plates < 0:
        raise _bad(p, "FORCE_PLATFORM:USED", f"is negative ({n_plates})")
    if n_plates == 0:
        return _empty(p, "FORCE_PLATFORM:USED is 0")

    analogs = np.asarray(c3d["data"]["analogs"], dtype=float)  # (1, channel, sample)
    n_channels = analogs.shape[1] if analogs.ndim == 3 else 0
    n_samples = analogs.shape[2] if analogs.ndim == 3 else 0
    if n_channels == 0 or n_samples == 0:
        raise _bad(p, "FORCE_PLATFORM:USED", f"declares {n_plates} plate(s) but the file has no analog data")
    data = analogs[0]

    rate_v = _value(params, "ANALOG", "RATE")
    rate = float(np.asarray(rate_v).ravel()[0]) if rate_v is not None and np.asarray(rate_v).size else 0.0
    if not (math.isfinite(rate) and rate > 0):
        rate = float(c3d["header"]["analogs"]["frame_rate"])
    if not (math.isfinite(rate) and rate > 0):
        raise InvalidInputError(f"ANALOG:RATE must be a positive rate, found {rate:g}", path=p)
    point_rate_v = _value(params, "POINT", "RATE")
    point_rate = (
        float(np.asarray(point_rate_v).ravel()[0])
        if point_rate_v is not None and np.asarray(point_rate_v).size
        else float(c3d["header"]["points"]["frame_rate"])
    )
    first0 = int(c3d["header"]["points"]["first_frame"])
    t0 = first0 / point_rate if point_rate > 0 else 0.0
    time_s = t0 + np.arange(n_samples) / rate

    units_v = _value(params, "POINT", "UNITS")
    length_unit = (_unit(str(units_v[0])) if units_v else "") or "mm"  # empty: the C3D default, as the markers
    length_unit = {"millimeters": "mm", "millimetres": "mm", "meters": "m", "metres": "m"}.get(
        length_unit, length_unit
    )
    if length_unit not in _LENGTH_M:
        raise InvalidInputError(f"unknown length unit {length_unit!r} in POINT:UNITS", path=p)
    to_m = _LENGTH_M[length_unit]
    analog_units = [str(u).strip() for u in (_value(params, "ANALOG", "UNITS") or [])]

    types_v = _value(params, "FORCE_PLATFORM", "TYPE")
    types = _as_int(types_v) if types_v is not None else []
    if len(types) < n_plates:
        raise _bad(p, "FORCE_PLATFORM:TYPE", f"has {len(types)} value(s) for {n_plates} plate(s)")
    corners_v = _value(params, "FORCE_PLATFORM", "CORNERS")
    corners_all = np.asarray(corners_v if corners_v is not None else [], dtype=float)
    if corners_all.size < 12 * n_plates:
        raise _bad(p, "FORCE_PLATFORM:CORNERS", f"has {corners_all.size} values, {12 * n_plates} needed")
    corners_all = corners_all.ravel(order="F")[: 12 * n_plates].reshape(n_plates, 4, 3)
    origin_v = _value(params, "FORCE_PLATFORM", "ORIGIN")
    origin_all = np.asarray(origin_v if origin_v is not None else [], dtype=float)
    if origin_all.size < 3 * n_plates:
        raise _bad(p, "FORCE_PLATFORM:ORIGIN", f"has {origin_all.size} values, {3 * n_plates} needed")
    origin_all = origin_all.ravel(order="F")[: 3 * n_plates].reshape(n_plates, 3)
    channel_v = _value(params, "FORCE_PLATFORM", "CHANNEL")
    channel_arr = np.asarray(channel_v if channel_v is not None else [], dtype=float)
    if channel_arr.ndim == 1:
        channel_arr = channel_arr.reshape(-1, 1)
    if channel_arr.ndim != 2 or channel_arr.shape[1] < n_plates or channel_arr.shape[0] < 6:
        raise _bad(
            p,
            "FORCE_PLATFORM:CHANNEL",
            f"has shape {tuple(channel_arr.shape)}, (6, {n_plates}) or larger needed",
        )
    cal_v = _value(params, "FORCE_PLATFORM", "CAL_MATRIX")
    cal_all = np.asarray(cal_v if cal_v is not None else [], dtype=float)

    plates = []
    notes = []
    for k in range(n_plates):
        number = k + 1
        ptype = types[k]
        if ptype not in SUPPORTED_PLATE_TYPES:
            raise _bad(
                p,
                "FORCE_PLATFORM:TYPE",
                f"of plate {number} is {ptype}; medius reads types "
                f"{', '.join(str(t) for t in SUPPORTED_PLATE_TYPES)}",
            )
        chans = [int(round(c)) for c in channel_arr[:6, k]]
        bad = [c for c in chans if not 1 <= c <= n_channels]
        if bad:
            raise _bad(
                p,
                "FORCE_PLATFORM:CHANNEL",
                f"of plate {number} names analog channel(s) {bad}; the file has channels 1-{n_channels}",
            )
        raw = data[[c - 1 for c in chans]].T.copy()  # (sample, 6)
        if ptype == 4:
            if cal_all.ndim < 2 or cal_all.shape[0] < 6 or cal_all.shape[1] < 6:
                raise _bad(p, "FORCE_PLATFORM:CAL_MATRIX", f"is missing or not 6 x 6 for type-4 plate {number}")
            cal = cal_all[:6, :6, k] if cal_all.ndim == 3 and cal_all.shape[2] > k else None
            if cal is None:
                raise _bad(p, "FORCE_PLATFORM:CAL_MATRIX", f"has no matrix for type-4 plate {number}")
            raw = raw @ cal.T
        c_lab = corners_all[k] * to_m
        ax = c_lab[0] - c_lab[1]
        ay = c_lab[0] - c_lab[3]
        az = np.cross(ax, ay)
        if not (np.isfinite(c_lab).all() and np.linalg.norm(az) > 1e-9):
            raise _bad(p, "FORCE_PLATFORM:CORNERS", f"of plate {number} do not span a plate (degenerate or NaN)")
        ay = np.cross(az, ax)
        rot = np.stack([ax / np.linalg.norm(ax), ay / np.linalg.norm(ay), az / np.linalg.norm(az)], axis=1)

        def ch_unit(i: int, chans: list[int] = chans) -> str:
            j = chans[i] - 1
            return _unit(analog_units[j]) if j < len(analog_units) else ""

        f_unit = ch_unit(0)
        if f_unit and f_unit not in _FORCE_N:
            # plates stored in volts (uncalibrated) or another unit: the trial analyses without them
            notes.append(
                f"plate {number} skipped: its force channels are in {analog_units[chans[0] - 1]!r} "
                "(ANALOG:UNITS), not N or kN"
            )
            continue
        f_scale = _FORCE_N.get(f_unit, 1.0)
        force = raw[:, :3] * f_scale  # action on the plate, plate frame, N
        if ptype == 1:
            # Fx Fy Fz, CoPx CoPy (length unit of the points), Tz
            cop_plate = np.column_stack([raw[:, 3] * to_m, raw[:, 4] * to_m, np.zeros(n_samples)])
            moment_note = "type 1: centre of pressure channels in POINT:UNITS"
        else:
            m_unit = ch_unit(3)
            if m_unit:
                if m_unit not in _MOMENT_NM:
                    raise InvalidInputError(
                        f"unknown moment unit {analog_units[chans[3] - 1]!r} in ANALOG:UNITS of plate "
                        f"{number}; expected Nmm or Nm",
                        path=p,
                    )
                m_scale = _MOMENT_NM[m_unit] * f_scale
                moment_note = f"moments in {analog_units[chans[3] - 1]}"
            else:
                m_scale = to_m * f_scale
                moment_note = f"moments assumed in N{length_unit} (no ANALOG:UNITS)"
            moment = raw[:, 3:6] * m_scale  # N m at the transducer origin, plate frame
            origin = origin_all[k] * to_m
            if origin[2] > 0:
                origin = -origin
            moment = moment + np.cross(force, origin)  # about the centre of the surface
            with np.errstate(invalid="ignore", divide="ignore"):
                cop_plate = np.column_stack(
                    [-moment[:, 1] / force[:, 2], moment[:, 0] / force[:, 2], np.zeros(n_samples)]
                )
        grf = -(force @ rot.T)
        up = -rot[:, 2]
        vertical = grf @ up
        loaded = np.abs(vertical) > max(min_force_n, 0.05 * float(np.nanmax(np.abs(vertical), initial=0.0)))
        if loaded.any() and float(np.nanmedian(vertical[loaded])) < 0:
            up = -up  # corners listed with the plate z up: the surface normal is +z
            vertical = -vertical
            notes.append(f"plate {number}: corners ordered with the plate z axis up; normal flipped")
        cop = cop_plate @ rot.T + c_lab.mean(axis=0)
        cop[~(vertical >= max(min_force_n, 1e-9))] = np.nan
        plates.append(
            ForcePlate(
                number=number,
                plate_type=ptype,
                grf_n=grf,
                cop_m=cop,
                corners_m=c_lab,
                up=up,
            )
        )
        notes.append(f"plate {number}: type {ptype}, {moment_note}")
    return ForcePlates(
        plates=tuple(plates),
        time_s=time_s,
        rate_hz=rate,
        source=str(p),
        log=(
            provenance_entry(
                "read_force_plates",
                path=str(p),
                reader="ezc3d analogs",
                n_plates=n_plates,
                rate_hz=rate,
                n_samples=n_samples,
                length_unit=length_unit,
                min_force_n=float(min_force_n),
                notes=notes,
            ),
        ),
    )
