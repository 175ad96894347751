"""The flip test (medius.pose.FlipTestBackend): exact mirror equivariance with a biased model.

The model here is a deterministic stand-in with the faults that make a real model
mirror-asymmetric: it finds keypoints drawn as coded pixels, names left and right by where they
lie (a person facing the camera has their left side on the image's right, so a mirrored person
gets the names exchanged, as a real model would), then shifts every keypoint 4 px to the right
and trusts right-side keypoints less. On its own it is not mirror-equivariant; wrapped in the
flip test it is, to rounding. The real model on a real clip: tests/test_video_real_portrait.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from medius.errors import InvalidInputError
from medius.io import KEYPOINTS
from medius.pose import FlipTestBackend, PersonPose
from medius.pose._flip import FLIP_PAIRS, combine_flip, mirror_pose

W, H = 200, 160
K = len(KEYPOINTS)


def _base(name: str) -> str:
    return name.removeprefix("left_").removeprefix("right_")


BASES = sorted({_base(n) for n in KEYPOINTS})


class BiasedModel:
    """Finds pixels coded ``10 + base index`` in channel 0, names sides by x, and is biased."""

    name = "biased-test-model"

    def __init__(self, people: int = 1) -> None:
        self.people = people
        self.closed = False
        self.calls = 0

    def describe(self) -> dict:
        return {"name": self.name}

    def detect(self, image: np.ndarray, time_s: float) -> list[PersonPose]:
        self.calls += 1
        found = []
        # each person is drawn in its own channel-1 code (1, 2, ...)
        for person in range(1, self.people + 1):
            xy = np.full((K, 2), np.nan)
            conf = np.zeros(K)
            for b, base in enumerate(BASES):
                ys, xs = np.nonzero((image[:, :, 0] == 10 + b) & (image[:, :, 1] == person))
                pts = sorted(zip(xs + 0.5, ys + 0.5, strict=True))  # pixel centres, by x
                if not pts:
                    continue
                # a midline point, or a pair: the image-right one is the person's left (facing the camera)
                names = [base] if base in KEYPOINTS else [f"right_{base}", f"left_{base}"]
                for name, (x, y) in zip(names, pts, strict=False):
                    i = KEYPOINTS.index(name)
                    xy[i] = (x + 4.0, y)  # systematic rightward bias
                    conf[i] = 0.6 if name.startswith("right_") else 0.9
            if np.isfinite(xy).any():
                found.append(PersonPose(xy=xy, confidence=conf))
        return found

    def close(self) -> None:
        self.closed = True


def _person(rng: np.random.Generator, x0: float) -> np.ndarray:
    """Integer pixel positions of one person's keypoints around ``x0``, left side on image right."""
    xy = np.zeros((K, 2), dtype=int)
    for i, name in enumerate(KEYPOINTS):
        if name.startswith("left_"):
            dx = 12 + rng.integers(0, 10)
        elif name.startswith("right_"):
            dx = -(12 + rng.integers(0, 10))
        else:
            dx = rng.integers(-3, 4)
        xy[i] = (x0 + dx, 10 + 6 * i + rng.integers(0, 3))
    return xy


def _image(people: list[np.ndarray]) -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    for p, xy in enumerate(people, start=1):
        for i, name in enumerate(KEYPOINTS):
            img[xy[i, 1], xy[i, 0], 0] = 10 + BASES.index(_base(name))
            img[xy[i, 1], xy[i, 0], 1] = p
    return img


def _mirror_people(people: list[PersonPose]) -> list[PersonPose]:
    return [mirror_pose(p, W) for p in people]


def _assert_same(a: list[PersonPose], b: list[PersonPose]) -> None:
    assert len(a) == len(b)
    for p, q in zip(a, b, strict=True):
        np.testing.assert_allclose(p.xy, q.xy, atol=1e-9)
        np.testing.assert_allclose(p.confidence, q.confidence, atol=1e-12)


def test_flip_pairs_exchange_left_and_right_and_keep_the_midline():
    for i, name in enumerate(KEYPOINTS):
        partner = KEYPOINTS[FLIP_PAIRS[i]]
        assert partner == name.replace("left_", "#").replace("right_", "left_").replace("#", "right_")
    assert FLIP_PAIRS[KEYPOINTS.index("nose")] == KEYPOINTS.index("nose")
    assert all(FLIP_PAIRS[FLIP_PAIRS[i]] == i for i in range(K))


def test_mirror_pose_twice_is_the_identity_and_uses_the_pixel_edge_origin():
    pose = PersonPose(xy=np.arange(2 * K, dtype=float).reshape(K, 2), confidence=np.linspace(0, 1, K))
    again = mirror_pose(mirror_pose(pose, W), W)
    np.testing.assert_array_equal(again.xy, pose.xy)
    # a point on the left edge of the image goes to the right edge (origin: corner of the first pixel)
    edge = PersonPose(xy=np.zeros((K, 2)), confidence=np.ones(K))
    assert np.all(mirror_pose(edge, W).xy[:, 0] == W)


def test_biased_model_alone_is_not_mirror_equivariant():
    img = _image([_person(np.random.default_rng(1), 100)])
    model = BiasedModel()
    direct = model.detect(img, 0.0)
    on_mirror = _mirror_people(model.detect(np.ascontiguousarray(img[:, ::-1]), 0.0))
    assert np.max(np.abs(direct[0].xy - on_mirror[0].xy)) == pytest.approx(8.0)


@pytest.mark.parametrize("parallel", [True, False])
def test_flip_test_is_exactly_mirror_equivariant(parallel):
    rng = np.random.default_rng(7)
    for trial in range(5):
        img = _image([_person(rng, 60 + 15 * trial)])
        with FlipTestBackend(BiasedModel, parallel=parallel) as flip:
            on_image = flip.detect(img, 0.0)
        with FlipTestBackend(BiasedModel, parallel=parallel) as flip:
            on_mirror = flip.detect(np.ascontiguousarray(img[:, ::-1]), 0.0)
        _assert_same(on_image, _mirror_people(on_mirror))


def test_flip_test_removes_a_systematic_bias_and_averages_confidence():
    xy = _person(np.random.default_rng(3), 100)
    with FlipTestBackend(BiasedModel) as flip:
        (pose,) = flip.detect(_image([xy]), 0.0)
    # weights 0.9 / 0.6: +4 px from the direct view, -4 px from the mirrored one
    expect_x = xy[:, 0] + 0.5 + np.where(
        [n.startswith("left_") for n in KEYPOINTS], (0.9 * 4 - 0.6 * 4) / 1.5,
        np.where([n.startswith("right_") for n in KEYPOINTS], (0.6 * 4 - 0.9 * 4) / 1.5, 0.0),
    )
    np.testing.assert_allclose(pose.xy[:, 0], expect_x, atol=1e-9)
    np.testing.assert_allclose(pose.xy[:, 1], xy[:, 1] + 0.5, atol=1e-9)
    sided = [n for n in KEYPOINTS if n.startswith(("left_", "right_"))]
    np.testing.assert_allclose(pose.confidence[[KEYPOINTS.index(n) for n in sided]], 0.75)


def test_two_people_are_paired_with_themselves_and_ordered_alike_in_the_mirror():
    rng = np.random.default_rng(11)
    img = _image([_person(rng, 45), _person(rng, 150)])
    with FlipTestBackend(lambda: BiasedModel(people=2)) as flip:
        on_image = flip.detect(img, 0.0)
    with FlipTestBackend(lambda: BiasedModel(people=2)) as flip:
        on_mirror = flip.detect(np.ascontiguousarray(img[:, ::-1]), 0.0)
    assert len(on_image) == 2
    assert all(p.extra.get("flip_test") == "merged" for p in on_image)
    _assert_same(on_image, _mirror_people(on_mirror))


def test_a_person_seen_in_one_view_only_is_kept_and_far_detections_are_not_merged():
    a = PersonPose(xy=np.tile([[50.0, 80.0]], (K, 1)) + np.arange(K)[:, None], confidence=np.full(K, 0.8))
    b = PersonPose(xy=a.xy + [120.0, 0.0], confidence=np.full(K, 0.7))
    assert len(combine_flip([a], [])) == 1
    assert len(combine_flip([], [b])) == 1
    both = combine_flip([a], [b])  # two different people
    assert len(both) == 2 and both[0] is a  # the more confident first
    assert combine_flip([b], [a])[0] is a  # the same order when the lists are exchanged


def test_describe_names_the_flip_test_and_close_closes_both_models():
    made = []

    def make():
        made.append(BiasedModel())
        return made[-1]

    flip = FlipTestBackend(make)
    info = flip.describe()
    assert info["name"] == "biased-test-model" and "mirror" in info["flip_test"]["method"]
    assert flip.name == "biased-test-model+flip-test"
    flip.detect(_image([_person(np.random.default_rng(2), 100)]), 0.0)
    assert [m.calls for m in made] == [1, 1]
    flip.close()
    assert all(m.closed for m in made)


def test_flip_test_on_keypoint_input_is_refused(tmp_path):
    from medius.analysis import AnalysisRequest
    from medius.report.outputs import run_analysis

    trc = tmp_path / "points.trc"
    trc.write_text("not read\n")
    with pytest.raises(InvalidInputError, match="flip test"):
        run_analysis(AnalysisRequest(trc, out_dir=tmp_path / "out", flip_test=True))
    assert not (tmp_path / "out").exists()


def test_cli_refuses_the_flip_test_for_keypoints_in_one_line(tmp_path):
    from tests.conftest import run_medius

    keypoints = tmp_path / "kp"
    assert run_medius("synth", keypoints, "--force").returncode == 0
    out = tmp_path / "out"
    proc = run_medius("analyze", keypoints, "--fps", "30", "--out", out, "--flip-test")
    assert proc.returncode == 4, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "flip test" in lines[0] and str(keypoints.name) in lines[0]
    assert "Traceback" not in proc.stderr and not out.exists()
