"""``medius guide``: how to film a recording medius can judge (an edge module beside the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medius._cli_common import console, guarded
from medius.errors import OutputError

__all__ = ["register"]


def _guide(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the guide as a self-contained HTML page to this file."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """How to film: where the phone goes and the checklist for the single-leg squat, walking and treadmill
    running. Prints the checklist; with --out, writes the HTML guide (with the camera-placement pictures)."""
    from medius.report.filming import filming_tasks, render_filming_guide_html

    if out is None:
        for t in filming_tasks():
            console.print(f"\n{t.title}", markup=False, highlight=False, style="bold")
            console.print(f"  Where the phone goes: {t.placement}", markup=False, highlight=False, soft_wrap=True)
            for item in t.checklist:
                console.print(f"  [ ] {item}", markup=False, highlight=False, soft_wrap=True)
        console.print("\nThe same guide as a web page: medius guide --out guide.html", markup=False, highlight=False)
        return
    if out.exists() and not force:
        raise OutputError("exists; use --force to replace it", path=out)
    if out.is_dir():
        raise OutputError("is a folder; give a file name such as guide.html", path=out)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(render_filming_guide_html(standalone=True), encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write the guide ({exc.strerror or exc})", path=out) from None
    console.print(f"Filming guide: {out}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``guide`` to the ``medius`` command."""
    app.command("guide")(guarded(_guide))
