"""``medius batch``: analyse a folder or a manifest of inputs on Dask (registered by medius.cli)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from medius._cli_common import (
    FpsOption,
    ImageSizeOption,
    MarkerRateOption,
    MarkerUnitsOption,
    console,
    err,
    guarded,
)
from medius._cli_common import SexName as _Sex
from medius._cli_common import SideName as _Side
from medius._cli_common import parse_size as _parse_size

__all__ = ["EXIT_STRICT_FAILURES", "register"]

#: exit code of ``medius batch --strict`` when at least one item failed
EXIT_STRICT_FAILURES = 7


def _plain(text: str) -> None:
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def _usage(text: str) -> typer.Exit:
    """A usage error: one line ``medius: error: ...`` and exit 2."""
    _plain(f"medius: error: {text}")
    return typer.Exit(2)


def _hms(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def batch(
    input: Annotated[
        Path,
        typer.Argument(
            help="A folder of inputs (videos, .trc/.c3d files, marker tables, sub-folders of OpenPose JSON; "
            "a sub-folder of the folder names the person) or a manifest CSV with columns path, task, "
            "person_id, side, group (and sex, fps, image_size, marker_units, marker_rate_hz, ...; any other "
            "column is carried through to the cohort tables).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Batch output folder (created; re-runs resume it).")],
    task: Annotated[
        str, typer.Option(help="Task of the inputs of a folder, and of manifest rows that leave it empty.")
    ] = "single-leg-squat",
    side: Annotated[_Side, typer.Option(help="Stance leg for rows that leave it empty (as medius analyze).")] = (
        _Side.auto
    ),
    sex: Annotated[_Sex | None, typer.Option(help="Sex for rows that leave it empty (reference ranges).")] = None,
    fps: FpsOption = None,
    image_size: ImageSizeOption = None,
    marker_units: MarkerUnitsOption = None,
    marker_rate: MarkerRateOption = None,
    no_blur: Annotated[bool, typer.Option("--no-blur", help="Keep faces visible in the annotated videos.")] = False,
    no_video: Annotated[bool, typer.Option("--no-video", help="Skip the annotated videos (faster).")] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of a running Dask scheduler (tcp://HOST:8786); default: a local cluster."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes of the local cluster (default: one per core this process may use).",
                     min=1),
    ] = None,
    retries: Annotated[
        int, typer.Option(help="Extra attempts for an item whose analysis raised an unexpected error.", min=0)
    ] = 1,
    strict: Annotated[
        bool, typer.Option("--strict", help=f"Exit {EXIT_STRICT_FAILURES} if any item failed.")
    ] = False,
) -> None:
    """Analyse many recordings on Dask, from a laptop to a cluster, resumably.

    Each item gets OUT/items/<person>-<key>/ (exactly what `medius analyze` writes); OUT/ledger.jsonl
    records what is done, so a re-run only analyses new, changed or unfinished items. The batch ends
    with OUT/batch-items.csv, the cohort tables OUT/cohort-records.{csv,parquet} and
    OUT/cohort-summary.{csv,parquet}, and OUT/cohort-report.html.
    """
    from medius.batch import (
        MARKER_UNITS,
        ItemSettings,
        discover_items,
        read_manifest,
        run_batch,
        task_names,
        write_cohort_outputs,
        write_items_table,
    )
    from medius.errors import InputNotFoundError

    if task not in task_names():
        raise _usage(f"--task: unknown task {task!r}; allowed: {', '.join(task_names())}")
    if scheduler and workers:
        raise _usage("--workers cannot be used with --scheduler: --workers sizes the local cluster, and with "
                     "--scheduler the existing cluster's own workers are used")
    if marker_units is not None and marker_units.lower() not in MARKER_UNITS:
        raise _usage(f"--marker-units: must be one of {', '.join(MARKER_UNITS)}, got {marker_units!r}")
    options: dict[str, Any] = {}
    if marker_units is not None:
        options["marker_units"] = marker_units.lower()
    if marker_rate is not None:
        options["marker_rate_hz"] = float(marker_rate)
    defaults = ItemSettings(task=task, side=side.value, sex=sex.value if sex else None, fps=fps,
                            image_size=_parse_size(image_size), blur_faces=not no_blur,
                            annotated_video=not no_video, options=tuple(sorted(options.items())))
    if not input.exists():
        raise InputNotFoundError("no such file or folder", path=input)
    items = discover_items(input, defaults, exclude=out) if input.is_dir() else read_manifest(input, defaults)

    progress = Progress(
        TextColumn("[bold]medius batch"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("items · [red]{task.fields[failed]} failed[/red]{task.fields[frames]} · ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and not os.environ.get("MEDIUS_PROGRESS"),
    )
    state: dict[str, Any] = {"failed": 0, "frames": {}, "bar": None, "done": 0, "total": 0, "t0": 0.0}
    lock = threading.Lock()

    def counts_text() -> str:
        """``3/10 items, 1 failed, ETA 0:00:42`` (the ETA from the items finished so far)."""
        n, total = state["done"], state["total"]
        eta = "-:--:--"
        if n:
            eta = _hms((time.monotonic() - state["t0"]) / n * (total - n))
        return f"{n}/{total} items, {state['failed']} failed, ETA {eta}"

    def frames_text() -> str:
        running = list(state["frames"].values())
        if not running:
            return ""
        done = sum(d for d, _ in running)
        total = sum(t or 0 for _, t in running)
        return f" · {len(running)} running, frames {done}/{total or '?'}"

    def on_start(n_run: int, n_skip: int) -> None:
        if n_skip:
            _plain(f"medius batch: {n_skip} of {len(items)} items already done in {out}; {n_run} to analyse")
        state["bar"] = progress.add_task("batch", total=n_run, failed=0, frames="")
        state["total"], state["t0"] = n_run, time.monotonic()

    def on_item(o: Any) -> None:
        if o.skipped:
            return
        with lock:
            state["frames"].pop(o.task, None)
            state["done"] += 1
            if o.status == "failed":
                state["failed"] += 1
            progress.update(state["bar"], advance=1, failed=state["failed"], frames=frames_text())
            line = f"[{counts_text()}] {o.status}: {o.item.label} ({o.item.path.name})"
        if progress.disable or o.status == "failed":
            _plain(line + (f": {o.reason}" if o.reason else ""))

    def on_frames(task_id: str, stage: str, done: int, total: int | None) -> None:
        with lock:
            state["frames"][task_id] = (done, total)
            if state["bar"] is not None:
                progress.update(state["bar"], frames=frames_text())

    try:
        with progress:
            run = run_batch(items, out, scheduler=scheduler, n_workers=workers, retries=retries,
                            on_start=on_start, on_item=on_item, on_frames=on_frames)
    except KeyboardInterrupt:
        from medius.analysis.outputs import remove_unfinished_workspaces

        remove_unfinished_workspaces()  # items analysed in this process (local scheduler)
        _plain(f"medius: interrupted; finished items are kept (see {out / 'ledger.jsonl'}): run the same "
               "command again to analyse the rest")
        raise typer.Exit(130) from None
    write_items_table(out, run.outcomes)
    written = write_cohort_outputs(out, run.outcomes, title=f"medius batch: {input.name}")

    counts = {s: sum(1 for o in run.outcomes if o.status == s) for s in ("ok", "not_judgeable", "failed")}
    n_skipped = sum(1 for o in run.outcomes if o.skipped)
    table = Table(title=f"medius batch: {len(run.outcomes)} items ({n_skipped} already done, "
                        f"{len(run.analysed)} analysed in {run.wall_s:.1f} s)")
    for col in ("outcome", "items"):
        table.add_column(col)
    table.add_row("ok", str(counts["ok"]))
    table.add_row("not judgeable", str(counts["not_judgeable"]))
    table.add_row("failed", str(counts["failed"]))
    console.print(table)
    if run.failed:
        ft = Table(title="failed items")
        for col in ("item", "input", "reason"):
            ft.add_column(col, overflow="fold")
        for o in run.failed:
            ft.add_row(o.item.label, str(o.item.path), o.reason)
        console.print(ft)
    if written.get("parquet_note"):
        _plain(f"warning: {written['parquet_note']}")
    console.print(f"Items: {out / 'batch-items.csv'}\nCohort report: {out / written['report']}",
                  markup=False, highlight=False, soft_wrap=True)
    if strict and run.failed:
        raise typer.Exit(EXIT_STRICT_FAILURES)


def register(app: typer.Typer) -> None:
    """Add the ``batch`` command to the ``medius`` app."""
    app.command(name="batch")(guarded(batch))
