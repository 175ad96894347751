"""The 30-second summary that opens every movement report and result page.

Per stance leg: the judgement (value ± its measurement error, against the reference that matters:
the healthy group of the same task first, the patient group after), what such a value is
associated with, and what to do next. Reads the typed result
(:class:`medius.analysis.result.AnalysisResult`); computes nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medius.analysis.result import AnalysisResult, Interpretation
from medius.registry.measured import difference_beyond, difference_error
from medius.report._common import SIDES, finite_number, format_value, unit_symbol

__all__ = ["key_summary"]



def _pm(err: Mapping[str, Any] | None, unit: str, measured: Mapping[str, Any] | None = None) -> str:
    """`` (± 6.2° measured by medius)`` from medius' own measured error for this kind of recording
    (the validation grid, :mod:`medius.registry.measured`), else `` (± 3.0°)`` from the literature's
    SEM, or nothing."""
    if measured and finite_number(measured.get("value")):
        return f" (± {format_value(measured['value'], 1, unit)} measured by medius)"
    if not err or not finite_number(err.get("sem")):
        return ""
    u = unit_symbol(err.get("unit")) if err.get("unit") else unit
    return f" (± {format_value(err['sem'], 1, u)})"


def _lower_first(label: str) -> str:
    """``"Knee FPPA"`` -> ``"knee FPPA"``; an acronym first word stays as it is."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def _range_text(entry: Interpretation, unit: str) -> str:
    rng = entry.extra.get("reference_range") or entry.extra.get("band")
    if isinstance(rng, list | tuple) and len(rng) == 2 and finite_number(rng[0]) and finite_number(rng[1]):
        return f"{format_value(rng[0], 1, unit)} to {format_value(rng[1], 1, unit)}"
    return ""


def _group(entry: Interpretation) -> str:
    """A short population name from the registry text: "30 asymptomatic women" and the like."""
    text = entry.text or ""
    src = entry.source or ""
    if src and f"of {src} (" in text:
        inner = text.split(f"of {src} (", 1)[1]
        return inner.split(";")[0].split(")")[0].strip()
    return "the reference group"


_VERDICT_WORD = {"above": "above", "below": "below", "within": "within", "uncertain": "uncertain"}


def _single_leg_lines(res: AnalysisResult) -> dict[str, Any]:
    sides: list[dict[str, Any]] = []
    associations: list[str] = []
    flagged_any = False
    for side in SIDES:
        lines: list[dict[str, Any]] = []
        also: list[str] = []
        by_metric: dict[str, list[Interpretation]] = {}
        for e in res.interpretation:
            if e.side == side and e.metric:
                by_metric.setdefault(e.metric, []).append(e)
        for metric, items in by_metric.items():
            unit = res.unit_symbol(metric)
            mean = res.summary.side(side)[metric].mean if metric in res.summary.side(side) else None
            value = mean if finite_number(mean) else items[0].value
            judged = [e for e in items if e.verdict in _VERDICT_WORD]
            label = res.label(metric)
            if not judged:
                if finite_number(value):
                    also.append(f"{_lower_first(label)} {format_value(value, 1, unit)}")
                continue
            # the comparison that matters: the healthy group of the same task, then the rest
            judged.sort(
                key=lambda e: (e.extra.get("task_match") not in (None, "same"), e.extra.get("cohort") != "healthy")
            )
            main, others = judged[0], judged[1:]
            verdict = str(main.verdict)
            flagged = verdict != "within"
            flagged_any = flagged_any or flagged
            rng = _range_text(main, unit)
            text = (
                f"{label} {format_value(value, 1, unit)}"
                f"{_pm(main.measurement_error, unit, main.measured_error)}: "
                + (f"too close to the edge of the range of {_group(main)} to tell within medius' measured error"
                   if verdict == "uncertain" else f"{verdict} the range of {_group(main)}")
                + (f" ({rng}, {main.source})" if rng else f" ({main.source})")
            )
            lines.append(
                {
                    "text": text,
                    "flag": flagged,
                    "more": [o.text or "" for o in others],
                    "more_label": "other references",
                }
            )
            for o in others:
                if o.extra.get("cohort") == "patient" and o.verdict == "within" and flagged:
                    associations.append(
                        f"{side.capitalize()} {_lower_first(label)}: within the range of {_group(o)} ({o.source}); "
                        "an association with that group, not a diagnosis."
                    )
        if not lines and not also:  # nothing measured on this leg
            lines.append(
                {"text": "no complete reps on this leg", "flag": False, "more": [], "more_label": ""}
            )
        sides.append({"side": side, "lines": lines, "also": also})
    if flagged_any:
        next_steps = [
            "Check hip abductor and external rotator strength (hand-held dynamometer) and rate the single-leg squat "
            "clinically (Crossley criteria): a knee that moves inwards is often linked to weak or late hip muscles.",
            "Film the same task again after 4 to 6 weeks of exercise: only a change larger than the measurement error "
            "(MDC) counts.",
        ]
    else:
        next_steps = [
            "Nothing outside the healthy reference ranges in this task; the movement screen adds no reason for "
            "hip-focused exercise on its own.",
        ]
    return {"sides": sides, "associations": associations, "next": next_steps}


def _asymmetries(res: AnalysisResult) -> list[str]:
    """Left − right differences against the metric's MDC (only metrics with a published MDC) and,
    for video, against medius' own measured error of the two sides' values combined for a
    difference (``sqrt(2) x`` the error of the summary statistic): beyond only when beyond both."""
    out = []
    seen: set[str] = set()
    for e in res.interpretation:
        metric = e.metric or ""
        err = e.measurement_error
        if metric in seen or not isinstance(err, Mapping) or not finite_number(err.get("mdc")):
            continue
        seen.add(metric)
        diff = res.summary.left_minus_right(metric)
        if diff is None or not finite_number(diff):
            continue
        diff = float(diff)
        unit = res.unit_symbol(metric)
        larger = "left" if diff > 0 else "right"
        found = res.measured_error_of(metric, res.statistic_of(metric)).get("value")
        own = float(found) if isinstance(found, int | float) and finite_number(found) else None
        own_diff = difference_error(own, own)
        beyond = difference_beyond(diff, err["mdc"], own_diff)
        errors = f"MDC {format_value(err['mdc'], 1, unit)}, {err.get('source')}"
        if own is not None and own_diff is not None:
            errors += (f"; medius' measured video error ±{format_value(own, 1, unit)} a side, "
                       f"±{format_value(own_diff, 1, unit)} for the difference")
        out.append(
            f"{res.label(metric)}: {larger} {format_value(abs(diff), 1, unit)} larger than the other side, "
            + ("beyond" if beyond else "within")
            + f" the measurement error ({errors})."
        )
    return out


def _gait_lines(res: AnalysisResult) -> dict[str, Any]:
    tr = res.trendelenburg
    rule = tr.rule if tr is not None else None
    errors: dict[str, Mapping[str, Any]] = {}
    for e in res.interpretation:
        if isinstance(e.measurement_error, Mapping):
            errors.setdefault(e.metric, e.measurement_error)
    symbol = unit_symbol(rule.unit or None) if rule else "°"
    sides: list[dict[str, Any]] = []
    flagged_any = False
    for side in SIDES:
        lines: list[dict[str, Any]] = []
        entry = tr.side(side) if tr is not None else None
        if rule and entry is not None and finite_number(entry.value):
            flag = entry.flag is True
            flagged_any = flagged_any or flag
            cutoff = format_value(rule.cutoff, 1, symbol)
            lines.append(
                {
                    "text": f"Trendelenburg pattern: {'yes' if flag else 'no'}. Pelvic drop at mid-stance "
                    f"{format_value(entry.value, 1, symbol)}"
                    f"{_pm(errors.get('pelvic_drop_deg'), symbol) or ' (no published measurement error)'}, "
                    f"{'at or above' if flag else 'below'} the cut-off {cutoff}"
                    + (" (provisional rule)" if rule.provisional else ""),
                    "flag": flag,
                    "more": [rule.text],
                    "more_label": "the rule and its source",
                }
            )
        also = []
        for s in res.spec_metrics("curve"):  # the angles besides the pelvic drop the rule judges
            if s.name == "pelvic_drop_deg":
                continue
            mean = res.summary.get(side, s.name).mean
            if finite_number(mean):
                also.append(f"{_lower_first(res.label(s.name))} {format_value(mean, 1, res.unit_symbol(s.name))}")
        if not lines:
            lines.append(
                {
                    "text": "Trendelenburg pattern: not measured (too few stances)",
                    "flag": False,
                    "more": [],
                    "more_label": "",
                }
            )
        sides.append({"side": side, "lines": lines, "also": also})
    associations = []
    if flagged_any:
        associations.append(
            "A pelvis that drops on the swing-leg side in single support is linked to weak or poorly controlled hip "
            "abductors, among other reasons; the clinical Trendelenburg sign agrees only weakly with measured pelvic "
            "motion, so this is a pattern to examine, not a diagnosis."
        )
        next_steps = [
            "Test hip abductor strength (hand-held dynamometer, side-lying) and the Trendelenburg test in standing on "
            "the flagged side.",
            "If abductor weakness is confirmed, start hip abductor strengthening and film again after 4 to 6 weeks.",
        ]
    else:
        next_steps = [
            "No Trendelenburg pattern in this recording; no gait-specific follow-up from this screen."
        ]
    return {"sides": sides, "associations": associations, "next": next_steps}


def key_summary(result: Mapping[str, Any] | AnalysisResult) -> dict[str, Any]:
    """``{"judgeable", "sides": [{"side", "lines": [{"text", "flag", "more"}], "also"}], "associations",
    "next", "reasons"}`` for the top of a report (formatted text, nothing computed)."""
    res = result if isinstance(result, AnalysisResult) else AnalysisResult.from_json(result)
    if not res.judgeable:
        return {
            "judgeable": False,
            "sides": [],
            "associations": [],
            "compared": [],
            "reasons": list(res.quality.reasons),
            "next": ["Film again following the checklist below; this recording gives no movement values."],
        }
    out = _gait_lines(res) if res.is_gait else _single_leg_lines(res)
    out["compared"] = _asymmetries(res)
    out["judgeable"] = True
    out["reasons"] = []
    return out
