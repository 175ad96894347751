"""Issue 21: every movement report opens with the 30-second summary; details follow, folded."""

from __future__ import annotations

import re

import pytest

from medius.report._key import key_summary
from medius.report.html import render_html_report
from tests.conftest import five_and_five, write_synthetic


@pytest.fixture(scope="module")
def single_leg_result(tmp_path_factory):
    from medius.analysis import AnalysisRequest
    from medius.report.outputs import run_analysis

    folder = tmp_path_factory.mktemp("kp")
    path, _ = write_synthetic(five_and_five(), folder / "kp")
    oc = run_analysis(AnalysisRequest(path, task="single-leg-squat", out_dir=folder / "out", fps=30.0,
                      image_size=(1080, 1920), annotated_video=False))
    return oc.result


def _sections(html: str) -> list[str]:
    return re.findall(r'<section class="([^"]+)"', html)


def test_single_leg_report_opens_with_the_summary(single_leg_result):
    html = render_html_report(single_leg_result)
    assert _sections(html)[0] == "key"
    key = html[html.index('id="key-summary"') : html.index("</section>", html.index('id="key-summary"'))]
    # the right knee moves inwards beyond the healthy band: the judgement, value ± SEM and source
    assert re.search(r"Knee frontal-plane projection angle \(FPPA\) 1[56]\.\d° \(± 3\.0°\): above the range of", key)
    assert "Herrington 2014" in key and "Next." in key
    # capture checks, reps, definitions and provenance are folded
    for name in ("Capture checks", "Reps (", "Metric definitions", "Provenance"):
        i = html.index(name)
        assert html.rfind("<summary>", 0, i) > html.rfind("</summary>", 0, i), name
    assert "<details open><summary>Parameters" not in html


def test_walking_report_states_the_trendelenburg_result_first(lab_walk_result):
    html = render_html_report(lab_walk_result)
    assert _sections(html)[0] == "key"
    first = html.index("Trendelenburg pattern: ")
    assert first < html.index("Capture checks") < html.index("Gait summary")
    key = key_summary(lab_walk_result)
    assert [s["side"] for s in key["sides"]] == ["left", "right"]
    assert all(s["lines"][0]["text"].startswith("Trendelenburg pattern: ") for s in key["sides"])


def test_not_judgeable_report_carries_the_filming_checklist():
    result = {
        "task": "walk", "status": "not_judgeable", "input": {"name": "x.mp4", "kind": "video"},
        "quality": {"judgeable": False, "view": "side", "checks": [], "warnings": [],
                    "reasons": ["The camera films the person from the side."], "advice": []},
        "provenance": {},
    }
    html = render_html_report(result)
    assert _sections(html)[0] == "key"
    assert "cannot be judged" in html and "The camera films the person from the side." in html
    assert "Filming checklist" in html and "tripod" in html and "Walking (from behind)" in html


@pytest.fixture(scope="module")
def lab_walk_result():
    import json
    from pathlib import Path

    from medius.analysis import AnalysisRequest
    from medius.report.outputs import run_analysis

    data = Path(__file__).parent / "data" / "uqam"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        oc = run_analysis(AnalysisRequest(data / "gait-lower-body.c3d", task="walk", out_dir=Path(tmp) / "o",
                          static=data / "static-100frames.c3d", marker_set=data / "plug-in-gait-static-medial.yaml",
                          annotated_video=False))
        return json.loads(json.dumps(oc.result))
