"""Truth: the render camera's projection of the true joint centres, and the metrics measured on it.

The truth keypoints are the skeleton's joint centres (hip, knee and ankle joints, shoulder joints,
...: MakeHuman's joint centres) projected by the same pinhole the renderer uses. The per-rep and
per-stance truth values come from **medius' own metric engine** run on them, with the definitions
of docs/conventions.md (filtering included): for single-leg tasks the protocol itself
(:func:`medius.protocols.analyze_single_leg`, so the truth follows any change of definition),
for gait the stance metrics (:func:`medius.protocols._gait.measure_stances`) over the scripted
stances, whose foot strike and foot off are taken from the feet's geometry.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medius.io import KEYPOINTS, Keypoints2D
from medius.validation.camera import PinholeCamera
from medius.validation.motion import Movement
from medius.validation.skeleton import JOINT_BONES, Skeleton

__all__ = ["keypoints_from_truth", "true_gait_events", "truth_keypoints", "truth_points_world", "truth_reps",
           "truth_stances", "truth_units"]

# points that are not bone origins: offsets in the bone's own (world-aligned at rest) axes, metres
_EXTRA = {
    "nose": ("Head", (0.0, 0.09, -0.10)),
    "left_eye": ("Head", (-0.032, 0.12, -0.085)),
    "right_eye": ("Head", (0.032, 0.12, -0.085)),
    "left_ear": ("Head", (-0.075, 0.10, 0.0)),
    "right_ear": ("Head", (0.075, 0.10, 0.0)),
    "left_toe": ("LeftToeBase", (0.0, -0.015, -0.055)),
    "right_toe": ("RightToeBase", (0.0, -0.015, -0.055)),
}


def truth_points_world(movement: Movement, sk: Skeleton) -> np.ndarray:
    """``(frames, KEYPOINTS, 3)`` world positions of the truth points of every frame."""
    n = movement.n_frames
    out = np.full((n, len(KEYPOINTS), 3), np.nan)
    for i in range(n):
        pos, rots = sk.forward_kinematics(movement.root[i], movement.local[i])
        for k, name in enumerate(KEYPOINTS):
            if name in _EXTRA:
                bone, off = _EXTRA[name]
                b = sk.index(bone)
                out[i, k] = pos[b] + rots[b].apply(off)
            elif name in JOINT_BONES:
                out[i, k] = pos[sk.index(JOINT_BONES[name])]
            elif name.endswith("_heel"):
                side = "Left" if name.startswith("left") else "Right"
                b = sk.index(f"{side}Foot")
                out[i, k] = pos[b] + rots[b].apply([0.0, -0.8 * sk.rest_world[b, 1], 0.065])
    return out


def truth_keypoints(movement: Movement, sk: Skeleton, camera: PinholeCamera) -> Keypoints2D:
    """The truth as :class:`~medius.io.Keypoints2D` in the rendered video's pixels (confidence 1)."""
    world = truth_points_world(movement, sk)
    xy = camera.project(world)
    conf = np.where(np.isfinite(xy[..., 0]), 1.0, np.nan)
    return Keypoints2D(position=xy, confidence=conf, time_s=movement.time_s.copy(),
                       image_size=(camera.width, camera.height), source="validation-truth")


def truth_reps(script: dict[str, Any], kp: Keypoints2D, task: str, facing: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-rep truth values by the single-leg protocol on the truth keypoints.

    Returns the protocol's reps, each with ``script`` (the scripted rep it is, with the set
    amounts), and notes on any scripted rep the protocol did not find on the truth (a harness
    problem, reported, never hidden).
    """
    from medius.protocols import analyze_single_leg

    res = analyze_single_leg(kp, task=task, side="auto", facing=facing,  # type: ignore[arg-type]
                             side_check={"facing": facing})
    notes: list[str] = []
    reps = [r for r in res.reps if r.get("status") == "complete" and r.get("side")]
    used: set[int] = set()
    out = []
    for sr in script["reps"]:
        best, dt = None, 1e9
        for j, r in enumerate(reps):
            d = abs(float(r["bottom_s"]) - sr["bottom_s"])
            if j not in used and d < dt:
                best, dt = j, d
        if best is None or dt > 0.35 * sr["duration_s"] or reps[best]["side"] != sr["side"]:
            notes.append(f"scripted {sr['side']} rep {sr['rep']} (bottom {sr['bottom_s']:.2f} s) not found on the truth")
            continue
        used.add(best)
        out.append({**reps[best], "script": sr})
    if not res.judgeable:
        notes.append("the truth itself was not judgeable: " + "; ".join(res.reasons))
    return out, notes


def _contact_times(movement: Movement, world: np.ndarray, side: str, kind: str, scripted: float) -> float:
    """Foot strike / foot off from the foot's height near the scripted time (within 0.15 s)."""
    heel = world[:, KEYPOINTS.index(f"{side}_heel"), 1]
    toe = world[:, KEYPOINTS.index(f"{side}_toe"), 1]
    low = np.minimum(heel, toe)
    t = movement.time_s
    floor = float(np.nanpercentile(low, 2))
    on = low <= floor + 0.012
    win = np.flatnonzero(np.abs(t - scripted) <= 0.15)
    if win.size < 2:
        return scripted
    if kind == "foot_strike":
        hits = [i for i in win if on[i] and (i == 0 or not on[i - 1])]
    else:
        hits = [i for i in win if not on[i] and i > 0 and on[i - 1]]
    if not hits:
        return scripted
    i = min(hits, key=lambda k: abs(t[k] - scripted))
    return float(t[i])


def true_gait_events(movement: Movement, sk: Skeleton) -> list[dict[str, Any]]:
    """The scripted foot strikes and foot offs, each moved to when the foot really touches or
    leaves the floor (its lowest point within 12 mm of the floor, within 0.15 s of the script)."""
    world = truth_points_world(movement, sk)
    events = []
    for e in movement.script["events"]:
        t_true = _contact_times(movement, world, e["side"], e["kind"], e["time_s"])
        events.append({**e, "time_s": t_true, "scripted_s": e["time_s"]})
    return events


def truth_stances(events: list[dict[str, Any]], kp: Keypoints2D, task: str) -> list[dict[str, Any]]:
    """Per-stance truth values: the gait metric engine on the truth keypoints and the true events."""
    from medius.events import stances_from_events
    from medius.kinematics.filtering import preprocess
    from medius.protocols._gait import (
        GaitParameters,
        foot_ml_2d,
        measure_stances,
        side_series_2d,
    )

    p = GaitParameters()
    cutoff = min(p.cutoff_hz(task), 0.4 * kp.fps)
    fk = preprocess(kp, min_confidence=p.min_confidence, max_gap_s=p.max_gap_s, cutoff_hz=cutoff, order=p.filter_order)
    stances, _notes = stances_from_events(events, fk.time_s, max_stance_s=p.max_stance_s)
    feet, hip_width = foot_ml_2d(fk)
    rows = measure_stances(side_series_2d(fk), stances, fk.time_s, foot_ml=feet, hip_width=hip_width)
    strikes = [e for e in events if e["kind"] == "foot_strike"]
    for r in rows:
        match = min(strikes, key=lambda e: abs(e["time_s"] - r["foot_strike_s"]) if e["side"] == r["side"] else 1e9)
        r["script"] = {"pelvic_drop_set_deg": match.get("pelvic_drop_set_deg"), "scripted_strike_s": match["scripted_s"]}
    return rows


def keypoints_from_truth(truth: dict[str, Any]) -> Keypoints2D:
    """The truth keypoints stored in a scenario's truth.json."""
    k = truth["keypoints"]
    pos = np.array([[[np.nan if v is None else v for v in p] for p in frame] for frame in k["position"]], float)
    conf = np.where(np.isfinite(pos[..., 0]), 1.0, np.nan)
    cam = truth["camera"]
    return Keypoints2D(position=pos, confidence=conf, time_s=np.asarray(k["time_s"], float),
                       image_size=(cam["width"], cam["height"]), keypoint_names=tuple(k["names"]),
                       source="validation-truth")


def truth_units(truth: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The truth reps or stances of a scenario, measured now by the current metric engine from the
    stored truth keypoints (so the truth follows any change of definition without re-rendering)."""
    sc = truth["scenario"]
    kp = keypoints_from_truth(truth)
    if sc["movement"] in ("walk", "run"):
        return truth_stances(truth["true_events"], kp, sc["movement"]), []
    return truth_reps(truth["script"], kp, sc["movement"], "away" if sc["view"] == "back" else "camera")
