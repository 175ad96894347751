"""Agreement statistics over scored reps and stances, and the accuracy targets they are held to.

Per metric, statistic, task and condition: bias (mean error), MAE, SD of the error, 95 % limits of
agreement (Bland & Altman 1986: bias ± 1.96 SD), the 95th percentile of the absolute error, the
share of reps/stances found, given the right leg and judged, and how often a judged value misses
the truth by more than the error medius shows beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from medius.registry.measured import recording_condition, task_kind

__all__ = ["TARGETS", "condition_of", "summarize", "task_kind"]


#: the summary groups by the camera's turn (the grid's yaws: 0, ±10 square-on; +20, −30 turned)
SQUARE_GROUP = "square (|yaw| <= 10 deg)"
OFF_SQUARE_GROUP = "off-square (|yaw| 15-30 deg)"


def is_square(yaw_deg: float) -> bool:
    """A camera within 10° of square-on (what the targets of issue 18 call square-on)."""
    return abs(float(yaw_deg)) <= 10


def condition_of(row: dict[str, Any]) -> dict[str, str]:
    """The condition a rep or stance was filmed in (what the measured error is looked up by)."""
    return recording_condition(row["movement"], view=row["view"],
                               yaw="square" if is_square(row["yaw_deg"]) else "off-square",
                               fps=float(row["fps"]), short_side_px=int(row["short_side_px"]))


#: the accuracy targets of issue 18: (task kind, metric:statistic, condition filter, MAE limit)
TARGETS: tuple[dict[str, Any], ...] = (
    {"kind": "single-leg", "metric": "fppa_deg", "yaw": "square", "mae_max": 3.0},
    {"kind": "single-leg", "metric": "pelvic_drop_deg", "yaw": "square", "mae_max": 2.0},
    {"kind": "single-leg", "metric": "trunk_lean_deg", "yaw": "square", "mae_max": 2.0},
    {"kind": "gait", "metric": "pelvic_drop_deg", "yaw": "square", "mae_max": 1.5},
)


def _stats(errors: Sequence[float]) -> dict[str, Any]:
    e = np.asarray([x for x in errors if x is not None], dtype=float)
    if e.size == 0:
        return {"n": 0, "bias": None, "mae": None, "sd": None, "loa_low": None, "loa_high": None, "p95_abs": None}
    sd = float(e.std(ddof=1)) if e.size > 1 else 0.0
    bias = float(e.mean())
    return {
        "n": int(e.size),
        "bias": round(bias, 2),
        "mae": round(float(np.abs(e).mean()), 2),
        "sd": round(sd, 2),
        "loa_low": round(bias - 1.96 * sd, 2),
        "loa_high": round(bias + 1.96 * sd, 2),
        "p95_abs": round(float(np.percentile(np.abs(e), 95)), 2),
    }


def _share(flags: Iterable[bool]) -> float | None:
    f = list(flags)
    return round(100.0 * sum(f) / len(f), 1) if f else None


def summarize(rows: Sequence[dict[str, Any]], groups: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Agreement per (group, task, metric:statistic); ``groups`` maps a group name to a row filter."""
    if groups is None:
        groups = {
            "all": lambda r: True,
            SQUARE_GROUP: lambda r: is_square(r["yaw_deg"]),
            OFF_SQUARE_GROUP: lambda r: not is_square(r["yaw_deg"]),
        }
        for name in sorted({r["scenario"] for r in rows}):
            groups[f"scenario {name}"] = (lambda n: (lambda r: r["scenario"] == n))(name)
    out = []
    tasks = sorted({r["movement"] for r in rows})
    for gname, keep in groups.items():
        for task in tasks:
            sel = [r for r in rows if r["movement"] == task and keep(r)]
            if not sel:
                continue
            base = {
                "group": gname,
                "task": task,
                "units": len(sel),
                "found_pct": _share(r["found"] for r in sel),
                # of the reps/stances found and given a leg (an unclear leg is "not judged", not wrong)
                "side_correct_pct": _share(r["side_correct"] for r in sel if r["found"] and r.get("side_given", True)),
                "wrong_leg": sum(1 for r in sel if r["found"] and r.get("side_given", True) and not r["side_correct"]),
                "judged_pct": _share(r["judged"] for r in sel),
                "not_judged_pct": _share(not r["judged"] for r in sel),
            }
            timing = [r["event_error_s"] for r in sel if r.get("event_error_s") is not None]
            if timing:
                t = _stats([1000.0 * x for x in timing])
                base = {**base, "foot_strike_bias_ms": t["bias"], "foot_strike_mae_ms": t["mae"]}
            keys = sorted({k for r in sel for k in r["metrics"]})
            for k in keys:
                judged = [r["metrics"][k] for r in sel if r["judged"] and r["metrics"].get(k)]
                errs = [m["error"] for m in judged if m["error"] is not None]
                misses = [m["miss"] for m in judged if m["miss"] is not None]
                shown = [m["shown_error"] for m in judged if m["shown_error"] is not None]
                out.append({
                    **base,
                    "metric": k,
                    **_stats(errs),
                    "shown_error": round(float(np.median(shown)), 2) if shown else None,
                    "miss_pct": _share(misses),
                    "no_value_pct": _share(m["error"] is None for m in judged),
                })
    return out


def summary_statistic(task: str, metric: str) -> str:
    """The statistic medius summarises ``metric`` by for ``task`` (what a target is judged on)."""
    if task in ("walk", "run"):
        return "at_mid_stance" if metric == "fppa_deg" else "peak"
    return "at_bottom"


def check_targets(summary: Sequence[dict[str, Any]],
                  calibration: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Each target of :data:`TARGETS` against the square-on group of the summary (on the summary
    statistic), and, when ``calibration`` (:func:`medius.validation.calibration.calibration_summary`)
    is given, the calibration target: at most 5 % of judged values off by more than the error
    medius shows, out of sample (leaving one scenario, then one body out, every condition group)."""
    out = []
    square = [s for s in summary if s["group"] == SQUARE_GROUP]
    for t in TARGETS:
        for s in square:
            if task_kind(s["task"]) != t["kind"] or s["metric"] != f"{t['metric']}:{summary_statistic(s['task'], t['metric'])}":
                continue
            ok = s["mae"] is not None and s["mae"] <= t["mae_max"]
            out.append({"task": s["task"], "metric": s["metric"], "what": "MAE (deg)", "value": s["mae"],
                        "limit": t["mae_max"], "n": s["n"], "pass": bool(ok)})
    for c in calibration or []:
        if c["metric"].split(":")[0] not in ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg") or \
                c["group"] not in ("square-on", "15-30° off"):
            continue
        for by in ("scenario", "body"):
            v = c.get(f"scenario-blocks/{by}/miss_pct")
            out.append({"task": c["task"], "metric": c["metric"], "what": f"judged values ({c['group']}) missing the "
                        f"truth by more than the shown error, leaving one {by} out (%)", "value": v, "limit": 5.0,
                        "n": c["n"], "pass": v is not None and v <= 5.0})
    for s in square:
        if s["metric"].startswith("pelvic_drop_deg:") and s["metric"].endswith(summary_statistic(s["task"], "pelvic_drop_deg")):
            need = 90.0 if task_kind(s["task"]) == "gait" else 100.0
            out.append({"task": s["task"], "metric": "reps/stances found", "what": "found (%)", "value": s["found_pct"],
                        "limit": need, "n": s["units"], "pass": s["found_pct"] is not None and s["found_pct"] >= need})
            out.append({"task": s["task"], "metric": "right leg", "what": "of those given a leg, the right one (%)",
                        "value": s["side_correct_pct"], "limit": 100.0, "n": s["units"],
                        "pass": s["side_correct_pct"] is not None and s["side_correct_pct"] >= 100.0})
    return out
