"""Every option of one analysis, spelled out once: :class:`AnalysisRequest`.

The command line (``medius analyze``), the batch manifest (:class:`medius.batch.ItemSettings`)
and the web job child (:mod:`medius.web.media._child`) all build one; ``result.json`` records it
as ``provenance.options`` (:meth:`AnalysisRequest.provenance`). Each field names, in its
metadata, the ``medius analyze`` option (``cli``) and the batch manifest column or ``medius
batch`` option (``batch``) that set it; ``tests/test_analysis_request.py`` checks that every
field is reachable from both.

The values are checked once, when the request is made: a bad one is a
:class:`~medius.errors.UsageError` (exit code 2) naming the option. What depends on the input
itself (a static trial given for a video, the flip test for keypoints) is checked by
:func:`medius.analysis.analyze` once it knows what the input is (exit code 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from medius.errors import UsageError
from medius.io.markers import EVENT_SOURCES, MARKER_UNIT_CHOICES

__all__ = ["EVENT_SOURCES", "SEXES", "SIDES", "VIEWS", "AnalysisRequest", "request_fields"]

#: the camera view of a gait video (``view``)
VIEWS = ("auto", "back", "front")
#: the stance leg of a single-leg recording (``side``)
SIDES = ("auto", "left", "right")
#: the person's sex, for sex-specific reference ranges (``sex``)
SEXES = ("female", "male")


def _opt(cli: str, batch: str, doc: str) -> dict[str, str]:
    """A field's metadata: its ``medius analyze`` option, its batch column / option, what it is."""
    return {"cli": cli, "batch": batch, "doc": doc}


@dataclass(frozen=True)
class AnalysisRequest:
    """One analysis: the input, where its outputs go, and every choice that changes them."""

    input: Path = field(metadata=_opt("INPUT", "path", "the video, keypoint file/folder or marker trial"))
    out_dir: Path = field(
        default=Path("medius-output"),
        metadata=_opt("--out", "(batch: OUT/<person or input>/<input>)", "the output folder"),
    )
    task: str = field(
        default="single-leg-squat",
        metadata=_opt("--task", "task", "the movement, or 'auto' to guess it from the recording"),
    )
    side: str = field(default="auto", metadata=_opt("--side", "side", "the stance leg: auto, left, right"))
    force: bool = field(
        default=False, metadata=_opt("--force", "(batch: always)", "replace an existing output folder")
    )
    blur_faces: bool = field(default=True, metadata=_opt("--no-blur", "--no-blur", "blur faces in the video"))
    annotated_video: bool = field(
        default=True, metadata=_opt("--no-video", "--no-video", "write the annotated video")
    )
    fps: float | None = field(
        default=None, metadata=_opt("--fps", "fps", "frame rate of keypoint files that carry none")
    )
    image_size: tuple[int, int] | None = field(
        default=None,
        metadata=_opt("--image-size", "image_size", "(width, height) of the video keypoints came from"),
    )
    sex: str | None = field(default=None, metadata=_opt("--sex", "sex", "female, male: reference ranges"))
    max_side_px: int = field(
        default=1280, metadata=_opt("--max-side", "max_side_px", "long side (px) video frames are scaled to")
    )
    static: Path | None = field(
        default=None, metadata=_opt("--static", "static", "marker trials: the static calibration trial")
    )
    marker_set: str = field(
        default="plug-in-gait",
        metadata=_opt("--marker-set", "marker_set", "marker trials: 'plug-in-gait' or a marker-set YAML"),
    )
    events: str = field(
        default="auto", metadata=_opt("--events", "events", "marker trials: where the gait events come from")
    )
    view: str = field(default="auto", metadata=_opt("--view", "view", "gait videos: auto, back, front"))
    marker_units: str | None = field(
        default=None, metadata=_opt("--marker-units", "marker_units", "marker tables: mm or m")
    )
    marker_rate_hz: float | None = field(
        default=None, metadata=_opt("--marker-rate", "marker_rate_hz", "marker tables: sampling rate (Hz)")
    )
    flip_test: bool = field(
        default=False, metadata=_opt("--flip-test", "flip_test", "videos: pose on each frame and its mirror")
    )

    def __post_init__(self) -> None:
        from medius.protocols import TASKS

        set_ = object.__setattr__  # frozen: normalise the types once, here
        set_(self, "input", Path(self.input))
        set_(self, "out_dir", Path(self.out_dir))
        if self.static is not None:
            set_(self, "static", Path(self.static))
        set_(self, "marker_set", str(self.marker_set))
        if self.image_size is not None:
            size = tuple(self.image_size)
            if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
                raise UsageError(f"--image-size must be WIDTHxHEIGHT in pixels (two positive integers), got {size!r}")
            set_(self, "image_size", (int(size[0]), int(size[1])))
        if self.task not in TASKS and self.task != "auto":
            raise UsageError(f"unknown task {self.task!r}; allowed: auto, {', '.join(TASKS)}")
        for name, allowed in (("side", SIDES), ("events", EVENT_SOURCES), ("view", VIEWS)):
            value = getattr(self, name)
            if value not in allowed:
                word = {"events": "event source", "view": "camera view", "side": "side"}[name]
                raise UsageError(f"unknown {word} {value!r} (--{name}); allowed: {', '.join(allowed)}")
        if self.sex is not None and self.sex not in SEXES:
            raise UsageError(f"unknown sex {self.sex!r} (--sex); allowed: {', '.join(SEXES)}")
        if self.marker_units is not None and self.marker_units not in MARKER_UNIT_CHOICES:
            raise UsageError(
                f"unknown marker units {self.marker_units!r} (--marker-units); allowed: {', '.join(MARKER_UNIT_CHOICES)}"
            )
        for name in ("fps", "marker_rate_hz"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not 0.1 <= float(value) < math.inf):
                raise UsageError(f"{name} must be a number ≥ 0.1, got {value!r}")
        if isinstance(self.max_side_px, bool) or not isinstance(self.max_side_px, int) or self.max_side_px < 16:
            raise UsageError(f"max_side_px (--max-side) must be a whole number of pixels ≥ 16, got {self.max_side_px!r}")
        for name in ("force", "blur_faces", "annotated_video", "flip_test"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def provenance(self, *, lab: bool, task_guessed: str | None = None) -> dict[str, Any]:
        """``provenance.options`` of ``result.json``: the choices that change this kind of input's
        analysis (a lab marker trial's, or a video's / keypoint file's), as the schema names them."""
        if lab:
            return {
                "static": self.static.name if self.static is not None else None,
                "marker_set": self.marker_set,
                "events": self.events,
                "sex": self.sex,
                "marker_units": self.marker_units,
                "marker_rate_hz": self.marker_rate_hz,
            }
        return {
            "side": self.side,
            "view": self.view,
            "blur_faces": self.blur_faces,
            "max_side_px": self.max_side_px,
            "fps": self.fps,
            "image_size": list(self.image_size) if self.image_size else None,
            "sex": self.sex,
            "flip_test": self.flip_test,
            **({"task_guessed": task_guessed} if task_guessed else {}),
        }

    def to_json(self) -> dict[str, Any]:
        """Every field as JSON values (paths as strings), for a child process: :meth:`from_json` reads it."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AnalysisRequest:
        """The request :meth:`to_json` wrote (an unknown key is a usage error)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise UsageError(f"unknown analysis option(s): {', '.join(unknown)}")
        values = dict(doc)
        if values.get("image_size") is not None:
            values["image_size"] = tuple(values["image_size"])
        return cls(**values)


def request_fields() -> dict[str, dict[str, str]]:
    """Each :class:`AnalysisRequest` field's ``cli``, ``batch`` and ``doc`` metadata, in order."""
    return {f.name: dict(f.metadata) for f in fields(AnalysisRequest)}
