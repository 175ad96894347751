"""Run validation scenarios: render (or reuse), analyse with ``medius analyze``'s own pipeline, score.

Folder layout under the cache folder (resumable: every step writes atomically and is skipped when
its output exists)::

    <cache>/<scenario key>/video.mp4, truth.json        the render and its truth (reused while
                                                         the scenario and RENDER_VERSION stay)
    <cache>/<scenario key>/analysis-<code hash>/         the analysis by this version of medius
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medius.validation.camera import PinholeCamera, place_camera
from medius.validation.motion import Movement, gait_task, single_leg_task
from medius.validation.render import ASSETS, Scene
from medius.validation.scenarios import BACKGROUNDS, CAMERA_HEIGHTS, LIGHTING, SHORTS, Scenario
from medius.validation.skeleton import Skeleton, load_skeleton

__all__ = [
    "SCORED_METRICS",
    "analysis_code_hash",
    "build_movement",
    "build_scene",
    "prepare_scenario",
    "analyse_scenario",
    "score_scenario",
]

#: metric -> statistics scored, per kind of task (the first is the one the summary uses)
SCORED_METRICS: dict[str, dict[str, tuple[str, ...]]] = {
    "single-leg": {
        "fppa_deg": ("at_bottom", "peak"),
        "pelvic_drop_deg": ("at_bottom", "peak"),
        "trunk_lean_deg": ("at_bottom", "peak"),
        "hip_adduction_deg": ("at_bottom", "peak"),
    },
    "gait": {
        "pelvic_drop_deg": ("peak", "at_mid_stance"),
        "hip_adduction_deg": ("peak", "at_mid_stance"),
        "trunk_lean_deg": ("peak", "at_mid_stance"),
        "fppa_deg": ("at_mid_stance",),
    },
}

FOV_LONG_SIDE_DEG = 65.0  # a phone's main camera along the frame's long side


def _skeleton(body: str) -> Skeleton:
    return load_skeleton(ASSETS / "bodies" / body)


def build_movement(s: Scenario, sk: Skeleton | None = None) -> Movement:
    sk = sk or _skeleton(s.body)
    if s.is_gait:
        return gait_task(sk, task=s.movement, fps=s.fps, strides=s.strides, seed=s.seed)
    return single_leg_task(sk, task=s.movement, fps=s.fps, reps_per_leg=s.reps_per_leg, first_leg=s.first_leg,
                           seed=s.seed, free_leg=s.free_leg, arms=s.arms)


def build_camera(s: Scenario, sk: Skeleton) -> PinholeCamera:
    w, h = s.size
    hip_y = float(sk.rest_world[sk.index("Hips"), 1])
    cam_h = CAMERA_HEIGHTS[s.camera_height] or hip_y
    height = float(sk.rest_world[sk.index("Head"), 1]) + 0.12
    # aim at the middle of the body (landscape frames hold less height: aim a little lower)
    target = np.array([0.0, 0.5 * height if s.orientation == "portrait" else 0.47 * height,
                       float(sk.rest_world[sk.index("Hips"), 2])])
    if abs(cam_h - target[1]) < 0.15:
        target[1] = cam_h  # a phone at about the target's height is held level
    return place_camera(width=w, height=h, fov_long_side_deg=FOV_LONG_SIDE_DEG, distance_m=s.distance_m,
                        height_m=cam_h, yaw_deg=s.yaw_deg, target=target, behind=s.view == "back")


def build_scene(s: Scenario, sk: Skeleton) -> Scene:
    amb, key, key_dir = LIGHTING[s.lighting]
    bg, floor, wall = BACKGROUNDS[s.background]
    if s.view == "back":
        key_dir = (key_dir[0], key_dir[1], -key_dir[2])
    return Scene(body=s.body, camera=build_camera(s, sk), background=bg, floor=floor, wall=wall,
                 light_ambient=amb, light_key=key, key_dir=key_dir, shorts=SHORTS[s.shorts])


#: the source files a video analysis' numbers depend on (the measured errors are tied to them)
VIDEO_ANALYSIS_SOURCES = (
    "io/video.py", "io/_sequence.py", "pose/*.py", "kinematics/angles2d.py", "kinematics/filtering.py",
    "events/*.py", "protocols/_single_leg.py", "protocols/_gait.py", "protocols/_quality.py",
    "analysis/*.py",
    "protocols/metric_spec.py",
)


def analysis_code_hash() -> str:
    """Hash of the medius source files a video analysis' numbers depend on."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    files = sorted({p for pattern in VIDEO_ANALYSIS_SOURCES for p in root.glob(pattern)})
    for p in files:
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=False))
    tmp.replace(path)


def _nan_to_none(a: np.ndarray) -> list[Any]:
    return [None if not np.isfinite(v) else round(float(v), 3) for v in np.ravel(a)]


def prepare_scenario(s: Scenario, cache: Path, new_page: Callable[[], Any] | None,
                     progress: Callable[[str], None] | None = None, *, crf: int = 18,
                     folder: Path | None = None) -> Path:
    """Render the scenario's video and write its truth, unless both are already there."""
    from medius.io import KEYPOINTS
    from medius.validation.render import render_movement
    from medius.validation.truth import true_gait_events, truth_keypoints

    folder = folder or cache / s.key
    video, truth_path = folder / "video.mp4", folder / "truth.json"
    if video.is_file() and truth_path.is_file():
        return folder
    if new_page is None:
        raise RuntimeError(f"scenario {s.name}: not rendered yet and no renderer given")
    folder.mkdir(parents=True, exist_ok=True)
    sk = _skeleton(s.body)
    mv = build_movement(s, sk)
    scene = build_scene(s, sk)
    kp = truth_keypoints(mv, sk, scene.camera)
    if progress:
        progress(f"rendering {s.name} ({mv.n_frames} frames)")
    render_movement(mv, scene, video, new_page=new_page, crf=crf)
    truth = {
        "scenario": s.as_dict(),
        "key": s.key,
        "camera": {"width": scene.camera.width, "height": scene.camera.height, "fov_y_deg": scene.camera.fov_y_deg,
                   "position": scene.camera.position.tolist(), "rotation": scene.camera.rotation.tolist()},
        "script": mv.script,
        "true_events": true_gait_events(mv, sk) if s.is_gait else [],
        "keypoints": {"names": list(KEYPOINTS), "time_s": _nan_to_none(mv.time_s),
                      "position": [[_nan_to_none(p) for p in frame] for frame in kp.position]},
    }
    _write_json_atomic(truth_path, truth)
    return folder


def analyse_scenario(s: Scenario, folder: Path, *, code: str | None = None, force: bool = False) -> dict[str, Any]:
    """Run medius' own analysis (as ``medius analyze VIDEO --task T``) on the scenario's video."""
    from medius.analysis import AnalysisRequest
    from medius.errors import MediusError
    from medius.report.outputs import run_analysis

    code = code or analysis_code_hash()
    out = folder / f"analysis-{code}"
    result_path = out / "result.json"
    if result_path.is_file() and not force:
        return dict(json.loads(result_path.read_text()))
    tmp = Path(tempfile.mkdtemp(prefix=".analysis-", dir=folder))
    try:
        try:
            run_analysis(AnalysisRequest(folder / "video.mp4", task=s.movement, out_dir=tmp / "out", force=True,
                                         blur_faces=False, annotated_video=False))
            result = json.loads((tmp / "out" / "result.json").read_text())
        except MediusError as exc:
            result = {"status": "error", "error": str(exc), "exit_code": exc.exit_code}
        if out.exists():
            shutil.rmtree(out)
        out.mkdir()
        _write_json_atomic(out / "result.json", result)
        return dict(result)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _shown_errors(result: dict[str, Any]) -> dict[str, float]:
    """The error medius shows beside each metric's value, by ``metric:statistic``: its own measured
    error where the registry has one for the condition, else the literature SEM (beside the peak)."""
    out: dict[str, float] = {}
    stat_of = result.get("summary_statistic") or {}
    for e in result.get("interpretation", []) or []:
        me = e.get("measurement_error") or {}
        if me.get("sem") is not None:
            out.setdefault(f"{e['metric']}:{stat_of.get(e['metric'], 'peak')}", float(me["sem"]))
    for m, stats in (result.get("measured_error") or {}).items():
        for stat, d in stats.items():
            if isinstance(d, dict) and d.get("value") is not None:
                out[f"{m}:{stat}"] = float(d["value"])
    return out


def score_scenario(s: Scenario, truth: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per truth rep or stance: found, leg, judged, and per metric/statistic truth, value, error.

    The truth units are measured now from the stored truth keypoints (:func:`truth_units`)."""
    from medius.validation.truth import truth_units

    truth_list, _notes = truth_units(truth)
    kind = "gait" if s.is_gait else "single-leg"
    metrics = SCORED_METRICS[kind]
    judgeable = result.get("status") == "ok"
    units = result.get("stances" if s.is_gait else "reps", []) or []
    shown = _shown_errors(result)
    t_key = "foot_strike_s" if s.is_gait else "bottom_s"
    rows = []
    used: set[int] = set()
    for tu in truth_list:
        t0 = float(tu[t_key])
        # the same stance: medius' strike nearest the true one, within 45 % of a step (a neighbouring
        # step is 100 % away); its timing error is scored on its own (event_error_s)
        step_s = 60.0 / float(truth["script"].get("cadence_steps_min") or 110.0)
        tol = 0.45 * step_s if s.is_gait else 0.35 * float(tu["script"]["duration_s"])
        best, dt = None, math.inf
        for j, u in enumerate(units):
            if j in used or u.get(t_key) is None:
                continue
            d = abs(float(u[t_key]) - t0)
            if d < dt:
                best, dt = j, d
        found = best is not None and dt <= tol
        u = units[best] if found and best is not None else None
        if found and best is not None:
            used.add(best)
        judged = bool(judgeable and u is not None and u.get("status") == "complete")
        row: dict[str, Any] = {
            "scenario": s.name, "movement": s.movement, "view": s.view, "body": s.body, "yaw_deg": s.yaw_deg,
            "fps": s.fps, "short_side_px": s.short_side_px, "orientation": s.orientation,
            "camera_height": s.camera_height, "distance_m": s.distance_m, "tags": list(s.tags),
            "side": tu["side"], "time_s": round(t0, 3), "found": found,
            "side_given": bool(u is not None and u.get("side") is not None),
            "side_correct": bool(u is not None and u.get("side") == tu["side"]),
            "judged": judged, "status": (u or {}).get("status"), "note": (u or {}).get("note"),
            "analysis_status": result.get("status"), "metrics": {},
            "event_error_s": round(float(u[t_key]) - t0, 4) if u is not None and s.is_gait else None,
        }
        for m, stats in metrics.items():
            for stat in stats:
                tv = (tu.get("metrics", {}).get(m) or {}).get(stat)
                mv = ((u or {}).get("metrics", {}).get(m) or {}).get(stat) if u is not None else None
                err = None if tv is None or mv is None else round(float(mv) - float(tv), 3)
                se = shown.get(f"{m}:{stat}")
                row["metrics"][f"{m}:{stat}"] = {
                    "truth": tv, "value": mv, "error": err, "shown_error": se,
                    "miss": None if err is None or se is None or not judged else abs(err) > se,
                }
        rows.append(row)
    return rows


def run_scenarios(
    scenarios: Sequence[Scenario],
    cache: Path,
    *,
    render: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Prepare, analyse and score every scenario; returns the per-unit rows of all of them."""
    from medius.validation.render import renderer

    say = progress or (lambda _m: None)
    cache.mkdir(parents=True, exist_ok=True)
    todo = [s for s in scenarios if not ((cache / s.key / "video.mp4").is_file() and (cache / s.key / "truth.json").is_file())]
    if todo and render:
        with renderer() as new_page:
            for k, s in enumerate(todo, 1):
                say(f"[render {k}/{len(todo)}] {s.name}")
                prepare_scenario(s, cache, new_page, progress=None)
    elif todo:
        from medius.errors import InvalidInputError

        missing = ", ".join(s.name for s in todo)
        raise InvalidInputError(f"not rendered yet (run without --no-render): {missing}", path=cache)
    code = analysis_code_hash()
    rows: list[dict[str, Any]] = []
    for k, s in enumerate(scenarios, 1):
        folder = cache / s.key
        say(f"[analyse {k}/{len(scenarios)}] {s.name}")
        result = analyse_scenario(s, folder, code=code)
        truth = json.loads((folder / "truth.json").read_text())
        rows += score_scenario(s, truth, result)
    return rows
