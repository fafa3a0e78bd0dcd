"""Acquisition functions: which galaxies a label would help most, from samples of the model (dropout or Laplace).

Strategies (:data:`STRATEGIES`):

- ``'random'``: a seeded random order (the baseline every other strategy must beat).
- ``'entropy'``: predictive entropy, how uncertain the prediction is for any reason, including
  galaxies that are simply ambiguous (volunteers disagree about them however well the model is trained).
- ``'bald'``: mutual information between the outcome and the model's weights (Houlsby et al. 2011,
  "Bayesian Active Learning by Disagreement"): high where the model's samples disagree, the part of
  the uncertainty a label would remove. It needs several passes (``n_samples > 1``).

For a classifier the outcome is the class (a multi-label classifier: each label, yes or no, the
labels' scores summed). For a vote-count tree it is the votes that ``N`` volunteers
would give each question (Dirichlet-multinomial, as in Walmsley et al. 2020); ``N`` for a question is
the volunteers who classify the galaxy times the predicted chance that a volunteer is asked that
question, so follow-up questions that would rarely be asked count little. Per question, or the sum
over questions (the outcomes of different questions are independent given the weights, so the sum
bounds the information of all the votes together). For a regressor (no likelihood of its own) both
'entropy' and 'bald' rank by the spread of the passes: with Gaussian noise of fixed scale, both grow
with it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from zoobot import defaults
from zoobot.uncertainty.intervals import as_passes

__all__ = [
    "STRATEGIES",
    "SELECTIONS",
    "Strategy",
    "Selection",
    "acquisition_scores",
    "expected_question_volunteers",
    "random_scores",
    "select_batch",
]

Strategy = Literal["random", "entropy", "bald"]
STRATEGIES: tuple[str, ...] = ("random", "entropy", "bald")
Selection = Literal["top", "power"]
SELECTIONS: tuple[str, ...] = ("top", "power")


def expected_question_volunteers(concentrations: Any, schema: Any, n_volunteers: float = 40) -> np.ndarray:
    """``(B, n_questions)`` volunteers expected to answer each question when ``n_volunteers`` classify a galaxy.

    The chance that a volunteer is asked a question is the product of the predicted vote fractions of
    the answers leading to it (mean over passes), as in :func:`zoobot.losses.prob_question_asked`.
    """
    import torch

    from zoobot.losses import prob_question_asked
    from zoobot.tree_summary import answer_fractions

    fractions = answer_fractions(as_passes(concentrations), schema.question_index_groups)
    asked = prob_question_asked(torch.as_tensor(fractions.mean(axis=0)), schema).numpy()
    return np.rint(np.asarray(n_volunteers, dtype=np.float64).reshape(-1, 1) * asked).astype(np.int64)


def _check_strategy(strategy: str, n_passes: int) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}.")
    if strategy == "bald" and n_passes < 2:
        raise ValueError(
            "'bald' needs several samples of the model (n_samples, --n-samples: 2 or more; suggest_galaxies "
            f"draws {defaults.SUGGEST_SAMPLES} by default): with one sample the model cannot disagree with itself."
        )


def random_scores(n: int, seed: int = 0) -> np.ndarray:
    """The ``'random'`` strategy's scores for ``n`` galaxies: uniform draws, seeded (no model needed)."""
    return np.asarray(np.random.default_rng(seed).random(n))


def acquisition_scores(
    samples: Any,
    task: str,
    strategy: Strategy = "bald",
    schema: Any = None,
    question: str | None = None,
    n_volunteers: float = 40,
    seed: int = 0,
    multilabel: bool = False,
) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Score every galaxy for labelling: higher is more useful.

    Args:
        samples: ``(S, B, K)`` samples (dropout passes or Laplace draws: probabilities, values or concentrations).
        task: ``'classification'``, ``'regression'`` or ``'tree'``.
        strategy: ``'random'``, ``'entropy'`` or ``'bald'``.
        schema: the tree (tree only).
        question: tree only: score this question alone (its text, e.g. ``'bar-dr5'``); None sums all.
        n_volunteers: tree only: volunteers who would classify each galaxy.
        seed: seeds ``'random'`` and any sampled vote splits.
        multilabel: classification only: the samples are independent yes/no probabilities per label
            column (a multi-label classifier), not one distribution over classes.

    Returns:
        ``(scores (B,), per_question)``; ``per_question`` is a ``(B, n_questions)`` table of the tree's
        scores by question (None for other tasks and for ``'random'``).
    """
    passes = as_passes(samples)
    _check_strategy(strategy, passes.shape[0])
    n = passes.shape[1]
    if strategy == "random":
        return random_scores(n, seed), None
    if task == "classification":
        from zoobot.uncertainty.information import bernoulli_information, categorical_information

        entropy, information = (bernoulli_information if multilabel else categorical_information)(passes)
        return (entropy if strategy == "entropy" else information), None
    if task == "regression":
        return np.asarray(passes.std(axis=0).sum(axis=-1)), None
    if task != "tree":
        raise ValueError(f"task must be 'classification', 'regression' or 'tree', not {task!r}.")
    if schema is None:
        raise ValueError("Scoring a tree's galaxies needs its schema.")
    from zoobot.uncertainty.information import dirichlet_multinomial_information

    names = [q.text for q in schema.questions]
    if question is not None and question not in names:
        raise ValueError(f"Question {question!r} is not in the schema; choose one of {names}.")
    volunteers = expected_question_volunteers(passes, schema, n_volunteers)
    entropy, information = dirichlet_multinomial_information(
        passes, [tuple(g) for g in schema.question_index_groups], volunteers, seed=seed
    )
    per_question = pd.DataFrame(entropy if strategy == "entropy" else information, columns=names)
    scores = per_question[question].to_numpy() if question else per_question.to_numpy().sum(axis=1)
    return scores, per_question


def select_batch(scores: Any, n: int, selection: Selection = "top", power: float = 1.0, seed: int = 0) -> np.ndarray:
    """Which ``n`` galaxies to label together, from their acquisition scores; indices, first pick first.

    - ``'top'``: the ``n`` highest scores. Galaxies that look alike score alike, so a large batch can
      be many near-copies of one kind of galaxy.
    - ``'power'``: ``n`` drawn without replacement with chance proportional to ``score ** power``
      (stochastic power acquisition, Kirsch et al. 2023, "Stochastic Batch Acquisition: A Simple
      Baseline for Deep Active Learning"), drawn as the top ``n`` of ``power * log(score)`` plus
      Gumbel noise: high scores still come first on the whole, but a batch spreads over the
      galaxies that are nearly as useful. Galaxies with a score of 0 come after all others.

    Args:
        scores: ``(B,)`` acquisition scores (higher is more useful, >= 0 for ``'power'``).
        n: batch size (at most ``B``).
        selection: ``'top'`` or ``'power'``.
        power: the exponent for ``'power'`` (larger is nearer ``'top'``).
        seed: seeds the draws.
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = min(int(n), len(values))
    if selection == "top":
        return np.argsort(-values, kind="stable")[:n]
    if selection != "power":
        raise ValueError(f"selection must be one of {', '.join(SELECTIONS)}, not {selection!r}.")
    if not power > 0:
        raise ValueError(f"power must be above 0, got {power}.")
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore"):
        keys = power * np.log(np.clip(values, 0.0, None)) + rng.gumbel(size=len(values))
    keys = np.where(np.isfinite(keys), keys, -np.inf)
    order = np.lexsort((rng.random(len(values)), -keys))  # zero scores: at the end, in random order
    return order[:n]
