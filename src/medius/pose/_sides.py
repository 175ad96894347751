"""Left/right label checks: which way the person faces, and frames where the model swapped sides.

BlazePose (like most 2D models) names left and right from appearance and, in frontal views,
sometimes swaps them, for the whole body or for the legs alone. Seen from the front, the person's
left hip and shoulder are on the *image right* (larger x); from behind, on the image left. medius
decides which way the person faces for the whole clip (the face is visible → facing the camera;
otherwise the majority of frames decides), then

1. swaps every left/right pair in frames whose trunk (hips and shoulders) is ordered against that
   facing direction, and
2. swaps the leg chain (knee, ankle, heel, toe) — and separately the arm chain — in frames where
   the crossed assignment fits the hips far better than the labelled one (a knee belongs under its
   own hip).

Every correction is counted and logged; a clip needing too many, or whose facing cannot be told,
is flagged so the protocol can refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from medius.io import Keypoints2D

__all__ = ["SideCheck", "correct_left_right"]

Facing = Literal["camera", "away", "unknown"]

_LEG = ("knee", "ankle", "heel", "toe")
_ARM = ("elbow", "wrist")


@dataclass(frozen=True)
class SideCheck:
    facing: Facing
    facing_evidence: dict[str, float]
    frames_checked: int
    whole_body_swaps: int
    leg_swaps: int
    arm_swaps: int
    ambiguous_frames: int

    @property
    def swap_fraction(self) -> float:
        return (self.whole_body_swaps + self.leg_swaps) / max(self.frames_checked, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "facing": self.facing,
            "facing_evidence": {k: round(v, 3) for k, v in self.facing_evidence.items()},
            "frames_checked": self.frames_checked,
            "whole_body_swaps": self.whole_body_swaps,
            "leg_swaps": self.leg_swaps,
            "arm_swaps": self.arm_swaps,
            "ambiguous_frames": self.ambiguous_frames,
            "swap_fraction": round(self.swap_fraction, 3),
        }


def _trunk_order(kp: Keypoints2D) -> np.ndarray:
    """Per frame: (x_left - x_right) of hips plus shoulders over shoulder-hip scale; >0 = facing camera."""
    lh, rh = kp.xy("left_hip"), kp.xy("right_hip")
    ls, rs = kp.xy("left_shoulder"), kp.xy("right_shoulder")
    mid_h = (lh + rh) / 2
    mid_s = (ls + rs) / 2
    torso = np.linalg.norm(mid_s - mid_h, axis=1)
    torso = np.where(torso > 1e-6, torso, np.nan)
    return ((lh[:, 0] - rh[:, 0]) + (ls[:, 0] - rs[:, 0])) / torso


def correct_left_right(
    kp: Keypoints2D,
    *,
    expected_facing: Facing = "unknown",
    min_order: float = 0.08,
    chain_margin: float = 0.7,
    depth: dict[str, float] | None = None,
    declared: Facing | None = None,
) -> tuple[Keypoints2D, SideCheck]:
    """Find the facing direction and undo left/right swaps.

    Parameters
    ----------
    kp
        Keypoints of the selected person.
    expected_facing
        What the protocol expects (``"camera"`` for a frontal single-leg squat). Used only when
        the clip itself does not tell (no face, no clear majority).
    min_order
        Frames whose trunk ordering (hip and shoulder x difference over torso length) is smaller
        than this are side-on or ambiguous: they are left unchanged and counted.
    chain_margin
        A leg (arm) chain is swapped when the crossed assignment costs less than this fraction of
        the labelled one.
    depth
        The pose model's own depth evidence (:meth:`medius.pose.BlazePoseBackend.facing_from_depth`):
        the nose nearer the camera than the ears in most frames means facing the camera, farther
        means facing away. It holds from behind, where BlazePose still reports a face with full
        confidence, so it comes before the face and the trunk ordering.
    declared
        The facing the user declared (``--view``); it wins over every piece of evidence.
    """
    order = _trunk_order(kp)
    face = kp.confidence[:, [kp.index(n) for n in ("nose", "left_eye", "right_eye")]]
    face = face[np.isfinite(face)]
    face_conf = float(np.median(face)) if face.size else float("nan")
    finite = np.isfinite(order)
    clear = finite & (np.abs(np.nan_to_num(order)) >= min_order)
    pos_frac = float(np.mean(order[clear] > 0)) if clear.any() else float("nan")
    evidence = {"face_confidence": float(face_conf), "frames_ordered_as_facing_camera": pos_frac}
    # keypoint files without confidences (TRC) read as 1 everywhere: the face then says nothing
    all_conf = kp.confidence[np.isfinite(kp.confidence)]
    if all_conf.size and np.all(all_conf == 1.0):
        face_conf = float("nan")
        evidence["face_confidence_unknown"] = 1.0
    depth_says: Facing | None = None
    if depth is not None:
        evidence["depth_frames_nose_nearer"] = float(depth.get("frames_nose_nearer", float("nan")))
        evidence["depth_median_nose_minus_ears"] = float(depth.get("median_nose_minus_ears_depth", float("nan")))
        near = evidence["depth_frames_nose_nearer"]
        if np.isfinite(near) and abs(evidence["depth_median_nose_minus_ears"]) >= 0.05:
            depth_says = "camera" if near >= 0.8 else "away" if near <= 0.2 else None
    if declared in ("camera", "away"):
        facing: Facing = declared
        evidence["declared"] = 1.0
    elif depth_says is not None:
        facing = depth_says
    elif np.isfinite(face_conf) and face_conf >= 0.8 or clear.sum() >= 3 and pos_frac >= 0.75:
        facing = "camera"
    elif clear.sum() >= 3 and pos_frac <= 0.25 and not (np.isfinite(face_conf) and face_conf >= 0.5):
        facing = "away"
    else:
        facing = expected_facing

    names = kp.keypoint_names
    whole = 0
    swapped = kp
    if facing in ("camera", "away"):
        sign = 1.0 if facing == "camera" else -1.0
        wrong = clear & (np.sign(np.nan_to_num(order)) == -sign)
        whole = int(wrong.sum())
        swapped = kp.swap_left_right(frames=np.flatnonzero(wrong))
    pos = swapped.position.copy()
    conf = swapped.confidence.copy()

    def chain_swaps(root: str, parent: str, chain: tuple[str, ...]) -> int:
        li, ri = names.index("left_" + root), names.index("right_" + root)
        lp, rp = names.index("left_" + parent), names.index("right_" + parent)
        own = np.linalg.norm(pos[:, li] - pos[:, lp], axis=1) + np.linalg.norm(pos[:, ri] - pos[:, rp], axis=1)
        crossed = np.linalg.norm(pos[:, li] - pos[:, rp], axis=1) + np.linalg.norm(pos[:, ri] - pos[:, lp], axis=1)
        # distances only in x matter for "under its own hip"; use horizontal distance to the parent
        own_x = np.abs(pos[:, li, 0] - pos[:, lp, 0]) + np.abs(pos[:, ri, 0] - pos[:, rp, 0])
        crossed_x = np.abs(pos[:, li, 0] - pos[:, rp, 0]) + np.abs(pos[:, ri, 0] - pos[:, lp, 0])
        ok = np.isfinite(own) & np.isfinite(crossed)
        swap = ok & (crossed_x < chain_margin * own_x) & (crossed < own)
        for n in chain:
            a, b = names.index("left_" + n), names.index("right_" + n)
            pa, pb = pos[swap, a].copy(), pos[swap, b].copy()
            pos[swap, a], pos[swap, b] = pb, pa
            ca, cb = conf[swap, a].copy(), conf[swap, b].copy()
            conf[swap, a], conf[swap, b] = cb, ca
        return int(swap.sum())

    legs = chain_swaps("knee", "hip", _LEG)
    arms = chain_swaps("elbow", "shoulder", _ARM)
    check = SideCheck(
        facing=facing,
        facing_evidence=evidence,
        frames_checked=int(finite.sum()),
        whole_body_swaps=whole,
        leg_swaps=legs,
        arm_swaps=arms,
        ambiguous_frames=int((finite & ~clear).sum()),
    )
    out = kp.replace(position=pos, confidence=conf)
    return out.with_log("correct_left_right", expected_facing=expected_facing, min_order=min_order,
                        chain_margin=chain_margin, **check.as_dict()), check
