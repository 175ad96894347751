"""Paired real data: a video filmed while a lab captured markers, scored against the marker trial.

1. Both recordings go through medius' own analysis (``medius analyze``): the video as a gait video,
   the marker trial through the lab model, whose per-stance metrics are also measured on the
   frontal projection of its joint centres (what a camera behind the person sees: the video's
   truth).
2. The two clocks are synchronised by cross-correlating signals both see: coarsely the pelvis'
   height and obliquity (the pelvic drop differs from stride to stride, so strides cannot be
   confused), then the heights of the left and the right ankle (keypoints, malleolus markers);
   the offset the foot strikes both found give is reported beside it as a check.
3. Each video stance is paired with the lab stance of the same foot whose strike falls at the same
   synchronised time, and scored as the rendered grid is (bias, MAE, limits of agreement ...).

:func:`markers_from_movement` writes a rendered movement's skeleton as a Plug-in Gait marker trial
(virtual markers fixed to the bones, ASIS placed so that Harrington's regression returns the
skeleton's hip joint centres), which is how the paired mode is tested with a known offset.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from medius.errors import InvalidInputError, NotJudgeableError
from medius.validation.motion import Movement
from medius.validation.skeleton import Skeleton

__all__ = ["estimate_offset", "markers_from_movement", "pair_stances", "validate_pair"]

PAIRED_METRICS = {
    "pelvic_drop_deg": ("peak", "at_mid_stance"),
    "hip_adduction_deg": ("peak", "at_mid_stance"),
    "trunk_lean_deg": ("peak", "at_mid_stance"),
    "fppa_deg": ("at_mid_stance",),
}


def _strikes(events: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    return {s: np.array(sorted(float(e["time_s"]) for e in events if e.get("kind") == "foot_strike"
                               and e.get("side") == s)) for s in ("left", "right")}


def estimate_offset(video_events: list[dict[str, Any]], lab_events: list[dict[str, Any]],
                    frame_s: float) -> dict[str, Any]:
    """The offset ``d`` with ``t_video = t_lab + d`` that matches the most foot strikes of the same foot.

    Raises :class:`~medius.errors.NotJudgeableError` when fewer than three strikes can be matched.
    """
    v, lab = _strikes(video_events), _strikes(lab_events)
    tol = 1.5 * frame_s
    cands = np.unique(np.concatenate([
        (v[s][:, None] - lab[s][None, :]).ravel() for s in ("left", "right") if v[s].size and lab[s].size
    ] or [np.array([])]))
    best: tuple[int, float, float] | None = None
    for d in cands:
        diffs = []
        for s in ("left", "right"):
            if not (v[s].size and lab[s].size):
                continue
            dd = v[s][:, None] - (lab[s][None, :] + d)
            k = np.abs(dd).argmin(axis=1)
            m = np.abs(dd[np.arange(len(k)), k]) <= tol
            diffs += list(dd[np.arange(len(k)), k][m])
        if diffs:
            score = (len(diffs), -float(np.mean(np.abs(diffs))), float(d + np.median(diffs)))
            if best is None or score[:2] > best[:2]:
                best = score
    if best is None or best[0] < 3:
        raise NotJudgeableError(
            "cannot synchronise the video with the marker trial: fewer than three foot strikes match "
            "(are they the same trial? do both hold at least three steps?)"
        )
    offset = best[2]
    # residual spread of the matched strikes at the refined offset
    res = []
    for s in ("left", "right"):
        if v[s].size and lab[s].size:
            dd = v[s][:, None] - (lab[s][None, :] + offset)
            k = np.abs(dd).argmin(axis=1)
            r = dd[np.arange(len(k)), k]
            res += list(r[np.abs(r) <= tol])
    return {"offset_s": round(float(offset), 5), "matched": int(best[0]),
            "residual_sd_s": round(float(np.std(res, ddof=1)), 5) if len(res) > 1 else None,
            "tolerance_s": round(tol, 5), "method": "foot strikes of the same foot, median matched difference"}


def _video_signals(video: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """Time, the heights (up) of the left and right ankle, and the pelvis' height and obliquity of
    the person in the video, from one pose pass."""
    from medius.io.video import iter_frames, probe_video
    from medius.pose import BlazePoseBackend, estimate_poses, select_person

    info = probe_video(video)
    # image mode: every frame on its own. Video mode's landmark smoothing lags the truth by about
    # a frame at 30 fps (measured on the rendered walks), which would bias the offset
    backend = BlazePoseBackend(mode="image")
    try:
        people = estimate_poses(iter_frames(video, max_side_px=1280), backend, image_size=(info.width, info.height))
    finally:
        backend.close()
    kp, _sel = select_person(people)
    lh, rh = kp.xy("left_hip"), kp.xy("right_hip")
    pelvis = [-0.5 * (lh[:, 1] + rh[:, 1]), lh[:, 1] - rh[:, 1]]  # height; obliquity (left lower +)
    return kp.time_s, [-kp.xy("left_ankle")[:, 1], -kp.xy("right_ankle")[:, 1], *pelvis]


def _lab_signals(markers: Path, marker_set: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Time, the heights of the left and right lateral malleolus markers, and the pelvis' height
    and obliquity (ASIS) of a marker trial."""
    from medius.io.markers import read_markers
    from medius.kinematics.markersets import load_marker_set

    trial = read_markers(markers)
    ms = load_marker_set(marker_set)
    la, ra = ms.xyz(trial, "left_asis"), ms.xyz(trial, "right_asis")
    lh, rh = ms.xyz(trial, "left_ankle_lateral"), ms.xyz(trial, "right_ankle_lateral")
    up = np.nanmean(0.5 * (la + ra) - 0.5 * (lh + rh), axis=0)  # the pelvis is above the ankles
    axis = int(np.nanargmax(np.abs(up)))
    sign = float(np.sign(up[axis]))
    pelvis = [sign * 0.5 * (la[:, axis] + ra[:, axis]), sign * (ra[:, axis] - la[:, axis])]
    return trial.time_s, [sign * lh[:, axis], sign * rh[:, axis], *pelvis]


def _normalised(t: np.ndarray, x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    y = np.interp(grid, t[ok], x[ok], left=np.nan, right=np.nan)
    # remove slow drifts (1 s moving median), keep the step-to-step motion
    from scipy.ndimage import median_filter

    fill = np.where(np.isfinite(y), y, np.nanmean(y))
    y = y - median_filter(fill, size=max(3, int(round(1.0 / (grid[1] - grid[0])))) | 1, mode="nearest")
    sd = np.nanstd(y)
    return y / sd if sd > 0 else y * 0


def correlate_offset(video_sig: tuple[np.ndarray, list[np.ndarray]], lab_sig: tuple[np.ndarray, list[np.ndarray]],
                     rate_hz: float = 200.0) -> dict[str, Any]:
    """The offset ``t_video = t_lab + d``: first coarsely from the pelvis' height and obliquity
    (stride to stride the pelvic drop differs, so whole strides cannot be confused), then
    precisely from the left and right ankle heights within 0.25 s of it (sharp, each foot its own,
    and the ankle is the keypoint the pose model places best)."""
    tv, sv = video_sig
    tl, sl = lab_sig
    coarse = _best_lag(tv, sv[2:], tl, sl[2:], rate_hz, None)
    fine = _best_lag(tv, sv[:2], tl, sl[:2], rate_hz, (coarse[0] - 0.25, coarse[0] + 0.25))
    return {"offset_s": round(fine[0], 5), "correlation": round(fine[1], 3), "coarse_offset_s": round(coarse[0], 5),
            "coarse_correlation": round(coarse[1], 3),
            "method": "cross-correlation: pelvis height and obliquity (coarse), then left and right ankle heights "
            "(video keypoints vs malleolus markers)"}


def _best_lag(tv: np.ndarray, sv: list[np.ndarray], tl: np.ndarray, sl: list[np.ndarray], rate_hz: float,
              window: tuple[float, float] | None) -> tuple[float, float]:
    gv = np.arange(tv[0], tv[-1], 1.0 / rate_hz)
    gl = np.arange(tl[0], tl[-1], 1.0 / rate_hz)
    v = [_normalised(tv, x, gv) for x in sv]
    lab = [_normalised(tl, x, gl) for x in sl]
    min_overlap = int(min(gv.size, gl.size) * 0.5)
    best_r, best_k = -np.inf, 0
    scores: dict[int, float] = {}
    for k in range(-(gl.size - min_overlap), gv.size - min_overlap):
        # lab sample j aligns with video sample j + k
        if window is not None and not (window[0] <= gv[0] - gl[0] + k / rate_hz <= window[1]):
            continue
        a0, a1 = max(0, k), min(gv.size, gl.size + k)
        if a1 - a0 < min_overlap:
            continue
        r = 0.0
        for vs, ls in zip(v, lab, strict=True):
            x, y = vs[a0:a1], ls[a0 - k : a1 - k]
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() < min_overlap // 2:
                r = -np.inf
                break
            r += float(np.corrcoef(x[ok], y[ok])[0, 1])
        scores[k] = r
        if r > best_r:
            best_r, best_k = r, k
    k = best_k
    frac = 0.0
    if k - 1 in scores and k + 1 in scores:
        a, b, c = scores[k - 1], scores[k], scores[k + 1]
        den = a - 2 * b + c
        frac = 0.5 * (a - c) / den if den < 0 else 0.0
    return float(gv[0] - gl[0] + (k + frac) / rate_hz), best_r / len(v)


def pair_stances(video_result: dict[str, Any], lab_result: dict[str, Any], offset_s: float,
                 frame_s: float) -> list[dict[str, Any]]:
    """One row per lab stance (the truth): the video stance of the same foot at the same time, scored."""
    vs = video_result.get("stances", []) or []
    judgeable = video_result.get("status") == "ok"
    rows = []
    used: set[int] = set()
    for ls in lab_result.get("stances", []) or []:
        t = float(ls["foot_strike_s"]) + offset_s
        best, dt = None, 1e9
        for j, s in enumerate(vs):
            if j in used:
                continue
            d = abs(float(s["foot_strike_s"]) - t)
            if d < dt:
                best, dt = j, d
        found = best is not None and dt <= max(0.12, 3 * frame_s) and vs[best]["side"] == ls["side"]
        u = vs[best] if found and best is not None else None
        if found and best is not None:
            used.add(best)
        judged = bool(judgeable and u is not None and u.get("status") == "complete")
        row: dict[str, Any] = {
            "scenario": "paired", "movement": video_result.get("task", "walk"), "view": "back", "body": "person",
            "yaw_deg": 0.0, "fps": float(video_result.get("input", {}).get("fps") or 0),
            "short_side_px": 0, "orientation": "", "camera_height": "", "distance_m": 0.0, "tags": ["paired"],
            "side": ls["side"], "time_s": round(t, 3), "found": bool(u is not None),
            "side_correct": bool(u is not None and u["side"] == ls["side"]), "judged": judged,
            "status": (u or {}).get("status"), "note": None, "analysis_status": video_result.get("status"),
            "metrics": {},
        }
        truth_metrics = ls.get("frontal_2d") or {}
        for m, stats in PAIRED_METRICS.items():
            for stat in stats:
                tv = (truth_metrics.get(m) or {}).get(stat)
                mv = ((u or {}).get("metrics", {}).get(m) or {}).get(stat) if u else None
                err = None if tv is None or mv is None else round(float(mv) - float(tv), 3)
                row["metrics"][f"{m}:{stat}"] = {"truth": tv, "value": mv, "error": err, "shown_error": None,
                                                 "miss": None}
        rows.append(row)
    return rows


def validate_pair(video: Path, markers: Path, *, out: Path, static: Path | None = None,
                  marker_set: str = "plug-in-gait", task: str = "walk", view: str = "auto") -> dict[str, Any]:
    """Analyse both recordings, synchronise them, score the video against the marker trial."""
    from medius.analysis import AnalysisRequest
    from medius.errors import InputNotFoundError
    from medius.report.outputs import run_analysis
    from medius.validation.report import write_validation_outputs

    if task not in ("walk", "run"):
        raise InvalidInputError(f"paired validation is for gait: --task walk or run, got {task!r}")
    for p in (video, markers, static):
        if p is not None and not Path(p).exists():
            raise InputNotFoundError("not found", path=p)
    tmp = Path(tempfile.mkdtemp(prefix=".medius-paired-"))
    try:
        v = run_analysis(AnalysisRequest(video, task=task, out_dir=tmp / "video", force=True, blur_faces=False,
                                         annotated_video=False, view=view))
        lab = run_analysis(AnalysisRequest(markers, task=task, out_dir=tmp / "lab", force=True, static=static,
                                           marker_set=marker_set))
        vr, lr = v.result, lab.result
        if lr.get("status") != "ok":
            raise NotJudgeableError("the marker trial could not be analysed: " + "; ".join(
                lr.get("quality", {}).get("reasons", [])), path=markers)
        fps = float(vr.get("input", {}).get("fps_average") or 30.0)
        sync = correlate_offset(_video_signals(video), _lab_signals(markers, marker_set))
        try:
            by_events = estimate_offset(vr.get("events", []) or [], lr.get("events", []) or [], 1.0 / fps)
            sync["offset_by_foot_strikes_s"] = by_events["offset_s"]
            sync["matched"] = by_events["matched"]
        except NotJudgeableError as exc:
            sync["offset_by_foot_strikes_s"] = None
            sync["matched"] = 0
            sync["foot_strikes_note"] = exc.message
        rows = pair_stances(vr, lr, sync["offset_s"], 1.0 / fps)
        doc = write_validation_outputs(out, rows, {
            "mode": "paired", "video": str(video), "markers": str(markers), "sync": sync,
            "video_status": vr.get("status"), "scenarios": [],
        }, calibrate=False)
        (out / "paired-results").mkdir(exist_ok=True)
        for name, r in (("video-result.json", vr), ("lab-result.json", lr)):
            (out / "paired-results" / name).write_text(json.dumps(r, indent=1))
        return {**doc, "sync": sync}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ a marker trial from a render
def _virtual_markers(sk: Skeleton) -> dict[str, tuple[str, tuple[float, float, float]]]:
    """Marker label -> (bone, offset in the bone's rest axes, metres; x right, y up, z back)."""
    hip_l = sk.rest_world[sk.index("LeftUpLeg")] - sk.rest_world[sk.index("Hips")]
    hip_r = sk.rest_world[sk.index("RightUpLeg")] - sk.rest_world[sk.index("Hips")]
    half = 0.5 * abs(hip_r[0] - hip_l[0])
    # Harrington et al. 2007 (mm): lateral 0.33 PW + 7.3, inferior 0.30 PW + 10.9, posterior 0.24 PD + 9.9
    pw = (half * 1000 - 7.3) / 0.33 / 1000
    pd = 0.16
    mid = 0.5 * (hip_l + hip_r)
    asis_mid = mid + np.array([0.0, (0.30 * pw * 1000 + 10.9) / 1000, -(0.24 * pd * 1000 + 9.9) / 1000])
    m: dict[str, tuple[str, tuple[float, float, float]]] = {}
    for side, sx in (("L", -1.0), ("R", 1.0)):
        b = "Left" if side == "L" else "Right"
        m[f"{side}ASI"] = ("Hips", (float(asis_mid[0] + sx * pw / 2), float(asis_mid[1]), float(asis_mid[2])))
        m[f"{side}PSI"] = ("Hips", (float(asis_mid[0] + sx * 0.045), float(asis_mid[1] + 0.02), float(asis_mid[2] + pd)))
        m[f"{side}KNE"] = (f"{b}Leg", (sx * 0.05, 0.0, 0.0))
        m[f"{side}KNM"] = (f"{b}Leg", (-sx * 0.05, 0.0, 0.0))
        m[f"{side}ANK"] = (f"{b}Foot", (sx * 0.035, 0.0, 0.0))
        m[f"{side}MED"] = (f"{b}Foot", (-sx * 0.035, 0.0, 0.0))
        m[f"{side}HEE"] = (f"{b}Foot", (0.0, -0.8 * float(sk.rest_world[sk.index(f"{b}Foot"), 1]), 0.065))
        m[f"{side}TOE"] = (f"{b}ToeBase", (0.0, 0.0, -0.02))
        m[f"{side}SHO"] = (f"{b}Arm", (0.0, 0.03, 0.0))
    return m


def markers_from_movement(movement: Movement, sk: Skeleton, path: Path, *, start_s: float = 0.0,
                          rate_hz: float = 100.0) -> Path:
    """Write the movement's virtual Plug-in Gait markers as a C3D (lab frame: x forward, y left, z up).

    The trial starts ``start_s`` into the video and is sampled at ``rate_hz`` (a lab's own rate),
    so the paired mode must find ``t_video = t_lab + start_s``.
    """
    from scipy.interpolate import CubicSpline

    from medius.io.markers import Markers3D, write_c3d

    labels = _virtual_markers(sk)
    n = movement.n_frames
    pos = np.zeros((n, len(labels), 3))
    for i in range(n):
        p, rots = sk.forward_kinematics(movement.root[i], movement.local[i])
        for j, (bone, off) in enumerate(labels.values()):
            b = sk.index(bone)
            pos[i, j] = p[b] + rots[b].apply(off)
    lab = np.stack([-pos[..., 2], -pos[..., 0], pos[..., 1]], axis=-1)  # forward, left, up
    t_lab = np.arange(0.0, float(movement.time_s[-1]) - start_s, 1.0 / rate_hz)
    samples = CubicSpline(movement.time_s, lab, axis=0)(t_lab + start_s)
    trial = Markers3D(position=samples, labels=tuple(labels), time_s=t_lab, rate_hz=float(rate_hz),
                      source="medius-validation-render")
    return write_c3d(trial, path)
