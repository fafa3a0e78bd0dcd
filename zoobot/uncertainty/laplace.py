"""A last-layer Laplace posterior of a finetuned head: a Gaussian over its final linear layer's weights.

Monte Carlo dropout (:mod:`~zoobot.uncertainty.sampling`) samples the head with its dropout on; here a
Gaussian posterior is fitted to the weights and bias of the head's last linear layer around their finetuned
values (the MAP), from the labelled galaxies (MacKay 1992; Daxberger et al. 2021, "Laplace Redux"). The
layer's outputs ``f = W phi + b`` are then Gaussian for every galaxy, with a covariance that is small for
galaxies like the labelled ones and large for galaxies unlike them. Draws of ``f`` go through the rest of
the head and ``outputs_to_predictions``, so samples are shaped like :func:`~zoobot.uncertainty.head_samples`'
and :mod:`~zoobot.uncertainty.acquisition` scores them unchanged.

- **Curvature**, per galaxy in the space of the layer's outputs: for a classifier the generalised
  Gauss-Newton matrix (the softmax Hessian ``diag(p) - p p^T``), exact; for a vote-count tree the Fisher
  of the Dirichlet-multinomial likelihood (:mod:`zoobot.losses`), by Monte Carlo: vote counts drawn from
  the model's own prediction (as many volunteers per question as the galaxy had), their gradients' outer
  products averaged; for a regressor the Fisher of a Gaussian likelihood whose variance is the mean squared
  residual on the labelled galaxies (at least 1% of their variance; Monte Carlo too, through any
  activation). Multi-label classifiers are refused (use dropout).
- **Structure**: the full covariance of the ``P = k (d + 1)`` weights when ``P`` is at most
  :data:`FULL_LIMIT` (a binary classifier on 512 features: 1,026), else Kronecker-factored (K-FAC: the
  mean output curvature ``A`` (k x k) times ``sum phi phi^T``), whose eigenvectors give the
  log-determinant and each galaxy's output covariance exactly.
- **Prior**: isotropic, mean 0, its precision chosen from :data:`PRIOR_GRID` by the Laplace approximation
  of the labelled galaxies' marginal likelihood (MacKay's evidence; Immer et al. 2021), the MAP held fixed.
  The head's dropout (rate ``p``) counts too, as the data-dependent L2 prior it amounts to (Wager et al.
  2013): ``p / (1 - p)`` times the curvature of each feature's own weights (``fit_laplace(dropout=0)``
  leaves it out).

:func:`fit_laplace` fits it on features and labels, :func:`fit_run_laplace` on a run's training galaxies
(:func:`zoobot.runs.run_split`); :func:`laplace_samples` draws predictions; :func:`output_covariance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from zoobot.uncertainty.head_layer import (
    dropout_rate,
    final_linear,
    layer_io,
    layer_weights,
    negative_log_likelihood,
    output_fisher,
    predict_from_outputs,
)
from zoobot.uncertainty.sampling import check_sample_count

__all__ = ["LastLayerLaplace", "fit_laplace", "fit_run_laplace", "laplace_samples", "output_covariance"]

Structure = Literal["auto", "full", "kron"]
FULL_LIMIT = 2500
"""Most weights (``k (d + 1)``) for which the full covariance is kept; above it, Kronecker factors."""
PRIOR_GRID = np.logspace(-4, 6, 101)
"""Prior precisions the marginal likelihood chooses from (every 0.1 in log10)."""


@dataclass(frozen=True)
class LastLayerLaplace:
    """The Gaussian posterior of a head's last linear layer (:func:`fit_laplace`).

    Attributes:
        task: ``'classification'``, ``'regression'`` or ``'tree'``.
        structure: ``'full'`` or ``'kron'``.
        prior_precision: the chosen prior precision.
        log_marginal_likelihood: the Laplace log evidence at it (nats, up to the same constant for every prior).
        n_labelled: galaxies fitted on.
        n_weights: weights and biases of the layer, ``k (d + 1)``.
        factors: ``'covariance'`` ``(P, P)`` (full), or ``'q_out'``, ``'eig_out'``, ``'q_in'``, ``'eig_in'``
            (Kronecker: eigenvectors and eigenvalues of the output and input factors).
        noise_variance: regression only: the Gaussian likelihood's variance per target.
    """

    task: str
    structure: str
    prior_precision: float
    log_marginal_likelihood: float
    n_labelled: int
    n_weights: int
    factors: dict[str, np.ndarray]
    noise_variance: np.ndarray | None = None

    def layer_covariance(self, inputs: np.ndarray) -> np.ndarray:
        """``(B, k, k)`` posterior covariance of the layer's outputs for inputs ``(B, d + 1)`` (bias column last)."""
        if self.structure == "full":
            k = self.n_weights // inputs.shape[1]
            cov = self.factors["covariance"].reshape(k, inputs.shape[1], k, inputs.shape[1])
            out = np.empty((len(inputs), k, k))
            for a in range(k):
                for b in range(k):
                    out[:, a, b] = np.einsum("nu,nu->n", inputs @ cov[a, :, b, :], inputs)
            return out
        z2 = (inputs @ self.factors["q_in"]) ** 2  # (B, d + 1)
        scale = 1.0 / (np.outer(self.factors["eig_out"], self.factors["eig_in"]) + self.prior_precision)
        v = z2 @ scale.T  # (B, k)
        q = self.factors["q_out"]
        return np.einsum("ak,nk,bk->nab", q, v, q)


def fit_laplace(
    model: Any,
    features: Any,
    targets: Any,
    task: str | None = None,
    schema: Any = None,
    structure: Structure = "auto",
    prior_precision: float | None = None,
    dropout: float | None = None,
    seed: int = 0,
) -> LastLayerLaplace:
    """Fit the last-layer Laplace posterior of a finetuned head on labelled galaxies.

    Args:
        model: a finetuned model (its ``head`` and ``outputs_to_predictions``), at its trained weights.
        features: ``(B, D)`` encoder features of the labelled galaxies (:func:`~zoobot.uncertainty.encoder_features`).
        targets: their labels: class indices ``(B,)``, values ``(B, T)`` or vote counts ``(B, n_answers)``.
        task: ``'classification'``, ``'regression'`` or ``'tree'`` (default: the model's).
        schema: trees: the decision tree (default: the model's).
        structure: ``'full'``, ``'kron'`` or ``'auto'`` (full up to :data:`FULL_LIMIT` weights).
        prior_precision: a fixed prior precision instead of the marginal likelihood's choice.
        dropout: the dropout rate the head was trained with, counted as a prior (default: the rate of the
            head's dropout before its last layer; 0 leaves it out).
        seed: seeds the outcomes drawn for the Monte Carlo Fisher.

    Raises:
        ValueError: no labelled galaxies, a multi-label classifier, or an unknown task or structure.
    """
    import torch

    from zoobot.uncertainty.columns import model_task

    task = task or model_task(model)
    if task not in ("classification", "regression", "tree"):
        raise ValueError(f"task must be 'classification', 'regression' or 'tree', not {task!r}.")
    if getattr(model, "multilabel", False):
        raise ValueError("The Laplace posterior does not cover multi-label classifiers; use posterior='dropout'.")
    if structure not in ("auto", "full", "kron"):
        raise ValueError(f"structure must be 'auto', 'full' or 'kron', not {structure!r}.")
    schema = schema if schema is not None else getattr(model, "schema", None)
    if task == "tree" and schema is None:
        raise ValueError("A tree's Laplace posterior needs its schema.")
    features, targets = np.array(features, dtype=np.float32, copy=True), np.asarray(targets, dtype=np.float64)
    if not len(features):
        raise ValueError(
            "The Laplace posterior is fitted on the galaxies the model learned from, and none were given: "
            "give labelled galaxies (a run folder's training split, or catalog rows with labels), or use "
            "posterior='dropout'."
        )
    if len(targets) != len(features):
        raise ValueError(f"Got {len(targets)} labels for {len(features)} galaxies; give one per galaxy.")
    linear = final_linear(model)
    inputs, outputs = layer_io(model, linear, features)
    with torch.no_grad():
        x = torch.as_tensor(features).to(linear.weight.device)
        eta = torch.as_tensor(outputs, dtype=linear.weight.dtype).to(x.device)
        predictions = predict_from_outputs(model, linear, x, eta).double().cpu().numpy().reshape(len(x), -1)
    noise = None
    if task == "regression":
        targets = targets.reshape(len(targets), -1)
        # never below 1% of the targets' own variance: a head that fits a few galaxies exactly is not noiseless
        noise = np.maximum(np.mean((predictions - targets) ** 2, axis=0), 0.01 * targets.var(axis=0) + 1e-12)
    nll = negative_log_likelihood(task, schema, noise)
    with torch.no_grad():
        # a copy: the targets may be a read-only array (a catalog's column), which torch warns about
        log_likelihood = -float(nll(torch.as_tensor(predictions), torch.tensor(targets)).sum())
    fisher = output_fisher(model, linear, features, outputs, predictions, targets, task, schema, noise, seed)
    rate = dropout_rate(model, linear) if dropout is None else float(dropout)
    if not 0 <= rate < 1:
        raise ValueError(f"dropout must be from 0 up to (not including) 1, got {rate}.")
    full = structure == "full" or (structure == "auto" and fisher.shape[1] * inputs.shape[1] <= FULL_LIMIT)
    weight = layer_weights(linear)
    curvature = _curvature(fisher, inputs, linear.bias is not None, rate / (1 - rate), full)
    return _posterior(task, curvature, weight, log_likelihood, prior_precision, noise, len(features))


def _curvature(fisher: np.ndarray, inputs: np.ndarray, bias: bool, dropout_scale: float, full: bool) -> dict:
    """The posterior precision without the isotropic prior, as eigen-decompositions: the curvature
    ``sum_i F_i (x) phi_i phi_i^T`` plus the head's dropout as a prior (``'prior'``: the dropout part alone).

    Dropout of rate ``p`` on the layer's inputs acts like the L2 penalty ``p / (1 - p)`` times
    ``sum_i F_i (x) diag(phi_i**2)`` (Wager et al. 2013; the bias is not dropped). Kronecker-factored, both
    become ``A (x) (sum_i phi_i phi_i^T + penalty)`` with ``A`` the mean of the ``F_i``.
    """
    k, d1 = fisher.shape[1], inputs.shape[1]
    squares = inputs**2
    if bias:
        squares[:, -1] = 0.0
    if not full:
        eig_out, q_out = np.linalg.eigh(fisher.mean(axis=0))
        dropped = dropout_scale * squares.sum(axis=0)
        eig_in, q_in = np.linalg.eigh(inputs.T @ inputs + np.diag(dropped))
        eig_out, eig_in = np.clip(eig_out, 0.0, None), np.clip(eig_in, 0.0, None)
        kron = {"q_out": q_out, "eig_out": eig_out, "q_in": q_in, "eig_in": eig_in}
        return {"eigenvalues": np.outer(eig_out, eig_in).reshape(-1), "prior": np.outer(eig_out, dropped), **kron}
    curvature = np.zeros((k, d1, k, d1))
    penalty = np.zeros((d1, k, k))
    for a in range(k):
        for b in range(a, k):
            curvature[a, :, b, :] = (inputs * fisher[:, a, b, None]).T @ inputs
            curvature[b, :, a, :] = curvature[a, :, b, :].T
            penalty[:, a, b] = penalty[:, b, a] = dropout_scale * (fisher[:, a, b, None] * squares).sum(axis=0)
    for u in range(d1):
        curvature[:, u, :, u] += penalty[u]
    eigenvalues, vectors = np.linalg.eigh(curvature.reshape(k * d1, k * d1))
    return {"eigenvalues": np.clip(eigenvalues, 0.0, None), "vectors": vectors, "prior": np.linalg.eigvalsh(penalty)}


def _posterior(
    task: str,
    curvature: dict,
    weight: np.ndarray,
    log_likelihood: float,
    prior_precision: float | None,
    noise: np.ndarray | None,
    n_labelled: int,
) -> LastLayerLaplace:
    """The prior precision the evidence chooses, and the posterior with it."""
    grid = np.asarray([prior_precision] if prior_precision is not None else PRIOR_GRID, dtype=np.float64)
    if not (grid > 0).all():
        raise ValueError(f"prior_precision must be above 0, got {prior_precision}.")
    eigenvalues, prior = curvature["eigenvalues"], np.clip(curvature["prior"], 0.0, None).reshape(-1)
    # log p(D | MAP) + log N(MAP; 0, prior) + log det(2 pi posterior covariance) / 2, less the MAP's dropout
    # penalty (the same for every prior precision)
    evidence = (
        log_likelihood
        - 0.5 * grid * float((weight**2).sum())
        + 0.5 * np.log(prior[None, :] + grid[:, None]).sum(axis=1)
        - 0.5 * np.log(eigenvalues[None, :] + grid[:, None]).sum(axis=1)
    )
    best = int(np.argmax(evidence))
    tau = float(grid[best])
    if "vectors" in curvature:
        vectors = curvature["vectors"]
        factors, structure = {"covariance": (vectors / (eigenvalues + tau)) @ vectors.T}, "full"
    else:
        factors, structure = {k: curvature[k] for k in ("q_out", "eig_out", "q_in", "eig_in")}, "kron"
    return LastLayerLaplace(task, structure, tau, float(evidence[best]), n_labelled, weight.size, factors, noise)


def output_covariance(model: Any, laplace: LastLayerLaplace, features: Any) -> np.ndarray:
    """``(B, k, k)``: the posterior covariance of the head's last-layer outputs (logits, or what the
    activation takes) for galaxies' encoder features ``(B, D)``; small where the labelled galaxies were."""
    return laplace.layer_covariance(layer_io(model, final_linear(model), features)[0])


def laplace_samples(
    model: Any, laplace: LastLayerLaplace, features: Any, n_samples: int = 20, seed: int | None = 0
) -> np.ndarray:
    """Predictions for galaxies from ``n_samples`` draws of the posterior, shaped like
    :func:`~zoobot.uncertainty.head_samples`' ``(n_samples, B, n_outputs)`` (float64).

    Each galaxy's layer outputs are drawn from their Gaussian (the MAP outputs, the posterior's
    covariance for its features), then go through the rest of the head and ``outputs_to_predictions``.
    """
    import torch

    check_sample_count(n_samples)
    linear = final_linear(model)
    inputs, outputs = layer_io(model, linear, features)
    covariance = laplace.layer_covariance(inputs)
    values, vectors = np.linalg.eigh(covariance)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]  # (B, k, k): root @ root.T = covariance
    noise = np.random.default_rng(seed).standard_normal((n_samples, *outputs.shape))
    drawn = outputs[None] + np.einsum("bij,sbj->sbi", root, noise)  # (S, B, k)
    x = torch.as_tensor(np.array(features, dtype=np.float32, copy=True))
    device = linear.weight.device
    per_block = max(1, 8192 // n_samples)  # rows per head call, as head_samples
    blocks = []
    with torch.no_grad():
        for i in range(0, len(x), per_block):
            part = x[i : i + per_block].to(device)
            eta = torch.as_tensor(drawn[:, i : i + per_block].reshape(-1, outputs.shape[1]), dtype=linear.weight.dtype)
            predictions = predict_from_outputs(model, linear, part.repeat(n_samples, 1), eta.to(device))
            blocks.append(predictions.reshape(n_samples, len(part), -1).double().cpu())
    if not blocks:
        return np.zeros((n_samples, 0, len(model.default_output_names())))
    return torch.cat(blocks, dim=1).numpy()


def fit_run_laplace(
    run_dir: str | Path,
    model: Any = None,
    batch_size: int | None = None,
    num_workers: int = 0,
    accelerator: str = "auto",
    structure: Structure = "auto",
) -> LastLayerLaplace:
    """The Laplace posterior of a finished run's head, fitted on the run's training galaxies.

    The split is rebuilt from the run's config (:func:`zoobot.runs.run_split`, as training and
    calibration do) and the encoder reads the training galaxies' images once.

    Args:
        run_dir: the run folder.
        model: the run's model if already loaded (default: :func:`zoobot.runs.load_run_model`).
        batch_size, num_workers, accelerator: for reading images (default batch size: the run's).
        structure: as :func:`fit_laplace`.

    Raises:
        ValueError: the run's split has no labelled training galaxies.
    """
    from zoobot.runs import RunFolder, load_run_model, resolve_schema, run_split, split_targets
    from zoobot.uncertainty.sampling import encoder_features

    folder = RunFolder(run_dir)
    config = folder.read_config()
    model = model if model is not None else load_run_model(folder.path)
    problem = "it has no labelled galaxies in its training split"
    try:
        train = run_split(config, model.card).train_catalog
    except ValueError as error:  # e.g. too few labelled rows left to split
        train, problem = None, f"its training split could not be rebuilt: {error}"
    if train is None or not len(train):
        raise ValueError(
            f"The Laplace posterior is fitted on run {folder.path.name}'s training galaxies, but {problem} "
            f"Check that its catalog ({config.catalog}) still has the labels it was trained on, or use "
            "posterior='dropout' (zoobot suggest --posterior dropout)."
        )
    features = encoder_features(model, train, batch_size or config.batch_size, num_workers, accelerator)
    schema = resolve_schema(config.schema) if config.task == "tree" else None
    targets = split_targets(train, config.task, config.label_cols)
    return fit_laplace(model, features, targets, config.task, schema, structure)
