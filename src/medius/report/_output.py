"""Output folders written all at once: a temporary sibling folder, renamed into place at the end.

Light on imports (no pose model), so every writer of the report layer can use it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from medius.errors import OutputError

__all__ = ["finish_output_dir", "prepare_output_dir"]


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
