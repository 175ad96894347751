"""The whole analysis of one input, from a path to a finished output folder.

``analyze_path`` is what ``medius analyze`` (and later the web app and the batch runner) calls:

1. check the output folder *before* any work (exists without ``force`` → :class:`OutputError`);
2. read the input: a video (decoded on a thread, pose estimated frame by frame, camera motion
   measured on the frame borders) or a keypoint file (OpenPose JSON folder, TRC);
3. select the tested person, correct left/right labels, run the protocol;
4. assemble ``result.json`` (schema in ``docs/result-schema.md``) and write every output into a
   temporary folder beside the destination, then rename it into place: a failure at any point
   leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import platform
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from medius import __version__
from medius.errors import InputNotFoundError, InvalidInputError, NotJudgeableError, UsageError
from medius.io import KEYPOINTS, Keypoints2D
from medius.io._motion import CameraMotionTracker
from medius.io.force_plates import ForcePlates, read_c3d_trial
from medius.io.keypoint_files import MultiPersonKeypoints, read_keypoints
from medius.io.markers import MARKER_UNIT_CHOICES, Markers3D, read_markers, trc_units
from medius.io.synthetic import read_marker
from medius.io.video import FrameCache, iter_frames, probe_video
from medius.kinematics.angles3d import project_frontal
from medius.kinematics.filtering3d import fill_gaps
from medius.kinematics.labtrial import drop_empty_markers, event_markers, prepare_lab_trial
from medius.pose import (
    BlazePoseBackend,
    FlipTestBackend,
    PeopleCensus,
    correct_left_right,
    estimate_poses,
    select_person,
    select_tracked_person,
)
from medius.protocols import (
    GAIT_METRICS,
    GAIT_TASKS,
    METRICS,
    TASKS,
    AnalysisParameters,
    GaitAnalysis,
    GaitParameters,
    SingleLegAnalysis,
    analyze_gait_keypoints,
    analyze_gait_lab,
    analyze_single_leg,
)
from medius.protocols._gait import GAIT_DEFINITIONS, SUMMARY_STAT
from medius.protocols._interpret import interpret_summary, metric_definitions
from medius.protocols._single_leg import SUMMARY_STAT as SINGLE_LEG_SUMMARY_STAT
from medius.report._output import finish_output_dir as _finish_output_dir
from medius.report._output import prepare_output_dir
from medius.report.annotate import (
    ANNOTATED_MAX_SIDE_PX,
    FaceScan,
    head_ellipse_of,
    render_annotated_video,
    render_keypoint_video,
)
from medius.report.html import write_html_report
from medius.report.plots import write_gait_plots, write_plots
from medius.report.tables import reps_csv_text, stances_csv_text
from medius.report.task_guess import TaskGuess, guess_task

__all__ = [
    "KEYPOINT_SUFFIXES",
    "SCHEMA_VERSION",
    "VIDEO_SUFFIXES",
    "AnalysisOutcome",
    "analyze_path",
    "input_kind",
    "prepare_output_dir",
]

#: version of the ``result.json`` schema (docs/result-schema.md)
SCHEMA_VERSION = "2.1"
#: seconds between the frames on which everyone in view is counted (medius.pose.PeopleCensus)
CENSUS_INTERVAL_S = 1.0
#: the temporary copy of the frames for the annotated video, inside the temporary output folder
_FRAME_CACHE_NAME = ".frames-for-annotated-video.mkv"
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".3gp", ".mts")
KEYPOINT_SUFFIXES = (".json", ".trc")
#: input kinds that are 3D marker data (lab trials)
MARKER_KINDS = ("c3d", "marker-trc", "marker-text")
#: metrics whose definitions a gait result carries (the angles, then the per-stance scalars)
GAIT_DEFINED_METRICS = (*GAIT_METRICS, "pelvic_drop_midstance_deg", "step_width_pct", "step_width_cm",
                        "cadence_steps_per_min")
#: how the gait events of a lab trial are found (``analyze_path(events=...)``)
EVENT_SOURCES = ("auto", "markers", "force-plates", "file")
PROGRESS = Callable[[str, int, int | None], None]


@dataclass
class AnalysisOutcome:
    """What :func:`analyze_path` did: the result, where it is, and the exit code it implies."""

    result: dict[str, Any]
    out_dir: Path
    judgeable: bool

    @property
    def exit_code(self) -> int:
        return 0 if self.judgeable else 5

    @property
    def report_path(self) -> Path:
        return self.out_dir / "report.html"


def input_kind(path: Path) -> str:
    """What an existing path holds.

    ``"video"``, ``"openpose-json"`` (a file or a folder of them), ``"trc"`` (2D keypoints in
    pixels), ``"video-folder"``, or lab marker data: ``"c3d"``, ``"marker-trc"`` (a TRC in mm or
    m) and ``"marker-text"`` (a ``.txt``/``.tsv``/``.csv`` table of marker X/Y/Z columns).
    """
    if not path.exists():
        raise InputNotFoundError("no such file or folder", path=path)
    if path.is_dir():
        if any(path.glob("*.json")):
            return "openpose-json"
        if any(p.suffix.lower() in VIDEO_SUFFIXES for p in path.iterdir() if p.is_file()):
            return "video-folder"
        raise InvalidInputError("folder holds neither videos nor OpenPose JSON keypoint files", path=path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "openpose-json"
    if suffix == ".trc":
        units = (trc_units(path) or "").lower()
        return "marker-trc" if units in ("mm", "cm", "m") else "trc"
    if suffix == ".c3d":
        return "c3d"
    if suffix in (".txt", ".tsv", ".csv"):
        return "marker-text"
    return "video"


def _release_memory() -> None:
    """Give the pose models' freed buffers back to the OS (glibc only; measured: −225 to −250 MB
    of peak RSS while the outputs are written)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


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


def analyze_path(
    path: str | Path,
    *,
    task: str = "single-leg-squat",
    out_dir: str | Path,
    side: str = "auto",
    force: bool = False,
    blur_faces: bool = True,
    annotated_video: bool = True,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
    sex: str | None = None,
    max_side_px: int = 1280,
    params: AnalysisParameters | None = None,
    progress: PROGRESS | None = None,
    static: str | Path | None = None,
    marker_set: str | Path = "plug-in-gait",
    events: str = "auto",
    view: str = "auto",
    gait_params: GaitParameters | None = None,
    marker_units: str | None = None,
    marker_rate_hz: float | None = None,
    flip_test: bool = False,
) -> AnalysisOutcome:
    """Analyse one video, keypoint file or lab marker trial and write the output folder.

    ``flip_test`` (videos only) runs the pose model on every frame and on its mirror image and
    averages the two (:class:`medius.pose.FlipTestBackend`): left and right are then treated
    alike by construction, at the cost of a second inference per frame.

    ``static``, ``marker_set`` and ``events`` apply to marker trials (C3D, TRC in mm/m, marker
    text tables): the static calibration trial, the marker set (``"plug-in-gait"`` or a YAML
    path) and where the gait events come from (:data:`EVENT_SOURCES`); ``marker_units`` (``"mm"``,
    ``"m"``) and ``marker_rate_hz`` for marker tables that do not state them. ``view`` applies to gait
    videos (``"auto"``, ``"back"``, ``"front"``).

    Raises :class:`~medius.errors.MediusError` subclasses for bad input or output; a capture that
    cannot be judged is *not* an exception: the outcome says so (exit code 5) and the folder holds
    a report explaining why.
    """
    path = Path(path)
    out_dir = Path(out_dir)
    if task not in TASKS and task != "auto":
        raise InvalidInputError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}")
    if events not in EVENT_SOURCES:
        raise InvalidInputError(f"unknown event source {events!r}; allowed: {', '.join(EVENT_SOURCES)}")
    if view not in ("auto", "back", "front"):
        raise InvalidInputError(f"unknown camera view {view!r}; allowed: auto, back, front")
    kind = input_kind(path)
    if kind == "video-folder":
        raise InvalidInputError("is a folder of videos; analyse each video on its own", path=path)
    if static is not None and kind not in MARKER_KINDS:
        raise InvalidInputError("a static trial (--static) applies only to marker trials (C3D, TRC, text)", path=path)
    if flip_test and kind != "video":
        raise InvalidInputError("the flip test (--flip-test) applies only to videos: it runs the pose model", path=path)
    if kind in MARKER_KINDS:
        if task == "auto":
            raise UsageError(f"say which movement this lab trial is: --task {' | '.join(TASKS)}", path=path)
        return _analyze_markers(
            path, kind=kind, task=task, out_dir=out_dir, force=force, static=static, marker_set=marker_set,
            events=events, sex=sex, annotated_video=annotated_video, gait_params=gait_params, params=params,
            say=progress or (lambda stage, done, total: None), units=marker_units, rate_hz=marker_rate_hz,
        )
    params = params or AnalysisParameters()
    info: dict[str, Any] = {"name": path.name, "kind": kind}
    camera: dict[str, float] | None = None
    synthetic_marker = None
    pose_model: dict[str, Any] | None = None
    say = progress or (lambda stage, done, total: None)
    frame_cache: FrameCache | None = None
    face_scan: FaceScan | None = None

    # read before creating the output folder: bad input must leave nothing behind
    if kind == "video":
        vinfo = probe_video(path)
        info.update(
            width=vinfo.width,
            height=vinfo.height,
            duration_s=vinfo.duration_s,
            n_frames=vinfo.n_frames,
            fps_average=vinfo.fps,
            variable_frame_rate=vinfo.is_variable_frame_rate,
            rotation_deg=vinfo.rotation_deg,
            codec=vinfo.codec,
            container=vinfo.container_format,
        )
    tmp = prepare_output_dir(out_dir, force=force)
    try:
        if kind == "video":
            tracker = CameraMotionTracker()
            total = vinfo.n_frames
            if annotated_video:
                # a small copy of the frames for the annotated video, kept while the pose pass
                # decodes them, so the source is decoded once (see FrameCache)
                frame_cache = FrameCache(
                    tmp / _FRAME_CACHE_NAME,
                    display_size=(vinfo.width, vinfo.height),
                    max_side_px=min(max_side_px, ANNOTATED_MAX_SIDE_PX),
                    fps_hint=vinfo.fps if vinfo.fps and np.isfinite(vinfo.fps) else 30.0,
                )
                if blur_faces:
                    # faces are found while the frames go by, on the pose pass's side thread
                    face_scan = FaceScan()
            frames, census_model = _start_pose_pass(path, max_side_px)
            with (
                _tracking_backend(flip_test) as backend,
                contextlib.closing(census_model()) as census_backend,
            ):
                census = PeopleCensus(census_backend, interval_s=CENSUS_INTERVAL_S)
                pose_model = {
                    **backend.describe(),
                    "census": {**census_backend.describe(), "interval_s": CENSUS_INTERVAL_S},
                }
                last_pose = _LastPose(backend)
                people = estimate_poses(
                    frames,
                    last_pose,
                    image_size=(vinfo.width, vinfo.height),
                    max_people=1,
                    on_frame=lambda i, t: say("pose", i + 1, total),
                    frame_observers=[tracker.update],
                    census=census,
                    frame_sinks=[_copy_sink(frame_cache, face_scan, last_pose)] if frame_cache is not None else (),
                )
                census_people = census.result((vinfo.width, vinfo.height))
                facing_depth = last_pose.facing_from_depth()
                trunk_yaw = last_pose.camera_yaw()
            _release_memory()
            camera = tracker.summary((vinfo.width, vinfo.height))
            if trunk_yaw:
                camera = {**camera, **trunk_yaw}
            if people.n_frames == 0:
                raise InvalidInputError("the video has no decodable frames", path=path)
        else:
            say("reading keypoints", 0, None)
            census_people = None
            facing_depth = None
            people = read_keypoints(path, fps=fps, image_size=image_size)
            synthetic_marker = read_marker(path)
            pose_model = {"name": f"precomputed keypoints ({people.source})", "backend": people.source}
        info["sha256"] = _sha256(path)
        outcome = _analyze_people(
            people,
            census=census_people,
            task=task,
            side=side,
            camera=camera,
            image_size_known=kind == "video" or image_size is not None or people.image_size is not None,
            params=params,
            view=view,
            gait_params=gait_params,
            facing_depth=facing_depth,
        )
        analysis, kp_sel, selection, side_check = outcome
        if task == "auto":
            task = analysis.task
        t = kp_sel.time_s
        info.setdefault("n_frames", int(kp_sel.n_frames))
        info["n_frames_analysed"] = int(kp_sel.n_frames)
        info["fps_median"] = round(float(kp_sel.fps), 3) if np.isfinite(kp_sel.fps) else None
        info.setdefault("duration_s", float(t[-1] - t[0]) if t.size else 0.0)
        if "width" not in info and people.image_size is not None:
            info["width"], info["height"] = people.image_size
        result = build_result(
            analysis,
            task=task,
            input_info=info,
            selection=selection,
            side_check=side_check,
            pose_model=pose_model,
            sex=sex,
            synthetic=synthetic_marker,
            keypoints=analysis.keypoints if analysis.keypoints is not None else kp_sel,
            options={
                "side": side,
                "view": view,
                "blur_faces": blur_faces,
                "max_side_px": max_side_px,
                "fps": fps,
                "image_size": list(image_size) if image_size else None,
                "sex": sex,
                "flip_test": flip_test,
                **({"task_guessed": selection.get("task_guessed")} if selection.get("task_guessed") else {}),
            },
        )
        say("writing outputs", 0, None)
        write_outputs(
            result,
            analysis,
            tmp,
            video_path=path if kind == "video" else None,
            blur_faces=blur_faces,
            annotated_video=annotated_video,
            max_side_px=max_side_px,
            keypoints=analysis.keypoints if analysis.keypoints is not None else kp_sel,
            census=census_people,
            frame_cache=frame_cache,
            face_ellipses=face_scan.ellipses() if face_scan is not None else None,
        )
        if frame_cache is not None:
            frame_cache.remove()
        _finish_output_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if face_scan is not None:
            face_scan.close()
    return AnalysisOutcome(result=result, out_dir=out_dir, judgeable=analysis.judgeable)


def _absent_foot_markers(markers: Markers3D, marker_set: str | Path) -> str:
    """``; the marker set's 'LHEE' (left_heel) ... are not in the trial`` for the foot and pelvis
    roles the trial lacks (or never sees), to name them in an events message."""
    from medius.kinematics.markersets import load_marker_set

    ms = load_marker_set(marker_set)
    seen = set(drop_empty_markers(markers).labels)
    roles = ("left_heel", "left_toe", "right_heel", "right_toe", "left_psis", "right_psis", "sacrum")
    gone = [f"{ms.label(r)!r} ({r})" for r in roles if ms.label(r) is not None and ms.label(r) not in seen]
    return f"; marker set {ms.name!r}: {', '.join(gone)} not in the trial" if gone else f" (marker set {ms.name!r})"


def _lab_events(
    markers: Markers3D, angles: Any, path: Path, task: str, source: str, plates: ForcePlates | None,
    marker_set: str | Path = "plug-in-gait",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The gait events of a lab trial and where they came from.

    ``auto``: from the markers over the whole trial; on a C3D with force plates (``plates``, read
    with its markers; None for other files), each contact a plate saw replaces the marker event of
    the same foot and kind within 0.1 s (the plate is the reference method). ``markers``,
    ``force-plates`` or ``file`` (the C3D's own EVENT times) use that source alone.
    """
    from medius.events import assign_event_sides, detect_events_force_plates, detect_events_markers

    info: dict[str, Any] = {"requested": source}
    feet = fill_gaps(event_markers(markers, marker_set))  # the foot and pelvis markers, through the marker set

    def file_events() -> list[dict[str, Any]]:
        evs = [dict(e) for e in markers.events if e.get("kind") in ("foot_strike", "foot_off")]
        if any(not e.get("side") for e in evs):  # EVENT:CONTEXTS empty: sides from the feet
            evs = assign_event_sides(evs, feet, angles.axes)
            info["sides_assigned_from_feet"] = True
        return [dict(e, source="file") for e in evs if e.get("side") in ("left", "right")]

    if source == "file":
        evs = file_events()
        if not evs:
            raise InvalidInputError("the trial holds no foot-strike / foot-off events (--events file)", path=path)
        info.update(used="file", n=len(evs))
        return evs, info
    fp_events: list[dict[str, Any]] = []
    warnings: list[str] = []
    info["warnings"] = warnings
    skipped = [n for entry in (plates.log if plates is not None else ()) for n in entry.get("notes", ())
               if "skipped" in str(n)]
    if skipped:
        info["force_plates_skipped"] = skipped
        warnings.append("Force plates: " + "; ".join(skipped) + ": the events come from the markers.")
    if plates is not None and len(plates.plates) > 0 and source != "markers":
        try:
            fp = detect_events_force_plates(plates, angles)
        except (NotJudgeableError, InvalidInputError) as exc:  # a plate problem: marker events, and why
            info["force_plate_problem"] = exc.message
            if source == "force-plates":
                raise InvalidInputError(f"{exc.message} (--events force-plates)", path=path) from None
            warnings.append(f"Force plates not used for the events ({exc.message}); the events come from the markers.")
        else:
            fp_events = [dict(e, source="force_plate") for e in fp.events]
            info["force_plate_notes"] = list(fp.notes)
    info["force_plates"] = 0 if plates is None else len(plates.plates)
    if source == "force-plates":
        if not fp_events:
            raise InvalidInputError("no foot contacts on force plates in this trial (--events force-plates)", path=path)
        info.update(used="force-plates", n=len(fp_events))
        return fp_events, info
    # Zeni et al. 2008 for walking and running: the foot-velocity method measured far worse on the
    # synthetic and real trials (docs/gait-events.md)
    # on the gap-filled, unfiltered markers: low-pass filtering moves the heel and toe extrema
    try:
        found = detect_events_markers(feet, angles.axes, method="zeni", task=task)  # type: ignore[arg-type]
    except InvalidInputError as exc:  # foot or pelvis markers missing: the other sources, and why
        why = f"{exc.message}{_absent_foot_markers(markers, marker_set)}"
        if source == "auto" and fp_events:
            warnings.append(f"Events from the force plates only: no marker events ({why}).")
            info.update(used="force-plates", n=len(fp_events), marker_problem=exc.message)
            return fp_events, info
        evs = file_events() if source == "auto" else []
        if evs:
            warnings.append(f"Events from the file's own EVENT times: no marker events ({why}).")
            info.update(used="file", n=len(evs), marker_problem=exc.message)
            return evs, info
        raise InvalidInputError(
            f"{why}; map the heel and toe roles in a marker-set YAML, or use the file's own events (--events file)",
            path=path,
        ) from None
    mk = [dict(e, source="markers") for e in found.events]
    info["marker_method"] = found.method
    info["marker_notes"] = list(found.notes)
    if source == "markers" or not fp_events:
        info.update(used="markers", n=len(mk))
        return mk, info
    replaced = []
    out = list(mk)
    for fe in fp_events:
        near = [
            (abs(m["time_s"] - fe["time_s"]), i)
            for i, m in enumerate(out)
            if m.get("source") == "markers" and m["side"] == fe["side"] and m["kind"] == fe["kind"]
            and abs(m["time_s"] - fe["time_s"]) <= 0.1
        ]
        if near:
            d, i = min(near)
            replaced.append({"side": fe["side"], "kind": fe["kind"], "time_s": round(fe["time_s"], 4),
                             "marker_minus_plate_ms": round(1000 * (out[i]["time_s"] - fe["time_s"]), 1)})
            out[i] = fe
        else:
            out.append(fe)
    out.sort(key=lambda e: e["time_s"])
    info.update(used="markers + force plates", n=len(out), replaced_by_force_plates=replaced)
    return out, info


def _analyze_markers(
    path: Path,
    *,
    kind: str,
    task: str,
    out_dir: Path,
    force: bool,
    static: str | Path | None,
    marker_set: str | Path,
    events: str,
    sex: str | None,
    annotated_video: bool,
    gait_params: GaitParameters | None,
    params: AnalysisParameters | None,
    say: PROGRESS,
    units: str | None = None,
    rate_hz: float | None = None,
) -> AnalysisOutcome:
    """A lab marker trial: read, calibrate, model, events, per-stance metrics, outputs."""
    if units is not None and units not in MARKER_UNIT_CHOICES:
        raise InvalidInputError(f"unknown marker units {units!r}; allowed: {', '.join(MARKER_UNIT_CHOICES)}")
    say("reading markers", 0, None)
    plates: ForcePlates | None = None
    if kind == "c3d" and task in GAIT_TASKS and events != "file":  # the C3D parsed once for both
        markers, plates = read_c3d_trial(path)
    else:
        markers = read_markers(path, units=units, rate_hz=rate_hz)  # type: ignore[arg-type]
    static_m = read_markers(Path(static), units=units, rate_hz=rate_hz) if static is not None else None  # type: ignore[arg-type]
    if markers.n_frames == 0 or not np.isfinite(markers.position).any():
        raise InvalidInputError("the trial has no 3D point data", path=path)
    gp = gait_params or GaitParameters()
    info: dict[str, Any] = {
        "name": path.name,
        "kind": kind,
        "rate_hz": round(float(markers.rate_hz), 3),
        "n_frames": int(markers.n_frames),
        "n_markers": len(markers.labels),
        "duration_s": round(float(markers.time_s[-1] - markers.time_s[0]), 4),
        "units": "m",
        "static": Path(static).name if static is not None else None,
    }
    tmp = prepare_output_dir(out_dir, force=force)
    try:
        info["sha256"] = _sha256(path)
        if static is not None:
            info["static_sha256"] = _sha256(Path(static))
        cutoff = gp.lab_cutoff_hz(task) if task in GAIT_TASKS else (params or AnalysisParameters()).cutoff_hz
        say("lab model", 0, None)
        angles, lab_info = prepare_lab_trial(markers, marker_set=marker_set, static=static_m, cutoff_hz=cutoff,
                                             partial=task in GAIT_TASKS)  # gait: stance by stance
        options = {"static": info["static"], "marker_set": str(marker_set), "events": events, "sex": sex,
                   "marker_units": units, "marker_rate_hz": rate_hz}
        if task in GAIT_TASKS:
            say("gait events", 0, None)
            evs, ev_info = _lab_events(markers, angles, path, task, events, plates, marker_set)
            lab_info.setdefault("warnings", []).extend(ev_info.pop("warnings", []))
            analysis: SingleLegAnalysis | GaitAnalysis = analyze_gait_lab(
                angles, evs, task=task, params=gp,  # type: ignore[arg-type]
                parameters={"lab_model": lab_info, "events": ev_info},
            )
            keypoints = analysis.keypoints
        else:
            keypoints = project_frontal(angles.joint_centres, angles.axes)
            analysis = analyze_single_leg(keypoints, task=task, facing="camera", params=params)  # type: ignore[arg-type]
            analysis.parameters["lab_model"] = lab_info
            analysis.warnings.append(
                "Lab trial: the single-leg metrics are measured on the frontal projection of the joint centres."
            )
        assert keypoints is not None
        result = build_result(
            analysis,
            task=task,
            input_info=info,
            selection={"people_in_view": 1, "method": "lab trial (one subject)"},
            side_check={},
            pose_model=None,
            sex=sex,
            synthetic=read_marker(path),
            keypoints=keypoints,
            options=options,
        )
        say("writing outputs", 0, None)
        write_outputs(
            result,
            analysis,
            tmp,
            video_path=None,
            blur_faces=False,
            annotated_video=annotated_video,
            max_side_px=1280,
            keypoints=keypoints,
        )
        _finish_output_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return AnalysisOutcome(result=result, out_dir=out_dir, judgeable=analysis.judgeable)


def _analyze_people(
    people: MultiPersonKeypoints,
    *,
    census: MultiPersonKeypoints | None = None,
    task: str,
    side: str,
    camera: dict[str, float] | None,
    image_size_known: bool,
    params: AnalysisParameters,
    view: str = "auto",
    gait_params: GaitParameters | None = None,
    facing_depth: dict[str, float] | None = None,
) -> tuple[SingleLegAnalysis | GaitAnalysis, Keypoints2D, dict[str, Any], dict[str, Any]]:
    if census is not None:
        # video: one tracked person per frame, checked against the census of everyone in view
        kp, sel = select_tracked_person(people, census, census_interval_s=CENSUS_INTERVAL_S)
    else:
        # keypoint files: several people per frame, choose and track here
        kp, sel = select_person(people)
    guessed: str | None = None
    if task == "auto":
        guess = guess_task(kp.position, kp.time_s, kp.keypoint_names)
        if guess.task is None and not guess.enough_data:
            # nothing to judge whatever the task: the single-leg analysis reports why (exit 5)
            guess = TaskGuess("single-leg-squat", f"not known ({guess.reason})")
        if guess.task is None:
            raise UsageError(
                f"cannot tell the movement from the recording ({guess.reason}); say it with --task "
                + " | ".join(TASKS)
            )
        task, guessed = guess.task, f"{guess.task}: {guess.reason}"
    if task in GAIT_TASKS:
        # walking and running are filmed from behind unless the evidence or the user says otherwise;
        # a view the user declared (--view) wins over the evidence
        kp, sides = correct_left_right(
            kp, expected_facing="camera" if view == "front" else "away", depth=facing_depth,
            declared={"front": "camera", "back": "away"}.get(view),  # type: ignore[arg-type]
        )
        gait = analyze_gait_keypoints(
            kp,
            task=task,  # type: ignore[arg-type]
            view=view,  # type: ignore[arg-type]
            facing=sides.facing,
            selection=sel.as_dict(),
            side_check=sides.as_dict(),
            camera=camera,
            image_size_known=image_size_known,
            params=gait_params,
        )
        return gait, kp, _with_guess(sel.as_dict(), guessed), sides.as_dict()
    kp, sides = correct_left_right(kp, expected_facing="camera", depth=facing_depth)
    analysis = analyze_single_leg(
        kp,
        task=task,  # type: ignore[arg-type]
        side=side,  # type: ignore[arg-type]
        facing=sides.facing,
        selection=sel.as_dict(),
        side_check=sides.as_dict(),
        camera=camera,
        image_size_known=image_size_known,
        params=params,
    )
    return analysis, kp, _with_guess(sel.as_dict(), guessed), sides.as_dict()


def _with_guess(selection: dict[str, Any], guessed: str | None) -> dict[str, Any]:
    return {**selection, "task_guessed": guessed} if guessed else selection


def _gait_definitions(analysis: GaitAnalysis) -> dict[str, Any]:
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
                    f"±{float(err):.1f} (95 % of rendered test reps/stances), more than the {distance:.1f} between "
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
        "metrics": _gait_definitions(analysis) if gait else metric_definitions(METRICS),
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

        result["measured_error"] = measured_errors_for(
            task, metrics, view=analysis.view, fps=input_info.get("fps_average"),
            width=input_info.get("width"), height=input_info.get("height"),
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


class _LastPose:
    """A pose backend that remembers its latest detection (read by the face scan's thread)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.name = backend.name
        self.last: list[Any] = []

    def describe(self) -> dict[str, Any]:
        return self._backend.describe()

    def facing_from_depth(self) -> dict[str, float] | None:
        f = getattr(self._backend, "facing_from_depth", None)
        return f() if callable(f) else None

    def camera_yaw(self) -> dict[str, float] | None:
        f = getattr(self._backend, "camera_yaw", None)
        return f() if callable(f) else None

    def detect(self, image_rgb: np.ndarray, time_s: float) -> list[Any]:
        people = self._backend.detect(image_rgb, time_s)
        self.last = people  # one assignment: safe to read from another thread
        return people

    def close(self) -> None:
        self._backend.close()


def _copy_sink(frame_cache: FrameCache, face_scan: FaceScan | None, poses: _LastPose) -> Callable[[Any], None]:
    """The pose pass's frame sink: the frame copy, then the face scan on the copy's image.

    The tracked person's head in the latest detection is passed to the face scan as covered:
    it is blurred from the keypoints anyway, so their face is not followed (saves a face-model
    run a frame on the side thread).
    """

    def sink(frame: Any) -> None:
        image = frame_cache.add(frame)
        if face_scan is None:
            return
        covered = []
        factor = frame_cache.scale / (frame.scale or 1.0)  # pose-frame px -> copy px
        for person in poses.last[:1]:
            head = head_ellipse_of(person.xy * factor, person.confidence, KEYPOINTS, max(image.shape[:2]))
            if head is not None:
                covered.append(head)
        face_scan.add(image, frame.index, frame.time_s, frame_cache.scale, covered=covered)

    return sink


def _tracking_backend(flip_test: bool) -> BlazePoseBackend | FlipTestBackend:
    """The model that tracks the tested person: BlazePose in video mode, with the flip test if asked."""
    if flip_test:
        return FlipTestBackend(lambda: BlazePoseBackend(num_poses=1, mode="video"))
    return BlazePoseBackend(num_poses=1, mode="video")


def _start_pose_pass(path: Path, max_side_px: int) -> tuple[Any, Callable[[], BlazePoseBackend]]:
    """Start decoding ``path`` and creating the census model while the caller creates the tracker.

    A helper thread takes the first frame (which starts the decoding thread and fills its queue)
    and then creates the census's multi-person model, so neither waits for the tracker's model.
    Returns the frames (the first one included) and a function giving the census model (waiting
    for it, re-raising its error).
    """
    frames = iter_frames(path, max_side_px=max_side_px)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["first"] = next(frames, None)
            box["census"] = BlazePoseBackend(num_poses=3, mode="image")
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    helper = threading.Thread(target=work, name="medius-pose-start", daemon=True)
    helper.start()

    def census_backend() -> BlazePoseBackend:
        helper.join()
        if "error" in box:
            raise box["error"]
        return box["census"]

    def all_frames() -> Any:
        helper.join()
        if "error" in box:
            raise box["error"]
        if box["first"] is None:
            return
        yield box["first"]
        yield from frames

    return all_frames(), census_backend


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
    ``face_ellipses`` (:class:`~medius.report.annotate.FaceScan`, run during the pose pass) the
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
