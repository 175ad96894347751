"""Turn pydantic validation errors into one user-facing line.

A :class:`pydantic.ValidationError` lists every problem; the user sees the first, with the dotted
path of the field (``strength.hip_abduction.right[1].force``), what was given and what is allowed,
plus how many other problems there are. The line is an :class:`~medius.errors.InvalidInputError`
naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medius.errors import InvalidInputError

__all__ = ["format_location", "validation_error_to_input_error"]


def format_location(loc: tuple[Any, ...]) -> str:
    """``("strength", "hip_abduction", "right", 1, "force")`` → ``strength.hip_abduction.right[1].force``.

    Pydantic's internal steps (``function-after[...]``, union member names such as ``float``) are
    left out so the path names only the user's fields.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = str(part)
        if text == "[key]":
            continue
        if "[" in text and "]" in text and ("function" in text or "lax" in text or "json" in text):
            continue
        if text in {"float", "int", "str", "bool", "list[float]", "dict[str,float]", "constrained-float"}:
            continue
        out += ("." if out else "") + text
    return out or "(top level)"


def _given(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validation_error_to_input_error(
    exc: ValidationError, *, path: str | Path | None = None, what: str = "assessment"
) -> InvalidInputError:
    """One line: ``<what>: field <dotted.path>: <message>; got <value> (and N more problems)``."""
    errors = exc.errors(include_url=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return InvalidInputError(f"invalid {what}", path=path)
    first = errors[0]
    where = format_location(tuple(first.get("loc", ())))
    msg = str(first.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if first.get("type") == "extra_forbidden":
        msg = "unknown field (check the spelling; see docs/clinic.md for the allowed fields)"
    text = f"invalid {what}: field {where}: {msg}"
    if first.get("type") not in ("missing",) and "input" in first and "; got " not in msg:
        # a validator's own message may already name the value ("...; got 5"): say it once
        given = first["input"]
        if not isinstance(given, dict | list):
            text += f"; got {_given(given)}"
    others = len(errors) - 1
    if others:
        text += f" (and {others} more problem{'s' if others != 1 else ''})"
    return InvalidInputError(text, path=path)
