"""The heads that sit on an encoder: Zoobot 2.x's own modules, so checkpoints share their key names.

A classifier or regressor head is :class:`LinearHead` (dropout, linear, optional activation: state-dict keys
``head.linear.weight`` / ``head.linear.bias``); a tree head is :func:`get_pytorch_dirichlet_head` (dropout, then
linear + :class:`ScaledSigmoid` to Dirichlet concentrations in (1, 101): keys ``head.1.0.weight`` /
``head.1.0.bias``). These are the modules and names of Zoobot 2.0 and 2.9, so a checkpoint written by either
loads here key for key, and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from zoobot.deprecation import warn_deprecated

__all__ = [
    "LinearHead",
    "ScaledSigmoid",
    "Dropout",
    "PermaDropout",
    "dropout",
    "custom_top_dirichlet",
    "get_pytorch_dirichlet_head",
    "freeze_batchnorm_layers",
]


def dropout(input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> torch.Tensor:  # noqa: A002
    """``F.dropout``: each value zeroed with probability ``p``, the others scaled by ``1 / (1 - p)``.

    On a CPU the mask is drawn as uniform numbers compared with ``p``, where ``F.dropout`` draws it with
    ``bernoulli_``, which took two to three times as long for a head's ``(64, 512)`` features on 2 AMD
    cores (p 0.2: 230 against 120 microseconds; p 0.5: 370-400 against 130-180; torch 2.14), a sixth of a
    head-only training step on cached features (``benchmarks/run.py``). The same distribution; elsewhere
    (a GPU, ``inplace``) it is ``F.dropout``.
    """
    if not training or inplace or input.device.type != "cpu" or not 0.0 < p < 1.0:
        return F.dropout(input, p, training=training, inplace=inplace)
    keep = torch.rand(input.shape, device=input.device) >= p
    return input * keep * (1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    """``nn.Dropout`` (same modes, no weights) whose masks on a CPU are drawn by :func:`dropout`."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 (nn.Dropout's argument name)
        """Any shape -> the same shape: in training, each value zeroed with probability ``p``, the rest scaled."""
        return dropout(input, self.p, self.training, self.inplace)


class LinearHead(nn.Module):
    """Dropout, a linear layer and an optional activation: features ``(B, input_dim)`` -> ``(B, output_dim)``.

    With ``output_dim == 1`` the last axis is dropped, ``(B,)``, as in Zoobot (which drops every axis of
    size 1, so a batch of one came out 0-d; here it stays ``(1,)``).

    Args:
        input_dim: feature length (the encoder's output).
        output_dim: outputs (classes, or 1 for one regression target).
        head_dropout_prob: dropout probability before the linear layer.
        activation: callable applied last (e.g. ``torch.sigmoid``), or None for logits.
        dropout_prob: Zoobot 2.0's name of ``head_dropout_prob`` (translated, with a ``DeprecationWarning``).
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        head_dropout_prob: float = 0.5,
        activation: Callable[[torch.Tensor], torch.Tensor] | None = None,
        dropout_prob: float | None = None,
    ) -> None:
        super().__init__()
        if dropout_prob is not None:
            if head_dropout_prob not in (0.5, dropout_prob):
                raise ValueError(
                    f"dropout_prob={dropout_prob} and head_dropout_prob={head_dropout_prob} disagree; "
                    "dropout_prob is Zoobot 2.0's name of head_dropout_prob, give only head_dropout_prob."
                )
            warn_deprecated("LinearHead(dropout_prob=...) is deprecated; use head_dropout_prob instead.")
            head_dropout_prob = dropout_prob
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.dropout = Dropout(p=head_dropout_prob)
        self.linear = nn.Linear(input_dim, output_dim)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(B, input_dim)`` -> ``(B, output_dim)``, or ``(B,)`` when ``output_dim == 1``."""
        x = self.linear(self.dropout(x))
        if self.activation is not None:
            x = self.activation(x)
        return x.squeeze(-1) if self.output_dim == 1 else x


class ScaledSigmoid(nn.Sigmoid):
    """``sigmoid(x) * 100 + 1``: Dirichlet concentrations in (1, 101), as Zoobot's tree heads output."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 (nn.Sigmoid's argument name)
        """Any shape -> the same shape, values in (1, 101)."""
        return torch.sigmoid(input) * 100 + 1


class PermaDropout(nn.modules.dropout._DropoutNd):
    """Dropout that stays on in eval mode too (Zoobot's test-time dropout, for Monte Carlo samples)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 (nn.Dropout's argument name)
        """Zero each value with probability ``p`` and scale the rest by ``1 / (1 - p)``, always."""
        return dropout(input, self.p, training=True, inplace=self.inplace)


def custom_top_dirichlet(input_dim: int, output_dim: int) -> nn.Sequential:
    """A linear layer then :class:`ScaledSigmoid`: features ``(B, input_dim)`` -> concentrations ``(B, output_dim)``."""
    return nn.Sequential(nn.Linear(input_dim, output_dim), ScaledSigmoid())


def get_pytorch_dirichlet_head(
    encoder_dim: int, output_dim: int, test_time_dropout: bool = False, dropout_rate: float = 0.2
) -> nn.Sequential:
    """Zoobot's tree head: dropout, then :func:`custom_top_dirichlet`.

    Args:
        encoder_dim: feature length.
        output_dim: answers (one concentration each).
        test_time_dropout: keep dropout on in eval mode (:class:`PermaDropout`), for Monte Carlo samples.
        dropout_rate: dropout probability.

    Returns:
        ``Sequential(dropout, Sequential(Linear, ScaledSigmoid))``: features ``(B, encoder_dim)`` ->
        concentrations ``(B, output_dim)`` in (1, 101).
    """
    drop = PermaDropout(dropout_rate) if test_time_dropout else Dropout(dropout_rate)
    return nn.Sequential(drop, custom_top_dirichlet(encoder_dim, output_dim))


def freeze_batchnorm_layers(model: nn.Module) -> None:
    """Put every ``BatchNorm2d`` of ``model`` in eval mode: its running statistics stop updating.

    As in Zoobot. Lightning and ``model.train()`` set modes again, so call it after them (or use
    ``freeze_norm_stats=True``, which the finetuning classes re-apply at every epoch).
    """
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
