"""Write the reduced copies of the lab-reference trials kept here (run from the repository root):

    .venv/bin/python tests/data/lab-reference/reduce.py /work/shared/data/lab-reference

Keeps the markers medius's lab model reads, Vicon's joint centres and model angles (POINT:ANGLES),
the PROCESSING subject parameters, the EVENT group and, for walk.c3d, the four force plates'
24 analog channels (the EMG channels are left out). Values are copied unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ezc3d
import numpy as np

LOWER = ["LASI", "RASI", "LPSI", "RPSI", "SACR", "LTHI", "LTHI2", "LKNE", "LTIB", "LANK", "LHEE", "LTOE",
         "RTHI", "RTHI2", "RKNE", "RTIB", "RANK", "RHEE", "RTOE", "LKJC", "RKJC", "LFEP", "RFEP", "LFEO", "RFEO"]
ANGLES = ["LPelvisAngles", "RPelvisAngles", "LHipAngles", "RHipAngles"]


def reduce(src: Path, dst: Path, frames: slice = slice(None), plates: bool = False) -> None:
    c = ezc3d.c3d(str(src))
    labels = [x.strip() for x in c["parameters"]["POINT"]["LABELS"]["value"]]
    keep = [x for x in LOWER + ANGLES if x in labels]
    idx = [labels.index(x) for x in keep]
    pts = c["data"]["points"][:, idx, frames]
    res = c["data"]["meta_points"]["residuals"][:, idx, frames]
    out = ezc3d.c3d()
    rate = float(c["parameters"]["POINT"]["RATE"]["value"][0])
    out["parameters"]["POINT"]["RATE"]["value"] = [rate]
    out["parameters"]["POINT"]["LABELS"]["value"] = keep
    out["parameters"]["POINT"]["UNITS"]["value"] = [c["parameters"]["POINT"]["UNITS"]["value"][0]]
    out["data"]["points"] = pts
    out["data"]["meta_points"]["residuals"] = res
    out.add_parameter("POINT", "ANGLES", [x for x in ANGLES if x in keep])
    for k, v in c["parameters"]["PROCESSING"].items():
        if isinstance(v, dict) and "value" in v and k != "__METADATA__":
            out.add_parameter("PROCESSING", k, [float(x) for x in np.ravel(v["value"])])
    if "EVENT" in c["parameters"] and frames == slice(None):
        ev = c["parameters"]["EVENT"]
        out.add_parameter("EVENT", "USED", [int(ev["USED"]["value"][0])])
        out.add_parameter("EVENT", "CONTEXTS", list(ev["CONTEXTS"]["value"]))
        out.add_parameter("EVENT", "LABELS", list(ev["LABELS"]["value"]))
        out.add_parameter("EVENT", "TIMES", np.asarray(ev["TIMES"]["value"], dtype=float))
    first = int(c["header"]["points"]["first_frame"]) + (frames.start or 0)
    if plates:
        a = c["parameters"]["ANALOG"]
        n = 24
        out["parameters"]["ANALOG"]["RATE"]["value"] = [float(a["RATE"]["value"][0])]
        out["parameters"]["ANALOG"]["LABELS"]["value"] = list(a["LABELS"]["value"][:n])
        out["parameters"]["ANALOG"]["UNITS"]["value"] = list(a["UNITS"]["value"][:n])
        out["data"]["analogs"] = c["data"]["analogs"][:, :n, :]
        fp = c["parameters"]["FORCE_PLATFORM"]
        for k in ("USED", "TYPE", "ZERO", "CORNERS", "ORIGIN", "CHANNEL"):
            val = np.asarray(fp[k]["value"])
            out.add_parameter("FORCE_PLATFORM", k, val.astype(float))
    out.write(str(dst))
    # the first frame (the clock of the EVENT times) is set in the header after writing
    fixed = ezc3d.c3d(str(dst))
    fixed["header"]["points"]["first_frame"] = first
    fixed.write(str(dst))


if __name__ == "__main__":
    root = Path(sys.argv[1])
    here = Path(__file__).parent
    reduce(root / "kineticstoolkit/walk.c3d", here / "walk-lower-body.c3d", plates=True)
    reduce(root / "pycgm/Movement_trial.c3d", here / "pycgm-movement-lower-body.c3d")
    reduce(root / "pycgm/Static_trial.c3d", here / "pycgm-static-120frames.c3d", frames=slice(0, 120))
