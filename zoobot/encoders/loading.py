"""Loading encoders from every source :func:`load_encoder` understands, and saving them in timm's Hub format.

Model files are never unpickled: weights come from safetensors or ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from torch import nn

from zoobot.encoders.cards import (
    HUB_PREFIXES,
    NORMALISATION_KEY,
    RANDOM_INIT_DESCRIPTION,
    EncoderCard,
    EncoderUnavailableError,
    _card_from_config,
    _count_params,
    _demo_card,
    _known_names,
    _published_card,
    _registered_by_source,
    _strip_hub_prefix,
    card_from_model,
    zoobot_normalisation,
)
from zoobot.encoders.layers import use_fast_max_pooling


def _create_timm(model_name: str, pretrained: bool, channels: int | None) -> nn.Module:
    import timm

    kwargs: dict[str, Any] = {"pretrained": pretrained, "num_classes": 0}
    if channels is not None:
        kwargs["in_chans"] = channels
    return use_fast_max_pooling(timm.create_model(model_name, **kwargs))


def _load_hub(source: str, channels: int | None) -> tuple[nn.Module, EncoderCard]:
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    hub_id = _strip_hub_prefix(source)
    try:
        encoder = _create_timm(f"hf-hub:{hub_id}", pretrained=True, channels=channels)
    except LocalEntryNotFoundError as err:
        raise EncoderUnavailableError(
            f"Encoder 'hf_hub:{hub_id}' could not be downloaded (no internet connection, or offline "
            f"mode) and is not in the local Hugging Face cache. Use 'demo' (bundled, works offline), "
            f"or a local encoder directory (config.json + model.safetensors) instead."
        ) from err
    except (RepositoryNotFoundError, HfHubHTTPError) as err:
        raise EncoderUnavailableError(
            f"Encoder 'hf_hub:{hub_id}' could not be downloaded from the Hugging Face Hub ({err}). "
            f"Check the name, or use 'demo' or a local encoder directory instead."
        ) from err
    registered = _registered_by_source(source)
    if registered is not None:
        card = dataclasses.replace(registered, source=f"hf_hub:{hub_id}", n_params=_count_params(encoder))
        return encoder, card.with_channels(channels or card.channels)
    return encoder, card_from_model(encoder, name=hub_id.split("/")[-1], source=f"hf_hub:{hub_id}")


def _load_local_dir(directory: Path, channels: int | None, name: str) -> tuple[nn.Module, EncoderCard]:
    if not (directory / "config.json").is_file():
        raise EncoderUnavailableError(
            f"{directory} is not an encoder directory: it has no config.json. Expected timm's Hub "
            f"format (config.json + model.safetensors), as written by save_encoder."
        )
    encoder = _create_timm(f"local-dir:{directory}", pretrained=True, channels=channels)
    card = _card_from_config(directory / "config.json", name=name, source=str(directory))
    card = dataclasses.replace(card, n_params=_count_params(encoder))
    return encoder, card.with_channels(channels or card.channels)


def _load_checkpoint(path: Path, channels: int | None) -> tuple[nn.Module, EncoderCard]:
    from zoobot.finetune.sources import encoder_from_checkpoint  # this package's and Zoobot 2.x's checkpoints

    encoder, card = encoder_from_checkpoint(path)
    card = dataclasses.replace(card, source=str(path))
    if channels is not None and channels != card.channels:
        raise EncoderUnavailableError(
            f"{path} holds an encoder for {card.channels}-channel images; it cannot be loaded for "
            f"{channels} channels. Use images with {card.channels} channels."
        )
    return encoder, card


def load_encoder(source: str | Path, channels: int | None = None) -> tuple[nn.Module, EncoderCard]:
    """Load an encoder (``num_classes=0``: it returns pooled features) and its card.

    Args:
        source: a registry name (``'demo'``, ``'convnext_nano'``), ``'hf_hub:owner/name'``, a local
            encoder directory, a checkpoint (``.ckpt``) written by this package, or a timm
            architecture name (random initialisation).
        channels: image channels, when different from the encoder's (timm adapts the first
            convolution of pretrained weights).

    Returns:
        ``(encoder, card)``.

    Raises:
        EncoderUnavailableError: the source is unknown, missing, or cannot be downloaded.
    """
    import timm

    source = str(source)
    if source == "demo":
        card = _demo_card()
        encoder, loaded = _load_local_dir(Path(card.source), channels, name="demo")
        return encoder, dataclasses.replace(loaded, description=card.description)
    registered = _published_card(source)
    if registered is not None:
        return _load_hub(registered.source, channels)
    if source.startswith(HUB_PREFIXES):
        return _load_hub(source, channels)
    if source.startswith("local-dir:"):
        source = source[len("local-dir:") :]
    path = Path(source).expanduser()
    if path.is_dir():
        return _load_local_dir(path, channels, name=path.name)
    if path.is_file():
        return _load_checkpoint(path, channels)
    if timm.is_model(source):
        encoder = _create_timm(source, pretrained=False, channels=channels)
        card = card_from_model(encoder, name=source, source=source, description=RANDOM_INIT_DESCRIPTION)
        return encoder, dataclasses.replace(card, licence="n/a")
    raise EncoderUnavailableError(
        f"Unknown encoder {source!r}: not a registered name ({_known_names()}), not 'hf_hub:owner/name', not "
        f"an existing directory or checkpoint, and not a timm architecture."
    )


def save_encoder(encoder: nn.Module, card_or_arch: EncoderCard | str, directory: str | Path) -> Path:
    """Write ``encoder`` in timm's Hub format (``config.json`` + ``model.safetensors``).

    The result loads with ``load_encoder(directory)`` and with
    ``timm.create_model('local-dir:DIR', pretrained=True, num_classes=0)``, and can be uploaded to
    the Hugging Face Hub as is.

    Args:
        encoder: a timm model with ``num_classes=0``.
        card_or_arch: its card (input size, normalisation, licence, description are recorded; a
            normalisation other than mean 0, std 1 under :data:`~zoobot.encoders.cards.NORMALISATION_KEY`),
            or just its timm architecture name (then mean 0, std 1, the model's default input size).
        directory: folder to write (created if needed).

    Returns:
        The directory.
    """
    import json

    from timm.models import save_for_hf

    directory = Path(directory)
    if isinstance(card_or_arch, str):
        card = dataclasses.replace(
            card_from_model(encoder, name=card_or_arch, source=str(directory)), architecture=card_or_arch
        )
    else:
        card = card_or_arch
    if getattr(encoder, "num_classes", 0) != 0:
        raise ValueError(
            "save_encoder expects an encoder built with num_classes=0 (pooled features); call "
            "encoder.reset_classifier(0) first."
        )
    data_config = {"input_size": tuple(card.input_size), "mean": tuple(card.mean), "std": tuple(card.std)}
    model_config = {"pretrained_cfg": {"license": card.licence}}
    save_for_hf(
        encoder,
        str(directory),
        model_config=model_config,
        model_args={"in_chans": card.channels},
        safe_serialization=True,
        data_config=data_config,
    )
    config_path = directory / "config.json"
    config = json.loads(config_path.read_text())
    if card.description:
        config["description"] = card.description
    if (card.mean, card.std) != zoobot_normalisation(card.channels):
        # Readers ignore timm's pretrained_cfg mean/std (see zoobot.encoders.cards): say it explicitly.
        config[NORMALISATION_KEY] = {"mean": list(card.mean), "std": list(card.std)}
    config_path.write_text(json.dumps(config, indent=2))
    return directory
