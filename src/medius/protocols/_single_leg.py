"""Single-leg squat and step-down, filmed from the front: reps, stance leg, per-rep metrics.

The protocol takes the tested person's keypoints (already selected and side-corrected in the pose
layer), checks the capture, filters, finds the reps and the stance leg of each, and measures every
metric of ``docs/conventions.md`` per rep: its peak over the rep — the signed value farthest from
zero between the rep's start and end (so a knee that goes into varus peaks negative) — with its
frame and time, and its value at the deepest point.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from medius.events import SquatRepDetector, detect_stance_side
from medius.io import Keypoints2D
from medius.kinematics.angles2d import (
    compute_depth_pct,
    compute_knee_medial_displacement_pct,
    compute_segment_length,
    compute_side_series,
    relative_to_baseline,
)
from medius.kinematics.filtering import preprocess
from medius.protocols._quality import Check, failure_reasons, run_capture_checks
from medius.protocols.metric_spec import SINGLE_LEG, metric_names, summary_stat

__all__ = [
    "METRICS",
    "SUMMARY_STAT",
    "TASKS",
    "AnalysisParameters",
    "SingleLegAnalysis",
    "analyze_single_leg",
]

Task = Literal["single-leg-squat", "step-down"]

#: tasks this protocol handles, with the advice printed when a capture cannot be judged
TASKS: dict[str, dict[str, str]] = {
    "single-leg-squat": {
        "label": "Single-leg squat",
        "how_to_film": (
            "Film from the front, phone at hip height about 3 m away, whole body in the picture; "
            "stand on one leg, arms crossed, and squat as deep as comfortable five times, then five "
            "times on the other leg."
        ),
    },
    "step-down": {
        "label": "Step-down",
        "how_to_film": (
            "Film from the front, phone at hip height about 3 m away, whole body and the step in the "
            "picture; stand on one leg on a 20 cm step and lower the other heel to the floor five times, "
            "then five times on the other leg."
        ),
    },
}

#: metrics measured per rep, in report order (generated from the metric specification)
METRICS: tuple[str, ...] = metric_names(SINGLE_LEG, "curve")


#: the per-rep statistic each metric is summarised and interpreted by: its value at the deepest
#: point of the rep (robust: the median over ``bottom_window_fraction`` of the rep around the
#: deepest frame), as the cited 2D FPPA studies measure it (Munro et al. 2012, Herrington & Munro
#: 2010: at the deepest point of the squat); ``peak`` (the signed extreme) is kept for reference
SUMMARY_STAT: dict[str, str] = summary_stat(SINGLE_LEG, "curve")


@dataclass(frozen=True)
class AnalysisParameters:
    """Every tunable parameter of the analysis; recorded in the result's provenance."""

    min_confidence: float = 0.5
    max_gap_s: float = 0.25
    cutoff_hz: float = 6.0
    filter_order: int = 4
    baseline_window_s: float = 0.3
    min_depth_pct: float = 4.0
    min_rep_duration_s: float = 0.6
    min_complete_reps: int = 1
    warn_reps_per_side: int = 3
    bottom_window_fraction: float = 0.1

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SingleLegAnalysis:
    """What the protocol returns: the JSON-able parts and the per-frame series for the report."""

    task: str
    judgeable: bool
    checks: list[Check]
    view: str
    reasons: list[str]
    advice: list[str]
    warnings: list[str]
    reps: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    series: dict[str, np.ndarray] = field(default_factory=dict)
    keypoints: Keypoints2D | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def _fail(task: str, checks: list[Check], view: str, warnings: list[str], extra: list[str] | None = None,
          keypoints: Keypoints2D | None = None, params: AnalysisParameters | None = None) -> SingleLegAnalysis:
    reasons, advice = failure_reasons(checks, TASKS[task]["how_to_film"], extra)
    return SingleLegAnalysis(
        task=task,
        judgeable=False,
        checks=checks,
        view=view,
        reasons=reasons,
        advice=advice,
        warnings=warnings,
        keypoints=keypoints,
        parameters=(params or AnalysisParameters()).as_dict(),
    )


def _standing_length(a: np.ndarray, b: np.ndarray) -> float:
    d = compute_segment_length(a, b)
    d = d[np.isfinite(d)]
    return float(np.percentile(d, 90)) if d.size else float("nan")


def _peak(values: np.ndarray, t: np.ndarray, frame_index: np.ndarray, s: int, e: int, b: int,
          half_window_s: float = 0.0) -> dict[str, Any]:
    """The rep's signed extreme (``peak``) and its value at the deepest point (``at_bottom``: the
    median over ``half_window_s`` on either side of the deepest frame, so one bad frame cannot
    decide it)."""
    seg = values[s : e + 1]
    out: dict[str, Any] = {"peak": None, "peak_s": None, "peak_frame": None, "at_bottom": None}
    if np.isfinite(seg).any():
        k = int(np.nanargmax(np.abs(seg))) + s
        out.update(peak=round(float(values[k]), 2), peak_s=round(float(t[k]), 4), peak_frame=int(frame_index[k]))
    win = (t >= t[b] - half_window_s) & (t <= t[b] + half_window_s)
    win[:s] = False
    win[e + 1 :] = False
    around = values[win]
    around = around[np.isfinite(around)]
    if around.size:
        out["at_bottom"] = round(float(np.median(around)), 2)
    return out


def analyze_single_leg(
    kp: Keypoints2D,
    *,
    task: Task = "single-leg-squat",
    side: Literal["auto", "left", "right"] = "auto",
    facing: str = "unknown",
    selection: dict[str, Any] | None = None,
    side_check: dict[str, Any] | None = None,
    camera: dict[str, float] | None = None,
    image_size_known: bool = True,
    params: AnalysisParameters | None = None,
) -> SingleLegAnalysis:
    """Analyse one single-leg squat or step-down recording of one person.

    Parameters
    ----------
    kp
        The tested person's keypoints, side-corrected, unfiltered.
    task
        ``"single-leg-squat"`` or ``"step-down"``.
    side
        ``"auto"`` detects the stance leg of each rep; ``"left"``/``"right"`` declares that every
        rep is on that leg (a rep that clearly is on the other leg is then reported partial).
    facing, selection, side_check, camera
        What the pose layer found (facing direction, person choice, left/right corrections,
        camera motion); they feed the capture checks.
    params
        Analysis parameters (defaults: :class:`AnalysisParameters`).
    """
    if task not in TASKS:
        raise ValueError(f"Invalid value for 'task'. Allowed values are {sorted(TASKS)}, but got {task!r}.")
    if side not in ("auto", "left", "right"):
        raise ValueError(f"Invalid value for 'side'. Allowed values are 'auto', 'left', 'right', but got {side!r}.")
    p = params or AnalysisParameters()
    checks, view, warnings, fatal = run_capture_checks(
        kp, facing=facing, selection=selection, side_check=side_check, camera=camera,
        image_size_known=image_size_known,
    )
    if fatal:
        return _fail(task, checks, view, warnings, keypoints=kp, params=p)

    cutoff = min(p.cutoff_hz, 0.4 * kp.fps)
    if cutoff < p.cutoff_hz:
        warnings.append(f"Low-pass cut-off lowered from {p.cutoff_hz} Hz to {cutoff:.1f} Hz for the {kp.fps:.0f} Hz frame rate.")
    fk = preprocess(kp, min_confidence=p.min_confidence, max_gap_s=p.max_gap_s, cutoff_hz=cutoff, order=p.filter_order)
    t = fk.time_s
    fi = np.asarray(fk.frame_index)

    # standing lengths (the straightest 10 % of frames)
    leg_len = {s: _standing_length(fk.xy(f"{s}_hip"), fk.xy(f"{s}_ankle")) for s in ("left", "right")}
    shank_len = {s: _standing_length(fk.xy(f"{s}_knee"), fk.xy(f"{s}_ankle")) for s in ("left", "right")}
    ref_leg = np.nanmax([leg_len["left"], leg_len["right"]])
    mid_hip_y = 0.5 * (fk.xy("left_hip")[:, 1] + fk.xy("right_hip")[:, 1])
    finite_y = mid_hip_y[np.isfinite(mid_hip_y)]
    if not np.isfinite(ref_leg) or finite_y.size < 3:
        return _fail(task, checks, view, warnings, ["Legs not visible long enough to measure."], fk, p)
    depth = compute_depth_pct(mid_hip_y, float(np.percentile(finite_y, 5)), ref_leg)

    det = SquatRepDetector(min_depth_pct=p.min_depth_pct, min_rep_duration_s=p.min_rep_duration_s).detect(depth, t)
    series: dict[str, np.ndarray] = {"time_s": t, "depth_pct": depth}
    side_series = {s: compute_side_series(fk, s) for s in ("left", "right")}
    for leg in ("left", "right"):
        ss = side_series[leg]
        series[f"fppa_deg_{leg}"] = ss["fppa_deg"]
        series[f"hip_adduction_deg_{leg}"] = ss["hip_adduction_deg"]
        series[f"trunk_lean_deg_{leg}"] = ss["trunk_lean_deg"]
        series[f"pelvic_drop_deg_{leg}"] = np.full(fk.n_frames, np.nan)
        other = "right" if leg == "left" else "left"
        series[f"knee_medial_displacement_pct_{leg}"] = (
            compute_knee_medial_displacement_pct(
                fk.xy(f"{leg}_knee"), fk.xy(f"{leg}_ankle"), fk.xy(f"{leg}_toe"), fk.xy(f"{leg}_hip"),
                fk.xy(f"{other}_hip"), shank_len[leg],
            )
            if np.isfinite(shank_len[leg]) and shank_len[leg] > 0
            else np.full(fk.n_frames, np.nan)
        )

    reps_out: list[dict[str, Any]] = []
    for rep in det.reps_:
        s, b, e = rep.start, rep.bottom, rep.end
        ankles = {a: fk.xy(f"{a}_ankle")[s : e + 1, 1] for a in ("left", "right")}
        for a in ankles:
            if np.isfinite(ankles[a]).sum() < 3:
                # the pose model's visibility score can be low on a plainly visible ankle: its
                # position is still estimated, so the stance leg is judged on it (never a metric)
                raw_y = kp.xy(f"{a}_ankle")[:, 1]
                ok = np.isfinite(raw_y)
                if ok.sum() >= 3:
                    ankles[a] = np.interp(t[s : e + 1], kp.time_s[ok], raw_y[ok], left=np.nan, right=np.nan)
        stance, evidence = detect_stance_side(
            # a step-down's free foot hovers at the step, then reaches below it: which foot is the
            # higher one over a rep says little there, so only the single-leg squat uses the height
            ankles["left"], ankles["right"], ref_leg, lower_is_stance=True if task == "single-leg-squat" else None
        )
        status = rep.status
        notes = [rep.note] if rep.note else []
        if side != "auto":
            if stance is not None and stance != side:
                notes.append(f"the {stance} foot seems to carry the weight, not the declared {side}")
                status = "partial"
            stance = side
        if stance is None:
            notes.append(f"stance leg unclear ({evidence.get('reason', 'no evidence')})")
            status = "partial"
        entry = dataclasses.replace(rep, side=stance, status=status, note="; ".join(notes)).as_dict()
        entry["start_frame"], entry["bottom_frame"], entry["end_frame"] = int(fi[s]), int(fi[b]), int(fi[e])
        entry["stance_evidence"] = evidence
        metrics: dict[str, Any] = {}
        if stance is not None:
            ss = side_series[stance]
            # pelvic drop: tilt relative to the standing frames just before the rep starts
            base_mask = np.zeros(fk.n_frames, bool)
            base_mask[(t >= t[s] - p.baseline_window_s) & (t <= t[s])] = True
            tilt = ss["pelvic_tilt_deg"]
            base_vals = tilt[base_mask & np.isfinite(tilt)]
            baseline = float(np.median(base_vals)) if base_vals.size else float("nan")
            drop = relative_to_baseline(tilt, baseline)  # pelvic_drop_deg's single-leg baseline (metric spec)
            series[f"pelvic_drop_deg_{stance}"][s : e + 1] = drop[s : e + 1]
            # depth of this rep: below the standing level at its start, in % of the stance leg
            stance_leg = leg_len[stance] if np.isfinite(leg_len[stance]) and leg_len[stance] > 0 else ref_leg
            local_depth = (depth - float(np.nanmin(depth[max(0, s - 1) : s + 1]))) * ref_leg / stance_leg
            per = {
                "fppa_deg": ss["fppa_deg"],
                "pelvic_drop_deg": drop,
                "trunk_lean_deg": ss["trunk_lean_deg"],
                "hip_adduction_deg": ss["hip_adduction_deg"],
                "depth_pct": local_depth,
                "knee_medial_displacement_pct": series[f"knee_medial_displacement_pct_{stance}"],
            }
            half = p.bottom_window_fraction * float(t[e] - t[s])
            metrics = {m: _peak(per[m], t, fi, s, e, b, half) for m in METRICS}
            metrics["pelvic_drop_deg"]["baseline_tilt_deg"] = round(baseline, 2) if np.isfinite(baseline) else None
        entry["metrics"] = metrics
        reps_out.append(entry)

    complete = [r for r in reps_out if r["status"] == "complete" and r["side"] is not None]
    if len(complete) < p.min_complete_reps:
        found = (
            f"{len(reps_out)} rep(s) found, none complete on one leg"
            if reps_out
            else "no squat repetitions found (the hips never went down and back up)"
        )
        res = _fail(task, checks, view, warnings, [f"Too few reps: {found}."], fk, p)
        res.reps = reps_out
        res.series = series
        return res
    for leg in ("left", "right"):
        n = sum(1 for r in complete if r["side"] == leg)
        if 0 < n < p.warn_reps_per_side:
            warnings.append(f"Only {n} complete rep(s) on the {leg} leg: its mean is less reliable (aim for 5).")
        if n == 0:
            warnings.append(f"No complete rep on the {leg} leg: no left–right comparison.")

    return SingleLegAnalysis(
        task=task,
        judgeable=True,
        checks=checks,
        view=view,
        reasons=[],
        advice=[],
        warnings=warnings,
        reps=reps_out,
        summary=summarize_reps(reps_out),
        series=series,
        keypoints=fk,
        parameters={**p.as_dict(), "cutoff_hz_used": cutoff, "rep_detector": det.get_params()},
    )


def summarize_reps(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, SD (n-1) and n of each metric's summary statistic (:data:`SUMMARY_STAT`) over the
    complete reps of each side."""
    out: dict[str, Any] = {"left": {}, "right": {}, "difference": {}}
    for s in ("left", "right"):
        for m in METRICS:
            stat = SUMMARY_STAT[m]
            vals = [
                r["metrics"][m][stat]
                for r in reps
                if r["status"] == "complete" and r["side"] == s and r["metrics"].get(m, {}).get(stat) is not None
            ]
            arr = np.asarray(vals, dtype=float)
            out[s][m] = {
                "mean": round(float(arr.mean()), 2) if arr.size else None,
                "sd": round(float(arr.std(ddof=1)), 2) if arr.size > 1 else None,
                "n": int(arr.size),
                "statistic": stat,
            }
    for m in METRICS:
        lm, rm = out["left"][m]["mean"], out["right"][m]["mean"]
        out["difference"][m] = {"left_minus_right": round(lm - rm, 2) if lm is not None and rm is not None else None}
    return out
