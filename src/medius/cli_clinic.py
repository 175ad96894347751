"""``medius assess`` and ``medius compare``: the clinical assessment on the command line (an edge).

``medius assess FILE --out DIR`` reads an assessment visit (YAML or JSON, docs/clinic.md), with any
movement-screen ``result.json`` files it points at (paths relative to the assessment file), and
writes ``findings.json``, ``assessment.html``, ``program.json`` and ``program.html`` (``--pdf``: also
PDFs), all or nothing. ``program.json`` is what ``medius program progress`` reads. Red flags lead
with "See a clinician before starting exercises" and no exercise program is generated: the program
files then hold the blocked program (no exercises, the message to see a clinician).
``medius compare VISIT1 VISIT2`` prints each measurement's change against measurement error and
minimal important difference (``--out DIR``: ``progress.json`` and ``progress.html``).
Exit codes as in :mod:`medius.errors`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from medius._cli_common import console, guarded

if TYPE_CHECKING:
    from medius.clinic.findings import AssessmentOutcome
    from medius.clinic.progress import Change

__all__ = ["register"]


def _write_assessment(outcome: AssessmentOutcome, out: Path, *, force: bool, pdf: bool) -> None:
    """findings.json, assessment.html (+ PDFs) and program.json, program.html into ``out``, all or nothing.

    The report writes its files into a temporary folder beside ``out``; the program files are added
    there (and named in findings.json's ``files``) before the folder is renamed into place.
    """
    from medius.analysis.outputs import finish_output_dir, prepare_output_dir, remove_workspace
    from medius.errors import OutputError
    from medius.report.assessment import write_assessment_outputs
    from medius.report.program import render_program_html

    tmp = prepare_output_dir(out, force=force)
    try:
        write_assessment_outputs(outcome, tmp, force=True, pdf=pdf)
        if outcome.program is not None:
            name = outcome.document["person"].get("name")
            (tmp / "program.json").write_text(outcome.program.model_dump_json(indent=2) + "\n", encoding="utf-8")
            (tmp / "program.html").write_text(render_program_html(outcome.program, person_name=name), encoding="utf-8")
            findings = tmp / "findings.json"
            doc = json.loads(findings.read_text(encoding="utf-8"))
            doc.setdefault("files", {}).update({"program": "program.json", "program_html": "program.html"})
            findings.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        remove_workspace(tmp)
        raise OutputError(f"cannot write the outputs ({exc.strerror or exc})", path=out) from None
    except OutputError as exc:
        # the report names the folder it wrote to (the temporary one): name the user's --out instead
        remove_workspace(tmp)
        raise OutputError(exc.message, path=out) from None
    except BaseException:
        remove_workspace(tmp)
        raise
    finish_output_dir(tmp, out)


def _shown(c: Change, value: float, category: str | None) -> str:
    """A cell of the compare table: the category of a clinical test, else the number."""
    if c.kind == "categorical" and category is not None:
        return category if c.unit == "yes_no" else f"{category} ({value:g})"
    return f"{value:.1f}"


def _assess(
    file: Annotated[Path, typer.Argument(help="Assessment visit, YAML or JSON (see docs/clinic.md).")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Output folder for findings.json, assessment.html, program.json and program.html."),
    ],
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write assessment.pdf (and program.pdf) with WeasyPrint.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
) -> None:
    """Assess a visit: red flags first, then findings, measurements and the exercise program."""
    from medius.clinic.findings import evaluate_assessment, read_movement_results
    from medius.clinic.records import read_assessment

    assessment = read_assessment(file)
    movement = read_movement_results(assessment, file.parent)
    outcome = evaluate_assessment(assessment, movement)
    _write_assessment(outcome, out, force=force, pdf=pdf)
    doc = outcome.document
    if doc["headline"]:
        console.print(f"[bold red]{doc['headline']}[/bold red]")
        for f in doc["red_flags"]:
            console.print(f"  - {f['label']}", markup=False)
        override = doc.get("red_flag_override")
        if override:
            console.print(f"Overridden by {override['by']} on {override['date']}: {override['reason']}; "
                          "a program was generated.", markup=False, soft_wrap=True)
        else:
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
    numeric = [c for c in changes if c.kind != "categorical"]
    categorical = [c for c in changes if c.kind == "categorical"]
    table = Table(title=f"{visit1.name} → {visit2.name}")
    table.add_column("measurement", overflow="fold")
    for col in ("before", "after", "change", "error", "beyond error", "MCID reached", "verdict"):
        table.add_column(col, overflow="fold")
    for c in numeric:
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
    if numeric:
        console.print(table)
    if categorical:
        tests = Table(title="clinical tests (no sourced measurement error for pass/fail ratings)")
        for col in ("test", "before", "after", "verdict"):
            tests.add_column(col, overflow="fold")
        for c in categorical:
            tests.add_row(
                c.label.split(" (1 = ")[0],
                _shown(c, c.before, c.before_category),
                _shown(c, c.after, c.after_category),
                c.direction.replace("_", " "),
            )
        console.print(tests)
    if not changes:
        console.print("No measurement is present in both visits.")
    if out is not None:
        write_comparison_outputs(changes, out, first_label=visit1.name, second_label=visit2.name, force=force)
        console.print(f"written to {out}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``assess`` and ``compare`` to the ``medius`` app."""
    app.command("assess")(guarded(_assess))
    app.command("compare")(guarded(_compare))
