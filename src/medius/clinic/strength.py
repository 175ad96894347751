"""Hand-held dynamometry: unit conversion, torque, normalisation, limb symmetry, references.

Forces are entered in N, kgf or lbf (1 kgf = 9.80665 N and 1 lbf = 4.4482216152605 N, both exact
by definition). With the lever arm (dynamometer pad to joint centre, m) the force becomes a torque
(N·m) and is normalised to body mass (N·m/kg); the force is also normalised to body weight
(% BW = force ÷ (body mass × 9.80665 m/s²) × 100). The limb symmetry index (LSI) is involved ÷
uninvolved × 100 (weaker ÷ stronger when no side is affected).

A side is called weak only when its deficit against the other side exceeds the test's
measurement variation from the registry (``strength_difference_pct`` measurement-error entries,
Thorborg et al. 2010); each side's % BW is placed against the registry's reference values and
cut-offs for the same test, with their populations and protocols, never as a diagnosis.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from medius.clinic.records import FORCE_UNITS, MUSCLE_GROUPS, TEST_POSITIONS, Assessment, Person, StrengthTest
from medius.registry import (
    INTERPRETIVE_KINDS,
    Comparison,
    Reference,
    compare_to_reference,
    format_reference_values,
    load_registry,
)

__all__ = [
    "GRAVITY_M_PER_S2",
    "MUSCLE_LABELS",
    "SideStrength",
    "StrengthSummary",
    "compute_deficit_pct",
    "compute_lsi",
    "compute_nm_per_kg",
    "compute_pct_bw",
    "compute_torque_nm",
    "convert_force_to_newtons",
    "evaluate_strength",
    "evaluate_strength_test",
    "is_flagged",
    "strength_task",
]

#: standard gravity (a definition, not a clinical number)
GRAVITY_M_PER_S2 = 9.80665

MUSCLE_LABELS: dict[str, str] = {
    "hip_abduction": "hip abductor",
    "hip_adduction": "hip adductor",
    "hip_external_rotation": "hip external rotator",
    "hip_internal_rotation": "hip internal rotator",
    "hip_extension": "hip extensor",
    "hip_flexion": "hip flexor",
    "knee_extension": "knee extensor",
}


def strength_task(group: str) -> str:
    """The registry task of a muscle group: ``hip_abduction`` → ``hhd-hip-abduction``."""
    if group not in MUSCLE_GROUPS:
        raise ValueError(
            f"Invalid value for the 'group' parameter: allowed values are {', '.join(MUSCLE_GROUPS)}; got {group!r}"
        )
    return "hhd-" + group.replace("_", "-")


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"Invalid value for the '{name}' parameter: must be a finite number > 0; got {value!r}")
    return float(value)


def convert_force_to_newtons(value: float, unit: str) -> float:
    """A force in ``unit`` (``N``, ``kgf`` or ``lbf``) in newtons."""
    if unit not in FORCE_UNITS:
        raise ValueError(
            f"Invalid value for the 'unit' parameter: allowed values are {', '.join(FORCE_UNITS)}; got {unit!r}"
        )
    return _positive("value", value) * FORCE_UNITS[unit]


def compute_torque_nm(force_n: float, lever_arm_m: float) -> float:
    """Torque (N·m) = force (N) × lever arm (m)."""
    return _positive("force_n", force_n) * _positive("lever_arm_m", lever_arm_m)


def compute_nm_per_kg(torque_nm: float, body_mass_kg: float) -> float:
    """Torque normalised to body mass (N·m/kg)."""
    return _positive("torque_nm", torque_nm) / _positive("body_mass_kg", body_mass_kg)


def compute_pct_bw(force_n: float, body_mass_kg: float) -> float:
    """Force as a percentage of body weight: ``force_n / (body_mass_kg × g) × 100``."""
    return _positive("force_n", force_n) / (_positive("body_mass_kg", body_mass_kg) * GRAVITY_M_PER_S2) * 100.0


def compute_lsi(involved: float, uninvolved: float) -> float:
    """Limb symmetry index, %: ``involved / uninvolved × 100``."""
    return _positive("involved", involved) / _positive("uninvolved", uninvolved) * 100.0


def compute_deficit_pct(a: float, b: float) -> float:
    """How much weaker the weaker of two values is, in % of the stronger: ``(max − min) / max × 100``."""
    a, b = _positive("a", a), _positive("b", b)
    hi, lo = max(a, b), min(a, b)
    return (hi - lo) / hi * 100.0


def is_flagged(comparison: Comparison, ref: Reference) -> bool:
    """True when a value is on the flagged side of a cut-off (or outside a band for other kinds)."""
    if ref.kind == "cutoff":
        return comparison.verdict == ("above" if ref.flag_when == "at_or_above" else "below")
    return comparison.verdict in ("below", "above")


@dataclass
class SideStrength:
    """One side of one test: the trials in N and the value used, normalised."""

    side: str
    trials_n: list[float]
    value_n: float
    lever_arm_m: float | None
    torque_nm: float | None
    nm_per_kg: float | None
    pct_bw: float
    comparisons: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StrengthSummary:
    """A muscle group's result: both sides, symmetry, measurement error and reference comparisons."""

    group: str
    task: str
    label: str
    unit_entered: str
    position: str
    stabilisation: str | None
    contraction: str | None
    summary: str
    protocol: str | None
    sides: dict[str, SideStrength]
    involved_side: str | None = None
    weaker_side: str | None = None
    deficit_pct: float | None = None
    lsi_pct: float | None = None
    lsi_comparison: dict[str, Any] | None = None
    measurement_error: dict[str, Any] | None = None
    beyond_error: bool | None = None
    weak_side: str | None = None
    text: str = ""
    #: the rule that judged the side-to-side difference: ``kind`` ``measurement_error`` (the deficit
    #: against the test's variation) or ``lsi_convention`` (weaker ÷ stronger against the registry's
    #: LSI cut-off, for tests without a sourced measurement error), with its registry id, threshold,
    #: source and population; ``None`` when only one side was measured or no rule exists
    weakness_rule: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _side_value(test: StrengthTest, side: str) -> list[float]:
    return [convert_force_to_newtons(t.force, test.unit) for t in getattr(test, side)]


def _position_in(text: str | None) -> str | None:
    if not text:
        return None
    low = text.lower()
    for pos in sorted(TEST_POSITIONS, key=len, reverse=True):
        if pos in low:
            return pos
    return None


def _compare_side(value_pct_bw: float, task: str, person: Person, position: str) -> list[dict[str, Any]]:
    reg = load_registry()
    out = []
    for ref in reg.references_for("strength_pct_bw", task, sex=person.sex, kind=INTERPRETIVE_KINDS):
        c = compare_to_reference(value_pct_bw, ref, task=task, registry=reg)
        study_pos = _position_in(ref.study_task)
        out.append(
            {
                "reference_id": ref.id,
                "kind": ref.kind,
                "verdict": c.verdict,
                "flagged": is_flagged(c, ref),
                "text": c.text,
                "provisional": c.provisional,
                "source": ref.source,
                "population": ref.population,
                "cohort": ref.cohort,
                "sex": ref.sex,
                "study_task": ref.study_task,
                "values": format_reference_values(ref, reg),
                "position_matches": None if study_pos is None else study_pos == position,
            }
        )
    return out


def evaluate_strength_test(group: str, test: StrengthTest, person: Person) -> StrengthSummary:
    """Convert, normalise and compare one muscle group's trials; judge the side-to-side difference.

    The weaker side is flagged as weak only when its deficit exceeds the registry's measurement
    variation of the test (upper end of the published MDC). Without a sourced measurement error
    (knee extension: none was found, facts sheet §3.4) the weaker side is flagged when weaker ÷
    stronger × 100 is at or below the registry's LSI cut-off (the return-to-sport convention,
    ``strength.lsi.return_to_sport.convention``); the text names that rule, its source and
    population, and says that no measurement error is known. ``weakness_rule`` records which rule
    was used.
    """
    reg = load_registry()
    task = strength_task(group)
    label = MUSCLE_LABELS[group]
    sides: dict[str, SideStrength] = {}
    for side in ("left", "right"):
        trials = _side_value(test, side)
        if not trials:
            continue
        value = max(trials) if test.summary == "max" else sum(trials) / len(trials)
        lever = test.lever_arm_for(side)
        torque = compute_torque_nm(value, lever) if lever is not None else None
        sides[side] = SideStrength(
            side=side,
            trials_n=[round(t, 4) for t in trials],
            value_n=value,
            lever_arm_m=lever,
            torque_nm=torque,
            nm_per_kg=compute_nm_per_kg(torque, person.body_mass_kg) if torque is not None else None,
            pct_bw=compute_pct_bw(value, person.body_mass_kg),
            comparisons=[],
        )
        sides[side].comparisons = _compare_side(sides[side].pct_bw, task, person, test.position)
    out = StrengthSummary(
        group=group,
        task=task,
        label=label,
        unit_entered=test.unit,
        position=test.position,
        stabilisation=test.stabilisation,
        contraction=test.contraction,
        summary=test.summary,
        protocol=test.protocol,
        sides=sides,
    )
    err_ref = reg.measurement_error("strength_difference_pct", task)
    if err_ref is not None and err_ref.mdc is not None:
        out.measurement_error = {
            "reference_id": err_ref.id,
            "mdc_pct": err_ref.mdc[1],
            "source": err_ref.source,
            "population": err_ref.population,
            "provisional": err_ref.provisional,
            "text": f"measurement variation {format_reference_values(err_ref, reg)} ({err_ref.source})",
        }
    if len(sides) < 2:
        only = next(iter(sides))
        out.text = f"{only} {label} strength {sides[only].pct_bw:.1f}% BW (one side measured; no symmetry)"
        return out

    # use the same normalisation as the comparison: torque/kg when both sides have a lever arm
    def metric(s: SideStrength) -> float:
        both_torque = all(x.nm_per_kg is not None for x in sides.values())
        return s.nm_per_kg if both_torque and s.nm_per_kg is not None else s.value_n

    left, right = metric(sides["left"]), metric(sides["right"])
    weaker = "left" if left < right else "right" if right < left else None
    out.weaker_side = weaker
    out.deficit_pct = compute_deficit_pct(left, right)
    involved = person.affected_side if person.affected_side in ("left", "right") else None
    out.involved_side = involved
    if involved is not None:
        other = "right" if involved == "left" else "left"
        out.lsi_pct = compute_lsi(metric(sides[involved]), metric(sides[other]))
    else:
        out.lsi_pct = compute_lsi(min(left, right), max(left, right))
    lsi_refs = reg.references_for("strength_lsi_pct", task, kind="cutoff")
    lsi_flagged = False
    if lsi_refs:
        c = compare_to_reference(out.lsi_pct, lsi_refs[0], task=task, registry=reg)
        lsi_flagged = is_flagged(c, lsi_refs[0])
        out.lsi_comparison = {
            "reference_id": lsi_refs[0].id,
            "verdict": c.verdict,
            "flagged": lsi_flagged,
            "text": c.text,
            "provisional": c.provisional,
        }
    if out.measurement_error is not None:
        out.beyond_error = out.deficit_pct > out.measurement_error["mdc_pct"]
        weak = out.beyond_error
        error_text = (
            f"beyond the measurement error ({out.measurement_error['mdc_pct']:g}%, "
            f"{out.measurement_error['source']})"
            if weak
            else f"within the measurement error ({out.measurement_error['mdc_pct']:g}%, "
            f"{out.measurement_error['source']})"
        )
        out.weakness_rule = {
            "kind": "measurement_error",
            "reference_id": out.measurement_error["reference_id"],
            "threshold": out.measurement_error["mdc_pct"],
            "unit": "pct_change",
            "source": out.measurement_error["source"],
            "population": out.measurement_error["population"],
            "provisional": out.measurement_error["provisional"],
        }
    elif lsi_refs:
        # no sourced measurement error: the weaker side against the LSI convention, whichever side
        # is involved (weaker ÷ stronger × 100 = 100 − deficit)
        ref = lsi_refs[0]
        symmetry = 100.0 - out.deficit_pct
        c = compare_to_reference(symmetry, ref, task=task, registry=reg)
        weak = is_flagged(c, ref)
        sign = "at or below" if weak else "above"
        error_text = (
            f"weaker ÷ stronger {symmetry:.0f}%, {sign} the {ref.cutoff:g}% limb-symmetry pass mark "
            f"({ref.source}); no measurement error is sourced for this test"
        )
        out.weakness_rule = {
            "kind": "lsi_convention",
            "reference_id": ref.id,
            "threshold": ref.cutoff,
            "unit": ref.unit,
            "source": ref.source,
            "population": ref.population,
            "provisional": ref.provisional,
            "weaker_over_stronger_pct": symmetry,
        }
    else:
        weak = False
        error_text = "no sourced measurement error or symmetry rule for this test, so it is not judged"
    out.weak_side = weaker if weak and weaker is not None else None
    if weaker is None:
        out.text = f"{label} strength equal on both sides"
    else:
        stronger = "right" if weaker == "left" else "left"
        out.text = f"{weaker} {label} strength {out.deficit_pct:.0f}% below the {stronger}, {error_text}"
    return out


def evaluate_strength(assessment: Assessment) -> list[StrengthSummary]:
    """Every muscle group of an assessment, in :data:`~medius.clinic.records.MUSCLE_GROUPS` order."""
    return [
        evaluate_strength_test(g, assessment.strength[g], assessment.person)
        for g in MUSCLE_GROUPS
        if g in assessment.strength
    ]
