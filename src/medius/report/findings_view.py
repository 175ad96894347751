"""Findings written for people: what the assessment report and the web Findings page show.

Reads ``findings.json`` (the assessment document) and turns it into short sentences and small
tables: one sentence per finding with the comparison that matters, the painful side first, units
in words, no internal ids; the strength values against the reference closest to this person's
population and protocol (the others one click away); the red-flag screen's result stated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from medius.report._common import finite_number

__all__ = [
    "UNIT_WORDS",
    "findings_for_people",
    "questionnaire_rows",
    "red_flag_screen",
    "source_names",
    "strength_rows",
    "unit_words",
    "verdict_words",
]

#: unit codes as words (``pct_bw`` and friends never reach a page)
UNIT_WORDS: dict[str, str] = {
    "pct_bw": "% of body weight",
    "% BW": "% of body weight",
    "pct": "%",
    "pct_change": "%",
    "pct_limb": "%",
    "N": "newtons",
    "n": "newtons",
    "kg": "kg",
    "lbf": "pounds-force",
    "nm": "newton-metres",
    "nm_per_kg": "newton-metres per kg",
    "deg": "°",
    "points": "points",
    "pain_nprs": "out of 10",
    "criteria": "of 5 criteria rated good",
    "yes_no": "",
    "cm": "cm",
    "s": "seconds",
}

_QUESTIONNAIRES = {
    "kujala": "Kujala anterior knee pain scale",
    "lefs": "Lower Extremity Functional Scale (LEFS)",
    "nprs": "Pain (numeric rating, 0–10)",
}

_MEASUREMENT_NAMES = {
    "strength_pct_bw": "strength",
    "strength_difference_pct": "strength difference between sides",
    "strength_lsi_pct": "limb symmetry index",
    "nprs_score": "pain",
    "kujala_score": "Kujala score",
    "lefs_score": "LEFS score",
    "goal": "goal",
    "trendelenburg": "Trendelenburg test",
    "single_leg_squat": "single-leg squat rating",
}



def unit_words(unit: str | None) -> str:
    """A unit code in words (``"pct_bw"`` -> ``"% of body weight"``); unknown codes lose underscores."""
    if not unit:
        return ""
    return UNIT_WORDS.get(unit, unit.replace("_", " "))


def _num(value: Any, digits: int = 1) -> str:
    if not finite_number(value):
        return "–"
    text = f"{float(value):.{digits}f}"
    return text[:-2] if digits == 1 and text.endswith(".0") else text


def _with_unit(value: Any, unit: str | None) -> str:
    words = unit_words(unit)
    if isinstance(value, str):
        return value
    if unit == "criteria":
        return f"{_num(value, 0)} {words}"
    if unit == "pain_nprs":
        return f"{_num(value)} {words}"
    if not words:
        return _num(value)
    return f"{_num(value)}{'' if words == '°' else ' '}{words}"


_PAREN = re.compile(r"\s*\((?:[^()]|\([^()]*\))*\)")


def _first_sentence(text: str) -> str:
    """The first sentence of a rule text, its parentheses (populations, protocols) left out."""
    short = _PAREN.sub("", text).replace("et al.", "et al\u2024")
    m = re.search(r"(?<=[a-z0-9%°)])\.\s", short)
    sentence = (short[: m.start() + 1] if m else short).replace("et al\u2024", "et al.")
    sentence = sentence.replace("% BW", "% of body weight").replace(" ;", ";").strip()
    return sentence if sentence.endswith(".") else sentence + "."


def _side_order(doc: Mapping[str, Any]) -> list[str | None]:
    affected = ((doc.get("person") or {}).get("affected_side")) or ""
    if affected == "left":
        return ["left", "right", None]
    return ["right", "left", None]


def source_names(ids: list[Any]) -> list[str]:
    """The citations behind registry ids (``"Crossley et al. 2011"``), never the ids themselves."""
    try:
        from medius.registry import load_registry

        reg = load_registry()
    except Exception:  # noqa: BLE001 - the page still shows the finding without its sources
        return []
    names: list[str] = []
    for rid in ids:
        try:
            src = str(reg.get(str(rid)).source or "")
        except Exception:  # noqa: BLE001 - an id from another medius version
            continue
        if src and src not in names:
            names.append(src)
    return names


def findings_for_people(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The non-red-flag findings, painful side first: ``{"side", "kind", "sentence", "detail",
    "measurements", "painful"}`` (measurements as words)."""
    order = _side_order(doc)
    affected = (doc.get("person") or {}).get("affected_side")
    items = []
    for k, f in enumerate(doc.get("findings") or []):
        if not isinstance(f, Mapping) or f.get("kind") == "red_flag":
            continue
        side = f.get("side")
        rank = order.index(side) if side in order else 2
        measurements = []
        for m in f.get("measurements") or []:
            name = _MEASUREMENT_NAMES.get(str(m.get("name")), str(m.get("name") or "").replace("_", " "))
            where = f"{m['side']} " if m.get("side") else ""
            measurements.append(f"{where}{name}: {_with_unit(m.get('value'), m.get('unit'))}")
        text = str(f.get("text") or "")
        items.append(
            (
                (0 if f.get("kind") != "note" else 1, rank, f.get("priority") or 9, k),
                {
                    "side": side,
                    "kind": f.get("kind") or "finding",
                    "sentence": _first_sentence(text),
                    "detail": text,
                    "measurements": measurements,
                    "sources": source_names(list(f.get("evidence") or [])),
                    "painful": bool(side) and side == affected,
                },
            )
        )
    return [it for _, it in sorted(items, key=lambda kv: kv[0])]


def _flatten_flags(value: Any) -> list[bool]:
    if isinstance(value, bool):
        return [value]
    if isinstance(value, Mapping):
        return [b for v in value.values() for b in _flatten_flags(v)]
    return []


def red_flag_screen(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``{"done", "positive", "n_questions", "text", "flags": [labels], "override": {...} | None}``."""
    answers = ((doc.get("assessment") or {}).get("red_flags")) or {}
    questions = _flatten_flags(answers)
    flags = [str(f.get("label") or "") for f in doc.get("red_flags") or [] if isinstance(f, Mapping)]
    override = doc.get("red_flag_override") or ((doc.get("program") or {}).get("red_flag_override"))
    done = bool(questions) or bool(flags)
    if flags:
        text = f"Red-flag screen positive: {'; '.join(flags)}."
        if override:
            text += (
                f" Overridden by {override.get('by') or 'the clinician'} on {override.get('date') or '–'}: "
                f"{override.get('reason')}"
            )
    elif done:
        text = f"Red-flag screen done: negative (none of {len(questions)} screening questions positive)."
    else:
        text = "Red-flag screen not recorded."
    return {
        "done": done,
        "positive": bool(flags),
        "n_questions": len(questions),
        "flags": flags,
        "text": text,
        "override": override or None,
    }


def _closest(comparisons: list[Mapping[str, Any]], sex: str | None, position: str | None) -> int:
    """Index of the reference closest to this person and protocol: same sex, same test position, a
    healthy (normative) group before a patient group or a cut-off, verified before provisional."""

    def score(c: Mapping[str, Any]) -> tuple[int, ...]:
        return (
            0 if c.get("sex") in (sex,) else (1 if c.get("sex") in (None, "any") else 2),
            0 if c.get("position_matches") is True else (1 if c.get("position_matches") is None else 2),
            0 if c.get("cohort") == "healthy" and c.get("kind") == "group_mean_sd" else 1,
            1 if c.get("provisional") else 0,
        )

    return min(range(len(comparisons)), key=lambda i: score(comparisons[i]))


def _short_comparison(c: Mapping[str, Any]) -> str:
    verdict = str(c.get("verdict") or "")
    values = str(c.get("values") or "").replace("% BW", "% of body weight")
    population = str(c.get("population") or "the reference group")
    word = {"above": "above", "below": "below", "within": "within"}.get(verdict, verdict)
    kind = "cut-off" if c.get("kind") == "cutoff" else "range"
    if kind == "cut-off":
        word = "at or below" if verdict == "below" else "above"
    text = f"{word} the {kind} {values} of {population} ({c.get('source')})"
    return text + (" — provisional reference" if c.get("provisional") else "")


def strength_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per muscle group and side, painful side first: value in % of body weight and
    newtons, the closest comparison in words, the other comparisons, the side-to-side text."""
    person = doc.get("person") or {}
    order = _side_order(doc)
    rows = []
    for s in (doc.get("measurements") or {}).get("strength") or []:
        sides = s.get("sides") or {}
        for side in sorted(sides, key=lambda x: order.index(x) if x in order else 3):
            v = sides[side]
            comps = [c for c in v.get("comparisons") or [] if isinstance(c, Mapping)]
            main = _closest(comps, person.get("sex"), s.get("position")) if comps else None
            rows.append(
                {
                    "group": str(s.get("label") or s.get("group") or "").capitalize(),
                    "side": side,
                    "painful": side == person.get("affected_side"),
                    "pct_bw": f"{_num(v.get('pct_bw'))} % of body weight",
                    "newtons": f"{_num(v.get('value_n'), 0)} N",
                    "torque": f"{_num(v.get('nm_per_kg'), 2)} N·m/kg" if finite_number(v.get("nm_per_kg")) else "",
                    "closest": _short_comparison(comps[main]) if main is not None else "no sourced reference",
                    "closest_flag": bool(main is not None and comps[main].get("verdict") in ("below",)),
                    "others": [str(c.get("text") or "") for i, c in enumerate(comps) if i != main],
                    "symmetry": str(s.get("text") or "") if side == (s.get("weaker_side") or side) else "",
                    "protocol": ", ".join(
                        str(x) for x in (s.get("position"), s.get("stabilisation"), s.get("contraction")) if x
                    ),
                }
            )
    return rows


def questionnaire_rows(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    """Questionnaires in words: name, "56 of 80 (80 = no difficulty)", error and minimal change."""
    rows = []
    for name, q in ((doc.get("measurements") or {}).get("questionnaires") or {}).items():
        if not isinstance(q, Mapping):
            rows.append({"name": _QUESTIONNAIRES.get(name, name), "score": _num(q), "meaning": "", "change": ""})
            continue
        best = q.get("maximum") if q.get("higher_is_better", True) else q.get("minimum")
        meaning = f"{_num(best, 0)} = {'no problems' if q.get('higher_is_better', True) else 'no pain'}"
        change = []
        if finite_number(q.get("mdc_points")):
            change.append(f"measurement error {_num(q['mdc_points'])} points")
        if finite_number(q.get("mcid_points")):
            change.append(f"a change of {_num(q['mcid_points'])} points matters to the person")
        rows.append(
            {
                "name": _QUESTIONNAIRES.get(name, name.replace("_", " ")),
                "score": f"{_num(q.get('score'))} of {_num(q.get('maximum'), 0)}",
                "meaning": meaning,
                "change": "; ".join(change),
            }
        )
    return rows


def verdict_words(direction: str, exceeds_mcid: bool | None, mcid: float | None) -> tuple[str, str]:
    """``(class, words)`` for a change's direction from :func:`medius.clinic.progress.compare_visits`."""
    base = direction.split(" ")[0]
    if direction == "no_real_change":
        return "unchanged", "unchanged: within the measurement error"
    if "error unknown" in direction:
        return base, f"{base}, but no sourced measurement error to tell it from noise"
    if base == "changed":
        return "changed", "changed beyond the measurement error"
    if mcid is None:
        tail = "no minimal important difference published"
    elif exceeds_mcid:
        tail = "and beyond the minimal important difference"
    else:
        tail = "but less than the minimal important difference"
    return base, f"{base} beyond the measurement error, {tail}"
