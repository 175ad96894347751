"""Reading text input files with one clear error for each way they go wrong."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medius.errors import InputNotFoundError, InvalidInputError

__all__ = ["SafeCsvWriter", "csv_safe", "csv_safe_row", "read_text_file"]


def read_text_file(path: Path, *, expected: str) -> str:
    """The file's text (UTF-8, a BOM allowed); ``expected`` names what it should be, for errors."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputNotFoundError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"not a text file (byte {exc.start} is not UTF-8); expected {expected}", path=path
        ) from None


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP "CSV Injection"): text
    starting with ``=``, ``+``, ``-``, ``@``, a tab or a line break (or their full-width forms) gets
    a leading ``'``; numbers, and text that is a plain number (``-3.2``), are left as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def csv_safe_row(row: Iterable[object]) -> list[object]:
    """:func:`csv_safe` on every cell of a row."""
    return [csv_safe(v) for v in row]


class SafeCsvWriter:
    """A :func:`csv.writer` whose rows pass through :func:`csv_safe_row`."""

    def __init__(self, fh: Any, **kw: Any) -> None:
        self._w = csv.writer(fh, **kw)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._w.writerow(csv_safe_row(row))
