"""Uncertainty a user can check: vote-fraction intervals, Monte Carlo dropout, Laplace, calibration, what to label next.

- :mod:`~zoobot.uncertainty.intervals`: the latent interval (where many volunteers' fraction would lie)
  and the predictive interval (what ``N`` volunteers would answer) of a tree model's concentrations.
- :mod:`~zoobot.uncertainty.sampling`: Monte Carlo dropout (features once, the head ``n_samples``
  times), small ensembles, and per-galaxy mean, spread and mutual information.
- :mod:`~zoobot.uncertainty.laplace`: a last-layer Laplace posterior of the head's final linear layer,
  fitted on the labelled galaxies, sampled in place of dropout (what BALD uses by default);
  :mod:`~zoobot.uncertainty.head_layer` finds that layer and gives the Fisher of the likelihood in its outputs.
- :mod:`~zoobot.uncertainty.information`: predictive entropy and mutual information (BALD), for
  classes and for the vote counts of ``N`` volunteers (Dirichlet-multinomial).
- :mod:`~zoobot.uncertainty.calibration`: coverage, reliability diagram, ECE with its finite-sample
  reference, Brier score.
- :mod:`~zoobot.uncertainty.corrections`: temperature, concentration scales, residual scale.
- :mod:`~zoobot.uncertainty.report`: a run's ``calibration.json``.
- :mod:`~zoobot.uncertainty.acquisition`: scores that rank galaxies for labelling.
"""

from __future__ import annotations

from zoobot.uncertainty.acquisition import (
    SELECTIONS,
    STRATEGIES,
    acquisition_scores,
    expected_question_volunteers,
    select_batch,
)
from zoobot.uncertainty.calibration import (
    classifier_calibration,
    ece_reference,
    expected_calibration_error,
    regressor_calibration,
    reliability_diagram,
    tree_calibration,
)
from zoobot.uncertainty.corrections import (
    apply_correction,
    fit_concentration_scales,
    fit_residual_scale,
    fit_temperature,
    likelihood_range,
    regressor_intervals,
    regressor_scale,
)
from zoobot.uncertainty.information import categorical_information, dirichlet_multinomial_information
from zoobot.uncertainty.intervals import (
    LEVELS,
    catalog_volunteer_counts,
    fraction_interval_columns,
    interval_column,
    latent_intervals,
    predictive_intervals,
    question_totals,
)
from zoobot.uncertainty.laplace import LastLayerLaplace, fit_laplace, fit_run_laplace, laplace_samples
from zoobot.uncertainty.report import calibrate_model, calibrate_predictions, calibrate_run, format_calibration
from zoobot.uncertainty.sampling import (
    encoder_features,
    ensemble_samples,
    head_samples,
    mc_samples,
    summarize_samples,
)

__all__ = [
    "LEVELS",
    "STRATEGIES",
    "acquisition_scores",
    "select_batch",
    "SELECTIONS",
    "apply_correction",
    "calibrate_model",
    "calibrate_predictions",
    "calibrate_run",
    "catalog_volunteer_counts",
    "categorical_information",
    "classifier_calibration",
    "dirichlet_multinomial_information",
    "ece_reference",
    "encoder_features",
    "ensemble_samples",
    "expected_calibration_error",
    "expected_question_volunteers",
    "fit_concentration_scales",
    "fit_laplace",
    "fit_run_laplace",
    "LastLayerLaplace",
    "laplace_samples",
    "fit_residual_scale",
    "fit_temperature",
    "likelihood_range",
    "format_calibration",
    "head_samples",
    "interval_column",
    "fraction_interval_columns",
    "latent_intervals",
    "mc_samples",
    "predictive_intervals",
    "question_totals",
    "regressor_calibration",
    "regressor_intervals",
    "regressor_scale",
    "reliability_diagram",
    "summarize_samples",
    "tree_calibration",
]
