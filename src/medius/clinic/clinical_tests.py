"""Clinical tests: single-leg squat rating, Trendelenburg, Ober, modified Thomas, range of motion.

Each test result is placed against the registry (Crossley et al. 2011 aggregation, Ferber et al.
2010 angles and critical criteria, the 2021 modified-Thomas thresholds); the clinician's own
pass/fail ``result`` wins over an angle when both are given, and a disagreement is reported.
An angle with ``angle_convention: unrecorded`` (imported data) is stored and shown but not
compared: without a ``result`` the test is then ``not judged`` (``positive`` is ``None``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from medius.clinic.records import SLS_CRITERIA, Assessment
from medius.clinic.strength import is_flagged
from medius.registry import INTERPRETIVE_KINDS, compare_to_reference, load_registry

__all__ = ["ClinicalTestResult", "evaluate_clinical_tests"]

_SLS_LABELS = {
    "overall_impression": "overall impression",
    "trunk_posture": "trunk posture",
    "pelvis": "pelvis in space",
    "hip": "hip joint",
    "knee": "knee joint",
}


@dataclass
class ClinicalTestResult:
    """One clinical test on one side.

    ``positive`` is True/False (for the squat rating: True = rated poor), ``category`` a word for
    the report (``good``/``fair``/``poor``, ``positive``/``negative``), ``value``/``unit`` the number
    measured (if any), ``comparisons`` the registry entries it was placed against.
    """

    test: str
    side: str
    positive: bool | None
    category: str
    text: str
    value: float | None = None
    unit: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    reference_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _compare(metric: str, task: str, value: float) -> list[dict[str, Any]]:
    reg = load_registry()
    out = []
    for ref in reg.references_for(metric, task, kind=INTERPRETIVE_KINDS):
        c = compare_to_reference(value, ref, task=task, registry=reg)
        out.append(
            {
                "reference_id": ref.id,
                "kind": ref.kind,
                "verdict": c.verdict,
                "flagged": is_flagged(c, ref),
                "text": c.text,
                "provisional": c.provisional,
                "source": ref.source,
            }
        )
    return out


#: added to the text of an angle whose convention was not recorded (imported data)
_UNRECORDED = ", angle convention not recorded, so not compared with the registry"


def _word(positive: bool | None) -> str:
    """``positive`` / ``negative``, or ``not judged`` when neither a result nor a judged angle exists."""
    return "not judged" if positive is None else "positive" if positive else "negative"


def _cutoff_flagged(comparisons: list[dict[str, Any]]) -> bool | None:
    cut = [c for c in comparisons if c["kind"] == "cutoff"]
    return None if not cut else cut[0]["flagged"]


def _sls(side: str, rating: Any) -> ClinicalTestResult:
    good = rating.good_count
    comps = _compare("sls_good_criteria", "sls-rating", float(good))
    by_id = {c["reference_id"]: c for c in comps}
    is_good = any(c["flagged"] for rid, c in by_id.items() if rid.endswith(".good.crossley2011"))
    is_poor = any(c["flagged"] for rid, c in by_id.items() if rid.endswith(".poor.crossley2011"))
    category = "good" if is_good else "poor" if is_poor else "fair"
    poor = [k for k in SLS_CRITERIA if getattr(rating, k) == "poor"]
    text = f"{side} single-leg squat rated {category} ({good} of 5 criteria good"
    text += f"; poor: {', '.join(_SLS_LABELS[k] for k in poor)})" if poor else ")"
    return ClinicalTestResult(
        test="single_leg_squat",
        side=side,
        positive=category == "poor",
        category=category,
        text=text,
        value=float(good),
        unit="criteria",
        detail={"poor_criteria": poor, **{k: getattr(rating, k) for k in SLS_CRITERIA}},
        comparisons=comps,
        reference_ids=[c["reference_id"] for c in comps],
    )


def evaluate_clinical_tests(assessment: Assessment) -> list[ClinicalTestResult]:
    """Every clinical test of a visit, per side, with its registry comparisons."""
    tests = assessment.clinical_tests
    out: list[ClinicalTestResult] = []
    for side, rating in sorted(tests.single_leg_squat.items()):
        out.append(_sls(side, rating))
    for side, result in sorted(tests.trendelenburg.items()):
        out.append(
            ClinicalTestResult(
                test="trendelenburg",
                side=side,
                positive=result == "positive",
                category=result,
                text=f"Trendelenburg test {result} standing on the {side} leg",
                reference_ids=["clinical.trendelenburg.sources"],
            )
        )
    for side, ober in sorted(tests.ober.items()):
        judged = ober.angle_convention == "horizontal"
        comps = (
            _compare("clinical_angle_deg", "ober-test", ober.angle_deg)
            if ober.angle_deg is not None and judged
            else []
        )
        by_angle = _cutoff_flagged(comps)
        positive = (ober.result == "positive") if ober.result is not None else by_angle
        text = f"{side} Ober test {_word(positive)}"
        if ober.angle_deg is not None:
            text += f" (thigh {ober.angle_deg:.0f}° to the horizontal)" if judged else f" (angle {ober.angle_deg:.0f}°)"
            if not judged:
                text += _UNRECORDED
        if ober.result is not None and by_angle is not None and by_angle != (ober.result == "positive"):
            text += "; the angle and the clinician's result disagree (the result is used)"
        out.append(
            ClinicalTestResult(
                test="ober",
                side=side,
                positive=positive,
                category=_word(positive),
                text=text,
                value=ober.angle_deg,
                unit="deg" if ober.angle_deg is not None else None,
                detail={
                    "result": ober.result,
                    "angle_flagged": by_angle,
                    "method": ober.method,
                    "angle_convention": ober.angle_convention,
                },
                comparisons=comps,
                reference_ids=[c["reference_id"] for c in comps],
            )
        )
    for side, thomas in sorted(tests.modified_thomas.items()):
        judged = thomas.angle_convention == "horizontal"
        hip = (
            _compare("clinical_angle_deg", "thomas-test-hip", thomas.hip_angle_deg)
            if thomas.hip_angle_deg is not None and judged
            else []
        )
        knee = (
            _compare("clinical_angle_deg", "thomas-test-knee", thomas.knee_angle_deg)
            if thomas.knee_angle_deg is not None and judged
            else []
        )
        hip_short, knee_short = _cutoff_flagged(hip), _cutoff_flagged(knee)
        by_angle = None if hip_short is None and knee_short is None else bool(hip_short or knee_short)
        positive = (thomas.result == "positive") if thomas.result is not None else by_angle
        parts = []
        if thomas.hip_angle_deg is not None:
            parts.append(f"hip {thomas.hip_angle_deg:.0f}°")
        if thomas.knee_angle_deg is not None:
            parts.append(f"knee {thomas.knee_angle_deg:.0f}°")
        text = f"{side} modified Thomas test {_word(positive)}"
        if parts:
            text += f" ({', '.join(parts)})"
            if not judged:
                text += _UNRECORDED
        if hip_short:
            text += "; hip angle consistent with short one-joint hip flexors"
        if knee_short:
            text += "; knee angle consistent with short two-joint hip flexors (rectus femoris)"
        if thomas.result is not None and by_angle is not None and by_angle != (thomas.result == "positive"):
            text += "; the angles and the clinician's result disagree (the result is used)"
        out.append(
            ClinicalTestResult(
                test="modified_thomas",
                side=side,
                positive=positive,
                category=_word(positive),
                text=text,
                value=thomas.hip_angle_deg,
                unit="deg" if thomas.hip_angle_deg is not None else None,
                detail={
                    "result": thomas.result,
                    "hip_angle_deg": thomas.hip_angle_deg,
                    "knee_angle_deg": thomas.knee_angle_deg,
                    "hip_flexor_short": hip_short,
                    "rectus_femoris_short": knee_short,
                    "method": thomas.method,
                    "angle_convention": thomas.angle_convention,
                },
                comparisons=hip + knee,
                reference_ids=[c["reference_id"] for c in hip + knee],
            )
        )
    for rom in tests.range_of_motion:
        out.append(
            ClinicalTestResult(
                test="range_of_motion",
                side=rom.side,
                positive=None,
                category="measured",
                text=f"{rom.side} {rom.joint} {rom.movement.replace('_', ' ')} {rom.value_deg:.0f}°",
                value=rom.value_deg,
                unit="deg",
                detail={"joint": rom.joint, "movement": rom.movement, "method": rom.method},
            )
        )
    return out
