"""Questionnaires with exact scoring: Kujala AKPS (1993, 13 items), LEFS (20 items), NPRS (0–10).

Pinned versions
---------------
``kujala1993``
    Kujala et al. 1993 (Arthroscopy 9:159–163), 13 items, 0–100, 100 = no problems; item options
    and points as published, reproduced in J Orthop 2023;42:54–62 (PMC10362729) and in the medius
    clinical facts sheet §5.1. Answers are the option letters a, b, c ... in the order printed on
    the form (or the option's points, which are unique within each item). Some online calculators
    differ (limp "constant" = 2, squatting "partial weight-bearing" = 1): those are other versions.
``lefs1999``
    Binkley et al. 1999 (Phys Ther 79:371–383): 20 items, each 0 (extreme difficulty or unable) to 4
    (no difficulty), total 0–80, higher = better. Item wording of items 8–20 is from open-source
    implementations and not verified against the form (facts sheet §5.3).
``nprs``
    numeric pain rating scale, one whole number 0 (no pain) to 10 (worst pain imaginable).

The minimal important differences and measurement errors are not here: they are registry entries
(``questionnaire_improvement`` cut-offs and ``questionnaire_score`` measurement errors), looked up
with :func:`questionnaire_thresholds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from medius.registry import Reference, load_registry

__all__ = [
    "KUJALA_1993",
    "KUJALA_VERSION",
    "LEFS_ITEMS",
    "LEFS_VERSION",
    "QUESTIONNAIRE_TASKS",
    "QuestionnaireScore",
    "kujala_item_points",
    "questionnaire_thresholds",
    "score_kujala",
    "score_lefs",
    "score_nprs",
]

KUJALA_VERSION: Final = "kujala1993"
LEFS_VERSION: Final = "lefs1999"

#: registry task of each questionnaire
QUESTIONNAIRE_TASKS: dict[str, str] = {"kujala": "kujala-akps", "lefs": "lefs", "nprs": "nprs"}

#: Kujala et al. 1993: item key -> (label, [(letter, option text, points), ...]) in form order
KUJALA_1993: dict[str, tuple[str, tuple[tuple[str, str, int], ...]]] = {
    "limp": ("Limp", (("a", "none", 5), ("b", "slight or periodical", 3), ("c", "constant", 0))),
    "support": (
        "Support (weight-bearing)",
        (("a", "full support without pain", 5), ("b", "painful", 3), ("c", "weight-bearing impossible", 0)),
    ),
    "walking": (
        "Walking",
        (("a", "unlimited", 5), ("b", "more than 2 km", 3), ("c", "1–2 km", 2), ("d", "unable", 0)),
    ),
    "stairs": (
        "Stairs",
        (
            ("a", "no difficulty", 10),
            ("b", "slight pain when descending", 8),
            ("c", "pain both when descending and ascending", 5),
            ("d", "unable", 0),
        ),
    ),
    "squatting": (
        "Squatting",
        (
            ("a", "no difficulty", 5),
            ("b", "repeated squatting painful", 4),
            ("c", "painful each time", 3),
            ("d", "possible with partial weight-bearing", 2),
            ("e", "unable", 0),
        ),
    ),
    "running": (
        "Running",
        (
            ("a", "no difficulty", 10),
            ("b", "pain after more than 2 km", 8),
            ("c", "slight pain from start", 6),
            ("d", "severe pain", 3),
            ("e", "unable", 0),
        ),
    ),
    "jumping": (
        "Jumping",
        (("a", "no difficulty", 10), ("b", "slight difficulty", 7), ("c", "constant pain", 2), ("d", "unable", 0)),
    ),
    "prolonged_sitting": (
        "Prolonged sitting with the knees flexed",
        (
            ("a", "no difficulty", 10),
            ("b", "pain after exercise", 8),
            ("c", "constant pain", 6),
            ("d", "pain forces to extend knees temporarily", 4),
            ("e", "unable", 0),
        ),
    ),
    "pain": (
        "Pain",
        (
            ("a", "none", 10),
            ("b", "slight and occasional", 8),
            ("c", "interferes with sleep", 6),
            ("d", "occasionally severe", 3),
            ("e", "constant and severe", 0),
        ),
    ),
    "swelling": (
        "Swelling",
        (
            ("a", "none", 10),
            ("b", "after severe exertion", 8),
            ("c", "after daily activities", 6),
            ("d", "every evening", 4),
            ("e", "constant", 0),
        ),
    ),
    "patellar_subluxation": (
        "Abnormal painful kneecap (patellar) movements (subluxations)",
        (
            ("a", "none", 10),
            ("b", "occasionally in sports activities", 6),
            ("c", "occasionally in daily activities", 4),
            ("d", "at least one documented dislocation", 2),
            ("e", "more than two dislocations", 0),
        ),
    ),
    "thigh_atrophy": ("Atrophy of the thigh", (("a", "none", 5), ("b", "slight", 3), ("c", "severe", 0))),
    "flexion_deficiency": (
        "Flexion deficiency",
        (("a", "none", 5), ("b", "slight", 3), ("c", "severe", 0)),
    ),
}

#: LEFS items in form order ("Today, do you or would you have any difficulty at all with: ...")
LEFS_ITEMS: tuple[str, ...] = (
    "any of your usual work, housework or school activities",
    "your usual hobbies, recreational or sporting activities",
    "getting into or out of the bath",
    "walking between rooms",
    "putting on your shoes or socks",
    "squatting",
    "lifting an object, like a bag of groceries, from the floor",
    "performing light activities around your home",
    "performing heavy activities around your home",
    "getting into or out of a car",
    "walking 2 blocks",
    "walking a mile",
    "going up or down 10 stairs (about 1 flight of stairs)",
    "standing for 1 hour",
    "sitting for 1 hour",
    "running on even ground",
    "running on uneven ground",
    "making sharp turns while running fast",
    "hopping",
    "rolling over in bed",
)
LEFS_MIN, LEFS_MAX = 0, 4
NPRS_MIN, NPRS_MAX = 0, 10


@dataclass(frozen=True)
class QuestionnaireScore:
    """A scored questionnaire: ``score`` out of ``maximum`` (``higher_is_better`` says which way)."""

    name: str
    version: str
    score: float
    minimum: float
    maximum: float
    higher_is_better: bool
    items: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "score": self.score,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "higher_is_better": self.higher_is_better,
            "items": [{"item": k, "points": v} for k, v in self.items],
        }


def _options_text(item: str) -> str:
    return ", ".join(f"{letter} ({text}, {pts})" for letter, text, pts in KUJALA_1993[item][1])


def kujala_item_points(item: str, answer: str | int) -> int:
    """Points of one Kujala answer: the option letter (``"b"``) or the option's points (``8``).

    Raises ``ValueError`` naming the item and its allowed options when the item or the answer is
    unknown.
    """
    if item not in KUJALA_1993:
        raise ValueError(f"unknown Kujala item {item!r}; the items are {', '.join(KUJALA_1993)}")
    options = KUJALA_1993[item][1]
    if isinstance(answer, bool):
        raise ValueError(f"{answer!r} is not an option of item {item!r}; allowed: {_options_text(item)}")
    if isinstance(answer, str):
        key = answer.strip().lower()
        for letter, _text, pts in options:
            if key == letter:
                return pts
    elif isinstance(answer, int | float) and float(answer).is_integer():
        for _letter, _text, pts in options:
            if int(answer) == pts:
                return pts
    raise ValueError(f"{answer!r} is not an option of item {item!r}; allowed: {_options_text(item)}")


def score_kujala(answers: dict[str, str | int]) -> QuestionnaireScore:
    """Kujala AKPS (version ``kujala1993``): the sum of the 13 items' points, 0–100.

    Every item must be answered; an unknown item or answer raises ``ValueError`` naming it and the
    allowed values.
    """
    missing = [k for k in KUJALA_1993 if k not in answers]
    if missing:
        raise ValueError(
            f"Kujala item(s) not answered: {', '.join(missing)}; all 13 items are needed "
            f"({', '.join(KUJALA_1993)})"
        )
    extra = [k for k in answers if k not in KUJALA_1993]
    if extra:
        raise ValueError(f"unknown Kujala item(s) {', '.join(map(repr, extra))}; the items are {', '.join(KUJALA_1993)}")
    items = tuple((k, float(kujala_item_points(k, answers[k]))) for k in KUJALA_1993)
    return QuestionnaireScore(
        name="kujala",
        version=KUJALA_VERSION,
        score=float(sum(v for _, v in items)),
        minimum=0.0,
        maximum=float(sum(max(p for _, _, p in opts) for _, opts in KUJALA_1993.values())),
        higher_is_better=True,
        items=items,
    )


def score_lefs(answers: list[int]) -> QuestionnaireScore:
    """LEFS (version ``lefs1999``): the sum of 20 items scored 0–4, total 0–80."""
    if len(answers) != len(LEFS_ITEMS):
        raise ValueError(
            f"the LEFS has {len(LEFS_ITEMS)} items scored {LEFS_MIN}–{LEFS_MAX}; {len(answers)} answers given"
        )
    for i, a in enumerate(answers):
        if isinstance(a, bool) or not isinstance(a, int) or not LEFS_MIN <= a <= LEFS_MAX:
            raise ValueError(
                f"LEFS item {i + 1} ({LEFS_ITEMS[i]}) must be a whole number {LEFS_MIN}–{LEFS_MAX} "
                f"(0 = extreme difficulty or unable, 4 = no difficulty); got {a!r}"
            )
    return QuestionnaireScore(
        name="lefs",
        version=LEFS_VERSION,
        score=float(sum(answers)),
        minimum=0.0,
        maximum=float(LEFS_MAX * len(LEFS_ITEMS)),
        higher_is_better=True,
        items=tuple((str(i + 1), float(a)) for i, a in enumerate(answers)),
    )


def score_nprs(score: int) -> QuestionnaireScore:
    """NPRS: one whole number 0–10 (higher = more pain)."""
    if isinstance(score, bool) or not isinstance(score, int) or not NPRS_MIN <= score <= NPRS_MAX:
        raise ValueError(f"the NPRS is a whole number {NPRS_MIN}–{NPRS_MAX}; got {score!r}")
    return QuestionnaireScore(
        name="nprs", version="nprs", score=float(score), minimum=0.0, maximum=10.0, higher_is_better=False
    )


@dataclass(frozen=True)
class QuestionnaireThresholds:
    """Registry entries for judging a change of one questionnaire."""

    measurement_error: Reference | None
    mcid: Reference | None

    @property
    def mdc_points(self) -> float | None:
        err = self.measurement_error
        return None if err is None or err.mdc is None else err.mdc[1]

    @property
    def mcid_points(self) -> float | None:
        return None if self.mcid is None else self.mcid.cutoff


def questionnaire_thresholds(name: str) -> QuestionnaireThresholds:
    """The MDC (``questionnaire_score`` measurement error) and MCID (``questionnaire_improvement``
    cut-off, the most specific entry) of ``kujala``, ``lefs`` or ``nprs`` from the registry."""
    if name not in QUESTIONNAIRE_TASKS:
        raise ValueError(
            f"Invalid value for the 'name' parameter: allowed values are {', '.join(QUESTIONNAIRE_TASKS)}; got {name!r}"
        )
    reg = load_registry()
    task = QUESTIONNAIRE_TASKS[name]
    err = reg.measurement_error("questionnaire_score", task)
    mcids = reg.references_for("questionnaire_improvement", task, kind="cutoff")
    return QuestionnaireThresholds(measurement_error=err, mcid=mcids[0] if mcids else None)
