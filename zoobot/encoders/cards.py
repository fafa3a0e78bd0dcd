"""Encoder cards: what an encoder is and how to prepare its images, and the registry of published ones.

An :class:`EncoderCard` names an encoder's architecture, input size, channels, normalisation, feature
dimension and licence. The registry (:func:`list_encoders`, :func:`get_encoder_card`) holds the
bundled ``'demo'`` encoder and the published Zoobot encoders on the Hugging Face Hub; cards for other
encoders are read from a timm model (:func:`card_from_model`) or a timm Hub ``config.json``.

The preprocessing rule: every encoder is fed pixels scaled to [0, 1] with no mean/std normalisation
(mean 0, std 1), whatever route it is loaded by, as Zoobot feeds its encoders. timm's ``pretrained_cfg``
mean/std are ignored: timm copies them from the architecture's ImageNet defaults (the published Zoobot
encoders' ``config.json`` carry ImageNet values they were never trained with), so they cannot say how
an encoder was trained. Only a ``config.json`` that says so explicitly, with the key
:data:`NORMALISATION_KEY` (``{"mean": [...], "std": [...]}``, written by :func:`save_encoder` for a
card with another normalisation), gets another mean/std.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoobot.assets import demo_encoder_dir

HUB_PREFIXES = ("hf_hub:", "hf-hub:")
ZOOBOT_LICENCE = "apache-2.0"
NORMALISATION_KEY = "zoobot_normalisation"
"""The ``config.json`` key that gives an encoder a mean/std other than Zoobot's (0, 1)."""


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
                f"EncoderCard mean {self.mean} and std {self.std} need one value per channel ({self.channels})."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists for tuples), safe to store in checkpoints, JSON and YAML."""
        out = dataclasses.asdict(self)
        for key in ("input_size", "mean", "std"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EncoderCard:
        """Inverse of :meth:`to_dict`."""
        values = dict(values)
        for key in ("input_size", "mean", "std"):
            values[key] = tuple(values[key])
        return cls(**values)

    def with_channels(self, channels: int) -> EncoderCard:
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
DEMO_DESCRIPTION = "Tiny demo encoder bundled with the package, trained on the synthetic survey; works offline."


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
    card = _published_card(name)
    if card is None:
        raise EncoderUnavailableError(f"No registered encoder called {name!r}. Registered encoders: {_known_names()}.")
    return card


def _published_card(name: str) -> EncoderCard | None:
    """The published Zoobot encoder's card called ``name``, or None."""
    for card in _published_cards():
        if card.name == name:
            return card
    return None


def _known_names() -> str:
    """The registry's names, for messages."""
    return ", ".join(["demo"] + [c.name for c in _published_cards()])


def _registered_by_source(source: str) -> EncoderCard | None:
    hub_id = _strip_hub_prefix(source)
    for card in _published_cards():
        if _strip_hub_prefix(card.source) == hub_id:
            return card
    return None


def _strip_hub_prefix(source: str) -> str:
    for prefix in HUB_PREFIXES:
        if source.startswith(prefix):
            return source[len(prefix) :]
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


def zoobot_normalisation(channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Zoobot's normalisation, none: ``(mean, std)`` of 0 and 1 per channel, after scaling pixels to [0, 1]."""
    return (0.0,) * channels, (1.0,) * channels


def card_from_model(
    encoder: nn.Module, name: str, source: str, licence: str = "unknown", description: str = ""
) -> EncoderCard:
    """A card describing a timm ``encoder``: architecture, input size and licence from its
    ``pretrained_cfg``; mean 0, std 1 (the module's preprocessing rule: ``pretrained_cfg`` mean/std
    are ignored)."""
    cfg = dict(getattr(encoder, "pretrained_cfg", {}) or {})
    channels = _first_conv_channels(encoder, cfg)
    size = tuple(cfg.get("input_size", (channels, 224, 224)))
    mean, std = zoobot_normalisation(channels)
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
    """A card for an encoder module passed in directly, with Zoobot's preprocessing (mean 0, std 1)."""
    return card_from_model(encoder, name=type(encoder).__name__, source="module")


def _first_conv_channels(encoder: nn.Module, cfg: dict[str, Any]) -> int:
    first_conv = cfg.get("first_conv")
    if isinstance(first_conv, str):
        try:
            layer = encoder.get_submodule(first_conv)
        except AttributeError:
            layer = None
        in_channels = getattr(layer, "in_channels", None)  # any conv-like layer, not only nn.Conv2d
        if in_channels is not None:
            return int(in_channels)
    for module in encoder.modules():
        if isinstance(module, nn.Conv2d):
            return int(module.in_channels)
    return int(cfg.get("input_size", (3,))[0])


def _card_from_config(config_path: Path, name: str, source: str) -> EncoderCard:
    """A card read from a timm Hub ``config.json`` without building the model (mean/std: the module's rule)."""
    import json

    import timm

    config = json.loads(config_path.read_text())
    pretrained_cfg = config.get("pretrained_cfg", {})
    architecture = config["architecture"]
    model_args = config.get("model_args", {})
    channels = int(model_args.get("in_chans", pretrained_cfg.get("input_size", (3,))[0]))
    size = pretrained_cfg.get("input_size", (channels, 224, 224))
    with torch.device("meta"):
        model = timm.create_model(
            architecture, pretrained=False, **{**model_args, "num_classes": 0, "in_chans": channels}
        )
    mean, std = zoobot_normalisation(channels)
    explicit = config.get(NORMALISATION_KEY)
    if explicit is not None:
        try:
            mean = tuple(float(m) for m in explicit["mean"])
            std = tuple(float(s) for s in explicit["std"])
        except (KeyError, TypeError, ValueError) as err:
            raise EncoderUnavailableError(
                f"{config_path} has a {NORMALISATION_KEY!r} entry that is not {{'mean': [...], 'std': [...]}} "
                f"({err}). Fix or remove it (without it the encoder gets pixels in [0, 1], as Zoobot's do)."
            ) from err
    return EncoderCard(
        name=name,
        source=source,
        architecture=architecture,
        input_size=(channels, int(size[1]), int(size[2])),
        channels=channels,
        mean=mean,
        std=std,
        feature_dim=int(config.get("num_features", model.num_features)),
        n_params=_count_params(model),
        licence=str(pretrained_cfg.get("license", "unknown")),
        description=str(config.get("description", "")),
    )


def is_random_init(card: EncoderCard) -> bool:
    """True for a card of a randomly initialised timm architecture (``load_encoder('resnet18')``)."""
    return card.description == RANDOM_INIT_DESCRIPTION and card.source == card.architecture
