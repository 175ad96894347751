"""The typed result of one analysis: exactly the documented ``result.json`` (docs/result-schema.md).

:meth:`AnalysisResult.from_json` reads a ``result.json`` document of schema 1.x or 2.x into
dataclasses (reps, stances, metric values with their ``peak`` / ``at_bottom`` /
``at_mid_stance`` statistics, the summary per side, measured errors, interpretation, quality,
gait and Trendelenburg, provenance); :meth:`AnalysisResult.to_json` writes it back. Every
object keeps the keys it was read with, in order, and the keys it does not model (``extra``),
so ``AnalysisResult.from_json(d).to_json() == d`` for every document (tested on every demo input
kind). Views read a result only through this model: typed access, no ``dict.get`` chains.

Schema 1.x (results saved by older web apps and batches): the summary is of peaks and there is
no ``summary_statistic``; :meth:`AnalysisResult.statistic_of` says ``"peak"`` then.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, Union

from medius.protocols.metric_spec import GAIT, METRIC_SPECS, SINGLE_LEG, MetricSpec, metric_names

__all__ = [
    "AnalysisResult",
    "Difference",
    "Event",
    "GaitSummary",
    "Interpretation",
    "JsonModel",
    "MetricDefinition",
    "MetricValue",
    "Quality",
    "Rep",
    "SideSummary",
    "Stance",
    "Stat",
    "Summary",
    "Trendelenburg",
    "TrendelenburgRule",
    "TrendelenburgSide",
]

M = TypeVar("M", bound="JsonModel")
_INTERNAL = ("extra", "keys_")
_FIELDS: dict[type, dict[str, tuple[str, Any]]] = {}


def _decode(tp: Any, value: Any) -> Any:
    """``value`` (JSON) as type ``tp``: a model, a list or dict of models, or as it is."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(args[0], value) if len(args) == 1 else value
    if isinstance(tp, type) and issubclass(tp, JsonModel):
        return tp.from_json(value) if isinstance(value, Mapping) else value
    if origin is list and isinstance(value, list):
        (arg,) = typing.get_args(tp)
        return [_decode(arg, v) for v in value]
    if origin is dict and isinstance(value, Mapping):
        _, arg = typing.get_args(tp)
        return {k: _decode(arg, v) for k, v in value.items()}
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, JsonModel):
        return value.to_json()
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


@dataclass(kw_only=True)
class JsonModel:
    """A JSON object with typed fields; unmodelled keys kept in ``extra``, key order in ``keys_``."""

    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    keys_: tuple[str, ...] | None = field(default=None, repr=False, compare=False)
    #: JSON key of a field whose name is not a Python identifier
    _json_names: ClassVar[dict[str, str]] = {}

    @classmethod
    def _fields(cls) -> dict[str, tuple[str, Any]]:
        """JSON key -> (field name, type), worked out once per class."""
        got = _FIELDS.get(cls)
        if got is None:
            hints = typing.get_type_hints(cls)
            got = _FIELDS[cls] = {cls._json_names.get(f.name, f.name): (f.name, hints[f.name])
                                  for f in dataclasses.fields(cls) if f.name not in _INTERNAL}
        return got

    @classmethod
    def from_json(cls: type[M], data: Mapping[str, Any]) -> M:
        known = cls._fields()
        kwargs = {name: _decode(tp, data[key]) for key, (name, tp) in known.items() if key in data}
        obj = cls(**kwargs)
        obj.extra = {k: v for k, v in data.items() if k not in known}
        obj.keys_ = tuple(data)
        return obj

    def to_json(self) -> dict[str, Any]:
        known = self._fields()
        keys = self.keys_ if self.keys_ is not None else (*known, *self.extra)
        out: dict[str, Any] = {}
        for key in keys:
            if key in known:
                out[key] = _encode(getattr(self, known[key][0]))
            elif key in self.extra:
                out[key] = self.extra[key]
        return out


# ---------------------------------------------------------------------------- per rep / stance
@dataclass(kw_only=True)
class MetricValue(JsonModel):
    """One metric in one rep or stance."""

    peak: float | None = None
    peak_s: float | None = None
    peak_frame: int | None = None
    at_bottom: float | None = None
    at_mid_stance: float | None = None
    baseline_tilt_deg: float | None = None

    def statistic(self, name: str) -> float | None:
        """The value of a statistic by name (``peak``, ``at_bottom``, ``at_mid_stance``)."""
        return {"peak": self.peak, "at_bottom": self.at_bottom, "at_mid_stance": self.at_mid_stance}.get(name)


@dataclass(kw_only=True)
class Rep(JsonModel):
    rep: int
    side: str | None = None
    status: str = "complete"
    note: str = ""
    start_s: float | None = None
    bottom_s: float | None = None
    end_s: float | None = None
    start_frame: int | None = None
    bottom_frame: int | None = None
    end_frame: int | None = None
    metrics: dict[str, MetricValue] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return self.rep

    @property
    def middle_s(self) -> float | None:
        return self.bottom_s


@dataclass(kw_only=True)
class Stance(JsonModel):
    stance: int
    side: str | None = None
    status: str = "complete"
    foot_strike_s: float | None = None
    mid_stance_s: float | None = None
    foot_off_s: float | None = None
    foot_strike_frame: int | None = None
    mid_stance_frame: int | None = None
    foot_off_frame: int | None = None
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    #: the per-stance values (``stance_time_s``, ``step_time_s``, ``step_width_pct``, ``step_width_cm``)
    values: dict[str, float | None] = field(default_factory=dict)
    frontal_2d: dict[str, MetricValue] | None = None
    metric_sources: dict[str, str] | None = None
    pelvic_drop_vs_standing_deg: MetricValue | None = None

    @property
    def number(self) -> int:
        return self.stance

    @property
    def note(self) -> str:
        return str(self.extra.get("note") or "")

    @property
    def middle_s(self) -> float | None:
        return self.mid_stance_s


@dataclass(kw_only=True)
class Event(JsonModel):
    side: str | None = None
    kind: str = ""
    time_s: float | None = None


# ---------------------------------------------------------------------------- summary
@dataclass(kw_only=True)
class Stat(JsonModel):
    mean: float | None = None
    sd: float | None = None
    n: int = 0


@dataclass(kw_only=True)
class SideSummary(Stat):
    """A side's summary of one metric: its summary statistic's mean/SD/n; gait curves also each
    statistic separately."""

    statistic: str | None = None
    peak: Stat | None = None
    at_mid_stance: Stat | None = None
    at_bottom: Stat | None = None

    def of(self, statistic: str | None) -> Stat:
        """The mean/SD/n of one statistic (the summary statistic itself when ``None`` or equal)."""
        if statistic is None or statistic == self.statistic:
            return self
        got = {"peak": self.peak, "at_mid_stance": self.at_mid_stance, "at_bottom": self.at_bottom}.get(statistic)
        if got is not None:
            return got
        # schema 1.x: no ``statistic`` and no breakdown: the mean/SD/n are of the one statistic it had
        return self if self.statistic is None else Stat()


@dataclass(kw_only=True)
class Difference(JsonModel):
    left_minus_right: float | None = None


@dataclass(kw_only=True)
class Summary(JsonModel):
    left: dict[str, SideSummary] = field(default_factory=dict)
    right: dict[str, SideSummary] = field(default_factory=dict)
    difference: dict[str, Difference] = field(default_factory=dict)
    frontal_2d: Summary | None = None

    def side(self, side: str) -> dict[str, SideSummary]:
        return self.left if side == "left" else self.right

    def get(self, side: str, metric: str) -> SideSummary:
        return self.side(side).get(metric) or SideSummary()

    def left_minus_right(self, metric: str) -> float | None:
        d = self.difference.get(metric)
        return d.left_minus_right if d else None


# ---------------------------------------------------------------------------- definitions, judgement
@dataclass(kw_only=True)
class MetricDefinition(JsonModel):
    label: str = ""
    unit: str = ""
    unit_symbol: str = ""
    definition: str = ""
    sign: str = ""
    caveat: str = ""
    #: what the angle is measured against (schema 2.1; ``None`` in older results)
    baseline: str | None = None


@dataclass(kw_only=True)
class Interpretation(JsonModel):
    metric: str = ""
    side: str = ""
    value: float | None = None
    verdict: str = "none"
    text: str = ""
    provisional: bool = False
    source: str | None = None
    reference_id: str | None = None
    measurement_error: dict[str, Any] | None = None
    measured_error: dict[str, Any] | None = None


@dataclass(kw_only=True)
class TrendelenburgRule(JsonModel):
    reference_id: str = ""
    text: str = ""
    cutoff: float | None = None
    unit: str = ""
    source: str = ""
    provisional: bool = False


@dataclass(kw_only=True)
class TrendelenburgSide(JsonModel):
    flag: bool | None = None
    value: float | None = None
    text: str = ""


@dataclass(kw_only=True)
class Trendelenburg(JsonModel):
    rule: TrendelenburgRule | None = None
    left: TrendelenburgSide | None = None
    right: TrendelenburgSide | None = None

    def side(self, side: str) -> TrendelenburgSide | None:
        return self.left if side == "left" else self.right


@dataclass(kw_only=True)
class GaitSummary(JsonModel):
    cadence_steps_per_min: float | None = None
    n_foot_strikes: dict[str, int] = field(default_factory=dict)
    n_stances: dict[str, int] = field(default_factory=dict)


@dataclass(kw_only=True)
class Check(JsonModel):
    id: str = ""
    label: str = ""
    passed: bool | None = None
    value: Any = None
    threshold: Any = None
    unit: str | None = None
    message: str = ""
    fatal: bool = False


@dataclass(kw_only=True)
class Quality(JsonModel):
    judgeable: bool = False
    view: str | None = None
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    people_in_view: int = 0
    person_selection: dict[str, Any] = field(default_factory=dict)
    left_right: dict[str, Any] = field(default_factory=dict)
    left_right_swaps_corrected: int = 0


@dataclass(kw_only=True)
class Provenance(JsonModel):
    created_utc: str | None = None
    medius_version: str | None = None
    python: str | None = None
    packages: dict[str, Any] = field(default_factory=dict)
    pose_model: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass(kw_only=True)
class FrontalSummary(JsonModel):
    what: str = ""
    summary: Summary | None = None


# ---------------------------------------------------------------------------- the result
@dataclass(kw_only=True)
class AnalysisResult(JsonModel):
    """A whole ``result.json`` (see the module docstring)."""

    schema_version: str = "2.1"
    medius_version: str | None = None
    task: str = ""
    task_label: str = ""
    status: str = "not_judgeable"
    synthetic: bool = False
    input: dict[str, Any] = field(default_factory=dict)
    quality: Quality = field(default_factory=Quality)
    metrics: dict[str, MetricDefinition] = field(default_factory=dict)
    reps: list[Rep] = field(default_factory=list)
    summary_statistic: dict[str, str] | None = None
    summary: Summary = field(default_factory=Summary)
    interpretation: list[Interpretation] = field(default_factory=list)
    measured_error: dict[str, dict[str, Any]] | None = None
    provenance: Provenance = field(default_factory=Provenance)
    files: dict[str, Any] = field(default_factory=dict)
    stances: list[Stance] | None = None
    events: list[Event] | None = None
    gait: GaitSummary | None = None
    trendelenburg: Trendelenburg | None = None
    pelvic_drop_vs_standing: dict[str, Any] | None = None
    frontal_2d: FrontalSummary | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AnalysisResult:
        if not isinstance(data, Mapping):
            raise ValueError(f"a result.json document must be a JSON object, got {type(data).__name__}")
        major = str(data.get("schema_version") or "1.0").split(".")[0]
        if major not in ("1", "2"):
            raise ValueError(f"result.json schema_version {data.get('schema_version')!r} is newer than this "
                             "medius reads (1.x, 2.x): update medius")
        return super().from_json(data)

    # ------------------------------------------------------------------ what kind of result
    @property
    def judgeable(self) -> bool:
        return self.status == "ok"

    @property
    def is_gait(self) -> bool:
        return self.task in ("walk", "run") or self.stances is not None

    @property
    def group(self) -> str:
        return GAIT if self.is_gait else SINGLE_LEG

    @property
    def is_lab(self) -> bool:
        return self.frontal_2d is not None or str(self.input.get("kind")) in ("c3d", "marker-trc", "marker-text")

    @property
    def units(self) -> list[Rep] | list[Stance]:
        """The reps (single-leg) or the stances (gait)."""
        return (self.stances or []) if self.is_gait else self.reps

    @property
    def unit_name(self) -> str:
        return "stance" if self.is_gait else "rep"

    # ------------------------------------------------------------------ metrics, from the spec
    def statistic_of(self, metric: str) -> str:
        """The statistic a curve metric is summarised by: the result's ``summary_statistic``
        (schema 1.x has none: its summary is of peaks, ``peak``)."""
        if self.summary_statistic and metric in self.summary_statistic:
            return self.summary_statistic[metric]
        return "peak"

    def measured_error_of(self, metric: str, statistic: str) -> dict[str, Any]:
        """medius' own measured error for ``metric``'s ``statistic`` in this recording's condition
        (``value``, ``n``, ``bias`` ..., see docs/result-schema.md); empty when none was measured."""
        return dict(((self.measured_error or {}).get(metric) or {}).get(statistic) or {})

    def unit_statistics(self) -> tuple[str, ...]:
        """The per-rep / per-stance statistics of a curve metric, the summary statistic first."""
        return ("at_bottom", "peak") if not self.is_gait else ("peak", "at_mid_stance")

    def spec_metrics(self, *kinds: str) -> tuple[MetricSpec, ...]:
        """The specification of every metric of this task (report order), of the given kinds;
        lab-only metrics only for lab trials."""
        return tuple(METRIC_SPECS[m] for m in metric_names(self.group, *kinds)
                     if self.is_lab or not METRIC_SPECS[m].lab_only)

    def label(self, metric: str) -> str:
        """The metric's label as this result defines it (first letter capitalised)."""
        d = self.metrics.get(metric)
        text = d.label if d and d.label else (METRIC_SPECS[metric].label if metric in METRIC_SPECS else metric)
        return text[:1].upper() + text[1:]

    def unit_symbol(self, metric: str) -> str:
        s = METRIC_SPECS.get(metric)
        if s is not None and s.kind == "stance_value":
            return s.unit_symbol
        d = self.metrics.get(metric)
        return d.unit_symbol if d and d.unit_symbol else (s.unit_symbol if s else "")

    def interpretation_for(self, metric: str, side: str) -> Iterator[Interpretation]:
        return (e for e in self.interpretation if e.metric == metric and e.side == side)
