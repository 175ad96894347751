"""Gait events (foot strike, foot off) from force plates, 3D markers or 2D video keypoints.

Every detector returns a :class:`GaitEvents`: the events as dicts ``{"side": "left" |
"right", "kind": "foot_strike" | "foot_off", "time_s": float}`` (the format of
:attr:`medius.io.markers.Markers3D.events`, so ``markers.replace(events=result.events)``
works), sorted by time, with notes saying what was dropped and why. Times are on the clock of
the input (for a C3D: seconds from the start of the capture, the clock of the ``EVENT`` times).

The detectors are algorithm objects (:mod:`medius.events._detectors`, one interface,
:class:`~medius.events.GaitEventDetector`): :class:`~medius.events.ZeniEventDetector`,
:class:`~medius.events.FootVelocityEventDetector`, :class:`~medius.events.ForcePlateEventDetector`
and :class:`~medius.events.VideoEventDetector`. This module holds their maths: the per-foot pure
functions :func:`detect_events_zeni` (Zeni, Richards & Higginson 2008: foot strike at the maxima
of the heel's forward position relative to the sacrum, foot off at the minima of the toe's) and
:func:`detect_events_velocity` (O'Connor et al. 2007: foot strike at the trough, foot off at the
peak of the vertical velocity of the foot centre), and the private bodies of the marker,
force-plate and video detectors. ``docs/gait-events.md`` gives the references and the measured
accuracy.

:func:`stances_from_events` cuts the events into stance phases (:class:`Stance`, the one stance
type of medius); :func:`compute_cadence`, :func:`compute_step_times` and
:func:`compute_stride_times` give the timing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy.signal import find_peaks

from medius.errors import InvalidInputError, NotJudgeableError
from medius.io import Keypoints2D
from medius.io.markers import Markers3D
from medius.kinematics._validation import check_option, check_real

if TYPE_CHECKING:  # pragma: no cover
    from medius.io.force_plates import ForcePlates
    from medius.kinematics.angles3d import LabAngles, LabAxes

__all__ = [
    "GaitEvents",
    "Stance",
    "assign_event_sides",
    "compute_cadence",
    "compute_step_times",
    "compute_stride_times",
    "detect_events_velocity",
    "detect_events_zeni",
    "stances_from_events",
]

Side = Literal["left", "right"]
_SIDES: tuple[Side, Side] = ("left", "right")
_KINDS = ("foot_strike", "foot_off")

#: Plug-in Gait labels of the foot and pelvis markers, when the trial is raw markers
_PIG = {
    "left_heel": "LHEE",
    "right_heel": "RHEE",
    "left_toe": "LTOE",
    "right_toe": "RTOE",
    "left_ankle": "LANK",
    "right_ankle": "RANK",
}

#: pelvis forward speed (m/s) below which a marker trial counts as on a treadmill
TREADMILL_MAX_SPEED_M_S = 0.25

#: slowest swing (95th percentile of a foot's image speed relative to a planted foot, leg lengths
#: per second) that counts as stepping in a video
_MIN_SWING_LEG_PER_S = 0.5

#: fastest a foot marker moves (m/s) while the foot stands on a force plate (a swinging foot moves at 2-5 m/s)
_STANDING_MAX_SPEED_M_S = 0.5

#: filmed from behind, a planted foot that moves down the image faster than this share of the
#: stance threshold rides a treadmill's belt (over ground: about 0; the rendered treadmill walks
#: 0.5-0.7, the synthetic ones about 2): its strike is the heel's turn back with the belt
_BELT_FRACTION = 0.25

#: harmonics of the stride kept when smoothing the feet's velocities to find the stances: a running
#: stance, about 35 % of the stride (7 frames at 30 fps), is lost at walking's 4 (the swing's
#: speed leaks into it: on the grid's tall body running from behind 11 of 29 stances were found)
_STANCE_HARMONICS = {"walk": 4.0, "run": 7.0}

#: expected stride-time range (s) searched for the dominant period of a gait signal
_STRIDE_RANGE_S = (0.45, 2.5)


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class GaitEvents:
    """Gait events of a trial and how they were found.

    Attributes
    ----------
    events
        ``{"side", "kind", "time_s"}`` dicts sorted by time.
    method
        the detector (``"force_plates"``, ``"zeni"``, ``"velocity"``, ``"video_2d"``).
    notes
        one line per contact or event dropped, and per choice made (treadmill detected ...).
    info
        parameters and estimates (stride time, thresholds, ...).
    """

    events: tuple[dict[str, Any], ...]
    method: str
    notes: tuple[str, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)

    def times(self, side: str, kind: str) -> np.ndarray:
        """``(n,)`` sorted times in seconds of one side's events of one kind."""
        return np.array([e["time_s"] for e in self.events if e["side"] == side and e["kind"] == kind])

    def __len__(self) -> int:
        return len(self.events)


def _make_events(found: Iterable[tuple[str, str, float]]) -> tuple[dict[str, Any], ...]:
    evs = [{"side": s, "kind": k, "time_s": float(t)} for s, k, t in found]
    return tuple(sorted(evs, key=lambda e: (e["time_s"], e["side"], e["kind"])))


def _event_list(events: GaitEvents | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    raw = events.events if isinstance(events, GaitEvents) else events
    out = []
    for e in raw:
        try:
            side, kind, t = e["side"], e["kind"], float(e["time_s"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"invalid event {e!r}: an event is a dict with 'side', 'kind' and 'time_s'"
            ) from None
        out.append({"side": side, "kind": kind, "time_s": t})
    return sorted(out, key=lambda e: e["time_s"])


# ----------------------------------------------------------------------------- signal helpers
def _fill_nan(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN (edges held); all-NaN stays NaN."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    if ok.all() or not ok.any():
        return x.copy()
    idx = np.arange(x.size)
    return np.interp(idx, idx[ok], x[ok])


def _dominant_period_s(x: np.ndarray, dt: float, lo_s: float, hi_s: float) -> float | None:
    """Period of the strongest repetition of ``x`` between ``lo_s`` and ``hi_s`` (autocorrelation)."""
    x = _fill_nan(x)
    if not np.isfinite(x).all():
        return None
    x = x - x.mean()
    n = x.size
    lo, hi = max(1, int(lo_s / dt)), min(n - 2, int(hi_s / dt) + 1)
    if hi <= lo + 2 or not np.any(x):
        return None
    full = np.correlate(x, x, mode="full")[n - 1 :]
    ac = full / (full[0] * (n - np.arange(n)) / n)
    seg = ac[lo : hi + 1]
    peaks, _ = find_peaks(seg)
    if peaks.size == 0:
        return None
    top = float(seg[peaks].max())
    if top < 0.2:
        return None
    # the fundamental: the first peak nearly as strong as the strongest (not a multiple of it)
    best = peaks[np.flatnonzero(seg[peaks] >= 0.7 * top)[0]]
    return float((lo + best) * dt)


def _refine(y: np.ndarray, i: int) -> float:
    """Sub-sample position of the extremum at ``i`` (parabola through 3 samples)."""
    if i <= 0 or i >= y.size - 1:
        return float(i)
    a, b, c = y[i - 1], y[i], y[i + 1]
    den = a - 2 * b + c
    if not np.isfinite(den) or den == 0:
        return float(i)
    return float(i + np.clip(0.5 * (a - c) / den, -0.5, 0.5))


def _time_at(time_s: np.ndarray, pos: float) -> float:
    return float(np.interp(pos, np.arange(time_s.size), time_s))


def _extrema(
    y: np.ndarray, *, distance: int, prominence: float
) -> np.ndarray:
    """Indices of the maxima of ``y`` (NaN-filled), with spacing and prominence."""
    yf = _fill_nan(y)
    if not np.isfinite(yf).all():
        return np.zeros(0, dtype=int)
    peaks, _ = find_peaks(yf, distance=max(1, distance), prominence=prominence)
    return peaks


def _check_time(time_s: Any, n: int, name: str = "time_s") -> np.ndarray:
    t = np.asarray(time_s, dtype=float)
    if t.shape != (n,):
        raise ValueError(f"Invalid value for the {name!r} parameter: it must have {n} samples, got shape {t.shape}.")
    if n < 3 or not np.all(np.diff(t) > 0):
        raise ValueError(f"Invalid value for the {name!r} parameter: at least 3 strictly increasing times needed.")
    return t


def _xyz(a: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.shape != (n, 3):
        raise ValueError(f"Invalid value for the {name!r} parameter: expected shape ({n}, 3), got {arr.shape}.")
    return arr


def _direction(v: Any, n: int) -> np.ndarray:
    d = np.asarray(v, dtype=float)
    if d.shape == (3,):
        d = np.broadcast_to(d, (n, 3))
    if d.shape != (n, 3):
        raise ValueError(
            f"Invalid value for the 'forward' parameter: a (3,) or ({n}, 3) direction, got shape {d.shape}."
        )
    norm = np.linalg.norm(d, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return d / np.where(norm > 0, norm, np.nan)


def _where(source: str) -> Path | None:
    try:
        p = Path(source)
        return p if p.is_file() else None
    except (TypeError, ValueError, OSError):
        return None


# ----------------------------------------------------------------------------- Zeni
def detect_events_zeni(
    heel: np.ndarray,
    toe: np.ndarray,
    sacrum: np.ndarray,
    forward: np.ndarray,
    time_s: np.ndarray,
    *,
    side: Side,
    stride_time_s: float | None = None,
    min_prominence_fraction: float = 0.3,
    min_excursion_m: float = 0.1,
) -> list[dict[str, Any]]:
    """Foot strikes and foot offs of one foot by the coordinate method of Zeni et al. (2008).

    Foot strike is at each maximum of ``(heel - sacrum) · forward`` (the heel furthest ahead of
    the pelvis), foot off at each minimum of ``(toe - sacrum) · forward`` (the toe furthest
    behind), refined to sub-sample time by a parabola through the three samples around the
    extremum.

    Parameters
    ----------
    heel, toe, sacrum
        ``(time, 3)`` positions in metres (NaN = missing; short holes are bridged linearly for
        peak finding). ``sacrum`` may be any pelvis point (mid-PSIS, mid-ASIS).
    forward
        ``(3,)`` or ``(time, 3)`` direction of progression (horizontal).
    time_s
        ``(time,)`` seconds.
    side
        ``"left"`` or ``"right"``: the side written in the events.
    stride_time_s
        expected stride time; None estimates it from the heel signal (autocorrelation).
        Peaks closer than 0.6 stride are not both kept.
    min_prominence_fraction
        an extremum must stand out by this fraction of the signal's 5-95 % range (about one
        stride length: the heel and toe travel a step ahead and a step behind the pelvis).
    min_excursion_m
        below this 5-95 % range of the heel signal the foot is not stepping (no events).

    Returns
    -------
    list of dict
        the events of this foot, sorted by time (empty when the foot does not step).
    """
    s = check_option("side", side, _SIDES)
    n = np.asarray(heel).shape[0] if np.ndim(heel) == 2 else -1
    t = _check_time(time_s, n)
    h, to, sa = _xyz(heel, n, "heel"), _xyz(toe, n, "toe"), _xyz(sacrum, n, "sacrum")
    fwd = _direction(forward, n)
    frac = check_real("min_prominence_fraction", min_prominence_fraction, low=0.0, high=1.0)
    exc = check_real("min_excursion_m", min_excursion_m, low=0.0)
    hs = np.sum((h - sa) * fwd, axis=-1)
    ts = np.sum((to - sa) * fwd, axis=-1)
    dt = float(np.median(np.diff(t)))
    if not np.isfinite(hs).any():
        return []
    rng = float(np.nanpercentile(hs, 95) - np.nanpercentile(hs, 5))
    if rng < exc:
        return []
    stride = stride_time_s
    if stride is None:
        stride = _dominant_period_s(hs, dt, *_STRIDE_RANGE_S) or 1.1
    stride = check_real("stride_time_s", stride, low=0.0, low_inclusive=False)
    dist = int(0.6 * stride / dt)
    out = []
    hf = _fill_nan(hs)
    for i in _extrema(hs, distance=dist, prominence=frac * rng):
        out.append((s, "foot_strike", _time_at(t, _refine(hf, int(i)))))
    if np.isfinite(ts).any():
        trng = float(np.nanpercentile(ts, 95) - np.nanpercentile(ts, 5))
        tf = -_fill_nan(ts)
        for i in _extrema(-ts, distance=dist, prominence=frac * trng):
            out.append((s, "foot_off", _time_at(t, _refine(tf, int(i)))))
    return list(_make_events(out))


# ----------------------------------------------------------------------------- foot velocity
def _derivative(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    xf = _fill_nan(x)
    if not np.isfinite(xf).all():
        return np.full_like(xf, np.nan)
    return np.gradient(xf, t)


def _lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float | None) -> np.ndarray:
    if cutoff_hz is None:
        return x
    from scipy.signal import butter, sosfiltfilt

    if not cutoff_hz < 0.5 * rate_hz:
        raise NotJudgeableError(
            f"the sampling rate ({rate_hz:.1f} Hz) is too low for a {cutoff_hz:g} Hz filter; "
            "pass a lower cutoff_hz"
        )
    xf = _fill_nan(x)
    if not np.isfinite(xf).all():
        return xf
    sos = butter(2, cutoff_hz, btype="low", fs=rate_hz, output="sos")
    if xf.size <= 15:
        return xf
    return sosfiltfilt(sos, xf)


def detect_events_velocity(
    heel: np.ndarray,
    toe: np.ndarray,
    up: np.ndarray,
    time_s: np.ndarray,
    *,
    side: Side,
    stride_time_s: float | None = None,
    cutoff_hz: float | None = None,
    min_prominence_fraction: float = 0.3,
    min_lift_m: float = 0.03,
) -> list[dict[str, Any]]:
    """Foot strikes and foot offs of one foot by the foot-velocity algorithm (O'Connor et al. 2007).

    The foot centre is the midpoint of the heel and toe markers; its vertical velocity (central
    differences, optionally low-pass filtered first) peaks when the foot leaves the ground
    (foot off) and has its trough as the foot comes down onto it (foot strike). One peak is
    kept per stride (the highest, with spacing and prominence); the foot strike is the lowest
    trough between a foot off and the next one; both are refined to sub-sample time.

    Parameters
    ----------
    heel, toe
        ``(time, 3)`` positions in metres.
    up
        ``(3,)`` the lab vertical.
    time_s
        ``(time,)`` seconds.
    side
        ``"left"`` or ``"right"``.
    stride_time_s
        expected stride time; None estimates it from the foot-centre height.
    cutoff_hz
        low-pass cut-off applied to the foot-centre height before differentiating (None: no
        filter; real marker data is usually filtered at 6-10 Hz upstream).
    min_prominence_fraction
        a velocity peak must stand out by this fraction of the velocity's 5-95 % range.
    min_lift_m
        below this 5-95 % range of the foot-centre height the foot is not stepping.

    Returns
    -------
    list of dict
        the events of this foot, sorted by time.
    """
    s = check_option("side", side, _SIDES)
    n = np.asarray(heel).shape[0] if np.ndim(heel) == 2 else -1
    t = _check_time(time_s, n)
    h, to = _xyz(heel, n, "heel"), _xyz(toe, n, "toe")
    u = _direction(up, n)
    frac = check_real("min_prominence_fraction", min_prominence_fraction, low=0.0, high=1.0)
    lift = check_real("min_lift_m", min_lift_m, low=0.0)
    z = np.sum(0.5 * (h + to) * u, axis=-1)
    if not np.isfinite(z).any():
        return []
    if float(np.nanpercentile(z, 95) - np.nanpercentile(z, 5)) < lift:
        return []
    dt = float(np.median(np.diff(t)))
    z = _lowpass(z, 1.0 / dt, cutoff_hz)
    v = _derivative(z, t)
    if not np.isfinite(v).all():
        return []
    stride = stride_time_s if stride_time_s is not None else (_dominant_period_s(z, dt, *_STRIDE_RANGE_S) or 1.0)
    stride = check_real("stride_time_s", stride, low=0.0, low_inclusive=False)
    vr = float(np.percentile(v, 95) - np.percentile(v, 5))
    offs = _extrema(v, distance=int(0.6 * stride / dt), prominence=frac * vr)
    out = [(s, "foot_off", _time_at(t, _refine(v, int(i)))) for i in offs]
    # foot strike: the last trough of the descent before the foot comes to rest on the ground
    floor = float(np.percentile(z, 5))
    zr = float(np.percentile(z, 95)) - floor
    bounds = [0, *offs.tolist(), n - 1]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b - a < 4:
            continue
        top = a + int(np.argmax(z[a:b]))
        low = np.flatnonzero((z[top:b] <= floor + 0.25 * zr) & (v[top:b] > -0.05 * vr))
        if low.size == 0:
            continue  # the foot does not come to rest before the next foot off / trial end
        rest = top + int(low[0])
        seg = -v[top : rest + 1]
        troughs, _ = find_peaks(seg)
        troughs = troughs[seg[troughs] > 0.2 * float(seg.max(initial=0.0))]
        if troughs.size == 0:
            continue
        i = top + int(troughs[-1])
        # no parabolic refinement: the contact stops the foot abruptly, the trough is a kink
        out.append((s, "foot_strike", float(t[i])))
    return list(_make_events(out))


# ----------------------------------------------------------------------------- marker trials
@dataclass(frozen=True)
class _Feet:
    time_s: np.ndarray
    points: dict[str, np.ndarray]  # canonical names -> (time, 3)
    pelvis: np.ndarray | None
    source: str
    axes: Any = None


def _feet_of(source: Markers3D | LabAngles) -> _Feet:
    axes = None
    if hasattr(source, "joint_centres") and hasattr(source, "axes"):
        axes = source.axes
        m: Markers3D = source.joint_centres
    elif isinstance(source, Markers3D):
        m = source
    else:
        raise TypeError(f"expected Markers3D or LabAngles, got {type(source).__name__}")
    pts: dict[str, np.ndarray] = {}
    for name, pig in _PIG.items():
        if m.has(name):
            pts[name] = m.xyz(name)
        elif m.has(pig):
            pts[name] = m.xyz(pig)
    pelvis = None
    if m.has("pelvis_origin"):
        pelvis = m.xyz("pelvis_origin")
    elif m.has("sacrum"):
        pelvis = m.xyz("sacrum")
    elif m.has("SACR"):
        pelvis = m.xyz("SACR")
    elif m.has("LPSI") and m.has("RPSI"):
        pelvis = 0.5 * (m.xyz("LPSI") + m.xyz("RPSI"))
    elif m.has("LASI") and m.has("RASI"):
        pelvis = 0.5 * (m.xyz("LASI") + m.xyz("RASI"))
    elif m.has("left_hip") and m.has("right_hip"):
        pelvis = 0.5 * (m.xyz("left_hip") + m.xyz("right_hip"))
    return _Feet(m.time_s, pts, pelvis, m.source, axes)


def _axis_snap(v: np.ndarray) -> np.ndarray:
    out = np.zeros(3)
    i = int(np.argmax(np.abs(v)))
    out[i] = 1.0 if v[i] > 0 else -1.0
    return out


def _nanmedian_rows(a: np.ndarray) -> np.ndarray:
    ok = np.isfinite(a).all(axis=-1)
    return np.median(a[ok], axis=0) if ok.any() else np.full(3, np.nan)


def _axes_for(feet: _Feet, axes: LabAxes | None) -> tuple[np.ndarray, np.ndarray, str]:
    if axes is not None:
        return np.asarray(axes.forward, float), np.asarray(axes.up, float), "given"
    if feet.axes is not None:
        return np.asarray(feet.axes.forward, float), np.asarray(feet.axes.up, float), "LabAngles.axes"
    where = _where(feet.source)
    heels = [feet.points.get(f"{s}_heel") for s in _SIDES]
    if feet.pelvis is None or any(h is None for h in heels):
        raise InvalidInputError(
            "cannot find the lab axes: the trial needs heel markers (LHEE/RHEE or left_heel/right_heel) "
            "and a pelvis (SACR, LPSI/RPSI, LASI/RASI or pelvis_origin); pass axes",
            path=where,
        )
    hl, hr = heels
    assert hl is not None and hr is not None
    mid_heel = 0.5 * (hl + hr)
    d = _nanmedian_rows(feet.pelvis - mid_heel)
    if not np.isfinite(d).all():
        raise InvalidInputError("cannot find the vertical: pelvis and heels never seen together; pass axes", path=where)
    up = _axis_snap(d)
    ok = np.isfinite(feet.pelvis).all(axis=-1)
    travel = feet.pelvis[ok][-1] - feet.pelvis[ok][0]
    travel = travel - (travel @ up) * up
    if np.linalg.norm(travel) >= 0.5:
        fwd = _axis_snap(travel)
        how = "auto: pelvis travel"
    else:
        toes = [feet.points.get(f"{s}_toe") for s in _SIDES]
        tl, tr = toes
        if tl is None or tr is None:
            raise InvalidInputError("cannot find the forward direction without toe markers; pass axes", path=where)
        foot = _nanmedian_rows(np.concatenate([tl - hl, tr - hr]))
        foot = foot - (foot @ up) * up
        fwd = foot / np.linalg.norm(foot)
        how = "auto: heel-to-toe direction"
    return fwd, up, how


def _smooth_sign(x: np.ndarray, n_win: int) -> np.ndarray:
    xf = _fill_nan(x)
    if n_win > 1 and xf.size > n_win:
        k = np.ones(n_win) / n_win
        xf = np.convolve(np.pad(xf, (n_win // 2, n_win - 1 - n_win // 2), mode="edge"), k, mode="valid")
    return np.where(xf >= 0, 1.0, -1.0)


def _marker_events(
    source: Markers3D | LabAngles,
    axes: LabAxes | None,
    *,
    used: Literal["zeni", "velocity"],
    task: str,
    stride_time_s: float | None,
    per_foot: Mapping[str, Any],
) -> GaitEvents:
    """The events of both feet of a marker trial by the per-foot method ``used`` (the body of the
    marker detectors: :class:`ZeniEventDetector`, :class:`FootVelocityEventDetector`)."""
    feet = _feet_of(source)
    where = _where(feet.source)
    need = [f"{s}_{p}" for s in _SIDES for p in ("heel", "toe")]
    missing = [k for k in need if k not in feet.points]
    if missing:
        raise InvalidInputError(
            f"gait events need heel and toe markers on both feet; missing: {', '.join(missing)} "
            "(Plug-in Gait LHEE/LTOE/RHEE/RTOE or canonical left_heel/left_toe/...)",
            path=where,
        )
    t = feet.time_s
    if t.size < 3:
        raise NotJudgeableError(f"the trial has {t.size} frames; gait events need a few strides", path=where)
    fwd, up, axes_from = _axes_for(feet, axes)
    dt = float(np.median(np.diff(t)))
    notes = []
    speed = float("nan")
    treadmill = None
    direction = np.broadcast_to(fwd, (t.size, 3))
    if feet.pelvis is not None and np.isfinite(feet.pelvis).all(axis=-1).sum() >= 2:
        pf = feet.pelvis @ fwd
        ok = np.isfinite(pf)
        speed = float(abs(pf[ok][-1] - pf[ok][0]) / max(t[ok][-1] - t[ok][0], 1e-9))
        treadmill = speed < TREADMILL_MAX_SPEED_M_S
        notes.append(
            f"pelvis forward speed {speed:.2f} m/s: {'treadmill' if treadmill else 'over ground'}"
        )
        if not treadmill:
            sign = _smooth_sign(np.gradient(_fill_nan(pf), t), max(1, int(0.5 / dt)))
            direction = sign[:, None] * fwd[None, :]
            if np.any(sign != sign[0]):
                notes.append("the walking direction reverses during the trial (turns): forward follows it")
    elif used == "zeni":
        raise InvalidInputError(
            "Zeni's method needs a pelvis marker (SACR, LPSI/RPSI, LASI/RASI, or canonical sacrum / pelvis_origin)", path=where
        )
    found: list[dict[str, Any]] = []
    for s in _SIDES:
        heel, toe = feet.points[f"{s}_heel"], feet.points[f"{s}_toe"]
        if used == "zeni":
            assert feet.pelvis is not None
            ev = detect_events_zeni(
                heel, toe, feet.pelvis, direction, t, side=s, stride_time_s=stride_time_s, **per_foot
            )
        else:
            ev = detect_events_velocity(heel, toe, up, t, side=s, stride_time_s=stride_time_s, **per_foot)
        if not any(e["kind"] == "foot_strike" for e in ev):
            raise NotJudgeableError(
                f"no foot strikes found for the {s} foot: the {s} heel and toe markers do not show "
                f"strides ({used} method; standing still, markers missing or not gait?)",
                path=where,
            )
        found.extend(ev)
    return GaitEvents(
        events=_make_events((e["side"], e["kind"], e["time_s"]) for e in found),
        method=used,
        notes=tuple(notes),
        info={
            "task": task,
            "treadmill": treadmill,
            "pelvis_speed_m_s": speed,
            "forward": fwd.tolist(),
            "up": up.tolist(),
            "axes_from": axes_from,
            "reference": (
                "Zeni JA, Richards JG, Higginson JS (2008) Gait Posture 27:710-714"
                if used == "zeni"
                else "O'Connor CM, Thorpe SK, O'Malley MJ, Vaughan CL (2007) Gait Posture 25:469-474"
            ),
        },
    )


def assign_event_sides(
    events: Iterable[Mapping[str, Any]], source: Markers3D | LabAngles, axes: LabAxes | None = None
) -> list[dict[str, Any]]:
    """Give a side to events that have none (a C3D whose ``EVENT:CONTEXTS`` are empty).

    At a foot strike the landing heel is ahead of the other heel; at a foot off the leaving
    toe is behind the other toe (along the walking direction of that instant).

    Parameters
    ----------
    events
        ``{"side", "kind", "time_s"}`` dicts; those with a side, or of another kind, are kept
        as they are.
    source
        the trial's markers (heels and toes, as for :func:`detect_events_markers`).
    axes
        as for :func:`detect_events_markers`.

    Returns
    -------
    list of dict
        the events, sorted by time, sides filled where the markers are seen.
    """
    feet = _feet_of(source)
    fwd, up, _ = _axes_for(feet, axes)
    t = feet.time_s
    direction = np.broadcast_to(fwd, (t.size, 3))
    if feet.pelvis is not None and np.isfinite(feet.pelvis).any():
        pf = _fill_nan(feet.pelvis @ fwd)
        dt = float(np.median(np.diff(t)))
        if abs(pf[-1] - pf[0]) / max(t[-1] - t[0], 1e-9) >= TREADMILL_MAX_SPEED_M_S:
            sign = _smooth_sign(np.gradient(pf, t), max(1, int(0.5 / dt)))
            direction = sign[:, None] * fwd[None, :]
    out = []
    for e in _event_list(events):
        if e["side"] is None and e["kind"] in _KINDS:
            part = "heel" if e["kind"] == "foot_strike" else "toe"
            i = int(np.clip(np.searchsorted(t, e["time_s"]), 0, t.size - 1))
            if i > 0 and abs(t[i - 1] - e["time_s"]) < abs(t[i] - e["time_s"]):
                i -= 1
            lp, rp = feet.points.get(f"left_{part}"), feet.points.get(f"right_{part}")
            if lp is None or rp is None:  # no heel / toe marker: the ankles tell which foot is ahead
                lp, rp = feet.points.get("left_ankle"), feet.points.get("right_ankle")
            if lp is not None and rp is not None:
                d = float((lp[i] - rp[i]) @ direction[i])
                if np.isfinite(d):
                    ahead = "left" if d > 0 else "right"
                    behind = "right" if d > 0 else "left"
                    e = {**e, "side": ahead if e["kind"] == "foot_strike" else behind}
        out.append(e)
    return out


# ----------------------------------------------------------------------------- force plates
def _contacts(above: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate(([0], above.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _foot_distance(cop: np.ndarray, pts: list[np.ndarray | None]) -> np.ndarray:
    """``(n,)`` horizontal-agnostic distance from the CoP to the foot (heel-toe segment or ankle)."""
    best = np.full(cop.shape[0], np.inf)
    heel, toe = pts[0], pts[1]
    if heel is not None and toe is not None:
        seg = toe - heel
        with np.errstate(invalid="ignore", divide="ignore"):
            u = np.clip(np.sum((cop - heel) * seg, -1) / np.sum(seg * seg, -1), 0.0, 1.0)
        d = np.linalg.norm(cop - (heel + u[:, None] * seg), axis=-1)
        best = np.fmin(best, d)
    for p in pts:
        if p is not None:
            best = np.fmin(best, np.linalg.norm(cop - p, axis=-1))
    return best


def _force_plate_events(
    plates: ForcePlates,
    markers_or_joint_centres: Markers3D | LabAngles,
    *,
    threshold_n: float,
    min_contact_s: float,
    max_cop_distance_m: float,
) -> GaitEvents:
    """The body of :class:`ForcePlateEventDetector` (parameters validated there)."""
    feet = _feet_of(markers_or_joint_centres)
    where = _where(plates.source) or _where(feet.source)
    if len(plates) == 0:
        raise NotJudgeableError("no force plates in the trial: gait events need markers instead", path=where)
    t_an = plates.time_s
    tm = feet.time_s

    def at(arr: np.ndarray | None, times: np.ndarray) -> np.ndarray | None:
        if arr is None:
            return None
        out = np.empty((times.size, 3))
        for j in range(3):
            col = arr[:, j]
            ok = np.isfinite(col)
            out[:, j] = np.interp(times, tm[ok], col[ok], left=np.nan, right=np.nan) if ok.sum() >= 2 else np.nan
        return out

    notes: list[str] = []
    contacts: list[dict[str, Any]] = []
    for plate in plates:
        vz = plate.vertical_n
        for a, b in _contacts(vz > threshold_n):
            label = f"plate {plate.number} contact {t_an[a]:.3f}-{t_an[min(b, t_an.size - 1)]:.3f} s"
            if t_an[min(b, t_an.size - 1)] - t_an[a] < min_contact_s:
                notes.append(f"{label}: dropped, shorter than {min_contact_s:g} s")
                continue
            idx = np.arange(a, b)
            thirds = [idx[: max(1, idx.size // 3)], idx[idx.size // 3 : max(idx.size // 3 + 1, 2 * idx.size // 3)],
                      idx[2 * idx.size // 3 :]]
            mids = []
            for part in thirds:
                cop = plate.cop_m[part]
                dists = {}
                for s in _SIDES:
                    pts = [at(feet.points.get(f"{s}_{p}"), t_an[part]) for p in ("heel", "toe", "ankle")]
                    d = _foot_distance(cop, pts)
                    dists[s] = float(np.nanmedian(np.where(np.isfinite(d), d, np.nan))) if np.isfinite(d).any() else np.inf
                mids.append(dists)
            mid = mids[1]
            side = min(_SIDES, key=lambda s: mid[s])
            other = "right" if side == "left" else "left"
            if not math.isfinite(mid[side]) or mid[side] > max_cop_distance_m:
                notes.append(f"{label}: dropped, no foot within {max_cop_distance_m:g} m of the centre of pressure")
                continue
            first_side = min(_SIDES, key=lambda s: mids[0][s])
            last_side = min(_SIDES, key=lambda s: mids[2][s])
            if first_side != last_side:
                # two feet in turn (double support on one plate): the plate was unloaded before the
                # first foot landed and is unloaded after the last one leaves, so the first foot's
                # strike and the last foot's off are still clean
                kept_ev = []
                if a > 0 and math.isfinite(mids[0][first_side]) and mids[0][first_side] <= max_cop_distance_m:
                    contacts.append({"plate": plate.number, "side": first_side, "strike_s": float(t_an[a]),
                                     "off_s": None, "start_s": float(t_an[a]), "end_s": float(t_an[a]),
                                     "cop_distance_m": round(mids[0][first_side], 4), "partial": True})
                    kept_ev.append(f"the {first_side} foot strike")
                if b < t_an.size and math.isfinite(mids[2][last_side]) and mids[2][last_side] <= max_cop_distance_m:
                    contacts.append({"plate": plate.number, "side": last_side, "strike_s": None,
                                     "off_s": float(t_an[b]), "start_s": float(t_an[b - 1]), "end_s": float(t_an[b - 1]),
                                     "cop_distance_m": round(mids[2][last_side], 4), "partial": True})
                    kept_ev.append(f"the {last_side} foot off")
                notes.append(
                    f"{label}: two feet on the plate (the centre of pressure moves from the "
                    f"{first_side} to the {last_side} foot): "
                    + (f"only {' and '.join(kept_ev)} kept" if kept_ev else "dropped")
                )
                continue
            t_mid = t_an[(a + b) // 2 : (a + b) // 2 + 1]
            op = [at(feet.points.get(f"{other}_{p}"), t_mid) for p in ("heel", "toe")]
            own = [at(feet.points.get(f"{side}_{p}"), t_mid) for p in ("heel", "toe")]
            op_seen = [x for x in op if x is not None]
            own_seen = [x for x in own if x is not None]
            if len(op_seen) + len(own_seen) == len(op) + len(own):
                heights = [float(x[0] @ plate.up) for x in op_seen + own_seen]
                other_low = min(heights[:2]) <= min(heights[2:]) + 0.03
                other_over = any(bool(plate.contains(x[0])) for x in op_seen)
                # a foot in mid-swing passes over the plate a toe clearance (1-2 cm) above the ground,
                # as low as a standing foot: only a still foot stands on the plate (walk.c3d plate 4,
                # a clean right stance, was read as two feet by the height test alone)
                t_pair = np.array([t_mid[0] - 0.02, t_mid[0] + 0.02])
                moved = [at(feet.points.get(f"{other}_{p}"), t_pair) for p in ("heel", "toe")]
                speeds = [float(np.linalg.norm(m[1] - m[0])) / 0.04 for m in moved if m is not None]
                other_still = not speeds or not np.isfinite(speeds).any() or float(np.nanmin(speeds)) < _STANDING_MAX_SPEED_M_S
                if other_low and other_over and other_still:
                    notes.append(f"{label}: dropped, two feet on the plate (the {other} foot stands on it too)")
                    continue
            contacts.append(
                {
                    "plate": plate.number,
                    "side": side,
                    "strike_s": None if a == 0 else float(t_an[a]),
                    "off_s": None if b >= t_an.size else float(t_an[b]),
                    "start_s": float(t_an[a]),
                    "end_s": float(t_an[min(b, t_an.size - 1)]),
                    "cop_distance_m": round(mid[side], 4),
                }
            )
    # one foot on two plates at once
    drop: set[int] = set()
    for i, c in enumerate(contacts):
        for j in range(i + 1, len(contacts)):
            cj = contacts[j]
            if c["side"] == cj["side"] and c["plate"] != cj["plate"] and c["start_s"] < cj["end_s"] and cj["start_s"] < c["end_s"]:
                drop.update((i, j))
                notes.append(
                    f"{c['side']} foot on plates {c['plate']} and {cj['plate']} at once "
                    f"({max(c['start_s'], cj['start_s']):.3f} s): both contacts dropped"
                )
    kept = [c for i, c in enumerate(contacts) if i not in drop]
    if not kept:
        raise NotJudgeableError(
            "no foot contacts found on the force plates: "
            + (f"the vertical force never exceeds {threshold_n:g} N" if not notes else "; ".join(notes)),
            path=where,
        )
    found = []
    for c in kept:
        if c["strike_s"] is not None:
            found.append((c["side"], "foot_strike", c["strike_s"]))
        if c["off_s"] is not None:
            found.append((c["side"], "foot_off", c["off_s"]))
    return GaitEvents(
        events=_make_events(found),
        method="force_plates",
        notes=tuple(notes),
        info={"threshold_n": threshold_n, "contacts": kept, "analog_rate_hz": plates.rate_hz},
    )


# ----------------------------------------------------------------------------- 2D video
def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    return _contacts(mask)


def _rolling_percentile(x: np.ndarray, n_win: int, q: float) -> np.ndarray:
    out = np.full(x.size, np.nan)
    half = max(1, n_win // 2)
    for i in range(x.size):
        seg = x[max(0, i - half) : i + half + 1]
        seg = seg[np.isfinite(seg)]
        if seg.size:
            out[i] = np.percentile(seg, q)
    return out


def _video_events(
    kp: Keypoints2D,
    *,
    view: str,
    task: str,
    cutoff_hz: float | None,
    stance_fraction: float,
    min_stance_s: float | None,
    min_swing_s: float | None,
) -> GaitEvents:
    """The body of :class:`VideoEventDetector` (parameters validated there)."""
    min_st = min_stance_s if min_stance_s is not None else (0.2 if task == "walk" else 0.08)
    min_sw = min_swing_s if min_swing_s is not None else (0.2 if task == "walk" else 0.15)
    where = _where(kp.source)
    t = kp.time_s
    n = kp.n_frames
    if n < 10:
        raise NotJudgeableError(f"{n} frames: gait events need a few strides of video", path=where)
    dt = float(np.median(np.diff(t)))
    fps = 1.0 / dt
    # filtering twice blurs the events: keypoints low-pass filtered upstream are used as they are
    prefiltered = any(e.get("operation") == "lowpass_filter" and not e.get("skipped") for e in kp.log)

    def y_of(name: str) -> np.ndarray:
        try:
            return kp.xy(name)[:, 1].astype(float)
        except KeyError:
            return np.full(n, np.nan)

    hip = np.nanmean(np.stack([y_of("left_hip"), y_of("right_hip")]), axis=0)
    if np.isfinite(hip).sum() < 0.5 * n:
        raise NotJudgeableError("the hips are not seen in most frames: gait events need them", path=where)
    ank = {s: y_of(f"{s}_ankle") for s in _SIDES}
    feet = {s: {p: y_of(f"{s}_{p}") for p in ("heel", "toe")} for s in _SIDES}
    for s in _SIDES:
        for p in ("heel", "toe"):
            if np.isfinite(feet[s][p]).sum() < 0.5 * n:
                feet[s][p] = ank[s]
        if np.isfinite(feet[s]["heel"]).sum() < 0.5 * n:
            raise NotJudgeableError(f"the {s} foot (heel, toe, ankle) is not seen in most frames", path=where)
    low_ankle = np.fmax(ank["left"], ank["right"])
    if not np.isfinite(low_ankle).any():
        low_ankle = np.fmax(feet["left"]["heel"], feet["right"]["heel"])
    leg = _fill_nan(_rolling_percentile(low_ankle - hip, int(round(1.5 / dt)), 90))
    if not (np.isfinite(leg).all() and np.all(leg > 0)):
        raise NotJudgeableError("cannot measure the leg length in the image (hips below the ankles?)", path=where)

    # image-y velocity and acceleration of each heel and toe, in leg lengths per second (per s^2)
    vel: dict[str, dict[str, np.ndarray]] = {}
    acc: dict[str, dict[str, np.ndarray]] = {}
    pos: dict[str, dict[str, np.ndarray]] = {}
    for s in _SIDES:
        vel[s], acc[s], pos[s] = {}, {}, {}
        for p in ("heel", "toe"):
            x = _lowpass(_fill_nan(feet[s][p]), fps, None if prefiltered else cutoff_hz)
            v = np.gradient(x, t)
            pos[s][p] = x / leg
            vel[s][p] = v / leg
            acc[s][p] = np.gradient(v, t) / leg
    # planted-foot velocity: the lower foot (nearer the image bottom) is mostly the stance foot
    lower_is_left = pos["left"]["heel"] > pos["right"]["heel"]
    v_low = np.where(lower_is_left, vel["left"]["heel"], vel["right"]["heel"])
    sep = np.abs(pos["left"]["heel"] - pos["right"]["heel"])
    clear = sep > np.percentile(sep, 50)
    v_plant = float(np.median(v_low[clear])) if clear.any() else float(np.median(v_low))

    # stride period: the dominant repetition of the heels' image velocity
    periods = [_dominant_period_s(vel[s]["heel"], dt, *_STRIDE_RANGE_S) for s in _SIDES]
    periods_ok = [p for p in periods if p is not None]
    stride = float(np.median(periods_ok)) if periods_ok else None

    n_min_st = max(1, int(round(min_st / dt)))
    n_min_sw = max(1, int(round(min_sw / dt)))
    found: list[tuple[str, str, float]] = []
    notes: list[str] = []
    info_thr: dict[str, float] = {}
    still: dict[str, np.ndarray] = {}
    for s in _SIDES:
        # the stride structure (where each stance is) from velocities smoothed to a few harmonics
        # of the stride: noise and the impacts' wiggles must not break a stance in two, yet the
        # stance must stay resolved (walking: about 60 % of the stride, 4 harmonics; running: about
        # 35 %, so 4 x 0.6 / 0.35 = 7 harmonics)
        harmonics = _STANCE_HARMONICS[task]
        smooth_hz = min(harmonics / stride, 0.4 * fps) if stride is not None else None
        dep = {p: np.abs(_lowpass(vel[s][p], fps, smooth_hz) - v_plant) for p in ("heel", "toe")}
        swing_speed = float(np.percentile(np.fmax(dep["heel"], dep["toe"]), 95))
        thr = stance_fraction * swing_speed
        info_thr[s] = thr
        if swing_speed < _MIN_SWING_LEG_PER_S or stride is None:
            raise NotJudgeableError(
                f"no foot strikes found for the {s} foot: its heel and toe do not alternate between "
                "stance and swing in the video (standing still, feet hidden or not gait?)",
                path=where,
            )
        still[s] = np.fmin(dep["heel"], dep["toe"]) < thr
    assert stride is not None  # checked with each foot's swing above
    # filmed from behind, a planted foot carried towards the camera by a treadmill's belt moves
    # down the image (over ground it stays still: about 0); a treadmill is the trial's, not a foot's
    on_belt = view == "back" and v_plant > _BELT_FRACTION * max(info_thr.values())
    # the mid-hip's image y in leg lengths: the heel relative to it is the heel's position relative
    # to the pelvis (the foot strike on a treadmill filmed from behind, _stance_events)
    hip_pos = _lowpass(_fill_nan(hip), fps, None if prefiltered else cutoff_hz) / leg if on_belt else None
    for s in _SIDES:
        heel_rel = pos[s]["heel"] - hip_pos if hip_pos is not None else None
        stride_n = stride / dt
        # drop "still" moments shorter than a stance (a swinging foot crossing the planted
        # velocity), bridge dips shorter than a swing and than 5 % of a stride (noise)
        runs = _clean_runs(still[s], n_min_st, min(n_min_sw, max(1, int(round(0.05 * stride_n)))))
        for a, b in _stance_runs(runs, stride_n):
            mid = 0.5 * (a + b - 1)
            fs, fo = _stance_events(acc[s], mid, stride_n, back=view == "back", heel_rel=heel_rel)
            if fs is not None:
                found.append((s, "foot_strike", _time_at(t, fs)))
            if fo is not None:
                found.append((s, "foot_off", _time_at(t, fo)))
        if not any(k == "foot_strike" and side == s for side, k, _ in found):
            raise NotJudgeableError(
                f"no foot strikes found for the {s} foot: its heel and toe do not alternate between "
                "stance and swing in the video (standing still, feet hidden or not gait?)",
                path=where,
            )
    return GaitEvents(
        events=_make_events(found),
        method="video_2d",
        notes=tuple(notes),
        info={
            "view": view,
            "task": task,
            "leg_length_px_median": float(np.median(leg)),
            "planted_foot_velocity_leg_per_s": v_plant,
            "stance_threshold_leg_per_s": info_thr,
            "strike_from_heel_turn": dict.fromkeys(_SIDES, on_belt),
            "stride_time_s": stride,
            "cutoff_hz": None if prefiltered else cutoff_hz,
            "prefiltered": prefiltered,
            "frame_rate_hz": fps,
        },
    )


def _stance_runs(still: np.ndarray, stride_n: float) -> list[tuple[int, int]]:
    """One stance ``[a, b)`` per stride: the longest stretch of ``still`` samples around each peak of
    its running mean over a quarter stride (mid-stance), peaks at least 0.6 stride apart."""
    n = still.size
    w = max(3, int(round(0.25 * stride_n)))
    # running mean, over the samples inside the trial (a stance cut by an edge still scores)
    score = np.convolve(still.astype(float), np.ones(w), mode="same") / np.convolve(np.ones(n), np.ones(w), mode="same")
    mids, _ = find_peaks(np.r_[-1.0, score, -1.0], distance=max(1, int(0.6 * stride_n)), height=0.5)
    mids = mids - 1
    # bridge gaps shorter than 5 % of a stride (noise), then take the run around each mid-stance
    m = still.copy()
    gap = max(1, int(round(0.05 * stride_n)))
    for a, b in _runs(~m):
        if a > 0 and b < n and b - a <= gap:
            m[a:b] = True
    runs = _runs(m)
    inner = [b - a for a, b in runs if a > 0 and b < n and b - a >= 0.1 * stride_n]
    typical = float(np.median(inner)) if inner else None
    out: list[tuple[int, int]] = []
    for c in mids:
        best = None
        for a, b in runs:
            d = 0 if a <= c < b else min(abs(c - a), abs(c - (b - 1)))
            if d <= w and (best is None or d < best[0]):
                best = (d, a, b)
        if best is None:
            continue
        a, b = best[1], best[2]
        a, b = max(a, int(c - 0.5 * stride_n)), min(b, int(c + 0.5 * stride_n) + 1)
        if typical is not None and a == 0 and b < n:  # cut by the trial start: centre from its end
            a = min(0, int(round(b - typical)))
        elif typical is not None and b == n and a > 0:
            b = max(n, int(round(a + typical)))
        if out and a < out[-1][1]:
            if (b - a) > (out[-1][1] - out[-1][0]):
                out[-1] = (a, b)
            continue
        out.append((a, b))
    return out


def _stance_events(
    acc: Mapping[str, np.ndarray],
    mid: float,
    stride_n: float,
    *,
    back: bool,
    heel_rel: np.ndarray | None = None,
) -> tuple[float | None, float | None]:
    """Sub-sample foot strike and foot off of the stance around sample ``mid`` from the image-y
    accelerations of the heel and toe (``stride_n``: the stride in samples).

    Foot off: the toe's velocity steps from the planted velocity to lifting (image y up), the
    strongest minimum of its acceleration in the half stride after mid-stance. Foot strike: the
    descending heel stops (the strongest minimum of its acceleration in the half stride before
    mid-stance, a frame or two early as the heel already slows before contact); filmed from
    behind, the forefoot then drops onto the floor: the toe's strongest acceleration maximum just
    after that is the contact.

    ``heel_rel`` (filmed from behind, on a treadmill only): the heel's image y relative to the
    hips, in leg lengths. The heel's most anterior position relative to the pelvis is the foot
    strike (Zeni 2008); from behind, anterior is up in the image, but so is the lift of the
    swinging foot. After the swing's lift (the highest point) the heel comes down (the stop the
    acceleration rule finds), still travels forwards, and turns back with the belt at contact: the
    first minimum of ``heel_rel`` after that descent is the strike. When that pattern is not
    there the acceleration rule is used.
    """
    fo = _strongest(acc["toe"], -1, mid + 0.05 * stride_n, mid + (0.55 if back else 0.5) * stride_n)
    if heel_rel is not None:
        turn = _turn_after_lift(heel_rel, mid - 0.75 * stride_n, mid - 0.02 * stride_n)
        if turn is not None:
            return turn, fo
    fs = _strongest(acc["heel"], -1, mid - 0.5 * stride_n, mid - 0.05 * stride_n)
    if fs is not None and back:
        slap = _strongest(acc["toe"], +1, fs - 0.03 * stride_n, fs + 0.12 * stride_n)
        fs = slap if slap is not None else fs
    return fs, fo


def _strongest(x: np.ndarray, sign: int, lo: float, hi: float) -> float | None:
    """Sub-sample position of the strongest local extremum of ``x`` (``sign`` +1: maximum, -1:
    minimum) between samples ``lo`` and ``hi``; None when there is none, or when the window is
    cut by the trial's edge (the event may lie outside, and filters ring at the edges)."""
    y = sign * x
    n = y.size
    i0, i1 = max(1, math.ceil(lo)), min(n - 2, math.floor(hi))
    if i1 < i0:
        return None
    seg = np.arange(i0, i1 + 1)
    ok = (y[seg] >= y[seg - 1]) & (y[seg] > y[seg + 1])
    if not ok.any():
        return None
    j = int(seg[ok][np.argmax(y[seg][ok])])
    # a window cut by the trial's edge: the event may lie outside, and filters ring at the edges
    width = hi - lo
    cut_lo, cut_hi = max(0.0, 1 - lo), max(0.0, hi - (n - 2))
    if cut_lo + cut_hi > 0.4 * width:
        return None
    if (cut_lo and j - 1 < 0.25 * width) or (cut_hi and n - 2 - j < 0.25 * width):
        return None
    return _refine(y, j)


def _turn_after_lift(y: np.ndarray, lo: float, hi: float) -> float | None:
    """Sub-sample position of the first local minimum of ``y`` after the first local maximum that
    follows the window's smallest value (samples ``lo`` to ``hi``; image y: the swing's lift, the
    descent, the turn); None when the window is cut by the trial's edge or the pattern is not there."""
    n = y.size
    i0, i1 = math.ceil(lo), math.floor(hi)
    if i0 < 1 or i1 > n - 2 or i1 - i0 < 4:
        return None
    lift = i0 + int(np.argmin(y[i0 : i1 + 1]))
    seg = np.arange(lift + 1, i1 + 1)
    is_max = (y[seg] > y[seg - 1]) & (y[seg] >= y[seg + 1])
    if not is_max.any():
        return None
    dip = int(seg[is_max][0])
    seg = np.arange(dip + 1, i1 + 1)
    is_min = (y[seg] <= y[seg - 1]) & (y[seg] < y[seg + 1])
    if not is_min.any():
        return None
    return _refine(-y, int(seg[is_min][0]))


def _clean_runs(mask: np.ndarray, n_min_true: int, n_min_false: int) -> np.ndarray:
    m = mask.copy()
    # drop short True runs first (a swinging foot whose forward and downward image motions
    # cancel for an instant looks still), then fill short False gaps inside stance (noise)
    for a, b in _runs(m):
        if b - a < n_min_true and a > 0 and b < m.size:  # a stance cut by an edge may be short
            m[a:b] = False
    for a, b in _runs(~m):
        if a > 0 and b < m.size and b - a < n_min_false:
            m[a:b] = True
    return m



# ----------------------------------------------------------------------------- stances
@dataclass(frozen=True)
class Stance:
    """One stance phase: from a foot strike to the next foot off of the same foot.

    The one stance type of medius: the gait protocols measure each stance on it
    (:func:`medius.protocols.measure_stances`).

    Attributes
    ----------
    side
        ``"left"`` or ``"right"``.
    strike, off
        sample indices of the foot strike and the foot off: the first sample of ``time_s`` at or
        after the event (:func:`stances_from_events`).
    next_other_strike
        the other foot's next strike after this strike (sample index; the step time), None when
        the recording ends first.
    previous_other_strike
        the other foot's last strike before this strike (sample index; the step width), None
        when the recording starts after it.
    foot_strike_s, foot_off_s
        the events' times in seconds (None for a stance built from indices alone).
    next_foot_strike_s
        the next foot strike of the same foot after the foot off (the end of the stride), None
        at the trial end.
    contralateral_events
        the other foot's events between the foot strike and the foot off.
    """

    side: Side
    strike: int
    off: int
    next_other_strike: int | None = None
    previous_other_strike: int | None = None
    foot_strike_s: float | None = None
    foot_off_s: float | None = None
    next_foot_strike_s: float | None = None
    contralateral_events: tuple[dict[str, Any], ...] = ()

    @property
    def mid(self) -> int:
        """Sample index of mid-stance: the midpoint of the strike and off samples (rounded)."""
        return int(round(0.5 * (self.strike + self.off)))

    @property
    def duration_s(self) -> float | None:
        """Foot strike to foot off, seconds (None without the event times)."""
        if self.foot_strike_s is None or self.foot_off_s is None:
            return None
        return self.foot_off_s - self.foot_strike_s

    @property
    def stride_time_s(self) -> float | None:
        """Foot strike to the same foot's next strike, seconds (None at the trial end)."""
        if self.next_foot_strike_s is None or self.foot_strike_s is None:
            return None
        return self.next_foot_strike_s - self.foot_strike_s


def stances_from_events(
    events: GaitEvents | Iterable[Mapping[str, Any]], time_s: np.ndarray, *, max_stance_s: float = 2.0
) -> tuple[list[Stance], list[str]]:
    """Pair each foot strike with the same foot's next foot off: the stance phases.

    Parameters
    ----------
    events
        a :class:`GaitEvents` or ``{"side", "kind": "foot_strike" | "foot_off", "time_s"}``
        dicts, any order (others ignored).
    time_s
        ``(time,)`` sample times of the series the stances index into.
    max_stance_s
        a strike whose foot off comes later than this is not paired (the person stood still).

    Returns
    -------
    (stances, notes)
        the stance phases in time order, and one note per strike left unpaired and why: no foot
        off after it (end of the recording), another strike after it (a missed foot off), or a
        foot off more than ``max_stance_s`` later.
    """
    t = np.asarray(time_s, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise ValueError("Invalid value for the 'time_s' parameter: a non-empty (time,) array is needed.")
    raw = events.events if isinstance(events, GaitEvents) else events
    notes: list[str] = []

    def idx(ts: float) -> int:
        return int(np.clip(np.searchsorted(t, ts - 1e-9), 0, t.size - 1))

    by_side: dict[str, list[tuple[float, str]]] = {str(s): [] for s in _SIDES}
    for e in raw:
        if e.get("side") in _SIDES and e.get("kind") in _KINDS:
            by_side[e["side"]].append((float(e["time_s"]), str(e["kind"])))
    strikes: dict[str, list[float]] = {s: sorted(ts for ts, k in by_side[s] if k == "foot_strike") for s in _SIDES}
    out: list[Stance] = []
    for s in _SIDES:
        seq = sorted(by_side[s])
        other = "right" if s == "left" else "left"
        for i, (ts, kind) in enumerate(seq):
            if kind != "foot_strike":
                continue
            nxt = seq[i + 1] if i + 1 < len(seq) else None
            if nxt is None:
                notes.append(f"{s} foot strike at {ts:.3f} s: no foot off after it (end of the recording)")
                continue
            if nxt[1] != "foot_off":
                notes.append(f"{s} foot strike at {ts:.3f} s: followed by another strike, not a foot off")
                continue
            if nxt[0] - ts > max_stance_s:
                notes.append(f"{s} foot strike at {ts:.3f} s: foot off {nxt[0] - ts:.2f} s later, not a gait stance")
                continue
            later = [x for x in strikes[other] if x > ts]
            earlier = [x for x in strikes[other] if x < ts]
            own_later = [x for x in strikes[s] if x > nxt[0]]
            out.append(
                Stance(
                    side=s,
                    strike=idx(ts),
                    off=idx(nxt[0]),
                    next_other_strike=idx(later[0]) if later else None,
                    previous_other_strike=idx(earlier[-1]) if earlier else None,
                    foot_strike_s=ts,
                    foot_off_s=nxt[0],
                    next_foot_strike_s=own_later[0] if own_later else None,
                    contralateral_events=tuple(
                        {"side": other, "kind": k, "time_s": x} for x, k in sorted(by_side[other]) if ts < x < nxt[0]
                    ),
                )
            )
    out.sort(key=lambda p: p.strike)
    return out, notes


# ----------------------------------------------------------------------------- timing
def compute_step_times(events: GaitEvents | Iterable[Mapping[str, Any]]) -> np.ndarray:
    """Step times in seconds: from each foot strike to the next foot strike, when that is of the other foot.

    Parameters
    ----------
    events
        a :class:`GaitEvents` or event dicts.

    Returns
    -------
    numpy.ndarray
        ``(n,)``; two consecutive strikes of the same foot (the other foot's strike between them
        missed) are no step and are left out.
    """
    fs = [e for e in _event_list(events) if e["kind"] == "foot_strike" and e["side"] in _SIDES]
    out = [b["time_s"] - a["time_s"] for a, b in zip(fs[:-1], fs[1:], strict=True) if a["side"] != b["side"]]
    return np.asarray(out, dtype=float)


def compute_stride_times(events: GaitEvents | Iterable[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Stride times in seconds per foot: intervals between its consecutive foot strikes.

    Parameters
    ----------
    events
        a :class:`GaitEvents` or event dicts.

    Returns
    -------
    dict
        ``{"left": (n,), "right": (m,)}``.
    """
    evs = _event_list(events)
    out: dict[str, np.ndarray] = {}
    for s in _SIDES:
        fs = np.array([e["time_s"] for e in evs if e["kind"] == "foot_strike" and e["side"] == s])
        out[s] = np.diff(fs) if fs.size > 1 else np.zeros(0)
    return out


#: fewest steps a cadence is computed from
MIN_CADENCE_STEPS = 2


def compute_cadence(events: GaitEvents | Iterable[Mapping[str, Any]]) -> float:
    """Cadence in steps per minute: 60 / the median step time.

    The one cadence of medius (``cadence_steps_per_min`` in every gait result, video and lab;
    docs/gait-events.md, "Cadence"). The foot strikes of both feet are taken in time order; a
    step is the interval from one foot strike to the next, when that next strike is of the other
    foot (:func:`compute_step_times`). Two consecutive strikes of the same foot (the other foot's
    strike between them missed, or a trial edge) are a stride, not a step, and are left out. The
    median makes the value robust to a step cut short or lengthened by a late detection.

    Parameters
    ----------
    events
        a :class:`GaitEvents` or event dicts (``side``, ``kind``, ``time_s``); only foot strikes
        of the left and right foot count.

    Returns
    -------
    float
        steps per minute.

    Raises
    ------
    NotJudgeableError
        fewer than :data:`MIN_CADENCE_STEPS` steps (consecutive foot strikes of opposite feet).
    """
    steps = compute_step_times(events)
    if steps.size < MIN_CADENCE_STEPS or not np.all(steps > 0):
        raise NotJudgeableError(
            f"cannot compute the cadence: it needs at least {MIN_CADENCE_STEPS} steps (consecutive foot strikes "
            f"of opposite feet), got {steps.size}"
        )
    return float(60.0 / np.median(steps))
