"""Zoobot 2.x import path for the vote-count loss: re-exports of :mod:`zoobot.losses`."""

from zoobot.losses import (
    CustomMultiQuestionLoss,
    VoteCountError,
    calculate_multiquestion_loss,
    dirichlet_multinomial_nll,
    expected_vote_fractions,
    get_dirichlet_neg_log_prob,
    prob_question_asked,
    vote_fraction_intervals,
)

__all__ = [
    "CustomMultiQuestionLoss",
    "VoteCountError",
    "calculate_multiquestion_loss",
    "dirichlet_multinomial_nll",
    "expected_vote_fractions",
    "get_dirichlet_neg_log_prob",
    "prob_question_asked",
    "vote_fraction_intervals",
]
