"""The exact answer probabilities behind the simulated votes: the truth a vote-count model estimates.

:func:`simulate_votes` draws each volunteer's carelessness from a Gamma distribution and each answer
from probabilities that depend on it. The fraction of many volunteers asked a question who give an
answer tends to the expectation of those probabilities over the carelessness distribution, weighted
by how likely a volunteer of that carelessness is to be asked the question at all (careless
volunteers reach follow-up questions by mistake more often). :func:`answer_probabilities` computes
that expectation by quadrature: the probabilities are polynomials in the carelessness between the
points where a question's error rate reaches its cap, so Gauss-Legendre rules on those pieces are
exact up to rounding, and beyond the last cap nothing changes with carelessness.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache

import numpy as np
import pandas as pd

from zoobot.survey.errors import SurveyError
from zoobot.survey.morphology import GalaxyParams
from zoobot.survey.volunteers import (
    CARELESSNESS_SCALE,
    CARELESSNESS_SHAPE,
    MAX_ERROR_RATE,
    SCHEMA_NAME,
    _answer_probabilities,
    _error_rate_per_carelessness,
    _ideal_answers,
    _question_key,
    _walk_order,
)

if typing.TYPE_CHECKING:
    from zoobot.schemas import Schema

__all__ = ["answer_probabilities", "catalog_answer_probabilities", "params_from_row"]

_NODES_PER_PIECE = 48


@cache
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _carelessness_nodes(breaks: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with ``sum(w * f(c)) = E[f(c)]`` over the carelessness distribution, exact for
    ``f`` a polynomial between consecutive ``breaks`` and constant beyond the last."""
    from scipy import stats

    distribution = stats.gamma(CARELESSNESS_SHAPE, scale=CARELESSNESS_SCALE)
    x, w = _legendre(_NODES_PER_PIECE)
    edges = [0.0, *sorted(set(breaks))]
    nodes, weights = [], []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        half = (high - low) / 2
        c = low + half * (x + 1)
        nodes.append(c)
        weights.append(w * half * distribution.pdf(c))
    nodes.append(np.array([edges[-1] + 1.0]))  # any point beyond the last cap
    weights.append(np.array([distribution.sf(edges[-1])]))
    return np.concatenate(nodes), np.concatenate(weights)


def answer_probabilities(params: GalaxyParams, schema: Schema | None = None) -> dict[str, float]:
    """The probability that a random volunteer asked a question gives each answer, for one galaxy.

    This is what the vote fraction of many volunteers tends to: the truth behind the survey's
    vote counts. It averages the answer probabilities of :func:`simulate_votes` exactly over the
    volunteers' carelessness, counting each volunteer in proportion to their chance of being
    asked the question (a follow-up question is asked after one answer to an earlier one).

    Args:
        params: the galaxy's true morphology.
        schema: a GZ DECaLS tree; default ``get_schema('decals_dr5')``.

    Returns:
        Probability for every answer column of ``schema``; each question's answers sum to 1.

    Raises:
        SurveyError: if the schema has a question the synthetic volunteers do not know.
    """
    if schema is None:
        from zoobot.trees import get_schema

        schema = get_schema(SCHEMA_NAME)
    ideal = _ideal_answers(params)
    order = _walk_order(schema)
    keys = {question.text: _question_key(question.text) for question in order}
    breaks = [MAX_ERROR_RATE / _error_rate_per_carelessness(key, params.visibility) for key in keys.values()]
    carelessness, weights = _carelessness_nodes(breaks)
    reach: dict[str, np.ndarray] = {}  # answer column -> P(a volunteer gives it | carelessness)
    out: dict[str, float] = {}
    for question in order:
        key = keys[question.text]
        parent = question.asked_after
        asked = np.ones_like(carelessness) if parent is None else reach[parent.text]
        probs = _answer_probabilities(question, ideal[key], key, params.visibility, carelessness)
        weighted = weights * asked
        for index, answer in enumerate(question.answers):
            reach[answer.text] = asked * probs[:, index]
            out[answer.text] = float(weighted @ probs[:, index] / weighted.sum())
    return {col: out[col] for col in schema.label_cols}


def params_from_row(row: typing.Mapping[str, typing.Any]) -> GalaxyParams:
    """Rebuild a galaxy's :class:`GalaxyParams` from the ``true_<field>`` columns of a survey catalog row.

    Raises:
        SurveyError: if a ``true_`` column is missing (the catalog is not a synthetic survey's).
    """
    values = {}
    hints = typing.get_type_hints(GalaxyParams)
    for field in dataclasses.fields(GalaxyParams):
        column = f"true_{field.name}"
        if column not in row:
            raise SurveyError(
                f"The catalog has no {column} column: the true answer probabilities can only be "
                "rebuilt for a catalog written by zoobot.survey.make_survey."
            )
        value = row[column]
        hint = hints[field.name]
        if hint in (float, int, bool):
            value = hint(value) if not isinstance(value, str) else hint(value == "True" if hint is bool else value)
        else:
            value = str(value)
        values[field.name] = value
    return GalaxyParams(**values)


def catalog_answer_probabilities(catalog: pd.DataFrame, schema: Schema | None = None) -> pd.DataFrame:
    """:func:`answer_probabilities` for every row of a synthetic survey's catalog.

    Args:
        catalog: a catalog written by :func:`zoobot.survey.make_survey` (its ``true_*`` columns).
        schema: a GZ DECaLS tree; default ``get_schema('decals_dr5')``.

    Returns:
        One row per catalog row (same index), one column per answer.
    """
    rows = [answer_probabilities(params_from_row(row), schema) for row in catalog.to_dict("records")]
    if not rows:
        from zoobot.trees import get_schema

        columns = (schema or get_schema(SCHEMA_NAME)).label_cols
        return pd.DataFrame(columns=list(columns), index=catalog.index, dtype=float)
    return pd.DataFrame(rows, index=catalog.index)
