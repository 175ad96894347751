"""The metric specification: one hop from each metric to its definition, code, test and citation;
the protocols' lists and the docs tables are generated from it."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from medius.protocols import GAIT_METRICS, METRICS, STANCE_SCALARS, _gait, _single_leg
from medius.protocols.metric_spec import (
    GAIT,
    METRIC_SPECS,
    SINGLE_LEG,
    conventions_gait_table,
    metric_names,
    summary_stat,
)
from medius.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]


def _slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")}


@pytest.mark.parametrize("name", list(METRIC_SPECS))
def test_every_metric_is_one_hop_from_its_code_test_anchor_and_references(name):
    s = METRIC_SPECS[name]
    # the code: every dotted path imports
    assert s.code, name
    for dotted in s.code:
        module, _, attr = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr)), dotted
    # the test: every node id names a test function that exists
    assert s.tests, name
    for node in s.tests:
        file, _, func = node.partition("::")
        tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
        assert func in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}, node
    # the conventions anchor
    assert s.conventions_anchor in _anchors(ROOT / "docs" / "conventions.md"), s.conventions_anchor
    # the registry: every reference id exists and is about one of the metric's registry names
    reg = load_registry()
    for metric in s.registry_metrics:
        assert reg.metric(metric).unit == s.unit, (metric, s.unit)
    for ref in s.references:
        assert reg.get(ref).metric in s.registry_metrics, ref
    # every source it names is a known source; every task group has a statistic
    assert set(s.sources) <= {"video", "gait_video", "gait_lab", "gait_lab_frontal_2d"}
    assert s.summary_stat and set(s.summary_stat) <= {SINGLE_LEG, GAIT}


def test_the_protocols_lists_are_generated_from_the_spec():
    assert metric_names(SINGLE_LEG, "curve") == METRICS == _single_leg.METRICS
    assert metric_names(GAIT, "curve") == GAIT_METRICS
    assert metric_names(GAIT, "stance_value") == STANCE_SCALARS
    assert summary_stat(SINGLE_LEG, "curve") == _single_leg.SUMMARY_STAT == {m: "at_bottom" for m in METRICS}
    assert summary_stat(GAIT, "curve") == _gait.SUMMARY_STAT
    assert _gait.SUMMARY_STAT == {"pelvic_drop_deg": "peak", "hip_adduction_deg": "peak", "trunk_lean_deg": "peak",
                                  "fppa_deg": "at_mid_stance"}
    assert _gait.PEAK_RULE == {"pelvic_drop_deg": "max", "hip_adduction_deg": "max", "trunk_lean_deg": "abs",
                               "fppa_deg": "abs"}
    # every registry reference about a measured metric is reachable from that metric's spec
    named = {r for s in METRIC_SPECS.values() for r in s.registry_metrics}
    for ref in load_registry().references:
        if ref.metric in named and ref.kind != "no_reference":
            assert any(ref.metric in s.registry_metrics for s in METRIC_SPECS.values())


def test_pelvic_drop_records_its_baseline_per_source():
    s = METRIC_SPECS["pelvic_drop_deg"]
    assert "standing" in (s.baseline("video") or "")
    assert (s.baseline("gait_video") or "").startswith("none")
    assert (s.baseline("gait_lab") or "").startswith("none")
    assert _gait.GAIT_DEFINITIONS["pelvic_drop_deg"]["video"]["baseline"] == s.baseline("gait_video")


def test_docs_gait_table_equals_the_generated_one():
    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- metric-spec:gait:start -->\n(.*?)\n<!-- metric-spec:gait:end -->", text, re.S)
    assert m, "docs/conventions.md lacks the generated gait table"
    assert m.group(1) == conventions_gait_table(), (
        "docs/conventions.md's gait table is stale: paste the output of "
        "python -c 'from medius.protocols.metric_spec import conventions_gait_table as t; print(t())'"
    )


def test_docs_specification_table_equals_the_generated_one():
    from medius.protocols.metric_spec import spec_markdown_table

    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- metric-spec:all:start -->\n(.*?)\n<!-- metric-spec:all:end -->", text, re.S)
    assert m and m.group(1) == spec_markdown_table(), (
        "docs/conventions.md's metric specification table is stale: paste the output of "
        "python -c 'from medius.protocols.metric_spec import spec_markdown_table as t; print(t())'"
    )


def test_result_schema_lists_every_single_leg_metric():
    text = (ROOT / "docs" / "result-schema.md").read_text(encoding="utf-8")
    for m in metric_names(SINGLE_LEG) + metric_names(GAIT):
        assert f"`{m}`" in text, m
