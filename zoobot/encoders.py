"""Pretrained galaxy-image encoders: a registry of cards, loading from many sources, saving.

An encoder is a timm model built with ``num_classes=0``: ``encoder(x)`` maps images
``(B, C, H, W)`` to pooled features ``(B, feature_dim)``. Every encoder comes with an
:class:`EncoderCard` saying how to prepare its images (size, channels, normalisation).

Sources :func:`load_encoder` understands:

- a registry name: ``'demo'`` (bundled with the package) or a published Zoobot encoder such as
  ``'convnext_nano'`` (see :func:`list_encoders`);
- ``'hf_hub:owner/name'`` (or ``'hf-hub:'``): a timm model on the Hugging Face Hub;
- a local directory in timm's Hub format (``config.json`` + ``model.safetensors``), as written by
  :func:`save_encoder`;
- a Lightning checkpoint (``.ckpt``) written by this package (finetuned or trained from scratch);
- a plain timm architecture name (random initialisation), e.g. ``'convnext_atto'``.

Model files are never unpickled: weights come from safetensors or ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import torch
from torch import nn

from zoobot.assets import demo_encoder_dir

HUB_PREFIXES = ("hf_hub:", "hf-hub:")
ZOOBOT_LICENCE = "apache-2.0"


class EncoderUnavailableError(ValueError):
    """An encoder could not be found, downloaded or read."""


@dataclass(frozen=True)
class EncoderCard:
    """What a user (and the data pipeline) needs to know about an encoder.

    Attributes:
        name: short name, e.g. ``'convnext_nano'``.
        source: where the weights come from (``hf_hub:...``, a directory, a checkpoint, an architecture).
        architecture: the timm architecture name.
        input_size: ``(channels, height, width)`` the encoder expects.
        channels: image channels (1 greyscale, 3 colour).
        mean: per-channel mean subtracted after scaling pixels to [0, 1].
        std: per-channel standard deviation divided by after subtracting ``mean``.
        feature_dim: length of the pooled feature vector.
        n_params: number of encoder parameters.
        licence: licence of the weights.
        description: one line for people choosing an encoder.
    """

    name: str
    source: str
    architecture: str
    input_size: tuple[int, int, int]
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    feature_dim: int
    n_params: int
    licence: str = "unknown"
    description: str = ""

    def __post_init__(self) -> None:
        if len(self.input_size) != 3 or self.input_size[0] != self.channels:
            raise ValueError(
                f"EncoderCard input_size {self.input_size} must be (channels, height, width) with "
                f"channels={self.channels}."
            )
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(
                f"EncoderCard mean {self.mean} and std {self.std} need one value per channel "
                f"({self.channels})."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists for tuples), safe to store in checkpoints, JSON and YAML."""
        out = dataclasses.asdict(self)
        for key in ("input_size", "mean", "std"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "EncoderCard":
        """Inverse of :meth:`to_dict`."""
        values = dict(values)
        for key in ("input_size", "mean", "std"):
            values[key] = tuple(values[key])
        return cls(**values)

    def with_channels(self, channels: int) -> "EncoderCard":
        """The same card for images with ``channels`` channels (first conv adapted by timm)."""
        if channels == self.channels:
            return self
        return dataclasses.replace(
            self,
            channels=channels,
            input_size=(channels, *self.input_size[1:]),
            mean=(float(self.mean[0]),) * channels,
            std=(float(self.std[0]),) * channels,
        )


def _zoobot_card(architecture: str, feature_dim: int, n_params: int, description: str) -> EncoderCard:
    short = architecture
    return EncoderCard(
        name=short,
        source=f"hf_hub:mwalmsley/zoobot-encoder-{architecture}",
        architecture=architecture,
        input_size=(3, 224, 224),
        channels=3,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        feature_dim=feature_dim,
        n_params=n_params,
        licence=ZOOBOT_LICENCE,
        description=description,
    )


def _published_cards() -> list[EncoderCard]:
    # Feature dims and parameter counts of the timm architectures with num_classes=0.
    return [
        _zoobot_card("convnext_pico", 512, 8_532_672, "Zoobot ConvNeXt-Pico: small and fast, good on a CPU."),
        _zoobot_card("convnext_nano", 640, 14_952_560, "Zoobot ConvNeXt-Nano: the recommended default."),
        _zoobot_card("convnext_tiny", 768, 27_820_128, "Zoobot ConvNeXt-Tiny."),
        _zoobot_card("convnext_small", 768, 49_454_688, "Zoobot ConvNeXt-Small."),
        _zoobot_card("convnext_base", 1024, 87_566_464, "Zoobot ConvNeXt-Base: most accurate, needs a GPU."),
        _zoobot_card("maxvit_tiny_rw_224", 512, 28_544_312, "Zoobot MaxViT-Tiny (attention + convolution)."),
        _zoobot_card("efficientnet_b0", 1280, 4_007_548, "Zoobot EfficientNet-B0 (the Zoobot 1.x architecture)."),
        _zoobot_card("resnet18", 512, 11_176_512, "Zoobot ResNet-18."),
        _zoobot_card("resnet50", 2048, 23_508_032, "Zoobot ResNet-50."),
    ]


RANDOM_INIT_DESCRIPTION = "randomly initialised (not pretrained)"
DEMO_DESCRIPTION = (
    "Tiny demo encoder bundled with the package, trained on the synthetic survey; works offline."
)


def _demo_card() -> EncoderCard:
    directory = demo_encoder_dir()
    if not (directory / "config.json").is_file():
        raise EncoderUnavailableError(
            f"The bundled demo encoder is missing: expected config.json and model.safetensors in "
            f"{directory}. Reinstall the package, or pass a local encoder directory instead."
        )
    card = _card_from_config(directory / "config.json", name="demo", source=str(directory))
    return dataclasses.replace(card, description=DEMO_DESCRIPTION)


def list_encoders() -> list[EncoderCard]:
    """All registered encoders: the bundled ``'demo'`` (when its files exist) and the published Zoobot encoders."""
    cards = []
    if (demo_encoder_dir() / "config.json").is_file():
        cards.append(_demo_card())
    return cards + _published_cards()


def get_encoder_card(name: str) -> EncoderCard:
    """The registry card called ``name`` (``'demo'``, ``'convnext_nano'``, ...).

    Raises:
        EncoderUnavailableError: no such name, or the demo encoder's files are missing.
    """
    if name == "demo":
        return _demo_card()
    for card in _published_cards():
        if card.name == name:
            return card
    known = ", ".join(["demo"] + [c.name for c in _published_cards()])
    raise EncoderUnavailableError(f"No registered encoder called {name!r}. Registered encoders: {known}.")


def _registered_by_source(source: str) -> Optional[EncoderCard]:
    hub_id = _strip_hub_prefix(source)
    for card in _published_cards():
        if _strip_hub_prefix(card.source) == hub_id:
            return card
    return None


def _strip_hub_prefix(source: str) -> str:
    for prefix in HUB_PREFIXES:
        if source.startswith(prefix):
            return source[len(prefix):]
    return source


def _count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def get_encoder_dim(encoder: nn.Module, channels: int = 3, image_size: int = 64) -> int:
    """Length of the pooled features ``encoder`` returns (timm's ``num_features``, else one dummy pass)."""
    num_features = getattr(encoder, "num_features", None)
    if isinstance(num_features, int) and getattr(encoder, "num_classes", 0) == 0:
        return num_features
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        out = encoder(torch.zeros(1, channels, image_size, image_size))
    encoder.train(was_training)
    return int(out.shape[-1])


def card_from_model(encoder: nn.Module, name: str, source: str, licence: str = "unknown",
                    description: str = "") -> EncoderCard:
    """A card describing a timm ``encoder`` from its ``pretrained_cfg`` (mean/std/input size)."""
    cfg = dict(getattr(encoder, "pretrained_cfg", {}) or {})
    channels = _first_conv_channels(encoder, cfg)
    size = tuple(cfg.get("input_size", (channels, 224, 224)))
    mean = tuple(float(m) for m in cfg.get("mean", (0.0,) * channels))
    std = tuple(float(s) for s in cfg.get("std", (1.0,) * channels))
    if len(mean) != channels:
        mean, std = (mean[0],) * channels, (std[0],) * channels
    return EncoderCard(
        name=name,
        source=source,
        architecture=str(cfg.get("architecture", type(encoder).__name__)),
        input_size=(channels, int(size[1]), int(size[2])),
        channels=channels,
        mean=mean,
        std=std,
        feature_dim=get_encoder_dim(encoder, channels=channels),
        n_params=_count_params(encoder),
        licence=str(cfg.get("license", licence)) if licence == "unknown" else licence,
        description=description,
    )


def card_for_module(encoder: nn.Module) -> EncoderCard:
    """A card for an encoder module passed in directly, with Zoobot's preprocessing (mean 0, std 1).

    A module's own ``pretrained_cfg`` describes the weights timm would download, not how the module
    in hand was trained, so only its architecture, input size and feature dimension are read from it.
    """
    card = card_from_model(encoder, name=type(encoder).__name__, source="module")
    return dataclasses.replace(card, mean=(0.0,) * card.channels, std=(1.0,) * card.channels)


def _first_conv_channels(encoder: nn.Module, cfg: dict[str, Any]) -> int:
    first_conv = cfg.get("first_conv")
    if isinstance(first_conv, str):
        try:
            layer = encoder.get_submodule(first_conv)
        except AttributeError:
            layer = None
        if layer is not None and hasattr(layer, "in_channels"):
            return int(layer.in_channels)
    for module in encoder.modules():
        if isinstance(module, nn.Conv2d):
            return int(module.in_channels)
    return int(cfg.get("input_size", (3,))[0])


def _card_from_config(config_path: Path, name: str, source: str) -> EncoderCard:
    """A card read from a timm Hub ``config.json`` without building the model."""
    import json

    import timm

    config = json.loads(config_path.read_text())
    pretrained_cfg = config.get("pretrained_cfg", {})
    architecture = config["architecture"]
    model_args = config.get("model_args", {})
    channels = int(model_args.get("in_chans", pretrained_cfg.get("input_size", (3,))[0]))
    size = pretrained_cfg.get("input_size", (channels, 224, 224))
    with torch.device("meta"):
        model = timm.create_model(architecture, pretrained=False,
                                  **{**model_args, "num_classes": 0, "in_chans": channels})
    return EncoderCard(
        name=name,
        source=source,
        architecture=architecture,
        input_size=(channels, int(size[1]), int(size[2])),
        channels=channels,
        mean=tuple(float(m) for m in pretrained_cfg.get("mean", (0.0,) * channels)),
        std=tuple(float(s) for s in pretrained_cfg.get("std", (1.0,) * channels)),
        feature_dim=int(config.get("num_features", model.num_features)),
        n_params=_count_params(model),
        licence=str(pretrained_cfg.get("license", "unknown")),
        description=str(config.get("description", "")),
    )


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` that pools CPU batches in channels-last memory order; the same result.

    PyTorch's CPU max-pooling kernel for the default (NCHW) layout is scalar and branchy: on
    galaxy images the demo ResNet's stem pooling took 16 ms a batch of 64 (11 ms on random
    tensors), a fifth of the forward pass. The channels-last kernel is vectorised and does not
    depend on the data: 5 ms, the two layout conversions included. On other devices, or for
    inputs already channels-last, this is ``nn.MaxPool2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dim() == 4 and not self.return_indices and x.is_contiguous():
            return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()
        return super().forward(x)


def _use_fast_max_pooling(encoder: nn.Module) -> nn.Module:
    """Swap every ``nn.MaxPool2d`` of ``encoder`` for :class:`MaxPool2d` (no weights change)."""
    for parent in list(encoder.modules()):
        for child_name, child in parent.named_children():
            if type(child) is nn.MaxPool2d:
                fast = MaxPool2d(child.kernel_size, child.stride, child.padding, child.dilation,
                                 child.return_indices, child.ceil_mode)
                setattr(parent, child_name, fast)
    return encoder


def _create_timm(model_name: str, pretrained: bool, channels: Optional[int]) -> nn.Module:
    import timm

    kwargs: dict[str, Any] = {"pretrained": pretrained, "num_classes": 0}
    if channels is not None:
        kwargs["in_chans"] = channels
    return _use_fast_max_pooling(timm.create_model(model_name, **kwargs))


def _load_hub(source: str, channels: Optional[int]) -> tuple[nn.Module, EncoderCard]:
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
        card = dataclasses.replace(registered, source=f"hf_hub:{hub_id}",
                                   n_params=_count_params(encoder))
        return encoder, card.with_channels(channels or card.channels)
    return encoder, card_from_model(encoder, name=hub_id.split("/")[-1], source=f"hf_hub:{hub_id}")


def _load_local_dir(directory: Path, channels: Optional[int], name: str) -> tuple[nn.Module, EncoderCard]:
    if not (directory / "config.json").is_file():
        raise EncoderUnavailableError(
            f"{directory} is not an encoder directory: it has no config.json. Expected timm's Hub "
            f"format (config.json + model.safetensors), as written by save_encoder."
        )
    encoder = _create_timm(f"local-dir:{directory}", pretrained=True, channels=channels)
    card = _card_from_config(directory / "config.json", name=name, source=str(directory))
    card = dataclasses.replace(card, n_params=_count_params(encoder))
    return encoder, card.with_channels(channels or card.channels)


def encoder_from_card(card: EncoderCard) -> nn.Module:
    """A randomly initialised encoder with the architecture and channels of ``card`` (weights to be loaded)."""
    return _create_timm(card.architecture, pretrained=False, channels=card.channels)


def _load_checkpoint(path: Path, channels: Optional[int]) -> tuple[nn.Module, EncoderCard]:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError) as err:
        raise EncoderUnavailableError(
            f"Could not read {path} as a checkpoint ({err}). Pass a checkpoint written by this "
            f"package, or an encoder directory."
        ) from err
    hparams = checkpoint.get("hyper_parameters", {}) if isinstance(checkpoint, dict) else {}
    card_dict = hparams.get("encoder_card")
    if card_dict is None:
        raise EncoderUnavailableError(
            f"{path} has no 'encoder_card' hyperparameter, so it was not written by this package. "
            f"Load it with its own code, or pass an encoder directory instead."
        )
    card = dataclasses.replace(EncoderCard.from_dict(card_dict), source=str(path))
    encoder = encoder_from_card(card)
    state = {k.removeprefix("encoder."): v for k, v in checkpoint["state_dict"].items()
             if k.startswith("encoder.")}
    encoder.load_state_dict(state)
    if channels is not None and channels != card.channels:
        raise EncoderUnavailableError(
            f"{path} holds an encoder for {card.channels}-channel images; it cannot be loaded for "
            f"{channels} channels. Use images with {card.channels} channels."
        )
    return encoder, card


def is_random_init(card: EncoderCard) -> bool:
    """True for a card of a randomly initialised timm architecture (``load_encoder('resnet18')``)."""
    return card.description == RANDOM_INIT_DESCRIPTION and card.source == card.architecture


def load_encoder(source: Union[str, Path], channels: Optional[int] = None) -> tuple[nn.Module, EncoderCard]:
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
    registered = [c for c in _published_cards() if c.name == source]
    if registered:
        return _load_hub(registered[0].source, channels)
    if source.startswith(HUB_PREFIXES):
        return _load_hub(source, channels)
    if source.startswith("local-dir:"):
        source = source[len("local-dir:"):]
    path = Path(source).expanduser()
    if path.is_dir():
        return _load_local_dir(path, channels, name=path.name)
    if path.is_file():
        return _load_checkpoint(path, channels)
    if timm.is_model(source):
        encoder = _create_timm(source, pretrained=False, channels=channels)
        card = card_from_model(encoder, name=source, source=source, description=RANDOM_INIT_DESCRIPTION)
        # Trained from scratch here on images scaled to [0, 1], like the Zoobot encoders.
        card = dataclasses.replace(card, mean=(0.0,) * card.channels, std=(1.0,) * card.channels,
                                   licence="n/a")
        return encoder, card
    known = ", ".join(["demo"] + [c.name for c in _published_cards()])
    raise EncoderUnavailableError(
        f"Unknown encoder {source!r}: not a registered name ({known}), not 'hf_hub:owner/name', not "
        f"an existing directory or checkpoint, and not a timm architecture."
    )


def save_encoder(encoder: nn.Module, card_or_arch: Union[EncoderCard, str], directory: Union[str, Path]) -> Path:
    """Write ``encoder`` in timm's Hub format (``config.json`` + ``model.safetensors``).

    The result loads with ``load_encoder(directory)`` and with
    ``timm.create_model('local-dir:DIR', pretrained=True, num_classes=0)``, and can be uploaded to
    the Hugging Face Hub as is.

    Args:
        encoder: a timm model with ``num_classes=0``.
        card_or_arch: its card (input size, normalisation, licence, description are recorded), or
            just its timm architecture name (then mean 0, std 1, the model's default input size).
        directory: folder to write (created if needed).

    Returns:
        The directory.
    """
    import json

    from timm.models import save_for_hf

    directory = Path(directory)
    if isinstance(card_or_arch, str):
        card = card_from_model(encoder, name=card_or_arch, source=str(directory))
        channels = card.channels
        card = dataclasses.replace(card, architecture=card_or_arch, mean=(0.0,) * channels,
                                   std=(1.0,) * channels)
    else:
        card = card_or_arch
    if getattr(encoder, "num_classes", 0) != 0:
        raise ValueError(
            "save_encoder expects an encoder built with num_classes=0 (pooled features); call "
            "encoder.reset_classifier(0) first."
        )
    data_config = {"input_size": tuple(card.input_size), "mean": tuple(card.mean), "std": tuple(card.std)}
    model_config = {"pretrained_cfg": {"license": card.licence}}
    save_for_hf(encoder, str(directory), model_config=model_config,
                model_args={"in_chans": card.channels}, safe_serialization=True, data_config=data_config)
    config_path = directory / "config.json"
    config = json.loads(config_path.read_text())
    if card.description:
        config["description"] = card.description
    config_path.write_text(json.dumps(config, indent=2))
    return directory


def encoder_param_groups(
    encoder: nn.Module,
    lr: float,
    weight_decay: float,
    layer_decay: float,
    n_blocks: Optional[int] = None,
) -> list[dict[str, Any]]:
    """Optimiser parameter groups for an encoder with layer-wise learning-rate decay.

    Blocks are timm's coarse parameter groups (``encoder.group_matcher(coarse=True)``: the stem,
    then each stage, ...). With ``n_blocks``, only the top ``n_blocks`` blocks are trained and the
    rest are frozen (``requires_grad=False``). The learning rate of each (fine) layer is
    ``lr * layer_decay ** depth`` below the top (timm's ``param_groups_layer_decay``); 1-D
    parameters (norms, biases) get no weight decay.

    Args:
        encoder: a timm encoder.
        lr: learning rate of the top layer.
        weight_decay: AdamW weight decay.
        layer_decay: per-layer learning-rate factor (1.0 for none).
        n_blocks: how many top blocks to train; None for all.

    Returns:
        Param-group dicts with ``params``, ``lr``, ``weight_decay``. Empty when nothing is trained.
    """
    from timm.models import group_parameters
    from timm.optim import param_groups_layer_decay

    if n_blocks is not None:
        if not hasattr(encoder, "group_matcher"):
            raise ValueError(
                f"Cannot choose blocks to train in a {type(encoder).__name__}: it has no timm "
                f"group_matcher. Train the whole encoder or only the head instead."
            )
        blocks = group_parameters(encoder, encoder.group_matcher(coarse=True))
        block_ids = sorted(blocks)
        if n_blocks < 0 or n_blocks > len(block_ids):
            raise ValueError(
                f"n_blocks={n_blocks} but this encoder has {len(block_ids)} blocks; choose 0 to "
                f"{len(block_ids)}."
            )
        trainable = {name for block in block_ids[len(block_ids) - n_blocks:] for name in blocks[block]}
        for name, param in encoder.named_parameters():
            param.requires_grad = name in trainable
        if n_blocks == 0:
            return []
    groups = param_groups_layer_decay(encoder, weight_decay=weight_decay, layer_decay=layer_decay)
    return [{"params": g["params"], "lr": lr * g["lr_scale"], "weight_decay": g["weight_decay"]}
            for g in groups if g["params"]]


def count_blocks(encoder: nn.Module) -> int:
    """How many blocks (timm coarse parameter groups) ``encoder`` has, for choosing ``n_blocks``."""
    from timm.models import group_parameters

    return len(group_parameters(encoder, encoder.group_matcher(coarse=True)))
