"""Which movement a recording shows, when ``medius analyze`` is not told (``--task``).

Single-leg squats keep one foot off the floor for several seconds at a time; walking and running
swap the higher foot at every step. The guess follows the sign of the vertical distance between
the two ankles (image y, in leg lengths): how often it changes sign (with a dead band, so noise
does not count) and how much of the time one foot is clearly higher. Steps faster than 2.35 a
second (141 a minute) are running. A recording that fits neither pattern is not guessed: the
caller asks for ``--task``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TaskGuess", "guess_task"]

#: the higher foot swaps sign at least this often (per second) in walking and running
GAIT_SWAPS_PER_S = 0.9
#: and at most this often in a set of single-leg squats
SINGLE_LEG_SWAPS_PER_S = 0.35
#: steps per second above which gait is running (141 steps/min)
RUN_STEPS_PER_S = 2.35
#: dead band of the ankle height difference, in leg lengths
DEAD_BAND = 0.03
#: one foot is "clearly higher" by this much (leg lengths), for single-leg stance
LIFTED = 0.08


@dataclass(frozen=True)
class TaskGuess:
    """The guessed task (None: cannot tell) and why, in words."""

    task: str | None
    reason: str
    #: False when the keypoints are too few to tell anything (no person, legs out of view)
    enough_data: bool = True


def _column(names: tuple[str, ...], name: str) -> int | None:
    return names.index(name) if name in names else None


def guess_task(position: np.ndarray, time_s: np.ndarray, keypoint_names: tuple[str, ...]) -> TaskGuess:
    """Guess ``"single-leg-squat"``, ``"walk"`` or ``"run"`` from one person's keypoints
    (``position``: frames x keypoints x 2, image pixels, y down)."""
    idx = {n: _column(keypoint_names, n) for n in ("left_ankle", "right_ankle", "left_hip", "right_hip")}
    if any(v is None for v in idx.values()) or len(time_s) < 10:
        return TaskGuess(None, "too few frames or no ankles and hips in the keypoints", False)
    la, ra = position[:, idx["left_ankle"], 1], position[:, idx["right_ankle"], 1]
    hips = 0.5 * (position[:, idx["left_hip"], 1] + position[:, idx["right_hip"], 1])
    ok = np.isfinite(la) & np.isfinite(ra) & np.isfinite(hips)
    if ok.sum() < 10:
        return TaskGuess(None, "the legs are not visible in enough frames", False)
    leg = float(np.median(0.5 * (la[ok] + ra[ok]) - hips[ok]))
    if leg <= 0:
        return TaskGuess(None, "the legs are not visible in enough frames", False)
    d = (ra[ok] - la[ok]) / leg  # > 0: the left foot is higher (smaller y)
    t = time_s[ok]
    duration = float(t[-1] - t[0])
    if duration < 1.0:
        return TaskGuess(None, "the recording is shorter than 1 s", False)
    swaps = 0
    state = 0
    for v in d:
        s = 1 if v > DEAD_BAND else (-1 if v < -DEAD_BAND else 0)
        if s and state and s != state:
            swaps += 1
        if s:
            state = s
    rate = swaps / duration
    lifted = float(np.mean(np.abs(d) > LIFTED))
    if rate >= GAIT_SWAPS_PER_S:
        task = "run" if rate >= RUN_STEPS_PER_S else "walk"
        return TaskGuess(task, f"the higher foot changed {rate:.1f} times a second ({rate * 60:.0f} steps a minute)")
    if rate <= SINGLE_LEG_SWAPS_PER_S and lifted >= 0.5:
        return TaskGuess(
            "single-leg-squat",
            f"one foot stayed off the floor {lifted:.0%} of the time, changing legs {swaps} time(s)",
        )
    return TaskGuess(None, f"neither steps nor single-leg reps ({rate:.1f} foot changes a second, one foot up "
                     f"{lifted:.0%} of the time)")
