"""Building a finetuning model's encoder from what the caller (or a checkpoint) gives.

One of: an encoder source string (:func:`zoobot.encoders.load_encoder` reads it: a registry name,
``hf_hub:owner/name``, a directory, a checkpoint, a timm architecture), an ``nn.Module``, or the encoder card a
checkpoint saved (the architecture is rebuilt, the checkpoint's weights fill it, nothing is downloaded).
``timm_kwargs`` (Zoobot 2.9) reach ``timm.create_model``. :func:`zoobot_encoder_name` says what real Zoobot
should be told to rebuild the same encoder.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from zoobot.encoders import EncoderCard, card_for_module, get_encoder_dim, is_random_init, load_encoder
from zoobot.finetune.settings import FinetuneArgumentError

__all__ = [
    "MODEL_ARGS_KEY",
    "build_encoder",
    "random_encoder",
    "zoobot_encoder_name",
    "timm_model_args",
    "source_model_args",
]

MODEL_ARGS_KEY = "timm_model_args"
"""Key of the timm architecture arguments (``dims``, ``depths``, ...) inside a saved encoder card dict."""

# Arguments a timm Hub config.json records that the encoder's card already says (or that must stay fixed).
_NOT_ARCHITECTURE = ("num_classes", "in_chans", "pretrained_cfg", "pretrained_cfg_overlay")


def timm_model_args(card: EncoderCard) -> dict[str, Any]:
    """The architecture arguments (``config.json``'s ``model_args``) of an encoder read from the Hub or a directory.

    Needed to rebuild it from its card: e.g. a ConvNeXt with non-default ``dims``. Empty for timm defaults. For an
    encoder read from a checkpoint, the arguments the checkpoint records (:func:`checkpoint_model_args`).
    """
    return source_model_args(card.source)


def source_model_args(source: str) -> dict[str, Any]:
    """:func:`timm_model_args` of the encoder at ``source`` (a Hub name, a directory or a checkpoint); {} otherwise."""
    config: Path | None = None
    if Path(source).is_file():  # a checkpoint (this package's or Zoobot's): its encoder's arguments are saved in it
        from zoobot.finetune.sources import checkpoint_model_args  # imports this module

        return checkpoint_model_args(source)
    if source.startswith(("hf_hub:", "hf-hub:")):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source.split(":", 1)[1], "config.json")
        config = Path(cached) if isinstance(cached, str) else None
    elif Path(source.removeprefix("local-dir:")).is_dir():
        config = Path(source.removeprefix("local-dir:")) / "config.json"
    if config is None or not config.is_file():
        return {}
    model_args = json.loads(config.read_text()).get("model_args") or {}
    return {k: v for k, v in model_args.items() if k not in _NOT_ARCHITECTURE}


def _rebuild(card: EncoderCard, model_args: Mapping[str, Any], timm_kwargs: Mapping[str, Any]) -> nn.Module:
    """A randomly initialised encoder of ``card``'s architecture (weights to be loaded)."""
    import timm

    from zoobot.encoders.layers import use_fast_max_pooling

    kwargs = {**model_args, **timm_kwargs, "num_classes": 0, "in_chans": card.channels}
    return use_fast_max_pooling(timm.create_model(card.architecture, pretrained=False, **kwargs))


def build_encoder(
    sources: Mapping[str, Any],
    channels: int | None,
    timm_kwargs: Mapping[str, Any],
    saved_card: Mapping[str, Any] | None,
) -> tuple[nn.Module, EncoderCard, dict[str, Any]]:
    """The encoder, its card and its timm architecture arguments.

    Args:
        sources: the given encoder sources by argument name (``name``, ``checkpoint_loc``, ``encoder``,
            ``zoobot_checkpoint_loc``); None values are ignored. At most one may be set.
        channels: image channels, when not the encoder's own.
        timm_kwargs: extra ``timm.create_model`` arguments (Zoobot 2.9's ``timm_kwargs``).
        saved_card: a checkpoint's encoder card dict (with :data:`MODEL_ARGS_KEY`): rebuild that architecture.

    Raises:
        FinetuneArgumentError: several sources, none, or ``timm_kwargs`` that change a pretrained architecture.
    """
    given = {k: v for k, v in sources.items() if v is not None}
    if len(given) > 1:
        raise FinetuneArgumentError(
            f"Give one encoder source, not {len(given)} ({', '.join(given)}): name, checkpoint_loc, "
            f"zoobot_checkpoint_loc or encoder."
        )
    timm_kwargs = dict(timm_kwargs)
    if "in_chans" in timm_kwargs:
        in_chans = int(timm_kwargs.pop("in_chans"))
        if channels not in (None, in_chans):
            raise FinetuneArgumentError(f"timm_kwargs in_chans={in_chans} and channels={channels} disagree.")
        channels = in_chans
    saved = dict(saved_card) if saved_card is not None else None
    model_args = dict(saved.pop(MODEL_ARGS_KEY, None) or {}) if saved is not None else {}
    card = EncoderCard.from_dict(saved) if saved is not None else None
    if given.get("encoder") is not None:
        encoder = given["encoder"]
        return encoder, card if card is not None else card_for_module(encoder), model_args
    if card is not None:
        return _rebuild(card, model_args, timm_kwargs), card, model_args
    if not given:
        raise FinetuneArgumentError(
            "No encoder given: pass name='demo' (bundled), name='hf_hub:mwalmsley/zoobot-encoder-"
            "convnext_nano', a local encoder directory, or encoder=<nn.Module>."
        )
    encoder, card = load_encoder(str(next(iter(given.values()))), channels=channels)
    model_args = timm_model_args(card)
    if not timm_kwargs:
        return encoder, card, model_args
    rebuilt = _rebuild(card, model_args, timm_kwargs)
    if is_random_init(card):  # nothing to keep: the arguments may change the architecture too
        card = dataclasses.replace(
            card,
            feature_dim=get_encoder_dim(rebuilt, card.channels),
            n_params=sum(p.numel() for p in rebuilt.parameters()),
        )
        return rebuilt, card, {**model_args, **timm_kwargs}
    try:
        rebuilt.load_state_dict(encoder.state_dict())
    except RuntimeError as err:
        raise FinetuneArgumentError(
            f"timm_kwargs {timm_kwargs} change the architecture of the pretrained encoder {card.source}, so its "
            f"weights no longer fit ({str(err).splitlines()[0]}). Give only arguments that keep the layers, "
            f"e.g. drop_path_rate."
        ) from None
    return rebuilt, card, model_args


def zoobot_encoder_name(card: EncoderCard, encoder_given: bool) -> str | None:
    """What real Zoobot's ``name`` should be to build this encoder: a ``timm.create_model`` name, or None.

    ``hf_hub:owner/name`` for a Hub encoder, ``local-dir:/path`` for a directory (the bundled demo too),
    the architecture for a randomly initialised one; None for an ``nn.Module`` or a checkpoint (real Zoobot
    then needs ``encoder=`` when loading, as for its own in-memory encoders).
    """
    if encoder_given:
        return None
    source = card.source
    if source.startswith(("hf_hub:", "hf-hub:")):
        return "hf_hub:" + source.split(":", 1)[1]
    if is_random_init(card):
        return card.architecture
    path = Path(source.removeprefix("local-dir:"))
    if path.is_dir():
        return f"local-dir:{path.resolve()}"
    return None


def random_encoder(
    architecture_name: str,
    channels: int = 3,
    timm_kwargs: Mapping[str, Any] | None = None,
) -> tuple[nn.Module, EncoderCard]:
    """A randomly initialised timm architecture returning pooled features, and its card (Zoobot's preprocessing:
    pixels in [0, 1], no normalisation). Registry names such as ``'convnext_nano'`` mean the bare architecture
    here, as in Zoobot's ``get_pytorch_encoder``, not the published weights.

    Raises:
        FinetuneArgumentError: ``architecture_name`` is not a timm architecture.
    """
    import timm

    from zoobot.encoders import RANDOM_INIT_DESCRIPTION, card_from_model
    from zoobot.encoders.layers import use_fast_max_pooling

    if not timm.is_model(architecture_name):
        raise FinetuneArgumentError(f"{architecture_name!r} is not a timm architecture (see timm.list_models()).")
    kwargs = {**dict(timm_kwargs or {}), "num_classes": 0, "in_chans": channels}
    encoder = use_fast_max_pooling(timm.create_model(architecture_name, pretrained=False, **kwargs))
    card = card_from_model(
        encoder, name=architecture_name, source=architecture_name, description=RANDOM_INIT_DESCRIPTION
    )
    card = dataclasses.replace(
        card, architecture=architecture_name, mean=(0.0,) * card.channels, std=(1.0,) * card.channels, licence="n/a"
    )
    return encoder, card
