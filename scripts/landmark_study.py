"""Where the single-leg FPPA and pelvic-drop errors on the validation grid come from.

Two reports, both read-only (docs/validation.md, "Why FPPA and pelvic drop miss their targets"):

* ``bodies``: per rendered body, where MakeHuman puts the hip joint centre (the truth) against the
  hip's skin breadth at that height and against Hara et al. 2016's CT-based regression from leg
  length (hip joint centre ``8 + 0.086 LL`` mm from the pelvis' midline, ``9 + 0.078 LL`` mm below
  the ASIS, LL = leg length in mm; the coefficients as open gait-analysis code implements them, not
  checked against the paper's table), and how many degrees of thigh angle the difference makes;
* ``errors``: from a ``validation-units.csv``, the single-leg FPPA and pelvic-drop error (video
  minus truth, at the deepest point) per scenario and stance side, camera within 10 degrees;
* ``postures``: renders (cached like the grid), analyses and scores two single-leg-squat variants
  that are not in the grid, to separate the free leg's position from the arms': the free leg held
  behind with the arms crossed, and the free leg in front with the arms held out (same amounts as
  the grid's ``sls-front/free-leg-back-arms-out``); a few minutes on 2 cores.

    .venv/bin/python scripts/landmark_study.py bodies
    .venv/bin/python scripts/landmark_study.py errors validation-output/validation-units.csv
    .venv/bin/python scripts/landmark_study.py postures
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from medius.validation.skeleton import load_skeleton, read_glb

BODIES = Path(__file__).resolve().parents[1] / "src" / "medius" / "validation" / "assets" / "bodies"
_COMPONENT = {5126: np.float32, 5123: np.uint16, 5125: np.uint32, 5121: np.uint8}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def mesh_vertices(path: Path) -> np.ndarray:
    """Rest-pose vertex positions (metres) of the largest mesh primitive of a binary glTF."""
    gltf, blob = read_glb(path)
    best: np.ndarray | None = None
    for mesh in gltf["meshes"]:
        for prim in mesh["primitives"]:
            acc = gltf["accessors"][prim["attributes"]["POSITION"]]
            view = gltf["bufferViews"][acc["bufferView"]]
            dtype = np.dtype(_COMPONENT[acc["componentType"]])
            width = _WIDTH[acc["type"]]
            offset = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
            stride = view.get("byteStride") or width * dtype.itemsize
            raw = np.frombuffer(blob, np.uint8, count=stride * acc["count"], offset=offset)
            rows = raw.reshape(acc["count"], stride)[:, : width * dtype.itemsize]
            xyz = np.frombuffer(rows.tobytes(), dtype).reshape(acc["count"], width).astype(float)
            if best is None or len(xyz) > len(best):
                best = xyz
    if best is None:
        raise ValueError(f"{path}: no mesh")
    return best


def hip_half_breadth(vertices: np.ndarray, height: float, side_x: float) -> float:
    """Distance from the midline to the hip's lateral skin at ``height`` on the side of ``side_x``
    (the arms, separated from the hip by a gap, are left out)."""
    band = vertices[(np.abs(vertices[:, 1] - height) < 0.015) & (vertices[:, 0] * np.sign(side_x) > 0)]
    xs = np.sort(np.abs(band[:, 0]))
    gaps = np.flatnonzero(np.diff(xs) > 0.04)
    return float(xs[gaps[0]] if gaps.size else xs[-1])


def report_bodies() -> None:
    print("body              leg length  HJC from midline: MakeHuman  Hara 2016  wider by  "
          "HJC / hip half-breadth  thigh angle it makes")
    for path in sorted(BODIES.glob("*.glb")):
        sk = load_skeleton(path)
        hip, knee, ankle = (sk.rest_world[sk.index(b)] for b in ("LeftUpLeg", "LeftLeg", "LeftFoot"))
        # Hara's leg length runs from the ASIS, which sits 9 + 0.078 LL mm above the joint centre
        leg = (hip[1] - ankle[1] + 0.009) / (1 - 0.078)
        hara = (8 + 0.086 * leg * 1000) / 1000
        made = abs(hip[0])
        breadth = hip_half_breadth(mesh_vertices(path), hip[1], hip[0])
        thigh = float(np.linalg.norm(hip - knee))
        angle = np.degrees(np.arctan((made - hara) / thigh))
        print(f"{path.name:17s} {leg * 1000:6.0f} mm  {made * 1000:22.0f} mm  {hara * 1000:6.0f} mm  "
              f"{(made - hara) * 1000:5.0f} mm  {made / breadth:18.2f}  {angle:12.1f} deg")


def report_errors(units: Path) -> None:
    errors: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    with units.open(newline="") as f:
        for r in csv.DictReader(f):
            if (r["movement"] not in ("single-leg-squat", "step-down") or r["judged"] != "True"
                    or abs(float(r["yaw_deg"])) > 10 or not r["metric"].endswith(":at_bottom")):
                continue
            metric = r["metric"].split(":")[0]
            if metric in ("fppa_deg", "pelvic_drop_deg"):
                errors[(metric, r["scenario"], r["side"])].append(float(r["value"]) - float(r["truth"]))
    for metric in ("fppa_deg", "pelvic_drop_deg"):
        print(f"{metric}: mean error (video - truth), left-stance reps | right-stance reps")
        for scenario in sorted({k[1] for k in errors if k[0] == metric}):
            cells = []
            for side in ("left", "right"):
                e = errors.get((metric, scenario, side), [])
                cells.append(f"{np.mean(e):6.2f} ({len(e)})" if e else "     - (0)")
            print(f"  {scenario:42s} {cells[0]} | {cells[1]}")


def report_postures(cache: Path) -> None:
    from dataclasses import replace

    from medius.validation.harness import run_scenarios
    from medius.validation.scenarios import full_grid

    base = next(s for s in full_grid() if s.name == "sls-front")
    variants = [replace(base, name="sls-front/study-free-leg-back", tags=("study",), free_leg="back", seed=18),
                replace(base, name="sls-front/study-arms-out", tags=("study",), arms="out", seed=18)]
    rows = run_scenarios(variants, cache, progress=print)
    errors: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        if not r["judged"]:
            continue
        for metric in ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg"):
            m = r["metrics"].get(f"{metric}:at_bottom") or {}
            if m.get("value") is not None:
                errors[(r["scenario"], metric, r["side"])].append(m["value"] - m["truth"])
    for (scenario, metric, side), e in sorted(errors.items()):
        print(f"{scenario:32s} {metric:16s} {side:5s}-stance reps: n {len(e)}, mean error {np.mean(e):6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("bodies", "errors", "postures"))
    ap.add_argument("units", nargs="?", type=Path, default=Path("validation-output/validation-units.csv"))
    ap.add_argument("--cache", type=Path, default=Path(".cache/validation"))
    args = ap.parse_args()
    if args.what == "bodies":
        report_bodies()
    elif args.what == "errors":
        report_errors(args.units)
    else:
        report_postures(args.cache)


if __name__ == "__main__":
    main()
