"""The registry is one logical document spread over several YAML files."""

from __future__ import annotations

import pytest

from medius.registry import RegistryError, load_registry, parse_registry_documents

_MAIN = """
schema_version: 1
units: {deg: {symbol: "°", label: degrees, space_before: false}}
tasks: {walking: {label: walking, screen: false}}
metrics:
  - {name: a_deg, label: a, unit: deg, definition: d, sign_convention: s, caveat: c}
references: []
"""

_EXTRA = """
schema_version: 1
tasks: {running: {label: running, screen: false}}
references:
  - id: x2020.a
    metric: a_deg
    kind: group_mean_sd
    tasks: [running]
    task_match: same
    sex: any
    unit: deg
    population: p
    cohort: healthy
    source: X 2020
    reference: X et al. 2020
    status: verified
    study_task: running
    mean: 1
    sd: 2
"""


def test_extra_document_adds_tasks_and_references() -> None:
    reg = parse_registry_documents([("main.yaml", _MAIN), ("extra.yaml", _EXTRA)])
    assert set(reg.tasks) == {"walking", "running"}
    assert reg.get("x2020.a").mean == 1


def test_redefining_a_task_or_metric_is_refused() -> None:
    extra = "schema_version: 1\ntasks: {walking: {label: w, screen: false}}\n"
    with pytest.raises(RegistryError, match="extra.yaml: task 'walking' is already defined"):
        parse_registry_documents([("main.yaml", _MAIN), ("extra.yaml", extra)])
    extra = ("schema_version: 1\nmetrics:\n  - {name: a_deg, label: a, unit: deg, definition: d, "
             "sign_convention: s, caveat: c}\n")
    with pytest.raises(RegistryError, match="metric 'a_deg' is already defined"):
        parse_registry_documents([("main.yaml", _MAIN), ("extra.yaml", extra)])


def test_unknown_key_in_extra_document_is_refused() -> None:
    with pytest.raises(RegistryError, match="extra.yaml: unknown top-level key 'norms'"):
        parse_registry_documents([("main.yaml", _MAIN), ("extra.yaml", "schema_version: 1\nnorms: []\n")])


def test_shipped_registry_loads() -> None:
    assert load_registry().references
