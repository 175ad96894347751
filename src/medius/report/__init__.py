"""Reports of one analysis: SVG plots, a self-contained HTML report and an annotated video.

Reads the JSON-able ``result`` dict (schema 1.0) and the per-frame ``series`` written by
:mod:`medius.protocols`; computes no metric itself.
"""

from medius.report.annotate import FACE_HOLD_S, render_annotated_video, render_keypoint_video
from medius.report.html import render_html_report, write_html_report
from medius.report.plots import (
    REP_VALUES_PLOT_NAME,
    TIMESERIES_PLOT_NAME,
    plot_rep_values,
    plot_timeseries,
    write_plots,
)

__all__ = [
    "FACE_HOLD_S",
    "REP_VALUES_PLOT_NAME",
    "TIMESERIES_PLOT_NAME",
    "plot_rep_values",
    "plot_timeseries",
    "render_annotated_video",
    "render_html_report",
    "render_keypoint_video",
    "write_html_report",
    "write_plots",
]
