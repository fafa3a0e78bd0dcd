"""Train a Zoobot encoder from scratch on decision-tree vote counts, and export it for finetuning.

:class:`ZoobotTree` (in :mod:`zoobot.scratch.tree`) is Zoobot's from-scratch tree model (a randomly initialised
timm encoder and a Dirichlet head, trained end to end), with Zoobot's arguments and checkpoint format; it is a
:class:`zoobot.finetune.FinetuneableZoobotTree` underneath. :func:`train_default_zoobot_from_scratch` (in
:mod:`zoobot.scratch.training`) wires it to a :class:`zoobot.data.CatalogDataModule` and a trainer, and writes the
trained encoder in the format :func:`zoobot.encoders.load_encoder` reads. Zoobot 2.0's and 2.9's argument names
both work.
"""

from zoobot.encoders import get_encoder_dim
from zoobot.finetune.heads import get_pytorch_dirichlet_head
from zoobot.scratch.training import get_default_callbacks, train_default_zoobot_from_scratch
from zoobot.scratch.tree import ZoobotTree, get_pytorch_encoder, schema_to_campaigns

__all__ = [
    "ZoobotTree",
    "get_pytorch_encoder",
    "get_pytorch_dirichlet_head",
    "get_encoder_dim",
    "get_default_callbacks",
    "schema_to_campaigns",
    "train_default_zoobot_from_scratch",
]
