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
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from medius.errors import OutputError
from medius.report._common import (
    SIDE_COLOURS_HEX,
    SIDES,
    format_value,
    interpretation_ranges,
    is_judgeable,
    measurement_errors,
    metric_label,
    metric_short_label,
    metric_unit,
    ordered_metrics,
    rep_labels,
    unit_symbol,
)

__all__ = ["REPORT_TITLE_TASKS", "build_report_context", "render_html_report", "write_html_report"]

#: display names of the tasks
REPORT_TITLE_TASKS = {"single-leg-squat": "Single-leg squat", "step-down": "Step-down"}

_TEMPLATES = Path(__file__).with_name("templates")
_VIDEO_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime"}
_IMAGE_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_value
    return env


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
def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


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
    if _finite(err.get("sem")):
        parts.append(f"± SEM {format_value(err['sem'], 1, unit)}")
    if _finite(err.get("mdc")):
        parts.append(f"a change < MDC {format_value(err['mdc'], 1, unit)} is within measurement error")
    return "; ".join(parts)


def _summary_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    summary = result.get("summary") or {}
    errors = measurement_errors(result)
    names: list[str] = []
    for part in ("left", "right", "difference"):
        for metric in summary.get(part) or {}:
            if metric not in names:
                names.append(metric)
    rows = []
    for metric in ordered_metrics(names):
        unit = metric_unit(result, metric)
        err = errors.get(metric)
        cells = {}
        for side in SIDES:
            stats = (summary.get(side) or {}).get(metric) or {}
            mean, sd, n = stats.get("mean"), stats.get("sd"), stats.get("n")
            if _finite(mean):
                text = format_value(mean, 1, unit)
                if _finite(sd):
                    text += f" ± {format_value(sd, 1, unit)}"
            else:
                text = "–"
            cells[side] = {"text": text, "n": n if isinstance(n, int) else None}
        diff = ((summary.get("difference") or {}).get(metric) or {}).get("left_minus_right")
        mdc = err.get("mdc") if err else None
        if _finite(diff) and _finite(mdc):
            diff_note = "within measurement error" if abs(diff) < mdc else "exceeds the MDC"
        else:
            diff_note = ""
        rows.append(
            {
                "metric": metric,
                "label": metric_label(result, metric),
                "unit": unit,
                "left": cells["left"],
                "right": cells["right"],
                "diff": format_value(diff, 1, unit, signed=True),
                "diff_note": diff_note,
                "error": _error_text(err, unit_symbol(err.get("unit")) if err and err.get("unit") else unit),
                "error_source": (err or {}).get("source") or "",
            }
        )
    return rows


def _rep_table(result: Mapping[str, Any]) -> dict[str, Any]:
    reps = list(result.get("reps") or [])
    names: list[str] = []
    for rep in reps:
        for metric in rep.get("metrics") or {}:
            if metric not in names:
                names.append(metric)
    metrics = ordered_metrics(names)
    labels = rep_labels(reps)
    rows = []
    for rep, label in zip(reps, labels, strict=True):
        values = []
        for metric in metrics:
            peak = ((rep.get("metrics") or {}).get(metric) or {}).get("peak")
            values.append(format_value(peak, 1, metric_unit(result, metric)))
        rows.append(
            {
                "rep": rep.get("rep", ""),
                "label": label,
                "side": rep.get("side", ""),
                "colour": SIDE_COLOURS_HEX.get(rep.get("side"), "#555555"),
                "status": rep.get("status", ""),
                "start": format_value(rep.get("start_s"), 2),
                "bottom": format_value(rep.get("bottom_s"), 2),
                "end": format_value(rep.get("end_s"), 2),
                "values": values,
                "note": rep.get("note") or "",
            }
        )
    columns = [{"label": metric_short_label(result, m), "unit": metric_unit(result, m)} for m in metrics]
    return {"columns": columns, "rows": rows}


def _interpretations(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Interpretation entries ordered by metric then side; identical texts of both sides merged."""
    entries = [e for e in result.get("interpretation") or [] if isinstance(e, Mapping)]
    order = {
        m: k for k, m in enumerate(ordered_metrics(list(dict.fromkeys(e.get("metric", "") for e in entries))))
    }
    side_rank = {"left": 0, "right": 1}
    entries = sorted(
        enumerate(entries),
        key=lambda ke: (order.get(ke[1].get("metric", ""), 99), side_rank.get(ke[1].get("side"), 2), ke[0]),
    )
    out: list[dict[str, Any]] = []
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for _, entry in entries:
        metric = entry.get("metric", "")
        text = entry.get("text") or ""
        side = entry.get("side") or ""
        key = (metric, text, entry.get("verdict") or "none")
        if key in merged and side and side not in merged[key]["sides"]:
            merged[key]["sides"].append(side)
            continue
        err = entry.get("measurement_error") or {}
        unit = unit_symbol(err.get("unit")) if err.get("unit") else metric_unit(result, metric)
        item = {
            "label": metric_label(result, metric) if metric else "",
            "sides": [side] if side else [],
            "verdict": entry.get("verdict") or "none",
            "text": text,
            "provisional": bool(entry.get("provisional")),
            "source": entry.get("source") or "",
            "cohort": entry.get("cohort") or "",
            "error": _error_text(err, unit),
            "error_source": err.get("source") or "",
        }
        merged[key] = item
        out.append(item)
    return out


def _format_check_number(value: Any, unit: str) -> str:
    """A capture-check value for display: fractions as %, 3 significant figures, short units attached."""
    if isinstance(value, str):
        return value
    if not _finite(value):
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
    return {
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
            "checks": _checks(result),
            "warnings": list(quality.get("warnings") or []),
            "reasons": list(quality.get("reasons") or []),
            "advice": list(quality.get("advice") or []),
        },
        "summary": _summary_rows(result) if judgeable else [],
        "interpretation": _interpretations(result) if judgeable else [],
        "reps": _rep_table(result) if judgeable else {"columns": [], "rows": []},
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
        "definitions": definitions if judgeable else [],
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
    template = _environment().get_template("report.html.j2")
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
