"""Running a config: :func:`run_finetune` checks the data, trains, tests, calibrates, predicts every row and exports.

The one path from a :class:`~zoobot.runs.RunConfig` to a finished run folder, shared by the app and
``zoobot finetune``. Everything it writes goes through :class:`~zoobot.runs.RunFolder`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from zoobot.runs.config import ConfigError, RunConfig, resolve_schema
from zoobot.runs.folder import RunFolder

if TYPE_CHECKING:  # heavy imports only when a run starts
    import lightning as L

    from zoobot.finetune import FinetuneableZoobotAbstract

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a finished (or stopped) run produced."""

    run_dir: Path
    status: Literal["finished", "stopped"]
    test_metrics: dict[str, Any]
    predictions_path: Path
    best_checkpoint: Path | None

    @property
    def summary(self) -> str:
        """The test score beside its baseline, and any warning, in words (``test_metrics['summary']``)."""
        return str(self.test_metrics.get("summary", ""))


def build_model(config: RunConfig, n_classes: int | None = None) -> FinetuneableZoobotAbstract:
    """The finetuning model a config describes (encoder loaded from ``config.encoder``)."""
    from zoobot import finetune

    model: FinetuneableZoobotAbstract
    common: dict[str, Any] = dict(
        name=config.encoder,
        training_mode=config.training_mode,
        learning_rate=config.effective_learning_rate,
        weight_decay=config.weight_decay,
        layer_decay=config.layer_decay,
    )
    if config.task == "classification":
        classifier = finetune.FinetuneableZoobotClassifier(
            num_classes=n_classes or max(2, len(config.class_names)),
            label_col=config.label_cols[0],
            **common,
        )
        # Its predictions name the classes (zoobot.prediction_table.default_class_columns).
        classifier.class_names = list(config.class_names)
        model = classifier
    elif config.task == "regression":
        model = finetune.FinetuneableZoobotRegressor(
            label_cols=config.label_cols,
            loss=config.regression_loss,
            unit_interval=bool(config.unit_interval),
            **common,
        )
    else:
        model = finetune.FinetuneableZoobotTree(schema=resolve_schema(config.schema), **common)
    if config.image_size is not None:
        # Everything downstream (datamodule, prediction, representations) sizes images from the
        # card, so a run at another image size says so there once.
        channels = model.card.input_size[0]
        model.card = dataclasses.replace(model.card, input_size=(channels, config.image_size, config.image_size))
    return model


def load_run_catalog(config: RunConfig) -> pd.DataFrame:
    """The config's catalog with ``file_loc`` resolved against the catalog's folder."""
    from zoobot.catalog import read_catalog

    path = Path(config.catalog)
    if not path.is_file():
        raise ConfigError(f"Catalog {path} does not exist. Check the path in the run config.")
    return read_catalog(path)


def run_finetune(
    config: RunConfig,
    *,
    accelerator: str = "auto",
    devices: int | str | list[int] = "auto",
    num_nodes: int = 1,
    stop_event: threading.Event | None = None,
) -> RunResult:
    """Run one finetuning job end to end: check data, train, test, calibrate, predict every row, export.

    Calibrating fits a correction of the model's uncertainties on the validation split and writes the
    report, before and after on the test split, to ``calibration.json``
    (:func:`calibrate_run_model`); the predictions then carry the correction.

    Blocking. Progress goes to ``progress.json`` in the run folder as it trains, so another thread
    (the app) can poll it. Setting ``stop_event`` ends training early; the run then tests and
    predicts with the best weights so far and ends with status ``'stopped'``. On an error the
    status is ``'failed'`` with the message, and the error is raised again.

    Args:
        config: the run's settings. A learning rate left out is set to the training mode's default
            here, so the run's ``config.yaml`` records the one it trained at.
        accelerator: Lightning accelerator (``'auto'``, ``'cpu'``, ``'gpu'``).
        devices: devices per node (a number, ``'auto'``, or a list of device indices); more than one trains with DDP.
        num_nodes: machines to train on (a cluster job).
        stop_event: set it to stop training early.
    """
    config.validate()
    config.learning_rate = config.effective_learning_rate
    folder = RunFolder(config.run_dir)
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.write_progress(
        status="running",
        stage="checking the catalog",
        error=None,
        epoch=0,
        max_epochs=config.max_epochs,
        step=0,
        total_steps=0,
        eta_s=None,
    )
    try:
        result = _run_finetune(config, folder, accelerator, devices, num_nodes, stop_event)
    except BaseException as err:
        folder.write_progress(status="failed", stage="failed", error=str(err) or type(err).__name__)
        raise
    folder.write_progress(status=result.status, stage="done", eta_s=0)
    return result


def _class_names(catalog: pd.DataFrame, label_col: str, n_classes: int) -> list[str]:
    """A name per class index: from a ``<label_col>_name`` column (as the ``number_classes`` fix
    writes) or a ``<label_col>_label`` column (as the demo survey's ``bar_label``) when it names each
    class consistently, else the class numbers as text."""
    names = [str(k) for k in range(n_classes)]
    # The fix writes <label>_name, or <label>_name_2, _3, ... when that is taken: the newest first,
    # then <label>_label.
    pattern = re.compile(re.escape(label_col) + r"_(name|label)(?:_(\d+))?")
    matches = [(m.group(1), m.group(2), c) for c in map(str, catalog.columns) if (m := pattern.fullmatch(c))]
    order = sorted(matches, key=lambda found: (found[0] == "name", int(found[1] or 1)), reverse=True)
    for _, _, name_col in order:
        pairs = catalog[[label_col, name_col]].dropna().drop_duplicates()
        if pairs[label_col].is_unique and pairs[name_col].is_unique:
            for number, name in zip(pairs[label_col].astype(int), pairs[name_col].astype(str), strict=True):
                if 0 <= number < n_classes:
                    names[number] = name
            break
    return names


def _run_finetune(
    config: RunConfig,
    folder: RunFolder,
    accelerator: str,
    devices: int | str | list[int],
    num_nodes: int,
    stop_event: threading.Event | None,
) -> RunResult:
    import lightning as L
    import torch

    from zoobot.catalog import validate_catalog
    from zoobot.finetune import get_trainer
    from zoobot.machine import choose_settings, machine_facts
    from zoobot.predict import predict_on_catalog
    from zoobot.runs.model import export_model
    from zoobot.runs.progress import RunProgress
    from zoobot.runs.split import run_split

    catalog = load_run_catalog(config)
    schema = resolve_schema(config.schema) if config.task == "tree" else None
    validate_catalog(catalog, label_cols=config.label_cols, task=config.task, schema=schema, raise_on_error=True)
    n_classes = None
    if config.task == "classification":
        labels = catalog[config.label_cols[0]].dropna().astype(int)
        n_classes = max(int(labels.max()) + 1, len(config.class_names), 2)
        if len(config.class_names) != n_classes:
            config.class_names = _class_names(catalog, config.label_cols[0], n_classes)
    if config.task == "regression" and config.unit_interval is None:
        targets = catalog[config.label_cols].to_numpy(dtype=float)
        targets = targets[np.isfinite(targets)]
        config.unit_interval = bool(len(targets)) and bool(((targets >= 0) & (targets <= 1)).all())
    folder.write_config(config)

    facts = machine_facts()
    settings = choose_settings(
        facts,
        accelerator=accelerator,
        devices=len(devices) if isinstance(devices, list) else devices if isinstance(devices, int) else "auto",
        torch_threads=config.torch_threads,
        num_workers=config.num_workers,
        batch_size=config.batch_size,
    )
    settings.apply_threads()
    config.machine = {"settings": settings.to_dict(), "facts": dataclasses.asdict(facts)}
    L.seed_everything(config.seed, workers=True, verbose=False)
    folder.write_progress(stage="loading the encoder")
    model = build_model(config, n_classes)
    if config.init_from:
        from zoobot.runs.warm_start import warm_start

        folder.write_progress(stage="loading the previous model's weights")
        started = warm_start(model, config.init_from)
        logger.info("run %s starts from %s", folder.name, started)
        folder.write_progress(warm_start=started)
    config.normalisation = {"mean": list(model.card.mean), "std": list(model.card.std)}
    folder.write_config(config)
    if settings.channels_last:  # NHWC convolutions run faster on a GPU's tensor cores
        model.to(memory_format=torch.channels_last)
    # None: the machine's workers, none for a split of two batches or fewer
    datamodule = run_split(config, model.card, catalog=catalog, num_workers=config.num_workers)
    trainer = get_trainer(
        str(folder.path),
        max_epochs=config.max_epochs,
        patience=config.patience,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        callbacks=[RunProgress(folder, stop_event)],
    )
    trainer.fit(model, datamodule)
    if not trainer.is_global_zero:
        return RunResult(folder.path, "finished", {}, folder.predictions_path, None)
    stopped = stop_event is not None and stop_event.is_set()
    best = getattr(trainer.checkpoint_callback, "best_model_path", "")  # a ModelCheckpoint, or none
    best_path = Path(best) if best else None

    folder.write_progress(stage="testing and predicting")
    has_test = config.test_fraction > 0
    lightning_test = (
        trainer.test(model, datamodule, ckpt_path="best" if best else None, verbose=False) if has_test else []
    )
    if best_path is not None and not has_test:
        _load_weights_from_checkpoint(model, best_path)

    calibration = calibrate_run_model(model, config, datamodule, folder, accelerator)
    # The model names its outputs (classes by the run's class names, targets and answers by their columns).
    predictions = predict_on_catalog(
        catalog,
        model,
        batch_size=config.batch_size,
        num_workers=settings.workers_for(len(catalog), config.batch_size),
        accelerator=accelerator,
        calibration=calibration,
    )
    predictions = annotate_predictions(predictions, catalog, datamodule, config)
    folder.write_predictions(predictions)

    test_metrics = evaluate_run_predictions(predictions, config, schema)
    for logged in lightning_test:
        test_metrics.update({k: float(v) for k, v in logged.items()})
    folder.write_test_metrics(test_metrics)
    export_model(model, config, folder.model_dir)
    return RunResult(
        folder.path, "stopped" if stopped else "finished", test_metrics, folder.predictions_path, best_path
    )


def calibrate_run_model(
    model: L.LightningModule, config: RunConfig, datamodule: Any, folder: RunFolder, accelerator: str = "auto"
) -> dict[str, Any] | None:
    """Fit the run's calibration correction on its validation split and write the report, before and
    after on the test split, to ``calibration.json`` (:func:`zoobot.uncertainty.calibrate_model`, one
    pass). Returns the report, which the run's predictions then apply; None without validation galaxies."""
    from zoobot.uncertainty import calibrate_model

    folder.write_progress(stage="calibrating the uncertainties")
    report = calibrate_model(model, config, datamodule.val_catalog, datamodule.test_catalog, accelerator=accelerator)
    if report is not None:
        folder.write_calibration(report)
    return report


def _load_weights_from_checkpoint(model: L.LightningModule, checkpoint: Path) -> None:
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    model.load_state_dict(state)


def annotate_predictions(
    predictions: pd.DataFrame, catalog: pd.DataFrame, datamodule: Any, config: RunConfig
) -> pd.DataFrame:
    """The table written to ``predictions.csv``: the model's predictions (Zoobot's columns, ``id_str``,
    extras; see :mod:`zoobot.prediction_table`), then each row's ``split`` (``train``, ``val``,
    ``test`` or ``unlabelled``), its ``file_loc`` and the catalog's labels as ``catalog_<column>``:
    inputs, not predictions (a classifier's as class names, the names ``predicted_class`` uses; a
    tree's as the volunteers' vote counts).

    Args:
        predictions: the model's output per ``id_str``.
        catalog: the run's catalog.
        datamodule: the run's datamodule (its ``train_catalog``, ``val_catalog``, ``test_catalog``).
        config: the run's config (its task, label columns and class names).
    """
    from zoobot.prediction_table import add_catalog_columns, default_class_columns

    ids = catalog["id_str"].astype(str)
    split = pd.Series("unlabelled", index=ids)
    for name in ("train", "val", "test"):
        part = getattr(datamodule, f"{name}_catalog", None)
        if part is not None:
            split.loc[part["id_str"].astype(str)] = name
    predictions = predictions.assign(id_str=predictions["id_str"].astype(str))
    predictions["split"] = predictions["id_str"].map(split).to_numpy()
    class_names = (
        default_class_columns(len(config.class_names), config.label_cols[0], config.class_names)
        if config.task == "classification"
        else None
    )
    return add_catalog_columns(predictions, catalog, config.label_cols, class_names)


def evaluate_run_predictions(predictions: pd.DataFrame, config: RunConfig, schema: Any = None) -> dict[str, Any]:
    """Task metrics on the run's test split (or validation split if there is no test split), from the
    ``predictions.csv`` columns :func:`annotate_predictions` writes."""
    from zoobot.evaluate import table_metrics
    from zoobot.prediction_table import default_class_columns

    split = "test" if (predictions["split"] == "test").any() else "val"
    rows = predictions[predictions["split"] == split]
    if rows.empty:
        return {"split": split}
    class_names = None
    if config.task == "classification":
        class_names = default_class_columns(len(config.class_names), config.label_cols[0], config.class_names)
    if config.task == "tree" and schema is None:
        schema = resolve_schema(config.schema)
    return table_metrics(rows, config.task, config.label_cols, class_names, schema, split=split)
