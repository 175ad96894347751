"""Shared helpers of the report layer: metric order, units, side colours, rep labels.

Everything here reads the JSON-able ``result`` dict written by :mod:`medius.protocols`
(``schema_version`` "1.0"); nothing here computes a metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

__all__ = [
    "GAIT_METRIC_ORDER",
    "GAIT_TASK_NAMES",
    "METRIC_ORDER",
    "SIDE_COLOURS_HEX",
    "SIDE_COLOURS_RGB",
    "SIDES",
    "format_value",
    "gait_phase_at_time",
    "interpretation_ranges",
    "is_gait",
    "is_judgeable",
    "measurement_errors",
    "metric_label",
    "metric_short_label",
    "metric_unit",
    "ordered_metrics",
    "rep_labels",
    "rep_at_time",
    "stance_labels",
    "finite_number",
    "unit_symbol",
]

#: the order metrics are shown in, everywhere (unknown metrics follow, in result order)
METRIC_ORDER: tuple[str, ...] = (
    "fppa_deg",
    "pelvic_drop_deg",
    "trunk_lean_deg",
    "hip_adduction_deg",
    "depth_pct",
    "knee_medial_displacement_pct",
)

#: the order of the per-stance angle metrics of a gait result (the protocol's order: hip first)
GAIT_METRIC_ORDER: tuple[str, ...] = ("pelvic_drop_deg", "hip_adduction_deg", "trunk_lean_deg", "fppa_deg")

#: the task names of gait results (walking and running)
GAIT_TASK_NAMES: tuple[str, ...] = ("walk", "run")

SIDES: tuple[str, str] = ("left", "right")

#: Okabe-Ito colour-blind-safe pair: blue for the left leg, vermillion for the right leg
SIDE_COLOURS_HEX: dict[str, str] = {"left": "#0072B2", "right": "#D55E00"}
SIDE_COLOURS_RGB: dict[str, tuple[int, int, int]] = {"left": (0, 114, 178), "right": (213, 94, 0)}

_DEFAULT_LABELS = {
    "fppa_deg": "Knee FPPA",
    "pelvic_drop_deg": "Pelvic drop",
    "trunk_lean_deg": "Trunk lean",
    "hip_adduction_deg": "Hip adduction",
    "depth_pct": "Squat depth",
    "knee_medial_displacement_pct": "Knee medial displacement",
}

_UNIT_SYMBOLS = {
    "deg": "°",
    "degree": "°",
    "degrees": "°",
    "°": "°",
    "pct": "%",
    "percent": "%",
    "%": "%",
    "s": "s",
    "cm": "cm",
    "px": "px",
    "steps_per_min": "steps/min",
    "ratio": "",
    "": "",
}


def unit_symbol(unit: str | None) -> str:
    """The short display form of a unit name (``"deg"`` -> ``"°"``, ``"pct"`` -> ``"%"``)."""
    if unit is None:
        return ""
    return _UNIT_SYMBOLS.get(str(unit).strip().lower(), str(unit))


def _metric_info(result: Mapping[str, Any], metric: str) -> Mapping[str, Any]:
    info = (result.get("metrics") or {}).get(metric)
    return info if isinstance(info, Mapping) else {}


def metric_label(result: Mapping[str, Any], metric: str) -> str:
    """The human label of a metric from ``result["metrics"]``, first letter capitalised (a default when absent)."""
    label = str(_metric_info(result, metric).get("label") or "")
    if not label:
        label = _DEFAULT_LABELS.get(metric, metric.replace("_", " "))
    return label[:1].upper() + label[1:]


def metric_short_label(result: Mapping[str, Any], metric: str) -> str:
    """A short label for axes (``"Knee FPPA"``): the built-in one for known metrics, else the label."""
    return _DEFAULT_LABELS.get(metric) or metric_label(result, metric)


def metric_unit(result: Mapping[str, Any], metric: str) -> str:
    """The display unit of a metric (``"°"``, ``"%"``), from ``result["metrics"]`` or the name suffix."""
    info = _metric_info(result, metric)
    if info.get("unit_symbol"):
        return str(info["unit_symbol"])
    unit = info.get("unit")
    if unit is None:
        if metric.endswith("_deg"):
            unit = "deg"
        elif metric.endswith("_pct"):
            unit = "pct"
    return unit_symbol(unit)


def ordered_metrics(names: Sequence[str] | Mapping[str, Any]) -> list[str]:
    """``names`` sorted by :data:`METRIC_ORDER`, unknown names last in their given order."""
    names = list(names)
    known = [m for m in METRIC_ORDER if m in names]
    return known + [m for m in names if m not in METRIC_ORDER]


def is_judgeable(result: Mapping[str, Any]) -> bool:
    """True when the result may show metric values (``status == "ok"``)."""
    return result.get("status") == "ok"


def rep_labels(reps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Short per-side labels in rep order: the first left-stance rep is ``L1``, the first right ``R1``."""
    counters = {"left": 0, "right": 0}
    labels = []
    for rep in reps:
        side = rep.get("side")
        if side in counters:
            counters[side] += 1
            labels.append(f"{side[0].upper()}{counters[side]}")
        else:
            labels.append(f"#{rep.get('rep', len(labels) + 1)}")
    return labels


def is_gait(result: Mapping[str, Any]) -> bool:
    """True for a walking or running result (``task`` ``walk``/``run``, or a ``stances`` list)."""
    return result.get("task") in GAIT_TASK_NAMES or isinstance(result.get("stances"), list)


def stance_labels(stances: Sequence[Mapping[str, Any]]) -> list[str]:
    """Short per-side labels in stance order: the first left stance is ``L1``, the first right ``R1``."""
    counters = {"left": 0, "right": 0}
    labels = []
    for st in stances:
        side = st.get("side")
        if side in counters:
            counters[side] += 1
            labels.append(f"{side[0].upper()}{counters[side]}")
        else:
            labels.append(f"#{st.get('stance', len(labels) + 1)}")
    return labels


def gait_phase_at_time(stances: Sequence[Mapping[str, Any]], time_s: float) -> list[int]:
    """Indices in ``stances`` of the stances whose ``[foot_strike_s, foot_off_s]`` holds ``time_s``.

    Empty outside every stance (a swing of both legs: flight in running), one index in single
    support, two in double support (walking), latest foot strike last.
    """
    hits = []
    for i, st in enumerate(stances):
        strike, off = st.get("foot_strike_s"), st.get("foot_off_s")
        if finite_number(strike) and finite_number(off) and strike - 1e-9 <= time_s <= off + 1e-9:
            hits.append(i)
    return sorted(hits, key=lambda i: (stances[i]["foot_strike_s"], i))


def rep_at_time(reps: Sequence[Mapping[str, Any]], time_s: float) -> int | None:
    """Index in ``reps`` of the rep whose ``[start_s, end_s]`` holds ``time_s`` (None outside reps)."""
    for i, rep in enumerate(reps):
        start, end = rep.get("start_s"), rep.get("end_s")
        if start is not None and end is not None and start <= time_s <= end:
            return i
    return None


def finite_number(x: Any) -> TypeGuard[float]:
    """True for a finite real number (not a bool); narrows ``x`` to a number for the type checker."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def format_value(value: Any, digits: int = 1, unit: str = "", *, signed: bool = False) -> str:
    """A number for display (``"12.3°"``); ``"–"`` for None/NaN. A ``%`` or ``°`` unit is attached."""
    if not finite_number(value):
        return "–"
    value = round(float(value), digits) + 0.0  # no "-0.0"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    text = text.replace("-", "−")
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("°", "%") else f"{text} {unit}"


def interpretation_ranges(result: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The distinct reference ranges per metric in ``result["interpretation"]``.

    An interpretation entry gives its range as ``"reference_range": [low, high]`` or
    ``{"low": ..., "high": ...}`` (either bound may be None for a one-sided range; None or a
    missing key = no range). Returns ``{metric: [{"low", "high", "source", "cohort"}, ...]}`` in
    the order first met, one item per distinct ``(low, high)``.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in result.get("interpretation") or []:
        metric = entry.get("metric")
        rng = entry.get("reference_range")
        if not metric or rng is None:
            continue
        if isinstance(rng, Mapping):
            low, high = rng.get("low"), rng.get("high")
        elif isinstance(rng, Sequence) and not isinstance(rng, str) and len(rng) == 2:
            low, high = rng
        else:
            continue
        low = float(low) if finite_number(low) else None
        high = float(high) if finite_number(high) else None
        if low is None and high is None:
            continue
        items = out.setdefault(metric, [])
        if any(it["low"] == low and it["high"] == high for it in items):
            continue
        items.append({"low": low, "high": high, "source": entry.get("source"), "cohort": entry.get("cohort")})
    return out


def measurement_errors(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Measurement error (``sem``, ``mdc``, ``unit``, ``source``) per metric from the interpretation."""
    out: dict[str, dict[str, Any]] = {}
    for entry in result.get("interpretation") or []:
        metric = entry.get("metric")
        err = entry.get("measurement_error")
        if (
            metric
            and metric not in out
            and isinstance(err, Mapping)
            and (finite_number(err.get("sem")) or finite_number(err.get("mdc")))
        ):
            out[metric] = dict(err)
    return out
