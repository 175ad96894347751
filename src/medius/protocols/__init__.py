"""Protocols: the clinical tasks, from keypoints to per-rep metrics and capture checks."""

from medius.protocols._quality import QUALITY_THRESHOLDS, Check, check_capture, classify_view
from medius.protocols._single_leg import (
    METRICS,
    TASKS,
    AnalysisParameters,
    SingleLegAnalysis,
    analyze_single_leg,
    summarize_reps,
)

__all__ = [
    "METRICS",
    "QUALITY_THRESHOLDS",
    "TASKS",
    "AnalysisParameters",
    "Check",
    "SingleLegAnalysis",
    "analyze_single_leg",
    "check_capture",
    "classify_view",
    "summarize_reps",
]
