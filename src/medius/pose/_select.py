"""Choosing the tested person among everyone detected, and keeping them across frames.

The tested person is the one who *stays largest and most central*: detections are linked into
tracks frame to frame (nearest bounding-box centre, relative to body height), each track scores
the sum over its frames of ``height / image height × centrality``, and the best-scoring track is
kept. Another person who is present in many frames and scores close to the chosen one makes the
choice ambiguous: the caller then refuses to judge the clip rather than risk measuring the wrong
person.

Pose models sometimes report the same person twice in one frame (BlazePose in multi-person mode
does, when its detector re-finds someone it is already tracking). Such a duplicate would start a
second track that then competes with the first for the person's later detections, splitting one
person into fragments. Detections whose bounding boxes lie mostly inside another one's in the same
frame are therefore merged first: the one with more confident points is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medius.io import Keypoints2D

__all__ = ["PersonSelection", "select_person", "select_tracked_person"]


@dataclass
class _Track:
    id: int
    frames: list[int] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    centres: list[np.ndarray] = field(default_factory=list)
    heights: list[float] = field(default_factory=list)
    score: float = 0.0
    last_time: float = 0.0


@dataclass(frozen=True)
class PersonSelection:
    """What the selection found; goes into ``result["quality"]``."""

    n_tracks: int
    chosen_track: int | None
    chosen_score: float
    runner_up_score: float
    people_in_view: int
    several_people_fraction: float
    ambiguous: bool
    coverage: float
    tracking_agreement: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tracking_agreement": None if self.tracking_agreement is None else round(self.tracking_agreement, 3),
            "n_tracks": self.n_tracks,
            "chosen_track": self.chosen_track,
            "chosen_score": round(self.chosen_score, 3),
            "runner_up_score": round(self.runner_up_score, 3),
            "people_in_view": self.people_in_view,
            "several_people_fraction": round(self.several_people_fraction, 3),
            "ambiguous": self.ambiguous,
            "coverage": round(self.coverage, 3),
        }


def _boxes(pos: np.ndarray, conf: np.ndarray, min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``(..., 2)`` and height ``(...)`` of the confident points of each detection."""
    ok = np.isfinite(pos).all(-1) & (np.nan_to_num(conf, nan=0.0) >= min_confidence)
    x = pos[..., 0]
    y = pos[..., 1]
    x0 = np.where(ok, x, np.inf).min(-1)
    x1 = np.where(ok, x, -np.inf).max(-1)
    y0 = np.where(ok, y, np.inf).min(-1)
    y1 = np.where(ok, y, -np.inf).max(-1)
    valid = ok.sum(-1) >= 4
    centre = np.full(pos.shape[:-2] + (2,), np.nan)
    height = np.full(pos.shape[:-2], np.nan)
    with np.errstate(invalid="ignore"):  # inf - inf where a detection has no confident point
        centre[valid] = np.stack([(x0 + x1) / 2, (y0 + y1) / 2], -1)[valid]
        height[valid] = np.maximum(y1 - y0, 1.0)[valid]
    return centre, height


def _duplicates(pos: np.ndarray, conf: np.ndarray, min_confidence: float, overlap: float) -> np.ndarray:
    """``(frame, slot)`` mask of detections that repeat a better detection of the same frame.

    Two detections are the same person when the intersection of their bounding boxes (of the
    confident points) covers at least ``overlap`` of the smaller box. Within a frame, detections
    are kept in order of more confident points, then higher mean confidence; a later one that
    overlaps a kept one that much is a duplicate.
    """
    ok = np.isfinite(pos).all(-1) & (np.nan_to_num(conf, nan=0.0) >= min_confidence)
    n_ok = ok.sum(-1)
    x = np.where(ok, pos[..., 0], np.nan)
    y = np.where(ok, pos[..., 1], np.nan)
    mean_conf = np.where(ok, np.nan_to_num(conf, nan=0.0), 0.0).sum(-1) / np.maximum(n_ok, 1)
    dup = np.zeros(pos.shape[:2], dtype=bool)
    for f in np.flatnonzero((n_ok >= 4).sum(-1) >= 2):
        slots = [s for s in range(pos.shape[1]) if n_ok[f, s] >= 4]
        slots.sort(key=lambda s: (-int(n_ok[f, s]), -float(mean_conf[f, s]), s))
        boxes = {
            s: (np.nanmin(x[f, s]), np.nanmax(x[f, s]), np.nanmin(y[f, s]), np.nanmax(y[f, s])) for s in slots
        }
        kept: list[int] = []
        for s in slots:
            x0, x1, y0, y1 = boxes[s]
            area = max(x1 - x0, 1.0) * max(y1 - y0, 1.0)
            for k in kept:
                kx0, kx1, ky0, ky1 = boxes[k]
                inter = max(0.0, min(x1, kx1) - max(x0, kx0)) * max(0.0, min(y1, ky1) - max(y0, ky0))
                other = max(kx1 - kx0, 1.0) * max(ky1 - ky0, 1.0)
                if inter >= overlap * min(area, other):
                    dup[f, s] = True
                    break
            else:
                kept.append(s)
    return dup


def select_person(
    people: Any,
    *,
    min_confidence: float = 0.3,
    max_link_distance: float = 0.6,
    max_gap_s: float = 1.0,
    ambiguity_ratio: float = 0.5,
    duplicate_overlap: float = 0.7,
) -> tuple[Keypoints2D, PersonSelection]:
    """Select the tested person from a :class:`~medius.io.keypoint_files.MultiPersonKeypoints`.

    Parameters
    ----------
    people
        Per-frame detections of possibly several people.
    min_confidence
        Points below this confidence do not count towards a person's bounding box.
    max_link_distance
        Largest jump of the box centre between linked detections, in units of body height.
    max_gap_s
        A track survives this long without a detection before it is closed.
    ambiguity_ratio
        Another track scoring at least this fraction of the chosen one, while overlapping it in
        time for at least a third of the chosen track's frames, makes the choice ambiguous.
    duplicate_overlap
        Two detections in one frame whose bounding boxes overlap by at least this fraction of the
        smaller box are the same person reported twice; only the one with more confident points
        is used.

    Returns
    -------
    keypoints, selection
        The chosen person's keypoints on every frame (NaN where they were not detected) and a
        summary of the choice.
    """
    pos = np.asarray(people.position, dtype=float)
    conf = np.asarray(people.confidence, dtype=float)
    t = np.asarray(people.time_s, dtype=float)
    n_frames, n_slots = pos.shape[:2]
    duplicate = _duplicates(pos, conf, min_confidence, duplicate_overlap)
    centre, height = _boxes(pos, conf, min_confidence)
    centre[duplicate] = np.nan
    height[duplicate] = np.nan
    if people.image_size is not None:
        width, img_h = people.image_size
    else:
        # keypoint files without an image size: a frame that holds every point with a margin
        finite = pos[np.isfinite(pos).all(-1)]
        if finite.size:
            lo, hi = finite.min(0), finite.max(0)
            margin = 0.1 * (hi - lo)
            width, img_h = (int(np.ceil(v)) for v in np.maximum(hi + margin + np.maximum(lo, 0), 1))
        else:
            width, img_h = 1, 1
    tracks: list[_Track] = []
    active: list[_Track] = []
    for f in range(n_frames):
        dets = [s for s in range(n_slots) if np.isfinite(height[f, s])]
        active = [tr for tr in active if t[f] - tr.last_time <= max_gap_s]
        pairs = []
        for tr in active:
            for s in dets:
                d = np.linalg.norm(centre[f, s] - tr.centres[-1]) / max(tr.heights[-1], 1.0)
                if d <= max_link_distance:
                    pairs.append((d, tr.id, s))
        pairs.sort()
        used_tracks: set[int] = set()
        used_slots: set[int] = set()
        by_id = {tr.id: tr for tr in active}
        for _, tid, s in pairs:
            if tid in used_tracks or s in used_slots:
                continue
            used_tracks.add(tid)
            used_slots.add(s)
            _extend(by_id[tid], f, s, centre[f, s], height[f, s], t[f], width, img_h)
        for s in dets:
            if s not in used_slots:
                tr = _Track(id=len(tracks))
                _extend(tr, f, s, centre[f, s], height[f, s], t[f], width, img_h)
                tracks.append(tr)
                active.append(tr)

    counts = np.isfinite(height).sum(1)
    out = Keypoints2D.empty_like_names(
        n_frames,
        people.keypoint_names,
        time_s=t,
        image_size=(int(width), int(img_h)),
        frame_index=people.frame_index,
        source=people.source,
        log=people.log,
    )
    if not tracks:
        sel = PersonSelection(0, None, 0.0, 0.0, 0, 0.0, False, 0.0)
        return out.with_log("select_person", **sel.as_dict()), sel

    ranked = sorted(tracks, key=lambda tr: tr.score, reverse=True)
    best = ranked[0]
    best_frames = set(best.frames)
    runner_up = 0.0
    ambiguous = False
    for tr in ranked[1:]:
        overlap = len(best_frames.intersection(tr.frames))
        if overlap >= len(best.frames) / 3:
            runner_up = max(runner_up, tr.score)
            if tr.score >= ambiguity_ratio * best.score:
                ambiguous = True
    # other people of at least a third of the tested person's height, frame by frame
    ref_h = float(np.median(best.heights))
    big = np.nan_to_num(height, nan=0.0) >= ref_h / 3
    n_big = big.sum(1)
    several = float(np.mean(n_big[list(best_frames)] >= 2)) if best_frames else 0.0
    people_in_view = int(np.percentile(n_big, 90)) if n_frames else 0

    pos_out = out.position.copy()
    conf_out = out.confidence.copy()
    for f, s in zip(best.frames, best.slots, strict=True):
        pos_out[f] = pos[f, s]
        conf_out[f] = conf[f, s]
    sel = PersonSelection(
        n_tracks=len(tracks),
        chosen_track=best.id,
        chosen_score=best.score,
        runner_up_score=runner_up,
        people_in_view=max(people_in_view, int(counts.max() > 0)),
        several_people_fraction=several,
        ambiguous=ambiguous,
        coverage=len(best.frames) / max(n_frames, 1),
    )
    kp = out.replace(position=pos_out, confidence=conf_out)
    return (
        kp.with_log(
            "select_person",
            min_confidence=min_confidence,
            duplicate_overlap=duplicate_overlap,
            duplicates_dropped=int(duplicate.sum()),
            **sel.as_dict(),
        ),
        sel,
    )


def _extend(
    tr: _Track, f: int, s: int, c: np.ndarray, h: float, t: float, width: float, img_h: float
) -> None:
    tr.frames.append(f)
    tr.slots.append(s)
    tr.centres.append(c)
    tr.heights.append(float(h))
    tr.last_time = float(t)
    centrality = max(0.1, 1.0 - abs(float(c[0]) - width / 2) / (width / 2))
    tr.score += (float(h) / max(img_h, 1.0)) * centrality


def _centres_heights(kp: Keypoints2D, min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    c, h = _boxes(kp.position[:, None], kp.confidence[:, None], min_confidence)
    return c[:, 0], h[:, 0]


def select_tracked_person(
    tracked: Any,
    census: Any | None,
    *,
    census_interval_s: float = 1.0,
    min_agreement: float = 0.7,
    min_confidence: float = 0.3,
) -> tuple[Keypoints2D, PersonSelection]:
    """The person a single-pose tracker followed, checked against a sparse census of everyone.

    Parameters
    ----------
    tracked
        One slot per frame: the person the video-mode landmarker tracked.
    census
        Up to three people on frames ``census_interval_s`` apart (:class:`PeopleCensus`), or
        ``None`` (then only ``tracked`` is used).
    min_agreement
        Fraction of census frames on which the tracked person must be the census's chosen person
        (the one who stays largest and most central); below it the tracker followed someone else
        and the choice is reported as ambiguous.

    Notes
    -----
    On each census frame the tracked person "agrees" when the centre of their box lies within
    half a body height of the chosen census person's box centre. People in view, other people's
    presence and ambiguity come from the census.
    """
    kp, tsel = select_person(tracked, min_confidence=min_confidence)
    if census is None or census.n_frames == 0:
        return kp, tsel
    ckp, csel = select_person(
        census,
        min_confidence=min_confidence,
        max_link_distance=1.5,
        max_gap_s=2.5 * census_interval_s,
    )
    fi = {int(f): i for i, f in enumerate(np.asarray(kp.frame_index))}
    tc, th = _centres_heights(kp, min_confidence)
    cc, ch = _centres_heights(ckp, min_confidence)
    agree = total = 0
    for j, f in enumerate(np.asarray(ckp.frame_index)):
        i = fi.get(int(f))
        if i is None or not (np.isfinite(th[i]) and np.isfinite(ch[j])):
            continue
        total += 1
        if np.linalg.norm(tc[i] - cc[j]) <= 0.5 * max(ch[j], th[i]):
            agree += 1
    agreement = agree / total if total else None
    lost = agreement is not None and agreement < min_agreement
    sel = PersonSelection(
        n_tracks=csel.n_tracks,
        chosen_track=csel.chosen_track,
        chosen_score=csel.chosen_score,
        runner_up_score=csel.runner_up_score,
        # the tracked person and a different census person are two people
        people_in_view=max(csel.people_in_view, 1 if tsel.coverage > 0 else 0, 2 if lost else 0),
        several_people_fraction=csel.several_people_fraction,
        ambiguous=csel.ambiguous or lost,
        coverage=tsel.coverage,
        tracking_agreement=agreement,
    )
    out = kp.with_log(
        "select_tracked_person",
        census_frames=int(census.n_frames),
        census_interval_s=census_interval_s,
        min_agreement=min_agreement,
        **sel.as_dict(),
    )
    return out, sel
