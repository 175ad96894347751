"""Deterministic SVG plots of one analysis: metric time series and per-rep values.

The figures are drawn with matplotlib's object API (no ``pyplot``, no global backend switch)
and saved as SVG with a fixed ``svg.hashsalt`` and no date in the metadata, so the same
input always gives byte-identical files (for the same matplotlib version).
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from medius.errors import OutputError
from medius.report._common import (
    SIDE_COLOURS_HEX,
    SIDES,
    interpretation_ranges,
    is_judgeable,
    measurement_errors,
    metric_label,
    metric_short_label,
    metric_unit,
    ordered_metrics,
    rep_labels,
)

__all__ = [
    "REP_VALUES_PLOT_NAME",
    "TIMESERIES_PLOT_NAME",
    "plot_rep_values",
    "plot_timeseries",
    "STANCE_CURVES_PLOT_NAME",
    "plot_stance_curves",
    "stance_normalised",
    "write_gait_plots",
    "write_plots",
]

#: file names used by :func:`write_plots`
TIMESERIES_PLOT_NAME = "plot_timeseries.svg"
REP_VALUES_PLOT_NAME = "plot_rep_values.svg"

#: metrics that get a time-series panel, in this order, when the series holds them
_TIMESERIES_METRICS = (
    "fppa_deg",
    "pelvic_drop_deg",
    "trunk_lean_deg",
    "hip_adduction_deg",
    "depth_pct",
    "knee_medial_displacement_pct",
)

_RC = {
    "svg.hashsalt": "medius-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "path.simplify": False,
    "text.usetex": False,
}
_REF_COLOUR = "#2e8b57"
_PATIENT_COLOUR = "#b5478f"
_ZERO_COLOUR = "#777777"


def _plain(text: Any) -> str:
    """Text for matplotlib with mathtext disabled (``$`` escaped)."""
    return str(text).replace("$", r"\$")


def _axis_label(result: Mapping[str, Any], metric: str) -> str:
    unit = metric_unit(result, metric)
    label = metric_short_label(result, metric)
    return _plain(f"{label} ({unit})" if unit else label)


def _set_margins(
    fig: Figure,
    *,
    left_in: float,
    right_in: float,
    top_in: float,
    bottom_in: float,
    hspace: float = 0.2,
    wspace: float = 0.2,
) -> None:
    """Fixed figure margins in inches (much faster than a layout engine, and just as stable)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left_in / w,
        right=1 - right_in / w,
        top=1 - top_in / h,
        bottom=bottom_in / h,
        hspace=hspace,
        wspace=wspace,
    )


def _save(fig: Figure, path: Path) -> Path:
    try:
        fig.savefig(path, format="svg", metadata={"Date": None})
    except OSError as exc:
        raise OutputError(f"cannot write the plot: {exc.strerror or exc}", path=path) from exc
    return path


def _check_series(series: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if "time_s" not in series:
        raise ValueError(f"series must hold 'time_s'; got keys {sorted(series)}")
    t = np.asarray(series["time_s"], dtype=float)
    arrays = {}
    for key, value in series.items():
        arr = np.asarray(value, dtype=float)
        if arr.shape != t.shape:
            raise ValueError(
                f"series[{key!r}] must have the shape of series['time_s'] {t.shape}, got {arr.shape}"
            )
        arrays[key] = arr
    return t, arrays


def _series_key(series: Mapping[str, Any], metric: str, side: str) -> str | None:
    """The series key holding ``metric`` for a stance ``side`` (an unsided key if that is all there is)."""
    if f"{metric}_{side}" in series:
        return f"{metric}_{side}"
    if metric in series:
        return metric
    return None


def _timeseries_metrics(result: Mapping[str, Any], series: Mapping[str, Any]) -> list[str]:
    candidates = list(_TIMESERIES_METRICS) + [
        m for m in (result.get("metrics") or {}) if m not in _TIMESERIES_METRICS
    ]
    found = [m for m in candidates if any(_series_key(series, m, s) for s in SIDES)]
    return ordered_metrics(found)


def _reference_style(cohort: str | None) -> tuple[str, str]:
    """Colour and legend label of a reference band by its cohort (healthy or patient group)."""
    if cohort == "patient":
        return _PATIENT_COLOUR, "reference band, patient group"
    if cohort == "healthy":
        return _REF_COLOUR, "reference band, healthy group"
    return _REF_COLOUR, "reference range"


def _draw_reference(ax: Any, ranges: Sequence[Mapping[str, Any]] | None) -> set[str | None]:
    """Draw each reference range as a band (a one-sided one as a dashed line); return the cohorts drawn."""
    drawn: set[str | None] = set()
    for rng in ranges or ():
        low, high = rng.get("low"), rng.get("high")
        colour, _ = _reference_style(rng.get("cohort"))
        drawn.add(rng.get("cohort") if rng.get("cohort") in ("healthy", "patient") else None)
        if low is not None and high is not None:
            ax.axhspan(low, high, color=colour, alpha=0.12, lw=0, zorder=0)
            ax.axhline(low, color=colour, lw=0.7, alpha=0.7, zorder=0.5)
            ax.axhline(high, color=colour, lw=0.7, alpha=0.7, zorder=0.5)
        else:
            ax.axhline(low if low is not None else high, color=colour, lw=1.0, ls="--", zorder=0.5)
    return drawn


def _reference_handles(cohorts: set[str | None]) -> list[Patch]:
    order = [c for c in ("healthy", "patient", None) if c in cohorts]
    return [Patch(color=_reference_style(c)[0], alpha=0.3, label=_reference_style(c)[1]) for c in order]


def _panel_title(ax: Any, label: str, sign: str | None) -> None:
    """The metric's full label above a panel, and its sign convention in grey below it."""
    ax.annotate(
        _plain(label),
        xy=(0, 1),
        xycoords="axes fraction",
        xytext=(0, 13),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=8,
        fontweight="bold",
        color="#333333",
    )
    if sign:
        ax.annotate(
            _plain(textwrap.shorten(f"Sign: {sign}", 125, placeholder=" …")),
            xy=(0, 1),
            xycoords="axes fraction",
            xytext=(0, 3),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=7,
            color="#666666",
        )


def _nearest_index(t: np.ndarray, time_s: float) -> int | None:
    if t.size == 0 or time_s is None or not math.isfinite(time_s):
        return None
    return int(np.argmin(np.abs(t - time_s)))


def plot_timeseries(result: Mapping[str, Any], series: Mapping[str, Any], path: str | Path) -> Path:
    """Plot every metric over time, one panel per metric, and save it as SVG.

    Each panel shows both legs' per-frame values faintly (each computed as if that leg were the
    stance leg) and, bold, the stance leg's values inside each rep. Reps are shaded in the stance
    side's colour and labelled ``L1``, ``R1`` ... at the top; the deepest frame of each rep is
    marked with a triangle; the reference range of ``result["interpretation"]`` (when it gives
    one) is drawn as a green band; a grey line marks zero.

    Parameters
    ----------
    result
        the analysis result dict (schema 1.0).
    series
        per-frame arrays of equal length: ``time_s`` plus ``<metric>_left`` / ``<metric>_right``
        (or an unsided ``<metric>`` such as ``depth_pct``); NaN where unknown.
    path
        the SVG file to write.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    t, arrays = _check_series(series)
    metrics = _timeseries_metrics(result, arrays)
    reps = [r for r in (result.get("reps") or []) if r.get("side") in SIDES]
    labels = rep_labels(reps)
    ranges = interpretation_ranges(result)

    with matplotlib.rc_context(_RC):
        n = max(1, len(metrics))
        fig = Figure(figsize=(8.0, 1.95 * n + 1.1))
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        ref_cohorts: set[str | None] = set()
        for ax, metric in zip(axes, metrics, strict=False):
            ax.axhline(0.0, color=_ZERO_COLOUR, lw=0.8, zorder=0.6)
            ref_cohorts |= _draw_reference(ax, ranges.get(metric))
            unsided = metric in arrays and not any(f"{metric}_{s}" in arrays for s in SIDES)
            if unsided:
                ax.plot(t, arrays[metric], color="#606060", lw=0.8, alpha=0.45, zorder=1)
            else:
                for side in SIDES:
                    key = f"{metric}_{side}"
                    if key in arrays:
                        ax.plot(t, arrays[key], color=SIDE_COLOURS_HEX[side], lw=0.8, alpha=0.3, zorder=1)
            for rep in reps:
                side = rep["side"]
                start, end = rep.get("start_s"), rep.get("end_s")
                if start is None or end is None:
                    continue
                ax.axvspan(start, end, color=SIDE_COLOURS_HEX[side], alpha=0.08, lw=0, zorder=0)
                key = _series_key(arrays, metric, side)
                if key is None:
                    continue
                inside = (t >= start) & (t <= end)
                ax.plot(t[inside], arrays[key][inside], color=SIDE_COLOURS_HEX[side], lw=1.7, zorder=2)
                i_bottom = _nearest_index(t, rep.get("bottom_s"))
                if i_bottom is not None and np.isfinite(arrays[key][i_bottom]):
                    ax.plot(
                        [t[i_bottom]],
                        [arrays[key][i_bottom]],
                        marker="v",
                        ms=6,
                        mfc=SIDE_COLOURS_HEX[side],
                        mec="black",
                        mew=0.7,
                        ls="none",
                        zorder=3,
                    )
            ax.set_ylabel(_axis_label(result, metric))
            _panel_title(
                ax, metric_label(result, metric), (result.get("metrics") or {}).get(metric, {}).get("sign")
            )
            for rep, label in zip(reps, labels, strict=True):
                if rep.get("start_s") is not None and rep.get("end_s") is not None:
                    ax.annotate(
                        label,
                        xy=(rep["start_s"], 1.0),
                        xycoords=ax.get_xaxis_transform(),
                        xytext=(2, -2),
                        textcoords="offset points",
                        ha="left",
                        va="top",
                        fontsize=7,
                        fontweight="bold",
                        color=SIDE_COLOURS_HEX[rep["side"]],
                        zorder=4,
                    )
        if not metrics:
            axes[0].text(
                0.5,
                0.5,
                "no metric series to show",
                transform=axes[0].transAxes,
                ha="center",
                va="center",
                color="#666666",
            )
        axes[-1].set_xlabel("Time (s)")
        if t.size:
            axes[-1].set_xlim(float(t[0]), float(t[-1]) if t[-1] > t[0] else float(t[0]) + 1.0)
        handles = [
            Line2D([], [], color=SIDE_COLOURS_HEX["left"], lw=1.7, label="left stance (L reps)"),
            Line2D([], [], color=SIDE_COLOURS_HEX["right"], lw=1.7, label="right stance (R reps)"),
            Line2D([], [], color="#888888", lw=0.8, alpha=0.6, label="outside the leg's reps"),
            Line2D([], [], marker="v", mfc="white", mec="black", ls="none", label="deepest point"),
        ]
        handles.extend(_reference_handles(ref_cohorts))
        ncol = min(4, len(handles))
        fig.legend(handles=handles, loc="upper center", ncol=ncol, bbox_to_anchor=(0.5, 1.0))
        top_in = 0.6 + 0.2 * math.ceil(len(handles) / ncol)
        _set_margins(fig, left_in=0.85, right_in=0.15, top_in=top_in, bottom_in=0.5, hspace=0.42)
        return _save(fig, path)


def _rep_peak(rep: Mapping[str, Any], metric: str) -> float | None:
    value = ((rep.get("metrics") or {}).get(metric) or {}).get("peak")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _side_stats(result: Mapping[str, Any], side: str, metric: str, values: Sequence[float]) -> tuple:
    stats = ((result.get("summary") or {}).get(side) or {}).get(metric) or {}
    mean, sd = stats.get("mean"), stats.get("sd")
    if mean is None and values:
        mean = float(np.mean(values))
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return mean, sd


def plot_rep_values(result: Mapping[str, Any], path: str | Path) -> Path:
    """Plot each rep's peak value per metric, left vs right, and save it as SVG.

    One panel per metric: a strip of per-rep peaks for each side (hollow markers for partial
    reps), the side's mean ± SD (from ``result["summary"]`` when present), a grey box of
    mean ± SEM where the measurement error is known, and the reference range band.

    Parameters
    ----------
    result
        the analysis result dict (schema 1.0).
    path
        the SVG file to write.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    reps = [r for r in (result.get("reps") or []) if r.get("side") in SIDES]
    names: list[str] = []
    for rep in reps:
        for metric in rep.get("metrics") or {}:
            if metric not in names and _rep_peak(rep, metric) is not None:
                names.append(metric)
    metrics = ordered_metrics(names)
    ranges = interpretation_ranges(result)
    errors = measurement_errors(result)

    with matplotlib.rc_context(_RC):
        ncols = min(3, max(1, len(metrics)))
        nrows = max(1, math.ceil(len(metrics) / ncols))
        fig = Figure(figsize=(2.75 * ncols + 0.4, 2.6 * nrows + 0.7))
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        ref_cohorts = set()
        any_sem = any_partial = False
        for ax, metric in zip(axes, metrics, strict=False):
            ax.axhline(0.0, color=_ZERO_COLOUR, lw=0.8, zorder=0.6)
            ref_cohorts |= _draw_reference(ax, ranges.get(metric))
            err = errors.get(metric, {})
            tick_labels = []
            for x, side in enumerate(SIDES):
                side_reps = [r for r in reps if r["side"] == side and _rep_peak(r, metric) is not None]
                values = [_rep_peak(r, metric) for r in side_reps]
                complete = [v for r, v in zip(side_reps, values, strict=True) if r.get("status") != "partial"]
                tick_labels.append(f"{side.capitalize()}\nn={len(complete)}")
                if values:
                    offsets = np.linspace(-0.09, 0.09, len(values)) if len(values) > 1 else np.zeros(1)
                    for off, r, v in zip(offsets, side_reps, values, strict=True):
                        partial = r.get("status") == "partial"
                        any_partial |= partial
                        ax.plot(
                            [x - 0.12 + off],
                            [v],
                            marker="o",
                            ms=5,
                            ls="none",
                            zorder=3,
                            mfc="white" if partial else SIDE_COLOURS_HEX[side],
                            mec=SIDE_COLOURS_HEX[side],
                            mew=1.1,
                            alpha=0.9,
                        )
                mean, sd = _side_stats(result, side, metric, complete)
                if mean is None:
                    continue
                sem = err.get("sem")
                if isinstance(sem, int | float) and math.isfinite(sem):
                    any_sem = True
                    ax.add_patch(
                        Rectangle(
                            (x + 0.08, mean - sem), 0.24, 2 * sem, color="#9a9a9a", alpha=0.35, lw=0, zorder=1
                        )
                    )
                ax.errorbar(
                    [x + 0.2],
                    [mean],
                    yerr=None if sd is None else [sd],
                    fmt="s",
                    ms=5,
                    color="black",
                    capsize=4,
                    lw=1.2,
                    zorder=4,
                )
            ax.set_xticks([0, 1], tick_labels)
            ax.set_xlim(-0.55, 1.55)
            ax.grid(axis="x", visible=False)
            unit = metric_unit(result, metric)
            ax.set_ylabel(f"Peak per rep ({unit})" if unit else "Peak per rep")
            ax.set_title(_plain(metric_short_label(result, metric)))
        for ax in axes[len(metrics) :]:
            ax.set_visible(False)
        if not metrics:
            axes[0].set_visible(True)
            axes[0].set_axis_off()
            axes[0].text(
                0.5,
                0.5,
                "no rep values to show",
                transform=axes[0].transAxes,
                ha="center",
                va="center",
                color="#666666",
            )
        handles = [
            Line2D([], [], marker="o", color=SIDE_COLOURS_HEX["left"], ls="none", label="left rep peak"),
            Line2D([], [], marker="o", color=SIDE_COLOURS_HEX["right"], ls="none", label="right rep peak"),
            Line2D([], [], marker="s", color="black", ls="-", lw=1.2, label="mean ± SD"),
        ]
        if any_partial:
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    mfc="white",
                    mec="#555555",
                    ls="none",
                    label="partial rep (not in mean)",
                )
            )
        if any_sem:
            handles.append(Patch(color="#9a9a9a", alpha=0.45, label="mean ± SEM (measurement error)"))
        handles.extend(_reference_handles(ref_cohorts))
        fig.legend(handles=handles, loc="lower center", ncol=min(3, len(handles)), bbox_to_anchor=(0.5, 0.0))
        legend_rows = math.ceil(len(handles) / 3)
        _set_margins(
            fig,
            left_in=0.75,
            right_in=0.15,
            top_in=0.35,
            bottom_in=0.55 + 0.2 * legend_rows,
            hspace=0.55,
            wspace=0.55,
        )
        return _save(fig, path)


def write_plots(result: Mapping[str, Any], series: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the report's plots into ``out_dir``.

    Writes :data:`TIMESERIES_PLOT_NAME` and, when there are reps, :data:`REP_VALUES_PLOT_NAME`.
    A not-judgeable result shows no metric values, so nothing is written for it.

    Returns
    -------
    list of Path
        the files written, in report order (empty for a not-judgeable result).
    """
    out_dir = Path(out_dir)
    if not is_judgeable(result):
        return []
    paths = [plot_timeseries(result, series, out_dir / TIMESERIES_PLOT_NAME)]
    if result.get("reps"):
        paths.append(plot_rep_values(result, out_dir / REP_VALUES_PLOT_NAME))
    return paths


# ------------------------------------------------------------------------------------ gait
#: file name of the stance-normalised curves (:func:`plot_stance_curves`)
STANCE_CURVES_PLOT_NAME = "plot_stance_curves.svg"
#: the angle metrics drawn over the stance phase, in this order
_STANCE_METRICS = ("pelvic_drop_deg", "hip_adduction_deg", "trunk_lean_deg", "fppa_deg")


def stance_normalised(
    values: np.ndarray, time_s: np.ndarray, strike_s: float, off_s: float, n_points: int = 101
) -> np.ndarray:
    """One stance of a series resampled to ``n_points`` from foot strike (0 %) to foot off (100 %).

    Linear interpolation in time; NaN where the stance has no finite sample nearby.
    """
    t = np.asarray(time_s, dtype=float)
    v = np.asarray(values, dtype=float)
    grid = np.linspace(strike_s, off_s, n_points)
    ok = np.isfinite(v) & (t >= strike_s - 0.05) & (t <= off_s + 0.05)
    if ok.sum() < 2:
        return np.full(n_points, np.nan)
    out = np.interp(grid, t[ok], v[ok], left=np.nan, right=np.nan)
    return out


def plot_stance_curves(result: Mapping[str, Any], series: Mapping[str, Any], path: str | Path) -> Path:
    """Mean ± SD over the stances of each side, time-normalised to stance (0–100 %), left vs right.

    One panel per angle metric (pelvic drop, hip adduction, trunk lean, FPPA) that the series holds;
    the band is ± 1 SD over the complete stances of that side; the dotted vertical line marks
    mid-stance; the Trendelenburg rule's cut-off is drawn on the pelvic-drop panel.
    """
    path = Path(path)
    t = np.asarray(series["time_s"], dtype=float)
    stances = [s for s in result.get("stances", []) if s.get("status") == "complete"]
    metrics = [m for m in _STANCE_METRICS if any(f"{m}_{s}" in series for s in SIDES)]
    pct = np.linspace(0, 100, 101)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.2, 1.9 * len(metrics) + 0.6))
        axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
        _set_margins(fig, left_in=0.75, right_in=0.2, top_in=0.45, bottom_in=0.45, hspace=0.35)
        for ax, metric in zip(axes, metrics, strict=True):
            for side in SIDES:
                curves = np.array(
                    [
                        stance_normalised(series[f"{metric}_{side}"], t, s["foot_strike_s"], s["foot_off_s"])
                        for s in stances
                        if s["side"] == side and f"{metric}_{side}" in series
                    ]
                )
                if curves.size == 0 or not np.isfinite(curves).any():
                    continue
                with warnings.catch_warnings():  # all-NaN columns at the stance edges
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nanmean(curves, axis=0)
                    sd = np.nanstd(curves, axis=0, ddof=1) if len(curves) > 1 else np.zeros_like(mean)
                colour = SIDE_COLOURS_HEX[side]
                ax.plot(pct, mean, color=colour, lw=1.6, label=f"{side} stance (n = {len(curves)})")
                ax.fill_between(pct, mean - sd, mean + sd, color=colour, alpha=0.18, lw=0)
            ax.axvline(50, color="#888888", lw=0.8, ls=":")
            ax.axhline(0, color="#999999", lw=0.6)
            if metric == "pelvic_drop_deg":
                rule = (result.get("trendelenburg") or {}).get("rule") or {}
                if rule.get("cutoff") is not None:
                    ax.axhline(rule["cutoff"], color="#b03030", lw=0.9, ls="--",
                               label=_plain(f"Trendelenburg rule {rule['cutoff']:g}° at mid-stance"))
            ax.set_ylabel(_axis_label(result, metric))
            ax.legend(loc="upper right", fontsize=7, frameon=False, ncols=3)
        axes[-1].set_xlabel("stance (% from foot strike to foot off)")
        axes[-1].set_xlim(0, 100)
        fig.suptitle(_plain("Per-stance curves: mean ± SD over the stances of each leg"), fontsize=9.5)
        return _save(fig, path)


def write_gait_plots(result: Mapping[str, Any], series: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """The plots of a gait result: the stance-normalised curves (nothing for a not-judgeable result)."""
    out_dir = Path(out_dir)
    if not is_judgeable(result) or not result.get("stances"):
        return []
    return [plot_stance_curves(result, series, out_dir / STANCE_CURVES_PLOT_NAME)]
