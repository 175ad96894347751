"""The visit report as PDF: one Jinja2 template, plots inlined as vector SVG, rendered by WeasyPrint."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jinja2

from medius.web.models import Patient, Visit
from medius.web.results.service import load_result, result_file, result_view
from medius.web.settings import Settings

__all__ = ["render_visit_pdf"]


def _plots(settings: Settings, rec: Any, result: dict[str, Any]) -> list[str]:
    """``file://`` URLs of the result's SVG plots (as images they render about 2.5x faster than inline)."""
    out = []
    for name in result.get("files", {}).get("plots", []):
        path = result_file(settings, rec, name)
        if path is not None and path.suffix == ".svg":
            out.append(path.as_uri())
    return out


def render_visit_pdf(
    env: jinja2.Environment,
    settings: Settings,
    patient: Patient,
    visit: Visit,
    sessions: list[dict[str, Any]],
    *,
    clinic_name: str,
) -> bytes:
    """PDF bytes of the visit's full report."""
    from weasyprint import HTML

    analyses: list[dict[str, Any]] = []
    for rec in visit.recordings:
        result = load_result(settings, rec)
        analyses.append(
            {
                "rec": rec,
                "job": rec.job,
                "result": result,
                "view": result_view(result) if isinstance(result, dict) and result else None,
                "plots": _plots(settings, rec, result) if result else [],
            }
        )
    program_html = None
    if visit.program:
        from medius.web.clinical import program_html_fragment

        program_html = program_html_fragment(visit.program, patient)
    from medius.report._key import key_summary
    from medius.report.findings_view import findings_for_people, red_flag_screen

    for a in analyses:
        a["key"] = key_summary(a["view"]["res"]) if a["view"] is not None else None
    findings = visit.findings or {}
    html = env.get_template("visit_report.html").render(
        people=findings_for_people(findings) if findings else [],
        screen=red_flag_screen({**findings, "assessment": visit.assessment or {}}) if findings else None,
        patient=patient,
        visit=visit,
        analyses=analyses,
        sessions=sessions,
        clinic_name=clinic_name,
        program_html=program_html,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    doc = HTML(string=html, base_url=str(settings.media_dir)).render()
    if program_html:  # the library's printable program, appended as its own pages
        prog = HTML(string=program_html).render()
        doc = doc.copy([*doc.pages, *prog.pages])
    pdf: bytes = doc.write_pdf()
    return pdf
