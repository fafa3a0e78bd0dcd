"""Pretrained galaxy-image encoders: a registry of cards, loading from many sources, saving.

An encoder is a timm model built with ``num_classes=0``: ``encoder(x)`` maps images
``(B, C, H, W)`` to pooled features ``(B, feature_dim)``. Every encoder comes with an
:class:`EncoderCard` saying how to prepare its images (size, channels, normalisation). One
preprocessing rule holds for every source: pixels scaled to [0, 1], no mean/std normalisation, as
Zoobot feeds its encoders (see :mod:`~zoobot.encoders.cards`).

Sources :func:`load_encoder` understands:

- a registry name: ``'demo'`` (bundled with the package) or a published Zoobot encoder such as
  ``'convnext_nano'`` (see :func:`list_encoders`);
- ``'hf_hub:owner/name'`` (or ``'hf-hub:'``): a timm model on the Hugging Face Hub;
- a local directory in timm's Hub format (``config.json`` + ``model.safetensors``), as written by
  :func:`save_encoder`;
- a Lightning checkpoint (``.ckpt``) written by this package (finetuned or trained from scratch);
- a plain timm architecture name (random initialisation), e.g. ``'convnext_atto'``.

Model files are never unpickled: weights come from safetensors or ``torch.load(weights_only=True)``.

Modules: :mod:`~zoobot.encoders.cards` (the card and the registry), :mod:`~zoobot.encoders.loading`
(``load_encoder``, ``save_encoder``), :mod:`~zoobot.encoders.layers` (the CPU-friendly max pooling
swapped into every encoder built here). Layer-wise learning-rate decay lives with finetuning, in
:mod:`zoobot.finetune.layer_decay`.
"""

from pathlib import Path as _Path

from zoobot._install import check_install as _check_install
from zoobot.encoders.cards import (
    DEMO_DESCRIPTION,
    HUB_PREFIXES,
    NORMALISATION_KEY,
    RANDOM_INIT_DESCRIPTION,
    ZOOBOT_LICENCE,
    EncoderCard,
    EncoderUnavailableError,
    card_for_module,
    card_from_model,
    get_encoder_card,
    get_encoder_dim,
    is_random_init,
    list_encoders,
    zoobot_normalisation,
)
from zoobot.encoders.layers import MaxPool2d
from zoobot.encoders.loading import load_encoder, save_encoder

__all__ = [
    "DEMO_DESCRIPTION",
    "HUB_PREFIXES",
    "NORMALISATION_KEY",
    "RANDOM_INIT_DESCRIPTION",
    "ZOOBOT_LICENCE",
    "EncoderCard",
    "EncoderUnavailableError",
    "MaxPool2d",
    "card_for_module",
    "card_from_model",
    "get_encoder_card",
    "get_encoder_dim",
    "is_random_init",
    "list_encoders",
    "load_encoder",
    "save_encoder",
    "zoobot_normalisation",
]

# Zoobot 2.x installed after this package replaces zoobot/__init__.py (and its check): check here too.
_check_install(_Path(__file__).parent.parent)
