"""Tests of the gait outputs: the HTML report's gait block, the gait plots, the annotated video.

The synthetic walk (module fixtures), 4 s at 20 fps: left stances from 0.30, 1.40 and 2.50 s,
right stances from 0.85, 1.95 and 3.05 s, each 0.60 s long (mid-stance exactly on a sample, 0.30 s
after the strike), so each stance has a double support at its start and end. Inside each stance
the stance leg's angles follow a raised-cosine bump that peaks at mid-stance: pelvic drop 3° on
the left and 7° on the right (the right side is at or above the registry's Trendelenburg cut-off,
the left below it), hip adduction 8° / 10°, trunk lean 2° / 4°, FPPA 5° / 6°. The feet are 40 px
apart with the hips 40 px apart: step width 100 %.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import av
import numpy as np
import pytest

from medius.io._sequence import KEYPOINTS, Keypoints2D
from medius.protocols import GaitAnalysis, GaitParameters
from medius.protocols._gait import (
    compute_gait_summary,
    evaluate_trendelenburg,
    measure_stances,
    stances_from_events,
    summarize_stances,
)
from medius.registry import load_registry
from medius.report._common import gait_phase_at_time, is_gait, stance_labels
from medius.report.annotate import _Overlay, render_keypoint_video
from medius.report.html import render_html_report, write_html_report
from medius.report.pipeline import build_result, write_outputs
from medius.report.plots import (
    STANCE_CURVES_PLOT_NAME,
    STANCE_TIMELINE_PLOT_NAME,
    STANCE_VALUES_PLOT_NAME,
    write_gait_plots,
)
from medius.report.tables import stances_csv_text

FPS = 20.0
T = np.round(np.arange(0, 81) / FPS, 6)
LEFT_STRIKES = (0.30, 1.40, 2.50)
RIGHT_STRIKES = (0.85, 1.95, 3.05)
STANCE_S = 0.60
AMPLITUDE = {
    "pelvic_drop_deg": {"left": 3.0, "right": 7.0},
    "hip_adduction_deg": {"left": 8.0, "right": 10.0},
    "trunk_lean_deg": {"left": 2.0, "right": 4.0},
    "fppa_deg": {"left": 5.0, "right": 6.0},
}
REP_WORD = re.compile(r"\brep(s|etition|etitions)?\b", re.IGNORECASE)


def _events() -> list[dict]:
    out = []
    for side, strikes in (("left", LEFT_STRIKES), ("right", RIGHT_STRIKES)):
        for s in strikes:
            out.append({"side": side, "kind": "foot_strike", "time_s": s})
            out.append({"side": side, "kind": "foot_off", "time_s": round(s + STANCE_S, 6)})
    return sorted(out, key=lambda e: e["time_s"])


def _series(scale: float = 1.0) -> dict[str, np.ndarray]:
    out = {}
    for metric, amp in AMPLITUDE.items():
        for side, strikes in (("left", LEFT_STRIKES), ("right", RIGHT_STRIKES)):
            v = np.zeros_like(T)
            for s in strikes:
                inside = (s - 1e-9 <= T) & (s + STANCE_S + 1e-9 >= T)
                v[inside] = scale * amp[side] * 0.5 * (1 - np.cos(2 * np.pi * (T[inside] - s) / STANCE_S))
            out[f"{metric}_{side}"] = v
    return out


def _keypoints() -> Keypoints2D:
    """A stick figure seen from behind (its left on the image left) in a 320 x 480 frame."""
    base = {
        "nose": (160, 70), "left_eye": (155, 65), "right_eye": (165, 65), "left_ear": (148, 68),
        "right_ear": (172, 68), "left_shoulder": (130, 110), "right_shoulder": (190, 110),
        "left_elbow": (122, 160), "right_elbow": (198, 160), "left_wrist": (120, 205),
        "right_wrist": (200, 205), "left_hip": (140, 220), "right_hip": (180, 220),
        "left_knee": (140, 310), "right_knee": (180, 310), "left_ankle": (140, 400),
        "right_ankle": (180, 400), "left_heel": (140, 410), "right_heel": (180, 410),
        "left_toe": (140, 420), "right_toe": (180, 420),
    }
    pos = np.array([[base[name] for name in KEYPOINTS]] * T.size, dtype=float)
    pos[:, :, 1] += 4 * np.sin(2 * np.pi * T / 1.1)[:, None]
    return Keypoints2D(
        position=pos, confidence=np.ones(pos.shape[:2]), time_s=T.copy(), image_size=(320, 480),
        source="test",
    )


def _analysis(*, lab: bool = False, task: str = "walk") -> GaitAnalysis:
    events = _events()
    phases, _ = stances_from_events(events, T)
    series = _series()
    if lab:
        feet = {"left": np.full(T.size, -0.08), "right": np.full(T.size, 0.08)}
        rows = measure_stances(series, phases, T, foot_ml=feet, hip_width=0.16, metres_per_unit=1.0)
        rows_2d = measure_stances(_series(0.5), phases, T)
        for r, r2 in zip(rows, rows_2d, strict=True):
            r["frontal_2d"] = r2["metrics"]
            r["metric_sources"] = {
                "pelvic_drop_deg": "3D (ISB pelvic obliquity against the lab)",
                "hip_adduction_deg": "3D (ISB hip, Cardan Z-X-Y)",
                "trunk_lean_deg": "frontal projection",
                "fppa_deg": "frontal projection",
            }
    else:
        feet = {"left": np.full(T.size, 140.0), "right": np.full(T.size, 180.0)}
        rows = measure_stances(series, phases, T, foot_ml=feet, hip_width=40.0)
    summary = summarize_stances(rows)
    analysis = GaitAnalysis(
        task=task, judgeable=True, checks=[], view="lab" if lab else "back", reasons=[], advice=[],
        warnings=[], stances=rows, summary=summary, gait=compute_gait_summary(rows, events),
        trendelenburg=evaluate_trendelenburg(summary, task), events=events,
        series={"time_s": T, **series, **({f"frontal_2d:{k}": v for k, v in _series(0.5).items()} if lab else {})},
        keypoints=_keypoints(),
        parameters={
            **GaitParameters().as_dict(),
            **({"events": {"requested": "auto", "used": "markers", "marker_method": "zeni", "n": len(events),
                           "marker_notes": [], "force_plates": 0}} if lab else {"view": "back"}),
        },
        frontal_2d=lab,
    )
    if lab:
        analysis.summary["frontal_2d"] = summarize_stances(rows, key="frontal_2d")
    return analysis


def _result(analysis: GaitAnalysis, *, lab: bool = False) -> dict:
    info = (
        {"name": "walk.c3d", "kind": "c3d", "rate_hz": FPS, "n_frames": T.size, "duration_s": 4.0}
        if lab
        else {"name": "walk", "kind": "openpose-json", "n_frames": T.size, "fps_median": FPS, "duration_s": 4.0,
              "width": 320, "height": 480}
    )
    return build_result(
        analysis, task=analysis.task, input_info=info, selection={"people_in_view": 1}, side_check={},
        pose_model=None, sex=None, synthetic=None, keypoints=analysis.keypoints, options={},
    )


@pytest.fixture(scope="module")
def walk():
    analysis = _analysis()
    return analysis, _result(analysis)


@pytest.fixture(scope="module")
def lab_walk():
    analysis = _analysis(lab=True)
    return analysis, _result(analysis, lab=True)


@pytest.fixture(scope="module")
def not_judgeable():
    analysis = GaitAnalysis(
        task="walk", judgeable=False, checks=[], view="back",
        reasons=["Too few steps: 1 complete stance phase(s) found."],
        advice=["Film from behind for at least ten steps."], warnings=[], keypoints=_keypoints(),
        parameters=GaitParameters().as_dict(),
    )
    return analysis, _result(analysis)


def _visible_text(html: str) -> str:
    html = re.sub(r"<(style|svg|video)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", html)


def _stance_rows(html: str) -> int:
    m = re.search(r'<table class="stances">.*?<tbody>(.*?)</tbody>', html, flags=re.S)
    assert m, "no stance table"
    return len(re.findall(r"<tr>", m.group(1)))


# ------------------------------------------------------------------------------------ common
def test_stance_labels_and_phase_known_answers(walk):
    _, result = walk
    stances = result["stances"]
    assert is_gait(result) and not is_gait({"task": "single-leg-squat", "reps": []})
    assert stance_labels(stances) == ["L1", "R1", "L2", "R2", "L3", "R3"]
    assert [stances[i]["side"] for i in gait_phase_at_time(stances, 0.6)] == ["left"]
    # double support: left stance 1 (0.30-0.90) and right stance 1 (0.85-1.45), latest strike last
    assert gait_phase_at_time(stances, 0.875) == [0, 1]
    assert gait_phase_at_time(stances, 0.1) == []


# ------------------------------------------------------------------------------------ report
def test_gait_report_shows_summary_trendelenburg_and_stances(walk):
    _, result = walk
    html = render_html_report(result)
    text = _visible_text(html)
    rule = load_registry().references_for("pelvic_drop_midstance_deg", "walk", kind="cutoff")[0]
    assert "Gait summary" in text and "Cadence" in text
    assert "Trendelenburg pattern" in text
    assert rule.source in html and "provisional" in text
    assert f"{rule.cutoff:g}" in text
    # left 3° at mid-stance: below the cut-off; right 7°: at or above
    assert html.count('<span class="badge fail">Trendelenburg pattern</span>') == 1
    assert html.count('<span class="badge pass">no pattern</span>') == 1
    assert "3.0°" in text and "7.0°" in text
    assert _stance_rows(html) == len(result["stances"]) == 6
    assert "peak in stance" in text and "at mid-stance" in text
    assert "100%" in text  # step width of every stance
    # interpretation entries give their reason when the registry has no sourced range
    assert "no sourced reference range" in text
    assert "video keypoints" in text  # where the events came from
    assert not REP_WORD.search(text), REP_WORD.search(text)


def test_gait_report_lab_trial_has_3d_and_frontal_2d_side_by_side(lab_walk):
    _, result = lab_walk
    html = render_html_report(result)
    text = _visible_text(html)
    assert "Lab 3D and frontal 2D side by side" in text
    assert "Zeni et al. 2008" in text
    # the 3D pelvic drop peak (7.0° right) beside the frontal-2D one (half of it: 3.5°), 3D − 2D = +3.5°
    assert "+3.5°" in text and "3.5°" in text
    assert "16.0" in text  # step width in cm
    assert _stance_rows(html) == 6
    assert not REP_WORD.search(text)


def test_gait_report_not_judgeable_shows_reasons_and_no_values(not_judgeable):
    _, result = not_judgeable
    html = render_html_report(result)
    text = _visible_text(html)
    assert "cannot be judged" in text and "Too few steps" in text
    assert "Film from behind" in text
    assert '<table class="stances">' not in html and "Trendelenburg" not in text
    assert not REP_WORD.search(text)


def test_single_leg_report_is_unchanged_by_the_gait_block(walk):
    _, result = walk
    single = copy.deepcopy(result)
    single["task"] = "single-leg-squat"
    del single["stances"]
    html = render_html_report(single)
    assert "Gait summary" not in html and "<h2>Reps (" in html


# ------------------------------------------------------------------------------------ plots
def test_gait_plots_are_deterministic(tmp_path, lab_walk):
    analysis, result = lab_walk
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_gait_plots(result, analysis.series, tmp_path / "a")
    b = write_gait_plots(result, analysis.series, tmp_path / "b")
    assert [p.name for p in a] == [STANCE_CURVES_PLOT_NAME, STANCE_VALUES_PLOT_NAME, STANCE_TIMELINE_PLOT_NAME]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
        assert pa.read_text().lstrip().startswith("<?xml")


def test_gait_plots_not_written_for_a_not_judgeable_result(tmp_path, not_judgeable):
    analysis, result = not_judgeable
    assert write_gait_plots(result, {"time_s": T}, tmp_path) == []
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ video
def test_overlay_labels_stances_not_reps(walk):
    analysis, result = walk
    overlay = _Overlay(result, analysis.series, analysis.keypoints)
    row = int(np.argmin(np.abs(T - 0.6)))
    lines = [text for text, _ in overlay._panel_lines(row, -1, [0])]
    assert lines[0] == "L stance 1 - right swing"
    assert lines[1].startswith("Pelvic drop") and lines[1].endswith("+3.0°")  # mid-stance value
    assert [i for i in overlay.stance_of_row[int(np.argmin(np.abs(T - 0.9)))] if i >= 0] == [1, 0]
    lines = [text for text, _ in overlay._panel_lines(row, -1, [1, 0])]
    assert lines[0] == "Double support - L1 to R1"
    run = copy.deepcopy(result)
    run["task"] = "run"
    lines = [text for text, _ in _Overlay(run, analysis.series, analysis.keypoints)._panel_lines(row, -1, [])]
    assert lines[0].startswith("Flight")
    assert not any(REP_WORD.search(t) for t in lines)


def test_keypoint_video_for_a_gait_result_draws_stance_bands(tmp_path, walk):
    analysis, result = walk
    out = render_keypoint_video(tmp_path / "gait.mp4", result=result, series=analysis.series,
                                keypoints=analysis.keypoints)
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == T.size
    img = frames[0]  # the elapsed-time bar is still empty
    h, w = img.shape[:2]
    bar_h = 2 * max(4, int(round(h / 90)))
    # left stance 1 (0.30-0.90 s) in the upper half of the bar, right stance 1 in the lower half
    x_left_only = int(0.5 / 4.05 * w)
    upper, lower = img[1, x_left_only].astype(int), img[bar_h - 2, x_left_only].astype(int)
    assert upper[2] > upper[0] + 60  # blue (left)
    assert lower.max() < 90  # no right stance there: dark
    x_right_only = int(1.2 / 4.05 * w)
    assert img[bar_h - 2, x_right_only].astype(int)[0] > 150  # vermillion (right)


def test_write_outputs_for_gait_writes_everything_without_reps(tmp_path, walk):
    analysis, result = walk
    result = copy.deepcopy(result)
    write_outputs(result, analysis, tmp_path, video_path=None, blur_faces=False, annotated_video=True,
                  max_side_px=320, keypoints=analysis.keypoints)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["annotated.mp4", "report.html", "result.json", "stances.csv",
                            STANCE_CURVES_PLOT_NAME, STANCE_VALUES_PLOT_NAME, STANCE_TIMELINE_PLOT_NAME])
    assert result["reps"] == []
    csv = (tmp_path / "stances.csv").read_text().splitlines()
    assert len(csv) == 1 + 6 and csv == stances_csv_text(result).splitlines()
    html = (tmp_path / "report.html").read_text()
    assert html.count("<svg") == 3 and "data:video/mp4;base64," in html
    assert not REP_WORD.search(_visible_text(html))


def test_write_html_report_for_gait_embeds_plots(tmp_path, walk):
    analysis, result = walk
    plots = write_gait_plots(result, analysis.series, tmp_path)
    out = write_html_report(result, tmp_path / "r.html", plot_paths=plots)
    html = Path(out).read_text()
    assert html.count("<figure>") == 3 and "time-normalised" in html
