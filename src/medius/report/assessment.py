"""The assessment report: ``findings.json`` and a self-contained ``assessment.html`` (and PDF).

Red flags lead the page with "See a clinician before starting exercises"; then the findings (each
with the measurements and registry ids behind it), the strength table with the protocol of every
value, the clinical tests, the questionnaires, the movement screens and the exercise program
(B's :func:`medius.report.program.render_program_html`, embedded). Outputs are written into a
temporary folder beside the destination and renamed into place, so nothing is half-written.
"""

from __future__ import annotations

import html as _html
import json
from pathlib import Path
from typing import Any

from medius import __version__
from medius.analysis.outputs import finish_output_dir, prepare_output_dir, remove_workspace
from medius.clinic.findings import AssessmentOutcome
from medius.clinic.progress import Change
from medius.errors import OutputError
from medius.report._templates import template_environment

__all__ = [
    "render_assessment_html",
    "render_comparison_html",
    "write_assessment_outputs",
    "write_comparison_outputs",
]


def _program_html(outcome: AssessmentOutcome, person_name: str | None) -> str | None:
    if outcome.program is None or outcome.program.blocked_by_red_flags:
        return None
    try:
        from medius.report.program import render_program_html
    except ImportError:  # pragma: no cover - ships with the report package
        return None
    return render_program_html(outcome.program, person_name=person_name)


def render_assessment_html(
    outcome: AssessmentOutcome, *, person_name: str | None = None, include_program: bool = True
) -> str:
    """The assessment as one self-contained HTML page (no external files, scripts or fonts)."""
    doc = outcome.document
    name = person_name if person_name is not None else doc["person"].get("name")
    from medius.report.findings_view import (
        findings_for_people,
        questionnaire_rows,
        red_flag_screen,
        source_names,
        strength_rows,
    )

    return template_environment().get_template("assessment.html.j2").render(
        title="Knee and hip assessment",
        doc=doc,
        people=findings_for_people(doc),
        screen=red_flag_screen(doc),
        strength=strength_rows(doc),
        questionnaires=questionnaire_rows(doc),
        source_names=source_names,
        person_name=name,
        program_html=_program_html(outcome, name) if include_program else None,
        version=__version__,
    )


def _pdf_bytes(html_text: str) -> bytes:
    import weasyprint

    def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"the assessment report fetches nothing; refused {url!r}")

    return weasyprint.HTML(string=html_text, url_fetcher=_no_fetch, base_url=None).write_pdf()


def write_assessment_outputs(
    outcome: AssessmentOutcome,
    out_dir: str | Path,
    *,
    force: bool = False,
    pdf: bool = False,
    person_name: str | None = None,
) -> Path:
    """Write ``findings.json`` and ``assessment.html`` (with ``pdf``: ``assessment.pdf`` and, when a
    program was generated, ``program.pdf``) into ``out_dir``, all or nothing."""
    out = Path(out_dir)
    tmp = prepare_output_dir(out, force=force)
    try:
        files = {"findings": "findings.json", "report": "assessment.html"}
        doc = dict(outcome.document)
        if pdf:
            files["pdf"] = "assessment.pdf"
            if outcome.program is not None and not outcome.program.blocked_by_red_flags:
                files["program_pdf"] = "program.pdf"
        if outcome.program is not None and not outcome.program.blocked_by_red_flags:
            files["patient_program"] = "patient_program.html"
            if pdf:
                files["patient_program_pdf"] = "patient_program.pdf"
        doc["files"] = files
        (tmp / "findings.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        html_text = render_assessment_html(outcome, person_name=person_name)
        (tmp / "assessment.html").write_text(html_text, encoding="utf-8")
        patient_html = None
        if outcome.program is not None and not outcome.program.blocked_by_red_flags:
            from medius.report.patient_program import render_patient_program_html

            name = person_name if person_name is not None else doc["person"].get("name")
            contact = (doc.get("visit") or {}).get("clinician")
            patient_html = render_patient_program_html(
                outcome.program, person_name=name, contact=f"your physiotherapist ({contact})" if contact else None
            )
            (tmp / "patient_program.html").write_text(patient_html, encoding="utf-8")
        if pdf:
            printable = render_assessment_html(outcome, person_name=person_name, include_program=False)
            (tmp / "assessment.pdf").write_bytes(_pdf_bytes(printable))
            if "program_pdf" in files and outcome.program is not None:
                from medius.report.program import write_program_pdf

                write_program_pdf(outcome.program, tmp / "program.pdf", person_name=person_name)
            if patient_html is not None:
                from medius.report.patient_program import render_patient_program_pdf

                assert outcome.program is not None
                (tmp / "patient_program.pdf").write_bytes(render_patient_program_pdf(outcome.program, html=patient_html))
    except OSError as exc:
        remove_workspace(tmp)
        raise OutputError(f"cannot write the outputs ({exc.strerror or exc})", path=out) from None
    except BaseException:
        remove_workspace(tmp)
        raise
    finish_output_dir(tmp, out)
    return out


def _one(x: float) -> str:
    """One decimal, none for whole numbers, a true minus sign."""
    text = f"{x:.1f}"
    return (text[:-2] if text.endswith(".0") else text).replace("-", "\u2212")


def render_comparison_html(changes: list[Change], *, first_label: str, second_label: str) -> str:
    """A self-contained HTML page of the changes between two visits: the verdicts first (improved,
    worse, unchanged, in words), then the table with units in words."""
    from medius.report.findings_view import unit_words, verdict_words

    e = _html.escape
    groups: dict[str, list[str]] = {
        "improved": [], "worse": [], "changed": [], "changed, no sourced measurement error": [], "unchanged": []
    }
    rows = []
    for c in changes:
        kind, words = verdict_words(c.direction, c.exceeds_mcid, c.mcid)
        unit = unit_words(c.unit)
        if c.kind == "categorical" and c.before_category and c.after_category:
            values = f"{c.before_category} → {c.after_category}"
        else:
            values = f"{_one(c.before)} → {_one(c.after)}{'' if unit in ('', '°') else ' '}{unit}"
        group = "changed, no sourced measurement error" if "error unknown" in c.direction else kind
        groups.setdefault(group if group in groups else "changed", []).append(f"{c.label} ({values})")
        err = "—" if c.measurement_error is None else f"{c.measurement_error:g} {unit_words(c.measurement_error_unit)}"
        mcid = "—" if c.mcid is None else f"{c.mcid:g} ({'reached' if c.exceeds_mcid else 'not reached'})"
        rows.append(
            f'<tr class="{e(kind)}">'
            + "".join(
                f"<td>{e(str(x))}</td>"
                for x in (c.label, values, f"{c.change:+.2f}", err.strip(), mcid, words)
            )
            + "</tr>"
        )
    summary = "".join(
        f"<p><strong>{e(name.capitalize())}:</strong> {e('; '.join(items))}.</p>"
        for name, items in groups.items()
        if items
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Progress between visits</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;line-height:1.45}"
        ".summary{border:2px solid #0072B2;border-radius:.5rem;padding:.2rem 1rem;background:#f4f8fb}"
        ".wrap{overflow-x:auto}table{border-collapse:collapse;width:100%}"
        "th,td{border:1px solid #ddd;padding:.3rem .45rem;text-align:left;vertical-align:top}"
        "th{background:#f0f0f0}tr.improved td:last-child{color:#1b7f4b}tr.worse td:last-child{color:#b3261e}"
        "</style></head><body>"
        f"<h1>Progress: {e(first_label)} → {e(second_label)}</h1>"
        f'<section class="summary" id="summary"><h2>Summary</h2>{summary or "<p>Nothing measured at both visits.</p>"}'
        "<p>A change is real only when it exceeds the measurement error; it matters to the person when it also "
        "reaches the minimal important difference.</p></section>"
        '<h2>Every measurement</h2><div class="wrap"><table><tr><th>measurement</th><th>before → after</th>'
        "<th>change</th><th>measurement error</th><th>minimal important change</th><th>verdict</th></tr>"
        + "".join(rows)
        + "</table></div>"
        f"<p><small>medius {e(__version__)}</small></p></body></html>"
    )


def write_comparison_outputs(
    changes: list[Change],
    out_dir: str | Path,
    *,
    first_label: str,
    second_label: str,
    force: bool = False,
) -> Path:
    """Write ``progress.json`` and ``progress.html`` into ``out_dir``, all or nothing."""
    out = Path(out_dir)
    tmp = prepare_output_dir(out, force=force)
    try:
        doc = {
            "schema_version": "1.0",
            "kind": "medius-progress",
            "first": first_label,
            "second": second_label,
            "changes": [c.as_dict() for c in changes],
        }
        (tmp / "progress.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / "progress.html").write_text(
            render_comparison_html(changes, first_label=first_label, second_label=second_label), encoding="utf-8"
        )
    except BaseException:
        remove_workspace(tmp)
        raise
    finish_output_dir(tmp, out)
    return out
