"""Walking and running, filmed from behind (or the front) or captured with markers: per-stance metrics.

One metric engine serves both sources. It takes frontal-plane angle series (from video keypoints,
or from the frontal projection of lab joint centres, or the 3D angles of the lab model) and the
stance phases found from the gait events, and measures for each stance of each side:

* ``pelvic_drop_deg``: contralateral pelvic drop, the tilt of the hip line against the horizontal,
  positive when the free (swing) side is lower. Its **peak** is the largest value during stance
  (Bramah et al. 2018's "peak contralateral pelvic drop"); its value **at mid-stance** is the tilt at
  50 % of the stance time.
* ``hip_adduction_deg``: hip adduction of the stance leg (peak = largest value in stance).
* ``trunk_lean_deg``: lateral trunk lean, positive towards the stance leg (peak = the signed value
  farthest from zero, as in the single-leg tasks).
* ``fppa_deg``: knee frontal-plane projection angle of the stance leg (reported at mid-stance;
  peak = farthest from zero).
* ``step_width_pct`` (and ``step_width_cm`` for lab data): the side-to-side distance of the stance
  foot at its strike from the other foot's line of progression (between that foot's previous and
  next strikes), in % of the distance between the hip centres (and in centimetres for lab data).
* ``stance_time_s`` and ``step_time_s`` (this foot strike to the other foot's next strike).

Absolute angles (pelvic drop, trunk lean) are measured against the horizontal / vertical of the
image (video) or of the lab (markers): a camera that is not level biases them, one side up and the
other down by the roll angle. The per-side Trendelenburg-pattern flag applies the registry's rule
(``trendelenburg_pattern`` entries) to the mean pelvic drop at mid-stance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from medius.errors import NotJudgeableError
from medius.events import Stance, compute_cadence, stances_from_events
from medius.io import Keypoints2D
from medius.kinematics.angles2d import compute_segment_length, compute_side_series
from medius.kinematics.filtering import preprocess
from medius.protocols._quality import Check, failure_reasons, run_capture_checks
from medius.protocols.metric_spec import GAIT, gait_definitions, metric_names, spec, summary_stat
from medius.registry import load_registry

__all__ = [
    "GAIT_DEFINITIONS",
    "GAIT_METRICS",
    "GAIT_TASKS",
    "STANCE_SCALARS",
    "GaitAnalysis",
    "GaitParameters",
    "analyze_gait_keypoints",
    "evaluate_trendelenburg",
    "measure_stances",
    "summarize_stances",
]

SIDES = ("left", "right")

#: the gait tasks, with the advice printed when a capture cannot be judged
GAIT_TASKS: dict[str, dict[str, str]] = {
    "walk": {
        "label": "Walking",
        "how_to_film": (
            "Film from behind (or the front), phone level at hip height, 3–5 m away, whole body in the "
            "picture; walk at your usual speed away from the camera (or on a treadmill) for at least "
            "ten steps."
        ),
    },
    "run": {
        "label": "Running",
        "how_to_film": (
            "Film from behind on a treadmill (or on a straight path), phone level at hip height, 2–4 m "
            "away, whole body in the picture, at 60 frames per second if the phone offers it; run at "
            "your usual pace for at least 20 seconds."
        ),
    },
}

#: angle metrics measured per stance, in report order (generated from the metric specification)
GAIT_METRICS: tuple[str, ...] = metric_names(GAIT, "curve")

#: how the peak of each metric is taken within a stance
PEAK_RULE: dict[str, Literal["max", "abs"]] = {m: spec(m).peak_rule or "abs" for m in GAIT_METRICS}

#: the per-stance statistic the side summary and the interpretation use
SUMMARY_STAT: dict[str, str] = summary_stat(GAIT, "curve")

#: how the metric definitions read in a gait result (the registry's texts describe the single-leg
#: tasks); per source: "video" (keypoints, or any 2D input) and "lab" (3D markers); with each
#: source's ``baseline`` (medius.protocols.metric_spec)
GAIT_DEFINITIONS: dict[str, dict[str, dict[str, str]]] = gait_definitions()

#: scalar values per stance (not angle curves)
STANCE_SCALARS: tuple[str, ...] = metric_names(GAIT, "stance_value")


@dataclass(frozen=True)
class GaitParameters:
    """Every tunable parameter of the gait analysis; recorded in the result's provenance."""

    min_confidence: float = 0.5
    max_gap_s: float = 0.25
    #: low-pass cut-off of video keypoints, per task (pose keypoints are noisier than markers: with
    #: 1.5 px of keypoint noise at 3 m, 4 Hz instead of 6 Hz halves the bias of the stance peaks
    #: of walking, measured on synthetic gait; docs/conventions.md "Gait")
    cutoff_hz_walk: float = 4.0
    cutoff_hz_run: float = 10.0
    #: low-pass cut-off of lab marker trajectories, per task
    lab_cutoff_hz_walk: float = 6.0
    lab_cutoff_hz_run: float = 10.0
    filter_order: int = 4
    #: fewer complete stances than this on both sides together: not judgeable
    min_complete_stances: int = 2
    #: fewer per side: warning
    warn_stances_per_side: int = 5
    #: a stance longer than this (s) is not a gait stance (standing still)
    max_stance_s: float = 2.0

    def cutoff_hz(self, task: str) -> float:
        """Video keypoints."""
        return self.cutoff_hz_run if task == "run" else self.cutoff_hz_walk

    def lab_cutoff_hz(self, task: str) -> float:
        """Lab markers."""
        return self.lab_cutoff_hz_run if task == "run" else self.lab_cutoff_hz_walk

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class GaitAnalysis:
    """What the gait protocol returns: the JSON-able parts and the per-frame series for the report."""

    task: str
    judgeable: bool
    checks: list[Check]
    view: str
    reasons: list[str]
    advice: list[str]
    warnings: list[str]
    stances: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    gait: dict[str, Any] = field(default_factory=dict)
    trendelenburg: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, np.ndarray] = field(default_factory=dict)
    keypoints: Keypoints2D | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    #: lab trials: the same metrics from the frontal projection of the markers, per stance
    frontal_2d: bool = False

    @property
    def reps(self) -> list[dict[str, Any]]:  # the name the single-leg protocol uses
        return self.stances


# ------------------------------------------------------------------------------------ metrics
def _round(x: float | None, nd: int = 2) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def _peak(values: np.ndarray, rule: str, t: np.ndarray, fi: np.ndarray, p: Stance) -> dict[str, Any]:
    seg = values[p.strike : p.off + 1]
    out: dict[str, Any] = {"peak": None, "peak_s": None, "peak_frame": None, "at_mid_stance": None}
    if np.isfinite(seg).any():
        k = int(np.nanargmax(seg if rule == "max" else np.abs(seg))) + p.strike
        out.update(peak=_round(values[k]), peak_s=round(float(t[k]), 4), peak_frame=int(fi[k]))
    if np.isfinite(values[p.mid]):
        out["at_mid_stance"] = _round(values[p.mid])
    return out


def measure_stances(
    series: Mapping[str, np.ndarray],
    stances: Sequence[Stance],
    time_s: np.ndarray,
    *,
    frame_index: np.ndarray | None = None,
    foot_ml: Mapping[str, np.ndarray] | None = None,
    hip_width: float | None = None,
    metres_per_unit: float | None = None,
) -> list[dict[str, Any]]:
    """Measure every stance: the per-stance rows of the result.

    Parameters
    ----------
    series
        ``"<metric>_<side>"`` -> ``(time,)`` degrees for each metric of :data:`GAIT_METRICS` and
        side, **as seen with that side as the stance leg** (pelvic drop positive = the other side
        lower, trunk lean positive = towards that side, ...). Missing keys give ``None`` values.
    stances
        the stance phases (:func:`stances_from_events`).
    time_s, frame_index
        ``(time,)`` sample times and the frame numbers to report (default: ``0..n-1``).
    foot_ml
        ``side`` -> ``(time,)`` side-to-side (medio-lateral) position of that foot, in the units of
        ``hip_width``; the step width is the distance of the stance foot at its strike from the
        other foot's line of progression (interpolated between its previous and next strikes, or
        its previous strike alone at the end of the recording).
    hip_width
        distance between the hip centres in the same units (the step-width scale).
    metres_per_unit
        when the units are metric (lab data), the factor to metres (``step_width_cm`` is then given).

    Returns
    -------
    list of dict
        one row per stance: ``stance`` (1-based), ``side``, ``status``, times and frames of foot
        strike, mid-stance and foot off, ``metrics`` (per metric ``peak``, ``peak_s``,
        ``peak_frame``, ``at_mid_stance``) and ``values`` (the scalars of :data:`STANCE_SCALARS`).
    """
    t = np.asarray(time_s, dtype=float)
    fi = np.arange(t.size) if frame_index is None else np.asarray(frame_index)
    nan = np.full(t.size, np.nan)
    rows: list[dict[str, Any]] = []
    for n, p in enumerate(stances, start=1):
        metrics = {m: _peak(np.asarray(series.get(f"{m}_{p.side}", nan), float), PEAK_RULE[m], t, fi, p)
                   for m in GAIT_METRICS}
        other = "right" if p.side == "left" else "left"
        values: dict[str, Any] = {
            "stance_time_s": round(float(t[p.off] - t[p.strike]), 4),
            "step_time_s": round(float(t[p.next_other_strike] - t[p.strike]), 4)
            if p.next_other_strike is not None
            else None,
            "step_width_pct": None,
            "step_width_cm": None,
        }
        if foot_ml is not None and hip_width and p.previous_other_strike is not None:
            # the other foot's line of progression at this strike: between its previous and next
            # strikes (a person drifting sideways keeps the same step width)
            ml_o = float(foot_ml[other][p.previous_other_strike])
            if p.next_other_strike is not None and p.next_other_strike > p.previous_other_strike:
                a = (t[p.strike] - t[p.previous_other_strike]) / (t[p.next_other_strike] - t[p.previous_other_strike])
                ml_o += float(a) * (float(foot_ml[other][p.next_other_strike]) - ml_o)
            width = abs(float(foot_ml[p.side][p.strike]) - ml_o)
            if np.isfinite(width):
                values["step_width_pct"] = _round(100.0 * width / hip_width, 1)
                if metres_per_unit:
                    values["step_width_cm"] = _round(100.0 * width * metres_per_unit, 1)
        rows.append(
            {
                "stance": n,
                "side": p.side,
                "status": "complete",
                "foot_strike_s": round(float(t[p.strike]), 4),
                "mid_stance_s": round(float(t[p.mid]), 4),
                "foot_off_s": round(float(t[p.off]), 4),
                "foot_strike_frame": int(fi[p.strike]),
                "mid_stance_frame": int(fi[p.mid]),
                "foot_off_frame": int(fi[p.off]),
                "metrics": metrics,
                "values": values,
            }
        )
    return rows


def _stats(vals: list[float]) -> dict[str, Any]:
    arr = np.asarray([v for v in vals if v is not None], dtype=float)
    return {
        "mean": _round(float(arr.mean())) if arr.size else None,
        "sd": _round(float(arr.std(ddof=1))) if arr.size > 1 else None,
        "n": int(arr.size),
    }


def summarize_stances(stances: Sequence[Mapping[str, Any]], key: str = "metrics") -> dict[str, Any]:
    """Per side: mean, SD (n-1) and n of each metric's summary statistic over the complete stances.

    Each angle metric is summarised by :data:`SUMMARY_STAT` (``mean`` etc. at the top level, as in
    the single-leg tasks) and also gives ``peak`` and ``at_mid_stance`` separately; the scalars of
    :data:`STANCE_SCALARS` are summarised too. ``difference`` holds left minus right.
    ``key`` picks the metric block of each row (``"metrics"``, or ``"frontal_2d"`` for lab data).
    """
    out: dict[str, Any] = {"left": {}, "right": {}, "difference": {}}
    done = [r for r in stances if r.get("status") == "complete" and r.get(key)]
    for s in SIDES:
        rows = [r for r in done if r["side"] == s]
        for m in GAIT_METRICS:
            per = {stat: _stats([r[key].get(m, {}).get(stat) for r in rows]) for stat in ("peak", "at_mid_stance")}
            out[s][m] = {**per[SUMMARY_STAT[m]], "statistic": SUMMARY_STAT[m], **per}
        if key == "metrics":
            for v in STANCE_SCALARS:
                out[s][v] = _stats([r["values"].get(v) for r in rows])
    for m in out["left"]:
        lm, rm = out["left"][m]["mean"], out["right"][m]["mean"]
        out["difference"][m] = {"left_minus_right": _round(lm - rm) if lm is not None and rm is not None else None}
    return out


def compute_gait_summary(stances: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Trial-level gait values: the cadence (:func:`medius.events.compute_cadence`, steps/min, None
    when it cannot be computed), counts of foot strikes and complete stances per side."""
    try:
        cadence = _round(compute_cadence(events), 1)
    except NotJudgeableError:
        cadence = None
    return {
        "cadence_steps_per_min": cadence,
        "n_foot_strikes": {s: sum(1 for e in events if e.get("kind") == "foot_strike" and e.get("side") == s) for s in SIDES},
        "n_stances": {s: sum(1 for r in stances if r["side"] == s and r["status"] == "complete") for s in SIDES},
    }


def evaluate_trendelenburg(summary: Mapping[str, Any], task: str) -> dict[str, Any]:
    """The per-side Trendelenburg-pattern flag: the registry's rule on the mid-stance pelvic drop.

    The rule is the registry's ``cutoff`` entry for ``pelvic_drop_midstance_deg`` in this task: a
    side is flagged when the **mean** pelvic drop at mid-stance over its complete stances (the
    ``mean`` of ``summary[side]["pelvic_drop_deg"]["at_mid_stance"]``, :func:`summarize_stances`)
    is at or above the cut-off. Returns per side ``flag`` (``True``/``False``/``None`` when not measurable),
    ``value``, and the rule with its source and status.
    """
    reg = load_registry()
    refs = reg.references_for("pelvic_drop_midstance_deg", task, kind="cutoff")
    if not refs:
        return {"rule": None, "left": None, "right": None}
    ref = refs[0]
    symbol = reg.unit(ref.unit).symbol
    rule = {
        "reference_id": ref.id,
        "text": (
            f"Trendelenburg pattern: the pelvis on the swing-leg side drops at mid-stance (single support) by "
            f"{ref.cutoff:g}{symbol} or more, on average over the stances of that leg "
            f"({ref.source}{'; provisional' if ref.provisional else ''})."
        ),
        "cutoff": ref.cutoff,
        "unit": ref.unit,
        "source": ref.source,
        "reference": ref.reference,
        "population": ref.population,
        "provisional": ref.provisional,
        "notes": ref.notes,
    }
    out: dict[str, Any] = {"rule": rule}
    for s in SIDES:
        v = summary.get(s, {}).get("pelvic_drop_deg", {}).get("at_mid_stance", {}).get("mean")
        out[s] = {
            "flag": None if v is None else bool(v >= ref.cutoff),
            "value": v,
            "text": (
                f"{s} stance: pelvic drop at mid-stance {v:.1f}{symbol} "
                + ("— at or above" if v >= ref.cutoff else "— below")
                + f" the {ref.cutoff:g}{symbol} of the rule: "
                + ("Trendelenburg pattern." if v >= ref.cutoff else "no Trendelenburg pattern.")
                if v is not None
                else f"{s} stance: not measured."
            ),
        }
    return out


# ------------------------------------------------------------------------------------ video
def _fail(
    task: str,
    checks: list[Check],
    view: str,
    warnings: list[str],
    extra: list[str] | None = None,
    keypoints: Keypoints2D | None = None,
    params: GaitParameters | None = None,
) -> GaitAnalysis:
    reasons, advice = failure_reasons(checks, GAIT_TASKS[task]["how_to_film"], extra)
    return GaitAnalysis(
        task=task,
        judgeable=False,
        checks=checks,
        view=view,
        reasons=reasons,
        advice=advice,
        warnings=warnings,
        keypoints=keypoints,
        parameters=(params or GaitParameters()).as_dict(),
    )


def side_series_2d(kp: Keypoints2D) -> dict[str, np.ndarray]:
    """The ``"<metric>_<side>"`` series of :func:`measure_stances` from 2D keypoints (or a projection)."""
    out: dict[str, np.ndarray] = {}
    for s in SIDES:
        ss = compute_side_series(kp, s)  # type: ignore[arg-type]
        out[f"pelvic_drop_deg_{s}"] = ss["pelvic_tilt_deg"]
        out[f"hip_adduction_deg_{s}"] = ss["hip_adduction_deg"]
        out[f"trunk_lean_deg_{s}"] = ss["trunk_lean_deg"]
        out[f"fppa_deg_{s}"] = ss["fppa_deg"]
    return out


def foot_ml_2d(kp: Keypoints2D) -> tuple[dict[str, np.ndarray], float]:
    """Side-to-side foot positions (image x of the heel, else the ankle) and the median hip distance."""
    feet = {}
    for s in SIDES:
        heel = kp.xy(f"{s}_heel")[:, 0]
        ankle = kp.xy(f"{s}_ankle")[:, 0]
        feet[s] = np.where(np.isfinite(heel), heel, ankle)
    hw = compute_segment_length(kp.xy("left_hip"), kp.xy("right_hip"))
    hw = hw[np.isfinite(hw)]
    return feet, float(np.median(hw)) if hw.size else float("nan")


def analyze_gait_keypoints(
    kp: Keypoints2D,
    *,
    task: Literal["walk", "run"] = "walk",
    view: Literal["auto", "back", "front"] = "auto",
    facing: str = "unknown",
    selection: dict[str, Any] | None = None,
    side_check: dict[str, Any] | None = None,
    camera: dict[str, float] | None = None,
    image_size_known: bool = True,
    params: GaitParameters | None = None,
) -> GaitAnalysis:
    """Analyse one walking or running recording of one person filmed from behind or the front.

    Parameters
    ----------
    kp
        The tested person's keypoints, side-corrected, unfiltered.
    task
        ``"walk"`` or ``"run"``.
    view
        where the camera is; ``"auto"`` takes it from the facing direction the pose layer found
        (back to the camera = filmed from behind).
    facing, selection, side_check, camera
        What the pose layer found; they feed the capture checks (as for the single-leg tasks).
    params
        Analysis parameters (defaults: :class:`GaitParameters`).
    """
    from medius.events import VideoEventDetector  # the events layer's 2D detector

    if task not in GAIT_TASKS:
        raise ValueError(f"Invalid value for 'task'. Allowed values are {sorted(GAIT_TASKS)}, but got {task!r}.")
    p = params or GaitParameters()
    checks, cam_view, warnings, fatal = run_capture_checks(
        kp, facing=facing, selection=selection, side_check=side_check, camera=camera,
        image_size_known=image_size_known,
    )
    if fatal:
        return _fail(task, checks, cam_view, warnings, keypoints=kp, params=p)
    if view == "auto":
        view = "back" if facing == "away" or cam_view == "back" else "front"

    cutoff = min(p.cutoff_hz(task), 0.4 * kp.fps)
    if cutoff < p.cutoff_hz(task):
        warnings.append(
            f"Low-pass cut-off lowered from {p.cutoff_hz(task)} Hz to {cutoff:.1f} Hz for the {kp.fps:.0f} Hz "
            "frame rate."
        )
    fk = preprocess(kp, min_confidence=p.min_confidence, max_gap_s=p.max_gap_s, cutoff_hz=cutoff, order=p.filter_order)
    t = fk.time_s
    fi = np.asarray(fk.frame_index)
    try:
        found = VideoEventDetector(view=view, task=task).detect(fk)
        events = [dict(e) for e in found.events]
        event_info = {"used": "video keypoints", "method": found.method, "notes": list(found.notes)}
        warnings += [f"Gait events: {n}" for n in found.notes[:3]]
    except Exception as exc:  # noqa: BLE001 - the detector's "cannot find events" errors
        from medius.errors import MediusError

        if not isinstance(exc, MediusError):
            raise
        return _fail(task, checks, cam_view, warnings, [f"Gait events: {exc.message}"], fk, p)
    stances, notes = stances_from_events(events, t, max_stance_s=p.max_stance_s)
    series = side_series_2d(fk)
    feet, hip_width = foot_ml_2d(fk)
    rows = measure_stances(series, stances, t, frame_index=fi, foot_ml=feet, hip_width=hip_width)
    return _finish(task, checks, cam_view, warnings, notes, rows, events, series, t, fk, p,
                   {**p.as_dict(), "cutoff_hz_used": cutoff, "view": view, "events": event_info})


def _finish(
    task: str,
    checks: list[Check],
    view: str,
    warnings: list[str],
    notes: list[str],
    rows: list[dict[str, Any]],
    events: list[dict[str, Any]],
    series: dict[str, np.ndarray],
    t: np.ndarray,
    keypoints: Keypoints2D | None,
    p: GaitParameters,
    parameters: dict[str, Any],
    *,
    frontal_2d: bool = False,
) -> GaitAnalysis:
    complete = [r for r in rows if r["status"] == "complete"]
    if len(complete) < p.min_complete_stances:
        found = f"{len(complete)} complete stance phase(s) found" if events else "no foot contacts found"
        res = _fail(task, checks, view, warnings, [f"Too few steps: {found}."] + notes[:3], keypoints, p)
        res.stances, res.events = rows, events
        res.series = {"time_s": t, **series}
        return res
    for s in SIDES:
        n = sum(1 for r in complete if r["side"] == s)
        if n == 0:
            warnings.append(f"No complete stance on the {s} leg: no left–right comparison.")
        elif n < p.warn_stances_per_side:
            warnings.append(f"Only {n} complete stance(s) on the {s} leg: its mean is less reliable (aim for 10).")
    summary = summarize_stances(rows)
    analysis = GaitAnalysis(
        task=task,
        judgeable=True,
        checks=checks,
        view=view,
        reasons=[],
        advice=[],
        warnings=warnings + [f"Events: {n}" for n in notes[:5]],
        stances=rows,
        summary=summary,
        gait=compute_gait_summary(rows, events),
        trendelenburg=evaluate_trendelenburg(summary, task),
        events=[{**e, "time_s": round(float(e["time_s"]), 4)} for e in events],
        series={"time_s": t, **series},
        keypoints=keypoints,
        parameters=parameters,
        frontal_2d=frontal_2d,
    )
    if frontal_2d:
        analysis.summary["frontal_2d"] = summarize_stances(rows, key="frontal_2d")
    return analysis


# ------------------------------------------------------------------------------------ lab markers
#: the pelvic drop relative to the standing static posture (lab trials with a static trial): its own
#: name, since pelvic_drop_deg of a lab trial is against the lab horizontal
STANDING_DROP = "pelvic_drop_vs_standing_deg"


def compute_pelvic_drop_3d_vs(obliquity_left: np.ndarray, side: str, standing_left_deg: float) -> np.ndarray:
    """Pelvic drop relative to the standing posture: the stance-side obliquity minus its standing
    value (left stance: left obliquity - standing left; right stance: -(left - standing left))."""
    from medius.kinematics.angles3d import compute_pelvic_drop_3d

    base = standing_left_deg if side == "left" else -standing_left_deg
    return compute_pelvic_drop_3d(obliquity_left, side, baseline_deg=base)  # type: ignore[arg-type]


def lab_series_3d(angles: Any, frontal: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The ``"<metric>_<side>"`` series of a lab trial: 3D pelvic drop and hip adduction (ISB), and
    the frontal-plane trunk lean and FPPA (2D constructs, from the frontal projection)."""
    from medius.kinematics.angles3d import compute_pelvic_drop_3d

    out: dict[str, np.ndarray] = {}
    for s in SIDES:
        out[f"pelvic_drop_deg_{s}"] = compute_pelvic_drop_3d(angles.series["pelvic_obliquity_deg_left"], s)  # type: ignore[arg-type]
        out[f"hip_adduction_deg_{s}"] = np.asarray(angles.series[f"hip_adduction_deg_{s}"], float)
        out[f"trunk_lean_deg_{s}"] = np.asarray(frontal[f"trunk_lean_deg_{s}"], float)
        out[f"fppa_deg_{s}"] = np.asarray(frontal[f"fppa_deg_{s}"], float)
    return out


def analyze_gait_lab(
    angles: Any,
    events: Sequence[Mapping[str, Any]],
    *,
    task: Literal["walk", "run"] = "walk",
    params: GaitParameters | None = None,
    checks: list[Check] | None = None,
    warnings: Sequence[str] = (),
    parameters: Mapping[str, Any] | None = None,
) -> GaitAnalysis:
    """Per-stance metrics of a lab trial, in 3D and in its frontal projection, by the same engine.

    Parameters
    ----------
    angles
        the trial's :class:`~medius.kinematics.angles3d.LabAngles` (filtered, calibrated:
        :func:`~medius.kinematics.labtrial.prepare_lab_trial`).
    events
        the gait events (``side``, ``kind``, ``time_s``), from markers, force plates or the file.
    task
        ``"walk"`` or ``"run"``.
    checks, warnings, parameters
        what the caller checked and decided, carried into the result; the warnings of the lab
        model (``parameters["lab_model"]["warnings"]``, from
        :func:`~medius.kinematics.labtrial.prepare_lab_trial`) are added to ``warnings``.

    Returns
    -------
    GaitAnalysis
        ``stances[i]["metrics"]``: 3D pelvic drop (pelvic obliquity against the lab, ISB) and hip
        adduction (Cardan Z-X-Y), frontal-plane trunk lean and FPPA; ``stances[i]["frontal_2d"]``:
        the same four from the frontal projection of the joint centres (what a camera behind the
        person would measure), so video and lab can be put side by side; the step width in metres.
    """
    from medius.kinematics.angles3d import project_frontal

    p = params or GaitParameters()
    t = np.asarray(angles.time_s, dtype=float)
    kp2d = project_frontal(angles.joint_centres, angles.axes)
    frontal = side_series_2d(kp2d)
    series = lab_series_3d(angles, frontal)
    stances, notes = stances_from_events(events, t, max_stance_s=p.max_stance_s)
    # step width: heel (or ankle) position along the lab's right axis, hip centres' distance, metres
    jc = angles.joint_centres
    right = np.asarray(angles.axes.right, dtype=float)
    feet = {}
    for s in SIDES:
        heel = jc.xyz(f"{s}_heel") if jc.has(f"{s}_heel") else jc.xyz(f"{s}_ankle")
        feet[s] = heel @ right
    hw = np.linalg.norm(jc.xyz("left_hip") - jc.xyz("right_hip"), axis=-1)
    hip_width = float(np.nanmedian(hw)) if np.isfinite(hw).any() else float("nan")
    rows = measure_stances(series, stances, t, foot_ml=feet, hip_width=hip_width, metres_per_unit=1.0)
    rows_2d = measure_stances(frontal, stances, t)
    for r, r2 in zip(rows, rows_2d, strict=True):
        r["frontal_2d"] = r2["metrics"]
        r["metric_sources"] = {
            "pelvic_drop_deg": "3D (ISB pelvic obliquity against the lab)",
            "hip_adduction_deg": "3D (ISB hip, Cardan Z-X-Y)",
            "trunk_lean_deg": "frontal projection",
            "fppa_deg": "frontal projection",
        }
    # a stance whose 3D metrics miss frames (a pelvis or knee marker not seen) is not measurable:
    # its peak would be taken over part of the stance
    unmeasured = []
    for r in rows:
        a, b = r["foot_strike_frame"], r["foot_off_frame"] + 1
        gone = [m for m in ("pelvic_drop_deg", "hip_adduction_deg")
                if not np.isfinite(series[f"{m}_{r['side']}"][a:b]).all()]
        if gone:
            frac = max(float(np.mean(~np.isfinite(series[f"{m}_{r['side']}"][a:b]))) for m in gone)
            r["status"] = "not_measurable"
            for m in gone:
                r["metrics"][m] = {k: None for k in r["metrics"][m]}
            r["note"] = (f"{', '.join(gone)} missing in {100 * frac:.0f}% of the stance's frames "
                         "(markers not seen): not measured")
            unmeasured.append(f"{r['side']} {r['foot_strike_s']:.2f}-{r['foot_off_s']:.2f} s")
    # with a standing static trial: the drop relative to the standing posture as well (its own name;
    # the summary and interpretation keep pelvic_drop_deg, against the lab horizontal)
    standing = (dict(parameters or {}).get("lab_model") or {}).get("standing_pelvis")
    vs_standing: dict[str, Any] | None = None
    if standing:
        base_left = float(standing["obliquity_deg_left"])
        fi = np.arange(t.size)
        ob = np.asarray(angles.series["pelvic_obliquity_deg_left"], float)
        for r, st in zip(rows, stances, strict=True):
            vs = compute_pelvic_drop_3d_vs(ob, r["side"], base_left)
            r[STANDING_DROP] = (
                _peak(vs, PEAK_RULE["pelvic_drop_deg"], t, fi, st) if r["status"] == "complete"
                else {"peak": None, "peak_s": None, "peak_frame": None, "at_mid_stance": None}
            )
        vs_standing = {}
        for side in SIDES:
            done = [r for r in rows if r["side"] == side and r["status"] == "complete"]
            per = {stat: _stats([r[STANDING_DROP][stat] for r in done]) for stat in ("peak", "at_mid_stance")}
            vs_standing[side] = {**per[SUMMARY_STAT["pelvic_drop_deg"]], "statistic": SUMMARY_STAT["pelvic_drop_deg"], **per}
    lab_warnings = list((dict(parameters or {}).get("lab_model") or {}).get("warnings") or [])
    if unmeasured:
        lab_warnings.append(
            f"{len(unmeasured)} of {len(rows)} stance(s) not measurable (markers missing during the stance): "
            + ", ".join(unmeasured) + "; the summary uses the others."
        )
    all_series = {**series, **{f"frontal_2d:{k}": v for k, v in frontal.items()}}
    analysis = _finish(
        task,
        list(checks or []),
        "lab",
        [*warnings, *(w for w in lab_warnings if w not in warnings)],
        notes,
        rows,
        [dict(e) for e in events],
        all_series,
        t,
        kp2d,
        p,
        {**p.as_dict(), **dict(parameters or {})},
        frontal_2d=True,
    )
    if vs_standing is not None and standing and analysis.judgeable:
        analysis.parameters[STANDING_DROP] = {
            "summary": vs_standing,
            "standing_obliquity_deg_left": standing["obliquity_deg_left"],
            "definition": "pelvic drop relative to the standing static posture: the stance-side ISB pelvic obliquity "
            "minus its median in the static trial; positive when the swing side is lower than when standing",
            "used_by_summary": False,
            "why_not_in_summary": (
                "the summary, the Trendelenburg-pattern rule and the interpretation use pelvic_drop_deg against the "
                "lab horizontal, as their sources do: the rule (Magee's Trendelenburg sign) asks whether the pelvis "
                "stays level, and the registry's mid-stance drop is defined against the horizontal; the baseline of "
                "Bramah et al. 2018 is not recorded in the facts sheet, so no standing-referenced reference exists"
            ),
        }
    return analysis
