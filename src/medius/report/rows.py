"""What every view of a result shows, from the typed result and the metric specification.

The HTML report, the web result page, the visit PDF, the CSV exports and the batch cohort tables
all take their rows and columns from here, so a metric the analysis produced (a metric of the
task's specification with a value in the result) cannot be missing from one of them:

* :func:`summary_rows`: the per-side table (mean ± SD (n), left − right): each curve metric by
  each statistic the summary holds (gait: peak and at mid-stance; single-leg: at the deepest
  point), each per-stance value, and trial values (cadence);
* :func:`unit_columns`: the per-rep / per-stance table's value columns;
* :func:`record_values`: the values of one rep or stance by metric (the cohort records);
* :func:`interpretation_items`: the comparisons with published values, one per metric and side,
  each naming both, the same sentence never twice;
* :func:`trendelenburg_lines`: the Trendelenburg-pattern rule and each side's verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from medius.analysis.result import AnalysisResult, MetricValue, Rep, Stance, Stat
from medius.protocols.metric_spec import METRIC_SPECS, MetricSpec
from medius.report._common import format_value

__all__ = [
    "STAT_LABELS",
    "InterpretationItem",
    "RecordValue",
    "SummaryRow",
    "UnitColumn",
    "decimals",
    "interpretation_items",
    "record_values",
    "summary_rows",
    "trendelenburg_lines",
    "unit_columns",
]

STAT_LABELS = {"peak": "peak", "at_bottom": "at the deepest point", "at_mid_stance": "at mid-stance",
               "mean": "mean", "value": "trial"}
SIDES = ("left", "right")


def decimals(metric: str) -> int:
    """Digits a view shows a metric with (times in s: 2, everything else: 1)."""
    s = METRIC_SPECS.get(metric)
    return 2 if s is not None and s.unit == "s" else 1


@dataclass(frozen=True)
class SummaryRow:
    metric: str
    statistic: str
    label: str
    unit: str
    digits: int
    left: Stat
    right: Stat
    left_minus_right: float | None
    #: a trial value (cadence): one number, not per side
    trial_value: float | None = None
    is_trial: bool = False
    #: the statistic the summary and the interpretation use
    headline: bool = True
    #: the label names the statistic already (a gait curve's: "... (peak)")
    label_has_statistic: bool = False

    def cell(self, side: str) -> str:
        v = self.left if side == "left" else self.right
        return f"{format_value(v.mean, self.digits)} ± {format_value(v.sd, self.digits)} ({v.n})"

    @property
    def difference(self) -> str:
        return format_value(self.left_minus_right, self.digits)

    @property
    def trial(self) -> str:
        return format_value(self.trial_value, self.digits)

    @property
    def title(self) -> str:
        return f"{self.label} [{self.unit}]" if self.unit else self.label

    @property
    def named(self) -> str:
        """The label naming its statistic too (a gait curve's label already does: :func:`_stat_label`;
        a single-leg table names it in its header), for a view that shows rows on their own."""
        if self.label_has_statistic or self.is_trial or self.statistic in ("mean", "value"):
            return self.label
        return f"{self.label}, {STAT_LABELS.get(self.statistic, self.statistic)}"


def _stat_label(res: AnalysisResult, s: MetricSpec, statistic: str) -> str:
    base = res.label(s.name)
    if res.is_gait and s.kind == "curve":
        return f"{base} ({STAT_LABELS[statistic]})"
    return base


def summary_rows(res: AnalysisResult) -> list[SummaryRow]:
    """The per-side summary table of a judgeable result (see the module docstring)."""
    rows: list[SummaryRow] = []
    if not res.judgeable:
        return rows
    for s in res.spec_metrics("curve", "stance_value", "trial"):
        m = s.name
        if s.kind == "trial":
            value = res.gait.cadence_steps_per_min if res.gait is not None and m == "cadence_steps_per_min" else None
            rows.append(SummaryRow(m, "value", res.label(m), res.unit_symbol(m), decimals(m), Stat(), Stat(), None,
                                   trial_value=value, is_trial=True))
            continue
        if m not in res.summary.left and m not in res.summary.right:
            continue
        stats = [res.statistic_of(m)] if s.kind == "curve" else ["mean"]
        if s.kind == "curve" and res.is_gait:
            stats = ["peak", "at_mid_stance"]
        for stat in stats:
            headline = s.kind != "curve" or stat == res.statistic_of(m)
            left = res.summary.get("left", m).of(None if stat == "mean" else stat)
            right = res.summary.get("right", m).of(None if stat == "mean" else stat)
            if headline:
                diff = res.summary.left_minus_right(m)
            else:
                diff = (round(left.mean - right.mean, 2)
                        if left.mean is not None and right.mean is not None else None)
            rows.append(SummaryRow(m, stat, _stat_label(res, s, stat), res.unit_symbol(m), decimals(m),
                                   left, right, diff, headline=headline,
                                   label_has_statistic=res.is_gait and s.kind == "curve"))
    return rows


@dataclass(frozen=True)
class UnitColumn:
    metric: str
    statistic: str
    title: str
    digits: int
    get: Callable[[Rep | Stance], float | None]

    def cell(self, unit: Rep | Stance) -> str:
        return format_value(self.get(unit), self.digits)


def _curve_getter(metric: str, statistic: str) -> Callable[[Rep | Stance], float | None]:
    def get(u: Rep | Stance) -> float | None:
        v = u.metrics.get(metric)
        return v.statistic(statistic) if v is not None else None
    return get


def _value_getter(metric: str) -> Callable[[Rep | Stance], float | None]:
    def get(u: Rep | Stance) -> float | None:
        return u.values.get(metric) if isinstance(u, Stance) else None
    return get


def unit_columns(res: AnalysisResult) -> list[UnitColumn]:
    """The value columns of the per-rep / per-stance table: each curve metric by each per-unit
    statistic (the summary statistic first), then the per-stance values."""
    cols: list[UnitColumn] = []
    units = res.units
    for s in res.spec_metrics("curve"):
        if not any(s.name in u.metrics for u in units):
            continue
        for stat in res.unit_statistics():
            cols.append(UnitColumn(s.name, stat, f"{_stat_label_short(res, s.name)} {STAT_LABELS[stat]} "
                                   f"[{res.unit_symbol(s.name)}]", decimals(s.name), _curve_getter(s.name, stat)))
    for s in res.spec_metrics("stance_value"):
        cols.append(UnitColumn(s.name, "value", f"{res.label(s.name)} [{res.unit_symbol(s.name)}]",
                               decimals(s.name), _value_getter(s.name)))
    return cols


def _stat_label_short(res: AnalysisResult, metric: str) -> str:
    return res.label(metric)


@dataclass(frozen=True)
class RecordValue:
    metric: str
    value: float | None
    value_field: str
    peak_s: float | None = None
    at_bottom: float | None = None


def record_values(res: AnalysisResult, unit: Rep | Stance) -> Iterator[RecordValue]:
    """The values of one rep or stance by metric: each metric as the unit lists it, by its headline
    statistic (the result's ``summary_statistic``; else ``peak``, ``value``, ``mean``; a bare number
    as it is), then the derived metrics of the task (``pelvic_drop_midstance_deg``) and the
    per-stance values of the specification."""
    for m, v in unit.metrics.items():
        if not isinstance(v, MetricValue):
            yield RecordValue(m, v if isinstance(v, int | float) and not isinstance(v, bool) else None, "value")
            continue
        for f in (res.statistic_of(m), "peak", "value", "mean"):
            got = v.statistic(f) if f in ("peak", "at_bottom", "at_mid_stance") else v.extra.get(f)
            if got is not None or f in v.extra or (f == res.statistic_of(m) and f in (v.keys_ or ())):
                yield RecordValue(m, got, f, v.peak_s, v.at_bottom)
                break
        else:
            yield RecordValue(m, None, "", v.peak_s, v.at_bottom)
    if not isinstance(unit, Stance):
        return
    for s in res.spec_metrics("derived"):
        if s.derived_from is not None:
            src = unit.metrics.get(s.derived_from[0])
            if isinstance(src, MetricValue):
                yield RecordValue(s.name, src.statistic(s.derived_from[1]), s.derived_from[1])
    for s in res.spec_metrics("stance_value"):
        if s.name in unit.values:
            yield RecordValue(s.name, unit.values[s.name], "value")


@dataclass(frozen=True)
class InterpretationItem:
    metric: str
    side: str
    title: str
    texts: tuple[str, ...]
    provisional: bool


def interpretation_items(res: AnalysisResult) -> list[InterpretationItem]:
    """One item per metric and side (report order), naming both; a sentence already given for
    the same metric on the other side is given once, for both sides."""
    order = {s.name: i for i, s in enumerate(res.spec_metrics())}
    groups: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for e in res.interpretation:
        groups.setdefault((e.metric, e.side), []).append((e.text, e.provisional))
    items: list[InterpretationItem] = []
    done: set[tuple[str, str]] = set()
    for metric, side in sorted(groups, key=lambda k: (order.get(k[0], 99), k[1])):
        if (metric, side) in done:
            continue
        entries = groups[(metric, side)]
        other = "right" if side == "left" else "left"
        same = groups.get((metric, other))
        sides = f"{side} stance"
        if same is not None and [t for t, _ in same] == [t for t, _ in entries]:
            sides = "both stance legs"
            done.add((metric, other))
        texts = tuple(dict.fromkeys(t for t, _ in entries))
        items.append(InterpretationItem(metric, side, f"{res.label(metric)}, {sides}", texts,
                                        any(p for _, p in entries)))
        done.add((metric, side))
    return items


def trendelenburg_lines(res: AnalysisResult) -> list[str]:
    """The Trendelenburg-pattern rule and each side's verdict (empty when the result has none)."""
    tr = res.trendelenburg
    if not res.judgeable or tr is None or tr.rule is None:
        return []
    lines = [tr.rule.text]
    for side in SIDES:
        sd = tr.side(side)
        if sd is None:
            continue
        if sd.text:
            lines.append(sd.text[:1].upper() + sd.text[1:])
            continue
        verdict = {True: "flagged", False: "not flagged", None: "not measured"}[sd.flag]
        lines.append(f"{side.capitalize()} stance: {verdict} (mean pelvic drop at mid-stance "
                     f"{format_value(sd.value, 1, '°')}).")
    return lines
