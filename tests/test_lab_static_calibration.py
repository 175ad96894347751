"""Static calibration trials through ``medius analyze``: cluster-only moving trials, and moving
trials that carry their own medial markers.

Both start from the pair ``medius synth --task walk`` writes (``trial.c3d`` with medial knee and
ankle markers, ``static.c3d``; set pelvic drop 4° / 8° and hip adduction 6° / 10°, left / right).

* **Cluster-only.** The moving trial is rebuilt the way a cluster-based lab records it: the
  anatomical markers of the thigh and shank (lateral and medial epicondyles, malleoli, the
  Plug-in Gait wands) are removed and replaced by a rigid 3-marker cluster on each thigh and
  shank; the static trial keeps the anatomical markers and gets the clusters too. Each cluster is
  placed in the static trial and carried into every moving frame by the segment's own motion (the
  rigid transform of its anatomical markers from the static pose, solved here by an independent
  SVD), with 0.5 mm of marker noise; the static calibration must give the anatomical markers, and
  the angles, back (within 0.5° of the set values, 0.2° of the original trial's).
* **Medial markers in both trials.** The static trial adds nothing the model needs; it must be
  accepted (and used as a check of the medial markers), not refused.
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

DROP = DEMO_PELVIC_DROP_DEG
ADD = DEMO_HIP_ADDUCTION_DEG
#: anatomical markers of each segment in the synthetic Plug-in Gait trial (all ride on the bone)
SEGMENTS = {
    "left_thigh": ("LTHI", "LKNE", "LKNM"),
    "right_thigh": ("RTHI", "RKNE", "RKNM"),
    "left_shank": ("LTIB", "LANK", "LMED"),
    "right_shank": ("RTIB", "RANK", "RMED"),
}
#: the cluster markers of each segment, offsets from the segment's first marker in the static pose (m)
CLUSTER_OFFSETS = np.array([[0.04, 0.0, 0.0], [0.0, 0.05, 0.0], [-0.03, 0.0, 0.045]])
#: marker noise added to the moving trial's cluster markers (as the synth's own 0.5 mm)
NOISE_M = 0.0005



@pytest.fixture(scope="module")
def synth_walk(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "walk"
    res = runner.invoke(app, ["synth", str(out), "--task", "walk", "--force"])
    assert res.exit_code == 0, res.output
    return out


def _kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation taking the (n, 3) points ``src`` onto ``dst`` (least squares)."""
    a, b = src.mean(0), dst.mean(0)
    u, _, vt = np.linalg.svd((src - a).T @ (dst - b))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rot, b - rot @ a


def _cluster_only(moving: Markers3D, static: Markers3D) -> tuple[Markers3D, Markers3D, dict[str, list[str]]]:
    rng = np.random.default_rng(7)
    new_moving, new_static, clusters = {}, {}, {}
    for seg, anat in SEGMENTS.items():
        names = [f"{seg[0].upper()}{seg.split('_')[1][:2].upper()}{k}" for k in (1, 2, 3)]  # LTH1.., RSH3
        clusters[seg] = names
        ref = np.median(np.stack([static.xyz(x) for x in anat], 1), axis=0)  # (3 markers, 3)
        local = ref[0] + CLUSTER_OFFSETS
        for name, p in zip(names, local, strict=True):
            new_static[name] = np.broadcast_to(p, (static.n_frames, 3)).copy()
        pts = np.stack([moving.xyz(x) for x in anat], 1)
        out = np.full((moving.n_frames, 3, 3), np.nan)
        for i in range(moving.n_frames):
            rot, tr = _kabsch(ref, pts[i])
            out[i] = local @ rot.T + tr
        for j, name in enumerate(names):
            new_moving[name] = out[:, j] + rng.normal(0.0, NOISE_M, (moving.n_frames, 3))
    anatomical = {x for v in SEGMENTS.values() for x in v}
    kept = [x for x in moving.labels if x not in anatomical]
    return moving.select(kept).with_markers(new_moving), static.with_markers(new_static), clusters


def _cluster_set(path: Path, clusters: dict[str, list[str]]) -> Path:
    lines = ["name: pig-clusters", "markers:"]
    for side, s in (("left", "L"), ("right", "R")):
        lines += [f"  {side}_{role}: {s}{name}" for role, name in (
            ("asis", "ASI"), ("psis", "PSI"), ("knee_lateral", "KNE"), ("knee_medial", "KNM"),
            ("ankle_lateral", "ANK"), ("ankle_medial", "MED"), ("heel", "HEE"), ("toe", "TOE"), ("shoulder", "SHO"))]
    lines += ["static_calibration:", "  clusters:"]
    lines += [f"    {seg}: [{', '.join(v)}]" for seg, v in clusters.items()]
    lines += ["  anatomical:"]
    lines += [f"    {seg}: [{', '.join(x for x in SEGMENTS[seg] if not x.endswith(('THI', 'TIB')))}]" for seg in clusters]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cluster_only_moving_trial_is_calibrated_from_the_static(tmp_path, synth_walk):
    moving, static = read_c3d(synth_walk / "trial.c3d"), read_c3d(synth_walk / "static.c3d")
    c_moving, c_static, clusters = _cluster_only(moving, static)
    assert not any(c_moving.has(x) for x in ("LKNE", "RKNE", "LANK", "RANK", "LKNM", "RMED"))
    m_path = write_c3d(c_moving.replace(events=moving.events), tmp_path / "clusters.c3d")
    s_path = write_c3d(c_static, tmp_path / "clusters-static.c3d")
    ms = _cluster_set(tmp_path / "clusters.yaml", clusters)

    # the reference: the original trial with its anatomical markers, no static trial
    code, ref, err = analyze_json(str(synth_walk / "trial.c3d"), "--task", "walk", "--out", str(tmp_path / "ref"))
    assert code == 0, err
    code, res, err = analyze_json(str(m_path), "--task", "walk", "--static", str(s_path), "--marker-set", str(ms),
                              "--out", str(tmp_path / "clusters"))
    assert code == 0, err
    lab = res["provenance"]["parameters"]["lab_model"]
    cal = lab["static_calibration"]
    assert cal["method"].startswith("cluster calibration")
    assert set(cal["roles_from_the_static_trial"]) >= {"left_knee_lateral", "right_ankle_lateral"}
    for seg in SEGMENTS:
        # the fit residual of the noisy clusters (0.5 mm per coordinate, low-pass filtered first)
        assert 0.00002 < cal["log"]["segments"][seg]["rms_median_m"] < 0.001
    assert lab["joint_centres"]["left_knee"]["from"] == "medial marker (static calibration)"
    for side in ("left", "right"):
        got = res["summary"][side]
        assert got["pelvic_drop_deg"]["mean"] == pytest.approx(DROP[side], abs=0.5)
        assert got["hip_adduction_deg"]["mean"] == pytest.approx(ADD[side], abs=0.5)
        # and the same as the trial that carries the anatomical markers itself
        assert got["hip_adduction_deg"]["mean"] == pytest.approx(ref["summary"][side]["hip_adduction_deg"]["mean"],
                                                                 abs=0.2)
    assert len(res["stances"]) == len(ref["stances"])

    # without the static trial: one clear line that says what to give
    code, _, err = analyze_json(str(m_path), "--task", "walk", "--marker-set", str(ms), "--out", str(tmp_path / "none"))
    assert code == 4
    assert "'LKNE'" in err and "is not in the trial" in err and "--static" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "none").exists()

    # a static trial without the anatomical markers cannot calibrate: named, non-zero exit
    bare = c_static.select([x for x in c_static.labels if x not in ("LKNE", "LKNM")])
    b_path = write_c3d(bare, tmp_path / "static-no-knee.c3d")
    code, _, err = analyze_json(str(m_path), "--task", "walk", "--static", str(b_path), "--marker-set", str(ms),
                            "--out", str(tmp_path / "bare"))
    assert code == 4 and "static-no-knee.c3d" in err and "'LKNE'" in err
    assert len(err.strip().splitlines()) == 1


def test_medial_markers_in_both_trials_the_static_is_a_check_not_a_refusal(tmp_path, synth_walk):
    code, alone, err = analyze_json(str(synth_walk / "trial.c3d"), "--task", "walk", "--out", str(tmp_path / "a"))
    assert code == 0, err
    code, res, err = analyze_json(str(synth_walk / "trial.c3d"), "--task", "walk", "--static",
                              str(synth_walk / "static.c3d"), "--out", str(tmp_path / "s"))
    assert code == 0, err
    cal = res["provenance"]["parameters"]["lab_model"]["static_calibration"]
    assert cal["method"].startswith("not needed: the moving trial has its own medial")
    assert cal["used_for"] == []
    # the same person, the same markers: the lateral-medial distances agree (0.5 mm noise)
    assert set(cal["width_difference_mm"]) == {"left_knee", "right_knee", "left_ankle", "right_ankle"}
    assert all(abs(v) < 2.0 for v in cal["width_difference_mm"].values())
    for side in ("left", "right"):
        for m in ("pelvic_drop_deg", "hip_adduction_deg"):
            assert res["summary"][side][m]["mean"] == alone["summary"][side][m]["mean"]

    # medial markers moved between the trials (a knee marker 25 mm further out in the static): a warning
    static = read_c3d(synth_walk / "static.c3d")
    pos = static.position.copy()
    lat = static.xyz("LKNE") - static.xyz("LKNM")
    pos[:, static.index("LKNM")] -= 0.025 * lat / np.linalg.norm(lat, axis=1, keepdims=True)
    moved = write_c3d(static.replace(position=pos), tmp_path / "static-moved.c3d")
    code, res, err = analyze_json(str(synth_walk / "trial.c3d"), "--task", "walk", "--static", str(moved),
                              "--out", str(tmp_path / "m"))
    assert code == 0, err
    warn = " ".join(res["quality"]["warnings"])
    assert "lateral–medial marker distance differs by -25 mm (left knee)" in warn
