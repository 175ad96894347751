"""The registry of reference values, thresholds and measurement errors, with their sources.

Every clinical number medius shows (a reference range, a group mean ± SD, a measurement error, a
cut-off) lives in one data file, ``references.yaml``, next to this module, never as a constant in
code. Each entry carries its unit, population, short and full citation and a verification status;
metric definitions (unit, definition, sign convention) live in the same file. The file is read with
:mod:`importlib.resources`, so it ships inside the wheel, and validated at load: every problem is
listed in one :class:`RegistryError` that names the entry id and the field.

Layer: the registry sits below every other layer (any layer may import it); it imports nothing
from medius except :mod:`medius.errors`.

Typical use::

    reg = load_registry()
    refs = reg.references_for("fppa_deg", "step-down", sex="female", kind="reference_range")
    compare_to_reference(12.3, refs[0], task="step-down").text
    # '12.3° is above the reference range 5–12° of Herrington & Munro 2010 (100 asymptomatic
    #  active adults, 50 F / 50 M, 18–28 y; women; single-leg step landing, a related task).'

See ``docs/references.md`` for the schema and the statuses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from medius.errors import InputNotFoundError, InvalidInputError

__all__ = [
    "COHORTS",
    "FLAG_WHEN",
    "INTERPRETIVE_KINDS",
    "KINDS",
    "SEXES",
    "STATUSES",
    "TASK_MATCHES",
    "Comparison",
    "MetricDefinition",
    "Reference",
    "Registry",
    "RegistryError",
    "TaskDefinition",
    "UnitDefinition",
    "compare_to_reference",
    "format_reference_values",
    "load_registry",
    "parse_registry",
    "parse_registry_documents",
    "read_registry",
    "registry_markdown_table",
]

#: kinds of entry, in the order used to break ties when sorting
KINDS: tuple[str, ...] = (
    "reference_range",
    "group_mean_sd",
    "cutoff",
    "measurement_error",
    "no_reference",
)
#: kinds a measured value can be compared with (:func:`compare_to_reference`)
INTERPRETIVE_KINDS: tuple[str, ...] = ("reference_range", "group_mean_sd", "cutoff")
#: verification statuses, most trusted first (facts sheet ✔, ✔², ⚠)
STATUSES: tuple[str, ...] = ("verified", "secondary", "provisional")
SEXES: tuple[str, ...] = ("female", "male", "any")
#: does the study's task equal the medius task, or is it only related?
TASK_MATCHES: tuple[str, ...] = ("same", "related")
#: kind of study population, reference cohorts first
COHORTS: tuple[str, ...] = ("healthy", "patient", "not_applicable")
#: which side of a cut-off is flagged
FLAG_WHEN: tuple[str, ...] = ("at_or_above", "at_or_below")

_PACKAGED_NAME = "references.yaml"
#: libyaml's C loader when PyYAML was built with it (about 10x faster), else the Python one
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
_ID_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_TOP_KEYS = ("schema_version", "units", "tasks", "metrics", "references")
_SCHEMA_VERSION = 1

# fields every entry has, then the numeric fields each kind requires / allows
_COMMON_REQUIRED = (
    "id",
    "metric",
    "kind",
    "tasks",
    "task_match",
    "sex",
    "unit",
    "population",
    "cohort",
    "source",
    "reference",
    "status",
)
_COMMON_OPTIONAL = ("study_task", "n", "facts_sheet", "notes")
_KIND_REQUIRED: dict[str, tuple[str, ...]] = {
    "reference_range": ("low", "high", "study_task"),
    "group_mean_sd": ("mean", "sd", "study_task"),
    "cutoff": ("cutoff", "flag_when", "study_task"),
    "measurement_error": ("study_task",),
    "no_reference": ("reason",),
}
_ERROR_FIELDS = ("sem", "mdc", "icc_within_session", "icc_between_session", "validity_r")
_KIND_OPTIONAL: dict[str, tuple[str, ...]] = {
    "reference_range": (),
    "group_mean_sd": (),
    "cutoff": (),
    "measurement_error": _ERROR_FIELDS,
    "no_reference": (),
}
_ALL_KIND_FIELDS = {f for k in KINDS for f in _KIND_REQUIRED[k] + _KIND_OPTIONAL[k]}
_METRIC_FIELDS = ("name", "label", "unit", "definition", "sign_convention", "caveat")
_UNIT_FIELDS = ("symbol", "label", "space_before")
_TASK_FIELDS = ("label", "screen")


class RegistryError(InvalidInputError):
    """The reference registry does not parse or does not validate.

    ``problems`` lists every problem found (one string each, naming the entry id and the field);
    the message joins them on one line.
    """

    def __init__(self, problems: list[str], *, path: str | Path | None = None) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(
            f"invalid reference registry ({n} problem{'s' if n != 1 else ''}): " + "; ".join(self.problems),
            path=path,
        )


# ---------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class UnitDefinition:
    """A unit an entry or metric may use: ``name`` (``deg``), display ``symbol`` (``°``)."""

    name: str
    symbol: str
    label: str
    space_before: bool

    def format(self, text: str) -> str:
        """``text`` followed by the unit symbol (``"12.3°"``, ``"20.3 % BW"``)."""
        return f"{text} {self.symbol}" if self.space_before else f"{text}{self.symbol}"


@dataclass(frozen=True)
class TaskDefinition:
    """A task name references can apply to; ``screen`` = part of the video movement screen."""

    name: str
    label: str
    screen: bool


@dataclass(frozen=True)
class MetricDefinition:
    """A medius metric: name, unit, definition and sign convention, as shown in reports."""

    name: str
    label: str
    unit: str
    definition: str
    sign_convention: str
    caveat: str
    #: the screen tasks this metric is part of: each must have, per sex, a reference or a
    #: ``no_reference`` entry for it (empty for metrics outside the movement screen)
    screen_tasks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reference:
    """One registry entry: a sourced number set (or a sourced absence of one) for one metric.

    Attributes
    ----------
    id
        stable identifier, ``metric.task.group.sourceyear`` (e.g. ``fppa.sls.controls.herrington2014``).
    metric
        the medius metric it applies to (a :class:`MetricDefinition` name).
    kind
        one of :data:`KINDS`.
    tasks, task_match
        the medius tasks it applies to and, aligned with them, whether the study measured the same
        task or only a related one (see :meth:`match_for`).
    study_task
        what the study actually measured, in plain words (``"single-leg step landing"``).
    sex
        ``female``, ``male`` or ``any``.
    low, high
        reference range (``reference_range``).
    mean, sd
        group mean and standard deviation (``group_mean_sd``).
    cutoff, flag_when
        threshold and the flagged side (``cutoff``).
    sem, mdc, icc_within_session, icc_between_session, validity_r
        measurement error (``measurement_error``), each ``(min, max)`` over the study's tasks or
        conditions (equal for a single value), or ``None``. ``mdc`` is the minimal detectable change,
        also reported as SDD (smallest detectable difference); ``validity_r`` is the correlation with
        3D motion capture.
    unit
        a :class:`UnitDefinition` name; equals the metric's unit.
    population, n, cohort
        who was measured, in plain words; the number of people the numbers come from; ``healthy``,
        ``patient`` or ``not_applicable``.
    source, reference
        short citation for display and full citation with DOI.
    status
        ``verified`` (seen in the primary source), ``secondary`` or ``provisional``.
    facts_sheet
        the section of the project's clinical facts sheet the number comes from.
    notes, reason
        caveats; for ``no_reference``, why nothing is given.
    """

    id: str
    metric: str
    kind: str
    tasks: tuple[str, ...]
    task_match: tuple[str, ...]
    sex: str
    unit: str
    population: str
    cohort: str
    source: str
    reference: str
    status: str
    study_task: str | None = None
    n: int | None = None
    facts_sheet: str | None = None
    notes: str = ""
    reason: str | None = None
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    cutoff: float | None = None
    flag_when: str | None = None
    sem: tuple[float, float] | None = None
    mdc: tuple[float, float] | None = None
    icc_within_session: tuple[float, float] | None = None
    icc_between_session: tuple[float, float] | None = None
    validity_r: tuple[float, float] | None = None

    @property
    def provisional(self) -> bool:
        """True unless the numbers were verified in the primary source."""
        return self.status != "verified"

    @property
    def band(self) -> tuple[float, float] | None:
        """The comparison band: ``(low, high)``, or ``mean ± 1 SD``; ``None`` for other kinds."""
        if self.kind == "reference_range":
            assert self.low is not None and self.high is not None
            return (self.low, self.high)
        if self.kind == "group_mean_sd":
            assert self.mean is not None and self.sd is not None
            return (round(self.mean - self.sd, 9), round(self.mean + self.sd, 9))
        return None

    def match_for(self, task: str) -> str:
        """``"same"`` or ``"related"``: how the study's task relates to the medius ``task``."""
        try:
            return self.task_match[self.tasks.index(task)]
        except ValueError:
            raise ValueError(
                f"reference {self.id!r} does not apply to task {task!r}; it applies to {', '.join(self.tasks)}"
            ) from None


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare_to_reference`.

    Attributes
    ----------
    verdict
        ``"below"``, ``"within"`` or ``"above"`` the band (for a cut-off: the side of it).
    text
        one plain sentence for the report, naming the source and population; never a diagnosis.
    provisional
        True when the reference is not ``verified`` (the text then says "provisional reference").
    reference_id, value, low, high, unit
        what was compared: the entry, the value as displayed (rounded to 0.1), the band (a cut-off
        gives ``low == high``) and the unit name.
    task_match
        ``"same"``/``"related"`` for the task given, or ``None`` if it could not be told.
    """

    verdict: str
    text: str
    provisional: bool
    reference_id: str
    value: float
    low: float
    high: float
    unit: str
    task_match: str | None


# ---------------------------------------------------------------------------------------- registry
@dataclass(frozen=True, eq=False)
class Registry:
    """The validated registry: metric definitions, units, tasks and reference entries (file order)."""

    references: tuple[Reference, ...]
    metrics: Mapping[str, MetricDefinition]
    units: Mapping[str, UnitDefinition]
    tasks: Mapping[str, TaskDefinition]

    def get(self, id: str) -> Reference:
        """The entry with this id (``KeyError`` naming the id if there is none)."""
        for ref in self.references:
            if ref.id == id:
                return ref
        raise KeyError(f"no reference with id {id!r} in the registry")

    def metric(self, name: str) -> MetricDefinition:
        """The definition of a metric (``KeyError`` listing the known metrics if unknown)."""
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"unknown metric {name!r}; known metrics: {', '.join(self.metrics)}") from None

    def unit(self, name: str) -> UnitDefinition:
        """The definition of a unit (``KeyError`` listing the known units if unknown)."""
        try:
            return self.units[name]
        except KeyError:
            raise KeyError(f"unknown unit {name!r}; known units: {', '.join(self.units)}") from None

    def references_for(
        self,
        metric: str,
        task: str,
        sex: str | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> list[Reference]:
        """The entries for a metric in a task, most specific first.

        Parameters
        ----------
        metric
            a metric name (``"fppa_deg"``).
        task
            a task name (``"single-leg-squat"``).
        sex
            ``"female"`` or ``"male"``: entries for that sex or for ``any``; ``"any"``: only entries
            for ``any``; ``None``: all.
        kind
            one kind, several, or ``None`` for all.

        Returns
        -------
        list of Reference
            ordered by: same task before related task; sex-matched before ``any``; verified before
            secondary before provisional; healthy cohorts before patient cohorts; kind order of
            :data:`KINDS`; then file order.
        """
        if metric not in self.metrics:
            raise ValueError(
                f"Invalid value for the 'metric' parameter: allowed values are {', '.join(self.metrics)}, "
                f"but got {metric!r}"
            )
        if task not in self.tasks:
            raise ValueError(
                f"Invalid value for the 'task' parameter: allowed values are {', '.join(self.tasks)}, "
                f"but got {task!r}"
            )
        if sex is not None and sex not in SEXES:
            raise ValueError(
                f"Invalid value for the 'sex' parameter: allowed values are {', '.join(SEXES)} or None, "
                f"but got {sex!r}"
            )
        kinds = _check_kinds(kind)
        hits = []
        for order, ref in enumerate(self.references):
            if ref.metric != metric or task not in ref.tasks or ref.kind not in kinds:
                continue
            if sex == "any" and ref.sex != "any":
                continue
            if sex in ("female", "male") and ref.sex not in (sex, "any"):
                continue
            key = (
                TASK_MATCHES.index(ref.match_for(task)),
                0 if sex is None or ref.sex == sex else 1,
                STATUSES.index(ref.status),
                COHORTS.index(ref.cohort),
                KINDS.index(ref.kind),
                order,
            )
            hits.append((key, ref))
        return [ref for _, ref in sorted(hits, key=lambda kv: kv[0])]

    def measurement_error(self, metric: str, task: str) -> Reference | None:
        """The most specific ``measurement_error`` entry for a metric in a task, or ``None``."""
        refs = self.references_for(metric, task, kind="measurement_error")
        return refs[0] if refs else None


def _check_kinds(kind: str | Iterable[str] | None) -> tuple[str, ...]:
    if kind is None:
        return KINDS
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ValueError(
            f"Invalid value for the 'kind' parameter: allowed values are {', '.join(KINDS)} (one, several "
            f"or None), but got {kind!r}"
        )
    return kinds


# ---------------------------------------------------------------------------------------- loading
@lru_cache(maxsize=1)
def load_registry() -> Registry:
    """The registry shipped with medius, validated and cached.

    It is ``medius/registry/references.yaml`` (units, tasks, the movement-screen metrics and their
    references) merged with every other ``*.yaml`` file of that folder, in name order (for example
    ``gait.yaml``, ``strength.yaml``): each extra file has the same schema, may leave out any
    top-level key but ``schema_version``, and may not redefine a unit, task or metric.
    """
    folder = resources.files(__package__)
    names = [_PACKAGED_NAME] + sorted(
        e.name for e in folder.iterdir() if e.name.endswith(".yaml") and e.name != _PACKAGED_NAME
    )
    texts = [(f"medius/registry/{n}", folder.joinpath(n).read_text(encoding="utf-8")) for n in names]
    return parse_registry_documents(texts)


def parse_registry_documents(texts: Iterable[tuple[str, str]]) -> Registry:
    """Parse several registry YAML documents (``(name, text)`` pairs) and validate them as one.

    The first document is the main one and must carry every top-level key; the others add units,
    tasks, metrics and references. A unit, task or metric defined twice is a problem, as is a
    reference id used twice (checked by the main validation).
    """
    texts = list(texts)
    if not texts:
        raise RegistryError(["no registry documents"])
    merged: dict[str, Any] | None = None
    problems: list[str] = []
    for name, text in texts:
        try:
            data = _load_yaml(text)
        except yaml.YAMLError as exc:
            raise RegistryError([f"YAML does not parse: {' '.join(str(exc).split())}"], path=name) from exc
        if not isinstance(data, dict):
            raise RegistryError([f"top level must be a mapping; got {type(data).__name__}"], path=name)
        if merged is None:
            merged = {
                k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                for k, v in data.items()
            }
            continue
        for key, value in data.items():
            if key not in _TOP_KEYS:
                problems.append(f"{name}: unknown top-level key {key!r} (allowed: {', '.join(_TOP_KEYS)})")
            elif key == "schema_version":
                if value != _SCHEMA_VERSION:
                    problems.append(f"{name}: schema_version must be {_SCHEMA_VERSION}; got {value!r}")
            elif value is None:
                continue
            elif key in ("units", "tasks"):
                if not isinstance(value, dict):
                    problems.append(f"{name}: {key} must be a mapping")
                    continue
                for k, v in value.items():
                    if k in merged.setdefault(key, {}):
                        problems.append(f"{name}: {key[:-1]} {k!r} is already defined")
                    merged[key][k] = v
            else:
                if not isinstance(value, list):
                    problems.append(f"{name}: {key} must be a list")
                    continue
                if key == "metrics":
                    have = {m.get("name") for m in merged.get("metrics") or [] if isinstance(m, dict)}
                    for m in value:
                        if isinstance(m, dict) and m.get("name") in have:
                            problems.append(f"{name}: metric {m.get('name')!r} is already defined")
                merged.setdefault(key, []).extend(value)
    if problems:
        raise RegistryError(problems, path=texts[0][0])
    return parse_registry(
        yaml.safe_dump(merged, sort_keys=False, allow_unicode=True),
        path=", ".join(n for n, _ in texts) if len(texts) > 1 else texts[0][0],
    )


def read_registry(path: str | Path) -> Registry:
    """Read and validate a registry file with the same schema as the shipped one (not cached)."""
    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError("reference registry file not found", path=p)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the reference registry: {exc}", path=p) from exc
    return parse_registry(text, path=p)


def parse_registry(text: str, *, path: str | Path | None = None) -> Registry:
    """Parse and validate registry YAML text.

    Parameters
    ----------
    text
        the YAML document (see ``docs/references.md`` for the schema).
    path
        where the text came from, for error messages.

    Raises
    ------
    RegistryError
        listing every problem found, each naming the entry id and the field.
    """
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise RegistryError([f"YAML does not parse: {' '.join(str(exc).split())}"], path=path) from exc
    return _registry_from_data(data, path=path)


def _registry_from_data(data: Any, *, path: str | Path | None) -> Registry:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise RegistryError(
            [f"top level must be a mapping with keys {', '.join(_TOP_KEYS)}; got {type(data).__name__}"],
            path=path,
        )
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"unknown top-level key {key!r} (allowed: {', '.join(_TOP_KEYS)})")
    for key in _TOP_KEYS:
        if key not in data:
            problems.append(f"missing top-level key {key!r}")
    if "schema_version" in data and data["schema_version"] != _SCHEMA_VERSION:
        problems.append(f"schema_version must be {_SCHEMA_VERSION}; got {data['schema_version']!r}")

    units = _parse_units(data.get("units"), problems)
    tasks = _parse_tasks(data.get("tasks"), problems)
    metrics = _parse_metrics(data.get("metrics"), units, problems)
    references = _parse_references(data.get("references"), units, tasks, metrics, problems)
    if not problems:
        _check_screen_coverage(references, tasks, metrics, problems)
    if problems:
        raise RegistryError(problems, path=path)
    return Registry(
        references=tuple(references),
        metrics=MappingProxyType(metrics),
        units=MappingProxyType(units),
        tasks=MappingProxyType(tasks),
    )


def _parse_units(raw: Any, problems: list[str]) -> dict[str, UnitDefinition]:
    out: dict[str, UnitDefinition] = {}
    if not isinstance(raw, dict) or not raw:
        problems.append("'units' must be a non-empty mapping of unit name -> {symbol, label, space_before}")
        return out
    for name, spec in raw.items():
        where = f"unit {name!r}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a mapping with {', '.join(_UNIT_FIELDS)}")
            continue
        _check_keys(where, spec, _UNIT_FIELDS, (), problems)
        symbol, label, space = spec.get("symbol"), spec.get("label"), spec.get("space_before")
        ok = True
        for field_name, value in (("symbol", symbol), ("label", label)):
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: field {field_name!r} must be a non-empty string; got {value!r}")
                ok = False
        if not isinstance(space, bool):
            problems.append(f"{where}: field 'space_before' must be true or false; got {space!r}")
            ok = False
        if ok:
            out[str(name)] = UnitDefinition(str(name), str(symbol), str(label), bool(space))
    return out


def _parse_tasks(raw: Any, problems: list[str]) -> dict[str, TaskDefinition]:
    out: dict[str, TaskDefinition] = {}
    if not isinstance(raw, dict) or not raw:
        problems.append("'tasks' must be a non-empty mapping of task name -> {label, screen}")
        return out
    for name, spec in raw.items():
        where = f"task {name!r}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a mapping with {', '.join(_TASK_FIELDS)}")
            continue
        _check_keys(where, spec, _TASK_FIELDS, (), problems)
        label, screen = spec.get("label"), spec.get("screen")
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{where}: field 'label' must be a non-empty string; got {label!r}")
        elif not isinstance(screen, bool):
            problems.append(f"{where}: field 'screen' must be true or false; got {screen!r}")
        else:
            out[str(name)] = TaskDefinition(str(name), label, screen)
    return out


def _parse_metrics(
    raw: Any, units: Mapping[str, UnitDefinition], problems: list[str]
) -> dict[str, MetricDefinition]:
    out: dict[str, MetricDefinition] = {}
    if not isinstance(raw, list) or not raw:
        problems.append("'metrics' must be a non-empty list of metric definitions")
        return out
    for i, spec in enumerate(raw):
        if not isinstance(spec, dict):
            problems.append(f"metric #{i + 1}: must be a mapping with {', '.join(_METRIC_FIELDS)}")
            continue
        name = spec.get("name")
        where = f"metric {name!r}" if isinstance(name, str) else f"metric #{i + 1} (no name)"
        n_before = len(problems)
        _check_keys(where, spec, _METRIC_FIELDS, ("screen_tasks",), problems)
        screen_tasks = spec.get("screen_tasks", [])
        if not isinstance(screen_tasks, list) or not all(isinstance(t, str) for t in screen_tasks):
            problems.append(f"{where}: field 'screen_tasks' must be a list of task names; got {screen_tasks!r}")
            screen_tasks = []
        for field_name in _METRIC_FIELDS:
            value = spec.get(field_name)
            if field_name in spec and (not isinstance(value, str) or not value.strip()):
                problems.append(f"{where}: field {field_name!r} must be a non-empty string; got {value!r}")
        if isinstance(name, str) and name in out:
            problems.append(f"{where}: defined twice")
        unit = spec.get("unit")
        if isinstance(unit, str) and units and unit not in units:
            problems.append(f"{where}: field 'unit' {unit!r} is not a known unit (known: {', '.join(units)})")
        if len(problems) == n_before:
            out[str(name)] = MetricDefinition(
                **{f: _clean(spec[f]) for f in _METRIC_FIELDS}, screen_tasks=tuple(screen_tasks)
            )
    return out


def _parse_references(
    raw: Any,
    units: Mapping[str, UnitDefinition],
    tasks: Mapping[str, TaskDefinition],
    metrics: Mapping[str, MetricDefinition],
    problems: list[str],
) -> list[Reference]:
    out: list[Reference] = []
    if not isinstance(raw, list) or not raw:
        problems.append("'references' must be a non-empty list of entries")
        return out
    seen: set[str] = set()
    for i, spec in enumerate(raw):
        if not isinstance(spec, dict):
            problems.append(f"entry #{i + 1}: must be a mapping; got {type(spec).__name__}")
            continue
        eid = spec.get("id")
        where = f"entry {eid!r}" if isinstance(eid, str) and eid else f"entry #{i + 1} (no id)"
        if isinstance(eid, str) and eid:
            if not _ID_RE.match(eid):
                problems.append(
                    f"{where}: field 'id' must be lower-case dotted words like 'fppa.sls.controls.herrington2014'"
                )
            if eid in seen:
                problems.append(f"{where}: field 'id' is used by an earlier entry too")
            seen.add(eid)
        ref = _parse_entry(where, spec, units, tasks, metrics, problems)
        if ref is not None:
            out.append(ref)
    return out


def _parse_entry(
    where: str,
    spec: dict[str, Any],
    units: Mapping[str, UnitDefinition],
    tasks: Mapping[str, TaskDefinition],
    metrics: Mapping[str, MetricDefinition],
    problems: list[str],
) -> Reference | None:
    n_before = len(problems)
    kind = spec.get("kind")
    if "kind" in spec and kind not in KINDS:
        problems.append(f"{where}: field 'kind' must be one of {', '.join(KINDS)}; got {kind!r}")
    if kind in KINDS:
        required = _COMMON_REQUIRED + _KIND_REQUIRED[kind]
        optional = _COMMON_OPTIONAL + _KIND_OPTIONAL[kind]
        wrong_kind = sorted(set(spec) & (_ALL_KIND_FIELDS - set(required) - set(optional)))
        for f in wrong_kind:
            problems.append(f"{where}: field {f!r} does not belong to kind {kind!r}")
        _check_keys(where, spec, required, optional + tuple(wrong_kind), problems)
    else:
        _check_keys(where, spec, _COMMON_REQUIRED, _COMMON_OPTIONAL + tuple(_ALL_KIND_FIELDS), problems)

    def text_field(name: str) -> str | None:
        value = spec.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: field {name!r} must be a non-empty string; got {value!r}")
            return None
        return " ".join(value.split())

    def choice_field(name: str, allowed: tuple[str, ...] | Mapping[str, Any]) -> str | None:
        value = spec.get(name)
        if name in spec and value not in allowed:
            problems.append(f"{where}: field {name!r} must be one of {', '.join(allowed)}; got {value!r}")
            return None
        return value

    for name in ("id", "population", "source", "reference", "study_task", "facts_sheet", "notes", "reason"):
        text_field(name)
    metric = choice_field("metric", metrics) if metrics else spec.get("metric")
    for name, allowed in (("sex", SEXES), ("status", STATUSES), ("cohort", COHORTS)):
        choice_field(name, allowed)
    unit = choice_field("unit", units) if units else spec.get("unit")
    if (
        isinstance(metric, str)
        and metric in metrics
        and isinstance(unit, str)
        and unit in units
        and unit != metrics[metric].unit
    ):
        problems.append(
            f"{where}: field 'unit' is {unit!r} but metric {metric!r} is measured in {metrics[metric].unit!r}"
        )

    # tasks and task_match
    task_names: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()
    raw_tasks = spec.get("tasks")
    if "tasks" in spec:
        if not isinstance(raw_tasks, list) or not raw_tasks or not all(isinstance(t, str) for t in raw_tasks):
            problems.append(
                f"{where}: field 'tasks' must be a non-empty list of task names; got {raw_tasks!r}"
            )
        else:
            task_names = tuple(raw_tasks)
            unknown = [t for t in task_names if t not in tasks]
            if unknown and tasks:
                problems.append(
                    f"{where}: field 'tasks' has unknown task(s) {', '.join(map(repr, unknown))} "
                    f"(known: {', '.join(tasks)})"
                )
            if len(set(task_names)) != len(task_names):
                problems.append(f"{where}: field 'tasks' lists a task twice")
    raw_match = spec.get("task_match")
    if "task_match" in spec and task_names:
        if isinstance(raw_match, str):
            if raw_match not in TASK_MATCHES:
                problems.append(
                    f"{where}: field 'task_match' must be one of {', '.join(TASK_MATCHES)} or a mapping "
                    f"task -> same/related; got {raw_match!r}"
                )
            else:
                matches = (raw_match,) * len(task_names)
        elif isinstance(raw_match, dict):
            if set(raw_match) != set(task_names):
                problems.append(
                    f"{where}: field 'task_match' must give exactly the tasks in 'tasks' "
                    f"({', '.join(task_names)}); got {', '.join(map(str, raw_match))}"
                )
            elif any(v not in TASK_MATCHES for v in raw_match.values()):
                problems.append(
                    f"{where}: field 'task_match' values must be one of {', '.join(TASK_MATCHES)}; "
                    f"got {', '.join(map(repr, raw_match.values()))}"
                )
            else:
                matches = tuple(raw_match[t] for t in task_names)
        else:
            problems.append(
                f"{where}: field 'task_match' must be same, related or a mapping task -> same/related; "
                f"got {raw_match!r}"
            )

    # numbers
    def number(name: str, *, positive: bool = False) -> float | None:
        if name not in spec:
            return None
        value = spec[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(f"{where}: field {name!r} must be a finite number; got {value!r}")
            return None
        if positive and value <= 0:
            problems.append(f"{where}: field {name!r} must be > 0; got {value!r}")
            return None
        return float(value)

    def span(name: str, lo_lim: float, hi_lim: float) -> tuple[float, float] | None:
        if name not in spec:
            return None
        value = spec[name]
        vals = value if isinstance(value, list) else [value]
        ok = len(vals) in (1, 2) and all(
            not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) for v in vals
        )
        if not ok:
            problems.append(f"{where}: field {name!r} must be a number or a [min, max] pair; got {value!r}")
            return None
        lo, hi = float(vals[0]), float(vals[-1])
        if lo > hi:
            problems.append(f"{where}: field {name!r} must be [min, max] with min <= max; got {value!r}")
            return None
        if lo < lo_lim or hi > hi_lim:
            problems.append(f"{where}: field {name!r} must lie in [{lo_lim:g}, {hi_lim:g}]; got {value!r}")
            return None
        return (lo, hi)

    low, high = number("low"), number("high")
    if low is not None and high is not None and not low < high:
        problems.append(f"{where}: field 'low' must be below 'high'; got low={low:g}, high={high:g}")
    mean, sd = number("mean"), number("sd", positive=True)
    cutoff = number("cutoff")
    flag_when = choice_field("flag_when", FLAG_WHEN)
    n = spec.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        problems.append(f"{where}: field 'n' must be a positive whole number; got {n!r}")
    errors = {name: span(name, 0.0, math.inf) for name in ("sem", "mdc")}
    errors.update({name: span(name, -1.0, 1.0) for name in ("icc_within_session", "icc_between_session")})
    errors["validity_r"] = span("validity_r", -1.0, 1.0)
    for name in ("sem", "mdc"):
        val = errors[name]
        if val is not None and val[0] <= 0:
            problems.append(f"{where}: field {name!r} must be > 0; got {spec[name]!r}")
    if kind == "measurement_error" and not any(f in spec for f in _ERROR_FIELDS):
        problems.append(
            f"{where}: a measurement_error entry needs at least one of {', '.join(_ERROR_FIELDS)}"
        )

    if len(problems) != n_before:
        return None
    return Reference(
        id=_clean(spec["id"]),
        metric=_clean(spec["metric"]),
        kind=_clean(spec["kind"]),
        tasks=task_names,
        task_match=matches,
        sex=_clean(spec["sex"]),
        unit=_clean(spec["unit"]),
        population=_clean(spec["population"]),
        cohort=_clean(spec["cohort"]),
        source=_clean(spec["source"]),
        reference=_clean(spec["reference"]),
        status=_clean(spec["status"]),
        study_task=text_field("study_task"),
        n=n,
        facts_sheet=text_field("facts_sheet"),
        notes=text_field("notes") or "",
        reason=text_field("reason"),
        low=low,
        high=high,
        mean=mean,
        sd=sd,
        cutoff=cutoff,
        flag_when=flag_when,
        **errors,
    )


def _clean(value: Any) -> str:
    """A validated text field with runs of whitespace (YAML line folding) collapsed."""
    return " ".join(str(value).split())


def _check_keys(
    where: str, spec: Mapping[str, Any], required: Iterable[str], optional: Iterable[str], problems: list[str]
) -> None:
    required = tuple(required)
    allowed = set(required) | set(optional)
    for key in required:
        if key not in spec or spec[key] is None:
            problems.append(f"{where}: missing required field {key!r}")
    for key in spec:
        if key not in allowed:
            problems.append(f"{where}: unknown field {key!r} (allowed: {', '.join(sorted(allowed))})")


def _check_screen_coverage(
    references: list[Reference],
    tasks: Mapping[str, TaskDefinition],
    metrics: Mapping[str, MetricDefinition],
    problems: list[str],
) -> None:
    """Every metric of every screen task must have, per sex, a reference or a ``no_reference`` entry."""
    covering = INTERPRETIVE_KINDS + ("no_reference",)
    for name, m in metrics.items():
        for t in m.screen_tasks:
            if t not in tasks:
                problems.append(f"metric {name!r}: screen task {t!r} is not a known task")
            elif not tasks[t].screen:
                problems.append(f"metric {name!r}: task {t!r} in screen_tasks is not a screen task")
    for task in (t for t in tasks.values() if t.screen):
        for metric in (n for n, m in metrics.items() if task.name in m.screen_tasks):
            for sex in ("female", "male"):
                if not any(
                    r.metric == metric
                    and task.name in r.tasks
                    and r.kind in covering
                    and r.sex in (sex, "any")
                    for r in references
                ):
                    problems.append(
                        f"metric {metric!r} in screen task {task.name!r} has no entry for sex {sex!r}: add a "
                        f"reference or a no_reference entry saying why there is none"
                    )


# ---------------------------------------------------------------------------------------- display
def _num(x: float) -> str:
    """Compact number: ``5``, ``8.4``, ``2.72``; a real minus sign for negatives."""
    s = f"{x:g}"
    return s.replace("-", "\u2212")


def _span_text(lo: float, hi: float) -> str:
    if lo == hi:
        return _num(lo)
    return f"{_num(lo)} to {_num(hi)}" if lo < 0 else f"{_num(lo)}–{_num(hi)}"


def format_reference_values(ref: Reference, registry: Registry | None = None) -> str:
    """The numbers of an entry as short text with units (``"5–12°"``, ``"8.4 ± 5.1°"``, ``"SEM 2.72–3.01°; ..."``)."""
    reg = registry or load_registry()
    unit = reg.unit(ref.unit)
    if ref.kind == "reference_range":
        assert ref.low is not None and ref.high is not None
        return unit.format(_span_text(ref.low, ref.high))
    if ref.kind == "group_mean_sd":
        assert ref.mean is not None and ref.sd is not None
        return unit.format(f"{_num(ref.mean)} ± {_num(ref.sd)}")
    if ref.kind == "cutoff":
        assert ref.cutoff is not None
        sign = "≥" if ref.flag_when == "at_or_above" else "≤"
        return f"{sign} " + unit.format(_num(ref.cutoff))
    if ref.kind == "measurement_error":
        parts = []
        for label, value, with_unit in (
            ("SEM", ref.sem, True),
            ("MDC", ref.mdc, True),
            ("ICC within-session", ref.icc_within_session, False),
            ("ICC between-session", ref.icc_between_session, False),
            ("r vs 3D", ref.validity_r, False),
        ):
            if value is not None:
                txt = _span_text(*value)
                parts.append(f"{label} {unit.format(txt) if with_unit else txt}")
        return "; ".join(parts)
    return "no sourced reference"


def compare_to_reference(
    value: float, ref: Reference, *, task: str | None = None, registry: Registry | None = None
) -> Comparison:
    """Place a measured value against a reference, with one plain sentence for the report.

    Parameters
    ----------
    value
        the measured value, in the unit of ``ref``. It is rounded to 0.1 as displayed before it is
        compared, so the sentence never contradicts the number it prints.
    ref
        a ``reference_range``, ``group_mean_sd`` (the band is mean ± 1 SD, and the text says so) or
        ``cutoff`` entry.
    task
        the medius task the value was measured in; the text then says whether the study's task is
        the same or only related. Without it, the match is stated only when the entry has one match
        for all its tasks.
    registry
        where units are looked up (the shipped registry by default).

    Returns
    -------
    Comparison
        ``verdict`` below/within/above, ``text`` (never a diagnosis), ``provisional``.
    """
    if ref.kind not in INTERPRETIVE_KINDS:
        raise ValueError(
            f"Invalid value for the 'ref' parameter: its kind must be one of {', '.join(INTERPRETIVE_KINDS)}, "
            f"but reference {ref.id!r} is of kind {ref.kind!r}"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(
            f"Invalid value for the 'value' parameter: must be a finite number, but got {value!r}"
        )
    reg = registry or load_registry()
    unit = reg.unit(ref.unit)
    shown = round(float(value), 1)
    value_text = unit.format(f"{shown:.1f}".replace("-", "\u2212"))
    prov = "provisional " if ref.provisional else ""

    if ref.kind == "cutoff":
        assert ref.cutoff is not None
        low = high = ref.cutoff
        flagged_above = ref.flag_when == "at_or_above"
        if flagged_above:
            verdict, where = ("above", "at or above") if shown >= ref.cutoff else ("below", "below")
        else:
            verdict, where = ("below", "at or below") if shown <= ref.cutoff else ("above", "above")
        what = f"the {prov}reference cut-off {unit.format(_num(ref.cutoff))}"
    else:
        band = ref.band
        assert band is not None
        low, high = band
        verdict = "below" if shown < low else "above" if shown > high else "within"
        where = verdict
        band_text = unit.format(_span_text(round(low, 2), round(high, 2)))
        if ref.kind == "reference_range":
            what = f"the {prov}reference range {band_text}"
        else:
            assert ref.mean is not None and ref.sd is not None
            what = (
                f"the {prov}reference band mean ± 1 SD = {band_text} "
                f"({unit.format(f'{_num(ref.mean)} ± {_num(ref.sd)}')})"
            )

    match: str | None
    if task is not None:
        match = ref.match_for(task)
    else:
        match = ref.task_match[0] if len(set(ref.task_match)) == 1 else None
    context = [ref.population]
    if ref.sex != "any":
        context.append("women" if ref.sex == "female" else "men")
    if ref.study_task:
        context.append(ref.study_task + (", a related task" if match == "related" else ""))
    text = f"{value_text} is {where} {what} of {ref.source} ({'; '.join(context)})."
    if ref.status == "secondary":
        text += " Provisional reference: the numbers were seen only in a secondary source."
    elif ref.status == "provisional":
        text += " Provisional reference: the numbers are not verified against the primary source."
    return Comparison(
        verdict=verdict,
        text=text,
        provisional=ref.provisional,
        reference_id=ref.id,
        value=shown,
        low=low,
        high=high,
        unit=ref.unit,
        task_match=match,
    )


def registry_markdown_table(registry: Registry | None = None) -> str:
    """A Markdown table of every entry (for ``docs/references.md``), in file order."""
    reg = registry or load_registry()

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| id | metric | kind | tasks (match) | sex | values | population | source | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ref in reg.references:
        tasks = ", ".join(f"{t} ({m})" for t, m in zip(ref.tasks, ref.task_match, strict=True))
        row = (
            f"`{ref.id}`",
            ref.metric,
            ref.kind,
            tasks,
            ref.sex,
            format_reference_values(ref, reg),
            ref.population,
            ref.source,
            ref.status,
        )
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"
