"""Red flags first: the screen that decides whether exercise advice may be given at all.

The flags are data (``rules/red_flags.yaml``): each names a yes/no field of the assessment's
``red_flags`` section, a label, an urgency and the registry ids of its sources. The Ottawa knee
rule (Stiell et al. 1995) applies after a recent knee injury: any of its items, or an age at or
above the registry's Ottawa age cut-off, is a flag. When any flag is present the report leads with
:data:`SEE_A_CLINICIAN` and no exercise program is generated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from medius.clinic.records import Assessment, OttawaKneeRule, RedFlagScreen
from medius.registry import compare_to_reference, load_registry

__all__ = ["SEE_A_CLINICIAN", "URGENCIES", "RedFlag", "load_red_flag_rules", "screen_red_flags"]

#: the sentence every output starts with when a red flag is present
SEE_A_CLINICIAN = "See a clinician before starting exercises"
#: most urgent first
URGENCIES: tuple[str, ...] = ("emergency", "urgent", "clinician")
_URGENCY_TEXT = {
    "emergency": "today (emergency department or urgent care)",
    "urgent": "within days",
    "clinician": "soon, before starting the exercises",
}
_OTTAWA_AGE_ID = "red_flags.ottawa.age.stiell1995"


@dataclass(frozen=True)
class RedFlag:
    """One red flag that is present."""

    id: str
    label: str
    urgency: str
    fields: tuple[str, ...]
    evidence: tuple[str, ...]

    @property
    def advice(self) -> str:
        return f"{SEE_A_CLINICIAN}: {self.label}; see a clinician {_URGENCY_TEXT[self.urgency]}."

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fields"] = list(self.fields)
        d["evidence"] = list(self.evidence)
        d["advice"] = self.advice
        return d


def _check_rules(data: Any) -> dict[str, Any]:
    """Validate the red-flag rules file; ``ValueError`` naming the flag and field."""
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise ValueError("red_flags.yaml: top level must be a mapping with schema_version: 1")
    fields = set(RedFlagScreen.model_fields)
    ottawa_items = set(OttawaKneeRule.model_fields)
    known_ids = {r.id for r in load_registry().references}
    seen: set[str] = set()
    for i, flag in enumerate(data.get("flags") or []):
        where = f"red_flags.yaml flags[{i}] ({flag.get('id')!r})"
        for key in ("id", "field", "label", "urgency", "evidence"):
            if key not in flag:
                raise ValueError(f"{where}: missing {key!r}")
        extra = set(flag) - {"id", "field", "label", "urgency", "evidence", "requires", "supersedes"}
        if extra:
            raise ValueError(f"{where}: unknown key(s) {sorted(extra)}")
        if flag["id"] in seen:
            raise ValueError(f"{where}: id used twice")
        seen.add(flag["id"])
        for f in [flag["field"], *(flag.get("requires") or [])]:
            if f not in fields:
                raise ValueError(f"{where}: unknown field {f!r} (fields: {', '.join(sorted(fields))})")
        if flag["urgency"] not in URGENCIES:
            raise ValueError(f"{where}: urgency must be one of {', '.join(URGENCIES)}")
        for ev in flag["evidence"]:
            if ev not in known_ids:
                raise ValueError(f"{where}: evidence {ev!r} is not a registry id")
    for flag in data.get("flags") or []:
        for s in flag.get("supersedes") or []:
            if s not in seen:
                raise ValueError(f"red_flags.yaml flag {flag['id']!r}: supersedes unknown flag {s!r}")
    ott = data.get("ottawa") or {}
    for item in ott.get("items") or {}:
        if item not in ottawa_items:
            raise ValueError(f"red_flags.yaml ottawa: unknown item {item!r} (items: {', '.join(sorted(ottawa_items))})")
    for ev in ott.get("evidence") or []:
        if ev not in known_ids:
            raise ValueError(f"red_flags.yaml ottawa: evidence {ev!r} is not a registry id")
    return data


@lru_cache(maxsize=1)
def load_red_flag_rules() -> dict[str, Any]:
    """The shipped red-flag rules, validated (cached)."""
    text = resources.files("medius.clinic").joinpath("rules/red_flags.yaml").read_text(encoding="utf-8")
    return _check_rules(yaml.safe_load(text))


def screen_red_flags(assessment: Assessment) -> list[RedFlag]:
    """The red flags present in a visit, most urgent first (an empty list = none)."""
    rules = load_red_flag_rules()
    screen = assessment.red_flags
    found: list[RedFlag] = []
    ott = rules["ottawa"]
    if all(getattr(screen, r) for r in ott.get("requires") or []):
        positives = [label for item, label in ott["items"].items() if getattr(screen.ottawa, item)]
        age_ref = load_registry().get(_OTTAWA_AGE_ID)
        age = compare_to_reference(float(assessment.person.age_years), age_ref)
        if age.verdict == "above":
            positives.append(f"age {assessment.person.age_years} (at or above {age_ref.cutoff:g})")
        if positives:
            found.append(
                RedFlag(
                    id=ott["id"],
                    label=f"{ott['label']} ({'; '.join(positives)})",
                    urgency=ott["urgency"],
                    fields=("recent_trauma", "ottawa"),
                    evidence=tuple(ott["evidence"]),
                )
            )
    present = []
    for flag in rules["flags"]:
        if getattr(screen, flag["field"]) and all(getattr(screen, r) for r in flag.get("requires") or []):
            present.append(flag)
    superseded = {s for f in present for s in f.get("supersedes") or []}
    for flag in present:
        if flag["id"] in superseded:
            continue
        found.append(
            RedFlag(
                id=flag["id"],
                label=flag["label"],
                urgency=flag["urgency"],
                fields=(flag["field"], *(flag.get("requires") or [])),
                evidence=tuple(flag["evidence"]),
            )
        )
    return sorted(found, key=lambda f: URGENCIES.index(f.urgency))
