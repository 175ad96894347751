"""The output folder of one analysis, written all at once.

:func:`prepare_output_dir` refuses an existing folder without ``force`` *before* any work and
makes a temporary sibling folder (the analysis's workspace: the frame copy for the annotated
video lives there); :func:`publish` has the edge's renderer write the outputs into it and renames
it into place. A failure, Ctrl-C or SIGTERM (``medius.cli`` raises ``KeyboardInterrupt``
for both) at any point removes the workspace: nothing is half-written. A signal can land between
any two bytecodes, including between making the folder and entering the ``try`` that would remove
it, so every workspace is recorded *before* it is made and the CLI's interrupt handler removes
whatever is still recorded (:func:`remove_unfinished_workspaces`).

Light on imports (no pose model), so every writer of the report layer can use it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from medius.errors import OutputError

if TYPE_CHECKING:
    from medius.analysis.run import AnalysisOutcome, Progress

__all__ = [
    "Renderer",
    "discard",
    "finish_output_dir",
    "prepare_output_dir",
    "publish",
    "remove_unfinished_workspaces",
    "remove_workspace",
]

#: workspaces made by this process and not yet moved into place or removed
_UNFINISHED: set[Path] = set()

#: ``render(outcome, folder)``: writes every output file of ``outcome`` into ``folder``
Renderer = Callable[["AnalysisOutcome", Path], None]


def prepare_output_dir(out_dir: Path, *, force: bool) -> Path:
    """Refuse an existing, non-empty ``out_dir`` without ``force``; make a temporary sibling.

    Returns the temporary folder everything is written to (renamed into place at the end by
    :func:`finish_output_dir`).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError("exists and is not a folder", path=out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise OutputError("output folder exists and is not empty; use --force to replace it", path=out_dir)
    parent = out_dir.absolute().parent
    tmp = parent / f".{out_dir.name}.{secrets.token_hex(8)}.partial"
    _UNFINISHED.add(tmp)  # recorded first: an interrupt right after mkdir still finds it
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(mode=0o700)
    except OSError as exc:
        _UNFINISHED.discard(tmp)
        raise OutputError(
            f"cannot write the output folder here ({exc.strerror or exc})", path=out_dir
        ) from None
    return tmp


def remove_workspace(tmp: Path) -> None:
    """Remove one unfinished workspace (safe to call twice)."""
    shutil.rmtree(tmp, ignore_errors=True)
    _UNFINISHED.discard(Path(tmp))


def remove_unfinished_workspaces() -> None:
    """Remove every workspace this process made and did not finish (the CLI calls this on
    Ctrl-C and SIGTERM, wherever the signal landed)."""
    for tmp in list(_UNFINISHED):
        remove_workspace(tmp)


def finish_output_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished temporary folder into place (replacing an old ``out_dir``)."""
    out_dir = Path(out_dir)
    old = None
    try:
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        _UNFINISHED.discard(Path(tmp))
    except OSError as exc:
        if old is not None and old.exists() and not out_dir.exists():
            os.replace(old, out_dir)
        raise OutputError(
            f"cannot move the results into place ({exc.strerror or exc})", path=out_dir
        ) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(outcome: AnalysisOutcome) -> None:
    """Remove an outcome's workspace, and the frames kept for its annotated video, without
    publishing it (safe to call twice)."""
    _remove_frame_copy(outcome)
    if outcome.workspace is not None:
        remove_workspace(outcome.workspace)
        outcome.workspace = None


def _remove_frame_copy(outcome: AnalysisOutcome) -> None:
    if outcome.video is not None and outcome.video.frame_cache is not None:
        outcome.video.frame_cache.remove()


def publish(outcome: AnalysisOutcome, render: Renderer, *, progress: Progress | None = None) -> AnalysisOutcome:
    """Render ``outcome`` into its workspace with ``render`` and move the folder into place.

    ``render`` comes from the edge (``medius.report.outputs.render_outputs``): the analysis layer
    never imports the report. On any exception, Ctrl-C included, the workspace is removed and
    the exception raised again.
    """
    tmp = outcome.workspace
    if tmp is None:
        raise ValueError("this outcome has no workspace: it was published or discarded already")
    try:
        if progress is not None:
            progress("writing outputs", 0, None)
        render(outcome, tmp)
        _remove_frame_copy(outcome)
        finish_output_dir(tmp, outcome.out_dir)
        outcome.workspace = None
    except BaseException:
        discard(outcome)
        raise
    return outcome
