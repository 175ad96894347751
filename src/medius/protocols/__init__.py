"""Protocols: the clinical tasks, from keypoints (or markers) to per-rep / per-stance metrics and capture checks.

* single-leg squat and step-down (:func:`analyze_single_leg`): per-rep metrics;
* walking and running (:func:`analyze_gait_keypoints` for video keypoints,
  :func:`analyze_gait_lab` for lab marker trials): per-stance metrics, by one engine
  (:func:`measure_stances`).
"""

from medius.protocols._gait import (
    GAIT_METRICS,
    GAIT_TASKS,
    STANCE_SCALARS,
    GaitAnalysis,
    GaitParameters,
    analyze_gait_keypoints,
    analyze_gait_lab,
    evaluate_trendelenburg,
    measure_stances,
    summarize_stances,
)
from medius.protocols._quality import QUALITY_THRESHOLDS, Check, check_capture, classify_view
from medius.protocols._single_leg import (
    METRICS,
    AnalysisParameters,
    SingleLegAnalysis,
    analyze_single_leg,
    summarize_reps,
)
from medius.protocols._single_leg import TASKS as SINGLE_LEG_TASKS

#: every task medius analyses: name -> label and how to film it
TASKS: dict[str, dict[str, str]] = {**SINGLE_LEG_TASKS, **GAIT_TASKS}

__all__ = [
    "GAIT_METRICS",
    "GAIT_TASKS",
    "METRICS",
    "QUALITY_THRESHOLDS",
    "SINGLE_LEG_TASKS",
    "STANCE_SCALARS",
    "TASKS",
    "AnalysisParameters",
    "Check",
    "GaitAnalysis",
    "GaitParameters",
    "SingleLegAnalysis",
    "analyze_gait_keypoints",
    "analyze_gait_lab",
    "analyze_single_leg",
    "check_capture",
    "classify_view",
    "evaluate_trendelenburg",
    "measure_stances",
    "summarize_reps",
    "summarize_stances",
]
