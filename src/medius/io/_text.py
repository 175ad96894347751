"""Reading text input files with one clear error for each way they go wrong."""

from __future__ import annotations

from pathlib import Path

from medius.errors import InputNotFoundError, InvalidInputError

__all__ = ["read_text_file"]


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
