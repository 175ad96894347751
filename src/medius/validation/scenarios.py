"""Validation scenarios: one movement, one body, one camera, one scene each; and the grids.

A scenario is plain data (JSON-able); its :attr:`Scenario.key` hashes everything that changes the
rendered video, so a render is reused as long as the scenario and the renderer stay the same.
The full grid varies one factor at a time around a base scenario per movement, plus a few
combinations; ``--quick`` is three short scenarios.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from medius.errors import InvalidInputError

__all__ = ["RENDER_VERSION", "Scenario", "full_grid", "quick_grid", "scenario_from_dict"]

#: bump when the renderer, the bodies or the movements change what a scenario's video looks like
#: (per family of movements, so a change to the gait does not re-render the single-leg videos)
RENDER_VERSION = {"single-leg": 1, "run": 2, "walk": 3}

MOVEMENTS = ("single-leg-squat", "step-down", "walk", "run")
BODIES = ("mh_male.glb", "mh_female.glb", "tall_female.glb", "short_male.glb", "tall_male.glb")
LIGHTING = {
    # name: (ambient, key light, key direction)
    "studio": (1.6, 2.2, (1.5, 4.0, -3.0)),
    "dim": (0.7, 0.9, (1.5, 4.0, -3.0)),
    "side": (0.8, 3.0, (5.0, 2.0, -0.5)),
}
BACKGROUNDS = {
    # name: (background, floor, wall)
    "plain": ((200, 205, 210), (150, 140, 125), (215, 212, 205)),
    "dark": ((40, 42, 48), (70, 65, 60), (55, 58, 64)),
    "green": ((120, 150, 110), (105, 120, 90), (140, 165, 125)),
}
SHORTS = {"default": None, "red": (170, 30, 35), "grey": (130, 130, 135), "skin": (200, 150, 120)}
CAMERA_HEIGHTS = {"hip": None, "low": 0.35, "chest": 1.35}


@dataclass(frozen=True)
class Scenario:
    """What is rendered: set the fields, the rest follows (docs/validation.md lists them)."""

    name: str
    movement: str = "single-leg-squat"
    view: str = "front"  # where the camera is: in front of the person or behind
    body: str = "mh_male.glb"
    yaw_deg: float = 0.0
    camera_height: str = "hip"
    distance_m: float = 3.0
    orientation: str = "portrait"
    fps: float = 30.0
    short_side_px: int = 720
    lighting: str = "studio"
    background: str = "plain"
    shorts: str = "default"
    free_leg: str = "front"
    arms: str = "crossed"
    reps_per_leg: int = 5
    strides: int = 12
    first_leg: str = "right"
    seed: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        checks = [
            ("movement", self.movement, MOVEMENTS),
            ("view", self.view, ("front", "back")),
            ("body", self.body, BODIES),
            ("camera_height", self.camera_height, tuple(CAMERA_HEIGHTS)),
            ("orientation", self.orientation, ("portrait", "landscape")),
            ("lighting", self.lighting, tuple(LIGHTING)),
            ("background", self.background, tuple(BACKGROUNDS)),
            ("shorts", self.shorts, tuple(SHORTS)),
            ("free_leg", self.free_leg, ("front", "back", "crossing")),
            ("arms", self.arms, ("crossed", "out")),
            ("first_leg", self.first_leg, ("left", "right")),
        ]
        for name, value, allowed in checks:
            if value not in allowed:
                raise InvalidInputError(
                    f"scenario {self.name!r}: {name} must be one of {', '.join(map(str, allowed))}, got {value!r}"
                )
        ranges: list[tuple[str, float, float, float]] = [
            ("yaw_deg", self.yaw_deg, -60.0, 60.0),
            ("distance_m", self.distance_m, 1.5, 8.0),
            ("fps", self.fps, 15.0, 240.0),
            ("short_side_px", self.short_side_px, 240, 2160),
            ("reps_per_leg", self.reps_per_leg, 1, 10),
            ("strides", self.strides, 3, 40),
        ]
        for field_name, number, lo, hi in ranges:
            if not (isinstance(number, int | float) and lo <= number <= hi):
                raise InvalidInputError(f"scenario {self.name!r}: {field_name} must be in [{lo:g}, {hi:g}], got {number!r}")

    @property
    def is_gait(self) -> bool:
        return self.movement in ("walk", "run")

    @property
    def size(self) -> tuple[int, int]:
        long_side = int(round(self.short_side_px * 16 / 9 / 2)) * 2
        return (self.short_side_px, long_side) if self.orientation == "portrait" else (long_side, self.short_side_px)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tags"] = list(self.tags)
        return d

    @property
    def key(self) -> str:
        """Hash of everything that changes the video (not the name or tags)."""
        d = self.as_dict()
        d.pop("name")
        d.pop("tags")
        d["render_version"] = RENDER_VERSION[self.movement if self.is_gait else "single-leg"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def scenario_from_dict(d: dict[str, Any]) -> Scenario:
    known = set(Scenario.__dataclass_fields__)
    unknown = sorted(set(d) - known)
    if unknown:
        raise InvalidInputError(f"scenario {d.get('name', '?')!r}: unknown field(s) {', '.join(unknown)}")
    d = dict(d)
    d["tags"] = tuple(d.get("tags", ()))
    return Scenario(**d)


def _vary(base: Scenario, factor: str, **changes: Any) -> Scenario:
    name = base.name + "/" + factor
    return replace(base, name=name, tags=(factor,), **changes)


def full_grid() -> list[Scenario]:
    """Base scenario per movement, one factor at a time, plus a few combinations.

    Ordered so that the base scenarios of every movement come first (a run cut short still covers
    every task)."""
    grid = _grid()
    bases = [s for s in grid if "base" in s.tags]
    return bases + [s for s in grid if "base" not in s.tags]


def _grid() -> list[Scenario]:
    out: list[Scenario] = []
    sls = Scenario(name="sls-front", movement="single-leg-squat", tags=("base",))
    out.append(sls)
    out += [
        _vary(sls, "body-female", body="mh_female.glb", seed=1, first_leg="left"),
        _vary(sls, "body-tall-female", body="tall_female.glb", seed=2),
        _vary(sls, "body-short-male", body="short_male.glb", seed=3, first_leg="left"),
        _vary(sls, "yaw+10", yaw_deg=10.0, seed=4),
        _vary(sls, "yaw-10", yaw_deg=-10.0, seed=5),
        _vary(sls, "yaw+20", yaw_deg=20.0, seed=6),
        _vary(sls, "yaw-30", yaw_deg=-30.0, seed=7),
        _vary(sls, "camera-low", camera_height="low", seed=8),
        _vary(sls, "distance-2m", distance_m=2.2, seed=9),
        _vary(sls, "distance-5m", distance_m=5.0, seed=10),
        _vary(sls, "landscape", orientation="landscape", distance_m=3.5, seed=11),
        _vary(sls, "fps-60", fps=60.0, seed=12),
        _vary(sls, "1080p", short_side_px=1080, seed=13),
        _vary(sls, "light-dim", lighting="dim", seed=14),
        _vary(sls, "background-dark", background="dark", shorts="grey", seed=15),
        _vary(sls, "shorts-skin", shorts="skin", lighting="side", seed=16),
        _vary(sls, "free-leg-crossing", free_leg="crossing", seed=17),
        _vary(sls, "free-leg-back-arms-out", free_leg="back", arms="out", seed=18),
        _vary(sls, "combo-female-yaw+10-low", body="mh_female.glb", yaw_deg=10.0, camera_height="low", seed=19),
        _vary(sls, "body-tall-male", body="tall_male.glb", seed=20),
    ]
    sd = Scenario(name="stepdown-front", movement="step-down", tags=("base",), seed=30)
    out += [sd, _vary(sd, "body-tall-female", body="tall_female.glb", seed=31, first_leg="left"),
            _vary(sd, "yaw+10", yaw_deg=10.0, seed=32)]
    walk = Scenario(name="walk-back", movement="walk", view="back", tags=("base",), seed=40)
    out += [walk,
            _vary(walk, "body-female", body="mh_female.glb", seed=41),
            _vary(walk, "body-short-male", body="short_male.glb", seed=42),
            _vary(walk, "yaw+20", yaw_deg=20.0, seed=43),
            _vary(walk, "fps-60", fps=60.0, seed=44),
            replace(walk, name="walk-front", view="front", tags=("base",), seed=45),
            _vary(walk, "yaw-20", yaw_deg=-20.0, seed=46),
            _vary(walk, "yaw+10", yaw_deg=10.0, seed=47),
            _vary(walk, "body-tall-male", body="tall_male.glb", seed=48)]
    run = Scenario(name="run-back", movement="run", view="back", tags=("base",), seed=50, strides=14)
    out += [run,
            _vary(run, "fps-60", fps=60.0, seed=51),
            _vary(run, "body-tall-female", body="tall_female.glb", seed=52),
            _vary(run, "yaw+25", yaw_deg=25.0, seed=54),
            replace(run, name="run-front", view="front", tags=("base",), seed=53)]
    return out


def quick_grid() -> list[Scenario]:
    """A first look in under three minutes: short single-leg squat, walk from behind, run from behind."""
    return [
        Scenario(name="quick-sls-front", movement="single-leg-squat", reps_per_leg=2, tags=("quick",)),
        Scenario(name="quick-walk-back", movement="walk", view="back", strides=6, seed=40, tags=("quick",)),
        Scenario(name="quick-run-back", movement="run", view="back", strides=6, seed=50, tags=("quick",)),
    ]
