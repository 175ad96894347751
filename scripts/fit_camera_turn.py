"""Fit the capture check's camera-turn calibration (protocols/_quality.py: CAMERA_TURN_CALIBRATION)
on the validation grid, and judge it by refitting without each scenario in turn.

BlazePose's 3D turn of the hip and shoulder lines (the check's evidence ``model_trunk_yaw_deg``)
is regressed on the camera's true turn, per view (front, behind): ``reading = offset + gain * turn``.
Run after ``make validate`` (or ``medius validate --no-render``) has analysed the grid:

    .venv/bin/python scripts/fit_camera_turn.py [--cache .cache/validation] [--code HASH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from medius.protocols._quality import QUALITY_THRESHOLDS, estimate_camera_turn
from medius.validation.harness import analysis_code_hash
from medius.validation.scenarios import full_grid


def readings(cache: Path, code: str) -> dict[str, list[tuple[str, float, float]]]:
    """``view -> [(scenario, true turn, model reading)]`` from the grid's analyses."""
    out: dict[str, list[tuple[str, float, float]]] = {"front": [], "back": []}
    for s in full_grid():
        path = cache / s.key / f"analysis-{code}" / "result.json"
        if not path.is_file():
            continue
        result = json.loads(path.read_text())
        for c in (result.get("quality") or {}).get("checks", []):
            if c.get("id") == "camera_square_on":
                raw = (c.get("evidence") or {}).get("model_trunk_yaw_deg")
                if raw is not None:
                    out["back" if s.view == "back" else "front"].append((s.name, s.yaw_deg, float(raw)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=Path(".cache/validation"))
    ap.add_argument("--code", default=analysis_code_hash(), help="analysis code hash (default: this code's)")
    args = ap.parse_args()
    limit = QUALITY_THRESHOLDS["max_camera_turn_deg"]
    for view, pts in readings(args.cache, args.code).items():
        if len(pts) < 3:
            print(f"{view}: {len(pts)} scenarios analysed with code {args.code}: too few to fit")
            continue
        turn = np.array([p[1] for p in pts])
        raw = np.array([p[2] for p in pts])
        gain, offset = np.polyfit(turn, raw, 1)
        resid = raw - (offset + gain * turn)
        print(f"{view}: {len(pts)} scenarios, offset {offset:+.2f}°, gain {gain:+.3f}, residual SD {resid.std():.2f}°")
        wrong = 0
        for i, (name, t, r) in enumerate(pts):
            keep = np.arange(len(pts)) != i
            g, o = np.polyfit(turn[keep], raw[keep], 1)
            est = estimate_camera_turn(r, view, calibration=(o, g))
            refused = abs(est) > limit
            ok = (abs(t) <= 10 and not refused) or (abs(t) >= 20 and refused) or 10 < abs(t) < 20
            wrong += not ok
            print(f"  {name:36s} turned {t:+5.0f}°  reading {r:+6.1f}°  estimate (fitted without it) {est:+6.1f}°"
                  f"  {'refused' if refused else 'passed'}{'' if ok else '  <- WRONG'}")
        print(f"  {wrong} of {len(pts)} wrong (turned 10° or less must pass, 20° or more must be refused)")


if __name__ == "__main__":
    main()
