"""One analysis, from a request to an outcome: :func:`analyze`.

The outcome holds ``result.json`` (as a dict), what the renderers draw (the protocol's series,
the keypoints, the census, the frame copy and the faces found) and the workspace, a temporary
folder beside the output folder; :func:`medius.analysis.outputs.publish` has the edge's renderer
write the outputs there and renames it into place. See docs/architecture.md for the path of one
analysis, step by step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medius.analysis.inputs import MARKER_KINDS, input_kind, input_sha256
from medius.analysis.lab import analyze_lab_trial, read_lab_trial
from medius.analysis.outputs import prepare_output_dir, remove_workspace
from medius.analysis.people import analyze_people
from medius.analysis.request import AnalysisRequest
from medius.analysis.result_build import build_result
from medius.analysis.video_pass import VideoPass, run_video_pass
from medius.errors import InvalidInputError, UsageError
from medius.io import Keypoints2D, synthetic_metadata
from medius.io.keypoint_files import MultiPersonKeypoints, read_keypoints
from medius.io.video import probe_video
from medius.protocols import TASKS, GaitAnalysis, SingleLegAnalysis

__all__ = ["AnalysisOutcome", "Progress", "analyze"]

#: ``progress(stage, done, total)``: called as the analysis goes (``total`` None: not known)
Progress = Callable[[str, int, int | None], None]


@dataclass
class AnalysisOutcome:
    """What :func:`analyze` found, and what the renderers need to write the output folder."""

    request: AnalysisRequest
    #: ``result.json`` (``files`` is filled in by the renderer)
    result: dict[str, Any]
    analysis: SingleLegAnalysis | GaitAnalysis
    #: the tested person's keypoints the analysis measured (the annotated video draws them)
    keypoints: Keypoints2D
    #: the video's pose pass: everyone the census saw, the frames kept and the faces found
    #: (None: keypoints or a marker trial)
    video: VideoPass | None = None
    #: the temporary output folder (None once published or discarded)
    workspace: Path | None = None

    @property
    def out_dir(self) -> Path:
        return self.request.out_dir

    @property
    def video_path(self) -> Path | None:
        """The video to draw on (None: keypoints or a marker trial)."""
        return self.request.input if self.video is not None else None

    @property
    def judgeable(self) -> bool:
        return bool(self.analysis.judgeable)

    @property
    def exit_code(self) -> int:
        return 0 if self.judgeable else 5

    @property
    def report_path(self) -> Path:
        return self.out_dir / "report.html"


def analyze(request: AnalysisRequest, progress: Progress | None = None) -> AnalysisOutcome:
    """Analyse one video, keypoint file or lab marker trial into an outcome with a workspace.

    Bad input raises a :class:`~medius.errors.MediusError` before the workspace exists, or
    removes it; a capture that cannot be judged is *not* an exception: the outcome says so (exit
    code 5) and its report will explain why.
    """
    say = progress or _quiet
    kind = checked_input_kind(request)
    if kind in MARKER_KINDS:
        trial = read_lab_trial(request, kind, say)  # read before the workspace: bad input leaves nothing
        workspace = prepare_output_dir(request.out_dir, force=request.force)
        with _removed_on_failure(workspace):
            analysis, keypoints = analyze_lab_trial(trial, request, say)
            result = build_result(
                analysis, task=request.task, input_info=trial.info,
                selection={"people_in_view": 1, "method": "lab trial (one subject)"}, side_check={},
                pose_model=None, sex=request.sex, synthetic=synthetic_metadata(request.input), keypoints=keypoints,
                options=request.provenance(lab=True),
            )
            return AnalysisOutcome(request, result, analysis, keypoints, workspace=workspace)
    info: dict[str, Any] = {"name": request.input.name, "kind": kind}
    vinfo = probe_video(request.input) if kind == "video" else None  # before the workspace, as above
    if vinfo is not None:
        info.update(width=vinfo.width, height=vinfo.height, duration_s=vinfo.duration_s, n_frames=vinfo.n_frames,
                    fps_average=vinfo.fps, variable_frame_rate=vinfo.is_variable_frame_rate,
                    rotation_deg=vinfo.rotation_deg, codec=vinfo.codec, container=vinfo.container_format)
    workspace = prepare_output_dir(request.out_dir, force=request.force)
    with _removed_on_failure(workspace):
        video: VideoPass | None = None
        if vinfo is not None:
            video = run_video_pass(request.input, vinfo, workspace=workspace, max_side_px=request.max_side_px,
                                   annotated_video=request.annotated_video, blur_faces=request.blur_faces,
                                   flip_test=request.flip_test, say=say)
            people, pose_model = video.people, video.pose_model
        else:
            say("reading keypoints", 0, None)
            people = read_keypoints(request.input, fps=request.fps, image_size=request.image_size)
            pose_model = {"name": f"precomputed keypoints ({people.source})", "backend": people.source}
        info["sha256"] = input_sha256(request.input)
        analysis, kp_sel, selection, side_check = analyze_people(
            people, census=video.census if video else None, task=request.task, side=request.side,
            camera=video.camera if video else None, view=request.view,
            image_size_known=video is not None or request.image_size is not None or people.image_size is not None,
            facing_depth=video.facing_depth if video else None,
        )
        _describe_frames(info, kp_sel, people)
        keypoints = analysis.keypoints if analysis.keypoints is not None else kp_sel
        result = build_result(
            analysis, task=analysis.task if request.task == "auto" else request.task, input_info=info,
            selection=selection, side_check=side_check, pose_model=pose_model, sex=request.sex,
            synthetic=None if video else synthetic_metadata(request.input), keypoints=keypoints,
            options=request.provenance(lab=False, task_guessed=selection.get("task_guessed")),
        )
        return AnalysisOutcome(request, result, analysis, keypoints, video=video, workspace=workspace)


def checked_input_kind(request: AnalysisRequest) -> str:
    """The input's kind (:func:`~medius.analysis.inputs.input_kind`), and the options that do not
    apply to it refused (exit code 4; a lab trial without its task: exit code 2)."""
    path = request.input
    kind = input_kind(path)
    if kind == "video-folder":
        raise InvalidInputError("is a folder of videos; analyse each video on its own", path=path)
    if request.static is not None and kind not in MARKER_KINDS:
        raise InvalidInputError("a static trial (--static) applies only to marker trials (C3D, TRC, text)", path=path)
    if request.flip_test and kind != "video":
        raise InvalidInputError("the flip test (--flip-test) applies only to videos: it runs the pose model", path=path)
    if kind in MARKER_KINDS and request.task == "auto":
        raise UsageError(f"say which movement this lab trial is: --task {' | '.join(TASKS)}", path=path)
    return kind


def _describe_frames(info: dict[str, Any], kp: Keypoints2D, people: MultiPersonKeypoints) -> None:
    """``result.json``'s ``input``: the frames analysed, their rate and the duration."""
    t = kp.time_s
    info.setdefault("n_frames", int(kp.n_frames))
    info["n_frames_analysed"] = int(kp.n_frames)
    info["fps_median"] = round(float(kp.fps), 3) if np.isfinite(kp.fps) else None
    info.setdefault("duration_s", float(t[-1] - t[0]) if t.size else 0.0)
    if "width" not in info and people.image_size is not None:
        info["width"], info["height"] = people.image_size


@contextlib.contextmanager
def _removed_on_failure(workspace: Path) -> Iterator[None]:
    """Remove ``workspace`` on any exception (Ctrl-C and SIGTERM included) and raise it again."""
    try:
        yield
    except BaseException:
        remove_workspace(workspace)
        raise


def _quiet(stage: str, done: int, total: int | None) -> None:
    """No progress report."""
