"""Turning HTML form posts into pydantic models, with errors per field for the page."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

__all__ = ["parse_form"]


def parse_form(model: type[M], form: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """``(model instance, {})`` or ``(None, {field: message})``; empty strings of optional fields are None."""
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in form:
            continue
        value = form[name]
        if value == "" and not field.is_required() and field.default is None:
            value = None
        data[name] = value
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(key, err["msg"])
        return None, errors
