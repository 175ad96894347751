"""Lab (3D marker) kinematics of the pelvis and hip: ISB frames, Harrington hip centres, Cardan angles.

Everything is in metres in the lab frame of the trial and in degrees; ``left``/``right`` are
the person's sides; NaN in, NaN out. The conventions, the sign table and the comparison with
Vicon Plug-in Gait are in ``docs/lab-kinematics.md``.

**Lab frame.** A C3D or TRC keeps its own axes (Vicon: usually Z up; OpenSim: Y up; the
walking direction is any horizontal axis). :func:`compute_lab_axes` finds, or is told, which
lab axis is *up* and which direction is *forward*, and builds the ISB-style reference frame
``X`` forward, ``Y`` up, ``Z = X x Y`` to the person's right (:class:`LabAxes`). Pelvic angles
are measured against it (as Plug-in Gait measures them against its "progression frame").

**Segment frames** (Wu et al. 2002, ISB): pelvis origin mid-ASIS, ``Z`` from the left to the
right ASIS, ``X`` anterior in the plane of the ASIS and the mid-PSIS (or sacrum), ``Y`` up;
femur origin the hip centre, ``Y`` from the knee centre to the hip centre, ``Z`` to the right
in the plane of the hip centre, knee centre and lateral epicondyle, ``X`` anterior. Both sides
use ``Z`` to the right, and the signs of the left side are mirrored so that every angle has
the same clinical meaning on both sides.

**Angles**: Cardan sequence Z-X-Y (Grood & Suntay; Wu et al. 2002): flexion about ``Z``, then
adduction about the floating ``X``, then internal rotation about ``Y``. Positive: hip flexion,
hip adduction (knee towards the midline), hip internal rotation, anterior pelvic tilt, pelvic
obliquity *up* on that side, pelvic rotation *forward* on that side (the side named in the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from medius.errors import InvalidInputError
from medius.io import KEYPOINTS, Keypoints2D
from medius.io.markers import Markers3D
from medius.kinematics._validation import ParameterError, check_option, check_real
from medius.kinematics.markersets import EVENT_ROLES, MarkerSet, load_marker_set

__all__ = [
    "AXIS_NAMES",
    "HARRINGTON_2007",
    "LAB_SERIES_KEYS",
    "LabAngles",
    "LabAxes",
    "compute_cardan_zxy",
    "compute_femur_frame",
    "compute_hip_angles",
    "compute_hip_joint_centres",
    "compute_joint_centre_chord",
    "compute_lab_angles",
    "compute_lab_axes",
    "compute_pelvic_drop_3d",
    "compute_pelvis_angles",
    "compute_pelvis_frame",
    "measure_joint_offsets",
    "project_frontal",
]

#: lab axis names accepted by :func:`compute_lab_axes` (besides ``"auto"``)
AXIS_NAMES: tuple[str, ...] = ("+x", "-x", "+y", "-y", "+z", "-z")

#: Harrington et al. (2007) hip-centre regressions, in mm, in the ISB pelvis frame (origin
#: mid-ASIS); PW = inter-ASIS distance, PD = mid-ASIS to mid-PSIS distance, LL = leg length.
#: ``z`` is for the right hip (the left one is mirrored, ``-z``).
HARRINGTON_2007: Mapping[str, Mapping[str, tuple[float, ...]]] = {
    # single-variable equations (no leg length): x(PD), y(PW), z(PW)
    "pw_pd": {"x": (-0.24, 0.0, 0.0, -9.9), "y": (0.0, -0.30, 0.0, -10.9), "z": (0.0, 0.33, 0.0, 7.3)},
    # with leg length: coefficients of (PD, PW, LL) and the constant
    "pw_pd_ll": {"x": (-0.24, 0.0, 0.0, -9.9), "y": (0.0, -0.16, -0.04, -7.1), "z": (0.28, 0.16, 0.0, 7.9)},
}

#: keys of :attr:`LabAngles.series`, each a ``(time,)`` array in degrees
LAB_SERIES_KEYS: tuple[str, ...] = (
    "pelvic_tilt_deg",  #: anterior tilt positive (the same for both sides)
    "pelvic_obliquity_deg_left",  #: left side of the pelvis up positive
    "pelvic_obliquity_deg_right",  #: right side up positive (= -left)
    "pelvic_rotation_deg_left",  #: left side forward positive
    "pelvic_rotation_deg_right",  #: right side forward positive (= -left)
    "hip_flexion_deg_left",
    "hip_flexion_deg_right",
    "hip_adduction_deg_left",  #: knee towards the midline positive
    "hip_adduction_deg_right",
    "hip_rotation_deg_left",  #: internal rotation positive
    "hip_rotation_deg_right",
)

_SIDES: tuple[Literal["left", "right"], ...] = ("left", "right")
_AXIS_INDEX = {"x": 0, "y": 1, "z": 2}


# ----------------------------------------------------------------------------- helpers
def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1e-12, v / np.where(n > 0, n, 1.0), np.nan)


def _perp(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Component of ``v`` perpendicular to the unit vector ``axis``."""
    return v - np.sum(v * axis, axis=-1, keepdims=True) * axis


def _frame(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` with the axes as columns."""
    return np.stack([x, y, z], axis=-1)


def _side(side: str) -> str:
    return check_option("side", side, _SIDES)


def _per_side(name: str, value: float | Mapping[str, float] | None) -> dict[str, float | None]:
    if value is None:
        return {"left": None, "right": None}
    if isinstance(value, Mapping):
        bad = [k for k in value if k not in _SIDES]
        if bad:
            raise ParameterError(
                f"Invalid value for the {name!r} parameter. Allowed keys are 'left' and 'right', "
                f"but got {bad!r} instead."
            )
        return {
            s: (None if value.get(s) is None else check_real(name, value[s], low=0.0, low_inclusive=False))
            for s in _SIDES
        }
    v = check_real(name, value, low=0.0, low_inclusive=False)
    return {"left": v, "right": v}


def _nanmedian_rows(a: np.ndarray) -> np.ndarray:
    ok = np.isfinite(a).all(axis=-1)
    return np.median(a[ok], axis=0) if ok.any() else np.full(a.shape[-1], np.nan)


# ----------------------------------------------------------------------------- lab frame
@dataclass(frozen=True)
class LabAxes:
    """The person-oriented reference frame of a trial, in lab coordinates.

    Attributes
    ----------
    forward
        ``(3,)`` unit vector: the direction of progression (walking) or the way the pelvis
        faces; the ISB lab ``X``.
    up
        ``(3,)`` unit vector, the ISB lab ``Y``.
    forward_from
        how ``forward`` was chosen (argument, walking direction, pelvis facing).
    up_from
        how ``up`` was chosen.
    """

    forward: np.ndarray
    up: np.ndarray
    forward_from: str = "argument"
    up_from: str = "argument"

    def __post_init__(self) -> None:
        f = _unit(np.asarray(self.forward, dtype=float))
        u = _unit(np.asarray(self.up, dtype=float))
        if not (np.isfinite(f).all() and np.isfinite(u).all()) or abs(float(f @ u)) > 1e-6:
            raise ValueError("LabAxes: forward and up must be non-zero, perpendicular 3-vectors")
        object.__setattr__(self, "forward", f)
        object.__setattr__(self, "up", u)

    @property
    def right(self) -> np.ndarray:
        """``(3,)`` unit vector to the person's right, ``forward x up`` (the ISB lab ``Z``)."""
        return np.cross(self.forward, self.up)

    @property
    def matrix(self) -> np.ndarray:
        """``(3, 3)`` with columns ``forward, up, right`` (ISB ``X, Y, Z``) in lab coordinates."""
        return _frame(self.forward, self.up, self.right)


def _axis_vector(name: str) -> np.ndarray:
    v = np.zeros(3)
    v[_AXIS_INDEX[name[1]]] = 1.0 if name[0] == "+" else -1.0
    return v


def _axis_label(v: np.ndarray) -> str:
    i = int(np.argmax(np.abs(v)))
    return ("+" if v[i] > 0 else "-") + "xyz"[i]


def compute_lab_axes(
    markers: Markers3D,
    marker_set: MarkerSet,
    *,
    forward_axis: str = "auto",
    up_axis: str = "auto",
    min_walk_m: float = 0.5,
) -> LabAxes:
    """Find (or set) which lab direction is up and which is forward for this trial.

    Parameters
    ----------
    markers
        the trial.
    marker_set
        a marker set resolved against ``markers`` (:meth:`MarkerSet.resolve`).
    forward_axis
        ``"auto"`` or one of :data:`AXIS_NAMES` (``"+y"`` for a Vicon lab whose walkway runs
        along +Y). Auto: if the mid-ASIS travels at least ``min_walk_m`` horizontally between
        its first and last valid frames, the walking direction snapped to the nearest
        horizontal lab axis (as Plug-in Gait's progression frame); otherwise the median
        direction the pelvis faces (mid-PSIS to mid-ASIS, horizontal, **not** snapped, so a
        person standing at an angle to the lab axes gets an aligned frame).
    up_axis
        ``"auto"`` or one of :data:`AXIS_NAMES` (``"+z"`` for Vicon, ``"+y"`` for OpenSim).
        Auto: the lab axis closest to the median direction from the mid-ankle (lateral
        malleoli) to the mid-ASIS.
    min_walk_m
        horizontal travel, in metres, above which the trial counts as walking.

    Returns
    -------
    LabAxes
        with ``forward_from``/``up_from`` saying how each was chosen.

    Raises
    ------
    medius.kinematics.ParameterError
        an axis name not in :data:`AXIS_NAMES` (or ``"auto"``), or forward parallel to up.
    InvalidInputError
        auto-detection impossible (pelvis or ankles never present together).
    """
    fwd_name = check_option("forward_axis", forward_axis, ("auto", *AXIS_NAMES))
    up_name = check_option("up_axis", up_axis, ("auto", *AXIS_NAMES))
    walk = check_real("min_walk_m", min_walk_m, low=0.0)
    where = Path(markers.source) if Path(markers.source).is_file() else None
    mid_asis = 0.5 * (marker_set.xyz(markers, "left_asis") + marker_set.xyz(markers, "right_asis"))

    if up_name == "auto":
        ankles = 0.5 * (
            marker_set.xyz(markers, "left_ankle_lateral") + marker_set.xyz(markers, "right_ankle_lateral")
        )
        d = _nanmedian_rows(mid_asis - ankles)
        if not np.isfinite(d).all():
            raise InvalidInputError(
                "cannot find the vertical: the pelvis and ankle markers are never present together; "
                "pass up_axis",
                path=where,
            )
        up = _axis_vector(_axis_label(d))
        up_from = f"auto: lab axis closest to ankles -> pelvis ({_axis_label(d)})"
    else:
        up = _axis_vector(up_name)
        up_from = f"argument ({up_name})"

    if fwd_name != "auto":
        forward = _axis_vector(fwd_name)
        if abs(float(forward @ up)) > 0.5:
            raise ParameterError(
                f"Invalid value for the 'forward_axis' parameter. Allowed values are the lab axes "
                f"perpendicular to up ({_axis_label(up)}), but got {fwd_name!r} instead."
            )
        return LabAxes(forward, up, f"argument ({fwd_name})", up_from)

    ok = np.isfinite(mid_asis).all(axis=-1)
    if ok.sum() >= 2:
        travel = mid_asis[ok][-1] - mid_asis[ok][0]
        horizontal = _perp(travel, up)
        dist = float(np.linalg.norm(horizontal))
        if dist >= walk:
            label = _axis_label(horizontal)
            return LabAxes(
                _axis_vector(label), up, f"auto: walking direction ({label}, {dist:.2f} m)", up_from
            )
    posterior = _posterior(markers, marker_set)
    facing = _nanmedian_rows(_perp(_unit(mid_asis - posterior), up))
    facing = _perp(facing, up)
    if not np.isfinite(facing).all() or np.linalg.norm(facing) < 1e-6:
        raise InvalidInputError(
            "cannot find the forward direction: the pelvis markers are never present; pass forward_axis",
            path=where,
        )
    facing = facing / np.linalg.norm(facing)
    return LabAxes(
        facing, up, f"auto: pelvis facing direction ({np.round(facing, 3).tolist()}, not snapped)", up_from
    )


# ----------------------------------------------------------------------------- pelvis
def _posterior(markers: Markers3D, marker_set: MarkerSet) -> np.ndarray:
    if marker_set.has("left_psis") and marker_set.has("right_psis"):
        return 0.5 * (marker_set.xyz(markers, "left_psis") + marker_set.xyz(markers, "right_psis"))
    return marker_set.xyz(markers, "sacrum")


def compute_pelvis_frame(
    left_asis: np.ndarray, right_asis: np.ndarray, posterior: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ISB pelvis frame (Wu et al. 2002) from the ASIS and the mid-PSIS (or sacrum).

    Parameters
    ----------
    left_asis, right_asis
        ``(..., 3)`` positions.
    posterior
        ``(..., 3)`` the midpoint of the two PSIS markers, or the sacrum marker.

    Returns
    -------
    origin
        ``(..., 3)`` the mid-ASIS.
    axes
        ``(..., 3, 3)`` with columns ``X`` (anterior, in the plane of the ASIS and
        ``posterior``, perpendicular to ``Z``), ``Y = Z x X`` (superior) and ``Z`` (left ASIS
        -> right ASIS), in lab coordinates; NaN where a point is missing or degenerate.
    """
    la, ra, post = (np.asarray(a, dtype=float) for a in (left_asis, right_asis, posterior))
    origin = 0.5 * (la + ra)
    z = _unit(ra - la)
    x = _unit(_perp(origin - post, z))
    y = np.cross(z, x)
    return origin, _frame(x, y, z)


def compute_hip_joint_centres(
    left_asis: np.ndarray,
    right_asis: np.ndarray,
    posterior: np.ndarray,
    *,
    leg_length_m: float | Mapping[str, float] | None = None,
    pelvic_width_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Hip joint centres by the Harrington et al. (2007) regression.

    In the ISB pelvis frame (origin mid-ASIS, ``X`` anterior, ``Y`` up, ``Z`` right), with
    the pelvic width PW (inter-ASIS distance) and depth PD (mid-ASIS to mid-PSIS distance) in
    millimetres [1]_::

        x = -0.24 PD - 9.9            (mm)
        y = -0.30 PW - 10.9
        z = ±(0.33 PW + 7.3)          (+ right, - left)

    and, when the leg length LL (ASIS to medial malleolus, mm) is given, the full equations
    ``y = -0.16 PW - 0.04 LL - 7.1``, ``z = ±(0.28 PD + 0.16 PW + 7.9)``.

    Parameters
    ----------
    left_asis, right_asis, posterior
        ``(time, 3)`` positions in metres (``posterior``: mid-PSIS or sacrum).
    leg_length_m
        leg length in metres, one value or ``{"left": .., "right": ..}``; None uses the
        single-variable equations.
    pelvic_width_m
        the subject's inter-ASIS distance measured on the body (Vicon's ``InterAsisDistance``),
        used as PW instead of the ASIS marker distance, as Plug-in Gait does when it is given;
        None: the marker distance.

    Returns
    -------
    left, right
        ``(time, 3)`` hip centres in the lab frame, metres.
    info
        ``pelvic_width_m`` and ``pelvic_depth_m`` (medians over the trial: the pelvis is
        rigid, so the centres are fixed in the pelvis frame), ``local_left_m``/
        ``local_right_m`` (the centres in the pelvis frame), ``equations``.

    Notes
    -----
    PD is measured to the sacrum marker when there are no PSIS markers, a slightly different
    point from the mid-PSIS of the paper.

    References
    ----------
    .. [1] Harrington ME, Zavatsky AB, Lawson SEM, Yuan Z, Theologis TN. Prediction of the hip
       joint centre in adults, children, and patients with cerebral palsy based on magnetic
       resonance imaging. J Biomech 2007;40(3):595-602. doi:10.1016/j.jbiomech.2006.02.003
    """
    la, ra, post = (np.asarray(a, dtype=float) for a in (left_asis, right_asis, posterior))
    origin, axes = compute_pelvis_frame(la, ra, post)
    pw_t = np.linalg.norm(ra - la, axis=-1)
    pd_t = np.linalg.norm(origin - post, axis=-1)
    ok = np.isfinite(pw_t) & np.isfinite(pd_t)
    pw = float(np.median(pw_t[ok])) * 1000.0 if ok.any() else np.nan
    pd = float(np.median(pd_t[ok])) * 1000.0 if ok.any() else np.nan
    pw_markers = pw
    if pelvic_width_m is not None:
        pw = check_real("pelvic_width_m", pelvic_width_m, low=0.05, high=0.6) * 1000.0
    ll = _per_side("leg_length_m", leg_length_m)
    local: dict[str, np.ndarray] = {}
    used = set()
    for side, sign in (("left", -1.0), ("right", 1.0)):
        leg = ll[side]
        if leg is None:
            eq = HARRINGTON_2007["pw_pd"]
            ll_mm = 0.0
            used.add("PW, PD (single-variable)")
        else:
            eq = HARRINGTON_2007["pw_pd_ll"]
            ll_mm = leg * 1000.0
            used.add("PW, PD, LL")
        vals = [c[0] * pd + c[1] * pw + c[2] * ll_mm + c[3] for c in (eq["x"], eq["y"], eq["z"])]
        local[side] = np.array([vals[0], vals[1], sign * vals[2]]) / 1000.0
    left = origin + np.einsum("...ij,j->...i", axes, local["left"])
    right = origin + np.einsum("...ij,j->...i", axes, local["right"])
    info = {
        "method": "Harrington et al. 2007 (J Biomech 40:595-602)",
        "equations": sorted(used),
        "pelvic_width_m": pw / 1000.0,
        "pelvic_width_from": "ASIS marker distance" if pelvic_width_m is None else "subject's inter-ASIS distance",
        "asis_marker_distance_m": pw_markers / 1000.0,
        "pelvic_depth_m": pd / 1000.0,
        "local_left_m": local["left"].tolist(),
        "local_right_m": local["right"].tolist(),
    }
    return left, right, info


# ----------------------------------------------------------------------------- knee / ankle
def compute_joint_centre_chord(
    proximal: np.ndarray, lateral: np.ndarray, wand: np.ndarray, offset_m: float
) -> np.ndarray:
    """Joint centre from a lateral marker, a wand marker and an offset (Plug-in Gait's chord).

    The centre ``J`` lies in the plane of ``proximal``, ``lateral`` and ``wand``, at
    ``offset_m`` from ``lateral``, on the side away from the wand, with the angle
    ``proximal - J - lateral`` a right angle (``J`` on the circle of diameter
    ``proximal``-``lateral``). Knee: proximal = hip centre, lateral = lateral epicondyle
    (KNE), wand = thigh marker (THI), offset = (knee width + marker diameter) / 2. Ankle:
    proximal = knee centre, lateral = lateral malleolus (ANK), wand = shank marker (TIB).

    Parameters
    ----------
    proximal, lateral, wand
        ``(..., 3)`` positions in metres.
    offset_m
        distance from the lateral marker to the joint centre, metres (half the
        lateral-to-medial marker distance; :func:`measure_joint_offsets` measures it on a
        static trial with medial markers).

    Returns
    -------
    numpy.ndarray
        ``(..., 3)`` joint centres; NaN where a point is missing, the wand lies on the
        proximal-lateral line, or the offset exceeds the proximal-lateral distance.
    """
    d = check_real("offset_m", offset_m, low=0.0, low_inclusive=False)
    p, k, w = (np.asarray(a, dtype=float) for a in (proximal, lateral, wand))
    length = np.linalg.norm(p - k, axis=-1, keepdims=True)
    u = _unit(p - k)
    v = -_unit(_perp(w - k, u))  # in the plane, perpendicular to u, away from the wand
    with np.errstate(invalid="ignore"):
        cos_t = np.where(length > d, d / np.where(length > 0, length, 1.0), np.nan)
        sin_t = np.sqrt(1.0 - cos_t**2)
    return k + d * (cos_t * u + sin_t * v)


def measure_joint_offsets(static: Markers3D, marker_set: MarkerSet) -> dict[str, float]:
    """Half the lateral-to-medial marker distances of a static trial: the chord offsets.

    Parameters
    ----------
    static
        a static trial with medial knee and/or ankle markers.
    marker_set
        a marker set mapping the medial roles (resolved against ``static``).

    Returns
    -------
    dict
        ``left_knee``, ``right_knee``, ``left_ankle``, ``right_ankle`` -> metres (median over
        the frames), for the joints whose medial marker the set maps; pass them as
        ``knee_offset_m={"left": .., "right": ..}`` to :func:`compute_lab_angles`.
    """
    out = {}
    for side in _SIDES:
        for joint in ("knee", "ankle"):
            lat, med = f"{side}_{joint}_lateral", f"{side}_{joint}_medial"
            if marker_set.has(lat) and marker_set.has(med):
                dist = np.linalg.norm(marker_set.xyz(static, lat) - marker_set.xyz(static, med), axis=-1)
                ok = np.isfinite(dist)
                if ok.any():
                    out[f"{side}_{joint}"] = float(np.median(dist[ok])) / 2.0
    return out


def compute_femur_frame(
    hip_centre: np.ndarray, knee_centre: np.ndarray, knee_lateral: np.ndarray, side: Literal["left", "right"]
) -> np.ndarray:
    """ISB femur frame (Wu et al. 2002) from the hip centre, knee centre and lateral epicondyle.

    ``Y`` from the knee centre to the hip centre; ``Z`` perpendicular to ``Y`` in the plane of
    the hip centre, the knee centre and the lateral epicondyle (the plane of ISB's origin and
    two epicondyles, since the knee centre lies on the epicondyle line), pointing to the
    **right** on both sides (laterally on the right leg, medially on the left); ``X = Y x Z``
    anterior.

    Parameters
    ----------
    hip_centre, knee_centre, knee_lateral
        ``(..., 3)`` positions.
    side
        ``"left"`` or ``"right"``: which femur (sets the sign of ``Z``).

    Returns
    -------
    numpy.ndarray
        ``(..., 3, 3)``, columns ``X, Y, Z`` in lab coordinates.
    """
    s = _side(side)
    h, k, lat = (np.asarray(a, dtype=float) for a in (hip_centre, knee_centre, knee_lateral))
    y = _unit(h - k)
    z = _unit(_perp(lat - k, y))
    if s == "left":
        z = -z
    x = np.cross(y, z)
    return _frame(x, y, z)


# ----------------------------------------------------------------------------- angles
def compute_cardan_zxy(parent_axes: np.ndarray, child_axes: np.ndarray) -> np.ndarray:
    """Cardan angles Z-X-Y of a child frame relative to its parent, in degrees.

    ``R = parent^T child = Rz(a) Rx(b) Ry(c)``: ``a`` about the parent's ``Z``, ``b`` about
    the floating ``X``, ``c`` about the child's ``Y`` (the ISB joint coordinate system
    sequence for the hip; Wu et al. 2002). ``b`` is in [-90, 90].

    Parameters
    ----------
    parent_axes, child_axes
        ``(..., 3, 3)`` frames with the axes as columns, in the same (lab) coordinates.

    Returns
    -------
    numpy.ndarray
        ``(..., 3)``: ``a, b, c`` in degrees, right-handed rotations (no side mirroring).
    """
    r = np.swapaxes(np.asarray(parent_axes, float), -1, -2) @ np.asarray(child_axes, float)
    b = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    a = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    c = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    return np.degrees(np.stack([a, b, c], axis=-1))


def compute_pelvis_angles(pelvis_axes: np.ndarray, lab_axes: LabAxes) -> dict[str, np.ndarray]:
    """Pelvic tilt, obliquity and rotation against the lab frame (Cardan Z-X-Y).

    Parameters
    ----------
    pelvis_axes
        ``(time, 3, 3)`` from :func:`compute_pelvis_frame`.
    lab_axes
        the trial's :class:`LabAxes`.

    Returns
    -------
    dict
        ``pelvic_tilt_deg`` (anterior tilt positive), ``pelvic_obliquity_deg_left`` (left
        side up positive; Plug-in Gait ``LPelvisAngles`` Y), ``pelvic_obliquity_deg_right``
        (right side up positive), ``pelvic_rotation_deg_left`` (left side forward positive)
        and ``pelvic_rotation_deg_right``, each ``(time,)``.
    """
    lab = np.broadcast_to(lab_axes.matrix, np.shape(pelvis_axes))
    a, b, c = np.moveaxis(compute_cardan_zxy(lab, pelvis_axes), -1, 0)
    return {
        "pelvic_tilt_deg": -a,
        "pelvic_obliquity_deg_left": b,
        "pelvic_obliquity_deg_right": -b,
        "pelvic_rotation_deg_left": -c,
        "pelvic_rotation_deg_right": c,
    }


def compute_hip_angles(
    pelvis_axes: np.ndarray, femur_axes: np.ndarray, side: Literal["left", "right"]
) -> dict[str, np.ndarray]:
    """Hip flexion, adduction and internal rotation (Cardan Z-X-Y of the femur in the pelvis).

    Parameters
    ----------
    pelvis_axes
        ``(time, 3, 3)`` ISB pelvis frame.
    femur_axes
        ``(time, 3, 3)`` ISB femur frame of ``side`` (:func:`compute_femur_frame`).
    side
        ``"left"`` or ``"right"``.

    Returns
    -------
    dict
        ``hip_flexion_deg``, ``hip_adduction_deg`` (knee towards the midline positive, on
        both sides) and ``hip_rotation_deg`` (internal rotation positive), each ``(time,)``.
        Right side: the Cardan angles as they are; left side: adduction and rotation negated
        (the mirror image), since both frames keep ``Z`` to the right.
    """
    s = _side(side)
    a, b, c = np.moveaxis(compute_cardan_zxy(pelvis_axes, femur_axes), -1, 0)
    sign = 1.0 if s == "right" else -1.0
    return {"hip_flexion_deg": a, "hip_adduction_deg": sign * b, "hip_rotation_deg": sign * c}


def compute_pelvic_drop_3d(
    pelvic_obliquity_deg_left: np.ndarray,
    stance_side: Literal["left", "right"],
    baseline_deg: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Pelvic obliquity seen from the stance leg: positive when the free side is lower.

    The lab counterpart of :func:`medius.kinematics.angles2d.compute_pelvic_tilt` (free hip
    lower positive): standing on the left, the free (right) side is lower when the left side
    is up, i.e. ``pelvic_obliquity_deg_left``; standing on the right, ``-left``. With a
    standing baseline it is the pelvic drop (``pelvic_drop_deg`` of the 2D path).

    Parameters
    ----------
    pelvic_obliquity_deg_left
        ``(time,)`` left obliquity, left side up positive (:func:`compute_pelvis_angles`).
    stance_side
        ``"left"`` or ``"right"``: the weight-bearing leg.
    baseline_deg
        value subtracted (the stance-side obliquity while standing); 0 gives the obliquity
        against the lab horizontal.

    Returns
    -------
    numpy.ndarray
        ``(time,)`` degrees, positive = the free side has dropped.
    """
    s = check_option("stance_side", stance_side, _SIDES)
    ob = np.asarray(pelvic_obliquity_deg_left, dtype=float)
    return (ob if s == "left" else -ob) - np.asarray(baseline_deg, dtype=float)


# ----------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class LabAngles:
    """Pelvis and hip angles of a lab trial, with the joint centres they were computed from.

    Attributes
    ----------
    time_s
        ``(time,)`` seconds (as the trial).
    series
        :data:`LAB_SERIES_KEYS` -> ``(time,)`` degrees.
    joint_centres
        3D keypoints in metres in the lab frame, named as :data:`medius.io.KEYPOINTS`:
        ``left_hip``/``right_hip`` (Harrington hip centres), ``left_knee``/``right_knee``
        (knee centres), ``left_ankle``/``right_ankle`` (ankle centres), heels, toes and, when
        the marker set has them, shoulders; plus ``pelvis_origin`` (mid-ASIS).
    frames
        ``pelvis``, ``left_femur``, ``right_femur`` -> ``(time, 3, 3)`` (axes as columns).
    axes
        the :class:`LabAxes` the pelvis angles refer to.
    events
        the trial's gait events.
    info
        model parameters and choices (hip-centre regression, PW, PD, knee- and ankle-centre
        method per side, marker set, dropped roles).
    """

    time_s: np.ndarray
    series: Mapping[str, np.ndarray]
    joint_centres: Markers3D
    frames: Mapping[str, np.ndarray]
    axes: LabAxes
    events: tuple[dict[str, Any], ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)


def _centre(
    joint: str,
    side: str,
    trial: Markers3D,
    ms: MarkerSet,
    proximal: np.ndarray,
    offset: float | None,
    wand_role: str,
    method: str,
) -> tuple[np.ndarray, str]:
    lat_role, med_role = f"{side}_{joint}_lateral", f"{side}_{joint}_medial"
    lat = ms.xyz(trial, lat_role)
    if method in ("auto", "medial") and ms.has(med_role):
        return 0.5 * (
            lat + ms.xyz(trial, med_role)
        ), f"midpoint of {ms.label(lat_role)} and {ms.label(med_role)}"
    if method in ("auto", "chord") and offset is not None and ms.has(wand_role):
        c = compute_joint_centre_chord(proximal, lat, ms.xyz(trial, wand_role), offset)
        return c, (
            f"chord: {offset * 1000:.1f} mm from {ms.label(lat_role)} in the plane of the "
            f"{'hip' if joint == 'knee' else 'knee'} centre and {ms.label(wand_role)}"
        )
    where = Path(trial.source) if Path(trial.source).is_file() else None
    if joint == "ankle" and method == "auto":
        return lat, f"lateral malleolus {ms.label(lat_role)} (no medial marker, no offset)"
    need = {
        "medial": f"a medial {joint} marker ({med_role})",
        "chord": f"{joint}_offset_m and the {wand_role} marker",
        "auto": f"a medial {joint} marker ({med_role}) or {joint}_offset_m with the {wand_role} marker",
    }[method]
    raise InvalidInputError(
        f"cannot build the {side} {joint} centre ({joint}_centre={method!r}): it needs {need}; "
        f"reconstruct medial markers from a static trial with calibrate_clusters, or measure the "
        f"offsets with measure_joint_offsets",
        path=where,
    )


def compute_lab_angles(
    markers: Markers3D,
    marker_set: MarkerSet | str | Path = "plug-in-gait",
    *,
    forward_axis: str = "auto",
    up_axis: str = "auto",
    leg_length_m: float | Mapping[str, float] | None = None,
    knee_centre: Literal["auto", "medial", "chord"] = "auto",
    knee_offset_m: float | Mapping[str, float] | None = None,
    ankle_centre: Literal["auto", "medial", "chord"] = "auto",
    ankle_offset_m: float | Mapping[str, float] | None = None,
    pelvic_width_m: float | None = None,
) -> LabAngles:
    """Pelvis and hip angles of a lab marker trial (ISB frames, Harrington hip centres).

    Parameters
    ----------
    markers
        the trial (metres, lab frame); filter it first if wanted
        (:func:`~medius.kinematics.filtering3d.fill_gaps`,
        :func:`~medius.kinematics.filtering3d.lowpass_filter_3d`).
    marker_set
        a :class:`MarkerSet`, a built-in name (``"plug-in-gait"``) or a marker-set YAML path.
    forward_axis, up_axis
        the lab directions, see :func:`compute_lab_axes` (``"auto"`` detects them).
    leg_length_m
        leg length for the full Harrington equations (one value or per side); None uses the
        single-variable ones (PW, PD).
    pelvic_width_m
        the subject's measured inter-ASIS distance for the Harrington PW (see
        :func:`compute_hip_joint_centres`); None: the ASIS marker distance.
    knee_centre
        ``"medial"``: midpoint of the lateral and medial epicondyle markers; ``"chord"``:
        :func:`compute_joint_centre_chord` with the thigh marker and ``knee_offset_m``;
        ``"auto"``: medial where the set has the medial marker, else chord.
    knee_offset_m
        lateral-marker-to-knee-centre distance in metres (one value or per side), for the
        chord: (knee width + marker diameter) / 2.
    ankle_centre, ankle_offset_m
        the same for the ankle (shank marker TIB); with ``"auto"`` and neither a medial marker
        nor an offset, the lateral malleolus stands for the ankle centre (it is only used by
        :func:`project_frontal`).

    Returns
    -------
    LabAngles

    Raises
    ------
    InvalidInputError
        the marker set names a marker the trial lacks (:meth:`MarkerSet.resolve`), or a knee
        centre cannot be built.
    medius.kinematics.ParameterError
        a parameter out of range.
    """
    k_method = check_option("knee_centre", knee_centre, ("auto", "medial", "chord"))
    a_method = check_option("ankle_centre", ankle_centre, ("auto", "medial", "chord"))
    k_off = _per_side("knee_offset_m", knee_offset_m)
    a_off = _per_side("ankle_offset_m", ankle_offset_m)
    ms = marker_set if isinstance(marker_set, MarkerSet) else load_marker_set(marker_set)
    ms = ms.resolve(markers, optional=EVENT_ROLES)  # heels and toes: only the events and foot points use them
    axes = compute_lab_axes(markers, ms, forward_axis=forward_axis, up_axis=up_axis)

    la, ra = ms.xyz(markers, "left_asis"), ms.xyz(markers, "right_asis")
    post = _posterior(markers, ms)
    origin, pelvis = compute_pelvis_frame(la, ra, post)
    hjc_l, hjc_r, hjc_info = compute_hip_joint_centres(
        la, ra, post, leg_length_m=leg_length_m, pelvic_width_m=pelvic_width_m
    )
    hjc = {"left": hjc_l, "right": hjc_r}

    series: dict[str, np.ndarray] = dict(compute_pelvis_angles(pelvis, axes))
    frames = {"pelvis": pelvis}
    points: dict[str, np.ndarray] = {"pelvis_origin": origin}
    methods: dict[str, str] = {}
    for side in _SIDES:
        kjc, methods[f"{side}_knee"] = _centre(
            "knee", side, markers, ms, hjc[side], k_off[side], f"{side}_thigh", k_method
        )
        ajc, methods[f"{side}_ankle"] = _centre(
            "ankle", side, markers, ms, kjc, a_off[side], f"{side}_tibia", a_method
        )
        femur = compute_femur_frame(hjc[side], kjc, ms.xyz(markers, f"{side}_knee_lateral"), side)
        frames[f"{side}_femur"] = femur
        for key, val in compute_hip_angles(pelvis, femur, side).items():
            series[f"{key}_{side}"] = val
        points[f"{side}_hip"] = hjc[side]
        points[f"{side}_knee"] = kjc
        points[f"{side}_ankle"] = ajc
        for part in ("heel", "toe"):
            role = f"{side}_{part}"
            points[role] = ms.xyz(markers, role) if ms.has(role) else np.full((markers.n_frames, 3), np.nan)
        if ms.has(f"{side}_shoulder"):
            points[f"{side}_shoulder"] = ms.xyz(markers, f"{side}_shoulder")
    series = {k: np.asarray(series[k], dtype=float) for k in LAB_SERIES_KEYS}
    labels = tuple(points)
    centres = Markers3D(
        position=np.stack([points[k] for k in labels], axis=1),
        labels=labels,
        time_s=markers.time_s,
        rate_hz=markers.rate_hz,
        events=markers.events,
        source=markers.source,
        log=markers.log,
    ).with_log("compute_lab_angles", hip_centre=hjc_info["method"], **methods)
    info = {
        "marker_set": ms.name,
        "marker_set_source": ms.source,
        "dropped_roles": dict(ms.dropped),
        "pelvis_posterior": "mid-PSIS" if ms.has("left_psis") and ms.has("right_psis") else "sacrum",
        "hip_centre": hjc_info,
        "centres": methods,
        "forward": axes.forward.tolist(),
        "forward_from": axes.forward_from,
        "up": axes.up.tolist(),
        "up_from": axes.up_from,
        "cardan_sequence": "Z-X-Y (flexion/tilt, adduction/obliquity, rotation)",
    }
    return LabAngles(
        time_s=markers.time_s,
        series=series,
        joint_centres=centres,
        frames=frames,
        axes=axes,
        events=markers.events,
        info=info,
    )


# ----------------------------------------------------------------------------- projection
def project_frontal(
    points: Markers3D, axes: LabAxes, *, px_per_m: float = 1000.0, margin_px: float = 100.0
) -> Keypoints2D:
    """Project 3D keypoints onto the frontal plane, as a camera behind the person would see them.

    The image ``x`` is the lab ``right`` coordinate (the person's right on the image right,
    as seen from behind) and the image ``y`` is minus the ``up`` coordinate (down), at
    ``px_per_m`` pixels per metre (1 px = 1 mm by default), shifted so that every point lies
    at least ``margin_px`` inside the image. The result is a :class:`~medius.io.Keypoints2D`
    that the 2D functions of :mod:`medius.kinematics.angles2d` accept unchanged (their signs
    are person-relative, so a view from behind gives the same values as one from the front):
    lab and video can be compared by the same code.

    Parameters
    ----------
    points
        3D keypoints named as :data:`medius.io.KEYPOINTS` (e.g. ``LabAngles.joint_centres``);
        other labels are ignored, absent keypoints are NaN.
    axes
        the trial's :class:`LabAxes`.
    px_per_m
        image scale.
    margin_px
        border around the projected points.

    Returns
    -------
    Keypoints2D
        positions in px, confidence 1 where present (NaN where missing), ``source``
        ``"lab-frontal-projection"``, one log entry ``project_frontal``.
    """
    scale = check_real("px_per_m", px_per_m, low=0.0, low_inclusive=False)
    margin = check_real("margin_px", margin_px, low=0.0)
    n_t = points.n_frames
    pos = np.full((n_t, len(KEYPOINTS), 2), np.nan)
    used = []
    for k, name in enumerate(KEYPOINTS):
        if points.has(name):
            p = points.xyz(name)
            pos[:, k, 0] = p @ axes.right * scale
            pos[:, k, 1] = -(p @ axes.up) * scale
            used.append(name)
    ok = np.isfinite(pos).all(axis=-1)
    if ok.any():
        lo = pos[ok].min(axis=0)
        hi = pos[ok].max(axis=0)
        pos -= lo - margin
        size = (int(np.ceil(hi[0] - lo[0] + 2 * margin)), int(np.ceil(hi[1] - lo[1] + 2 * margin)))
    else:
        size = (int(2 * margin) or 1, int(2 * margin) or 1)
    conf = np.where(ok, 1.0, np.nan)
    kp = Keypoints2D(
        position=pos,
        confidence=conf,
        time_s=points.time_s,
        image_size=size,
        source="lab-frontal-projection",
    )
    return kp.with_log(
        "project_frontal",
        view="from behind (image x = person's right, image y = down)",
        px_per_m=scale,
        keypoints=used,
        right=axes.right.tolist(),
        up=axes.up.tolist(),
        source=points.source,
    )
