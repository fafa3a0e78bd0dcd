"""Helpers the app's tests share (imported by ``tests/test_app_*.py``; no tests here): an engine on a
temporary runs folder, a session with a catalog loaded, and finished runs as ``run_finetune`` leaves
them, written through ``zoobot.runs.RunFolder``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from app.engine import Engine
from app.jobs import JobManager
from app.limits import Limits
from app.runs import RunStore
from app.tabs import data
from zoobot.runs import RunFolder

TRAIN_FORM: dict[str, Any] = dict(
    encoder="demo",
    local_path="",
    training_mode="head_only",
    max_epochs=1,
    learning_rate=1e-3,
    batch_size=4,
    image_size=None,
    train_fraction=0.7,
    val_fraction=0.15,
    weight_decay=0.05,
    layer_decay=0.75,
    patience=3,
    seed=0,
)
"""A valid Train form, by name: ``train.start_training(engine, sid, **TRAIN_FORM)``."""


def new_engine(tmp_path: Path, hosted: bool = False) -> Engine:
    """An engine on a fresh runs folder under ``tmp_path``."""
    folder = tmp_path / ("hosted_runs" if hosted else "runs")
    return Engine(
        store=RunStore(folder),
        manager=JobManager(),
        hosted=hosted,
        limits=Limits.from_options(hosted, {"upload_mb": 50, "upload_files": 500}, env={}),
    )


def finish_catalog_job(engine: Engine, sid: str) -> dict[str, Any]:
    """Wait for the session's catalog job; what the Data tab's poll then shows, by name."""
    engine.manager.wait(engine.manager.latest(sid, "catalog").id, timeout=30)
    return data.poll_catalog_job(engine, sid)


def load_catalog(engine: Engine, sid: str, catalog: pd.DataFrame) -> dict[str, Any]:
    """Load a ``make_catalog`` catalog from its folder, as the Data tab's path box does."""
    data.load_path(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    return finish_catalog_job(engine, sid)


def _write_run(
    engine: Engine, sid: str, task: str, config: dict, predictions: pd.DataFrame, metrics: dict
) -> RunFolder:
    folder = RunFolder(engine.store.new_run_dir(sid, task))
    folder.write_predictions(predictions)
    folder.config_path.write_text(yaml.safe_dump({"task": task, **config}))
    folder.write_test_metrics(metrics)
    folder.write_progress(status="finished")
    engine.store.update_state(sid, run_dir=str(folder.path))
    return folder


def finished_run(engine: Engine, sid: str, image: str, task: str, metrics: dict) -> RunFolder:
    """A finished single-column classification or regression run of six galaxies, its predictions.csv
    laid out as a run writes it: Zoobot's columns, id_str, extras, then split, file_loc, catalog_<label>."""
    n = 6
    ids = {"id_str": [f"gal_{i}" for i in range(n)]}
    inputs: dict[str, Any] = {"split": ["test", "val"] * (n // 2), "file_loc": [image] * n}
    if task == "classification":
        frame = {
            "label_0": [0.8] * n,
            "label_1": [0.2] * n,
            **ids,
            "predicted_class": ["label_0"] * n,
            **inputs,
            "catalog_label": ["label_0", "label_1"] * (n // 2),
        }
        label = "label"
    else:
        frame = {"target": [0.9, 0.1, 0.5] * (n // 3), **ids, **inputs, "catalog_target": [0.1, 0.5, 0.9] * (n // 3)}
        label = "target"
    return _write_run(
        engine, sid, task, {"label_cols": [label]}, pd.DataFrame(frame), {"n": n // 2, "split": "test", **metrics}
    )


def finished_tree_run(engine: Engine, sid: str, image: Path, n: int = 12) -> RunFolder:
    """A finished decals_dr5 tree run with an exported model."""
    from zoobot.trees import get_schema

    label_cols = list(get_schema("decals_dr5").label_cols)
    rng = np.random.default_rng(0)
    fractions = {answer: rng.uniform(0.1, 0.9, n) for answer in label_cols}
    columns: dict = {answer: rng.uniform(1, 101, n) for answer in label_cols}  # Dirichlet concentrations
    columns["id_str"] = [f"synthetic-0-{i:06d}" for i in range(n)]
    columns.update({f"{a}_fraction": f for a, f in fractions.items()})
    columns.update({f"{a}_90pc-lower": f - 0.1 for a, f in fractions.items()})
    columns.update({f"{a}_90pc-upper": f + 0.1 for a, f in fractions.items()})
    columns.update({"split": ["test", "val", "train"] * (n // 3), "file_loc": [str(image)] * n})
    columns.update({f"catalog_{answer}": rng.integers(0, 10, n) for answer in label_cols})  # vote counts
    folder = _write_run(
        engine,
        sid,
        "tree",
        {"schema": "decals_dr5", "label_cols": label_cols},
        pd.DataFrame(columns),
        {
            "mean_vote_fraction_mae": 0.1,
            "vote_fraction_mae": {"smooth-or-featured-dr5": 0.1},
            "n": n // 3,
            "split": "test",
        },
    )
    folder.model_dir.mkdir()
    folder.model_config_path.write_text("{}")
    folder.model_weights_path.write_bytes(b"weights")  # zipped for download, never loaded here
    return folder
