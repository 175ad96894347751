"""2D angles and distances of the frontal-view single-leg squat, frame by frame.

All functions are pure numpy. Points are arrays whose last axis is ``(x, y)`` in pixels in the
image frame of the displayed video: ``x`` to the right, ``y`` **down** (``docs/conventions.md``).
The usual shape is ``(time, 2)`` and the result is ``(time,)``; any shapes that broadcast work.
A result is NaN wherever an input point is NaN or the geometry is degenerate (two points that
coincide, a side that cannot be told). Angles are in degrees.

``left``/``right`` are the person's anatomical sides. Every sign is defined relative to the
person (medial = towards the other hip, stance side = the stance hip's side of the pelvis), so
each value is the same whether the person faces the camera or turns their back to it, and the
same after mirroring the image and swapping the side labels.

Summary of signs (positive means):

===========================  ==================================================================
``compute_fppa``             knee medial to the hip-ankle line (dynamic valgus)
``compute_pelvic_tilt``      free (lifted-leg) hip lower than the stance hip
``compute_trunk_lean``       shoulders displaced towards the stance leg's side
``compute_hip_adduction``    knee towards the midline, relative to the pelvis
``compute_depth_pct``        mid-hip lower than when standing
``compute_knee_medial_...``  knee medial of the foot centre
===========================  ==================================================================
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from medius.io import Keypoints2D
from medius.kinematics._validation import ParameterError, check_option, check_points, check_real

__all__ = [
    "ALL_SERIES_KEYS",
    "SIDE_SERIES_KEYS",
    "compute_all_series",
    "compute_depth_pct",
    "compute_fppa",
    "compute_hip_adduction",
    "compute_knee_medial_displacement_pct",
    "compute_pelvic_tilt",
    "compute_segment_length",
    "compute_side_series",
    "compute_trunk_lean",
    "relative_to_baseline",
]

#: keys of :func:`compute_side_series`, each a ``(time,)`` array
SIDE_SERIES_KEYS: tuple[str, ...] = (
    "fppa_deg",  #: FPPA of the stance leg
    "fppa_free_deg",  #: FPPA of the free (lifted) leg, for display
    "pelvic_tilt_deg",  #: pelvic tilt, positive = free hip lower
    "trunk_lean_deg",  #: trunk lean, positive = towards the stance side
    "hip_adduction_deg",  #: hip adduction of the stance leg
    "mid_hip_y_px",  #: image y of the mid-hip (larger = lower)
)

#: keys of :func:`compute_all_series`, each a ``(time,)`` array
ALL_SERIES_KEYS: tuple[str, ...] = (
    "fppa_deg_left",
    "fppa_deg_right",
    "hip_adduction_deg_left",
    "hip_adduction_deg_right",
)

_SIDES = ("left", "right")


# ----------------------------------------------------------------------------- helpers
def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z of the 2D cross product (image frame, so positive = clockwise on screen)."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]


def _is_zero(v: np.ndarray) -> np.ndarray:
    return (v[..., 0] == 0) & (v[..., 1] == 0)


def _points(**named: object) -> list[np.ndarray]:
    arrays = [check_points(name, value) for name, value in named.items()]
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(named, arrays, strict=True))
        raise ParameterError(f"point arrays must have matching shapes, got {shapes}") from None


def _nan_where(values: np.ndarray, bad: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float)
    out[np.asarray(bad, dtype=bool)] = np.nan
    return out


# ----------------------------------------------------------------------------- primitives
def compute_segment_length(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between two points, frame by frame.

    Parameters
    ----------
    a, b
        ``(time, 2)`` image points in px.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` Euclidean distance in px; NaN where either point is NaN.
    """
    pa, pb = _points(a=a, b=b)
    d = pb - pa
    return np.hypot(d[..., 0], d[..., 1])


def compute_fppa(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, other_hip: np.ndarray) -> np.ndarray:
    """Knee frontal-plane projection angle (FPPA) of one leg.

    Parameters
    ----------
    hip, knee, ankle
        ``(time, 2)`` image points of the leg that is measured, in px.
    other_hip
        ``(time, 2)`` image point of the other hip; it tells which image side is medial.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` FPPA in degrees: positive = valgus, negative = varus, 0 = straight leg.

    Notes
    -----
    ``fppa_deg`` = 180° minus the angle at the knee between the knee->hip and knee->ankle rays,
    i.e. the angle between the thigh direction (hip->knee) and the shank direction
    (knee->ankle). It is **positive when the knee lies medial to the hip-ankle line** (dynamic
    knee valgus) and negative when it lies lateral (varus) [1]_ [2]_. Medial is the side of the
    hip-ankle line on which ``other_hip`` lies, so the sign does not depend on whether the
    person faces the camera or has their back to it, nor on any image rotation. NaN where a
    segment has zero length or ``other_hip`` lies on the hip-ankle line.

    The 2D FPPA is a projection: it mixes hip adduction, hip internal rotation and knee
    abduction and is not a pure knee-valgus angle.

    References
    ----------
    .. [1] Willson JD, Davis IS. Utility of the frontal plane projection angle in females with
       patellofemoral pain. J Orthop Sports Phys Ther 2008;38(10):606-615.
    .. [2] Munro A, Herrington L, Carolan M. Reliability of 2-dimensional video assessment of
       frontal-plane dynamic knee valgus during common athletic screening tasks. J Sport Rehabil
       2012;21(1):7-11.
    """
    h, k, a, o = _points(hip=hip, knee=knee, ankle=ankle, other_hip=other_hip)
    thigh = k - h
    shank = a - k
    line = a - h
    to_other = o - h
    side_other = _cross(line, to_other)
    # the other hip on the hip-ankle line (up to rounding): the medial side cannot be told
    on_line = np.abs(side_other) <= 1e-9 * np.hypot(*np.moveaxis(line, -1, 0)) * np.hypot(
        *np.moveaxis(to_other, -1, 0)
    )
    medial = np.where(on_line, 0.0, np.sign(side_other))
    # cross(line, thigh) = cross(shank, thigh): its sign says on which side of the line the knee is
    fppa = np.degrees(np.arctan2(_cross(shank, thigh) * medial, _dot(thigh, shank)))
    return _nan_where(fppa, _is_zero(thigh) | _is_zero(shank) | (medial == 0))


def compute_pelvic_tilt(stance_hip: np.ndarray, free_hip: np.ndarray) -> np.ndarray:
    """Frontal-plane tilt of the pelvis line against the image horizontal.

    Parameters
    ----------
    stance_hip
        ``(time, 2)`` image point of the hip of the stance (weight-bearing) leg, in px.
    free_hip
        ``(time, 2)`` image point of the hip of the free (lifted) leg, in px.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` angle in degrees in [-90, 90]; **positive when the free hip is lower** in
        the image (larger ``y``) than the stance hip, whichever image side it is on.

    Notes
    -----
    ``pelvic_tilt_deg = atan2(y_free - y_stance, |x_free - x_stance|)``. The contralateral
    pelvic drop of a rep is this tilt minus its value while standing
    (:func:`relative_to_baseline`), taken in the events/protocol layer. The image horizontal
    stands for the true horizontal only when the phone is held level. NaN where the hips
    coincide.
    """
    s, f = _points(stance_hip=stance_hip, free_hip=free_hip)
    d = f - s
    tilt = np.degrees(np.arctan2(d[..., 1], np.abs(d[..., 0])))
    return _nan_where(tilt, _is_zero(d))


def compute_trunk_lean(
    stance_hip: np.ndarray,
    free_hip: np.ndarray,
    stance_shoulder: np.ndarray,
    free_shoulder: np.ndarray,
) -> np.ndarray:
    """Lateral trunk lean: the mid-hip -> mid-shoulder line against the image vertical.

    Parameters
    ----------
    stance_hip, free_hip
        ``(time, 2)`` image points of the stance-leg and free-leg hips, in px.
    stance_shoulder, free_shoulder
        ``(time, 2)`` image points of the shoulders on the stance and free sides, in px.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` angle in degrees in (-180, 180]; 0 = trunk upright; **positive when the
        shoulders are displaced towards the stance leg's side**, i.e. the image side on which
        the stance hip lies relative to the free hip (the "Trendelenburg" compensation that
        moves the trunk over the stance leg).

    Notes
    -----
    With ``w = mid_shoulder - mid_hip`` and ``s = sign(x_stance_hip - x_free_hip)``,
    ``trunk_lean_deg = atan2(s * w_x, -w_y)`` (image ``y`` points down, so up is ``-y``).
    NaN where the two hips have the same ``x`` (the stance side cannot be told) or the
    mid-points coincide.
    """
    sh, fh, ss, fs = _points(
        stance_hip=stance_hip,
        free_hip=free_hip,
        stance_shoulder=stance_shoulder,
        free_shoulder=free_shoulder,
    )
    w = 0.5 * (ss + fs) - 0.5 * (sh + fh)
    side = np.sign(sh[..., 0] - fh[..., 0])
    lean = np.degrees(np.arctan2(side * w[..., 0], -w[..., 1]))
    return _nan_where(lean, (side == 0) | _is_zero(w))


def compute_hip_adduction(hip: np.ndarray, knee: np.ndarray, other_hip: np.ndarray) -> np.ndarray:
    """Frontal-plane hip adduction: the thigh against the pelvis perpendicular.

    Parameters
    ----------
    hip, knee
        ``(time, 2)`` image points of the measured leg, in px.
    other_hip
        ``(time, 2)`` image point of the other hip, in px.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` angle in degrees in (-180, 180]; 0 = thigh perpendicular to the pelvis
        line; **positive when the knee is towards the midline** (adduction), negative when it
        is away from it (abduction).

    Notes
    -----
    With the pelvis line ``p = other_hip - hip`` and ``n`` the perpendicular to ``p`` that
    points inferiorly (downward in the image, ``n_y > 0``),
    ``hip_adduction_deg = atan2(thigh . p, thigh . n)`` with ``thigh = knee - hip``. The
    angle is measured relative to the pelvis, so a pelvic drop with the thigh kept vertical
    reads as adduction of the stance hip, as in a 3D model. NaN where the pelvis line is
    vertical in the image (``n`` undefined) or the thigh has zero length.
    """
    h, k, o = _points(hip=hip, knee=knee, other_hip=other_hip)
    p = o - h
    down = np.sign(p[..., 0])  # choose the perpendicular with a positive image y
    n = np.stack([-p[..., 1] * down, p[..., 0] * down], axis=-1)
    thigh = k - h
    add = np.degrees(np.arctan2(_dot(thigh, p), _dot(thigh, n)))
    return _nan_where(add, (down == 0) | _is_zero(thigh))


def compute_depth_pct(
    mid_hip_y: np.ndarray, baseline_mid_hip_y: float | np.ndarray, standing_leg_length_px: float
) -> np.ndarray:
    """Squat depth: descent of the mid-hip below standing, in % of the standing leg length.

    Parameters
    ----------
    mid_hip_y
        ``(time,)`` image ``y`` of the mid-hip (mean of the two hips), in px.
    baseline_mid_hip_y
        Mid-hip ``y`` while standing, in px (a number, or an array that broadcasts).
    standing_leg_length_px
        Hip-to-ankle length of the stance leg while standing, in px; finite and > 0.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` ``100 * (mid_hip_y - baseline_mid_hip_y) / standing_leg_length_px``;
        **positive = lower than standing** (image ``y`` points down).

    Raises
    ------
    medius.kinematics.ParameterError
        If ``standing_leg_length_px`` is not a finite number > 0.
    """
    length = check_real("standing_leg_length_px", standing_leg_length_px, low=0.0, low_inclusive=False)
    y = np.asarray(mid_hip_y, dtype=float)
    return 100.0 * (y - np.asarray(baseline_mid_hip_y, dtype=float)) / length


def compute_knee_medial_displacement_pct(
    knee: np.ndarray,
    ankle: np.ndarray,
    toe: np.ndarray,
    hip: np.ndarray,
    other_hip: np.ndarray,
    shank_length_px: float,
) -> np.ndarray:
    """Horizontal displacement of the knee medial of the foot centre, in % of the shank length.

    Parameters
    ----------
    knee, ankle, toe
        ``(time, 2)`` image points of the measured leg, in px. Where ``toe`` is NaN the foot
        centre is the ankle alone.
    hip, other_hip
        ``(time, 2)`` image points of the measured leg's hip and the other hip; they tell which
        image direction is medial (from ``hip`` towards ``other_hip``).
    shank_length_px
        Knee-to-ankle length of the leg while standing, in px; finite and > 0.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` ``100 * s * (x_knee - x_foot) / shank_length_px`` with
        ``x_foot = (x_ankle + x_toe) / 2`` and ``s = sign(x_other_hip - x_hip)``;
        **positive = knee medial of the foot**. NaN where the hips have the same ``x``.

    Raises
    ------
    medius.kinematics.ParameterError
        If ``shank_length_px`` is not a finite number > 0.
    """
    length = check_real("shank_length_px", shank_length_px, low=0.0, low_inclusive=False)
    k, a, t, h, o = _points(knee=knee, ankle=ankle, toe=toe, hip=hip, other_hip=other_hip)
    toe_ok = np.all(np.isfinite(t), axis=-1)
    foot_x = np.where(toe_ok, 0.5 * (a[..., 0] + t[..., 0]), a[..., 0])
    side = np.sign(o[..., 0] - h[..., 0])
    disp = 100.0 * side * (k[..., 0] - foot_x) / length
    return _nan_where(disp, side == 0)


def relative_to_baseline(series: np.ndarray, baseline: float | np.ndarray) -> np.ndarray:
    """A series minus its baseline value (for example pelvic drop = pelvic tilt minus standing tilt).

    Parameters
    ----------
    series
        ``(time,)`` values.
    baseline
        Either the baseline value itself (a number), or a boolean mask of the same shape as
        ``series`` that selects the baseline samples (for example the standing frames); the
        baseline is then the median of the finite selected values.

    Returns
    -------
    numpy.ndarray
        ``series - baseline``; all NaN when the mask selects no finite value.

    Raises
    ------
    medius.kinematics.ParameterError
        If a mask does not have the shape of ``series``.
    """
    x = np.asarray(series, dtype=float)
    b = np.asarray(baseline)
    if b.dtype == bool:
        if b.shape != x.shape:
            raise ParameterError(
                f"Invalid value for the 'baseline' parameter. Allowed values are a number or a "
                f"boolean mask of shape {x.shape}, but got a mask of shape {b.shape} instead."
            )
        sel = x[b]
        sel = sel[np.isfinite(sel)]
        value = float(np.median(sel)) if sel.size else np.nan
        return x - value
    return x - b.astype(float)


# ----------------------------------------------------------------------------- from keypoints
def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def compute_side_series(kp: Keypoints2D, stance_side: Literal["left", "right"]) -> dict[str, np.ndarray]:
    """The per-frame series of a single-leg task on one stance leg.

    Parameters
    ----------
    kp
        The (cleaned) keypoints; needs both hips, knees, ankles and shoulders.
    stance_side
        The person's weight-bearing leg, ``"left"`` or ``"right"`` (anatomical).

    Returns
    -------
    dict of str to numpy.ndarray
        ``(time,)`` arrays under :data:`SIDE_SERIES_KEYS`: ``fppa_deg`` (stance leg,
        :func:`compute_fppa`), ``fppa_free_deg`` (free leg, for display), ``pelvic_tilt_deg``
        (:func:`compute_pelvic_tilt`, positive = free hip lower), ``trunk_lean_deg``
        (:func:`compute_trunk_lean`, positive = towards the stance side),
        ``hip_adduction_deg`` (stance leg, :func:`compute_hip_adduction`) and
        ``mid_hip_y_px`` (image ``y`` of the mid-hip, larger = lower).

    Raises
    ------
    medius.kinematics.ParameterError
        If ``stance_side`` is not ``"left"`` or ``"right"``.
    """
    st = check_option("stance_side", stance_side, _SIDES)
    fr = _other(st)

    def xy(name: str) -> np.ndarray:
        return np.array(kp.xy(name), dtype=float)

    s_hip, f_hip = xy(f"{st}_hip"), xy(f"{fr}_hip")
    return {
        "fppa_deg": compute_fppa(s_hip, xy(f"{st}_knee"), xy(f"{st}_ankle"), f_hip),
        "fppa_free_deg": compute_fppa(f_hip, xy(f"{fr}_knee"), xy(f"{fr}_ankle"), s_hip),
        "pelvic_tilt_deg": compute_pelvic_tilt(s_hip, f_hip),
        "trunk_lean_deg": compute_trunk_lean(s_hip, f_hip, xy(f"{st}_shoulder"), xy(f"{fr}_shoulder")),
        "hip_adduction_deg": compute_hip_adduction(s_hip, xy(f"{st}_knee"), f_hip),
        "mid_hip_y_px": 0.5 * (s_hip[:, 1] + f_hip[:, 1]),
    }


def compute_all_series(kp: Keypoints2D) -> dict[str, np.ndarray]:
    """FPPA and hip adduction of both legs, frame by frame (no stance leg needed).

    Parameters
    ----------
    kp
        The (cleaned) keypoints; needs both hips, knees and ankles.

    Returns
    -------
    dict of str to numpy.ndarray
        ``(time,)`` arrays under :data:`ALL_SERIES_KEYS`: ``fppa_deg_left``,
        ``fppa_deg_right``, ``hip_adduction_deg_left``, ``hip_adduction_deg_right``.
    """
    out: dict[str, np.ndarray] = {}
    for side in _SIDES:
        hip, knee, other = kp.xy(f"{side}_hip"), kp.xy(f"{side}_knee"), kp.xy(f"{_other(side)}_hip")
        out[f"fppa_deg_{side}"] = compute_fppa(hip, knee, kp.xy(f"{side}_ankle"), other)
    for side in _SIDES:
        hip, knee, other = kp.xy(f"{side}_hip"), kp.xy(f"{side}_knee"), kp.xy(f"{_other(side)}_hip")
        out[f"hip_adduction_deg_{side}"] = compute_hip_adduction(hip, knee, other)
    return out
