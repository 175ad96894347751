"""Known answers through the real CLI: synthetic single-leg squats written as OpenPose BODY_25 JSON
and as TRC (pixels), with set FPPA, pelvic drop, trunk lean and rep timing."""

from __future__ import annotations

import csv
import json

import pytest

from medius.testing.synthetic import SyntheticRep, SyntheticSquats
from tests.conftest import five_and_five, load_result, write_synthetic

TOL_DEG = 0.5


@pytest.mark.parametrize("fmt", ["openpose", "trc"])
@pytest.mark.parametrize("task", ["single-leg-squat", "step-down"])
def test_metrics_and_reps_come_back(tmp_path, cli, fmt, task):
    spec = five_and_five(task=task)
    path, gt = write_synthetic(spec, tmp_path / "in", fmt)
    out = tmp_path / "out"
    args = ["analyze", path, "--task", task, "--out", out, "--no-video"]
    if fmt == "openpose":
        args += ["--fps", "30", "--image-size", "1080x1920"]
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    res = load_result(out)
    assert res["status"] == "ok" and res["synthetic"] is True and res["task"] == task
    reps = res["reps"]
    assert [r["side"] for r in reps] == [g["side"] for g in gt]
    assert all(r["status"] == "complete" for r in reps)
    fps = spec.fps
    for r, g in zip(reps, gt, strict=True):
        # the deepest point at the right frame; start and end within one frame of the true ones
        assert r["bottom_frame"] == g["bottom_frame"]
        assert abs(r["start_s"] - g["start_s"]) <= 1.01 / fps
        assert abs(r["end_s"] - g["end_s"]) <= 1.01 / fps
        m = r["metrics"]
        for name in ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg"):
            assert m[name]["peak"] == pytest.approx(g[name], abs=TOL_DEG), name
            assert m[name]["at_bottom"] == pytest.approx(g[name], abs=TOL_DEG), name
        assert m["depth_pct"]["peak"] == pytest.approx(g["depth_pct"], abs=0.5)
        assert abs(m["fppa_deg"]["peak_s"] - g["bottom_s"]) <= 2.01 / fps
    s = res["summary"]
    assert s["left"]["fppa_deg"]["n"] == 5 and s["right"]["fppa_deg"]["n"] == 5
    assert s["left"]["fppa_deg"]["mean"] == pytest.approx(8.0, abs=TOL_DEG)
    assert s["right"]["fppa_deg"]["mean"] == pytest.approx(16.0, abs=TOL_DEG)
    assert s["difference"]["fppa_deg"]["left_minus_right"] == pytest.approx(-8.0, abs=2 * TOL_DEG)
    # reps.csv: one row per rep, same numbers
    rows = list(csv.DictReader((out / "reps.csv").open()))
    assert len(rows) == 10 and float(rows[0]["fppa_deg_peak"]) == reps[0]["metrics"]["fppa_deg"]["peak"]


def test_negative_values_varus_and_hip_hike(tmp_path, cli):
    reps = [SyntheticRep("left", fppa_deg=-6.0, pelvic_drop_deg=-3.0, trunk_lean_deg=-4.0)] * 3
    reps += [SyntheticRep("right", fppa_deg=4.0, pelvic_drop_deg=2.0, trunk_lean_deg=2.0)] * 3
    path, gt = write_synthetic(SyntheticSquats(reps=tuple(reps)), tmp_path / "in")
    out = tmp_path / "out"
    code, _, err = cli("analyze", path, "--fps", "30", "--out", out, "--no-video")
    assert code == 0, err
    res = load_result(out)
    for r, g in zip(res["reps"], gt, strict=True):
        for name in ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg"):
            assert r["metrics"][name]["peak"] == pytest.approx(g[name], abs=TOL_DEG)


def test_noise_and_variable_frame_rate_stay_within_half_a_degree(tmp_path, cli):
    spec = five_and_five(noise_px=0.5, seed=3, fps=60.0)
    path, gt = write_synthetic(spec, tmp_path / "in", "trc")
    out = tmp_path / "out"
    code, _, err = cli("analyze", path, "--out", out, "--no-video")
    assert code == 0, err
    res = load_result(out)
    for side, want in (("left", 8.0), ("right", 16.0)):
        assert res["summary"][side]["fppa_deg"]["mean"] == pytest.approx(want, abs=TOL_DEG)


def test_partial_reps_are_reported_not_dropped(tmp_path, cli):
    reps = [SyntheticRep("left", depth_pct=15.0)] * 4 + [SyntheticRep("left", depth_pct=5.0)]
    spec = SyntheticSquats(reps=tuple(reps), lead_in_s=1.0)
    path, _ = write_synthetic(spec, tmp_path / "in")
    out = tmp_path / "out"
    code, _, err = cli("analyze", path, "--fps", "30", "--out", out, "--no-video")
    assert code == 0, err
    res = load_result(out)
    statuses = [r["status"] for r in res["reps"]]
    assert statuses == ["complete"] * 4 + ["partial"]
    assert "shallow" in res["reps"][-1]["note"]
    assert res["summary"]["left"]["fppa_deg"]["n"] == 4


def test_declared_side_overrides_and_flags_mismatch(tmp_path, cli):
    path, _ = write_synthetic(five_and_five(), tmp_path / "in")
    out = tmp_path / "out"
    code, _, err = cli("analyze", path, "--fps", "30", "--side", "left", "--out", out, "--no-video")
    assert code == 0, err
    res = load_result(out)
    assert all(r["side"] == "left" for r in res["reps"])
    right_reps = res["reps"][5:]
    assert all(r["status"] == "partial" and "not the declared left" in r["note"] for r in right_reps)


def test_json_flag_prints_the_result(tmp_path, cli):
    path, _ = write_synthetic(five_and_five(), tmp_path / "in")
    out = tmp_path / "out"
    code, stdout, _ = cli("analyze", path, "--fps", "30", "--out", out, "--no-video", "--json")
    assert code == 0
    printed = json.loads(stdout)
    assert printed["schema_version"] == "2.1"
    assert printed["reps"] == load_result(out)["reps"]


def test_result_schema_and_provenance(tmp_path, cli):
    path, _ = write_synthetic(five_and_five(), tmp_path / "in")
    out = tmp_path / "out"
    assert cli("analyze", path, "--fps", "30", "--out", out)[0] == 0
    res = load_result(out)
    for key in ("schema_version", "task", "quality", "reps", "summary", "provenance", "metrics", "interpretation"):
        assert key in res
    assert {c["id"] for c in res["quality"]["checks"]} >= {
        "person_detected", "frontal_view", "frame_rate", "keypoint_confidence", "left_right_labels"
    }
    ops = [s["operation"] for s in res["provenance"]["steps"]]
    for op in ("select_person", "correct_left_right", "mask_low_confidence", "interpolate_gaps", "lowpass_filter"):
        assert op in ops
    lp = next(s for s in res["provenance"]["steps"] if s["operation"] == "lowpass_filter")
    assert lp["cutoff_hz"] == 6.0
    for m in ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg", "hip_adduction_deg"):
        assert res["metrics"][m]["unit"] == "deg" and res["metrics"][m]["definition"]
    fppa = [e for e in res["interpretation"] if e["metric"] == "fppa_deg"]
    assert fppa and all(e["measurement_error"]["source"] for e in fppa)
    assert all("diagnos" not in e["text"].lower() for e in res["interpretation"])
    for name in ("report.html", "annotated.mp4", "reps.csv", "plot_timeseries.svg"):
        assert (out / name).is_file()
    html = (out / "report.html").read_text()
    assert "SYNTHETIC" in html


@pytest.mark.parametrize("fmt", ["openpose", "trc"])
def test_synth_command_writes_a_labelled_synthetic_recording(tmp_path, cli, fmt):
    folder = tmp_path / "syn"
    code, stdout, _ = cli("synth", folder, "--format", fmt, "--reps", "2", "--noise-px", "0")
    assert code == 0 and "Synthetic keypoints" in stdout
    marker = json.loads((folder / "medius-synthetic.json").read_text())
    assert marker["synthetic"] is True and len(marker["ground_truth"]) == 4
    assert (any(folder.glob("*.json")) if fmt == "openpose" else (folder / "synthetic_px.trc").is_file())
    assert cli("synth", folder)[0] == 6  # not empty: needs --force
    assert cli("synth", folder, "--force", "--format", fmt)[0] == 0
    assert cli("synth", folder, "--force", "--format", "csv")[0] == 4
