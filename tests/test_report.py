"""Tests of the report layer: SVG plots, the self-contained HTML report, the annotated video.

The synthetic world (module fixtures): a 320 x 480 px (w x h) portrait recording at 15 fps,
3 s, of a stick figure facing the camera (its left on the image right) doing two single-leg
squats: rep 1 on the left leg from 0.3 to 1.3 s (deepest at 0.8 s), rep 2 on the right leg
from 1.6 to 2.6 s (deepest at 2.1 s). The figure sinks 30 px and the stance knee moves 12 px
medially at the deepest point. The video shows a 4-px black/white checkerboard "face" centred
on the head points, and a static 8-px checkerboard in the bottom-left corner, far from the
figure and from every overlay element, that annotation must leave untouched.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from medius.analysis.faces import DETECTED_FACE_HOLD_S, FaceDetector, _follow_back, compute_face_ellipse
from medius.errors import OutputError
from medius.io._sequence import KEYPOINTS, Keypoints2D
from medius.io.keypoint_files import MultiPersonKeypoints
from medius.io.samples import sample_path
from medius.io.video import VideoWriter, iter_frames, probe_video
from medius.report import (
    plot_rep_values,
    plot_timeseries,
    render_annotated_video,
    render_keypoint_video,
    write_html_report,
    write_plots,
)
from medius.report._common import metric_label, metric_unit
from medius.report.annotate import (
    _HeadTracker,
    _Overlay,
    _PendingFrame,
    _Style,
    compute_census_heads,
)

W, H = 320, 480
FPS = 15.0
N = 45
REPS = (("left", 0.3, 0.8, 1.3), ("right", 1.6, 2.1, 2.6))
FAR_BOX = (10, 400, 60, 470)  # x0, y0, x1, y1: static texture far from the figure
HEAD_HALF = 14  # half-size of the head box checked for blurring

# standing pose, displayed-frame px (the person's left is on the image right)
_STANDING = {
    "nose": (200, 112), "left_eye": (207, 104), "right_eye": (193, 104),
    "left_ear": (218, 108), "right_ear": (182, 108),
    "left_shoulder": (235, 160), "right_shoulder": (165, 160),
    "left_elbow": (245, 215), "right_elbow": (155, 215),
    "left_wrist": (240, 260), "right_wrist": (160, 260),
    "left_hip": (220, 270), "right_hip": (180, 270),
    "left_knee": (222, 350), "right_knee": (178, 350),
    "left_ankle": (222, 430), "right_ankle": (178, 430),
    "left_heel": (225, 440), "right_heel": (175, 440),
    "left_toe": (218, 452), "right_toe": (182, 452),
}  # fmt: skip


def _depth(t: np.ndarray, side: str | None = None) -> np.ndarray:
    """Raised-cosine squat depth in [0, 1] of the reps (of one stance side, or all)."""
    d = np.zeros_like(t)
    for s, start, _, end in REPS:
        if side in (None, s):
            inside = (t >= start) & (t <= end)
            d[inside] = 0.5 - 0.5 * np.cos(2 * np.pi * (t[inside] - start) / (end - start))
    return d


def make_keypoints() -> Keypoints2D:
    t = np.arange(N) / FPS
    pos = np.empty((N, len(KEYPOINTS), 2))
    for k, name in enumerate(KEYPOINTS):
        pos[:, k] = _STANDING[name]
    d_all = _depth(t)
    upper = [k for k, n in enumerate(KEYPOINTS) if n.split("_")[-1] not in ("knee", "ankle", "heel", "toe")]
    pos[:, upper, 1] += 30 * d_all[:, None]
    for side, sign in (("left", -1.0), ("right", 1.0)):  # medial = towards the image centre
        d = _depth(t, side)
        pos[:, KEYPOINTS.index(f"{side}_knee"), 0] += sign * 12 * d
        pos[:, KEYPOINTS.index(f"{side}_knee"), 1] += 15 * d
        other = "right" if side == "left" else "left"
        for joint in ("ankle", "heel", "toe"):
            pos[:, KEYPOINTS.index(f"{other}_{joint}"), 1] -= 40 * d
    conf = np.full((N, len(KEYPOINTS)), 0.95)
    return Keypoints2D(position=pos, confidence=conf, time_s=t, image_size=(W, H), source="synthetic")


def make_series(keypoints: Keypoints2D) -> dict[str, np.ndarray]:
    t = keypoints.time_s
    dl, dr = _depth(t, "left"), _depth(t, "right")
    series = {
        "time_s": t,
        "fppa_deg_left": 2.0 + 12.0 * dl,
        "fppa_deg_right": 1.0 + 9.0 * dr,
        "hip_adduction_deg_left": 3.0 + 6.0 * dl,
        "hip_adduction_deg_right": 2.5 + 5.0 * dr,
        "pelvic_drop_deg_left": 1.0 + 4.0 * dl,
        "pelvic_drop_deg_right": 0.5 + 3.0 * dr,
        "trunk_lean_deg_left": 0.5 + 5.0 * dl,
        "trunk_lean_deg_right": -0.5 + 4.0 * dr,
        "depth_pct": 15.0 * (dl + dr),
    }
    series["fppa_deg_left"][20:23] = np.nan  # a gap, as the pose model would leave
    return series


def make_result(*, synthetic: bool = False, name: str = "clip.mp4") -> dict:
    metrics = {
        "fppa_deg": {
            "unit": "deg",
            "label": "Knee FPPA",
            "definition": "Angle between thigh and shank lines.",
            "sign": "+ = valgus (knee medial)",
        },
        "pelvic_drop_deg": {
            "unit": "deg",
            "label": "Pelvic drop",
            "definition": "Tilt of the hip line.",
            "sign": "+ = free side lower",
        },
        "trunk_lean_deg": {
            "unit": "deg",
            "label": "Trunk lean",
            "definition": "Mid-hip to mid-shoulder vs vertical.",
            "sign": "+ = towards stance leg",
        },
        "hip_adduction_deg": {
            "unit": "deg",
            "label": "Hip adduction",
            "definition": "Thigh vs pelvis normal.",
            "sign": "+ = adduction",
        },
        "depth_pct": {
            "unit": "pct",
            "label": "Squat depth",
            "definition": "Hip descent in % of leg length.",
            "sign": "+ = lower",
        },
    }
    reps = []
    for i, (side, start, bottom, end) in enumerate(REPS):
        peaks = {
            "fppa_deg": 14.0 if side == "left" else 10.0,
            "pelvic_drop_deg": 5.0 if side == "left" else 3.5,
            "trunk_lean_deg": 5.5 if side == "left" else 3.5,
            "hip_adduction_deg": 9.0 if side == "left" else 7.5,
            "depth_pct": 15.0,
        }
        reps.append(
            {
                "rep": i + 1,
                "side": side,
                "status": "complete",
                "start_s": start,
                "bottom_s": bottom,
                "end_s": end,
                "start_frame": round(start * FPS),
                "bottom_frame": round(bottom * FPS),
                "end_frame": round(end * FPS),
                "note": "",
                "metrics": {
                    m: {"peak": v, "peak_s": bottom, "peak_frame": round(bottom * FPS), "at_bottom": v - 0.1}
                    for m, v in peaks.items()
                },
            }
        )
    me = {"sem": 2.9, "mdc": 8.2, "unit": "deg", "source": "Munro et al. 2012"}
    return {
        "schema_version": "1.0",
        "medius_version": "0.1.0",
        "task": "single-leg-squat",
        "status": "ok",
        "synthetic": synthetic,
        "input": {
            "name": name,
            "kind": "video",
            "sha256": "ab" * 32,
            "width": W,
            "height": H,
            "duration_s": N / FPS,
            "n_frames": N,
            "fps_median": FPS,
            "variable_frame_rate": False,
            "rotation_deg": 0,
            "codec": "h264",
        },
        "quality": {
            "judgeable": True,
            "view": "frontal",
            "checks": [
                {
                    "id": "frontal_view",
                    "label": "Frontal view",
                    "passed": True,
                    "value": 0.42,
                    "threshold": 0.25,
                    "unit": "ratio",
                    "message": "shoulder width / torso height 0.42 ≥ 0.25",
                },
                {
                    "id": "fps",
                    "label": "Frame rate",
                    "passed": True,
                    "value": 15.0,
                    "threshold": 15.0,
                    "unit": "Hz",
                    "message": "15 Hz ≥ 15 Hz",
                },
            ],
            "warnings": ["Low frame rate: peaks between frames may be missed."],
            "reasons": [],
            "advice": [],
            "people_in_view": 1,
            "left_right_swaps_corrected": 0,
        },
        "metrics": metrics,
        "reps": reps,
        "summary": {
            "left": {
                "fppa_deg": {"mean": 14.0, "sd": None, "n": 1},
                "pelvic_drop_deg": {"mean": 5.0, "sd": None, "n": 1},
            },
            "right": {
                "fppa_deg": {"mean": 10.0, "sd": None, "n": 1},
                "pelvic_drop_deg": {"mean": 3.5, "sd": None, "n": 1},
            },
            "difference": {
                "fppa_deg": {"left_minus_right": 4.0},
                "pelvic_drop_deg": {"left_minus_right": 1.5},
            },
        },
        "interpretation": [
            {
                "metric": "fppa_deg",
                "side": "left",
                "value": 14.0,
                "verdict": "above",
                "text": "14.0° is above the reference range 5–12° of 50 healthy active women (single-leg landing).",
                "provisional": False,
                "source": "Herrington & Munro 2010",
                "reference_range": [5.0, 12.0],
                "measurement_error": me,
            },
            {
                "metric": "fppa_deg",
                "side": "right",
                "value": 10.0,
                "verdict": "within",
                "text": "10.0° is within the reference range 5–12° of 50 healthy active women (single-leg landing).",
                "provisional": True,
                "source": "Herrington & Munro 2010",
                "reference_range": [5.0, 12.0],
                "measurement_error": me,
            },
        ]
        + [
            {
                "metric": "pelvic_drop_deg",
                "side": side,
                "value": 4.0,
                "verdict": "none",
                "text": "No sourced reference range for pelvic drop in this task.",
                "provisional": False,
                "source": "medius clinical facts sheet",
                "reference_range": None,
                "measurement_error": None,
            }
            for side in ("right", "left")
        ],
        "provenance": {
            "created_utc": "2026-11-20T10:00:00+00:00",
            "medius_version": "0.1.0",
            "python": "3.11.7",
            "packages": {"mediapipe": "0.10.21", "av": "18.1.0"},
            "pose_model": {"name": "BlazePose full", "complexity": 1},
            "parameters": {"filter": {"cutoff_hz": 6.0, "order": 4}, "min_reps": 1},
            "steps": [{"operation": "filter_keypoints", "cutoff_hz": 6.0}],
        },
        "files": {
            "report": "report.html",
            "video": "annotated.mp4",
            "csv": "reps.csv",
            "plots": ["plot_timeseries.svg", "plot_rep_values.svg"],
        },
    }


def make_not_judgeable(result: dict) -> dict:
    """The result turned not judgeable; stale numbers are left in on purpose (must not show)."""
    bad = copy.deepcopy(result)
    bad["status"] = "not_judgeable"
    bad["quality"]["judgeable"] = False
    bad["quality"]["view"] = "side"
    bad["quality"]["checks"][0].update(
        passed=False, value=0.11, message="shoulder width / torso height 0.11 < 0.25"
    )
    bad["quality"]["reasons"] = ["The camera films the person from the side, not from the front."]
    bad["quality"]["advice"] = ["Film from the front at hip height, 3 m away, whole body in view."]
    return bad


def _draw_input_frame(kp: Keypoints2D, row: int) -> np.ndarray:
    img = np.full((H, W, 3), 120, np.uint8)
    yy, xx = np.mgrid[0:H, 0:W]
    pts = kp.position[row]
    for a, b in (
        ("left_shoulder", "left_hip"),
        ("right_shoulder", "right_hip"),
        ("left_hip", "left_knee"),
        ("right_hip", "right_knee"),
        ("left_knee", "left_ankle"),
        ("right_knee", "right_ankle"),
    ):
        pa, pb = pts[KEYPOINTS.index(a)], pts[KEYPOINTS.index(b)]
        cv2.line(img, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), (60, 60, 60), 9)
    cx, cy = pts[KEYPOINTS.index("nose")]
    head = (np.abs(xx - cx) <= 22) & (np.abs(yy - cy) <= 26)
    checker = (((xx // 4) + (yy // 4)) % 2 * 255).astype(np.uint8)
    img[head] = checker[head][:, None]
    x0, y0, x1, y1 = FAR_BOX
    img[y0:y1, x0:x1] = (((xx[y0:y1, x0:x1] // 8) + (yy[y0:y1, x0:x1] // 8)) % 2 * 200 + 20)[..., None]
    return img


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("report")
    kp = make_keypoints()
    video = folder / "input.mp4"
    with VideoWriter(video, W, H, fps_hint=FPS, crf=18) as writer:
        for row in range(N):
            writer.write(_draw_input_frame(kp, row), float(kp.time_s[row]))
    return {
        "folder": folder,
        "keypoints": kp,
        "series": make_series(kp),
        "result": make_result(),
        "video": video,
    }


def _decode(path: Path) -> tuple[list[np.ndarray], list[float]]:
    frames = list(iter_frames(path, max_side_px=None))
    return [f.image for f in frames], [f.time_s for f in frames]


# ---------------------------------------------------------------------------- plots
@pytest.fixture(scope="module")
def plots(world: dict) -> list[Path]:
    folder = world["folder"] / "plots"
    folder.mkdir()
    return write_plots(world["result"], world["series"], folder)


def test_write_plots_writes_both_plots(plots: list[Path]) -> None:
    assert [p.name for p in plots] == ["plot_timeseries.svg", "plot_rep_values.svg"]
    assert all(p.stat().st_size > 1000 for p in plots)


def test_plots_are_valid_svg_and_byte_identical_when_repeated(
    world: dict, plots: list[Path], tmp_path: Path
) -> None:
    again = [
        plot_timeseries(world["result"], world["series"], tmp_path / "a.svg"),
        plot_rep_values(world["result"], tmp_path / "b.svg"),
    ]
    for first, second in zip(plots, again, strict=True):
        assert first.read_bytes() == second.read_bytes()
        root = ET.fromstring(first.read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "<dc:date>" not in first.read_text()


def test_timeseries_plot_labels_reps_panels_and_units(plots: list[Path]) -> None:
    text = plots[0].read_text()
    # matplotlib keeps each text as a comment beside its glyph paths
    for label in (
        "L1",
        "R1",
        "Knee FPPA (°)",
        "Pelvic drop (°)",
        "Trunk lean (°)",
        "Hip adduction (°)",
        "Squat depth (%)",
        "Time (s)",
        "reference range",
        "deepest point",
    ):
        assert f"<!-- {label} -->" in text, label


def test_rep_values_plot_shows_sides_and_measurement_error(plots: list[Path]) -> None:
    text = plots[1].read_text()
    for label in (
        "Knee FPPA",
        "Squat depth",
        "Peak per rep (°)",
        "Peak per rep (%)",
        "Left",
        "Right",
        "n=1",
        "mean ± SD",
        "mean ± SEM (measurement error)",
        "reference range",
    ):
        assert f"<!-- {label} -->" in text, label


def test_write_plots_writes_nothing_when_not_judgeable(world: dict, tmp_path: Path) -> None:
    assert write_plots(make_not_judgeable(world["result"]), world["series"], tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_plot_timeseries_rejects_series_of_unequal_length(world: dict, tmp_path: Path) -> None:
    series = dict(world["series"], depth_pct=np.zeros(3))
    with pytest.raises(ValueError, match=r"series\['depth_pct'\] must have the shape of series\['time_s'\]"):
        plot_timeseries(world["result"], series, tmp_path / "x.svg")


def test_plot_to_missing_folder_is_an_output_error(world: dict, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write the plot"):
        plot_rep_values(world["result"], tmp_path / "missing" / "x.svg")


# ---------------------------------------------------------------------------- HTML
_REMOTE = re.compile(
    r"""(?:\b(?:src|href|xlink:href|poster|srcset|action|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|@import""",
    re.I,
)


@pytest.fixture(scope="module")
def small_video(world: dict) -> Path:
    path = world["folder"] / "annotated_small.mp4"
    with VideoWriter(path, 64, 48, fps_hint=10.0) as writer:
        for i in range(5):
            writer.write(np.full((48, 64, 3), 40 * i, np.uint8), i / 10.0)
    return path


def test_html_is_self_contained_with_inline_plots_and_embedded_video(
    world: dict, plots: list[Path], small_video: Path, tmp_path: Path
) -> None:
    out = write_html_report(
        world["result"], tmp_path / "report.html", plot_paths=plots, video_path=small_video
    )
    html = out.read_text(encoding="utf-8")
    assert _REMOTE.search(html) is None
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert html.count("<svg") == 2
    assert "<?xml" not in html
    assert '<video controls preload="metadata" playsinline src="data:video/mp4;base64,' in html
    assert "Content-Security-Policy" in html
    # the two plots' element ids do not collide
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert "medius reports associations with reference data, not diagnoses" in html


def test_html_links_a_video_larger_than_the_embedding_limit(
    world: dict, small_video: Path, tmp_path: Path
) -> None:
    video = tmp_path / "annotated.mp4"
    video.write_bytes(small_video.read_bytes())
    html = write_html_report(
        world["result"], tmp_path / "r.html", video_path=video, embed_video_max_mb=0
    ).read_text()
    assert 'src="annotated.mp4"' in html
    assert "data:video" not in html


def test_html_shows_synthetic_banner_only_for_synthetic_data(world: dict, tmp_path: Path) -> None:
    real = write_html_report(world["result"], tmp_path / "real.html").read_text()
    fake = write_html_report(make_result(synthetic=True), tmp_path / "fake.html").read_text()
    assert "SYNTHETIC DATA — demonstration only" in fake
    assert "SYNTHETIC DATA" not in real


def test_html_shows_units_measurement_error_interpretation_and_reps(world: dict, tmp_path: Path) -> None:
    result = world["result"]
    html = write_html_report(result, tmp_path / "r.html").read_text()
    for metric in result["metrics"]:
        assert f"{metric_label(result, metric)} ({metric_unit(result, metric)})" in html, metric
    assert "14.0° ± " not in html  # no SD with n = 1
    assert "± SEM 2.9°; a change &lt; MDC 8.2° is within measurement error" in html
    assert "+4.0°" in html and "within measurement error" in html  # L−R 4.0° < MDC 8.2°
    assert "Herrington &amp; Munro 2010" in html and "provisional reference" in html
    assert "of 50 healthy active women" in html
    assert "Frontal view" in html and "Low frame rate" in html
    assert ">L1<" in html and ">R1<" in html
    assert "filter.cutoff_hz" in html and "BlazePose full" in html


def test_html_for_not_judgeable_shows_reasons_and_advice_but_no_metric_values(
    world: dict, plots: list[Path], small_video: Path, tmp_path: Path
) -> None:
    bad = make_not_judgeable(world["result"])  # plots given anyway must not be shown
    html = write_html_report(bad, tmp_path / "r.html", plot_paths=plots, video_path=small_video).read_text()
    assert "This recording cannot be judged" in html
    assert "The camera films the person from the side, not from the front." in html
    assert "Film from the front at hip height, 3 m away, whole body in view." in html
    assert "shoulder width / torso height 0.11 &lt; 0.25" in html  # the checks table stays
    for number in ("14.0", "10.0", "5.5", "+4.0", "2.9", "8.2"):
        assert number not in html, number
    assert "<svg" not in html
    assert 'class="summary"' not in html and 'class="reps"' not in html


def test_html_orders_interpretation_by_metric_and_merges_identical_sides(world: dict, tmp_path: Path) -> None:
    html = write_html_report(world["result"], tmp_path / "r.html").read_text()
    assert html.count("No sourced reference range for pelvic drop in this task.") == 1
    merged = re.search(r"Pelvic drop</strong>, (.*?) stance", html).group(1)
    assert re.sub(r"<[^>]+>", "", merged) == "left and right"
    assert html.index("14.0° is above") < html.index("10.0° is within") < html.index("No sourced reference")


def test_html_escapes_user_text(world: dict, tmp_path: Path) -> None:
    result = make_result(name="<script>alert(1)</script>.mp4")
    result["reps"][0]["note"] = '<img src=x onerror="alert(2)">'
    html = write_html_report(result, tmp_path / "r.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.mp4" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=" in html


def test_html_rejects_a_negative_embedding_limit(world: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="embed_video_max_mb must be a number >= 0, got -1"):
        write_html_report(world["result"], tmp_path / "r.html", embed_video_max_mb=-1)


def test_html_to_missing_folder_is_an_output_error(world: dict, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write the report"):
        write_html_report(world["result"], tmp_path / "missing" / "r.html")


# ---------------------------------------------------------------------------- video
def _head_box(kp: Keypoints2D, row: int) -> tuple[slice, slice]:
    cx, cy = kp.position[row, KEYPOINTS.index("nose")]
    return slice(int(cy) - HEAD_HALF, int(cy) + HEAD_HALF), slice(int(cx) - HEAD_HALF, int(cx) + HEAD_HALF)


@pytest.fixture(scope="module")
def annotated(world: dict) -> dict:
    out = {}
    for blur in (True, False):
        path = world["folder"] / f"annotated_{blur}.mp4"
        render_annotated_video(
            world["video"],
            path,
            result=world["result"],
            series=world["series"],
            keypoints=world["keypoints"],
            blur_faces=blur,
        )
        out[blur] = path
    return out


def test_annotated_video_keeps_frames_and_timestamps_and_is_h264(world: dict, annotated: dict) -> None:
    _, t_in = _decode(world["video"])
    _, t_out = _decode(annotated[True])
    assert len(t_out) == len(t_in) == N
    np.testing.assert_allclose(t_out, t_in, atol=1e-4)
    np.testing.assert_allclose(t_out, np.arange(N) / FPS, atol=1e-4)
    assert probe_video(annotated[True]).codec == "h264"
    with av.open(str(annotated[True])) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_annotated_video_blurs_the_face_and_leaves_the_rest(world: dict, annotated: dict) -> None:
    frames_in, _ = _decode(world["video"])
    frames_out, _ = _decode(annotated[True])
    x0, y0, x1, y1 = FAR_BOX
    for row in (0, 12, 31):  # standing, rep 1 deepest, rep 2 deepest
        ys, xs = _head_box(world["keypoints"], row)
        var_in = frames_in[row][ys, xs].astype(float).var()
        var_out = frames_out[row][ys, xs].astype(float).var()
        assert var_in > 5000
        assert var_out < 0.02 * var_in, (row, var_in, var_out)
        far_in = frames_in[row][y0:y1, x0:x1].astype(float)
        far_out = frames_out[row][y0:y1, x0:x1].astype(float)
        assert np.abs(far_out - far_in).mean() < 3.0
        assert abs(far_out.var() - far_in.var()) < 0.05 * far_in.var()


def test_annotated_video_without_blur_keeps_the_face_sharp(world: dict, annotated: dict) -> None:
    frames_in, _ = _decode(world["video"])
    sharp, _ = _decode(annotated[False])
    for row in (0, 12, 31):
        ys, xs = _head_box(world["keypoints"], row)
        assert sharp[row][ys, xs].astype(float).var() > 0.7 * frames_in[row][ys, xs].astype(float).var()


def test_annotated_video_draws_the_overlay(world: dict, annotated: dict) -> None:
    frames_in, _ = _decode(world["video"])
    frames_out, _ = _decode(annotated[False])
    kp = world["keypoints"]
    knee = kp.position[12, KEYPOINTS.index("left_knee")].astype(int)
    patch = frames_out[12][knee[1] - 3 : knee[1] + 4, knee[0] - 3 : knee[0] + 4].reshape(-1, 3).astype(int)
    # the left stance knee of rep 1 is marked in the left colour (blue, RGB 0,114,178)
    assert np.any((patch[:, 2] > 140) & (patch[:, 0] < 70))
    # the progress bar and the value panel change the top-left of the frame
    assert np.abs(frames_out[12][:60, :100].astype(float) - frames_in[12][:60, :100]).mean() > 10


def test_overlay_panel_shows_stance_values_in_reps_both_knees_between_and_none_when_not_judgeable(
    world: dict,
) -> None:
    kp, series = world["keypoints"], world["series"]
    ok = _Overlay(world["result"], series, kp)
    in_rep = [text for text, _ in ok._panel_lines(12, int(ok.rep_of_row[12]))]
    assert in_rep == [
        "Rep 1 - left stance (L1)",
        "Knee FPPA   +14.0°",
        "Pelvic drop +5.0°",
        "Trunk lean  +5.5°",
    ]
    between = [text for text, _ in ok._panel_lines(0, int(ok.rep_of_row[0]))]
    assert between == ["Between reps", "Left knee FPPA +2.0°", "Right knee FPPA +1.0°"]
    bad = _Overlay(make_not_judgeable(world["result"]), series, kp)
    assert [text for text, _ in bad._panel_lines(12, int(bad.rep_of_row[12]))] == [
        "Not judgeable - see the report"
    ]


def test_annotated_video_rejects_series_not_aligned_with_keypoints(world: dict, tmp_path: Path) -> None:
    series = dict(world["series"], fppa_deg_left=np.zeros(5))
    with pytest.raises(
        ValueError, match=r"series\['fppa_deg_left'\] must have one value per keypoint frame \(45\)"
    ):
        render_annotated_video(
            world["video"],
            tmp_path / "a.mp4",
            result=world["result"],
            series=series,
            keypoints=world["keypoints"],
        )


def test_head_tracker_holds_the_last_region_for_half_a_second() -> None:
    kp = make_keypoints()
    pos = kp.position.copy()
    face = [KEYPOINTS.index(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
    pos[10:, face] = np.nan
    pos[10:, [KEYPOINTS.index("left_shoulder"), KEYPOINTS.index("right_shoulder")]] = np.nan
    tracker = _HeadTracker(kp.replace(position=pos))
    t = kp.time_s
    first = tracker.region(9, t[9])
    assert first is not None and first[2] == pytest.approx(0.85 * 36.0)  # 0.85 x ear-to-ear distance
    assert np.array_equal(tracker.region(12, t[12]), first)  # 0.2 s later: held
    assert np.array_equal(tracker.region(16, t[16]), first)  # 0.47 s later: held
    assert tracker.region(17, t[17]) is None  # 0.53 s later: released
    assert tracker.region(None, t[20]) is None  # past the hold, a frame without keypoints


def test_render_keypoint_video_writes_one_frame_per_sample(world: dict, tmp_path: Path) -> None:
    out = render_keypoint_video(
        tmp_path / "kp.mp4",
        result=make_result(synthetic=True),
        series=world["series"],
        keypoints=world["keypoints"],
        size=(160, 240),
    )
    info = probe_video(out)
    assert (info.width, info.height, info.codec) == (160, 240, "h264")
    frames, times = _decode(out)
    assert len(frames) == N
    np.testing.assert_allclose(times, world["keypoints"].time_s, atol=1e-4)
    assert frames[12].mean() > 22  # the overlay is drawn on the dark background


def test_render_keypoint_video_rejects_a_bad_size(world: dict, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"size must be \(width, height\) with positive values, got \(0, 10\)"
    ):
        render_keypoint_video(
            tmp_path / "kp.mp4",
            result=world["result"],
            series=world["series"],
            keypoints=world["keypoints"],
            size=(0, 10),
        )


# ---------------------------------------------------------------------------- value panel
def test_panel_goes_top_left_but_moves_off_the_person_and_stays_where_it_covers_nothing(
    world: dict,
) -> None:
    ov = _Overlay(world["result"], world["series"], world["keypoints"])
    st = _Style.for_size(W, H)
    width, height = 120, 60
    top, bottom = st.bar_h + st.pad, H - st.pad - height
    left, right = st.pad, W - st.pad - width
    far = np.array([200.0, 300.0, 260.0, 380.0])  # touches no corner
    assert ov._panel_origin(W, H, width, height, st, far) == (left, top)
    on_top_left = np.array([20.0, 30.0, 80.0, 200.0])  # a head near the top-left corner
    assert ov._panel_origin(W, H, width, height, st, on_top_left) == (left, bottom)
    # the panel stays at the bottom while it covers nothing, also in frames without the person
    assert ov._panel_origin(W, H, width, height, st, far) == (left, bottom)
    assert ov._panel_origin(W, H, width, height, st, None) == (left, bottom)
    tall_on_the_left = np.array([20.0, 30.0, 80.0, 470.0])  # covers both left corners
    assert ov._panel_origin(W, H, width, height, st, tall_on_the_left) == (right, top)
    everywhere = np.array([0.0, 0.0, float(W), float(H)])  # every corner covered alike: the first
    assert ov._panel_origin(W, H, width, height, st, everywhere) == (left, top)


def test_not_judgeable_banner_is_on_every_frame_also_without_the_person(world: dict, tmp_path: Path) -> None:
    kp = world["keypoints"]
    pos = kp.position.copy()
    pos[30:] = np.nan  # the person is lost from 2 s on
    out = render_annotated_video(
        world["video"],
        tmp_path / "banner.mp4",
        result=make_not_judgeable(world["result"]),
        series=world["series"],
        keypoints=kp.replace(position=pos),
        blur_faces=False,
    )
    frames_in, _ = _decode(world["video"])
    frames_out, _ = _decode(out)
    for row in (10, 40):  # with and without the person
        panel_in = frames_in[row][12:30, 8:150].astype(float)
        panel_out = frames_out[row][12:30, 8:150].astype(int)
        assert panel_out.mean() < 0.7 * panel_in.mean(), row  # the dark panel is drawn
        red = (panel_out[..., 0] > 180) & (panel_out[..., 1] < 150) & (panel_out[..., 2] < 150)
        assert red.sum() > 20, row  # the red "Not judgeable" text
    assert np.abs(frames_out[40][60:, 150:].astype(float) - frames_in[40][60:, 150:]).mean() < 2.0


# ---------------------------------------------------------------------------- face detector
def test_face_detector_searches_the_whole_frame_and_overlapping_tiles() -> None:
    windows = FaceDetector.scan_windows(1280, 720)
    assert windows[0] == (0, 0, 1280, 720)
    tiles = windows[1:]
    assert {(x1 - x0, y1 - y0) for x0, y0, x1, y1 in tiles} == {(400, 400)}  # 5/16 of 1280 px
    assert sorted({t[0] for t in tiles}) == [0, 293, 587, 880]
    assert sorted({t[1] for t in tiles}) == [0, 320]
    covered = np.zeros((720, 1280), bool)
    for x0, y0, x1, y1 in tiles:
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    # portrait: the same tiles turned; small frames: tiles of at least 192 px (the model's input)
    assert len(FaceDetector.scan_windows(720, 1280)) == 9
    assert {(x1 - x0, y1 - y0) for x0, y0, x1, y1 in FaceDetector.scan_windows(320, 480)[1:]} == {(192, 192)}
    assert FaceDetector.scan_windows(160, 120) == [(0, 0, 160, 120)]


def test_face_ellipse_is_the_face_box_enlarged_to_cover_hair_ears_and_chin() -> None:
    # box 20 x 24 px: semi-axes 1.6 x 20 / 2 and 1.6 x 1.25 x 24 / 2, centre 0.1 x 24 px higher
    np.testing.assert_allclose(compute_face_ellipse((100.0, 200.0, 20.0, 24.0)), [100.0, 197.6, 16.0, 24.0])
    np.testing.assert_allclose(
        compute_face_ellipse((100.0, 200.0, 20.0, 24.0), 5.0, 7.0), [100.0, 197.6, 21.0, 31.0]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_confidence": 0}, r"min_confidence must be a number in \(0, 1\], got 0"),
        ({"follow_confidence": 1.5}, r"follow_confidence must be a number in \(0, 1\], got 1.5"),
        ({"hold_s": -0.1}, r"hold_s must be a finite number >= 0, got -0.1"),
    ],
)
def test_face_detector_rejects_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaceDetector(**kwargs)


def test_face_detector_sees_no_face_in_the_stick_figure_world_and_refuses_work_once_closed(
    world: dict,
) -> None:
    frames, times = _decode(world["video"])
    with FaceDetector() as faces:
        for image, time_s in zip(frames[:4], times[:4], strict=True):
            assert faces.update(image, time_s) == ([], [])
        assert faces.scan_cycle_frames == 2 * 7  # every 2nd frame one of 7 windows of 320 x 480
        assert faces.detect(frames[0]).shape == (0, 5)
    with pytest.raises(RuntimeError, match="this FaceDetector is closed; create a new one"):
        faces.update(frames[0], 0.0)


class _FollowStub:
    """Stands in for FaceDetector.follow: finds the face 5 px further left in each earlier frame
    marked visible (pixel [0, 0, 0] == 1), nothing in the others."""

    hold_s = DETECTED_FACE_HOLD_S

    def follow(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        if image[0, 0, 0] != 1:
            return None
        return np.array([box[0] - 5.0, box[1], box[2], box[3], 0.9])


def test_a_new_face_is_followed_back_and_held_for_the_hold_time_before_it() -> None:
    fps = 30.0
    pending = []
    for i in range(15):  # frames 0-14 wait for the encoder; the face is found in frame 15
        image = np.zeros((4, 4, 3), np.uint8)
        image[0, 0, 0] = 1 if i >= 12 else 0  # the detector can follow it back to frame 12
        pending.append(_PendingFrame(image, i / fps, 1.0, i))
    _follow_back(_FollowStub(), pending, np.array([100.0, 50.0, 20.0, 20.0]), 15 / fps)
    # frames 14, 13, 12: followed, 5 px further left each; frames 11 back to 3: frame 12's region,
    # held for 0.3 s (9 frames); frames 0-2: nothing
    for i, x in ((14, 95.0), (13, 90.0), (12, 85.0)):
        assert len(pending[i].ellipses) == 1
        np.testing.assert_allclose(pending[i].ellipses[0], compute_face_ellipse((x, 50.0, 20.0, 20.0)))
    for i in range(3, 12):
        np.testing.assert_allclose(pending[i].ellipses[0], compute_face_ellipse((85.0, 50.0, 20.0, 20.0)))
    assert all(pending[i].ellipses == [] for i in range(3))


# ---------------------------------------------------------------------------- real video
#: frames of the real sample cut for the bystander test: the man stands on the roof while a
#: woman walks past in the foreground, seen from the side
_CLIP_FRAMES = range(60, 101)


def _sharpness(image: np.ndarray, centre: tuple[float, float], half_px: int = 10) -> float:
    """Variance of the Laplacian in a square around ``centre`` (a blurred face has little)."""
    x, y = (int(round(v)) for v in centre)
    patch = np.ascontiguousarray(image[y - half_px : y + half_px, x - half_px : x + half_px])
    return float(cv2.Laplacian(cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


@pytest.fixture(scope="module")
def bystander_clip(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Frames 60-100 of the sample at 1280 x 720, annotated with no keypoints at all (the tested
    person unknown), so that every blurred face is the face detector's work."""
    folder = tmp_path_factory.mktemp("bystander")
    clip = folder / "clip.mp4"
    with VideoWriter(clip, 1280, 720, fps_hint=30.0, crf=12, preset="ultrafast") as writer:
        for frame in iter_frames(sample_path(), max_side_px=1280):
            if frame.index > _CLIP_FRAMES[-1]:
                break
            if frame.index >= _CLIP_FRAMES[0]:
                writer.write(frame.image, (frame.index - _CLIP_FRAMES[0]) / 30.0)
    n = len(_CLIP_FRAMES)
    t = np.arange(n) / 30.0
    nobody = Keypoints2D(
        position=np.full((n, len(KEYPOINTS), 2), np.nan),
        confidence=np.zeros((n, len(KEYPOINTS))),
        time_s=t,
        image_size=(1280, 720),
        source="none",
    )
    out = render_annotated_video(
        clip,
        folder / "annotated.mp4",
        result=make_not_judgeable(make_result()),
        series={"time_s": t},
        keypoints=nobody,
    )
    frames_in, _ = _decode(clip)
    frames_out, _ = _decode(out)
    assert len(frames_in) == len(frames_out) == n
    return {"in": frames_in, "out": frames_out}


@pytest.mark.video
def test_bystanders_face_is_blurred_by_the_face_detector(bystander_clip: dict) -> None:
    frames_in, frames_out = bystander_clip["in"], bystander_clip["out"]
    # the reviewed probe of tests/snapshots/sports2d_demo.json: the woman's face in frame 85
    woman_85 = (843, 405)
    assert _sharpness(frames_in[85 - 60], woman_85) > 200
    assert _sharpness(frames_out[85 - 60], woman_85) < 0.05 * _sharpness(frames_in[85 - 60], woman_85)
    # every face the detector finds in the lower half (the woman walking past), every 5th frame
    found = 0
    with FaceDetector() as faces:
        for i in range(0, len(frames_in), 5):
            for cx, cy, *_ in faces.detect(frames_in[i]):
                if cy > 300:
                    found += 1
                    sharp_in, sharp_out = (
                        _sharpness(frames_in[i], (cx, cy)),
                        _sharpness(frames_out[i], (cx, cy)),
                    )
                    assert sharp_out < 0.1 * sharp_in, (i, cx, cy, sharp_in, sharp_out)
    assert found >= 6
    # the man on the roof (no keypoints given here) is blurred by the detector alone
    for frame, centre in ((60, (457, 93)), (80, (463, 93)), (85, (469, 90))):
        i = frame - 60
        assert _sharpness(frames_out[i], centre) < 0.25 * _sharpness(frames_in[i], centre), frame
    # and the rest stays sharp: the louvres of the shed
    louvres = (300, 470)
    for i in (0, 20, 40):
        assert _sharpness(frames_out[i], louvres, 60) > 0.8 * _sharpness(frames_in[i], louvres, 60)


# ---------------------------------------------------------------------------- census heads
def _census(
    frames: list[tuple[int, list[dict[str, tuple[float, float]]]]], fps: float, size: tuple[int, int]
) -> MultiPersonKeypoints:
    """A census recording: ``(frame, [person points by name])`` per census frame."""
    pos = np.full((len(frames), 3, len(KEYPOINTS), 2), np.nan)
    conf = np.full((len(frames), 3, len(KEYPOINTS)), np.nan)
    for k, (_, people) in enumerate(frames):
        for s, person in enumerate(people):
            for name, xy in person.items():
                pos[k, s, KEYPOINTS.index(name)] = xy
                conf[k, s, KEYPOINTS.index(name)] = 0.9
    return MultiPersonKeypoints(
        position=pos,
        confidence=conf,
        time_s=np.array([f for f, _ in frames]) / fps,
        image_size=size,
        frame_index=np.array([f for f, _ in frames]),
        source="census:test",
    )


def _bystander(x: float, y: float) -> dict[str, tuple[float, float]]:
    """Head and upper body points of a person whose head is centred at ``(x, y)``."""
    return {
        "nose": (x, y + 2),
        "left_eye": (x - 5, y - 3),
        "right_eye": (x + 5, y - 3),
        "left_ear": (x - 10, y),
        "right_ear": (x + 10, y),
        "left_shoulder": (x - 22, y + 32),
        "right_shoulder": (x + 22, y + 32),
        "left_hip": (x - 14, y + 90),
        "right_hip": (x + 14, y + 90),
    }


def test_census_heads_are_computed_like_the_tested_persons_head() -> None:
    census = _census([(0, [_bystander(100.0, 60.0), _bystander(300.0, 80.0)]), (30, [])], 30.0, (480, 270))
    heads = compute_census_heads(census)
    assert heads.shape == (2, 3, 4)  # census frames, person slots
    # centre: the mean of the five face points; semi-axes 0.85 x ear distance, 1.35 x that
    np.testing.assert_allclose(heads[0, 0], [100.0, 60.0 - 4 / 5, 17.0, 1.35 * 17.0])
    np.testing.assert_allclose(heads[0, 1, :2], [300.0, 80.0 - 4 / 5])
    assert np.isnan(heads[0, 2]).all() and np.isnan(heads[1]).all()  # empty slots
    # low-confidence points are ignored: only the shoulders left, the head is estimated above them
    census.confidence[
        0, 0, [KEYPOINTS.index(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
    ] = 0.1
    estimate = compute_census_heads(census)[0, 0]
    np.testing.assert_allclose(estimate, [100.0, 92.0 - 0.6 * 44.0, 0.35 * 44.0, 1.35 * 0.35 * 44.0])


@pytest.fixture(scope="module")
def census_clip(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two textured heads with faces the detector cannot see crossing a smooth background.

    Person A moves right 6 px a frame and the census sees it only at frame 0 (it must be carried
    forwards); person B moves left 5 px a frame and the census sees it only at frame 30 (it must
    be carried backwards). Person C, the tested person, moves down 0.5 px a frame: the census
    sees C on both census frames, and C's keypoints are known in every frame."""
    folder = tmp_path_factory.mktemp("census")
    w, h, fps, n = 480, 360, 30.0, 31
    rng = np.random.default_rng(3)
    texture_a, texture_b, texture_c = (rng.integers(0, 255, (100, 40, 3), dtype=np.uint8) for _ in range(3))
    gradient = np.linspace(60, 160, w, dtype=np.float32)[None, :, None]
    background = np.broadcast_to(gradient, (h, w, 3)).astype(np.uint8)
    a = [(60.0 + 6 * i, 80.0) for i in range(n)]
    b = [(400.0 - 5 * i, 150.0) for i in range(n)]
    c = [(150.0, 260.0 + 0.5 * i) for i in range(n)]
    clip = folder / "clip.mp4"
    with VideoWriter(clip, w, h, fps_hint=fps, crf=12, preset="ultrafast") as writer:
        for i in range(n):
            img = background.copy()
            for (x, y), tex in ((a[i], texture_a), (b[i], texture_b), (c[i], texture_c)):
                x0, y0 = int(round(x)) - 20, int(round(y)) - 25
                img[y0 : y0 + 100, x0 : x0 + 40] = tex  # the head (top 25 px) and the body
            writer.write(img, i / fps)
    census = _census(
        [(0, [_bystander(*c[0]), _bystander(*a[0])]), (30, [_bystander(*b[30]), _bystander(*c[30])])],
        fps,
        (w, h),
    )
    t = np.arange(n) / fps
    tested = np.full((n, len(KEYPOINTS), 2), np.nan)
    for i in range(n):
        for name, xy in _bystander(*c[i]).items():
            tested[i, KEYPOINTS.index(name)] = xy
    keypoints = Keypoints2D(
        position=tested,
        confidence=np.where(np.isfinite(tested[..., 0]), 0.9, 0.0),
        time_s=t,
        image_size=(w, h),
        source="test",
    )
    result = make_not_judgeable(make_result())
    out = {}
    for name, given in (("census", census), ("none", None)):
        out[name] = render_annotated_video(
            clip,
            folder / f"{name}.mp4",
            result=result,
            series={"time_s": t},
            keypoints=keypoints,
            census=given,
        )
    decoded = {name: _decode(path)[0] for name, path in out.items()}
    return {"in": _decode(clip)[0], **decoded, "a": a, "b": b, "c": c}


def test_census_heads_are_carried_forwards_and_backwards_between_census_frames(census_clip: dict) -> None:
    frames_in, blurred, plain = census_clip["in"], census_clip["census"], census_clip["none"]
    for i in range(31):
        for who in ("a", "b"):  # bystanders: no keypoints, no face for the detector
            x, y = census_clip[who][i]
            sharp_in = _sharpness(frames_in[i], (x, y - 4), 6)
            assert sharp_in > 1000, (who, i)
            # without the census nothing blurs these heads (no face the detector knows)
            assert _sharpness(plain[i], (x, y - 4), 6) > 0.5 * sharp_in, (who, i)
            assert _sharpness(blurred[i], (x, y - 4), 6) < 0.1 * sharp_in, (who, i)
    # the smooth background away from everyone is untouched (bottom strip, below the panel)
    for i in (0, 15, 30):
        assert (
            np.abs(blurred[i][240:262, 220:260].astype(float) - frames_in[i][240:262, 220:260]).mean() < 3.0
        )


def test_census_heads_leave_the_tested_persons_body_alone(census_clip: dict) -> None:
    frames_in, blurred, plain = census_clip["in"], census_clip["census"], census_clip["none"]
    for i in range(31):
        x, y = census_clip["c"][i]
        # the head is blurred by the keypoints in both videos
        assert _sharpness(blurred[i], (x, y - 4), 6) < 0.1 * _sharpness(frames_in[i], (x, y - 4), 6), i
        # the body below it (clear of the skeleton's lines) is as sharp as without the census
        # (not equal: the encoder quantises random texture differently when the rest differs)
        body = (x + 8, y + 46)
        assert _sharpness(blurred[i], body, 4) > 0.7 * _sharpness(plain[i], body, 4), i
        assert _sharpness(blurred[i], body, 4) > 0.5 * _sharpness(frames_in[i], body, 4), i


def test_column_median_is_numpys_median_of_each_column():
    """The optical flow's cheap median gives exactly np.median(axis=0), odd and even counts, both dtypes."""
    from medius.report.annotate import _column_median

    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        for n in range(1, 24):
            values = (rng.normal(size=(n, 2)) * 20).astype(dtype)
            got, want = _column_median(values), np.median(values, axis=0)
            assert got.dtype == want.dtype
            assert np.array_equal(got, want)
    assert np.array_equal(_column_median(np.array([[1.0, 4.0], [3.0, 2.0]])), [2.0, 3.0])


def test_each_reps_deepest_point_is_marked_on_its_own_legs_curve(tmp_path: Path, monkeypatch) -> None:
    """A left rep's triangle sits on the left leg's value, not the right's (each panel draws both legs)."""
    import medius.report.plots as plots_module

    figures: list = []

    class Recording(plots_module.Figure):
        def __init__(self, *a, **k) -> None:
            super().__init__(*a, **k)
            figures.append(self)

    monkeypatch.setattr(plots_module, "Figure", Recording)
    t = np.arange(0.0, 2.0, 0.1)
    series = {"time_s": t, "fppa_deg_left": np.full(t.size, 5.0), "fppa_deg_right": np.full(t.size, -7.0)}
    result = {"task": "single-leg-squat",
              "reps": [{"rep": 1, "side": "left", "status": "complete", "start_s": 0.2, "bottom_s": 1.0, "end_s": 1.8}]}
    plot_timeseries(result, series, tmp_path / "t.svg")
    marks = [ln for fig in figures for ax in fig.axes for ln in ax.get_lines() if ln.get_marker() == "v"]
    assert [list(ln.get_ydata()) for ln in marks] == [[5.0]]
