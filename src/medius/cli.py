"""The ``medius`` command line (an edge: the library never imports it).

Exit codes (also in ``docs/cli.md`` and :mod:`medius.errors`): 0 success, 1 internal error,
2 usage error, 3 input not found, 4 invalid input, 5 capture not judgeable, 6 output problem,
130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from medius import __version__
from medius._cli_common import (
    FpsOption,
    ImageSizeOption,
    MarkerRateOption,
    MarkerUnitsOption,
    SexName,
    SideName,
    console,
    err,
)
from medius._cli_common import guarded as _guarded
from medius._cli_common import parse_size as _parse_size
from medius.errors import MediusError

app = typer.Typer(
    name="medius",
    help=(
        "medius: the hip side of knee pain. Analyse a phone video (or 2D keypoints) of a single-leg "
        "squat or step-down filmed from the front, and get per-rep kinetic-chain metrics (knee FPPA, "
        "pelvic drop, trunk lean, hip adduction) with a report. Everything runs locally.\n\n"
        "Exit codes: 0 ok, 1 internal error, 2 usage, 3 input not found, 4 invalid input, "
        "5 capture not judgeable, 6 output folder problem, 130 interrupted."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

class TaskName(StrEnum):
    single_leg_squat = "single-leg-squat"
    step_down = "step-down"
    walk = "walk"
    run = "run"


class EventSource(StrEnum):
    auto = "auto"
    markers = "markers"
    force_plates = "force-plates"
    file = "file"


class ViewName(StrEnum):
    auto = "auto"
    back = "back"
    front = "front"


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"medius {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """medius command line."""


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} frames"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal and not os.environ.get("MEDIUS_PROGRESS"),
    )


def _run_one(request: Any, quiet: bool) -> Any:
    """Run one :class:`~medius.analysis.AnalysisRequest` with a progress bar (none when ``quiet``)."""
    from medius.report.outputs import run_analysis

    name = request.input.name
    with _progress() as prog:
        bar = prog.add_task(f"{name}: pose", total=None)

        def say(stage: str, done: int, total: int | None) -> None:
            prog.update(bar, description=f"{name}: {stage}", completed=done, total=total)

        return run_analysis(request, progress=None if quiet else say)


@app.command()
@_guarded
def analyze(
    input: Annotated[
        Path,
        typer.Argument(
            help="A video (MP4/MOV/..., any phone video), a folder of videos, an OpenPose BODY_25 JSON "
            "folder (one file per frame), a TRC file of pixel keypoints (Sports2D, Pose2Sim), or a lab "
            "marker trial: C3D, TRC in mm/m, or a tab-separated marker table (name + X/Y/Z columns).",
            show_default=False,
        ),
    ],
    task: Annotated[
        TaskName | None,
        typer.Option(help="The movement filmed. Without it medius guesses from the movement (steps or single-leg "
                     "reps) and says so, or asks for it (exit 2); lab trials need it."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: medius-<input name> beside the input)."),
    ] = None,
    side: Annotated[
        SideName, typer.Option(help="Stance leg: auto-detect per rep, or declare it for the whole clip.")
    ] = SideName.auto,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print result.json to standard output.")] = False,
    no_blur: Annotated[bool, typer.Option("--no-blur", help="Keep faces visible in the annotated video.")] = False,
    no_video: Annotated[bool, typer.Option("--no-video", help="Skip the annotated video (faster).")] = False,
    fps: FpsOption = None,
    image_size: ImageSizeOption = None,
    sex: Annotated[
        SexName | None, typer.Option(help="The person's sex, to pick sex-specific reference ranges.")
    ] = None,
    static: Annotated[
        Path | None,
        typer.Option(help="Marker trials: the static calibration trial of the same session (C3D/TRC/text)."),
    ] = None,
    marker_set: Annotated[
        str,
        typer.Option(help="Marker trials: 'plug-in-gait' (built in) or a marker-set YAML file (docs/lab-kinematics.md)."),
    ] = "plug-in-gait",
    events: Annotated[
        EventSource,
        typer.Option(help="Marker trials, walk/run: gait events from the markers, the force plates, both (auto) "
                     "or the file's own events."),
    ] = EventSource.auto,
    view: Annotated[
        ViewName, typer.Option(help="Walk/run videos: the camera is behind (back) or in front of the person.")
    ] = ViewName.auto,
    marker_units: MarkerUnitsOption = None,
    marker_rate: MarkerRateOption = None,
    flip_test: Annotated[
        bool,
        typer.Option("--flip-test", help="Videos: run the pose model on each frame and its mirror image and average "
                     "them, so left and right are treated alike (about 1.4x the time on two cores)."),
    ] = False,
    max_side: Annotated[
        int,
        typer.Option("--max-side", help="Videos: scale the frames so their long side is at most this many pixels "
                     "before the pose model.", min=16),
    ] = 1280,
) -> None:
    """Analyse a single-leg squat or step-down filmed from the front, or walking / running filmed from
    behind, from a video, keypoints or a lab marker trial.

    Writes OUT/result.json, OUT/reps.csv (OUT/stances.csv for walk/run), OUT/annotated.mp4, plots
    and a self-contained OUT/report.html. A capture that cannot be judged still gets a report
    saying why, and exit code 5.
    """
    from dataclasses import replace

    from medius.analysis import VIDEO_SUFFIXES, AnalysisRequest, input_kind

    size = _parse_size(image_size)
    request = AnalysisRequest(
        input,
        out_dir=out or input.absolute().with_name(f"medius-{input.stem}"),
        task=task.value if task is not None else "auto",
        side=side.value,
        force=force,
        blur_faces=not no_blur,
        annotated_video=not no_video,
        fps=fps,
        image_size=size,
        sex=sex.value if sex else None,
        static=static,
        marker_set=marker_set,
        events=events.value,
        view=view.value,
        marker_units=marker_units,
        marker_rate_hz=marker_rate,
        flip_test=flip_test,
        max_side_px=max_side,
    )
    kind = input_kind(input)
    if kind == "video-folder":
        base = out or input.with_name(f"medius-{input.name}")
        videos = sorted(p for p in input.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        rows = []
        worst = 0
        for v in videos:
            try:
                oc = _run_one(replace(request, input=v, out_dir=base / v.stem), as_json)
                summ = oc.result.get("summary", {})
                guess = ((oc.result.get("provenance") or {}).get("options") or {}).get("task_guessed") or ""
                if guess and ": not known" not in guess:
                    err.print(f"medius: {v.name}: no --task given; the movement looks like {guess}",
                              markup=False, highlight=False, soft_wrap=True)
                rows.append((v.name, oc.result["status"], oc.exit_code, summ, str(oc.report_path), ""))
                worst = max(worst, oc.exit_code)
            except MediusError as exc:
                rows.append((v.name, "error", exc.exit_code, {}, "", str(exc)))
                worst = max(worst, exc.exit_code)
        if as_json:
            print(json.dumps([{"input": r[0], "status": r[1], "exit_code": r[2], "report": r[4], "error": r[5]}
                              for r in rows], indent=2))
        else:
            table = Table(title=f"medius: {len(rows)} videos in {input}")
            for col in ("video", "status", "reps L/R", "FPPA L/R (°)", "pelvic drop L/R (°)", "report or error"):
                table.add_column(col)
            for name, status, _code, summ, report, msg in rows:
                def pair(m: str, summ: dict = summ) -> str:
                    vals = [summ.get(s, {}).get(m, {}).get("mean") for s in ("left", "right")]
                    return " / ".join("–" if v is None else f"{v:.1f}" for v in vals)
                n = " / ".join(str(summ.get(s, {}).get("fppa_deg", {}).get("n", 0)) for s in ("left", "right"))
                table.add_row(name, status, n if summ else "–", pair("fppa_deg") if summ else "–",
                              pair("pelvic_drop_deg") if summ else "–", report or msg)
            console.print(table)
        raise typer.Exit(worst)

    oc = _run_one(request, as_json)
    guessed = ((oc.result.get("provenance") or {}).get("options") or {}).get("task_guessed")
    if guessed and ": not known" not in guessed:
        err.print(f"medius: no --task given; the movement looks like {guessed} (give --task to override)",
                  markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print(json.dumps(oc.result, indent=2, ensure_ascii=False))
    else:
        _print_summary(oc)
    if not oc.judgeable:
        reasons = "; ".join(oc.result["quality"]["reasons"]) or "see the report"
        err.print(f"medius: {input}: cannot be judged: {reasons}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(oc.exit_code)


def _print_summary(oc: Any) -> None:
    from rich.markup import escape

    from medius.analysis.result import AnalysisResult
    from medius.report.rows import summary_rows

    r = oc.result
    if r["status"] == "ok":
        table = Table(title=f"{r['task_label']} — {r['input']['name']}" + (" (SYNTHETIC)" if r.get("synthetic") else ""))
        table.add_column("metric")
        for s in ("left", "right"):
            table.add_column(f"{s} mean ± SD (n)")
        table.add_column("L − R")
        table.add_column("± measured error")
        res = AnalysisResult.from_json(r)
        for row in summary_rows(res):
            if not row.headline or row.is_trial:
                continue
            me = res.measured_error_of(row.metric, row.statistic).get("value")
            table.add_row(escape(f"{row.named} [{row.unit}]" if row.unit else row.named), row.cell("left"),
                          row.cell("right"), row.difference, "–" if me is None else f"±{float(me):.1f}")
        console.print(table)
        gait = r.get("gait") or {}
        if gait.get("cadence_steps_per_min") is not None:
            console.print(f"Cadence: {gait['cadence_steps_per_min']:.1f} steps/min", markup=False, highlight=False)
        tr = r.get("trendelenburg") or {}
        for s in ("left", "right"):
            if tr.get(s):
                console.print(tr[s]["text"], markup=False, highlight=False, soft_wrap=True)
        if tr.get("rule"):
            console.print(f"Rule: {tr['rule']['text']}", markup=False, highlight=False, soft_wrap=True)
        for w in r["quality"]["warnings"]:
            err.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Report: {oc.report_path}", markup=False, highlight=False, soft_wrap=True)


@app.command()
@_guarded
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write the synthetic keypoints into.", show_default=False)],
    task: Annotated[TaskName, typer.Option(help="Task label stored with the data.")] = TaskName.single_leg_squat,
    file_format: Annotated[
        str, typer.Option("--format", help="openpose (a folder of BODY_25 JSON files) or trc.")
    ] = "openpose",
    reps: Annotated[int, typer.Option(help="Reps on each leg.", min=1, max=20)] = 5,
    noise_px: Annotated[float, typer.Option(help="Gaussian keypoint noise (px).", min=0)] = 1.5,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing folder.")] = False,
) -> None:
    """Write a SYNTHETIC recording for demos and tests; the analysis labels its result synthetic.

    single-leg-squat / step-down: keypoint files; the left leg squats with a moderate knee valgus
    and pelvic drop, the right leg with more. walk / run: a lab trial (OUT/trial.c3d, Plug-in Gait
    markers with medial knee/ankle markers, and OUT/static.c3d) and the same movement filmed from
    behind as keypoints (OUT/video/, OpenPose JSON and a pixel TRC, 1080x1920 at 30 fps); the left
    stance has a 4° pelvic drop and 6° hip adduction, the right 8° and 10°. The known values are in
    OUT/medius-synthetic.json.
    """
    from medius.errors import InvalidInputError, OutputError
    from medius.io.keypoint_files import write_openpose_json, write_trc
    from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats, write_marker

    if file_format not in ("openpose", "trc"):
        raise InvalidInputError(f"unknown --format {file_format!r}; allowed: openpose, trc")
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputError("folder exists and is not empty; use --force to replace it", path=out)
    if task.value in ("walk", "run"):
        _synth_gait(out, task.value, noise_px=noise_px)
        return
    spec = SyntheticSquats(
        reps=tuple(
            [SyntheticRep("left", fppa_deg=7.0 + i % 2, pelvic_drop_deg=3.0, trunk_lean_deg=3.0) for i in range(reps)]
            + [SyntheticRep("right", fppa_deg=15.0 + i % 2, pelvic_drop_deg=6.0, trunk_lean_deg=7.0, depth_pct=13.0)
               for i in range(reps)]
        ),
        noise_px=noise_px,
        task=task.value,
    )
    kp, gt = make_single_leg_squats(spec)
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.json")) + list(out.glob("*.trc")):
        old.unlink()
    if file_format == "openpose":
        write_openpose_json(kp, out, prefix="synthetic")
    else:
        write_trc(kp, out / "synthetic_px.trc")
    write_marker(out, spec, gt)
    Console().print(
        f"Synthetic keypoints: {out} ({len(spec.reps)} reps, {kp.n_frames} frames at {spec.fps:g} Hz, "
        f"image {spec.image_size[0]}x{spec.image_size[1]} px)",
        markup=False,
        highlight=False,
    )


def _synth_gait(out: Path, task: str, *, noise_px: float) -> None:
    import shutil

    from medius.io.markers import write_c3d
    from medius.testing.synthetic_gait import (
        DEMO_HIP_ADDUCTION_DEG,
        DEMO_PELVIC_DROP_DEG,
        CameraSpec,
        GaitSpec,
        make_gait_trial,
        make_static_trial,
        render_gait_video_keypoints,
        write_gait_c3d,
        write_gait_keypoints,
    )

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    spec = GaitSpec(task="walk" if task == "walk" else "run", duration_s=10.0 if task == "walk" else 8.0, treadmill=task == "run",
                    pelvic_drop_deg=dict(DEMO_PELVIC_DROP_DEG), hip_adduction_deg=dict(DEMO_HIP_ADDUCTION_DEG),
                    medial_markers=True, noise_mm=0.5)
    trial, truth = make_gait_trial(spec)
    write_gait_c3d(trial, out / "trial.c3d", truth)
    write_c3d(make_static_trial(spec), out / "static.c3d")
    kp, video = render_gait_video_keypoints(truth, camera=CameraSpec(fps=30.0 if task == "walk" else 60.0,
                                                                      noise_px=noise_px))
    write_gait_keypoints(kp, out / "video", truth=truth, video=video)
    Console().print(
        f"Synthetic {task}: lab trial {out / 'trial.c3d'} ({trial.n_frames} frames at {trial.rate_hz:g} Hz, "
        f"{len(trial.labels)} markers), static trial {out / 'static.c3d'}, video keypoints {out / 'video'} "
        f"({kp.n_frames} frames at {kp.fps:g} fps, {kp.image_size[0]}x{kp.image_size[1]} px)",
        markup=False,
        highlight=False,
    )


def _hide_native_logs() -> None:
    """Send what native libraries write to file descriptor 2 (MediaPipe's glog/absl/TFLite start-up
    chatter) to /dev/null, while Python's ``sys.stderr`` (our messages, the progress bar) keeps
    the real standard error. ``MEDIUS_DEBUG=1`` keeps everything."""
    if os.environ.get("MEDIUS_DEBUG"):
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        sys.stderr = os.fdopen(saved, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                               errors="backslashreplace")
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - no fd 2 (embedded use)
        pass


# Commands that live beside this module (clinic, web app, batch): each module has ``register(app)``.
_COMMAND_MODULES = (
    "medius.cli_clinic", "medius.cli_program", "medius.cli_guide", "medius.web.cli", "medius.batch.cli",
    "medius.validation.cli",
)


def _register_commands() -> None:
    import importlib
    import importlib.util

    for name in _COMMAND_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # its parent package is not there
            found = False
        if found:
            importlib.import_module(name).register(app)


_register_commands()


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a service manager, ``kill``) stops like Ctrl-C: the half-written output is removed."""
    raise KeyboardInterrupt


def _click_exceptions() -> Any:
    """The click exception classes typer raises (typer >= 0.24 carries its own copy of click)."""
    try:
        from typer._click import exceptions as found
    except ImportError:  # pragma: no cover - older typer on the real click
        from click import exceptions as found  # type: ignore[no-redef]
    return found


def _usage_error_line(exc: Exception) -> str:
    """A usage error as the one line docs/cli.md promises (no box, no usage block)."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "medius"
    return f"medius: error: {' '.join(message.split())} (see '{where} --help')"


def main() -> None:
    """Console-script entry point."""
    import signal

    cx = _click_exceptions()
    _hide_native_logs()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(standalone_mode=False)
    except cx.NoArgsIsHelpError as exc:  # ``medius``, ``medius user``: the help
        sys.stderr.write((exc.ctx.get_help() if exc.ctx is not None else str(exc)) + "\n")
        sys.exit(exc.exit_code)
    except cx.UsageError as exc:
        sys.stderr.write(_usage_error_line(exc) + "\n")
        sys.exit(exc.exit_code)
    except cx.ClickException as exc:
        sys.stderr.write(f"medius: error: {' '.join(exc.format_message().split())}\n")
        sys.exit(exc.exit_code)
    except typer.Abort:
        from medius.analysis.outputs import remove_unfinished_workspaces

        remove_unfinished_workspaces()
        sys.stderr.write("medius: interrupted; nothing was written\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
