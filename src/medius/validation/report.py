"""The validation report: one self-contained HTML file (tables and Bland-Altman plots), JSON, CSV."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from medius import __version__
from medius.validation.scoring import (
    OFF_SQUARE_GROUP,
    SQUARE_GROUP,
    check_targets,
    is_square,
    summarize,
    summary_statistic,
)

__all__ = ["write_validation_outputs"]

ROW_COLUMNS = ("scenario", "movement", "view", "body", "yaw_deg", "fps", "short_side_px", "orientation",
               "camera_height", "distance_m", "side", "time_s", "found", "side_given", "side_correct", "judged",
               "status", "analysis_status", "event_error_s", "metric", "truth", "value", "error", "shown_error", "miss")
SUMMARY_COLUMNS = ("group", "task", "metric", "units", "found_pct", "side_correct_pct", "wrong_leg", "judged_pct",
                   "not_judged_pct", "foot_strike_bias_ms", "foot_strike_mae_ms", "n", "bias", "mae", "sd", "loa_low",
                   "loa_high", "p95_abs", "shown_error", "miss_pct", "no_value_pct")


CALIBRATION_COLUMNS = ("task", "group", "metric", "n",
                       "pooled-p95/scenario/shown_median", "pooled-p95/scenario/miss_pct", "pooled-p95/body/miss_pct",
                       "scenario-blocks/scenario/shown_median", "scenario-blocks/scenario/miss_pct",
                       "scenario-blocks/body/shown_median", "scenario-blocks/body/miss_pct",
                       "scenario-blocks/body/no_error_pct")


def _flat_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        for k, m in r["metrics"].items():
            out.append({**{c: r.get(c) for c in ROW_COLUMNS[:20]}, "metric": k, **m})
    return out


def _csv(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for rec in records:
        w.writerow({c: "" if rec.get(c) is None else rec.get(c) for c in columns})
    return buf.getvalue()


def _bland_altman_svg(rows: Sequence[dict[str, Any]], task: str, metric: str, title: str) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(r["metrics"][metric]["truth"], r["metrics"][metric]["value"], is_square(r["yaw_deg"]))
           for r in rows if r["movement"] == task and r["judged"] and r["metrics"].get(metric)
           and r["metrics"][metric]["error"] is not None]
    if len(pts) < 2:
        return None
    t = np.array([p[0] for p in pts], float)
    v = np.array([p[1] for p in pts], float)
    sq = np.array([p[2] for p in pts], bool)
    mean, diff = (t + v) / 2, v - t
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    fig, ax = plt.subplots(figsize=(5.2, 3.4), dpi=100)
    ax.scatter(mean[sq], diff[sq], s=14, c="#1f77b4", label="camera square-on (|yaw| <= 10°)")
    if (~sq).any():
        ax.scatter(mean[~sq], diff[~sq], s=14, c="#ff7f0e", marker="^", label="camera 15-30° off square")
    for y, ls in ((bias, "-"), (bias + 1.96 * sd, "--"), (bias - 1.96 * sd, "--")):
        ax.axhline(y, color="0.3", ls=ls, lw=1)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xlabel("mean of medius and truth (°)")
    ax.set_ylabel("medius − truth (°)")
    ax.set_title(f"{title}: bias {bias:+.1f}°, 95% LoA {bias - 1.96 * sd:+.1f} to {bias + 1.96 * sd:+.1f}°",
                 fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:g}"
    return html.escape(str(v))


def _table(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in columns) + "</tr>" for r in records)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_validation_outputs(out: Path, rows: Sequence[dict[str, Any]], meta: dict[str, Any], *,
                             calibrate: bool = True) -> dict[str, Any]:
    """Write validation.json, validation-units.csv, validation-summary.csv and validation.html.

    ``calibrate``: judge the error shown beside each value out of sample (the grid; a paired
    recording, one scenario, has nothing to refit without it and keeps the rows' own errors)."""
    from medius.validation.calibration import calibration_summary, out_of_sample

    out.mkdir(parents=True, exist_ok=True)
    calibration: list[dict[str, Any]] = []
    if calibrate:
        # the error shown beside each judged value is the one the registry would show had its
        # scenario not been measured (leave one scenario out): "miss" is out of sample
        rows = out_of_sample(rows, by="scenario")
        calibration = calibration_summary(rows, scored={("scenario-blocks", "scenario"): rows})
    summary = summarize(rows)
    targets = check_targets(summary, calibration)
    doc = {
        "medius_version": __version__,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "targets": targets,
        "summary": summary,
        "calibration": calibration,
        "units": list(rows),
    }
    (out / "validation.json").write_text(json.dumps(doc, indent=1, allow_nan=False))
    (out / "validation-units.csv").write_text(_csv(_flat_rows(rows), ROW_COLUMNS))
    (out / "validation-summary.csv").write_text(_csv(summary, SUMMARY_COLUMNS))

    plots = []
    for task in sorted({r["movement"] for r in rows}):
        keys = ("fppa_deg:at_bottom", "pelvic_drop_deg:at_bottom", "trunk_lean_deg:at_bottom",
                "hip_adduction_deg:at_bottom") \
            if task not in ("walk", "run") else ("pelvic_drop_deg:peak", "pelvic_drop_deg:at_mid_stance",
                                                "hip_adduction_deg:peak", "trunk_lean_deg:peak")
        for k in keys:
            svg = _bland_altman_svg(rows, task, k, f"{task} {k}")
            if svg:
                plots.append(f"<figure>{svg}<figcaption>{html.escape(task)} — {html.escape(k)}</figcaption></figure>")
    main_groups = ("all", SQUARE_GROUP, OFF_SQUARE_GROUP)
    main = [s for s in summary if s["group"] in main_groups]
    per_scenario = [s for s in summary if s["group"].startswith("scenario ")
                    and s["metric"].split(":")[1] == summary_statistic(s["task"], s["metric"].split(":")[0])]
    target_rows = [{**t, "result": "PASS" if t["pass"] else "MISS"} for t in targets]
    scen = meta.get("scenarios", [])
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medius validation</title>
<style>
body{{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:1.2rem auto;max-width:1200px;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;font-size:.8rem;margin:.6rem 0}}td,th{{border:1px solid #ccc;padding:.15rem .35rem;text-align:right}}
th{{background:#f2f2f2}}td:first-child,td:nth-child(2),td:nth-child(3){{text-align:left}}
figure{{display:inline-block;margin:.4rem;vertical-align:top}}figcaption{{font-size:.8rem;color:#555}}
.wide{{overflow-x:auto}}.note{{background:#fff8e0;border-left:4px solid #e0b000;padding:.5rem .8rem}}
</style></head><body>
<h1>medius validation: video metrics against the truth</h1>
<p class="note">Rendered humans (CC0 MakeHuman bodies posed bone by bone, three.js) with known joint centres.
The truth is medius' own metric engine (docs/conventions.md) applied to the joint centres projected by the
render camera. These are renders, not people: accuracy here is necessary, not sufficient, for real video.</p>
<p>medius {html.escape(__version__)} · analysis code {html.escape(str(meta.get('code_hash')))} ·
{len(scen)} scenarios · {len(rows)} reps and stances · created {doc['created_utc']}</p>
<h2>Targets (issue 18), camera square-on</h2>
{_table(target_rows, ("task", "metric", "what", "n", "value", "limit", "result"))}
<h2>Calibration of the error shown beside a value, out of sample</h2>
<p>For each judged rep or stance, the error medius would show had its scenario (its body) not been in the
grid: the error model refitted without it, looked up as <code>medius analyze</code> does. miss = share of judged
values off by more than that error (target: at most 5 %); before = the 95th percentile of |error| of the
condition (this release's first version), after = scenario blocks (docs/validation.md).</p>
<div class="wide">{_table(calibration, CALIBRATION_COLUMNS)}</div>
<h2>Agreement per task and metric</h2>
<p>error = medius − truth, per rep (single-leg tasks) or stance (gait); bias, MAE, SD and 95 % limits of
agreement in degrees; found = reps/stances medius found; side = given the right leg; judged = found, complete and
in a judgeable analysis; miss = judged values off by more than the error medius shows beside them.</p>
<div class="wide">{_table(main, SUMMARY_COLUMNS)}</div>
<h2>Bland–Altman plots</h2>
{''.join(plots) or '<p>Not enough judged values to plot.</p>'}
<h2>Per scenario (the statistic each metric is summarised by)</h2>
<div class="wide">{_table(per_scenario, SUMMARY_COLUMNS)}</div>
<h2>Scenarios</h2>
<div class="wide">{_table(scen, ("name", "movement", "view", "body", "yaw_deg", "camera_height", "distance_m",
                                  "orientation", "fps", "short_side_px", "lighting", "background", "shorts",
                                  "free_leg", "arms"))}</div>
</body></html>"""
    (out / "validation.html").write_text(page)
    return doc


def markdown_summary(doc: dict[str, Any], *, title: str) -> str:
    """The headline figures of a validation run as Markdown (docs/validation.md)."""
    from medius.validation.scoring import summary_statistic

    lines = [f"### {title}", "",
             f"medius {doc.get('medius_version')}, analysis code `{doc.get('code_hash')}`, "
             f"{len(doc.get('scenarios', []))} scenarios, {len(doc.get('units', []))} reps and stances, "
             f"{doc.get('created_utc')}. miss % = judged values off by more than the error medius would show "
             "beside them had their scenario not been measured (leave one scenario out).", ""]
    lines += ["| task | group | metric (statistic) | n | bias | MAE | 95 % LoA | p95 abs | found % | right leg % | "
              "judged % | miss % | strike bias ms |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in doc["summary"]:
        if s["group"] not in (SQUARE_GROUP, OFF_SQUARE_GROUP):
            continue
        m, stat = s["metric"].split(":")
        if stat != summary_statistic(s["task"], m) and not (stat == "peak" and s["task"] not in ("walk", "run")):
            continue
        loa = "–" if s["loa_low"] is None else f"{s['loa_low']:+.1f} to {s['loa_high']:+.1f}"
        group = "square-on" if s["group"].startswith("square") else "15-30° off"

        def f(v: Any) -> str:
            return "–" if v is None else f"{v:g}"
        lines.append(f"| {s['task']} | {group} | {m} ({stat}) | {s['n']} | {f(s['bias'])} | {f(s['mae'])} | {loa} | "
                     f"{f(s['p95_abs'])} | {f(s['found_pct'])} | {f(s['side_correct_pct'])} | {f(s['judged_pct'])} | "
                     f"{f(s['miss_pct'])} | {f(s.get('foot_strike_bias_ms'))} |")
    lines += ["", "**Calibration, out of sample** (the error shown beside each judged value had its scenario, "
              "or its body, not been measured; miss = off by more than it, target ≤ 5 %; before = 95th "
              "percentile of |error| of the condition, after = scenario blocks):", "",
              "| task | group | metric | n | before: shown ± (median) | before: miss %, leave one scenario / "
              "body out | after: shown ± (median), leave one scenario / body out | after: miss %, leave one "
              "scenario / body out | after: no error shown %, body out |", "|---|---|---|---|---|---|---|---|---|"]
    for c in doc.get("calibration", []):
        if c["group"] not in ("square-on", "15-30° off"):
            continue

        def g(k: str, c: dict[str, Any] = c) -> str:
            v = c.get(k)
            return "–" if v is None else f"{v:g}"
        lines.append(f"| {c['task']} | {c['group']} | {c['metric']} | {c['n']} | {g('pooled-p95/scenario/shown_median')} | "
                     f"{g('pooled-p95/scenario/miss_pct')} / {g('pooled-p95/body/miss_pct')} | "
                     f"{g('scenario-blocks/scenario/shown_median')} / {g('scenario-blocks/body/shown_median')} | "
                     f"{g('scenario-blocks/scenario/miss_pct')} / {g('scenario-blocks/body/miss_pct')} | "
                     f"{g('scenario-blocks/body/no_error_pct')} |")
    lines += ["", "| target | task | value | limit | result |", "|---|---|---|---|---|"]
    for t in doc.get("targets", []):
        lines.append(f"| {t['metric']}: {t['what']} | {t['task']} | {t['value']} | {t['limit']} | "
                     f"{'PASS' if t['pass'] else 'MISS'} |")
    return "\n".join(lines) + "\n"


def write_markdown_into(path: Path, marker: str, text: str) -> None:
    """Replace what stands between ``<!-- marker:begin -->`` and ``<!-- marker:end -->`` in ``path``."""
    doc = path.read_text()
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    if begin not in doc or end not in doc:
        raise ValueError(f"{path}: no {begin} ... {end} section")
    head, rest = doc.split(begin, 1)
    _old, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text}{end}{tail}")
