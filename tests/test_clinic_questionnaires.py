"""Questionnaire scoring against worked examples of the published forms, validation, monotonicity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medius.clinic.questionnaires import (
    KUJALA_1993,
    LEFS_ITEMS,
    kujala_item_points,
    questionnaire_thresholds,
    score_kujala,
    score_lefs,
    score_nprs,
)

BEST = {k: opts[0][0] for k, (_, opts) in KUJALA_1993.items()}
WORST = {k: opts[-1][0] for k, (_, opts) in KUJALA_1993.items()}


def test_kujala_1993_item_maxima_as_published():
    # Kujala et al. 1993: 13 items with maxima 5,5,5,10,5,10,10,10,10,10,10,5,5 = 100
    maxima = [max(p for _, _, p in opts) for _, opts in KUJALA_1993.values()]
    assert maxima == [5, 5, 5, 10, 5, 10, 10, 10, 10, 10, 10, 5, 5]
    assert len(KUJALA_1993) == 13
    # every option's points are unique within an item (so points can be entered instead of letters)
    for _, opts in KUJALA_1993.values():
        pts = [p for _, _, p in opts]
        assert len(set(pts)) == len(pts)
    # the version differences the facts sheet warns about: limp "constant" = 0, squatting partial = 2
    assert kujala_item_points("limp", "c") == 0
    assert kujala_item_points("squatting", "d") == 2


def test_kujala_worked_examples():
    assert score_kujala(BEST).score == 100
    assert score_kujala(WORST).score == 0
    # worked example (examples/assessments/pfp_right_visit1.yaml), added by hand:
    # limp a 5, support a 5, walking b 3, stairs c 5, squatting c 3, running c 6, jumping b 7,
    # sitting b 8, pain b 8, swelling a 10, subluxation a 10, atrophy a 5, flexion a 5 = 80
    answers = dict(BEST, walking="b", stairs="c", squatting="c", running="c", jumping="b",
                   prolonged_sitting="b", pain="b")
    s = score_kujala(answers)
    assert s.score == 80 and s.maximum == 100 and s.version == "kujala1993"
    # the same answers given as points
    as_points = {k: kujala_item_points(k, v) for k, v in answers.items()}
    assert score_kujala(as_points).score == 80


def test_kujala_rejects_bad_answers():
    with pytest.raises(ValueError, match=r"'z' is not an option of item 'limp'; allowed: a \(none, 5\)"):
        score_kujala(dict(BEST, limp="z"))
    with pytest.raises(ValueError, match="not answered: pain"):
        score_kujala({k: v for k, v in BEST.items() if k != "pain"})
    with pytest.raises(ValueError, match="7 is not an option of item 'limp'"):
        kujala_item_points("limp", 7)


def test_lefs_worked_examples():
    assert score_lefs([4] * 20).score == 80
    assert score_lefs([0] * 20).score == 0
    answers = [3, 2, 4, 4, 4, 2, 3, 4, 3, 4, 4, 3, 2, 3, 2, 2, 1, 1, 1, 4]
    assert score_lefs(answers).score == 56
    assert len(LEFS_ITEMS) == 20
    with pytest.raises(ValueError, match="20 items scored 0–4; 19 answers given"):
        score_lefs([4] * 19)
    with pytest.raises(ValueError, match=r"LEFS item 3 \(getting into or out of the bath\) must be a whole number 0–4"):
        score_lefs([4, 4, 5] + [4] * 17)


def test_nprs():
    assert score_nprs(7).score == 7 and not score_nprs(7).higher_is_better
    with pytest.raises(ValueError, match="whole number 0–10; got 11"):
        score_nprs(11)


def test_mcid_and_mdc_from_registry():
    k, lefs, nprs = (questionnaire_thresholds(n) for n in ("kujala", "lefs", "nprs"))
    assert (k.mcid_points, k.mdc_points, k.mcid.source) == (10, 9, "Crossley et al. 2004")
    assert (lefs.mcid_points, lefs.mdc_points) == (9, 9)
    assert nprs.mcid_points == pytest.approx(1.16) and nprs.mcid.source == "Piva et al. 2009"
    with pytest.raises(ValueError, match="allowed values are kujala, lefs, nprs"):
        questionnaire_thresholds("koos")


kujala_answers = st.fixed_dictionaries(
    {k: st.sampled_from([letter for letter, _, _ in opts]) for k, (_, opts) in KUJALA_1993.items()}
)


@settings(max_examples=60, deadline=None)
@given(kujala_answers, st.sampled_from(list(KUJALA_1993)), st.data())
def test_kujala_monotone_in_every_item(answers, item, data):
    opts = KUJALA_1993[item][1]
    better = data.draw(st.sampled_from([o for o in opts if o[2] >= kujala_item_points(item, answers[item])]))
    before = score_kujala(answers).score
    after = score_kujala(dict(answers, **{item: better[0]})).score
    assert after - before == better[2] - kujala_item_points(item, answers[item]) >= 0
    assert 0 <= after <= 100


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=20, max_size=20), st.integers(0, 19))
def test_lefs_monotone(answers, i):
    before = score_lefs(answers).score
    if answers[i] < 4:
        answers = list(answers)
        answers[i] += 1
        assert score_lefs(answers).score == before + 1
    assert 0 <= before <= 80
