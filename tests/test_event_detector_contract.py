"""The contract every gait event detector keeps, checked on every detector and the data it accepts.

Cases: Zeni and foot velocity on a synthetic walker's markers (the analytic model of
``test_gait_events``), Zeni on the real UQAM Plug-in Gait trial (skipped when /work/shared is
absent), force plates on a synthetic C3D with two plates, and video keypoints of a synthetic walk
filmed from behind (``medius.testing.synthetic_gait``), filtered as the gait protocol does.

For each: the events are sorted, each side alternates foot strike / foot off, times lie within the
recording, every field is typed; each parameter is validated when the detector is built (a bad
value -> one ParameterError naming it); metamorphic: shifting the clock shifts the events by the
same amount, swapping the left and right data swaps the events' sides; an empty or too-short
recording raises NotJudgeableError with one line, never another exception.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medius.errors import NotJudgeableError
from medius.events import (
    EVENT_DETECTORS,
    FootVelocityEventDetector,
    ForcePlateEventDetector,
    ForcePlateTrial,
    GaitEventDetector,
    GaitEvents,
    VideoEventDetector,
    ZeniEventDetector,
)
from medius.io import Keypoints2D
from medius.io.force_plates import ForcePlates, read_force_plates
from medius.io.markers import Markers3D, read_c3d
from medius.kinematics._validation import ParameterError
from test_gait_events import gait_model, model_markers, plate_corners, plate_wrench, write_plate_c3d

UQAM = Path("/work/shared/data/uqam-plugin-gait/gait.c3d")


# ----------------------------------------------------------------------------- data transforms
def _swap_label(label: str) -> str:
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if label.startswith(a):
            return b + label[len(a):]
    if len(label) >= 2 and label[0] in "LR" and label[1].isupper():  # Plug-in Gait: LHEE <-> RHEE
        return ("R" if label[0] == "L" else "L") + label[1:]
    return label


def _markers_shift(m: Markers3D, dt: float) -> Markers3D:
    return m.replace(time_s=m.time_s + dt)


def _markers_swap(m: Markers3D) -> Markers3D:
    return m.replace(labels=tuple(_swap_label(x) for x in m.labels))


def _markers_cut(m: Markers3D, n: int) -> Markers3D:
    return m.slice_frames(slice(0, n))


def _plates_shift(plates: ForcePlates, dt: float) -> ForcePlates:
    return dataclasses.replace(plates, time_s=plates.time_s + dt)


def _plates_cut(plates: ForcePlates, t_end: float) -> ForcePlates:
    k = int(np.searchsorted(plates.time_s, t_end))
    cut = tuple(dataclasses.replace(p, grf_n=p.grf_n[:k], cop_m=p.cop_m[:k]) for p in plates)
    return dataclasses.replace(plates, plates=cut, time_s=plates.time_s[:k])


def _kp_shift(kp: Keypoints2D, dt: float) -> Keypoints2D:
    return kp.replace(time_s=kp.time_s + dt)


# ----------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One detector on one recording, with the recording's metamorphic transforms."""

    name: str
    detector: GaitEventDetector
    data: Any
    duration: tuple[float, float]  #: first and last sample time of the recording
    shift: Callable[[Any, float], Any]
    swap: Callable[[Any], Any]
    cut: Callable[[Any, int], Any]  #: the first n frames of the recording (n = 0 ... a few)


def _synthetic_markers() -> Markers3D:
    t, pts, _ = gait_model(rate_hz=100.0, duration_s=5.0)
    return model_markers(t, pts)


def _marker_case(name: str, detector: GaitEventDetector, m: Markers3D) -> Case:
    return Case(name, detector, m, (float(m.time_s[0]), float(m.time_s[-1])), _markers_shift, _markers_swap,
                _markers_cut)


def _plate_case(tmp: Path) -> Case:
    rate, ratio = 100.0, 10
    t, pts, truth = gait_model(rate_hz=rate, duration_s=4.0)
    m = model_markers(t, pts)
    t_an = np.arange(t.size * ratio) / (rate * ratio)
    wrenches, corners = [], []
    for side in ("left", "right"):
        fs = truth[side]["foot_strike"][1]
        fo = next(x for x in truth[side]["foot_off"] if x > fs)
        i = int(np.searchsorted(t, 0.5 * (fs + fo)))
        cop = 0.5 * (pts[f"{side}_heel"][i] + pts[f"{side}_toe"][i]) * 1000.0
        cor = plate_corners(cop[0] - 300.0, cop[1] - 200.0)
        wrenches.append(plate_wrench(t_an, fs, fo, (cop[0], cop[1]), cor, -40.0))
        corners.append(cor)
    plates = read_force_plates(write_plate_c3d(tmp / "plates.c3d", m, wrenches, corners, ratio=ratio))
    trial = ForcePlateTrial(plates, m)

    def shift(d: ForcePlateTrial, dt: float) -> ForcePlateTrial:
        return ForcePlateTrial(_plates_shift(d.plates, dt), _markers_shift(d.markers, dt))  # type: ignore[arg-type]

    def swap(d: ForcePlateTrial) -> ForcePlateTrial:
        return ForcePlateTrial(d.plates, _markers_swap(d.markers))  # type: ignore[arg-type]

    def cut(d: ForcePlateTrial, n: int) -> ForcePlateTrial:
        mk = _markers_cut(d.markers, n)  # type: ignore[arg-type]
        return ForcePlateTrial(_plates_cut(d.plates, n / rate), mk)

    return Case("force_plates/synthetic", ForcePlateEventDetector(), trial, (float(t[0]), float(t[-1])), shift,
                swap, cut)


def _video_case() -> Case:
    from medius.kinematics.filtering import preprocess
    from medius.testing.synthetic_gait import (
        CameraSpec,
        GaitSpec,
        make_gait_trial,
        render_gait_video_keypoints,
    )

    _, truth = make_gait_trial(GaitSpec(task="walk", duration_s=6.0))
    kp, _ = render_gait_video_keypoints(truth, camera=CameraSpec(fps=30.0, view="back", distance_m=3.0, seed=30))
    fk = preprocess(kp, min_confidence=0.5, max_gap_s=0.25, cutoff_hz=6.0, order=4)
    return Case("video_2d/synthetic", VideoEventDetector(view="back", task="walk"), fk,
                (float(fk.time_s[0]), float(fk.time_s[-1])), _kp_shift, lambda k: k.swap_left_right(),
                lambda k, n: k.slice_frames(slice(0, n)))


CASE_NAMES = ["zeni/synthetic", "velocity/synthetic", "zeni/uqam", "force_plates/synthetic", "video_2d/synthetic"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    m = _synthetic_markers()
    out = {
        "zeni/synthetic": _marker_case("zeni/synthetic", ZeniEventDetector(), m),
        "velocity/synthetic": _marker_case("velocity/synthetic", FootVelocityEventDetector(), m),
        "force_plates/synthetic": _plate_case(tmp_path_factory.mktemp("plates")),
        "video_2d/synthetic": _video_case(),
    }
    if UQAM.is_file():
        out["zeni/uqam"] = _marker_case("zeni/uqam", ZeniEventDetector(), read_c3d(UQAM))
    return out


@pytest.fixture(params=CASE_NAMES)
def case(request: pytest.FixtureRequest, cases: dict[str, Case]) -> Case:
    if request.param not in cases:
        pytest.skip(f"{request.param}: /work/shared/data absent")
    return cases[request.param]


def _detect(c: Case, data: Any) -> GaitEvents:
    return c.detector.detect(data)


# ----------------------------------------------------------------------------- the contract
def test_every_detector_is_in_the_contract() -> None:
    assert set(EVENT_DETECTORS) == {n.split("/")[0] for n in CASE_NAMES}
    for method, cls in EVENT_DETECTORS.items():
        det = cls()  # every parameter has a default
        assert isinstance(det, GaitEventDetector) and det.method == method
        assert json.loads(json.dumps(det.get_params())) == det.get_params()
        assert cls(**det.get_params()) == det and hash(det) == hash(cls())  # immutable, rebuildable
        for p in det.get_params():  # every parameter documented in the class docstring
            assert f"\n    {p}" in (cls.__doc__ or "") or f", {p}\n" in (cls.__doc__ or ""), (cls.__name__, p)


def test_events_are_sorted_alternating_within_the_recording_and_typed(case: Case) -> None:
    res = _detect(case, case.data)
    assert isinstance(res, GaitEvents) and res.method == case.detector.method
    assert isinstance(res.notes, tuple) and all(isinstance(n, str) for n in res.notes)
    json.dumps(dict(res.info))  # JSON-able
    assert len(res) >= 4
    t0, t1 = case.duration
    for e in res.events:
        assert set(e) == {"side", "kind", "time_s"}
        assert e["side"] in ("left", "right") and e["kind"] in ("foot_strike", "foot_off")
        assert type(e["time_s"]) is float and math.isfinite(e["time_s"])
        assert t0 <= e["time_s"] <= t1
    times = [e["time_s"] for e in res.events]
    assert times == sorted(times)
    for side in ("left", "right"):
        kinds = [e["kind"] for e in res.events if e["side"] == side]
        assert kinds, side
        assert all(a != b for a, b in zip(kinds[:-1], kinds[1:], strict=True)), (side, kinds)


def test_a_time_shift_shifts_the_events(case: Case) -> None:
    dt = 12.345
    a = _detect(case, case.data)
    b = _detect(case, case.shift(case.data, dt))
    assert [(e["side"], e["kind"]) for e in b.events] == [(e["side"], e["kind"]) for e in a.events]
    np.testing.assert_allclose([e["time_s"] for e in b.events], [e["time_s"] + dt for e in a.events], atol=1e-6)


def test_swapping_left_and_right_swaps_the_sides(case: Case) -> None:
    other = {"left": "right", "right": "left"}
    a = _detect(case, case.data)
    b = _detect(case, case.swap(case.data))
    key = lambda e: (round(e["time_s"], 6), e["kind"], e["side"])  # noqa: E731
    expect = sorted(({**e, "side": other[e["side"]]} for e in a.events), key=key)
    assert [(e["side"], e["kind"]) for e in sorted(b.events, key=key)] == [(e["side"], e["kind"]) for e in expect]
    np.testing.assert_allclose(sorted(e["time_s"] for e in b.events), sorted(e["time_s"] for e in a.events),
                               atol=1e-9)


@pytest.mark.parametrize("n_frames", [0, 2, 9, 30])
def test_an_empty_or_too_short_recording_is_not_judgeable(case: Case, n_frames: int) -> None:
    with pytest.raises(NotJudgeableError) as info:
        _detect(case, case.cut(case.data, n_frames))
    assert "\n" not in info.value.message and info.value.message


BAD_PARAMETERS: list[tuple[type, str, Any]] = [
    (ZeniEventDetector, "task", "swim"),
    (ZeniEventDetector, "stride_time_s", 0.0),
    (ZeniEventDetector, "min_prominence_fraction", 1.5),
    (ZeniEventDetector, "min_excursion_m", -0.1),
    (FootVelocityEventDetector, "task", "crawl"),
    (FootVelocityEventDetector, "stride_time_s", -1.0),
    (FootVelocityEventDetector, "cutoff_hz", 0.0),
    (FootVelocityEventDetector, "min_prominence_fraction", float("nan")),
    (FootVelocityEventDetector, "min_lift_m", -0.01),
    (ForcePlateEventDetector, "threshold_n", 0.0),
    (ForcePlateEventDetector, "min_contact_s", -0.05),
    (ForcePlateEventDetector, "max_cop_distance_m", "far"),
    (VideoEventDetector, "view", "side"),
    (VideoEventDetector, "task", "swim"),
    (VideoEventDetector, "cutoff_hz", -6.0),
    (VideoEventDetector, "stance_fraction", 0.0),
    (VideoEventDetector, "min_stance_s", -0.2),
    (VideoEventDetector, "min_swing_s", float("inf")),
]


def test_every_parameter_is_in_the_bad_value_table() -> None:
    covered = {(cls, name) for cls, name, _ in BAD_PARAMETERS}
    for cls in EVENT_DETECTORS.values():
        for name in cls().get_params():
            assert (cls, name) in covered, (cls.__name__, name)


@pytest.mark.parametrize(("cls", "name", "value"), BAD_PARAMETERS,
                         ids=[f"{c.__name__}-{n}" for c, n, _ in BAD_PARAMETERS])
def test_a_bad_parameter_is_one_clear_error_when_built(cls: type, name: str, value: Any) -> None:
    with pytest.raises(ParameterError) as info:
        cls(**{name: value})
    msg = str(info.value)
    assert f"'{name}'" in msg and repr(value) in msg and "\n" not in msg, msg


# ----------------------------------------------------------------------------- the event-source choice
UQAM_DEMO = Path(__file__).parent / "data" / "uqam"


@pytest.fixture(scope="module")
def uqam_trial() -> tuple[Markers3D, Any, Path]:
    from medius.kinematics.labtrial import prepare_lab_trial

    path = UQAM_DEMO / "gait-lower-body.c3d"
    markers = read_c3d(path)
    angles, _ = prepare_lab_trial(markers, static=read_c3d(UQAM_DEMO / "static-100frames.c3d"),
                                  marker_set=UQAM_DEMO / "plug-in-gait-static-medial.yaml")
    return markers, angles, path


def test_choose_lab_events_says_which_source_and_why(uqam_trial: tuple[Markers3D, Any, Path]) -> None:
    from medius.errors import InvalidInputError
    from medius.events import choose_lab_events

    markers, angles, path = uqam_trial
    ms = UQAM_DEMO / "plug-in-gait-static-medial.yaml"
    auto = choose_lab_events(markers, angles, path=path, task="walk", marker_set=ms)
    assert auto.used == "markers" and auto.info["requested"] == "auto" and auto.info["marker_method"] == "zeni"
    assert auto.info["n"] == len(auto.events) >= 8 and auto.warnings == []
    assert {e["source"] for e in auto.events} == {"markers"}
    assert [e["time_s"] for e in auto.events] == sorted(e["time_s"] for e in auto.events)
    # the C3D's own EVENT times (its EVENT:CONTEXTS are empty: sides from the feet)
    own = choose_lab_events(markers, angles, path=path, task="walk", source="file", marker_set=ms)
    assert own.used == "file" and own.info["sides_assigned_from_feet"] is True
    assert {e["side"] for e in own.events} == {"left", "right"}
    # no plates in this file: asking for them is one clear error naming the file
    with pytest.raises(InvalidInputError, match="no foot contacts on force plates") as info:
        choose_lab_events(markers, angles, path=path, task="walk", source="force-plates", marker_set=ms)
    assert info.value.path == path
    with pytest.raises(ParameterError, match="'source'"):
        choose_lab_events(markers, angles, path=path, task="walk", source="guess", marker_set=ms)
