"""Walking and running through ``medius analyze``: synthetic known answers (C3D and video keypoints),
the 2D/3D round trip, the real UQAM trial's snapshot, and the error paths of lab trials."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from medius.errors import InvalidInputError
from medius.io.markers import Markers3D, read_c3d, write_c3d
from medius.testing.synthetic_gait import (
    DEMO_HIP_ADDUCTION_DEG,
    DEMO_PELVIC_DROP_DEG,
    CameraSpec,
    GaitSpec,
    make_gait_trial,
    make_static_trial,
    render_gait_video_keypoints,
    write_gait_c3d,
    write_gait_keypoints,
)
from tests.conftest import analyze_json

HERE = Path(__file__).resolve().parent
UQAM = HERE / "data" / "uqam"
SNAPSHOT = HERE / "snapshots" / "uqam_walk.json"

DROP = DEMO_PELVIC_DROP_DEG
ADD = DEMO_HIP_ADDUCTION_DEG



def _match(truth_stances: list[dict], side: str, strike_s: float) -> dict | None:
    cands = [s for s in truth_stances if s["side"] == side]
    best = min(cands, key=lambda s: abs(s["foot_strike_s"] - strike_s), default=None)
    return best if best is not None and abs(best["foot_strike_s"] - strike_s) < 0.1 else None


# ----------------------------------------------------------------------------- known answers, C3D
@pytest.mark.parametrize(
    ("task", "treadmill", "forward_axis", "up_axis"),
    [("walk", False, "+x", "+z"), ("walk", True, "+y", "+z"), ("run", True, "-x", "+y")],
)
def test_synthetic_c3d_known_answers_through_the_cli(tmp_path, task, treadmill, forward_axis, up_axis):
    spec = GaitSpec(task=task, duration_s=5.0, treadmill=treadmill, pelvic_drop_deg=DROP, hip_adduction_deg=ADD,
                    forward_axis=forward_axis, up_axis=up_axis, medial_markers=True)
    trial, truth = make_gait_trial(spec)
    path = write_gait_c3d(trial, tmp_path / "trial.c3d", truth)
    code, res, err = analyze_json(str(path), "--task", task, "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert res["synthetic"] is True and res["task"] == task
    dt = 1.0 / trial.rate_hz
    tj = truth.to_json()["stances"]
    matched = 0
    for st in res["stances"]:
        t = _match(tj, st["side"], st["foot_strike_s"])
        assert t is not None, st
        matched += 1
        # events within one sample
        assert abs(st["foot_strike_s"] - t["foot_strike_s"]) <= dt + 1e-6, (st["side"], st["foot_strike_s"])
        assert abs(st["foot_off_s"] - t["foot_off_s"]) <= dt + 1e-6, (st["side"], st["foot_off_s"])
        # angles within 0.5°
        m = st["metrics"]
        assert m["pelvic_drop_deg"]["peak"] == pytest.approx(t["pelvic_drop_peak_deg"], abs=0.5)
        assert m["hip_adduction_deg"]["peak"] == pytest.approx(t["hip_adduction_peak_deg"], abs=0.5)
        assert m["pelvic_drop_deg"]["at_mid_stance"] == pytest.approx(t["pelvic_drop_mid_stance_deg"], abs=0.5)
        assert m["trunk_lean_deg"]["peak"] == pytest.approx(t["trunk_lean_peak_deg"], abs=0.5)
        if st["values"]["step_width_cm"] is not None:
            assert st["values"]["step_width_cm"] == pytest.approx(100 * t["step_width_m"], abs=0.5)
    assert matched >= 6
    for side in ("left", "right"):
        assert res["summary"][side]["pelvic_drop_deg"]["mean"] == pytest.approx(DROP[side], abs=0.5)
        assert res["summary"][side]["hip_adduction_deg"]["mean"] == pytest.approx(ADD[side], abs=0.5)
    assert res["gait"]["cadence_steps_per_min"] == pytest.approx(truth.info["cadence_steps_per_min"], abs=1.0)
    # the frontal projection of the markers gives the 2D values beside the 3D ones
    assert res["frontal_2d"]["summary"]["right"]["pelvic_drop_deg"]["mean"] == pytest.approx(8.0, abs=1.0)
    # per-stance CSV: one row per stance, 3D and frontal-2D columns
    rows = list(csv.DictReader((tmp_path / "out" / "stances.csv").open()))
    assert len(rows) == len(res["stances"])
    assert float(rows[0]["pelvic_drop_deg_peak"]) == res["stances"][0]["metrics"]["pelvic_drop_deg"]["peak"]
    assert "frontal_2d_hip_adduction_deg_peak" in rows[0]


def test_static_trial_gives_the_knee_width(tmp_path):
    """Moving trial without medial markers + static trial with them: chord offsets from the static."""
    spec = GaitSpec(task="walk", duration_s=4.0, pelvic_drop_deg=DROP, hip_adduction_deg=ADD)
    trial, truth = make_gait_trial(spec)
    moving = write_gait_c3d(trial, tmp_path / "walk.c3d", truth)
    static = write_c3d(make_static_trial(spec), tmp_path / "static.c3d")
    # without the static trial the knee centre cannot be built: one clear line
    code, _, err = analyze_json(str(moving), "--task", "walk", "--out", str(tmp_path / "no-static"))
    assert code == 4 and "--static" in err and "walk.c3d" in err
    assert not (tmp_path / "no-static").exists()
    code, res, err = analyze_json(str(moving), "--task", "walk", "--static", str(static), "--out", str(tmp_path / "o"))
    assert code == 0, err
    cal = res["provenance"]["parameters"]["lab_model"]["static_calibration"]
    assert cal["method"].startswith("chord offsets")
    for side in ("left", "right"):
        assert res["summary"][side]["hip_adduction_deg"]["mean"] == pytest.approx(ADD[side], abs=0.5)


# ----------------------------------------------------------------------------- video keypoints, round trip
#: (task, treadmill, camera, seconds): walking and running filmed from behind on a treadmill, and
#: walking over ground towards a camera in front (12 m away at the start, as docs/gait-events.md)
ROUND_TRIPS = {
    "walk-back": ("walk", True, CameraSpec(fps=30.0), 8.0),
    "run-back": ("run", True, CameraSpec(fps=60.0), 6.0),
    "walk-front": ("walk", False, CameraSpec(view="front", distance_m=12.0, fps=30.0), 6.0),
}


def _round_trip_video(tmp_path: Path, name: str) -> tuple[dict, object, object, object]:
    task, treadmill, camera, duration = ROUND_TRIPS[name]
    spec = GaitSpec(task=task, duration_s=duration, treadmill=treadmill, pelvic_drop_deg=DROP, hip_adduction_deg=ADD,
                    medial_markers=True)
    trial, truth = make_gait_trial(spec)
    kp, video_truth = render_gait_video_keypoints(truth, camera=camera)
    write_gait_keypoints(kp, tmp_path / "kp", truth=truth, video=video_truth)
    return {"task": task, "trial": trial, "kp_path": tmp_path / "kp" / "gait.trc"}, truth, video_truth, kp


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_video_keypoints_and_the_2d_3d_round_trip(tmp_path, name):
    """Walking and running from behind, walking from the front: the same movement as video keypoints
    and as a C3D gives the same stance peaks within the projection error of the camera."""
    case, truth, video_truth, _ = _round_trip_video(tmp_path, name)
    task = case["task"]
    code, vid, err = analyze_json(str(case["kp_path"]), "--task", task, "--out", str(tmp_path / "v"))
    assert code == 0, err
    front = ROUND_TRIPS[name][2].view == "front"
    assert vid["quality"]["view"] == ("frontal" if front else "back")
    assert vid["quality"]["left_right"]["facing"] == ("camera" if front else "away")
    assert vid["gait"]["cadence_steps_per_min"] == pytest.approx(truth.info["cadence_steps_per_min"], abs=1.0)
    assert min(vid["gait"]["n_stances"].values()) >= 4
    c3d = write_gait_c3d(case["trial"], tmp_path / "trial.c3d", truth)
    code, lab, err = analyze_json(str(c3d), "--task", task, "--out", str(tmp_path / "l"))
    assert code == 0, err
    bound = video_truth.to_json()["projection_error"]
    # ``bound`` is computed by the generator from the true events: per stance, the 2D peak (what
    # this camera sees) minus the 3D peak, the largest over the stances. A side's mean difference
    # cannot exceed it unless the video's own events move the stance windows; no allowance is added
    # for that: measured, the mean differences stay 0.06-0.28° inside the bound (walk-back, run-back, walk-front).
    for side in ("left", "right"):
        for metric in ("pelvic_drop_deg", "hip_adduction_deg"):
            v = vid["summary"][side][metric]["mean"]
            lab3d = lab["summary"][side][metric]["mean"]
            assert abs(v - lab3d) <= bound[metric], (side, metric, v, lab3d, bound[metric])
        # and left/right are not swapped on the way (from behind or from the front)
        assert vid["summary"][side]["pelvic_drop_deg"]["mean"] == pytest.approx(DROP[side], abs=bound["pelvic_drop_deg"])


def _trc_of(kp, path: Path) -> Path:
    from medius.io.keypoint_files import write_trc

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_trc(kp, path)


def test_mirrored_walking_video_swaps_the_left_and_right_metrics(tmp_path):
    """The mirror image of a walk from behind is a walk whose right side does what the left did:
    flip the image and let the labels follow the image (as a pose model would): every left metric
    becomes the right one."""
    from medius.io._sequence import LEFT_RIGHT_PAIRS

    _, truth, video_truth, kp = _round_trip_video(tmp_path, "walk-back")
    code, ref, err = analyze_json(str(_trc_of(kp, tmp_path / "ref" / "gait.trc")), "--task", "walk", "--out", str(tmp_path / "r"))
    assert code == 0, err
    pos = kp.position.copy()
    pos[..., 0] = kp.image_size[0] - pos[..., 0]
    perm = list(range(pos.shape[1]))
    for left, right in LEFT_RIGHT_PAIRS:
        perm[left], perm[right] = right, left
    mirrored = kp.replace(position=pos[:, perm], confidence=kp.confidence[:, perm])
    code, mir, err = analyze_json(str(_trc_of(mirrored, tmp_path / "mirror" / "gait.trc")), "--task", "walk",
                              "--out", str(tmp_path / "m"))
    assert code == 0, err
    assert mir["quality"]["left_right"]["facing"] == "away" and mir["quality"]["left_right_swaps_corrected"] == 0
    for side, other in (("left", "right"), ("right", "left")):
        for metric in ("pelvic_drop_deg", "hip_adduction_deg", "trunk_lean_deg", "fppa_deg", "step_width_pct"):
            assert mir["summary"][side][metric]["mean"] == pytest.approx(ref["summary"][other][metric]["mean"],
                                                                         abs=0.02), (side, metric)
        assert mir["trendelenburg"][side]["value"] == ref["trendelenburg"][other]["value"]
    assert mir["summary"]["right"]["pelvic_drop_deg"]["mean"] == pytest.approx(DROP["left"], abs=0.5)


def test_left_right_label_swaps_in_some_frames_are_corrected(tmp_path):
    """A pose model that swaps the left and right labels in some frames (23 % here): the capture
    check corrects them and the metrics are those of the clean clip."""
    _, _, _, kp = _round_trip_video(tmp_path, "walk-back")
    code, ref, err = analyze_json(str(_trc_of(kp, tmp_path / "ref" / "gait.trc")), "--task", "walk", "--out", str(tmp_path / "r"))
    assert code == 0, err
    frames = np.r_[40:70, 150:175]
    code, sw, err = analyze_json(str(_trc_of(kp.swap_left_right(frames=frames), tmp_path / "swap" / "gait.trc")), "--task",
                             "walk", "--out", str(tmp_path / "s"))
    assert code == 0, err
    assert sw["quality"]["left_right"]["whole_body_swaps"] == frames.size
    check = next(c for c in sw["quality"]["checks"] if c["id"] == "left_right_labels")
    assert check["passed"] and f"{frames.size} whole-body" in check["message"]
    for side in ("left", "right"):
        for metric in ("pelvic_drop_deg", "hip_adduction_deg"):
            assert sw["summary"][side][metric]["mean"] == ref["summary"][side][metric]["mean"], (side, metric)


# ----------------------------------------------------------------------------- real lab trial snapshot
def _snapshot_of(res: dict) -> dict:
    def side_means(summary: dict) -> dict:
        return {
            side: {m: summary[side][m]["mean"] for m in ("pelvic_drop_deg", "hip_adduction_deg", "trunk_lean_deg", "fppa_deg")}
            for side in ("left", "right")
        }

    return {
        "status": res["status"],
        "n_stances": {s: sum(1 for x in res["stances"] if x["side"] == s) for s in ("left", "right")},
        "foot_strikes_s": [e["time_s"] for e in res["events"] if e["kind"] == "foot_strike"],
        "summary": side_means(res["summary"]),
        "pelvic_drop_at_mid_stance": {s: res["summary"][s]["pelvic_drop_deg"]["at_mid_stance"]["mean"] for s in ("left", "right")},
        "frontal_2d": side_means(res["frontal_2d"]["summary"]),
        "cadence_steps_per_min": res["gait"]["cadence_steps_per_min"],
        "trendelenburg": {s: res["trendelenburg"][s]["flag"] for s in ("left", "right")},
    }


def test_real_uqam_trial_matches_its_reviewed_snapshot(tmp_path):
    code, res, err = analyze_json(
        str(UQAM / "gait-lower-body.c3d"), "--task", "walk", "--static", str(UQAM / "static-100frames.c3d"),
        "--marker-set", str(UQAM / "plug-in-gait-static-medial.yaml"), "--out", str(tmp_path / "u"),
    )
    assert code == 0, err
    got = _snapshot_of(res)
    want = json.loads(SNAPSHOT.read_text(encoding="utf-8"))["result"]
    assert got["status"] == want["status"] and got["n_stances"] == want["n_stances"]
    assert got["trendelenburg"] == want["trendelenburg"]
    np.testing.assert_allclose(got["foot_strikes_s"], want["foot_strikes_s"], atol=0.011)
    for block in ("summary", "frontal_2d"):
        for side in ("left", "right"):
            for m, v in want[block][side].items():
                assert got[block][side][m] == pytest.approx(v, abs=0.05), (block, side, m)
    assert got["cadence_steps_per_min"] == pytest.approx(want["cadence_steps_per_min"], abs=0.5)
    # Vicon's own events (in the file) vs medius's marker events: Zeni strikes 20-50 ms early
    vicon = sorted(e["time_s"] for e in read_c3d(UQAM / "gait-lower-body.c3d").events if e["kind"] == "foot_strike")
    ours = got["foot_strikes_s"]
    diffs = [min(abs(v - o) for o in ours) for v in vicon if ours[0] - 0.1 <= v <= ours[-1] + 0.1]
    assert len(diffs) >= 7 and max(diffs) < 0.06


def test_events_from_the_file(tmp_path):
    # the UQAM file's events carry no side; medius assigns sides from the feet
    code, res, err = analyze_json(
        str(UQAM / "gait-lower-body.c3d"), "--task", "walk", "--static", str(UQAM / "static-100frames.c3d"),
        "--marker-set", str(UQAM / "plug-in-gait-static-medial.yaml"), "--events", "file", "--out", str(tmp_path / "f"),
    )
    assert code == 0, err
    assert res["provenance"]["parameters"]["events"]["used"] == "file"
    assert {e["side"] for e in res["events"]} == {"left", "right"}


# ----------------------------------------------------------------------------- error paths
@pytest.fixture(scope="module")
def walk_c3d(tmp_path_factory) -> tuple[Path, Markers3D]:
    d = tmp_path_factory.mktemp("walk")
    trial, truth = make_gait_trial(GaitSpec(task="walk", duration_s=4.0, medial_markers=True))
    return write_gait_c3d(trial, d / "trial.c3d", truth), trial


def test_marker_set_naming_a_marker_the_trial_lacks(tmp_path, walk_c3d):
    path, _ = walk_c3d
    ms = tmp_path / "set.yaml"
    text = (Path(__file__).resolve().parents[1] / "src/medius/kinematics/markersets/plug_in_gait.yaml").read_text()
    ms.write_text(text.replace("left_heel: LHEE", "left_heel: L_HEEL"))
    # the heel is needed by the marker events only: refused when they are asked for ...
    code, _, err = analyze_json(str(path), "--task", "walk", "--marker-set", str(ms), "--events", "markers",
                                "--out", str(tmp_path / "o"))
    assert code == 4
    assert "'L_HEEL' (left_heel)" in err and "not in the trial" in err and "trial.c3d" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    # ... and by default the file's own events are used, with a warning naming the marker
    code, res, err = analyze_json(str(path), "--task", "walk", "--marker-set", str(ms), "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert any("'L_HEEL' (left_heel)" in w and "file's own EVENT times" in w for w in res["quality"]["warnings"])


def test_long_gap_in_a_required_marker(tmp_path, walk_c3d):
    _, trial = walk_c3d
    pos = trial.position.copy()
    i = trial.index("LASI")
    pos[150:250, i] = np.nan  # 1 s of 4 s (25 %: more than the 20 % a whole-trial measure accepts)
    gappy = Markers3D(pos, trial.labels, trial.time_s, trial.rate_hz, events=trial.events, source="x")
    path = write_c3d(gappy, tmp_path / "gappy.c3d")
    # a gait trial is measured stance by stance: the stances in the gap are not measurable
    code, res, err = analyze_json(str(path), "--task", "walk", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert res["provenance"]["parameters"]["lab_model"]["partially_missing"]["LASI"]["fraction"] == pytest.approx(0.25, abs=0.02)
    gone = [r for r in res["stances"] if r["status"] == "not_measurable"]
    kept = [r for r in res["stances"] if r["status"] == "complete"]
    assert gone and kept and all(r["metrics"]["pelvic_drop_deg"]["peak"] is None for r in gone)
    assert all(r["foot_off_s"] < 1.51 or r["foot_strike_s"] > 2.49 for r in kept)  # frames 150-250 at 100 Hz
    assert any("not measurable" in w for w in res["quality"]["warnings"])
    # the single-leg protocol still refuses a marker missing that often
    from medius.kinematics.labtrial import prepare_lab_trial
    with pytest.raises(InvalidInputError, match=r"marker 'LASI' \(left_asis\) is missing in 25% of the frames.*longest gap 1.00 s"):
        prepare_lab_trial(read_c3d(path))


def test_short_gaps_are_filled(tmp_path, walk_c3d):
    _, trial = walk_c3d
    pos = trial.position.copy()
    pos[100:105, trial.index("RKNE")] = np.nan  # 0.05 s
    gappy = Markers3D(pos, trial.labels, trial.time_s, trial.rate_hz, events=trial.events, source="x")
    path = write_c3d(gappy, tmp_path / "short-gap.c3d")
    code, res, err = analyze_json(str(path), "--task", "walk", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert res["provenance"]["parameters"]["lab_model"]["gap_fill"]["max_gap_s"] == 0.1


def test_c3d_without_point_data(tmp_path, walk_c3d):
    _, trial = walk_c3d
    empty = Markers3D(np.full_like(trial.position, np.nan), trial.labels, trial.time_s, trial.rate_hz, source="x")
    path = write_c3d(empty, tmp_path / "empty.c3d")
    code, _, err = analyze_json(str(path), "--task", "walk", "--out", str(tmp_path / "o"))
    assert code == 4 and "empty.c3d" in err and "no 3D point data" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_static_trial_of_another_person(tmp_path, walk_c3d):
    path, trial = walk_c3d
    static = make_static_trial(GaitSpec(task="walk"))
    # a wider pelvis: another person (or relabelled markers)
    pos = static.position.copy()
    for lab, dx in (("LASI", -0.03), ("RASI", 0.03)):
        pos[:, static.index(lab), :] += np.array([0.0, dx, 0.0])
    other = Markers3D(pos, static.labels, static.time_s, static.rate_hz, source="x")
    s_path = write_c3d(other, tmp_path / "static-other.c3d")
    code, _, err = analyze_json(str(path), "--task", "walk", "--static", str(s_path), "--out", str(tmp_path / "o"))
    assert code == 4
    assert "static-other.c3d" in err and "do not match" in err and "inter-ASIS distance" in err
    # a static trial without the pelvis markers
    bare = static.select([x for x in static.labels if x not in ("LASI", "RASI")])
    b_path = write_c3d(bare, tmp_path / "static-bare.c3d")
    code, _, err = analyze_json(str(path), "--task", "walk", "--static", str(b_path), "--out", str(tmp_path / "o"))
    assert code == 4 and "static-bare.c3d" in err and "'LASI'" in err


def test_static_file_missing_and_static_with_a_video(tmp_path, walk_c3d):
    path, _ = walk_c3d
    code, _, err = analyze_json(str(path), "--task", "walk", "--static", str(tmp_path / "nope.c3d"), "--out", str(tmp_path / "o"))
    assert code == 3 and "nope.c3d" in err
    kp = tmp_path / "kp.trc"
    kp.write_text("PathFileType\t4\t(X/Y/Z)\tkp.trc\nDataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\n30\t30\t1\t1\tpx\n")
    code, _, err = analyze_json(str(kp), "--task", "walk", "--static", str(path), "--out", str(tmp_path / "o"))
    assert code == 4 and "applies only to marker trials" in err


def test_truncated_c3d(tmp_path, walk_c3d):
    path, _ = walk_c3d
    bad = tmp_path / "truncated.c3d"
    bad.write_bytes(path.read_bytes()[:3000])
    code, _, err = analyze_json(str(bad), "--task", "walk", "--out", str(tmp_path / "o"))
    assert code == 4 and "truncated.c3d" in err
    assert len(err.strip().splitlines()) == 1


def test_c3d_with_the_single_leg_squat_task(tmp_path, walk_c3d):
    """``--task single-leg-squat`` on a marker trial runs the single-leg protocol on the frontal
    projection of the joint centres; a walking trial has no squat repetitions: exit code 5 (cannot be
    judged, docs/cli.md), one line saying why, and a report explaining it."""
    path, _ = walk_c3d
    code, res, err = analyze_json(str(path), "--task", "single-leg-squat", "--out", str(tmp_path / "o"))
    assert code == 5, err
    assert len(err.strip().splitlines()) == 1
    assert "trial.c3d" in err and "cannot be judged" in err and "no squat repetitions found" in err
    assert res["status"] == "not_judgeable" and res["task"] == "single-leg-squat" and res["reps"] == []
    assert res["input"]["kind"] == "c3d"
    assert any("frontal projection" in w for w in res["quality"]["warnings"])
    assert (tmp_path / "o" / "report.html").is_file()


def test_standing_still_is_not_judgeable(tmp_path):
    static = make_static_trial(GaitSpec(task="walk"), duration_s=4.0)
    path = write_c3d(static, tmp_path / "standing.c3d")
    code, res, err = analyze_json(str(path), "--task", "walk", "--out", str(tmp_path / "o"))
    assert code in (4, 5), err
    assert "foot" in err.lower() or (res and "step" in " ".join(res["quality"]["reasons"]).lower())


# ----------------------------------------------------------------------------- other marker formats, force plates
def _write_trc_mm(trial: Markers3D, path: Path) -> Path:
    n, m = trial.n_frames, len(trial.labels)
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{trial.rate_hz:g}\t{trial.rate_hz:g}\t{n}\t{m}\tmm\t{trial.rate_hz:g}\t1\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{lab}\t\t" for lab in trial.labels),
        "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(m)),
    ]
    for k in range(n):
        xyz = "\t".join(f"{v:.4f}" for v in (trial.position[k] * 1000.0).ravel())
        lines.append(f"{k + 1}\t{trial.time_s[k]:.5f}\t{xyz}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write_marker_table(trial: Markers3D, path: Path) -> Path:
    head = "Time\t" + "\t".join(f"{lab}_{a}" for lab in trial.labels for a in "XYZ")
    rows = [f"{t:.5f}\t" + "\t".join(f"{v:.4f}" for v in (trial.position[k] * 1000.0).ravel())
            for k, t in enumerate(trial.time_s)]
    path.write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_trc_and_marker_table_give_the_c3d_answers(tmp_path):
    spec = GaitSpec(task="walk", duration_s=4.0, pelvic_drop_deg=DROP, hip_adduction_deg=ADD, medial_markers=True)
    trial, truth = make_gait_trial(spec)
    c3d = write_gait_c3d(trial, tmp_path / "c3d" / "trial.c3d", truth)
    trc = _write_trc_mm(trial, tmp_path / "trial.trc")
    txt = _write_marker_table(trial, tmp_path / "trial.tsv")
    results = {}
    code, _, err = analyze_json(str(txt), "--task", "walk", "--out", str(tmp_path / "no-units"))
    assert code == 4 and "--marker-units" in err and "trial.tsv" in err
    for name, path, extra in (("c3d", c3d, []), ("trc", trc, []), ("tsv", txt, ["--marker-units", "mm"])):
        code, res, err = analyze_json(str(path), "--task", "walk", "--out", str(tmp_path / f"o-{name}"), *extra)
        assert code == 0, (name, err)
        assert res["input"]["kind"] == {"c3d": "c3d", "trc": "marker-trc", "tsv": "marker-text"}[name]
        results[name] = res
    for name in ("trc", "tsv"):
        for side in ("left", "right"):
            for metric in ("pelvic_drop_deg", "hip_adduction_deg"):
                assert results[name]["summary"][side][metric]["mean"] == pytest.approx(
                    results["c3d"]["summary"][side][metric]["mean"], abs=0.02), (name, side, metric)


def test_force_plate_contacts_replace_marker_events(tmp_path):
    from test_gait_events import plate_corners, plate_wrench, write_plate_c3d

    spec = GaitSpec(task="walk", duration_s=4.0, pelvic_drop_deg=DROP, hip_adduction_deg=ADD, medial_markers=True)
    trial, truth = make_gait_trial(spec)
    ratio = 10
    t_an = np.arange(trial.n_frames * ratio) / (trial.rate_hz * ratio)
    right = truth.axes.right if hasattr(truth.axes, "right") else None
    assert right is not None
    wrenches, corners, contacts = [], [], []
    for side in ("left", "right"):
        st = [s for s in truth.to_json()["stances"] if s["side"] == side][1]
        fs, fo = st["foot_strike_s"], st["foot_off_s"]
        i = int(np.searchsorted(trial.time_s, 0.5 * (fs + fo)))
        pre = "L" if side == "left" else "R"
        cop = 0.5 * (trial.xyz(f"{pre}HEE")[i] + trial.xyz(f"{pre}TOE")[i]) * 1000.0
        cor = plate_corners(cop[0] - 300.0, cop[1] - 200.0)
        wrenches.append(plate_wrench(t_an, fs, fo, (cop[0], cop[1]), cor, -40.0))
        corners.append(cor)
        contacts.append((side, fs, fo))
    path = write_plate_c3d(tmp_path / "plates.c3d", trial, wrenches, corners, ratio=ratio)
    code, res, err = analyze_json(str(path), "--task", "walk", "--out", str(tmp_path / "auto"))
    assert code == 0, err
    ev = res["provenance"]["parameters"]["events"]
    assert ev["used"] == "markers + force plates" and ev["force_plates"] == 2
    assert len(ev["replaced_by_force_plates"]) == 4  # a strike and an off per plate
    assert all(abs(r["marker_minus_plate_ms"]) <= 10.0 + 1e-6 for r in ev["replaced_by_force_plates"])
    fp = [e for e in res["events"] if e.get("source") == "force_plate"]
    for side, fs, _fo in contacts:
        (strike,) = [e for e in fp if e["side"] == side and e["kind"] == "foot_strike"]
        # the 20 N threshold of a 750 N half-sine contact is crossed 6 ms after it starts
        assert 0.0 <= strike["time_s"] - fs <= 0.0065
    code, res, err = analyze_json(str(path), "--task", "walk", "--events", "force-plates", "--out", str(tmp_path / "fp"))
    # two contacts, one per foot: not enough complete stances on their own
    assert code in (0, 5), err
    assert res["provenance"]["parameters"]["events"]["used"] == "force-plates"
