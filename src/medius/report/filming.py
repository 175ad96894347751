"""How to film a recording medius can judge: the checklist per task, shown where filming happens.

One source for the filming guide of ``medius guide``, the upload form of the web app and every
"cannot be judged" report, so the three never disagree. A picture of where the phone goes is
shown per task when ``static/filming/<task>.png`` exists (the pictures are generated and
committed separately); without it the guide says the same in words.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FILMING_STATIC",
    "FilmingTask",
    "filming_image_data_uri",
    "filming_tasks",
    "render_filming_guide_html",
]

FILMING_STATIC = Path(__file__).with_name("static") / "filming"


@dataclass(frozen=True)
class FilmingTask:
    """Where the phone goes and the checklist for one task."""

    task: str
    title: str
    placement: str
    checklist: tuple[str, ...]


_COMMON = (
    "Phone on a tripod (or a steady shelf), not held in the hand; landscape is fine, do not zoom.",
    "Lens at hip height, about 1 m above the floor, level (not tilted up or down).",
    "Shorts (or tight leggings) so both knees and hips are visible; no long coat or skirt.",
    "Good, even light from the front of the person; no bright window behind them.",
    "Only the person in the picture: nobody walking through, nobody else standing in view.",
)

_TASKS: tuple[FilmingTask, ...] = (
    FilmingTask(
        task="single-leg-squat",
        title="Single-leg squat (from the front)",
        placement="Phone straight in front of the person, 3 m away, so the whole body from head to feet fills most of "
        "the picture with a little space above and below.",
        checklist=(
            *_COMMON,
            "Whole body in view for the whole video, feet included.",
            "5 squats on one leg, then 5 on the other; arms crossed on the chest; a short pause standing between squats.",
            "30 frames per second or more.",
        ),
    ),
    FilmingTask(
        task="walk",
        title="Walking (from behind)",
        placement="Phone behind the person, 3 to 4 m away, in line with the walkway (or behind a treadmill); the "
        "person walks straight away from the phone (or on the treadmill) for at least 10 steps on each leg.",
        checklist=(
            *_COMMON,
            "Both feet in view at every step, including the heel strikes.",
            "At least 10 steps on each leg at the person's usual speed.",
            "30 frames per second or more (60 is better).",
        ),
    ),
    FilmingTask(
        task="run",
        title="Running on a treadmill (from behind)",
        placement="Phone behind the treadmill, 2 to 3 m away, centred on the belt, lens at hip height; the whole "
        "person from head to feet in view while they run.",
        checklist=(
            *_COMMON,
            "60 frames per second (a phone's slow-motion or 60 fps setting): at 30 fps the foot contacts are too short "
            "to catch.",
            "Warm up first; film 20 to 30 s of steady running at the usual speed (at least 10 steps on each leg).",
            "Treadmill handrails and the console must not hide the hips or knees.",
        ),
    ),
)


def filming_tasks() -> tuple[FilmingTask, ...]:
    """The guide's tasks, in the order shown."""
    return _TASKS


@functools.cache
def filming_image_data_uri(task: str) -> str | None:
    """The camera-placement picture of ``task`` as a ``data:`` URI, or None when no picture exists."""
    path = FILMING_STATIC / f"{task}.png"
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_filming_guide_html(*, standalone: bool = True, tasks: tuple[str, ...] | None = None) -> str:
    """The filming guide as HTML: a whole page (``standalone``) or a fragment to embed."""
    from medius.report._templates import template_environment

    chosen = [t for t in _TASKS if tasks is None or t.task in tasks]
    images = {t.task: filming_image_data_uri(t.task) for t in chosen}
    return template_environment().get_template("filming_guide.html.j2").render(
        tasks=chosen, images=images, standalone=standalone
    )
