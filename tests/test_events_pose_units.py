"""Known answers for the rep detector, the stance-leg rule, person selection and left/right checks."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

from medius.events import SquatRepDetector, detect_stance_side
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.pose._select import select_person
from medius.pose._sides import correct_left_right
from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats
from tests.conftest import five_and_five


def squats(n=5, fps=30.0, depth=15.0, rep_s=2.0, pause_s=1.0, lead_s=1.0):
    """Depth signal of n raised-cosine reps; returns (t, depth, bottoms, starts, ends)."""
    total = lead_s + n * (rep_s + pause_s)
    t = np.arange(0, total, 1 / fps)
    d = np.zeros_like(t)
    bottoms, starts, ends = [], [], []
    for k in range(n):
        t0 = lead_s + k * (rep_s + pause_s)
        m = (t >= t0) & (t <= t0 + rep_s)
        d[m] = depth * 0.5 * (1 - np.cos(2 * np.pi * (t[m] - t0) / rep_s))
        bottoms.append(int(np.argmin(np.abs(t - (t0 + rep_s / 2)))))
        starts.append(int(np.argmin(np.abs(t - t0))))
        ends.append(int(np.argmin(np.abs(t - (t0 + rep_s)))))
    return t, d, bottoms, starts, ends


def test_five_reps_at_the_right_frames():
    t, d, bottoms, starts, ends = squats()
    det = SquatRepDetector().detect(d, t)
    assert det is not None and len(det.reps_) == 5
    assert [r.bottom for r in det.reps_] == bottoms
    assert all(abs(r.start - s) <= 1 for r, s in zip(det.reps_, starts, strict=True))
    assert all(abs(r.end - e) <= 1 for r, e in zip(det.reps_, ends, strict=True))
    assert all(r.status == "complete" for r in det.reps_)
    assert det.reps_[0].depth_pct == pytest.approx(15.0, abs=0.01)


def test_recording_cut_during_a_rep_is_partial():
    t, d, *_ = squats(n=3, lead_s=1.0)
    cut = np.searchsorted(t, 1.0 + 2 * 3.0 + 0.8)  # stop in the middle of the third rep
    det = SquatRepDetector().detect(d[:cut], t[:cut])
    assert [r.status for r in det.reps_] == ["complete", "complete", "partial"]
    assert "ends during the rep" in det.reps_[-1].note


def test_noise_and_nan_gaps_do_not_create_reps():
    rng = np.random.default_rng(0)
    t, d, bottoms, *_ = squats(n=4)
    d = d + rng.normal(0, 0.3, d.size)
    d[50:55] = np.nan
    det = SquatRepDetector().detect(d, t)
    assert len(det.reps_) == 4
    assert all(abs(r.bottom - b) <= 3 for r, b in zip(det.reps_, bottoms, strict=True))


def test_flat_signal_has_no_reps():
    t = np.arange(0, 5, 1 / 30)
    assert SquatRepDetector().detect(np.zeros_like(t), t).reps_ == []
    assert SquatRepDetector().detect(np.full_like(t, np.nan), t).reps_ == []


def test_stance_side_from_the_planted_foot():
    n = 60
    still = np.full(n, 1000.0)
    moving = 900 + 60 * np.sin(np.linspace(0, np.pi, n))
    assert detect_stance_side(still, moving, 600.0)[0] == "left"
    assert detect_stance_side(moving, still, 600.0)[0] == "right"
    side, ev = detect_stance_side(still, still + 1.0, 600.0)
    assert side is None and "both feet" in ev["reason"]
    side, ev = detect_stance_side(np.full(n, np.nan), moving, 600.0)
    assert side is None and ev["reason"] == "ankles not visible"


def _multi(*people, image_size=(1080, 1920)):
    kp0 = people[0]
    return MultiPersonKeypoints(
        position=np.stack([p.position for p in people], axis=1),
        confidence=np.stack([p.confidence for p in people], axis=1),
        time_s=kp0.time_s,
        image_size=image_size,
    )


def test_selection_keeps_the_large_central_person_through_slot_order_changes():
    kp, _ = make_single_leg_squats(five_and_five())
    far = kp.replace(position=kp.position * 0.35 + np.array([650.0, 300.0]))
    m = _multi(kp, far)
    # the model lists the two people in a different order in every other frame
    pos, conf = m.position.copy(), m.confidence.copy()
    pos[::2] = pos[::2, ::-1]
    conf[::2] = conf[::2, ::-1]
    m = m.replace(position=pos, confidence=conf)
    chosen, sel = select_person(m)
    np.testing.assert_allclose(chosen.position, kp.position)
    assert sel.people_in_view == 2 and not sel.ambiguous and sel.coverage == 1.0


def test_selection_with_nobody():
    kp, _ = make_single_leg_squats(five_and_five())
    empty = kp.replace(position=np.full_like(kp.position, np.nan), confidence=np.full_like(kp.confidence, np.nan))
    chosen, sel = select_person(_multi(empty))
    assert sel.chosen_track is None and np.isnan(chosen.position).all()


def test_left_right_swaps_are_undone():
    kp, _ = make_single_leg_squats(SyntheticSquats(reps=(SyntheticRep("left"), SyntheticRep("right"))))
    swapped = kp.swap_left_right(frames=np.arange(10, 20))  # whole-body swaps
    names = kp.keypoint_names
    pos = swapped.position.copy()
    for part in ("knee", "ankle", "heel", "toe"):  # and leg-only swaps elsewhere
        i, j = names.index(f"left_{part}"), names.index(f"right_{part}")
        pos[40:45, [i, j]] = pos[40:45, [j, i]]
    fixed, check = correct_left_right(swapped.replace(position=pos), expected_facing="camera")
    np.testing.assert_allclose(fixed.position, kp.position)
    assert check.facing == "camera" and check.whole_body_swaps == 10 and check.leg_swaps == 5


def test_mirrored_keypoints_keep_their_anatomical_labels():
    kp, _ = make_single_leg_squats(five_and_five())
    fixed, check = correct_left_right(kp.mirrored(), expected_facing="camera")
    assert check.facing == "camera"
    # mirroring a person facing the camera makes the model call the left side right: the
    # corrected labels then put the (image) left hip on the image right, as seen from the front
    lh, rh = fixed.xy("left_hip")[:, 0], fixed.xy("right_hip")[:, 0]
    assert np.all(lh > rh)


#: the library layers in order; each imports only the ones before it (docs/architecture.md)
LAYERS = ["io", "pose", "kinematics", "events", "protocols", "clinic", "analysis", "report"]


def test_layers_import_only_earlier_layers():
    src = pathlib.Path(__file__).resolve().parents[1] / "src" / "medius"
    problems = []
    for f in src.rglob("*.py"):
        rel = f.relative_to(src).parts
        layer = rel[0] if len(rel) > 1 else None
        for node in ast.walk(ast.parse(f.read_text())):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            for mod in mods:
                parts = mod.split(".")
                if parts[0] != "medius" or len(parts) < 2:
                    continue
                target = parts[1]
                if target == "cli" and f.name != "cli.py":
                    problems.append(f"{f}: imports the CLI edge")
                if layer in LAYERS and target in LAYERS and LAYERS.index(target) > LAYERS.index(layer):
                    problems.append(f"{f}: layer {layer} imports later layer {target}")
                if layer == "registry" and target not in ("errors", "registry"):
                    problems.append(f"{f}: the registry imports {target}")
    assert problems == []


#: the only places in src/medius that may import the synthetic-data generators (medius.testing)
TESTING_IMPORTERS = ("cli.py", "validation", "testing")


def test_the_library_never_imports_testing():
    """The generators of synthetic data live in ``medius.testing``: no library layer (io ...
    report, analysis), nor the web app or batch, imports it; only the ``cli`` edge (``medius
    synth``), ``validation``, tests, benchmarks and scripts do."""
    src = pathlib.Path(__file__).resolve().parents[1] / "src" / "medius"
    assert (src / "testing" / "synthetic.py").is_file() and (src / "testing" / "synthetic_gait.py").is_file()
    problems = []
    for f in src.rglob("*.py"):
        rel = f.relative_to(src).parts
        if rel[0] in TESTING_IMPORTERS:
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "medius" else [])
            problems += [f"{f}: imports {m}" for m in mods if m == "medius.testing" or m.startswith("medius.testing.")]
    assert problems == []


def test_stance_side_from_height_when_the_lifted_foot_moves_as_little_as_the_planted_one():
    """A free leg held still relative to the pelvis: both ankles move a little, but one foot is
    clearly lifted (higher in the picture) for the whole rep (rendered validation squats)."""
    n = 60
    bob = 5 * np.sin(np.linspace(0, np.pi, n))
    planted = 900 + bob * 0.8
    lifted = 840 + bob  # 60 px above the planted foot, moving about as much
    side, ev = detect_stance_side(planted, lifted, 600.0)
    assert side == "left" and ev["decided_by"] == "height"
    # a step-down: the stance foot is the higher one (on the step), the free foot reaches below it
    side, _ = detect_stance_side(planted, lifted, 600.0, lower_is_stance=False)
    assert side == "right"
    # motion and height disagree: unclear, and the reason says so
    still, moving = np.full(n, 840.0), 900 + 40 * np.sin(np.linspace(0, np.pi, n))
    side, ev = detect_stance_side(still, moving, 600.0)
    assert side is None and "not the lower" in ev["reason"]


def test_facing_from_the_models_depth_beats_a_face_seen_from_behind():
    """Filmed from behind, BlazePose still reports a face with full visibility; its depth (the nose
    behind the ears) says the person faces away, and the labels are then left as they are."""
    kp, _ = make_single_leg_squats(five_and_five())
    # the same person seen from behind, labelled right by the model: the left hip on the image left
    pos = kp.position.copy()
    pos[..., 0] = kp.image_size[0] - pos[..., 0]
    behind = kp.replace(position=pos)
    depth_away = {"median_nose_minus_ears_depth": 0.22, "frames_nose_nearer": 0.02}
    fixed, check = correct_left_right(behind, expected_facing="camera", depth=depth_away)
    assert check.facing == "away" and check.whole_body_swaps == 0
    np.testing.assert_allclose(fixed.position, behind.position)
    # without the depth the visible face decides "camera" and every frame is swapped
    _, check = correct_left_right(behind, expected_facing="away")
    assert check.facing == "camera" and check.whole_body_swaps > 0
    # the view the user declared wins over every piece of evidence
    depth_front = {"median_nose_minus_ears_depth": -0.2, "frames_nose_nearer": 0.97}
    _, check = correct_left_right(behind, depth=depth_front, declared="away")
    assert check.facing == "away" and check.facing_evidence["declared"] == 1.0
    # unclear depth (about as many frames each way) is not used
    _, check = correct_left_right(kp, expected_facing="camera", depth={"median_nose_minus_ears_depth": 0.01,
                                                                       "frames_nose_nearer": 0.5})
    assert check.facing == "camera"


def test_a_turned_camera_refuses_frontal_metrics_from_the_front_and_from_behind():
    """The check reads the camera's turn from the pose model's 3D hips and shoulders, calibrated per
    view; the raw readings are those the model gave on the validation grid's renders."""
    from medius.protocols._quality import estimate_camera_turn, run_capture_checks

    kp, _ = make_single_leg_squats(five_and_five())
    base = {"shift_p75_pct_diagonal": 0.1}

    def square_check(keypoints, facing, raw):
        checks, *_rest, fatal = run_capture_checks(keypoints, facing=facing, selection=None, side_check=None,
                                                   image_size_known=True, camera={**base, "trunk_yaw_deg": raw})
        return next(c for c in checks if c.id == "camera_square_on"), fatal

    # from the front: square-on read +1.3 to +4.7, turned +20° read -16.6, turned -30° +32.9
    for raw in (1.3, 4.7, -4.0, 11.7):  # square-on and +-10°
        sq, fatal = square_check(kp, "camera", raw)
        assert sq.passed and not fatal, raw
    for raw in (-16.6, 32.9):
        sq, fatal = square_check(kp, "camera", raw)
        assert sq.passed is False and sq.fatal and fatal and abs(sq.value) > 15 and "turned more than 15°" in sq.message
        assert sq.value == round(estimate_camera_turn(raw, "front"), 1)
    # from behind the model reads a square-on person as turned about -13° (-10.8 to -18.4 on the
    # grid) and the camera's turn 1.7 times its size: square-on and +10° pass, +-20° are refused
    behind = kp.mirrored()
    for raw in (-10.8, -18.4, 4.8):
        sq, fatal = square_check(behind, "away", raw)
        assert sq.passed and not fatal, raw
    for raw in (28.5, -46.2, 25.9):
        sq, fatal = square_check(behind, "away", raw)
        assert sq.passed is False and sq.fatal and fatal, raw
    # the same reading means another turn from the front and from behind
    assert estimate_camera_turn(-13.0, "back") == pytest.approx(-0.2, abs=0.1)
    assert estimate_camera_turn(-13.0, "front") == pytest.approx(17.1, abs=0.1)
    # no 3D estimate (keypoint files): no such check
    checks, *_ = run_capture_checks(kp, facing="camera", selection=None, side_check=None, image_size_known=True, camera=base)
    assert all(c.id != "camera_square_on" for c in checks)


def test_one_bad_frame_does_not_decide_a_reps_value():
    """Metamorphic: a single wild frame at a rep's deepest point moves the old signed-extreme
    'peak' but not the value at the deepest point (a median around it)."""
    from medius.protocols._single_leg import _peak

    t = np.arange(0, 2.0, 1 / 30)
    values = 10 * np.sin(np.pi * t / 2.0)
    b = int(np.argmin(np.abs(t - 1.0)))
    clean = _peak(values, t, np.arange(t.size), 0, t.size - 1, b, 0.2)
    spiked = values.copy()
    spiked[b + 1] = -40.0
    bad = _peak(spiked, t, np.arange(t.size), 0, t.size - 1, b, 0.2)
    assert bad["peak"] == -40.0
    assert abs(bad["at_bottom"] - clean["at_bottom"]) < 0.2
