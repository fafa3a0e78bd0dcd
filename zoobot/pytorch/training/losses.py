"""Zoobot 2.x import path for the loss functions: thin re-export of :mod:`zoobot.finetune.losses`.

``dirichlet_loss`` is Zoobot 2.0's ``losses.dirichlet_loss(labels_for_q, concentrations_for_q)`` (one question);
``get_dirichlet_neg_log_prob`` takes 2.9's ``(concentrations_for_q, labels_for_q)`` and 2.0's
``(labels_for_q, total_count, concentrations_for_q)``; ``CustomMultiQuestionLoss`` is 2.9's.
"""

from zoobot.finetune.losses import (
    CustomMultiQuestionLoss,
    calculate_multiquestion_loss,
    cross_entropy_loss,
    get_dirichlet_neg_log_prob,
    l1_loss,
    log_prob,
    mse_loss,
)
from zoobot.finetune.losses import question_dirichlet_loss as dirichlet_loss

__all__ = [
    "CustomMultiQuestionLoss",
    "calculate_multiquestion_loss",
    "cross_entropy_loss",
    "dirichlet_loss",
    "get_dirichlet_neg_log_prob",
    "l1_loss",
    "log_prob",
    "mse_loss",
]
