"""What every ``medius`` command shares: the consoles and the error guard (an edge module).

A command module beside :mod:`medius.cli` (``medius.cli_clinic``, ``medius.web.cli``,
``medius.batch.cli``) defines ``register(app: typer.Typer) -> None`` and decorates each command
with :func:`guarded`, so a user error prints one line ``medius: error: ...`` and exits with the
code of :mod:`medius.errors`, and a bug prints one line and exits 1.
"""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from medius.errors import MediusError

__all__ = [
    "FpsOption",
    "ImageSizeOption",
    "MarkerRateOption",
    "MarkerUnitsOption",
    "SexName",
    "SideName",
    "console",
    "err",
    "fail",
    "guarded",
    "parse_size",
]

#: input options that ``medius analyze`` and ``medius batch`` share, worded once
FpsOption = Annotated[
    float | None, typer.Option(help="Frame rate of keypoint files that carry none (OpenPose JSON).", min=0.1)
]
ImageSizeOption = Annotated[
    str | None, typer.Option(help="WIDTHxHEIGHT of the video the keypoints came from (keypoint inputs).")
]
MarkerUnitsOption = Annotated[
    str | None, typer.Option(help="Marker tables that do not state their length unit: mm or m.")
]
MarkerRateOption = Annotated[
    float | None, typer.Option(help="Marker tables with no Time column: the sampling rate (Hz).", min=0.1)
]

err = Console(stderr=True)
console = Console()

F = TypeVar("F", bound=Callable[..., Any])


def fail(exc: MediusError) -> typer.Exit:
    err.print(f"medius: error: {exc}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def guarded(fn: F) -> F:
    """Turn user errors into one line and an exit code, and bugs into one line plus exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except MediusError as exc:
            raise fail(exc) from None
        except KeyboardInterrupt:
            from medius.analysis.outputs import remove_unfinished_workspaces

            remove_unfinished_workspaces()
            err.print("medius: interrupted; nothing was written", markup=False)
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug: say so plainly, traceback only on request
            if os.environ.get("MEDIUS_DEBUG"):
                traceback.print_exc()
            err.print(
                f"medius: internal error: {type(exc).__name__}: {exc} "
                "(this is a bug in medius; set MEDIUS_DEBUG=1 to see the traceback)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]




class SideName(StrEnum):
    auto = "auto"
    left = "left"
    right = "right"


class SexName(StrEnum):
    female = "female"
    male = "male"


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``--image-size WIDTHxHEIGHT`` in pixels, or a usage error."""
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise typer.BadParameter(
            f"expected WIDTHxHEIGHT in pixels such as 1080x1920, got {text!r}", param_hint="--image-size"
        ) from None
    return w, h
