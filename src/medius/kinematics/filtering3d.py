"""Clean-up of 3D marker trajectories: gap filling and a zero-lag low-pass filter.

The algorithms are those of :mod:`medius.kinematics.filtering` (Akima cubic gap filling with a
gap length measured on ``time_s``; Butterworth ``sosfiltfilt`` with Winter's cut-off
correction, run by run, never across a gap), applied to :class:`~medius.io.markers.Markers3D`
by running the 2D implementation on a packed copy: each marker becomes two 2D tracks,
``(x, y)`` and ``(z, z)``, which share its missing frames. The numbers are therefore exactly
those of the 2D path; only the log is rewritten per marker.

Defaults differ from video: lab markers are sampled at 100-200 Hz with sub-millimetre noise,
so gaps are filled up to 0.1 s (10 frames at 100 Hz, the usual limit for cubic filling of
marker gaps) and the filter is 6 Hz, the common choice for gait kinematics (Winter 2009).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from medius.errors import NotJudgeableError
from medius.io import Keypoints2D
from medius.io.markers import Markers3D
from medius.kinematics._validation import check_int, check_option, check_real
from medius.kinematics.filtering import interpolate_gaps, lowpass_filter

__all__ = ["fill_gaps", "lowpass_filter_3d"]

_COUNT_KEYS_GAPS = (
    "n_gaps_filled",
    "n_points_filled",
    "n_gaps_left",
    "n_points_left",
    "n_points_left_at_edges",
)
_COUNT_KEYS_FILTER = ("n_runs_filtered", "n_runs_resampled", "n_runs_too_short", "n_points_unfiltered")


def _pack(markers: Markers3D) -> Keypoints2D:
    """Each marker -> two 2D tracks ``(x, y)`` and ``(z, z)`` with the same missing frames."""
    t, m = markers.n_frames, markers.n_markers
    pos = np.empty((t, 2 * m, 2))
    pos[:, 0::2, :] = markers.position[:, :, 0:2]
    pos[:, 1::2, 0] = markers.position[:, :, 2]
    pos[:, 1::2, 1] = markers.position[:, :, 2]
    names = tuple(f"{lab}\x00{part}" for lab in markers.labels for part in ("xy", "z"))
    return Keypoints2D(
        position=pos,
        confidence=np.full((t, 2 * m), np.nan),
        time_s=markers.time_s,
        image_size=(0, 0),
        keypoint_names=names,
        source=markers.source,
    )


def _unpack(kp: Keypoints2D, markers: Markers3D) -> np.ndarray:
    pos = np.empty_like(markers.position)
    pos[:, :, 0:2] = kp.position[:, 0::2, :]
    pos[:, :, 2] = kp.position[:, 1::2, 0]
    return pos


def _per_marker_log(entry: dict[str, Any], count_keys: tuple[str, ...], by_key: str | None) -> dict[str, Any]:
    """The 2D log entry, with counts halved (each marker was two tracks) and marker names."""
    out = {
        k: v for k, v in entry.items() if k not in ("operation", "datetime", "confidence_of_filled_points")
    }
    for k in count_keys:
        if k in out:
            out[k] = int(out[k]) // 2
    if by_key is not None and by_key in out:
        out[by_key.replace("keypoint", "marker")] = {
            name.split("\x00")[0]: int(v) for name, v in out.pop(by_key).items() if name.endswith("\x00xy")
        }
    return out


def fill_gaps(
    markers: Markers3D,
    *,
    max_gap_s: float = 0.1,
    method: Literal["cubic", "linear"] = "cubic",
) -> Markers3D:
    """Fill short runs of missing marker positions by interpolation over time.

    Parameters
    ----------
    markers
        The trajectories; a marker is missing where its coordinates are NaN.
    max_gap_s
        Longest gap filled, in seconds, measured as the time between the two valid samples
        that bound it (one missing frame at 100 Hz is a 0.02 s gap; 0.1 s fills up to 9
        missing frames at 100 Hz). 0 fills nothing.
    method
        ``"cubic"``: Akima's piecewise cubic through the valid samples of the marker (local,
        does not flatten a peak inside the gap); ``"linear"``: straight lines. See
        :func:`medius.kinematics.filtering.interpolate_gaps`.

    Returns
    -------
    Markers3D
        A copy with the short interior gaps filled (longer gaps and leading/trailing missing
        frames stay NaN: nothing is extrapolated) and one log entry ``fill_gaps`` with
        ``method``, ``max_gap_s``, ``n_gaps_filled``, ``n_points_filled``, ``n_gaps_left``,
        ``n_points_left``, ``n_points_left_at_edges`` and ``filled_by_marker``.

    Raises
    ------
    medius.kinematics.ParameterError
        If ``max_gap_s`` is negative or not finite, or ``method`` is unknown.
    """
    gap = check_real("max_gap_s", max_gap_s, low=0.0)
    meth = cast(Literal["cubic", "linear"], check_option("method", method, ("cubic", "linear")))
    kp = interpolate_gaps(_pack(markers), max_gap_s=gap, method=meth)
    entry = _per_marker_log(kp.log[-1], _COUNT_KEYS_GAPS, "filled_by_keypoint")
    return markers.replace(position=_unpack(kp, markers)).with_log("fill_gaps", **entry)


def lowpass_filter_3d(markers: Markers3D, *, cutoff_hz: float = 6.0, order: int = 4) -> Markers3D:
    """Zero-lag Butterworth low-pass filter of every marker trajectory.

    Parameters
    ----------
    markers
        The trajectories. Each contiguous run of valid samples of each marker is filtered on
        its own (never across a gap); a run not longer than the filter's padding (15 samples
        for order 4) is left unfiltered and counted.
    cutoff_hz
        -3 dB frequency of the whole forward-backward filter, in Hz (Winter's correction
        raises the single-pass design cut-off; both are logged). Must be below half the
        sampling rate.
    order
        Order of the single-pass Butterworth design (1 to 10); the zero-lag filter is of
        twice this order.

    Returns
    -------
    Markers3D
        A copy with filtered positions and one log entry ``lowpass_filter_3d`` (the
        parameters and counts of :func:`medius.kinematics.filtering.lowpass_filter`).

    Raises
    ------
    medius.kinematics.ParameterError
        If ``cutoff_hz`` is not a positive number or ``order`` not an integer in 1..10.
    medius.errors.NotJudgeableError
        If the sampling rate is too low for ``cutoff_hz``.
    """
    fc = check_real("cutoff_hz", cutoff_hz, low=0.0, low_inclusive=False)
    n_order = check_int("order", order, low=1, high=10)
    if markers.n_frames >= 2:
        fs = float(1.0 / np.median(np.diff(markers.time_s)))
        if fc >= fs / 2.0:
            msg = (
                f"sampling rate {fs:.1f} Hz is too low for a {fc:g} Hz low-pass filter: 'cutoff_hz' "
                f"must be below half the sampling rate ({fs / 2:.1f} Hz), got {fc:g}; record at "
                f"≥ {max(50, math.ceil(4 * fc))} Hz or lower the cut-off"
            )
            src = Path(markers.source)
            raise NotJudgeableError(msg, path=src if src.is_file() else None)
    kp = lowpass_filter(_pack(markers), cutoff_hz=fc, order=n_order)
    entry = _per_marker_log(kp.log[-1], _COUNT_KEYS_FILTER, None)
    return markers.replace(position=_unpack(kp, markers)).with_log("lowpass_filter_3d", **entry)
