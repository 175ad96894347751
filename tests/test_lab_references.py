"""The running references a gait result is compared with: Bramah et al. 2018 (pelvic drop) and
Noehren et al. (hip adduction: PFP 2013, ITBS 2007), each with its study and population.

Their only verified numbers (an odds ratio, p-values) cannot be compared with one runner's value and
their group means are unverified (facts sheet §2.1): so they are provisional ``no_reference``
entries that say so, never bands; the gait protocol shows them for ``--task run``.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from medius.cli import app
from medius.registry import INTERPRETIVE_KINDS, load_registry
from medius.testing.synthetic_gait import GaitSpec, make_gait_trial, write_gait_c3d

runner = CliRunner()


def test_running_entries_name_the_study_and_its_population():
    reg = load_registry()
    bramah = reg.get("pelvic_drop.running.no_reference")  # the id the clinic rules cite
    assert bramah.source == "Bramah et al. 2018" and bramah.n == 108 and bramah.cohort == "patient"
    assert "72 injured runners" in bramah.population and "36 healthy" in bramah.population
    assert "doi:10.1177/0363546518793657" in bramah.reference
    assert "OR ≈ 1.8" in bramah.reason and "not retrieved" in bramah.reason
    pfp = reg.get("hip_adduction.running.pfp.noehren2013")
    assert pfp.sex == "female" and pfp.n == 30 and "p = 0.007" in pfp.reason
    itbs = reg.get("hip_adduction.running.itbs.noehren2007")
    assert itbs.sex == "female" and "iliotibial band syndrome" in itbs.reason and "Clin Biomech" in itbs.reference
    for ref in (bramah, pfp, itbs):
        assert ref.kind == "no_reference" and ref.provisional and ref.tasks == ("run",)
    # nothing numeric to compare a runner with: the group means are unverified
    for metric in ("pelvic_drop_deg", "hip_adduction_deg"):
        assert reg.references_for(metric, "run", kind=INTERPRETIVE_KINDS) == []
    assert [r.id for r in reg.references_for("hip_adduction_deg", "run", sex="male")] == [
        "hip_adduction.running.no_reference"
    ]


@pytest.fixture(scope="module")
def run_c3d(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    trial, truth = make_gait_trial(GaitSpec(task="run", duration_s=4.0, treadmill=True, medial_markers=True))
    return write_gait_c3d(trial, d / "run.c3d", truth)


@pytest.mark.parametrize(("sex", "hip_id"), [(None, "hip_adduction.running.pfp.noehren2013"),
                                             ("female", "hip_adduction.running.pfp.noehren2013"),
                                             ("male", "hip_adduction.running.no_reference")])
def test_a_running_trial_is_compared_with_the_running_studies(tmp_path, run_c3d, sex, hip_id):
    args = ["analyze", str(run_c3d), "--task", "run", "--out", str(tmp_path / "o"), "--no-video", "--json", "--force"]
    res = runner.invoke(app, args + (["--sex", sex] if sex else []))
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    items = {(i["side"], i["metric"]): i for i in doc["interpretation"]}
    for side in ("left", "right"):
        drop = items[(side, "pelvic_drop_deg")]
        assert drop["reference_id"] == "pelvic_drop.running.no_reference" and drop["source"] == "Bramah et al. 2018"
        assert drop["verdict"] == "none" and drop["provisional"] is True and "Bramah et al. 2018" in drop["text"]
        hip = items[(side, "hip_adduction_deg")]
        assert hip["reference_id"] == hip_id and hip["verdict"] == "none"
        assert "Noehren" in hip["text"] and "ITBS" in hip["text"]
