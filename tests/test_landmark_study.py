"""scripts/landmark_study.py: the body geometry behind docs/validation.md's account of the FPPA bias."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from medius.validation.skeleton import load_skeleton

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("landmark_study", ROOT / "scripts" / "landmark_study.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hip_ratio(study, name: str) -> float:
    path = study.BODIES / name
    sk = load_skeleton(path)
    hip = sk.rest_world[sk.index("LeftUpLeg")]
    return abs(hip[0]) / study.hip_half_breadth(study.mesh_vertices(path), hip[1], hip[0])


def test_the_mesh_reader_reads_the_whole_body(study):
    v = study.mesh_vertices(study.BODIES / "mh_male.glb")
    assert v.shape[1] == 3 and len(v) > 10_000
    sk = load_skeleton(study.BODIES / "mh_male.glb")
    # the skin reaches from the floor to above the head bone
    assert v[:, 1].min() < 0.05 and v[:, 1].max() > sk.height_m


def test_the_male_bodies_hip_joints_sit_further_out_in_the_hips_than_the_female_bodies(study):
    male = [_hip_ratio(study, n) for n in ("mh_male.glb", "short_male.glb", "tall_male.glb")]
    female = [_hip_ratio(study, n) for n in ("mh_female.glb", "tall_female.glb")]
    assert all(0.4 < r < 0.8 for r in male + female)
    assert min(male) > max(female) + 0.08


def test_the_knee_joint_is_centred_in_the_knee(study):
    """The truth's knee is where anatomy puts it: mid-way across the knee's skin at its height."""
    for path in sorted(study.BODIES.glob("*.glb")):
        sk = load_skeleton(path)
        knee = sk.rest_world[sk.index("LeftLeg")]
        v = study.mesh_vertices(path)
        band = v[(np.abs(v[:, 1] - knee[1]) < 0.01) & (np.abs(v[:, 0] - knee[0]) < 0.12)]
        assert abs((band[:, 0].min() + band[:, 0].max()) / 2 - knee[0]) < 0.01, path.name
