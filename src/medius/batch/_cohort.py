"""Cohort outputs of a batch: a tidy table of every rep and stance, a summary per person and task,
and a self-contained cohort HTML report.

The tidy table has one row per (rep or stance, metric). It is written while the item results are
read one at a time (rows are flushed every few thousand), and nothing reads it back: the
per-person summary and the report's figures are built in the same single pass, from the values of
complete records kept as packed 8-byte floats (:class:`array.array`), so memory grows by 16 bytes
per plotted value and by nothing else per row. Metric labels and units come from each
``result.json`` (its ``metrics`` block), never from a list here, so new tasks and metrics (gait
``stances``) flow through unchanged.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import math
import os
from array import array
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from medius.errors import OutputError
from medius.io._text import SafeCsvWriter
from medius.protocols.metric_spec import METRIC_SPECS

__all__ = [
    "ITEM_COLUMNS",
    "MAX_POINTS",
    "RECORD_COLUMNS",
    "SUMMARY_STATUSES",
    "iter_result_rows",
    "write_cohort_outputs",
    "write_items_table",
]

#: per-item columns that lead every tidy row (then the extra manifest columns)
ITEM_COLUMNS = ("item_key", "person_id", "group", "task", "input", "item_dir")
#: per-record columns that follow
RECORD_COLUMNS = (
    "record", "number", "side", "record_status", "start_s", "end_s",
    "metric", "label", "unit", "value", "value_field", "peak_s", "at_bottom",
)
_FLOAT_COLUMNS = ("start_s", "end_s", "value", "peak_s", "at_bottom")
#: record statuses that enter the per-person summary (as ``summarize_reps``: complete reps only)
SUMMARY_STATUSES = ("complete", "ok", "")
_FLUSH_ROWS = 5000
#: points drawn over each box of the cohort report at most (a random sample, seed 0, beyond it), so
#: the report's size does not grow with the batch; the box itself is drawn from every value
MAX_POINTS = 400
_SIDES = ("left", "right")


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def iter_result_rows(result: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Tidy rows (record and metric columns only) of one ``result.json``: ``reps``, then ``stances``,
    then the trial's own values (``record`` ``trial``: cadence), read through the typed result.

    Every metric of the task's specification with a value is a row (:func:`medius.report.rows.record_values`):
    a curve metric's headline ``value`` is the statistic the result summarises it by
    (``summary_statistic``, e.g. ``at_bottom`` for single-leg reps since schema 2.0; ``peak`` for
    schema 1.x), else its ``peak`` (``value_field`` says which); gait stances also give the
    pelvic drop at mid-stance (``pelvic_drop_midstance_deg``, the Trendelenburg rule's value), the
    stance and step times and the step width (``value_field`` ``value``).
    """
    from medius.analysis.result import AnalysisResult, Rep, Stance
    from medius.report.rows import record_values

    res = AnalysisResult.from_json(result)

    def label_unit(m: str) -> tuple[str, str]:
        d = res.metrics.get(m)
        spec = METRIC_SPECS.get(m)
        label = d.label if d is not None and d.label else (spec.label if spec else m)
        unit = d.unit if d is not None and d.unit else (spec.unit if spec else "")
        return label, unit

    units: list[Rep | Stance] = [*res.reps, *(res.stances or [])]
    for pos, u in enumerate(units, start=1):
        stance = isinstance(u, Stance)
        assert isinstance(u, Rep | Stance)
        base = {
            "record": "stance" if stance else "rep",
            "number": int(u.number) if isinstance(u.number, int | float) else pos,
            "side": u.side or "",
            "record_status": u.status or "",
            "start_s": _num(u.extra.get("start_s") if isinstance(u, Stance) else u.start_s),
            "end_s": _num(u.extra.get("end_s") if isinstance(u, Stance) else u.end_s),
        }
        for rv in record_values(res, u):
            label, unit = label_unit(rv.metric)
            yield {**base, "metric": rv.metric, "label": label, "unit": unit, "value": _num(rv.value),
                   "value_field": rv.value_field, "peak_s": _num(rv.peak_s), "at_bottom": _num(rv.at_bottom)}
    if res.is_gait and res.judgeable and res.gait is not None:
        for spec in res.spec_metrics("trial"):
            value = getattr(res.gait, spec.name, None)
            label, unit = label_unit(spec.name)
            yield {"record": "trial", "number": 1, "side": "", "record_status": "complete", "start_s": None,
                   "end_s": None, "metric": spec.name, "label": label, "unit": unit, "value": _num(value),
                   "value_field": "value", "peak_s": None, "at_bottom": None}


class _TableWriter:
    """CSV and (when pyarrow works) Parquet, written in chunks with one fixed schema."""

    def __init__(self, csv_path: Path, parquet_path: Path, columns: list[str]) -> None:
        self.columns = columns
        self.csv_path, self.parquet_path = csv_path, parquet_path
        self.tmp_csv = csv_path.with_name(f".{csv_path.name}.partial")
        self.tmp_parquet = parquet_path.with_name(f".{parquet_path.name}.partial")
        self._fh = open(self.tmp_csv, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = SafeCsvWriter(self._fh, lineterminator="\n")
        self._csv.writerow(columns)
        self._buf: list[dict[str, Any]] = []
        self.n_rows = 0
        self.parquet_note = ""
        self._pq = None
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            self.parquet_note = f"Parquet not written: pyarrow cannot be imported here ({exc})"
            return
        fields = [pa.field(c, pa.float64() if c in _FLOAT_COLUMNS else
                           pa.int64() if c == "number" else pa.string()) for c in columns]
        self._pa, self._schema = pa, pa.schema(fields)
        self._pq = pq.ParquetWriter(self.tmp_parquet, self._schema)

    def add(self, row: dict[str, Any]) -> None:
        self._buf.append(row)
        if len(self._buf) >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._buf:
            return
        for r in self._buf:
            self._csv.writerow(["" if r.get(c) is None else r.get(c) for c in self.columns])
        if self._pq is not None:
            cols = {c: [r.get(c) for r in self._buf] for c in self.columns}
            self._pq.write_table(self._pa.table(cols, schema=self._schema))
        self.n_rows += len(self._buf)
        self._buf = []

    def close(self) -> None:
        self.flush()
        self._fh.close()
        os.replace(self.tmp_csv, self.csv_path)
        if self._pq is not None:
            if self.n_rows == 0:
                self._pq.write_table(self._schema.empty_table())
            self._pq.close()
            os.replace(self.tmp_parquet, self.parquet_path)

    def abort(self) -> None:
        self._fh.close()
        if self._pq is not None:
            with contextlib.suppress(Exception):  # best effort on the way out
                self._pq.close()
        for p in (self.tmp_csv, self.tmp_parquet):
            p.unlink(missing_ok=True)


def write_items_table(out_dir: str | Path, outcomes: list[Any]) -> Path:
    """Write ``batch-items.csv``: one row per item of the batch, with its status and reason."""
    out_dir = Path(out_dir)
    extras: list[str] = []
    for o in outcomes:
        extras += [k for k in o.item.extra if k not in extras]
    cols = ["person_id", "group", "task", "side", "input", "status", "exit_code", "reason", "skipped",
            "item_key", "item_dir", "manifest_row", *extras]
    buf = io.StringIO()
    w = SafeCsvWriter(buf, lineterminator="\n")
    w.writerow(cols)
    for o in outcomes:
        it = o.item
        w.writerow([it.person_id, it.group, it.settings.task, it.settings.side, str(it.path), o.status,
                    "" if o.exit_code is None else o.exit_code, o.reason, o.skipped, o.key, o.out_dir,
                    "" if it.row is None else it.row, *(it.extra.get(k, "") for k in extras)])
    path = out_dir / "batch-items.csv"
    _write_text_atomic(path, buf.getvalue())
    return path


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_cohort_outputs(out_dir: str | Path, outcomes: list[Any], *, title: str = "medius batch") -> dict[str, Any]:
    """Write the cohort tables and report for a finished batch into ``out_dir``.

    Parameters
    ----------
    out_dir
        the batch output folder (item folders under ``items/``).
    outcomes
        the :class:`~medius.batch.ItemOutcome` of every item of the batch (this run's manifest).
    title
        heading of the cohort report.

    Returns
    -------
    dict
        paths written (relative to ``out_dir``), row counts, and ``parquet_note`` (empty when the
        Parquet files were written).
    """
    out_dir = Path(out_dir)
    extras: list[str] = []
    for o in outcomes:
        for k in o.item.extra:
            if k not in extras:
                extras.append(k)
    columns = list(ITEM_COLUMNS) + extras + list(RECORD_COLUMNS)
    try:
        writer = _TableWriter(out_dir / "cohort-records.csv", out_dir / "cohort-records.parquet", columns)
    except OSError as exc:
        raise OutputError(f"cannot write the cohort table ({exc.strerror or exc})", path=out_dir) from None
    # per person and task: item counts and the values of each metric by side; per task and metric:
    # the values by group and side (the report's figures). Packed floats, filled in one pass.
    people: dict[tuple[str, str], dict[str, Any]] = {}
    metric_defs: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # task -> metric -> definition
    values: dict[tuple[str, str], dict[tuple[str, str], array]] = defaultdict(lambda: defaultdict(lambda: array("d")))
    figures: dict[tuple[str, str], dict[tuple[str, str], array]] = defaultdict(lambda: defaultdict(lambda: array("d")))
    try:
        for o in outcomes:
            pid = o.item.person_id or o.item.label
            task = o.item.settings.task
            p = people.setdefault((pid, task), {"person_id": pid, "task": task, "group": o.item.group,
                                                "n_items": 0, "n_ok": 0, "n_not_judgeable": 0, "n_failed": 0})
            p["n_items"] += 1
            p[f"n_{o.status}"] += 1
            if not p["group"] and o.item.group:
                p["group"] = o.item.group
            if o.status != "ok":
                continue
            try:
                result = json.loads((out_dir / o.out_dir / "result.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            defs = result.get("metrics") or {}
            lead = {"item_key": o.key, "person_id": o.item.person_id, "group": o.item.group, "task": task,
                    "input": str(o.item.path), "item_dir": o.out_dir, **o.item.extra}
            for row in iter_result_rows(result):
                writer.add({**lead, **row})
                if row["value"] is not None and row["metric"] not in metric_defs[task]:
                    metric_defs[task][row["metric"]] = defs.get(row["metric"]) or {"label": row["label"],
                                                                                   "unit": row["unit"]}
                if row["value"] is not None and row["record"] == "trial":
                    values[(pid, task)][(row["metric"], "")].append(row["value"])
                elif row["value"] is not None and row["record_status"] in SUMMARY_STATUSES and row["side"] in _SIDES:
                    values[(pid, task)][(row["metric"], row["side"])].append(row["value"])
                    figures[(task, row["metric"])][(o.item.group, row["side"])].append(row["value"])
            del result
        writer.close()
    except BaseException:
        writer.abort()
        raise
    summary_rows = []
    for (pid, task), p in people.items():
        row = dict(p)
        vals = values.get((pid, task), {})
        for m in metric_defs.get(task, {}):
            if (m, "") in vals or (METRIC_SPECS.get(m) is not None and METRIC_SPECS[m].kind == "trial"):
                arr = np.frombuffer(vals.get((m, ""), array("d")), dtype=float)  # one value per trial
                row[f"{m}_mean"] = round(float(arr.mean()), 2) if arr.size else None
                row[f"{m}_sd"] = round(float(arr.std(ddof=1)), 2) if arr.size > 1 else None
                row[f"{m}_n"] = int(arr.size)
                continue
            means = {}
            for s in _SIDES:
                arr = np.frombuffer(vals.get((m, s), array("d")), dtype=float)
                means[s] = round(float(arr.mean()), 2) if arr.size else None
                row[f"{m}_{s}_mean"] = means[s]
                row[f"{m}_{s}_sd"] = round(float(arr.std(ddof=1)), 2) if arr.size > 1 else None
                row[f"{m}_{s}_n"] = int(arr.size)
            lm, rm = means["left"], means["right"]
            row[f"{m}_left_minus_right"] = round(lm - rm, 2) if lm is not None and rm is not None else None
        summary_rows.append(row)
    written = {"records_csv": "cohort-records.csv", "n_record_rows": writer.n_rows,
               "summary_csv": "cohort-summary.csv", "n_summary_rows": len(summary_rows),
               "parquet_note": writer.parquet_note}
    _write_summary(out_dir, summary_rows, written, parquet=not writer.parquet_note)
    if not writer.parquet_note:
        written["records_parquet"] = "cohort-records.parquet"
    written["report"] = "cohort-report.html"
    _write_text_atomic(out_dir / "cohort-report.html",
                       _cohort_html(outcomes, summary_rows, metric_defs, figures, written, title=title))
    return written


def _write_summary(out_dir: Path, rows: list[dict[str, Any]], written: dict[str, Any], *, parquet: bool) -> None:
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    if not columns:
        columns = ["person_id", "task", "group", "n_items", "n_ok", "n_not_judgeable", "n_failed"]
    buf = io.StringIO()
    w = SafeCsvWriter(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    _write_text_atomic(out_dir / "cohort-summary.csv", buf.getvalue())
    if parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        def typ(c: str) -> Any:
            if c in ("person_id", "task", "group"):
                return pa.string()
            if c.startswith("n_") or c.endswith("_n"):
                return pa.int64()
            return pa.float64()

        schema = pa.schema([pa.field(c, typ(c)) for c in columns])
        table = pa.table({c: [r.get(c) for r in rows] for c in columns}, schema=schema)
        tmp = out_dir / ".cohort-summary.parquet.partial"
        pq.write_table(table, tmp)
        os.replace(tmp, out_dir / "cohort-summary.parquet")
        written["summary_parquet"] = "cohort-summary.parquet"


# ------------------------------------------------------------------------------------------ report
_SIDE_COLOURS = {"left": "#1f77b4", "right": "#d62728"}
_BAND_COLOURS = ("#2ca02c", "#ff7f0e", "#9467bd")


def _references(metric: str, task: str) -> list[Any]:
    from medius.registry import load_registry

    try:
        refs = load_registry().references_for(metric, task, kind=("reference_range", "group_mean_sd", "cutoff"))
    except (ValueError, KeyError):
        return []
    return refs[:3]


def _plot_svg(by_group_side: dict[tuple[str, str], array], metric: str, task: str, definition: dict[str, Any]) -> str:
    """Box plot and points of one metric's complete records, by group and side (with values only)."""
    import matplotlib
    from matplotlib.figure import Figure

    groups = sorted({g for g, _ in by_group_side}, key=lambda g: (g == "", g))
    cats = [(g, s) for g in groups for s in _SIDES if len(by_group_side.get((g, s), ()))]
    fig = Figure(figsize=(max(4.5, 1.2 * len(cats) + 2.5), 3.6))
    ax = fig.add_subplot(1, 1, 1)
    refs = _references(metric, task)
    handles: list[Any] = []
    for j, ref in enumerate(refs):
        colour = _BAND_COLOURS[j % len(_BAND_COLOURS)]
        prov = " (provisional)" if ref.provisional else ""
        label = f"{ref.source}: {ref.population}{prov}"
        if ref.band is not None:
            handles.append(ax.axhspan(ref.band[0], ref.band[1], color=colour, alpha=0.15, label=label[:70]))
        elif ref.cutoff is not None:
            handles.append(ax.axhline(ref.cutoff, color=colour, linestyle="--", linewidth=1, label=label[:70]))
    rng = np.random.default_rng(0)
    data = [np.frombuffer(by_group_side[c], dtype=float) for c in cats]
    if cats:
        bp = ax.boxplot(data, positions=range(len(cats)), widths=0.5, showfliers=False, patch_artist=True)
        for patch, (_g, s) in zip(bp["boxes"], cats, strict=True):
            patch.set_facecolor(_SIDE_COLOURS[s])
            patch.set_alpha(0.25)
        for k, ((_g, s), vals) in enumerate(zip(cats, data, strict=True)):
            if vals.size > MAX_POINTS:  # the box uses every value; the points, a sample of fixed size
                vals = vals[np.sort(rng.choice(vals.size, MAX_POINTS, replace=False))]
            ax.scatter(k + rng.uniform(-0.15, 0.15, vals.size), vals, s=10, color=_SIDE_COLOURS[s], zorder=3)
        ax.set_xticks(range(len(cats)), [f"{g or '(no group)'}\n{s} (n={len(v)})" for (g, s), v in zip(cats, data,
                                                                                                          strict=True)])
    unit = definition.get("unit_symbol") or definition.get("unit", "")
    ax.set_ylabel(f"{definition.get('label', metric)} [{unit}]" if unit else definition.get("label", metric),
                  fontsize=8)
    ax.tick_params(labelsize=8)
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="best")
    fig.tight_layout()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "medius", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _cohort_html(
    outcomes: list[Any],
    summary_rows: list[dict[str, Any]],
    metric_defs: dict[str, dict[str, dict[str, Any]]],
    figures: dict[tuple[str, str], dict[tuple[str, str], array]],
    written: dict[str, Any],
    *,
    title: str,
) -> str:
    e = html.escape
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("ok", "not_judgeable", "failed")}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;"
        "padding:0 1em}table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;"
        "padding:2px 6px}.failed{color:#b00}.fig{margin:1em 0}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{len(outcomes)} items: {counts['ok']} analysed, {counts['not_judgeable']} not judgeable, "
        f"{counts['failed']} failed. Distributions show every complete rep or stance (the value of each "
        "record: its headline value (the statistic the summary uses); the boxes use every value, the points are a random sample where a box has "
        f"more than {MAX_POINTS}); shaded bands are reference ranges from the medius registry (mean ± 1 SD or a "
        "range, with their source and population; provisional ones say so). This is a screening summary, "
        "not a diagnosis.</p>",
    ]
    if written.get("parquet_note"):
        parts.append(f"<p class='failed'>{e(written['parquet_note'])}</p>")
    for task, defs in metric_defs.items():
        parts.append(f"<h2>{e(task)}</h2>")
        for metric, d in defs.items():
            by_group_side = figures.get((task, metric))
            if not by_group_side:
                continue
            parts.append(f"<h3>{e(d.get('label', metric))}</h3><div class='fig'>"
                         f"{_plot_svg(by_group_side, metric, task, d)}</div>")
    parts.append("<h2>Items</h2><table><tr><th>person</th><th>group</th><th>task</th><th>input</th>"
                 "<th>status</th><th>reason</th><th>report</th></tr>")
    for o in outcomes:
        link = f"<a href='{e(o.out_dir)}/report.html'>report</a>" if o.done else ""
        cls = " class='failed'" if o.status == "failed" else ""
        parts.append(f"<tr{cls}><td>{e(o.item.person_id)}</td><td>{e(o.item.group)}</td>"
                     f"<td>{e(o.item.settings.task)}</td><td>{e(o.item.path.name)}</td><td>{e(o.status)}</td>"
                     f"<td>{e(o.reason)}</td><td>{link}</td></tr>")
    parts.append("</table>")
    if summary_rows:
        parts.append("<h2>Per person and task</h2><table><tr><th>person</th><th>task</th><th>group</th>"
                     "<th>items ok / total</th></tr>")
        for r in summary_rows:
            parts.append(f"<tr><td>{e(r['person_id'])}</td><td>{e(r['task'])}</td><td>{e(r['group'])}</td>"
                         f"<td>{r['n_ok']} / {r['n_items']}</td></tr>")
        parts.append("</table><p>Every metric's mean, SD and n by side are in cohort-summary.csv.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)
