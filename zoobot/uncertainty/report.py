"""A run's calibration report: fit a correction on the validation split, report before and after on the test split.

:func:`calibrate_predictions` works on arrays (any model, any split); :func:`calibrate_model` on a model
and a run's validation and test rows (what every run does when it finishes, see
:func:`zoobot.runs.run_finetune`); :func:`calibrate_run` does it again for a finished run folder: it
rebuilds the run's split, computes the encoder's features of the validation and test galaxies once,
samples the head (``n_samples`` Monte Carlo dropout passes), and writes ``calibration.json`` through
:class:`~zoobot.runs.RunFolder`. :func:`format_calibration` prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoobot.uncertainty.calibration import classifier_calibration, regressor_calibration, tree_calibration
from zoobot.uncertainty.corrections import (
    apply_correction,
    fit_concentration_scales,
    fit_residual_scale,
    fit_temperature,
    regressor_scale,
)
from zoobot.uncertainty.intervals import LEVELS, as_passes

__all__ = ["calibrate_predictions", "calibrate_model", "calibrate_run", "format_calibration", "run_truth"]


def _report(
    task: str,
    samples: np.ndarray,
    targets: np.ndarray,
    correction: dict[str, Any] | None,
    schema: Any,
    names: Sequence[str] | None,
    truth: Any,
    levels: Sequence[float],
    seed: int,
) -> dict[str, Any] | None:
    if task == "classification":
        return classifier_calibration(apply_correction(samples, correction), targets, seed=seed)
    if task == "tree":
        return tree_calibration(apply_correction(samples, correction, schema), targets, schema, truth, levels)
    spread = samples.std(axis=0)
    if correction is None:  # the interval from the dropout spread alone: only with several passes
        return (
            regressor_calibration(samples.mean(axis=0), spread, targets, names, levels)
            if samples.shape[0] > 1
            else None
        )
    names = list(names) if names else list(correction["scales"])
    scale = regressor_scale(spread, [correction["scales"][n] for n in names])
    return regressor_calibration(samples.mean(axis=0), scale, targets, names, levels, correction["multipliers"])


def calibrate_predictions(
    task: str,
    val_samples: Any,
    val_targets: Any,
    test_samples: Any,
    test_targets: Any,
    schema: Any = None,
    names: Sequence[str] | None = None,
    val_truth: Any = None,
    test_truth: Any = None,
    levels: Sequence[float] = LEVELS,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit a calibration correction on validation predictions and report before and after on test ones.

    Args:
        task: ``'classification'``, ``'regression'`` or ``'tree'``.
        val_samples, test_samples: ``(B, K)`` or ``(S, B, K)`` predictions (probabilities, values or
            concentrations; several Monte Carlo passes are a mixture).
        val_targets, test_targets: class indices ``(B,)``, values ``(B, T)`` or vote counts ``(B, n_answers)``.
        schema: the tree (tree only).
        names: regression target names.
        val_truth, test_truth: tree only: true answer probabilities, if known (synthetic survey).
        levels: interval levels.
        seed: seeds the classifier's ECE reference.

    Returns:
        ``{'task', 'n_samples', 'levels', 'correction', 'validation': {'before', 'after'},
        'test': {'before', 'after'}}``; ``'test'`` is None without test galaxies. See
        :mod:`zoobot.uncertainty.calibration` for each report's fields.
    """
    val = as_passes(val_samples)
    if task == "classification":
        labels = np.asarray(val_targets).astype(int)
        correction = fit_temperature(val, labels)
    elif task == "tree":
        if schema is None:
            raise ValueError("A tree's calibration needs its schema.")
        correction = fit_concentration_scales(val, val_targets, schema)
    elif task == "regression":
        correction = fit_residual_scale(val.mean(axis=0), val.std(axis=0), val_targets, names, levels)
        names = list(correction["scales"])
    else:
        raise ValueError(f"task must be 'classification', 'regression' or 'tree', not {task!r}.")
    out: dict[str, Any] = {
        "task": task,
        "n_samples": int(val.shape[0]),
        "levels": list(levels),
        "fit_split": "val",
        "report_split": "test",
        "correction": correction,
    }
    for split, samples, targets, truth in (
        ("validation", val, val_targets, val_truth),
        ("test", test_samples, test_targets, test_truth),
    ):
        if samples is None or not len(as_passes(samples)[0]):
            out[split] = None
            continue
        passes, targets = as_passes(samples), np.asarray(targets)
        out[split] = {
            "before": _report(task, passes, targets, None, schema, names, truth, levels, seed),
            "after": _report(task, passes, targets, correction, schema, names, truth, levels, seed),
        }
    return out


def run_truth(catalog: Any, schema: Any) -> np.ndarray | None:
    """True answer probabilities for a synthetic survey's rows (:func:`zoobot.survey.catalog_answer_probabilities`),
    or None when the catalog is not one (no ``true_*`` columns) or the tree is not the survey's."""
    from zoobot.survey import SurveyError, catalog_answer_probabilities

    if not any(str(c).startswith("true_") for c in catalog.columns):
        return None
    try:
        return catalog_answer_probabilities(catalog, schema)[list(schema.label_cols)].to_numpy(dtype=np.float64)
    except SurveyError:
        return None


def calibrate_model(
    model: Any,
    config: Any,
    val: pd.DataFrame | None,
    test: pd.DataFrame | None,
    n_samples: int = 1,
    seed: int = 0,
    batch_size: int | None = None,
    num_workers: int | None = None,
    accelerator: str = "auto",
) -> dict[str, Any] | None:
    """Calibration report of a finetuned model on a run's validation and test galaxies.

    The encoder runs once over the galaxies' images and the head ``n_samples`` times; the correction
    is fitted on ``val`` and reported before and after on ``test`` (:func:`calibrate_predictions`).

    Args:
        model: the finetuned model.
        config: the run's :class:`~zoobot.runs.RunConfig` (task, label columns, schema, batch size).
        val, test: the run's validation and test rows (``datamodule.val_catalog`` / ``test_catalog``).
        n_samples: head passes; more than 1 turns Monte Carlo dropout on.
        seed: seeds the dropout masks and the ECE reference.
        batch_size, num_workers: for reading images (default: the run's).
        accelerator: ``'auto'``, ``'cpu'`` or ``'gpu'``.

    Returns:
        The report, with ``'n_val'`` and ``'n_test'``; None when there are no validation galaxies.
    """
    from zoobot.runs import resolve_schema, split_targets
    from zoobot.uncertainty.sampling import encoder_features, head_samples

    if val is None or not len(val):
        return None
    has_test = test is not None and len(test) > 0
    both = pd.concat([val, test], ignore_index=True) if has_test else val.reset_index(drop=True)
    features = encoder_features(
        model,
        both,
        batch_size or config.batch_size,
        config.num_workers if num_workers is None else num_workers,
        accelerator,
    )
    samples = head_samples(model, features, n_samples, seed)
    n_val = len(val)
    schema = resolve_schema(config.schema) if config.task == "tree" else None

    def targets(part: pd.DataFrame) -> np.ndarray:
        return split_targets(part, config.task, config.label_cols)

    truth = run_truth(both, schema) if schema is not None else None
    report = calibrate_predictions(
        config.task,
        samples[:, :n_val],
        targets(val),
        samples[:, n_val:] if has_test else None,
        targets(test) if has_test else None,
        schema=schema,
        names=config.label_cols if config.task == "regression" else None,
        val_truth=None if truth is None else truth[:n_val],
        test_truth=None if truth is None else truth[n_val:],
        seed=seed,
    )
    report.update(n_val=int(n_val), n_test=int(len(both) - n_val))
    return report


def calibrate_run(
    run_dir: str | Path,
    n_samples: int = 1,
    seed: int = 0,
    batch_size: int | None = None,
    num_workers: int | None = None,
    accelerator: str = "auto",
    write: bool = True,
) -> dict[str, Any]:
    """Calibration report of a finished run, written to its ``calibration.json``.

    The run's validation and test galaxies are rebuilt from its config (same catalog, fractions and
    seed as training), then :func:`calibrate_model`. Every run writes one with one pass when it
    finishes; this re-measures it, e.g. with Monte Carlo dropout.

    Args:
        run_dir: the run folder (with ``config.yaml`` and ``model/``).
        n_samples: head passes; more than 1 turns Monte Carlo dropout on.
        seed: seeds the dropout masks and the ECE reference.
        batch_size, num_workers: for reading images (default: the run's).
        accelerator: ``'auto'``, ``'cpu'`` or ``'gpu'``.
        write: write ``calibration.json``.

    Returns:
        The report (:func:`calibrate_predictions`), with ``'run_dir'`` and ``'n_val'``, ``'n_test'``.

    Raises:
        ValueError: the run has no validation galaxies.
    """
    from zoobot.runs import RunFolder, load_run_model, run_split

    folder = RunFolder(run_dir)
    config = folder.read_config()
    model: Any = load_run_model(folder.path)
    split = run_split(config, model.card)
    report = calibrate_model(
        model, config, split.val_catalog, split.test_catalog, n_samples, seed, batch_size, num_workers, accelerator
    )
    if report is None:
        raise ValueError(
            f"Run {folder.path} has no validation galaxies to fit a calibration on; give it a val_fraction above 0."
        )
    report["run_dir"] = str(folder.path)
    if write:
        folder.write_calibration(report)
    return report


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def temperature_range_text(correction: dict[str, Any]) -> str:
    """``'; 95% range 0.22-0.74 on 60 validation galaxies'`` for a fitted temperature ('' for an older report)."""
    span, n = correction.get("temperature_range"), correction.get("n_fitted")
    if not span or n is None:
        return ""
    return f"; 95% range {_figure(span[0])}-{_figure(span[1])} on {n} validation galaxies"


def _figure(value: float) -> str:
    """Two decimals, or one significant figure for a small positive number (0.001, not 0.00)."""
    return f"{value:.1g}" if 0 < abs(value) < 0.005 else f"{value:.2f}"


def format_calibration(report: dict[str, Any]) -> str:
    """A few lines a person can read: the key figures before and after the correction, on the test split."""
    task = report["task"]
    split = "test" if report.get("test") else "validation"
    part = report.get(split) or {}
    before, after = part.get("before"), part.get("after")
    correction = report["correction"]
    lines = [f"Calibration on the {split} split ({report['n_samples']} pass(es) per galaxy):"]
    if task == "classification":
        evidence = "significant" if correction["significant"] else "not significant"
        fitted_on = temperature_range_text(correction)
        lines.append(
            f"  temperature {correction['temperature']:.3f} fitted on validation and applied "
            f"(miscalibration on validation alone: {evidence}){fitted_on}"
        )
        for name, r in (("before", before), ("after", after)):
            if r:
                lines.append(
                    f"  {name}: ECE {r['ece']:.3f} (a calibrated model: {r['ece_reference']['mean']:.3f}, "
                    f"95% up to {r['ece_reference']['q95']:.3f}), Brier {r['brier']:.3f}, "
                    f"accuracy {_pct(r['accuracy'])}"
                )
    elif task == "tree":
        scales = ", ".join(
            f"{q} {c:.3f}{'*' if correction['significant'][q] else ''}" for q, c in correction["scales"].items()
        )
        lines.append(f"  concentration scales fitted on validation and applied (* significant there): {scales}")
        for name, r in (("before", before), ("after", after)):
            if r:
                p90 = r["predictive"]["90"]
                text = (
                    f"  {name}: 90% predictive intervals hold {_pct(p90['coverage'])} of observed vote "
                    f"fractions (central quantiles, which hold at least 90%: {_pct(p90.get('conservative_coverage'))})"
                )
                if "latent" in r:
                    text += f"; 90% latent intervals hold {_pct(r['latent']['90']['coverage'])} of the true fractions"
                lines.append(text)
    else:
        lines.append(f"  residual scale: {', '.join(f'{k} {v:.4g}' for k, v in correction['scales'].items())}")
        for name, r in (("before (dropout spread only)", before), ("after", after)):
            if r:
                cov = ", ".join(f"{level}%: {_pct(r['coverage'][level]['all'])}" for level in r["coverage"])
                lines.append(f"  {name}: intervals hold {cov}")
    if split == "test" and before and after and _made_worse(task, before, after):
        lines.append(
            f"  Warning: the correction made the test galaxies' uncertainties worse, not better: fitted on "
            f"{report.get('n_val', 'the')} validation galaxies, it does not carry over (with a few dozen, a "
            "correction is a guess). It is applied all the same; to predict without it: zoobot predict "
            "--no-calibration (in Python, leave out calibration=)."
        )
    return "\n".join(lines)


def _made_worse(task: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether the correction moved the test split's figures the wrong way: a classifier's ECE and Brier score
    both up; a tree's or regressor's 90% intervals further from holding 90%."""
    if task == "classification":
        return bool(after["ece"] > before["ece"] and after["brier"] > before["brier"])
    if task == "tree":
        held = [r["predictive"]["90"]["coverage"] for r in (before, after)]
    else:
        level = next((k for k in after["coverage"] if float(k) == 90), None)
        if level is None or level not in before["coverage"]:
            return False
        held = [r["coverage"][level]["all"] for r in (before, after)]
    if None in held:
        return False
    return bool(abs(held[1] - 0.9) > abs(held[0] - 0.9) + 0.01)
