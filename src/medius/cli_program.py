"""``medius program``: make a home exercise program and progress it from logged sessions (an edge).

``medius program make INPUT --out DIR [--pdf]``: INPUT is a ProgramRequest (YAML/JSON) or a
``findings.json`` of ``medius assess`` (its ``program_request``, or its findings' ``targets``);
writes DIR/program.json and DIR/program.html (+ DIR/program.pdf).

``medius program progress PROGRAM.json SESSIONS.yaml --out DIR [--pdf]``: writes the updated
DIR/program.json, DIR/update.json (one reason per exercise) and DIR/program.html (+ PDF).

``medius program exercises``: list the exercise library.

Everything is written to a temporary folder and renamed into place: never half-written results.
Exit codes are those of :mod:`medius.errors`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medius._cli_common import console, err, guarded

__all__ = ["register"]

program_app = typer.Typer(
    name="program",
    help="Make a phased home exercise program from findings, and progress it from logged sessions.",
    no_args_is_help=True,
)


def _write_outputs(out: Path, force: bool, files: dict[str, str | bytes]) -> None:
    from medius.analysis.outputs import finish_output_dir as _finish_output_dir
    from medius.analysis.outputs import prepare_output_dir, remove_workspace

    tmp = prepare_output_dir(out, force=force)
    try:
        for name, content in files.items():
            target = tmp / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        _finish_output_dir(tmp, out)
    except BaseException:
        remove_workspace(tmp)
        raise


def _render(program: object, pdf: bool, name: str | None) -> dict[str, str | bytes]:
    from medius.report.program import render_program_html, render_program_pdf

    html = render_program_html(program, person_name=name)  # type: ignore[arg-type]
    files: dict[str, str | bytes] = {"program.html": html}
    if pdf:
        files["program.pdf"] = render_program_pdf(program, html=html)  # type: ignore[arg-type]
    return files


OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
PdfOpt = Annotated[bool, typer.Option("--pdf", help="Also write program.pdf (A4, via WeasyPrint).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Name printed on the home program.")]


@program_app.command("make")
@guarded
def make(
    input: Annotated[
        Path,
        typer.Argument(
            help="A ProgramRequest (YAML or JSON: targets, red_flags, pain_nprs, goal, equipment ...) or a "
            "findings.json written by `medius assess`.",
            show_default=False,
        ),
    ],
    out: OutOpt,
    pdf: PdfOpt = False,
    force: ForceOpt = False,
    name: NameOpt = None,
) -> None:
    """Make a phased home program (program.json, program.html, optionally program.pdf)."""
    from medius.clinic.program import generate_program, read_program_request

    request = read_program_request(input)
    program = generate_program(request)
    files: dict[str, str | bytes] = {"program.json": program.model_dump_json(indent=2) + "\n"}
    files.update(_render(program, pdf, name))
    _write_outputs(out, force, files)
    if program.blocked_by_red_flags:
        err.print(f"medius: {program.message}", markup=False, highlight=False, soft_wrap=True)
    else:
        _print_program(program)
    console.print(f"Program: {out / 'program.html'}", markup=False, highlight=False, soft_wrap=True)


@program_app.command("progress")
@guarded
def progress(
    program_file: Annotated[Path, typer.Argument(help="program.json from `medius program make`.", show_default=False)],
    sessions_file: Annotated[
        Path,
        typer.Argument(
            help="Logged sessions (YAML/JSON): sessions: [{date, pain_before, pain_during, pain_next_morning, "
            "exercises: [{id, sets, reps, load_kg, pain_during}]}].",
            show_default=False,
        ),
    ],
    out: OutOpt,
    pdf: PdfOpt = False,
    force: ForceOpt = False,
    name: NameOpt = None,
) -> None:
    """Progress or regress each exercise from logged sessions (program.json, update.json, program.html)."""
    from medius.clinic.program import read_program
    from medius.clinic.progression import check_sessions_against_program, progress_program, read_sessions
    from medius.errors import InvalidInputError

    program = read_program(program_file)
    sessions = read_sessions(sessions_file)
    problems = check_sessions_against_program(program, sessions)
    if problems:
        raise InvalidInputError(problems[0], path=sessions_file)
    update = progress_program(program, sessions)
    files: dict[str, str | bytes] = {
        "program.json": update.program.model_dump_json(indent=2) + "\n",
        "update.json": json.dumps(
            update.model_dump(mode="json", exclude={"program"}), indent=2, ensure_ascii=False
        )
        + "\n",
    }
    files.update(_render(update.program, pdf, name))
    _write_outputs(out, force, files)
    table = Table(title=update.summary)
    for col in ("exercise", "action", "reason"):
        table.add_column(col)
    for c in update.changes:
        table.add_row(c.exercise_id, c.action, c.reason)
    console.print(table)
    if update.phase_change:
        console.print(update.phase_change, markup=False, highlight=False, soft_wrap=True)
    console.print(f"Program: {out / 'program.html'}", markup=False, highlight=False, soft_wrap=True)


@program_app.command("exercises")
@guarded
def exercises() -> None:
    """List the exercise library (id, name, equipment, targets)."""
    from medius.clinic.exercises import load_exercise_library

    lib = load_exercise_library()
    table = Table(title=f"medius exercise library ({len(lib.exercises)} exercises)")
    for col in ("id", "name", "equipment", "targets"):
        table.add_column(col)
    for e in lib.exercises.values():
        table.add_row(e.id, e.name, ", ".join(e.equipment) or "none", ", ".join(e.targets))
    console.print(table)


def _print_program(program: object) -> None:
    table = Table(title=getattr(program, "message", "program"))
    for col in ("phase", "weeks", "exercise", "dose"):
        table.add_column(col)
    for ph in program.phases:  # type: ignore[attr-defined]
        for e in ph.exercises:
            table.add_row(ph.label, f"{ph.start_week}–{ph.end_week}", e.name, e.dosage.text())
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``medius program`` sub-commands to the main app."""
    app.add_typer(program_app, name="program")
