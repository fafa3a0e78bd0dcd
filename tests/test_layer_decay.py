"""Layer-wise learning-rate decay: optimiser parameter groups per encoder layer, training only the top blocks."""

import pytest

from zoobot.encoders import load_encoder
from zoobot.finetune import count_blocks, encoder_param_groups


def test_param_groups_layer_decay_and_blocks():
    encoder, _ = load_encoder("test_convnext")
    groups = encoder_param_groups(encoder, lr=1e-3, weight_decay=0.05, layer_decay=0.5)
    lrs = sorted({g["lr"] for g in groups})
    assert max(lrs) == pytest.approx(1e-3) and min(lrs) < 1e-4
    assert {g["weight_decay"] for g in groups} == {0.0, 0.05}
    n_all = sum(p.numel() for g in groups for p in g["params"])
    assert n_all == sum(p.numel() for p in encoder.parameters())

    top_two = encoder_param_groups(encoder, lr=1e-3, weight_decay=0.05, layer_decay=0.5, n_blocks=2)
    trained = {id(p) for g in top_two for p in g["params"]}
    assert 0 < len(trained) < len(list(encoder.parameters()))
    assert not encoder.stem[0].weight.requires_grad
    assert id(encoder.stem[0].weight) not in trained

    assert encoder_param_groups(encoder, lr=1e-3, weight_decay=0.05, layer_decay=0.5, n_blocks=0) == []
    assert count_blocks(encoder) == 6
    with pytest.raises(ValueError, match="has 6 blocks"):
        encoder_param_groups(encoder, lr=1e-3, weight_decay=0.05, layer_decay=0.5, n_blocks=7)
