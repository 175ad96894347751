"""The CSV exports of a result: one row per rep (``reps.csv``) or per stance (``stances.csv``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from medius.protocols import GAIT_METRICS, METRICS, STANCE_SCALARS

__all__ = ["REPS_CSV_COLUMNS", "STANCES_CSV_COLUMNS", "reps_csv_text", "stances_csv_text"]


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


def stances_csv_text(result: dict[str, Any]) -> str:
    """One row per stance: timing, ``<metric>_peak``, ``<metric>_peak_s``, ``<metric>_at_mid_stance``,
    the per-stance values (stance and step time, step width) and, for lab trials, the same metrics
    from the frontal projection as ``frontal_2d_<metric>_...``."""
    stances = result.get("stances", [])
    lab = any("frontal_2d" in r for r in stances)
    buf = io.StringIO()
    cols = list(STANCES_CSV_COLUMNS)
    for m in GAIT_METRICS:
        cols += [f"{m}_peak", f"{m}_peak_s", f"{m}_at_mid_stance"]
    cols += list(STANCE_SCALARS)
    if lab:
        for m in GAIT_METRICS:
            cols += [f"frontal_2d_{m}_peak", f"frontal_2d_{m}_at_mid_stance"]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in stances:
        row = [r.get(c) for c in STANCES_CSV_COLUMNS]
        for m in GAIT_METRICS:
            v = r.get("metrics", {}).get(m, {})
            row += [v.get("peak"), v.get("peak_s"), v.get("at_mid_stance")]
        row += [r.get("values", {}).get(k) for k in STANCE_SCALARS]
        if lab:
            for m in GAIT_METRICS:
                v = r.get("frontal_2d", {}).get(m, {})
                row += [v.get("peak"), v.get("at_mid_stance")]
        w.writerow(["" if x is None else x for x in row])
    return buf.getvalue()


def reps_csv_text(result: dict[str, Any]) -> str:
    """One row per rep: timing, then ``<metric>_peak``, ``<metric>_peak_s``, ``<metric>_at_bottom``."""
    buf = io.StringIO()
    cols = list(REPS_CSV_COLUMNS)
    for m in METRICS:
        cols += [f"{m}_peak", f"{m}_peak_s", f"{m}_at_bottom"]
    cols.append("note")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in result.get("reps", []):
        row = [r.get(c) for c in REPS_CSV_COLUMNS]
        for m in METRICS:
            v = r.get("metrics", {}).get(m, {})
            row += [v.get("peak"), v.get("peak_s"), v.get("at_bottom")]
        row.append(r.get("note", ""))
        w.writerow(["" if x is None else x for x in row])
    return buf.getvalue()
