"""Simulated Galaxy Zoo volunteers who walk the GZ DECaLS DR5 decision tree (:func:`simulate_votes`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from zoobot.survey.errors import SurveyError
from zoobot.survey.morphology import GalaxyParams, _sigmoid

if TYPE_CHECKING:
    from zoobot.schemas import Question, Schema

SCHEMA_NAME = "decals_dr5"
"""The tree the simulated volunteers know (named in :func:`zoobot.trees.get_schema`)."""

CARELESSNESS_SHAPE, CARELESSNESS_SCALE = 4.0, 0.25
"""Each volunteer's carelessness is drawn from a Gamma distribution of this shape and scale (mean 1)."""
MAX_ERROR_RATE = 0.85
"""No volunteer errs more often than this, however careless and however faint the galaxy."""

# question (without campaign suffix) -> (base error rate, extra error for the faintest galaxies,
# whether answers are ordered so that mistakes land on neighbouring answers)
_DIFFICULTY: dict[str, tuple[float, float, bool]] = {
    "smooth-or-featured": (0.08, 0.25, False),
    "disk-edge-on": (0.04, 0.15, False),
    "has-spiral-arms": (0.07, 0.3, False),
    "bar": (0.12, 0.3, True),
    "bulge-size": (0.15, 0.3, True),
    "how-rounded": (0.1, 0.2, True),
    "edge-on-bulge": (0.12, 0.3, False),
    "spiral-winding": (0.18, 0.3, True),
    "spiral-arm-count": (0.12, 0.35, True),
    "merging": (0.05, 0.2, True),
}


def _bumps(value: float, centres: list[float], width: float) -> list[float]:
    return [math.exp(-0.5 * ((value - c) / width) ** 2) + 1e-3 for c in centres]


def _towards(value, target, weight: float):
    """``value`` moved a fraction ``weight`` of the way to ``target``."""
    return value + (target - value) * weight


def _ideal_answers(p: GalaxyParams) -> dict[str, dict[str, float]]:
    """What a careful volunteer would answer to each question, as unnormalised answer weights.

    Keys are question names without the campaign suffix, then answer suffixes without the ``_``.
    Questions a careful volunteer would not reach (e.g. bar for an elliptical) still get the
    answer a volunteer who took that branch by mistake would most likely give.
    """
    vis = p.visibility
    room = max(1.0 - p.bulge_to_total, 1e-6)
    arm_strength = min(1.0, p.arm_fraction / room / 0.45) if p.arm_count else 0.0
    bar_strength = {"none": 0.0, "weak": 0.5, "strong": 1.0}[p.bar]
    disturbed = p.disturbance in ("major_disturbance", "merger")
    # A ring is a sign of a disk ("featured"), and volunteers often take it for tightly wound arms
    # with no countable number; the fainter the ring, the less it sways them.
    ring_seen = p.ring * vis * min(1.0, p.ring_fraction / 0.1)

    if p.morphology == "elliptical":
        featured = _towards(0.04 + 0.3 * p.ring + 0.15 * disturbed, 1.0, 0.8 * ring_seen)
    elif p.morphology == "edge_on":
        featured = 0.6 + 0.35 * vis
    else:
        structure = max(arm_strength, 0.9 * bar_strength, 0.7 * p.ring, 1.0 - p.bulge_to_total)
        featured = _towards(min(0.97, 0.12 + 0.85 * structure * vis + 0.1 * disturbed), 1.0, 0.6 * ring_seen)
    artifact = {"none": 0.01, "star": 0.8, "trail": 0.6}[p.artifact]

    if p.morphology == "edge_on":
        edge_on = 0.97
    elif p.morphology == "disk":
        edge_on = 0.02 + 0.8 * _sigmoid((0.32 - p.axis_ratio) / 0.04)
    else:
        edge_on = 0.35 if p.axis_ratio < 0.45 else 0.03

    if p.arm_count:
        spiral = 0.35 + 0.6 * vis * arm_strength
    else:
        spiral = _towards(0.04 + 0.2 * p.ring + 0.1 * disturbed, 1.0, 0.5 * ring_seen)

    bar = {"strong": [0.75, 0.2, 0.05], "weak": [0.12, 0.5, 0.38], "none": [0.02, 0.08, 0.9]}[p.bar]
    bar = [vis * b + (1 - vis) * faint for b, faint in zip(bar, [0.02, 0.1, 0.88])]

    if p.morphology == "edge_on":
        edge_on_bulge = {"boxy": [0.65, 0.1, 0.25], "none": [0.05, 0.8, 0.15], "rounded": [0.1, 0.12, 0.78]}[
            p.edge_on_bulge
        ]
    else:
        edge_on_bulge = [0.05, 0.8, 0.15] if p.bulge_to_total < 0.05 else [0.05, 0.2, 0.75]

    winding = {
        "tight": [0.72, 0.24, 0.04],
        "medium": [0.17, 0.66, 0.17],
        "loose": [0.04, 0.26, 0.7],
        "none": [0.3, 0.45, 0.25],
    }[p.arm_winding]
    winding = _towards(np.array(winding), np.array([0.8, 0.17, 0.03]), (0.3 if p.arm_count else 0.6) * ring_seen)

    if p.arm_count:
        counts = [math.exp(-abs(k - p.arm_count) / 0.5) for k in range(1, 6)]
        cant_tell = 0.08 + 0.5 * (1 - vis) + 0.15 * (p.arm_count >= 4)
    else:
        counts, cant_tell = [0.05, 0.25, 0.05, 0.02, 0.02], 0.6
    cant_tell = _towards(cant_tell, 1.0, 0.3 * ring_seen)
    arm_counts = [c * (1 - cant_tell) / sum(counts) for c in counts] + [cant_tell]

    merging = {
        "none": [0.9, 0.08, 0.015, 0.005],
        "minor_disturbance": [0.35, 0.5, 0.12, 0.03],
        "major_disturbance": [0.06, 0.3, 0.5, 0.14],
        "merger": [0.02, 0.06, 0.22, 0.7],
    }[p.disturbance]

    return {
        "smooth-or-featured": {
            "smooth": (1 - artifact) * (1 - featured),
            "featured-or-disk": (1 - artifact) * featured,
            "artifact": artifact,
        },
        "disk-edge-on": {"yes": edge_on, "no": 1 - edge_on},
        "has-spiral-arms": {"yes": spiral, "no": 1 - spiral},
        "bar": dict(zip(["strong", "weak", "no"], bar)),
        "bulge-size": dict(
            zip(
                ["dominant", "large", "moderate", "small", "none"],
                _bumps(p.bulge_to_total, [0.75, 0.5, 0.3, 0.14, 0.0], 0.09 + 0.05 * (1 - vis)),
            )
        ),
        "how-rounded": dict(zip(["round", "in-between", "cigar-shaped"], _bumps(p.axis_ratio, [0.92, 0.62, 0.3], 0.1))),
        "edge-on-bulge": dict(zip(["boxy", "none", "rounded"], edge_on_bulge)),
        "spiral-winding": dict(zip(["tight", "medium", "loose"], winding)),
        "spiral-arm-count": dict(zip(["1", "2", "3", "4", "more-than-4", "cant-tell"], arm_counts)),
        "merging": dict(zip(["none", "minor-disturbance", "major-disturbance", "merger"], merging)),
    }


def _question_key(question_text: str) -> str:
    """``'bar-dr5'`` -> ``'bar'``: the question without its campaign suffix."""
    for key in _DIFFICULTY:
        if question_text == key or question_text.startswith(key + "-"):
            return key
    raise SurveyError(
        f"The synthetic volunteers cannot answer question {question_text!r}: they know the "
        f"GZ DECaLS questions {sorted(_DIFFICULTY)}. Use the '{SCHEMA_NAME}' schema."
    )


def _confusion(key: str, n_answers: int, ordinal: bool) -> np.ndarray:
    """Row-stochastic matrix: where a volunteer's mistake lands, given the answer they meant."""
    index = np.arange(n_answers)
    distance = np.abs(index[:, None] - index[None, :])
    weights = np.exp(-(distance - 1.0)) if ordinal else np.ones((n_answers, n_answers))
    if key == "smooth-or-featured":  # volunteers rarely call a clean galaxy image an artifact
        weights[:, -1] = 0.1
    np.fill_diagonal(weights, 0.0)
    return weights / weights.sum(axis=1, keepdims=True)


def _error_rate_per_carelessness(key: str, visibility: float) -> float:
    """How often a volunteer of carelessness 1 errs on question ``key`` (before the 0.85 cap)."""
    base, faint, _ = _DIFFICULTY[key]
    return base + faint * (1 - visibility)


def _answer_probabilities(
    question: Question, ideal: dict[str, float], key: str, visibility: float, carelessness: np.ndarray
) -> np.ndarray:
    """``(n_volunteers, n_answers)``: the chance that each volunteer gives each answer of ``question``.

    A volunteer means the careful answer (``ideal``, normalised) and errs with a rate that grows with
    their carelessness and the galaxy's faintness, capped at 0.85; a mistake lands on the other
    answers as :func:`_confusion` says. :func:`simulate_votes` draws from these probabilities and
    :func:`zoobot.survey.answer_probabilities` averages them over the carelessness distribution.
    """
    weights = np.array([ideal[answer.suffix.lstrip("_")] for answer in question.answers])
    meant = weights / weights.sum()
    _, _, ordinal = _DIFFICULTY[key]
    error = np.clip(carelessness * _error_rate_per_carelessness(key, visibility), 0, MAX_ERROR_RATE)
    mistaken = meant @ _confusion(key, len(meant), ordinal)
    return (1 - error)[:, None] * meant + error[:, None] * mistaken


def _walk_order(schema: Schema) -> list[Question]:
    """The schema's questions with every question after the one whose answer leads to it."""
    ordered: list = []
    seen: set[str] = set()

    def visit(question: Question) -> None:
        if question.text in seen:
            return
        if question.asked_after is not None:
            visit(question.asked_after.question)
        seen.add(question.text)
        ordered.append(question)

    for question in schema.questions:
        visit(question)
    return ordered


def sample_volunteer_count(rng: np.random.Generator) -> int:
    """How many volunteers classify a galaxy: ~35% get 5-11 (retired early), the rest 30-40."""
    if rng.random() < 0.35:
        return int(rng.integers(5, 12))
    return int(rng.integers(30, 41))


def simulate_votes(
    params: GalaxyParams, schema: Schema, rng: np.random.Generator, n_volunteers: int | None = None
) -> dict[str, int]:
    """Simulate Galaxy Zoo volunteers classifying one galaxy through a decision tree.

    Each volunteer answers every question always asked, then only the questions that follow the
    answers they gave. They answer from the true morphology but make mistakes: more on harder
    questions, more on fainter or smaller galaxies, and some volunteers more than others. The DR5
    tree has no ring question, but a visible ring sways the answers as it does real volunteers':
    it is a sign of a disk ("featured"), and is often taken for tightly wound spiral arms whose
    number cannot be told.

    Args:
        params: the galaxy's true morphology.
        schema: a GZ DECaLS tree, e.g. ``get_schema('decals_dr5')``.
        rng: random generator for the volunteers.
        n_volunteers: how many volunteers; drawn with :func:`sample_volunteer_count` if None.

    Returns:
        Vote count for every answer column of ``schema`` (0 where no volunteer was asked).

    Raises:
        SurveyError: if the schema has a question or answer the volunteers do not know (they
            know the GZ DECaLS DR5 tree), or ``n_volunteers`` is below 1.
    """
    if n_volunteers is None:
        n_volunteers = sample_volunteer_count(rng)
    elif n_volunteers < 1:
        raise SurveyError(f"n_volunteers must be at least 1; got {n_volunteers}.")
    ideal = _ideal_answers(params)
    carelessness = rng.gamma(CARELESSNESS_SHAPE, CARELESSNESS_SCALE, n_volunteers)  # mean 1: some err more
    chosen: dict[str, np.ndarray] = {}  # answer column -> which volunteers gave it
    votes: dict[str, int] = {}
    for question in _walk_order(schema):
        key = _question_key(question.text)
        parent = question.asked_after
        asked = np.ones(n_volunteers, dtype=bool) if parent is None else chosen[parent.text]
        unknown = [a.text for a in question.answers if a.suffix.lstrip("_") not in ideal[key]]
        if unknown:
            raise SurveyError(
                f"The synthetic volunteers cannot give the answers {unknown}; they "
                f"know the GZ DECaLS DR5 answers. Use the '{SCHEMA_NAME}' schema."
            )
        probs = _answer_probabilities(question, ideal[key], key, params.visibility, carelessness)
        picks = (probs.cumsum(axis=1) < rng.random(n_volunteers)[:, None]).sum(axis=1)
        picks = np.minimum(picks, len(question.answers) - 1)  # guards the last bin against rounding
        for index, answer in enumerate(question.answers):
            gave = asked & (picks == index)
            chosen[answer.text] = gave
            votes[answer.text] = int(gave.sum())
    return {col: votes[col] for col in schema.label_cols}
