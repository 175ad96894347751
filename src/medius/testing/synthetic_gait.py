"""Synthetic walking and running with known answers, as lab markers and as video keypoints.

One kinematic model of a person walking or running (overground or on a treadmill) is sampled
two ways:

* as **Plug-in Gait markers** (:func:`make_gait_trial`, :func:`make_static_trial`): a
  :class:`~medius.io.markers.Markers3D` with gait events, ready for
  :func:`~medius.io.markers.write_c3d` and :func:`~medius.kinematics.angles3d.compute_lab_angles`;
* as **2D keypoints of a phone video** filmed from behind or in front
  (:func:`render_gait_video_keypoints`): a pinhole camera at a set distance, height and focal
  length, evaluated at the video frame times.

Every answer is known by construction (:class:`GaitTruth`), never by running the analysis code:

* **pelvic obliquity** follows a smooth raised-cosine bump in each stance whose peak is the set
  contralateral pelvic drop, on an exact sample; **hip adduction** (ISB Cardan Z-X-Y of the femur
  in the pelvis, positive towards the midline on both sides) likewise; hip rotation, pelvic tilt
  and rotation are set curves; **lateral trunk lean** (mid-hip-centre -> mid-shoulder against the
  lab vertical in the lab frontal plane) peaks at the set value towards the stance side;
* **events** fall on exact samples (the stride is rounded to a whole, even number of samples, so
  cadence and duty factor are reported as generated); the stance foot rolls without slipping:
  the heel marker rests on the floor from foot strike to heel rise (heel rocker, foot flat), the
  toe marker from foot flat to heel rise, and the foot then rolls over the toe tip (a point on the
  floor) until foot off (overground: fixed in the lab; treadmill: moving backward at belt
  speed). The heel's forward
  position relative to the mid-PSIS peaks exactly at foot strike and the toe's backward position
  at foot off (Zeni et al. 2008): the swing foot reaches foot strike moving forward slightly faster
  than the pelvis and leaves at foot off as fast as the pelvis, so the marker velocity steps at the
  events (an impact), as foot-velocity methods expect;
* **hip flexion is solved**, not set: for the set adduction and pelvis pose the femur is flexed so
  that the knee centre lies at shank length from the ankle centre of the planted (or swinging)
  foot; the knee is a ball joint whose flexion follows. So the set angles, the events and the foot
  contact all hold exactly: there is no foot slip to trade off. The pelvis height is the highest
  that keeps every knee flexed at least ``min_knee_flexion`` degrees.

The conventions are those of :mod:`medius.kinematics.angles3d` (``docs/lab-kinematics.md``) and
of the 2D metrics (``docs/conventions.md``); the model and the projection errors are documented
in ``docs/synthetic-gait.md``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from medius.errors import OutputError
from medius.io import KEYPOINTS, Keypoints2D, write_openpose_json, write_trc
from medius.io._metadata import INPUT_METADATA_FILE as SYNTHETIC_MARKER
from medius.io.markers import Markers3D, write_c3d
from medius.kinematics._validation import ParameterError, check_int, check_option, check_real
from medius.kinematics.angles3d import AXIS_NAMES, HARRINGTON_2007, LabAxes
from medius.kinematics.markersets import MarkerSet, load_marker_set

__all__ = [
    "DEMO_HIP_ADDUCTION_DEG",
    "DEMO_PELVIC_DROP_DEG",
    "MEDIAL_MARKERS",
    "Anthropometry",
    "CameraSpec",
    "GaitSpec",
    "GaitTruth",
    "GaitVideoTruth",
    "compute_gait_marker_set",
    "make_gait_trial",
    "make_static_trial",
    "render_gait_video_keypoints",
    "write_gait_c3d",
    "write_gait_keypoints",
    "write_gait_marker",
]

_SIDES: tuple[Literal["left", "right"], ...] = ("left", "right")
_SIGN = {"left": -1.0, "right": 1.0}  # lateral direction of each side along the ISB lab Z (right)

#: medial knee and ankle marker labels written when asked for (``medial_markers=True`` and every
#: static trial); :func:`compute_gait_marker_set` maps them onto the medial roles
MEDIAL_MARKERS: Mapping[str, str] = {
    "left_knee_medial": "LKNM",
    "right_knee_medial": "RKNM",
    "left_ankle_medial": "LMED",
    "right_ankle_medial": "RMED",
}

#: the left-right difference ``medius synth --task walk|run`` builds in (degrees per stance leg),
#: so that a swapped side shows in its known answers
DEMO_PELVIC_DROP_DEG: Mapping[str, float] = {"left": 4.0, "right": 8.0}
DEMO_HIP_ADDUCTION_DEG: Mapping[str, float] = {"left": 6.0, "right": 10.0}

#: task defaults: (rate_hz, cadence, stance fraction, speed, pelvic drop, hip adduction, trunk lean)
_TASK_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "walk": {
        "rate_hz": 100.0,
        "cadence_steps_per_min": 110.0,
        "stance_fraction": 0.62,
        "speed_m_s": 1.3,
        "step_width_m": 0.10,
        "pelvic_drop_deg": 5.0,
        "hip_adduction_deg": 8.0,
        "trunk_lean_deg": 2.0,
        "peak_stance_fraction": 0.30,
    },
    "run": {
        "rate_hz": 200.0,
        "cadence_steps_per_min": 170.0,
        "stance_fraction": 0.35,
        "speed_m_s": 3.3,
        "step_width_m": 0.06,
        "pelvic_drop_deg": 7.0,
        "hip_adduction_deg": 11.0,
        "trunk_lean_deg": 3.0,
        "peak_stance_fraction": 0.45,
    },
}

#: internal gait-pattern constants per task (degrees, metres, fractions of stance or stride):
#: foot pitch at foot strike (toe up) and foot off (heel up), foot flat and heel rise (stance
#: fractions), swing lift of the ankle, vertical ankle velocity leaving / reaching the floor,
#: lateral sway of the pelvis, pelvic tilt oscillation, pelvic
#: and thorax rotation, hip rotation, swing abduction, forward trunk lean, arm swing and elbow
#: flexion, where the heel lands ahead of the mid-ASIS, the least knee flexion, and the target
#: stance knee flexion (degrees at stance fractions) that shapes the pelvis's vertical motion.
_PATTERN: Mapping[str, Mapping[str, Any]] = {
    "walk": {
        "foot_pitch_strike_deg": 15.0,
        "foot_pitch_off_deg": -65.0,
        "foot_flat": 0.15,
        "heel_rise": 0.55,
        "swing_lift_m": 0.05,
        "lift_off_speed_m_s": 0.3,
        "touch_down_speed_m_s": 0.2,
        "knee_target_u": (0.0, 0.2, 0.5, 0.75, 1.0),
        "knee_target_deg": (5.0, 17.0, 5.0, 8.0, 38.0),
        "pelvis_sway_m": 0.02,
        "pelvic_tilt_amplitude_deg": 1.5,
        "pelvic_rotation_deg": 4.0,
        "thorax_rotation_deg": 3.0,
        "hip_rotation_deg": 3.0,
        "swing_abduction_deg": 4.0,
        "trunk_forward_deg": 3.0,
        "arm_swing_deg": 15.0,
        "elbow_flexion_deg": 20.0,
        "heel_ahead_m": 0.16,
        "min_knee_flexion_deg": 2.0,
    },
    "run": {
        "foot_pitch_strike_deg": 10.0,
        "foot_pitch_off_deg": -45.0,
        "foot_flat": 0.15,
        "heel_rise": 0.40,
        "swing_lift_m": 0.25,
        "lift_off_speed_m_s": 0.8,
        "touch_down_speed_m_s": 0.5,
        "knee_target_u": (0.0, 0.4, 1.0),
        "knee_target_deg": (15.0, 42.0, 20.0),
        "pelvis_sway_m": 0.01,
        "pelvic_tilt_amplitude_deg": 2.0,
        "pelvic_rotation_deg": 6.0,
        "thorax_rotation_deg": 5.0,
        "hip_rotation_deg": 4.0,
        "swing_abduction_deg": 6.0,
        "trunk_forward_deg": 8.0,
        "arm_swing_deg": 25.0,
        "elbow_flexion_deg": 90.0,
        "heel_ahead_m": 0.10,
        "min_knee_flexion_deg": 6.0,
    },
}

#: extra forward speed of the swing foot over the pelvis at foot strike (m/s): keeps the heel's
#: position relative to the pelvis strictly rising into foot strike (Zeni's peak on the sample)
_STRIKE_MARGIN_M_S = 0.05

_PIG_LABELS: tuple[str, ...] = (
    "LASI", "RASI", "LPSI", "RPSI",
    "LTHI", "LKNE", "LTIB", "LANK", "LHEE", "LTOE",
    "RTHI", "RKNE", "RTIB", "RANK", "RHEE", "RTOE",
    "C7", "T10", "CLAV", "STRN", "LSHO", "RSHO",
)  # fmt: skip


# ----------------------------------------------------------------------------- rotations
def _rx(b: np.ndarray) -> np.ndarray:
    c, s = np.cos(b), np.sin(b)
    o, i = np.zeros_like(b), np.ones_like(b)
    return np.stack([np.stack([i, o, o], -1), np.stack([o, c, -s], -1), np.stack([o, s, c], -1)], -2)


def _ry(g: np.ndarray) -> np.ndarray:
    c, s = np.cos(g), np.sin(g)
    o, i = np.zeros_like(g), np.ones_like(g)
    return np.stack([np.stack([c, o, s], -1), np.stack([o, i, o], -1), np.stack([-s, o, c], -1)], -2)


def _rz(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, i = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, o], -1), np.stack([s, c, o], -1), np.stack([o, o, i], -1)], -2)


def _apply(rot: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("...ij,...j->...i", rot, v)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _bump(u: np.ndarray, peak: float) -> np.ndarray:
    """0 -> 1 -> 0 over ``u`` in [0, 1], half-cosine up to 1 at ``peak``, half-cosine down; 0 outside."""
    u = np.asarray(u, dtype=float)
    out = np.zeros_like(u)
    rise = (u >= 0) & (u <= peak)
    fall = (u > peak) & (u <= 1)
    out[rise] = 0.5 * (1 - np.cos(np.pi * u[rise] / peak))
    out[fall] = 0.5 * (1 + np.cos(np.pi * (u[fall] - peak) / (1 - peak)))
    return out


def _smoothstep(s: np.ndarray) -> np.ndarray:
    return s * s * (3 - 2 * s)


def _hermite(
    s: np.ndarray, p0: np.ndarray, p1: np.ndarray, m0: np.ndarray | float, m1: np.ndarray | float
) -> np.ndarray:
    """Cubic Hermite on s in [0, 1] with end values ``p0, p1`` and end slopes ``m0, m1`` (per unit s)."""
    s2, s3 = s * s, s * s * s
    return (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * m0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * m1


# ----------------------------------------------------------------------------- specs
def _per_side(name: str, value: float | Mapping[str, float], low: float, high: float) -> dict[str, float]:
    if isinstance(value, Mapping):
        bad = [k for k in value if k not in _SIDES]
        if bad or set(value) != set(_SIDES):
            raise ParameterError(
                f"Invalid value for the {name!r} parameter. Allowed values are a number or a mapping "
                f"with the keys 'left' and 'right', but got {dict(value)!r} instead."
            )
        return {s: check_real(f"{name}[{s!r}]", value[s], low=low, high=high) for s in _SIDES}
    v = check_real(name, value, low=low, high=high)
    return {"left": v, "right": v}


@dataclass(frozen=True)
class Anthropometry:
    """Body dimensions of the synthetic person, in metres.

    Attributes
    ----------
    height_m
        standing height (head and arm proportions).
    pelvis_width_m
        inter-ASIS distance (Harrington PW).
    pelvis_depth_m
        mid-ASIS to mid-PSIS distance (Harrington PD).
    psis_separation_m
        distance between the two PSIS markers.
    thigh_length_m
        hip centre to knee centre.
    shank_length_m
        knee centre to ankle centre.
    knee_width_m, ankle_width_m
        epicondyle and malleolus widths; the lateral and medial markers sit half a width plus the
        marker radius from the joint centre (the Plug-in Gait chord offset).
    foot_length_m
        heel to toe tip; the heel marker sits 0.23 and the toe marker 0.52 foot lengths behind
        and ahead of the ankle centre.
    ankle_height_m
        ankle centre above the floor, foot flat.
    foot_marker_height_m
        heel and toe marker centres above the floor, foot flat.
    trunk_length_m
        mid-hip-centre to mid-shoulder.
    shoulder_width_m
        between the two shoulder points (acromion markers).
    marker_diameter_m
        marker size (sets the joint offsets).
    """

    height_m: float = 1.75
    pelvis_width_m: float = 0.24
    pelvis_depth_m: float = 0.16
    psis_separation_m: float = 0.09
    thigh_length_m: float = 0.43
    shank_length_m: float = 0.42
    knee_width_m: float = 0.10
    ankle_width_m: float = 0.07
    foot_length_m: float = 0.26
    ankle_height_m: float = 0.08
    foot_marker_height_m: float = 0.03
    trunk_length_m: float = 0.50
    shoulder_width_m: float = 0.38
    marker_diameter_m: float = 0.014

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            check_real(name, value, low=0.0, low_inclusive=False, high=3.0)
        if self.foot_marker_height_m >= self.ankle_height_m:
            raise ParameterError(
                "Invalid value for the 'foot_marker_height_m' parameter. Allowed values are below "
                f"ankle_height_m ({self.ankle_height_m:g}), but got {self.foot_marker_height_m!r} instead."
            )

    @property
    def knee_offset_m(self) -> float:
        """Lateral knee marker to knee centre: knee width / 2 + marker radius (the chord offset)."""
        return self.knee_width_m / 2 + self.marker_diameter_m / 2

    @property
    def ankle_offset_m(self) -> float:
        """Lateral malleolus marker to ankle centre: ankle width / 2 + marker radius."""
        return self.ankle_width_m / 2 + self.marker_diameter_m / 2


@dataclass(frozen=True)
class GaitSpec:
    """What to generate: task, timing, speed, the set peaks, the lab axes and marker artefacts.

    Every ``None`` takes the task's default (walk / run): ``rate_hz`` 100 / 200 Hz,
    ``cadence_steps_per_min`` 110 / 170, ``stance_fraction`` 0.62 / 0.35, ``speed_m_s`` 1.3 / 3.3,
    ``step_width_m`` 0.10 / 0.06, ``pelvic_drop_deg`` 5 / 7, ``hip_adduction_deg`` 8 / 11,
    ``trunk_lean_deg`` 2 / 3, ``peak_stance_fraction`` 0.30 / 0.45.

    Attributes
    ----------
    task
        ``"walk"`` (stance fraction above 0.5: double support) or ``"run"`` (below 0.5: flight).
    duration_s
        length of the trial (the last frame is at ``start_s + duration_s`` or just before).
    rate_hz
        marker sampling rate.
    cadence_steps_per_min
        steps per minute; the stride is rounded to an even number of samples, so the cadence
        generated (``GaitTruth.info``) may differ by up to one sample per step.
    stance_fraction
        duty factor, stance time / stride time (rounded to whole samples too).
    treadmill
        True: the pelvis stays in place and the stance foot moves backward at ``speed_m_s``;
        False: overground, the pelvis moves forward at ``speed_m_s`` and the stance foot is fixed.
    speed_m_s
        walking or running speed (> 0).
    step_width_m
        mediolateral distance between the two heel markers in stance.
    pelvic_drop_deg
        peak contralateral pelvic drop during each side's stance, one number or ``{"left": ..,
        "right": ..}``: ``{"right": 8}`` = standing on the right leg, the left side of the pelvis
        drops 8° at the peak (``pelvic_obliquity_deg_left`` reaches -8°). 0 to 30°.
    hip_adduction_deg
        peak hip adduction of the stance hip during its stance (ISB, towards the midline
        positive), per side or one number. 0 to 30°.
    trunk_lean_deg
        peak lateral trunk lean towards the stance side during its stance, per side or one
        number. 0 to 30°.
    peak_stance_fraction
        where in stance (0 = foot strike, 1 = foot off) the three peaks fall, rounded to a sample;
        for walking it must fall in single support.
    pelvic_tilt_deg
        mean anterior pelvic tilt.
    toe_out_deg
        foot progression angle (toe out).
    anthropometry
        body dimensions.
    forward_axis, up_axis
        lab axes of the file: the walking direction and up, as :data:`AXIS_NAMES` (e.g. Vicon
        ``"+y"``/``"+z"``); they must be perpendicular.
    first_strike_side
        the side whose foot strike comes first.
    first_strike_s
        time of that first foot strike after ``start_s`` (rounded to a sample).
    start_s
        time of the first frame.
    medial_markers
        also write medial knee and ankle markers (:data:`MEDIAL_MARKERS`) in the walking trial.
    noise_mm
        standard deviation of Gaussian noise added to every marker coordinate (not to the truth).
    seed
        random seed of the noise.
    gaps
        ``(marker, start_s, length_s)`` triples: the marker is missing (NaN) from ``start_s``
        for ``length_s`` seconds.
    """

    task: Literal["walk", "run"] = "walk"
    duration_s: float = 6.0
    rate_hz: float | None = None
    cadence_steps_per_min: float | None = None
    stance_fraction: float | None = None
    treadmill: bool = False
    speed_m_s: float | None = None
    step_width_m: float | None = None
    pelvic_drop_deg: float | Mapping[str, float] | None = None
    hip_adduction_deg: float | Mapping[str, float] | None = None
    trunk_lean_deg: float | Mapping[str, float] | None = None
    peak_stance_fraction: float | None = None
    pelvic_tilt_deg: float = 10.0
    toe_out_deg: float = 6.0
    anthropometry: Anthropometry = field(default_factory=Anthropometry)
    forward_axis: str = "+x"
    up_axis: str = "+z"
    first_strike_side: Literal["left", "right"] = "right"
    first_strike_s: float = 0.2
    start_s: float = 0.0
    medial_markers: bool = False
    noise_mm: float = 0.0
    seed: int = 0
    gaps: tuple[tuple[str, float, float], ...] = ()

    def __post_init__(self) -> None:
        task = check_option("task", self.task, ("walk", "run"))
        d = _TASK_DEFAULTS[task]

        def default(name: str) -> Any:
            value = getattr(self, name)
            return d[name] if value is None else value

        set_ = object.__setattr__
        set_(self, "duration_s", check_real("duration_s", self.duration_s, low=0.0, low_inclusive=False, high=600))
        set_(self, "rate_hz", check_real("rate_hz", default("rate_hz"), low=20.0, high=2000.0))
        set_(self, "cadence_steps_per_min", check_real(
            "cadence_steps_per_min", default("cadence_steps_per_min"), low=40.0, high=240.0))
        lo, hi = (0.5, 0.85) if task == "walk" else (0.15, 0.5)
        set_(self, "stance_fraction", check_real(
            "stance_fraction", default("stance_fraction"), low=lo, high=hi, low_inclusive=False,
            high_inclusive=False))
        set_(self, "speed_m_s", check_real("speed_m_s", default("speed_m_s"), low=0.0, low_inclusive=False, high=10))
        set_(self, "step_width_m", check_real("step_width_m", default("step_width_m"), low=0.0, high=0.4))
        for name in ("pelvic_drop_deg", "hip_adduction_deg", "trunk_lean_deg"):
            set_(self, name, _per_side(name, default(name), 0.0, 30.0))
        set_(self, "peak_stance_fraction", check_real(
            "peak_stance_fraction", default("peak_stance_fraction"), low=0.05, high=0.95))
        set_(self, "pelvic_tilt_deg", check_real("pelvic_tilt_deg", self.pelvic_tilt_deg, low=-30, high=40))
        set_(self, "toe_out_deg", check_real("toe_out_deg", self.toe_out_deg, low=-20, high=30))
        if not isinstance(self.anthropometry, Anthropometry):
            raise ParameterError(
                "Invalid value for the 'anthropometry' parameter. Allowed values are Anthropometry "
                f"instances, but got {self.anthropometry!r} instead."
            )
        fwd = check_option("forward_axis", self.forward_axis, AXIS_NAMES)
        up = check_option("up_axis", self.up_axis, AXIS_NAMES)
        if fwd[1] == up[1]:
            raise ParameterError(
                f"Invalid value for the 'forward_axis' parameter. Allowed values are lab axes "
                f"perpendicular to up_axis ({up}), but got {fwd!r} instead."
            )
        check_option("first_strike_side", self.first_strike_side, _SIDES)
        set_(self, "first_strike_s", check_real("first_strike_s", self.first_strike_s, low=0.0, high=60.0))
        set_(self, "start_s", check_real("start_s", self.start_s, low=0.0, high=1e5))
        set_(self, "noise_mm", check_real("noise_mm", self.noise_mm, low=0.0, high=100.0))
        check_int("seed", self.seed, low=0)
        gaps = []
        for gap in self.gaps:
            try:
                marker, g0, glen = gap
            except (TypeError, ValueError):
                raise ParameterError(
                    "Invalid value for the 'gaps' parameter. Allowed values are (marker, start_s, "
                    f"length_s) triples, but got {gap!r} instead."
                ) from None
            gaps.append((str(marker), check_real("gaps start_s", g0), check_real("gaps length_s", glen, low=0.0)))
        set_(self, "gaps", tuple(gaps))

    def to_json(self) -> dict[str, Any]:
        """The spec as plain JSON types."""
        d = asdict(self)
        d["gaps"] = [list(g) for g in self.gaps]
        return d


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole phone camera filming the synthetic person from behind or in front.

    Attributes
    ----------
    view
        ``"back"`` (behind the person, looking in the walking direction: the person's left on the
        image left) or ``"front"`` (in front, looking back at them: their left on the image right).
    distance_m
        horizontal distance from the camera to the pelvis (mid-ASIS) along the walking
        direction, at the first video frame (``follow=False``) or always (``follow=True``; a
        treadmill keeps it whatever ``follow`` says).
    height_m
        camera height above the floor; None = pelvis level (the mean hip-centre height).
    focal_length_px
        focal length in pixels (1390 px ~ a phone's 26 mm-equivalent main camera at 1920 px).
    image_size
        ``(width, height)`` in px (portrait 1080 x 1920 by default); the principal point is the
        image centre.
    fps
        video frame rate; the model is evaluated at ``start + k / fps``.
    lateral_offset_m
        camera position to the person's right (positive) of the walking line.
    pitch_deg
        camera pitched down (positive) from level.
    roll_deg
        camera rolled clockwise (positive, as the user sees the image turned anticlockwise).
    follow
        the camera travels with the mean walking speed (a tracking shot).
    noise_px
        Gaussian noise added to the keypoints (not to the truth).
    seed
        random seed of the noise.
    """

    view: Literal["back", "front"] = "back"
    distance_m: float = 3.0
    height_m: float | None = None
    focal_length_px: float = 1390.0
    image_size: tuple[int, int] = (1080, 1920)
    fps: float = 30.0
    lateral_offset_m: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    follow: bool = False
    noise_px: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_option("view", self.view, ("back", "front"))
        set_ = object.__setattr__
        set_(self, "distance_m", check_real("distance_m", self.distance_m, low=0.5, high=50.0))
        if self.height_m is not None:
            set_(self, "height_m", check_real("height_m", self.height_m, low=0.0, high=5.0))
        set_(self, "focal_length_px", check_real(
            "focal_length_px", self.focal_length_px, low=0.0, low_inclusive=False, high=1e5))
        try:
            w, h = (int(x) for x in self.image_size)
        except (TypeError, ValueError):
            w = h = 0
        if w <= 0 or h <= 0:
            raise ParameterError(
                "Invalid value for the 'image_size' parameter. Allowed values are (width, height) "
                f"in positive pixels, but got {self.image_size!r} instead."
            )
        set_(self, "image_size", (w, h))
        set_(self, "fps", check_real("fps", self.fps, low=1.0, high=1000.0))
        set_(self, "lateral_offset_m", check_real("lateral_offset_m", self.lateral_offset_m, low=-20, high=20))
        set_(self, "pitch_deg", check_real("pitch_deg", self.pitch_deg, low=-60, high=60))
        set_(self, "roll_deg", check_real("roll_deg", self.roll_deg, low=-45, high=45))
        set_(self, "noise_px", check_real("noise_px", self.noise_px, low=0.0, high=100.0))
        check_int("seed", self.seed, low=0)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["image_size"] = list(self.image_size)
        return d


# ----------------------------------------------------------------------------- the model
class _Model:
    """The gait model of a spec, evaluated at any times (ISB lab: X forward, Y up, Z right)."""

    def __init__(self, spec: GaitSpec) -> None:
        self.spec = spec
        a = spec.anthropometry
        self.a = a
        self.pat = _PATTERN[spec.task]
        rate = float(spec.rate_hz)  # type: ignore[arg-type]
        self.dt = 1.0 / rate
        step_samples = max(2, round(rate * 60.0 / float(spec.cadence_steps_per_min)))  # type: ignore[arg-type]
        self.n_stride = 2 * step_samples
        self.n_stance = int(round(float(spec.stance_fraction) * self.n_stride))  # type: ignore[arg-type]
        if spec.task == "walk":
            self.n_stance = min(max(self.n_stance, step_samples + 2), self.n_stride - 4)
        else:
            self.n_stance = min(max(self.n_stance, 4), step_samples - 1)
        self.T = self.n_stride * self.dt
        self.beta = self.n_stance / self.n_stride
        self.peak_index = min(max(1, round(float(spec.peak_stance_fraction) * self.n_stance)), self.n_stance - 1)  # type: ignore[arg-type]
        self.peak = self.peak_index / self.n_stance
        if spec.task == "walk":
            other_off = self.n_stance - step_samples  # the other foot leaves this many samples after strike
            if self.peak_index <= other_off or self.peak_index >= step_samples:
                raise ParameterError(
                    "Invalid value for the 'peak_stance_fraction' parameter. Allowed values put the "
                    f"peak in single support (stance fractions {other_off / self.n_stance:.2f} to "
                    f"{step_samples / self.n_stance:.2f} here), but got {spec.peak_stance_fraction!r} instead."
                )
        first = round(float(spec.first_strike_s) * rate)
        t_first = spec.start_s + first * self.dt
        other = t_first + step_samples * self.dt
        self.t_strike: dict[str, float] = {spec.first_strike_side: t_first}
        self.t_strike["left" if spec.first_strike_side == "right" else "right"] = other
        self.v = float(spec.speed_m_s)  # type: ignore[arg-type]
        # pelvis-frame geometry
        pw, pd = a.pelvis_width_m, a.pelvis_depth_m
        self.pelvis_local = {
            "LASI": np.array([0.0, 0.0, -pw / 2]),
            "RASI": np.array([0.0, 0.0, pw / 2]),
            "LPSI": np.array([-pd, 0.0, -a.psis_separation_m / 2]),
            "RPSI": np.array([-pd, 0.0, a.psis_separation_m / 2]),
        }
        eq = HARRINGTON_2007["pw_pd"]
        pw_mm, pd_mm = pw * 1000, pd * 1000
        x, y, z = (c[0] * pd_mm + c[1] * pw_mm + c[3] for c in (eq["x"], eq["y"], eq["z"]))
        self.hjc_local = {s: np.array([x, y, _SIGN[s] * z]) / 1000.0 for s in _SIDES}
        # foot geometry (foot frame: X forward along the sole, Y up, Z right; origin ankle centre)
        below = a.foot_marker_height_m - a.ankle_height_m
        self.heel_local = np.array([-0.23 * a.foot_length_m, below, 0.0])
        self.toe_local = np.array([0.52 * a.foot_length_m, below, 0.0])
        self.tip_local = np.array([0.75 * a.foot_length_m, -a.ankle_height_m, 0.0])  # toe tip, on the floor
        self.height_offset = 0.0
        self.pelvis_height0 = 0.0
        self.vertical_coef = np.zeros((0, 2))
        self.pelvis_height0, self.vertical_coef = self._fit_vertical()
        self.height_offset = self._solve_height()

    # ------------------------------------------------------------------ timing
    def phase(self, t: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
        """Stride index and phase in [0, 1) since the side's foot strike."""
        x = (t - self.t_strike[side]) / self.T
        k = np.floor(x + 1e-9)
        return k, np.clip(x - k, 0.0, None)

    def stance_u(self, phase: np.ndarray) -> np.ndarray:
        """Stance progress (0 at strike, 1 at off), -1 in swing."""
        return np.where(phase <= self.beta + 1e-12, phase / self.beta, -1.0)

    def swing_s(self, phase: np.ndarray) -> np.ndarray:
        return np.where(phase > self.beta + 1e-12, (phase - self.beta) / (1 - self.beta), -1.0)

    # ------------------------------------------------------------------ set curves (degrees)
    def angles(self, t: np.ndarray) -> dict[str, np.ndarray]:
        spec, pat = self.spec, self.pat
        out: dict[str, np.ndarray] = {}
        ob = np.zeros_like(t)
        lean = np.zeros_like(t)
        for s in _SIDES:
            _, ph = self.phase(t, s)
            u, sw = self.stance_u(ph), self.swing_s(ph)
            stance_bump = _bump(u, self.peak)
            # standing on s, the other side drops: left obliquity negative when standing on the right
            ob += -_SIGN[s] * spec.pelvic_drop_deg[s] * stance_bump  # type: ignore[index]
            lean += _SIGN[s] * spec.trunk_lean_deg[s] * stance_bump  # type: ignore[index]
            out[f"hip_adduction_deg_{s}"] = spec.hip_adduction_deg[s] * stance_bump - pat[  # type: ignore[index]
                "swing_abduction_deg"
            ] * _bump(sw, 0.3)
            out[f"hip_rotation_deg_{s}"] = pat["hip_rotation_deg"] * np.sin(2 * np.pi * ph)
        ref = self.t_strike["right"]
        out["pelvic_obliquity_deg_left"] = ob
        out["pelvic_obliquity_deg_right"] = -ob
        out["pelvic_tilt_deg"] = spec.pelvic_tilt_deg + pat["pelvic_tilt_amplitude_deg"] * np.cos(
            4 * np.pi * (t - ref) / self.T
        )
        rot = pat["pelvic_rotation_deg"] * np.cos(2 * np.pi * (t - ref) / self.T)
        out["pelvic_rotation_deg_right"] = rot
        out["pelvic_rotation_deg_left"] = -rot
        out["trunk_lean_deg_right"] = lean
        out["trunk_lean_deg_left"] = -lean
        return out

    # ------------------------------------------------------------------ pelvis
    def pelvis(self, t: np.ndarray, ang: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Origin (mid-ASIS) and axes (columns X, Y, Z) in the overground ISB lab."""
        pat = self.pat
        ref = self.t_strike["right"]
        mid = ref + 0.5 * self.beta * self.T  # right mid-stance
        vertical = self._vertical(t)
        sway = pat["pelvis_sway_m"] * np.cos(2 * np.pi * (t - mid) / self.T)
        origin = np.stack(
            [self.v * t, self.pelvis_height0 + self.height_offset + vertical, sway], axis=-1
        )
        rot = (
            _rz(-np.radians(ang["pelvic_tilt_deg"]))
            @ _rx(np.radians(ang["pelvic_obliquity_deg_left"]))
            @ _ry(np.radians(ang["pelvic_rotation_deg_right"]))
        )
        return origin, rot

    def _vertical(self, t: np.ndarray) -> np.ndarray:
        out = np.zeros_like(t)
        w = 2 * np.pi * (t - self.t_strike["right"]) / self.T
        for k, (ca, cb) in enumerate(self.vertical_coef, start=1):
            out += ca * np.cos(k * w) + cb * np.sin(k * w)
        return out

    def _fit_vertical(self) -> tuple[float, np.ndarray]:
        """Pelvis height: a smooth periodic fit to the heights that give the target stance knee flexion.

        In single support the stance leg alone carries the pelvis: its hip centre sits at the
        distance from the ankle that makes the knee flexion follow the pattern's target curve.
        A Fourier series (4 harmonics of the stride) fitted to those heights gives the pelvis
        vertical motion; :meth:`_solve_height` then shifts it so that every leg reaches.
        """
        l1, l2 = self.a.thigh_length_m, self.a.shank_length_m
        t = self.t_strike["right"] + np.linspace(0.0, self.T, 801)[:-1]
        ang = self.angles(t)
        origin, rot = self.pelvis(t, ang)
        u_pts, k_pts = self.pat["knee_target_u"], self.pat["knee_target_deg"]
        if self.spec.task == "walk":
            lo, hi = (self.beta - 0.5) / self.beta, 0.5 / self.beta
        else:
            lo, hi = 0.0, 1.0
        rows, values = [], []
        w = 2 * np.pi * (t - self.t_strike["right"]) / self.T
        basis = np.column_stack(
            [np.ones_like(t)] + [f(k * w) for k in range(1, 5) for f in (np.cos, np.sin)]
        )
        for s in _SIDES:
            _, ph = self.phase(t, s)
            u = self.stance_u(ph)
            sel = (u >= lo) & (u <= hi)
            knee = np.radians(np.interp(u[sel], u_pts, k_pts))
            leg2 = l1**2 + l2**2 + 2 * l1 * l2 * np.cos(knee)
            hip = origin[sel] + _apply(rot[sel], self.hjc_local[s])
            ankle = self.foot(t[sel], s)["ankle"]
            flat2 = (hip[:, 0] - ankle[:, 0]) ** 2 + (hip[:, 2] - ankle[:, 2]) ** 2
            height = ankle[:, 1] + np.sqrt(np.clip(leg2 - flat2, 1e-4, None)) - (hip[:, 1] - origin[sel, 1])
            rows.append(basis[sel])
            values.append(height)
        coef, *_ = np.linalg.lstsq(np.vstack(rows), np.concatenate(values), rcond=None)
        return float(coef[0]), coef[1:].reshape(-1, 2)

    # ------------------------------------------------------------------ feet
    def _foot_rot(self, side: str, pitch_rad: np.ndarray) -> np.ndarray:
        yaw = -_SIGN[side] * np.radians(self.spec.toe_out_deg)
        return _ry(np.full_like(pitch_rad, yaw)) @ _rz(pitch_rad)

    def foot(self, t: np.ndarray, side: str) -> dict[str, np.ndarray]:
        """Ankle centre, heel and toe markers and the foot axes of one side (overground ISB lab)."""
        pat, spec = self.pat, self.spec
        k, ph = self.phase(t, side)
        u, sw = self.stance_u(ph), self.swing_s(ph)
        t_fs = self.t_strike[side] + k * self.T
        yaw_rot = self._foot_rot(side, np.zeros(1))[0]
        heel_z = _SIGN[side] * float(spec.step_width_m) / 2  # type: ignore[arg-type]
        heel_pos = np.stack(
            [self.v * t_fs + pat["heel_ahead_m"], np.full_like(t, self.a.foot_marker_height_m), np.full_like(t, heel_z)],
            axis=-1,
        )
        tip_pos = heel_pos + yaw_rot @ (self.tip_local - self.heel_local)
        th_fs, th_fo = np.radians(pat["foot_pitch_strike_deg"]), np.radians(pat["foot_pitch_off_deg"])
        ff, hr = pat["foot_flat"], pat["heel_rise"]
        pitch = np.zeros_like(t)
        rocker_heel = (u >= 0) & (u < ff)
        pitch[rocker_heel] = th_fs * 0.5 * (1 + np.cos(np.pi * u[rocker_heel] / ff))
        rocker_toe = u > hr
        w = (u[rocker_toe] - hr) / (1 - hr)
        pitch[rocker_toe] = th_fo * (1 - np.cos(np.pi * w / 2))
        swing = sw >= 0
        s = sw[swing]
        pitch[swing] = th_fo + (th_fs - th_fo) * _smoothstep(s)
        rot = self._foot_rot(side, pitch)
        ankle = np.empty(t.shape + (3,))
        on_heel = (u >= 0) & (u <= hr)
        ankle[on_heel] = heel_pos[on_heel] - _apply(rot[on_heel], self.heel_local)
        ankle[rocker_toe] = tip_pos[rocker_toe] - _apply(rot[rocker_toe], self.tip_local)
        if swing.any():
            rot_off = self._foot_rot(side, np.full(s.shape, th_fo))
            rot_fs = self._foot_rot(side, np.full(s.shape, th_fs))
            a0 = tip_pos[swing] - _apply(rot_off, self.tip_local)
            nxt = heel_pos[swing] + np.array([self.v * self.T, 0.0, 0.0])
            a1 = nxt - _apply(rot_fs, self.heel_local)
            dur = (1 - self.beta) * self.T
            x = _hermite(s, a0[:, 0], a1[:, 0], self.v * dur, (self.v + _STRIKE_MARGIN_M_S) * dur)
            y = _hermite(
                s, a0[:, 1], a1[:, 1], pat["lift_off_speed_m_s"] * dur, -pat["touch_down_speed_m_s"] * dur
            ) + pat["swing_lift_m"] * 16 * s**2 * (1 - s) ** 2
            z = a0[:, 2] + (a1[:, 2] - a0[:, 2]) * _smoothstep(s)
            ankle[swing] = np.stack([x, y, z], axis=-1)
        return {
            "ankle": ankle,
            "heel": ankle + _apply(rot, self.heel_local),
            "toe": ankle + _apply(rot, self.toe_local),
            "toe_tip": ankle + _apply(rot, self.tip_local),
            "axes": rot,
            "pitch_deg": np.degrees(pitch),
        }

    # ------------------------------------------------------------------ legs
    def _flexion(
        self, pelvis_rot: np.ndarray, hip: np.ndarray, ankle: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Hip flexion (rad) putting the knee at shank length from the ankle; and r/R (reach)."""
        l1, l2 = self.a.thigh_length_m, self.a.shank_length_m
        d = np.einsum("...ji,...j->...i", pelvis_rot, ankle - hip)  # in the pelvis frame
        dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
        q = (l1**2 + np.sum(d * d, axis=-1) - l2**2) / (2 * l1)
        r = (q + np.sin(b) * dz) / np.cos(b)
        big_r = np.hypot(dx, dy)
        ratio = r / big_r
        a = np.arctan2(dy, dx) + np.pi - np.arcsin(np.clip(ratio, -1.0, 1.0))
        a = (a + np.pi) % (2 * np.pi) - np.pi
        return a, ratio

    def _knee_flexion(self, hip: np.ndarray, ankle: np.ndarray) -> np.ndarray:
        l1, l2 = self.a.thigh_length_m, self.a.shank_length_m
        d2 = np.sum((hip - ankle) ** 2, axis=-1)
        c = np.clip((d2 - l1**2 - l2**2) / (2 * l1 * l2), -1.0, 1.0)
        return np.degrees(np.arccos(c))

    def _solve_height(self) -> float:
        """The highest pelvis that keeps every knee flexed at least the pattern's minimum."""
        t = self.t_strike["right"] + np.linspace(0.0, self.T, 1601)
        ang = self.angles(t)
        origin, rot = self.pelvis(t, ang)
        need = self.pat["min_knee_flexion_deg"]
        legs = []
        for s in _SIDES:
            ankle = self.foot(t, s)["ankle"]
            hip0 = origin + _apply(rot, self.hjc_local[s])
            b = np.radians(_SIGN[s] * ang[f"hip_adduction_deg_{s}"])
            legs.append((hip0, ankle, b))

        def ok(offset: float) -> bool:
            up = np.array([0.0, offset, 0.0])
            for hip0, ankle, b in legs:
                hip = hip0 + up
                _, ratio = self._flexion(rot, hip, ankle, b)
                if np.any(np.abs(ratio) > 1.0 - 1e-9) or self._knee_flexion(hip, ankle).min() < need:
                    return False
            return True

        lo, hi = -0.6, 0.0
        if not ok(lo):
            raise ParameterError(
                "Invalid combination of gait parameters: the legs cannot reach the feet at any pelvis "
                "height (try a lower speed, a higher cadence or a wider stance)."
            )
        if ok(hi):
            return hi
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return lo

    # ------------------------------------------------------------------ everything
    def evaluate(self, t: np.ndarray) -> dict[str, Any]:
        """Angles (deg), points (overground ISB lab, m) and segment axes at times ``t``."""
        a, pat = self.a, self.pat
        t = np.asarray(t, dtype=float)
        ang = self.angles(t)
        origin, prot = self.pelvis(t, ang)
        pts: dict[str, np.ndarray] = {"pelvis_origin": origin}
        for label, local in self.pelvis_local.items():
            pts[label] = origin + _apply(prot, local)
        axes = {"pelvis": prot}
        for s in _SIDES:
            sg, pre = _SIGN[s], s[0].upper()
            hip = origin + _apply(prot, self.hjc_local[s])
            foot = self.foot(t, s)
            ankle = foot["ankle"]
            b = np.radians(sg * ang[f"hip_adduction_deg_{s}"])
            c = np.radians(sg * ang[f"hip_rotation_deg_{s}"])
            flex, ratio = self._flexion(prot, hip, ankle, b)
            if np.any(np.abs(ratio) > 1.0 + 1e-9):
                raise ParameterError(
                    "Invalid combination of gait parameters: a leg cannot reach its foot "
                    f"({s} side); try smaller peaks or a wider step width."
                )
            ang[f"hip_flexion_deg_{s}"] = np.degrees(flex)
            femur = prot @ _rz(flex) @ _rx(b) @ _ry(c)
            knee = hip - a.thigh_length_m * femur[..., :, 1]
            fz = femur[..., :, 2]
            sy = _unit(knee - ankle)
            sz = _unit(fz - np.sum(fz * sy, axis=-1, keepdims=True) * sy)
            sx = np.cross(sy, sz)
            shank = np.stack([sx, sy, sz], axis=-1)
            ang[f"knee_flexion_deg_{s}"] = self._knee_flexion(hip, ankle)
            ang[f"foot_pitch_deg_{s}"] = foot["pitch_deg"]
            axes[f"{s}_femur"], axes[f"{s}_shank"], axes[f"{s}_foot"] = femur, shank, foot["axes"]
            ko, ao = a.knee_offset_m, a.ankle_offset_m
            pts[f"{s}_hip"], pts[f"{s}_knee"], pts[f"{s}_ankle"] = hip, knee, ankle
            pts[f"{s}_heel"], pts[f"{s}_toe"], pts[f"{s}_toe_tip"] = foot["heel"], foot["toe"], foot["toe_tip"]
            pts[f"{pre}THI"] = hip + _apply(femur, np.array([0.0, -0.55 * a.thigh_length_m, sg * 0.09]))
            pts[f"{pre}KNE"] = knee + sg * ko * fz
            pts[f"{pre}KNM"] = knee - sg * ko * fz
            pts[f"{pre}TIB"] = ankle + _apply(shank, np.array([0.0, 0.55 * a.shank_length_m, sg * 0.07]))
            pts[f"{pre}ANK"] = ankle + sg * ao * sz
            pts[f"{pre}MED"] = ankle - sg * ao * sz
            pts[f"{pre}HEE"], pts[f"{pre}TOE"] = foot["heel"], foot["toe"]
        # trunk: mid-hip-centre -> mid-shoulder, lean set in the lab frontal plane
        mid_hip = 0.5 * (pts["left_hip"] + pts["right_hip"])
        fwd = np.tan(np.radians(pat["trunk_forward_deg"]))
        d = _unit(np.stack([np.full_like(t, fwd), np.ones_like(t), np.tan(np.radians(ang["trunk_lean_deg_right"]))], -1))
        mid_sh = mid_hip + a.trunk_length_m * d
        yaw = -np.radians(pat["thorax_rotation_deg"]) * np.cos(2 * np.pi * (t - self.t_strike["right"]) / self.T)
        r0 = np.stack([np.sin(yaw), np.zeros_like(t), np.cos(yaw)], -1)  # right, turned about vertical
        right = _unit(r0 - np.sum(r0 * d, axis=-1, keepdims=True) * d)
        front = np.cross(d, right)  # anterior
        thorax = np.stack([front, d, right], axis=-1)
        axes["thorax"] = thorax
        pts["left_shoulder"] = mid_sh - right * a.shoulder_width_m / 2
        pts["right_shoulder"] = mid_sh + right * a.shoulder_width_m / 2
        pts["LSHO"], pts["RSHO"] = pts["left_shoulder"], pts["right_shoulder"]
        pts["C7"] = mid_sh + 0.05 * d - 0.07 * front
        pts["T10"] = mid_sh - 0.25 * d - 0.10 * front
        pts["CLAV"] = mid_sh - 0.01 * d + 0.07 * front
        pts["STRN"] = mid_sh - 0.18 * d + 0.10 * front
        # head and arms (video keypoints only)
        head = mid_sh + 0.17 * d + 0.03 * front
        h = a.height_m / 1.75
        pts["nose"] = head + h * (0.10 * front - 0.01 * d)
        pts["left_eye"] = head + h * (0.08 * front + 0.03 * d - 0.033 * right)
        pts["right_eye"] = head + h * (0.08 * front + 0.03 * d + 0.033 * right)
        pts["left_ear"] = head + h * (0.01 * front + 0.01 * d - 0.075 * right)
        pts["right_ear"] = head + h * (0.01 * front + 0.01 * d + 0.075 * right)
        for s in _SIDES:
            sg = _SIGN[s]
            _, ph = self.phase(t, s)
            swing_ang = -np.radians(pat["arm_swing_deg"]) * np.cos(2 * np.pi * ph)  # arm back at its own foot strike
            down = -d
            arm = _unit(np.cos(swing_ang)[..., None] * down + np.sin(swing_ang)[..., None] * front)
            elbow = pts[f"{s}_shoulder"] + 0.29 * h * arm + sg * 0.03 * right
            fa = swing_ang + np.radians(pat["elbow_flexion_deg"])
            fore = _unit(np.cos(fa)[..., None] * down + np.sin(fa)[..., None] * front)
            pts[f"{s}_elbow"] = elbow
            pts[f"{s}_wrist"] = elbow + 0.26 * h * fore
        return {"t": t, "angles": ang, "points": pts, "axes": axes}

    # ------------------------------------------------------------------ lab mapping
    def lab_matrix(self) -> np.ndarray:
        """``(3, 3)``: columns = lab vectors of the ISB X (forward), Y (up), Z (right)."""
        def axis(name: str) -> np.ndarray:
            v = np.zeros(3)
            v["xyz".index(name[1])] = 1.0 if name[0] == "+" else -1.0
            return v

        f, u = axis(self.spec.forward_axis), axis(self.spec.up_axis)
        return np.stack([f, u, np.cross(f, u)], axis=-1)

    def to_lab(self, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Overground ISB lab -> the file's lab axes (treadmill: the belt carries the progression away)."""
        q = np.array(p, dtype=float)
        if self.spec.treadmill:
            q[..., 0] -= self.v * t.reshape(t.shape + (1,) * (q.ndim - 1 - t.ndim))
        return q @ self.lab_matrix().T


# ----------------------------------------------------------------------------- truth
@dataclass(frozen=True)
class GaitTruth:
    """The known answers of a synthetic trial, computed by construction.

    Attributes
    ----------
    spec
        the :class:`GaitSpec` (defaults resolved).
    time_s
        ``(time,)`` the trial's sample times.
    series
        per-frame degrees: every key of :data:`~medius.kinematics.angles3d.LAB_SERIES_KEYS`
        with the same meaning (``hip_flexion_deg_<side>`` is the solved flexion), plus
        ``trunk_lean_deg_left``/``_right`` (lateral lean towards that side positive, mid-hip
        centre -> mid-shoulder against the lab vertical in the lab frontal plane),
        ``knee_flexion_deg_<side>`` (3D angle between thigh and shank) and
        ``foot_pitch_deg_<side>`` (toe up positive).
    events
        foot strikes and foot offs, :class:`~medius.io.markers.Markers3D` format, on samples.
    stances
        one dict per complete stance (foot strike and foot off both inside the trial):
        ``side``, ``foot_strike_s``/``_frame``, ``foot_off_s``/``_frame``, ``mid_stance_s``/
        ``_frame`` (half-way, rounded down to a sample), ``pelvic_drop_peak_deg`` (= the set value),
        ``pelvic_drop_peak_s``/``_frame``, ``pelvic_drop_mid_stance_deg``,
        ``hip_adduction_peak_deg`` (= the set value), ``hip_adduction_mid_stance_deg``,
        ``trunk_lean_peak_deg`` (= the set value, towards the stance side),
        ``hip_flexion_at_foot_strike_deg``, ``step_width_m``, ``stance_time_s``.
        Pelvic drop is :func:`~medius.kinematics.angles3d.compute_pelvic_drop_3d` with a zero
        baseline (standing obliquity is 0).
    joint_centres
        3D keypoints (lab frame, metres) named as :data:`medius.io.KEYPOINTS` (hip, knee and
        ankle centres, heels, toes, shoulders, elbows, wrists, head points) plus
        ``pelvis_origin``; :func:`~medius.kinematics.angles3d.project_frontal` accepts it.
    axes
        the person's :class:`~medius.kinematics.angles3d.LabAxes` (forward, up).
    info
        generated timing (``cadence_steps_per_min``, ``stride_time_s``, ``stance_fraction``,
        ``step_time_s``), offsets (``knee_offset_m``, ``ankle_offset_m``), Harrington hip
        centres in the pelvis frame (``hip_centre_local_m``), ``pelvic_width_m``,
        ``pelvic_depth_m``, ``hip_height_m`` (mean), ``knee_flexion_range_deg``,
        ``foot_slip_m`` (largest movement of the planted point: heel marker to heel rise, toe marker
        from foot flat to heel rise, toe tip from heel rise to foot off; 0 by construction) and
        ``floor_m`` (the floor along up).
    """

    spec: GaitSpec
    time_s: np.ndarray
    series: Mapping[str, np.ndarray]
    events: tuple[dict[str, Any], ...]
    stances: tuple[dict[str, Any], ...]
    joint_centres: Markers3D
    axes: LabAxes
    info: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The per-trial and per-stance truth as JSON types (no per-frame series)."""
        return {
            "task": self.spec.task,
            "events": [dict(e) for e in self.events],
            "stances": [dict(s) for s in self.stances],
            "info": _jsonable(dict(self.info)),
        }


@dataclass(frozen=True)
class GaitVideoTruth:
    """The known 2D answers of a rendered video and its projection error.

    Attributes
    ----------
    camera
        the :class:`CameraSpec`.
    time_s
        ``(frames,)`` video frame times.
    series
        per-frame values at the video times. 2D, from the exact projected points, by the
        definitions of ``docs/conventions.md``, with the side named as the **stance** side
        (``pelvic_tilt_deg_<side>``: standing on that side, free hip lower positive;
        ``trunk_lean_deg_<side>``: towards that side positive; ``hip_adduction_deg_<side>``,
        ``fppa_deg_<side>``); and their 3D counterparts ``pelvic_drop_3d_deg_<side>``,
        ``hip_adduction_3d_deg_<side>``, ``trunk_lean_3d_deg_<side>``.
    stances
        per complete stance of the video: ``side``, ``foot_strike_s``, ``foot_off_s``,
        ``frames`` (first and last video frame inside the stance), and for each metric
        ``pelvic_drop``, ``hip_adduction``, ``trunk_lean``: ``<m>_peak_deg_2d`` (largest 2D value
        over the stance frames; pelvic drop = pelvic tilt, the standing baseline being 0),
        ``<m>_peak_deg_3d`` (the set 3D peak), ``<m>_error_deg`` (2D peak minus 3D peak: what a
        video measures against the lab truth, frame timing included),
        ``<m>_max_same_frame_error_deg`` (largest |2D - 3D| at the same instant: projection alone);
        ``fppa_peak_deg_2d`` (signed value farthest from zero).
    projection_error
        ``<m>_deg``: the largest ``|<m>_error_deg|`` over the stances, and
        ``<m>_same_frame_deg``: the largest ``<m>_max_same_frame_error_deg`` (the bounds stated).
    info
        camera position and axes (overground ISB lab), the pelvis distance range, frames with a
        keypoint outside the image.
    """

    camera: CameraSpec
    time_s: np.ndarray
    series: Mapping[str, np.ndarray]
    stances: tuple[dict[str, Any], ...]
    projection_error: Mapping[str, float]
    info: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "camera": self.camera.to_json(),
            "stances": [dict(s) for s in self.stances],
            "projection_error": dict(self.projection_error),
            "info": _jsonable(dict(self.info)),
        }


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    return x


def _strides(model: _Model, t0: float, t1: float) -> Iterator[tuple[str, float, float]]:
    """``(side, strike, off)`` of every stride of either foot near [t0, t1] (one more each side)."""
    for s in _SIDES:
        first = model.t_strike[s]
        k0 = math.floor((t0 - first) / model.T) - 1
        k1 = math.ceil((t1 - first) / model.T) + 1
        for k in range(k0, k1 + 1):
            fs = first + k * model.T
            yield s, fs, fs + model.beta * model.T


def _stance_windows(model: _Model, t0: float, t1: float) -> list[tuple[str, float, float]]:
    """``(side, strike, off)`` of every stance whose strike and off lie in [t0, t1] (+- 1e-9)."""
    out = [(s, fs, fo) for s, fs, fo in _strides(model, t0, t1) if fs >= t0 - 1e-9 and fo <= t1 + 1e-9]
    return sorted(out, key=lambda w: w[1])


def _events(model: _Model, t0: float, t1: float) -> list[dict[str, Any]]:
    ev = [
        {"side": s, "kind": kind, "time_s": round(time, 9)}
        for s, fs, fo in _strides(model, t0, t1)
        for kind, time in (("foot_strike", fs), ("foot_off", fo))
        if t0 - 1e-9 <= time <= t1 + 1e-9
    ]
    return sorted(ev, key=lambda e: e["time_s"])


def _sample_times(spec: GaitSpec, rate: float) -> np.ndarray:
    n = int(math.floor(spec.duration_s * rate + 1e-9)) + 1
    return spec.start_s + np.arange(n) / rate


def make_gait_trial(spec: GaitSpec) -> tuple[Markers3D, GaitTruth]:
    """Generate the Plug-in Gait marker trajectories of a synthetic walk or run, and their truth.

    Parameters
    ----------
    spec
        what to generate (:class:`GaitSpec`).

    Returns
    -------
    trial
        :class:`~medius.io.markers.Markers3D` in metres in the lab axes of ``spec``
        (``forward_axis``, ``up_axis``; floor at 0 along up): LASI RASI LPSI RPSI, per side THI
        KNE TIB ANK HEE TOE, C7 T10 CLAV STRN LSHO RSHO, and LKNM RKNM LMED RMED when
        ``spec.medial_markers``; the events; ``source`` ``"synthetic-gait"``; noise and gaps
        applied; one log entry ``make_gait_trial``.
    truth
        :class:`GaitTruth` (noise-free).

    Raises
    ------
    medius.kinematics.ParameterError
        a gap naming an unknown marker, or a spec whose legs cannot reach the feet.

    Notes
    -----
    The trial analyses without a static trial with the built-in ``"plug-in-gait"`` set and
    the chord offsets of the anthropometry (``truth.info["knee_offset_m"]``,
    ``["ankle_offset_m"]``): the thigh and shank wands lie in the frontal planes of the femur and
    shank, so Plug-in Gait's chord gives back the knee and ankle centres exactly; or with
    :func:`compute_gait_marker_set` and ``medial_markers=True``.
    """
    if not isinstance(spec, GaitSpec):
        raise ParameterError(
            f"Invalid value for the 'spec' parameter. Allowed values are GaitSpec instances, but got {spec!r} instead."
        )
    model = _Model(spec)
    rate = float(spec.rate_hz)  # type: ignore[arg-type]
    t = _sample_times(spec, rate)
    ev = model.evaluate(t)
    labels = list(_PIG_LABELS)
    if spec.medial_markers:
        labels += list(MEDIAL_MARKERS.values())
    pos = np.stack([model.to_lab(ev["points"][lab], t) for lab in labels], axis=1)
    if spec.noise_mm > 0:
        rng = np.random.default_rng(spec.seed)
        pos = pos + rng.normal(0.0, spec.noise_mm / 1000.0, pos.shape)
    for marker, g0, glen in spec.gaps:
        if marker not in labels:
            raise ParameterError(
                f"Invalid value for the 'gaps' parameter. Allowed markers are {', '.join(labels)}, "
                f"but got {marker!r} instead."
            )
        gap = (t >= g0 - 1e-9) & (t < g0 + glen - 1e-9)
        pos[gap, labels.index(marker)] = np.nan
    events = _events(model, float(t[0]), float(t[-1]))
    trial = Markers3D(
        position=pos, labels=tuple(labels), time_s=t, rate_hz=rate, events=tuple(events), source="synthetic-gait"
    ).with_log("make_gait_trial", **{k: v for k, v in _jsonable(spec.to_json()).items() if k != "anthropometry"})
    truth = _make_truth(model, t, ev, events)
    return trial, truth


def _make_truth(model: _Model, t: np.ndarray, ev: Mapping[str, Any], events: list[dict[str, Any]]) -> GaitTruth:
    spec, a = model.spec, model.a
    ang = ev["angles"]
    pts = ev["points"]
    rate = float(spec.rate_hz)  # type: ignore[arg-type]

    def frame(time: float) -> int:
        return int(round((time - float(t[0])) * rate))

    stances = []
    for side, fs, fo in _stance_windows(model, float(t[0]), float(t[-1])):
        i_fs, i_fo = frame(fs), frame(fo)
        i_pk = i_fs + model.peak_index
        i_mid = i_fs + model.n_stance // 2
        # contralateral drop (compute_pelvic_drop_3d, zero baseline): standing on the left, the
        # left obliquity (left side up = right side down); standing on the right, minus it
        drop_series = ang["pelvic_obliquity_deg_left"] * (1.0 if side == "left" else -1.0)
        stances.append(
            {
                "side": side,
                "foot_strike_s": float(t[i_fs]),
                "foot_strike_frame": i_fs,
                "foot_off_s": float(t[i_fo]),
                "foot_off_frame": i_fo,
                "stance_time_s": float(t[i_fo] - t[i_fs]),
                "mid_stance_s": float(t[i_mid]),
                "mid_stance_frame": i_mid,
                "pelvic_drop_peak_deg": float(spec.pelvic_drop_deg[side]),  # type: ignore[index]
                "pelvic_drop_peak_s": float(t[i_pk]),
                "pelvic_drop_peak_frame": i_pk,
                "pelvic_drop_mid_stance_deg": float(drop_series[i_mid]),
                "hip_adduction_peak_deg": float(spec.hip_adduction_deg[side]),  # type: ignore[index]
                "hip_adduction_peak_frame": i_pk,
                "hip_adduction_mid_stance_deg": float(ang[f"hip_adduction_deg_{side}"][i_mid]),
                "trunk_lean_peak_deg": float(spec.trunk_lean_deg[side]),  # type: ignore[index]
                "trunk_lean_peak_frame": i_pk,
                "hip_flexion_at_foot_strike_deg": float(ang[f"hip_flexion_deg_{side}"][i_fs]),
                "step_width_m": float(spec.step_width_m),  # type: ignore[arg-type]
                "cadence_steps_per_min": 120.0 / model.T,
            }
        )
    names = [n for n in KEYPOINTS if n in pts] + ["pelvis_origin"]
    centres = Markers3D(
        position=np.stack([model.to_lab(pts[n], t) for n in names], axis=1),
        labels=tuple(names),
        time_s=t,
        rate_hz=rate,
        events=tuple(events),
        source="synthetic-gait truth",
    )
    m = model.lab_matrix()
    axes = LabAxes(m[:, 0], m[:, 1], f"synthetic ({spec.forward_axis})", f"synthetic ({spec.up_axis})")
    # foot slip: movement of the planted marker (heel until heel rise, toe from foot flat)
    slip = 0.0
    for s in _SIDES:
        _, ph = model.phase(t, s)
        u = model.stance_u(ph)
        k, _ = model.phase(t, s)
        for marker, sel in (
            ("heel", (u >= 0) & (u <= model.pat["heel_rise"])),
            ("toe", (u >= model.pat["foot_flat"]) & (u <= model.pat["heel_rise"])),
            ("toe_tip", (u >= model.pat["heel_rise"]) & (u <= 1)),
        ):
            p = pts[f"{s}_{marker}"]
            for kk in np.unique(k[sel]):
                pk = p[sel & (k == kk)]
                slip = max(slip, float(np.max(np.linalg.norm(pk - pk[0], axis=-1))))
    series = {key: np.asarray(v, dtype=float) for key, v in ang.items()}
    knee = np.concatenate([series["knee_flexion_deg_left"], series["knee_flexion_deg_right"]])
    info = {
        "cadence_steps_per_min": 120.0 / model.T,
        "stride_time_s": model.T,
        "step_time_s": model.T / 2,
        "stance_fraction": model.beta,
        "stride_samples": model.n_stride,
        "stance_samples": model.n_stance,
        "peak_stance_fraction": model.peak,
        "speed_m_s": model.v,
        "stride_length_m": model.v * model.T,
        "treadmill": spec.treadmill,
        "knee_offset_m": a.knee_offset_m,
        "ankle_offset_m": a.ankle_offset_m,
        "hip_centre_local_m": {s: model.hjc_local[s].tolist() for s in _SIDES},
        "hip_centre_method": "Harrington et al. 2007, PW and PD (single-variable equations)",
        "pelvic_width_m": a.pelvis_width_m,
        "pelvic_depth_m": a.pelvis_depth_m,
        "hip_height_m": float(np.mean(0.5 * (pts["left_hip"][:, 1] + pts["right_hip"][:, 1]))),
        "knee_flexion_range_deg": [float(knee.min()), float(knee.max())],
        "hip_flexion_range_deg": [
            float(min(series["hip_flexion_deg_left"].min(), series["hip_flexion_deg_right"].min())),
            float(max(series["hip_flexion_deg_left"].max(), series["hip_flexion_deg_right"].max())),
        ],
        "foot_slip_m": slip,
        "floor_m": 0.0,
        "foot_marker_height_m": a.foot_marker_height_m,
        "heel_rise_stance_fraction": model.pat["heel_rise"],
        "foot_flat_stance_fraction": model.pat["foot_flat"],
    }
    return GaitTruth(
        spec=spec,
        time_s=t,
        series=series,
        events=tuple(events),
        stances=tuple(stances),
        joint_centres=centres,
        axes=axes,
        info=info,
    )


def make_static_trial(spec: GaitSpec, *, duration_s: float = 1.0) -> Markers3D:
    """A standing calibration trial of the same person, with medial knee and ankle markers.

    Parameters
    ----------
    spec
        the person and lab axes (its anthropometry, pelvic tilt, toe-out, step width, noise).
    duration_s
        length of the trial.

    Returns
    -------
    Markers3D
        the walking trial's markers plus LKNM RKNM LMED RMED: standing still, pelvis level
        (obliquity and rotation 0, the spec's tilt), hips at 0° adduction and rotation, feet flat
        under the hip centres, knees flexed 2°; no events; ``source`` ``"synthetic-gait-static"``.
        The segments carry their markers at the same local positions as in the walking trial, so
        :func:`~medius.kinematics.markersets.calibrate_clusters` is exact without noise.
    """
    dur = check_real("duration_s", duration_s, low=0.0, low_inclusive=False, high=60.0)
    model = _Model(replace(spec, gaps=()))
    a = model.a
    rate = float(spec.rate_hz)  # type: ignore[arg-type]
    n = int(math.floor(dur * rate + 1e-9)) + 1
    t = spec.start_s + np.arange(n) / rate
    zero = np.zeros(n)
    prot = _rz(np.full(n, -np.radians(spec.pelvic_tilt_deg)))
    knee_deg = 2.0
    l1, l2 = a.thigh_length_m, a.shank_length_m
    leg = math.sqrt(l1**2 + l2**2 + 2 * l1 * l2 * math.cos(math.radians(knee_deg)))
    hjc_r = prot[0] @ model.hjc_local["right"]
    pts: dict[str, np.ndarray] = {}
    # the ankle straight below the hip centre; the pelvis height follows from the leg length
    origin_y = a.ankle_height_m + leg - hjc_r[1]
    origin = np.stack([zero, np.full(n, origin_y), zero], axis=-1)
    for label, local in model.pelvis_local.items():
        pts[label] = origin + _apply(prot, local)
    for s in _SIDES:
        sg, pre = _SIGN[s], s[0].upper()
        hip = origin + _apply(prot, model.hjc_local[s])
        ankle = hip.copy()
        ankle[:, 1] = a.ankle_height_m
        frot = model._foot_rot(s, zero)
        b = zero
        flex, _ = model._flexion(prot, hip, ankle, b)
        femur = prot @ _rz(flex) @ _rx(b) @ _ry(zero)
        knee = hip - l1 * femur[..., :, 1]
        fz = femur[..., :, 2]
        sy = _unit(knee - ankle)
        sz = _unit(fz - np.sum(fz * sy, axis=-1, keepdims=True) * sy)
        shank = np.stack([np.cross(sy, sz), sy, sz], axis=-1)
        ko, ao = a.knee_offset_m, a.ankle_offset_m
        pts[f"{pre}THI"] = hip + _apply(femur, np.array([0.0, -0.55 * l1, sg * 0.09]))
        pts[f"{pre}KNE"] = knee + sg * ko * fz
        pts[f"{pre}KNM"] = knee - sg * ko * fz
        pts[f"{pre}TIB"] = ankle + _apply(shank, np.array([0.0, 0.55 * l2, sg * 0.07]))
        pts[f"{pre}ANK"] = ankle + sg * ao * sz
        pts[f"{pre}MED"] = ankle - sg * ao * sz
        pts[f"{pre}HEE"] = ankle + _apply(frot, model.heel_local)
        pts[f"{pre}TOE"] = ankle + _apply(frot, model.toe_local)
    mid_hip = 0.5 * (pts["LASI"] + pts["RASI"]) + _apply(prot, np.array([model.hjc_local["right"][0],
                                                                          model.hjc_local["right"][1], 0.0]))
    up = np.array([0.0, 1.0, 0.0])
    mid_sh = mid_hip + a.trunk_length_m * up
    right = np.array([0.0, 0.0, 1.0])
    front = np.array([1.0, 0.0, 0.0])
    pts["LSHO"] = mid_sh - right * a.shoulder_width_m / 2
    pts["RSHO"] = mid_sh + right * a.shoulder_width_m / 2
    pts["C7"] = mid_sh + 0.05 * up - 0.07 * front
    pts["T10"] = mid_sh - 0.25 * up - 0.10 * front
    pts["CLAV"] = mid_sh - 0.01 * up + 0.07 * front
    pts["STRN"] = mid_sh - 0.18 * up + 0.10 * front
    labels = [*_PIG_LABELS, *MEDIAL_MARKERS.values()]
    m = model.lab_matrix()
    pos = np.stack([np.broadcast_to(pts[lab], (n, 3)) @ m.T for lab in labels], axis=1)
    if spec.noise_mm > 0:
        rng = np.random.default_rng(spec.seed + 1)
        pos = pos + rng.normal(0.0, spec.noise_mm / 1000.0, pos.shape)
    return Markers3D(
        position=pos, labels=tuple(labels), time_s=t, rate_hz=rate, source="synthetic-gait-static"
    ).with_log("make_static_trial", task=spec.task, duration_s=dur, knee_flexion_deg=knee_deg)


def compute_gait_marker_set(*, medial: bool = True) -> MarkerSet:
    """The built-in Plug-in Gait marker set, with the medial roles mapped onto :data:`MEDIAL_MARKERS`.

    Parameters
    ----------
    medial
        map the medial knee and ankle roles (False gives the built-in set unchanged).

    Returns
    -------
    MarkerSet
        named ``plug-in-gait-synthetic-medial`` when ``medial``.
    """
    base = load_marker_set("plug-in-gait")
    if not medial:
        return base
    markers = {**base.markers, **MEDIAL_MARKERS}
    return MarkerSet("plug-in-gait-synthetic-medial", markers, base.description, "synthetic_gait")


# ----------------------------------------------------------------------------- video
def _camera_pose(model: _Model, camera: CameraSpec, t: np.ndarray, hip_height: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera centres ``(frames, 3)`` and rotation (rows = camera x right, y down, z optical axis)."""
    back = camera.view == "back"
    sgn = 1.0 if back else -1.0  # the optical axis along +X (back) or -X (front)
    height = hip_height if camera.height_m is None else camera.height_m
    if camera.follow or model.spec.treadmill:
        x_ref = model.v * t if not model.spec.treadmill else model.v * t  # the pelvis mean progression
    else:
        x_ref = np.full_like(t, model.v * t[0])
    centre = np.stack(
        [x_ref - sgn * camera.distance_m, np.full_like(t, height), np.full_like(t, camera.lateral_offset_m)], -1
    )
    z_axis = np.array([sgn, 0.0, 0.0])
    x_axis = np.array([0.0, 0.0, sgn])  # image right: person's right from behind, left from the front
    y_axis = np.cross(z_axis, x_axis)  # down
    rot = np.stack([x_axis, y_axis, z_axis])
    pitch = np.radians(camera.pitch_deg)  # look down: rotate the optical axis towards -Y
    cp, sp = math.cos(pitch), math.sin(pitch)
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    roll = np.radians(camera.roll_deg)
    cr, sr = math.cos(roll), math.sin(roll)
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return centre, r_roll @ r_pitch @ rot


def _project(points: np.ndarray, centre: np.ndarray, rot: np.ndarray, camera: CameraSpec) -> np.ndarray:
    c = np.einsum("ij,tj->ti", rot, points - centre)
    w, h = camera.image_size
    with np.errstate(invalid="ignore", divide="ignore"):
        uv = camera.focal_length_px * c[:, :2] / c[:, 2:3] + np.array([w / 2, h / 2])
    uv[c[:, 2] <= 0.05] = np.nan
    return uv


def _tilt_2d(stance: np.ndarray, free: np.ndarray) -> np.ndarray:
    d = free - stance
    return np.degrees(np.arctan2(d[:, 1], np.abs(d[:, 0])))


def _adduction_2d(hip: np.ndarray, knee: np.ndarray, other: np.ndarray) -> np.ndarray:
    # the signed angle from the inferior perpendicular of the pelvis line to the thigh, positive towards `other`
    p = other - hip
    n = np.stack([-p[:, 1], p[:, 0]], -1)
    n = np.where((n[:, 1] < 0)[:, None], -n, n)  # inferior (image y down)
    th = knee - hip
    cos = np.sum(th * n, -1) / (np.linalg.norm(th, axis=-1) * np.linalg.norm(n, axis=-1))
    ang = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    return np.where(np.sum(th * p, -1) >= 0, ang, -ang)


def _lean_2d(st_hip: np.ndarray, fr_hip: np.ndarray, st_sh: np.ndarray, fr_sh: np.ndarray) -> np.ndarray:
    w = 0.5 * (st_sh + fr_sh) - 0.5 * (st_hip + fr_hip)
    toward = np.sign(st_hip[:, 0] - fr_hip[:, 0])
    return np.degrees(np.arctan2(toward * w[:, 0], -w[:, 1]))


def _fppa_2d(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, other: np.ndarray) -> np.ndarray:
    thigh, shank = knee - hip, ankle - knee
    ang = np.degrees(np.arccos(np.clip(
        np.sum(thigh * shank, -1) / (np.linalg.norm(thigh, axis=-1) * np.linalg.norm(shank, axis=-1)), -1, 1)))
    line = ankle - hip
    side_knee = np.sign(line[:, 0] * (knee - hip)[:, 1] - line[:, 1] * (knee - hip)[:, 0])
    side_other = np.sign(line[:, 0] * (other - hip)[:, 1] - line[:, 1] * (other - hip)[:, 0])
    return np.where(side_knee == side_other, ang, -ang)


def render_gait_video_keypoints(
    trial_or_spec: GaitSpec | GaitTruth, *, camera: CameraSpec | None = None
) -> tuple[Keypoints2D, GaitVideoTruth]:
    """Film the synthetic gait with a pinhole phone camera: 2D keypoints and their known answers.

    Parameters
    ----------
    trial_or_spec
        a :class:`GaitSpec`, or the :class:`GaitTruth` of a trial (its spec is used: the same
        movement, evaluated at the video frame times ``start_s + k / camera.fps`` rather than
        resampled from the markers).
    camera
        the camera (:class:`CameraSpec`; default: from behind at 3 m, pelvis level, 30 fps).

    Returns
    -------
    keypoints
        :class:`~medius.io.Keypoints2D` of the 21 canonical keypoints in px (x right, y down;
        left/right anatomical: from behind the person's left is on the image left): hips = hip
        joint centres, knees and ankles = joint centres, heels and toes = the heel and toe
        markers, shoulders = the shoulder points, plus constructed head and arm points;
        confidence 1 (0.1 for the nose and eyes seen from behind, hidden as a pose model reports
        them); ``source`` ``"synthetic-gait-video"``; one log entry. Points behind the
        camera are NaN.
    truth
        :class:`GaitVideoTruth`: the 2D metrics of the exact projection, their 3D counterparts
        and the projection error per stance.
    """
    if isinstance(trial_or_spec, GaitTruth):
        spec = trial_or_spec.spec
    elif isinstance(trial_or_spec, GaitSpec):
        spec = trial_or_spec
    else:
        raise ParameterError(
            "Invalid value for the 'trial_or_spec' parameter. Allowed values are GaitSpec or "
            f"GaitTruth instances, but got {type(trial_or_spec).__name__} instead."
        )
    cam = CameraSpec() if camera is None else camera
    if not isinstance(cam, CameraSpec):
        raise ParameterError(
            f"Invalid value for the 'camera' parameter. Allowed values are CameraSpec instances, but got {cam!r} instead."
        )
    model = _Model(spec)
    t = _sample_times(spec, cam.fps)
    ev = model.evaluate(t)
    pts, ang = ev["points"], ev["angles"]
    hip_height = float(np.mean(0.5 * (pts["left_hip"][:, 1] + pts["right_hip"][:, 1])))
    centre, rot = _camera_pose(model, cam, t, hip_height)
    pos = np.stack([_project(pts[name], centre, rot, cam) for name in KEYPOINTS], axis=1)
    w, h = cam.image_size
    inside = (pos[..., 0] >= 0) & (pos[..., 0] <= w) & (pos[..., 1] >= 0) & (pos[..., 1] <= h)
    exact = pos.copy()
    if cam.noise_px > 0:
        pos = pos + np.random.default_rng(cam.seed).normal(0.0, cam.noise_px, pos.shape)
    conf = np.where(np.isfinite(pos).all(axis=-1), 1.0, np.nan)
    if cam.view == "back":
        # the face is hidden from behind: a pose model reports its points with low visibility
        for name in ("nose", "left_eye", "right_eye"):
            conf[:, KEYPOINTS.index(name)] = np.where(np.isfinite(conf[:, KEYPOINTS.index(name)]), 0.1, np.nan)
    kp = Keypoints2D(
        position=pos, confidence=conf, time_s=t, image_size=cam.image_size, source="synthetic-gait-video"
    ).with_log("render_gait_video_keypoints", task=spec.task, **_jsonable(cam.to_json()))

    def xy(name: str) -> np.ndarray:
        return exact[:, KEYPOINTS.index(name)]

    series: dict[str, np.ndarray] = {}
    for s in _SIDES:
        o = "right" if s == "left" else "left"
        series[f"pelvic_tilt_deg_{s}"] = _tilt_2d(xy(f"{s}_hip"), xy(f"{o}_hip"))
        series[f"trunk_lean_deg_{s}"] = _lean_2d(xy(f"{s}_hip"), xy(f"{o}_hip"), xy(f"{s}_shoulder"), xy(f"{o}_shoulder"))
        series[f"hip_adduction_deg_{s}"] = _adduction_2d(xy(f"{s}_hip"), xy(f"{s}_knee"), xy(f"{o}_hip"))
        series[f"fppa_deg_{s}"] = _fppa_2d(xy(f"{s}_hip"), xy(f"{s}_knee"), xy(f"{s}_ankle"), xy(f"{o}_hip"))
        series[f"pelvic_drop_3d_deg_{s}"] = _SIGN[s] * ang["pelvic_obliquity_deg_right"]
        series[f"hip_adduction_3d_deg_{s}"] = ang[f"hip_adduction_deg_{s}"]
        series[f"trunk_lean_3d_deg_{s}"] = ang[f"trunk_lean_deg_{s}"]
    pairs = {
        "pelvic_drop": ("pelvic_tilt_deg", "pelvic_drop_3d_deg", spec.pelvic_drop_deg),
        "hip_adduction": ("hip_adduction_deg", "hip_adduction_3d_deg", spec.hip_adduction_deg),
        "trunk_lean": ("trunk_lean_deg", "trunk_lean_3d_deg", spec.trunk_lean_deg),
    }
    stances = []
    for side, fs, fo in _stance_windows(model, float(t[0]), float(t[-1])):
        sel = np.flatnonzero((t >= fs - 1e-9) & (t <= fo + 1e-9))
        if sel.size == 0:
            continue
        row: dict[str, Any] = {
            "side": side,
            "foot_strike_s": fs,
            "foot_off_s": fo,
            "frames": [int(sel[0]), int(sel[-1])],
        }
        for metric, (k2, k3, peaks) in pairs.items():
            v2, v3 = series[f"{k2}_{side}"][sel], series[f"{k3}_{side}"][sel]
            peak2 = float(np.max(v2))
            row[f"{metric}_peak_deg_2d"] = peak2
            row[f"{metric}_peak_frame_2d"] = int(sel[int(np.argmax(v2))])
            row[f"{metric}_peak_deg_3d"] = float(peaks[side])  # type: ignore[index]
            row[f"{metric}_error_deg"] = peak2 - float(peaks[side])  # type: ignore[index]
            row[f"{metric}_max_same_frame_error_deg"] = float(np.max(np.abs(v2 - v3)))
        f = series[f"fppa_deg_{side}"][sel]
        row["fppa_peak_deg_2d"] = float(f[int(np.argmax(np.abs(f)))])
        stances.append(row)
    bounds: dict[str, float] = {}
    for metric in pairs:
        errs = [abs(r[f"{metric}_error_deg"]) for r in stances]
        same = [r[f"{metric}_max_same_frame_error_deg"] for r in stances]
        bounds[f"{metric}_deg"] = float(max(errs)) if errs else float("nan")
        bounds[f"{metric}_same_frame_deg"] = float(max(same)) if same else float("nan")
    depth = np.abs(pts["pelvis_origin"][:, 0] - centre[:, 0])
    info = {
        "camera_centre_first_m": centre[0].tolist(),
        "camera_rows": rot.tolist(),
        "camera_height_m": float(centre[0, 1]),
        "hip_height_m": hip_height,
        "pelvis_distance_range_m": [float(depth.min()), float(depth.max())],
        "frames_with_keypoints_outside_image": int(np.count_nonzero(~inside.all(axis=1))),
        "model_frame": "overground ISB lab (X forward, Y up, Z right)",
    }
    vt = GaitVideoTruth(
        camera=cam, time_s=t, series=series, stances=tuple(stances), projection_error=bounds, info=info
    )
    return kp, vt


# ----------------------------------------------------------------------------- files
def write_gait_marker(
    folder: str | Path, truth: GaitTruth, video: GaitVideoTruth | None = None
) -> Path:
    """Write :data:`~medius.testing.synthetic.SYNTHETIC_MARKER` (spec and known answers) into ``folder``.

    Its presence beside an input marks it as synthetic for the report
    (:func:`medius.io.synthetic_metadata`).

    Parameters
    ----------
    folder
        the folder of the C3D or keypoint files (created if needed).
    truth
        the trial's :class:`GaitTruth`.
    video
        the :class:`GaitVideoTruth` when keypoints are written.

    Returns
    -------
    Path
        the JSON file: ``{"synthetic": true, "task": "walk" | "run", "spec": ..., "ground_truth":
        {"events", "stances", "info"[, "video"]}}``.
    """
    path = Path(folder) / SYNTHETIC_MARKER
    gt = truth.to_json()
    if video is not None:
        gt["video"] = video.to_json()
    doc = {"synthetic": True, "task": truth.spec.task, "spec": _jsonable(truth.spec.to_json()), "ground_truth": gt}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, allow_nan=False), encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot write the synthetic marker: {exc}", path=path) from None
    return path


def write_gait_c3d(trial: Markers3D, path: str | Path, truth: GaitTruth | None = None) -> Path:
    """Write a synthetic trial to a C3D (markers in mm and the events), with the marker JSON beside it.

    Parameters
    ----------
    trial
        from :func:`make_gait_trial` (or :func:`make_static_trial`).
    path
        output ``.c3d`` file.
    truth
        when given, :func:`write_gait_marker` writes the known answers into the same folder.

    Returns
    -------
    Path
        the C3D file (:func:`~medius.io.markers.write_c3d`).
    """
    out = write_c3d(trial, path)
    if truth is not None:
        write_gait_marker(out.parent, truth)
    return out


def write_gait_keypoints(
    kp: Keypoints2D,
    folder: str | Path,
    *,
    truth: GaitTruth | None = None,
    video: GaitVideoTruth | None = None,
    prefix: str = "gait",
) -> dict[str, Path]:
    """Write rendered keypoints as OpenPose JSON and a pixel TRC, with the synthetic marker.

    Parameters
    ----------
    kp
        from :func:`render_gait_video_keypoints`.
    folder
        output folder (created): ``<prefix>_<frame>_keypoints.json`` per frame (read back with
        the camera's fps), ``<prefix>.trc`` and, when ``truth`` is given,
        :data:`~medius.testing.synthetic.SYNTHETIC_MARKER`.
    truth, video
        the known answers for the marker file.
    prefix
        file name prefix.

    Returns
    -------
    dict
        ``openpose`` (the folder), ``trc`` and, when written, ``marker``.
    """
    out = Path(folder)
    write_openpose_json(kp, out, prefix=prefix)
    paths = {"openpose": out, "trc": write_trc(kp, out / f"{prefix}.trc")}
    if truth is not None:
        paths["marker"] = write_gait_marker(out, truth, video)
    return paths

