"""The render camera: a pinhole looking at the person, and its projection to image pixels.

The same numbers drive three.js' ``PerspectiveCamera`` (vertical field of view, aspect, position,
orientation), so a world point projects to the pixel where the renderer draws it (tested within
1 px). Pixel coordinates follow docs/conventions.md: origin at the top-left corner of the top-left
pixel, x right, y down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PinholeCamera", "place_camera"]


@dataclass(frozen=True)
class PinholeCamera:
    width: int
    height: int
    fov_y_deg: float  # vertical field of view of the displayed frame
    position: np.ndarray  # (3,) world metres
    rotation: np.ndarray  # (3, 3) columns: camera x (right), y (up), z (backwards) in world axes

    @property
    def quaternion_xyzw(self) -> list[float]:
        from scipy.spatial.transform import Rotation

        return [float(v) for v in Rotation.from_matrix(self.rotation).as_quat()]

    @property
    def focal_px(self) -> float:
        return 0.5 * self.height / math.tan(math.radians(self.fov_y_deg) / 2)

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> pixel coordinates ``(..., 2)``; NaN behind the camera."""
        p = np.asarray(points, dtype=float)
        cam = (p - self.position) @ self.rotation  # camera coordinates (x right, y up, z back)
        depth = -cam[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = 0.5 * self.width + self.focal_px * cam[..., 0] / depth
            v = 0.5 * self.height - self.focal_px * cam[..., 1] / depth
        out = np.stack([u, v], axis=-1)
        out[depth <= 0] = np.nan
        return out

    def depth_m(self, points: np.ndarray) -> np.ndarray:
        """Distance of world points in front of the camera along its axis, metres."""
        cam = (np.asarray(points, dtype=float) - self.position) @ self.rotation
        return -cam[..., 2]


def place_camera(
    *,
    width: int,
    height: int,
    fov_long_side_deg: float,
    distance_m: float,
    height_m: float,
    yaw_deg: float,
    target: np.ndarray,
    behind: bool = False,
) -> PinholeCamera:
    """A level-rolled phone camera ``distance_m`` from ``target`` (horizontally), ``height_m`` above
    the floor, aimed at ``target``.

    ``yaw_deg`` turns the camera about the vertical axis through the target; positive moves it
    towards the person's left side (x < 0), from the front or from behind.
    ``behind`` puts it behind the person (filming the back). ``fov_long_side_deg`` is the lens'
    field of view along the frame's long side (a phone's main camera: about 65°).
    """
    half_long = math.tan(math.radians(fov_long_side_deg) / 2)
    fov_y = fov_long_side_deg if height >= width else math.degrees(2 * math.atan(half_long * height / width))
    # the person faces -z: the front camera stands at -z, the back camera at +z
    a = math.radians(yaw_deg)
    horizontal = np.array([-math.sin(a), 0.0, (1.0 if behind else -1.0) * math.cos(a)])
    pos = np.array([target[0], 0.0, target[2]]) + distance_m * horizontal
    pos[1] = height_m
    back = pos - np.asarray(target, dtype=float)
    back /= np.linalg.norm(back)
    right = np.cross([0.0, 1.0, 0.0], back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    rot = np.stack([right, up, back], axis=1)
    return PinholeCamera(width=width, height=height, fov_y_deg=fov_y, position=pos, rotation=rot)
