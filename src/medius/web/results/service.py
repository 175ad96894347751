"""Reading analysis outputs and building a visit's exports (JSON, CSV, PDF)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from medius.io._text import SafeCsvWriter
from medius.web.models import Patient, Recording, Visit
from medius.web.settings import Settings

__all__ = [
    "CSV_TABLES",
    "export_visit_csv",
    "export_visit_json",
    "load_result",
    "result_dir",
    "result_file",
    "result_view",
]

#: the visit's CSV exports: one row per rep (single-leg tasks) or per stance (walking, running)
CSV_TABLES = ("reps", "stances")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")
MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".svg": "image/svg+xml",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
}


def result_dir(settings: Settings, rec: Recording) -> Path:
    return settings.media_dir / str(rec.id) / "result"


def load_result(settings: Settings, rec: Recording) -> dict[str, Any] | None:
    path = result_dir(settings, rec) / "result.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def result_file(settings: Settings, rec: Recording, name: str) -> Path | None:
    """A file of the recording's result folder by plain name, never outside it; None if absent."""
    if not _SAFE_NAME.match(name) or Path(name).suffix.lower() not in MEDIA_TYPES:
        return None
    base = result_dir(settings, rec).resolve()
    path = (base / name).resolve()
    if path.parent != base or not path.is_file():
        return None
    return path


def plot_names(settings: Settings, rec: Recording, res: dict[str, Any] | None = None) -> list[str]:
    res = res if res is not None else load_result(settings, rec)
    if not res:
        return []
    return [p for p in res.get("files", {}).get("plots", []) if result_file(settings, rec, p)]


def _patient_dict(p: Patient) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "family_name": p.family_name,
        "given_name": p.given_name,
        "reference": p.reference,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "sex": p.sex,
    }


def export_visit_json(
    settings: Settings, patient: Patient, visit: Visit, sessions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Everything recorded at a visit: patient, visit, assessment, findings, program, analyses."""
    from medius import __version__

    recs = []
    for r in visit.recordings:
        recs.append(
            {
                "id": str(r.id),
                "kind": r.kind,
                "task": r.task,
                "side": r.side,
                "original_name": r.original_name,
                "size_bytes": r.size_bytes,
                "sha256": r.sha256,
                "uploaded_utc": r.created_at.isoformat(),
                "analysis": None
                if r.job is None
                else {
                    "status": r.job.status,
                    "error": r.job.error,
                    "attempts": r.job.attempts,
                    "finished_utc": r.job.finished_at.isoformat() if r.job.finished_at else None,
                },
                "result": load_result(settings, r),
            }
        )
    return {
        "export_version": "1.0",
        "medius_version": __version__,
        "patient": _patient_dict(patient),
        "visit": {"id": str(visit.id), "date": visit.visit_date.isoformat(), "reason": visit.reason},
        "assessment": visit.assessment,
        "findings": visit.findings,
        "program": visit.program,
        "program_status": visit.program_status,
        "program_sessions": sessions or [],
        "recordings": recs,
    }


def result_view(result: dict[str, Any]) -> dict[str, Any]:
    """What a result page shows, from the typed result (medius.report.rows): the summary rows,
    the per-rep/stance columns, the comparisons with published values, the Trendelenburg rule."""
    from medius.analysis.result import AnalysisResult
    from medius.report.rows import interpretation_items, summary_rows, trendelenburg_lines, unit_columns

    res = AnalysisResult.from_json(result)
    return {
        "res": res,
        "rows": summary_rows(res),
        "columns": unit_columns(res),
        "interpretation": interpretation_items(res),
        "trendelenburg": trendelenburg_lines(res),
        "csv_name": str(res.files.get("csv") or ("stances.csv" if res.is_gait else "reps.csv")),
    }


def visit_tables(settings: Settings, visit: Visit) -> list[str]:
    """The CSV tables a visit offers: ``reps`` when it has a single-leg analysis, ``stances`` when
    it has a gait analysis (``reps`` alone when it has no analysis yet)."""
    kinds = []
    for r in visit.recordings:
        res = load_result(settings, r)
        if res is not None:
            kinds.append("stances" if res.get("task") in ("walk", "run") or "stances" in res else "reps")
    return [t for t in CSV_TABLES if t in kinds] or ["reps"]


def export_visit_csv(settings: Settings, visit: Visit, *, table: str = "reps") -> str:
    """One row per rep (``table="reps"``) or per stance (``"stances"``) of every analysed recording
    of the visit: the recording's ``reps.csv`` / ``stances.csv`` columns (medius.report.tables,
    rendered from the typed result) after visit date, recording and task."""
    from medius.analysis.result import AnalysisResult
    from medius.report.tables import reps_csv_text, stances_csv_text

    buf = io.StringIO()
    writer = SafeCsvWriter(buf, lineterminator="\n")
    header_written = False
    for r in visit.recordings:
        doc = load_result(settings, r)
        if doc is None:
            continue
        res = AnalysisResult.from_json(doc)
        if (table == "stances") != res.is_gait or not res.units:
            continue
        text = stances_csv_text(res) if res.is_gait else reps_csv_text(res)
        rows = list(csv.reader(text.splitlines()))
        if not header_written:
            writer.writerow(["visit_date", "recording_id", "task", *rows[0]])
            header_written = True
        for row in rows[1:]:
            writer.writerow([visit.visit_date.isoformat(), str(r.id), r.task, *row])
    if not header_written:
        writer.writerow(["visit_date", "recording_id", "task", table[:-1]])
    return buf.getvalue()
