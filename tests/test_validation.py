"""The validation harness: truth geometry, definitions, determinism, scoring, report, paired mode, errors.

The renderer tests draw only a few frames; the scoring tests use the short clips committed under
tests/data/validation (rendered by scripts/make_validation_clips.py) instead of rendering again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medius.validation.camera import place_camera
from medius.validation.harness import (
    _skeleton,
    analyse_scenario,
    build_movement,
    build_scene,
    score_scenario,
)
from medius.validation.motion import gait_task, single_leg_task
from medius.validation.render import ASSETS, Scene, find_chromium, frame_payload, renderer
from medius.validation.scenarios import BODIES, Scenario, full_grid, quick_grid, scenario_from_dict
from medius.validation.truth import truth_keypoints

DATA = Path(__file__).parent / "data" / "validation"
MEDIUS = [sys.executable, "-m", "medius.cli"]


def _chromium_or_skip() -> None:
    try:
        find_chromium()
    except Exception:  # noqa: BLE001
        if os.environ.get("MEDIUS_TEST_REQUIRE_ALL"):
            raise
        pytest.skip("no chromium")


# ----------------------------------------------------------------------------- geometry, truth
def test_skeleton_forward_kinematics_matches_the_renderers_skinning():
    _chromium_or_skip()
    sk = _skeleton("mh_female.glb")
    mv = single_leg_task(sk, reps_per_leg=1, seed=3)
    s = Scenario(name="t", body="mh_female.glb")
    scene = build_scene(s, sk)
    i = int(np.argmax(mv.joints_world[:, sk.index("Hips"), 1] < mv.joints_world[0, sk.index("Hips"), 1] - 0.1))
    names = ["RightUpLeg", "RightLeg", "LeftFoot", "LeftArm"]
    with renderer() as new_page:
        page = new_page()
        page.setup(scene.options(mv.props))
        js = page.bone_world(frame_payload(mv, i), [f"mixamorig{n}" for n in names])
    for n in names:
        assert np.allclose(js[f"mixamorig{n}"], mv.joints_world[i, sk.index(n)], atol=1e-5)


@pytest.mark.parametrize("orientation,yaw", [("portrait", 0.0), ("landscape", 25.0)])
def test_a_rendered_point_lands_where_the_camera_model_projects_it(orientation, yaw):
    """Truth geometry: small spheres at known 3D points, drawn by three.js, found within 1 px."""
    _chromium_or_skip()
    import cv2

    w, h = (720, 1280) if orientation == "portrait" else (1280, 720)
    cam = place_camera(width=w, height=h, fov_long_side_deg=65, distance_m=3.0, height_m=0.9, yaw_deg=yaw,
                       target=np.array([0.0, 0.85, 0.0]))
    points = np.array([[0.0, 0.9, 0.0], [0.35, 0.2, 0.1], [-0.4, 1.5, -0.2], [0.2, 1.2, 0.3]])
    scene = Scene(body="mh_male.glb", camera=cam, background=(0, 0, 0), wall=None, floor=(0, 0, 0))
    markers = [{"position": p.tolist(), "radius": 0.012, "color": [255, 255, 255]} for p in points]
    sk = _skeleton("mh_male.glb")
    mv = gait_task(sk, strides=3)
    with renderer() as new_page:
        page = new_page()
        page.setup(scene.options([], markers=markers, hide_body=True))
        img = page.render([frame_payload(mv, 0)], 0)[0]
    expected = cam.project(points)
    gray = img.max(axis=2)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats((gray > 100).astype(np.uint8))
    found = centroids[1:]
    assert n - 1 == len(points)
    for e in expected:
        d = np.linalg.norm(found - e, axis=1).min()
        assert d < 1.0, f"sphere at {e} drawn {d:.2f} px away"


def test_same_scenario_gives_the_same_truth_twice():
    s = quick_grid()[0]
    sk = _skeleton(s.body)
    a, b = build_movement(s, sk), build_movement(s, sk)
    cam = build_scene(s, sk).camera
    assert np.array_equal(truth_keypoints(a, sk, cam).position, truth_keypoints(b, sk, cam).position)
    assert a.script == b.script


def test_rendering_is_deterministic():
    _chromium_or_skip()
    s = Scenario(name="det", reps_per_leg=1)
    sk = _skeleton(s.body)
    mv = build_movement(s, sk)
    scene = build_scene(s, sk)
    with renderer() as new_page:
        p1, p2 = new_page(), new_page()
        p1.setup(scene.options(mv.props))
        p2.setup(scene.options(mv.props))
        a = p1.render([frame_payload(mv, 40)], 0)[0]
        b = p2.render([frame_payload(mv, 40)], 0)[0]
    assert np.array_equal(a, b)


def test_truth_metrics_follow_the_definitions_and_the_set_amounts():
    """Square-on, the truth's per-rep pelvic drop is the pelvic obliquity the script set (a rotation
    in the frontal plane), and the truth's FPPA is compute_fppa on the projected joint centres."""
    from medius.kinematics.angles2d import compute_fppa
    from medius.validation.truth import truth_reps

    s = Scenario(name="defs", reps_per_leg=2, seed=11)
    sk = _skeleton(s.body)
    mv = build_movement(s, sk)
    cam = build_scene(s, sk).camera
    kp = truth_keypoints(mv, sk, cam)
    reps, notes = truth_reps(mv.script, kp, s.movement, "camera")
    assert notes == [] and len(reps) == 4
    for r in reps:
        assert r["side"] == r["script"]["side"]
        assert abs(r["metrics"]["pelvic_drop_deg"]["peak"] - r["script"]["pelvic_drop_deg"]) < 0.6
    # FPPA at the deepest frame of the first rep, straight from the definition
    r = reps[0]
    b = r["bottom_frame"]
    side = r["side"]
    sl = slice(b, b + 1)
    fppa = compute_fppa(kp.xy(f"{side}_hip")[sl], kp.xy(f"{side}_knee")[sl], kp.xy(f"{side}_ankle")[sl],
                        kp.xy("left_hip" if side == "right" else "right_hip")[sl])
    # the protocol filters at 6 Hz and takes the median around the deepest frame
    assert abs(float(fppa[0]) - r["metrics"]["fppa_deg"]["at_bottom"]) < 1.5


def test_gait_truth_has_every_scripted_stance_with_its_set_drop():
    s = Scenario(name="g", movement="walk", view="back", strides=5, seed=40)
    sk = _skeleton(s.body)
    mv = build_movement(s, sk)
    cam = build_scene(s, sk).camera
    from medius.validation.truth import true_gait_events, truth_stances

    rows = truth_stances(true_gait_events(mv, sk), truth_keypoints(mv, sk, cam), "walk")
    strikes = [e for e in mv.script["events"] if e["kind"] == "foot_strike"]
    assert len(rows) >= len(strikes) - 2
    errs = [r["metrics"]["pelvic_drop_deg"]["peak"] - r["script"]["pelvic_drop_set_deg"] for r in rows[1:-1]]
    assert np.median(np.abs(errs)) < 1.0


# ------------------------------------------------------------------------------ scenarios
def test_scenario_grid_names_are_unique_and_keys_ignore_names():
    g = full_grid()
    assert len({s.name for s in g}) == len(g) >= 30
    assert {s.movement for s in g} == {"single-leg-squat", "step-down", "walk", "run"}
    assert {s.body for s in g} == set(BODIES)  # every body is in the grid
    a = Scenario(name="a")
    assert a.key == Scenario(name="b").key != Scenario(name="a", yaw_deg=10).key


@pytest.mark.parametrize("bad", [{"yaw_deg": 95}, {"body": "robot.glb"}, {"fps": 5}, {"colour": "red"}])
def test_bad_scenario_values_are_refused_with_one_line(bad, tmp_path):
    from medius.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        scenario_from_dict({"name": "x", **bad})
    f = tmp_path / "s.json"
    f.write_text(json.dumps([{"name": "x", **bad}]))
    p = subprocess.run([*MEDIUS, "validate", "--scenarios", str(f), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 4, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "scenario" in p.stderr
    assert "Traceback" not in p.stderr


def test_no_chromium_is_one_line_and_exit_8(tmp_path):
    env = {**os.environ, "CHROMIUM_PATH": str(tmp_path / "no-chromium")}
    p = subprocess.run([*MEDIUS, "validate", "--quick", "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 8, p.stderr
    assert "chromium" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------- scoring committed clips
@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    rows = []
    for name in ("quick-sls-front", "quick-walk-back"):
        s = next(q for q in quick_grid() if q.name == name)
        src = DATA / name
        folder = tmp_path_factory.mktemp(name)
        for f in ("video.mp4", "truth.json"):
            (folder / f).symlink_to(src / f)
        truth = json.loads((src / "truth.json").read_text())
        assert truth["key"] == s.key, "the committed clip is out of date: run scripts/make_validation_clips.py"
        result = analyse_scenario(s, folder)
        rows += score_scenario(s, truth, result)
    return rows


@pytest.mark.video
def test_committed_clips_score_every_truth_unit(scored):
    sls = [r for r in scored if r["movement"] == "single-leg-squat"]
    walk = [r for r in scored if r["movement"] == "walk"]
    assert len(sls) == 4 and {r["side"] for r in sls} == {"left", "right"}
    assert len(walk) >= 8
    for r in scored:
        assert set(r["metrics"]) and all(set(m) == {"truth", "value", "error", "shown_error", "miss"}
                                         for m in r["metrics"].values())
        for m in r["metrics"].values():
            if m["error"] is not None:
                assert m["error"] == pytest.approx(m["value"] - m["truth"], abs=1e-3)
    # the pose model finds the reps of a plainly visible squat
    assert sum(r["found"] for r in sls) >= 3


@pytest.mark.video
def test_foot_strikes_of_the_rendered_treadmill_walk_from_behind_are_on_time(scored):
    """Known answer: on the committed rendered walk (treadmill, filmed from behind, 30 fps) every
    stance inside the clip is found and its strike lies within 2 frames of the true contact (the
    heel's turn back with the belt; the heel's stop after the swing came 4-5 frames early)."""
    walk = [r for r in scored if r["movement"] == "walk"]
    inner = walk[1:]  # the first true strike lies at the clip's start, before any swing is seen
    assert all(r["found"] and r["side_correct"] for r in inner), [(r["time_s"], r["found"]) for r in inner]
    errs = np.array([r["event_error_s"] for r in inner])
    assert np.all(np.abs(errs) <= 2 / 30 + 1e-3), errs
    assert abs(float(np.median(errs))) <= 1.5 / 30, errs


@pytest.mark.video
def test_validation_report_holds_the_tables_plots_and_csv(scored, tmp_path):
    from medius.validation.report import write_validation_outputs

    doc = write_validation_outputs(tmp_path, scored, {"code_hash": "x", "scenarios": [q.as_dict() for q in quick_grid()]})
    html = (tmp_path / "validation.html").read_text()
    assert "Bland" in html and "<svg" in html and "http" not in html.split("<svg", 1)[0].replace("http-equiv", "")
    assert "Targets" in html and "limits of" in html
    assert {t["task"] for t in doc["targets"]} >= {"single-leg-squat", "walk"}
    head = (tmp_path / "validation-summary.csv").read_text().splitlines()[0]
    assert head.startswith("group,task,metric,units,found_pct") and "loa_low" in head and "miss_pct" in head
    units = (tmp_path / "validation-units.csv").read_text().splitlines()
    assert len(units) > len(scored)
    json.loads((tmp_path / "validation.json").read_text())


# ---------------------------------------------------------------------------- paired mode
@pytest.mark.video
def test_paired_video_and_marker_trial_find_the_offset_within_a_frame(tmp_path):
    from medius.validation.paired import validate_pair

    src = DATA / "quick-walk-back"
    expected = json.loads((src / "paired.json").read_text())["trial_starts_in_video_s"]
    doc = validate_pair(src / "video.mp4", src / "trial.c3d", out=tmp_path / "out", task="walk", view="back")
    assert abs(doc["sync"]["offset_s"] - expected) <= 1 / 30
    assert (tmp_path / "out" / "validation.html").is_file()
    rows = doc["units"]
    assert len(rows) >= 8  # every lab stance is a truth row, found by the video or not
    assert all(r["metrics"]["pelvic_drop_deg:peak"]["truth"] is not None for r in rows)


def test_offset_estimation_on_known_event_trains():
    from medius.errors import NotJudgeableError
    from medius.validation.paired import estimate_offset

    lab = [{"side": s, "kind": "foot_strike", "time_s": t0 + k * 1.1} for s, t0 in (("left", 0.2), ("right", 0.75))
           for k in range(8)]
    rng = np.random.default_rng(1)
    video = [{**e, "time_s": e["time_s"] + 2.345 + rng.normal(0, 0.01)} for e in lab[2:]]
    got = estimate_offset(video, lab, 1 / 30)
    assert abs(got["offset_s"] - 2.345) < 0.01 and got["matched"] >= 10
    with pytest.raises(NotJudgeableError):
        estimate_offset(video[:2], lab, 1 / 30)


def test_render_assets_are_vendored_with_their_licences():
    for f in ("render.html", "render.js", "three/three.module.min.js", "three/three.core.min.js",
              "three/GLTFLoader.js", "three/LICENSE", "bodies/LICENSE-CC0-1.0.md"):
        assert (ASSETS / f).is_file(), f
    assert "http" not in (ASSETS / "render.js").read_text().replace("medius-render.invalid", "")
    readme = (ASSETS / "bodies" / "README.md").read_text()
    for body in BODIES:  # every body is shipped and says how it was built
        assert (ASSETS / "bodies" / body).is_file() and f"`{body}`" in readme, body


@pytest.mark.video
def test_measured_errors_in_the_registry_are_current_for_the_analysis_code(scored):
    """`make validate` writes medius' measured errors with what the analysis gave on the committed
    clips; a change to the video analysis that moves those values needs a new `make validate`."""
    from medius.registry.measured import MEASURED_ERRORS_PATH, load_measured_errors
    from medius.validation.cli import clip_values

    assert MEASURED_ERRORS_PATH.is_file(), "run `make validate` to measure medius' errors"
    doc = load_measured_errors()
    assert doc["entries"] and all(e["value"] >= 0 and e["n"] >= 8 for e in doc["entries"])
    stored = {(c["scenario"], c["side"], c["time_s"]): c for c in doc["reference_clips"]}
    now = clip_values(scored)
    assert len(now) == len(stored)
    for c in now:
        ref = stored[(c["scenario"], c["side"], c["time_s"])]
        assert (c["found"], c["judged"]) == (ref["found"], ref["judged"]), "run `make validate`: the analysis changed"
        for k, v in c["values"].items():
            if v is None or ref["values"][k] is None:
                assert v == ref["values"][k], f"{k}: run `make validate`, the analysis changed"
            else:
                assert v == pytest.approx(ref["values"][k], abs=0.5), f"{k}: run `make validate`, the analysis changed"


def test_a_video_result_carries_the_measured_error_for_its_condition():
    from medius.registry.measured import measured_errors_for

    got = measured_errors_for("single-leg-squat", ("fppa_deg", "pelvic_drop_deg"), view="frontal", fps=30,
                              width=720, height=1280)
    assert got["fppa_deg"]["peak"]["value"] > 0
    assert got["fppa_deg"]["peak"]["condition"]["task"] == "single-leg-squat"
    assert "validation" in got["fppa_deg"]["peak"]["source"]


def test_a_verdict_within_the_measured_error_of_a_ranges_edge_is_uncertain():
    from medius.analysis import temper_by_measured_error

    interp = [
        {"metric": "fppa_deg", "side": "left", "value": 12.0, "verdict": "above", "band": [None, 10.0], "text": "Above."},
        {"metric": "fppa_deg", "side": "right", "value": 25.0, "verdict": "above", "band": [None, 10.0], "text": "Above."},
        {"metric": "trunk_lean_deg", "side": "left", "value": 3.0, "verdict": "within", "band": [0, 5], "text": "In."},
    ]
    measured = {"fppa_deg": {"at_bottom": {"value": 6.0, "n": 100}}}
    out = temper_by_measured_error(interp, measured, {"fppa_deg": "at_bottom", "trunk_lean_deg": "at_bottom"})
    assert out[0]["verdict"] == "uncertain" and out[0]["verdict_before_measured_error"] == "above"
    assert "cannot tell" in out[0]["text"]
    assert out[1]["verdict"] == "above" and out[1]["measured_error"]["value"] == 6.0
    assert out[2]["verdict"] == "within" and out[2]["measured_error"] is None


def test_exercise_and_filming_pictures_are_committed_for_every_picture_defined():
    """scripts/make_pictures.py draws them with the validation human; the home program and the
    filming guide show them (4:3 PNGs)."""
    import cv2

    from medius.validation.pictures import EXERCISE_PICTURES, FILMING_PICTURES, STATIC

    for sub, pics in (("exercises", EXERCISE_PICTURES), ("filming", FILMING_PICTURES)):
        for p in pics:
            img = cv2.imread(str(STATIC / sub / f"{p.name}.png"))
            assert img is not None and img.shape == (600, 800, 3), p.name
            assert img.std() > 10, f"{p.name} is blank"
