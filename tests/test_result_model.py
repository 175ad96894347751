"""The typed result model is exactly the documented result.json: a round trip on every demo input
kind, old schemas read, typed access gives the document's values."""

from __future__ import annotations

import copy
import json

import pytest

from medius.analysis.result import AnalysisResult, MetricValue, Rep
from tests._analysed import KINDS, analysed


def _doc(kind: str) -> dict:
    return json.loads((analysed(kind) / "result.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_is_exact_on_every_demo_input_kind(kind):
    doc = _doc(kind)
    res = AnalysisResult.from_json(copy.deepcopy(doc))
    assert res.to_json() == doc
    # byte for byte as written (key order kept)
    assert json.dumps(res.to_json(), indent=2, ensure_ascii=False) == json.dumps(doc, indent=2, ensure_ascii=False)
    assert res.judgeable == (doc["status"] == "ok")
    assert res.is_gait == (doc["task"] in ("walk", "run"))


def test_typed_access_gives_the_documents_values():
    doc = _doc("uqam-walk")
    res = AnalysisResult.from_json(doc)
    left = res.summary.get("left", "pelvic_drop_deg")
    assert left.mean == doc["summary"]["left"]["pelvic_drop_deg"]["mean"]
    assert left.of("at_mid_stance").mean == doc["summary"]["left"]["pelvic_drop_deg"]["at_mid_stance"]["mean"]
    assert res.gait is not None and res.gait.cadence_steps_per_min == doc["gait"]["cadence_steps_per_min"]
    assert res.trendelenburg is not None and res.trendelenburg.rule is not None
    assert res.trendelenburg.rule.cutoff == doc["trendelenburg"]["rule"]["cutoff"]
    st = res.units[0]
    assert st.values["stance_time_s"] == doc["stances"][0]["values"]["stance_time_s"]
    assert st.metrics["fppa_deg"].at_mid_stance == doc["stances"][0]["metrics"]["fppa_deg"]["at_mid_stance"]
    assert res.is_lab and res.frontal_2d is not None and res.summary.frontal_2d is not None
    assert res.statistic_of("fppa_deg") == "at_mid_stance" and res.statistic_of("pelvic_drop_deg") == "peak"
    assert res.metrics["pelvic_drop_deg"].baseline.startswith("none")


def test_single_leg_result_records_the_standing_baseline():
    res = AnalysisResult.from_json(_doc("squat"))
    assert "standing" in (res.metrics["pelvic_drop_deg"].baseline or "")
    assert res.schema_version == "2.1" and res.statistic_of("fppa_deg") == "at_bottom"
    rep = res.units[0]
    assert isinstance(rep, Rep) and isinstance(rep.metrics["pelvic_drop_deg"], MetricValue)
    assert rep.metrics["pelvic_drop_deg"].baseline_tilt_deg is not None


def test_schema_1_and_2_0_results_are_read():
    """Results saved by older web apps and batches: 1.x (summary of peaks, no summary_statistic)
    and 2.0 (no metric baseline)."""
    doc = _doc("squat")
    old = copy.deepcopy(doc)
    old["schema_version"] = "1.0"
    old.pop("summary_statistic")
    for d in old["metrics"].values():
        d.pop("baseline", None)
    res = AnalysisResult.from_json(copy.deepcopy(old))
    assert res.to_json() == old
    assert res.statistic_of("fppa_deg") == "peak"
    assert res.metrics["pelvic_drop_deg"].baseline is None
    v2 = copy.deepcopy(doc)  # 2.0: summary_statistic, no baseline
    v2["schema_version"] = "2.0"
    for d in v2["metrics"].values():
        d.pop("baseline", None)
    res2 = AnalysisResult.from_json(copy.deepcopy(v2))
    assert res2.to_json() == v2 and res2.statistic_of("fppa_deg") == "at_bottom"
    assert res2.metrics["pelvic_drop_deg"].baseline is None


def test_a_newer_schema_or_a_non_object_is_one_clear_error():
    with pytest.raises(ValueError, match="newer than this medius reads"):
        AnalysisResult.from_json({"schema_version": "3.0"})
    with pytest.raises(ValueError, match="must be a JSON object"):
        AnalysisResult.from_json([])  # type: ignore[arg-type]


def test_a_model_built_in_code_writes_every_field():
    res = AnalysisResult(task="walk", status="ok")
    out = res.to_json()
    assert out["task"] == "walk" and out["reps"] == [] and "summary" in out
    assert AnalysisResult.from_json(out).to_json() == out


def test_views_of_an_old_result_show_its_values():
    """A 1.x result saved by an older web app renders: its summary (of peaks) in every row."""
    from medius.report._key import key_summary
    from medius.report.rows import summary_rows, unit_columns
    from medius.report.tables import reps_csv_text

    old = _doc("squat")
    old["schema_version"] = "1.0"
    old.pop("summary_statistic")
    for side in ("left", "right"):
        for m in old["summary"][side].values():
            m.pop("statistic", None)
    res = AnalysisResult.from_json(old)
    rows = summary_rows(res)
    assert [r.metric for r in rows] == list(old["metrics"])
    for r in rows:
        assert r.left.mean == old["summary"]["left"][r.metric]["mean"] and r.statistic == "peak"
    assert len(unit_columns(res)) == 2 * len(old["metrics"])
    assert key_summary(old)["judgeable"] and reps_csv_text(res).count("\n") == 1 + len(old["reps"])
