"""The output folder of one analysis, written all at once.

:func:`prepare_output_dir` refuses an existing folder without ``force`` *before* any work and
makes a temporary sibling folder (the analysis's workspace: the frame copy for the annotated
video lives there); :func:`publish` has the edge's renderer write the outputs into it and renames
it into place. A failure, Ctrl-C or SIGTERM (``medius.cli`` raises ``KeyboardInterrupt``
for both) at any point removes the workspace: nothing is half-written.

Light on imports (no pose model), so every writer of the report layer can use it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from medius.errors import OutputError

if TYPE_CHECKING:
    from medius.analysis.run import AnalysisOutcome, Progress

__all__ = ["Renderer", "discard", "finish_output_dir", "prepare_output_dir", "publish"]

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
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise OutputError(
            f"cannot write the output folder here ({exc.strerror or exc})", path=out_dir
        ) from None
    return tmp


def finish_output_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished temporary folder into place (replacing an old ``out_dir``)."""
    out_dir = Path(out_dir)
    old = None
    try:
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except OSError as exc:
        if old is not None and old.exists() and not out_dir.exists():
            os.replace(old, out_dir)
        raise OutputError(
            f"cannot move the results into place ({exc.strerror or exc})", path=out_dir
        ) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(outcome: AnalysisOutcome) -> None:
    """Remove an outcome's workspace without publishing it (safe to call twice)."""
    if outcome.workspace is not None:
        shutil.rmtree(outcome.workspace, ignore_errors=True)
        outcome.workspace = None


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
        if outcome.frame_cache is not None:
            outcome.frame_cache.remove()
        finish_output_dir(tmp, outcome.out_dir)
        outcome.workspace = None
    except BaseException:
        discard(outcome)
        raise
    return outcome
