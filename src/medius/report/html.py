"""The self-contained HTML report (one file, opens from disk, no network).

CSS is inline, SVG plots are inlined (their element ids prefixed per plot so several plots
can share one document), the annotated video is embedded as a base64 ``data:`` URI when it
is smaller than ``embed_video_max_mb`` (else linked by its path relative to the report).
A Content-Security-Policy meta tag forbids scripts and any network fetch. All text taken
from the result is escaped by Jinja2's autoescaping.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from medius.analysis.result import AnalysisResult, Stat
from medius.errors import OutputError
from medius.registry.measured import difference_beyond, difference_error
from medius.report._common import (
    GAIT_METRIC_ORDER,
    SIDE_COLOURS_HEX,
    SIDES,
    finite_number,
    format_value,
    interpretation_ranges,
    is_gait,
    is_judgeable,
    measurement_errors,
    metric_label,
    metric_short_label,
    metric_unit,
    ordered_metrics,
    rep_labels,
    stance_labels,
    unit_symbol,
)
from medius.report._key import key_summary
from medius.report._templates import template_environment
from medius.report.rows import SummaryRow, summary_rows, unit_columns

__all__ = ["REPORT_TITLE_TASKS", "build_report_context", "render_html_report", "write_html_report"]

#: display names of the tasks
REPORT_TITLE_TASKS = {
    "single-leg-squat": "Single-leg squat",
    "step-down": "Step-down",
    "walk": "Walking",
    "run": "Running",
}

_VIDEO_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime"}
_IMAGE_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


# ---------------------------------------------------------------------------- assets
_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_REF = re.compile(r'(xlink:href|href)="#([^"]+)"')
_SVG_URL = re.compile(r"url\(#([^)]+)\)")


def inline_svg(text: str, prefix: str) -> str:
    """An SVG file's text ready to inline into HTML.

    Drops the XML declaration, DOCTYPE and ``<metadata>`` and prefixes every element id (and
    every ``#id`` reference) with ``prefix`` so that ids of different plots cannot collide.
    """
    start = text.find("<svg")
    if start < 0:
        raise ValueError("not an SVG document: no <svg> element")
    svg = text[start:]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<script\b.*?</script>", "", svg, flags=re.S | re.I)
    svg = _SVG_ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = _SVG_REF.sub(lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"', svg)
    svg = _SVG_URL.sub(lambda m: f"url(#{prefix}{m.group(1)})", svg)
    # let CSS size the plot: keep the viewBox, drop the fixed width/height in pt
    svg = re.sub(r'(<svg[^>]*?)\swidth="[^"]*"', r"\1", svg, count=1)
    svg = re.sub(r'(<svg[^>]*?)\sheight="[^"]*"', r"\1", svg, count=1)
    return svg.strip()


def _plot_entries(plot_paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    entries = []
    for k, raw in enumerate(plot_paths):
        path = Path(raw)
        try:
            if path.suffix.lower() == ".svg":
                markup = Markup(inline_svg(path.read_text(encoding="utf-8"), f"p{k}-"))
            elif path.suffix.lower() in _IMAGE_MIME:
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                markup = Markup('<img alt="" src="data:{};base64,{}">').format(
                    _IMAGE_MIME[path.suffix.lower()], data
                )
            else:
                raise ValueError(f"plot_paths[{k}] must be an .svg, .png or .jpg file, got {path.name!r}")
        except OSError as exc:
            raise OutputError(
                f"cannot read the plot for the report: {exc.strerror or exc}", path=path
            ) from exc
        entries.append({"name": path.name, "markup": markup, "caption": _plot_caption(path.name)})
    return entries


def _plot_caption(name: str) -> str:
    if "stance_curves" in name:
        return (
            "Each angle over the stance phase, time-normalised from foot strike (0 %) to foot off "
            "(100 %): mean (line) ± SD (band) over the complete stances of each leg. The dotted "
            "vertical line is mid-stance (50 %); the red dashed line on the pelvic-drop panel is the "
            "Trendelenburg-pattern cut-off, which applies at mid-stance. For lab trials, the thin "
            "dashed lines are the same means measured on the frontal projection (what a camera "
            "behind the person would see)."
        )
    if "stance_values" in name:
        return (
            "Left–right comparison, one dot per stance (the statistic named in each panel: the peak "
            "within the stance or the value at mid-stance). Black: mean ± SD of the side; red dashed "
            "line: the Trendelenburg-pattern cut-off; green / purple bands: reference ranges of "
            "healthy / patient groups, where the registry has one. For lab trials, hollow diamonds "
            "are the same stances measured on the frontal projection (2D), beside the 3D values."
        )
    if "stance_timeline" in name:
        return (
            "The whole recording: pelvic drop and hip adduction of each leg as if it were the stance "
            "leg (faint), bold inside that leg's stances (shaded; L = left, R = right); dots mark "
            "mid-stance."
        )
    if "timeseries" in name:
        return (
            "Metrics over time. Shaded bands are reps (L = left stance, R = right stance); bold lines "
            "are the stance leg's values inside each rep, faint lines the per-frame values of each "
            "leg outside its reps; triangles mark each rep's deepest point; green bands are "
            "reference ranges of healthy groups, purple bands those of patient groups."
        )
    if "rep_values" in name:
        return (
            "Peak value of each rep by side. Filled dots: complete reps; hollow dots: partial reps; "
            "black: mean ± SD of complete reps; grey box: mean ± SEM (measurement error); green / purple "
            "bands: reference ranges of healthy / patient groups."
        )
    return ""


def _video_entry(video_path: str | Path | None, out_path: Path, embed_video_max_mb: float) -> dict | None:
    if video_path is None:
        return None
    path = Path(video_path)
    mime = _VIDEO_MIME.get(path.suffix.lower(), "video/mp4")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise OutputError(
            f"cannot read the annotated video for the report: {exc.strerror or exc}", path=path
        ) from exc
    if size < embed_video_max_mb * 1024 * 1024:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return {
            "src": f"data:{mime};base64,{data}",
            "embedded": True,
            "mime": mime,
            "name": path.name,
            "size_mb": size / 1024 / 1024,
        }
    rel = os.path.relpath(path.resolve(), out_path.resolve().parent)
    return {
        "src": Path(rel).as_posix(),
        "embedded": False,
        "mime": mime,
        "name": path.name,
        "size_mb": size / 1024 / 1024,
    }


# ---------------------------------------------------------------------------- context

def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts as ``(dotted.key, text)`` rows; lists and scalars as compact JSON text."""
    rows: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, sub in value.items():
            rows.extend(_flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, str):
        rows.append((prefix, value))
    else:
        rows.append((prefix, json.dumps(value, ensure_ascii=False, default=str)))
    return rows


def _error_text(err: Mapping[str, Any] | None, unit: str) -> str:
    if not err:
        return ""
    parts = []
    if finite_number(err.get("sem")):
        parts.append(f"± SEM {format_value(err['sem'], 1, unit)}")
    if finite_number(err.get("mdc")):
        parts.append(f"a change < MDC {format_value(err['mdc'], 1, unit)} is within measurement error")
    return "; ".join(parts)


def _mean_sd(mean: Any, sd: Any, unit: str, digits: int) -> str:
    """``mean ± SD`` (``mean`` alone without an SD; "–" without a mean)."""
    if not finite_number(mean):
        return "–"
    text = format_value(mean, digits, unit)
    return text + f" ± {format_value(sd, digits, unit)}" if finite_number(sd) else text


def _cell(stat: Stat, unit: str, digits: int = 1) -> dict[str, Any]:
    """One side's ``mean ± SD`` text and n (None where the result records none)."""
    n = stat.n if stat.keys_ is not None and "n" in stat.keys_ else None  # n recorded for this side
    return {"text": _mean_sd(stat.mean, stat.sd, unit, digits), "n": n,
            "mean": stat.mean if finite_number(stat.mean) else None}


def _difference_note(diff: float | None, mdc: float | None, own: float | None) -> str:
    """The per-side tables' note on a left-right difference, by the rule every view judges a
    difference with (:func:`~medius.registry.measured.difference_beyond`); ``own``: medius' measured
    error of one side's value."""
    if not finite_number(diff):
        return ""
    d = float(diff)
    mdc = float(mdc) if finite_number(mdc) else None
    own_diff = difference_error(own, own)
    beyond = difference_beyond(d, mdc, own_diff)
    if beyond is None:
        return ""
    if not beyond:
        return "within medius' measured error" if own_diff is not None and abs(d) <= own_diff else "within measurement error"
    return "exceeds the MDC" if mdc is not None else "exceeds medius' measured error"


def _summary_rows(result: Mapping[str, Any], res: AnalysisResult) -> list[dict[str, Any]]:
    """The single-leg per-side table: the rows of :func:`medius.report.rows.summary_rows`, with
    the report's measurement-error notes."""
    errors = measurement_errors(result)
    rows = []
    for row in summary_rows(res):
        metric = row.metric
        unit = metric_unit(result, metric)
        err = errors.get(metric)
        cells = {side: _cell(row.left if side == "left" else row.right, unit) for side in SIDES}
        diff = row.left_minus_right
        mdc = err.get("mdc") if err else None
        measured = res.measured_error_of(metric, row.statistic)
        own = float(measured["value"]) if finite_number(measured.get("value")) else None
        diff_note = _difference_note(diff, mdc, own)
        lit = _error_text(err, unit_symbol(err.get("unit")) if err and err.get("unit") else unit)
        if own is not None:
            error_text = (f"± {format_value(own, 1, unit)} measured by medius for this kind of recording "
                          f"(95 % of {measured.get('n')} rendered test values)")
            error_text += f"; literature {lit}" if lit else ""
        else:
            error_text = lit
        rows.append(
            {
                "metric": metric,
                "label": metric_label(result, metric),
                "unit": unit,
                "left": {k: cells["left"][k] for k in ("text", "n")},
                "right": {k: cells["right"][k] for k in ("text", "n")},
                "diff": format_value(diff, 1, unit, signed=True),
                "diff_note": diff_note,
                "error": error_text,
                "error_source": (err or {}).get("source") or "",
            }
        )
    return rows


def _rep_table(result: Mapping[str, Any], res: AnalysisResult) -> dict[str, Any]:
    """The per-rep table: the columns of :func:`medius.report.rows.unit_columns` by each metric's
    summary statistic."""
    columns = [c for c in unit_columns(res) if c.statistic == res.statistic_of(c.metric)]
    rows = []
    for rep, label in zip(res.reps, rep_labels([r.to_json() for r in res.reps]), strict=True):
        rows.append(
            {
                "rep": rep.rep,
                "label": label,
                "side": rep.side or "unclear",  # a rep whose stance leg could not be told
                "colour": SIDE_COLOURS_HEX.get(rep.side or "", "#555555"),
                "status": rep.status,
                "start": format_value(rep.start_s, 2),
                "bottom": format_value(rep.bottom_s, 2),
                "end": format_value(rep.end_s, 2),
                "values": [format_value(c.get(rep), 1, metric_unit(result, c.metric)) for c in columns],
                "note": rep.note,
            }
        )
    return {
        "columns": [{"label": metric_short_label(result, c.metric), "unit": metric_unit(result, c.metric)}
                    for c in columns],
        "rows": rows,
    }


def _interpretations(result: Mapping[str, Any], res: AnalysisResult) -> list[dict[str, Any]]:
    """Interpretation entries (the result's typed ``interpretation``) ordered by metric then side;
    identical texts of both sides merged."""
    entries = res.interpretation
    order = {m: k for k, m in enumerate(ordered_metrics(list(dict.fromkeys(e.metric or "" for e in entries))))}
    side_rank: dict[str | None, int] = {"left": 0, "right": 1}
    ranked = sorted(
        enumerate(entries),
        key=lambda ke: (order.get(ke[1].metric or "", 99), side_rank.get(ke[1].side), ke[0]),
    )
    out: list[dict[str, Any]] = []
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for _, entry in ranked:
        metric = entry.metric or ""
        text = entry.text or ""
        side = entry.side or ""
        key = (metric, text, entry.verdict or "none")
        if key in merged and side and side not in merged[key]["sides"]:
            merged[key]["sides"].append(side)
            continue
        err = entry.measurement_error or {}
        unit = unit_symbol(err.get("unit")) if err.get("unit") else metric_unit(result, metric)
        item = {
            "label": metric_label(result, metric) if metric else "",
            "sides": [side] if side else [],
            "verdict": entry.verdict or "none",
            "text": text,
            "provisional": bool(entry.provisional),
            "source": entry.source or "",
            "cohort": entry.extra.get("cohort") or "",
            "error": _error_text(err, unit),
            "error_source": err.get("source") or "",
            "metric": metric,
            "reference_id": entry.reference_id,
        }
        merged[key] = item
        out.append(item)
    return out


# ---------------------------------------------------------------------------- gait
#: how each per-stance statistic is taken (docs/conventions.md, "Gait")
_GAIT_STAT_LABELS = {"peak": "peak in stance", "at_mid_stance": "at mid-stance"}
_GAIT_PEAK_RULES = {
    "pelvic_drop_deg": "the largest value between foot strike and foot off",
    "hip_adduction_deg": "the largest value between foot strike and foot off",
    "trunk_lean_deg": "the signed value farthest from zero between foot strike and foot off",
    "fppa_deg": "the signed value farthest from zero between foot strike and foot off",
}
#: the labels of the per-stance times in the summary (metric name -> label, unit)
_GAIT_SCALAR_LABELS = {
    "stance_time_s": ("Stance time", "s"),
    "step_time_s": ("Step time", "s"),
}
_MARKER_METHODS = {
    "zeni": "markers: heel and toe against the pelvis (coordinate method of Zeni et al. 2008)",
    "velocity": "markers: foot-velocity method (O'Connor et al. 2007)",
}


def _metric_sources(result: Mapping[str, Any]) -> dict[str, str]:
    """Lab trials: where each per-stance value comes from (``3D ...`` or ``frontal projection``)."""
    sources: dict[str, str] = {}
    for st in result.get("stances") or []:
        for k, v in (st.get("metric_sources") or {}).items():
            sources.setdefault(k, str(v))
    return sources


def _gait_label(result: Mapping[str, Any], metric: str) -> str:
    """The metric's label; a registry label marked "(2D)" loses the mark where a lab trial measured it in 3D."""
    label = metric_label(result, metric)
    if _metric_sources(result).get(metric, "").startswith("3D"):
        label = label.replace(" (2D)", "")
    return label


def _mean_sd_text(stats: Mapping[str, Any] | None, unit: str, digits: int = 1) -> dict[str, Any]:
    stats = stats or {}
    mean, n = stats.get("mean"), stats.get("n")
    return {"text": _mean_sd(mean, stats.get("sd"), unit, digits), "n": n if isinstance(n, int) else None,
            "mean": mean if finite_number(mean) else None}


def _scalar_label(result: Mapping[str, Any], name: str) -> tuple[str, str]:
    if name in _GAIT_SCALAR_LABELS:
        return _GAIT_SCALAR_LABELS[name]
    return metric_label(result, name), metric_unit(result, name)


def _events_description(result: Mapping[str, Any]) -> dict[str, Any]:
    """Where the gait events came from: lab trials record it in ``provenance.parameters.events``."""
    params = (result.get("provenance") or {}).get("parameters") or {}
    info = params.get("events") if isinstance(params.get("events"), Mapping) else None
    events = [e for e in result.get("events") or [] if isinstance(e, Mapping)]
    n = len(events)
    notes: list[str] = []
    if info is None:
        kind = (result.get("input") or {}).get("kind") or ""
        if kind in ("c3d", "marker-trc", "marker-text"):
            text = "lab trial (source not recorded)"
        else:
            text = (
                "video keypoints: each foot's image velocity against that of a planted foot "
                "(medius 2D detector)"
            )
        return {"text": text, "n": n, "notes": notes, "requested": ""}
    used = str(info.get("used") or "")
    method = _MARKER_METHODS.get(str(info.get("marker_method") or ""), "markers")
    if used == "markers":
        text = method
    elif used == "force-plates":
        text = "force plates (vertical force threshold)"
    elif used == "markers + force plates":
        replaced = info.get("replaced_by_force_plates") or []
        text = f"{method}; force-plate contacts replace {len(replaced)} of them (the reference method)"
    elif used == "file":
        text = "the events stored in the file"
    else:
        text = used or "not recorded"
    for key in ("marker_notes", "force_plate_notes"):
        notes.extend(str(x) for x in info.get(key) or [])
    plates = info.get("force_plates")
    if isinstance(plates, int) and used in ("markers",) and str(info.get("requested")) == "auto":
        notes.append(f"force plates in the file: {plates}")
    return {"text": text, "n": info.get("n", n), "notes": notes, "requested": str(info.get("requested") or "")}


def _gait_summary_rows(result: Mapping[str, Any], res: AnalysisResult) -> list[dict[str, Any]]:
    """Rows of the per-side table: the rows of :func:`medius.report.rows.summary_rows` but cadence
    (shown apart): each angle metric by its summary statistic then by the other one, then the
    per-stance values that have a mean."""
    errors = measurement_errors(result)
    rows: list[dict[str, Any]] = []
    summary = [r for r in summary_rows(res) if not r.is_trial]
    ordered: list[SummaryRow] = []  # each curve metric's summary statistic first
    for row in summary:
        if row.headline:
            ordered.append(row)
            ordered.extend(r for r in summary if r.metric == row.metric and not r.headline)
    for row in ordered:
        metric = row.metric
        curve = row.statistic != "mean"
        if curve:
            label, unit = _gait_label(result, metric), metric_unit(result, metric)
            stat_label, digits = _GAIT_STAT_LABELS.get(row.statistic, row.statistic), 1
        else:
            if row.left.mean is None and row.right.mean is None:
                continue
            (label, unit), stat_label = _scalar_label(result, metric), "per stance"
            digits = 2 if unit == "s" else 1
        if row.headline:
            diff = row.left_minus_right
        else:  # the other statistic: the difference of the means, unrounded
            diff = (row.left.mean - row.right.mean
                    if row.left.mean is not None and row.right.mean is not None else None)
        err = errors.get(metric)
        own = res.measured_error_of(metric, row.statistic).get("value")
        note = _difference_note(diff, err.get("mdc") if err else None, float(own) if finite_number(own) else None)
        rows.append(
            {
                "metric": metric,
                "label": label,
                "statistic": stat_label,
                "unit": unit,
                "left": _cell(row.left, unit, digits),
                "right": _cell(row.right, unit, digits),
                "diff": format_value(diff, digits, unit, signed=True),
                "diff_note": note,
                "error": _error_text(err, unit_symbol(err.get("unit")) if err and err.get("unit") else unit),
                "error_source": (err or {}).get("source") or "",
            }
        )
    return rows


def _standing_drop(result: Mapping[str, Any]) -> dict[str, Any] | None:
    """Lab trials with a static trial: the pelvic drop relative to the standing posture, per side."""
    vs = result.get("pelvic_drop_vs_standing") or {}
    summary = vs.get("summary") or {}
    if not summary:
        return None
    unit = metric_unit(result, "pelvic_drop_deg")
    out: dict[str, Any] = {
        "baseline": format_value(vs.get("standing_obliquity_deg_left"), 1, unit, signed=True),
        "why": vs.get("why_not_in_summary") or "",
    }
    for side in SIDES:
        st = summary.get(side) or {}
        out[side] = {k: _mean_sd_text(st.get(k) or {}, unit)["text"] for k in ("peak", "at_mid_stance")}
    return out


def _frontal_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Lab trials: the same side means in 3D and on the frontal projection (2D), side by side."""
    f2d = (result.get("frontal_2d") or {}).get("summary") or {}
    summary = result.get("summary") or {}
    if not f2d:
        return []
    sources = _metric_sources(result)
    rows = []
    for metric in GAIT_METRIC_ORDER:
        stats3: dict[str, Mapping[str, Any]] = {s: (summary.get(s) or {}).get(metric) or {} for s in SIDES}
        stats2: dict[str, Mapping[str, Any]] = {s: (f2d.get(s) or {}).get(metric) or {} for s in SIDES}
        if not any(stats3.values()) and not any(stats2.values()):
            continue
        stat = next((x["statistic"] for x in (*stats3.values(), *stats2.values()) if x.get("statistic")), "peak")
        stats = [stat] + (["at_mid_stance"] if metric == "pelvic_drop_deg" and stat != "at_mid_stance" else [])
        unit = metric_unit(result, metric)
        for st in stats:
            cells = {}
            for side in SIDES:
                a = stats3[side].get(st) or {}
                b = stats2[side].get(st) or {}
                amean, bmean = a.get("mean"), b.get("mean")
                d = amean - bmean if finite_number(amean) and finite_number(bmean) else None
                cells[side] = {
                    "lab": _mean_sd_text(a, unit),
                    "frontal": _mean_sd_text(b, unit),
                    "diff": format_value(d, 1, unit, signed=True),
                }
            rows.append(
                {
                    "label": _gait_label(result, metric),
                    "statistic": _GAIT_STAT_LABELS.get(st, st),
                    "unit": unit,
                    "source": sources.get(metric, ""),
                    "same": sources.get(metric, "").startswith("frontal"),
                    "left": cells["left"],
                    "right": cells["right"],
                }
            )
    return rows


def _registry_details(reference_id: Any) -> dict[str, Any]:
    """Population, full reference and status of a registry entry (empty when unknown)."""
    if not reference_id:
        return {}
    try:
        from medius.registry import load_registry

        ref = load_registry().get(str(reference_id))
    except Exception:  # noqa: BLE001 - a result from another medius version may name an unknown id
        return {}
    return {
        "population": ref.population or "",
        "reference": ref.reference or "",
        "provisional": bool(ref.provisional),
        "study_task": getattr(ref, "study_task", None) or "",
    }


def _gait_interpretations(result: Mapping[str, Any], res: AnalysisResult) -> list[dict[str, Any]]:
    """The interpretation entries (merged per metric as in the single-leg report) with the
    registry entry's population and full reference."""
    items = _interpretations(result, res)
    rank = {m: k for k, m in enumerate(GAIT_METRIC_ORDER)}
    prefix = "No sourced reference range for this metric in this task: "
    for item in items:
        if item["text"].startswith(prefix + "No sourced"):
            item["text"] = item["text"][len(prefix) :]
        details = _registry_details(item["reference_id"])
        item["population"] = details.get("population", "")
        item["reference"] = details.get("reference", "")
        item["study_task"] = details.get("study_task", "")
        item["provisional"] = item["provisional"] or bool(details.get("provisional"))
        item["no_reference"] = item["verdict"] == "none"
        item["label"] = _gait_label(result, item["metric"]) if item["metric"] else item["label"]
    return sorted(items, key=lambda it: rank.get(it["metric"], len(rank)))


def _trendelenburg(res: AnalysisResult) -> dict[str, Any] | None:
    """The Trendelenburg-pattern rule and each side's verdict (the result's typed ``trendelenburg``)."""
    tr = res.trendelenburg
    rule = tr.rule if tr is not None else None
    if tr is None or rule is None:
        return None
    symbol = unit_symbol(rule.unit)
    sides = []
    for side in SIDES:
        entry = tr.side(side)
        flag = entry.flag if entry is not None else None
        sides.append(
            {
                "side": side,
                "flag": flag,
                "status": "Trendelenburg pattern" if flag is True else ("no pattern" if flag is False else "not measured"),
                "status_class": "fail" if flag is True else ("pass" if flag is False else "na"),
                "value": format_value(entry.value if entry is not None else None, 1, symbol),
                "text": (entry.text if entry is not None else "") or "",
            }
        )
    return {
        "rule_text": rule.text or "",
        "cutoff": format_value(rule.cutoff, 1, symbol),
        "source": rule.source or "",
        "reference": rule.extra.get("reference") or "",
        "population": rule.extra.get("population") or "",
        "provisional": bool(rule.provisional),
        "notes": rule.extra.get("notes") or "",
        "sides": sides,
    }


def _stance_table(result: Mapping[str, Any], res: AnalysisResult) -> dict[str, Any]:
    """The per-stance table: the curve columns of :func:`medius.report.rows.unit_columns` (each
    metric at its peak and at mid-stance), then the per-stance values."""
    stances = res.stances or []
    columns = [c for c in unit_columns(res) if c.statistic != "value"]
    metrics = list(dict.fromkeys(c.metric for c in columns))
    lab = any(finite_number(st.values.get("step_width_cm")) for st in stances)
    rows = []
    for st, label in zip(stances, stance_labels([x.to_json() for x in stances]), strict=True):
        vals = st.values
        rows.append(
            {
                "stance": st.stance,
                "label": label,
                "side": st.side,
                "status": st.status,
                "strike": format_value(st.foot_strike_s, 2),
                "mid": format_value(st.mid_stance_s, 2),
                "off": format_value(st.foot_off_s, 2),
                "values": [format_value(c.get(st), 1, metric_unit(result, c.metric)) for c in columns],
                "step_width_pct": format_value(vals.get("step_width_pct"), 0, "%"),
                "step_width_cm": format_value(vals.get("step_width_cm"), 1),
                "stance_time": format_value(vals.get("stance_time_s"), 2),
                "step_time": format_value(vals.get("step_time_s"), 2),
            }
        )
    columns_out = [
        {"label": metric_short_label(result, m).replace(" (2D)", ""), "unit": metric_unit(result, m)} for m in metrics
    ]
    return {"columns": columns_out, "rows": rows, "lab": lab}


def _gait_definitions(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """How each gait value is taken per stance (the per-stance rules, not the registry's
    single-leg definitions, which measure against a standing baseline within a rep)."""
    metrics_info = result.get("metrics") or {}
    stat_of = result.get("summary_statistic") or {}
    lab = bool(result.get("frontal_2d"))
    sources = _metric_sources(result)
    out = []
    for metric in GAIT_METRIC_ORDER:
        info = metrics_info.get(metric) or {}
        if not info:
            continue
        stat = stat_of.get(metric, "peak")
        text = (
            f"Measured in every stance with this leg as the stance leg. Peak = {_GAIT_PEAK_RULES[metric]}; "
            f"at mid-stance = the value at 50 % of the time from foot strike to foot off. "
            f"The side summary uses the {_GAIT_STAT_LABELS.get(stat, stat)} value."
        )
        if metric == "pelvic_drop_deg":
            text = (
                "The tilt of the pelvis against the horizontal (video: the line joining the hip centres; "
                "lab: the ISB pelvic obliquity), positive when the swing-leg side is lower; no standing "
                "baseline is subtracted. " + (
                    f"Peak = {_GAIT_PEAK_RULES[metric]}; at mid-stance = the value at 50 % of the time from "
                    f"foot strike to foot off. The side summary uses the {_GAIT_STAT_LABELS.get(stat, stat)} value."
                )
            )
        caveat = "" if lab and sources.get(metric, "").startswith("3D") else info.get("caveat") or ""
        if metric in ("pelvic_drop_deg", "trunk_lean_deg"):
            caveat = (
                "An absolute angle against the image (video) or lab (markers) horizontal/vertical: a camera "
                "that is not level adds its roll angle to one side and takes it from the other."
            )
        out.append(
            {
                "label": _gait_label(result, metric),
                "unit": metric_unit(result, metric),
                "definition": text,
                "sign": info.get("sign") or "",
                "caveat": caveat,
                "source": sources.get(metric, ""),
            }
        )
    for name in ("pelvic_drop_midstance_deg", "step_width_pct", "step_width_cm", "cadence_steps_per_min"):
        info = metrics_info.get(name) or {}
        if not info:
            continue
        if name == "step_width_cm" and not lab:
            continue
        out.append(
            {
                "label": metric_label(result, name),
                "unit": metric_unit(result, name),
                "definition": info.get("definition") or "",
                "sign": info.get("sign") or "",
                "caveat": info.get("caveat") or "",
                "source": "",
            }
        )
    return out


def _gait_context(result: Mapping[str, Any], res: AnalysisResult) -> dict[str, Any]:
    """Everything the gait block of the report shows (formatted; judgeable results only)."""
    gait = result.get("gait") or {}
    n_st = gait.get("n_stances") or {}
    n_fs = gait.get("n_foot_strikes") or {}
    kind = (result.get("input") or {}).get("kind") or ""
    lab = kind in ("c3d", "marker-trc", "marker-text") or bool(result.get("frontal_2d"))
    cadence = gait.get("cadence_steps_per_min")
    return {
        "lab": lab,
        "task": result.get("task") or "",
        "cadence": format_value(cadence, 1, "steps/min") if finite_number(cadence) else "–",
        "n_stances": {s: n_st.get(s) for s in SIDES},
        "n_foot_strikes": {s: n_fs.get(s) for s in SIDES},
        "events": _events_description(result),
        "event_rows": [
            {
                "time": format_value(e.get("time_s"), 3),
                "side": e.get("side") or "",
                "kind": str(e.get("kind") or "").replace("_", " "),
                "source": str(e.get("source") or "").replace("_", " "),
            }
            for e in result.get("events") or []
            if isinstance(e, Mapping)
        ],
        "summary": _gait_summary_rows(result, res),
        "frontal": _frontal_rows(result),
        "frontal_what": (result.get("frontal_2d") or {}).get("what") or "",
        "standing": _standing_drop(result),
        "trendelenburg": _trendelenburg(res),
        "interpretation": _gait_interpretations(result, res),
        "stances": _stance_table(result, res),
        "definitions": _gait_definitions(result),
    }


def _format_check_number(value: Any, unit: str) -> str:
    """A capture-check value for display: fractions as %, 3 significant figures, short units attached."""
    if isinstance(value, str):
        return value
    if not finite_number(value):
        return ""
    if unit.startswith("fraction"):
        return format_value(100.0 * value, 0, "%")
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    short = unit_symbol(unit)
    return format_value(value, digits, short if len(short) <= 3 else "")


def _checks(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for check in (result.get("quality") or {}).get("checks") or []:
        unit = str(check.get("unit") or "")
        passed = check.get("passed")
        long_unit = "" if unit.startswith("fraction") or len(unit_symbol(unit)) <= 3 else unit
        if unit.startswith("fraction") and unit != "fraction":
            long_unit = "% " + unit[len("fraction") :].strip()
        rows.append(
            {
                "label": check.get("label") or check.get("id") or "",
                "unit_note": long_unit,
                "passed": passed,
                "status": "pass" if passed is True else ("fail" if passed is False else "not checked"),
                "status_class": "pass" if passed is True else ("fail" if passed is False else "na"),
                "value": _format_check_number(check.get("value"), unit),
                "threshold": _format_check_number(check.get("threshold"), unit),
                "message": check.get("message") or "",
            }
        )
    return rows


def _input_rows(info: Mapping[str, Any]) -> list[tuple[str, str]]:
    labels = [
        ("name", "File"),
        ("kind", "Kind"),
        ("codec", "Codec"),
        ("width", "Width (px)"),
        ("height", "Height (px)"),
        ("rotation_deg", "Rotation (°)"),
        ("duration_s", "Duration (s)"),
        ("n_frames", "Frames"),
        ("fps_median", "Frame rate, median (Hz)"),
        ("variable_frame_rate", "Variable frame rate"),
        ("sha256", "SHA-256"),
    ]
    rows = []
    for key, label in labels:
        if key in info and info[key] is not None:
            value = info[key]
            if isinstance(value, bool):
                text = "yes" if value else "no"
            elif isinstance(value, float):
                text = format_value(value, 2)
            else:
                text = str(value)
            rows.append((label, text))
    known = {k for k, _ in labels}
    rows.extend((key, str(value)) for key, value in info.items() if key not in known and value is not None)
    return rows


def build_report_context(
    result: Mapping[str, Any],
    *,
    plots: Sequence[Mapping[str, Any]] = (),
    video: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template variables for one result (everything formatted, nothing computed)."""
    res = AnalysisResult.from_json(result)
    judgeable = is_judgeable(result)
    quality = result.get("quality") or {}
    info = result.get("input") or {}
    task = result.get("task") or ""
    prov = result.get("provenance") or {}
    metrics_info = result.get("metrics") or {}
    definitions = [
        {
            "label": metric_label(result, m),
            "unit": metric_unit(result, m) or (metrics_info[m] or {}).get("unit") or "",
            "definition": (metrics_info[m] or {}).get("definition") or "",
            "sign": (metrics_info[m] or {}).get("sign") or "",
            "caveat": (metrics_info[m] or {}).get("caveat") or "",
        }
        for m in ordered_metrics(metrics_info)
    ]
    ranges = interpretation_ranges(result)
    gait = is_gait(result)
    checks = _checks(result)
    filming = None
    if not judgeable:
        from medius.report.filming import render_filming_guide_html

        wanted = (task,) if task in ("single-leg-squat", "walk", "run") else ("single-leg-squat",)
        filming = Markup(render_filming_guide_html(standalone=False, tasks=wanted))
    return {
        "key": key_summary(res),  # the typed result parsed above, not parsed again
        "filming_guide": filming,
        "gait": _gait_context(result, res) if gait and judgeable else None,
        "is_gait": gait,
        "input_kind": info.get("kind") or "",
        "title_task": REPORT_TITLE_TASKS.get(task, task.replace("-", " ").capitalize() or "Movement"),
        "input_name": info.get("name") or "",
        "status": result.get("status") or "",
        "judgeable": judgeable,
        "synthetic": bool(result.get("synthetic")),
        "created_utc": prov.get("created_utc") or "",
        "medius_version": result.get("medius_version") or prov.get("medius_version") or "",
        "schema_version": result.get("schema_version") or "",
        "quality": {
            "view": quality.get("view") or "unknown",
            "people_in_view": quality.get("people_in_view"),
            "swaps": quality.get("left_right_swaps_corrected"),
            "checks": checks,
            "n_failed": sum(1 for c in checks if c["passed"] is False),
            "warnings": list(quality.get("warnings") or []),
            "reasons": list(quality.get("reasons") or []),
            "advice": list(quality.get("advice") or []),
        },
        "summary": _summary_rows(result, res) if judgeable and not gait else [],
        "interpretation": _interpretations(result, res) if judgeable and not gait else [],
        "reps": _rep_table(result, res) if judgeable and not gait else {"columns": [], "rows": []},
        "ranges": [
            {
                "label": metric_label(result, m),
                "low": format_value(r["low"], 1, metric_unit(result, m)),
                "high": format_value(r["high"], 1, metric_unit(result, m)),
                "source": r.get("source") or "",
                "cohort": r.get("cohort") or "",
            }
            for m in ordered_metrics(ranges)
            for r in ranges[m]
        ]
        if judgeable
        else [],
        "plots": list(plots) if judgeable else [],
        "video": video,
        "definitions": definitions if judgeable and not gait else [],
        "input_rows": _input_rows(info),
        "provenance": {
            "python": prov.get("python") or "",
            "packages": sorted((prov.get("packages") or {}).items()),
            "pose_model": _flatten(prov.get("pose_model") or {}),
            "parameters": _flatten(prov.get("parameters") or {}),
            "steps": [
                {
                    "operation": (s or {}).get("operation", ""),
                    "params": [
                        (k, v) for k, v in _flatten({k: v for k, v in (s or {}).items() if k != "operation"})
                    ],
                }
                for s in prov.get("steps") or []
            ],
        },
        "colours": SIDE_COLOURS_HEX,
    }


def render_html_report(
    result: Mapping[str, Any],
    *,
    plots: Sequence[Mapping[str, Any]] = (),
    video: Mapping[str, Any] | None = None,
) -> str:
    """The report's HTML text (see :func:`write_html_report`)."""
    template = template_environment().get_template("report.html.j2")
    return template.render(**build_report_context(result, plots=plots, video=video))


def write_html_report(
    result: Mapping[str, Any],
    out_path: str | Path,
    *,
    plot_paths: Sequence[str | Path] = (),
    video_path: str | Path | None = None,
    embed_video_max_mb: float = 25,
) -> Path:
    """Write the analysis as one self-contained HTML file.

    The file needs no network and no other file: CSS is inline, SVG plots are inlined, and the
    annotated video is embedded as a base64 ``data:`` URI when it is smaller than
    ``embed_video_max_mb`` (otherwise it is linked by its path relative to the report). For a
    not-judgeable result the report shows no metric values: only why, the capture checks and
    what to film instead.

    Parameters
    ----------
    result
        the analysis result dict (schema 1.0).
    out_path
        the HTML file to write.
    plot_paths
        SVG (or PNG/JPEG) plots to include, in order (see :func:`medius.report.write_plots`).
    video_path
        the annotated video, or None.
    embed_video_max_mb
        embed the video when its size is below this many MiB (0 = always link).

    Returns
    -------
    Path
        ``out_path``.
    """
    out_path = Path(out_path)
    if not (isinstance(embed_video_max_mb, int | float) and embed_video_max_mb >= 0):
        raise ValueError(f"embed_video_max_mb must be a number >= 0, got {embed_video_max_mb!r}")
    plots = _plot_entries(plot_paths)
    video = _video_entry(video_path, out_path, embed_video_max_mb)
    text = render_html_report(result, plots=plots, video=video)
    try:
        out_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the report: {exc.strerror or exc}", path=out_path) from exc
    return out_path
