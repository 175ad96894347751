"""Every stage takes its markers through the marker set: a cluster-based running protocol with no
Plug-in Gait name (examples/marker-sets/cluster-running.yaml) runs events from the markers, the
static calibration, the angles and the report; roles are required only by the stages that use them.

The running trial is ``medius synth --task run`` (set pelvic drop 4° / 8°, hip adduction 6° / 10°)
rebuilt as a cluster lab records it: every marker renamed, a rigid 3-marker cluster on each thigh
and shank (carried by the segment's own motion, 0.5 mm noise), the knee and ankle columns kept
but **empty in every frame** (markers worn only in the static trial), no events in the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from medius.cli import app
from medius.io.markers import Markers3D, read_c3d, write_c3d
from medius.testing.synthetic_gait import DEMO_HIP_ADDUCTION_DEG, DEMO_PELVIC_DROP_DEG
from tests.conftest import analyze_json

runner = CliRunner()
SET = Path(__file__).parents[1] / "examples" / "marker-sets" / "cluster-running.yaml"
DATA = Path(__file__).parent / "data" / "lab-reference"

RENAME = {
    "LASI": "L.ASIS", "RASI": "R.ASIS", "LPSI": "L.PSIS", "RPSI": "R.PSIS",
    "LKNE": "L.Knee", "RKNE": "R.Knee", "LKNM": "L.Knee.Med", "RKNM": "R.Knee.Med",
    "LANK": "L.Ankle", "RANK": "R.Ankle", "LMED": "L.Ankle.Med", "RMED": "R.Ankle.Med",
    "LHEE": "L.Heel", "RHEE": "R.Heel", "LTOE": "L.Toe", "RTOE": "R.Toe",
}
SEGMENTS = {  # cluster prefix -> the anatomical markers that carry it (Plug-in Gait names of the synth)
    "L.THC": ("LTHI", "LKNE", "LKNM"), "R.THC": ("RTHI", "RKNE", "RKNM"),
    "L.SHC": ("LTIB", "LANK", "LMED"), "R.SHC": ("RTIB", "RANK", "RMED"),
}
OFFSETS = np.array([[0.04, 0.0, 0.0], [0.0, 0.05, 0.0], [-0.03, 0.0, 0.045]])
STATIC_ONLY = ("L.Knee", "R.Knee", "L.Knee.Med", "R.Knee.Med", "L.Ankle", "R.Ankle", "L.Ankle.Med", "R.Ankle.Med")


def _kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = src.mean(0), dst.mean(0)
    u, _, vt = np.linalg.svd((src - a).T @ (dst - b))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rot, b - rot @ a


def _renamed(m: Markers3D) -> Markers3D:
    keep = [x for x in m.labels if x in RENAME]
    return m.select(keep).replace(labels=tuple(RENAME[x] for x in keep))


def _cluster_lab(moving: Markers3D, static: Markers3D) -> tuple[Markers3D, Markers3D]:
    rng = np.random.default_rng(3)
    new_m, new_s = {}, {}
    for prefix, anat in SEGMENTS.items():
        ref = np.median(np.stack([static.xyz(x) for x in anat], 1), axis=0)
        local = ref[0] + OFFSETS
        pts = np.stack([moving.xyz(x) for x in anat], 1)
        out = np.empty((moving.n_frames, 3, 3))
        for i in range(moving.n_frames):
            rot, tr = _kabsch(ref, pts[i])
            out[i] = local @ rot.T + tr
        for j in range(3):
            new_s[f"{prefix}{j + 1}"] = np.broadcast_to(local[j], (static.n_frames, 3)).copy()
            new_m[f"{prefix}{j + 1}"] = out[:, j] + rng.normal(0.0, 0.0005, (moving.n_frames, 3))
    run = _renamed(moving).with_markers(new_m)
    empty = {x: np.full((run.n_frames, 3), np.nan) for x in STATIC_ONLY}  # columns there, never seen
    return run.with_markers(empty).replace(events=()), _renamed(static).with_markers(new_s)


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("clusterrun")
    res = runner.invoke(app, ["synth", str(d / "synth"), "--task", "run", "--force"])
    assert res.exit_code == 0, res.output
    moving, static = _cluster_lab(read_c3d(d / "synth" / "trial.c3d"), read_c3d(d / "synth" / "static.c3d"))
    return write_c3d(moving, d / "run.c3d"), write_c3d(static, d / "static.c3d")


def test_cluster_running_set_runs_every_stage(cluster_run, tmp_path):
    run, static = cluster_run
    m = read_c3d(run)
    assert m.has("L.Knee") and not np.isfinite(m.xyz("L.Knee")).any() and not m.events
    assert not any(x.startswith(("L", "R")) and x[1:] in ("ASI", "HEE", "TOE", "KNE") for x in m.labels)
    code, res, err = analyze_json(run, "--task", "run", "--static", static, "--marker-set", SET, "--out", tmp_path / "o")
    assert code == 0, err
    prm = res["provenance"]["parameters"]
    assert prm["events"]["used"] == "markers" and prm["events"]["marker_method"] == "zeni"
    cal = prm["lab_model"]["static_calibration"]
    assert cal["method"].startswith("cluster calibration")
    assert set(cal["roles_from_the_static_trial"]) >= {"left_knee_lateral", "right_ankle_lateral"}
    assert prm["lab_model"]["joint_centres"]["right_knee"]["from"] == "medial marker (static calibration)"
    for side in ("left", "right"):
        got = res["summary"][side]
        assert got["pelvic_drop_deg"]["n"] >= 8
        assert got["pelvic_drop_deg"]["mean"] == pytest.approx(DEMO_PELVIC_DROP_DEG[side], abs=0.6)
        assert got["hip_adduction_deg"]["mean"] == pytest.approx(DEMO_HIP_ADDUCTION_DEG[side], abs=0.6)
    assert (tmp_path / "o" / "report.html").is_file()


def test_without_the_static_trial_the_empty_columns_are_absent_markers(cluster_run, tmp_path):
    run, _ = cluster_run
    code, _, err = analyze_json(run, "--task", "run", "--marker-set", SET, "--out", tmp_path / "o")
    assert code == 4
    assert "'L.Knee'" in err and "is not in the trial" in err and "--static" in err
    assert "never present" not in err and "Traceback" not in err


def test_heel_markers_required_only_by_the_events(tmp_path):
    """An older Plug-in Gait file without heel markers: the angles need no heel; --events file uses
    the file's events, auto falls back to them and says why, --events markers names what is missing."""
    m = read_c3d(DATA / "walk-lower-body.c3d")
    trial = write_c3d(m.select([x for x in m.labels if x not in ("LHEE", "RHEE")]), tmp_path / "noheel.c3d")
    code, res, err = analyze_json(trial, "--task", "walk", "--events", "file", "--out", tmp_path / "f")
    assert code == 0, err
    assert res["provenance"]["parameters"]["events"]["used"] == "file"
    code, res, err = analyze_json(trial, "--task", "walk", "--out", tmp_path / "a")
    assert code == 0, err
    assert res["provenance"]["parameters"]["events"]["used"] == "file"
    assert any("Events from the file's own EVENT times" in w for w in res["quality"]["warnings"])
    code, _, err = analyze_json(trial, "--task", "walk", "--events", "markers", "--out", tmp_path / "m")
    assert code == 4 and "left_heel, right_heel" in err and "--events file" in err


def test_pelvic_drop_relative_to_the_standing_static(tmp_path):
    """A static trial standing 1.6 deg oblique (left side up) shifts the drop against the lab by
    nothing, and the drop relative to standing by -1.6 deg on the left, +1.6 deg on the right; the
    summary keeps pelvic_drop_deg (against the lab), the new quantity has its own name."""
    res = runner.invoke(app, ["synth", str(tmp_path / "s"), "--task", "walk", "--force"])
    assert res.exit_code == 0, res.output
    static = read_c3d(tmp_path / "s" / "static.c3d")
    th = np.radians(1.6)  # about the lab's forward axis (+x; up +z, the person's left +y): left side up
    rot = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(th), -np.sin(th)], [0.0, np.sin(th), np.cos(th)]])
    tilted = write_c3d(static.replace(position=static.position @ rot.T), tmp_path / "tilted.c3d")
    code, r, err = analyze_json(tmp_path / "s" / "trial.c3d", "--task", "walk", "--static", tilted,
                                "--out", tmp_path / "o")
    assert code == 0, err
    vs = r["pelvic_drop_vs_standing"]
    assert vs["standing_obliquity_deg_left"] == pytest.approx(1.6, abs=0.05)
    assert vs["used_by_summary"] is False and "lab horizontal" in vs["why_not_in_summary"]
    lab = {s: r["summary"][s]["pelvic_drop_deg"]["mean"] for s in ("left", "right")}
    assert lab["left"] == pytest.approx(DEMO_PELVIC_DROP_DEG["left"], abs=0.3)
    assert vs["summary"]["left"]["mean"] == pytest.approx(lab["left"] - 1.6, abs=0.06)
    assert vs["summary"]["right"]["mean"] == pytest.approx(lab["right"] + 1.6, abs=0.06)
    row = next(x for x in r["stances"] if x["status"] == "complete")
    assert set(row["pelvic_drop_vs_standing_deg"]) >= {"peak", "at_mid_stance"}
    assert "pelvic_drop_vs_standing_deg" not in r["summary"]["left"]
    html = (tmp_path / "o" / "report.html").read_text()
    assert "Pelvic drop relative to the standing static trial" in html and "left side +1.6° up" in html
    # without a static trial there is no such quantity
    code, r2, err = analyze_json(tmp_path / "s" / "trial.c3d", "--task", "walk", "--out", tmp_path / "o2")
    assert code == 0 and "pelvic_drop_vs_standing" not in r2
