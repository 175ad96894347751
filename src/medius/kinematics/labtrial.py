"""A lab marker trial made ready for the model: gaps, filter, static calibration, then the angles.

:func:`prepare_lab_trial` is the one place where a moving trial (and optionally its static
calibration trial) become a :class:`~medius.kinematics.angles3d.LabAngles`:

1. the marker set is checked against the trial (:meth:`MarkerSet.resolve`: a marker it names that
   the trial lacks is one clear error), except, with a static trial, the roles whose markers the
   set's static calibration carries from the static trial (a cluster-only moving trial): those
   are checked after step 3;
2. short gaps are filled (cubic, ``max_gap_s``) and the trajectories low-pass filtered
   (Butterworth, zero lag); a required marker still missing in more than ``max_missing_fraction``
   of the frames is refused, naming the marker and its longest gap;
3. with a static trial: the static-calibration clusters of the marker set (``static_calibration``
   in its YAML) carry the static-only anatomical markers into the moving trial
   (:func:`~medius.kinematics.markersets.calibrate_clusters`, Söderkvist & Wedin 1993); the
   medial knee / ankle markers of the static trial give the chord offsets of the joints the
   moving trial has no medial marker for
   (:func:`~medius.kinematics.angles3d.measure_joint_offsets`); a static trial with nothing the
   model needs (the moving trial has its own medial markers) checks the lateral–medial distances
   and is recorded as not needed. A static trial that does not match the moving one (other marker
   labels, a pelvis width differing by more than ``max_pelvis_width_difference_m``) is refused;
4. joints still without a medial marker or a static offset: the chord with the subject's knee /
   ankle width, ``(width + marker diameter) / 2`` as Plug-in Gait (widths from the C3D's
   ``PROCESSING`` group, the marker set's ``subject_parameters`` or ``subject``);
5. :func:`~medius.kinematics.angles3d.compute_lab_angles` gives the ISB angles and joint centres.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from medius.errors import InvalidInputError
from medius.io.markers import Markers3D
from medius.kinematics.angles3d import (
    LabAngles,
    compute_hip_joint_centres,
    compute_joint_centre_chord,
    compute_lab_angles,
    compute_lab_axes,
    compute_pelvis_angles,
    compute_pelvis_frame,
    measure_joint_offsets,
)
from medius.kinematics.filtering3d import fill_gaps, lowpass_filter_3d
from medius.kinematics.markersets import (
    EVENT_ROLES,
    REQUIRED_ROLES,
    MarkerSet,
    calibrate_clusters,
    load_marker_set,
)

__all__ = [
    "PLUG_IN_GAIT_MARKER_DIAMETER_M",
    "drop_empty_markers",
    "event_markers",
    "prepare_lab_trial",
    "standing_pelvic_obliquity",
]

#: the marker diameter Plug-in Gait assumes when the subject's MarkerDiameter is not given (14 mm)
PLUG_IN_GAIT_MARKER_DIAMETER_M = 0.014


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


def _posterior_of(trial: Markers3D, ms: MarkerSet) -> np.ndarray:
    """Mid-PSIS (or the sacrum) of a trial, from the set's labels (no full resolve: a cluster-only
    moving trial lacks the anatomical markers until the static calibration adds them)."""

    def seen(role: str) -> bool:
        label = ms.label(role)
        return label is not None and trial.has(label) and bool(np.isfinite(trial.xyz(label)).all(axis=1).any())

    if seen("left_psis") and seen("right_psis"):
        return 0.5 * (ms.xyz(trial, "left_psis") + ms.xyz(trial, "right_psis"))
    return ms.xyz(trial, "sacrum")


def _lateral_excess(centre: np.ndarray, lateral: np.ndarray, pelvis_axes: np.ndarray, side: str) -> float:
    """Median of how far (m) a joint centre lies **lateral** of its lateral marker, in the pelvis
    frame (negative: medial, as it must be)."""
    z = pelvis_axes[..., :, 2]  # the pelvis Z (to the right) in lab coordinates
    d = np.einsum("ij,ij->i", centre - lateral, z)
    d = d if side == "right" else -d
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("nan")


def _check_thigh_wands(
    trial: Markers3D, ms: MarkerSet, knee_offsets: Mapping[str, float | None], where: Path | None
) -> tuple[MarkerSet, dict[str, Any], list[str]]:
    """The Plug-in Gait chord puts the knee centre on the side of the hip centre–KNE line away
    from the thigh marker, so that marker must lie **laterally** (the thigh wand). A thigh marker
    on the front or medial side of the thigh (kineticstoolkit's ``walk.c3d``: ``LTHI`` 15 mm above
    the knee, 73 mm medial of ``LKNE``; its wand is ``LTHI2``) puts the knee centre lateral of
    KNE, 111 mm from Vicon's, and the hip adduction 12° off. Such a marker is replaced by a
    trial marker whose label extends the set's (``LTHI2``) when that one lies laterally (with a
    warning), else refused."""
    checks: dict[str, Any] = {}
    warnings: list[str] = []
    hips = None
    for side in ("left", "right"):
        off, role = knee_offsets.get(side), f"{side}_thigh"
        if off is None or not ms.has(role) or ms.has(f"{side}_knee_medial"):
            continue
        if hips is None:
            post = _posterior_of(trial, ms)
            la, ra = ms.xyz(trial, "left_asis"), ms.xyz(trial, "right_asis")
            lh, rh, _ = compute_hip_joint_centres(la, ra, post)
            _, pax = compute_pelvis_frame(la, ra, post)
            hips = {"left": lh, "right": rh}
        lat = ms.xyz(trial, f"{side}_knee_lateral")
        label = ms.label(role)
        assert label is not None
        tried = []
        for cand in [label, *sorted(x for x in trial.labels if x != label and x.upper().startswith(label.upper()))]:
            c = compute_joint_centre_chord(hips[side], lat, trial.xyz(cand), off)
            ex = _lateral_excess(c, lat, pax, side)
            tried.append((cand, ex))
            if np.isfinite(ex) and ex < 0:
                break
        cand, ex = tried[-1]
        checks[side] = {c: round(1000 * e, 1) for c, e in tried if np.isfinite(e)}
        if not np.isfinite(tried[0][1]) or (cand == label and ex < 0):
            continue  # no frame to judge the wand by, or the set's wand is lateral
        if np.isfinite(ex) and ex < 0:
            ms = dataclasses.replace(ms, markers={**ms.markers, role: cand})
            warnings.append(
                f"The {side} thigh marker {label!r} (role {role}) is not a lateral thigh wand: with it the Plug-in Gait "
                f"chord puts the knee centre {1000 * tried[0][1]:.0f} mm lateral of {ms.label(f'{side}_knee_lateral')!r}; "
                f"{cand!r}, which lies laterally, was used instead (map {role} in a marker-set YAML to choose)."
            )
            checks[side]["used"] = cand
            continue
        raise InvalidInputError(
            f"the {side} thigh marker {label!r} (role {role}, marker set {ms.name!r}) is not a lateral thigh wand: "
            f"the Plug-in Gait chord would put the knee centre {1000 * tried[0][1]:.0f} mm lateral of the lateral knee "
            f"marker {ms.label(f'{side}_knee_lateral')!r}; map {role} to the lateral thigh marker in a marker-set YAML, "
            "or give the static trial with medial knee markers (--static)",
            path=where,
        )
    return ms, checks, warnings


def drop_empty_markers(trial: Markers3D) -> Markers3D:
    """The trial without its markers that are never present (an all-NaN column, such as knee and
    ankle markers worn only in the static trial, is an absent marker)."""
    seen = trial.present().any(axis=0)
    if bool(seen.all()):
        return trial
    return trial.select([x for x, ok in zip(trial.labels, seen, strict=True) if ok])


def event_markers(trial: Markers3D, marker_set: MarkerSet | str | Path = "plug-in-gait") -> Markers3D:
    """The foot and pelvis markers of a trial under the canonical names the gait-event detectors
    read (``left_heel``, ``left_toe``, ``left_ankle`` ... and ``sacrum``: the mid-PSIS, else the
    sacrum marker, else the mid-ASIS), taken through the marker set.

    Markers the trial lacks (or never sees) are left out; the detectors then say what they miss.
    """
    ms = marker_set if isinstance(marker_set, MarkerSet) else load_marker_set(marker_set)
    trial = drop_empty_markers(trial)

    def get(role: str) -> np.ndarray | None:
        label = ms.label(role)
        return trial.xyz(label) if label is not None and trial.has(label) else None

    out: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        for part, role in (("heel", "heel"), ("toe", "toe"), ("ankle", "ankle_lateral")):
            xyz = get(f"{side}_{role}")
            if xyz is not None:
                out[f"{side}_{part}"] = xyz
    lp, rp, sa, la, ra = (get(r) for r in ("left_psis", "right_psis", "sacrum", "left_asis", "right_asis"))
    if lp is not None and rp is not None:
        out["sacrum"] = 0.5 * (lp + rp)
    elif sa is not None:
        out["sacrum"] = sa
    elif la is not None and ra is not None:
        out["sacrum"] = 0.5 * (la + ra)
    labels = tuple(out)
    return dataclasses.replace(
        trial,
        position=np.stack([out[k] for k in labels], axis=1) if labels else np.empty((trial.n_frames, 0, 3)),
        labels=labels,
    )


def standing_pelvic_obliquity(static: Markers3D, ms: MarkerSet) -> dict[str, Any] | None:
    """The pelvic obliquity of the standing static trial (left side up positive, degrees; the
    median over its frames, in the static trial's own person-oriented lab frame), the baseline of
    ``pelvic_drop_vs_standing_deg``; None when the pelvis is never seen."""
    try:
        rs = ms.resolve(static, optional=EVENT_ROLES)
        axes = compute_lab_axes(static, rs)
    except InvalidInputError:
        return None
    la, ra = rs.xyz(static, "left_asis"), rs.xyz(static, "right_asis")
    _, pelvis = compute_pelvis_frame(la, ra, _posterior_of(static, rs))
    ob = compute_pelvis_angles(pelvis, axes)["pelvic_obliquity_deg_left"]
    ok = np.isfinite(ob)
    if not ok.any():
        return None
    return {
        "obliquity_deg_left": round(float(np.median(ob[ok])), 3),
        "sd_deg": round(float(np.std(ob[ok])), 3),
        "frames": int(ok.sum()),
        "definition": "median ISB pelvic obliquity (left side up positive) over the static trial's frames",
    }


def _with_hip_centres(trial: Markers3D, ms: MarkerSet) -> Markers3D:
    left, right, _ = compute_hip_joint_centres(
        ms.xyz(trial, "left_asis"), ms.xyz(trial, "right_asis"), _posterior_of(trial, ms)
    )
    return trial.with_markers({"@left_hip_centre": left, "@right_hip_centre": right})


def _pelvis_width(trial: Markers3D, ms: MarkerSet) -> float:
    d = np.linalg.norm(ms.xyz(trial, "left_asis") - ms.xyz(trial, "right_asis"), axis=-1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("nan")


def _check_missing(
    trial: Markers3D, ms: MarkerSet, roles: tuple[str, ...], max_gap_s: float, limit: float, where: Path | None,
    after: str = "",
) -> dict[str, Any]:
    """Refuse a required marker missing in more than ``limit`` of the frames; report the others."""
    t = trial.time_s
    report = {}
    for role in roles:
        label = ms.label(role)
        if label is None or not trial.has(label):
            continue
        miss = ~np.isfinite(trial.xyz(label)).all(axis=1)
        frac = float(miss.mean())
        if frac > 0:
            dur, start = _longest_gap(miss, t)
            report[label] = {"fraction": round(frac, 4), "longest_gap_s": round(dur, 3), "at_s": round(start, 3)}
            if frac > limit:
                raise InvalidInputError(
                    f"marker {label!r} ({role}) is missing in {100 * frac:.0f}% of the frames {after or 'after filling gaps'} "
                    f"up to {max_gap_s:g} s (longest gap {dur:.2f} s from {start:.2f} s); at most "
                    f"{100 * limit:.0f}% may be missing",
                    path=where,
                )
    return report


def _subject_offsets(
    subject: dict[str, float], diameter_default_m: float
) -> tuple[dict[str, dict[str, float | None]], dict[str, Any]]:
    """Chord offsets (width + marker diameter) / 2 of the knees and ankles from subject widths."""
    diameter = subject.get("marker_diameter_m")
    offsets: dict[str, dict[str, float | None]] = {"knee": {}, "ankle": {}}
    widths = {}
    for joint in ("knee", "ankle"):
        for side in ("left", "right"):
            w = subject.get(f"{side}_{joint}_width_m")
            widths[f"{side}_{joint}_width_m"] = w
            offsets[joint][side] = None if w is None else 0.5 * (w + (diameter or diameter_default_m))
    info = {
        "widths_m": {k: v for k, v in widths.items() if v is not None},
        "marker_diameter_m": diameter if diameter is not None else diameter_default_m,
        "marker_diameter_from": "subject parameters" if diameter is not None else "assumed (Plug-in Gait default)",
        "formula": "offset = (joint width + marker diameter) / 2 (Plug-in Gait chord)",
    }
    return offsets, info


def prepare_lab_trial(
    moving: Markers3D,
    *,
    marker_set: MarkerSet | str | Path = "plug-in-gait",
    static: Markers3D | None = None,
    max_gap_s: float = 0.1,
    cutoff_hz: float = 6.0,
    max_missing_fraction: float = 0.2,
    max_pelvis_width_difference_m: float = 0.02,
    max_width_difference_m: float = 0.01,
    forward_axis: str = "auto",
    up_axis: str = "auto",
    subject: Mapping[str, float] | None = None,
    partial: bool = False,
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
        a required marker missing (after gap filling, and after the static calibration for the
        markers it reconstructs) in more of the frames than this is refused.
    max_pelvis_width_difference_m
        the static and moving trials' inter-ASIS distances must agree within this.
    max_width_difference_m
        a moving trial that carries its own medial markers and a static trial that has them too:
        their lateral–medial distances (knee and ankle widths) differing by more than this gives
        a warning (markers moved between the trials?).
    forward_axis, up_axis
        lab directions (``"auto"`` detects them), see
        :func:`~medius.kinematics.angles3d.compute_lab_axes`.
    subject
        subject parameters in metres (:data:`medius.io.markers.SUBJECT_PARAMETERS`: knee and ankle
        widths, marker diameter); they override the marker set's ``subject_parameters``, which
        override the trial's own (a C3D's ``PROCESSING`` group, ``Markers3D.subject``).
    partial
        True (gait trials, measured stance by stance): a required marker missing in more than
        ``max_missing_fraction`` of the frames is not refused but reported
        (``info["partially_missing"]`` and a warning); the angles are NaN where it is missing and
        the stances there are not measurable. Refused only when it is never seen.

    Returns
    -------
    (LabAngles, dict)
        the angles and joint centres, and what was done (gaps filled, calibration used, offsets,
        ``warnings``).

    Notes
    -----
    The knee (ankle) centre of each side comes from, in this order: the medial marker of the
    moving trial (or one the static calibration reconstructed in it): the midpoint; else the
    chord (:func:`~medius.kinematics.angles3d.compute_joint_centre_chord`) with the offset
    measured on the static trial's medial markers (half the lateral–medial distance); else the
    chord with the offset from the subject's knee (ankle) width, ``(width + marker diameter)/2``
    as in Plug-in Gait, the marker diameter defaulting to Plug-in Gait's 14 mm (with a warning).
    A knee centre none of these gives is refused, naming the ways out; an ankle falls back to the
    lateral malleolus (used only by the frontal projection).

    Raises
    ------
    InvalidInputError
        a marker the set names is not in a trial; a required marker missing too often; a
        static trial that does not match the moving one; a knee centre that cannot be built;
        a trial with no frames.
    """
    ms = marker_set if isinstance(marker_set, MarkerSet) else load_marker_set(marker_set)
    where = _where(moving)
    moving = drop_empty_markers(moving)  # an all-NaN column is an absent marker
    if static is not None:
        static = drop_empty_markers(static)
    if moving.n_frames < 3:
        raise InvalidInputError(f"the trial has {moving.n_frames} frame(s) of marker data; need at least 3", path=where)
    info: dict[str, Any] = {"marker_set": ms.name, "marker_set_source": ms.source}
    warnings: list[str] = []
    # a static calibration with clusters may bring anatomical markers the moving trial does not carry
    # (a cluster-based set): those roles are checked after the calibration, not before
    calibrating = static is not None and bool(ms.clusters)
    carried = set(ms.static_only) if calibrating else set()
    deferred = tuple(r for r, lab in ms.markers.items() if lab in carried and not moving.has(lab))
    try:
        # one clear error for a required marker the trial lacks; heels and toes only for the events
        resolved = ms.resolve(moving, skip=deferred, optional=EVENT_ROLES)
    except InvalidInputError as exc:
        missing = [lab for lab in ms.static_only if not moving.has(lab)]
        if static is None and missing and any(f"{lab!r}" in exc.message for lab in missing):
            raise InvalidInputError(
                f"{exc.message}; marker set {ms.name!r} carries it from the static trial (static_calibration): "
                "give the static trial of the session (--static STATIC.c3d)",
                path=exc.path,
            ) from None
        raise
    # markers the model reads: the set's roles, plus the cluster markers of the static calibration
    needed = set(ms.markers.values()) | {x for v in ms.clusters.values() for x in v if not x.startswith("@")}
    # other thigh markers the wand check may fall back on (LTHI2 beside LTHI)
    for role in ("left_thigh", "right_thigh"):
        lab = ms.label(role)
        if lab is not None:
            needed |= {x for x in moving.labels if x.upper().startswith(lab.upper())}

    filled = fill_gaps(moving, max_gap_s=max_gap_s)
    info["missing_after_gap_fill"] = _check_missing(
        filled, resolved, tuple(r for r in REQUIRED_ROLES if r not in EVENT_ROLES), max_gap_s,
        1.0 if partial else max_missing_fraction, where,
    )
    partly = {k: v for k, v in info["missing_after_gap_fill"].items() if v["fraction"] > max_missing_fraction}
    if partly:
        info["partially_missing"] = partly
        warnings.append(
            "Markers missing in part of the trial (after filling gaps up to "
            f"{max_gap_s:g} s): " + ", ".join(f"{k} {100 * v['fraction']:.0f}% of the frames" for k, v in partly.items())
            + "; the stances where they are missing are not measurable."
        )
    info["gap_fill"] = {"max_gap_s": max_gap_s, "method": "cubic"}
    keep = [x for x in filled.labels if x in needed]
    filtered = lowpass_filter_3d(filled.select(keep), cutoff_hz=min(cutoff_hz, 0.4 * filled.rate_hz))
    info["filter"] = {"cutoff_hz": min(cutoff_hz, 0.4 * filled.rate_hz), "order": 4, "type": "Butterworth, zero lag"}

    static_offsets: dict[str, float] = {}
    calibration: dict[str, Any] | None = None
    if static is not None:
        swhere = _where(static)
        try:
            ms.resolve(static, optional=EVENT_ROLES)
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
        if calibrating:
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
            calibration = {
                "method": "cluster calibration (Söderkvist & Wedin 1993)",
                "clusters": {k: list(v) for k, v in ms.clusters.items()},
                "anatomical": anat,
                "roles_from_the_static_trial": list(deferred),
                "log": calibrated.log[-1] if calibrated.log else None,
            }
            # the required markers the calibration reconstructed: present often enough?
            info["missing_after_calibration"] = _check_missing(
                filtered, ms, tuple(r for r in REQUIRED_ROLES if r in deferred), max_gap_s, max_missing_fraction,
                where, after="after the static calibration (cluster markers missing), with gaps filled",
            )
        static_offsets = measure_joint_offsets(static, ms.resolve(static, optional=EVENT_ROLES))
        standing = standing_pelvic_obliquity(static, ms)
        if standing is not None:
            info["standing_pelvis"] = standing

    # the model's marker set against the (calibrated) moving trial: every required role now
    model_set = ms.resolve(filtered, optional=EVENT_ROLES)
    params = dict(moving.subject)
    params.update(ms.subject)
    params.update(subject or {})
    width_offsets, width_info = _subject_offsets(params, PLUG_IN_GAIT_MARKER_DIAMETER_M)
    centres: dict[str, dict[str, Any]] = {}
    offsets: dict[str, dict[str, float | None]] = {"knee": {}, "ankle": {}}
    for joint in ("knee", "ankle"):
        for side in ("left", "right"):
            key = f"{side}_{joint}"
            if model_set.has(f"{side}_{joint}_medial"):
                src = "medial marker (static calibration)" if model_set.label(f"{side}_{joint}_medial") in carried \
                    else "medial marker (moving trial)"
                offsets[joint][side] = None
            elif key in static_offsets:
                src, offsets[joint][side] = "chord, offset from the static trial's medial marker", static_offsets[key]
            elif width_offsets[joint][side] is not None:
                src, offsets[joint][side] = f"chord, offset from the {joint} width", width_offsets[joint][side]
            else:
                src, offsets[joint][side] = "none", None
            off = offsets[joint][side]
            centres[key] = {"from": src, "offset_m": None if off is None else round(off, 5)}
    for side in ("left", "right"):
        if centres[f"{side}_knee"]["from"] == "none" or (
            centres[f"{side}_knee"]["from"].startswith("chord") and not model_set.has(f"{side}_thigh")
        ):
            wand = "" if model_set.has(f"{side}_thigh") or centres[f"{side}_knee"]["from"] == "none" else (
                f" (the chord also needs the {side} thigh marker, role {side}_thigh)"
            )
            raise InvalidInputError(
                f"the knee centres need the knee width: this trial has no medial {side} knee marker "
                f"(marker set {ms.name!r}){wand}; give the static trial of the session (--static STATIC.c3d) with "
                "medial knee and ankle markers mapped by the marker set, or the knee widths "
                "(subject_parameters in a marker-set YAML, or the C3D's PROCESSING LKneeWidth/RKneeWidth) "
                "(docs/lab-kinematics.md, 'Knee and ankle widths', 'Marker-set YAML', 'Cluster calibration')",
                path=where,
            )
    used_widths = any(c["from"].startswith("chord, offset from the") and "width" in c["from"] for c in centres.values())
    if used_widths:
        info["subject_widths"] = width_info
        if width_info["marker_diameter_from"].startswith("assumed"):
            warnings.append(
                f"Knee/ankle centres from the joint widths with an assumed marker diameter of "
                f"{1000 * PLUG_IN_GAIT_MARKER_DIAMETER_M:g} mm (Plug-in Gait's default): give marker_diameter_mm "
                "in the marker set's subject_parameters if the markers differ."
            )
    if static is not None:
        if calibration is None:
            calibration = {
                "method": "chord offsets measured on the static trial (half the lateral–medial marker distance)",
                "offsets_m": {k: round(v, 4) for k, v in static_offsets.items()},
            }
        used = [k for k, c in centres.items() if "static" in c["from"]]
        calibration["used_for"] = used
        if not used and static_offsets:
            # the moving trial carries its own medial markers: the static trial checks them
            moving_offsets = measure_joint_offsets(filtered, model_set)
            check = {
                k: round(1000 * 2 * (moving_offsets[k] - v), 1) for k, v in static_offsets.items() if k in moving_offsets
            }
            calibration["method"] = (
                "not needed: the moving trial has its own medial knee and ankle markers; the static trial's "
                "lateral–medial marker distances are compared with the moving trial's"
            )
            calibration["width_difference_mm"] = check
            big = {k: v for k, v in check.items() if abs(v) > 1000 * max_width_difference_m}
            if big:
                warnings.append(
                    "Static and moving trials: the lateral–medial marker distance differs by "
                    + ", ".join(f"{v:+.0f} mm ({k.replace('_', ' ')})" for k, v in big.items())
                    + f" (more than {1000 * max_width_difference_m:g} mm): were the medial markers moved?"
                )
        elif not used:
            calibration["method"] = (
                "not used: the static trial has no medial knee/ankle markers mapped by the marker set, and the set "
                "has no static_calibration clusters"
            )
            warnings.append(
                "The static trial was not used: it has no medial knee/ankle markers mapped by the marker set and the "
                "set has no static_calibration clusters (docs/lab-kinematics.md, 'Cluster calibration')."
            )
        info["static_calibration"] = calibration
    chord_knees = {s: o for s, o in offsets["knee"].items() if centres[f"{s}_knee"]["from"].startswith("chord")}
    model_set, wand_checks, wand_warnings = _check_thigh_wands(filtered, model_set, chord_knees, where)
    if wand_checks:
        info["thigh_wand_check_mm"] = wand_checks
    warnings.extend(wand_warnings)
    kwargs: dict[str, Any] = {"knee_offset_m": offsets["knee"], "ankle_offset_m": offsets["ankle"]}
    # Plug-in Gait's InterAsisDistance (a calliper measure on the body) is the pelvic width of its hip
    # centre when given; the ASIS markers may sit far from the bone (walk.c3d: 275 mm apart for a
    # 227 mm pelvis), which moves the Harrington centres 16 mm laterally and the adduction by 2.3 deg
    pw_subject = params.get("inter_asis_distance_m")
    if pw_subject is not None and 0.05 <= pw_subject <= 0.6:
        kwargs["pelvic_width_m"] = float(pw_subject)
        pw_markers = _pelvis_width(filtered, model_set)
        info["pelvic_width"] = {"from": "subject's InterAsisDistance", "subject_m": round(float(pw_subject), 4),
                                "asis_markers_m": round(pw_markers, 4)}
        if np.isfinite(pw_markers) and abs(pw_markers - pw_subject) > 0.02:
            warnings.append(
                f"The subject's inter-ASIS distance ({1000 * pw_subject:.0f} mm) differs from the ASIS markers' "
                f"({1000 * pw_markers:.0f} mm) by more than 20 mm: the hip centres use the subject's (as Plug-in Gait)."
            )
    angles = compute_lab_angles(filtered, model_set, forward_axis=forward_axis, up_axis=up_axis, **kwargs)
    info["joint_centres"] = centres
    info["model"] = dict(angles.info)
    info["warnings"] = warnings
    return angles, info
