"""Findings: a rules engine, written as data, over everything measured at a visit.

The rules live in ``rules/findings.yaml`` (format in ``docs/clinic.md``). This module

1. turns the visit into *facts*, per side and for the person: ``strength.hip_abduction.weak``,
   ``movement.fppa_deg.above_reference``, ``movement.trendelenburg_pattern.present`` (a gait result's
   ``trendelenburg`` block), ``clinical.trendelenburg.positive``, ``questionnaire.kujala.scored`` ... Each fact carries
   the phrase that states it with its numbers, the measurements behind it and the registry ids it
   rests on. Facts are yes/no; every threshold behind them is a registry entry.
2. evaluates each rule (``all`` / ``any`` / ``none`` over facts) and writes one :class:`Finding` per
   side (or per person) it fires for, with the measurements, evidence ids and program targets.

Red flags come first: :func:`evaluate_findings` puts them at the top as ``kind="red_flag"``, and
:func:`build_program_request` passes them on so that no exercise program is generated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from medius.clinic.clinical_tests import ClinicalTestResult, evaluate_clinical_tests
from medius.clinic.questionnaires import (
    QUESTIONNAIRE_TASKS,
    questionnaire_thresholds,
    score_kujala,
    score_lefs,
    score_nprs,
)
from medius.clinic.records import MUSCLE_GROUPS, SLS_CRITERIA, Assessment
from medius.clinic.red_flags import SEE_A_CLINICIAN, RedFlag, screen_red_flags
from medius.clinic.strength import MUSCLE_LABELS, StrengthSummary, evaluate_strength
from medius.errors import InputNotFoundError, InvalidInputError
from medius.registry import load_registry

__all__ = [
    "Fact",
    "Finding",
    "Measurement",
    "MovementResult",
    "build_program_request",
    "collect_facts",
    "AssessmentOutcome",
    "evaluate_assessment",
    "evaluate_findings",
    "red_flag_headline",
    "load_findings_rules",
    "read_movement_results",
    "score_questionnaires",
]

SIDES: tuple[Literal["left"], Literal["right"]] = ("left", "right")


class Measurement(BaseModel):
    """A measurement a finding rests on."""

    model_config = ConfigDict(extra="forbid")
    source: str
    name: str
    side: str | None = None
    value: float | str | None = None
    unit: str | None = None


class Finding(BaseModel):
    """One finding, red flag or note, with the measurements behind it and its program targets."""

    model_config = ConfigDict(extra="forbid")
    id: str
    rule_id: str
    text: str
    kind: Literal["finding", "red_flag", "note"]
    side: Literal["left", "right", "both"] | None = None
    evidence: list[str] = []
    measurements: list[Measurement] = []
    targets: list[str] = []
    priority: int = 1


@dataclass
class Fact:
    """A yes/no fact with the phrase that states it, its measurements and registry ids."""

    phrase: str
    measurements: list[Measurement] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


@dataclass
class MovementResult:
    """A movement-screen ``result.json`` read for an assessment."""

    path: str
    label: str | None
    result: dict[str, Any]

    @property
    def task(self) -> str:
        return str(self.result.get("task", "unknown"))


# --------------------------------------------------------------------------- movement results
def read_movement_results(assessment: Assessment, base_dir: str | Path) -> list[MovementResult]:
    """Read the ``movement_results`` of a visit, paths relative to ``base_dir`` (the assessment's folder).

    A missing file is an :class:`InputNotFoundError` and a file that is not a medius result an
    :class:`InvalidInputError`, both naming the file and the field ``movement_results[i].path``.
    """
    out = []
    base = Path(base_dir)
    for i, ref in enumerate(assessment.movement_results):
        p = Path(ref.path)
        full = p if p.is_absolute() else base / p
        where = f"field movement_results[{i}].path = {ref.path!r}"
        if not full.is_file():
            raise InputNotFoundError(f"movement result file not found ({where}, relative to the assessment file)", path=full)
        try:
            data = json.loads(full.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"movement result is not valid JSON ({where}): {exc}", path=full) from None
        if not isinstance(data, dict) or "task" not in data or "status" not in data:
            raise InvalidInputError(
                f"not a medius result.json: it needs 'task' and 'status' (docs/result-schema.md) ({where})", path=full
            )
        out.append(MovementResult(path=ref.path, label=ref.label, result=data))
    return out


# --------------------------------------------------------------------------- questionnaires
def score_questionnaires(assessment: Assessment) -> dict[str, dict[str, Any]]:
    """Scores of the visit's questionnaires, each with its registry MDC and MCID."""
    q = assessment.questionnaires
    scores = {}
    if q.kujala is not None:
        scores["kujala"] = score_kujala(q.kujala.answers)
    if q.lefs is not None:
        scores["lefs"] = score_lefs(q.lefs.answers)
    if q.nprs is not None:
        scores["nprs"] = score_nprs(q.nprs.score)
    out = {}
    for name, s in scores.items():
        th = questionnaire_thresholds(name)
        d = s.as_dict()
        d["task"] = QUESTIONNAIRE_TASKS[name]
        d["mdc_points"] = th.mdc_points
        d["mdc_reference_id"] = th.measurement_error.id if th.measurement_error else None
        d["mcid_points"] = th.mcid_points
        d["mcid_reference_id"] = th.mcid.id if th.mcid else None
        d["mcid_source"] = th.mcid.source if th.mcid else None
        if name == "nprs":
            d["recall"] = q.nprs.recall if q.nprs else None
        out[name] = d
    return out


# --------------------------------------------------------------------------- facts
@dataclass
class Facts:
    side: dict[str, dict[str, Fact]]
    person: dict[str, Fact]

    def holds(self, name: str, side: str | None) -> Fact | None:
        if side is not None:
            if name in self.side[side]:
                return self.side[side][name]
            return self.person.get(name)
        if name in self.person:
            return self.person[name]
        for s in SIDES:
            if name in self.side[s]:
                return self.side[s][name]
        return None


def _strength_facts(summaries: list[StrengthSummary], facts: Facts) -> None:
    for s in summaries:
        meas = [
            Measurement(source=f"strength.{s.group}", name="strength_pct_bw", side=side, value=round(v.pct_bw, 2), unit="pct_bw")
            for side, v in s.sides.items()
        ]
        if s.deficit_pct is not None:
            meas.append(
                Measurement(
                    source=f"strength.{s.group}", name="strength_difference_pct", side=s.weaker_side,
                    value=round(s.deficit_pct, 2), unit="pct_change",
                )
            )
        if s.lsi_pct is not None:
            meas.append(
                Measurement(source=f"strength.{s.group}", name="strength_lsi_pct", side=s.involved_side or s.weaker_side,
                            value=round(s.lsi_pct, 2), unit="pct_limb")
            )
        err_ids = [s.measurement_error["reference_id"]] if s.measurement_error else []
        lsi_ids = [s.lsi_comparison["reference_id"]] if s.lsi_comparison else []
        if s.weak_side is not None:
            facts.side[s.weak_side][f"strength.{s.group}.weak"] = Fact(
                phrase=s.text, measurements=meas, evidence=err_ids or lsi_ids
            )
        if s.beyond_error is False and len(s.sides) == 2:
            facts.person[f"strength.{s.group}.symmetric"] = Fact(phrase=s.text, measurements=meas, evidence=err_ids)
        for side, v in s.sides.items():
            flagged = [c for c in v.comparisons if c["kind"] == "cutoff" and c["flagged"] and c["cohort"] != "patient"]
            if flagged:
                c = flagged[0]
                facts.side[side][f"strength.{s.group}.below_cutoff"] = Fact(
                    phrase=f"{side} {MUSCLE_LABELS[s.group]} strength {c['text'][0].lower()}{c['text'][1:].rstrip('.')}",
                    measurements=[m for m in meas if m.side == side and m.name == "strength_pct_bw"],
                    evidence=[c["reference_id"]],
                )


def _clinical_facts(results: list[ClinicalTestResult], facts: Facts) -> None:
    names = {"trendelenburg": "trendelenburg", "ober": "ober", "modified_thomas": "thomas"}
    for r in results:
        meas = [Measurement(source=f"clinical_tests.{r.test}", name=r.test, side=r.side,
                            value=r.value if r.value is not None else r.category, unit=r.unit)]
        if r.test in names and r.positive:
            facts.side[r.side][f"clinical.{names[r.test]}.positive"] = Fact(r.text, meas, list(r.reference_ids))
        if r.test == "trendelenburg" and r.positive is False:
            facts.side[r.side]["clinical.trendelenburg.negative"] = Fact(r.text, meas, list(r.reference_ids))
        if r.test == "single_leg_squat":
            if r.category == "poor":
                facts.side[r.side]["clinical.sls.poor"] = Fact(r.text, meas, list(r.reference_ids))
            if r.category != "good":
                facts.side[r.side]["clinical.sls.not_good"] = Fact(r.text, meas, list(r.reference_ids))
            for crit in SLS_CRITERIA:
                if r.detail.get(crit) == "poor":
                    facts.side[r.side][f"clinical.sls.{crit}.poor"] = Fact(
                        f"{r.side} single-leg squat: {crit.replace('_', ' ')} rated poor",
                        meas,
                        [i for i in r.reference_ids if i.endswith(".poor.crossley2011")],
                    )


def _movement_facts(movement: list[MovementResult], facts: Facts) -> None:
    reg = load_registry()
    for mr in movement:
        res = mr.result
        if res.get("status") != "ok":
            continue
        task = mr.task
        labels = {m: (d or {}).get("label", m) for m, d in (res.get("metrics") or {}).items()}
        for side in SIDES:
            for metric, stats in ((res.get("summary") or {}).get(side) or {}).items():
                if isinstance(stats, dict) and stats.get("mean") is not None:
                    facts.side[side].setdefault(
                        f"movement.{metric}.measured",
                        Fact(
                            f"{side} {labels.get(metric, metric)} measured in {task}",
                            [Measurement(source=mr.path, name=f"{task}.{metric}", side=side, value=stats["mean"],
                                         unit=_metric_unit(reg, metric))],
                        ),
                    )
        for e in res.get("interpretation") or []:
            side, metric = e.get("side"), e.get("metric")
            if side not in SIDES or not metric or e.get("verdict") != "above":
                continue
            if e.get("cohort") == "patient":
                continue  # above a patient-group band is not "above the reference range"
            unit = _metric_unit(reg, metric)
            value = e.get("value")
            label = labels.get(metric, metric)
            shown = f"{value:.1f}" if isinstance(value, int | float) else str(value)
            phrase = f"{side} {label} ({shown}{_unit_symbol(reg, unit)} in {task}) above the reference ({e.get('source')})"
            meas = [Measurement(source=mr.path, name=f"{task}.{metric}", side=side, value=value, unit=unit)]
            ev = [e["reference_id"]] if e.get("reference_id") else []
            me = e.get("measurement_error") or {}
            if me.get("reference_id"):
                ev.append(me["reference_id"])
            fact = Fact(phrase, meas, ev)
            facts.side[side].setdefault(f"movement.{metric}.above_reference", fact)
            facts.side[side].setdefault(f"movement.{task}.{metric}.above_reference", fact)
        _trendelenburg_pattern_facts(mr, facts, reg)


def _trendelenburg_pattern_facts(mr: MovementResult, facts: Facts, reg: Any) -> None:
    """``movement.trendelenburg_pattern.present`` / ``.absent`` per stance leg from a gait result's
    ``trendelenburg`` block (docs/result-schema.md): the registry's rule on the mean pelvic drop at
    mid-stance, with its value, cut-off and source. A side the result could not measure gives no fact."""
    block = mr.result.get("trendelenburg")
    if not isinstance(block, dict):
        return
    rule = block.get("rule") if isinstance(block.get("rule"), dict) else None
    if rule is None:
        return  # no registry rule was applied: nothing to judge
    symbol = _unit_symbol(reg, rule.get("unit"))
    source = str(rule.get("source") or "registry")
    cutoff = rule.get("cutoff")
    for side in SIDES:
        entry = block.get(side)
        if not isinstance(entry, dict) or entry.get("flag") not in (True, False):
            continue
        value = entry.get("value")
        shown = f"{value:.1f}{symbol}" if isinstance(value, int | float) else "?"
        limit = f"{cutoff:g}{symbol}" if isinstance(cutoff, int | float) else "the cut-off"
        present = entry["flag"] is True
        phrase = (
            f"{side} stance in {mr.task}: mean pelvic drop at mid-stance {shown}, "
            + ("at or above" if present else "below")
            + f" the {limit} of the Trendelenburg-pattern rule ({source}"
            + ("; provisional" if rule.get("provisional") else "")
            + ")"
        )
        meas = [
            Measurement(source=mr.path, name=f"{mr.task}.pelvic_drop_midstance_deg", side=side,
                        value=value if isinstance(value, int | float) else None, unit=rule.get("unit"))
        ]
        ev = [str(rule["reference_id"])] if rule.get("reference_id") else []
        name = "movement.trendelenburg_pattern." + ("present" if present else "absent")
        facts.side[side].setdefault(name, Fact(phrase, meas, ev))


_RECALL_WORDS = {
    "now": "now",
    "average_24h": "average over the last 24 hours",
    "average_week": "average over the last week",
    "worst_week": "worst in the last week",
    "during_activity": "during activity",
}


def _error_phrase(name: str, d: dict[str, Any], reg: Any) -> str:
    """The minimal clinically important difference and measurement error of a score, in words.

    For example: a rise of 10 points or more is the minimal clinically important difference
    (Crossley et al. 2004) and 9 points the measurement error (Esculier et al. 2013), both read from
    the registry entries named in ``d``.
    """
    parts = []
    if d.get("mcid_points") is not None:
        parts.append(
            f"a {'fall' if name == 'nprs' else 'rise'} of {d['mcid_points']:g} points or more is the minimal "
            f"clinically important difference ({d['mcid_source']})"
        )
    if d.get("mdc_points") is not None and d.get("mdc_reference_id"):
        parts.append(f"{d['mdc_points']:g} points the measurement error ({reg.get(d['mdc_reference_id']).source})")
    return " and ".join(parts)


def _questionnaire_facts(questionnaires: dict[str, dict[str, Any]], facts: Facts) -> None:
    """``questionnaire.kujala.scored``, ``questionnaire.lefs.scored``, ``questionnaire.nprs.reported`` and
    ``questionnaire.nprs.above_exercise_limit`` (person): each score with its pinned version and the
    registry's minimal clinically important difference and measurement error."""
    reg = load_registry()
    for name, d in questionnaires.items():
        ids = [i for i in (d.get("mcid_reference_id"), d.get("mdc_reference_id")) if i]
        meas = [Measurement(source=f"questionnaires.{name}", name=f"{name}_score", value=d["score"], unit="points")]
        err = _error_phrase(name, d, reg)
        if name == "kujala":
            phrase = f"Kujala AKPS {d['score']:g}/{d['maximum']:g} (version {d['version']}; 100 = no problems)"
            facts.person["questionnaire.kujala.scored"] = Fact(phrase + (f"; {err}" if err else ""), meas, ids)
        elif name == "lefs":
            phrase = f"LEFS {d['score']:g}/{d['maximum']:g} (version {d['version']}; 80 = no difficulty)"
            facts.person["questionnaire.lefs.scored"] = Fact(phrase + (f"; {err}" if err else ""), meas, ids)
        elif name == "nprs":
            recall = _RECALL_WORDS.get(str(d.get("recall")), str(d.get("recall")))
            meas[0] = Measurement(source="questionnaires.nprs", name="nprs_score", value=d["score"], unit="pain_nprs")
            phrase = f"pain {d['score']:g}/10 on the NPRS ({recall})"
            facts.person["questionnaire.nprs.reported"] = Fact(phrase + (f"; {err}" if err else ""), meas, ids)
            limit = _exercise_pain_limit(reg)
            if limit is not None and d["score"] > limit.high:
                facts.person["questionnaire.nprs.above_exercise_limit"] = Fact(
                    f"pain {d['score']:g}/10 on the NPRS ({recall}), above the {limit.low:g}–{limit.high:g}/10 "
                    f"allowed during exercise by the {limit.source}"
                    + (", a provisional reference" if limit.provisional else ""),
                    meas,
                    [limit.id],
                )


def _exercise_pain_limit(reg: Any) -> Any | None:
    """The registry's pain-monitoring range of pain allowed during exercise (``exercise_pain_nprs``)."""
    try:
        refs = reg.references_for("exercise_pain_nprs", "home-exercise-program", kind="reference_range")
    except ValueError:  # pragma: no cover - the exercise registry ships with medius
        return None
    acceptable = [r for r in refs if r.id == "pain.acceptable.pain_monitoring"]
    chosen = acceptable or refs
    return max(chosen, key=lambda r: r.high) if chosen else None


def _metric_unit(reg: Any, metric: str) -> str | None:
    try:
        return reg.metric(metric).unit
    except KeyError:
        return None


def _unit_symbol(reg: Any, unit: str | None) -> str:
    if unit is None:
        return ""
    try:
        u = reg.unit(unit)
    except KeyError:
        return ""
    return (" " if u.space_before else "") + u.symbol


def collect_facts(
    assessment: Assessment,
    movement_results: list[MovementResult] | None = None,
    *,
    strength: list[StrengthSummary] | None = None,
    clinical: list[ClinicalTestResult] | None = None,
    questionnaires: dict[str, dict[str, Any]] | None = None,
) -> Facts:
    """Every yes/no fact of a visit, per side and for the person."""
    facts = Facts(side={s: {} for s in SIDES}, person={})
    _strength_facts(strength if strength is not None else evaluate_strength(assessment), facts)
    _clinical_facts(clinical if clinical is not None else evaluate_clinical_tests(assessment), facts)
    _questionnaire_facts(questionnaires if questionnaires is not None else score_questionnaires(assessment), facts)
    _movement_facts(movement_results or [], facts)
    goal = assessment.person.goal
    if goal in ("running", "sport"):
        facts.person[f"goal.{goal}"] = Fact(
            f"goal: {goal}", [Measurement(source="person", name="goal", value=goal)]
        )
    aff = assessment.person.affected_side
    for s in SIDES:
        if aff in (s, "both"):
            facts.side[s]["affected"] = Fact(f"{s} side affected", [Measurement(source="person", name="affected_side", value=aff)])
    return facts


# --------------------------------------------------------------------------- rules
_RULE_KEYS = {"id", "kind", "scope", "all", "any", "none", "text", "evidence", "targets", "priority"}


def _known_fact_patterns() -> set[str]:
    pats = {"goal.running", "goal.sport", "affected", "clinical.trendelenburg.positive", "clinical.ober.positive",
            "clinical.thomas.positive", "clinical.sls.poor", "clinical.sls.not_good", "clinical.trendelenburg.negative",
            "movement.trendelenburg_pattern.present", "movement.trendelenburg_pattern.absent",
            "questionnaire.kujala.scored", "questionnaire.lefs.scored", "questionnaire.nprs.reported",
            "questionnaire.nprs.above_exercise_limit"}
    pats |= {f"clinical.sls.{c}.poor" for c in SLS_CRITERIA}
    for g in MUSCLE_GROUPS:
        pats |= {f"strength.{g}.weak", f"strength.{g}.below_cutoff", f"strength.{g}.symmetric"}
    return pats


def check_findings_rules(data: Any, *, targets: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Validate the rules document; ``ValueError`` naming the rule and the field."""
    if not isinstance(data, dict) or data.get("schema_version") != 1 or not isinstance(data.get("rules"), list):
        raise ValueError("findings rules: top level must be {schema_version: 1, rules: [...]}")
    known_ids = {r.id for r in load_registry().references}
    fact_ok = _known_fact_patterns()
    seen: set[str] = set()
    for i, rule in enumerate(data["rules"]):
        where = f"findings rule #{i + 1} ({rule.get('id')!r})" if isinstance(rule, dict) else f"findings rule #{i + 1}"
        if not isinstance(rule, dict):
            raise ValueError(f"{where}: must be a mapping")
        extra = set(rule) - _RULE_KEYS
        if extra:
            raise ValueError(f"{where}: unknown key(s) {sorted(extra)} (allowed: {', '.join(sorted(_RULE_KEYS))})")
        for key in ("id", "kind", "scope", "text", "evidence", "targets"):
            if key not in rule:
                raise ValueError(f"{where}: missing {key!r}")
        if rule["id"] in seen:
            raise ValueError(f"{where}: id used twice")
        seen.add(rule["id"])
        if rule["kind"] not in ("finding", "note"):
            raise ValueError(f"{where}: kind must be finding or note; got {rule['kind']!r}")
        if rule["scope"] not in ("side", "person"):
            raise ValueError(f"{where}: scope must be side or person; got {rule['scope']!r}")
        if not rule.get("all") and not rule.get("any"):
            raise ValueError(f"{where}: needs at least one fact in 'all' or 'any'")
        for key in ("all", "any", "none"):
            for fact in rule.get(key) or []:
                if fact in fact_ok or (fact.startswith("movement.") and (fact.endswith(".above_reference") or fact.endswith(".measured"))):
                    continue
                raise ValueError(f"{where}: unknown fact {fact!r} in {key!r} (see docs/clinic.md for the facts)")
        for ev in rule["evidence"]:
            if ev not in known_ids:
                raise ValueError(f"{where}: evidence {ev!r} is not a registry id")
        if targets is not None:
            for t in rule["targets"]:
                if t not in targets:
                    raise ValueError(f"{where}: target {t!r} is not one of {', '.join(targets)}")
        p = rule.get("priority", 1)
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise ValueError(f"{where}: priority must be a whole number >= 1; got {p!r}")
    return data["rules"]


def _program_targets() -> tuple[str, ...] | None:
    try:
        from medius.clinic.program import PROGRAM_TARGETS
    except ImportError:  # pragma: no cover - the program module ships with the clinic package
        return None
    return tuple(PROGRAM_TARGETS)


@lru_cache(maxsize=1)
def load_findings_rules() -> tuple[dict[str, Any], ...]:
    """The shipped findings rules, validated against the registry and the program targets (cached)."""
    text = resources.files("medius.clinic").joinpath("rules/findings.yaml").read_text(encoding="utf-8")
    return tuple(check_findings_rules(yaml.safe_load(text), targets=_program_targets()))


def _fire(rule: dict[str, Any], facts: Facts, side: str | None) -> list[Fact] | None:
    held = []
    for name in rule.get("all") or []:
        f = facts.holds(name, side)
        if f is None:
            return None
        held.append(f)
    anys = rule.get("any") or []
    if anys:
        got = [f for f in (facts.holds(n, side) for n in anys) if f is not None]
        if not got:
            return None
        held.extend(got)
    for name in rule.get("none") or []:
        if facts.holds(name, side) is not None:
            return None
    return held


def _unique(seq: list[Any]) -> list[Any]:
    out: list[Any] = []
    for x in seq:
        if x not in out:
            out.append(x)
    return out


def evaluate_findings(
    assessment: Assessment,
    movement_results: list[MovementResult] | None = None,
    *,
    rules: list[dict[str, Any]] | tuple[dict[str, Any], ...] | None = None,
    red_flags: list[RedFlag] | None = None,
    strength: list[StrengthSummary] | None = None,
    clinical: list[ClinicalTestResult] | None = None,
    questionnaires: dict[str, dict[str, Any]] | None = None,
) -> list[Finding]:
    """Red flags first (``kind="red_flag"``), then every rule that fires, by priority then side."""
    flags = red_flags if red_flags is not None else screen_red_flags(assessment)
    out: list[Finding] = [
        Finding(
            id=f"red_flag.{f.id}",
            rule_id=f"red_flags.{f.id}",
            text=f.advice,
            kind="red_flag",
            evidence=list(f.evidence),
            measurements=[Measurement(source="red_flags", name=fld, value="yes") for fld in f.fields],
            targets=[],
            priority=0,
        )
        for f in flags
    ]
    facts = collect_facts(assessment, movement_results, strength=strength, clinical=clinical,
                          questionnaires=questionnaires)
    fired: list[Finding] = []
    for rule in rules if rules is not None else load_findings_rules():
        for side in (SIDES if rule["scope"] == "side" else (None,)):
            held = _fire(rule, facts, side)
            if held is None:
                continue
            phrases = _unique([f.phrase for f in held])
            text = "; ".join(phrases)
            text = (text[0].upper() + text[1:] if text else "") + ". " + " ".join(str(rule["text"]).split())
            fired.append(
                Finding(
                    id=f"{rule['id']}.{side}" if side else rule["id"],
                    rule_id=rule["id"],
                    text=text,
                    kind=rule["kind"],
                    side=side,
                    evidence=_unique([*rule["evidence"], *(e for f in held for e in f.evidence)]),
                    measurements=_unique([m for f in held for m in f.measurements]),
                    targets=list(rule["targets"]),
                    priority=int(rule.get("priority", 1)),
                )
            )
    fired.sort(key=lambda f: (f.priority, {"finding": 0, "note": 1}.get(f.kind, 2), f.side or ""))
    return out + fired


def build_program_request(
    assessment: Assessment, findings: list[Finding], *, questionnaires: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The program request (contract of :mod:`medius.clinic.program`) as a plain mapping.

    Targets from several findings are merged: one need per target, ``side`` ``both`` when it was
    found on both sides (or for the person), the best (lowest) priority, every finding id. Red flags
    are passed on by id so that the generator refuses to build a program.
    """
    needs: dict[str, dict[str, Any]] = {}
    for f in findings:
        if f.kind == "red_flag":
            continue
        for t in f.targets:
            n = needs.setdefault(t, {"target": t, "sides": set(), "priority": f.priority, "finding_ids": []})
            n["sides"].add(f.side or "both")
            n["priority"] = min(n["priority"], f.priority)
            n["finding_ids"].append(f.id)
    targets = []
    for n in sorted(needs.values(), key=lambda n: (n["priority"], n["target"])):
        sides = n["sides"]
        side = next(iter(sides)) if len(sides) == 1 and "both" not in sides else "both"
        targets.append({"target": n["target"], "side": side, "priority": n["priority"], "finding_ids": n["finding_ids"]})
    q = questionnaires if questionnaires is not None else score_questionnaires(assessment)
    person = assessment.person
    return {
        "targets": targets,
        "red_flags": [f.id for f in findings if f.kind == "red_flag"],
        "pain_nprs": q["nprs"]["score"] if "nprs" in q else None,
        "affected_side": person.affected_side if person.affected_side in ("left", "right", "both") else None,
        "goal": person.goal,
        "equipment": person.equipment,
        "start_date": assessment.date.isoformat() if assessment.date else None,
    }


def red_flag_headline(findings: list[Finding]) -> str | None:
    """:data:`~medius.clinic.red_flags.SEE_A_CLINICIAN` when any finding is a red flag, else ``None``."""
    return SEE_A_CLINICIAN if any(f.kind == "red_flag" for f in findings) else None


@dataclass
class AssessmentOutcome:
    """Everything :func:`evaluate_assessment` found: the JSON document and the program object."""

    document: dict[str, Any]
    findings: list[Finding]
    program: Any | None


def evaluate_assessment(
    assessment: Assessment,
    movement_results: list[MovementResult] | None = None,
    *,
    with_program: bool = True,
) -> AssessmentOutcome:
    """Red flags, measurements, findings and (unless a red flag is present) the exercise program.

    The ``document`` is what ``findings.json`` holds: ``headline`` ("See a clinician before starting
    exercises" when a red flag is present, else ``None``), ``red_flags``, ``findings`` (red flags
    first), ``measurements`` (strength, clinical tests, questionnaires, movement screens),
    ``program_request`` and ``program`` (from :func:`medius.clinic.program.generate_program`; with a
    red flag it is a blocked program with no exercises).
    """
    movement = movement_results or []
    flags = screen_red_flags(assessment)
    strength = evaluate_strength(assessment)
    clinical = evaluate_clinical_tests(assessment)
    questionnaires = score_questionnaires(assessment)
    findings = evaluate_findings(
        assessment, movement, red_flags=flags, strength=strength, clinical=clinical, questionnaires=questionnaires
    )
    request = build_program_request(assessment, findings, questionnaires=questionnaires)
    override = None
    if flags and assessment.red_flag_override is not None:
        o = assessment.red_flag_override
        override = {
            "by": o.by,
            "date": on.isoformat() if (on := o.date or assessment.date) else None,
            "reason": o.reason,
            "flags": [f.label for f in flags],
        }
    program = None
    if with_program:
        from medius.clinic.program import ProgramRequest, generate_program

        program = generate_program(
            ProgramRequest.model_validate({**request, "red_flags": []} if override else request)
        )
        if override:
            program.notes = [
                f"Red flags ({'; '.join(str(f) for f in override['flags'] or [])}) overridden by {override['by']} on "
                f"{override['date'] or 'the visit date'}: {override['reason']}",
                *program.notes,
            ]
    document = {
        "schema_version": "1.0",
        "kind": "medius-assessment",
        "headline": SEE_A_CLINICIAN if flags else None,
        "visit": {
            "visit_id": assessment.visit_id,
            "date": assessment.date.isoformat() if assessment.date else None,
            "clinician": assessment.clinician,
        },
        "person": assessment.person.model_dump(mode="json"),
        "red_flags": [f.as_dict() for f in flags],
        **({"red_flag_override": override} if override else {}),
        "findings": [f.model_dump(mode="json") for f in findings],
        "measurements": {
            "strength": [s.as_dict() for s in strength],
            "clinical_tests": [c.as_dict() for c in clinical],
            "questionnaires": questionnaires,
            "movement": [
                {
                    "path": m.path,
                    "label": m.label,
                    "task": m.task,
                    "status": m.result.get("status"),
                    "summary": m.result.get("summary") or {},
                    "interpretation": m.result.get("interpretation") or [],
                }
                for m in movement
            ],
        },
        "program_request": request,
        "program": program.model_dump(mode="json") if program is not None else None,
        "assessment": assessment.model_dump(mode="json"),
    }
    return AssessmentOutcome(document=document, findings=findings, program=program)
