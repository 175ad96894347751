"""The error medius shows beside a video value, and whether it holds on scenarios it was not fitted on.

The shown error is a half-width ``q``: medius says the truth lies within ``value ± q``. The target
(issue 18): among the reps and stances medius judges, at most 5 % miss the truth by more than ``q``,
**out of sample**, i.e. on a recording (another body, camera, scene) the errors were not measured on.

The errors of one scenario are correlated (one body, one camera: a shared bias), so the
exchangeable units are scenarios, not reps. :func:`block_error` models the error of a rep in a new
scenario as ``mu + s * T`` with ``T`` Student's t with ``n_scenarios - 1`` degrees of freedom,
``mu`` the mean of the scenario means, ``s^2 = tau^2 (1 + 1/n_scenarios) + sigma^2`` (``tau``: SD
of the scenario means, at least that of the bodies' means, the between-scenario spread of the
bias; ``sigma``: the pooled within-scenario SD; where the bodies' means spread more than the
scenarios' means, the bodies are the exchangeable units: ``mu`` is the mean of the bodies' means,
``n`` their number and ``n - 1`` the degrees of freedom, so a grid with many scenarios of one body
does not pass for many bodies), and shows the smallest ``q`` with
``P(|mu + s T| <= q) >= 95 %``: the bias is inside ``q`` (the value is not corrected), the bias'
spread over scenarios and bodies widens it, and few scenarios widen it through the t quantile. A
condition level with fewer than ``min_scenarios`` scenarios gets an entry only where its own errors
widen the coarser level's (:func:`fit_entries`); otherwise its values take the error of the coarser
level (the lookup in :mod:`medius.registry.measured` goes from the most specific level to the
coarsest).

:func:`out_of_sample` refits the whole model without one scenario (or one body) at a time and
scores the held-out values against the error the registry lookup would show for them;
:func:`coverage_table` sums that up per task, condition group and metric.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "ALPHA",
    "METHODS",
    "block_error",
    "calibration_summary",
    "conformal_error",
    "coverage_table",
    "fit_entries",
    "out_of_sample",
]

#: a sparse level widens when its within-scenario SD exceeds the coarser level's by this factor (or its
#: bias is off the coarser level's by more than the between-scenario SD)
SPREAD_FACTOR = 1.5
ALPHA = 0.05  # at most 5 % of judged values may miss the truth by more than the shown error


def conformal_error(abs_errors: Sequence[float], alpha: float = ALPHA) -> float:
    """The split-conformal quantile of ``|error|`` (the (n+1) rule): the ``ceil((n+1)(1-alpha))``-th
    smallest of the ``n`` values; infinite when ``n`` is too small for that rank to exist. Valid when
    the units are exchangeable (reps of one scenario are not: see :func:`block_error`)."""
    a = np.sort(np.abs(np.asarray(abs_errors, dtype=float)))
    k = math.ceil((a.size + 1) * (1.0 - alpha))
    return math.inf if k > a.size else float(a[k - 1])


def block_error(groups: Sequence[Sequence[float]], alpha: float = ALPHA, *,
                borrow: dict[str, float] | None = None, bodies: Sequence[str] | None = None) -> dict[str, float]:
    """The shown error for a rep of a new scenario, from the signed errors of ``groups`` (one
    sequence per scenario, at least two): see the module docstring. Returns ``value`` (the
    half-width ``q``), ``mu``, ``tau``, ``sigma`` and ``dof``.

    ``borrow`` (``tau`` and ``dof`` of a coarser level): for a level with too few scenarios to
    estimate the between-scenario spread itself (one is enough): ``tau`` is the larger of its own and
    the borrowed one, with the borrowed degrees of freedom.

    ``bodies`` (the body of each group): ``tau`` is at least the SD of the bodies' means (each the
    mean of its scenarios' means) when there are two bodies or more: the bias depends on the body
    more than on anything else the grid varies, and most scenarios share one body. When that SD
    decides, ``mu`` is the mean of the bodies' means and the sample size and degrees of freedom
    are those of the bodies (leaving one body out, single-leg-squat FPPA missed 8.0 % of its
    values with the scenarios' mean and degrees of freedom, 0 % with the bodies')."""
    from scipy import optimize, special

    gs = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if len(gs) < (1 if borrow else 2):
        raise ValueError("block_error needs the errors of at least two scenarios (or one and a coarser level)")
    means = np.array([g.mean() for g in gs])
    mu = float(means.mean())
    tau = float(means.std(ddof=1)) if len(gs) > 1 else 0.0
    dof = len(gs) - 1
    if borrow:
        tau, dof = max(tau, float(borrow["tau"])), int(borrow["dof"])
    n_units = len(gs)
    if bodies is not None and len(set(bodies)) > 1:
        body_means = [float(np.mean([m for m, b in zip(means, bodies, strict=True) if b == body]))
                      for body in sorted(set(bodies))]
        tau_bodies = float(np.std(body_means, ddof=1))
        if tau_bodies >= tau:
            # the spread of the bodies decides: the exchangeable units are the bodies, so their
            # mean is the bias, their number the sample size and its degrees of freedom
            tau, mu, n_units = tau_bodies, float(np.mean(body_means)), len(body_means)
            dof = min(dof, n_units - 1)
    dev = np.concatenate([g - g.mean() for g in gs])
    dof_within = sum(g.size - 1 for g in gs)
    sigma = float(math.sqrt((dev ** 2).sum() / dof_within)) if dof_within > 0 else 0.0
    s = math.sqrt(tau ** 2 * (1.0 + 1.0 / n_units) + sigma ** 2)
    if s == 0.0:
        return {"value": abs(mu), "mu": mu, "tau": tau, "sigma": sigma, "dof": dof}
    # Student's t by its distribution function (scipy.special: the stats.t object costs ~0.3 ms a
    # call, and the search below and the leave-one-out refits make ~10^5 calls)
    def covered(q: float) -> float:
        return float(special.stdtr(dof, (q - mu) / s) - special.stdtr(dof, (-q - mu) / s)) - (1.0 - alpha)

    hi = abs(mu) + s * float(special.stdtrit(dof, 1.0 - alpha / 2.0))  # covers at least 1 - alpha
    q = float(optimize.brentq(covered, 0.0, hi, xtol=1e-4)) if covered(0.0) < 0 else 0.0
    return {"value": q, "mu": mu, "tau": tau, "sigma": sigma, "dof": dof}


#: how the shown error of an entry is computed, and which entries are written
METHODS: dict[str, dict[str, Any]] = {
    # this release's first version: the 95th percentile of |error| pooled over the reps of the most
    # specific condition level with 8 judged values (in sample; levels task/view/yaw/fps/resolution)
    "pooled-p95": {"levels": 3, "min_scenarios": 1, "min_n": 8},
    # the (n+1) rule on reps, pooled up to a level with 5 scenarios (treats reps as exchangeable)
    "conformal-reps": {"levels": None, "min_scenarios": 5, "min_n": 8},
    # scenario blocks (module docstring): what `make validate` writes
    "scenario-blocks": {"levels": None, "min_scenarios": 5, "min_n": 8},
}


def fit_entries(rows: Sequence[dict[str, Any]], *, method: str = "scenario-blocks", alpha: float = ALPHA,
                min_scenarios: int | None = None, min_n: int | None = None) -> list[dict[str, Any]]:
    """The measured-error entries (:mod:`medius.registry.measured`) from scored rows: per
    metric:statistic and condition level with at least ``min_scenarios`` scenarios (three at the
    coarsest level, the task kind) and ``min_n`` judged values, the shown error ``value`` (by
    ``method``) and the agreement statistics.

    ``scenario-blocks`` then adds the levels with fewer scenarios (one is enough) whose own errors
    say the coarser level's error is too small for them: their error, with the coarser level's
    between-scenario spread (:func:`block_error`'s ``borrow``), when it is wider than the coarser
    level's (at the recording level, frame rate and resolution, only where their bias is off the
    coarser level's by more than its between-scenario SD or their within-scenario SD is more than
    :data:`SPREAD_FACTOR` times the coarser level's). A sparse level may widen the shown error,
    never narrow it."""
    from medius.registry.measured import LEVELS, condition_levels, lookup_measured_error
    from medius.validation.scoring import _stats, condition_of

    cfg = METHODS[method]
    n_levels = cfg["levels"] or len(LEVELS)
    min_scenarios = cfg["min_scenarios"] if min_scenarios is None else min_scenarios
    min_n = cfg["min_n"] if min_n is None else min_n
    buckets: dict[tuple[int, str, str, str], dict[str, list[float]]] = {}
    conds: dict[str, dict[str, str]] = {}
    members: dict[tuple[int, str], dict[str, dict[str, str]]] = {}  # the distinct full conditions
    body_of: dict[str, str] = {}
    for r in rows:
        if not r["judged"]:
            continue
        full = condition_of(r)
        for level, c in enumerate(condition_levels(full)[:n_levels]):
            ck = json.dumps(c, sort_keys=True)
            conds[ck] = c
            members.setdefault((level, ck), {})[json.dumps(full, sort_keys=True)] = full
            for k, m in r["metrics"].items():
                if m.get("error") is None:
                    continue
                metric, stat = k.split(":")
                buckets.setdefault((level, ck, metric, stat), {}).setdefault(r["scenario"], []).append(
                    float(m["error"]))
        body_of[r["scenario"]] = str(r.get("body"))
    out: list[dict[str, Any]] = []
    out_levels: list[int] = []  # the level of each entry of out
    sparse = []
    for (level, ck, metric, stat), by_scenario in sorted(buckets.items()):
        groups = list(by_scenario.values())
        errs = [x for g in groups for x in g]
        need = min(min_scenarios, 3) if level == len(LEVELS) - 1 and method == "scenario-blocks" else min_scenarios
        if len(errs) < min_n:
            continue
        if len(groups) < need:
            sparse.append((level, ck, metric, stat, groups))
            continue
        extra: dict[str, Any] = {}
        if method == "pooled-p95":
            value = float(np.percentile(np.abs(errs), 100 * (1 - alpha)))
        elif method == "conformal-reps":
            value = conformal_error(errs, alpha)
        else:
            b = block_error(groups, alpha, bodies=[body_of[sc] for sc in by_scenario])
            value = b["value"]
            extra = {"between_scenario_sd": round(b["tau"], 2), "within_scenario_sd": round(b["sigma"], 2),
                     "dof": b["dof"]}
        if math.isfinite(value):
            out.append({"metric": metric, "statistic": stat, "condition": conds[ck], "value": round(value, 2),
                        **_stats(errs), "scenarios": len(groups), "method": method, **extra})
            out_levels.append(level)
    if method != "scenario-blocks":
        return out
    # the sparse levels, from the coarsest to the most specific (each sees the entries written so far)
    for level, ck, metric, stat, groups in sorted(sparse, key=lambda x: -x[0]):
        doc = {"entries": [e for e, lv in zip(out, out_levels, strict=True) if lv > level]}
        found = [lookup_measured_error(metric, stat, full, doc=doc) for full in members[(level, ck)].values()]
        parents = [p for p in found if p is not None]
        if len(parents) < len(found):
            continue
        parent = max(parents, key=lambda p: float(p["value"]))
        b = block_error(groups, alpha, borrow={"tau": parent["between_scenario_sd"], "dof": parent["dof"]})
        # at the recording level (frame rate, resolution: varied once each, on the grid's most biased
        # body) only a shift of the bias beyond the scenarios' spread, or a wider spread, widens: one
        # 1080p scenario cannot tell the resolution from the body
        shifted = abs(b["mu"] - float(parent["bias"])) > float(parent["between_scenario_sd"])
        spread = b["sigma"] > SPREAD_FACTOR * float(parent["within_scenario_sd"])
        if b["value"] > float(parent["value"]) and (level > 0 or shifted or spread):
            errs = [x for g in groups for x in g]
            out.append({"metric": metric, "statistic": stat, "condition": conds[ck], "value": round(b["value"], 2),
                        **_stats(errs), "scenarios": len(groups), "method": method,
                        "between_scenario_sd": round(b["tau"], 2), "within_scenario_sd": round(b["sigma"], 2),
                        "dof": b["dof"], "widens": parent["condition"]})
            out_levels.append(level)
    return out


def _holdout_key(by: str) -> Callable[[dict[str, Any]], str]:
    if by == "scenario":
        return lambda r: str(r["scenario"])
    if by == "body":
        return lambda r: str(r["body"])
    raise ValueError(f"hold out by scenario or body, not {by!r}")


def out_of_sample(rows: Sequence[dict[str, Any]], *, by: str = "scenario", method: str = "scenario-blocks",
                  alpha: float = ALPHA, **fit_options: Any) -> list[dict[str, Any]]:
    """Copies of ``rows`` whose judged values carry the error the registry would show for them had
    their scenario (``by="scenario"``) or their body (``by="body"``) not been in the grid:
    ``shown_error`` and ``miss`` (``|error| > shown_error``) per metric:statistic; a judged value with
    no entry for its condition gets ``shown_error`` None (nothing claimed)."""
    from medius.registry.measured import lookup_measured_error
    from medius.validation.scoring import condition_of

    key = _holdout_key(by)
    docs = {g: {"entries": fit_entries([r for r in rows if key(r) != g], method=method, alpha=alpha, **fit_options)}
            for g in sorted({key(r) for r in rows})}
    out: list[dict[str, Any]] = []
    for r in rows:
        doc = docs[key(r)]
        r2 = {**r, "metrics": {}}
        for k, m in r["metrics"].items():
            metric, stat = k.split(":")
            e = lookup_measured_error(metric, stat, condition_of(r), doc=doc) if r["judged"] else None
            se = None if e is None else float(e["value"])
            err = m.get("error")
            r2["metrics"][k] = {**m, "shown_error": se,
                                "miss": None if err is None or se is None or not r["judged"] else abs(err) > se}
        out.append(r2)
    return out


def coverage_table(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task, condition group (all, camera square-on, turned, view) and metric:statistic of rows
    scored by :func:`out_of_sample`: the judged values, the share that miss (``miss_pct``), the
    share with no error shown, and the median and largest shown error."""
    from medius.validation.scoring import condition_of

    groups: dict[str, Callable[[dict[str, Any]], bool]] = {
        "all": lambda r: True,
        "square-on": lambda r: condition_of(r)["yaw"] == "square",
        "15-30° off": lambda r: condition_of(r)["yaw"] == "off-square",
        "from the front": lambda r: r["view"] == "front",
        "from behind": lambda r: r["view"] == "back",
    }
    out = []
    for task in sorted({r["movement"] for r in rows}):
        for gname, keep in groups.items():
            sel = [r for r in rows if r["movement"] == task and r["judged"] and keep(r)]
            for k in sorted({k for r in sel for k in r["metrics"]}):
                vals = [r["metrics"][k] for r in sel if k in r["metrics"] and r["metrics"][k].get("error") is not None]
                if not vals:
                    continue
                shown = [float(m["shown_error"]) for m in vals if m["shown_error"] is not None]
                misses = [bool(m["miss"]) for m in vals if m["miss"] is not None]
                out.append({
                    "task": task, "group": gname, "metric": k, "n": len(vals),
                    "miss_pct": round(100.0 * sum(misses) / len(misses), 1) if misses else None,
                    "no_error_shown_pct": round(100.0 * (len(vals) - len(shown)) / len(vals), 1),
                    "shown_median": round(float(np.median(shown)), 2) if shown else None,
                    "shown_max": round(float(np.max(shown)), 2) if shown else None,
                })
    return out


def _summary_keys(task: str) -> list[str]:
    from medius.validation.scoring import summary_statistic

    return [f"{m}:{summary_statistic(task, m)}" for m in ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg",
                                                          "hip_adduction_deg")]


def calibration_summary(rows: Sequence[dict[str, Any]],
                        methods: Sequence[str] = ("pooled-p95", "scenario-blocks"), *,
                        scored: Mapping[tuple[str, str], Sequence[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """Out-of-sample calibration of each method, leaving one scenario and one body out: per task,
    condition group and summary metric, the judged values, the share missing the truth by more
    than the shown error, the share with no error shown and the median shown error.
    ``scored``: :func:`out_of_sample` rows already computed, by ``(method, by)`` (not refitted)."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for method in methods:
        for by in ("scenario", "body"):
            held_out = (scored or {}).get((method, by))
            if held_out is None:
                held_out = out_of_sample(rows, by=by, method=method)
            for c in coverage_table(held_out):
                if c["metric"] not in _summary_keys(c["task"]):
                    continue
                rec = out.setdefault((c["task"], c["group"], c["metric"]),
                                     {"task": c["task"], "group": c["group"], "metric": c["metric"], "n": c["n"]})
                tag = f"{method}/{by}"
                rec[f"{tag}/miss_pct"] = c["miss_pct"]
                rec[f"{tag}/no_error_pct"] = c["no_error_shown_pct"]
                rec[f"{tag}/shown_median"] = c["shown_median"]
    return list(out.values())
