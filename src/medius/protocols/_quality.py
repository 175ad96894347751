"""Capture-quality checks: can this recording be judged at all, and how far can it be trusted?

Each check returns a :class:`Check` with the measured value, the threshold and a plain message.
``fatal`` checks that fail make the clip *not judgeable*: medius then gives no numbers, only the
reasons and what to film instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from medius.io import Keypoints2D

__all__ = ["Check", "QUALITY_THRESHOLDS", "check_capture", "classify_view"]

#: Thresholds of the capture checks (engineering limits, not clinical numbers; documented in
#: docs/quality.md).
QUALITY_THRESHOLDS: dict[str, float] = {
    "min_coverage": 0.5,  # fraction of frames with the tested person detected
    "frontal_min_ratio": 0.45,  # shoulder width / torso length at or above: frontal (or back) view
    "side_max_ratio": 0.25,  # below: side view
    "in_frame_min_fraction": 0.9,  # frames with hips, knees, ankles inside the picture
    "in_frame_margin_fraction": 0.005,  # of the image size
    "min_lower_limb_confidence": 0.5,  # median visibility of hips, knees, ankles
    "min_fps": 15.0,  # below: not judgeable
    "warn_fps": 24.0,  # below: warning
    "max_swap_fraction": 0.3,  # frames needing left/right correction, above: warning
    "max_camera_shift_pct": 2.0,  # 75th percentile background shift, % of image diagonal
    "min_duration_s": 1.0,
    "max_camera_turn_deg": 15.0,  # the camera's turn around the person, estimated (CAMERA_TURN_CALIBRATION)
}

#: ``view -> (offset, gain)``: BlazePose's 3D turn of the hip and shoulder lines reads
#: ``offset + gain * camera turn`` (degrees). Fitted on the validation grid (analysis code
#: 7ee3b9043c39; `scripts/fit_camera_turn.py`): from the front 25 scenarios (camera turned −30 to
#: +20°), residual SD 1.2°; from behind 11 (−20 to +25°), residual SD 3.2°: seen from behind the
#: model reads a square-on person as turned about −13°, and a turn about 1.7 times its size.
#: Refitted without each scenario in turn, every scenario turned ±10° or less stays within
#: 15° and every one turned 20° or more goes beyond it (docs/validation.md, "Camera turned").
CAMERA_TURN_CALIBRATION: dict[str, tuple[float, float]] = {"front": (3.1, -0.94), "back": (-12.6, 1.73)}


def estimate_camera_turn(model_trunk_yaw_deg: float, view: str,
                         calibration: tuple[float, float] | None = None) -> float:
    """The camera's turn around the person (degrees, 0 = square-on) from the pose model's 3D turn
    of the hip and shoulder lines, calibrated for the view (``"back"``, or any other: the front);
    ``calibration``: another ``(offset, gain)`` (scripts/fit_camera_turn.py judges its refits)."""
    offset, gain = calibration or CAMERA_TURN_CALIBRATION["back" if view == "back" else "front"]
    return (model_trunk_yaw_deg - offset) / gain

_LOWER = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


@dataclass(frozen=True)
class Check:
    id: str
    label: str
    passed: bool | None  # None = could not be checked
    value: float | str | None
    threshold: float | str | None
    unit: str
    message: str
    fatal: bool = False
    advice: str = ""
    #: shown as a warning when the check passes but the capture is still less than ideal
    warning: str = ""
    #: the readings the value was derived from, written to result.json as they are
    evidence: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        v = self.value
        if isinstance(v, float):
            v = round(v, 3) if np.isfinite(v) else None
        out: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "passed": self.passed,
            "value": v,
            "threshold": self.threshold,
            "unit": self.unit,
            "message": self.message,
            "fatal": self.fatal and self.passed is False,
        }
        if self.evidence is not None:
            out["evidence"] = dict(self.evidence)
        return out


def classify_view(kp: Keypoints2D, facing: str = "unknown") -> tuple[str, float]:
    """``("frontal"|"back"|"oblique"|"side"|"unknown", ratio)`` from shoulder width / torso length."""
    ls, rs = kp.xy("left_shoulder"), kp.xy("right_shoulder")
    lh, rh = kp.xy("left_hip"), kp.xy("right_hip")
    width = np.abs(ls[:, 0] - rs[:, 0])
    torso = np.linalg.norm((ls + rs) / 2 - (lh + rh) / 2, axis=1)
    ok = np.isfinite(width) & np.isfinite(torso) & (torso > 1)
    if ok.sum() < 3:
        return "unknown", float("nan")
    ratio = float(np.median(width[ok] / torso[ok]))
    t = QUALITY_THRESHOLDS
    if ratio < t["side_max_ratio"]:
        return "side", ratio
    if ratio < t["frontal_min_ratio"]:
        return "oblique", ratio
    return ("back" if facing == "away" else "frontal"), ratio


def check_capture(
    kp: Keypoints2D,
    *,
    facing: str,
    selection: dict[str, Any] | None,
    side_check: dict[str, Any] | None,
    camera: dict[str, float] | None,
    image_size_known: bool = True,
) -> tuple[list[Check], str]:
    """Run every capture check on the selected person's (side-corrected, unfiltered) keypoints.

    Returns the checks and the view class.
    """
    t = QUALITY_THRESHOLDS
    checks: list[Check] = []
    n = kp.n_frames
    present = np.isfinite(kp.position[:, [kp.index(k) for k in _LOWER], 0]).any(1)
    coverage = float(present.mean()) if n else 0.0
    checks.append(
        Check(
            "person_detected",
            "Person detected",
            coverage >= t["min_coverage"] and n > 0,
            coverage,
            t["min_coverage"],
            "fraction of frames",
            f"the tested person was found in {coverage:.0%} of the frames",
            fatal=True,
            advice="Make sure the whole person is visible and well lit, facing the camera.",
        )
    )
    if coverage == 0:
        return checks, "unknown"

    if selection is not None:
        ambiguous = bool(selection.get("ambiguous"))
        several = float(selection.get("several_people_fraction", 0.0))
        agreement = selection.get("tracking_agreement")
        lost = agreement is not None and float(agreement) < 0.7
        msg = (
            "several people are in view and the pose model followed another person than the "
            f"largest, most central one (in {1 - float(agreement or 0.0):.0%} of the checked frames); "
            "cannot tell who is being tested"
            if lost
            else "several people of similar size are in view; cannot tell who is being tested"
            if ambiguous
            else (
                f"other people are in view in {several:.0%} of the frames; "
                "the largest, most central person was analysed"
                if several > 0.05
                else "one person in view"
            )
        )
        checks.append(
            Check(
                "single_person",
                "One person tested",
                not ambiguous,
                several,
                "unambiguous",
                "fraction of frames with others",
                msg,
                fatal=True,
                advice="Film the tested person alone, or with others well out of the picture.",
                warning=msg if several > 0.05 else "",
            )
        )

    duration = kp.duration_s
    checks.append(
        Check(
            "duration",
            "Recording length",
            duration >= t["min_duration_s"],
            duration,
            t["min_duration_s"],
            "s",
            f"{duration:.1f} s of recording",
            fatal=True,
            advice="Record the whole set: five reps on each leg.",
        )
    )

    fps = kp.fps
    fps_ok = bool(np.isfinite(fps) and fps >= t["min_fps"])
    checks.append(
        Check(
            "frame_rate",
            "Frame rate",
            fps_ok,
            fps,
            t["min_fps"],
            "Hz",
            f"median frame rate {fps:.1f} Hz"
            + ("" if fps_ok else f", below the {t['min_fps']:.0f} Hz needed to follow the movement")
            + (" (low; 30 Hz or more is better)" if fps_ok and fps < t["warn_fps"] else ""),
            fatal=True,
            advice="Film at 30 frames per second or more.",
            warning=f"Frame rate: median frame rate {fps:.1f} Hz (low; 30 Hz or more is better)"
            if fps_ok and fps < t["warn_fps"]
            else "",
        )
    )

    view, ratio = classify_view(kp, facing)
    checks.append(
        Check(
            "frontal_view",
            "Frontal view",
            None if view == "unknown" else view in ("frontal", "back", "oblique"),
            ratio,
            t["side_max_ratio"],
            "shoulder width / torso length",
            {
                "frontal": "the person faces the camera",
                "back": "the person has their back to the camera (frontal-plane angles are still valid)",
                "oblique": "the camera is at an angle to the person: frontal-plane angles are distorted",
                "side": "this is a side view: frontal-plane angles cannot be measured",
                "unknown": "shoulders or hips not visible: the view cannot be judged",
            }[view],
            fatal=True,
            advice="Place the phone in front of the person, at hip height, square to them.",
            warning="The camera is at an angle to the person: frontal-plane angles are distorted."
            if view == "oblique"
            else "",
        )
    )

    w, h = kp.image_size
    if not image_size_known:
        checks.append(
            Check("body_in_frame", "Whole body in frame", None, None, t["in_frame_min_fraction"],
                  "fraction of frames", "not checked (the keypoint file gives no image size; pass --image-size)")
        )
    idx = [kp.index(k) for k in _LOWER + ("left_shoulder", "right_shoulder")]
    pts = kp.position[:, idx]
    mx, my = w * t["in_frame_margin_fraction"], h * t["in_frame_margin_fraction"]
    inside = (
        (pts[..., 0] >= mx) & (pts[..., 0] <= w - mx) & (pts[..., 1] >= my) & (pts[..., 1] <= h - my)
    ).all(1)
    frac_in = float(inside[present].mean()) if present.any() else 0.0
    if image_size_known:
        checks.append(
            Check(
                "body_in_frame",
                "Whole body in frame",
                frac_in >= t["in_frame_min_fraction"],
                frac_in,
                t["in_frame_min_fraction"],
                "fraction of frames",
                f"shoulders, hips, knees and ankles inside the picture in {frac_in:.0%} of the frames",
                fatal=True,
                advice="Step back or zoom out so the whole body, feet included, stays in the picture.",
            )
        )

    lower = [kp.index(k) for k in _LOWER]
    conf = kp.confidence[:, lower][present]
    located = np.isfinite(kp.position[:, lower][present]).all(axis=-1)
    # a point that is not there at all (a keypoint file without the knees) counts as confidence 0,
    # and a hip, knee or ankle missing in most of the frames is named
    conf = np.where(located & np.isfinite(conf), conf, 0.0)
    med = float(np.median(conf)) if conf.size else 0.0
    missing = (1.0 - located.mean(axis=0)) if located.size else np.ones(len(lower))
    absent = [name.replace("_", " ") for name, f in zip(_LOWER, missing, strict=True) if f > 0.5]
    checks.append(
        Check(
            "keypoint_confidence",
            "Keypoint confidence",
            med >= t["min_lower_limb_confidence"] and not absent,
            med,
            t["min_lower_limb_confidence"],
            "median visibility",
            f"median confidence of hips, knees and ankles {med:.2f}"
            + (f"; missing in most frames: {', '.join(absent)}" if absent else ""),
            fatal=True,
            advice="Film in good light, with clothes that show the knees (shorts), against a plain background.",
        )
    )

    if side_check is not None:
        sf = float(side_check.get("swap_fraction", 0.0))
        checks.append(
            Check(
                "left_right_labels",
                "Left/right labels",
                side_check.get("facing") != "unknown" and sf <= t["max_swap_fraction"],
                sf,
                t["max_swap_fraction"],
                "fraction of frames corrected",
                (
                    "cannot tell which way the person faces"
                    if side_check.get("facing") == "unknown"
                    else f"left/right labels corrected in {sf:.0%} of the frames "
                    f"({side_check.get('whole_body_swaps', 0)} whole-body, {side_check.get('leg_swaps', 0)} leg swaps)"
                ),
                fatal=side_check.get("facing") == "unknown",
                advice="Face the camera squarely, with the face visible.",
            )
        )

    if camera:
        shift = float(camera.get("shift_p75_pct_diagonal", float("nan")))
        checks.append(
            Check(
                "camera_steady",
                "Camera steady",
                bool(shift <= t["max_camera_shift_pct"]),
                shift,
                t["max_camera_shift_pct"],
                "% of image diagonal (75th percentile)",
                f"the background moved by {shift:.1f}% of the picture diagonal or less in 75% of the frames",
                fatal=False,
                advice="Put the phone on a tripod or lean it against something stable.",
            )
        )
    else:
        checks.append(
            Check(
                "camera_steady",
                "Camera steady",
                None,
                None,
                t["max_camera_shift_pct"],
                "% of image diagonal",
                "not checked (no video frames)",
            )
        )
    raw_yaw = float((camera or {}).get("trunk_yaw_deg", float("nan")))
    if np.isfinite(raw_yaw):
        turn = estimate_camera_turn(raw_yaw, view)
        square = abs(turn) <= t["max_camera_turn_deg"]
        checks.append(
            Check(
                "camera_square_on",
                "Camera square-on",
                bool(square),
                round(turn, 1),
                t["max_camera_turn_deg"],
                "degrees (the camera's turn around the person, from the pose model's 3D hips and shoulders)",
                # no number in the text: it is a reason, and a recording and its mirror image must
                # give the same reasons (the estimate is the check's value)
                ("the camera is square-on to the hips and shoulders" if square else
                 f"the camera is turned more than {t['max_camera_turn_deg']:g}° around the person (the estimate, from "
                 "the pose model's 3D hips and shoulders, is in the check's value): frontal-plane angles are distorted"),
                fatal=True,
                advice="Place the phone straight in front of (or behind) the person, square to the hips, "
                "not off to one side.",
                evidence={"model_trunk_yaw_deg": round(raw_yaw, 2)},
            )
        )
    return checks, view


def run_capture_checks(
    kp: Keypoints2D,
    *,
    facing: str,
    selection: dict[str, Any] | None,
    side_check: dict[str, Any] | None,
    camera: dict[str, float] | None,
    image_size_known: bool,
) -> tuple[list[Check], str, list[str], bool]:
    """Run :func:`check_capture` and sort what it found.

    Returns
    -------
    (checks, view, warnings, fatal)
        the checks, the view, the warnings to show (failed non-fatal checks first, then the
        warnings of passed checks) and whether a fatal check failed.
    """
    checks, view = check_capture(
        kp, facing=facing, selection=selection, side_check=side_check, camera=camera,
        image_size_known=image_size_known,
    )
    warnings = [f"{c.label}: {c.message}" for c in checks if c.passed is False and not c.fatal]
    fatal = any(c.fatal and c.passed is False for c in checks)
    if not fatal:
        warnings += [c.warning for c in checks if c.warning and c.passed]
    return checks, view, warnings, fatal


def failure_reasons(checks: list[Check], how_to_film: str, extra: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Why a capture cannot be judged (failed fatal checks, then ``extra``) and what to do instead."""
    failed = [c for c in checks if c.fatal and c.passed is False]
    reasons = [f"{c.label}: {c.message}" for c in failed] + list(extra or [])
    advice: list[str] = []
    for c in failed:
        if c.advice and c.advice not in advice:
            advice.append(c.advice)
    advice.append(how_to_film)
    return reasons, advice
