"""The printable home program: HTML (A4 print CSS) and PDF (WeasyPrint), one card per exercise.

Each card gives the exercise name, clear picture-free instructions, the dose, common faults, the
progression and step-back criteria, the published activation (from the registry, provisional
values marked) and a small log table to fill in. A blocked program (red flags) prints the message
to see a clinician and no exercises. The HTML is self-contained (no scripts, no network fetches), so
the PDF is made offline.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from pathlib import Path
from typing import Any

from medius import __version__
from medius.clinic.exercises import load_exercise_library
from medius.clinic.program import Program
from medius.errors import OutputError
from medius.registry import INTERPRETIVE_KINDS, format_reference_values, load_registry
from medius.report._templates import template_environment

__all__ = [
    "PROGRAM_LOG_ROWS",
    "render_program_html",
    "render_program_pdf",
    "write_program_html",
    "write_program_pdf",
]

#: empty rows in each card's log table
PROGRAM_LOG_ROWS = 6

_MUSCLE_METRICS = (
    ("gmed_activation_pct_mvic", "Gluteus medius"),
    ("gmax_activation_pct_mvic", "Gluteus maximus"),
    ("tfl_activation_pct_mvic", "TFL"),
)


def _activation(exercise_id: str) -> list[dict[str, Any]]:
    """One line per muscle with a published value for this exercise (best entry first)."""
    reg = load_registry()
    out: list[dict[str, Any]] = []
    if exercise_id not in reg.tasks:
        return out
    for metric, label in _MUSCLE_METRICS:
        if metric not in reg.metrics:
            continue
        refs = reg.references_for(metric, exercise_id, kind=INTERPRETIVE_KINDS)
        if not refs:
            continue
        r = refs[0]
        what = r.study_task or exercise_id
        rel = ", a related exercise" if r.match_for(exercise_id) == "related" else ""
        band = " (mean ± SD)" if r.kind == "group_mean_sd" else " (range)" if r.kind == "reference_range" else ""
        out.append(
            {
                "text": f"{label} activation: {format_reference_values(r, reg)}{band}, {r.source}, {what}{rel}.",
                "provisional": r.provisional,
            }
        )
    return out


def _card(ex: Any) -> dict[str, Any]:
    lib = load_exercise_library()
    item = lib.get(ex.exercise_id)
    d = ex.dosage
    side_text = ""
    if d.side != "both":
        side_text = f"{d.side} leg first and more"
    elif item.unilateral:
        side_text = "both legs"
    return {
        "ex": ex,
        "side_text": side_text,
        "dose_text": d.text(),
        "muscles": ", ".join(item.target_muscles),
        "equipment": ", ".join(lib.equipment[q] for q in item.equipment),
        "instructions": item.instructions,
        "faults": item.faults,
        "activation": _activation(ex.exercise_id),
    }


def render_program_html(program: Program, *, person_name: str | None = None, made: _dt.date | None = None) -> str:
    """The home program as one self-contained HTML page (A4 print layout).

    Parameters
    ----------
    program
        a generated (or updated) program; a blocked one prints only the message and red flags.
    person_name
        printed in the header when given.
    made
        the date printed in the header (today by default).
    """
    reg = load_registry()
    cards = {ph.id: [_card(e) for e in ph.exercises] for ph in program.phases}
    sources: list[Any] = []
    for sid in program.sources:
        try:
            r = reg.get(sid)
        except KeyError:
            continue
        if r.kind == "no_reference":
            continue
        key = (r.source, r.reference)
        if key in {(s["source"], s["reference"]) for s in sources}:
            continue
        sources.append({"source": r.source, "reference": r.reference, "provisional": r.provisional})
    current = next((p.label for p in program.phases if p.id == program.current_phase), "")
    return template_environment().get_template("program.html.j2").render(
        title="Home exercise program",
        program=program,
        person_name=person_name,
        made=(made or _dt.date.today()).isoformat(),
        version=__version__,
        cards=cards,
        sources=sources,
        current_phase_label=current,
        log_rows=PROGRAM_LOG_ROWS,
    )


def _write_atomic(path: Path, data: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write the file ({exc.strerror or exc})", path=path) from None
    return path


def write_program_html(program: Program, path: str | Path, *, person_name: str | None = None) -> Path:
    """Write :func:`render_program_html` to ``path`` (written whole or not at all)."""
    return _write_atomic(Path(path), render_program_html(program, person_name=person_name).encode("utf-8"))


def write_program_pdf(
    program: Program, path: str | Path, *, person_name: str | None = None, html: str | None = None
) -> Path:
    """Write the home program as an A4 PDF with WeasyPrint (offline: nothing is fetched).

    Parameters
    ----------
    program
        the program to print.
    path
        the PDF file to write.
    person_name
        printed in the header when given.
    html
        the HTML to print (default: :func:`render_program_html` of ``program``).
    """
    return _write_atomic(Path(path), render_program_pdf(program, person_name=person_name, html=html))


def render_program_pdf(program: Program, *, person_name: str | None = None, html: str | None = None) -> bytes:
    """The home program as PDF bytes (WeasyPrint; any URL fetch is refused, so it runs offline)."""
    import weasyprint

    def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"the home program fetches nothing; refused {url!r}")

    text = html if html is not None else render_program_html(program, person_name=person_name)
    return weasyprint.HTML(string=text, url_fetcher=_no_fetch, base_url=None).write_pdf()
