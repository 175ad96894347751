"""The rigged human's skeleton: rest pose read from the GLB, forward kinematics in numpy.

The CC0 MakeHuman bodies (``assets/bodies``) have every bone's rest rotation equal to the identity,
so a bone's local axes are the world axes in the rest pose: x = the person's right, y = up, z = back
(the person faces -z). A pose is a local rotation per bone plus the position of the root (``Hips``);
:func:`forward_kinematics` gives every bone origin (= MakeHuman's joint centre) in world metres. The
browser renderer skins the mesh with the same rotations, so the truth and the picture agree (a test
checks the renderer's bone positions against these).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

__all__ = ["Skeleton", "JOINT_BONES", "load_skeleton", "read_glb"]

PREFIX = "mixamorig:"

#: the joint centres the truth is made of: keypoint name -> bone whose origin is that joint centre
JOINT_BONES: dict[str, str] = {
    "left_hip": "LeftUpLeg",
    "right_hip": "RightUpLeg",
    "left_knee": "LeftLeg",
    "right_knee": "RightLeg",
    "left_ankle": "LeftFoot",
    "right_ankle": "RightFoot",
    "left_toe": "LeftToeBase",
    "right_toe": "RightToeBase",
    "left_shoulder": "LeftArm",
    "right_shoulder": "RightArm",
    "left_elbow": "LeftForeArm",
    "right_elbow": "RightForeArm",
    "left_wrist": "LeftHand",
    "right_wrist": "RightHand",
    "nose": "Head",
}


def read_glb(path: Path) -> tuple[dict, bytes]:
    """The JSON document and the binary buffer (empty if none) of a binary glTF file."""
    data = path.read_bytes()
    magic, _version, _length = struct.unpack("<4sII", data[:12])
    if magic != b"glTF":
        raise ValueError(f"{path}: not a binary glTF file")
    chunk_len, chunk_type = struct.unpack("<I4s", data[12:20])
    if chunk_type != b"JSON":
        raise ValueError(f"{path}: first chunk is not JSON")
    doc = json.loads(data[20 : 20 + chunk_len])
    start = 20 + chunk_len
    if len(data) < start + 8:
        return doc, b""
    bin_len, bin_type = struct.unpack("<I4s", data[start : start + 8])
    if bin_type != b"BIN\x00":
        raise ValueError(f"{path}: second chunk is not BIN")
    return doc, data[start + 8 : start + 8 + bin_len]


@dataclass(frozen=True)
class Skeleton:
    """Bones in parent-before-child order with their rest offsets (metres)."""

    names: tuple[str, ...]
    parent: tuple[int, ...]  # -1 for the root
    offset: np.ndarray  # (bones, 3): rest position relative to the parent (world axes)
    rest_world: np.ndarray  # (bones, 3)

    def index(self, name: str) -> int:
        return self.names.index(name)

    @property
    def height_m(self) -> float:
        """Height of the head bone's origin above the floor in the rest pose (a size scale)."""
        return float(self.rest_world[self.index("Head"), 1])

    def forward_kinematics(
        self, root: np.ndarray, local: dict[str, Rotation]
    ) -> tuple[np.ndarray, list[Rotation]]:
        """World positions ``(bones, 3)`` and world rotations of every bone for one pose.

        ``root`` is the ``Hips`` origin in world metres; ``local`` maps bone names to local
        rotations (bones not named keep the identity).
        """
        n = len(self.names)
        pos = np.zeros((n, 3))
        rot: list[Rotation] = [Rotation.identity()] * n
        for i, name in enumerate(self.names):
            r_local = local.get(name, Rotation.identity())
            p = self.parent[i]
            if p < 0:
                pos[i] = root
                rot[i] = r_local
            else:
                pos[i] = pos[p] + rot[p].apply(self.offset[i])
                rot[i] = rot[p] * r_local
        return pos, rot


def load_skeleton(path: str | Path) -> Skeleton:
    """Read the bone hierarchy and rest offsets of a MakeHuman GLB (``mixamorig:`` bones)."""
    path = Path(path)
    gltf = read_glb(path)[0]
    nodes = gltf["nodes"]
    parent_of: dict[int, int] = {}
    for i, node in enumerate(nodes):
        for c in node.get("children", []):
            parent_of[c] = i
    bone_ids = [i for i, node in enumerate(nodes) if str(node.get("name", "")).startswith(PREFIX)]
    for i in bone_ids:
        if "rotation" in nodes[i] or "scale" in nodes[i]:
            raise ValueError(f"{path}: bone {nodes[i]['name']} has a rest rotation or scale; expected identity")
    # parent-before-child order
    order: list[int] = []
    seen: set[int] = set()

    def visit(i: int) -> None:
        if i in seen:
            return
        p = parent_of.get(i)
        if p is not None and p in bone_ids:
            visit(p)
        seen.add(i)
        order.append(i)

    for i in bone_ids:
        visit(i)
    names = tuple(str(nodes[i]["name"])[len(PREFIX) :] for i in order)
    parent = tuple(order.index(parent_of[i]) if parent_of.get(i) in bone_ids else -1 for i in order)
    offset = np.array([nodes[i].get("translation", [0.0, 0.0, 0.0]) for i in order], dtype=float)
    rest = np.zeros_like(offset)
    for k, p in enumerate(parent):
        rest[k] = offset[k] if p < 0 else rest[p] + offset[k]
    return Skeleton(names=names, parent=parent, offset=offset, rest_world=rest)
