"""Issue 21: the filming guide inside the product; ``medius analyze`` never silently assumes a task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medius.analysis.task_guess import guess_task
from tests.conftest import five_and_five, run_medius, write_synthetic

UQAM = Path(__file__).parent / "data" / "uqam"


def test_guide_prints_the_checklist_and_writes_the_html(tmp_path):
    proc = run_medius("guide")
    assert proc.returncode == 0
    for word in ("tripod", "hip height", "Shorts", "light", "60 frames per second", "treadmill"):
        assert word.lower() in proc.stdout.lower(), word
    out = tmp_path / "guide.html"
    assert run_medius("guide", "--out", out).returncode == 0
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'id="filming-run"' in html and "☐" in html
    again = run_medius("guide", "--out", out)
    assert again.returncode == 6 and again.stderr.count("\n") == 1 and "--force" in again.stderr


def test_guide_uses_a_camera_picture_when_present(tmp_path, monkeypatch):
    from medius.report import filming

    (tmp_path / "walk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    monkeypatch.setattr(filming, "FILMING_STATIC", tmp_path)
    filming.filming_image_data_uri.cache_clear()
    try:
        html = filming.render_filming_guide_html(standalone=False)
    finally:
        filming.filming_image_data_uri.cache_clear()
    assert html.count("data:image/png;base64,") == 1  # walk only; the others degrade to words


def test_single_leg_squats_are_guessed_and_said(tmp_path):
    path, _ = write_synthetic(five_and_five(), tmp_path / "kp")
    proc = run_medius("analyze", path, "--fps", "30", "--image-size", "1080x1920", "--no-video", "--out",
                      tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "looks like single-leg-squat" in proc.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["task"] == "single-leg-squat"
    assert result["provenance"]["options"]["task_guessed"].startswith("single-leg-squat")


def test_a_lab_trial_without_task_is_refused_with_one_line(tmp_path):
    proc = run_medius("analyze", UQAM / "gait-lower-body.c3d", "--out", tmp_path / "o")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--task" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def _gait_like(rate_hz: float, seconds: float = 10.0, fps: float = 60.0):
    names = ("left_hip", "right_hip", "left_ankle", "right_ankle")
    t = np.arange(0, seconds, 1 / fps)
    pos = np.zeros((t.size, 4, 2))
    pos[:, 0, 1] = pos[:, 1, 1] = 1000.0
    swing = 40.0 * np.sin(np.pi * rate_hz * t)  # the higher foot swaps rate_hz times a second
    pos[:, 2, 1] = 1800.0 - np.clip(swing, 0, None)
    pos[:, 3, 1] = 1800.0 - np.clip(-swing, 0, None)
    return pos, t, names


@pytest.mark.parametrize(("rate", "task"), [(1.8, "walk"), (2.8, "run")])
def test_steps_are_walking_or_running_by_their_rate(rate, task):
    assert guess_task(*_gait_like(rate)).task == task


def test_standing_still_is_not_guessed():
    pos, t, names = _gait_like(1.0)
    pos[:, 2, 1] = pos[:, 3, 1] = 1800.0
    guess = guess_task(pos, t, names)
    assert guess.task is None and "neither" in guess.reason
