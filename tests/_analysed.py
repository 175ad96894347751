"""Real analysis outputs of every demo input kind, made once per test process through the CLI.

``analysed(kind)`` returns the output folder (``result.json``, the CSV, the report, the plots):

* ``keypoint-walk``: ``medius synth --task walk``'s video keypoints (pixel TRC, filmed from behind);
* ``lab-walk``: the same synthetic walk's lab trial (C3D with its static trial);
* ``uqam-walk``: the real UQAM Plug-in Gait trial (tests/data/uqam);
* ``squat``: ``medius synth``'s single-leg squat (pixel TRC);
* ``not-judgeable``: the squat analysed as a walk (no foot strikes);
* ``video-walk`` / ``video-squat``: the saved results of the committed validation clips
  (tests/data/results; MediaPipe is not run here).
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UQAM = ROOT / "tests" / "data" / "uqam"
SAVED = ROOT / "tests" / "data" / "results"
KINDS = ("video-squat", "video-walk", "squat", "keypoint-walk", "uqam-walk", "lab-walk", "not-judgeable")
MEDIUS = str(Path(sys.executable).with_name("medius"))


def _medius(*args: str) -> None:
    done = subprocess.run([MEDIUS, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 5), done.stderr


@cache
def _root() -> Path:
    """One folder per test process, removed when the process ends (runs left one each in /tmp)."""
    root = Path(tempfile.mkdtemp(prefix="medius-analysed-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@cache
def _synth(task: str) -> Path:
    out = _root() / f"synth-{task}"
    fmt = ("--format", "trc") if task == "single-leg-squat" else ()
    _medius("synth", str(out), "--task", task, *fmt)
    return out


@cache
def analysed(kind: str) -> Path:
    """The output folder of one demo input kind (see the module docstring)."""
    out = _root() / kind
    if kind.startswith("video-"):
        out.mkdir()
        name = {"video-walk": "video-walk-quick-walk-back.json", "video-squat": "video-squat-quick-sls-front.json"}[kind]
        shutil.copy(SAVED / name, out / "result.json")
        return out
    if kind == "keypoint-walk":
        args = [str(_synth("walk") / "video" / "gait.trc"), "--task", "walk"]
    elif kind == "lab-walk":
        w = _synth("walk")
        args = [str(w / "trial.c3d"), "--task", "walk", "--static", str(w / "static.c3d")]
    elif kind == "uqam-walk":
        args = [str(UQAM / "gait-lower-body.c3d"), "--task", "walk", "--static", str(UQAM / "static-100frames.c3d"),
                "--marker-set", str(UQAM / "plug-in-gait-static-medial.yaml")]
    elif kind == "squat":
        args = [str(_synth("single-leg-squat") / "synthetic_px.trc"), "--task", "single-leg-squat"]
    elif kind == "not-judgeable":
        args = [str(_synth("single-leg-squat") / "synthetic_px.trc"), "--task", "walk"]
    else:
        raise KeyError(kind)
    _medius("analyze", *args, "--out", str(out), "--no-video")
    return out
