"""The ``result.json`` document of one analysis (schema in ``docs/result-schema.md``).

:func:`build_result` assembles it from the protocol's analysis, the input's description, the
person selection, the pose model and the request's options (``provenance.options``); on a video
each verdict against a reference range is tempered by medius' own measured error for this kind
of recording (:func:`temper_by_measured_error`).
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from medius import __version__
from medius.io import Keypoints2D
from medius.protocols import GAIT_METRICS, METRICS, TASKS, GaitAnalysis, SingleLegAnalysis
from medius.protocols._gait import GAIT_DEFINITIONS, SUMMARY_STAT
from medius.protocols._interpret import interpret_summary, metric_definitions
from medius.protocols._single_leg import SUMMARY_STAT as SINGLE_LEG_SUMMARY_STAT

__all__ = ["GAIT_DEFINED_METRICS", "SCHEMA_VERSION", "build_result", "gait_definitions", "temper_by_measured_error"]

#: version of the ``result.json`` schema (docs/result-schema.md)
SCHEMA_VERSION = "2.1"
#: metrics whose definitions a gait result carries (the angles, then the per-stance scalars)
GAIT_DEFINED_METRICS = (*GAIT_METRICS, "pelvic_drop_midstance_deg", "step_width_pct", "step_width_cm",
                        "cadence_steps_per_min")


def _versions() -> dict[str, str]:
    out = {}
    for name in ("mediapipe", "av", "numpy", "scipy", "opencv-contrib-python", "matplotlib", "jinja2"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _clean_step(step: dict[str, Any]) -> dict[str, Any]:
    """A provenance step without its wall-clock time, so the same input gives the same result."""
    return {k: _jsonable(v) for k, v in step.items() if k != "datetime"}


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    return v


def gait_definitions(analysis: GaitAnalysis) -> dict[str, Any]:
    """The registry's metric definitions, worded for a gait stance of this source (video or lab)."""
    defs = metric_definitions(GAIT_DEFINED_METRICS)
    source = "lab" if analysis.frontal_2d else "video"
    for metric, texts in GAIT_DEFINITIONS.items():
        for key, text in texts.get(source, {}).items():
            defs[metric][key] = text
    return defs


def temper_by_measured_error(
    interpretation: list[dict[str, Any]], measured: dict[str, Any], stat_of: dict[str, str]
) -> list[dict[str, Any]]:
    """Never call a value above or below a reference when medius' own measured error for this
    recording's condition could put it on the other side of the edge: such a verdict becomes
    ``"uncertain"``, saying why. Every entry gets the measured error it was judged with."""
    out = []
    for e in interpretation:
        e = dict(e)
        metric = str(e.get("metric"))
        me = ((measured.get(metric) or {}).get(stat_of.get(metric, "peak")) or {})
        err = me.get("value")
        e["measured_error"] = me or None
        band = e.get("band") or [None, None]
        value = e.get("value")
        if err is not None and value is not None and e.get("verdict") in ("above", "below"):
            edges = [b for b in band if b is not None]
            distance = min(abs(float(value) - float(b)) for b in edges) if edges else None
            if distance is not None and distance <= float(err):
                e["verdict_before_measured_error"] = e["verdict"]
                e["verdict"] = "uncertain"
                e["text"] = (
                    f"{e.get('text', '')} However, medius' own measured error for this kind of recording is "
                    f"±{float(err):.1f} (on its rendered validation grid, 95 % of a new recording's reps/stances fall within it), "
                    f"more than the {distance:.1f} between "
                    "the value and the edge of the range: it cannot tell which side the true value is on."
                ).strip()
        out.append(e)
    return out


def build_result(
    analysis: SingleLegAnalysis | GaitAnalysis,
    *,
    task: str,
    input_info: dict[str, Any],
    selection: dict[str, Any],
    side_check: dict[str, Any],
    pose_model: dict[str, Any] | None,
    sex: str | None,
    synthetic: dict[str, Any] | None,
    keypoints: Keypoints2D,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the versioned ``result.json`` document."""
    judgeable = analysis.judgeable
    gait = isinstance(analysis, GaitAnalysis)
    metrics = GAIT_METRICS if gait else METRICS
    interpretation = (
        interpret_summary(analysis.summary, task=task, metrics=metrics, sex=sex) if judgeable else []
    )
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "medius_version": __version__,
        "task": task,
        "task_label": TASKS[task]["label"],
        "status": "ok" if judgeable else "not_judgeable",
        "synthetic": bool(synthetic),
        "input": input_info,
        "quality": {
            "judgeable": judgeable,
            "view": analysis.view,
            "checks": [c.as_dict() for c in analysis.checks],
            "warnings": analysis.warnings,
            "reasons": analysis.reasons,
            "advice": analysis.advice,
            "people_in_view": selection.get("people_in_view", 0),
            "person_selection": selection,
            "left_right": side_check,
            "left_right_swaps_corrected": int(side_check.get("whole_body_swaps", 0))
            + int(side_check.get("leg_swaps", 0)),
        },
        "metrics": gait_definitions(analysis) if isinstance(analysis, GaitAnalysis) else metric_definitions(METRICS),
        "reps": [] if gait else (analysis.reps if judgeable else []),
        **({} if gait else {"summary_statistic": dict(SINGLE_LEG_SUMMARY_STAT)}),
        "summary": analysis.summary if judgeable else {},
        "interpretation": interpretation,
        "provenance": {
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "medius_version": __version__,
            "python": platform.python_version(),
            "packages": _versions(),
            "pose_model": pose_model,
            "parameters": analysis.parameters,
            "options": options,
            "steps": [_clean_step(s) for s in keypoints.log],
        },
        "files": {},
    }
    if judgeable and input_info.get("kind") == "video":
        from medius.registry.measured import measured_errors_for

        # a judged video is square-on: the capture check "camera square-on" refuses a camera
        # turned more than 15° from the front and from behind (the analysis is not judgeable)
        result["measured_error"] = measured_errors_for(
            task, metrics, view=analysis.view, fps=input_info.get("fps_average"),
            width=input_info.get("width"), height=input_info.get("height"), yaw="square",
        )
        stat_of = dict(SUMMARY_STAT) if gait else dict(SINGLE_LEG_SUMMARY_STAT)
        result["interpretation"] = temper_by_measured_error(
            result["interpretation"], result["measured_error"], stat_of)
    if isinstance(analysis, GaitAnalysis):
        result["stances"] = analysis.stances if judgeable else []
        result["events"] = analysis.events
        result["gait"] = analysis.gait if judgeable else {}
        result["trendelenburg"] = analysis.trendelenburg if judgeable else {}
        result["summary_statistic"] = {m: SUMMARY_STAT[m] for m in GAIT_METRICS}
        standing = analysis.parameters.get("pelvic_drop_vs_standing_deg")
        if standing and judgeable:  # lab trial with a static trial (its own name: not pelvic_drop_deg)
            result["pelvic_drop_vs_standing"] = standing
        if analysis.frontal_2d:
            result["frontal_2d"] = {
                "what": "the same per-stance metrics measured on the frontal projection of the lab joint "
                "centres (as a camera behind the person would see them), for side-by-side comparison with video",
                "summary": analysis.summary.get("frontal_2d", {}) if judgeable else {},
            }
    if synthetic:
        result["synthetic_ground_truth"] = synthetic.get("ground_truth")
        result["synthetic_spec"] = synthetic.get("spec")
    return _jsonable(result)