"""Placing a side's summary values against the registry: association, never diagnosis."""

from __future__ import annotations

from typing import Any

from medius.protocols.metric_spec import METRIC_SPECS
from medius.registry import INTERPRETIVE_KINDS, Reference, compare_to_reference, load_registry

__all__ = ["interpret_summary", "metric_definitions", "measurement_error_dict"]


def _span(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [float(pair[0]), float(pair[1])]


def measurement_error_dict(ref: Reference | None) -> dict[str, Any] | None:
    """SEM / MDC of a metric from its ``measurement_error`` entry, for the result and report."""
    if ref is None:
        return None
    symbol = load_registry().unit(ref.unit).symbol
    sem, mdc = _span(ref.sem), _span(ref.mdc)
    parts = []
    if sem:
        parts.append(f"SEM {sem[0]:g}–{sem[1]:g}" if sem[0] != sem[1] else f"SEM {sem[0]:g}")
    if mdc:
        parts.append(f"MDC {mdc[0]:g}–{mdc[1]:g}" if mdc[0] != mdc[1] else f"MDC {mdc[0]:g}")
    return {
        "reference_id": ref.id,
        # the upper end of the published range: the conservative figure to show beside a value
        "sem": sem[1] if sem else None,
        "mdc": mdc[1] if mdc else None,
        "sem_range": sem,
        "mdc_range": mdc,
        "unit": ref.unit,
        "source": ref.source,
        "population": ref.population,
        "provisional": ref.provisional,
        "text": (
            f"Measurement error ({', '.join(parts)}{symbol}) from {ref.source}: a difference or change "
            f"smaller than the MDC cannot be told apart from measurement error."
            if parts
            else f"Measurement error reported by {ref.source}."
        ),
    }


def metric_definitions(metrics: tuple[str, ...]) -> dict[str, Any]:
    """Unit, label, definition and sign of each metric, from the registry; ``baseline`` (what is
    subtracted) from the metric specification where it has one for the single-leg video source."""
    reg = load_registry()
    out = {}
    for m in metrics:
        d = reg.metric(m)
        out[m] = {
            "label": d.label,
            "unit": d.unit,
            "unit_symbol": reg.unit(d.unit).symbol,
            "definition": d.definition,
            "sign": d.sign_convention,
            "caveat": d.caveat,
        }
        baseline = METRIC_SPECS[m].baseline("video") if m in METRIC_SPECS else None
        if baseline:  # what the angle is measured against (schema 2.1; gait sources override it)
            out[m]["baseline"] = baseline
    return out


def interpret_summary(
    summary: dict[str, Any],
    *,
    task: str,
    metrics: tuple[str, ...],
    sex: str | None = None,
    max_references: int = 2,
) -> list[dict[str, Any]]:
    """Compare each side's mean peak with up to ``max_references`` registry entries.

    Returns one entry per (side, metric, reference) with the sentence to show; a metric with no
    sourced reference for the task gets one entry with verdict ``"none"`` saying so.
    """
    reg = load_registry()
    out: list[dict[str, Any]] = []
    for side in ("left", "right"):
        for m in metrics:
            value = summary.get(side, {}).get(m, {}).get("mean")
            if value is None:
                continue
            err = measurement_error_dict(reg.measurement_error(m, task))
            refs = reg.references_for(m, task, sex=sex, kind=INTERPRETIVE_KINDS)
            if sex is None:
                # without the person's sex, prefer references valid for everyone, then one per sex
                refs = sorted(refs, key=lambda r: r.sex != "any")
            if not refs:
                none = reg.references_for(m, task, sex=sex, kind="no_reference")
                reason = none[0].reason if none else "no sourced reference range in the registry"
                out.append(
                    {
                        "metric": m,
                        "side": side,
                        "value": value,
                        "verdict": "none",
                        "text": f"No sourced reference range for this metric in this task: {reason}",
                        "provisional": bool(none[0].provisional) if none else False,
                        "source": none[0].source if none else None,
                        "reference_id": none[0].id if none else None,
                        "measurement_error": err,
                    }
                )
                continue
            seen_cohorts: set[tuple[str, str]] = set()
            picked = []
            for r in refs:
                key = (r.cohort, r.sex)
                if key in seen_cohorts:
                    continue
                seen_cohorts.add(key)
                picked.append(r)
                if len(picked) >= max_references:
                    break
            for r in picked:
                c = compare_to_reference(float(value), r, task=task, registry=reg)
                out.append(
                    {
                        "metric": m,
                        "side": side,
                        "value": value,
                        "verdict": c.verdict,
                        "text": c.text,
                        "provisional": c.provisional,
                        "source": r.source,
                        "reference_id": r.id,
                        "cohort": r.cohort,
                        "sex": r.sex,
                        "band": [c.low, c.high],
                        "reference_range": [c.low, c.high] if r.kind != "cutoff" else None,
                        "task_match": c.task_match,
                        "measurement_error": err,
                    }
                )
    return out
