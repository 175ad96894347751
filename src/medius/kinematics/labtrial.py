"""A lab marker trial made ready for the model: gaps, filter, static calibration, then the angles.

:func:`prepare_lab_trial` is the one place where a moving trial (and optionally its static
calibration trial) become a :class:`~medius.kinematics.angles3d.LabAngles`:

1. the marker set is checked against the trial (:meth:`MarkerSet.resolve`: a marker it names that
   the trial lacks is one clear error);
2. short gaps are filled (cubic, ``max_gap_s``) and the trajectories low-pass filtered
   (Butterworth, zero lag); a required marker still missing in more than ``max_missing_fraction``
   of the frames is refused, naming the marker and its longest gap;
3. with a static trial: the static-calibration clusters of the marker set (``static_calibration``
   in its YAML) carry the static-only anatomical markers into the moving trial
   (:func:`~medius.kinematics.markersets.calibrate_clusters`, Söderkvist & Wedin 1993); without
   clusters, the medial knee / ankle markers of the static trial give the chord offsets
   (:func:`~medius.kinematics.angles3d.measure_joint_offsets`). A static trial that does not match
   the moving one (other marker labels, a pelvis width differing by more than
   ``max_pelvis_width_difference_m``) is refused;
4. :func:`~medius.kinematics.angles3d.compute_lab_angles` gives the ISB angles and joint centres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from medius.errors import InvalidInputError
from medius.io.markers import Markers3D
from medius.kinematics.angles3d import (
    LabAngles,
    compute_hip_joint_centres,
    compute_lab_angles,
    measure_joint_offsets,
)
from medius.kinematics.filtering3d import fill_gaps, lowpass_filter_3d
from medius.kinematics.markersets import REQUIRED_ROLES, MarkerSet, calibrate_clusters, load_marker_set

__all__ = ["prepare_lab_trial"]


def _where(trial: Markers3D) -> Path | None:
    p = Path(trial.source)
    return p if p.suffix else None


def _longest_gap(missing: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Longest run of True in ``missing``: (duration s, start s)."""
    best, start, best_start = 0, None, 0
    for i, m in enumerate(missing):
        if m and start is None:
            start = i
        if (not m or i == missing.size - 1) and start is not None:
            end = i if m else i - 1
            if end - start + 1 > best:
                best, best_start = end - start + 1, start
            start = None
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    return best * dt, float(t[best_start]) if t.size else 0.0


def _with_hip_centres(trial: Markers3D, ms: MarkerSet) -> Markers3D:
    r = ms.resolve(trial)
    if r.has("left_psis") and r.has("right_psis"):
        post = 0.5 * (r.xyz(trial, "left_psis") + r.xyz(trial, "right_psis"))
    else:
        post = r.xyz(trial, "sacrum")
    left, right, _ = compute_hip_joint_centres(r.xyz(trial, "left_asis"), r.xyz(trial, "right_asis"), post)
    return trial.with_markers({"@left_hip_centre": left, "@right_hip_centre": right})


def _pelvis_width(trial: Markers3D, ms: MarkerSet) -> float:
    d = np.linalg.norm(ms.xyz(trial, "left_asis") - ms.xyz(trial, "right_asis"), axis=-1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("nan")


def prepare_lab_trial(
    moving: Markers3D,
    *,
    marker_set: MarkerSet | str | Path = "plug-in-gait",
    static: Markers3D | None = None,
    max_gap_s: float = 0.1,
    cutoff_hz: float = 6.0,
    max_missing_fraction: float = 0.2,
    max_pelvis_width_difference_m: float = 0.02,
    forward_axis: str = "auto",
    up_axis: str = "auto",
) -> tuple[LabAngles, dict[str, Any]]:
    """Fill, filter and calibrate a marker trial and compute its lab angles.

    Parameters
    ----------
    moving
        the walking / running trial (metres, lab frame).
    marker_set
        a :class:`MarkerSet`, ``"plug-in-gait"`` or a marker-set YAML path.
    static
        the static calibration trial of the same session, or None.
    max_gap_s
        longest gap filled by interpolation.
    cutoff_hz
        low-pass cut-off of the trajectories (4th-order zero-lag Butterworth).
    max_missing_fraction
        a required marker missing (after gap filling) in more of the frames than this is refused.
    max_pelvis_width_difference_m
        the static and moving trials' inter-ASIS distances must agree within this.
    forward_axis, up_axis
        lab directions (``"auto"`` detects them), see
        :func:`~medius.kinematics.angles3d.compute_lab_axes`.

    Returns
    -------
    (LabAngles, dict)
        the angles and joint centres, and what was done (gaps filled, calibration used, offsets).

    Raises
    ------
    InvalidInputError
        a marker the set names is not in a trial; a required marker missing too often; a
        static trial that does not match the moving one; a trial with no frames.
    """
    ms = marker_set if isinstance(marker_set, MarkerSet) else load_marker_set(marker_set)
    where = _where(moving)
    if moving.n_frames < 3:
        raise InvalidInputError(f"the trial has {moving.n_frames} frame(s) of marker data; need at least 3", path=where)
    # markers the model reads: the set's roles, plus the cluster markers of the static calibration
    needed = set(ms.markers.values()) | {x for v in ms.clusters.values() for x in v if not x.startswith("@")}
    resolved = ms.resolve(moving)  # one clear error for a required marker the trial lacks
    info: dict[str, Any] = {"marker_set": ms.name, "marker_set_source": ms.source}

    filled = fill_gaps(moving, max_gap_s=max_gap_s)
    t = filled.time_s
    missing_report = {}
    for role in REQUIRED_ROLES:
        label = resolved.label(role)
        if label is None:
            continue
        miss = ~np.isfinite(filled.xyz(label)).all(axis=1)
        frac = float(miss.mean())
        if frac > 0:
            dur, start = _longest_gap(miss, t)
            missing_report[label] = {"fraction": round(frac, 4), "longest_gap_s": round(dur, 3), "at_s": round(start, 3)}
            if frac > max_missing_fraction:
                raise InvalidInputError(
                    f"marker {label!r} ({role}) is missing in {100 * frac:.0f}% of the frames after filling gaps "
                    f"up to {max_gap_s:g} s (longest gap {dur:.2f} s from {start:.2f} s); at most "
                    f"{100 * max_missing_fraction:.0f}% may be missing",
                    path=where,
                )
    info["missing_after_gap_fill"] = missing_report
    info["gap_fill"] = {"max_gap_s": max_gap_s, "method": "cubic"}
    keep = [x for x in filled.labels if x in needed]
    filtered = lowpass_filter_3d(filled.select(keep), cutoff_hz=min(cutoff_hz, 0.4 * filled.rate_hz))
    info["filter"] = {"cutoff_hz": min(cutoff_hz, 0.4 * filled.rate_hz), "order": 4, "type": "Butterworth, zero lag"}

    kwargs: dict[str, Any] = {}
    model_set = ms
    if static is not None:
        swhere = _where(static)
        try:
            ms.resolve(static)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"the static trial does not match the marker set of the moving trial: {exc.message}", path=swhere
            ) from None
        pw_s, pw_m = _pelvis_width(static, ms), _pelvis_width(filtered, ms)
        if np.isfinite(pw_s) and np.isfinite(pw_m) and abs(pw_s - pw_m) > max_pelvis_width_difference_m:
            raise InvalidInputError(
                f"the static and moving trials do not match: inter-ASIS distance {1000 * pw_s:.0f} mm in the static "
                f"trial, {1000 * pw_m:.0f} mm in the moving one (more than "
                f"{1000 * max_pelvis_width_difference_m:.0f} mm apart: another person or relabelled markers?)",
                path=swhere,
            )
        if ms.clusters:
            anat = {seg: list(v) for seg, v in ms.anatomical.items()}
            needs_hjc = any(x.startswith("@") for v in ms.clusters.values() for x in v)
            s_in = _with_hip_centres(static, ms) if needs_hjc else static
            m_in = _with_hip_centres(filtered, ms) if needs_hjc else filtered
            try:
                calibrated = calibrate_clusters(s_in, m_in, {k: list(v) for k, v in ms.clusters.items()}, anat)
            except InvalidInputError as exc:
                raise InvalidInputError(f"static calibration failed: {exc.message}", path=swhere) from None
            drop = [x for x in calibrated.labels if x.startswith("@")]
            filtered = calibrated.select([x for x in calibrated.labels if x not in drop])
            info["static_calibration"] = {
                "method": "cluster calibration (Söderkvist & Wedin 1993)",
                "clusters": {k: list(v) for k, v in ms.clusters.items()},
                "anatomical": anat,
                "log": calibrated.log[-1] if calibrated.log else None,
            }
        else:
            offsets = measure_joint_offsets(static, ms)
            knee = {s: offsets.get(f"{s}_knee") for s in ("left", "right")}
            ankle = {s: offsets.get(f"{s}_ankle") for s in ("left", "right")}
            if all(v is not None for v in knee.values()) and not filtered.has(str(ms.label("left_knee_medial"))):
                kwargs["knee_centre"] = "chord"
                kwargs["knee_offset_m"] = knee
            if all(v is not None for v in ankle.values()) and not filtered.has(str(ms.label("left_ankle_medial"))):
                kwargs["ankle_centre"] = "chord"
                kwargs["ankle_offset_m"] = ankle
            if not kwargs:
                raise InvalidInputError(
                    "the static trial gives nothing the model can use: the marker set has no static_calibration "
                    "clusters and the static trial has no medial knee/ankle markers mapped by the set",
                    path=swhere,
                )
            model_set = MarkerSet(
                ms.name,
                {k: v for k, v in ms.markers.items() if not k.endswith("_medial")},
                ms.description,
                ms.source,
            )
            info["static_calibration"] = {
                "method": "chord offsets measured on the static trial (half the lateral–medial marker distance)",
                "offsets_m": {k: round(v, 4) for k, v in offsets.items()},
            }
    if static is None:
        r = model_set.resolve(filtered)
        for side in ("left", "right"):
            if not r.has(f"{side}_knee_medial"):
                raise InvalidInputError(
                    f"the knee centres need the knee width: this trial has no medial {side} knee marker "
                    f"(marker set {ms.name!r}); give the static trial of the session (--static STATIC.c3d) with "
                    "a marker set that maps its medial knee and ankle markers (docs/lab-kinematics.md, "
                    "'Marker-set YAML' and 'Cluster calibration')",
                    path=where,
                )
    angles = compute_lab_angles(filtered, model_set, forward_axis=forward_axis, up_axis=up_axis, **kwargs)
    info["model"] = dict(angles.info)
    return angles, info
