"""Repetitions of a single-leg squat or step-down, and the stance leg of each.

The detector works on the vertical position of the mid-hip point (image y, down = deeper),
expressed as *depth*: descent below standing in % of the standing hip-to-ankle length. A rep is
one excursion of depth: it starts when depth leaves the standing level, reaches its deepest point
(``bottom``) and ends when depth returns to standing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.signal import find_peaks

__all__ = ["Rep", "SquatRepDetector", "detect_stance_side"]

Side = Literal["left", "right"]


@dataclass(frozen=True)
class Rep:
    """One repetition; frame numbers index the analysed samples, ``[start, end]`` inclusive."""

    rep: int
    side: Side | None
    status: Literal["complete", "partial"]
    start: int
    bottom: int
    end: int
    start_s: float
    bottom_s: float
    end_s: float
    depth_pct: float
    note: str = ""
    stance: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rep": self.rep,
            "side": self.side,
            "status": self.status,
            "start_frame": self.start,
            "bottom_frame": self.bottom,
            "end_frame": self.end,
            "start_s": round(self.start_s, 4),
            "bottom_s": round(self.bottom_s, 4),
            "end_s": round(self.end_s, 4),
            "note": self.note,
        }


def detect_stance_side(
    left_ankle_y: np.ndarray,
    right_ankle_y: np.ndarray,
    leg_length_px: float,
    *,
    min_ratio: float = 1.6,
    min_separation_pct: float = 4.0,
    lower_is_stance: bool | None = True,
    min_lower_fraction: float = 0.9,
) -> tuple[Side | None, dict[str, Any]]:
    """Which foot carries the body during one rep.

    Two pieces of evidence, either of which decides when the other does not contradict it:

    * **motion**: the stance foot stays planted, so its ankle moves far less vertically than the
      free foot (``min_ratio``), which travels with the pelvis (single-leg squat) or reaches
      towards the floor (step-down);
    * **height**: the feet are apart in height by at least ``min_separation_pct`` % of the leg
      length for most of the rep, and one of them is the lower (single-leg squat: the stance foot
      is on the floor, the free one lifted; ``lower_is_stance=True``) or the higher (step-down: the
      stance foot is on the step, ``lower_is_stance=False``) in at least ``min_lower_fraction`` of
      the frames. A lifted free leg held still relative to the pelvis can move as little as the
      stance foot in the picture, which the motion alone would call "both feet on the ground".

    The rep counts as single-leg only if the feet differ in height by at least
    ``min_separation_pct`` % of the leg length at some point of the rep (one foot off the ground).

    Returns
    -------
    side, evidence
        ``side`` is ``None`` when the rep does not look single-legged, the ankles are not seen,
        or the two pieces of evidence disagree.
    """
    lr = _range(left_ankle_y)
    rr = _range(right_ankle_y)
    sep = np.abs(left_ankle_y - right_ankle_y)
    sep_pct = float(np.nanmax(sep) / leg_length_px * 100) if np.isfinite(sep).any() else float("nan")
    ev: dict[str, Any] = {
        "left_ankle_range_pct": round(lr / leg_length_px * 100, 2) if np.isfinite(lr) else None,
        "right_ankle_range_pct": round(rr / leg_length_px * 100, 2) if np.isfinite(rr) else None,
        "max_foot_height_difference_pct": round(sep_pct, 2) if np.isfinite(sep_pct) else None,
    }
    if not (np.isfinite(lr) and np.isfinite(rr)):
        ev["reason"] = "ankles not visible"
        return None, ev
    lo, hi = sorted((lr, rr))
    ratio = hi / max(lo, 1e-6 * leg_length_px, 1e-9)
    ev["ankle_motion_ratio"] = round(min(ratio, 1e6), 2)
    by_motion: Side | None = None
    if ratio >= min_ratio and sep_pct >= min_separation_pct:
        by_motion = "left" if lr < rr else "right"
    by_height: Side | None = None
    both = np.isfinite(left_ankle_y) & np.isfinite(right_ankle_y)
    if lower_is_stance is not None and both.sum() >= 3:
        apart = sep[both] / leg_length_px * 100 >= min_separation_pct
        left_lower = float(np.mean(left_ankle_y[both] > right_ankle_y[both]))  # image y grows downwards
        ev["frames_feet_apart_pct"] = round(100 * float(np.mean(apart)), 1)
        ev["frames_left_foot_lower_pct"] = round(100 * left_lower, 1)
        if np.mean(apart) >= 0.5:
            if left_lower >= min_lower_fraction:
                by_height = "left" if lower_is_stance else "right"
            elif left_lower <= 1 - min_lower_fraction:
                by_height = "right" if lower_is_stance else "left"
    if by_motion is not None and by_height is not None and by_motion != by_height:
        ev["reason"] = (f"the still foot ({by_motion}) is not the "
                        f"{'lower' if lower_is_stance else 'higher'} one ({by_height})")
        return None, ev
    side = by_motion or by_height
    if side is None:
        ev["reason"] = "both feet appear to stay on the ground"
        return None, ev
    ev["decided_by"] = "motion and height" if by_motion and by_height else ("motion" if by_motion else "height")
    return side, ev


def _range(y: np.ndarray) -> float:
    y = y[np.isfinite(y)]
    if y.size < 3:
        return float("nan")
    return float(np.percentile(y, 95) - np.percentile(y, 5))


class SquatRepDetector:
    """Find reps as excursions of hip depth.

    Parameters
    ----------
    min_depth_pct
        Smallest descent (prominence, % of leg length) that counts as a rep at all.
    start_fraction
        A rep is first located where depth crosses this fraction of its peak depth above the
        local standing level; its start (end) is then the last sample before (first after) that
        crossing where depth stops decreasing, i.e. where the movement begins (ends).
    min_rep_duration_s
        Excursions shorter than this are not reps (noise, a wobble).
    partial_fraction
        A rep whose depth is below this fraction of the median depth of the clip's reps is
        reported as partial (aborted or shallow).

    Attributes
    ----------
    reps_
        The detected reps (:class:`Rep`), in time order, ``side`` not yet set.
    depth_pct_
        The depth signal used.
    """

    def __init__(
        self,
        *,
        min_depth_pct: float = 4.0,
        start_fraction: float = 0.1,
        min_rep_duration_s: float = 0.6,
        partial_fraction: float = 0.5,
    ) -> None:
        self.min_depth_pct = min_depth_pct
        self.start_fraction = start_fraction
        self.min_rep_duration_s = min_rep_duration_s
        self.partial_fraction = partial_fraction

    def get_params(self) -> dict[str, Any]:
        return {
            "min_depth_pct": self.min_depth_pct,
            "start_fraction": self.start_fraction,
            "min_rep_duration_s": self.min_rep_duration_s,
            "partial_fraction": self.partial_fraction,
        }

    def detect(self, depth_pct: np.ndarray, time_s: np.ndarray) -> SquatRepDetector:
        """Detect reps in ``depth_pct`` (NaN allowed) sampled at ``time_s``; returns ``self``."""
        d = np.asarray(depth_pct, dtype=float)
        t = np.asarray(time_s, dtype=float)
        self.depth_pct_ = d
        self.reps_: list[Rep] = []
        finite = np.isfinite(d)
        if finite.sum() < 3:
            return self
        # fill short holes for peak finding only (reps are reported on real samples)
        idx = np.arange(d.size)
        dfill = np.interp(idx, idx[finite], d[finite])
        dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        # pad both ends with the lowest level so that a rep cut by the start or the end of the
        # recording still shows as a peak (reported partial below)
        floor = float(np.min(dfill))
        padded = np.concatenate([[floor], dfill, [floor]])
        peaks, props = find_peaks(
            padded,
            prominence=self.min_depth_pct,
            distance=max(1, int(0.5 * self.min_rep_duration_s / dt)),
        )
        base_levels = (padded[props["left_bases"]], padded[props["right_bases"]])
        peaks = np.clip(peaks - 1, 0, d.size - 1)
        props["left_bases"] = np.clip(props["left_bases"] - 1, 0, d.size - 1)
        props["right_bases"] = np.clip(props["right_bases"] - 1, 0, d.size - 1)
        candidates = []
        for k, p in enumerate(peaks):
            lb = int(props["left_bases"][k])
            rb = int(props["right_bases"][k])
            peak = dfill[p]
            # local standing levels on each side (the floor where the recording cuts the rep)
            left_level = float(base_levels[0][k])
            right_level = float(base_levels[1][k])
            lo_level = min(left_level, right_level)
            thr_l = left_level + self.start_fraction * (peak - left_level)
            thr_r = right_level + self.start_fraction * (peak - right_level)
            s = p
            while s > lb and dfill[s - 1] > thr_l:
                s -= 1
            e = p
            while e < rb and dfill[e + 1] > thr_r:
                e += 1
            # walk on from the threshold crossing to where the movement begins / ends: the last
            # sample of the standing level (depth stops decreasing)
            eps = 0.002 * (peak - lo_level)
            while s > lb and dfill[s - 1] < dfill[s] - eps:
                s -= 1
            while e < rb and dfill[e + 1] < dfill[e] - eps:
                e += 1
            start, end = s, e
            cut_start = start == 0 and dfill[0] > thr_l
            cut_end = end == d.size - 1 and dfill[-1] > thr_r
            if t[end] - t[start] < self.min_rep_duration_s and not (cut_start or cut_end):
                continue
            candidates.append((start, int(p), end, float(peak - lo_level), cut_start, cut_end))
        if not candidates:
            return self
        full = [c[3] for c in candidates if not (c[4] or c[5])]
        median_depth = float(np.median(full)) if full else float(np.median([c[3] for c in candidates]))
        for n, (s, p, e, depth, cut_s, cut_e) in enumerate(candidates, start=1):
            notes = []
            if cut_s:
                notes.append("recording starts during the rep")
            if cut_e:
                notes.append("recording ends during the rep")
            if depth < self.partial_fraction * median_depth:
                notes.append(
                    f"shallow: {depth:.1f}% of leg length vs median {median_depth:.1f}% (aborted or partial)"
                )
            self.reps_.append(
                Rep(
                    rep=n,
                    side=None,
                    status="partial" if notes else "complete",
                    start=s,
                    bottom=p,
                    end=e,
                    start_s=float(t[s]),
                    bottom_s=float(t[p]),
                    end_s=float(t[e]),
                    depth_pct=depth,
                    note="; ".join(notes),
                )
            )
        return self
