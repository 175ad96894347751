"""medius' own measurement error of its video metrics, as measured by its validation grid.

``measured/video_errors.json`` is written by ``make validate`` (``medius validate
--write-measured-error``), never by hand: per task, metric, statistic and filming condition (camera
view, square-on or turned, frame rate, resolution) the agreement of medius with the truth on
rendered humans, and the error shown beside a value: the 95th percentile of the absolute error of
the reps/stances medius judged (so 95 % of judged values on the grid fall within it). A test checks
that the file was produced by the current analysis code.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["MEASURED_ERRORS_PATH", "condition_levels", "difference_beyond", "difference_error", "load_measured_errors",
           "lookup_measured_error", "measured_errors_for", "recording_condition", "task_kind"]

MEASURED_ERRORS_PATH = Path(__file__).resolve().parent / "measured" / "video_errors.json"

#: a condition from the most specific to the coarsest (``kind``: single-leg or gait); an entry exists
#: only where enough scenarios and reps/stances were measured (``medius.validation.calibration``), so a
#: value takes the error of the most specific level measured well enough
LEVELS: tuple[tuple[str, ...], ...] = (
    ("task", "view", "yaw", "fps", "resolution"),
    ("task", "view", "yaw"),
    ("task", "view"),
    ("task",),
    ("kind", "view", "yaw"),
    ("kind", "view"),
    ("kind",),
)


def task_kind(task: str) -> str:
    return "gait" if task in ("walk", "run") else "single-leg"


def condition_levels(cond: dict[str, str]) -> list[dict[str, str]]:
    """``cond`` at every level of :data:`LEVELS`, from the most specific to the coarsest."""
    full = {**cond, "kind": cond.get("kind") or task_kind(cond.get("task", ""))}
    return [{k: full[k] for k in level if k in full} for level in LEVELS]


@functools.lru_cache(maxsize=1)
def load_measured_errors() -> dict[str, Any]:
    """The measured-error document (empty ``entries`` when no validation run produced one)."""
    if not MEASURED_ERRORS_PATH.is_file():
        return {"entries": []}
    return dict(json.loads(MEASURED_ERRORS_PATH.read_text()))


WHAT = {
    "scenario-blocks": "half-width within which 95 % of a new recording's reps/stances are expected to fall "
    "(|medius - truth|, the bias included); scenarios as the exchangeable units, checked leaving one scenario "
    "and one body out (docs/validation.md)",
    "pooled-p95": "95th percentile of |medius - truth| over the judged reps/stances of this condition",
}


def difference_error(first: float | None, second: float | None) -> float | None:
    """The error of a difference of two values with measured errors ``first`` and ``second`` (each a
    95 % half-width): ``sqrt(first² + second²)``; a value without one takes the other's (the two
    were measured alike); None when neither has one."""
    known = [e for e in (first, second) if e is not None]
    if not known:
        return None
    return math.hypot(first if first is not None else known[0], second if second is not None else known[0])


def difference_beyond(difference: float, mdc: float | None, video_error: float | None) -> bool | None:
    """Whether a difference (two visits, or left minus right) is beyond the measurement error: larger
    than both the literature's MDC and medius' measured error of the difference
    (:func:`difference_error`); None when neither is known. Every view asks this one question."""
    limits = [float(x) for x in (mdc, video_error) if x is not None and math.isfinite(x)]
    return abs(difference) > max(limits) if limits else None


def lookup_measured_error(metric: str, statistic: str, cond: dict[str, str],
                          doc: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The most specific entry for ``metric:statistic`` in condition ``cond`` (task, view, yaw, fps,
    resolution), with where it comes from; ``None`` when the grid never measured such a case.
    ``doc``: the measured-error document to look in (default: the registry's)."""
    doc = load_measured_errors() if doc is None else doc
    entries = doc.get("entries", [])
    for c in condition_levels(cond):
        for e in entries:
            if e["metric"] == metric and e["statistic"] == statistic and e["condition"] == c:
                return {
                    **e,
                    "source": f"medius validation grid ({doc.get('grid_scenarios', '?')} rendered scenarios), "
                    f"medius {doc.get('medius_version', '?')}, analysis code {doc.get('code_hash', '?')}",
                    "what": WHAT.get(str(e.get("method", "pooled-p95")), WHAT["pooled-p95"]),
                }
    return None


def recording_condition(task: str, *, view: str, yaw: str, fps: float | None, short_side_px: int | None) -> dict[str, str]:
    """The condition a recording was filmed in, as the measured errors are looked up by (the
    validation grid's rows and a video analysis are binned by this one rule): ``view`` ``"back"``
    or the front, ``yaw`` ``"square"`` or ``"off-square"``, 60 or 30 fps, 1080p or 720p."""
    return {
        "task": task,
        "view": "back" if view == "back" else "front",
        "yaw": yaw,
        "fps": "60" if (fps or 0) >= 50 else "30",
        "resolution": "1080p" if (short_side_px or 0) >= 1000 else "720p",
    }


def measured_errors_for(task: str, metrics: tuple[str, ...], *, view: str, fps: float | None,
                        width: int | None, height: int | None, yaw: str = "square") -> dict[str, Any]:
    """``metric -> statistic -> entry`` for a video analysis: the error medius measured for its condition.

    ``view`` is where the camera stood (``"back"`` or the front); ``yaw`` is ``"square"`` unless the
    capture check found the camera turned. Metrics the grid never measured in such a condition
    are left out (nothing is claimed for them)."""
    cond = recording_condition(task, view=view, yaw=yaw, fps=fps, short_side_px=min(width or 0, height or 0))
    out: dict[str, Any] = {}
    for m in metrics:
        for stat in ("peak", "at_bottom", "at_mid_stance"):
            e = lookup_measured_error(m, stat, cond)
            if e is not None:
                out.setdefault(m, {})[stat] = {
                    "value": e["value"], "n": e["n"], "bias": e["bias"], "mae": e["mae"],
                    "loa": [e["loa_low"], e["loa_high"]], "condition": e["condition"], "source": e["source"],
                    "what": e["what"],
                }
    return out
