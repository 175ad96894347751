"""The reference registry: the shipped YAML validates, lookups order correctly, comparisons read right."""

from __future__ import annotations

import ast
import copy
import dataclasses
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml

import medius.registry as registry_module
from medius.errors import InputNotFoundError, InvalidInputError
from medius.registry import (
    INTERPRETIVE_KINDS,
    KINDS,
    Reference,
    Registry,
    RegistryError,
    compare_to_reference,
    format_reference_values,
    load_registry,
    parse_registry,
    read_registry,
    registry_markdown_table,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "references.md"

#: the metric definitions exactly as specified for medius
EXPECTED_DEFINITIONS = {
    "fppa_deg": (
        "knee frontal-plane projection angle. In the image, 180° minus the angle at the knee between "
        "hip→knee and knee→ankle (i.e. the deviation of the shank from the thigh line); positive when the "
        "knee lies medial to the hip–ankle line (dynamic valgus), negative for varus."
    ),
    "pelvic_drop_deg": (
        "contralateral pelvic drop, the tilt of the line joining the hip centres relative to its value in "
        "the standing frames at the start of the rep; positive when the side of the free leg is lower."
    ),
    "trunk_lean_deg": (
        "lateral trunk lean, the line mid-hip → mid-shoulder against the image vertical; positive towards "
        "the stance leg."
    ),
    "hip_adduction_deg": (
        "2D hip adduction, the thigh (hip→knee) against the perpendicular to the pelvis line; positive "
        "towards the midline."
    ),
    "depth_pct": (
        "knee flexion proxy: descent of the mid-hip point below its standing position, in % of the "
        "standing hip-to-ankle length of the stance leg."
    ),
    "knee_medial_displacement_pct": (
        "horizontal distance of the stance knee medial of the foot centre (mean of ankle and toe), in % of "
        "the standing shank (knee–ankle) length; positive = medial."
    ),
}


# ------------------------------------------------------------------------------------ a small registry
def _entry(id_: str, **changes: object) -> dict:
    base = {
        "id": id_,
        "metric": "fppa_deg",
        "kind": "reference_range",
        "tasks": ["step-down"],
        "task_match": "same",
        "study_task": "step-down",
        "sex": "any",
        "low": 5,
        "high": 12,
        "unit": "deg",
        "population": "40 healthy adults",
        "cohort": "healthy",
        "source": "Test 2020",
        "reference": "Test A. A test paper. J Test 2020;1:1-2.",
        "status": "verified",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def _doc(*entries: dict, screen: bool = False) -> dict:
    return {
        "schema_version": 1,
        "units": {
            "deg": {"symbol": "°", "label": "degrees", "space_before": False},
            "pct_bw": {"symbol": "% BW", "label": "percent of body weight", "space_before": True},
        },
        "tasks": {
            "step-down": {"label": "step-down", "screen": screen},
            "single-leg-squat": {"label": "single-leg squat", "screen": False},
        },
        "metrics": [
            {
                "name": "fppa_deg",
                "label": "FPPA",
                "unit": "deg",
                "definition": "knee frontal-plane projection angle.",
                "sign_convention": "positive = valgus",
                "caveat": "2D composite.",
                **({"screen_tasks": ["step-down"]} if screen else {}),
            },
            {
                "name": "hip_abduction_strength_pct_bw",
                "label": "hip abduction strength",
                "unit": "pct_bw",
                "definition": "isometric hip abduction force in % of body weight.",
                "sign_convention": "higher = stronger",
                "caveat": "device-specific.",
            },
        ],
        "references": list(entries) or [_entry("fppa.test.any.test2020")],
    }


def _parse(doc: dict) -> Registry:
    return parse_registry(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


# ------------------------------------------------------------------------------------ shipped registry
def test_packaged_registry_ships_loads_and_is_cached():
    assert resources.files("medius.registry").joinpath("references.yaml").is_file()
    reg = load_registry()
    assert isinstance(reg, Registry)
    assert load_registry() is reg
    assert len(reg.references) >= 15
    assert set(KINDS) >= {r.kind for r in reg.references}


def test_every_metric_is_defined_exactly_as_specified():
    reg = load_registry()
    assert set(EXPECTED_DEFINITIONS) <= set(reg.metrics)
    for name, text in EXPECTED_DEFINITIONS.items():
        m = reg.metric(name)
        assert m.definition == text, name
        assert m.unit in reg.units
        assert m.label and m.sign_convention and m.caveat
    for ref in reg.references:
        assert ref.metric in reg.metrics, ref.id
    with pytest.raises(KeyError, match="unknown metric 'knee_angle'; known metrics: fppa_deg"):
        reg.metric("knee_angle")


def test_every_entry_has_source_population_unit_reference_and_status():
    reg = load_registry()
    ids = [r.id for r in reg.references]
    assert len(ids) == len(set(ids))
    for ref in reg.references:
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", ref.id)
        assert ref.source.strip() and ref.population.strip() and ref.reference.strip(), ref.id
        assert ref.unit == reg.metric(ref.metric).unit, ref.id
        assert ref.status in ("verified", "secondary", "provisional")
        assert len(ref.tasks) == len(ref.task_match) >= 1
        if ref.kind in INTERPRETIVE_KINDS + ("measurement_error",):
            assert ref.study_task, ref.id
        if ref.kind == "no_reference":
            assert ref.reason and ref.reason.startswith(("No ", "Depth")), ref.id


def test_the_required_studies_are_present_with_their_numbers():
    reg = load_registry()
    bands = {
        "fppa.drop_jump.female.herrington2010": (7, 13),
        "fppa.drop_jump.male.herrington2010": (3, 8),
        "fppa.step_landing.female.herrington2010": (5, 12),
        "fppa.step_landing.male.herrington2010": (1, 9),
    }
    for rid, band in bands.items():
        ref = reg.get(rid)
        assert (ref.kind, ref.band, ref.status, ref.source) == (
            "reference_range",
            band,
            "verified",
            "Herrington & Munro 2010",
        )
    means = {
        "fppa.sls.controls.herrington2014": (8.4, 5.1, "healthy"),
        "fppa.sls.pfp.herrington2014": (16.8, 5.4, "patient"),
        "fppa.landing.controls.herrington2014": (13.5, 5.7, "healthy"),
        "fppa.landing.pfp.herrington2014": (21.7, 3.6, "patient"),
    }
    for rid, (mean, sd, cohort) in means.items():
        ref = reg.get(rid)
        assert (ref.kind, ref.mean, ref.sd, ref.cohort, ref.sex) == (
            "group_mean_sd",
            mean,
            sd,
            cohort,
            "female",
        )
    munro = reg.get("fppa.error.munro2012")
    assert munro.sem == (2.72, 3.01) and munro.mdc == (7.54, 8.93)
    assert munro.icc_within_session == (0.59, 0.88) and munro.icc_between_session == (0.72, 0.91)
    gwynne = reg.get("fppa.sls.error.gwynne2014")
    assert gwynne.sem == (2.0, 4.0) and gwynne.validity_r == (0.64, 0.78) and gwynne.mdc is None
    with pytest.raises(KeyError, match="no reference with id 'fppa.nope'"):
        reg.get("fppa.nope")


def test_step_landing_is_a_related_task_for_the_step_down_and_not_used_for_the_squat():
    reg = load_registry()
    ref = reg.get("fppa.step_landing.female.herrington2010")
    assert ref.match_for("step-down") == "related"
    assert ref.match_for("single-leg-landing") == "same"
    assert "single-leg-squat" not in ref.tasks
    with pytest.raises(ValueError, match="does not apply to task 'single-leg-squat'"):
        ref.match_for("single-leg-squat")


def test_no_provisional_fact_is_marked_verified():
    """Spot-checks against the facts sheet's ⚠ marks (numbers not retrieved or not verified)."""
    reg = load_registry()
    # (source, part of the entry id): numbers of these studies are ⚠ in the facts sheet; None = all.
    # Khayambashi 2016's ER cut-off (20.3 % BW) and Crossley 2004's Kujala MCID are ✔ there.
    unverified = (
        ("Willson", None), ("Bramah", None), ("Hewett", None), ("Noehren", None), ("Dingenen", None),
        ("Khayambashi", "abduction"), ("Crossley 2011", None),
    )
    numeric = INTERPRETIVE_KINDS + ("measurement_error",)
    for ref in reg.references:
        if ref.kind in numeric and ref.status == "verified":
            for source, part in unverified:
                assert not (source in ref.source and (part is None or part in ref.id)), ref.id
    # absences found by a limited search are themselves unverified
    for ref in reg.references:
        if ref.kind == "no_reference":
            assert ref.status == "provisional" and ref.provisional, ref.id
    # Willson & Davis 2008 values were not retrieved: named only in notes, never as numbers
    assert "not retrieved" in reg.get("fppa.sls.controls.herrington2014").notes
    # no sourced FPPA numbers for men in the single-leg squat, and the registry says so
    men = reg.references_for("fppa_deg", "single-leg-squat", sex="male", kind=INTERPRETIVE_KINDS)
    assert men == []
    (none,) = reg.references_for("fppa_deg", "single-leg-squat", sex="male", kind="no_reference")
    assert none.id == "fppa.sls.male.no_reference" and "women only" in none.reason
    # the running pelvic-drop cut-off is unverified: only a no_reference entry exists
    running = reg.references_for("pelvic_drop_deg", "run")
    assert [r.kind for r in running] == ["no_reference"]


@pytest.mark.parametrize("task", ["single-leg-squat", "step-down"])
@pytest.mark.parametrize("sex", ["female", "male"])
def test_every_screen_metric_has_a_reference_or_says_why_not(task, sex):
    reg = load_registry()
    for metric in (n for n, m in reg.metrics.items() if task in m.screen_tasks):
        refs = reg.references_for(metric, task, sex=sex, kind=INTERPRETIVE_KINDS + ("no_reference",))
        assert refs, (metric, task, sex)
    for metric in ("pelvic_drop_deg", "trunk_lean_deg", "hip_adduction_deg", "depth_pct"):
        (ref,) = reg.references_for(metric, task, sex=sex)
        assert ref.kind == "no_reference"


# ------------------------------------------------------------------------------------ lookups
def test_references_for_orders_most_specific_first_in_shipped_data():
    reg = load_registry()
    refs = reg.references_for("fppa_deg", "step-down", sex="female", kind="reference_range")
    assert [r.id for r in refs] == ["fppa.step_landing.female.herrington2010"]
    sls = reg.references_for("fppa_deg", "single-leg-squat", sex="female", kind="group_mean_sd")
    assert [r.id for r in sls] == [
        "fppa.sls.controls.herrington2014",  # healthy cohort before patient cohorts
        "fppa.sls.pfp.herrington2014",
        "fppa.sls.pfp.pmc7274868",
    ]
    sd = reg.references_for("fppa_deg", "step-down", sex="female", kind="group_mean_sd")
    assert [r.id for r in sd][:2] == [
        "fppa.sls.controls.herrington2014",
        "fppa.landing.controls.herrington2014",
    ]
    assert reg.measurement_error("fppa_deg", "single-leg-squat").id == "fppa.error.munro2012"
    assert reg.measurement_error("fppa_deg", "step-down").match_for("step-down") == "related"
    assert reg.measurement_error("pelvic_drop_deg", "single-leg-squat") is None


def test_references_for_ordering_rules():
    entries = [
        _entry("a.provisional.same.any", status="provisional"),
        _entry("a.verified.related.female", sex="female", task_match="related"),
        _entry("a.verified.same.any"),
        _entry("a.verified.same.female", sex="female"),
        _entry("a.secondary.same.female", sex="female", status="secondary"),
        _entry("a.verified.same.male", sex="male"),
        _entry("a.verified.same.female.patient", sex="female", cohort="patient"),
    ]
    reg = _parse(_doc(*entries))
    got = [r.id for r in reg.references_for("fppa_deg", "step-down", sex="female")]
    assert got == [
        "a.verified.same.female",  # same task, sex-matched, verified, healthy
        "a.verified.same.female.patient",  # ... patient cohort after healthy
        "a.secondary.same.female",  # ... secondary after verified
        "a.verified.same.any",  # sex 'any' after sex-matched
        "a.provisional.same.any",  # provisional after verified
        "a.verified.related.female",  # related task after every same-task entry
    ]
    assert "a.verified.same.male" not in got
    any_only = [r.id for r in reg.references_for("fppa_deg", "step-down", sex="any")]
    assert any_only == ["a.verified.same.any", "a.provisional.same.any"]
    assert len(reg.references_for("fppa_deg", "step-down")) == len(entries)
    assert reg.references_for("fppa_deg", "single-leg-squat") == []


def test_references_for_rejects_bad_arguments():
    reg = load_registry()
    with pytest.raises(ValueError, match="'metric' parameter: allowed values are fppa_deg.*got 'fppa'"):
        reg.references_for("fppa", "step-down")
    with pytest.raises(
        ValueError, match="'task' parameter: allowed values are single-leg-squat.*got 'squat'"
    ):
        reg.references_for("fppa_deg", "squat")
    with pytest.raises(
        ValueError, match="'sex' parameter: allowed values are female, male, any or None, but got 'f'"
    ):
        reg.references_for("fppa_deg", "step-down", sex="f")
    with pytest.raises(ValueError, match="'kind' parameter: allowed values are reference_range"):
        reg.references_for("fppa_deg", "step-down", kind="range")


# ------------------------------------------------------------------------------------ comparisons
def test_compare_above_a_reference_range_gives_the_documented_sentence():
    reg = load_registry()
    ref = reg.get("fppa.step_landing.female.herrington2010")
    c = compare_to_reference(12.3, ref, task="step-down")
    assert c.verdict == "above" and not c.provisional
    assert c.text == (
        "12.3° is above the reference range 5–12° of Herrington & Munro 2010 (100 asymptomatic active "
        "adults, 50 F / 50 M, 18–28 y; women; single-leg step landing, a related task)."
    )
    assert (c.low, c.high, c.value, c.unit, c.task_match) == (5, 12, 12.3, "deg", "related")
    same = compare_to_reference(12.3, ref, task="single-leg-landing")
    assert same.text.endswith("; women; single-leg step landing).")


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        (8.0, "within"),
        (5.0, "within"),
        (12.0, "within"),
        (12.04, "within"),
        (12.06, "above"),
        (4.9, "below"),
        (-3.0, "below"),
    ],
)
def test_compare_reference_range_verdicts(value, verdict):
    ref = load_registry().get("fppa.step_landing.male.herrington2010")  # 1–9°
    ref5_12 = load_registry().get("fppa.step_landing.female.herrington2010")
    assert compare_to_reference(value, ref5_12, task="step-down").verdict == verdict
    assert compare_to_reference(0.5, ref, task="step-down").verdict == "below"


def test_compare_within_and_below_wording():
    ref = load_registry().get("fppa.drop_jump.male.herrington2010")  # 3–8°, task_match same everywhere
    within = compare_to_reference(5, ref)
    assert within.verdict == "within"
    assert within.text.startswith("5.0° is within the reference range 3–8° of Herrington & Munro 2010 (")
    assert within.text.endswith("; men; bilateral drop-jump landing).")
    below = compare_to_reference(-2.3, ref)
    assert below.verdict == "below"
    assert below.text.startswith("−2.3° is below the reference range 3–8° of Herrington & Munro 2010 (")


def test_compare_group_mean_sd_uses_mean_plus_minus_one_sd_and_says_so():
    ref = load_registry().get("fppa.sls.controls.herrington2014")  # 8.4 ± 5.1 -> 3.3–13.5
    c = compare_to_reference(14.0, ref, task="single-leg-squat")
    assert c.verdict == "above"
    assert (c.low, c.high) == pytest.approx((3.3, 13.5))
    assert c.text == (
        "14.0° is above the reference band mean ± 1 SD = 3.3–13.5° (8.4 ± 5.1°) of Herrington 2014 "
        "(30 asymptomatic women, control group; women; single-leg squat)."
    )
    assert compare_to_reference(13.5, ref).verdict == "within"
    assert compare_to_reference(3.2, ref).verdict == "below"
    related = compare_to_reference(10, ref, task="step-down")
    assert related.text.endswith("; women; single-leg squat, a related task).")
    # an entry whose match differs between tasks: unstated without a task
    assert compare_to_reference(10, ref).task_match is None
    assert "related" not in compare_to_reference(10, ref).text


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        ("provisional", "Provisional reference: the numbers are not verified against the primary source."),
        ("secondary", "Provisional reference: the numbers were seen only in a secondary source."),
    ],
)
def test_compare_marks_unverified_references_as_provisional(status, phrase):
    reg = _parse(_doc(_entry("fppa.test.any.test2020", status=status)))
    c = compare_to_reference(13, reg.get("fppa.test.any.test2020"), registry=reg)
    assert c.provisional is True and c.verdict == "above"
    assert c.text.startswith(
        "13.0° is above the provisional reference range 5–12° of Test 2020 (40 healthy adults;"
    )
    assert c.text.endswith(phrase)


def test_compare_cutoff_both_directions():
    weak = _entry(
        "strength.hip_abd.any.test2016",
        metric="hip_abduction_strength_pct_bw",
        kind="cutoff",
        low=None,
        high=None,
        cutoff=35.4,
        flag_when="at_or_below",
        unit="pct_bw",
        study_task="isometric hip abduction, hand-held dynamometer",
    )
    high = _entry(
        "fppa.cut.any.test2020", kind="cutoff", low=None, high=None, cutoff=16, flag_when="at_or_above"
    )
    reg = _parse(_doc(weak, high))
    c = compare_to_reference(30, reg.get("strength.hip_abd.any.test2016"), registry=reg)
    assert c.verdict == "below"
    assert c.text.startswith("30.0 % BW is at or below the reference cut-off 35.4 % BW of Test 2020 (")
    assert (
        compare_to_reference(35.4, reg.get("strength.hip_abd.any.test2016"), registry=reg).verdict == "below"
    )
    assert compare_to_reference(40, reg.get("strength.hip_abd.any.test2016"), registry=reg).verdict == "above"
    up = compare_to_reference(16, reg.get("fppa.cut.any.test2020"), registry=reg)
    assert up.verdict == "above" and "is at or above the reference cut-off 16°" in up.text
    assert compare_to_reference(15.9, reg.get("fppa.cut.any.test2020"), registry=reg).verdict == "below"
    assert format_reference_values(reg.get("strength.hip_abd.any.test2016"), reg) == "≤ 35.4 % BW"


def test_compare_refuses_non_interpretive_entries_and_bad_values():
    reg = load_registry()
    with pytest.raises(
        ValueError,
        match="'ref' parameter: its kind must be one of .*'fppa.error.munro2012' is of kind 'measurement_error'",
    ):
        compare_to_reference(5, reg.get("fppa.error.munro2012"))
    with pytest.raises(ValueError, match="kind 'no_reference'"):
        compare_to_reference(5, reg.get("depth.single_leg.no_reference"))
    with pytest.raises(ValueError, match="'value' parameter: must be a finite number, but got nan"):
        compare_to_reference(float("nan"), reg.get("fppa.drop_jump.male.herrington2010"))


def test_format_reference_values():
    reg = load_registry()
    assert format_reference_values(reg.get("fppa.drop_jump.female.herrington2010")) == "7–13°"
    assert format_reference_values(reg.get("fppa.sls.pfp.herrington2014")) == "16.8 ± 5.4°"
    assert format_reference_values(reg.get("fppa.error.munro2012")) == (
        "SEM 2.72–3.01°; MDC 7.54–8.93°; ICC within-session 0.59–0.88; ICC between-session 0.72–0.91"
    )
    assert format_reference_values(reg.get("depth.single_leg.no_reference")) == "no sourced reference"


# ------------------------------------------------------------------------------------ validation
def test_minimal_registry_parses_and_entries_are_frozen_and_hashable():
    reg = _parse(_doc())
    ref = reg.get("fppa.test.any.test2020")
    assert isinstance(ref, Reference) and ref.band == (5.0, 12.0) and ref.task_match == ("same",)
    assert hash(ref) == hash(dataclasses.replace(ref))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.low = 1.0  # type: ignore[misc]


def test_broken_entry_fails_with_a_message_naming_the_id_and_field():
    doc = _doc(_entry("fppa.broken.any.test2020", low=14, high=9))
    with pytest.raises(
        RegistryError,
        match=re.escape(
            "invalid reference registry (1 problem): entry 'fppa.broken.any.test2020': field 'low' must be below "
            "'high'; got low=14, high=9"
        ),
    ):
        _parse(doc)


def test_broken_yaml_text_lists_all_problems_in_one_message():
    text = """
schema_version: 1
units:
  deg: {symbol: "°", label: degrees, space_before: false}
tasks:
  step-down: {label: step-down, screen: false}
metrics:
  - {name: fppa_deg, label: FPPA, unit: deg, definition: d., sign_convention: s, caveat: c.}
references:
  - id: fppa.bad.one
    metric: fppa_deg
    kind: reference_range
    tasks: [step-down, squat]
    task_match: same
    study_task: step-down
    sex: women
    low: 5
    hgih: 12
    unit: degrees
    population: 40 adults
    cohort: healthy
    source: X 2020
    reference: X. Paper.
    status: checked
  - metric: fppa_deg
    kind: range
"""
    with pytest.raises(RegistryError) as info:
        parse_registry(text)
    err = info.value
    msg = str(err)
    assert isinstance(err, InvalidInputError) and err.exit_code == 4
    assert "\n" not in msg
    for expected in (
        "entry 'fppa.bad.one': missing required field 'high'",
        "entry 'fppa.bad.one': unknown field 'hgih'",
        "entry 'fppa.bad.one': field 'sex' must be one of female, male, any; got 'women'",
        "entry 'fppa.bad.one': field 'unit' must be one of deg; got 'degrees'",
        "entry 'fppa.bad.one': field 'status' must be one of verified, secondary, provisional; got 'checked'",
        "entry 'fppa.bad.one': field 'tasks' has unknown task(s) 'squat' (known: step-down)",
        "entry #2 (no id): missing required field 'id'",
        "entry #2 (no id): field 'kind' must be one of reference_range, group_mean_sd, cutoff, "
        "measurement_error, no_reference; got 'range'",
    ):
        assert expected in msg
    assert msg.startswith(f"invalid reference registry ({len(err.problems)} problems): ")
    assert len(err.problems) >= 8


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"kind": "group_mean_sd", "low": None, "high": None, "mean": 8.4, "sd": -1},
            "field 'sd' must be > 0; got -1",
        ),
        (
            {"kind": "group_mean_sd", "mean": 8.4, "sd": 5.1},
            "field 'low' does not belong to kind 'group_mean_sd'",
        ),
        ({"unit": "pct_bw"}, "field 'unit' is 'pct_bw' but metric 'fppa_deg' is measured in 'deg'"),
        (
            {"task_match": {"single-leg-squat": "same"}},
            "field 'task_match' must give exactly the tasks in 'tasks'",
        ),
        ({"task_match": "similar"}, "field 'task_match' must be one of same, related"),
        ({"low": "5"}, "field 'low' must be a finite number; got '5'"),
        (
            {"kind": "measurement_error", "low": None, "high": None},
            "a measurement_error entry needs at least one of sem, mdc",
        ),
        (
            {"kind": "measurement_error", "low": None, "high": None, "icc_within_session": [0.9, 0.5]},
            "field 'icc_within_session' must be [min, max] with min <= max",
        ),
        (
            {"kind": "measurement_error", "low": None, "high": None, "icc_within_session": 1.3},
            "field 'icc_within_session' must lie in [-1, 1]",
        ),
        ({"kind": "no_reference", "low": None, "high": None}, "missing required field 'reason'"),
        ({"population": ""}, "field 'population' must be a non-empty string"),
        ({"source": None}, "missing required field 'source'"),
        ({"n": 0}, "field 'n' must be a positive whole number; got 0"),
        ({"id": "Fppa Test"}, "field 'id' must be lower-case dotted words"),
    ],
)
def test_entry_validation_rules(changes, message):
    eid = changes.get("id", "fppa.test.any.test2020")
    with pytest.raises(RegistryError, match=re.escape(f"entry {eid!r}: {message}")):
        _parse(_doc(_entry("fppa.test.any.test2020", **changes)))


def test_duplicate_ids_unknown_metric_and_bad_sections_are_reported():
    with pytest.raises(
        RegistryError, match=re.escape("entry 'a.b': field 'id' is used by an earlier entry too")
    ):
        _parse(_doc(_entry("a.b"), _entry("a.b")))
    with pytest.raises(
        RegistryError,
        match=re.escape(
            "entry 'a.b': field 'metric' must be one of fppa_deg, hip_abduction_strength_pct_bw; got 'valgus'"
        ),
    ):
        _parse(_doc(_entry("a.b", metric="valgus")))
    doc = _doc()
    doc["metrics"][0]["unit"] = "radians"
    doc["extra"] = 1
    with pytest.raises(RegistryError) as info:
        _parse(doc)
    assert "metric 'fppa_deg': field 'unit' 'radians' is not a known unit (known: deg, pct_bw)" in str(
        info.value
    )
    assert "unknown top-level key 'extra'" in str(info.value)
    with pytest.raises(RegistryError, match="YAML does not parse"):
        parse_registry("references: [unclosed")
    with pytest.raises(RegistryError, match="top level must be a mapping"):
        parse_registry("- just a list")


def test_screen_tasks_must_cover_every_metric_for_both_sexes():
    doc = _doc(_entry("fppa.test.female.test2020", sex="female"), screen=True)
    with pytest.raises(RegistryError) as info:
        _parse(doc)
    msg = str(info.value)
    assert "metric 'fppa_deg' in screen task 'step-down' has no entry for sex 'male'" in msg
    # a metric outside the screen (no screen_tasks) needs no entry
    assert "hip_abduction_strength_pct_bw" not in msg
    covered = _doc(_entry("fppa.test.any.test2020"), screen=True)
    assert len(_parse(covered).references) == 1


def test_screen_tasks_of_a_metric_must_be_screen_tasks():
    doc = _doc(_entry("fppa.test.any.test2020"))
    doc["metrics"][0]["screen_tasks"] = ["step-down", "hopping"]
    with pytest.raises(RegistryError) as info:
        _parse(doc)
    assert "metric 'fppa_deg': task 'step-down' in screen_tasks is not a screen task" in str(info.value)
    assert "metric 'fppa_deg': screen task 'hopping' is not a known task" in str(info.value)


def test_read_registry_from_a_file(tmp_path):
    path = tmp_path / "refs.yaml"
    path.write_text(yaml.safe_dump(_doc(), allow_unicode=True), encoding="utf-8")
    assert read_registry(path).get("fppa.test.any.test2020").high == 12
    with pytest.raises(InputNotFoundError, match="reference registry file not found"):
        read_registry(tmp_path / "missing.yaml")
    bad = copy.deepcopy(_doc())
    bad["references"][0]["status"] = "maybe"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError, match=re.escape(f"{path}: invalid reference registry (1 problem)")):
        read_registry(path)


# ------------------------------------------------------------------------------------ docs and layering
def test_docs_contain_every_entry_id_and_the_current_table():
    doc = DOC.read_text(encoding="utf-8")
    for ref in load_registry().references:
        assert f"`{ref.id}`" in doc, ref.id
    table = registry_markdown_table()
    assert table.count("\n") == len(load_registry().references) + 2
    assert table in doc, (
        "docs/references.md is out of date: paste the output of "
        "python -c 'from medius.registry import registry_markdown_table as t; print(t())'"
    )


def test_registry_imports_nothing_from_medius_but_errors():
    tree = ast.parse(Path(registry_module.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert {m for m in imported if m.split(".")[0] == "medius"} == {"medius.errors"}
