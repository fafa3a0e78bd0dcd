"""The head's last linear layer, for a last-layer posterior (:mod:`zoobot.uncertainty.laplace`): which layer it
is, its inputs and outputs for galaxies' features, the model's predictions when its outputs are replaced, and
the Fisher of the model's likelihood in its outputs, per galaxy.

The layer is found and replaced with forward hooks, so whatever comes before it (dropout, off here) and after
it (an activation, the tree's scaled sigmoid, ``outputs_to_predictions``) is the model's own code.

- classifier: the outcome is the class; its Fisher (the softmax Hessian, the generalised Gauss-Newton
  matrix) is summed over the classes exactly;
- tree: vote counts of as many volunteers per question as the galaxy had, drawn from the predicted
  Dirichlet-multinomial (:data:`N_OUTCOMES` draws): a Monte Carlo estimate of its Fisher;
- regressor: a Gaussian of the given variance per target, by Monte Carlo too (through any activation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "N_OUTCOMES",
    "dropout_rate",
    "final_linear",
    "layer_io",
    "layer_weights",
    "negative_log_likelihood",
    "output_fisher",
    "predict_from_outputs",
]

N_OUTCOMES = 16
"""Outcomes drawn per galaxy for the Monte Carlo Fisher (trees, regressors)."""
_BLOCK = 1024


def final_linear(model: Any) -> nn.Linear:
    """The last linear layer of the model's head (the layer the posterior is over)."""
    from torch import nn

    from zoobot.uncertainty.sampling import _check_model

    _check_model(model)
    layers = [m for m in model.head.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError(
            f"The head of {type(model).__name__} has no linear layer for a last-layer Laplace posterior; "
            "use posterior='dropout'."
        )
    return layers[-1]


def layer_io(model: Any, linear: nn.Linear, features: Any) -> tuple[np.ndarray, np.ndarray]:
    """The layer's inputs with a bias column ``(B, d + 1)`` and its outputs ``(B, k)`` (the MAP), dropout off."""
    import torch

    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    handle = linear.register_forward_hook(lambda _m, i, o: seen.append((i[0].detach(), o.detach())))
    x = torch.as_tensor(np.array(features, dtype=np.float32, copy=True))
    device = linear.weight.device
    was_training = model.head.training
    model.head.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(x), _BLOCK):
                model.head(x[i : i + _BLOCK].to(device))
    finally:
        handle.remove()
        model.head.train(was_training)
    if not seen:
        return np.zeros((0, linear.in_features + 1)), np.zeros((0, linear.out_features))
    inputs = torch.cat([s[0] for s in seen]).double().cpu().numpy().reshape(len(x), -1)
    outputs = torch.cat([s[1] for s in seen]).double().cpu().numpy().reshape(len(x), -1)
    bias = np.ones((len(inputs), 1 if linear.bias is not None else 0))
    return np.concatenate([inputs, bias], axis=1), outputs


def predict_from_outputs(model: Any, linear: nn.Linear, features: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
    """The model's predictions when the layer outputs ``outputs`` (the rest of the head, then
    ``outputs_to_predictions``), differentiable in ``outputs``."""
    handle = linear.register_forward_hook(lambda _m, _i, _o: outputs.reshape(_o.shape))
    was_training = model.head.training
    model.head.eval()
    try:
        return model.outputs_to_predictions(model.head(features))
    finally:
        handle.remove()
        model.head.train(was_training)


def negative_log_likelihood(
    task: str, schema: Any, noise: np.ndarray | None
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Per-galaxy negative log-likelihood ``(R,)`` of outcomes given predictions."""
    import torch

    if task == "classification":
        return lambda p, y: -torch.log(p.gather(1, y.long().reshape(-1, 1)).clamp_min(1e-30)).reshape(-1)
    if task == "regression":
        variance = torch.as_tensor(np.ones(1) if noise is None else noise)
        return lambda p, y: (((p.double() - y) ** 2) / (2 * variance)).sum(dim=1)
    from zoobot.losses import CustomMultiQuestionLoss

    loss = CustomMultiQuestionLoss([tuple(g) for g in schema.question_index_groups])
    return lambda p, y: loss(p.double(), y)


def _outcomes(
    task: str, predictions: np.ndarray, targets: np.ndarray, schema: Any, noise: Any, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes ``(M, B, ...)`` to take the Fisher over, and their weights ``(M, B)``: every class with its
    probability (exact), or ``N_OUTCOMES`` draws from the model's likelihood with weight ``1 / M``."""
    b = len(predictions)
    if task == "classification":
        k = predictions.shape[1]
        return np.repeat(np.arange(k)[:, None], b, axis=1), predictions.T.copy()
    if task == "regression":
        draws = predictions + np.sqrt(noise) * rng.standard_normal((N_OUTCOMES, *predictions.shape))
        return draws, np.full((N_OUTCOMES, b), 1.0 / N_OUTCOMES)
    draws = np.zeros((N_OUTCOMES, *predictions.shape))
    for start, end in schema.question_index_groups:
        alpha = predictions[:, start : end + 1]
        totals = np.rint(targets[:, start : end + 1].sum(axis=1)).astype(np.int64)
        gammas = rng.standard_gamma(np.broadcast_to(alpha, (N_OUTCOMES, *alpha.shape)))
        shares = gammas / gammas.sum(axis=-1, keepdims=True)
        draws[:, :, start : end + 1] = rng.multinomial(np.broadcast_to(totals, (N_OUTCOMES, b)), shares)
    return draws, np.full((N_OUTCOMES, b), 1.0 / N_OUTCOMES)


def _weighted_fisher(
    model: Any,
    linear: nn.Linear,
    features: np.ndarray,
    outputs: np.ndarray,
    outcomes: np.ndarray,
    weights: np.ndarray,
    nll: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> np.ndarray:
    """``(B, k, k)``: per galaxy, the weighted outer products of the outcomes' gradients in the layer's outputs."""
    import torch

    m, k = outcomes.shape[0], outputs.shape[1]
    fisher = np.zeros((len(outputs), k, k))
    per_block = max(1, _BLOCK * 4 // m)
    for i in range(0, len(outputs), per_block):
        rows = slice(i, i + per_block)
        n = len(outputs[rows])
        x = torch.as_tensor(np.asarray(features[rows], dtype=np.float32)).repeat(m, 1).to(linear.weight.device)
        eta = torch.as_tensor(outputs[rows], dtype=linear.weight.dtype).repeat(m, 1).to(x.device).requires_grad_()
        y = torch.as_tensor(outcomes[:, rows].reshape(m * n, *outcomes.shape[2:]))
        predictions = predict_from_outputs(model, linear, x, eta).reshape(m * n, -1)
        (grad,) = torch.autograd.grad(nll(predictions, y.to(predictions.device)).sum(), eta)
        g = grad.double().cpu().numpy().reshape(m, n, k)
        fisher[rows] = np.einsum("mn,mna,mnb->nab", weights[:, rows], g, g)
    return fisher


def output_fisher(
    model: Any,
    linear: nn.Linear,
    features: np.ndarray,
    outputs: np.ndarray,
    predictions: np.ndarray,
    targets: np.ndarray,
    task: str,
    schema: Any = None,
    noise: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """``(B, k, k)``: per galaxy, the Fisher of the model's likelihood in the layer's outputs ``(B, k)``, at its
    ``predictions``; ``targets`` give a tree's volunteers per question, ``noise`` a regressor's variance."""
    outcomes, weights = _outcomes(task, predictions, targets, schema, noise, np.random.default_rng(seed))
    nll = negative_log_likelihood(task, schema, noise)
    return _weighted_fisher(model, linear, features, outputs, outcomes, weights, nll)


def dropout_rate(model: Any, linear: nn.Linear) -> float:
    """The rate of the last dropout the head applies before ``linear`` (0 without one)."""
    from torch import nn

    rate = 0.0
    for module in model.head.modules():
        if module is linear:
            return rate
        if isinstance(module, nn.modules.dropout._DropoutNd):
            rate = float(module.p)
    return rate


def layer_weights(linear: nn.Linear) -> np.ndarray:
    """The layer's weights with its bias as the last column, ``(k, d + 1)``."""
    weight = linear.weight.detach().double().cpu().numpy()
    if linear.bias is None:
        return weight
    return np.concatenate([weight, linear.bias.detach().double().cpu().numpy()[:, None]], axis=1)
