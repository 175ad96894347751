"""Progress between two visits: each measurement's change against measurement error and MCID.

For every measurement present in both visits the change is computed and judged against

* the measurement error (registry ``measurement_error``: the MDC, upper end of the published
  range; for strength the test's variation in %, Thorborg et al. 2010), and
* the minimal clinically important difference where one exists (registry ``questionnaire_improvement``
  cut-offs: Kujala 10, LEFS 9, NPRS 1.16 points).

``direction`` is ``improved``/``worse`` only when the change exceeds the measurement error (or,
without one, the MCID); otherwise ``no_real_change``.

Clinical tests are compared too (``kind="categorical"``): the single-leg squat rating (good / fair /
poor, with the number of criteria rated good as the value), the Trendelenburg, Ober and modified
Thomas results (``positive`` / ``negative``, coded 1 / 0), each with ``before_category`` and
``after_category``. No measurement error is sourced for these pass/fail ratings, so a changed
category reads ``improved (error unknown)`` or ``worse (error unknown)``. Ober and Thomas angles
measured at both visits in the same convention are compared as numbers as well, against the
registry's MDC where one exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from medius.clinic.clinical_tests import ClinicalTestResult, evaluate_clinical_tests
from medius.clinic.findings import MovementResult, score_questionnaires
from medius.clinic.records import Assessment
from medius.clinic.strength import MUSCLE_LABELS, evaluate_strength
from medius.registry import format_reference_values, load_registry
from medius.registry.measured import difference_beyond, difference_error

__all__ = ["Change", "compare_visits"]


@dataclass
class Change:
    """The change of one measurement between two visits."""

    name: str
    label: str
    side: str | None
    unit: str
    before: float
    after: float
    change: float
    change_pct: float | None
    better_when: str
    measurement_error: float | None
    measurement_error_unit: str | None
    measurement_error_source: str | None
    exceeds_error: bool | None
    mcid: float | None
    mcid_source: str | None
    exceeds_mcid: bool | None
    direction: str
    text: str
    #: ``numeric`` (a measured value) or ``categorical`` (a test result; ``before``/``after`` then hold
    #: the number of criteria rated good for the squat rating, 1 = positive / 0 = negative otherwise)
    kind: str = "numeric"
    before_category: str | None = None
    after_category: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _direction(improvement: float, exceeds: bool | None) -> str:
    if exceeds is False or improvement == 0:
        return "no_real_change"
    if exceeds is None:
        return "improved (error unknown)" if improvement > 0 else "worse (error unknown)"
    return "improved" if improvement > 0 else "worse"


def _fmt(x: float) -> str:
    return f"{x:+.1f}".replace("-", "\u2212")


def _strength_changes(a: Assessment, b: Assessment) -> list[Change]:
    out = []
    before = {s.group: s for s in evaluate_strength(a)}
    for s2 in evaluate_strength(b):
        s1 = before.get(s2.group)
        if s1 is None:
            continue
        same_protocol = s1.position == s2.position
        for side in ("left", "right"):
            if side not in s1.sides or side not in s2.sides:
                continue
            v1, v2 = s1.sides[side].pct_bw, s2.sides[side].pct_bw
            pct = (v2 - v1) / v1 * 100.0
            err = s2.measurement_error
            mdc = err["mdc_pct"] if err else None
            exceeds = None if mdc is None else abs(pct) > mdc
            label = f"{side} {MUSCLE_LABELS[s2.group]} strength"
            text = f"{label}: {v1:.1f} → {v2:.1f} % BW ({_fmt(pct)}%)"
            if mdc is not None:
                text += f", {'beyond' if exceeds else 'within'} the measurement error ({mdc:g}%, {(err or {}).get('source')})"
            else:
                text += ", no sourced measurement error for this test"
            if not same_protocol:
                text += f"; test position changed ({s1.position} → {s2.position}), so the values are not comparable"
                exceeds = None
            out.append(
                Change(
                    name=f"strength.{s2.group}.pct_bw",
                    label=label,
                    side=side,
                    unit="pct_bw",
                    before=round(v1, 3),
                    after=round(v2, 3),
                    change=round(v2 - v1, 3),
                    change_pct=round(pct, 3),
                    better_when="higher",
                    measurement_error=mdc,
                    measurement_error_unit="pct_change" if mdc is not None else None,
                    measurement_error_source=err["source"] if err else None,
                    exceeds_error=exceeds,
                    mcid=None,
                    mcid_source=None,
                    exceeds_mcid=None,
                    direction=_direction(pct, exceeds),
                    text=text,
                )
            )
    return out


_Q_LABELS = {"kujala": "Kujala AKPS", "lefs": "LEFS", "nprs": "NPRS pain"}


def _questionnaire_changes(a: Assessment, b: Assessment) -> list[Change]:
    out = []
    q1, q2 = score_questionnaires(a), score_questionnaires(b)
    for name in ("kujala", "lefs", "nprs"):
        if name not in q1 or name not in q2:
            continue
        d1, d2 = q1[name], q2[name]
        if d1["version"] != d2["version"]:
            continue
        s1, s2 = d1["score"], d2["score"]
        improvement = (s2 - s1) if d2["higher_is_better"] else (s1 - s2)
        mdc, mcid = d2["mdc_points"], d2["mcid_points"]
        exceeds_err = None if mdc is None else abs(s2 - s1) > mdc
        exceeds_mcid = None if mcid is None else improvement >= mcid
        judged = exceeds_err if exceeds_err is not None else (None if mcid is None else abs(s2 - s1) >= mcid)
        text = f"{_Q_LABELS[name]}: {s1:g} → {s2:g} points ({_fmt(s2 - s1)})"
        parts = []
        if mdc is not None:
            parts.append(f"{'beyond' if exceeds_err else 'within'} the measurement error (MDC {mdc:g})")
        if mcid is not None:
            parts.append(
                f"{'reaches' if exceeds_mcid else 'below'} the minimal important improvement ({mcid:g}, {d2['mcid_source']})"
            )
        if parts:
            text += ", " + "; ".join(parts)
        out.append(
            Change(
                name=f"questionnaire.{name}",
                label=_Q_LABELS[name],
                side=None,
                unit="points",
                before=s1,
                after=s2,
                change=s2 - s1,
                change_pct=None,
                better_when="higher" if d2["higher_is_better"] else "lower",
                measurement_error=mdc,
                measurement_error_unit="points" if mdc is not None else None,
                measurement_error_source=None,
                exceeds_error=exceeds_err,
                mcid=mcid,
                mcid_source=d2["mcid_source"],
                exceeds_mcid=exceeds_mcid,
                direction=_direction(improvement, judged),
                text=text,
            )
        )
    return out


_TEST_LABELS = {
    "single_leg_squat": "single-leg squat rating",
    "trendelenburg": "Trendelenburg test",
    "ober": "Ober test",
    "modified_thomas": "modified Thomas test",
}
#: the registry task of each clinical-test angle, and which way is better
_ANGLES = {
    ("ober", "angle"): ("ober-test", "thigh angle", "lower"),
    ("modified_thomas", "hip"): ("thomas-test-hip", "hip angle", "lower"),
    ("modified_thomas", "knee"): ("thomas-test-knee", "knee angle", "higher"),
}


def _categorical_change(test: str, side: str, r1: ClinicalTestResult, r2: ClinicalTestResult) -> Change:
    label = f"{side} {_TEST_LABELS[test]}"
    if test == "single_leg_squat":
        v1, v2 = float(r1.value or 0), float(r2.value or 0)
        unit, better = "criteria", "higher"
        shown = f"{r1.category} ({v1:g}/5 criteria good) → {r2.category} ({v2:g}/5)"
        improvement = v2 - v1
        evidence = "this rating (the good/fair/poor aggregation of Crossley et al. 2011 is provisional)"
    else:
        v1, v2 = float(bool(r1.positive)), float(bool(r2.positive))
        unit, better = "yes_no", "lower"
        label += " (1 = positive, 0 = negative)"
        shown = f"{r1.category} → {r2.category}"
        improvement = v1 - v2
        evidence = "this pass/fail test"
    if r1.category == r2.category and improvement == 0:
        verdict, why = "no_real_change", "unchanged"
    else:
        verdict = _direction(improvement, None) if improvement != 0 else "changed (error unknown)"
        why = f"no measurement error is sourced for {evidence}, so the change may lie within rater disagreement"
    return Change(
        name=f"clinical.{test}",
        label=label,
        side=side,
        unit=unit,
        before=v1,
        after=v2,
        change=v2 - v1,
        change_pct=None,
        better_when=better,
        measurement_error=None,
        measurement_error_unit=None,
        measurement_error_source=None,
        exceeds_error=None,
        mcid=None,
        mcid_source=None,
        exceeds_mcid=None,
        direction=verdict,
        text=f"{label}: {shown}; {why}",
        kind="categorical",
        before_category=r1.category,
        after_category=r2.category,
    )


def _angle_change(test: str, which: str, side: str, a: float, b: float, *, convention: str) -> Change:
    reg = load_registry()
    task, what, better = _ANGLES[(test, which)]
    if convention != "horizontal":
        better = "context"  # the sign convention is unknown: no better or worse
    err = reg.measurement_error("clinical_angle_deg", task)
    mdc = err.mdc[1] if err is not None and err.mdc is not None else None
    sem = err.sem[1] if err is not None and err.sem is not None else None
    exceeds = None if mdc is None else abs(b - a) > mdc
    threshold = mdc
    label = f"{side} {_TEST_LABELS[test]} {what}"
    text = f"{label}: {a:.0f}° → {b:.0f}° ({_fmt(b - a)}°)"
    if mdc is not None and err is not None:
        text += f", {'beyond' if exceeds else 'within'} the measurement error (MDC {mdc:g}°, {err.source})"
    elif sem is not None and err is not None:
        # only an SEM is sourced: any MDC (z × √2 × SEM, z ≥ 1) is larger than one SEM, so a change
        # within one SEM is within the measurement error; a larger one cannot be judged
        threshold = sem
        if abs(b - a) <= sem:
            exceeds = False
            text += f", within one SEM ({sem:g}°, {err.source}), so within the measurement error"
        else:
            text += f", larger than one SEM ({sem:g}°, {err.source}) but no MDC is sourced, so it cannot be judged"
    elif err is not None:
        text += f", no sourced MDC ({format_reference_values(err, reg)}, {err.source})"
    else:
        text += ", no sourced measurement error"
    improvement = (a - b) if better == "lower" else (b - a)
    if better == "context":
        text += "; angle convention not recorded, so no better or worse"
        direction = "no_real_change" if exceeds is False else "changed" if exceeds else "changed (error unknown)"
    else:
        direction = _direction(improvement, exceeds)
    return Change(
        name=f"clinical.{test}.{which}_angle_deg" if test == "modified_thomas" else f"clinical.{test}.angle_deg",
        label=label,
        side=side,
        unit="deg",
        before=a,
        after=b,
        change=b - a,
        change_pct=None,
        better_when=better,
        measurement_error=threshold,
        measurement_error_unit="deg" if threshold is not None else None,
        measurement_error_source=err.source if err is not None and threshold is not None else None,
        exceeds_error=exceeds,
        mcid=None,
        mcid_source=None,
        exceeds_mcid=None,
        direction=direction,
        text=text,
    )


def _angles(test: str, r: ClinicalTestResult) -> dict[str, float]:
    if test == "ober":
        return {"angle": r.value} if r.value is not None else {}
    if test == "modified_thomas":
        return {k: r.detail[f"{k}_angle_deg"] for k in ("hip", "knee") if r.detail.get(f"{k}_angle_deg") is not None}
    return {}


def _clinical_test_changes(a: Assessment, b: Assessment) -> list[Change]:
    """Each clinical test present on the same side at both visits: the result (categorical) and, for
    the Ober and modified Thomas tests, each angle read at both visits in the same convention."""
    first = {(r.test, r.side): r for r in evaluate_clinical_tests(a) if r.test in _TEST_LABELS}
    out = []
    for r2 in evaluate_clinical_tests(b):
        r1 = first.get((r2.test, r2.side))
        if r1 is None:
            continue
        if r1.positive is not None and r2.positive is not None:
            out.append(_categorical_change(r2.test, r2.side, r1, r2))
        if r1.detail.get("angle_convention") != r2.detail.get("angle_convention"):
            continue  # angles read in different conventions are not comparable
        a1, a2 = _angles(r2.test, r1), _angles(r2.test, r2)
        for which in sorted(set(a1) & set(a2)):
            out.append(
                _angle_change(r2.test, which, r2.side, float(a1[which]), float(a2[which]),
                              convention=str(r2.detail.get("angle_convention") or "horizontal"))
            )
    return out


def _movement_values(results: list[MovementResult]) -> dict[tuple[str, str, str], tuple[float, float | None]]:
    """``(task, metric, side) -> (mean over the reps or stances, medius' measured error or None)``.

    The measured error is the one ``result.json`` carries for the metric's summary statistic
    (video analyses: the 95 % error medius measured for the recording's condition on its
    validation grid; marker trials carry none)."""
    out = {}
    for mr in results:
        if mr.result.get("status") != "ok":
            continue
        stat_of = mr.result.get("summary_statistic") or {}
        measured = mr.result.get("measured_error") or {}
        for side in ("left", "right"):
            for metric, stats in ((mr.result.get("summary") or {}).get(side) or {}).items():
                if isinstance(stats, dict) and isinstance(stats.get("mean"), int | float):
                    entry = (measured.get(metric) or {}).get(stat_of.get(metric, "peak")) or {}
                    err = entry.get("value") if isinstance(entry, dict) else None
                    out[(mr.task, metric, side)] = (
                        float(stats["mean"]), float(err) if isinstance(err, int | float) else None)
    return out


def _movement_changes(m1: list[MovementResult], m2: list[MovementResult]) -> list[Change]:
    """Changes of the movement screen's values between two visits.

    A change is beyond the measurement error only when it exceeds both the literature's MDC for
    the metric (registry) and, for video values, the error medius measured for each recording's
    condition, combined for a difference (``sqrt(e1² + e2²)``; a recording without one takes the
    other's): the difference of two values each within ``± e`` of the truth 95 % of the time."""
    reg = load_registry()
    v1, v2 = _movement_values(m1), _movement_values(m2)
    out = []
    for key in sorted(set(v1) & set(v2)):
        task, metric, side = key
        (a, e1), (b, e2) = v1[key], v2[key]
        try:
            metric_def = reg.metric(metric)
            err = reg.measurement_error(metric, task) if task in reg.tasks else None
        except (KeyError, ValueError):
            metric_def, err = None, None
        mdc = err.mdc[1] if err is not None and err.mdc is not None else None
        video = difference_error(e1, e2)
        exceeds = difference_beyond(b - a, mdc, video)
        limit = max((x for x in (mdc, video) if x is not None), default=None)  # the error it was judged by
        label = f"{side} {metric_def.label if metric_def else metric} ({task})"
        unit = metric_def.unit if metric_def else ""
        text = f"{label}: {a:.1f} → {b:.1f} ({_fmt(b - a)})"
        sources = []
        if mdc is not None and err is not None:
            sources.append(f"MDC {mdc:g}, {err.source}")
        if video is not None:
            each = " and ".join(f"±{e:.1f}" for e in (e1, e2) if e is not None)
            sources.append(f"medius' measured video error {each}: ±{video:.1f} for the difference")
        text += (
            f", {'beyond' if exceeds else 'within'} the measurement error ({'; '.join(sources)})"
            if sources
            else ", no sourced measurement error"
        )
        out.append(
            Change(
                name=f"movement.{task}.{metric}",
                label=label,
                side=side,
                unit=unit,
                before=a,
                after=b,
                change=b - a,
                change_pct=None,
                better_when="context",
                measurement_error=limit,
                measurement_error_unit=unit if limit is not None else None,
                measurement_error_source="; ".join(sources) if sources else None,
                exceeds_error=exceeds,
                mcid=None,
                mcid_source=None,
                exceeds_mcid=None,
                direction="changed" if exceeds else "no_real_change" if exceeds is False else "changed (error unknown)",
                text=text,
            )
        )
    return out


def compare_visits(
    first: Assessment,
    second: Assessment,
    *,
    movement_first: list[MovementResult] | None = None,
    movement_second: list[MovementResult] | None = None,
) -> list[Change]:
    """Every measurement present in both visits: strength (% BW per side), questionnaires, clinical
    tests (squat rating, Trendelenburg, Ober, modified Thomas: categorical, plus their angles),
    movement.

    Raises ``ValueError`` when the visits are of different people (both have a ``person.id`` and
    they differ).
    """
    if first.person.id and second.person.id and first.person.id != second.person.id:
        raise ValueError(
            f"the visits are of different people (person.id {first.person.id!r} and {second.person.id!r})"
        )
    return (
        _strength_changes(first, second)
        + _questionnaire_changes(first, second)
        + _clinical_test_changes(first, second)
        + _movement_changes(movement_first or [], movement_second or [])
    )
