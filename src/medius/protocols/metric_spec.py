"""The metric specification: every metric an analysis produces, defined once.

One :class:`MetricSpec` per metric holds its name, unit, labels, definition per source, sign,
the statistic that summarises it per task, the registry entries that interpret it, its anchor in
``docs/conventions.md``, the code that computes it, the test that checks it and its references.
Everything else is generated from :data:`METRIC_SPECS`: the protocols' metric lists
(``METRICS``, ``GAIT_METRICS``, ``SUMMARY_STAT``, ``PEAK_RULE``, ``GAIT_DEFINITIONS``,
``STANCE_SCALARS``), the report's order and labels, the CSV columns and the docs tables
(``tests/test_metric_spec.py`` checks the docs against :func:`conventions_gait_table`).

Sources (:class:`SourceDefinition`): ``video`` (single-leg tasks, 2D keypoints),
``gait_video`` (walking/running from 2D keypoints), ``gait_lab`` (lab marker trial, 3D) and
``gait_lab_frontal_2d`` (the lab joint centres projected on the frontal plane). A source that
an entry leaves out uses the registry's texts.

``pelvic_drop_deg`` keeps one name across tasks (the name the findings rules, the registry, the
measured errors and saved results use); what it is measured against differs by source and is
recorded, per source, as :attr:`SourceDefinition.baseline` here and as ``metrics.<m>.baseline`` in
``result.json`` (schema 2.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "GAIT",
    "METRIC_SPECS",
    "SINGLE_LEG",
    "MetricSpec",
    "SourceDefinition",
    "conventions_gait_table",
    "spec_markdown_table",
    "gait_definitions",
    "metric_names",
    "spec",
    "summary_stat",
]

#: task groups: the single-leg tasks (per-rep values) and gait (per-stance values)
SINGLE_LEG = "single_leg"
GAIT = "gait"
TaskGroup = Literal["single_leg", "gait"]
#: kinds of metric: ``curve`` (a per-frame series read per rep/stance as peak / at_bottom /
#: at_mid_stance), ``stance_value`` (one value per stance), ``trial`` (one value per trial),
#: ``derived`` (a summary of a curve under its own registry name, e.g. the Trendelenburg rule's input)
Kind = Literal["curve", "stance_value", "trial", "derived"]
SOURCES = ("video", "gait_video", "gait_lab", "gait_lab_frontal_2d")


@dataclass(frozen=True)
class SourceDefinition:
    """How a metric reads for one source; ``None`` = the registry's text."""

    definition: str | None = None
    caveat: str | None = None
    label: str | None = None
    #: what is subtracted from the raw angle (``None``: nothing to say for this metric)
    baseline: str | None = None

    def result_texts(self) -> dict[str, str]:
        """The keys this source overrides in ``result.json``'s ``metrics.<m>``."""
        return {k: v for k, v in (("label", self.label), ("definition", self.definition),
                                  ("caveat", self.caveat), ("baseline", self.baseline)) if v is not None}


@dataclass(frozen=True)
class MetricSpec:
    """One metric, defined once (see the module docstring)."""

    name: str
    kind: Kind
    unit: str
    unit_symbol: str
    short_label: str
    label: str
    sign: str
    #: task group -> the statistic that summarises it there (``at_bottom``, ``peak``,
    #: ``at_mid_stance``, ``mean`` of per-stance values, ``value`` for one per trial)
    summary_stat: Mapping[str, str]
    conventions_anchor: str
    code: tuple[str, ...]
    tests: tuple[str, ...]
    #: registry metric names whose entries interpret it (references, cut-offs, measurement error)
    registry_metrics: tuple[str, ...] = ()
    #: registry reference ids that interpret or qualify it
    references: tuple[str, ...] = ()
    sources: Mapping[str, SourceDefinition] = field(default_factory=dict)
    #: gait curves: how the peak is taken within a stance (``max`` or ``abs``: farthest from zero)
    peak_rule: Literal["max", "abs"] | None = None
    #: ``derived``: the curve and statistic it summarises
    derived_from: tuple[str, str] | None = None
    #: lab trials only
    lab_only: bool = False

    @property
    def task_groups(self) -> tuple[str, ...]:
        return tuple(self.summary_stat)

    def baseline(self, source: str) -> str | None:
        s = self.sources.get(source)
        return s.baseline if s else None


_ANGLES2D = "medius.kinematics.angles2d"
_ANGLES3D = "medius.kinematics.angles3d"
_GAITP = "medius.protocols._gait"
_T2D = "tests/test_kinematics_angles2d.py"
_CONV_SIGNS = "metrics-and-signs"
_CONV_GAIT = "gait-walking-running"

_SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="fppa_deg", kind="curve", unit="deg", unit_symbol="°", short_label="Knee FPPA",
        label="knee frontal-plane projection angle (FPPA)",
        sign="positive = the knee medial to the hip–ankle line (dynamic valgus); negative = varus",
        summary_stat={SINGLE_LEG: "at_bottom", GAIT: "at_mid_stance"}, peak_rule="abs",
        conventions_anchor=_CONV_SIGNS, code=(f"{_ANGLES2D}.compute_fppa",),
        tests=(f"{_T2D}::test_fppa_sign_is_medial_knee_positive", f"{_T2D}::test_fppa_known_angles_both_sides_both_views"),
        registry_metrics=("fppa_deg",),
        references=("fppa.sls.controls.herrington2014", "fppa.sls.pfp.herrington2014", "fppa.error.munro2012",
                    "fppa.sls.error.gwynne2014", "fppa.gait.no_reference"),
    ),
    MetricSpec(
        name="pelvic_drop_deg", kind="curve", unit="deg", unit_symbol="°", short_label="Pelvic drop",
        label="contralateral pelvic drop",
        sign="positive = the side of the free (swing) leg is lower",
        summary_stat={SINGLE_LEG: "at_bottom", GAIT: "peak"}, peak_rule="max",
        conventions_anchor=_CONV_SIGNS,
        code=(f"{_ANGLES2D}.compute_pelvic_tilt", f"{_ANGLES2D}.relative_to_baseline",
              f"{_ANGLES3D}.compute_pelvic_drop_3d"),
        tests=(f"{_T2D}::test_pelvic_tilt_positive_when_free_hip_lower", f"{_T2D}::test_relative_to_baseline_value_and_mask",
               "tests/test_kinematics_3d.py::test_sign_pelvis_tilt_obliquity_rotation_and_drop"),
        registry_metrics=("pelvic_drop_deg",),
        references=("pelvic_drop.single_leg.no_reference", "pelvic_drop.walk.no_reference",
                    "pelvic_drop.running.no_reference"),
        sources={
            "video": SourceDefinition(
                baseline="standing: the median pelvic tilt over the 0.3 s before the rep starts is subtracted"),
            "gait_video": SourceDefinition(
                definition="contralateral pelvic drop: the tilt of the line joining the hip centres against the "
                "image horizontal, positive when the side of the swing leg is lower; per stance its peak (largest "
                "value from foot strike to foot off) and its value at mid-stance.",
                caveat="Hip centres are estimated from skin-surface pose keypoints; a phone that is not level adds "
                "its roll to one side and takes it from the other.",
                baseline="none: the tilt against the image horizontal"),
            "gait_lab": SourceDefinition(
                definition="contralateral pelvic drop: ISB pelvic obliquity (Cardan Z-X-Y of the ASIS/PSIS pelvis "
                "frame against the lab) seen from the stance leg, positive when the side of the swing leg is lower; "
                "per stance its peak and its value at mid-stance.",
                caveat="Against the lab horizontal; the frontal projection (frontal_2d) differs from it when the "
                "pelvis is tilted and rotated at the same time.",
                baseline="none: the obliquity against the lab horizontal (pelvic_drop_vs_standing_deg subtracts "
                "the static trial's)"),
            "gait_lab_frontal_2d": SourceDefinition(
                definition="the 2D pelvic tilt of the frontal projection of the lab hip centres",
                baseline="none: the tilt against the lab horizontal"),
        },
    ),
    MetricSpec(
        name="trunk_lean_deg", kind="curve", unit="deg", unit_symbol="°", short_label="Trunk lean",
        label="lateral trunk lean", sign="positive = the shoulders towards the stance leg",
        summary_stat={SINGLE_LEG: "at_bottom", GAIT: "peak"}, peak_rule="abs",
        conventions_anchor=_CONV_SIGNS, code=(f"{_ANGLES2D}.compute_trunk_lean",),
        tests=(f"{_T2D}::test_trunk_lean_positive_towards_stance_side",),
        registry_metrics=("trunk_lean_deg",),
        references=("trunk_lean.single_leg.no_reference", "trunk_lean.gait.no_reference"),
        sources={
            "gait_lab": SourceDefinition(
                caveat="From the frontal projection of the hip centres and the shoulder markers, against the lab "
                "vertical."),
        },
    ),
    MetricSpec(
        name="hip_adduction_deg", kind="curve", unit="deg", unit_symbol="°", short_label="Hip adduction",
        label="hip adduction", sign="positive = the knee towards the midline; negative = abduction",
        summary_stat={SINGLE_LEG: "at_bottom", GAIT: "peak"}, peak_rule="max",
        conventions_anchor=_CONV_SIGNS, code=(f"{_ANGLES2D}.compute_hip_adduction", f"{_ANGLES3D}.compute_hip_angles"),
        tests=(f"{_T2D}::test_hip_adduction_level_pelvis_equals_thigh_angle",
               "tests/test_kinematics_3d.py::test_sign_hip_adduction_is_knee_towards_midline_on_both_sides"),
        registry_metrics=("hip_adduction_deg",),
        references=("hip_adduction.single_leg.no_reference", "hip_adduction.walk.no_reference",
                    "hip_adduction.running.no_reference", "hip_adduction.running.pfp.noehren2013"),
        sources={
            "gait_lab": SourceDefinition(
                label="hip adduction (3D, ISB)",
                definition="hip adduction of the stance leg: Cardan Z-X-Y angle of the femur (hip centre by "
                "Harrington et al. 2007, knee centre, epicondyles) in the pelvis frame, positive towards the "
                "midline; per stance its peak.",
                caveat="Depends on the hip-centre regression and the knee centre (docs/lab-kinematics.md)."),
        },
    ),
    MetricSpec(
        name="depth_pct", kind="curve", unit="pct", unit_symbol="%", short_label="Squat depth",
        label="squat depth", sign="positive = the mid-hip lower than standing",
        summary_stat={SINGLE_LEG: "at_bottom"}, conventions_anchor=_CONV_SIGNS,
        code=(f"{_ANGLES2D}.compute_depth_pct",), tests=(f"{_T2D}::test_depth_pct",),
        registry_metrics=("depth_pct",), references=("depth.single_leg.no_reference",),
    ),
    MetricSpec(
        name="knee_medial_displacement_pct", kind="curve", unit="pct", unit_symbol="%",
        short_label="Knee medial displacement", label="knee medial displacement",
        sign="positive = the knee medial of the foot centre",
        summary_stat={SINGLE_LEG: "at_bottom"}, conventions_anchor=_CONV_SIGNS,
        code=(f"{_ANGLES2D}.compute_knee_medial_displacement_pct",), tests=(f"{_T2D}::test_knee_medial_displacement_pct",),
        registry_metrics=("knee_medial_displacement_pct",),
        references=("knee_medial_displacement.single_leg.no_reference",),
    ),
    MetricSpec(
        name="pelvic_drop_midstance_deg", kind="derived", unit="deg", unit_symbol="°",
        short_label="Pelvic drop at mid-stance", label="contralateral pelvic drop at mid-stance",
        sign="positive = the side of the swing leg is lower",
        summary_stat={GAIT: "at_mid_stance"}, derived_from=("pelvic_drop_deg", "at_mid_stance"),
        conventions_anchor=_CONV_GAIT, code=(f"{_GAITP}.evaluate_trendelenburg",),
        tests=("tests/test_gait_protocol.py::test_trendelenburg_rule_comes_from_the_registry",),
        registry_metrics=("pelvic_drop_midstance_deg",), references=("trendelenburg_pattern.gait.magee",),
    ),
    MetricSpec(
        name="stance_time_s", kind="stance_value", unit="s", unit_symbol="s", short_label="Stance time",
        label="stance time", sign="always positive", summary_stat={GAIT: "mean"},
        conventions_anchor=_CONV_GAIT, code=(f"{_GAITP}.measure_stances",),
        tests=("tests/test_gait_protocol.py::test_measure_stances_known_answers",),
    ),
    MetricSpec(
        name="step_time_s", kind="stance_value", unit="s", unit_symbol="s", short_label="Step time",
        label="step time", sign="always positive", summary_stat={GAIT: "mean"},
        conventions_anchor=_CONV_GAIT, code=(f"{_GAITP}.measure_stances",),
        tests=("tests/test_gait_protocol.py::test_measure_stances_known_answers",),
    ),
    MetricSpec(
        name="step_width_pct", kind="stance_value", unit="pct", unit_symbol="% of hip width",
        short_label="Step width", label="step width", sign="always positive (a crossover gait is not signed)",
        summary_stat={GAIT: "mean"}, conventions_anchor=_CONV_GAIT, code=(f"{_GAITP}.measure_stances",),
        tests=("tests/test_gait_protocol.py::test_step_width_follows_a_drifting_line_of_progression",),
        registry_metrics=("step_width_pct",),
    ),
    MetricSpec(
        name="step_width_cm", kind="stance_value", unit="cm", unit_symbol="cm", short_label="Step width",
        label="step width (lab)", sign="always positive", summary_stat={GAIT: "mean"}, lab_only=True,
        conventions_anchor=_CONV_GAIT, code=(f"{_GAITP}.measure_stances",),
        tests=("tests/test_cli_gait.py::test_synthetic_c3d_known_answers_through_the_cli",),
        registry_metrics=("step_width_cm",),
    ),
    MetricSpec(
        name="cadence_steps_per_min", kind="trial", unit="steps_per_min", unit_symbol="steps/min",
        short_label="Cadence", label="cadence", sign="not applicable", summary_stat={GAIT: "value"},
        conventions_anchor=_CONV_GAIT, code=(f"{_GAITP}.compute_gait_summary",),
        tests=("tests/test_cli_gait.py::test_synthetic_c3d_known_answers_through_the_cli",),
        registry_metrics=("cadence_steps_per_min",),
    ),
)

#: every metric, by name, in definition order
METRIC_SPECS: Mapping[str, MetricSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: report order per task group (the order of the tables, the CSV columns and the plots)
_ORDER: dict[str, tuple[str, ...]] = {
    SINGLE_LEG: ("fppa_deg", "pelvic_drop_deg", "trunk_lean_deg", "hip_adduction_deg", "depth_pct",
                 "knee_medial_displacement_pct"),
    GAIT: ("pelvic_drop_deg", "hip_adduction_deg", "trunk_lean_deg", "fppa_deg", "pelvic_drop_midstance_deg",
           "stance_time_s", "step_time_s", "step_width_pct", "step_width_cm", "cadence_steps_per_min"),
}


def spec(name: str) -> MetricSpec:
    """The specification of one metric (``KeyError`` naming it when there is none)."""
    try:
        return METRIC_SPECS[name]
    except KeyError:
        raise KeyError(f"no metric specification for {name!r}; known: {', '.join(METRIC_SPECS)}") from None


def metric_names(group: str, *kinds: str) -> tuple[str, ...]:
    """The metrics of a task group in report order, optionally of the given kinds only."""
    return tuple(m for m in _ORDER[group] if not kinds or METRIC_SPECS[m].kind in kinds)


def summary_stat(group: str, *kinds: str) -> dict[str, str]:
    """Metric -> the statistic that summarises it in this task group."""
    return {m: METRIC_SPECS[m].summary_stat[group] for m in metric_names(group, *kinds)}


def gait_definitions() -> dict[str, dict[str, dict[str, str]]]:
    """The gait curves' texts per source (``"video"``/``"lab"``), overriding the registry's."""
    return {
        m: {src: METRIC_SPECS[m].sources[key].result_texts() if key in METRIC_SPECS[m].sources else {}
            for src, key in (("video", "gait_video"), ("lab", "gait_lab"))}
        for m in metric_names(GAIT, "curve")
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def conventions_gait_table() -> str:
    """The gait metrics of ``docs/conventions.md`` ("Gait": name, unit, summary statistic, peak rule,
    baseline per source), generated from the specification."""
    rows = ["| metric | unit | per stance | summary statistic | baseline (video / lab) |", "|---|---|---|---|---|"]
    for m in metric_names(GAIT):
        s = METRIC_SPECS[m]
        per = {"curve": f"peak ({'largest' if s.peak_rule == 'max' else 'farthest from zero'}), at mid-stance",
               "stance_value": "one value", "trial": "one value per trial",
               "derived": f"{s.derived_from[1] if s.derived_from else ''} of `{s.derived_from[0] if s.derived_from else ''}`"}[s.kind]
        base = " / ".join(b for b in (s.baseline("gait_video"), s.baseline("gait_lab")) if b) or "—"
        rows.append(f"| `{m}` | {_cell(s.unit_symbol)} | {per} | {s.summary_stat[GAIT]} | {_cell(base)} |")
    return "\n".join(rows)


def spec_markdown_table() -> str:
    """Every metric's one-hop entry (docs/conventions.md, "Metric specification"): unit, statistic per
    task group, code, test, registry entries; generated from the specification."""
    rows = ["| metric | unit | summary statistic | code | test | registry |", "|---|---|---|---|---|---|"]
    for s in METRIC_SPECS.values():
        stats = ", ".join(f"{g}: {st}" for g, st in s.summary_stat.items())
        code = "<br>".join(f"`{c}`" for c in s.code)
        tests = "<br>".join(f"`{t}`" for t in s.tests)
        reg = "<br>".join(f"`{r}`" for r in (*s.registry_metrics, *s.references)) or "—"
        rows.append(f"| `{s.name}` | {_cell(s.unit_symbol)} | {stats} | {code} | {tests} | {reg} |")
    return "\n".join(rows)
