"""Typed records of a clinical assessment visit: the person and everything measured at the visit.

Every model is a pydantic v2 model with ``extra="forbid"`` (a misspelt field is an error, not
silently ignored) and a JSON round-trip: ``Assessment.model_validate_json(a.model_dump_json())``
gives the same visit back. :func:`read_assessment` reads YAML or JSON from a file and turns any
validation problem into one :class:`~medius.errors.InvalidInputError` line naming the file and the
dotted field (``strength.hip_abduction.right[1].force``), what was given and what is allowed.

Units are in the field names: ``body_mass_kg``, ``height_cm``, ``angle_deg``, ``lever_arm_m``.
Forces are entered in the unit of the dynamometer (``N``, ``kgf`` or ``lbf``, stored with the test)
and converted by :mod:`medius.clinic.strength`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medius.clinic._validation import validation_error_to_input_error
from medius.clinic.questionnaires import (
    KUJALA_1993,
    KUJALA_VERSION,
    LEFS_ITEMS,
    LEFS_MAX,
    LEFS_MIN,
    LEFS_VERSION,
    NPRS_MAX,
    NPRS_MIN,
    kujala_item_points,
    score_lefs,
)
from medius.errors import InputNotFoundError, InvalidInputError

__all__ = [
    "ANGLE_CONVENTIONS",
    "FORCE_UNITS",
    "MUSCLE_GROUPS",
    "TEST_POSITIONS",
    "Assessment",
    "ClinicalTests",
    "KujalaResponse",
    "LefsResponse",
    "MovementResultRef",
    "NprsResponse",
    "OttawaKneeRule",
    "Person",
    "Questionnaires",
    "RangeOfMotion",
    "RedFlagOverride",
    "RedFlagScreen",
    "SingleLegSquatRating",
    "StrengthTest",
    "StrengthTrial",
    "ThomasTest",
    "TissueLengthTest",
    "read_assessment",
    "parse_assessment",
]

Side = Literal["left", "right"]
#: force units a dynamometer may report, with their value in newtons (exact definitions)
FORCE_UNITS: dict[str, float] = {"N": 1.0, "kgf": 9.80665, "lbf": 4.4482216152605}
#: muscle groups tested with hand-held dynamometry
MUSCLE_GROUPS: tuple[str, ...] = (
    "hip_abduction",
    "hip_adduction",
    "hip_external_rotation",
    "hip_internal_rotation",
    "hip_extension",
    "hip_flexion",
    "knee_extension",
)
MuscleGroup = Literal[
    "hip_abduction",
    "hip_adduction",
    "hip_external_rotation",
    "hip_internal_rotation",
    "hip_extension",
    "hip_flexion",
    "knee_extension",
]
TEST_POSITIONS: tuple[str, ...] = ("side-lying", "supine", "prone", "seated", "standing", "prone-standing", "unrecorded")
#: the largest plausible single hand-held dynamometry force, N (a typing error guard, not a norm)
_MAX_FORCE_N = 3000.0
#: plausible ranges of the person's numbers: typing-error guards (a body mass in pounds, a height in
#: metres), not clinical norms. field -> (lowest, highest, what the message calls it, unit)
_PERSON_RANGES: dict[str, tuple[float, float, str, str]] = {
    "age_years": (5, 110, "age", "years"),
    "body_mass_kg": (15, 350, "body mass", "kg"),
    "height_cm": (50, 250, "height", "cm"),
}

_FORBID = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)


class _Model(BaseModel):
    model_config = _FORBID


class Person(_Model):
    """Who was assessed. ``affected_side`` is the painful or involved side (``none`` if no side)."""

    id: str | None = None
    name: str | None = None
    age_years: int
    sex: Literal["female", "male"]
    body_mass_kg: float
    height_cm: float
    affected_side: Literal["left", "right", "both", "none"] = "none"
    goal: Literal["daily_activity", "running", "sport"] = "daily_activity"
    equipment: list[str] | None = None

    @field_validator("age_years", "body_mass_kg", "height_cm")
    @classmethod
    def _plausible(cls, v: float, info: Any) -> float:
        low, high, what, unit = _PERSON_RANGES[info.field_name]
        if not low <= v <= high:
            # the formatter adds "; got <value>" (one line naming the field, the value and the range)
            raise ValueError(f"{what} must be between {low:g} and {high:g} {unit}")
        return v


class StrengthTrial(_Model):
    """One dynamometer reading, in the unit of its test."""

    force: Annotated[float, Field(gt=0)]

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data: Any) -> Any:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"force": data}
        return data


class StrengthTest(_Model):
    """Repeated isometric trials of one muscle group, per side, with the test protocol.

    The protocol is stored with every value because norms depend on it: ``position`` (one of
    :data:`TEST_POSITIONS`; ``unrecorded`` for imported data without it), ``stabilisation``, ``contraction`` (make or break test), the lever
    arm (dynamometer pad to joint centre) used to compute torque, and free text ``protocol``.
    ``summary`` says which trial value is used: the ``max`` (default) or the ``mean``.
    """

    unit: Literal["N", "kgf", "lbf"]
    position: Literal["side-lying", "supine", "prone", "seated", "standing", "prone-standing", "unrecorded"]
    stabilisation: Literal["belt", "manual", "fixed", "none"] | None = None
    contraction: Literal["make", "break"] | None = None
    lever_arm_m: Annotated[float, Field(gt=0.05, le=1.5)] | None = None
    lever_arm_left_m: Annotated[float, Field(gt=0.05, le=1.5)] | None = None
    lever_arm_right_m: Annotated[float, Field(gt=0.05, le=1.5)] | None = None
    summary: Literal["max", "mean"] = "max"
    protocol: str | None = None
    left: list[StrengthTrial] = []
    right: list[StrengthTrial] = []

    @model_validator(mode="after")
    def _check(self) -> StrengthTest:
        if not self.left and not self.right:
            raise ValueError("give the trials of at least one side (left: [...], right: [...])")
        for side in ("left", "right"):
            for i, trial in enumerate(getattr(self, side)):
                newtons = trial.force * FORCE_UNITS[self.unit]
                if newtons > _MAX_FORCE_N:
                    raise ValueError(
                        f"{side}[{i}].force = {trial.force:g} {self.unit} is {newtons:.0f} N, above the "
                        f"{_MAX_FORCE_N:.0f} N a hand-held dynamometer can read; check the unit "
                        f"(allowed: {', '.join(FORCE_UNITS)})"
                    )
        return self

    def lever_arm_for(self, side: str) -> float | None:
        """The lever arm of one side in metres (the side's own value, else the common one)."""
        own = self.lever_arm_left_m if side == "left" else self.lever_arm_right_m
        return own if own is not None else self.lever_arm_m


Rating = Literal["good", "poor"]
Result = Literal["negative", "positive"]


class SingleLegSquatRating(_Model):
    """Crossley et al. 2011's five criteria over five single-leg squats, each rated good or poor."""

    overall_impression: Rating
    trunk_posture: Rating
    pelvis: Rating
    hip: Rating
    knee: Rating

    @property
    def good_count(self) -> int:
        return sum(getattr(self, k) == "good" for k in SLS_CRITERIA)


SLS_CRITERIA: tuple[str, ...] = ("overall_impression", "trunk_posture", "pelvis", "hip", "knee")


#: how a clinical-test angle was read: ``horizontal`` = the registry's convention (thigh against the
#: horizontal, negative below; Ferber et al. 2010); ``unrecorded`` = imported data whose convention is
#: not documented: the angle is stored and shown but never compared with the registry
ANGLE_CONVENTIONS: tuple[str, ...] = ("horizontal", "unrecorded")
AngleConvention = Literal["horizontal", "unrecorded"]


class TissueLengthTest(_Model):
    """Ober (or modified Ober) test: the thigh angle to the horizontal (negative = below) and/or the
    clinician's pass/fail ``result``. ``angle_convention: unrecorded`` marks an imported angle whose
    sign convention is unknown (it is then not judged)."""

    angle_deg: Annotated[float, Field(ge=-60, le=60)] | None = None
    result: Result | None = None
    method: Literal["inclinometer", "goniometer", "visual"] | None = None
    angle_convention: AngleConvention = "horizontal"

    @model_validator(mode="after")
    def _one(self) -> TissueLengthTest:
        if self.angle_deg is None and self.result is None:
            raise ValueError("give angle_deg (thigh to horizontal, negative below) or result (negative/positive)")
        return self


class ThomasTest(_Model):
    """Modified Thomas test: hip angle (thigh to horizontal, negative below), knee flexion angle,
    and/or the pass/fail ``result``. ``angle_convention: unrecorded`` marks imported angles whose
    convention is unknown (they are then not judged)."""

    hip_angle_deg: Annotated[float, Field(ge=-60, le=60)] | None = None
    knee_angle_deg: Annotated[float, Field(ge=0, le=160)] | None = None
    result: Result | None = None
    method: Literal["inclinometer", "goniometer", "trigonometric", "visual"] | None = None
    angle_convention: AngleConvention = "horizontal"

    @model_validator(mode="after")
    def _one(self) -> ThomasTest:
        if self.hip_angle_deg is None and self.knee_angle_deg is None and self.result is None:
            raise ValueError("give hip_angle_deg, knee_angle_deg or result (negative/positive)")
        return self


class RangeOfMotion(_Model):
    """One range-of-motion measurement."""

    joint: Literal["hip", "knee", "ankle"]
    movement: Literal[
        "flexion",
        "extension",
        "abduction",
        "adduction",
        "internal_rotation",
        "external_rotation",
        "dorsiflexion",
        "plantarflexion",
    ]
    side: Side
    value_deg: Annotated[float, Field(ge=-30, le=180)]
    method: str | None = None


class ClinicalTests(_Model):
    """Clinical tests; keys of the per-side mappings are the tested side (for the Trendelenburg test
    the stance leg)."""

    single_leg_squat: dict[Side, SingleLegSquatRating] = {}
    trendelenburg: dict[Side, Result] = {}
    ober: dict[Side, TissueLengthTest] = {}
    modified_thomas: dict[Side, ThomasTest] = {}
    range_of_motion: list[RangeOfMotion] = []


class KujalaResponse(_Model):
    """Kujala AKPS answers (version ``kujala1993``): item → option letter (or its points)."""

    version: Literal["kujala1993"] = KUJALA_VERSION
    answers: dict[str, str | int]

    @field_validator("answers")
    @classmethod
    def _check_answers(cls, answers: dict[str, str | int]) -> dict[str, str | int]:
        unknown = [k for k in answers if k not in KUJALA_1993]
        if unknown:
            raise ValueError(f"unknown item {unknown[0]!r}; the 13 items are {', '.join(KUJALA_1993)}")
        for k, v in answers.items():
            kujala_item_points(k, v)  # raises ValueError naming the item and allowed options
        missing = [k for k in KUJALA_1993 if k not in answers]
        if missing:
            raise ValueError(
                f"item {missing[0]!r} is not answered"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + "; all 13 items are needed"
            )
        return answers


class LefsResponse(_Model):
    """LEFS answers (version ``lefs1999``): 20 whole numbers 0–4 in form order."""

    version: Literal["lefs1999"] = LEFS_VERSION
    answers: list[Annotated[int, Field(strict=True)]]

    @field_validator("answers")
    @classmethod
    def _twenty(cls, answers: list[int]) -> list[int]:
        if len(answers) != len(LEFS_ITEMS):
            raise ValueError(
                f"the LEFS has {len(LEFS_ITEMS)} items scored {LEFS_MIN}–{LEFS_MAX}; {len(answers)} answers given"
                + (f" (item {len(answers) + 1} onwards missing)" if len(answers) < len(LEFS_ITEMS) else "")
            )
        score_lefs(answers)  # raises ValueError naming the item, its wording, the allowed values and the answer
        return answers


class NprsResponse(_Model):
    """Numeric pain rating 0–10 with what it refers to."""

    score: Annotated[int, Field(strict=True)]
    recall: Literal["now", "average_24h", "average_week", "worst_week", "during_activity"] = "average_week"

    @field_validator("score")
    @classmethod
    def _range(cls, score: int) -> int:
        if not NPRS_MIN <= score <= NPRS_MAX:
            # the formatter adds "; got <value>"
            raise ValueError(f"the NPRS is a whole number {NPRS_MIN}–{NPRS_MAX} (0 = no pain, 10 = worst pain imaginable)")
        return score


class Questionnaires(_Model):
    kujala: KujalaResponse | None = None
    lefs: LefsResponse | None = None
    nprs: NprsResponse | None = None


class OttawaKneeRule(_Model):
    """Ottawa knee rule items other than age (age comes from the person)."""

    isolated_patellar_tenderness: bool = False
    fibular_head_tenderness: bool = False
    cannot_flex_to_90: bool = False
    cannot_bear_weight_4_steps: bool = False


class RedFlagScreen(_Model):
    """Answers to the red-flag screen (facts sheet §8); all default to ``False`` (not present)."""

    recent_trauma: bool = False
    ottawa: OttawaKneeRule = OttawaKneeRule()
    swelling_within_12h_of_trauma: bool = False
    giving_way_after_trauma: bool = False
    suspected_fracture_or_dislocation: bool = False
    locking: bool = False
    large_effusion: bool = False
    fever: bool = False
    hot_red_swollen_joint: bool = False
    immunocompromised_with_swelling: bool = False
    neurovascular_compromise: bool = False
    cannot_straight_leg_raise: bool = False
    unexplained_weight_loss: bool = False
    history_of_cancer: bool = False
    hard_mass: bool = False
    night_or_rest_pain: bool = False
    morning_stiffness_over_30_min: bool = False
    other_joints_involved: bool = False
    progressive_neurological_deficit: bool = False
    adolescent_mechanical_symptoms: bool = False
    child_knee_pain_painful_hip_rotation: bool = False
    psoriasis_or_inflammatory_bowel_disease: bool = False
    arthritis_after_sore_throat: bool = False
    traumatic_patellar_dislocation: bool = False


class MovementResultRef(_Model):
    """A movement-screen ``result.json`` (video or marker task), by path relative to the assessment."""

    path: str
    label: str | None = None


class RedFlagOverride(_Model):
    """The clinician assessed the red flags and judged exercise safe: who, when and why (kept with the visit)."""

    reason: str = Field(min_length=10, max_length=2000)
    by: str = Field(min_length=1, max_length=200)
    date: _dt.date | None = None


class Assessment(_Model):
    """One assessment visit."""

    schema_version: Literal[1] = 1
    visit_id: str | None = None
    date: _dt.date | None = None
    clinician: str | None = None
    person: Person
    red_flags: RedFlagScreen = RedFlagScreen()
    strength: dict[MuscleGroup, StrengthTest] = {}
    clinical_tests: ClinicalTests = ClinicalTests()
    questionnaires: Questionnaires = Questionnaires()
    movement_results: list[MovementResultRef] = []
    notes: str | None = None
    #: a reasoned override of a positive red-flag screen: the program is made, the reason shown everywhere
    red_flag_override: RedFlagOverride | None = None


def parse_assessment(data: Any, *, path: str | Path | None = None) -> Assessment:
    """Validate a mapping (parsed YAML/JSON) as an :class:`Assessment`; one-line error on failure."""
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"an assessment must be a mapping with at least 'person'; got {type(data).__name__}", path=path
        )
    try:
        return Assessment.model_validate(data)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc, path=path) from None


def read_assessment(path: str | Path) -> Assessment:
    """Read an assessment visit from a YAML or JSON file (JSON is read as YAML, its superset)."""
    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError("assessment file not found", path=p)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the assessment file: {exc}", path=p) from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, ValueError, RecursionError) as exc:  # hostile: deep, 5000 digits
        raise InvalidInputError(
            f"the assessment does not parse as {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: "
            f"{' '.join((str(exc) or type(exc).__name__).split())[:300]}",
            path=p,
        ) from None
    return parse_assessment(data, path=p)


def finite(x: float) -> bool:
    """True for a finite float."""
    return isinstance(x, int | float) and math.isfinite(x)
