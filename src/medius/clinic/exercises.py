"""The exercise library: exercises, program phases and the target → exercise map, read from data.

The library is the data file ``medius/clinic/data/exercises.yaml`` (shipped in the wheel), read
with :mod:`importlib.resources` and validated at load: every problem is listed in one
:class:`~medius.errors.InvalidInputError` naming the exercise id and the field. Every sourced
number (activation % MVIC, sets, reps, load, frequency, weeks, progression steps) lives in the
registry (``medius/registry/exercise.yaml``); the library refers to it by entry id and the ids are
checked against the registry here.

Layer: clinic; imports only :mod:`medius.registry` and :mod:`medius.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from medius.errors import InvalidInputError
from medius.registry import Reference, Registry, load_registry

__all__ = [
    "EXERCISE_MODES",
    "LOAD_KINDS",
    "PHASE_IDS",
    "PROGRAM_TARGETS",
    "DoseRef",
    "Exercise",
    "ExerciseLibrary",
    "PhaseTemplate",
    "load_exercise_library",
    "parse_exercise_library",
]

#: what a program can target (the contract with the findings rules of medius.clinic.findings)
PROGRAM_TARGETS: tuple[str, ...] = (
    "hip_abductor_strength",
    "hip_external_rotator_strength",
    "hip_extensor_strength",
    "knee_extensor_strength",
    "pelvic_control",
    "dynamic_knee_control",
    "trunk_control",
    "itb_tfl_flexibility",
    "hip_flexor_flexibility",
    "balance_proprioception",
    "return_to_running",
)
#: program phases, in order
PHASE_IDS: tuple[str, ...] = ("activation", "strengthening", "functional", "return_to_running")
#: how an exercise is dosed: sets × reps, sets × seconds held, sets × seconds of work
EXERCISE_MODES: tuple[str, ...] = ("reps", "hold", "time")
#: how an exercise is loaded; only ``external`` (kilograms) is progressed by the load rule
LOAD_KINDS: tuple[str, ...] = ("body_weight", "band", "external")

_DATA = "data/exercises.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DesignDose(_Strict):
    """Sets and seconds of a hold or time exercise: a design choice without a source."""

    sets: int
    hold_s: float | None = None
    time_s: float | None = None


class Exercise(_Strict):
    """One exercise of the library (see the data file for the meaning of each field)."""

    id: str
    name: str
    target_muscles: list[str]
    targets: list[str]
    unilateral: bool
    mode: Literal["reps", "hold", "time"]
    load: Literal["body_weight", "band", "external"]
    load_step_kg: float | None = None
    equipment: list[str]
    design_dose: DesignDose | None = None
    instructions: list[str]
    faults: list[str]
    regression: str | None
    progression: str | None
    notes: str | None = None


class DoseRef(_Strict):
    """A dosage number taken from a registry entry: ``use`` its low or high end, or the range."""

    ref: str
    use: Literal["low", "high", "range"] = "range"


class PhaseTemplate(_Strict):
    """A program phase: label, design length in weeks, goals and the registry refs of its dose."""

    id: str
    label: str
    weeks: int
    goals: list[str]
    sets: DoseRef
    reps: DoseRef
    only_for: dict[str, list[str]] | None = None


class _ProgramRules(_Strict):
    default_targets: list[str]
    max_exercises_per_phase: int
    frequency: DoseRef
    duration: DoseRef
    load_increase: DoseRef
    reps_over_target: DoseRef
    consecutive_sessions: DoseRef
    pain_during: DoseRef


class _TargetMap(_Strict):
    label: str
    activation: list[str]
    strengthening: list[str]
    functional: list[str]
    return_to_running: list[str]


class _LibraryFile(_Strict):
    schema_version: Literal[1]
    equipment: dict[str, dict[str, str]]
    program: _ProgramRules
    phases: list[PhaseTemplate]
    targets: dict[str, _TargetMap]
    exercises: list[Exercise]


class ExerciseLibrary:
    """The validated library: exercises by id, equipment, phases, target map and dose refs."""

    def __init__(self, data: _LibraryFile, registry: Registry) -> None:
        self._data = data
        self.registry = registry
        self.exercises: Mapping[str, Exercise] = MappingProxyType({e.id: e for e in data.exercises})
        self.equipment: Mapping[str, str] = MappingProxyType(
            {k: v.get("label", k) for k, v in data.equipment.items()}
        )
        self.phases: tuple[PhaseTemplate, ...] = tuple(data.phases)
        self.rules = data.program
        self._targets = data.targets

    def get(self, exercise_id: str) -> Exercise:
        """The exercise with this id (``KeyError`` listing the known ids if unknown)."""
        try:
            return self.exercises[exercise_id]
        except KeyError:
            raise KeyError(
                f"unknown exercise id {exercise_id!r}; known ids: {', '.join(self.exercises)}"
            ) from None

    def target_label(self, target: str) -> str:
        """The readable label of a program target."""
        return self._targets[target].label

    def exercises_for(self, target: str, phase: str) -> list[str]:
        """The exercise ids that address ``target`` in ``phase``, best first."""
        return list(getattr(self._targets[target], phase))

    def reference(self, dose: DoseRef | str) -> Reference:
        """The registry entry behind a dose reference (or an entry id)."""
        return self.registry.get(dose if isinstance(dose, str) else dose.ref)

    def dose_range(self, dose: DoseRef) -> tuple[float, float]:
        """``(low, high)`` of a dose reference after ``use`` (``low``/``high`` give equal ends)."""
        ref = self.reference(dose)
        if ref.kind == "cutoff":
            assert ref.cutoff is not None
            return (ref.cutoff, ref.cutoff)
        assert ref.low is not None and ref.high is not None
        if dose.use == "low":
            return (ref.low, ref.low)
        if dose.use == "high":
            return (ref.high, ref.high)
        return (ref.low, ref.high)


def _check(data: _LibraryFile, registry: Registry) -> list[str]:
    problems: list[str] = []
    ids = [e.id for e in data.exercises]
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            problems.append(f"exercise {i!r}: id used twice")
        seen.add(i)
    for e in data.exercises:
        where = f"exercise {e.id!r}"
        if e.id not in registry.tasks:
            problems.append(f"{where}: no registry task of that name (add it to medius/registry/exercise.yaml)")
        for t in e.targets:
            if t not in PROGRAM_TARGETS:
                problems.append(f"{where}: field 'targets' has {t!r}; allowed: {', '.join(PROGRAM_TARGETS)}")
        for q in e.equipment:
            if q not in data.equipment:
                problems.append(f"{where}: field 'equipment' has {q!r}; allowed: {', '.join(data.equipment)}")
        for link in ("regression", "progression"):
            other = getattr(e, link)
            if other is not None and other not in seen | set(ids):
                problems.append(f"{where}: field {link!r} names unknown exercise {other!r}")
            if other == e.id:
                problems.append(f"{where}: field {link!r} names the exercise itself")
        if e.mode == "reps" and e.design_dose is not None:
            problems.append(f"{where}: a reps exercise takes its dose from the phase, not 'design_dose'")
        if e.mode != "reps":
            dd = e.design_dose
            key = "hold_s" if e.mode == "hold" else "time_s"
            if dd is None or getattr(dd, key) is None or getattr(dd, key) <= 0 or dd.sets < 1:
                problems.append(f"{where}: mode {e.mode!r} needs 'design_dose' with sets >= 1 and {key} > 0")
        if e.load == "external" and (e.load_step_kg is None or e.load_step_kg <= 0):
            problems.append(f"{where}: load 'external' needs 'load_step_kg' > 0")
        if not e.instructions or not e.faults:
            problems.append(f"{where}: needs instructions and faults")
    if [p.id for p in data.phases] != list(PHASE_IDS):
        problems.append(f"phases must be, in order: {', '.join(PHASE_IDS)}")
    if set(data.targets) != set(PROGRAM_TARGETS):
        problems.append(f"targets must be exactly: {', '.join(PROGRAM_TARGETS)}")
    for t, m in data.targets.items():
        for phase in PHASE_IDS:
            for x in getattr(m, phase):
                if x not in seen:
                    problems.append(f"target {t!r}: phase {phase!r} names unknown exercise {x!r}")
    for t in data.program.default_targets:
        if t not in PROGRAM_TARGETS:
            problems.append(f"program: default target {t!r} is not a program target")
    refs: list[DoseRef] = [p.sets for p in data.phases] + [p.reps for p in data.phases]
    r = data.program
    refs += [r.frequency, r.duration, r.load_increase, r.reps_over_target, r.consecutive_sessions, r.pain_during]
    for d in refs:
        try:
            ref = registry.get(d.ref)
        except KeyError:
            problems.append(f"dose reference {d.ref!r} is not a registry entry id")
            continue
        if ref.kind not in ("reference_range", "cutoff"):
            problems.append(f"dose reference {d.ref!r} must be a reference_range or cutoff entry")
    return problems


def parse_exercise_library(text: str, *, registry: Registry | None = None, name: str = _DATA) -> ExerciseLibrary:
    """Parse and validate library YAML text against the registry.

    Raises
    ------
    InvalidInputError
        listing every problem found, each naming the exercise id (or section) and the field.
    """
    reg = registry or load_registry()
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"exercise library YAML does not parse: {' '.join(str(exc).split())}", path=name) from None
    try:
        data = _LibraryFile.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        ]
        raise InvalidInputError("invalid exercise library: " + "; ".join(problems), path=name) from None
    problems = _check(data, reg)
    if problems:
        raise InvalidInputError(
            f"invalid exercise library ({len(problems)} problems): " + "; ".join(problems), path=name
        )
    return ExerciseLibrary(data, reg)


@lru_cache(maxsize=1)
def load_exercise_library() -> ExerciseLibrary:
    """The library shipped with medius, validated against the shipped registry and cached."""
    text = resources.files("medius.clinic").joinpath(_DATA).read_text(encoding="utf-8")
    return parse_exercise_library(text, registry=load_registry(), name=f"medius/clinic/{_DATA}")
