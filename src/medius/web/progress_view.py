"""The progress page's charts: one per measure with both sides, drawn as inline SVG.

Each side's line has its measurement-error band around its first value, in the measure's own
unit (a relative error, such as the 5 % of hand-held dynamometry, is taken of that value), and a
verdict that is the one ``medius compare`` gives for the first and the last visit. The SVG is
written directly (no plotting library): a page of 20 charts costs milliseconds, and it is inline,
so the page is one request.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup

from medius.report.findings_view import verdict_words

__all__ = ["Line", "Measure", "group_measures", "measure_svg", "verdict_words"]

SIDE_COLOURS = {"left": "#0072B2", "right": "#D55E00", None: "#1d2433"}


@dataclass
class Line:
    side: str | None
    points: list[tuple[date, float]]
    band: float | None
    verdict: str = ""
    verdict_text: str = ""


@dataclass
class Measure:
    key: str
    title: str
    unit: str
    band_label: str
    lines: list[Line] = field(default_factory=list)


def group_measures(series: list[Any], unit_words: Any = None) -> list[Measure]:
    """Series of :func:`medius.web.clinical_views.progress_series` (one per side) grouped by measure."""
    out: dict[str, Measure] = {}
    for s in series:
        key = getattr(s, "measure", "") or s.key
        m = out.get(key)
        if m is None:
            unit = unit_words(s.unit) if unit_words else s.unit
            m = out[key] = Measure(key, getattr(s, "measure_title", "") or s.title, unit, s.band_label)
        m.lines.append(Line(getattr(s, "side", None), list(s.points), s.band, s.verdict, s.verdict_text))
    for m in out.values():
        m.lines.sort(key=lambda ln: {"left": 0, "right": 1}.get(ln.side or "", 2))
    return list(out.values())


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    span = hi - lo
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    v = first
    while v <= hi + 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.1f}"


def measure_svg(m: Measure, *, standalone: bool = False) -> Markup:
    """One chart: both sides, their error bands, dates on x (sensible for one visit too)."""
    w, h, ml, mr, mt, mb = 640, 220, 52, 14, 26, 34
    pw, ph = w - ml - mr, h - mt - mb
    dates = sorted({d for ln in m.lines for d, _ in ln.points})
    values = [v for ln in m.lines for _, v in ln.points]
    for ln in m.lines:
        if ln.band is not None and ln.points:
            values += [ln.points[0][1] - ln.band, ln.points[0][1] + ln.band]
    if not dates or not values:
        return Markup("")
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 1.0)
    lo, hi = lo - pad, hi + pad
    d0, d1 = dates[0], dates[-1]
    span = (d1 - d0).days
    margin = max(3, round(span * 0.06))
    x0, x1 = d0 - timedelta(days=margin), d1 + timedelta(days=margin)
    total = (x1 - x0).days

    def x(d: date) -> float:
        return ml + pw * (d - x0).days / total

    def y(v: float) -> float:
        return mt + ph * (1 - (v - lo) / (hi - lo))

    e = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" '
        f'aria-label="{e(m.title)}" class="progress-chart" preserveAspectRatio="xMidYMid meet">',
        f"<title>{e(m.title)}</title>",
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fff" stroke="#d8dde6"/>',
    ]
    for t in _nice_ticks(lo, hi):
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eef1f6"/>')
        parts.append(f'<text x="{ml - 6}" y="{y(t) + 4:.1f}" font-size="12" text-anchor="end" fill="#5b6578">'
                     f"{_fmt(t)}</text>")
    shown = dates if len(dates) <= 4 else [dates[0], dates[len(dates) // 2], dates[-1]]
    for d in shown:
        parts.append(f'<text x="{x(d):.1f}" y="{h - 12}" font-size="12" text-anchor="middle" fill="#5b6578">'
                     f"{d.isoformat()}</text>")
    parts.append(f'<text x="{ml}" y="16" font-size="12" fill="#5b6578">{e(m.unit)}</text>')
    legend_x = ml + pw
    for ln in reversed(m.lines):
        if ln.side:
            label = ln.side
            parts.append(f'<text x="{legend_x}" y="16" font-size="13" font-weight="600" text-anchor="end" '
                         f'fill="{SIDE_COLOURS.get(ln.side, "#1d2433")}">{label}</text>')
            legend_x -= 46
    for ln in m.lines:
        colour = SIDE_COLOURS.get(ln.side, "#1d2433")
        if ln.band is not None and ln.points:
            first = ln.points[0][1]
            top, bottom = y(first + ln.band), y(first - ln.band)
            parts.append(f'<rect x="{ml}" y="{top:.1f}" width="{pw}" height="{max(bottom - top, 0.5):.1f}" '
                         f'fill="{colour}" fill-opacity="0.12" class="band"/>')
        pts = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in ln.points)
        if len(ln.points) > 1:
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for d, v in ln.points:
            parts.append(f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}">'
                         f"<title>{e(ln.side or '')} {d.isoformat()}: {_fmt(v)} {e(m.unit)}</title></circle>")
    parts.append("</svg>")
    svg = "".join(parts)
    if standalone:
        svg = '<?xml version="1.0" encoding="utf-8"?>\n' + svg
    return Markup(svg)
