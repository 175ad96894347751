"""Procedural movements with set amounts of dynamic valgus, pelvic drop and trunk lean.

There are no motion clips in the CC0 bodies, so every movement is posed bone by bone from joint
angles (degrees) that change smoothly over time:

* :func:`single_leg_task` - single-leg squat (or step-down from a 20 cm box): five reps on each
  leg, each rep with its own depth, hip adduction and internal rotation of the stance leg (the
  components of dynamic knee valgus), contralateral pelvic drop and lateral trunk lean;
* :func:`gait_task` - walking or running on a treadmill (the person stays in place), with a set
  pelvic drop for every stance.

Each returns a :class:`Movement`: per frame, the root position and local bone rotations (the
renderer's input and the truth's) plus the script (reps or gait events) with the amounts set.
Angles and sides are the person's (docs/conventions.md); bone axes: x = the person's right,
y = up, z = back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from medius.validation.skeleton import Skeleton

__all__ = ["Movement", "single_leg_task", "gait_task"]

SIDES = ("left", "right")
_BONE_SIDE = {"left": "Left", "right": "Right"}


@dataclass
class Movement:
    """A posed movement: what to render and what was set."""

    task: str
    fps: float
    time_s: np.ndarray
    root: np.ndarray  # (frames, 3) Hips origin, world metres
    local: list[dict[str, Rotation]]  # per frame: bone -> local rotation
    joints_world: np.ndarray  # (frames, bones, 3) every bone origin (forward kinematics)
    script: dict[str, Any] = field(default_factory=dict)
    props: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return int(self.time_s.size)

    def bone_quaternions(self, i: int) -> dict[str, list[float]]:
        """Frame ``i``'s local rotations as three.js bone names -> [x, y, z, w]."""
        return {f"mixamorig{name}": [float(v) for v in r.as_quat()] for name, r in self.local[i].items()}


# ------------------------------------------------------------------------------- joint helpers
def _hip(side: str, flex: float, add: float, internal: float) -> Rotation:
    """Hip rotation: flexion (knee forward), adduction (knee to the midline), internal rotation."""
    sgn = 1.0 if side == "left" else -1.0  # adduction is +z for the left leg, -z for the right
    return Rotation.from_euler("XZY", [flex, sgn * add, -sgn * internal], degrees=True)


def _knee(flex: float) -> Rotation:
    return Rotation.from_euler("X", -flex, degrees=True)


def _arm(side: str, hang: float, flex: float, horizontal_add: float = 0.0) -> Rotation:
    """Shoulder: from MakeHuman's A-pose, ``hang`` degrees down towards the body, then flexion."""
    sgn = 1.0 if side == "left" else -1.0
    return (Rotation.from_euler("Y", -sgn * horizontal_add, degrees=True)
            * Rotation.from_euler("X", flex, degrees=True)
            * Rotation.from_euler("Z", sgn * hang, degrees=True))


def _aim_arm(sk: Skeleton, root: np.ndarray, local: dict[str, Rotation], side: str,
             upper_dir: tuple[float, float, float], fore_dir: tuple[float, float, float]) -> None:
    """Point the upper arm and the forearm along world directions given for the left arm
    (x mirrored for the right): x = medial (+) / lateral (-), y = up, z = back."""
    b = _BONE_SIDE[side]
    m = 1.0 if side == "left" else -1.0
    up_t = np.array([m * upper_dir[0], upper_dir[1], upper_dir[2]])
    fo_t = np.array([m * fore_dir[0], fore_dir[1], fore_dir[2]])
    rest_up = sk.offset[sk.index(f"{b}ForeArm")]
    rest_fo = sk.offset[sk.index(f"{b}Hand")]
    _, rots = sk.forward_kinematics(root, local)
    parent = rots[sk.parent[sk.index(f"{b}Arm")]]
    r_up_world = Rotation.align_vectors([up_t], [rest_up])[0]
    local[f"{b}Arm"] = parent.inv() * r_up_world
    r_fo_world = Rotation.align_vectors([fo_t], [rest_fo])[0]
    local[f"{b}ForeArm"] = r_up_world.inv() * r_fo_world


def _elbow(flex: float) -> Rotation:
    return Rotation.from_euler("X", flex, degrees=True)


def _smooth(u: np.ndarray | float) -> Any:
    """0 -> 1 with zero slope at both ends (for u in [0, 1])."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _with_world_flat(sk: Skeleton, root: np.ndarray, local: dict[str, Rotation], bone: str,
                     world: Rotation) -> None:
    """Set ``bone``'s local rotation so that its world rotation is ``world`` (a flat foot)."""
    _, rots = sk.forward_kinematics(root, local)
    parent = sk.parent[sk.index(bone)]
    local[bone] = rots[parent].inv() * world


def _finish(sk: Skeleton, task: str, fps: float, roots: list[np.ndarray], locals_: list[dict[str, Rotation]],
            script: dict[str, Any], props: list[dict[str, Any]] | None = None) -> Movement:
    joints = np.stack([sk.forward_kinematics(r, loc)[0] for r, loc in zip(roots, locals_, strict=True)])
    return Movement(task=task, fps=fps, time_s=np.arange(len(roots)) / fps, root=np.stack(roots),
                    local=locals_, joints_world=joints, script=script, props=props or [])


# ------------------------------------------------------------------------- single-leg tasks
def _rep_amounts(rng: np.random.Generator, n: int, valgus_scale: float) -> list[dict[str, float]]:
    """Per-rep set amounts: varied, so the metrics' errors are measured over a range."""
    reps = []
    for _ in range(n):
        reps.append({
            "knee_flexion_deg": float(rng.uniform(50, 80)),
            "hip_adduction_deg": float(valgus_scale * rng.uniform(-2, 12)),
            "hip_internal_rotation_deg": float(valgus_scale * rng.uniform(0, 15)),
            "pelvic_drop_deg": float(rng.uniform(0, 8)),
            "trunk_lean_deg": float(rng.uniform(-3, 8)),
            "trunk_flexion_deg": float(rng.uniform(10, 25)),
            "duration_s": float(rng.uniform(1.8, 2.6)),
        })
    return reps


def single_leg_task(
    sk: Skeleton,
    *,
    task: str = "single-leg-squat",
    fps: float = 30.0,
    reps_per_leg: int = 5,
    first_leg: str = "right",
    seed: int = 0,
    free_leg: str = "front",
    arms: str = "crossed",
    valgus_scale: float = 1.0,
) -> Movement:
    """Single-leg squat or step-down, ``reps_per_leg`` reps on ``first_leg`` then the other.

    ``free_leg``: ``"front"`` (hip and knee flexed, foot in front), ``"back"`` (knee flexed, foot
    behind) or ``"crossing"`` (the lifted leg crosses in front of the stance leg, occluding its
    knee). ``arms``: ``"crossed"`` (over the chest) or ``"out"`` (held out for balance).
    """
    rng = np.random.default_rng(seed)
    step = task == "step-down"
    box_h = 0.20 if step else 0.0
    legs = [first_leg, "left" if first_leg == "right" else "right"]
    amounts = {leg: _rep_amounts(rng, reps_per_leg, valgus_scale) for leg in legs}
    # timeline of segments: (kind, leg, rep index or None, duration)
    timeline: list[tuple[str, str | None, int | None, float]] = [("double", None, None, 0.8)]
    for lg in legs:
        timeline += [("lift", lg, None, 0.7), ("hold", lg, None, 0.6)]
        for kr in range(reps_per_leg):
            timeline.append(("rep", lg, kr, amounts[lg][kr]["duration_s"]))
            timeline.append(("hold", lg, None, float(rng.uniform(0.5, 0.8))))
        timeline += [("lower", lg, None, 0.7), ("double", None, None, 0.8)]
    total = sum(seg[3] for seg in timeline)
    n = int(round(total * fps))
    hip_y0 = float(sk.rest_world[sk.index("Hips"), 1])
    rest_root = sk.rest_world[sk.index("Hips")].copy()
    ankle0 = {s: sk.rest_world[sk.index(f"{_BONE_SIDE[s]}Foot")].copy() for s in SIDES}
    # feet at hip width: each ankle this far from the midline
    half_width = 0.5 * abs(sk.rest_world[sk.index("LeftUpLeg"), 0] - sk.rest_world[sk.index("RightUpLeg"), 0])
    leg_len = float(np.linalg.norm(sk.rest_world[sk.index("LeftUpLeg")] - ankle0["left"]))
    stand_add = math.degrees(math.asin(np.clip((abs(ankle0["left"][0]) - half_width - 0.02) / leg_len, -1, 1)))
    balance_add = math.degrees(math.atan2(half_width, leg_len))  # pelvis over the stance foot

    roots: list[np.ndarray] = []
    locals_: list[dict[str, Rotation]] = []
    reps_script: list[dict[str, Any]] = []
    t_seg = 0.0
    seg_bounds: list[tuple[float, float, tuple[str, str | None, int | None, float]]] = []
    for seg in timeline:
        seg_bounds.append((t_seg, t_seg + seg[3], seg))
        if seg[0] == "rep":
            rl, rk = seg[1], seg[2]
            assert rl is not None and rk is not None
            reps_script.append({"side": rl, "rep": rk + 1, "start_s": t_seg, "bottom_s": t_seg + seg[3] / 2,
                                "end_s": t_seg + seg[3], **amounts[rl][rk]})
        t_seg += seg[3]

    for i in range(n):
        t = i / fps
        kind: str = "double"
        leg: str | None = None
        k: int | None = None
        a, b = 0.0, 1.0
        for j, (a_, b_, seg) in enumerate(seg_bounds):
            if a_ <= t < b_ or (j == len(seg_bounds) - 1 and t >= a_):
                kind, leg, k = seg[0], seg[1], seg[2]
                a, b = a_, b_
                break
        u = (t - a) / max(b - a, 1e-9)
        lift = {"double": 0.0, "lift": float(_smooth(u)), "hold": 1.0, "rep": 1.0, "lower": float(1 - _smooth(u))}[kind]
        s_rep = 0.5 * (1 - math.cos(2 * math.pi * u)) if kind == "rep" else 0.0
        amt = amounts[leg][k] if (kind == "rep" and leg is not None and k is not None) else None
        stance = leg or legs[0]
        free = "left" if stance == "right" else "right"
        loc: dict[str, Rotation] = {}
        # pelvis: contralateral drop (free side down) = rotation about z, positive lowers the left hip
        drop = (amt["pelvic_drop_deg"] * s_rep) if amt else 0.0
        pel_sign = 1.0 if free == "left" else -1.0
        flex_trunk = (amt["trunk_flexion_deg"] * s_rep) if amt else 0.0
        loc["Hips"] = Rotation.from_euler("Z", pel_sign * drop, degrees=True)
        # trunk: lateral lean towards the stance side (world), forward flexion in the squat
        lean = (amt["trunk_lean_deg"] * s_rep) if amt else 0.0
        lean_sign = -1.0 if stance == "right" else 1.0  # -z tilts the shoulders to the right
        loc["Spine"] = Rotation.from_euler("XZ", [-flex_trunk * 0.5, lean_sign * lean - pel_sign * drop * lift], degrees=True)
        loc["Spine1"] = Rotation.from_euler("X", -flex_trunk * 0.5, degrees=True)
        # stance leg
        kf = (amt["knee_flexion_deg"] * s_rep) if amt else 0.0
        hip_flex = kf * (0.55 if not step else 0.35) + flex_trunk * 0.6
        add = stand_add * (1 - lift) + (balance_add + stand_add) * lift * 0.5
        add += drop + ((amt["hip_adduction_deg"] * s_rep) if amt else 0.0)
        ir = (amt["hip_internal_rotation_deg"] * s_rep) if amt else 0.0
        loc[f"{_BONE_SIDE[stance]}UpLeg"] = _hip(stance, hip_flex, add, ir)
        loc[f"{_BONE_SIDE[stance]}Leg"] = _knee(kf)
        # free leg
        if step:
            f_flex = 25 * lift + kf * 0.15  # the free foot reaches forward, past the front edge of the step
            f_knee = 5 * lift + kf * 0.05
            f_add = stand_add * (1 - lift) - drop * 0.3
        elif free_leg == "back":
            f_flex, f_knee, f_add = 5 * lift + kf * 0.3, 95 * lift, stand_add * (1 - lift) + 2 * lift - drop
        elif free_leg == "crossing":
            f_flex, f_knee, f_add = 45 * lift + kf * 0.55, 80 * lift + kf * 0.2, stand_add * (1 - lift) + 20 * lift - drop
        else:
            f_flex, f_knee, f_add = 45 * lift + kf * 0.6, 85 * lift + kf * 0.2, stand_add * (1 - lift) - drop
        loc[f"{_BONE_SIDE[free]}UpLeg"] = _hip(free, f_flex, f_add, 0.0)
        loc[f"{_BONE_SIDE[free]}Leg"] = _knee(f_knee)
        # feet flat on the floor (stance foot), the free foot relaxed
        root = rest_root.copy()
        # arms: crossed over the chest, or held out for balance
        for side in SIDES:
            if arms == "out":
                _aim_arm(sk, root, loc, side, (-0.8, -0.55, -0.15), (-0.7, -0.3, -0.6))
            else:
                _aim_arm(sk, root, loc, side, (0.15, -0.75, -0.55), (0.9, 0.3 if side == "left" else 0.15, -0.25))
        _with_world_flat(sk, root, loc, f"{_BONE_SIDE[stance]}Foot", Rotation.identity())
        if lift < 1e-6 or step:
            _with_world_flat(sk, root, loc, f"{_BONE_SIDE[free]}Foot", Rotation.from_euler("X", -10 * lift, degrees=True))
        # root: the stance ankle stays where it stands (on the box for a step-down)
        pos, _ = sk.forward_kinematics(root, loc)
        target = ankle0[stance].copy()
        target[0] = (1 if stance == "right" else -1) * (half_width + 0.02) + rest_root[0]
        target[1] += box_h
        root = root + (target - pos[sk.index(f"{_BONE_SIDE[stance]}Foot")])
        if lift < 1.0 and not step:
            # both feet bear weight: keep the free ankle on the floor too, shifting the pelvis between them
            pos2, _ = sk.forward_kinematics(root, loc)
            fa = pos2[sk.index(f"{_BONE_SIDE[free]}Foot")]
            root[1] += (1 - lift) * min(0.0, ankle0[free][1] + box_h - fa[1])
        roots.append(root)
        locals_.append(loc)
    props = []
    if step:
        props = [{"type": "box", "center": [0.0, box_h / 2, float(ankle0["left"][2]) + 0.07], "size": [0.75, box_h, 0.4],
                  "color": [120, 120, 125]}]
    script = {"kind": "reps", "reps": reps_script, "free_leg": free_leg, "arms": arms, "hip_height_m": hip_y0,
              "box_height_m": box_h}
    return _finish(sk, task, fps, roots, locals_, script, props)


# ---------------------------------------------------------------------------------- gait
def _gait_curves(p: np.ndarray, run: bool, stance_frac: float) -> dict[str, np.ndarray]:
    """Sagittal joint angles (deg) over the gait cycle ``p`` in [0, 1) from foot strike."""
    # hip: on a treadmill the planted foot rides the belt at a constant speed, so in stance the
    # foot's distance ahead of the hip falls linearly (sin of the hip angle); in swing the thigh
    # comes forward again smoothly
    if run:
        a0, a1 = 24.0, 20.0  # hip flexion at foot strike, extension at foot off
        q_st = np.clip(p / stance_frac, 0.0, 1.0)
        fwd = np.sin(np.radians(a0)) - (np.sin(np.radians(a0)) + np.sin(np.radians(a1))) * q_st
        u_sw = np.clip((p - stance_frac) / (1.0 - stance_frac), 0.0, 1.0)
        swing = -a1 + (a0 + a1 + 6.0) * _smooth(u_sw / 0.8) - 6.0 * _smooth((u_sw - 0.8) / 0.2)
        hip = np.where(p < stance_frac, np.degrees(np.arcsin(fwd)), swing)
    else:
        # walking: the foot rides the belt from foot strike to heel off (48 % of the cycle), the
        # thigh as far behind the hip then as it was ahead at the strike (both legs equally long in
        # double support, so the leading heel lands as the trailing one rises); then the toe
        # rolls (pre-swing) and the thigh swings forward again
        a0, p_ho, pre_end = 20.0, 0.48, -12.0
        q_st = np.clip(p / p_ho, 0.0, 1.0)
        fwd = np.sin(np.radians(a0)) * (1 - 2 * q_st)
        pre = -a0 + (a0 + pre_end) * _smooth((p - p_ho) / (stance_frac - p_ho))
        u_sw = np.clip((p - stance_frac) / (1.0 - stance_frac), 0.0, 1.0)
        swing = pre_end + (a0 + 4.0 - pre_end) * _smooth(u_sw / 0.75) - 4.0 * _smooth((u_sw - 0.75) / 0.25)
        hip = np.where(p < p_ho, np.degrees(np.arcsin(fwd)), np.where(p < stance_frac, pre, swing))
    if run:
        knee = 15 + 25 * np.exp(-(((p - 0.15) / 0.09) ** 2)) + 95 * np.exp(-(((p - 0.68) / 0.15) ** 2))
    else:
        # loading response, then the knee flexes from late stance into swing (about 40 deg at foot off)
        knee = 5 + 13 * np.exp(-(((p - 0.15) / 0.08) ** 2)) + 58 * np.exp(-(((p - 0.72) / 0.12) ** 2)) \
            + 8 * np.exp(-(((p - 0.55) / 0.06) ** 2))
    # foot pitch in the world: heel strike dorsiflexed, flat through stance, push off, swing
    q = p / stance_frac
    pitch = np.where(
        p < stance_frac,
        np.where(q < 0.12, 12 * (1 - q / 0.12), np.where(q > 0.7, -30 * np.clip((q - 0.7) / 0.3, 0.0, None) ** 1.5, 0.0)),
        -30 + 40 * _smooth((p - stance_frac) / (0.25 * (1 - stance_frac) + 1e-9)) - 10 * _smooth((p - 0.9) / 0.1),
    )
    return {"hip": hip, "knee": knee, "pitch": pitch}


def gait_task(
    sk: Skeleton,
    *,
    task: str = "walk",
    fps: float = 30.0,
    strides: int = 12,
    seed: int = 0,
) -> Movement:
    """Treadmill walking or running (in place) with a set pelvic drop for every stance."""
    rng = np.random.default_rng(seed)
    run = task == "run"
    cadence = float(rng.uniform(165, 180) if run else rng.uniform(100, 118))  # steps / min
    cycle = 120.0 / cadence
    stance_frac = 0.38 if run else 0.62
    lead_in = 0.6
    total = lead_in + strides * cycle + 0.4
    n = int(round(total * fps))
    hips = {s: sk.rest_world[sk.index(f"{_BONE_SIDE[s]}UpLeg")] for s in SIDES}
    ankle0 = {s: sk.rest_world[sk.index(f"{_BONE_SIDE[s]}Foot")] for s in SIDES}
    toe0 = {s: sk.rest_world[sk.index(f"{_BONE_SIDE[s]}ToeBase")] for s in SIDES}
    half_width = 0.5 * abs(hips["left"][0] - hips["right"][0])
    leg_len = float(np.linalg.norm(hips["left"] - ankle0["left"]))
    stand_add = math.degrees(math.asin(np.clip((abs(ankle0["left"][0]) - hips["left"][0] * 0 - half_width - 0.01) / leg_len, -1, 1)))
    n_st = strides + 2
    drops = {s: rng.uniform(1.0, 9.0, size=n_st) for s in SIDES}
    rest_root = sk.rest_world[sk.index("Hips")].copy()
    offsets = {"right": 0.0, "left": 0.5}
    t_all = np.arange(n) / fps
    roots: list[np.ndarray] = []
    locals_: list[dict[str, Rotation]] = []
    contact_y: list[float] = []
    in_stance_any: list[bool] = []
    for i in range(n):
        t = t_all[i]
        tc = max(t - lead_in, 0.0) / cycle
        ramp = float(_smooth(min(max(t, 0.0) / lead_in, 1.0)))
        loc: dict[str, Rotation] = {}
        oblique = 0.0
        stance_now = []
        for s in SIDES:
            ph = tc + offsets[s]
            p = np.array([ph % 1.0])
            k = int(math.floor(ph))
            c = _gait_curves(p, run, stance_frac)
            if p[0] < stance_frac:
                stance_now.append(s)
                q = p[0] / stance_frac
                shape = math.sin(math.pi * min(q / 0.8, 1.0)) ** 1.5 if q < 0.8 else 0.0
                d = float(drops[s][min(k, n_st - 1)]) * shape * ramp
                # contralateral drop: the other side goes down; +z lowers the left hip
                oblique += d * (1.0 if s == "right" else -1.0)
        for s in SIDES:
            ph = tc + offsets[s]
            p = np.array([ph % 1.0])
            c = _gait_curves(p, run, stance_frac)
            in_st = p[0] < stance_frac
            sign = 1.0 if s == "right" else -1.0
            # stance hip adducts with the pelvic drop (thigh stays about vertical); swing abducts a little
            add = stand_add + (sign * oblique if in_st else -2.0 - sign * oblique * 0.3)
            loc[f"{_BONE_SIDE[s]}UpLeg"] = _hip(s, float(c["hip"][0]) * ramp, add, 0.0)
            loc[f"{_BONE_SIDE[s]}Leg"] = _knee(float(c["knee"][0]) * ramp + 3)
            arm_swing = -(float(c["hip"][0]) - 5.0) * (0.9 if run else 0.6) * ramp
            other = "left" if s == "right" else "right"
            loc[f"{_BONE_SIDE[other]}Arm"] = _arm(other, 33, arm_swing)
            loc[f"{_BONE_SIDE[other]}ForeArm"] = _elbow(85 if run else 20)
        loc["Hips"] = Rotation.from_euler("XZ", [-(8 if run else 2), oblique], degrees=True)
        loc["Spine"] = Rotation.from_euler("Z", -oblique * 0.8, degrees=True)
        root = rest_root.copy()
        for s in SIDES:
            ph = tc + offsets[s]
            c = _gait_curves(np.array([ph % 1.0]), run, stance_frac)
            _with_world_flat(sk, root, loc, f"{_BONE_SIDE[s]}Foot",
                             Rotation.from_euler("X", float(c["pitch"][0]) * ramp, degrees=True))
        pos, rots = sk.forward_kinematics(root, loc)
        lows = []
        for s in SIDES:
            ia, it = sk.index(f"{_BONE_SIDE[s]}Foot"), sk.index(f"{_BONE_SIDE[s]}ToeBase")
            heel = pos[ia] + rots[ia].apply([0.0, -ankle0[s][1], 0.05])
            toe = pos[it] + rots[it].apply([0.0, -toe0[s][1], -0.03])
            lows.append(min(heel[1], toe[1]))
        contact_y.append(min(lows))
        in_stance_any.append(bool(stance_now))
        roots.append(root)
        locals_.append(loc)
    # root height: the lowest foot on the floor; in running's flight phases, a ballistic arc
    cy = np.array(contact_y)
    lift = -cy
    if run:
        st = np.array(in_stance_any)
        k = 0
        while k < n:
            if st[k]:
                k += 1
                continue
            j = k
            while j < n and not st[j]:
                j += 1
            a0 = lift[k - 1] if k > 0 else lift[j] if j < n else 0.0
            a1 = lift[j] if j < n else a0
            m = j - k + 1
            uu = np.arange(1, m) / m
            lift[k:j] = a0 + (a1 - a0) * uu + 4 * 0.035 * uu * (1 - uu)
            k = j
    for i in range(n):
        roots[i] = roots[i] + np.array([0.0, lift[i], 0.0])
    # scripted events: foot strike at phase 0, foot off at the stance fraction
    events: list[dict[str, Any]] = []
    for s in SIDES:
        for kk in range(-1, strides + 2):
            fs = lead_in + (kk - offsets[s]) * cycle
            fo = fs + stance_frac * cycle
            if fs >= lead_in - 1e-9 and fo < total - 0.05:
                events.append({"side": s, "kind": "foot_strike", "time_s": round(fs, 5),
                               "pelvic_drop_set_deg": float(drops[s][min(kk, n_st - 1)])})
                events.append({"side": s, "kind": "foot_off", "time_s": round(fo, 5)})
    events.sort(key=lambda e: float(e["time_s"]))
    script = {"kind": "gait", "events": events, "cadence_steps_min": cadence, "stance_fraction": stance_frac}
    props = [{"type": "box", "center": [0.0, 0.002, rest_root[2]], "size": [0.55, 0.004, 1.7], "color": [40, 40, 45]}]
    return _finish(sk, task, fps, roots, locals_, script, props)
