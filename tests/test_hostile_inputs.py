"""Hostile text inputs are invalid input (exit 4, one line naming the file, nothing written), not
"a bug" (exit 1): 1e308 pixel coordinates, 100k nested JSON brackets, a 5000-digit integer and
20k-deep nesting in YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import five_and_five, run_medius, write_synthetic
from tests.test_cli_errors import assert_clean, one_line_error

UQAM = Path(__file__).parent / "data" / "uqam"


def _trc_with(tmp_path: Path, value: str) -> Path:
    src, _ = write_synthetic(five_and_five(), tmp_path / "syn", fmt="trc")
    lines = src.read_text().splitlines()
    parts = lines[8].split("\t")
    parts[2] = value
    lines[8] = "\t".join(parts)
    path = tmp_path / "huge.trc"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_trc_with_1e308_pixel_coordinates(tmp_path):
    out = tmp_path / "out"
    line = one_line_error(
        run_medius("analyze", _trc_with(tmp_path, "1e308"), "--no-video", "--out", out), 4, "huge.trc"
    )
    assert "out of range" in line
    assert_clean(out, tmp_path)


def test_openpose_json_of_100k_nested_brackets(tmp_path):
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "clip_000000000000_keypoints.json").write_text("[" * 100_000 + "]" * 100_000)
    out = tmp_path / "out"
    args = ("analyze", folder, "--fps", "30", "--image-size", "1080x1920", "--no-video", "--out", out)
    line = one_line_error(run_medius(*args), 4, "clip_000000000000_keypoints.json")
    assert "nested too deeply" in line
    assert_clean(out, tmp_path)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("name: x\nsubject_parameters:\n  LKneeWidth: " + "9" * 5000 + "\n", "4300 digits"),
        ("name: " + "[" * 20_000 + "]" * 20_000 + "\n", "recursion"),
    ],
    ids=["5000-digit-int", "20k-deep"],
)
def test_hostile_marker_set_yaml(tmp_path, text, needle):
    yml = tmp_path / "set.yaml"
    yml.write_text(text)
    out = tmp_path / "out"
    args = ("analyze", UQAM / "gait-lower-body.c3d", "--task", "walk", "--marker-set", yml, "--out", out)
    line = one_line_error(run_medius(*args), 4, "set.yaml")
    assert needle in line
    assert_clean(out, tmp_path)


def test_hostile_assessment_yaml(tmp_path):
    yml = tmp_path / "visit.yaml"
    yml.write_text("patient: " + "[" * 20_000 + "]" * 20_000 + "\n")
    out = tmp_path / "out"
    line = one_line_error(run_medius("assess", yml, "--out", out), 4, "visit.yaml")
    assert "does not parse" in line
    assert_clean(out, tmp_path)


def test_sigterm_during_an_analysis_cleans_up_like_ctrl_c(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    src, _ = write_synthetic(five_and_five(), tmp_path / "syn", fmt="trc")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from medius.cli import main; main()", "analyze", str(src), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if [p for p in tmp_path.iterdir() if p.name.startswith(".out.") and p.name.endswith(".partial")]:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the analysis ended before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted; nothing was written" in stderr and "Traceback" not in stderr
    assert_clean(out, tmp_path)


def test_an_interrupt_landing_right_after_the_workspace_is_made_leaves_nothing(tmp_path, monkeypatch):
    """The race behind a flaky SIGTERM test: the signal arrives after ``mkdir`` made the partial
    folder but before any ``try`` that would remove it. The CLI's handler still removes it."""
    import pathlib

    import typer

    from medius._cli_common import guarded
    from medius.analysis.outputs import prepare_output_dir

    real_mkdir = pathlib.Path.mkdir

    def mkdir_then_interrupt(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)
        if self.name.endswith(".partial"):
            raise KeyboardInterrupt

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir_then_interrupt)
    out = tmp_path / "out"
    with pytest.raises(typer.Exit) as stopped:
        guarded(lambda: prepare_output_dir(out, force=False))()
    assert stopped.value.exit_code == 130
    assert_clean(out, tmp_path)


@pytest.mark.parametrize(
    "args, needle",
    [
        (("analyze", "x.mp4", "--bogus"), "No such option: --bogus"),
        (("analyze", "x.mp4", "--task", "lunge"), "Invalid value for '--task'"),
        (("analyze",), "Missing argument"),
        (("batch", "x", "--workers", "0"), "Invalid value for '--workers'"),
    ],
)
def test_usage_errors_are_one_line(args, needle):
    proc = run_medius(*args)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("medius: error: ") and needle in lines[0], proc.stderr
    assert "--help" in lines[0] and "╭" not in proc.stderr


def test_renamed_knee_markers_are_reported_missing_not_confidence_1(tmp_path):
    import json

    src, _ = write_synthetic(five_and_five(), tmp_path / "syn", fmt="trc")
    lines = src.read_text().splitlines()
    lines[3] = lines[3].replace("RKnee", "RKneeX").replace("LKnee", "LKneeX")
    renamed = tmp_path / "renamed.trc"
    renamed.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    proc = run_medius("analyze", renamed, "--no-video", "--out", out)
    assert proc.returncode == 5, proc.stderr
    assert "missing in most frames: left knee, right knee" in proc.stderr
    check = {c["id"]: c for c in json.loads((out / "result.json").read_text())["quality"]["checks"]}
    assert check["keypoint_confidence"]["passed"] is False
