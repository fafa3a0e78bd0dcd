"""One preprocessing rule: the same weights give the same features by every route (Hub repo, local folder,
timm name + load_state_dict), fed pixels in [0, 1] as Zoobot feeds them, whatever timm's config says.

The weights are the fixtures' Zoobot-format Hub repo ``zoobot-fixtures/zoobot-encoder-test_convnext``,
whose ``config.json`` carries a timm ``pretrained_cfg`` mean/std of 0.5 (Zoobot ignores it, and so must we).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import timm
import torch
from PIL import Image

from zoobot.encoders import NORMALISATION_KEY, EncoderCard, load_encoder, save_encoder
from zoobot.representations import get_representations

FIXTURE = Path(__file__).parent / "fixtures" / "zoobot" / "2.9"
REPO = "zoobot-fixtures/zoobot-encoder-test_convnext"


@pytest.fixture
def zoobot_hub(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixtures' offline Hugging Face cache (read only; never the network)."""
    import huggingface_hub.constants as hf_constants

    cache = FIXTURE / "hf_home" / "hub"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads these environment variables once, at import.
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return cache


def snapshot() -> Path:
    return next((FIXTURE / "hf_home" / "hub" / f"models--{REPO.replace('/', '--')}" / "snapshots").iterdir())


def catalog() -> pd.DataFrame:
    rows = pd.read_csv(FIXTURE / "catalog.csv").iloc[:4][["id_str", "file_loc"]]
    return rows.assign(file_loc=[str(FIXTURE / loc) for loc in rows["file_loc"]])


def test_one_set_of_weights_gives_the_same_features_by_every_route(zoobot_hub, tmp_path):
    config = json.loads((snapshot() / "config.json").read_text())
    assert config["pretrained_cfg"]["mean"] == [0.5, 0.5, 0.5]  # what the rule must not apply
    # 1. a Hub repo that is not in the registry
    hub = load_encoder(f"hf_hub:{REPO}")
    # 2. the same repo downloaded into a local folder (config.json + pytorch_model.bin)
    local = load_encoder(shutil.copytree(snapshot(), tmp_path / "downloaded"))
    # 3. the timm architecture by name, the weights loaded by hand
    module = timm.create_model(config["architecture"], pretrained=False, **config["model_args"])
    module.load_state_dict(torch.load(snapshot() / "pytorch_model.bin", map_location="cpu", weights_only=True))
    for _, card in (hub, local):
        assert card.mean == (0.0, 0.0, 0.0) and card.std == (1.0, 1.0, 1.0)

    def represent(source):  # at the images' own 64 px, so pixels / 255 is all the preprocessing
        return get_representations(catalog(), source, input_size=64, accelerator="cpu")

    features = [represent(source) for source in (hub[0], local[0], module)]
    by_name = represent(f"hf_hub:{REPO}")
    for other in (*features[1:], by_name):
        pd.testing.assert_frame_equal(other, features[0])
    # ... and they are the encoder's output on the pixels / 255, as Zoobot feeds it
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in catalog()["file_loc"]])
    with torch.no_grad():
        direct = module.eval()(torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255).numpy()
    np.testing.assert_allclose(features[0].filter(like="feat_").to_numpy(), direct, rtol=1e-5, atol=1e-6)


def test_a_finetuned_model_on_the_hub_repo_is_fed_the_same(zoobot_hub):
    from zoobot.finetune import FinetuneableZoobotClassifier

    model = FinetuneableZoobotClassifier(num_classes=2, name=f"hf_hub:{REPO}")
    assert model.card.mean == (0.0, 0.0, 0.0) and model.card.std == (1.0, 1.0, 1.0)


def test_only_an_explicit_entry_gives_another_normalisation(tmp_path):
    encoder = timm.create_model("test_convnext", pretrained=False, num_classes=0)
    save_encoder(encoder, "test_convnext", tmp_path / "plain")
    plain = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert NORMALISATION_KEY not in plain and load_encoder(tmp_path / "plain")[1].mean == (0.0, 0.0, 0.0)

    _, card = load_encoder(tmp_path / "plain")
    imagenet = EncoderCard(
        **{
            **card.to_dict(),
            "mean": (0.485, 0.456, 0.406),
            "std": (0.229, 0.224, 0.225),
            "input_size": tuple(card.input_size),
        }
    )
    save_encoder(encoder, imagenet, tmp_path / "imagenet")
    written = json.loads((tmp_path / "imagenet" / "config.json").read_text())
    assert written[NORMALISATION_KEY] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    reloaded = load_encoder(tmp_path / "imagenet")[1]
    assert reloaded.mean == imagenet.mean and reloaded.std == imagenet.std

    written[NORMALISATION_KEY] = {"mean": [0.5]}
    (tmp_path / "imagenet" / "config.json").write_text(json.dumps(written))
    from zoobot.encoders import EncoderUnavailableError

    with pytest.raises(EncoderUnavailableError, match="Fix or remove it"):
        load_encoder(tmp_path / "imagenet")
