"""Shared fixtures: synthetic recordings written as keypoint files, and CLI runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medius.cli import app
from medius.io.keypoint_files import write_openpose_json, write_trc
from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats, write_marker

os.environ.setdefault("MPLBACKEND", "Agg")


def five_and_five(**kw) -> SyntheticSquats:
    """Five reps on the left leg then five on the right, with distinct known values."""
    left = [SyntheticRep("left", fppa_deg=8.0, pelvic_drop_deg=3.0, trunk_lean_deg=4.0, depth_pct=15.0)] * 5
    right = [SyntheticRep("right", fppa_deg=16.0, pelvic_drop_deg=7.0, trunk_lean_deg=9.0, depth_pct=12.0)] * 5
    return SyntheticSquats(reps=tuple(left + right), **kw)


def write_synthetic(spec: SyntheticSquats, folder: Path, fmt: str = "openpose") -> tuple[Path, list[dict]]:
    """Write ``spec`` as OpenPose JSON (a folder) or TRC; returns the input path and ground truth."""
    kp, gt = make_single_leg_squats(spec)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "openpose":
        write_openpose_json(kp, folder, prefix="clip")
        path = folder
    else:
        path = write_trc(kp, folder / "clip_px.trc")
    write_marker(folder, spec, gt)
    return path, gt


@pytest.fixture
def cli():
    """Run ``medius`` in-process; returns (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: str):
        res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return res.exit_code, res.stdout, res.stderr

    return run


def run_medius(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess (exit codes, stderr, no traceback)."""
    return subprocess.run(
        [sys.executable, "-c", "from medius.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MEDIUS_DEBUG": ""},
    )


def analyze_json(*args: str) -> tuple[int, dict | None, str]:
    """``medius analyze ARGS --no-video --json --force`` in process: exit code, result (None if no JSON), stderr."""
    from typer.testing import CliRunner

    from medius.cli import app

    res = CliRunner().invoke(app, ["analyze", *map(str, args), "--no-video", "--json", "--force"])
    try:
        doc = json.loads(res.stdout)
    except ValueError:
        doc = None
    return res.exit_code, doc, res.stderr


def load_result(out: Path) -> dict:
    return json.loads((out / "result.json").read_text())
