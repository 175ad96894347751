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


def test_a_left_right_difference_must_exceed_the_video_error_of_both_sides():
    """The committed video squat result with the sides 12° apart in FPPA: beyond the literature's
    MDC (8.93°) but within medius' measured video error of the two values (±e a side, ±e·√2 for
    the difference), so the summary calls it within the measurement error; with a measured error
    of 1° it is beyond both."""
    import copy
    import json
    import math
    from pathlib import Path

    from medius.analysis.result import AnalysisResult
    from medius.report._key import _asymmetries

    data = json.loads((Path(__file__).parent / "data" / "results" / "video-squat-quick-sls-front.json").read_text())
    data["summary"]["left"]["fppa_deg"]["mean"] = 22.0
    data["summary"]["right"]["fppa_deg"]["mean"] = 10.0
    data["summary"]["difference"]["fppa_deg"]["left_minus_right"] = 12.0
    own = data["measured_error"]["fppa_deg"]["at_bottom"]["value"]
    assert own * math.sqrt(2) > 12.0 > 8.93
    line = next(x for x in _asymmetries(AnalysisResult.from_json(data)) if "FPPA" in x)
    assert "left 12.0° larger" in line and "within the measurement error" in line, line
    assert f"±{own * math.sqrt(2):.1f}° for the difference" in line, line
    tight = copy.deepcopy(data)
    tight["measured_error"]["fppa_deg"]["at_bottom"]["value"] = 1.0
    line = next(x for x in _asymmetries(AnalysisResult.from_json(tight)) if "FPPA" in x)
    assert "beyond the measurement error" in line, line


def test_every_view_judges_a_difference_by_one_rule() -> None:
    """A left-right difference between one side's error and the difference's error (sqrt(2) x) is
    within the error in the report's table as in its key summary and the visit comparison."""
    from medius.registry.measured import difference_beyond, difference_error
    from medius.report.html import _difference_note

    own, mdc = 4.0, 3.0
    diff = 5.0  # beyond one side's error (4) and the MDC (3), within the difference's (5.66)
    assert difference_beyond(diff, mdc, difference_error(own, own)) is False
    assert _difference_note(diff, mdc, own) == "within medius' measured error"
    assert _difference_note(6.0, mdc, own) == "exceeds the MDC"
    assert _difference_note(2.0, mdc, None) == "within measurement error"
    assert _difference_note(6.0, None, own) == "exceeds medius' measured error"
    assert _difference_note(2.0, None, None) == "" and difference_beyond(2.0, None, None) is None
    assert difference_beyond(3.0, 3.0, None) is False  # equal to the MDC: not beyond it
