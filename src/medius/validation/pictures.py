"""Exercise and filming-guide pictures drawn with the same rendered CC0 human as the validation.

``python scripts/make_pictures.py`` writes ``src/medius/report/static/exercises/<exercise id>.png``
(the home program's pictures) and ``src/medius/report/static/filming/<task>.png`` (where the phone
goes), so they are consistent and free of licences. Each picture is one pose, posed bone by bone
(:mod:`medius.validation.motion`'s joint helpers), laid on the floor by its lowest body part.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from medius.validation.camera import PinholeCamera, place_camera
from medius.validation.motion import Movement, _aim_arm, _hip, _knee
from medius.validation.render import Scene
from medius.validation.skeleton import Skeleton

__all__ = ["EXERCISE_PICTURES", "FILMING_PICTURES", "Picture", "render_pictures"]

STATIC = Path(__file__).resolve().parents[1] / "report" / "static"
BODY = "mh_female.glb"
SIZE = (800, 600)  # 4:3, as the home program lays them out

# how far the skin reaches below a bone's origin (m): what touches the floor when lying down
_RADIUS = {"Hips": 0.13, "Spine": 0.12, "Spine1": 0.12, "Spine2": 0.12, "Neck": 0.07, "Head": 0.11,
           "LeftUpLeg": 0.09, "RightUpLeg": 0.09, "LeftLeg": 0.055, "RightLeg": 0.055,
           "LeftFoot": 0.075, "RightFoot": 0.075, "LeftToeBase": 0.03, "RightToeBase": 0.03,
           "LeftArm": 0.06, "RightArm": 0.06, "LeftForeArm": 0.045, "RightForeArm": 0.045,
           "LeftHand": 0.03, "RightHand": 0.03}


@dataclass
class Picture:
    """One pose and how it is seen."""

    name: str
    pose: Callable[[Skeleton], tuple[dict[str, Rotation], np.ndarray | None]]
    view_yaw_deg: float = 0.0  # camera around the person (0: in front)
    view_height_m: float = 1.2
    distance_m: float = 3.2
    target_height_m: float = 0.6
    target_z_m: float = 0.0
    props: list[dict[str, Any]] = field(default_factory=list)
    behind: bool = False
    band: bool = False  # an elastic band around the knees


def _ground(sk: Skeleton, loc: dict[str, Rotation], shift_xz: np.ndarray | None = None) -> np.ndarray:
    """The root position that puts the lowest part of the body on the floor (y = 0)."""
    root = sk.rest_world[sk.index("Hips")].copy()
    pos, _ = sk.forward_kinematics(root, loc)
    low = min(pos[sk.index(b), 1] - r for b, r in _RADIUS.items())
    root[1] -= low
    if shift_xz is not None:
        root[[0, 2]] += shift_xz
    return root


def _arms_relaxed(sk: Skeleton, loc: dict[str, Rotation], root: np.ndarray) -> None:
    for side in ("left", "right"):
        _aim_arm(sk, root, loc, side, (0.1, -0.98, -0.05), (0.1, -0.95, -0.25))


# --------------------------------------------------------------------------------- the poses
def _side_lying(sk: Skeleton, top_abduction: float, hip_flex: float, knee_flex: float,
                top_external_rotation: float = 0.0) -> tuple[dict[str, Rotation], np.ndarray | None]:
    # lying on the left side: the body rolled 90° about the forward axis, head towards -x
    loc: dict[str, Rotation] = {"Hips": Rotation.from_euler("Z", 90, degrees=True)}
    loc["LeftUpLeg"] = _hip("left", hip_flex, 0, 0)
    loc["LeftLeg"] = _knee(knee_flex)
    loc["RightUpLeg"] = _hip("right", hip_flex, -top_abduction, -top_external_rotation)
    loc["RightLeg"] = _knee(knee_flex)
    root = sk.rest_world[sk.index("Hips")].copy()
    # the lower arm under the head, the upper hand on the hip
    _aim_arm(sk, root, loc, "left", (-0.05, 0.98, 0.0), (0.95, 0.2, -0.1))
    _aim_arm(sk, root, loc, "right", (0.2, -0.95, -0.1), (-0.3, -0.6, -0.6))
    return loc, None


def clamshell(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    return _side_lying(sk, top_abduction=30, hip_flex=45, knee_flex=90, top_external_rotation=25)


def side_lying_abduction(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    return _side_lying(sk, top_abduction=35, hip_flex=0, knee_flex=3)


def side_plank(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    # on the left forearm, the body straight and lifted 20° from the floor
    loc: dict[str, Rotation] = {"Hips": Rotation.from_euler("Z", 76, degrees=True)}
    root = sk.rest_world[sk.index("Hips")].copy()
    # the left upper arm straight down under the shoulder, the forearm flat on the floor
    _aim_arm(sk, root, loc, "left", (0.25, -0.97, 0.0), (0.05, 0.0, -1.0))
    _aim_arm(sk, root, loc, "right", (0.2, -0.95, -0.1), (-0.3, -0.6, -0.6))
    return loc, None


def _all_fours(sk: Skeleton, right_abduction: float) -> tuple[dict[str, Rotation], np.ndarray | None]:
    # on hands and knees: the trunk horizontal, face down; thighs and arms vertical
    loc: dict[str, Rotation] = {"Hips": Rotation.from_euler("X", -90, degrees=True)}
    for side in ("left", "right"):
        loc[f"{side.title()}UpLeg"] = _hip(side, 90, -right_abduction if side == "right" else 0, 0)
        loc[f"{side.title()}Leg"] = _knee(90)
    root = sk.rest_world[sk.index("Hips")].copy()
    for side in ("left", "right"):
        # arms straight down to the floor (world), under the shoulders
        _aim_arm(sk, root, loc, side, (0.0, -1.0, 0.02), (0.0, -1.0, 0.02))
    return loc, None


def fire_hydrant(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    return _all_fours(sk, 50)


def single_leg_bridge(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    # lying on the back, hips lifted: shoulders on the floor, the trunk sloping 25° down to them,
    # the left thigh in line with the trunk and its shin vertical, the right leg held straight
    loc: dict[str, Rotation] = {"Hips": Rotation.from_euler("X", 115, degrees=True)}
    loc["RightUpLeg"] = _hip("right", 5, 0, 0)
    loc["RightLeg"] = _knee(2)
    loc["LeftUpLeg"] = _hip("left", 0, 0, 0)
    root = sk.rest_world[sk.index("Hips")].copy()
    for side in ("left", "right"):
        _aim_arm(sk, root, loc, side, (-0.15, -0.25, -0.95), (-0.05, -0.1, -0.99))
    # bend the knee until the foot reaches the floor with the shoulders
    best, best_gap = 90.0, np.inf
    for k in np.arange(60.0, 150.0, 2.0):
        loc["LeftLeg"] = _knee(float(k))
        pos, _ = sk.forward_kinematics(root, loc)
        gap = abs((pos[sk.index("LeftFoot"), 1] - 0.075) - (pos[sk.index("LeftArm"), 1] - 0.06))
        if gap < best_gap:
            best, best_gap = float(k), gap
    loc["LeftLeg"] = _knee(best)
    _, rots = sk.forward_kinematics(root, loc)
    loc["LeftFoot"] = rots[sk.parent[sk.index("LeftFoot")]].inv()  # the sole flat on the floor
    return loc, None


def _standing(sk: Skeleton, *, left: tuple[float, float, float] = (0, 0, 0), right: tuple[float, float, float] = (0, 0, 0),
              knees: tuple[float, float] = (0, 0), pelvis_drop_left: float = 0.0,
              arms: str = "relaxed") -> tuple[dict[str, Rotation], np.ndarray | None]:
    loc: dict[str, Rotation] = {"Hips": Rotation.from_euler("Z", pelvis_drop_left, degrees=True)}
    loc["Spine"] = Rotation.from_euler("Z", -pelvis_drop_left, degrees=True)
    loc["LeftUpLeg"] = _hip("left", *left)
    loc["RightUpLeg"] = _hip("right", *right)
    loc["LeftLeg"] = _knee(knees[0])
    loc["RightLeg"] = _knee(knees[1])
    root = sk.rest_world[sk.index("Hips")].copy()
    if arms == "hips":
        for side in ("left", "right"):
            _aim_arm(sk, root, loc, side, (-0.45, -0.85, 0.15), (0.8, -0.5, 0.1))
    else:
        _arms_relaxed(sk, loc, root)
    for side in ("left", "right"):
        b = f"{side.title()}Foot"
        _, rots = sk.forward_kinematics(root, loc)
        loc[b] = rots[sk.parent[sk.index(b)]].inv()  # feet flat
    return loc, None


def monster_walk(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    return _standing(sk, left=(35, -12, 0), right=(35, -12, 0), knees=(40, 40), arms="hips")


def standing_abduction(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    return _standing(sk, left=(0, 0, 0), right=(0, -30, 0), knees=(3, 3), arms="hips")


def hip_hike(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    # on the right leg on a step, the left side of the pelvis lowered (then lifted)
    return _standing(sk, left=(0, 8, 0), right=(0, 6, 0), knees=(15, 0), pelvis_drop_left=6.0, arms="hips")


def single_leg_stance(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    return _standing(sk, left=(45, 0, 0), right=(0, 6, 0), knees=(85, 3), arms="hips")


def single_leg_squat(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    return _standing(sk, left=(70, 0, 0), right=(45, 6, 0), knees=(95, 65), arms="hips")


def step_down(sk: Skeleton) -> tuple[dict[str, Rotation], np.ndarray | None]:
    return _standing(sk, left=(30, 0, 0), right=(30, 5, 0), knees=(8, 55), arms="hips")


def _box(center: tuple[float, float, float], size: tuple[float, float, float], color: tuple[int, int, int]) -> dict[str, Any]:
    return {"type": "box", "center": list(center), "size": list(size), "color": list(color)}


def _tripod(at: tuple[float, float], height: float, facing_z: float) -> list[dict[str, Any]]:
    """A phone on a tripod at ``at`` (x, z), its lens ``height`` above the floor."""
    x, z = at
    out = []
    for k in range(3):
        a = math.radians(90 + 120 * k)
        foot = np.array([x + 0.25 * math.cos(a), 0.0, z + 0.25 * math.sin(a)])
        top = np.array([x, height - 0.08, z])
        mid, d = (foot + top) / 2, top - foot
        q = Rotation.align_vectors([d / np.linalg.norm(d)], [[0.0, 1.0, 0.0]])[0].as_quat()
        out.append({"type": "cylinder", "center": mid.tolist(), "radius": 0.012, "length": float(np.linalg.norm(d)),
                    "quaternion": [float(v) for v in q], "color": [40, 40, 40]})
    out.append(_box((x, height, z), (0.08, 0.16, 0.012), (20, 20, 25)))
    out.append(_box((x, height, z + 0.007 * facing_z), (0.07, 0.15, 0.004), (90, 120, 170)))
    return out


EXERCISE_PICTURES: tuple[Picture, ...] = (
    Picture("clamshell", clamshell, view_yaw_deg=0, view_height_m=1.3, distance_m=2.6, target_height_m=0.3),
    Picture("side-lying-hip-abduction", side_lying_abduction, view_yaw_deg=0, view_height_m=1.3, distance_m=2.8,
            target_height_m=0.35),
    Picture("side-plank", side_plank, view_yaw_deg=0, view_height_m=1.2, distance_m=2.8, target_height_m=0.45),
    Picture("fire-hydrant", fire_hydrant, view_yaw_deg=-60, view_height_m=1.4, distance_m=2.6, target_height_m=0.45),
    Picture("single-leg-bridge", single_leg_bridge, view_yaw_deg=90, view_height_m=1.0, distance_m=2.8,
            target_height_m=0.35),
    Picture("monster-walk", monster_walk, view_yaw_deg=0, distance_m=3.2, target_height_m=0.8, band=True),
    Picture("lateral-band-walk", monster_walk, view_yaw_deg=0, distance_m=3.2, target_height_m=0.8, band=True),
    Picture("standing-hip-abduction-band", standing_abduction, view_yaw_deg=0, distance_m=3.2, target_height_m=0.85,
            band=True),
    Picture("hip-hike", hip_hike, view_yaw_deg=0, distance_m=3.2, target_height_m=0.95,
            props=[_box((0.1, 0.1, -0.03), (0.45, 0.2, 0.5), (120, 120, 125))]),
    Picture("single-leg-stance", single_leg_stance, view_yaw_deg=0, distance_m=3.2, target_height_m=0.85),
    Picture("balance-board", single_leg_stance, view_yaw_deg=0, distance_m=3.2, target_height_m=0.9,
            props=[{"type": "cylinder", "center": [0.1, 0.04, 0.0], "radius": 0.22, "length": 0.08,
                    "color": [150, 110, 70]}]),
    Picture("single-leg-squat", single_leg_squat, view_yaw_deg=-30, distance_m=3.2, target_height_m=0.7),
    Picture("step-down", step_down, view_yaw_deg=-60, distance_m=3.2, target_height_m=0.8,
            props=[_box((0.1, 0.1, 0.05), (0.45, 0.2, 0.45), (120, 120, 125))]),
)

FILMING_PICTURES: tuple[Picture, ...] = (
    Picture("single-leg-squat", lambda sk: _standing(sk, left=(45, 0, 0), right=(0, 6, 0), knees=(85, 3)),
            view_yaw_deg=-70, view_height_m=2.6, distance_m=4.6, target_height_m=0.5, target_z_m=-1.5,
            props=_tripod((0.0, -3.0), 0.95, 1.0)),
    Picture("walk", lambda sk: _standing(sk, left=(20, 0, 0), right=(-10, 0, 0), knees=(5, 20)),
            view_yaw_deg=-110, view_height_m=2.6, distance_m=4.8, target_height_m=0.5, target_z_m=1.6,
            props=[_box((0.0, 0.05, 0.0), (0.75, 0.1, 2.0), (45, 45, 50)), *_tripod((0.0, 3.5), 0.95, -1.0)]),
    Picture("run", lambda sk: _standing(sk, left=(35, 0, 0), right=(-15, 0, 0), knees=(60, 30)),
            view_yaw_deg=-110, view_height_m=2.6, distance_m=4.8, target_height_m=0.5, target_z_m=1.6,
            props=[_box((0.0, 0.05, 0.0), (0.75, 0.1, 2.0), (45, 45, 50)), *_tripod((0.0, 3.5), 0.95, -1.0)]),
)


def _camera(p: Picture, sk: Skeleton) -> PinholeCamera:
    return place_camera(width=SIZE[0], height=SIZE[1], fov_long_side_deg=50, distance_m=p.distance_m,
                        height_m=p.view_height_m, yaw_deg=p.view_yaw_deg,
                        target=np.array([0.0, p.target_height_m, p.target_z_m]),
                        behind=p.behind)


def render_pictures(pictures: tuple[Picture, ...], folder: Path, *, new_page: Callable[[], Any],
                    sk: Skeleton) -> list[Path]:
    """Render each picture to ``folder/<name>.png``."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in pictures:
        loc, shift = p.pose(sk)
        root = _ground(sk, loc, shift)
        joints = sk.forward_kinematics(root, loc)[0][None]
        mv = Movement(task=p.name, fps=1.0, time_s=np.zeros(1), root=root[None], local=[loc], joints_world=joints)
        # the floor markings where the person stands on a step or the board are props of the picture
        props = list(p.props)
        if p.name in ("hip-hike", "step-down", "balance-board"):  # standing on the step or the board
            root = root + np.array([0.0, 0.08 if p.name == "balance-board" else 0.2, 0.0])
            joints = sk.forward_kinematics(root, loc)[0][None]
            mv = Movement(task=p.name, fps=1.0, time_s=np.zeros(1), root=root[None], local=[loc], joints_world=joints)
        if p.band:  # a red elastic band just above the knees
            a = joints[0, sk.index("LeftLeg")] + np.array([0.0, 0.06, 0.0])
            b = joints[0, sk.index("RightLeg")] + np.array([0.0, 0.06, 0.0])
            d = b - a
            q = Rotation.align_vectors([d / np.linalg.norm(d)], [[0.0, 1.0, 0.0]])[0].as_quat()
            props.append({"type": "cylinder", "center": ((a + b) / 2).tolist(), "radius": 0.012,
                          "length": float(np.linalg.norm(d)), "quaternion": [float(v) for v in q],
                          "color": [200, 40, 40]})
        scene = Scene(body=BODY, camera=_camera(p, sk), background=(236, 238, 240), floor=(205, 200, 192),
                      wall=None, light_ambient=1.9, light_key=2.0, shadows=True, antialias=True, cheap_materials=False)
        page = new_page()
        page.setup(scene.options(props))
        img = page.render([{"root": [float(v) for v in mv.root[0]], "bones": mv.bone_quaternions(0)}], 0)[0]
        page.page.context.close()
        path = folder / f"{p.name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        out.append(path)
    return out
