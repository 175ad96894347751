"""``medius assess`` and ``medius compare``: the clinical assessment on the command line (an edge).

``medius assess FILE --out DIR`` reads an assessment visit (YAML or JSON, docs/clinic.md), with any
movement-screen ``result.json`` files it points at (paths relative to the assessment file), and
writes ``findings.json`` and ``assessment.html`` (``--pdf``: also PDFs). Red flags lead with "See a
clinician before starting exercises" and no exercise program is generated.
``medius compare VISIT1 VISIT2`` prints each measurement's change against measurement error and
minimal important difference (``--out DIR``: ``progress.json`` and ``progress.html``).
Exit codes as in :mod:`medius.errors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medius._cli_common import console, guarded

__all__ = ["register"]


def _assess(
    file: Annotated[Path, typer.Argument(help="Assessment visit, YAML or JSON (see docs/clinic.md).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for findings.json and assessment.html.")],
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write assessment.pdf (and program.pdf) with WeasyPrint.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
) -> None:
    """Assess a visit: red flags first, then findings, measurements and the exercise program."""
    from medius.clinic.findings import evaluate_assessment, read_movement_results
    from medius.clinic.records import read_assessment
    from medius.report.assessment import write_assessment_outputs

    assessment = read_assessment(file)
    movement = read_movement_results(assessment, file.parent)
    outcome = evaluate_assessment(assessment, movement)
    write_assessment_outputs(outcome, out, force=force, pdf=pdf)
    doc = outcome.document
    if doc["headline"]:
        console.print(f"[bold red]{doc['headline']}[/bold red]")
        for f in doc["red_flags"]:
            console.print(f"  - {f['label']}", markup=False)
        console.print("No exercise program was generated.")
    findings = [f for f in outcome.findings if f.kind != "red_flag"]
    console.print(f"{len(findings)} finding(s); written to {out}", markup=False)
    for f in findings:
        console.print(f"  - {f.text}", markup=False, soft_wrap=True)


def _compare(
    visit1: Annotated[Path, typer.Argument(help="The earlier visit (YAML or JSON).")],
    visit2: Annotated[Path, typer.Argument(help="The later visit (YAML or JSON).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write progress.json and progress.html here.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
) -> None:
    """Compare two visits: each change against measurement error (SEM/MDC) and minimal important difference."""
    from medius.clinic.findings import read_movement_results
    from medius.clinic.progress import compare_visits
    from medius.clinic.records import read_assessment
    from medius.errors import InvalidInputError
    from medius.report.assessment import write_comparison_outputs

    first, second = read_assessment(visit1), read_assessment(visit2)
    try:
        changes = compare_visits(
            first,
            second,
            movement_first=read_movement_results(first, visit1.parent),
            movement_second=read_movement_results(second, visit2.parent),
        )
    except ValueError as exc:
        raise InvalidInputError(str(exc), path=visit2) from None
    table = Table(title=f"{visit1.name} → {visit2.name}")
    table.add_column("measurement", overflow="fold")
    for col in ("before", "after", "change", "error", "beyond error", "MCID reached", "verdict"):
        table.add_column(col, overflow="fold")
    for c in changes:
        pct = c.measurement_error_unit == "pct_change"
        change = f"{c.change_pct:+.1f}%" if pct and c.change_pct is not None else f"{c.change:+.1f}"
        table.add_row(
            c.label,
            f"{c.before:.1f}",
            f"{c.after:.1f}",
            change,
            "—" if c.measurement_error is None else f"{c.measurement_error:g}{'%' if pct else ''}",
            {True: "yes", False: "no", None: "?"}[c.exceeds_error],
            "—" if c.mcid is None else f"{'yes' if c.exceeds_mcid else 'no'} ({c.mcid:g})",
            c.direction.replace("_", " "),
        )
    console.print(table)
    if not changes:
        console.print("No measurement is present in both visits.")
    if out is not None:
        write_comparison_outputs(changes, out, first_label=visit1.name, second_label=visit2.name, force=force)
        console.print(f"written to {out}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``assess`` and ``compare`` to the ``medius`` app."""
    app.command("assess")(guarded(_assess))
    app.command("compare")(guarded(_compare))
