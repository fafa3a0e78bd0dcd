"""The heads' dropout: the distribution of ``F.dropout``, drawn faster on a CPU."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoobot.finetune.heads import Dropout, LinearHead, PermaDropout, dropout, get_pytorch_dirichlet_head


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest(p):
    torch.manual_seed(0)
    x = torch.ones(400, 512)
    y = dropout(x, p)
    zeroed = float((y == 0).float().mean())
    n = x.numel()
    assert abs(zeroed - p) < 5 * (p * (1 - p) / n) ** 0.5
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / (1 - p)))
    assert abs(float(y.mean()) - 1.0) < 0.02  # the expectation is kept


def test_dropout_masks_are_independent_per_value_and_follow_the_seed():
    torch.manual_seed(1)
    a = dropout(torch.ones(200, 300), 0.5)
    torch.manual_seed(1)
    assert torch.equal(a, dropout(torch.ones(200, 300), 0.5))
    kept = (a != 0).float()
    # neighbouring values and rows are not correlated (a mask drawn per value, not per row or column)
    assert abs(float(torch.corrcoef(torch.stack([kept[:, :-1].reshape(-1), kept[:, 1:].reshape(-1)]))[0, 1])) < 0.03
    assert abs(float(torch.corrcoef(torch.stack([kept[:-1].reshape(-1), kept[1:].reshape(-1)]))[0, 1])) < 0.03


def test_dropout_gradient_is_the_scaled_mask():
    x = torch.randn(50, 20, requires_grad=True)
    y = dropout(x, 0.3)
    y.sum().backward()
    assert torch.allclose(x.grad, (y != 0).float() / 0.7)


def test_dropout_off_and_edge_rates_behave_as_torch():
    x = torch.randn(10, 4)
    assert torch.equal(dropout(x, 0.5, training=False), x)
    assert torch.equal(dropout(x, 0.0), x)
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError):
        dropout(x, 1.5)


def test_head_modules_are_torch_dropout_and_keep_their_modes():
    head = LinearHead(8, 2, head_dropout_prob=0.5)
    assert isinstance(head.dropout, nn.Dropout) and isinstance(head.dropout, Dropout)
    x = torch.ones(64, 8)
    head.eval()
    assert torch.equal(head.dropout(x), x)  # off in eval mode
    head.train()
    assert (head.dropout(x) == 0).any()
    tree = get_pytorch_dirichlet_head(8, 3)
    assert isinstance(tree[0], nn.Dropout)
    perma = get_pytorch_dirichlet_head(8, 3, test_time_dropout=True)
    assert isinstance(perma[0], PermaDropout)
    perma.eval()
    assert (perma[0](x) == 0).any()  # Monte Carlo dropout stays on when predicting
    assert list(head.state_dict()) == ["linear.weight", "linear.bias"]  # Zoobot's keys
