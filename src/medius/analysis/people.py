"""The tested person's keypoints, the movement, and the protocol that measures it.

For a video the pose model tracked one person per frame, checked here against the census of
everyone in view (:func:`medius.pose.select_tracked_person`); keypoint files may hold several
people per frame, linked into tracks and the largest, most central one kept
(:func:`medius.pose.select_person`). Without ``--task`` the movement is guessed
(:mod:`medius.analysis.task_guess`). Left/right labels are corrected for the way the person
faces, and the protocol runs: single-leg squat / step-down, or walking / running.
"""

from __future__ import annotations

from typing import Any

from medius.analysis.task_guess import TaskGuess, guess_task
from medius.analysis.video_pass import CENSUS_INTERVAL_S
from medius.errors import UsageError
from medius.io import Keypoints2D
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.pose import correct_left_right, select_person, select_tracked_person
from medius.protocols import (
    GAIT_TASKS,
    TASKS,
    GaitAnalysis,
    SingleLegAnalysis,
    analyze_gait_keypoints,
    analyze_single_leg,
)

__all__ = ["analyze_people"]


def analyze_people(
    people: MultiPersonKeypoints,
    *,
    census: MultiPersonKeypoints | None = None,
    task: str,
    side: str,
    camera: dict[str, float] | None,
    image_size_known: bool,
    view: str = "auto",
    facing_depth: dict[str, float] | None = None,
) -> tuple[SingleLegAnalysis | GaitAnalysis, Keypoints2D, dict[str, Any], dict[str, Any]]:
    """The protocol's analysis, the tested person's keypoints, the person selection and the
    left/right check (``task`` ``"auto"``: guessed, recorded in the selection as ``task_guessed``)."""
    if census is not None:
        # video: one tracked person per frame, checked against the census of everyone in view
        kp, sel = select_tracked_person(people, census, census_interval_s=CENSUS_INTERVAL_S)
    else:
        # keypoint files: several people per frame, choose and track here
        kp, sel = select_person(people)
    guessed: str | None = None
    if task == "auto":
        guess = guess_task(kp.position, kp.time_s, kp.keypoint_names)
        if guess.task is None and not guess.enough_data:
            # nothing to judge whatever the task: the single-leg analysis reports why (exit 5)
            guess = TaskGuess("single-leg-squat", f"not known ({guess.reason})")
        if guess.task is None:
            raise UsageError(
                f"cannot tell the movement from the recording ({guess.reason}); say it with --task "
                + " | ".join(TASKS)
            )
        task, guessed = guess.task, f"{guess.task}: {guess.reason}"
    if task in GAIT_TASKS:
        # walking and running are filmed from behind unless the evidence or the user says otherwise;
        # a view the user declared (--view) wins over the evidence
        kp, sides = correct_left_right(
            kp, expected_facing="camera" if view == "front" else "away", depth=facing_depth,
            declared={"front": "camera", "back": "away"}.get(view),  # type: ignore[arg-type]
        )
    else:
        kp, sides = correct_left_right(kp, expected_facing="camera", depth=facing_depth)
    # what the pose layer found, for the protocol's capture checks
    found: dict[str, Any] = {"facing": sides.facing, "selection": sel.as_dict(), "side_check": sides.as_dict(),
                             "camera": camera, "image_size_known": image_size_known}
    analysis: SingleLegAnalysis | GaitAnalysis
    if task in GAIT_TASKS:
        analysis = analyze_gait_keypoints(kp, task=task, view=view, **found)  # type: ignore[arg-type]
    else:
        analysis = analyze_single_leg(kp, task=task, side=side, **found)  # type: ignore[arg-type]
    return analysis, kp, _with_guess(sel.as_dict(), guessed), sides.as_dict()


def _with_guess(selection: dict[str, Any], guessed: str | None) -> dict[str, Any]:
    return {**selection, "task_guessed": guessed} if guessed else selection
