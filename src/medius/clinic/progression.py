"""Progressing or regressing a program from logged sessions.

:func:`progress_program` reads the sessions logged for the current phase and, per exercise, either
steps back (pain rules broken), progresses (the ACSM rule met) or keeps the dose, with one readable
reason each. It never moves more than one step per exercise and call.

Pain-monitoring model (registry ``pain.acceptable.pain_monitoring``, a secondary source): pain
during exercise at most 5/10, pain settled by the next morning to the pain before the session
(``pain_before``, else the program's baseline, else 0), not worse week to week (the mean
next-morning pain of the last 7 days against the 7 days before; provisional). Otherwise: regress.

ACSM rule (registry ``progression.*``): when every set reaches the top of the rep range plus 1–2
reps on 2 sessions in a row (the "2 sessions" refinement is provisional), add the smallest weight
step of at least 2 % and at most 10 % (external loads), move on to the progression exercise, use a
stronger band or add a set. A regression reduces an external load by 10 %, rounded down to the
weight steps, or goes back to the regression exercise.

Layer: clinic.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from pathlib import Path
from statistics import fmean
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from medius.clinic.exercises import ExerciseLibrary, load_exercise_library
from medius.clinic.program import (
    Dosage,
    Program,
    ProgramExercise,
    _read_data,
    build_program_exercise,
    format_validation_error,
)
from medius.errors import InvalidInputError

__all__ = [
    "ExerciseChange",
    "ExerciseLog",
    "ProgramUpdate",
    "SessionLog",
    "check_sessions_against_program",
    "decrease_load_kg",
    "increase_load_kg",
    "progress_program",
    "read_sessions",
]

Pain = float


class ExerciseLog(BaseModel):
    """One exercise done in a session: sets, reps per set (or one number for all), load, pain."""

    model_config = ConfigDict(extra="forbid")

    id: str
    side: Literal["left", "right", "both"] | None = None
    sets: int = Field(ge=0)
    reps: list[int] | int | None = None
    hold_s: list[float] | float | None = None
    time_s: list[float] | float | None = None
    load_kg: float | None = Field(default=None, ge=0)
    band: str | None = None
    pain_during: float | None = Field(default=None, ge=0, le=10)

    @field_validator("reps", "hold_s", "time_s")
    @classmethod
    def _non_negative(cls, value: list[float] | float | None) -> list[float] | float | None:
        vals = value if isinstance(value, list) else [] if value is None else [value]
        if any(v < 0 or not math.isfinite(v) for v in vals):
            raise ValueError(f"must be >= 0; got {value!r}")
        return value

    def per_set(self, field: str) -> list[float]:
        """Reps (or seconds) of each set done: a single number counts for every set."""
        value = getattr(self, field)
        if value is None:
            return []
        if isinstance(value, list):
            return [float(v) for v in value]
        return [float(value)] * self.sets


class SessionLog(BaseModel):
    """One training session: date, pain before / during / next morning (0–10), exercises."""

    model_config = ConfigDict(extra="forbid")

    date: _dt.date
    pain_before: float | None = Field(default=None, ge=0, le=10)
    pain_during: float | None = Field(default=None, ge=0, le=10)
    pain_next_morning: float | None = Field(default=None, ge=0, le=10)
    exercises: list[ExerciseLog] = Field(default_factory=list)


class _SessionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sessions: list[SessionLog]


class ExerciseChange(BaseModel):
    """What happened to one exercise of the current phase, and why."""

    model_config = ConfigDict(extra="forbid")

    phase: str
    exercise_id: str
    action: Literal["progress", "regress", "keep"]
    reason: str
    new_exercise_id: str | None = None
    old_dosage: Dosage
    new_dosage: Dosage
    rule_ids: list[str] = Field(default_factory=list)


class ProgramUpdate(BaseModel):
    """The updated program, one change (with its reason) per exercise, and any phase change."""

    model_config = ConfigDict(extra="forbid")

    program: Program
    changes: list[ExerciseChange]
    phase_change: str | None = None
    sessions_used: int = 0
    summary: str


# ------------------------------------------------------------------------------------ load steps
def increase_load_kg(load_kg: float, step_kg: float, *, low_pct: float, high_pct: float) -> float | None:
    """The smallest load on the ``step_kg`` grid that is ≥ ``low_pct`` % and ≤ ``high_pct`` % heavier.

    ``None`` when no step fits (the grid is too coarse for this load, or the load is 0).
    """
    if load_kg <= 0 or step_kg <= 0:
        return None
    new = math.ceil(round(load_kg * (1 + low_pct / 100) / step_kg, 9)) * step_kg
    new = round(new, 6)
    if new > load_kg * (1 + high_pct / 100) + 1e-9 or new <= load_kg:
        return None
    return new


def decrease_load_kg(load_kg: float, step_kg: float, *, pct: float) -> float:
    """``load_kg`` reduced by ``pct`` %, rounded down to the ``step_kg`` grid (at least one step)."""
    target = load_kg * (1 - pct / 100)
    new = math.floor(round(target / step_kg, 9)) * step_kg if step_kg > 0 else target
    return round(max(0.0, min(new, load_kg - step_kg if step_kg > 0 else new)), 6)


# ------------------------------------------------------------------------------------ reading
def read_sessions(path: str | Path) -> list[SessionLog]:
    """Read a sessions log (YAML or JSON: ``sessions: [...]``), checking exercise ids and ranges.

    Raises
    ------
    InvalidInputError
        naming the file, the field and the allowed values (unknown exercise id, negative load, pain
        outside 0–10 ...).
    """
    p = Path(path)
    data = _read_data(p)
    if isinstance(data, list):
        data = {"sessions": data}
    try:
        sessions = _SessionsFile.model_validate(data).sessions
    except ValidationError as exc:
        raise InvalidInputError(format_validation_error(exc), path=p) from None
    lib = load_exercise_library()
    for i, s in enumerate(sessions):
        for j, e in enumerate(s.exercises):
            if e.id not in lib.exercises:
                raise InvalidInputError(
                    f"field 'sessions.{i}.exercises.{j}.id': unknown exercise {e.id!r}; allowed: "
                    f"{', '.join(lib.exercises)}",
                    path=p,
                )
    return sessions


def check_sessions_against_program(program: Program, sessions: Sequence[SessionLog]) -> list[str]:
    """Problems (one line each) with logs of exercises that are not in the program."""
    ids = {e.exercise_id for e in program.exercises()}
    out = []
    for i, s in enumerate(sessions):
        for j, e in enumerate(s.exercises):
            if e.id not in ids:
                out.append(
                    f"field 'sessions.{i}.exercises.{j}.id': exercise {e.id!r} is not in this program; "
                    f"allowed: {', '.join(sorted(ids))}"
                )
    return out


# ------------------------------------------------------------------------------------ rules
def _baseline(session: SessionLog, program: Program) -> float:
    if session.pain_before is not None:
        return session.pain_before
    if program.baseline_pain_nprs is not None:
        return program.baseline_pain_nprs
    return 0.0


def _pain_problems(
    session: SessionLog, log: ExerciseLog, program: Program, pain_high: float
) -> list[str]:
    problems = []
    during = log.pain_during if log.pain_during is not None else session.pain_during
    if during is not None and during > pain_high:
        problems.append(f"pain during exercise was {during:g}/10, above the {pain_high:g}/10 limit")
    base = _baseline(session, program)
    if session.pain_next_morning is not None and session.pain_next_morning > base:
        problems.append(
            f"pain the next morning ({session.pain_next_morning:g}/10) had not settled to the pain before "
            f"the session ({base:g}/10)"
        )
    return problems


def _weekly_trend(sessions: Sequence[SessionLog]) -> str | None:
    """A sentence when the last 7 days' mean pain is higher than the 7 days before (else None)."""
    if not sessions:
        return None
    last = sessions[-1].date

    def pains(lo: int, hi: int) -> list[float]:
        out = []
        for s in sessions:
            age = (last - s.date).days
            if lo <= age < hi:
                v = s.pain_next_morning if s.pain_next_morning is not None else s.pain_during
                if v is not None:
                    out.append(v)
        return out

    this_week, week_before = pains(0, 7), pains(7, 14)
    if this_week and week_before and fmean(this_week) > fmean(week_before):
        return (
            f"pain this week (mean {fmean(this_week):.1f}/10) is higher than the week before "
            f"(mean {fmean(week_before):.1f}/10; provisional rule: pain should not rise week to week)"
        )
    return None


def _met_target(log: ExerciseLog, pe: ProgramExercise, lib: ExerciseLibrary, over: int) -> bool:
    d = pe.dosage
    sets_needed = d.sets
    if d.side != "both" and log.side is not None and log.side not in (d.side, "both") and d.sets_other_side:
        sets_needed = d.sets_other_side
    if log.sets < sets_needed:
        return False
    mode = lib.get(pe.exercise_id).mode
    if mode == "reps":
        assert d.reps_max is not None
        done = log.per_set("reps")
        return len(done) >= sets_needed and min(done[:sets_needed]) >= d.reps_max + over
    field, goal = ("hold_s", d.hold_s) if mode == "hold" else ("time_s", d.time_s)
    done = log.per_set(field)
    return goal is not None and len(done) >= sets_needed and min(done[:sets_needed]) >= goal


def _switch(pe: ProgramExercise, new_id: str, program: Program, lib: ExerciseLibrary) -> ProgramExercise:
    new = build_program_exercise(
        new_id,
        pe.phase,
        side=pe.dosage.side,
        frequency_per_week=pe.dosage.frequency_per_week,
        equipment=program.request.equipment,
        targets=pe.targets,
        finding_ids=pe.finding_ids,
        library=lib,
    )
    return new


def _decide(
    pe: ProgramExercise,
    logs: list[tuple[SessionLog, ExerciseLog]],
    trend: str | None,
    program: Program,
    lib: ExerciseLibrary,
) -> tuple[ProgramExercise, ExerciseChange]:
    rules = lib.rules
    pain_high = lib.dose_range(rules.pain_during)[1]
    inc_lo, inc_hi = lib.dose_range(rules.load_increase)
    over_lo, _ = (int(v) for v in lib.dose_range(rules.reps_over_target))
    n_needed = int(lib.dose_range(rules.consecutive_sessions)[0])
    ex = lib.get(pe.exercise_id)
    old = pe.dosage

    def change(action: str, reason: str, new_pe: ProgramExercise, rule_ids: list[str]) -> tuple[ProgramExercise, ExerciseChange]:
        return new_pe, ExerciseChange(
            phase=pe.phase,
            exercise_id=pe.exercise_id,
            action=action,  # type: ignore[arg-type]
            reason=reason,
            new_exercise_id=new_pe.exercise_id if new_pe.exercise_id != pe.exercise_id else None,
            old_dosage=old,
            new_dosage=new_pe.dosage,
            rule_ids=rule_ids,
        )

    if not logs:
        return change("keep", "No sessions logged for this exercise yet: keep the dose.", pe, [])
    last_session, last_log = logs[-1]
    last_load = last_log.load_kg if last_log.load_kg is not None else old.load_kg

    # 1. pain-monitoring model: any problem → one step back
    problems = _pain_problems(last_session, last_log, program, pain_high)
    if trend:
        problems.append(trend)
    if problems:
        rule_ids = [rules.pain_during.ref]
        why = "Step back: " + "; ".join(problems) + "."
        if ex.load == "external" and last_load is not None and last_load > 0:
            assert ex.load_step_kg is not None
            new_load = decrease_load_kg(last_load, ex.load_step_kg, pct=inc_hi)
            new = pe.model_copy(deep=True)
            new.dosage.load_kg = new_load
            return change("regress", f"{why} Load {last_load:g} kg → {new_load:g} kg.", new, rule_ids + [rules.load_increase.ref])
        if pe.regression_to is not None:
            new = _switch(pe, pe.regression_to, program, lib)
            return change("regress", f"{why} Go back to {new.name}.", new, rule_ids)
        new = pe.model_copy(deep=True)
        if new.dosage.sets > 1:
            new.dosage.sets -= 1
            if new.dosage.sets_other_side:
                new.dosage.sets_other_side = new.dosage.sets - 1 if new.dosage.sets > 1 else None
            if new.dosage.reps_min is not None:
                new.dosage.reps_max = new.dosage.reps_min
            return change("regress", f"{why} One set less ({old.sets} → {new.dosage.sets}).", new, rule_ids)
        if new.dosage.reps_min is not None and new.dosage.reps_max != new.dosage.reps_min:
            new.dosage.reps_max = new.dosage.reps_min
            return change("regress", f"{why} Lower end of the rep range only.", new, rule_ids)
        return change(
            "regress",
            f"{why} This is already the easiest dose: pause this exercise and ask your clinician.",
            new,
            rule_ids,
        )

    # 2. ACSM rule: n sessions in a row at target + 1 rep (and pain within the limits in each)
    recent = logs[-n_needed:]
    rule_ids = [rules.reps_over_target.ref, rules.consecutive_sessions.ref, rules.pain_during.ref]
    met = len(recent) >= n_needed and all(
        _met_target(lg, pe, lib, over_lo) and not _pain_problems(s, lg, program, pain_high) for s, lg in recent
    )
    target_text = (
        f"{(old.reps_max or 0) + over_lo}+ reps in each of {old.sets} sets"
        if ex.mode == "reps"
        else f"every {old.hold_s or old.time_s:g} s set"
    )
    if not met:
        done = sum(1 for s, lg in recent if _met_target(lg, pe, lib, over_lo))
        return change(
            "keep",
            f"Repeat this dose: progress after {n_needed} sessions in a row with {target_text} and pain within "
            f"the limits ({done} of the last {len(recent)} logged sessions met it).",
            pe,
            rule_ids,
        )
    why = f"Progress: {target_text} on {n_needed} sessions in a row with pain within the limits."
    if ex.load == "external":
        assert ex.load_step_kg is not None
        if last_load is None or last_load <= 0:
            return change("keep", f"{why} Log the load in kg to get the next weight step.", pe, rule_ids)
        raised = increase_load_kg(last_load, ex.load_step_kg, low_pct=inc_lo, high_pct=inc_hi)
        if raised is None:
            return change(
                "keep",
                f"{why} But the next weight step ({ex.load_step_kg:g} kg) would add more than {inc_hi:g} % to "
                f"{last_load:g} kg: keep the load, slow the lowering phase.",
                pe,
                rule_ids + [rules.load_increase.ref],
            )
        new = pe.model_copy(deep=True)
        new_load = raised
        new.dosage.load_kg = new_load
        pct = 100 * (new_load - last_load) / last_load
        return change(
            "progress",
            f"{why} Load {last_load:g} kg → {new_load:g} kg (+{pct:.1f} %, within {inc_lo:g}–{inc_hi:g} %).",
            new,
            rule_ids + [rules.load_increase.ref],
        )
    if pe.progression_to is not None:
        new = _switch(pe, pe.progression_to, program, lib)
        return change("progress", f"{why} Move on to {new.name}.", new, rule_ids)
    new = pe.model_copy(deep=True)
    if ex.load == "band":
        new.dosage.load_text = f"a stronger band than before ({last_log.band or 'the band you used'})"
        return change("progress", f"{why} Use a stronger band.", new, rule_ids)
    max_sets = int(lib.reference(lib.phases[1].sets).high or 1)  # top of the ACSM novice range
    if ex.mode == "reps" and new.dosage.sets < max_sets:
        new.dosage.sets += 1
        if new.dosage.sets_other_side:
            new.dosage.sets_other_side += 1
        return change("progress", f"{why} Add a set ({old.sets} → {new.dosage.sets}).", new, rule_ids)
    return change("keep", f"{why} This is the top of this exercise's ladder: keep the dose.", pe, rule_ids)


def progress_program(program: Program, sessions: Sequence[SessionLog]) -> ProgramUpdate:
    """Progress or regress each exercise of the current phase from the logged sessions.

    Parameters
    ----------
    program
        a program from :func:`~medius.clinic.program.generate_program` (or an earlier update).
    sessions
        the logged sessions (any order; logs of exercises not in the current phase are ignored).

    Returns
    -------
    ProgramUpdate
        the updated program (``revision`` + 1), one :class:`ExerciseChange` with a readable reason per
        exercise of the current phase, and ``phase_change`` when the phase's weeks have passed with no
        step back (the next phase becomes current).
    """
    lib = load_exercise_library()
    if program.blocked_by_red_flags or not program.phases:
        return ProgramUpdate(
            program=program,
            changes=[],
            summary="The program is blocked by red flags or has no exercises: nothing to progress.",
        )
    ordered = sorted(sessions, key=lambda s: s.date)
    current = program.current_phase or program.phases[0].id
    phase = program.phase(current)
    trend = _weekly_trend(ordered)
    new_program = program.model_copy(deep=True)
    new_phase = new_program.phase(current)
    changes: list[ExerciseChange] = []
    new_exercises: list[ProgramExercise] = []
    for pe in phase.exercises:
        logs = [(s, lg) for s in ordered for lg in s.exercises if lg.id == pe.exercise_id]
        new_pe, ch = _decide(pe, logs, trend, program, lib)
        new_exercises.append(new_pe)
        changes.append(ch)
    # two entries may not become the same exercise: keep the first, drop later duplicates' switch
    seen: set[str] = set()
    for i, (pe, ch) in enumerate(zip(list(new_exercises), changes, strict=True)):
        if pe.exercise_id in seen and ch.new_exercise_id is not None:
            new_exercises[i] = phase.exercises[i]
            ch.action = "keep"
            ch.reason += f" ({pe.name} is already in this phase, so this exercise stays.)"
            ch.new_exercise_id = None
            ch.new_dosage = phase.exercises[i].dosage
        seen.add(new_exercises[i].exercise_id)
    new_phase.exercises = new_exercises
    new_program.revision = program.revision + 1

    phase_change = None
    if ordered and not any(c.action == "regress" for c in changes):
        start = program.start_date or ordered[0].date
        weeks_done = (ordered[-1].date - start).days // 7 + 1
        ids = [p.id for p in program.phases]
        idx = ids.index(current)
        if weeks_done > phase.end_week and idx + 1 < len(ids):
            new_program.current_phase = ids[idx + 1]
            phase_change = (
                f"Week {weeks_done}: the {phase.label.lower()} phase (weeks {phase.start_week}–{phase.end_week}) "
                f"is done with pain within the limits; next phase: {program.phases[idx + 1].label}."
            )
    counts = {a: sum(c.action == a for c in changes) for a in ("progress", "regress", "keep")}
    summary = (
        f"{phase.label}: {counts['progress']} to progress, {counts['regress']} to step back, "
        f"{counts['keep']} to keep, from {len(ordered)} logged sessions."
    )
    return ProgramUpdate(
        program=new_program,
        changes=changes,
        phase_change=phase_change,
        sessions_used=len(ordered),
        summary=summary,
    )
