"""Training from scratch: ZoobotTree, the Zoobot 2.x helpers, and the exported encoder."""

from __future__ import annotations

import pytest
import torch

from zoobot.encoders import load_encoder
from zoobot.finetune import FinetuneableZoobotClassifier
from zoobot.schemas import Schema
from zoobot.scratch import (
    ZoobotTree,
    get_encoder_dim,
    get_pytorch_dirichlet_head,
    get_pytorch_encoder,
    train_default_zoobot_from_scratch,
)


@pytest.fixture
def schema(tiny_schema_pairs) -> Schema:
    return Schema(*tiny_schema_pairs)


def test_zoobot_2_helpers():
    encoder = get_pytorch_encoder("test_convnext", channels=1)
    assert get_encoder_dim(encoder) == 64
    assert encoder(torch.rand(2, 1, 32, 32)).shape == (2, 64)
    head = get_pytorch_dirichlet_head(64, 5, dropout_rate=0.2).eval()
    concentrations = head(torch.randn(3, 64) * 100)
    assert concentrations.shape == (3, 5)
    assert ((concentrations >= 1) & (concentrations <= 101)).all()


def test_zoobot_tree_from_question_index_groups():
    model = ZoobotTree(architecture_name="test_convnext", question_index_groups=[(0, 1), (2, 4)], input_size=32)
    assert len(model.label_cols) == 5
    assert model.card.input_size == (3, 32, 32)
    with pytest.raises(ValueError, match="exactly one"):
        ZoobotTree(architecture_name="test_convnext")


def test_train_from_scratch_exports_a_loadable_encoder(make_catalog, schema, tmp_path):
    catalog = make_catalog(n=20, size=32, task="tree")
    model, trainer = train_default_zoobot_from_scratch(
        tmp_path / "pretrain",
        schema,
        catalog=catalog,
        architecture_name="test_convnext",
        input_size=32,
        batch_size=8,
        epochs=2,
        patience=2,
        accelerator="cpu",
        devices=1,
        num_workers=0,
        enable_progress_bar=False,
        seed=1,
    )
    assert trainer.current_epoch == 2
    best = trainer.checkpoint_callback.best_model_path
    assert best and "test_loss" in trainer.callback_metrics

    exported, card = load_encoder(tmp_path / "pretrain" / "encoder")
    assert card.architecture == "test_convnext" and card.input_size == (3, 32, 32)
    assert card.mean == (0.0, 0.0, 0.0)
    images = torch.rand(2, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(exported.eval()(images), model.encoder(images), atol=1e-5)

    # The checkpoint itself is an encoder source too, and reloads as a ZoobotTree.
    from_checkpoint, _ = load_encoder(best)
    with torch.no_grad():
        assert torch.allclose(from_checkpoint.eval()(images), model.encoder(images), atol=1e-5)
    reloaded = ZoobotTree.load_from_checkpoint(best, weights_only=True)
    assert reloaded.schema == schema
    assert not model.settings.freeze_norm_stats and not reloaded.settings.freeze_norm_stats  # from scratch

    # ...and finetunes like any other encoder.
    finetuner = FinetuneableZoobotClassifier(num_classes=2, name=str(tmp_path / "pretrain" / "encoder"))
    assert finetuner.card.input_size == (3, 32, 32)


def test_resize_after_crop_is_input_size(schema, make_catalog, tmp_path):
    catalog = make_catalog(n=6, size=32, task="tree")
    with pytest.raises(ValueError, match="disagree"):
        train_default_zoobot_from_scratch(
            tmp_path, schema, catalog=catalog, architecture_name="test_convnext", input_size=64, resize_after_crop=32
        )
