"""The error model behind the error shown beside a video value (medius.validation.calibration), on
small hand-made sets of scored rows with known answers: the (n+1) rule, the scenario-block
t prediction, pooling to a coarser condition level, widening by a sparse level, the lookup the
registry does, and out-of-sample coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from medius.registry.measured import condition_levels, lookup_measured_error
from medius.validation.calibration import (
    block_error,
    conformal_error,
    coverage_table,
    fit_entries,
    out_of_sample,
)

KEY = "fppa_deg:at_bottom"


def _rows(scenario: str, errors: list[float], *, body: str = "b1", movement: str = "single-leg-squat",
          yaw: float = 0.0, fps: float = 30.0, view: str = "front", judged: bool = True) -> list[dict]:
    return [{"scenario": scenario, "body": body, "movement": movement, "view": view, "yaw_deg": yaw, "fps": fps,
             "short_side_px": 720, "judged": judged, "metrics": {KEY: {"error": e}}} for e in errors]


def test_the_n_plus_one_rule_takes_the_ceil_of_n_plus_one_times_095_th_smallest():
    assert conformal_error(list(range(1, 20))) == 19.0  # n = 19: rank ceil(20 * .95) = 19
    assert conformal_error(list(range(1, 40))) == 38.0  # n = 39: rank 38
    assert conformal_error([-5.0, 1.0, 2.0] * 13) == 5.0  # |error|
    assert math.isinf(conformal_error(list(range(1, 19))))  # n = 18: rank 19 does not exist


def test_block_error_is_the_t_prediction_over_scenarios():
    # equal scenario means: no between-scenario spread; sigma^2 = 4 / 2; one degree of freedom
    b = block_error([[-1.0, 1.0], [-1.0, 1.0]])
    assert b["tau"] == 0 and b["sigma"] == pytest.approx(math.sqrt(2))
    assert b["value"] == pytest.approx(math.sqrt(2) * stats.t(1).ppf(0.975), rel=1e-3)
    # a bias: the bias is inside the shown error, and P(|mu + s T| <= q) = 95 %
    groups = [[-6.0, -4.0], [-7.0, -5.0], [-5.0, -3.0], [-8.0, -6.0], [-4.0, -2.0]]
    b = block_error(groups)
    means = np.array([-5.0, -6.0, -4.0, -7.0, -3.0])
    assert b["mu"] == pytest.approx(-5.0) and b["tau"] == pytest.approx(means.std(ddof=1))
    s = math.sqrt(b["tau"] ** 2 * (1 + 1 / 5) + b["sigma"] ** 2)
    t = stats.t(4)
    assert t.cdf((b["value"] + 5) / s) - t.cdf((-b["value"] + 5) / s) == pytest.approx(0.95, abs=1e-4)
    assert b["value"] > 5.0
    # the bodies' spread widens it when it is larger than the scenarios'
    wide = block_error([[-1.0, 1.0], [-1.2, 0.8], [9.0, 11.0]], bodies=["a", "a", "b"])
    narrow = block_error([[-1.0, 1.0], [-1.2, 0.8], [9.0, 11.0]], bodies=["a", "a", "a"])
    assert wide["tau"] > narrow["tau"] and wide["value"] > narrow["value"]
    with pytest.raises(ValueError):
        block_error([[1.0, 2.0]])


def test_a_level_with_few_scenarios_takes_the_coarser_levels_error_and_may_only_widen_it():
    rows = []
    for k in range(6):  # six square-on 30-fps scenarios, errors about -2 +- 1
        rows += _rows(f"s{k}", [-2.0 + 0.2 * k + d for d in (-1.0, 0.0, 1.0)] * 3)
    rows += _rows("fast", [-1.0, 0.0, 1.0] * 3, fps=60.0)  # one 60-fps scenario, small errors
    rows += _rows("turned", [-9.0, -7.0, -8.0] * 3, yaw=20.0)  # one turned scenario, large errors
    entries = fit_entries(rows)
    doc = {"entries": entries}
    levels = {(e["condition"].get("fps"), e["condition"].get("yaw"), len(e["condition"])) for e in entries}
    # 30-fps square-on: six scenarios, its own entry
    assert ("30", "square", 5) in levels
    # 60 fps: one scenario with smaller errors than the coarser level: no entry of its own
    assert not any(e["condition"].get("fps") == "60" for e in entries)
    fast = lookup_measured_error("fppa_deg", "at_bottom", {"task": "single-leg-squat", "view": "front",
                                                           "yaw": "square", "fps": "60", "resolution": "720p"}, doc=doc)
    assert fast is not None and len(fast["condition"]) < 5
    # turned: one scenario with larger errors: its own, wider entry (it widens the coarser one)
    turned = lookup_measured_error("fppa_deg", "at_bottom", {"task": "single-leg-squat", "view": "front",
                                                             "yaw": "off-square", "fps": "30", "resolution": "720p"},
                                   doc=doc)
    assert turned is not None and turned["condition"]["yaw"] == "off-square" and turned["scenarios"] == 1
    assert turned["value"] > 9.0 and turned["value"] > fast["value"] and "widens" in turned
    # unjudged values are never measured
    assert fit_entries(_rows("x", [1.0] * 20, judged=False)) == []


def test_condition_levels_go_from_the_recording_to_the_task_kind():
    levels = condition_levels({"task": "walk", "view": "back", "yaw": "square", "fps": "30", "resolution": "720p"})
    assert levels[0] == {"task": "walk", "view": "back", "yaw": "square", "fps": "30", "resolution": "720p"}
    assert levels[-1] == {"kind": "gait"} and {"task": "walk"} in levels


def test_out_of_sample_coverage_counts_a_held_out_scenario_against_the_error_fitted_without_it():
    rows = []
    for k in range(6):
        rows += _rows(f"s{k}", [-1.0, 0.0, 1.0] * 4)
    rows += _rows("odd", [15.0] * 12)  # a scenario with its own large bias: no other scenario warns of it
    oos = out_of_sample(rows, by="scenario")
    assert len(oos) == len(rows) and [r["scenario"] for r in oos] == [r["scenario"] for r in rows]
    odd = [r["metrics"][KEY] for r in oos if r["scenario"] == "odd"]
    assert all(m["miss"] for m in odd)  # fitted on the six others, its error is too small for it
    assert all(m["shown_error"] < 15.0 for m in odd)
    table = {(c["group"], c["metric"]): c for c in coverage_table(oos)}
    cell = table[("all", KEY)]
    assert cell["n"] == len(rows)
    misses = sum(bool(r["metrics"][KEY]["miss"]) for r in oos)
    assert cell["miss_pct"] == round(100 * misses / len(rows), 1) and misses >= 12
    # in sample (the odd scenario among the six) its error widens for everyone: nothing missed
    doc = {"entries": fit_entries(rows)}
    e = lookup_measured_error("fppa_deg", "at_bottom", {"task": "single-leg-squat", "view": "front",
                                                        "yaw": "square", "fps": "30", "resolution": "720p"}, doc=doc)
    assert e is not None and e["value"] >= 15.0
    # leave one body out: every row's body is held out in turn
    by_body = out_of_sample(rows, by="body")
    assert all(m["shown_error"] is None for r in by_body for m in r["metrics"].values())  # one body: nothing left
    with pytest.raises(ValueError):
        out_of_sample(rows, by="camera")


def test_when_the_bodies_spread_more_than_the_scenarios_the_bodies_are_the_units() -> None:
    """Ten scenarios of one body (bias -8) and one each of two others (-1, -2): the bias is the
    mean of the three bodies' means, with 2 degrees of freedom, not the male-weighted mean of 12
    scenarios with 11; the error is wider than the scenario-based one would be."""
    from medius.validation.calibration import block_error

    rng = np.random.default_rng(3)
    groups = [list(-8.0 + rng.normal(0, 0.3, 1) + rng.normal(0, 1.0, 8)) for _ in range(10)]
    groups += [list(-1.0 + rng.normal(0, 1.0, 8)), list(-2.0 + rng.normal(0, 1.0, 8))]
    bodies = ["male"] * 10 + ["female", "tall"]
    by_body = block_error(groups, bodies=bodies)
    plain = block_error(groups)
    means = [np.mean(g) for g in groups]
    assert by_body["dof"] == 2 and plain["dof"] == 11
    assert by_body["mu"] == pytest.approx(np.mean([np.mean(means[:10]), means[10], means[11]]))
    assert by_body["value"] > plain["value"]

