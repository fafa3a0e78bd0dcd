"""Encoder registry, loading from every kind of source, saving, the CPU max-pooling layer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from zoobot import encoders
from zoobot.encoders import (
    EncoderCard,
    EncoderUnavailableError,
    cards,
    get_encoder_card,
    list_encoders,
    load_encoder,
    save_encoder,
)


@pytest.fixture
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, offline Hugging Face cache under tmp_path (never the network)."""
    import huggingface_hub.constants as hf_constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads these environment variables once, at import.
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return cache


def _cache_encoder(cache: Path, repo_id: str, encoder: torch.nn.Module, card_or_arch) -> None:
    """Put an encoder into the Hub cache layout, as a download would have."""
    owner, name = repo_id.split("/")
    repo = cache / f"models--{owner}--{name}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    save_encoder(encoder, card_or_arch, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)


def _same_features(a: torch.nn.Module, b: torch.nn.Module, channels: int = 3) -> bool:
    x = torch.rand(2, channels, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x), atol=1e-6)


def test_published_cards_describe_zoobot_encoders():
    cards = {c.name: c for c in list_encoders()}
    for name in [
        "convnext_pico",
        "convnext_nano",
        "convnext_tiny",
        "convnext_small",
        "convnext_base",
        "maxvit_tiny_rw_224",
        "efficientnet_b0",
        "resnet18",
        "resnet50",
    ]:
        card = cards[name]
        assert card.source == f"hf_hub:mwalmsley/zoobot-encoder-{name}"
        assert card.input_size == (3, 224, 224)
        assert card.mean == (0.0, 0.0, 0.0) and card.std == (1.0, 1.0, 1.0)
    assert cards["convnext_nano"].feature_dim == 640
    assert cards["convnext_pico"].n_params < cards["convnext_nano"].n_params < cards["convnext_base"].n_params
    assert get_encoder_card("resnet50").feature_dim == 2048


def test_unknown_registry_name_lists_the_known_ones():
    with pytest.raises(EncoderUnavailableError, match="convnext_nano"):
        get_encoder_card("convnext_gigantic")
    with pytest.raises(EncoderUnavailableError, match="Unknown encoder 'not_a_model'"):
        load_encoder("not_a_model")


def test_demo_encoder_missing_raises_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(cards, "demo_encoder_dir", lambda: tmp_path / "nowhere")
    assert "demo" not in [c.name for c in list_encoders()]
    with pytest.raises(EncoderUnavailableError, match="demo encoder is missing"):
        load_encoder("demo")


def test_demo_encoder_loads_once_its_files_exist(tmp_path, monkeypatch):
    original, _ = load_encoder("test_convnext")
    save_encoder(original, "test_convnext", tmp_path / "demo_encoder")
    monkeypatch.setattr(cards, "demo_encoder_dir", lambda: tmp_path / "demo_encoder")
    assert get_encoder_card("demo").architecture == "test_convnext"
    loaded, card = load_encoder("demo")
    assert card.name == "demo" and card.feature_dim == 64
    assert _same_features(original, loaded)


def test_random_init_from_timm_architecture():
    encoder, card = load_encoder("test_convnext")
    assert card.architecture == "test_convnext"
    assert card.feature_dim == 64
    assert card.mean == (0.0, 0.0, 0.0) and card.std == (1.0, 1.0, 1.0)
    assert encoder(torch.rand(2, 3, 32, 32)).shape == (2, 64)


def test_cpu_max_pooling_fast_path_gives_the_same_features_and_gradients():
    fast, _ = load_encoder("test_resnet")
    pools = [m for m in fast.modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert pools and all(type(m) is encoders.MaxPool2d for m in pools)
    plain, _ = load_encoder("test_resnet")
    plain.load_state_dict(fast.state_dict())
    for parent in list(plain.modules()):
        for name, child in parent.named_children():
            if isinstance(child, encoders.MaxPool2d):
                setattr(parent, name, torch.nn.MaxPool2d(child.kernel_size, child.stride, child.padding))
    x = torch.rand(3, 3, 40, 40)
    x[0, :, :8] = 0.5  # ties inside pooling windows pick the same element in both layouts
    fast.train(), plain.train()
    out_fast, out_plain = fast(x), plain(x)
    assert torch.equal(out_fast, out_plain)
    out_fast.square().sum().backward(), out_plain.square().sum().backward()
    for (name, p_fast), p_plain in zip(fast.named_parameters(), plain.parameters(), strict=True):
        assert torch.allclose(p_fast.grad, p_plain.grad, atol=1e-6), name


@pytest.mark.parametrize("architecture", ["test_convnext", "test_efficientnet", "test_resnet"])
def test_save_then_load_local_directory_round_trip(tmp_path, architecture):
    original, card = load_encoder(architecture)
    card = EncoderCard(
        **{
            **card.to_dict(),
            "input_size": (3, 48, 48),
            "mean": (0.1, 0.2, 0.3),
            "std": (0.5, 0.5, 0.5),
            "licence": "cc-by-4.0",
        }
    )
    directory = save_encoder(original, card, tmp_path / "enc")
    assert (directory / "config.json").is_file() and (directory / "model.safetensors").is_file()
    assert not list(directory.glob("*.bin"))
    loaded, loaded_card = load_encoder(str(directory))
    assert _same_features(original, loaded)
    assert loaded_card.input_size == (3, 48, 48)
    assert loaded_card.mean == pytest.approx((0.1, 0.2, 0.3))
    assert loaded_card.licence == "cc-by-4.0"
    assert loaded_card.feature_dim == card.feature_dim


def test_greyscale_channels_adapt_the_first_convolution(tmp_path):
    original, _ = load_encoder("test_convnext")
    save_encoder(original, "test_convnext", tmp_path / "enc")
    encoder, card = load_encoder(tmp_path / "enc", channels=1)
    assert card.channels == 1 and card.input_size[0] == 1 and len(card.mean) == 1
    assert encoder(torch.rand(2, 1, 32, 32)).shape == (2, 64)


def test_hub_encoder_from_local_cache_offline(offline_hub):
    original, _ = load_encoder("test_convnext")
    _cache_encoder(offline_hub, "someone/tiny-galaxies", original, "test_convnext")
    loaded, card = load_encoder("hf_hub:someone/tiny-galaxies")
    assert card.source == "hf_hub:someone/tiny-galaxies"
    assert _same_features(original, loaded)


def test_registered_hub_encoder_uses_registry_card_when_cached(offline_hub, monkeypatch):
    tiny = EncoderCard(
        name="tiny",
        source="hf_hub:mwalmsley/zoobot-encoder-tiny",
        architecture="test_convnext",
        input_size=(3, 224, 224),
        channels=3,
        mean=(0.0,) * 3,
        std=(1.0,) * 3,
        feature_dim=64,
        n_params=1,
        licence="apache-2.0",
    )
    monkeypatch.setattr(cards, "_published_cards", lambda: [tiny])
    original, _ = load_encoder("test_convnext")
    _cache_encoder(offline_hub, "mwalmsley/zoobot-encoder-tiny", original, "test_convnext")
    loaded, card = load_encoder("tiny")
    assert card.name == "tiny" and card.licence == "apache-2.0"
    assert card.n_params == sum(p.numel() for p in loaded.parameters())
    assert _same_features(original, loaded)


def test_hub_encoder_not_cached_offline_raises_one_clear_error(offline_hub):
    with pytest.raises(
        EncoderUnavailableError, match=r"convnext_nano.*could not be downloaded.*not in the local.*'demo'"
    ):
        load_encoder("convnext_nano")


def test_lightning_checkpoint_encoder_extracted(tmp_path):
    original, card = load_encoder("test_convnext")
    checkpoint = {
        "state_dict": {f"encoder.{k}": v for k, v in original.state_dict().items()}
        | {"head.weight": torch.zeros(2, 64)},
        "hyper_parameters": {"encoder_card": card.to_dict()},
    }
    torch.save(checkpoint, tmp_path / "model.ckpt")
    loaded, loaded_card = load_encoder(tmp_path / "model.ckpt")
    assert loaded_card.architecture == "test_convnext"
    assert _same_features(original, loaded)


def test_foreign_checkpoint_is_refused(tmp_path):
    torch.save({"state_dict": {}, "hyper_parameters": {}}, tmp_path / "other.ckpt")
    with pytest.raises(EncoderUnavailableError, match="not written by this package"):
        load_encoder(tmp_path / "other.ckpt")


def test_card_must_be_consistent():
    with pytest.raises(ValueError, match="one value per channel"):
        EncoderCard(
            name="x",
            source="x",
            architecture="x",
            input_size=(3, 8, 8),
            channels=3,
            mean=(0.0,),
            std=(1.0,),
            feature_dim=1,
            n_params=1,
        )


def test_card_round_trips_through_dict():
    card = get_encoder_card("convnext_nano")
    assert EncoderCard.from_dict(card.to_dict()) == card
