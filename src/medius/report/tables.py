"""The CSV exports of a result: one row per rep (``reps.csv``) or per stance (``stances.csv``).

Rendered from the typed result (:class:`medius.analysis.result.AnalysisResult`); the value
columns are generated from the metric specification (:mod:`medius.protocols.metric_spec`):
each curve metric of the task by its per-unit statistics, then the per-stance values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from medius.analysis.result import AnalysisResult, MetricValue
from medius.protocols.metric_spec import GAIT, SINGLE_LEG, metric_names

__all__ = [
    "REPS_CSV_COLUMNS",
    "STANCES_CSV_COLUMNS",
    "reps_csv_columns",
    "reps_csv_text",
    "stances_csv_columns",
    "stances_csv_text",
]

REPS_CSV_COLUMNS = (
    "rep",
    "side",
    "status",
    "start_s",
    "bottom_s",
    "end_s",
    "start_frame",
    "bottom_frame",
    "end_frame",
)


STANCES_CSV_COLUMNS = (
    "stance",
    "side",
    "status",
    "foot_strike_s",
    "mid_stance_s",
    "foot_off_s",
    "foot_strike_frame",
    "mid_stance_frame",
    "foot_off_frame",
)

#: the per-unit fields of a curve metric in each table
_REP_FIELDS = ("peak", "peak_s", "at_bottom")
_STANCE_FIELDS = ("peak", "peak_s", "at_mid_stance")
_FRONTAL_FIELDS = ("peak", "at_mid_stance")


def _model(result: AnalysisResult | Mapping[str, Any]) -> AnalysisResult:
    return result if isinstance(result, AnalysisResult) else AnalysisResult.from_json(result)


def _field(v: MetricValue | None, name: str) -> Any:
    return None if v is None else getattr(v, name)


def reps_csv_columns() -> list[str]:
    """``reps.csv``'s header: timing, ``<metric>_peak``, ``<metric>_peak_s``, ``<metric>_at_bottom``, note."""
    cols = list(REPS_CSV_COLUMNS)
    for m in metric_names(SINGLE_LEG, "curve"):
        cols += [f"{m}_{f}" for f in _REP_FIELDS]
    return [*cols, "note"]


def stances_csv_columns(lab: bool) -> list[str]:
    """``stances.csv``'s header (``frontal_2d_*`` columns for lab trials)."""
    cols = list(STANCES_CSV_COLUMNS)
    for m in metric_names(GAIT, "curve"):
        cols += [f"{m}_{f}" for f in _STANCE_FIELDS]
    cols += list(metric_names(GAIT, "stance_value"))
    if lab:
        for m in metric_names(GAIT, "curve"):
            cols += [f"frontal_2d_{m}_{f}" for f in _FRONTAL_FIELDS]
    return cols


def stances_csv_text(result: AnalysisResult | Mapping[str, Any]) -> str:
    """One row per stance: timing, ``<metric>_peak``, ``<metric>_peak_s``, ``<metric>_at_mid_stance``,
    the per-stance values (stance and step time, step width) and, for lab trials, the same metrics
    from the frontal projection as ``frontal_2d_<metric>_...``."""
    res = _model(result)
    stances = res.stances or []
    lab = any(st.frontal_2d is not None for st in stances)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(stances_csv_columns(lab))
    curves, values = metric_names(GAIT, "curve"), metric_names(GAIT, "stance_value")
    for st in stances:
        row: list[Any] = [st.stance, st.side, st.status, st.foot_strike_s, st.mid_stance_s, st.foot_off_s,
                          st.foot_strike_frame, st.mid_stance_frame, st.foot_off_frame]
        for m in curves:
            row += [_field(st.metrics.get(m), f) for f in _STANCE_FIELDS]
        row += [st.values.get(k) for k in values]
        if lab:
            for m in curves:
                row += [_field((st.frontal_2d or {}).get(m), f) for f in _FRONTAL_FIELDS]
        w.writerow(["" if x is None else x for x in row])
    return buf.getvalue()


def reps_csv_text(result: AnalysisResult | Mapping[str, Any]) -> str:
    """One row per rep: timing, then ``<metric>_peak``, ``<metric>_peak_s``, ``<metric>_at_bottom``."""
    res = _model(result)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(reps_csv_columns())
    for r in res.reps:
        row: list[Any] = [r.rep, r.side, r.status, r.start_s, r.bottom_s, r.end_s, r.start_frame, r.bottom_frame,
                          r.end_frame]
        for m in metric_names(SINGLE_LEG, "curve"):
            row += [_field(r.metrics.get(m), f) for f in _REP_FIELDS]
        row.append(r.note)
        w.writerow(["" if x is None else x for x in row])
    return buf.getvalue()
