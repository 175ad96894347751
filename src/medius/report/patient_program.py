"""The patient's home program: this phase's exercises in plain words, on one or two A4 pages.

What the patient takes home (HTML, PDF, and the same HTML on a phone): their name, the clinic's
contact, the current phase's 4–6 exercises, each with a picture when one exists
(``static/exercises/<exercise_id>.png``), two or three plain steps, the dose in words and how to
know it is too much. The clinician's full plan (every phase, sources, progression criteria)
stays in :mod:`medius.report.program`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import re
from pathlib import Path
from typing import Any

from medius.clinic.exercises import load_exercise_library
from medius.clinic.program import Program
from medius.report._templates import template_environment

__all__ = [
    "EXERCISE_IMAGES",
    "MAX_EXERCISES",
    "exercise_image_data_uri",
    "patient_program_context",
    "render_patient_program_html",
    "render_patient_program_pdf",
]

EXERCISE_IMAGES = Path(__file__).with_name("static") / "exercises"
#: the most exercises printed for the patient (the phase's first ones, in the program's order)
MAX_EXERCISES = 6


@functools.cache
def exercise_image_data_uri(exercise_id: str) -> str | None:
    """The exercise's picture as a ``data:`` URI, or None when no picture exists (the card then has none)."""
    path = EXERCISE_IMAGES / f"{exercise_id}.png"
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _n(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _dose_words(d: Any, frequency: int) -> str:
    """``"2 sets of 10 slow repetitions on the right leg (left leg: 1 set)"`` and the like."""
    sets = f"{d.sets} set{'s' if d.sets != 1 else ''}"
    if d.reps_min is not None and d.reps_max is not None:
        reps = f"{d.reps_min}" if d.reps_min == d.reps_max else f"{d.reps_min} to {d.reps_max}"
        what = f"{sets} of {reps} slow repetitions"
    elif d.hold_s is not None:
        what = f"{sets}: hold {_n(d.hold_s)} seconds"
    else:
        what = f"{sets} of {_n(d.time_s)} seconds"
    if d.side in ("left", "right"):
        other = "left" if d.side == "right" else "right"
        what += f", {d.side} leg"
        if d.sets_other_side:
            what += f" (then {d.sets_other_side} set{'s' if d.sets_other_side != 1 else ''} on the {other} leg)"
    load = "" if d.load == "body_weight" else f"; use {d.load_text}" if not d.load_kg else f"; use {d.load_kg:g} kg"
    return f"{what}{load}. {frequency} times a week."


def _plain(text: str) -> str:
    """A fault in patient words: no parenthesised muscle names, no ", which ..." explanation."""
    text = re.sub(r"\s*\([^)]*\)", "", text).split(", which")[0].strip()
    return text if text.endswith(".") else text + "."


def _pain_limit(program: Program) -> int:
    for rule in program.pain_rules:
        m = re.search(r"reach (\d+)\s*/\s*10", rule)
        if m:
            return int(m.group(1))
    return 5


def patient_program_context(
    program: Program,
    *,
    person_name: str | None,
    clinic: str | None = None,
    contact: str | None = None,
    made: _dt.date | None = None,
) -> dict[str, Any]:
    """What the patient's page shows (plain words; nothing clinical-only)."""
    lib = load_exercise_library()
    phase = next((p for p in program.phases if p.id == program.current_phase), program.phases[0] if program.phases else None)
    cards = []
    if phase is not None:
        for ex in phase.exercises[:MAX_EXERCISES]:
            item = lib.get(ex.exercise_id)
            cards.append(
                {
                    "id": ex.exercise_id,
                    "name": ex.name,
                    "image": exercise_image_data_uri(ex.exercise_id),
                    "steps": list(item.instructions)[:3],
                    "dose": _dose_words(ex.dosage, ex.dosage.frequency_per_week),
                    "watch": _plain(item.faults[0]) if item.faults else "",
                }
            )
    limit = _pain_limit(program)
    return {
        "person_name": person_name or "",
        "clinic": clinic or "",
        "contact": contact or "",
        "made": (made or _dt.date.today()).isoformat(),
        "phase": phase,
        "cards": cards,
        "pain_limit": limit,
        "blocked": program.blocked_by_red_flags,
        "message": program.message,
        "start_date": program.start_date,
    }


def render_patient_program_html(
    program: Program,
    *,
    person_name: str | None = None,
    clinic: str | None = None,
    contact: str | None = None,
    made: _dt.date | None = None,
) -> str:
    """The patient's program as one self-contained page (A4 when printed, one column on a phone)."""
    ctx = patient_program_context(program, person_name=person_name, clinic=clinic, contact=contact, made=made)
    return template_environment().get_template("patient_program.html.j2").render(**ctx)


def render_patient_program_pdf(
    program: Program,
    *,
    person_name: str | None = None,
    clinic: str | None = None,
    contact: str | None = None,
    html: str | None = None,
) -> bytes:
    """The patient's program as A4 PDF bytes (WeasyPrint; nothing is fetched)."""
    import weasyprint
    from weasyprint.urls import URLFetcher

    # the pictures are inline data: URIs; anything else (a network or file URL) is refused
    fetcher = URLFetcher(allowed_protocols={"data"})
    text = html or render_patient_program_html(program, person_name=person_name, clinic=clinic, contact=contact)
    return weasyprint.HTML(string=text, url_fetcher=fetcher, base_url=None).write_pdf()
