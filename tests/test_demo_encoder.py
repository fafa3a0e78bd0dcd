"""The bundled demo encoder: registered, small, described truthfully, and usable offline on survey images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from zoobot.assets import demo_encoder_dir
from zoobot.data import GalaxyDataset, get_transforms
from zoobot.encoders import get_encoder_card, list_encoders, load_encoder
from zoobot.survey import make_survey
from zoobot.trees import get_schema

MAX_BYTES = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def pretraining() -> dict:
    """The settings the demo encoder was pretrained with (written next to its weights)."""
    return json.loads((demo_encoder_dir() / "pretraining.json").read_text())


@pytest.fixture(scope="module")
def demo() -> tuple[torch.nn.Module, object]:
    return load_encoder("demo")


def test_demo_is_listed_and_its_files_are_small() -> None:
    assert "demo" in [card.name for card in list_encoders()]
    files = sorted(p.name for p in demo_encoder_dir().iterdir())
    assert {"config.json", "model.safetensors", "pretraining.json"} <= set(files)
    sizes = {name: (demo_encoder_dir() / name).stat().st_size for name in files}
    assert sum(sizes.values()) < MAX_BYTES, sizes


def test_card_config_and_pretraining_record_agree(demo, pretraining: dict) -> None:
    encoder, card = demo
    config = json.loads((demo_encoder_dir() / "config.json").read_text())
    settings = pretraining["settings"]
    assert card == get_encoder_card("demo")
    assert card.architecture == config["architecture"] == settings["architecture_name"]
    side = settings["input_size"]
    assert card.input_size == (3, side, side) == tuple(config["pretrained_cfg"]["input_size"])
    assert card.feature_dim == encoder.num_features == config["num_features"]
    assert card.n_params == sum(p.numel() for p in encoder.parameters())
    assert card.mean == (0.0, 0.0, 0.0) and card.std == (1.0, 1.0, 1.0)
    # Pretrained only on the DR5 tree's vote counts: ring is not one of its questions.
    assert settings["schema"] == "decals_dr5"
    assert not any("ring" in col for col in get_schema("decals_dr5").label_cols)


def test_features_of_survey_images_are_finite(demo, tmp_path: Path) -> None:
    encoder, card = demo
    catalog = make_survey(n=4, size=128, out_dir=tmp_path, seed=3)
    transform = get_transforms(card.input_size, card.channels, card.mean, card.std)
    dataset = GalaxyDataset(catalog, transform=transform, input_size=card.input_size)
    images = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    encoder.eval()
    with torch.no_grad():
        features = encoder(images)
    assert features.shape == (4, card.feature_dim)
    assert torch.isfinite(features).all()
    # A trained encoder tells different galaxies apart.
    assert features.std(dim=0).mean() > 1e-3
