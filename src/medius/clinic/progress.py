"""Progress between two visits: each measurement's change against measurement error and MCID.

For every measurement present in both visits the change is computed and judged against

* the measurement error (registry ``measurement_error``: the MDC, upper end of the published
  range; for strength the test's variation in %, Thorborg et al. 2010), and
* the minimal clinically important difference where one exists (registry ``questionnaire_improvement``
  cut-offs: Kujala 10, LEFS 9, NPRS 1.16 points).

``direction`` is ``improved``/``worse`` only when the change exceeds the measurement error (or,
without one, the MCID); otherwise ``no_real_change``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from medius.clinic.findings import MovementResult, score_questionnaires
from medius.clinic.records import Assessment
from medius.clinic.strength import MUSCLE_LABELS, evaluate_strength
from medius.registry import load_registry

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
                text += f", {'beyond' if exceeds else 'within'} the measurement error ({mdc:g}%, {err['source']})"
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


def _movement_values(results: list[MovementResult]) -> dict[tuple[str, str, str], float]:
    out = {}
    for mr in results:
        if mr.result.get("status") != "ok":
            continue
        for side in ("left", "right"):
            for metric, stats in ((mr.result.get("summary") or {}).get(side) or {}).items():
                if isinstance(stats, dict) and isinstance(stats.get("mean"), int | float):
                    out[(mr.task, metric, side)] = float(stats["mean"])
    return out


def _movement_changes(m1: list[MovementResult], m2: list[MovementResult]) -> list[Change]:
    reg = load_registry()
    v1, v2 = _movement_values(m1), _movement_values(m2)
    out = []
    for key in sorted(set(v1) & set(v2)):
        task, metric, side = key
        a, b = v1[key], v2[key]
        try:
            metric_def = reg.metric(metric)
            err = reg.measurement_error(metric, task) if task in reg.tasks else None
        except (KeyError, ValueError):
            metric_def, err = None, None
        mdc = err.mdc[1] if err is not None and err.mdc is not None else None
        exceeds = None if mdc is None else abs(b - a) > mdc
        label = f"{side} {metric_def.label if metric_def else metric} ({task})"
        unit = metric_def.unit if metric_def else ""
        text = f"{label}: {a:.1f} → {b:.1f} ({_fmt(b - a)})"
        text += (
            f", {'beyond' if exceeds else 'within'} the measurement error (MDC {mdc:g}, {err.source})"
            if mdc is not None and err is not None
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
                measurement_error=mdc,
                measurement_error_unit=unit if mdc is not None else None,
                measurement_error_source=err.source if err is not None else None,
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
    """Every measurement present in both visits: strength (% BW per side), questionnaires, movement.

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
        + _movement_changes(movement_first or [], movement_second or [])
    )
