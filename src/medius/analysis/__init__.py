"""The run of one analysis: a request in, an outcome out (the layer between ``clinic`` and ``report``).

``analyze(AnalysisRequest(...)) -> AnalysisOutcome`` reads the input (a video, keypoint files or a
lab marker trial), runs the video pass (decode, pose, census, frame copy, faces) or the lab path
(lab model, gait events), selects the tested person, runs the protocol and assembles
``result.json``, in a temporary workspace beside the output folder; ``publish(outcome, render)``
has the renderer the edge passes in (``medius.report.outputs.render_outputs``) write the outputs
and renames the folder into place. This layer never imports ``medius.report``.

Modules: :mod:`~medius.analysis.request` (every option), :mod:`~medius.analysis.inputs` (what a
path holds), :mod:`~medius.analysis.video_pass`, :mod:`~medius.analysis.faces`,
:mod:`~medius.analysis.people` (person, task guess, protocol), :mod:`~medius.analysis.lab`
(marker trials, event fusion), :mod:`~medius.analysis.result_build` (``result.json``),
:mod:`~medius.analysis.outputs` (the atomic output folder), :mod:`~medius.analysis.run`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medius.analysis.inputs import KEYPOINT_SUFFIXES, MARKER_KINDS, VIDEO_SUFFIXES, input_kind
    from medius.analysis.outputs import Renderer, discard, finish_output_dir, prepare_output_dir, publish
    from medius.analysis.request import EVENT_SOURCES, AnalysisRequest, request_fields
    from medius.analysis.result_build import SCHEMA_VERSION, build_result, temper_by_measured_error
    from medius.analysis.run import AnalysisOutcome, Progress, analyze

#: where each name lives: imported on first use, so that ``medius.analysis.request`` and
#: ``medius.analysis.outputs`` stay light (no pose model) for the web app and the report writers
_HOMES = {
    **dict.fromkeys(("KEYPOINT_SUFFIXES", "MARKER_KINDS", "VIDEO_SUFFIXES", "input_kind"), "inputs"),
    **dict.fromkeys(("Renderer", "discard", "finish_output_dir", "prepare_output_dir", "publish"), "outputs"),
    **dict.fromkeys(("EVENT_SOURCES", "AnalysisRequest", "request_fields"), "request"),
    **dict.fromkeys(("SCHEMA_VERSION", "build_result", "temper_by_measured_error"), "result_build"),
    **dict.fromkeys(("AnalysisOutcome", "Progress", "analyze"), "run"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'medius.analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(f"medius.analysis.{home}"), name)


__all__ = [
    "EVENT_SOURCES",
    "KEYPOINT_SUFFIXES",
    "MARKER_KINDS",
    "SCHEMA_VERSION",
    "VIDEO_SUFFIXES",
    "AnalysisOutcome",
    "AnalysisRequest",
    "Progress",
    "Renderer",
    "analyze",
    "build_result",
    "discard",
    "finish_output_dir",
    "input_kind",
    "prepare_output_dir",
    "publish",
    "request_fields",
    "temper_by_measured_error",
]
