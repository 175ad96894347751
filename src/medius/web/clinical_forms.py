"""The assessment form: its fields, built from the library's ``Assessment`` model, and the
conversion of a posted form (dotted names such as ``strength.hip_abduction.left.0.force``) to the
``Assessment`` JSON and back. No clinical scoring happens here."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["assessment_errors", "assessment_form_spec", "flatten", "form_to_assessment_data"]

N_TRIALS = 3
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _number(text: str) -> Any:
    t = text.strip().replace(",", ".")
    if _INT.match(t):
        return int(t)
    if _FLOAT.match(t):
        return float(t)
    return text.strip()


def _set(root: dict[str, Any], parts: list[str], value: Any) -> None:
    node: Any = root
    for i, key in enumerate(parts):
        last = i == len(parts) - 1
        nxt: Any = None if last else ([] if parts[i + 1].isdigit() else {})
        if isinstance(node, list):
            idx = int(key)
            while len(node) <= idx:
                node.append(None)
            if last:
                node[idx] = value
            else:
                if node[idx] is None:
                    node[idx] = nxt
                node = node[idx]
        else:
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, nxt)


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        items = [_prune(v) for v in value]
        while items and items[-1] in (None, {}, []):
            items.pop()
        return items
    return value


def form_to_assessment_data(
    form: dict[str, str], *, numeric_text: tuple[str, ...] = ("questionnaires.kujala.",)
) -> dict[str, Any]:
    """Nested ``Assessment`` data from dotted form names; empty fields are left out.

    Checkboxes (``on``) become ``True``. Numbers are converted, except under ``numeric_text``
    prefixes (Kujala answers are letters). A strength group without any trial is left out
    entirely, so its unit and position selections alone are not an (incomplete) test.
    """
    data: dict[str, Any] = {}
    for name, raw in form.items():
        if (
            name == "csrf_token"
            or not isinstance(raw, str)
            or not re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)*", name)
        ):
            continue
        text = raw.strip()
        if text == "":
            continue
        if text == "on":
            value: Any = True
        elif name.startswith(numeric_text):
            value = text
        else:
            value = _number(text)
        _set(data, name.split("."), value)
    for group, test in list(data.get("strength", {}).items()):
        trials = [t for side in ("left", "right") for t in (test.get(side) or []) if t]
        if not trials:
            del data["strength"][group]
        else:
            for side in ("left", "right"):
                if side in test:
                    test[side] = [t for t in test[side] if t]
    for side_tests in ("ober", "modified_thomas"):
        for side, test in list(data.get("clinical_tests", {}).get(side_tests, {}).items()):
            if not test:
                del data["clinical_tests"][side_tests][side]
    pruned: dict[str, Any] = _prune(data)
    return pruned


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """The inverse of :func:`form_to_assessment_data`: dotted names → text (to fill the form in)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}.{i}"))
    elif isinstance(value, bool):
        if value:
            out[prefix] = "on"
    elif value is not None:
        out[prefix] = f"{value:g}" if isinstance(value, float) else str(value)
    return out


def assessment_errors(exc: Any) -> list[dict[str, str]]:
    """``[{field, message}]`` from a pydantic ValidationError of ``Assessment`` (dotted field names)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if not str(p).startswith("function-")]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        field = ".".join(loc)
        if field.endswith(".force") is False and re.search(r"\.(left|right)\.\d+$", field):
            field += ".force"
        out.append({"field": field or "form", "message": msg})
    return out


def _label(name: str) -> str:
    return name.replace("_", " ")


def assessment_form_spec() -> dict[str, Any]:
    """What the assessment template draws, read from the library's models and vocabularies."""
    from medius.clinic.questionnaires import KUJALA_1993, LEFS_ITEMS
    from medius.clinic.records import (
        FORCE_UNITS,
        MUSCLE_GROUPS,
        SLS_CRITERIA,
        TEST_POSITIONS,
        OttawaKneeRule,
        RedFlagScreen,
    )

    red_flags = [
        (f"red_flags.{n}", _label(n)) for n, f in RedFlagScreen.model_fields.items() if f.annotation is bool
    ]
    ottawa = [(f"red_flags.ottawa.{n}", _label(n)) for n in OttawaKneeRule.model_fields]
    return {
        "sexes": ("female", "male"),
        "affected_sides": ("none", "left", "right", "both"),
        "goals": ("daily_activity", "running", "sport"),
        "red_flags": red_flags,
        "ottawa": ottawa,
        "muscle_groups": [(g, _label(g)) for g in MUSCLE_GROUPS],
        "force_units": tuple(FORCE_UNITS),
        "positions": TEST_POSITIONS,
        "n_trials": N_TRIALS,
        "sls_criteria": [(c, _label(c)) for c in SLS_CRITERIA],
        "kujala": [(item, label, options) for item, (label, options) in KUJALA_1993.items()],
        "lefs_items": list(enumerate(LEFS_ITEMS)),
    }
