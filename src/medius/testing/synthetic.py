"""Synthetic single-leg squats with known answers, seen from the front.

A stick figure faces the camera (its left on the image right) and performs single-leg squats or
step-downs. Each rep follows a raised-cosine profile from standing (0) to the deepest point (1)
and back; at the deepest point the stance leg's FPPA, the pelvic drop and the trunk lean equal the
values asked for, *by the definitions in docs/conventions.md*, exactly:

* the stance knee sits on the perpendicular bisector of the hip–ankle segment, medial of it, so
  the thigh and shank directions differ by exactly the FPPA;
* the free hip is placed at the pelvic tilt angle from the stance hip (baseline tilt + drop);
* the mid-shoulder is placed at the lean angle from the mid-hip, towards the stance side.

Used by the tests (known-answer checks through the CLI, via OpenPose JSON and TRC files) and by
``make demo`` (a full report on data clearly labelled synthetic).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from medius.io._metadata import INPUT_METADATA_FILE, synthetic_metadata
from medius.io._sequence import KEYPOINTS, Keypoints2D

__all__ = ["SYNTHETIC_MARKER", "SyntheticRep", "SyntheticSquats", "make_single_leg_squats", "read_marker"]

#: file written beside synthetic keypoint files (the input metadata file that
#: :func:`medius.io.read_input_metadata` reads); ``"synthetic": true`` in it labels the result synthetic
SYNTHETIC_MARKER = INPUT_METADATA_FILE

#: read back the metadata written by :func:`write_marker` (None when absent or not synthetic)
read_marker = synthetic_metadata


@dataclass(frozen=True)
class SyntheticRep:
    """One rep: stance leg and the values at the deepest point (deg, % leg length)."""

    side: Literal["left", "right"]
    fppa_deg: float = 10.0
    pelvic_drop_deg: float = 4.0
    trunk_lean_deg: float = 5.0
    depth_pct: float = 15.0
    duration_s: float = 2.0


@dataclass(frozen=True)
class SyntheticSquats:
    """A whole recording: reps separated by standing pauses."""

    reps: tuple[SyntheticRep, ...]
    fps: float = 30.0
    pause_s: float = 1.0
    lead_in_s: float = 1.0
    image_size: tuple[int, int] = (1080, 1920)
    height_px: float = 1400.0
    baseline_tilt_deg: float = 0.0
    confidence: float = 0.95
    noise_px: float = 0.0
    seed: int = 0
    task: str = "single-leg-squat"
    ground_truth: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["reps"] = [asdict(r) for r in self.reps]
        d.pop("ground_truth")
        return d


def _profile(u: np.ndarray) -> np.ndarray:
    """Raised cosine 0 -> 1 -> 0 over u in [0, 1]."""
    return 0.5 * (1 - np.cos(2 * np.pi * np.clip(u, 0, 1)))


def make_single_leg_squats(spec: SyntheticSquats) -> tuple[Keypoints2D, list[dict[str, Any]]]:
    """Generate the keypoints and the ground truth (rep timing and values) of ``spec``."""
    dt = 1.0 / spec.fps
    # timeline
    segments = []  # (t0, t1, rep index)
    t = spec.lead_in_s
    for i, r in enumerate(spec.reps):
        segments.append((t, t + r.duration_s, i))
        t += r.duration_s + spec.pause_s
    total = t
    n = int(np.floor(total / dt)) + 1
    time_s = np.arange(n) * dt
    H = spec.height_px
    w, h = spec.image_size
    leg = 0.48 * H  # hip-ankle
    hip_w = 0.11 * H
    torso = 0.30 * H
    shoulder_w = 0.24 * H
    ground_y = h / 2 + 0.5 * H
    cx = w / 2

    pos = np.full((n, len(KEYPOINTS), 2), np.nan)
    u = np.zeros(n)
    rep_of = np.full(n, -1)
    for t0, t1, i in segments:
        m = (time_s >= t0) & (time_s <= t1)
        u[m] = _profile((time_s[m] - t0) / (t1 - t0))
        rep_of[m] = i
    # which leg stands in the pauses: the leg of the nearest rep
    last = 0
    side_of = np.empty(n, dtype=object)
    for k in range(n):
        if rep_of[k] >= 0:
            last = rep_of[k]
        else:
            nxt = [i for t0, _, i in segments if t0 > time_s[k]]
            last = nxt[0] if nxt else last
        side_of[k] = spec.reps[last].side
    idx = {name: i for i, name in enumerate(KEYPOINTS)}
    gt = []
    for k in range(n):
        r = spec.reps[rep_of[k]] if rep_of[k] >= 0 else spec.reps[[i for *_, i in segments if True][0]]
        s = side_of[k]
        r = spec.reps[rep_of[k]] if rep_of[k] >= 0 else SyntheticRep(side=s, fppa_deg=0, pelvic_drop_deg=0,
                                                                     trunk_lean_deg=0, depth_pct=0)
        f = "right" if s == "left" else "left"
        # facing the camera: the person's left is on the image right
        lat = 1.0 if s == "left" else -1.0  # image x direction from the free hip to the stance hip
        uk = u[k]
        fppa = np.radians(r.fppa_deg * uk)
        tilt = np.radians(spec.baseline_tilt_deg + r.pelvic_drop_deg * uk)
        lean = np.radians(r.trunk_lean_deg * uk)
        ankle = np.array([cx + lat * hip_w / 2, ground_y])
        hip_s = ankle + np.array([0.0, -leg * (1 - r.depth_pct / 100 * uk)])
        # knee on the perpendicular bisector of hip-ankle, medial (towards the free hip: -lat)
        mid = (hip_s + ankle) / 2
        c = np.linalg.norm(ankle - hip_s)
        along = (ankle - hip_s) / c
        perp = np.array([-along[1], along[0]])
        if perp[0] * (-lat) < 0:
            perp = -perp
        knee_s = mid + perp * (c / 2) * np.tan(fppa / 2)
        hip_f = hip_s + hip_w * np.array([-lat * np.cos(tilt), np.sin(tilt)])
        mid_hip = (hip_s + hip_f) / 2
        trunk_dir = np.array([lat * np.sin(lean), -np.cos(lean)])
        mid_sh = mid_hip + torso * trunk_dir
        across = np.array([-trunk_dir[1], trunk_dir[0]])  # perpendicular to the trunk
        if across[0] * lat < 0:
            across = -across
        sh_s = mid_sh + across * shoulder_w / 2
        sh_f = mid_sh - across * shoulder_w / 2
        head = mid_sh + trunk_dir * 0.13 * H
        # free leg: knee forward-up, foot lifted, moving with the pelvis
        knee_f = hip_f + np.array([0.0, 0.2 * H])
        ankle_f = knee_f + np.array([0.0, 0.16 * H])
        pts = {
            f"{s}_hip": hip_s,
            f"{f}_hip": hip_f,
            f"{s}_knee": knee_s,
            f"{f}_knee": knee_f,
            f"{s}_ankle": ankle,
            f"{f}_ankle": ankle_f,
            f"{s}_heel": ankle + np.array([0.0, 0.02 * H]),
            f"{f}_heel": ankle_f + np.array([0.0, 0.02 * H]),
            f"{s}_toe": ankle + np.array([-lat * 0.01 * H, 0.04 * H]),
            f"{f}_toe": ankle_f + np.array([lat * 0.01 * H, 0.04 * H]),
            f"{s}_shoulder": sh_s,
            f"{f}_shoulder": sh_f,
            # arms crossed over the chest
            f"{s}_elbow": sh_s + np.array([-lat * 0.02 * H, 0.12 * H]),
            f"{f}_elbow": sh_f + np.array([lat * 0.02 * H, 0.12 * H]),
            f"{s}_wrist": mid_sh + np.array([-lat * 0.06 * H, 0.08 * H]),
            f"{f}_wrist": mid_sh + np.array([lat * 0.06 * H, 0.08 * H]),
            "nose": head + np.array([0.0, 0.02 * H]),
            "left_eye": head + np.array([0.018 * H, -0.005 * H]),
            "right_eye": head + np.array([-0.018 * H, -0.005 * H]),
            "left_ear": head + np.array([0.045 * H, 0.0]),
            "right_ear": head + np.array([-0.045 * H, 0.0]),
        }
        for name, p in pts.items():
            pos[k, idx[name]] = p
    for i, (t0, t1, _) in enumerate(segments):
        r = spec.reps[i]
        mid_t = (t0 + t1) / 2
        gt.append(
            {
                "rep": i + 1,
                "side": r.side,
                "start_s": t0,
                "bottom_s": mid_t,
                "end_s": t1,
                "bottom_frame": int(np.argmin(np.abs(time_s - mid_t))),
                "fppa_deg": r.fppa_deg,
                "pelvic_drop_deg": r.pelvic_drop_deg,
                "trunk_lean_deg": r.trunk_lean_deg,
                # depth of the mid-hip: the stance hip's descent plus half the free hip's drop
                "depth_pct": r.depth_pct
                + 100 * (hip_w / 2)
                * (np.sin(np.radians(spec.baseline_tilt_deg + r.pelvic_drop_deg)) - np.sin(np.radians(spec.baseline_tilt_deg)))
                / leg,
            }
        )
    if spec.noise_px > 0:
        rng = np.random.default_rng(spec.seed)
        pos = pos + rng.normal(0, spec.noise_px, pos.shape)
    conf = np.full(pos.shape[:2], spec.confidence)
    kp = Keypoints2D(
        position=pos,
        confidence=conf,
        time_s=time_s,
        image_size=spec.image_size,
        source="synthetic",
    ).with_log("make_single_leg_squats", **{k: v for k, v in spec.to_json().items() if k != "reps"})
    return kp, gt


def write_marker(folder: Path, spec: SyntheticSquats, ground_truth: list[dict[str, Any]]) -> Path:
    """Write :data:`SYNTHETIC_MARKER` (the spec and the ground truth) into ``folder``."""
    path = Path(folder) / SYNTHETIC_MARKER
    path.write_text(json.dumps({"synthetic": True, "spec": spec.to_json(), "ground_truth": ground_truth}, indent=2))
    return path
