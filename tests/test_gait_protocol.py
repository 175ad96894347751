"""The per-stance gait engine: known answers on analytic series, stance pairing, the Trendelenburg rule."""

from __future__ import annotations

import numpy as np
import pytest

from medius.events import Stance as StancePhase
from medius.events import stances_from_events
from medius.protocols import (
    GAIT_METRICS,
    evaluate_trendelenburg,
    measure_stances,
    summarize_stances,
)
from medius.registry import load_registry


def _events(strikes: dict[str, list[float]], offs: dict[str, list[float]]) -> list[dict]:
    out = [{"side": s, "kind": "foot_strike", "time_s": t} for s, ts in strikes.items() for t in ts]
    out += [{"side": s, "kind": "foot_off", "time_s": t} for s, ts in offs.items() for t in ts]
    return out


def test_stances_pair_each_strike_with_the_next_off_and_say_why_not():
    t = np.arange(0, 4.0, 0.01)
    ev = _events({"left": [0.5, 1.5, 2.5], "right": [1.0, 2.0, 3.0]}, {"left": [1.1, 2.1], "right": [1.6, 2.6, 3.6]})
    stances, notes = stances_from_events(ev, t)
    assert [(p.side, p.strike, p.off) for p in stances] == [
        ("left", 50, 110), ("right", 100, 160), ("left", 150, 210), ("right", 200, 260), ("right", 300, 360)
    ]
    # the other foot's strikes around each strike (step time and step width)
    assert stances[1].previous_other_strike == 50 and stances[1].next_other_strike == 150
    assert notes == ["left foot strike at 2.500 s: no foot off after it (end of the recording)"]
    # two strikes in a row, and a "stance" of several seconds (standing still), are not stances
    ev = _events({"left": [0.5, 1.0]}, {"left": [3.9]})
    stances, notes = stances_from_events(ev, t, max_stance_s=2.0)
    assert stances == []
    assert "followed by another strike" in notes[0] and "not a gait stance" in notes[1]


def test_measure_stances_known_answers():
    t = np.arange(0, 2.0, 0.01)
    n = t.size
    # a bump peaking at 0.4 s (value 6) in the left stance 0.2-0.8 s; constant 2 elsewhere
    bump = 2.0 + 4.0 * np.exp(-(((t - 0.4) / 0.08) ** 2))
    series = {f"{m}_{s}": np.zeros(n) for m in GAIT_METRICS for s in ("left", "right")}
    series["pelvic_drop_deg_left"] = bump
    series["hip_adduction_deg_left"] = np.full(n, 7.5)
    series["trunk_lean_deg_left"] = np.where(t < 0.5, 1.0, -3.0)  # farthest from zero: -3
    series["fppa_deg_left"] = 10.0 * t  # at mid-stance (0.5 s): 5
    feet = {"left": np.full(n, 0.0), "right": np.full(n, 15.0)}
    p = StancePhase("left", strike=20, off=80, next_other_strike=110, previous_other_strike=0)
    (row,) = measure_stances(series, [p], t, foot_ml=feet, hip_width=20.0, metres_per_unit=0.01)
    m = row["metrics"]
    assert m["pelvic_drop_deg"]["peak"] == 6.0 and m["pelvic_drop_deg"]["peak_s"] == 0.4
    assert m["pelvic_drop_deg"]["at_mid_stance"] == pytest.approx(2.0 + 4.0 * np.exp(-((0.1 / 0.08) ** 2)), abs=0.01)
    assert m["hip_adduction_deg"]["peak"] == 7.5
    assert m["trunk_lean_deg"]["peak"] == -3.0
    assert m["fppa_deg"]["at_mid_stance"] == 5.0
    assert (row["foot_strike_s"], row["mid_stance_s"], row["foot_off_s"]) == (0.2, 0.5, 0.8)
    v = row["values"]
    assert v["stance_time_s"] == 0.6 and v["step_time_s"] == 0.9
    # 15 units apart over a 20-unit hip width; 1 unit = 1 cm
    assert v["step_width_pct"] == 75.0 and v["step_width_cm"] == 15.0


def test_step_width_follows_a_drifting_line_of_progression():
    t = np.arange(0, 2.0, 0.01)
    drift = 10.0 * t  # the person drifts sideways at 10 units/s
    feet = {"left": drift.copy(), "right": drift + 15.0}
    p = StancePhase("left", strike=100, off=150, next_other_strike=150, previous_other_strike=50)
    (row,) = measure_stances({}, [p], t, foot_ml=feet, hip_width=20.0)
    assert row["values"]["step_width_pct"] == 75.0  # not (15 - 5) / 20 from the stale previous strike


def test_summary_uses_the_stated_statistic_per_metric():
    rows = []
    for i, (side, drop, fppa_mid) in enumerate([("left", 4, 8), ("left", 6, 10), ("right", 8, 2)]):
        rows.append(
            {
                "side": side,
                "status": "complete",
                "metrics": {
                    "pelvic_drop_deg": {"peak": drop, "at_mid_stance": drop - 1},
                    "fppa_deg": {"peak": 20 + i, "at_mid_stance": fppa_mid},
                },
                "values": {"stance_time_s": 0.6},
            }
        )
    s = summarize_stances(rows)
    assert s["left"]["pelvic_drop_deg"]["mean"] == 5.0 and s["left"]["pelvic_drop_deg"]["statistic"] == "peak"
    assert s["left"]["pelvic_drop_deg"]["sd"] == pytest.approx(1.41, abs=0.01)
    assert s["left"]["pelvic_drop_deg"]["at_mid_stance"]["mean"] == 4.0
    assert s["left"]["fppa_deg"]["mean"] == 9.0 and s["left"]["fppa_deg"]["statistic"] == "at_mid_stance"
    assert s["right"]["fppa_deg"]["n"] == 1 and s["right"]["fppa_deg"]["sd"] is None
    assert s["difference"]["pelvic_drop_deg"]["left_minus_right"] == -3.0
    assert s["left"]["stance_time_s"]["mean"] == 0.6


def test_trendelenburg_rule_comes_from_the_registry():
    ref = load_registry().get("trendelenburg_pattern.gait.magee")
    cut = ref.cutoff
    summary = {
        "left": {"pelvic_drop_deg": {"at_mid_stance": {"mean": cut}}},
        "right": {"pelvic_drop_deg": {"at_mid_stance": {"mean": cut - 0.1}}},
    }
    out = evaluate_trendelenburg(summary, "walk")
    assert out["left"]["flag"] is True and out["right"]["flag"] is False
    assert out["rule"]["reference_id"] == ref.id and out["rule"]["provisional"] is True
    assert "Magee" in out["rule"]["text"] and f"{cut:g}°" in out["rule"]["text"]
    assert "Trendelenburg pattern." in out["left"]["text"] and "no Trendelenburg pattern" in out["right"]["text"]
    assert evaluate_trendelenburg({"left": {}, "right": {}}, "run")["left"]["flag"] is None
    # no rule for a task without one
    assert evaluate_trendelenburg(summary, "single-leg-squat") == {"rule": None, "left": None, "right": None}
