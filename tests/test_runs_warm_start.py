"""Warm start (RunConfig.init_from): the next run begins from a previous model's weights."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from zoobot.cli import main as cli_main
from zoobot.runs import (
    ConfigError,
    RunConfig,
    RunFolder,
    build_model,
    export_model,
    load_run_model,
    run_finetune,
    warm_start,
)

TINY = dict(encoder="test_convnext", image_size=32, batch_size=8, max_epochs=1, learning_rate=1e-3)


def _config(tmp_path: Path, name: str, catalog: str = "unused.csv", **values) -> RunConfig:
    settings = {**TINY, **values}
    return RunConfig(
        task=settings.pop("task", "classification"),
        catalog=catalog,
        label_cols=settings.pop("label_cols", ["label"]),
        run_dir=str(tmp_path / name),
        **settings,
    )


def _previous_run(tmp_path: Path, n_classes: int = 2, **values) -> tuple[Path, dict[str, torch.Tensor]]:
    """A run folder holding an exported model whose weights differ from a fresh model's (scrambled)."""
    config = _config(tmp_path, "previous", class_names=[str(k) for k in range(n_classes)], **values)
    model = build_model(config, n_classes)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator))
    export_model(model, config, RunFolder(config.run_dir).model_dir)
    return Path(config.run_dir), {k: v.clone() for k, v in model.state_dict().items()}


def _equal(state: dict, other: dict, prefix: str) -> bool:
    keys = [k for k in state if k.startswith(prefix)]
    return bool(keys) and all(torch.equal(state[k], other[k]) for k in keys)


def test_same_outputs_load_encoder_and_head(tmp_path):
    previous, weights = _previous_run(tmp_path)
    model = build_model(_config(tmp_path, "next", class_names=["0", "1"]), 2)
    assert not _equal(model.state_dict(), weights, "encoder.")

    message = warm_start(model, previous)

    assert message.startswith("encoder and head")
    assert _equal(model.state_dict(), weights, "encoder.") and _equal(model.state_dict(), weights, "head.")


def test_other_outputs_load_the_encoder_only_and_say_why(tmp_path):
    previous, weights = _previous_run(tmp_path)
    model = build_model(_config(tmp_path, "next", class_names=["0", "1", "2"]), 3)
    fresh_head = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("head.")}

    message = warm_start(model, previous)

    assert message.startswith("encoder only") and "2 outputs" in message and "3" in message
    assert _equal(model.state_dict(), weights, "encoder.")
    assert _equal(model.state_dict(), fresh_head, "head.")  # the head starts fresh


def test_another_task_keeps_the_encoder(tmp_path):
    previous, weights = _previous_run(tmp_path)
    model = build_model(_config(tmp_path, "next", task="regression", label_cols=["target"]))

    message = warm_start(model, previous)

    assert "classification model, this run is regression" in message
    assert _equal(model.state_dict(), weights, "encoder.")


def test_another_encoder_architecture_is_refused(tmp_path):
    previous, _ = _previous_run(tmp_path)
    model = build_model(_config(tmp_path, "next", encoder="test_vit", class_names=["0", "1"]), 2)
    with pytest.raises(ConfigError, match="not the same architecture"):
        warm_start(model, previous)


def test_a_folder_without_a_model_is_explained(tmp_path):
    model = build_model(_config(tmp_path, "next", class_names=["0", "1"]), 2)
    with pytest.raises(ConfigError, match="No finetuned model found"):
        warm_start(model, tmp_path)


def test_init_from_its_own_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="own folder"):
        _config(tmp_path, "run", init_from=str(tmp_path / "run")).validate()


def test_a_head_only_run_trains_on_from_the_previous_encoder(make_catalog, tmp_path):
    """End to end: a frozen-encoder run started from a previous run keeps that run's encoder weights,
    records where it started, and its config re-runs the same way (from the CLI's --init-from too)."""
    catalog = make_catalog(n=24, size=32)
    path = Path(catalog["file_loc"].iloc[0]).parent.parent / "catalog.csv"
    previous, weights = _previous_run(tmp_path)
    config = _config(tmp_path, "next", catalog=str(path), training_mode="head_only", init_from=str(previous))

    run_finetune(config, accelerator="cpu")

    folder = RunFolder(config.run_dir)
    assert folder.read_progress()["warm_start"].startswith("encoder and head from")
    assert folder.read_config().init_from == str(previous)
    assert _equal(load_run_model(folder.path).state_dict(), weights, "encoder.")

    code = cli_main(
        ["finetune", "--config", str(folder.config_path), "--run-dir", str(tmp_path / "again"), "--init-from", "nope"]
    )
    assert code == 2  # a plain error: no model at 'nope'
    assert pd.isna(RunFolder(tmp_path / "again").read_progress().get("warm_start", float("nan")))
