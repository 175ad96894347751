"""Parameter checks shared by the kinematics functions.

A bad *parameter* (a value a caller chose: a cut-off, a threshold, a side name) is a
programming error and raises :class:`ParameterError`, a :class:`ValueError`. A problem with the
*input data* that a user caused (a video filmed at too low a frame rate) is a
:class:`medius.errors.MediusError` instead, raised where it is detected.

Every message names the parameter, the allowed values and what was given, in the form
``Invalid value for the 'cutoff_hz' parameter. Allowed values are ..., but got ... instead.``
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = [
    "ParameterError",
    "check_int",
    "check_option",
    "check_points",
    "check_real",
]


class ParameterError(ValueError):
    """A function parameter has a value outside its allowed range or set."""


def _fail(name: str, allowed: str, value: Any, extra: str = "") -> ParameterError:
    return ParameterError(
        f"Invalid value for the {name!r} parameter. Allowed values are {allowed}, "
        f"but got {value!r} instead.{extra}"
    )


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float in the given range, or raise :class:`ParameterError`."""
    lo = "" if low is None else (f"{'>=' if low_inclusive else '>'} {low:g}")
    hi = "" if high is None else (f"{'<=' if high_inclusive else '<'} {high:g}")
    allowed = (
        "finite real numbers"
        + (f" {lo}" if lo else "")
        + (" and" if lo and hi else "")
        + (f" {hi}" if hi else "")
    )
    if isinstance(value, bool) or not isinstance(value, Real):
        raise _fail(name, allowed, value)
    v = float(value)
    if not math.isfinite(v):
        raise _fail(name, allowed, value)
    if low is not None and (v < low or (v == low and not low_inclusive)):
        raise _fail(name, allowed, value)
    if high is not None and (v > high or (v == high and not high_inclusive)):
        raise _fail(name, allowed, value)
    return v


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]``, or raise :class:`ParameterError`."""
    parts = ["integers"]
    if low is not None:
        parts.append(f">= {low}")
    if high is not None:
        parts.append(("and " if low is not None else "") + f"<= {high}")
    allowed = " ".join(parts)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise _fail(name, allowed, value)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise _fail(name, allowed, value)
    return v


def check_option(name: str, value: Any, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise with a "did you mean" hint."""
    if isinstance(value, str) and value in allowed:
        return value
    if len(allowed) > 1:
        listed = ", ".join(repr(a) for a in allowed[:-1]) + f" and {allowed[-1]!r}"
    else:
        listed = repr(allowed[0])
    extra = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, list(allowed), n=1)
        if close:
            extra = f" Did you mean {close[0]!r}?"
    raise _fail(name, listed, value, extra)


def check_points(name: str, value: Any) -> np.ndarray:
    """Return ``value`` as a float array whose last axis has length 2 (x, y), or raise."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        raise ParameterError(
            f"Invalid value for the {name!r} parameter. Allowed values are arrays of image points "
            f"with shape (time, 2) (x, y in px), but got an array of shape {arr.shape} instead."
        )
    return arr
