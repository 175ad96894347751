"""The output folder of one analysis, rendered: ``result.json``, the CSV table, plots, the annotated
video and ``report.html``; and :func:`run_analysis`, the one call the edges make.

:func:`render_outputs` is the renderer the edges hand to :func:`medius.analysis.publish`; the
analysis layer never imports this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from medius.analysis import AnalysisOutcome, AnalysisRequest, Progress, analyze, publish
from medius.analysis.video_pass import ANNOTATED_MAX_SIDE_PX, CENSUS_INTERVAL_S
from medius.io import Keypoints2D
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.io.video import FrameCache
from medius.protocols import GaitAnalysis, SingleLegAnalysis
from medius.report.annotate import render_annotated_video, render_keypoint_video
from medius.report.html import write_html_report
from medius.report.plots import write_gait_plots, write_plots
from medius.report.tables import reps_csv_text, stances_csv_text

__all__ = ["render_outputs", "run_analysis", "write_outputs"]


def run_analysis(request: AnalysisRequest, *, progress: Progress | None = None) -> AnalysisOutcome:
    """Analyse, render and publish one request: the output folder is in place when it returns
    (or, on any failure or interrupt, nothing is). What ``medius analyze``, the batch runner, the
    web job child and the validation harness call."""
    return publish(analyze(request, progress), render_outputs, progress=progress)


def render_outputs(outcome: AnalysisOutcome, folder: Path) -> None:
    """Write every output of ``outcome`` into ``folder`` (its workspace): see :func:`write_outputs`."""
    request, video = outcome.request, outcome.video
    write_outputs(
        outcome.result,
        outcome.analysis,
        folder,
        video_path=outcome.video_path,
        blur_faces=request.blur_faces,
        annotated_video=request.annotated_video,
        max_side_px=request.max_side_px,
        keypoints=outcome.keypoints,
        census=video.census if video else None,
        frame_cache=video.frame_cache if video else None,
        face_ellipses=video.face_ellipses if video else None,
    )


def write_outputs(
    result: dict[str, Any],
    analysis: SingleLegAnalysis | GaitAnalysis,
    folder: Path,
    *,
    video_path: Path | None,
    blur_faces: bool,
    annotated_video: bool,
    max_side_px: int,
    keypoints: Keypoints2D,
    census: MultiPersonKeypoints | None = None,
    frame_cache: FrameCache | None = None,
    face_ellipses: dict[int, list[np.ndarray]] | None = None,
) -> None:
    """Write result.json, reps.csv (stances.csv for gait), plots, the annotated video and report.html.

    The plots, the annotated video and the report read the result as it is: a gait result is
    drawn with its stances (``result["stances"]``), a single-leg result with its reps. The
    annotated video of a video input is written at ``min(max_side_px, ANNOTATED_MAX_SIDE_PX)``;
    ``census`` (everyone the pose layer's census saw) lets it blur bystanders' heads too;
    ``frame_cache`` (the frames the pose pass kept) spares decoding the video a second time, and
    ``face_ellipses`` (:class:`~medius.analysis.faces.FaceScan`, run during the pose pass) the
    face detection.
    """
    folder = Path(folder)
    series = analysis.series
    gait = isinstance(analysis, GaitAnalysis)
    csv_name = "stances.csv" if gait else "reps.csv"
    files: dict[str, Any] = {"result": "result.json", "csv": csv_name, "report": "report.html"}
    plots: list[Path] = []
    if analysis.judgeable and series:
        plots = write_gait_plots(result, series, folder) if gait else write_plots(result, series, folder)
    files["plots"] = [p.name for p in plots]
    video_out = None
    if annotated_video:
        video_out = folder / "annotated.mp4"
        if video_path is not None:
            render_annotated_video(
                video_path,
                video_out,
                result=result,
                series=series,
                keypoints=keypoints,
                blur_faces=blur_faces,
                max_side_px=min(max_side_px, ANNOTATED_MAX_SIDE_PX),
                census=census,
                census_interval_s=CENSUS_INTERVAL_S,
                frames=frame_cache.frames() if frame_cache is not None else None,
                face_ellipses=face_ellipses,
            )
        else:
            render_keypoint_video(video_out, result=result, series=series, keypoints=keypoints)
        files["video"] = video_out.name
    result["files"] = files
    (folder / csv_name).write_text(stances_csv_text(result) if gait else reps_csv_text(result), encoding="utf-8")
    (folder / "result.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_html_report(result, folder / "report.html", plot_paths=plots, video_path=video_out)