"""Deterministic SVG plots of one analysis: metric time series and per-rep values (single-leg
tasks); stance-normalised curves, per-stance left–right values and a stance timeline (gait).

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
from typing import TYPE_CHECKING, Any, TypeGuard

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from medius.errors import OutputError
from medius.report._common import (
    GAIT_METRIC_ORDER,
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

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = [
    "REP_VALUES_PLOT_NAME",
    "STANCE_CURVES_PLOT_NAME",
    "STANCE_TIMELINE_PLOT_NAME",
    "STANCE_VALUES_PLOT_NAME",
    "TIMESERIES_PLOT_NAME",
    "plot_rep_values",
    "plot_stance_curves",
    "plot_stance_timeline",
    "plot_stance_values",
    "plot_timeseries",
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

_RC: dict[RcKeyType, Any] = {
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


def _nearest_index(t: np.ndarray, time_s: float | None) -> int | None:
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
                rep_key = _series_key(arrays, metric, side)
                if rep_key is None:
                    continue
                inside = (t >= start) & (t <= end)
                ax.plot(t[inside], arrays[rep_key][inside], color=SIDE_COLOURS_HEX[side], lw=1.7, zorder=2)
                i_bottom = _nearest_index(t, rep.get("bottom_s"))
                if i_bottom is not None and np.isfinite(arrays[rep_key][i_bottom]):
                    ax.plot(
                        [t[i_bottom]],
                        [arrays[rep_key][i_bottom]],
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
        handles: list[Artist] = [
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
    """The rep's value of ``metric`` by the statistic the summary uses (at the deepest point)."""
    from medius.protocols._single_leg import SUMMARY_STAT as SINGLE_LEG_SUMMARY_STAT

    value = ((rep.get("metrics") or {}).get(metric) or {}).get(SINGLE_LEG_SUMMARY_STAT.get(metric, "peak"))
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
                values = [v for r in side_reps if (v := _rep_peak(r, metric)) is not None]
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
        handles: list[Artist] = [
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
#: file names of the gait plots (:func:`write_gait_plots`)
STANCE_CURVES_PLOT_NAME = "plot_stance_curves.svg"
STANCE_VALUES_PLOT_NAME = "plot_stance_values.svg"
STANCE_TIMELINE_PLOT_NAME = "plot_stance_timeline.svg"
#: the angle metrics drawn over the stance phase, in this order
_STANCE_METRICS = GAIT_METRIC_ORDER
_CUTOFF_COLOUR = "#b03030"
_STAT_LABELS = {"peak": "peak in stance", "at_mid_stance": "at mid-stance"}


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


def _complete_stances(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        s
        for s in result.get("stances") or []
        if s.get("status") == "complete"
        and s.get("side") in SIDES
        and _is_number(s.get("foot_strike_s"))
        and _is_number(s.get("foot_off_s"))
    ]


def _is_number(x: Any) -> TypeGuard[float]:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _trendelenburg_cutoff(result: Mapping[str, Any]) -> float | None:
    rule = (result.get("trendelenburg") or {}).get("rule") or {}
    cut = rule.get("cutoff")
    return float(cut) if _is_number(cut) else None


def _metric_sources(result: Mapping[str, Any]) -> dict[str, str]:
    sources: dict[str, str] = {}
    for st in result.get("stances") or []:
        for k, v in (st.get("metric_sources") or {}).items():
            sources.setdefault(k, str(v))
    return sources


def _gait_short_label(result: Mapping[str, Any], metric: str) -> str:
    label = metric_short_label(result, metric)
    return label.replace(" (2D)", "") if _metric_sources(result).get(metric, "").startswith("3D") else label


def _double_support_pct(result: Mapping[str, Any], side: str) -> tuple[float, float] | None:
    """Mean end of the first and start of the second double support of ``side``'s stances, in % of
    stance (walking: the other foot's foot off after this strike, its foot strike before this foot off)."""
    other = "right" if side == "left" else "left"
    ev = [e for e in result.get("events") or [] if e.get("side") == other and _is_number(e.get("time_s"))]
    offs = sorted(float(e["time_s"]) for e in ev if e.get("kind") == "foot_off")
    strikes = sorted(float(e["time_s"]) for e in ev if e.get("kind") == "foot_strike")
    first, second = [], []
    for st in _complete_stances(result):
        if st["side"] != side:
            continue
        a, b = float(st["foot_strike_s"]), float(st["foot_off_s"])
        if b <= a:
            continue
        o = [x for x in offs if a <= x <= b]
        s = [x for x in strikes if a <= x <= b]
        if o and s and o[0] < s[-1]:
            first.append(100 * (o[0] - a) / (b - a))
            second.append(100 * (s[-1] - a) / (b - a))
    if not first:
        return None
    return float(np.mean(first)), float(np.mean(second))


def _mean_sd_curves(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # all-NaN columns at the stance edges
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, axis=0)
        sd = np.nanstd(curves, axis=0, ddof=1) if len(curves) > 1 else np.zeros_like(mean)
    return mean, sd


def plot_stance_curves(result: Mapping[str, Any], series: Mapping[str, Any], path: str | Path) -> Path:
    """Mean ± SD over the stances of each side, time-normalised to stance (0–100 %), left vs right.

    One panel per angle metric (pelvic drop, hip adduction, trunk lean, FPPA) that the series holds;
    each curve is the mean over the complete stances of that side and the band ± 1 SD; the dotted
    vertical line marks mid-stance (50 %); grey bands are the double-support phases (walking: the
    other foot's foot off and foot strike, averaged over the stances); the Trendelenburg rule's
    cut-off is drawn on the pelvic-drop panel at mid-stance. For lab trials the same means on the
    frontal projection (series keys ``frontal_2d:<metric>_<side>``) are thin dashed lines where
    they are a different measure (pelvic drop, hip adduction).

    Parameters
    ----------
    result
        a gait result dict (``stances``, ``events``, ``trendelenburg``).
    series
        ``time_s`` and ``<metric>_<side>`` arrays (each side as the stance leg).
    path
        the SVG file to write.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    t, arrays = _check_series(series)
    stances = _complete_stances(result)
    metrics = [m for m in _STANCE_METRICS if any(f"{m}_{s}" in arrays for s in SIDES)]
    sources = _metric_sources(result)
    cutoff = _trendelenburg_cutoff(result)
    pct = np.linspace(0, 100, 101)
    with matplotlib.rc_context(_RC):
        n = max(1, len(metrics))
        ncols = 2 if n > 1 else 1
        nrows = math.ceil(n / ncols)
        fig = Figure(figsize=(8.0, 2.45 * nrows + 0.9))
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        counts = {s: sum(1 for st in stances if st["side"] == s) for s in SIDES}
        both = [d for d in (_double_support_pct(result, s) for s in SIDES) if d is not None]
        ds = (float(np.mean([d[0] for d in both])), float(np.mean([d[1] for d in both]))) if both else None
        any_2d = any_ds = False
        for ax, metric in zip(axes, metrics, strict=False):
            if ds is not None:
                any_ds = True
                for lo, hi in ((0.0, ds[0]), (ds[1], 100.0)):
                    ax.axvspan(lo, hi, color="#9a9a9a", alpha=0.12, lw=0, zorder=0)
            ax.axvline(50, color="#888888", lw=0.8, ls=":", zorder=0.7)
            ax.axhline(0, color=_ZERO_COLOUR, lw=0.6, zorder=0.6)
            for side in SIDES:
                key = f"{metric}_{side}"
                if key not in arrays:
                    continue
                curves = np.array(
                    [
                        stance_normalised(arrays[key], t, st["foot_strike_s"], st["foot_off_s"])
                        for st in stances
                        if st["side"] == side
                    ]
                )
                if curves.size == 0 or not np.isfinite(curves).any():
                    continue
                mean, sd = _mean_sd_curves(curves)
                colour = SIDE_COLOURS_HEX[side]
                ax.fill_between(pct, mean - sd, mean + sd, color=colour, alpha=0.18, lw=0, zorder=1)
                ax.plot(pct, mean, color=colour, lw=1.7, zorder=3)
                key2 = f"frontal_2d:{metric}_{side}"
                if key2 in arrays and sources.get(metric, "").startswith("3D"):
                    c2 = np.array(
                        [
                            stance_normalised(arrays[key2], t, st["foot_strike_s"], st["foot_off_s"])
                            for st in stances
                            if st["side"] == side
                        ]
                    )
                    if np.isfinite(c2).any():
                        any_2d = True
                        ax.plot(pct, _mean_sd_curves(c2)[0], color=colour, lw=1.0, ls="--", zorder=2)
            if metric == "pelvic_drop_deg" and cutoff is not None:
                ax.axhline(cutoff, color=_CUTOFF_COLOUR, lw=0.9, ls="--", zorder=2.5)
                ax.plot([50], [cutoff], marker="o", ms=4, color=_CUTOFF_COLOUR, zorder=4)
                ax.annotate(
                    _plain(f"Trendelenburg cut-off {cutoff:g}°, at mid-stance"),
                    xy=(1.0, cutoff), xycoords=ax.get_yaxis_transform(), xytext=(-2, 3),
                    textcoords="offset points", fontsize=6.5, color=_CUTOFF_COLOUR, ha="right",
                    va="bottom", zorder=4,
                )
            ax.set_xlim(0, 100)
            ax.set_xticks([0, 25, 50, 75, 100])
            ax.set_ylabel(_plain(f"{_gait_short_label(result, metric)} ({metric_unit(result, metric)})"))
            sign = (result.get("metrics") or {}).get(metric, {}).get("sign")
            _panel_title(
                ax,
                _gait_short_label(result, metric) if metric != "fppa_deg" else metric_label(result, metric),
                textwrap.shorten(sign, 62 if ncols > 1 else 125, placeholder=" …") if sign else None,
            )
        for ax in axes[len(metrics):]:
            ax.set_visible(False)
        for ax in axes[max(0, len(metrics) - ncols): len(metrics)]:
            ax.set_xlabel("% of stance (foot strike → foot off)")
        if not metrics:
            axes[0].set_visible(True)
            axes[0].text(0.5, 0.5, "no stance curves to show", transform=axes[0].transAxes, ha="center",
                         va="center", color="#666666")
        handles: list[Artist] = [
            Line2D([], [], color=SIDE_COLOURS_HEX[s], lw=1.7, label=f"{s} stance, mean ± SD (n = {counts[s]})")
            for s in SIDES
        ]
        handles.append(Line2D([], [], color="#888888", lw=0.8, ls=":", label="mid-stance (50 %)"))
        if any_ds:
            handles.append(Patch(color="#9a9a9a", alpha=0.3, label="double support (mean over the stances)"))
        if any_2d:
            handles.append(Line2D([], [], color="#555555", lw=1.0, ls="--", label="lab: frontal-2D mean"))
        if cutoff is not None and "pelvic_drop_deg" in metrics:
            handles.append(Line2D([], [], color=_CUTOFF_COLOUR, lw=0.9, ls="--", label="Trendelenburg cut-off"))
        ncol = 3
        fig.legend(handles=handles, loc="upper center", ncol=ncol, bbox_to_anchor=(0.5, 1.0))
        top_in = 0.55 + 0.19 * math.ceil(len(handles) / ncol)
        _set_margins(fig, left_in=0.7, right_in=0.15, top_in=top_in, bottom_in=0.5, hspace=0.62, wspace=0.28)
        return _save(fig, path)


def _stance_stat(stance: Mapping[str, Any], metric: str, stat: str, block: str = "metrics") -> float | None:
    if metric in STANCE_SCALAR_NAMES:
        v = (stance.get("values") or {}).get(metric)
    else:
        v = ((stance.get(block) or {}).get(metric) or {}).get(stat)
    return float(v) if _is_number(v) else None


#: the per-stance scalars a left–right panel can show
STANCE_SCALAR_NAMES = ("step_width_pct", "step_width_cm", "stance_time_s", "step_time_s")


def _value_panels(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(metric, statistic) of each panel of :func:`plot_stance_values`, in order."""
    stances = _complete_stances(result)
    stat_of = result.get("summary_statistic") or {}
    panels: list[tuple[str, str]] = []
    for metric in _STANCE_METRICS:
        stat = stat_of.get(metric) or ("at_mid_stance" if metric == "fppa_deg" else "peak")
        if any(_stance_stat(s, metric, stat) is not None for s in stances):
            panels.append((metric, stat))
        if (
            metric == "pelvic_drop_deg"
            and stat != "at_mid_stance"
            and any(_stance_stat(s, metric, "at_mid_stance") is not None for s in stances)
        ):
            panels.append((metric, "at_mid_stance"))
    width = "step_width_cm" if any(_stance_stat(s, "step_width_cm", "") is not None for s in stances) else "step_width_pct"
    if any(_stance_stat(s, width, "") is not None for s in stances):
        panels.append((width, "per stance"))
    return panels


def _summary_mean_sd(result: Mapping[str, Any], side: str, metric: str, stat: str, block: str,
                     values: Sequence[float]) -> tuple[float | None, float | None]:
    summary = result.get("summary") or {}
    if block == "frontal_2d":
        summary = (result.get("frontal_2d") or {}).get("summary") or {}
    stats = (summary.get(side) or {}).get(metric) or {}
    if metric not in STANCE_SCALAR_NAMES:
        stats = stats.get(stat) or {}
    mean, sd = stats.get("mean"), stats.get("sd")
    if not _is_number(mean) and values:
        mean = float(np.mean(values))
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return (float(mean) if _is_number(mean) else None), (float(sd) if _is_number(sd) else None)


def plot_stance_values(result: Mapping[str, Any], path: str | Path) -> Path:
    """Left–right comparison of the per-stance values, one panel per value, and save it as SVG.

    Panels: each angle metric by its summary statistic (``result["summary_statistic"]``: the peak
    in stance, or the value at mid-stance for the FPPA), the pelvic drop at mid-stance (with the
    Trendelenburg rule's cut-off), and the step width. In each, one dot per complete stance of each
    side, the side's mean ± SD (black), a grey mean ± SEM box where the registry gives the
    measurement error, and the registry's reference bands for that metric (on the panel of its
    summary statistic). For lab trials each side shows the 3D values (filled dots) beside the
    frontal-2D values of the same stances (hollow diamonds, joined to their 3D value) wherever the
    two are different measures.

    Parameters
    ----------
    result
        a gait result dict.
    path
        the SVG file to write.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    stances = _complete_stances(result)
    panels = _value_panels(result)
    ranges = interpretation_ranges(result)
    errors = measurement_errors(result)
    stat_of = result.get("summary_statistic") or {}
    sources = _metric_sources(result)
    cutoff = _trendelenburg_cutoff(result)
    lab = bool(result.get("frontal_2d")) or any("frontal_2d" in s for s in stances)
    with matplotlib.rc_context(_RC):
        ncols = min(3, max(1, len(panels)))
        nrows = max(1, math.ceil(len(panels) / ncols))
        fig = Figure(figsize=(2.7 * ncols + 0.4, 2.55 * nrows + 0.75))
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        ref_cohorts: set[str | None] = set()
        any_sem = any_2d = any_cut = False
        for ax, (metric, stat) in zip(axes, panels, strict=False):
            scalar = metric in STANCE_SCALAR_NAMES
            if not scalar:
                ax.axhline(0.0, color=_ZERO_COLOUR, lw=0.8, zorder=0.6)
            if stat == stat_of.get(metric):
                ref_cohorts |= _draw_reference(ax, ranges.get(metric))
            if metric == "pelvic_drop_deg" and stat == "at_mid_stance" and cutoff is not None:
                any_cut = True
                ax.axhline(cutoff, color=_CUTOFF_COLOUR, lw=1.0, ls="--", zorder=0.8)
            paired = lab and not scalar and sources.get(metric, "3D").startswith("3D")
            blocks = ("metrics", "frontal_2d") if paired else ("metrics",)
            err = errors.get(metric, {}) if stat == stat_of.get(metric) else {}
            tick_labels = []
            for x, side in enumerate(SIDES):
                side_st = [s for s in stances if s["side"] == side]
                per_block = {b: [_stance_stat(s, metric, stat, b) for s in side_st] for b in blocks}
                n = sum(v is not None for v in per_block["metrics"])
                tick_labels.append(f"{side.capitalize()}\nn={n}" + ("\n3D    2D" if paired else ""))
                colour = SIDE_COLOURS_HEX[side]
                k = len(side_st)
                jitter = np.linspace(-0.07, 0.07, k) if k > 1 else np.zeros(max(k, 1))
                centres = {"metrics": x - 0.2, "frontal_2d": x + 0.2} if paired else {"metrics": x - 0.1}
                if paired:
                    any_2d = True
                    xs_, ys_ = [], []
                    for j, (v3, v2) in enumerate(zip(per_block["metrics"], per_block["frontal_2d"], strict=True)):
                        if v3 is not None and v2 is not None:
                            xs_ += [centres["metrics"] + jitter[j], centres["frontal_2d"] + jitter[j], np.nan]
                            ys_ += [v3, v2, np.nan]
                    if xs_:
                        ax.plot(xs_, ys_, color=colour, lw=0.5, alpha=0.45, zorder=2)
                for b in blocks:
                    vals = per_block[b]
                    xs = [centres[b] + jitter[j] for j, v in enumerate(vals) if v is not None]
                    ys = [v for v in vals if v is not None]
                    if ys:
                        ax.plot(xs, ys, ls="none", zorder=3, alpha=0.9,
                                marker="o" if b == "metrics" else "D", ms=5 if b == "metrics" else 4.5,
                                mfc=colour if b == "metrics" else "white", mec=colour, mew=1.1)
                    mean, sd = _summary_mean_sd(result, side, metric, stat, b, ys)
                    if mean is None:
                        continue
                    mx = centres[b] + (0.13 if b == "metrics" and not paired else 0.0)
                    if b == "metrics" and paired:
                        mx = centres[b] - 0.14
                    if b == "frontal_2d":
                        mx = centres[b] + 0.14
                    sem = err.get("sem")
                    if b == "metrics" and _is_number(sem):
                        any_sem = True
                        ax.add_patch(Rectangle((mx - 0.07, mean - sem), 0.14, 2 * sem, color="#9a9a9a",
                                               alpha=0.35, lw=0, zorder=1))
                    ax.errorbar([mx], [mean], yerr=None if sd is None else [sd], fmt="s" if b == "metrics" else "D",
                                ms=4.5, color="black", mfc="black" if b == "metrics" else "white", capsize=3.5,
                                lw=1.1, zorder=4)
            ax.set_xticks([0, 1], tick_labels)
            ax.set_xlim(-0.6, 1.6)
            ax.grid(axis="x", visible=False)
            unit = metric_unit(result, metric)
            if scalar:
                title = metric_label(result, metric)
            else:
                title = f"{_gait_short_label(result, metric)}, {_STAT_LABELS.get(stat, stat)}"
            ax.set_title(_plain(title), fontsize=8.5)
            ax.set_ylabel(_plain(f"per stance ({unit})" if unit else "per stance"))
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        if not panels:
            axes[0].set_visible(True)
            axes[0].set_axis_off()
            axes[0].text(0.5, 0.5, "no stance values to show", transform=axes[0].transAxes, ha="center",
                         va="center", color="#666666")
        handles: list[Artist] = [
            Line2D([], [], marker="o", color=SIDE_COLOURS_HEX[s], ls="none", label=f"{s} stance" + (" (3D)" if lab else ""))
            for s in SIDES
        ]
        if any_2d:
            handles.append(Line2D([], [], marker="D", mfc="white", mec="#555555", ls="none",
                                  label="same stance, frontal 2D"))
        handles.append(Line2D([], [], marker="s", color="black", ls="-", lw=1.1, label="mean ± SD"))
        if any_sem:
            handles.append(Patch(color="#9a9a9a", alpha=0.45, label="mean ± SEM (measurement error)"))
        if any_cut:
            handles.append(Line2D([], [], color=_CUTOFF_COLOUR, lw=1.0, ls="--", label="Trendelenburg cut-off"))
        handles.extend(_reference_handles(ref_cohorts))
        fig.legend(handles=handles, loc="lower center", ncol=min(3, len(handles)), bbox_to_anchor=(0.5, 0.0))
        legend_rows = math.ceil(len(handles) / 3)
        _set_margins(fig, left_in=0.7, right_in=0.15, top_in=0.3,
                     bottom_in=(0.75 if lab else 0.6) + 0.19 * legend_rows, hspace=0.75 if lab else 0.6, wspace=0.5)
        return _save(fig, path)


def plot_stance_timeline(result: Mapping[str, Any], series: Mapping[str, Any], path: str | Path) -> Path:
    """Pelvic drop and hip adduction over the whole recording with the stances shaded.

    Each panel shows both legs' values faintly (each computed as if that leg were the stance leg)
    and, bold, each leg's values inside its own stances; the stances are shaded in the side's colour
    (left in the lower half, right in the upper half, so that double support shows as overlap) and
    labelled ``L1``, ``R1`` ...; a dot marks mid-stance.

    Parameters
    ----------
    result
        a gait result dict.
    series
        ``time_s`` and ``<metric>_<side>`` arrays.
    path
        the SVG file to write.

    Returns
    -------
    Path
        ``path``.
    """
    from medius.report._common import stance_labels

    path = Path(path)
    t, arrays = _check_series(series)
    stances = _complete_stances(result)
    labels = stance_labels(stances)
    metrics = [m for m in ("pelvic_drop_deg", "hip_adduction_deg") if any(f"{m}_{s}" in arrays for s in SIDES)]
    cutoff = _trendelenburg_cutoff(result)
    with matplotlib.rc_context(_RC):
        n = max(1, len(metrics))
        fig = Figure(figsize=(8.0, 1.9 * n + 0.9))
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        for ax, metric in zip(axes, metrics, strict=False):
            ax.axhline(0.0, color=_ZERO_COLOUR, lw=0.7, zorder=0.6)
            for side in SIDES:
                key = f"{metric}_{side}"
                if key in arrays:
                    ax.plot(t, arrays[key], color=SIDE_COLOURS_HEX[side], lw=0.7, alpha=0.3, zorder=1)
            for side in SIDES:
                lower = side == "left"
                own = [st for st in stances if st["side"] == side]
                spans = [(float(st["foot_strike_s"]), float(st["foot_off_s"]) - float(st["foot_strike_s"])) for st in own]
                if spans:
                    ax.broken_barh(spans, (0.0 if lower else 0.5, 0.5), transform=ax.get_xaxis_transform(),
                                   color=SIDE_COLOURS_HEX[side], alpha=0.09, lw=0, zorder=0)
                key = f"{metric}_{side}"
                if key not in arrays or not own:
                    continue
                inside = np.zeros(t.size, dtype=bool)
                mids = []
                for st in own:
                    a, b = float(st["foot_strike_s"]), float(st["foot_off_s"])
                    inside |= (t >= a - 1e-9) & (t <= b + 1e-9)
                    i_mid = _nearest_index(t, st.get("mid_stance_s"))
                    if i_mid is not None and np.isfinite(arrays[key][i_mid]):
                        mids.append(i_mid)
                # one line per side: NaN outside its stances (and between two stances) breaks it
                y = np.where(inside, arrays[key], np.nan)
                starts = np.flatnonzero(np.diff(inside.astype(int)) == 1) + 1
                y[starts[starts > 0] - 1] = np.nan
                ax.plot(t, y, color=SIDE_COLOURS_HEX[side], lw=1.6, zorder=2)
                if mids:
                    ax.plot(t[mids], arrays[key][mids], marker="o", ms=3.8, mfc=SIDE_COLOURS_HEX[side],
                            mec="black", mew=0.6, ls="none", zorder=3)
            for st, label in zip(stances, labels, strict=True):
                side = st["side"]
                a = float(st["foot_strike_s"])
                lower = side == "left"
                if ax is axes[0]:
                    ax.annotate(label, xy=(a, 1.0 if not lower else 0.0), xycoords=ax.get_xaxis_transform(),
                                xytext=(2, -2 if not lower else 2), textcoords="offset points", ha="left",
                                va="top" if not lower else "bottom", fontsize=6.5, fontweight="bold",
                                color=SIDE_COLOURS_HEX[side], zorder=4)
            if metric == "pelvic_drop_deg" and cutoff is not None:
                ax.axhline(cutoff, color=_CUTOFF_COLOUR, lw=0.8, ls="--", zorder=0.8)
            ax.set_ylabel(_plain(f"{_gait_short_label(result, metric)} ({metric_unit(result, metric)})"))
        axes[-1].set_xlabel("Time (s)")
        if t.size:
            axes[-1].set_xlim(float(t[0]), float(t[-1]) if t[-1] > t[0] else float(t[0]) + 1.0)
        handles: list[Artist] = [
            Line2D([], [], color=SIDE_COLOURS_HEX["left"], lw=1.6, label="left stance (L)"),
            Line2D([], [], color=SIDE_COLOURS_HEX["right"], lw=1.6, label="right stance (R)"),
            Line2D([], [], color="#888888", lw=0.7, alpha=0.6, label="outside the leg's stances"),
            Line2D([], [], marker="o", mfc="white", mec="black", ls="none", label="mid-stance"),
        ]
        if cutoff is not None and "pelvic_drop_deg" in metrics:
            handles.append(Line2D([], [], color=_CUTOFF_COLOUR, lw=0.8, ls="--", label="Trendelenburg cut-off"))
        fig.legend(handles=handles, loc="upper center", ncol=min(5, len(handles)), bbox_to_anchor=(0.5, 1.0))
        _set_margins(fig, left_in=0.7, right_in=0.15, top_in=0.4 + 0.19 * math.ceil(len(handles) / 5),
                     bottom_in=0.45, hspace=0.18)
        return _save(fig, path)


def write_gait_plots(result: Mapping[str, Any], series: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the plots of a gait result into ``out_dir``.

    :data:`STANCE_CURVES_PLOT_NAME` (the stance-normalised curves), :data:`STANCE_VALUES_PLOT_NAME`
    (the left–right comparison of the per-stance values) and :data:`STANCE_TIMELINE_PLOT_NAME` (the
    whole recording with the stances), in report order. A not-judgeable result (or one without
    complete stances) shows no metric values, so nothing is written for it.

    Returns
    -------
    list of Path
        the files written (empty for a not-judgeable result).
    """
    out_dir = Path(out_dir)
    if not is_judgeable(result) or not _complete_stances(result):
        return []
    return [
        plot_stance_curves(result, series, out_dir / STANCE_CURVES_PLOT_NAME),
        plot_stance_values(result, out_dir / STANCE_VALUES_PLOT_NAME),
        plot_stance_timeline(result, series, out_dir / STANCE_TIMELINE_PLOT_NAME),
    ]
