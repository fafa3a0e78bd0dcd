"""Zoobot 2.x import path: thin re-export of :mod:`zoobot.scratch` and the head and loss helpers.

``dirichlet_loss`` is Zoobot 2.0's ``define_model.dirichlet_loss(preds, labels, question_index_groups,
sum_over_questions=False)``; ``get_dirichlet_loss_func`` takes 2.9's ``question_answer_pairs`` or 2.0's
``question_index_groups``.
"""

from zoobot.finetune.heads import get_pytorch_dirichlet_head
from zoobot.finetune.losses import get_dirichlet_loss_func
from zoobot.finetune.losses import multiquestion_dirichlet_loss as dirichlet_loss
from zoobot.scratch import ZoobotTree, get_encoder_dim, get_pytorch_encoder, schema_to_campaigns

__all__ = [
    "ZoobotTree",
    "dirichlet_loss",
    "get_dirichlet_loss_func",
    "get_encoder_dim",
    "get_pytorch_dirichlet_head",
    "get_pytorch_encoder",
    "schema_to_campaigns",
]


def __getattr__(name: str) -> object:
    from zoobot.deprecation import zoobot_1_name

    if name in ("get_plain_pytorch_zoobot_model",):  # Zoobot 1.x names: say what replaced them
        raise zoobot_1_name(__name__, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
