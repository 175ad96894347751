"""Bridge to the clinical-assessment library (:mod:`medius.clinic`) and the program report.

The web app does no clinical scoring itself: it stores what the clinician enters as the library's
``Assessment`` model, asks the library for findings and a program, and renders what it returns.
When the library is not installed, the pages say so and the rest of the app works.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

__all__ = ["available", "program_html_fragment"]


def _has(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ModuleNotFoundError, ValueError):
        return False


@functools.cache
def available() -> bool:
    """True when the assessment, findings and program modules of :mod:`medius.clinic` import."""
    if not all(_has(m) for m in ("medius.clinic.records", "medius.clinic.findings", "medius.clinic.program")):
        return False
    try:
        import medius.clinic.findings  # noqa: F401
        import medius.clinic.program  # noqa: F401
        import medius.clinic.records  # noqa: F401
    except Exception:
        return False
    return True


def program_html_fragment(program: dict[str, Any], patient: Any) -> str | None:
    """The printable program as HTML (``medius.report.program``), or None without the library."""
    if not _has("medius.report.program") or not available():
        return None
    from medius.clinic.program import Program
    from medius.report.program import render_program_html

    name = f"{patient.given_name} {patient.family_name}".strip()
    return render_program_html(Program.model_validate(program), person_name=name)
