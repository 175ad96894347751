"""From findings to a phased home exercise program (activation → strengthening → functional →
return to running).

:func:`generate_program` turns a :class:`ProgramRequest` (program targets with side and priority,
red flags, pain, goal, equipment) into a :class:`Program`. Exercises come from the exercise library
(:mod:`medius.clinic.exercises`); sets, reps, load, frequency and weeks come from registry entries
(ACSM 2009, patellofemoral-pain trials, the ITBS pilot trial), progression and regression criteria
from the ACSM load rule and the pain-monitoring model. Any red flag blocks the program: no
exercises, a message to see a clinician.

Layer: clinic; imports only :mod:`medius.registry`, :mod:`medius.errors` and the clinic library.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from medius.clinic.exercises import (
    PHASE_IDS,
    PROGRAM_TARGETS,
    Exercise,
    ExerciseLibrary,
    PhaseTemplate,
    load_exercise_library,
)
from medius.errors import InputNotFoundError, InvalidInputError

__all__ = [
    "PROGRAM_FORMAT",
    "PROGRAM_TARGETS",
    "Dosage",
    "Phase",
    "Program",
    "ProgramExercise",
    "ProgramRequest",
    "TargetNeed",
    "build_program_exercise",
    "format_validation_error",
    "generate_program",
    "read_program",
    "read_program_request",
    "request_from_findings",
]

#: format tag written into program.json
PROGRAM_FORMAT = "medius.program/1"

Side = Literal["left", "right", "both"]


def _check_target(value: str) -> str:
    if value not in PROGRAM_TARGETS:
        raise ValueError(f"must be one of {', '.join(PROGRAM_TARGETS)}; got {value!r}")
    return value


class TargetNeed(BaseModel):
    """One thing the program should address: a program target, the side, a priority (1 = first)."""

    model_config = ConfigDict(extra="forbid")

    target: str
    side: Side = "both"
    priority: int = Field(default=1, ge=1)
    finding_ids: list[str] = Field(default_factory=list)

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        return _check_target(value)


class ProgramRequest(BaseModel):
    """What a program is generated from (written by ``medius assess`` or by hand).

    ``equipment`` None = everything in the library's equipment list is available; an empty list =
    body weight only. ``pain_nprs`` is the usual pain (0–10), the baseline for the next-morning rule.
    """

    model_config = ConfigDict(extra="forbid")

    targets: list[TargetNeed]
    red_flags: list[str] = Field(default_factory=list)
    pain_nprs: float | None = Field(default=None, ge=0, le=10)
    affected_side: Side | None = None
    goal: Literal["daily_activity", "running", "sport"] = "daily_activity"
    equipment: list[str] | None = None
    sessions_per_week: int | None = Field(default=None, ge=1, le=7)
    start_date: _dt.date | None = None

    @field_validator("equipment")
    @classmethod
    def _known_equipment(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        known = load_exercise_library().equipment
        bad = [v for v in value if v not in known]
        if bad:
            raise ValueError(f"must be items of {', '.join(known)}; got {', '.join(map(repr, bad))}")
        return value


class Dosage(BaseModel):
    """How much of one exercise: sets × reps (or seconds), load, sessions a week, side.

    ``sets`` is for ``side`` (the emphasised side of a one-leg exercise); ``sets_other_side`` for
    the other leg (``None`` = same, or a two-leg exercise). ``load_kg`` is set for external loads once
    known (``None`` = choose by ``load_text``). ``design`` = a design default, no sourced dose.
    """

    model_config = ConfigDict(extra="forbid")

    sets: int = Field(ge=1)
    sets_other_side: int | None = Field(default=None, ge=1)
    reps_min: int | None = Field(default=None, ge=1)
    reps_max: int | None = Field(default=None, ge=1)
    hold_s: float | None = Field(default=None, gt=0)
    time_s: float | None = Field(default=None, gt=0)
    load: Literal["body_weight", "band", "external"]
    load_kg: float | None = Field(default=None, ge=0)
    load_text: str
    frequency_per_week: int = Field(ge=1, le=7)
    side: Side
    design: bool = False

    def text(self) -> str:
        """One line, e.g. ``"3 sets × 8–12 reps (left: 2 sets), 3 times a week"``."""
        if self.reps_min is not None and self.reps_max is not None:
            per = f"{self.reps_min}–{self.reps_max} reps" if self.reps_min != self.reps_max else f"{self.reps_max} reps"
        elif self.hold_s is not None:
            per = f"{self.hold_s:g} s hold"
        else:
            per = f"{self.time_s:g} s"
        sides = ""
        if self.side != "both":
            other = "left" if self.side == "right" else "right"
            n = self.sets_other_side
            sides = f" on the {self.side} leg" + (
                f" ({other} leg: {n} set{'s' if n != 1 else ''})" if n else ""
            )
        load = f"{self.load_kg:g} kg" if self.load_kg is not None else self.load_text
        return f"{self.sets} sets × {per}{sides}; load: {load}; {self.frequency_per_week} times a week"


class ProgramExercise(BaseModel):
    """One exercise in one phase, with its dose, why it is there and how it moves on."""

    model_config = ConfigDict(extra="forbid")

    exercise_id: str
    name: str
    phase: str
    dosage: Dosage
    targets: list[str]
    finding_ids: list[str] = Field(default_factory=list)
    equipment: list[str] = Field(default_factory=list)
    progression_criterion: str
    regression_criterion: str
    progression_to: str | None = None
    regression_to: str | None = None
    substituted_for: str | None = None
    sources: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Phase(BaseModel):
    """A program phase: weeks (``start_week``..``end_week``, 1-based), goals and exercises."""

    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    weeks: int
    start_week: int
    end_week: int
    goals: list[str]
    exercises: list[ProgramExercise]


class Program(BaseModel):
    """A phased home program, or a blocked one (``blocked_by_red_flags``: no phases)."""

    model_config = ConfigDict(extra="forbid")

    format: str = PROGRAM_FORMAT
    blocked_by_red_flags: bool
    message: str
    red_flags: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    phases: list[Phase] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    provisional_sources: list[str] = Field(default_factory=list)
    created_from: list[str] = Field(default_factory=list)
    request: ProgramRequest
    frequency_per_week: int | None = None
    total_weeks: int = 0
    current_phase: str | None = None
    baseline_pain_nprs: float | None = None
    start_date: _dt.date | None = None
    pain_rules: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    revision: int = 0

    def exercises(self) -> list[ProgramExercise]:
        """Every exercise entry of every phase, in order."""
        return [e for p in self.phases for e in p.exercises]

    def phase(self, phase_id: str) -> Phase:
        """The phase with this id (``KeyError`` listing the phases if absent)."""
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(f"no phase {phase_id!r} in this program; phases: {', '.join(p.id for p in self.phases)}")


# ------------------------------------------------------------------------------------ building
def _allowed(ex: Exercise, equipment: list[str] | None) -> bool:
    return equipment is None or set(ex.equipment) <= set(equipment)


def _fit_equipment(lib: ExerciseLibrary, exercise_id: str, equipment: list[str] | None) -> str | None:
    """The exercise, or the first of its regressions that needs only the available equipment."""
    seen: set[str] = set()
    current: str | None = exercise_id
    while current is not None and current not in seen:
        seen.add(current)
        ex = lib.get(current)
        if _allowed(ex, equipment):
            return current
        current = ex.regression
    return None


def _pain_high(lib: ExerciseLibrary) -> float:
    return lib.dose_range(lib.rules.pain_during)[1]


def _progression_texts(
    lib: ExerciseLibrary, ex: Exercise, dosage: Dosage, equipment: list[str] | None
) -> tuple[str, str, str | None, str | None]:
    """Progression and regression criteria (text) and the exercises they lead to."""
    over_lo, over_hi = (int(v) for v in lib.dose_range(lib.rules.reps_over_target))
    n = int(lib.dose_range(lib.rules.consecutive_sessions)[0])
    inc_lo, inc_hi = lib.dose_range(lib.rules.load_increase)
    pain = _pain_high(lib)
    prog = ex.progression if ex.progression and _allowed(lib.get(ex.progression), equipment) else None
    regr = _fit_equipment(lib, ex.regression, equipment) if ex.regression else None
    pain_ok = (
        f"pain during exercise at most {pain:g}/10 that has settled by the next morning and is not "
        f"higher than the week before"
    )
    if ex.mode == "reps":
        assert dosage.reps_max is not None
        when = (
            f"When you can do {dosage.reps_max + over_lo}–{dosage.reps_max + over_hi} reps ({over_lo}–{over_hi} "
            f"more than the top of the target, {dosage.reps_max}) in every set on {n} sessions in a row, with "
            f"{pain_ok}: "
        )
    else:
        what = f"{dosage.hold_s:g} s hold" if ex.mode == "hold" else f"{dosage.time_s:g} s"
        when = f"When every {what} is done with good form on {n} sessions in a row, with {pain_ok}: "
    if ex.load == "external":
        then = (
            f"add {inc_lo:g}–{inc_hi:g} % load (the smallest weight step of at least {inc_lo:g} % and at most "
            f"{inc_hi:g} %)."
        )
    elif prog is not None:
        then = f"move on to {lib.get(prog).name}."
    elif ex.load == "band":
        then = "use a stronger band."
    elif ex.mode == "reps" and dosage.sets < int(lib.reference(lib.phases[1].sets).high or 1):
        then = "add a set."
    else:
        then = "keep this dose; it is the top of this exercise's ladder."
    stop = (
        f"Step back when pain during exercise is above {pain:g}/10, when pain has not settled by the next "
        f"morning, or when pain is higher than the week before: "
    )
    if ex.load == "external":
        back = f"reduce the load by {inc_hi:g} % (rounded down to the weight steps)."
    elif regr is not None:
        back = f"go back to {lib.get(regr).name}."
    elif ex.mode == "reps":
        back = "do one set less and the lower end of the rep range."
    else:
        back = "do one set less."
    return when + then, stop + back, prog, regr


def _activation_sources(lib: ExerciseLibrary, exercise_id: str) -> list[str]:
    reg = lib.registry
    ids: list[str] = []
    for metric in ("gmed_activation_pct_mvic", "gmax_activation_pct_mvic", "tfl_activation_pct_mvic"):
        if metric in reg.metrics and exercise_id in reg.tasks:
            ids += [r.id for r in reg.references_for(metric, exercise_id)]
    return ids


def build_program_exercise(
    exercise_id: str,
    phase_id: str,
    *,
    side: Side = "both",
    frequency_per_week: int,
    equipment: list[str] | None = None,
    targets: Iterable[str] = (),
    finding_ids: Iterable[str] = (),
    library: ExerciseLibrary | None = None,
) -> ProgramExercise:
    """One program entry: an exercise of the library dosed for a phase.

    Parameters
    ----------
    exercise_id
        an exercise id of the library.
    phase_id
        one of :data:`~medius.clinic.exercises.PHASE_IDS`; gives sets and reps (registry refs).
    side
        the emphasised leg of a one-leg exercise (it gets the phase's sets, the other leg one set
        less); ``both`` for equal work. Two-leg exercises are always ``both``.
    frequency_per_week
        sessions a week.
    equipment
        available equipment (``None`` = all), for the progression and regression it points to.
    targets, finding_ids
        why the exercise is in the program.
    """
    lib = library or load_exercise_library()
    ex = lib.get(exercise_id)
    if phase_id not in PHASE_IDS:
        raise ValueError(
            f"Invalid value for the 'phase_id' parameter: allowed values are {', '.join(PHASE_IDS)}, "
            f"but got {phase_id!r}"
        )
    tmpl: PhaseTemplate = next(p for p in lib.phases if p.id == phase_id)
    side = side if ex.unilateral else "both"
    sources = [tmpl.sets.ref, tmpl.reps.ref, lib.rules.frequency.ref]
    if ex.mode == "reps":
        sets = int(lib.dose_range(tmpl.sets)[0])
        reps_lo, reps_hi = (int(v) for v in lib.dose_range(tmpl.reps))
        if ex.load == "external":
            load_text = f"a weight you can lift at most {reps_hi} times with good form"
        elif ex.load == "band":
            load_text = f"a band that lets you do {reps_lo}–{reps_hi} reps with good form"
        else:
            load_text = "body weight"
        dosage = Dosage(
            sets=sets,
            reps_min=reps_lo,
            reps_max=reps_hi,
            load=ex.load,
            load_text=load_text,
            frequency_per_week=frequency_per_week,
            side=side,
        )
        sources += [lib.rules.reps_over_target.ref, lib.rules.consecutive_sessions.ref]
        if ex.load == "external":
            sources.append(lib.rules.load_increase.ref)
    else:
        dd = ex.design_dose
        assert dd is not None
        sets = dd.sets
        dosage = Dosage(
            sets=sets,
            hold_s=dd.hold_s if ex.mode == "hold" else None,
            time_s=dd.time_s if ex.mode == "time" else None,
            load=ex.load,
            load_text="body weight" if ex.load == "body_weight" else ex.load.replace("_", " "),
            frequency_per_week=frequency_per_week,
            side=side,
            design=True,
        )
        sources = [lib.rules.frequency.ref, lib.rules.consecutive_sessions.ref]
    if side != "both" and sets > 1:
        dosage.sets_other_side = sets - 1
    sources.append(lib.rules.pain_during.ref)
    prog_text, regr_text, prog, regr = _progression_texts(lib, ex, dosage, equipment)
    notes = []
    if dosage.design:
        notes.append("Design default dose: no sourced dose was found for this exercise.")
    if ex.notes:
        notes.append(ex.notes)
    return ProgramExercise(
        exercise_id=ex.id,
        name=ex.name,
        phase=phase_id,
        dosage=dosage,
        targets=list(dict.fromkeys(targets)),
        finding_ids=list(dict.fromkeys(finding_ids)),
        equipment=list(ex.equipment),
        progression_criterion=prog_text,
        regression_criterion=regr_text,
        progression_to=prog,
        regression_to=regr,
        sources=list(dict.fromkeys(sources + _activation_sources(lib, ex.id))),
        notes=notes,
    )


def _pain_rules(lib: ExerciseLibrary) -> list[str]:
    ref = lib.reference(lib.rules.pain_during)
    assert ref.high is not None
    prov = " (provisional reference: seen only in a secondary source)" if ref.provisional else ""
    return [
        f"Pain during exercise may reach {ref.high:g}/10 (0 = no pain, 10 = worst imaginable){prov}.",
        f"Pain after exercise must settle by the next morning to what it was before the session{prov}.",
        "Pain and stiffness should not rise from week to week (provisional rule: not verified).",
        "If pain is higher the next morning, step back (less load or an easier exercise); if it has "
        "settled, repeat or progress.",
        f"Source: {ref.source}.",
    ]


def generate_program(request: ProgramRequest) -> Program:
    """A phased home program for the request, or a blocked one when there is any red flag.

    Each phase takes, round-robin over the targets in priority order (1 first), the exercises the
    library lists for that target and phase, replacing an exercise whose equipment is not available
    by its first regression that fits (or leaving it out, with a note), up to the library's
    ``max_exercises_per_phase``. The return-to-running phase is added for a running or sport goal
    or a ``return_to_running`` target.
    """
    lib = load_exercise_library()
    created_from = list(dict.fromkeys(f for t in request.targets for f in t.finding_ids))
    if request.red_flags:
        flags = "; ".join(request.red_flags)
        return Program(
            blocked_by_red_flags=True,
            message=(
                f"No exercise program yet: red flags need a clinician's assessment first ({flags}). Assess them, "
                "or refer to a doctor (urgently where marked), before any exercise; a clinician who has assessed "
                "them can record a reasoned override."
            ),
            red_flags=list(request.red_flags),
            targets=list(dict.fromkeys(t.target for t in request.targets)),
            created_from=created_from,
            request=request,
            baseline_pain_nprs=request.pain_nprs,
            start_date=request.start_date,
        )
    notes: list[str] = []
    needs = list(request.targets)
    if not needs:
        needs = [TargetNeed(target=t, side=request.affected_side or "both") for t in lib.rules.default_targets]
        notes.append(
            "No targets were given: a general hip-and-knee program was made (exercise therapy for the hip and "
            "knee, Collins et al. 2018 consensus)."
        )
    needs = sorted(needs, key=lambda n: n.priority)
    freq_ref = lib.reference(lib.rules.frequency)
    assert freq_ref.low is not None and freq_ref.high is not None
    freq_lo, freq_hi = freq_ref.low, freq_ref.high
    freq = request.sessions_per_week or int(lib.dose_range(lib.rules.frequency)[1])
    if not freq_lo <= freq <= freq_hi:
        notes.append(
            f"{freq} sessions a week is outside the {freq_lo:g}–{freq_hi:g} sessions a week advised for people "
            "new to strength training (ACSM 2009)."
        )
    wanted = {n.target for n in needs}
    phases_used = [
        p
        for p in lib.phases
        if p.only_for is None
        or request.goal in p.only_for.get("goals", [])
        or wanted & set(p.only_for.get("targets", []))
    ]
    skipped: list[str] = []
    phases: list[Phase] = []
    week = 1
    cap = lib.rules.max_exercises_per_phase
    for tmpl in phases_used:
        chosen: dict[str, dict[str, Any]] = {}
        lists = [(n, lib.exercises_for(n.target, tmpl.id)) for n in needs]
        depth = max((len(lst) for _, lst in lists), default=0)
        for i in range(depth):
            for need, lst in lists:
                if i >= len(lst):
                    continue
                ex_id = _fit_equipment(lib, lst[i], request.equipment)
                if ex_id is None:
                    skipped.append(f"{lib.get(lst[i]).name} ({tmpl.label})")
                    continue
                side = need.side if need.side != "both" else (request.affected_side or "both")
                if ex_id in chosen:
                    entry = chosen[ex_id]
                    entry["targets"].append(need.target)
                    entry["finding_ids"] += need.finding_ids
                    if entry["side"] != side:
                        entry["side"] = "both"
                elif len(chosen) < cap:
                    chosen[ex_id] = {
                        "targets": [need.target],
                        "finding_ids": list(need.finding_ids),
                        "side": side,
                        "substituted_for": lst[i] if ex_id != lst[i] else None,
                    }
        exercises = []
        for ex_id, info in chosen.items():
            pe = build_program_exercise(
                ex_id,
                tmpl.id,
                side=info["side"],
                frequency_per_week=freq,
                equipment=request.equipment,
                targets=info["targets"],
                finding_ids=info["finding_ids"],
                library=lib,
            )
            if info["substituted_for"]:
                pe.substituted_for = info["substituted_for"]
                pe.notes.append(
                    f"Replaces {lib.get(info['substituted_for']).name}, whose equipment is not available."
                )
            exercises.append(pe)
        if not exercises:
            continue
        phases.append(
            Phase(
                id=tmpl.id,
                label=tmpl.label,
                weeks=tmpl.weeks,
                start_week=week,
                end_week=week + tmpl.weeks - 1,
                goals=list(tmpl.goals),
                exercises=exercises,
            )
        )
        week += tmpl.weeks
    if skipped:
        notes.append(
            "Left out for lack of equipment (and no easier version without it): "
            + ", ".join(dict.fromkeys(skipped))
            + "."
        )
    total = week - 1
    dur_lo, dur_hi = lib.dose_range(lib.rules.duration)
    if phases and not dur_lo <= total <= dur_hi:
        notes.append(
            f"The program lasts {total} weeks; patellofemoral-pain trials ran {dur_lo:g}–{dur_hi:g} weeks."
        )
    pain_high = _pain_high(lib)
    if request.pain_nprs is not None and request.pain_nprs > pain_high:
        notes.append(
            f"Your usual pain ({request.pain_nprs:g}/10) is above the {pain_high:g}/10 allowed during exercise: "
            "start with the easier version of each exercise and let a clinician guide the first sessions."
        )
    sources = [lib.rules.duration.ref, lib.rules.frequency.ref]
    for p in phases:
        for e in p.exercises:
            sources += e.sources
    sources = list(dict.fromkeys(sources))
    reg = lib.registry
    provisional = [s for s in sources if reg.get(s).provisional and reg.get(s).kind != "no_reference"]
    labels = ", ".join(lib.target_label(t) for t in dict.fromkeys(n.target for n in needs))
    message = (
        f"A {total}-week home program in {len(phases)} phases, {freq} sessions a week, for: {labels}."
        if phases
        else "No exercise could be chosen with the equipment available."
    )
    return Program(
        blocked_by_red_flags=False,
        message=message,
        targets=list(dict.fromkeys(n.target for n in needs)),
        phases=phases,
        sources=sources,
        provisional_sources=provisional,
        created_from=created_from,
        request=request,
        frequency_per_week=freq,
        total_weeks=total,
        current_phase=phases[0].id if phases else None,
        baseline_pain_nprs=request.pain_nprs,
        start_date=request.start_date,
        pain_rules=_pain_rules(lib),
        notes=notes,
    )


# ------------------------------------------------------------------------------------ reading
def format_validation_error(exc: ValidationError, *, limit: int = 3) -> str:
    """Pydantic errors as ``field 'a.0.b': message`` parts joined on one line."""
    parts = []
    for e in exc.errors(include_url=False)[:limit]:
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"field {loc!r}: {msg}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _read_data(path: Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError("file not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputNotFoundError(f"cannot read the file ({exc})", path=path) from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, ValueError, RecursionError) as exc:  # hostile: deep, 5000 digits
        text = " ".join((str(exc) or type(exc).__name__).split())[:300]
        raise InvalidInputError(f"does not parse as JSON/YAML: {text}", path=path) from None


def request_from_findings(data: Mapping[str, Any]) -> ProgramRequest:
    """A :class:`ProgramRequest` from a ``findings.json`` written by ``medius assess``.

    Uses its ``program_request`` when present; otherwise builds one from ``findings``: each
    finding of kind ``finding`` with ``targets`` adds those targets (its ``side``, ``id``), each of
    kind ``red_flag`` adds a red flag (its ``text``). Targets keep the order of the findings, and a
    finding's ``priority`` when it has one.
    """
    if "program_request" in data and data["program_request"] is not None:
        return ProgramRequest.model_validate(data["program_request"])
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise ValueError("has neither 'program_request' nor a 'findings' list")
    targets: list[dict[str, Any]] = []
    flags: list[str] = []
    for f in findings:
        if not isinstance(f, Mapping):
            raise ValueError("'findings' must be a list of objects")
        if f.get("kind") == "red_flag":
            flags.append(str(f.get("text") or f.get("rule_id") or f.get("id") or "red flag"))
            continue
        side = f.get("side") if f.get("side") in ("left", "right", "both") else "both"
        for t in f.get("targets") or []:
            targets.append(
                {
                    "target": t,
                    "side": side,
                    "priority": int(f.get("priority") or 1),
                    "finding_ids": [str(f["id"])] if f.get("id") is not None else [],
                }
            )
    extra = {k: data[k] for k in ("pain_nprs", "affected_side", "goal", "equipment", "sessions_per_week",
                                  "start_date") if data.get(k) is not None}
    return ProgramRequest.model_validate({"targets": targets, "red_flags": flags, **extra})


def read_program_request(path: str | Path) -> ProgramRequest:
    """Read a ProgramRequest (YAML or JSON), or a ``findings.json`` of ``medius assess``.

    Raises
    ------
    InputNotFoundError
        the file does not exist or cannot be read.
    InvalidInputError
        it does not parse or does not validate; the message names the file, the field and the
        allowed values.
    """
    p = Path(path)
    data = _read_data(p)
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            "must be a mapping with 'targets' (a ProgramRequest) or 'findings'/'program_request' "
            f"(a findings file); got {type(data).__name__}",
            path=p,
        )
    try:
        if "targets" in data:
            return ProgramRequest.model_validate(dict(data))
        return request_from_findings(data)
    except ValidationError as exc:
        raise InvalidInputError(format_validation_error(exc), path=p) from None
    except ValueError as exc:
        raise InvalidInputError(str(exc), path=p) from None


def read_program(path: str | Path) -> Program:
    """Read a program.json written by :func:`generate_program` (``medius program make``)."""
    p = Path(path)
    data = _read_data(p)
    if not isinstance(data, Mapping) or data.get("format") != PROGRAM_FORMAT:
        raise InvalidInputError(f"is not a medius program (expected \"format\": \"{PROGRAM_FORMAT}\")", path=p)
    try:
        program = Program.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidInputError(format_validation_error(exc), path=p) from None
    lib = load_exercise_library()
    for i, ph in enumerate(program.phases):
        for j, e in enumerate(ph.exercises):
            if e.exercise_id not in lib.exercises:
                raise InvalidInputError(
                    f"field 'phases.{i}.exercises.{j}.exercise_id': unknown exercise {e.exercise_id!r}; "
                    f"allowed: {', '.join(lib.exercises)}",
                    path=p,
                )
            if e.dosage.load_kg is not None and not math.isfinite(e.dosage.load_kg):
                raise InvalidInputError(f"field 'phases.{i}.exercises.{j}.dosage.load_kg': not finite", path=p)
    return program
