"""Gait event detectors as small algorithm objects with one interface.

Every detector is a frozen dataclass: its parameters are set (and validated: a bad value raises
one :class:`~medius.kinematics._validation.ParameterError` naming the parameter, the allowed
values and the value given) when it is built, it holds no data, and
``detect(data, /) -> GaitEvents`` returns the events of one recording. The convention is
*return the events* rather than gaitmap's *return self*: a detector stays immutable and
hashable, so one instance can serve many recordings (a batch, threads) and be recorded as
provenance (:meth:`get_params`).

=============================  ==================================  ================================
detector                       ``detect(data)`` takes              ``GaitEvents.method``
=============================  ==================================  ================================
:class:`ZeniEventDetector`     :class:`~medius.io.markers.Markers3D` or ``LabAngles``  ``"zeni"``
:class:`FootVelocityEventDetector`  the same                       ``"velocity"``
:class:`ForcePlateEventDetector`    :class:`ForcePlateTrial` (plates + the foot markers)  ``"force_plates"``
:class:`VideoEventDetector`    :class:`~medius.io.Keypoints2D`     ``"video_2d"``
=============================  ==================================  ================================

Contract (``tests/test_event_detector_contract.py`` checks it for every detector): the events are
sorted by time, each side alternates foot strike / foot off, times lie within the recording;
shifting the recording in time shifts the events by the same amount; swapping the left and right
data swaps the events' sides; a recording without gait (empty, too short, standing) raises
:class:`~medius.errors.NotJudgeableError` with one line saying why, never another exception.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, Protocol, runtime_checkable

from medius.events._gait import (
    GaitEvents,
    _force_plate_events,
    _marker_events,
    _video_events,
)
from medius.kinematics._validation import check_option, check_real

if TYPE_CHECKING:  # pragma: no cover
    from medius.io import Keypoints2D
    from medius.io.force_plates import ForcePlates
    from medius.io.markers import Markers3D
    from medius.kinematics.angles3d import LabAngles, LabAxes

__all__ = [
    "EVENT_DETECTORS",
    "FootVelocityEventDetector",
    "ForcePlateEventDetector",
    "ForcePlateTrial",
    "GaitEventDetector",
    "VideoEventDetector",
    "ZeniEventDetector",
    "detect_events_markers",
]

_TASKS = ("walk", "run")


@runtime_checkable
class GaitEventDetector(Protocol):
    """What every gait event detector offers.

    ``method`` names the algorithm (written into :attr:`GaitEvents.method`); ``detect`` takes one
    recording (its type depends on the detector) and returns its :class:`GaitEvents`;
    ``get_params`` gives the parameters (JSON-able) for provenance.
    """

    method: ClassVar[str]

    def detect(self, data: Any, /) -> GaitEvents: ...

    def get_params(self) -> dict[str, Any]: ...


class _Params:
    """``get_params`` for the dataclass detectors."""

    def get_params(self) -> dict[str, Any]:
        """The parameters, as given when the detector was built."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


def _opt_real(name: str, value: float | None, **kw: Any) -> float | None:
    return None if value is None else check_real(name, value, **kw)


# ----------------------------------------------------------------------------- markers
class _MarkerDetector(_Params):
    """``detect`` for the per-foot marker detectors: ``task`` and ``stride_time_s`` are the
    trial's, every other parameter goes to the per-foot method named by ``method``."""

    method: ClassVar[Literal["zeni", "velocity"]]

    def detect(self, data: Markers3D | LabAngles, /, *, axes: LabAxes | None = None) -> GaitEvents:
        """The gait events of the marker trial ``data``."""
        per_foot = self.get_params()
        task, stride_time_s = per_foot.pop("task"), per_foot.pop("stride_time_s")
        return _marker_events(data, axes, used=self.method, task=task, stride_time_s=stride_time_s,
                              per_foot=per_foot)


@dataclass(frozen=True)
class ZeniEventDetector(_MarkerDetector):
    """Foot strikes and foot offs of a marker trial by the coordinate method of Zeni et al. (2008).

    Per foot (:func:`~medius.events.detect_events_zeni`): foot strike at each maximum of the
    heel's forward position relative to the pelvis, foot off at each minimum of the toe's; the
    forward direction follows the walking direction (turns), and a trial whose pelvis moves
    forward slower than :data:`~medius.events._gait.TREADMILL_MAX_SPEED_M_S` is taken as a
    treadmill. Published for walking; ``medius analyze`` uses it for running too (on the
    synthetic running trials it is within half a sample, the foot-velocity algorithm 4 to 16
    samples late; docs/gait-events.md, "Measured accuracy").

    Parameters
    ----------
    task
        ``"walk"`` or ``"run"`` (recorded in ``info``).
    stride_time_s
        expected stride time; None estimates it per foot from the heel signal.
    min_prominence_fraction
        an extremum must stand out by this fraction of the signal's 5-95 % range.
    min_excursion_m
        below this 5-95 % range of the heel signal the foot is not stepping.

    Other Parameters
    ----------------
    data
        (``detect``) a :class:`~medius.io.markers.Markers3D` with Plug-in Gait foot markers
        (``LHEE``, ``LTOE``, ``RHEE``, ``RTOE`` and ``SACR``, ``LPSI``/``RPSI`` or
        ``LASI``/``RASI``) or canonical names (``left_heel``, ``pelvis_origin`` ...), or a
        ``LabAngles`` (its joint centres and axes).
    axes
        (``detect``, keyword) the lab's forward and up directions; None: those of the
        LabAngles, else found from the markers (up: the lab axis closest to heels -> pelvis;
        forward: the pelvis travel, or the heel-to-toe direction on a treadmill).

    Notes
    -----
    ``info`` of the result has ``treadmill``, ``pelvis_speed_m_s``, the axes used and the
    reference. Raises :class:`~medius.errors.InvalidInputError` when foot or pelvis markers are
    missing, :class:`~medius.errors.NotJudgeableError` when a foot shows no strides.

    References
    ----------
    Zeni JA, Richards JG, Higginson JS (2008) Two simple methods for determining gait events
    during treadmill and overground walking using kinematic data. Gait Posture 27:710-714.
    """

    task: Literal["walk", "run"] = "walk"
    stride_time_s: float | None = None
    min_prominence_fraction: float = 0.3
    min_excursion_m: float = 0.1

    method = "zeni"

    def __post_init__(self) -> None:
        check_option("task", self.task, _TASKS)
        _opt_real("stride_time_s", self.stride_time_s, low=0.0, low_inclusive=False)
        check_real("min_prominence_fraction", self.min_prominence_fraction, low=0.0, high=1.0)
        check_real("min_excursion_m", self.min_excursion_m, low=0.0)


@dataclass(frozen=True)
class FootVelocityEventDetector(_MarkerDetector):
    """Foot strikes and foot offs of a marker trial by the foot-velocity algorithm (O'Connor et al. 2007).

    Per foot (:func:`~medius.events.detect_events_velocity`): the vertical velocity of the foot
    centre (midpoint of heel and toe) peaks at foot off and has its trough as the foot comes down
    (foot strike). Measured far worse than Zeni on our trials (docs/gait-events.md); kept for
    comparison.

    Parameters
    ----------
    task
        ``"walk"`` or ``"run"`` (recorded in ``info``).
    stride_time_s
        expected stride time; None estimates it per foot from the foot-centre height.
    cutoff_hz
        low-pass cut-off of the foot-centre height before differentiating (None: no filter).
    min_prominence_fraction
        a velocity peak must stand out by this fraction of the velocity's 5-95 % range.
    min_lift_m
        below this 5-95 % range of the foot-centre height the foot is not stepping.

    Other Parameters
    ----------------
    data, axes
        (``detect``) as for :class:`ZeniEventDetector`.

    References
    ----------
    O'Connor CM, Thorpe SK, O'Malley MJ, Vaughan CL (2007) Automatic detection of gait events
    using kinematic data. Gait Posture 25:469-474.
    """

    task: Literal["walk", "run"] = "walk"
    stride_time_s: float | None = None
    cutoff_hz: float | None = None
    min_prominence_fraction: float = 0.3
    min_lift_m: float = 0.03

    method = "velocity"

    def __post_init__(self) -> None:
        check_option("task", self.task, _TASKS)
        _opt_real("stride_time_s", self.stride_time_s, low=0.0, low_inclusive=False)
        _opt_real("cutoff_hz", self.cutoff_hz, low=0.0, low_inclusive=False)
        check_real("min_prominence_fraction", self.min_prominence_fraction, low=0.0, high=1.0)
        check_real("min_lift_m", self.min_lift_m, low=0.0)


def detect_events_markers(
    source: Markers3D | LabAngles,
    axes: LabAxes | None = None,
    *,
    method: Literal["auto", "zeni", "velocity"] = "auto",
    task: Literal["walk", "run"] = "walk",
    stride_time_s: float | None = None,
) -> GaitEvents:
    """Gait events of a marker trial without force plates, by the method chosen by name.

    ``method``: ``"zeni"`` (:class:`ZeniEventDetector`), ``"velocity"``
    (:class:`FootVelocityEventDetector`) or ``"auto"``: Zeni, for walking and running (the
    foot-velocity algorithm measured far worse, docs/gait-events.md). ``source``, ``axes``: as
    for the detectors' ``detect``; ``task``, ``stride_time_s``: their parameters.
    """
    meth = check_option("method", method, ("auto", "zeni", "velocity"))
    cls: type[ZeniEventDetector] | type[FootVelocityEventDetector] = (
        FootVelocityEventDetector if meth == "velocity" else ZeniEventDetector
    )
    return cls(task=task, stride_time_s=stride_time_s).detect(source, axes=axes)


# ----------------------------------------------------------------------------- force plates
class ForcePlateTrial(NamedTuple):
    """What :class:`ForcePlateEventDetector` reads: the plates and the foot markers, one clock."""

    plates: ForcePlates
    #: the foot markers (as for :class:`ZeniEventDetector`) or a ``LabAngles``
    markers: Markers3D | LabAngles


@dataclass(frozen=True)
class ForcePlateEventDetector(_Params):
    """Foot strikes and foot offs from the force plates of a trial.

    A contact is a run of analog samples where a plate's vertical force exceeds
    ``threshold_n``: the foot strike is the first sample above the threshold, the foot off the
    first sample below it again (times of those analog samples). A contact already under way
    at the start of the recording gives no foot strike, one still under way at its end no foot
    off. The side is the foot (heel-toe segment, heel, toe or ankle) closest to the centre of
    pressure at mid-contact.

    Dropped, each with a note: contacts shorter than ``min_contact_s``; contacts whose centre
    of pressure is further than ``max_cop_distance_m`` from both feet; contacts where two feet
    share the plate (the closest foot changes between the first and last third of the contact,
    or the other foot stands over the plate at mid-contact); contacts of one foot on two plates
    at once (both dropped).

    Parameters
    ----------
    threshold_n
        vertical-force threshold in newtons.
    min_contact_s
        shorter contacts are dropped (noise, a brush of the plate).
    max_cop_distance_m
        farthest the centre of pressure may be from the foot it is given to.

    Other Parameters
    ----------------
    data
        (``detect``) a :class:`ForcePlateTrial`: the plates
        (:func:`medius.io.force_plates.read_force_plates`) and the foot markers on the same clock.

    Notes
    -----
    ``info["contacts"]`` of the result lists every contact kept: plate, side, strike and off
    times. Raises :class:`~medius.errors.NotJudgeableError` when the trial has no force plates
    or no contact on them.
    """

    threshold_n: float = 20.0
    min_contact_s: float = 0.05
    max_cop_distance_m: float = 0.25

    method: ClassVar[str] = "force_plates"

    def __post_init__(self) -> None:
        check_real("threshold_n", self.threshold_n, low=0.0, low_inclusive=False)
        check_real("min_contact_s", self.min_contact_s, low=0.0)
        check_real("max_cop_distance_m", self.max_cop_distance_m, low=0.0, low_inclusive=False)

    def detect(self, data: ForcePlateTrial, /) -> GaitEvents:
        """The gait events the plates of ``data`` saw."""
        plates, markers = data
        return _force_plate_events(
            plates, markers, threshold_n=float(self.threshold_n), min_contact_s=float(self.min_contact_s),
            max_cop_distance_m=float(self.max_cop_distance_m),
        )


# ----------------------------------------------------------------------------- video
@dataclass(frozen=True)
class VideoEventDetector(_Params):
    """Foot strikes and foot offs from 2D keypoints of a person walking or running, filmed from
    behind or the front (over ground or on a treadmill).

    A planted foot does not move over the ground: a fixed camera sees it still (over ground) or
    sliding along the image's vertical at the belt's speed (treadmill); a swinging foot lifts
    and travels forward. Everything is measured on the image ``y`` of each foot's own heel and
    toe (a foot's events come from its keypoints only: sides are never exchanged), divided by
    the leg length in pixels (mid-hip to the lower ankle, 90th percentile over 1.5 s, so a
    person walking away and shrinking keeps the same scale).

    1. **Stride structure.** The stride time is the dominant period of the heels' image
       velocity (autocorrelation). The planted-foot velocity is the median velocity of the lower
       foot (nearer the image bottom). A foot is *still* while its heel or toe moves at that
       velocity within ``stance_fraction`` of its swing speed (velocities smoothed to four
       harmonics of the stride walking, seven running, whose stance is a shorter part of the
       stride); one stance per stride is the stretch of still samples around
       each peak of their running mean over a quarter stride (mid-stance).
    2. **Events.** The marker velocity steps at the contacts, so the image-y acceleration has a
       sharp extremum there. Foot off: the toe leaves the planted velocity upwards, the
       strongest minimum of the toe's acceleration in the half stride after mid-stance (0.4 to 1
       frame late on the synthetic reference). Foot strike: the descending heel stops, the
       strongest minimum of the heel's acceleration in the half stride before mid-stance (a
       frame or two early); filmed from behind, the forefoot then drops to the floor and the
       toe's strongest acceleration maximum just after it is taken (within half a frame). On a
       treadmill filmed from behind (the planted foot moves down the image), the strike is the
       heel's turn back with the belt after the swing's lift and descent, its most anterior
       position relative to the pelvis (Zeni 2008), where that pattern is there.
       Events whose search window is cut by the trial's edge are left out.

    Keypoints already low-pass filtered (a ``lowpass_filter`` step in their log, as
    :func:`medius.kinematics.filtering.preprocess` leaves) are used as they are; others are
    filtered at ``cutoff_hz`` first.

    Parameters
    ----------
    view
        ``"back"`` or ``"front"``: where the camera is. From the front the swinging foot comes
        towards the camera, so the forefoot-drop refinement of the foot strike is not used.
    task
        ``"walk"`` or ``"run"``: sets the default minimum stance (walk 0.2 s, run 0.08 s) and
        swing (walk 0.2 s, run 0.15 s) durations.
    cutoff_hz
        zero-lag low-pass filter applied before differentiating when the keypoints were not
        filtered upstream (None: none). Must be below half the frame rate.
    stance_fraction
        the still band, as a fraction of the swing speed.
    min_stance_s, min_swing_s
        override the task defaults: shorter still moments (away from the trial edges) are not
        stances, shorter dips inside a stance (and than 5 % of a stride) are bridged.

    Other Parameters
    ----------------
    data
        (``detect``) :class:`~medius.io.Keypoints2D` (heels, toes, ankles and hips; NaN allowed,
        short holes are bridged).

    Notes
    -----
    ``info`` of the result has the leg length in px, the planted-foot velocity (leg lengths per
    second), the thresholds, the stride time, whether the keypoints were already filtered and
    the cut-off used. Raises :class:`~medius.errors.NotJudgeableError` when hips or feet are not
    seen, the frame rate is too low for the filter, or a foot shows no foot strike (standing
    still, not gait).
    """

    view: Literal["back", "front"] = "back"
    task: Literal["walk", "run"] = "walk"
    cutoff_hz: float | None = 6.0
    stance_fraction: float = 0.15
    min_stance_s: float | None = None
    min_swing_s: float | None = None

    method: ClassVar[str] = "video_2d"

    def __post_init__(self) -> None:
        check_option("view", self.view, ("back", "front"))
        check_option("task", self.task, _TASKS)
        check_real("stance_fraction", self.stance_fraction, low=0.0, high=1.0, low_inclusive=False)
        _opt_real("min_stance_s", self.min_stance_s, low=0.0)
        _opt_real("min_swing_s", self.min_swing_s, low=0.0)
        _opt_real("cutoff_hz", self.cutoff_hz, low=0.0, low_inclusive=False)

    def detect(self, data: Keypoints2D, /) -> GaitEvents:
        """The gait events of the keypoints ``data``."""
        return _video_events(
            data, view=self.view, task=self.task,
            cutoff_hz=None if self.cutoff_hz is None else float(self.cutoff_hz),
            stance_fraction=float(self.stance_fraction),
            min_stance_s=None if self.min_stance_s is None else float(self.min_stance_s),
            min_swing_s=None if self.min_swing_s is None else float(self.min_swing_s),
        )


#: every gait event detector, by ``method``
EVENT_DETECTORS: dict[str, type[Any]] = {
    cls.method: cls
    for cls in (ZeniEventDetector, FootVelocityEventDetector, ForcePlateEventDetector, VideoEventDetector)
}
