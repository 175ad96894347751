"""Assessment records: JSON round-trip, examples, and one-line errors naming file and field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from medius.clinic.records import Assessment, parse_assessment, read_assessment
from medius.errors import InputNotFoundError, InvalidInputError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "assessments"
BASE = {"person": {"age_years": 30, "sex": "female", "body_mass_kg": 60, "height_cm": 165}}


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_examples_load_and_round_trip(name):
    a = read_assessment(EXAMPLES / name)
    again = Assessment.model_validate_json(a.model_dump_json())
    assert again == a


def _with(**mod):
    d = copy.deepcopy(BASE)
    d.update(copy.deepcopy(mod))
    return d


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(strength={"hip_abduction": {"unit": "kg", "position": "supine", "right": [100]}}),
         r"x\.yaml: invalid assessment: field strength\.hip_abduction\.unit: Input should be 'N', 'kgf' or 'lbf'; got 'kg'$"),
        (_with(strength={"hip_abduction": {"unit": "N", "position": "supine", "right": [{"force": 90}, {"force": -3}]}}),
         r"field strength\.hip_abduction\.right\[1\]\.force: Input should be greater than 0; got -3$"),
        (_with(strength={"hip_abduction": {"unit": "N", "position": "supine", "right": [120, -3]}}),
         r"field strength\.hip_abduction\.right\[1\]\.force: Input should be greater than 0"),
        (_with(person={"age_years": 30, "sex": "female", "body_mass_kg": 0, "height_cm": 165}),
         r"field person\.body_mass_kg: body mass must be between 15 and 350 kg; got 0$"),
        # a validator's own "got" is not repeated ("got 5; got 5")
        (_with(person={"age_years": 30, "sex": "female", "body_mass_kg": 5, "height_cm": 165}),
         r"field person\.body_mass_kg: body mass must be between 15 and 350 kg; got 5$"),
        (_with(person={"age_years": 30, "sex": "female", "body_mass_kg": 60, "height_cm": 1.65}),
         r"field person\.height_cm: height must be between 50 and 250 cm; got 1\.65$"),
        (_with(person={"age_years": 3, "sex": "female", "body_mass_kg": 60, "height_cm": 165}),
         r"field person\.age_years: age must be between 5 and 110 years; got 3$"),
        (_with(questionnaires={"lefs": {"answers": [4] * 19 + [5]}}),
         r"field questionnaires\.lefs\.answers: LEFS item 20 \(rolling over in bed\) must be a whole number 0–4 "
         r"\(0 = extreme difficulty or unable, 4 = no difficulty\); got 5$"),
        (_with(questionnaires={"lefs": {"answers": [4] * 19}}),
         r"field questionnaires\.lefs\.answers: the LEFS has 20 items scored 0–4; 19 answers given \(item 20 onwards missing\)"),
        (_with(questionnaires={"kujala": {"answers": {"limp": "z"}}}),
         r"field questionnaires\.kujala\.answers: 'z' is not an option of item 'limp'; allowed: a \(none, 5\), b"),
        (_with(questionnaires={"nprs": {"score": 12}}),
         r"field questionnaires\.nprs\.score: the NPRS is a whole number 0–10 \(0 = no pain, 10 = worst pain imaginable\); got 12$"),
        (_with(questionnaires={"nprs": {"score": 4.5}}), r"field questionnaires\.nprs\.score: Input should be a valid integer"),
        (_with(strength={"hip_abduction": {"unit": "kgf", "position": "supine", "right": [400]}}),
         r"above the 3000 N a hand-held dynamometer can read; check the unit \(allowed: N, kgf, lbf\)"),
        (_with(strength={"hip_abductio": {"unit": "N", "position": "supine", "right": [100]}}),
         r"field strength\.hip_abductio: Input should be 'hip_abduction', .*; got 'hip_abductio'"),
        (_with(red_flag={"fever": True}), r"field red_flag: unknown field"),
        (_with(person={"age_years": 30, "sex": "female", "body_mass_kg": 60, "height_cm": 165},
               strength={"hip_abduction": {"unit": "N", "position": "supine", "right": [-1, -2]}}),
         r"\(and 1 more problem\)$"),
    ],
)
def test_one_line_errors(data, message):
    with pytest.raises(InvalidInputError, match=message) as exc:
        parse_assessment(data, path="x.yaml")
    assert "\n" not in str(exc.value)
    assert exc.value.exit_code == 4


def test_read_assessment_files(tmp_path):
    with pytest.raises(InputNotFoundError, match="assessment file not found"):
        read_assessment(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("person: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"bad\.yaml: the assessment does not parse as YAML"):
        read_assessment(bad)
    js = tmp_path / "a.json"
    js.write_text('{"person": {"age_years": 30, "sex": "male", "body_mass_kg": 80, "height_cm": 180}}', encoding="utf-8")
    assert read_assessment(js).person.sex == "male"
    lst = tmp_path / "list.yaml"
    lst.write_text(yaml.safe_dump([1, 2]), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="must be a mapping with at least 'person'; got list"):
        read_assessment(lst)
