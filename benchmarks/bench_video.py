"""Speed and memory of the video analysis, measured side by side in one run (``make bench``).

Speed is reported as *ratios to bare inference measured in the same run*, because the machine a
benchmark runs on is often shared and absolute frame rates swing with the load. On one video (by
default the bundled Sports2D demo clip) and on the very same frames, three stages are timed:

1. **bare inference**: ``BlazePoseBackend().detect(image, time_s)`` over frames decoded
   beforehand into memory at the size the analysis uses (``iter_frames(path, max_side_px=1280)``),
   so decoding is not counted;
2. **analysis**: ``run_analysis(AnalysisRequest(..., annotated_video=False))``: probe, decode on its thread,
   inference and the rest of the pose pass (camera-motion tracking, multi-person census),
   person selection, left/right correction, filtering, the protocol and the report;
3. **analysis + video**: the same with the annotated video (a second decode, face detection
   and blurring, drawing and H.264 encoding).

Each repetition runs the three stages back to back (their order rotates from one repetition to
the next), and the ratios are taken within a repetition; the median over repetitions is
reported. Targets: analysis >= 0.90 and analysis + video >= 0.70 of bare inference. A miss is
printed as MISS; the process still exits 0.

Memory: the analysis runs in a fresh subprocess on 1920x1080 H.264 videos built from the sample
played back and forth: two lengths without the annotated video (default 30 s and 60 s; the
difference of their steady RSS gives the growth per minute of video) and one with it (default
10 s; the peak of writing the annotated video and the report). Each subprocess reports its peak
resident memory (``VmHWM`` in ``/proc/self/status``) for the analysis and for the outputs. The
peaks plus the growth give the extrapolation to a 10-minute 1080p video, compared with the 1 GB
target; the cost of embedding a video at the size limit in ``report.html`` is measured on its
own for the worst case.

Run ``python benchmarks/bench_video.py --help`` for the options. Results are printed as tables
and written as JSON (default ``build/bench/bench-results.json`` in the repository).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import av
import cv2

from medius.analysis import AnalysisRequest
from medius.io.samples import sample_path
from medius.io.video import Frame, VideoWriter, iter_frames, probe_video
from medius.pose import BlazePoseBackend
from medius.report.outputs import run_analysis

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = REPO_ROOT / "build" / "bench" / "bench-results.json"

#: decode size of the analysis (its default ``max_side_px``)
MAX_SIDE_PX = 1280
TASK = "single-leg-squat"
#: targets: analysis fps / bare inference fps
TARGET_ANALYSIS_RATIO = 0.90
TARGET_VIDEO_RATIO = 0.70
#: peak memory target for a 10-minute 1080p video, in MB (10**6 bytes)
TARGET_PEAK_MB = 1000.0
TARGET_VIDEO_MINUTES = 10.0
#: run-to-run spread of the peak RSS of the same analysis (MB), seen on a 2-core machine: it
#: sets how precise the growth from two peak RSS values can be
RSS_RUN_NOISE_MB = 15.0
#: run-to-run spread of the steady RSS (median over the last third of the pose loop), MB
STEADY_RSS_NOISE_MB = 4.0
#: size and frame rate of the videos built for the memory runs
MEMORY_VIDEO_SIZE = (1920, 1080)
MEMORY_VIDEO_FPS = 30.0
#: x264 preset of those videos: the fastest, to keep the bench short (CAVLC, no B-frames)
MEMORY_VIDEO_PRESET = "ultrafast"

#: relative spread of bare-inference fps between repetitions above which the run is called noisy
NOISY_SPREAD = 0.15

STAGES = ("bare", "analysis", "video")
STAGE_LABELS = {
    "bare": "bare inference (frames in memory)",
    "analysis": "analysis, no annotated video",
    "video": "analysis + annotated video",
}
_CHILD_TAG = "BENCH-MEMORY-JSON "


# ------------------------------------------------------------------------------- helpers
def read_proc_status_mb() -> dict[str, float]:
    """``VmRSS`` (current) and ``VmHWM`` (peak) resident memory of this process, in MB."""
    out: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024 / 1e6  # kB (KiB) -> MB
    return out


def describe_machine() -> dict[str, Any]:
    """Cores, CPU model, memory and load of this machine."""
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    mem_total_mb = None
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_total_mb = round(int(line.split()[1]) * 1024 / 1e6)
                break
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_total_mb": mem_total_mb,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
    }


def describe_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("medius", "mediapipe", "av", "numpy", "opencv-contrib-python"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["ffmpeg libavcodec"] = ".".join(str(v) for v in av.library_versions["libavcodec"])
    return out


def median_or_none(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def verdict(ratio: float | None, target: float) -> str:
    if ratio is None:
        return "n/a"
    return "PASS" if ratio >= target else "MISS"


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> None:
    """Plain-text table; ``align`` has one ``l`` or ``r`` per column."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(cells, widths, align, strict=True)
        )

    print("  " + line(headers))
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print("  " + line(r))


# ------------------------------------------------------------------------------ speed
@dataclass
class StageRun:
    """One timed run of one stage."""

    stage: str
    n_frames: int
    wall_s: float
    cpu_s: float
    #: analysis only: seconds from the start to the first / last pose frame, to the output writing
    first_frame_s: float | None = None
    pose_done_s: float | None = None
    outputs_start_s: float | None = None
    exit_code: int | None = None

    @property
    def fps(self) -> float:
        return self.n_frames / self.wall_s

    @property
    def cores_used(self) -> float:
        """CPU seconds per wall second: about 1 when one core does all the work."""
        return self.cpu_s / self.wall_s

    @property
    def cpu_ms_per_frame(self) -> float:
        return 1000.0 * self.cpu_s / self.n_frames

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fps"] = round(self.fps, 3)
        d["cpu_ms_per_frame"] = round(self.cpu_ms_per_frame, 2)
        d["cores_used"] = round(self.cores_used, 2)
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}


def time_bare_inference(frames: Sequence[Frame]) -> StageRun:
    """Bare ``detect`` over frames already in memory (a fresh backend; its creation is not timed)."""
    with BlazePoseBackend() as backend:
        t0, c0 = time.perf_counter(), time.process_time()
        for frame in frames:
            backend.detect(frame.image, frame.time_s)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return StageRun("bare", len(frames), wall, cpu)


def time_analysis(video: Path, out_dir: Path, *, annotated_video: bool, flip_test: bool = False) -> StageRun:
    """The whole ``analyze_path``; frames counted through its progress callback."""
    marks: dict[str, float] = {}
    n_pose = 0

    def progress(stage: str, done: int, total: int | None) -> None:
        nonlocal n_pose
        now = time.perf_counter()
        if stage == "pose":
            n_pose += 1
            marks.setdefault("first", now)
            marks["pose"] = now
        elif stage == "writing outputs":
            marks.setdefault("outputs", now)

    t0, c0 = time.perf_counter(), time.process_time()
    outcome = run_analysis(AnalysisRequest(
        video,
        task=TASK,
        out_dir=out_dir,
        annotated_video=annotated_video,
        force=True,
        flip_test=flip_test), progress=progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if n_pose == 0:
        raise RuntimeError(f"{video}: the analysis reported no pose frame; cannot compute its fps")

    def rel(key: str) -> float | None:
        return marks[key] - t0 if key in marks else None

    return StageRun(
        "flip" if flip_test else "video" if annotated_video else "analysis",
        n_pose,
        wall,
        cpu,
        first_frame_s=rel("first"),
        pose_done_s=rel("pose"),
        outputs_start_s=rel("outputs"),
        exit_code=outcome.exit_code,
    )


def run_speed(
    video: Path,
    frames: Sequence[Frame],
    work_dir: Path,
    *,
    repeats: int,
    deadline: Callable[[float], bool],
) -> dict[str, Any]:
    """Repetitions of the three stages back to back; rotating order; ratios within a repetition."""
    reps: list[dict[str, StageRun]] = []
    loads: list[float] = []
    for r in range(repeats):
        t_rep = time.perf_counter()
        loads.append(round(os.getloadavg()[0], 2))
        order = STAGES[r % 3 :] + STAGES[: r % 3]
        runs: dict[str, StageRun] = {}
        for stage in order:
            print(f"  repetition {r + 1}/{repeats}: {STAGE_LABELS[stage]} ...", flush=True)
            if stage == "bare":
                runs[stage] = time_bare_inference(frames)
            else:
                runs[stage] = time_analysis(
                    video, work_dir / f"out-{stage}", annotated_video=stage == "video"
                )
            print(f"    {runs[stage].fps:.2f} fps ({runs[stage].wall_s:.1f} s)", flush=True)
        reps.append(runs)
        if runs["analysis"].n_frames != len(frames) or runs["video"].n_frames != len(frames):
            print(
                f"  WARNING: the analysis saw {runs['analysis'].n_frames} frames, bare inference "
                f"{len(frames)}: not the same frames",
                flush=True,
            )
        if r + 1 < repeats and deadline(time.perf_counter() - t_rep):
            print(f"  stopping after {r + 1} repetition(s): the time budget would be exceeded", flush=True)
            break

    per_rep = [
        {
            "order": list(STAGES[i % 3 :] + STAGES[: i % 3]),
            "load_average_1min_at_start": loads[i],
            "runs": {s: runs[s].as_dict() for s in STAGES},
            "ratio_analysis": round(runs["analysis"].fps / runs["bare"].fps, 4),
            "ratio_video": round(runs["video"].fps / runs["bare"].fps, 4),
        }
        for i, runs in enumerate(reps)
    ]

    def med(stage: str, attr: str) -> float | None:
        vals = [getattr(rr[stage], attr) for rr in reps]
        return median_or_none(vals)

    median = {
        s: {
            "fps": med(s, "fps"),
            "wall_s": med(s, "wall_s"),
            "cpu_ms_per_frame": med(s, "cpu_ms_per_frame"),
            "cores_used": med(s, "cores_used"),
            "first_frame_s": med(s, "first_frame_s"),
            "pose_done_s": med(s, "pose_done_s"),
            "outputs_start_s": med(s, "outputs_start_s"),
        }
        for s in STAGES
    }
    ratio_analysis = statistics.median(p["ratio_analysis"] for p in per_rep)
    ratio_video = statistics.median(p["ratio_video"] for p in per_rep)
    # the annotated video's own pass (the video run's outputs less the plain run's outputs), in
    # units of bare inference's wall time of the same repetition
    video_pass = [
        (
            (rr["video"].wall_s - rr["video"].outputs_start_s)
            - (rr["analysis"].wall_s - rr["analysis"].outputs_start_s)
        )
        / rr["bare"].wall_s
        for rr in reps
        if rr["video"].outputs_start_s is not None and rr["analysis"].outputs_start_s is not None
    ]
    video_pass_over_bare = statistics.median(video_pass) if video_pass else None
    cpu_bare = median["bare"]["cpu_ms_per_frame"]
    bare_fps = [rr["bare"].fps for rr in reps]
    # how much bare inference itself changed between repetitions: the machine's load drifting
    spread = (max(bare_fps) - min(bare_fps)) / statistics.median(bare_fps)
    return {
        "bare_fps_spread": round(spread, 3),
        "noisy": spread > NOISY_SPREAD,
        "video": str(video),
        "n_frames": len(frames),
        "decoded_size": list(frames[0].image.shape[1::-1]),
        "repetitions_requested": repeats,
        "repetitions_done": len(reps),
        "exit_codes": sorted({rr[s].exit_code for rr in reps for s in ("analysis", "video")}),
        "median": median,
        "ratio_analysis": ratio_analysis,
        "ratio_video": ratio_video,
        "video_pass_over_bare": video_pass_over_bare,
        # what the video ratio would be with the analysis exactly on its target and this pass
        "ratio_video_if_analysis_on_target": (
            1.0 / (1.0 / TARGET_ANALYSIS_RATIO + video_pass_over_bare)
            if video_pass_over_bare is not None
            else None
        ),
        "cpu_ratio_analysis": (cpu_bare / median["analysis"]["cpu_ms_per_frame"]) if cpu_bare else None,
        "cpu_ratio_video": (cpu_bare / median["video"]["cpu_ms_per_frame"]) if cpu_bare else None,
        "target_analysis": TARGET_ANALYSIS_RATIO,
        "target_video": TARGET_VIDEO_RATIO,
        "verdict_analysis": verdict(ratio_analysis, TARGET_ANALYSIS_RATIO),
        "verdict_video": verdict(ratio_video, TARGET_VIDEO_RATIO),
        "per_repetition": per_rep,
    }


def run_flip(video: Path, frames: Sequence[Frame], work_dir: Path) -> dict[str, Any]:
    """The flip test's cost: bare inference, the plain analysis and ``--flip-test``, back to back.

    Not a target of the issue (the flip test is an option, off by default); printed so that its
    price is known: ``analyze --flip-test`` runs the model twice a frame, the second instance on
    its own thread.
    """
    bare = time_bare_inference(frames)
    plain = time_analysis(video, work_dir / "out-flip-plain", annotated_video=False)
    flip = time_analysis(video, work_dir / "out-flip", annotated_video=False, flip_test=True)
    return {
        "runs": {"bare": bare.as_dict(), "analysis": plain.as_dict(), "flip": flip.as_dict()},
        "ratio_flip_over_bare": round(flip.fps / bare.fps, 4),
        "ratio_flip_over_analysis": round(flip.fps / plain.fps, 4),
        "time_flip_over_analysis": round(flip.wall_s / plain.wall_s, 4),
    }


def print_flip(flip: dict[str, Any]) -> None:
    runs = flip["runs"]
    print()
    print("FLIP TEST  analyze --flip-test (the model on each frame and its mirror; an option, no target)")
    print(
        f"  bare inference {runs['bare']['fps']:.2f} fps, analysis {runs['analysis']['fps']:.2f} fps, "
        f"analysis --flip-test {runs['flip']['fps']:.2f} fps"
    )
    print(
        f"  --flip-test takes {flip['time_flip_over_analysis']:.2f} x the plain analysis's time "
        f"({flip['ratio_flip_over_bare']:.2f} x bare inference's fps; CPU "
        f"{runs['flip']['cpu_ms_per_frame']:.1f} against {runs['analysis']['cpu_ms_per_frame']:.1f} ms/frame)"
    )


def print_speed(speed: dict[str, Any]) -> None:
    m = speed["median"]
    w, h = speed["decoded_size"]
    print()
    print(
        f"SPEED  {Path(speed['video']).name}: {speed['n_frames']} frames decoded at {w}x{h}; "
        f"median of {speed['repetitions_done']} repetition(s)"
    )
    rows = []
    for s in STAGES:
        if s == "bare":
            ratio, cpu_ratio, target, v = "1.00", "1.00", "", ""
        else:
            ratio = fmt(speed[f"ratio_{s}"])
            cpu_ratio = fmt(speed[f"cpu_ratio_{s}"])
            target = f">= {speed[f'target_{s}']:.2f}"
            v = speed[f"verdict_{s}"]
        rows.append(
            [
                STAGE_LABELS[s],
                fmt(m[s]["fps"]),
                fmt(m[s]["wall_s"], 1),
                fmt(m[s]["cpu_ms_per_frame"], 1),
                fmt(m[s]["cores_used"]),
                ratio,
                cpu_ratio,
                target,
                v,
            ]
        )
    print_table(
        [
            "stage",
            "fps",
            "wall s",
            "CPU ms/frame",
            "cores used",
            "fps ratio",
            "CPU ratio",
            "target",
            "result",
        ],
        rows,
        "lrrrrrrll",
    )
    if speed["repetitions_done"] > 1:
        per = ", ".join(
            f"{p['ratio_analysis']:.2f} / {p['ratio_video']:.2f}" for p in speed["per_repetition"]
        )
        print(f"  fps ratios per repetition (analysis / + video): {per}")
        if speed["noisy"]:
            print(
                f"  NOISY: bare inference alone varied by {100 * speed['bare_fps_spread']:.0f} % between "
                "repetitions (other processes on the machine); the fps ratios are unreliable, the CPU ratios\n"
                "  steadier. Re-run on a quiet machine before acting on a PASS or MISS."
            )
    if speed.get("video_pass_over_bare") is not None:
        print(
            f"  the annotated video's own pass takes {speed['video_pass_over_bare']:.2f} x bare inference's "
            f"wall time (median); with the analysis exactly\n  on its {TARGET_ANALYSIS_RATIO:.2f} target the "
            f"video ratio would be {speed['ratio_video_if_analysis_on_target']:.2f} (the video ratio can never "
            "exceed the analysis ratio)"
        )
    print()
    print("  Where the analysis time goes (median seconds from the call):")
    rows = []
    for s in ("analysis", "video"):
        first, pose, outs, wall = (
            m[s]["first_frame_s"],
            m[s]["pose_done_s"],
            m[s]["outputs_start_s"],
            m[s]["wall_s"],
        )
        loop_fps = (
            (speed["n_frames"] - 1) / (pose - first)
            if first is not None and pose is not None and pose > first
            else None
        )
        rows.append(
            [
                STAGE_LABELS[s],
                fmt(first, 1),
                fmt(pose, 1),
                fmt(loop_fps),
                fmt(None if outs is None or pose is None else outs - pose, 2),
                fmt(None if outs is None or wall is None else wall - outs, 1),
            ]
        )
    print_table(
        ["stage", "1st frame", "pose done", "loop fps", "select..protocol", "outputs"],
        rows,
        "lrrrrr",
    )
    print(
        "  (1st frame: probe + model creation + first frame; loop fps: frames 2..n of the pose loop;\n"
        "   select..protocol: person selection to result assembly; outputs: report files, plus the\n"
        "   annotated video when asked)"
    )


# ----------------------------------------------------------------------------- memory
def back_and_forth(i: int, n: int) -> int:
    """The frame shown ``i``-th when ``n`` frames are played forwards, then backwards, over and over."""
    period = max(1, 2 * n - 2)
    k = i % period
    return k if k < n else period - k


def build_memory_videos(frames: Sequence[Frame], folder: Path, lengths_s: Sequence[float]) -> list[Path]:
    """1920x1080 H.264 videos of the given lengths: the sample played forwards then backwards.

    The in-memory 1280 px frames are resized to 1920x1080; playing back and forth keeps the
    motion continuous, as in one long take. All lengths are written in one pass.
    """
    n_frames = [round(s * MEMORY_VIDEO_FPS) for s in lengths_s]
    paths = [folder / f"loop-{s:g}s-1080p.mp4" for s in lengths_s]
    w, h = MEMORY_VIDEO_SIZE
    writers = [VideoWriter(p, w, h, fps_hint=MEMORY_VIDEO_FPS, preset=MEMORY_VIDEO_PRESET) for p in paths]
    try:
        for i in range(max(n_frames)):
            img = cv2.resize(frames[back_and_forth(i, len(frames))].image, (w, h), interpolation=cv2.INTER_LINEAR)
            for writer, n in zip(writers, n_frames, strict=True):
                if i < n:
                    writer.write(img, i / MEMORY_VIDEO_FPS)
                elif i == n:
                    writer.close()
    finally:
        for writer in writers:
            writer.close()
    return paths


def reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS (Linux ``clear_refs`` 5); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def memory_child_main(video: str, out_dir: str, annotated: str) -> int:
    """Entry point of the subprocess: one analysis, then one JSON line with the memory figures.

    The run is split in two phases at the ``"writing outputs"`` progress stage of
    ``analyze_path``: the *analysis* (decode, inference, selection, protocol) and the *outputs*
    (annotated video, ``report.html``). The peak resident memory (``VmHWM``: everything, Python,
    numpy, MediaPipe, FFmpeg, x264) is read at the end of each phase and reset between them. A
    thread also samples the RSS four times a second: its median over the last third of the
    pose loop is the *steady* RSS, which is what grows if anything is kept per frame (Python
    data or native memory alike) and which, unlike a peak, varies little from run to run.
    """
    after_imports = read_proc_status_mb()
    state: dict[str, Any] = {"stage": "start", "frames": 0}
    phase: dict[str, Any] = {}
    samples: list[tuple[str, int, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            samples.append((state["stage"], state["frames"], read_proc_status_mb()["VmRSS"]))

    def progress(stage: str, done: int, total: int | None) -> None:
        state["stage"] = stage
        if stage == "pose":
            state["frames"] += 1
        elif stage == "writing outputs" and "analysis_peak_rss_mb" not in phase:
            status = read_proc_status_mb()
            phase["analysis_peak_rss_mb"] = status["VmHWM"]
            phase["rss_at_outputs_mb"] = status["VmRSS"]
            phase["reset"] = reset_peak_rss()

    sampler = threading.Thread(target=sample, name="bench-rss-sampler", daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    try:
        outcome = run_analysis(AnalysisRequest(
            video, task=TASK, out_dir=out_dir, annotated_video=annotated == "1", force=True), progress=progress)
    finally:
        stop.set()
        sampler.join()
    wall = time.perf_counter() - t0
    end = read_proc_status_mb()
    if "analysis_peak_rss_mb" in phase:
        outputs_peak = end["VmHWM"] if phase["reset"] else None
        peak = max(end["VmHWM"], phase["analysis_peak_rss_mb"])
    else:  # the stage was not reported: no split
        outputs_peak = None
        phase["analysis_peak_rss_mb"] = peak = end["VmHWM"]
    n_pose = state["frames"]
    steady = [rss for stage, frames, rss in samples if stage == "pose" and frames >= 2 * n_pose / 3]
    video_file = Path(out_dir) / "annotated.mp4"

    def mb(x: float | None) -> float | None:
        return None if x is None else round(x, 1)

    result = {
        "rss_after_imports_mb": mb(after_imports["VmRSS"]),
        "peak_rss_mb": mb(peak),
        "analysis_peak_rss_mb": mb(phase["analysis_peak_rss_mb"]),
        "outputs_peak_rss_mb": mb(outputs_peak),
        "steady_rss_mb": mb(statistics.median(steady)) if len(steady) >= 4 else None,
        "n_steady_samples": len(steady),
        "rss_at_outputs_mb": mb(phase.get("rss_at_outputs_mb")),
        "rss_at_end_mb": mb(end["VmRSS"]),
        "annotated_video_mb": round(video_file.stat().st_size / 1e6, 2) if video_file.is_file() else None,
        "wall_s": round(wall, 2),
        "n_frames": outcome.result["input"].get("n_frames"),
        "exit_code": outcome.exit_code,
    }
    print(_CHILD_TAG + json.dumps(result), flush=True)
    return 0


def embed_child_main(result_json: str, video_mb: str) -> int:
    """Subprocess: the extra peak RSS of writing ``report.html`` with a video of ``video_mb`` MB embedded."""
    from medius.report.html import write_html_report

    result = json.loads(Path(result_json).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="medius-bench-embed-") as tmp:
        video = Path(tmp) / "annotated.mp4"
        with open(video, "wb") as fh:  # the content does not matter to base64
            fh.truncate(int(float(video_mb) * 1e6))
        before = read_proc_status_mb()
        reset_peak_rss()
        write_html_report(result, Path(tmp) / "report.html", video_path=video)
        after = read_proc_status_mb()
        embedded = (Path(tmp) / "report.html").stat().st_size > video.stat().st_size
    extra = {"extra_peak_rss_mb": round(after["VmHWM"] - before["VmRSS"], 1), "embedded": embedded}
    print(_CHILD_TAG + json.dumps(extra), flush=True)
    return 0


def embed_limit_mb() -> float | None:
    """Largest annotated video (MB) that ``report.html`` embeds, from ``write_html_report``'s default."""
    try:
        from medius.report.html import write_html_report

        default = inspect.signature(write_html_report).parameters["embed_video_max_mb"].default
    except (ImportError, KeyError, TypeError, ValueError):
        return None
    if isinstance(default, int | float) and default > 0:
        return float(default) * 2**20 / 1e6  # MiB in html.py -> MB
    return None


def _run_child(args: Sequence[str], timeout_s: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(_CHILD_TAG):
            return json.loads(line[len(_CHILD_TAG) :])
    raise RuntimeError(
        f"{' '.join(args[:2])} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}{proc.stdout[-2000:]}"
    )


def _analyse_in_child(
    path: Path, work_dir: Path, length_s: float, *, annotated_video: bool
) -> dict[str, Any]:
    info = probe_video(path)
    what = "with" if annotated_video else "without"
    print(
        f"  analysing the {length_s:g} s video ({what} the annotated video) in a fresh process ...",
        flush=True,
    )
    out_dir = work_dir / f"out-memory-{length_s:g}s-{'video' if annotated_video else 'novideo'}"
    child = _run_child(["--memory-child", str(path), str(out_dir), "1" if annotated_video else "0"], 3600)
    child.update(
        length_s=length_s,
        annotated_video=annotated_video,
        width=info.width,
        height=info.height,
        codec=info.codec,
        result_json=str(out_dir / "result.json"),
    )
    print(f"    peak RSS {child['peak_rss_mb']:.0f} MB, {child['wall_s']:.1f} s", flush=True)
    return child


def run_memory(
    frames: Sequence[Frame],
    work_dir: Path,
    *,
    lengths_s: Sequence[float],
    video_length_s: float | None,
) -> dict[str, Any]:
    """Analyse 1080p videos in fresh processes and extrapolate the peak RSS to 10 minutes.

    * Growth per minute of video: two analyses without the annotated video (``lengths_s``);
      the difference of their *steady* RSS (median over the last third of the pose loop; the
      first few hundred frames carry a start-up transient that the allocator later returns).
    * Analysis phase at 10 minutes: the larger analysis-phase peak + growth x minutes to go.
    * Outputs phase at 10 minutes: one analysis with the annotated video (``video_length_s``);
      its outputs-phase peak + growth x minutes to go (the keypoints are still held).
    * Embedding: ``report.html`` embeds the annotated video while it is under the limit; the
      extra peak of writing the report with a video just under the limit is measured on its
      own, and added to the memory held when the report is written, for the worst case.
    """
    t0 = time.perf_counter()
    all_lengths = sorted({*lengths_s, *([video_length_s] if video_length_s else [])})
    print(f"  building {', '.join(f'{s:g} s' for s in all_lengths)} 1920x1080 H.264 videos ...", flush=True)
    paths = dict(zip(all_lengths, build_memory_videos(frames, work_dir, all_lengths), strict=True))
    build_s = time.perf_counter() - t0
    runs = [_analyse_in_child(paths[length], work_dir, length, annotated_video=False) for length in lengths_s]
    video_run = (
        _analyse_in_child(paths[video_length_s], work_dir, video_length_s, annotated_video=True)
        if video_length_s
        else None
    )
    for path in paths.values():
        with contextlib.suppress(OSError):
            path.unlink()

    short, long = runs[0], runs[-1]
    span_min = (long["length_s"] - short["length_s"]) / 60.0
    if short["steady_rss_mb"] is not None and long["steady_rss_mb"] is not None:
        growth_from, noise_mb = "steady RSS of the pose loop", STEADY_RSS_NOISE_MB
        growth = (long["steady_rss_mb"] - short["steady_rss_mb"]) / span_min
    else:
        growth_from, noise_mb = "analysis-phase peak RSS (a run was too short to sample)", RSS_RUN_NOISE_MB
        growth = (long["analysis_peak_rss_mb"] - short["analysis_peak_rss_mb"]) / span_min
    noise = math.sqrt(2.0) * noise_mb / span_min
    up = max(growth, 0.0)

    def at_10_min(peak: float, length_s: float) -> float:
        return peak + up * max(0.0, TARGET_VIDEO_MINUTES - length_s / 60.0)

    analysis_10 = at_10_min(max(r["analysis_peak_rss_mb"] for r in runs), long["length_s"])
    extrapolated = analysis_10
    outputs_10 = None
    limit_mb = embed_limit_mb()
    video_mb_per_min = worst = worst_minutes = embed_extra = None
    if video_run is not None:
        outputs_peak = video_run["outputs_peak_rss_mb"] or video_run["peak_rss_mb"]
        outputs_10 = at_10_min(outputs_peak, video_run["length_s"])
        extrapolated = max(extrapolated, outputs_10)
        if video_run["annotated_video_mb"]:
            video_mb_per_min = video_run["annotated_video_mb"] / (video_run["length_s"] / 60.0)
        if limit_mb is not None and video_mb_per_min and Path(video_run["result_json"]).is_file():
            size_mb = 0.999 * limit_mb
            print(f"  writing report.html with a {size_mb:.1f} MB video embedded, in a fresh process ...")
            probe = _run_child(["--embed-child", video_run["result_json"], f"{size_mb:.3f}"], 600)
            if probe["embedded"]:
                embed_extra = probe["extra_peak_rss_mb"]
                worst_minutes = size_mb / video_mb_per_min
                # memory held when the report is written + the embedding, grown until then
                grow = up * max(0.0, worst_minutes - video_run["length_s"] / 60.0)
                worst = max(video_run["rss_at_end_mb"] + grow + embed_extra, outputs_peak + grow)
    return {
        "build_s": round(build_s, 1),
        "runs": runs + ([video_run] if video_run else []),
        "growth_from": growth_from,
        "growth_mb_per_min": round(growth, 2),
        "growth_noise_mb_per_min": round(noise, 1),
        "annotated_video_mb_per_min": None if video_mb_per_min is None else round(video_mb_per_min, 2),
        "report_embed_limit_mb": None if limit_mb is None else round(limit_mb, 1),
        "embed_at_limit_extra_peak_mb": embed_extra,
        "extrapolated_minutes": TARGET_VIDEO_MINUTES,
        "extrapolated_analysis_peak_mb": round(analysis_10, 1),
        "extrapolated_outputs_peak_mb": None if outputs_10 is None else round(outputs_10, 1),
        "extrapolated_peak_mb": round(extrapolated, 1),
        "worst_case_embedding_minutes": None if worst_minutes is None else round(worst_minutes, 1),
        "worst_case_embedding_peak_mb": None if worst is None else round(worst, 1),
        "target_peak_mb": TARGET_PEAK_MB,
        "verdict": "PASS" if extrapolated <= TARGET_PEAK_MB else "MISS",
        "verdict_worst_case": None if worst is None else ("PASS" if worst <= TARGET_PEAK_MB else "MISS"),
    }


def print_memory(mem: dict[str, Any]) -> None:
    print()
    print("MEMORY  the analysis of 1080p videos, a fresh process per video (MB)")
    rows = [
        [
            f"{r['length_s']:g} s {r['width']}x{r['height']} {r['codec']}",
            "yes" if r["annotated_video"] else "no",
            str(r["n_frames"]),
            fmt(r["wall_s"], 1),
            fmt(r["rss_after_imports_mb"], 0),
            fmt(r["steady_rss_mb"], 0),
            fmt(r["analysis_peak_rss_mb"], 0),
            fmt(r["outputs_peak_rss_mb"], 0),
            fmt(r["peak_rss_mb"], 0),
            fmt(r["annotated_video_mb"], 1),
        ]
        for r in mem["runs"]
    ]
    print_table(
        [
            "video",
            "annotated",
            "frames",
            "wall s",
            "after imports",
            "steady (pose loop)",
            "peak analysis",
            "peak outputs",
            "peak",
            "annotated.mp4",
        ],
        rows,
        "llrrrrrrrr",
    )
    print("  (RSS; outputs = the annotated video and report.html, after the analysis)")
    print(
        f"  growth per minute of video: {fmt(mem['growth_mb_per_min'], 1)} +- "
        f"{fmt(mem['growth_noise_mb_per_min'], 0)} MB/min (from the {mem['growth_from']})"
    )
    print(
        f"  extrapolated peak for a {mem['extrapolated_minutes']:g}-minute 1080p video: "
        f"{fmt(mem['extrapolated_peak_mb'], 0)} MB (analysis {fmt(mem['extrapolated_analysis_peak_mb'], 0)}, "
        f"outputs {fmt(mem['extrapolated_outputs_peak_mb'], 0)}); target <= {mem['target_peak_mb']:g} MB: "
        f"{mem['verdict']}"
    )
    if mem["worst_case_embedding_peak_mb"] is not None:
        print(
            f"  report.html embeds the annotated video below {fmt(mem['report_embed_limit_mb'], 1)} MB; "
            f"at that size writing it takes {fmt(mem['embed_at_limit_extra_peak_mb'], 0)} MB more.\n"
            f"  The annotated video grows {fmt(mem['annotated_video_mb_per_min'], 1)} MB/min, so the worst case "
            f"is about {fmt(mem['worst_case_embedding_minutes'], 1)} min of video: "
            f"{fmt(mem['worst_case_embedding_peak_mb'], 0)} MB: {mem['verdict_worst_case']}"
        )


# ------------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", type=Path, default=None, help="video to time (default: the bundled sample)")
    ap.add_argument("--repeats", type=int, default=3, help="repetitions of the speed stages (median)")
    ap.add_argument(
        "--memory-lengths-s",
        default="30,60",
        help="two lengths in seconds of the 1080p videos analysed without the annotated video, for the growth",
    )
    ap.add_argument(
        "--memory-video-s",
        type=float,
        default=10.0,
        help="length in seconds of the 1080p video analysed with the annotated video",
    )
    ap.add_argument(
        "--memory-no-video",
        action="store_true",
        help="skip the memory run with the annotated video (the default analysis writes it)",
    )
    ap.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    ap.add_argument("--no-flip", action="store_true", help="skip the flip-test timing")
    ap.add_argument(
        "--speed-video-s",
        type=float,
        default=20.0,
        help="time the speed stages on a 1920x1080 H.264 video of this length built from the video "
        "(played forwards then backwards); 0: time the video itself",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 repetition, 4 s / 12 s memory videos, 4 s with the video",
    )
    ap.add_argument(
        "--budget-s",
        type=float,
        default=600.0,
        help="stop repeating the speed stages when the whole bench would take longer than this",
    )
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the results")
    ap.add_argument(
        "--memory-child", nargs=3, metavar=("VIDEO", "OUT_DIR", "ANNOTATED"), help=argparse.SUPPRESS
    )
    ap.add_argument("--embed-child", nargs=2, metavar=("RESULT_JSON", "VIDEO_MB"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 1
        args.memory_lengths_s = "4,12"
        args.memory_video_s = 4.0
        args.speed_video_s = 0.0
    if not args.memory_video_s > 0:
        ap.error(f"--memory-video-s must be > 0, got {args.memory_video_s}")
    if args.repeats < 1:
        ap.error(f"--repeats must be >= 1, got {args.repeats}")
    try:
        lengths = sorted(float(x) for x in args.memory_lengths_s.split(","))
    except ValueError:
        ap.error(f"--memory-lengths-s must be numbers separated by commas, got {args.memory_lengths_s!r}")
    if len(lengths) != 2 or lengths[0] <= 0 or lengths[0] == lengths[1]:
        ap.error(f"--memory-lengths-s needs two different positive lengths, got {args.memory_lengths_s!r}")
    args.lengths = lengths
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        return memory_child_main(*args.memory_child)
    if args.embed_child:
        return embed_child_main(*args.embed_child)

    t_start = time.perf_counter()
    video = Path(args.video) if args.video else sample_path()
    machine = describe_machine()
    versions = describe_versions()
    print("medius video benchmark")
    print(
        f"  machine: {machine['cpu_model']}, {machine['cpus_usable']} usable of {machine['cpu_count']} "
        f"cores, {machine['memory_total_mb']} MB RAM, load average {machine['load_average_start']}"
    )
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    info = probe_video(video)
    print(
        f"  video: {video} ({info.width}x{info.height} {info.codec}, {info.n_frames} frames, "
        f"{fmt(info.duration_s, 2)} s)"
    )

    print(f"  decoding every frame into memory (max_side_px={MAX_SIDE_PX}) ...", flush=True)
    frames = list(iter_frames(video, max_side_px=MAX_SIDE_PX))
    if not frames:
        print(f"  {video}: no decodable frame", file=sys.stderr)
        return 1
    speed_dir = Path(tempfile.mkdtemp(prefix="medius-bench-speed-"))
    if args.speed_video_s > 0:
        # a phone-like take of a realistic length (five reps a leg: 20-30 s), so that the fixed
        # start-up (probe, model creation: ~0.5 s) weighs as it does in use, not as on 7.7 s
        print(
            f"  building the speed video: {args.speed_video_s:g} s of 1920x1080 H.264 from the sample "
            "played forwards then backwards ...",
            flush=True,
        )
        (video,) = build_memory_videos(frames, speed_dir, [args.speed_video_s])
        frames = list(iter_frames(video, max_side_px=MAX_SIDE_PX))
        sinfo = probe_video(video)
        print(f"  speed video: {sinfo.width}x{sinfo.height} {sinfo.codec}, {sinfo.n_frames} frames")
    print("  warming up (model load) ...", flush=True)
    with BlazePoseBackend() as backend:
        for frame in frames[:5]:
            backend.detect(frame.image, frame.time_s)
        bare_backend = {k: v for k, v in backend.describe().items() if k != "model_files_sha256"}
    print(f"  bare inference backend: BlazePoseBackend() = {bare_backend}")
    versions["bare_backend"] = json.dumps(bare_backend)

    n_sample = len(frames)
    video_s = 0.0 if args.no_memory or args.memory_no_video else args.memory_video_s
    plain_frames = 0.0 if args.no_memory else sum(args.lengths) * MEMORY_VIDEO_FPS
    build_frames = 0.0 if args.no_memory else max(*args.lengths, video_s) * MEMORY_VIDEO_FPS

    def over_budget(last_rep_s: float) -> bool:
        elapsed = time.perf_counter() - t_start
        # one repetition costs about 3 analyses (bare ~ 1, analysis ~ 1.3, with video ~ 2.5);
        # the memory runs: per frame, ~1/3 of that without the video, ~2/3 with it; plus building
        per_frame = last_rep_s / (3 * n_sample)
        memory_s = (plain_frames + 2 * video_s * MEMORY_VIDEO_FPS) * per_frame + build_frames / 40.0 + 10.0
        return elapsed + last_rep_s + memory_s > args.budget_s

    results: dict[str, Any] = {"machine": machine, "versions": versions}
    with tempfile.TemporaryDirectory(prefix="medius-bench-") as tmp:
        work = Path(tmp)
        print()
        print("SPEED runs", flush=True)
        speed = run_speed(video, frames, work, repeats=args.repeats, deadline=over_budget)
        results["speed"] = speed
        if not args.no_flip:
            print("  flip test: bare, analysis, analysis --flip-test ...", flush=True)
            results["flip_test"] = run_flip(video, frames, work)
        if not args.no_memory:
            print()
            print("MEMORY runs", flush=True)
            results["memory"] = run_memory(
                frames,
                work,
                lengths_s=args.lengths,
                video_length_s=None if args.memory_no_video else args.memory_video_s,
            )
        del frames
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(speed_dir, ignore_errors=True)

    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["total_bench_s"] = round(time.perf_counter() - t_start, 1)
    print_speed(results["speed"])
    if "flip_test" in results:
        print_flip(results["flip_test"])
    if "memory" in results:
        print_memory(results["memory"])
    print()
    print(
        f"machine: {machine['cpu_model']}, {machine['cpus_usable']} cores usable; load average "
        f"{machine['load_average_start']} at the start, {machine['load_average_end']} at the end"
    )
    print(f"total bench time: {results['total_bench_s']:.0f} s")
    try:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")
    except OSError as exc:
        print(f"cannot write {args.json}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
