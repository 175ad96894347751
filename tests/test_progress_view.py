"""Issue 21: the progress charts (inline SVG, both sides, error bands, sensible axes for one visit)."""

from __future__ import annotations

import re
from datetime import date

from medius.web.progress_view import Line, Measure, measure_svg, verdict_words


def test_one_visit_gets_a_short_axis_around_its_date():
    m = Measure("k", "Hip abductor strength", "% of body weight", "5 %",
                [Line("left", [(date(2026, 3, 2), 31.4)], 1.57), Line("right", [(date(2026, 3, 2), 24.4)], 1.22)])
    svg = str(measure_svg(m))
    assert svg.count("<circle") == 2 and "<polyline" not in svg
    assert re.findall(r">(\d{4}-\d\d-\d\d)<", svg) == ["2026-03-02"]  # one date label, not a 4-year axis
    assert svg.count('class="band"') == 2 and ">left<" in svg and ">right<" in svg


def test_both_sides_in_one_chart_with_bands_in_the_measure_unit():
    pts = [(date(2026, 1, 5), 24.4), (date(2026, 2, 5), 29.3)]
    m = Measure("k", "Hip abductor strength", "% of body weight", "5 %", [Line("right", pts, 24.4 * 0.05)])
    svg = str(measure_svg(m, standalone=True))
    assert svg.startswith("<?xml") and "<polyline" in svg
    band = re.search(r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"[^>]*class="band"', svg)
    ys = [float(v) for v in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    top, height = float(band.group(1)), float(band.group(2))
    # the second value (+20 %) lies outside the ±5 %-of-value band around the first
    assert top <= ys[0] <= top + height and not top <= ys[1] <= top + height


def test_verdict_words():
    assert verdict_words("improved", True, 1.16) == (
        "improved", "improved beyond the measurement error, and beyond the minimal important difference")
    assert verdict_words("improved", False, 10.0)[1].endswith("less than the minimal important difference")
    assert verdict_words("no_real_change", None, None)[0] == "unchanged"
    assert verdict_words("worse", None, None)[1] == (
        "worse beyond the measurement error, no minimal important difference published")


def test_medius_compare_page_states_the_verdicts_first(tmp_path):
    from pathlib import Path

    from typer.testing import CliRunner

    from medius.cli import app

    ex = Path(__file__).resolve().parents[1] / "examples" / "assessments"
    res = CliRunner().invoke(app, ["compare", str(ex / "pfp_right_visit1.yaml"), str(ex / "pfp_right_visit2.yaml"),
                                   "--out", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "p" / "progress.html").read_text()
    body = re.sub(r"<[^>]+>", " ", html.split("<body>", 1)[1])
    assert body.index("Summary") < body.index("Every measurement")
    # the 20 % hip abductor gain (24.4 -> 29.7 % of body weight) is improved beyond the 5 % error
    assert "right hip abductor strength (24.4 → 29.7 % of body weight)" in body
    assert "improved beyond the measurement error" in body and "pct_bw" not in body
