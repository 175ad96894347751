"""The proof of issue 17: every metric of every task (the metric specification) goes through every
view of a result: the HTML report, the web result page, the visit PDF (text extracted with
pypdf), the CSV exports and the batch cohort tables, on a synthetic walk (video keypoints), the real
UQAM lab trial, a synthetic lab walk, a saved video walk and a synthetic single-leg squat.

Each value result.json holds for a metric (each side's mean of each statistic, each rep's or
stance's values, the trial's cadence) must appear, formatted as that view formats it. A metric
added to the specification that a view does not show fails here."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from medius.protocols.metric_spec import GAIT, SINGLE_LEG, metric_names, spec
from medius.report._common import format_value
from tests._analysed import analysed
from tests.web.conftest import add_user, new_patient, new_visit, upload

KINDS = {"keypoint-walk": "walk", "uqam-walk": "walk", "lab-walk": "walk", "video-walk": "walk",
         "squat": "single-leg-squat"}


def _digits(metric: str) -> int:
    return 2 if spec(metric).unit == "s" else 1


def _text(markup: str) -> str:
    """Visible text of an HTML page, whitespace collapsed, minus signs plain."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).replace("−", "-")


def _f(v: Any, digits: int) -> str:
    return format_value(v, digits).replace("−", "-")


def expected(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Per spec metric of the task: the formatted summary cells ("mean ± sd (n)") result.json holds."""
    gait = doc["task"] in ("walk", "run")
    lab = "frontal_2d" in doc
    out: dict[str, list[str]] = {}
    summary = doc["summary"]
    for m in metric_names(GAIT if gait else SINGLE_LEG):
        s = spec(m)
        if s.lab_only and not lab:
            continue
        d = _digits(m)
        cells = []
        if s.kind == "trial":
            value = doc["gait"][m]
            assert value is not None, m
            cells.append(_f(value, d))
        else:
            source, stats = m, [None]
            if s.kind == "derived":
                assert s.derived_from is not None
                source, stats = s.derived_from[0], [s.derived_from[1]]
            elif s.kind == "curve" and gait:
                stats = ["peak", "at_mid_stance"]
            for side in ("left", "right"):
                entry = summary[side][source]
                for stat in stats:
                    st = entry if stat is None or stat == entry.get("statistic") else entry[stat]
                    assert st["n"] > 0, (m, side, stat)
                    cells.append(f"{_f(st['mean'], d)} ± {_f(st['sd'], d)} ({st['n']})")
        out[m] = cells
    assert set(out) >= set(metric_names(GAIT if gait else SINGLE_LEG)) - ({"step_width_cm"} if not lab else set())
    return out


def unit_values(doc: dict[str, Any]) -> list[str]:
    """Each rep's / stance's values, formatted (1 decimal; times 2)."""
    gait = doc["task"] in ("walk", "run")
    out = []
    for u in doc["stances"] if gait else doc["reps"]:
        for m in metric_names(GAIT if gait else SINGLE_LEG, "curve"):
            v = u["metrics"][m]
            for stat in ("peak", "at_mid_stance") if gait else ("at_bottom", "peak"):
                out.append(_f(v[stat], 1))
        if gait:
            for m in metric_names(GAIT, "stance_value"):
                if m in u["values"]:
                    out.append(_f(u["values"][m], _digits(m)))
    return out


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return {k: json.loads((analysed(k) / "result.json").read_text(encoding="utf-8")) for k in KINDS}


def _folder_runner(kind: str):
    src = analysed(kind)

    def run(spec_: dict[str, Any], progress: Any) -> dict[str, Any]:
        out = Path(spec_["out_dir"])
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(src, out)
        return {"status": "done", "summary": {}}

    return run


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_metric_of_the_task_reaches_the_web_page_the_pdf_and_the_csv(kind, docs, make_app, backend,
                                                                           synthetic_trc):
    from tests.web.conftest import Browser

    doc = docs[kind]
    app = make_app(runner=_folder_runner(kind))
    add_user(app, "doc@north.example")
    b = Browser(app)
    assert b.sign_in("doc@north.example").status_code == 303
    p = new_patient(b)
    v = new_visit(b, p["id"])
    # any valid upload: the runner puts this kind's real analysis output in place
    rec = upload(b, v["id"], synthetic_trc, task=KINDS[kind]).json()["recording"]
    assert app.state.jobs.run_once()

    page = _text(b.get(f"/recordings/{rec['id']}").text)
    pdf = PdfReader(io.BytesIO(b.get(f"/visits/{v['id']}/report.pdf").content))
    pdf_text = re.sub(r"\s+", " ", " ".join(pg.extract_text() for pg in pdf.pages)).replace("−", "-")
    report = _text((analysed(kind) / "report.html").read_text(encoding="utf-8")) if kind != "video-walk" else None

    missing: dict[str, list[str]] = {}
    for m, cells in expected(doc).items():
        for cell in cells:
            for view, text in (("web page", page), ("visit PDF", pdf_text)):
                if cell not in text:
                    missing.setdefault(f"{view}: {m}", []).append(cell)
            if report is not None:  # the standalone report formats the mean with its unit
                mean = cell.split(" ± ")[0]
                if mean not in report:
                    missing.setdefault(f"report.html: {m}", []).append(mean)
    for value in unit_values(doc):
        if value not in page:
            missing.setdefault("web page: per-unit values", []).append(value)
        if value not in pdf_text:
            missing.setdefault("visit PDF: per-unit values", []).append(value)
    assert not missing, missing

    gait = doc["task"] in ("walk", "run")
    # no empty cells for a value result.json holds
    assert "– ± – (0)" not in page.replace("-", "–") or not gait
    if gait:
        tr = doc["trendelenburg"]
        assert "Trendelenburg pattern" in page and tr["left"]["text"][1:30] in page
        assert "Trendelenburg pattern" in pdf_text
    # each comparison with published values once per metric and side group, naming the metric
    items = re.findall(r"No sourced reference range for this metric in this task", page)
    assert len(items) <= len({(e["metric"], e["side"]) for e in doc["interpretation"]})

    # the visit's CSV: a walking visit offers stances, a single-leg visit reps; every value is there
    visit_page = b.get(f"/visits/{v['id']}").text
    table = "stances" if gait else "reps"
    assert f"{table.capitalize()} (CSV)" in visit_page
    other = "reps" if gait else "stances"
    assert f"{other.capitalize()} (CSV)" not in visit_page
    url = f"/visits/{v['id']}/export.csv" + ("?table=stances" if gait else "")
    rows = list(csv.DictReader(io.StringIO(b.get(url).text)))
    units = doc["stances"] if gait else doc["reps"]
    assert len(rows) == len(units) > 0
    for row, u in zip(rows, units, strict=True):
        for m in metric_names(GAIT if gait else SINGLE_LEG, "curve"):
            for stat in ("peak", "peak_s", "at_mid_stance" if gait else "at_bottom"):
                want = u["metrics"][m][stat]
                assert row[f"{m}_{stat}"] == ("" if want is None else str(want)), (m, stat)
        for m in metric_names(GAIT, "stance_value") if gait else ():
            want = u["values"].get(m)
            assert row[m] == ("" if want is None else str(want)), m


@pytest.mark.parametrize("kind", ["keypoint-walk", "uqam-walk", "squat"])
def test_every_metric_of_the_task_reaches_the_cohort_tables(kind, docs, tmp_path):
    from medius.batch import BatchItem, ItemOutcome, ItemSettings
    from medius.batch._cohort import write_cohort_outputs

    doc = docs[kind]
    out = tmp_path / "batch"
    shutil.copytree(analysed(kind), out / "items" / "i0")
    item = BatchItem(path=tmp_path / "x.trc", settings=ItemSettings(task=KINDS[kind]), person_id="P1", group="g")
    write_cohort_outputs(out, [ItemOutcome(item, "k0", "items/i0", "ok")])
    records = list(csv.DictReader((out / "cohort-records.csv").read_text(encoding="utf-8").splitlines()))
    (summary,) = list(csv.DictReader((out / "cohort-summary.csv").read_text(encoding="utf-8").splitlines()))
    gait = KINDS[kind] == "walk"
    lab = "frontal_2d" in doc
    for m in metric_names(GAIT if gait else SINGLE_LEG):
        s = spec(m)
        if s.lab_only and not lab:
            continue
        got = [r for r in records if r["metric"] == m and r["value"] != ""]
        assert got, f"cohort records lack {m}"
        if s.kind == "trial":
            assert float(summary[f"{m}_mean"]) == pytest.approx(doc["gait"][m])
            continue
        for side in ("left", "right"):
            assert summary[f"{m}_{side}_mean"] != "", f"cohort-summary.csv: {m}_{side}_mean is empty"
            source, stat = (s.derived_from if s.derived_from else (m, None))
            entry = doc["summary"][side][source]
            want = entry if stat is None or stat == entry.get("statistic") else entry[stat]
            assert float(summary[f"{m}_{side}_mean"]) == pytest.approx(want["mean"], abs=0.011), (m, side)
            assert int(summary[f"{m}_{side}_n"]) == want["n"]
