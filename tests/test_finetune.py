"""Finetuning classes: training on each task, reloading, head-only caching, old argument names, DDP."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import lightning as L
import pytest
import torch

from zoobot.data import CatalogDataModule
from zoobot.encoders import load_encoder
from zoobot.finetune import (
    FinetuneableZoobotClassifier,
    FinetuneableZoobotRegressor,
    FinetuneableZoobotTree,
    FinetuneArgumentError,
    cosine_with_warmup,
    get_trainer,
    load_finetuned,
)
from zoobot.schemas import Schema

ENCODER = "test_convnext"


@pytest.fixture
def schema(tiny_schema_pairs) -> Schema:
    return Schema(*tiny_schema_pairs)


def _task_setup(task: str, make_catalog, schema: Schema, **model_kwargs):
    if task == "classification":
        catalog = make_catalog(n=24, size=32, task="classification", n_classes=3)
        model = FinetuneableZoobotClassifier(num_classes=3, name=ENCODER, learning_rate=1e-3, **model_kwargs)
        label_cols = ["label"]
    elif task == "regression":
        catalog = make_catalog(n=24, size=32, task="regression")
        model = FinetuneableZoobotRegressor(
            label_col="target", unit_interval=True, name=ENCODER, learning_rate=1e-3, **model_kwargs
        )
        label_cols = ["target"]
    else:
        catalog = make_catalog(n=24, size=32, task="tree")
        model = FinetuneableZoobotTree(schema=schema, name=ENCODER, learning_rate=1e-3, **model_kwargs)
        label_cols = schema.label_cols
    datamodule = CatalogDataModule(
        label_cols=label_cols,
        catalog=catalog,
        batch_size=8,
        num_workers=0,
        card=model.card,
        input_size=32,
        train_fraction=0.6,
        val_fraction=0.2,
        test_fraction=0.2,
    )
    return model, datamodule


def _trainer(save_dir: Path, max_epochs: int = 2):
    return get_trainer(
        save_dir, max_epochs=max_epochs, accelerator="cpu", enable_progress_bar=False, log_every_n_steps=1
    )


EXPECTED_METRICS = {
    "classification": ["val_accuracy", "val_f1", "val_precision_0", "val_recall_2"],
    "regression": ["val_rmse", "val_mae", "val_r2"],
    "tree": ["val_vote_fraction_mae", "val_vote_fraction_mae_smooth-or-featured"],
}


@pytest.mark.parametrize("task", ["classification", "regression", "tree"])
def test_finetune_logs_metrics_checkpoints_and_reloads(task, make_catalog, schema, tmp_path):
    torch.manual_seed(0)
    model, datamodule = _task_setup(task, make_catalog, schema)
    trainer = _trainer(tmp_path / "run")
    trainer.fit(model, datamodule)
    logged = trainer.callback_metrics
    for key in ["train_loss", "val_loss", *EXPECTED_METRICS[task]]:
        assert key in logged and torch.isfinite(logged[key]), key
    tested = trainer.test(model, datamodule, verbose=False)[0]
    assert "test_loss" in tested
    assert (tmp_path / "run" / "csv_logs").is_dir()

    best = trainer.checkpoint_callback.best_model_path
    assert Path(best).is_file()
    reloaded = load_finetuned(best)
    assert type(reloaded) is type(model)
    assert reloaded.card == model.card
    model.load_state_dict(torch.load(best, weights_only=True)["state_dict"])
    model.eval()
    images = torch.rand(3, 3, 32, 32)
    batch = {"image": images}
    assert torch.allclose(model.predict_step(batch, 0), reloaded.predict_step(batch, 0), atol=1e-5)


def test_predict_step_outputs_per_task(make_catalog, schema):
    images = {"image": torch.rand(4, 3, 32, 32)}
    classifier = FinetuneableZoobotClassifier(num_classes=3, name=ENCODER).eval()
    probs = classifier.predict_step(images, 0)
    assert probs.shape == (4, 3) and torch.allclose(probs.sum(dim=1), torch.ones(4))
    regressor = FinetuneableZoobotRegressor(label_cols=["a", "b"], unit_interval=True, name=ENCODER).eval()
    values = regressor.predict_step(images, 0)
    assert values.shape == (4, 2) and ((values > 0) & (values < 1)).all()
    tree = FinetuneableZoobotTree(schema=schema, name=ENCODER).eval()
    concentrations = tree.predict_step(images, 0)
    assert concentrations.shape == (4, 4)
    assert ((concentrations > 1) & (concentrations < 101)).all()


def test_head_only_caches_features_and_keeps_encoder_frozen(make_catalog, schema, tmp_path):
    model, datamodule = _task_setup("classification", make_catalog, schema, training_mode="head_only")
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    calls = []
    model.encoder.register_forward_hook(lambda module, args, out: calls.append(out.shape[0]))
    trainer = _trainer(tmp_path / "run", max_epochs=4)
    trainer.fit(model, datamodule)
    assert datamodule.features_cached
    n_fit = len(datamodule.train_catalog) + len(datamodule.val_catalog)
    # One encoder pass over train and val in total, not one per epoch (the test split is not needed to fit).
    assert sum(calls) == n_fit
    trainer.test(model, datamodule)  # the test split is read once, when testing
    assert sum(calls) == n_fit + len(datamodule.test_catalog)
    assert not model.encoder.training
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(value, encoder_before[key]), key
    assert not any(p.requires_grad for p in model.encoder.parameters())


def test_full_mode_trains_encoder_with_layer_decay(make_catalog, schema):
    model, _ = _task_setup("classification", make_catalog, schema, layer_decay=0.5)
    optimizer = model.configure_optimizers()
    lrs = [g["lr"] for g in optimizer.param_groups]
    assert max(lrs) == pytest.approx(1e-3)
    assert min(lrs) < 1e-4
    n_trained = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
    assert n_trained == sum(p.numel() for p in model.parameters())
    assert optimizer.defaults["fused"]  # one kernel for every tensor, not a loop over them


def test_fused_adamw_only_in_full_precision_where_lightning_can_clip_its_gradients(make_catalog, schema):
    model, datamodule = _task_setup("classification", make_catalog, schema, training_mode="full")
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        precision="bf16-mixed",
        gradient_clip_val=0.3,  # as training from scratch does: Lightning refuses it for a fused optimizer
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_train_batches=1,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule)
    assert not trainer.optimizers[0].defaults["fused"]


def test_adamw_steps_unfused_where_the_fused_kernel_is_missing(monkeypatch):
    from zoobot.finetune.base import adamw

    made = []

    class OldAdamW(torch.optim.AdamW):  # as PyTorch 2.3 on a CPU: no fused kernel
        def __init__(self, params, **kwargs):
            if kwargs.get("fused"):
                raise RuntimeError(
                    "`fused=True` requires all the params to be floating point Tensors of supported devices"
                )
            super().__init__(params, **kwargs)
            made.append(self)

    monkeypatch.setattr(torch.optim, "AdamW", OldAdamW)
    weights = torch.nn.Parameter(torch.ones(3))
    optimizer = adamw([{"params": [weights]}], lr=0.1, weight_decay=0.0, betas=(0.9, 0.999))
    assert made == [optimizer] and not optimizer.defaults["fused"]
    assert not adamw([{"params": [weights]}], 0.1, 0.0, (0.9, 0.999), fused=False).defaults["fused"]


def test_fused_adamw_takes_the_same_steps_as_the_loop_over_tensors(make_catalog, schema):
    model, _ = _task_setup("classification", make_catalog, schema, layer_decay=0.5)
    fused = model.configure_optimizers()
    twin = [p.detach().clone().requires_grad_() for g in fused.param_groups for p in g["params"]]
    groups, start = [], 0
    for group in fused.param_groups:
        n = len(group["params"])
        hyper = {k: group[k] for k in ("lr", "betas", "eps", "weight_decay")}
        groups.append({**hyper, "params": twin[start : start + n]})
        start += n
    looped = torch.optim.AdamW(groups, fused=False, foreach=False)
    assert not looped.param_groups[0]["fused"] and fused.param_groups[0]["fused"]
    originals = [p for g in fused.param_groups for p in g["params"]]
    torch.manual_seed(0)
    for _ in range(3):
        for original, copy in zip(originals, twin, strict=True):
            original.grad = torch.randn_like(original)
            copy.grad = original.grad.clone()
        fused.step()
        looped.step()
    for original, copy in zip(originals, twin, strict=True):
        torch.testing.assert_close(original, copy, rtol=1e-5, atol=1e-6)


def test_old_argument_names_translate_with_deprecation_warning(schema):
    with pytest.warns(DeprecationWarning, match="n_blocks"):
        model = FinetuneableZoobotTree(schema=schema, name=ENCODER, n_blocks=0)
    assert model.training_mode == "head_only"
    with pytest.warns(DeprecationWarning, match="lr_decay"):
        model = FinetuneableZoobotTree(
            schema=schema, zoobot_checkpoint_loc=ENCODER, lr_decay=0.5, dropout_prob=0.3, n_blocks=2
        )
    assert model.settings.layer_decay == 0.5 and model.settings.head_dropout_prob == 0.3
    assert model.training_mode == "full" and model.settings.n_blocks == 2
    assert model.hparams["lr_decay"] is None and model.hparams["layer_decay"] == 0.5
    optimizer = model.configure_optimizers()
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert id(model.encoder.stem[0].weight) not in trained
    with pytest.warns(DeprecationWarning, match="cosine_schedule"):
        model = FinetuneableZoobotTree(
            schema=schema, name=ENCODER, cosine_schedule=True, warmup_epochs=2, max_cosine_epochs=10
        )
    assert model.settings.scheduler_kwargs == {"warmup_epochs": 2, "max_epochs": 10, "min_lr_factor": 0.01}


def _batchnorms(model) -> list[torch.nn.Module]:
    return [m for m in model.encoder.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def test_pretrained_encoders_keep_their_batchnorm_statistics_when_fully_finetuned(schema, make_catalog, tmp_path):
    from zoobot.encoders import save_encoder

    random = FinetuneableZoobotTree(schema=schema, name="test_resnet", training_mode="full")
    assert random.settings.freeze_norm_stats is False  # random init: its statistics must be learned
    random.train()
    assert all(m.training for m in _batchnorms(random))
    save_encoder(random.encoder, random.card, tmp_path / "pretrained")
    model = FinetuneableZoobotTree(schema=schema, name=str(tmp_path / "pretrained"), training_mode="full")
    assert model.settings.freeze_norm_stats is True and model.hparams["freeze_norm_stats"] is True
    model.train()
    assert _batchnorms(model) and not any(m.training for m in _batchnorms(model))
    assert model.head.training and model.encoder.training
    before = [m.running_mean.clone() for m in _batchnorms(model)]
    model(torch.rand(4, 3, 32, 32))
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, _batchnorms(model), strict=True))
    assert any(p.requires_grad for m in _batchnorms(model) for p in m.parameters())  # weights still train
    # Through a real Lightning fit too (Lightning sets submodule modes without calling train()).
    model = FinetuneableZoobotTree(schema=schema, name=str(tmp_path / "pretrained"), training_mode="full")
    catalog = make_catalog(n=16, size=32, task="tree")
    datamodule = CatalogDataModule(
        label_cols=schema.label_cols, catalog=catalog, batch_size=8, num_workers=0, input_size=32, card=model.card
    )
    before = [m.running_mean.clone() for m in _batchnorms(model)]
    get_trainer(tmp_path / "fit", max_epochs=3, accelerator="cpu", logger=False, enable_progress_bar=False).fit(
        model, datamodule
    )
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, _batchnorms(model), strict=True))
    with pytest.warns(DeprecationWarning, match="always_train_batchnorm"):
        old = FinetuneableZoobotTree(schema=schema, name="test_resnet", always_train_batchnorm=True)
    assert old.settings.freeze_norm_stats is True
    with pytest.raises(FinetuneArgumentError, match="freeze_norm_stats=True"):
        FinetuneableZoobotTree(schema=schema, name="test_resnet", always_train_batchnorm=True, freeze_norm_stats=False)


def test_training_leaves_out_lightning_noise_but_not_its_messages(make_catalog, schema, tmp_path, caplog):
    model, datamodule = _task_setup("classification", make_catalog, schema, training_mode="head_only")
    caplog.set_level(logging.INFO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = get_trainer(tmp_path, max_epochs=1, accelerator="cpu", enable_progress_bar=False)
        trainer.fit(model, datamodule)  # 2 batches < log_every_n_steps=10; frozen encoder in eval mode
    noise = (
        "LeafSpec",
        "smaller than the logging interval",
        "in eval mode at the start of training",
        "overridden `transfer_batch_to_device`",
    )
    assert not [str(w.message) for w in caught if any(n in str(w.message) for n in noise)]
    assert not [r for r in caplog.records if "Tip:" in r.getMessage()]
    assert any("GPU available" in r.getMessage() for r in caplog.records)  # other messages still show


def test_new_argument_names_do_not_warn(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        FinetuneableZoobotTree(
            schema=schema, name=ENCODER, training_mode="head_only", layer_decay=0.5, head_dropout_prob=0.1
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"training_mode": "head_only", "n_blocks": 2}, "contradicts n_blocks"),
        ({"layer_decay": 0.5, "lr_decay": 0.9}, "lr_decay=0.9 and layer_decay=0.5 disagree"),
        ({"head_dropout_prob": 0.1, "dropout_prob": 0.5}, "disagree"),
        ({"cosine_schedule": True, "scheduler_kwargs": {"warmup_epochs": 1}}, "not both"),
        ({"scheduler_kwargs": {"warmup": 1}}, "unknown keys"),
        ({"warmup_epochs": 3}, "only apply with cosine_schedule"),
        ({"training_mode": "partial"}, "'full' or 'head_only'"),
        ({"checkpoint_loc": ENCODER}, "one encoder source"),
    ],
)
def test_contradictory_arguments_raise(schema, kwargs, message):
    with pytest.raises(FinetuneArgumentError, match=message):
        FinetuneableZoobotTree(schema=schema, name=ENCODER, **kwargs)


def test_missing_encoder_source_says_what_to_pass(schema):
    with pytest.raises(FinetuneArgumentError, match="name='demo'"):
        FinetuneableZoobotTree(schema=schema)


def test_encoder_module_can_be_passed_directly():
    encoder, _ = load_encoder(ENCODER)
    model = FinetuneableZoobotClassifier(num_classes=2, encoder=encoder)
    assert model.encoder is encoder and model.encoder_dim == 64


def test_classifier_argument_checks():
    with pytest.raises(FinetuneArgumentError, match="num_classes must be 2 or more"):
        FinetuneableZoobotClassifier(num_classes=1, name=ENCODER)
    with pytest.raises(FinetuneArgumentError, match="class_weights has 3 values"):
        FinetuneableZoobotClassifier(num_classes=2, class_weights=[1.0, 2.0, 3.0], name=ENCODER)
    with pytest.raises(FinetuneArgumentError, match="needs num_classes=3"):
        FinetuneableZoobotClassifier(num_classes=2, label_cols=["a", "b", "c"], name=ENCODER)
    model = FinetuneableZoobotClassifier(num_classes=2, name=ENCODER)
    with pytest.raises(ValueError, match=r"whole numbers 0\.\.1; found \[5\.0\]"):
        model.targets_from_labels(torch.tensor([[0.0], [5.0]]))
    with pytest.raises(FinetuneArgumentError, match="'mse' or 'mae'"):
        FinetuneableZoobotRegressor(loss="huber", name=ENCODER)


def test_multilabel_and_weighted_classifier_losses():
    torch.manual_seed(0)
    multi = FinetuneableZoobotClassifier(
        label_cols=["bar", "ring", "merger"], name=ENCODER, class_weights=[1.0, 2.0, 1.0]
    )
    assert multi.multilabel and multi.num_classes == 3
    outputs = torch.randn(4, 3)
    targets = multi.targets_from_labels(torch.tensor([[0, 1, 1], [1, 0, 0], [0, 0, 0], [1, 1, 1]]).float())
    assert multi.compute_loss(outputs, targets).ndim == 0
    probs = multi.outputs_to_predictions(outputs)
    assert ((probs > 0) & (probs < 1)).all() and not torch.allclose(probs.sum(1), torch.ones(4))

    smooth = FinetuneableZoobotClassifier(num_classes=3, name=ENCODER, label_smoothing=0.1)
    plain = FinetuneableZoobotClassifier(num_classes=3, name=ENCODER)
    confident = torch.tensor([[20.0, 0.0, 0.0]])
    label = torch.tensor([0])
    assert smooth.compute_loss(confident, label) > plain.compute_loss(confident, label)


def test_regressor_mae_and_several_targets():
    model = FinetuneableZoobotRegressor(loss="mae", label_cols=["a", "b"], name=ENCODER)
    outputs = torch.tensor([[1.0, 2.0]])
    assert model.compute_loss(outputs, torch.tensor([[0.0, 0.0]])) == pytest.approx(1.5)


def test_regressor_r2_is_nan_not_an_error_with_one_validation_galaxy():
    model = FinetuneableZoobotRegressor(label_cols=["a"], name=ENCODER)
    metrics = model.build_metrics()
    model.update_metrics(metrics, torch.tensor([[0.3]]), torch.tensor([[0.5]]))
    assert torch.isnan(metrics.compute()["r2"])
    model.update_metrics(metrics, torch.tensor([[0.1]]), torch.tensor([[0.2]]))
    assert torch.isfinite(metrics.compute()["r2"])


def test_cosine_schedule_warms_up_then_decays(make_catalog, schema):
    factors = [cosine_with_warmup(e, warmup_epochs=2, max_epochs=10, min_lr_factor=0.1) for e in range(12)]
    assert factors[0] < factors[1] < factors[2] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(0.1)
    model, _ = _task_setup("tree", make_catalog, schema, scheduler_kwargs={"warmup_epochs": 1, "max_epochs": 4})
    config = model.configure_optimizers()
    assert config["lr_scheduler"]["interval"] == "epoch"


def test_get_trainer_defaults_and_ddp_choice(tmp_path):
    trainer = get_trainer(tmp_path, max_epochs=3, patience=2, accelerator="cpu")
    assert trainer.max_epochs == 3
    assert trainer.precision == "32-true"
    names = [type(c).__name__ for c in trainer.callbacks]
    assert "EarlyStopping" in names and "ModelCheckpoint" in names
    assert trainer.checkpoint_callback.monitor == "val_loss"
    assert Path(trainer.checkpoint_callback.dirpath) == tmp_path / "checkpoints"


@pytest.mark.parametrize("rich", [True, False])
def test_the_progress_bar_leaves_out_the_loggers_version_number(make_catalog, tmp_path, monkeypatch, rich):
    from lightning.pytorch.callbacks import ProgressBar, RichProgressBar, TQDMProgressBar
    from lightning.pytorch.callbacks.progress import rich_progress

    if rich and not rich_progress._RICH_AVAILABLE:
        pytest.skip("rich is not installed")
    monkeypatch.setattr(rich_progress, "_RICH_AVAILABLE", rich)
    model = FinetuneableZoobotClassifier(num_classes=2, name="test_convnext", training_mode="head_only")
    datamodule = CatalogDataModule(
        label_cols=["label"], catalog=make_catalog(n=12), batch_size=4, num_workers=0, card=model.card, input_size=32
    )
    trainer = get_trainer(tmp_path, max_epochs=1, accelerator="cpu")  # with a CSV logger, which has a version
    bar = trainer.progress_bar_callback
    assert isinstance(bar, RichProgressBar if rich else TQDMProgressBar) and bar in trainer.callbacks
    trainer.fit(model, datamodule)
    metrics = bar.get_metrics(trainer, model)
    assert "v_num" not in metrics and "train_loss" in metrics
    assert "v_num" in ProgressBar.get_metrics(bar, trainer, model)  # Lightning's own would show it
    assert get_trainer(tmp_path, enable_progress_bar=False).progress_bar_callback is None
    mine = TQDMProgressBar()
    assert get_trainer(tmp_path, callbacks=[mine]).progress_bar_callback is mine  # a bar given is kept


DDP_SCRIPT = """
import sys
import lightning as L
import pandas as pd
from zoobot.data import CatalogDataModule
from zoobot.finetune import FinetuneableZoobotClassifier, get_trainer

if __name__ == "__main__":
    catalog = pd.read_csv(sys.argv[1])
    L.seed_everything(0)
    model = FinetuneableZoobotClassifier(num_classes=2, name="test_convnext", learning_rate=1e-3)
    datamodule = CatalogDataModule(label_cols=["label"], catalog=catalog, batch_size=4, num_workers=0,
                                   card=model.card, input_size=32)
    trainer = get_trainer(sys.argv[2], max_epochs=1, accelerator="cpu", devices=2,
                          enable_progress_bar=False)
    trainer.fit(model, datamodule)
    if trainer.is_global_zero:
        print("WORLD_SIZE", trainer.world_size, "BEST", trainer.checkpoint_callback.best_model_path)
"""


def test_ddp_on_two_cpu_processes(make_catalog, tmp_path):
    catalog = make_catalog(n=16, size=32, task="classification")
    catalog_path = tmp_path / "catalog.csv"
    catalog.to_csv(catalog_path, index=False)
    script = tmp_path / "ddp_finetune.py"
    script.write_text(textwrap.dedent(DDP_SCRIPT))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(script), str(catalog_path), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WORLD_SIZE 2" in result.stdout
    assert list((tmp_path / "run" / "checkpoints").glob("*.ckpt"))


def test_checkpoints_written_in_the_background_keep_only_the_best(make_catalog, schema, tmp_path):
    """Writes and removals run behind training; after fit exactly the best file is on disk, and
    it holds the weights of the best epoch (not of a later one)."""
    torch.manual_seed(0)
    model, datamodule = _task_setup("classification", make_catalog, schema)
    best_state: dict[str, torch.Tensor] = {}

    class RememberBest(L.Callback):
        def on_validation_end(self, trainer, pl_module):
            checkpoint = trainer.checkpoint_callback
            best = checkpoint.best_model_score
            if best is None or trainer.callback_metrics["val_loss"] <= best:
                best_state.update({k: v.detach().clone() for k, v in pl_module.state_dict().items()})

    trainer = get_trainer(
        tmp_path / "run",
        max_epochs=6,
        patience=6,
        accelerator="cpu",
        enable_progress_bar=False,
        logger=False,
        callbacks=[RememberBest()],
    )
    trainer.fit(model, datamodule)
    files = list((tmp_path / "run" / "checkpoints").glob("*.ckpt"))
    assert [str(f) for f in files] == [trainer.checkpoint_callback.best_model_path]
    saved = torch.load(files[0], weights_only=True)["state_dict"]
    assert all(torch.equal(saved[k], best_state[k]) for k in saved)


def test_a_failed_background_checkpoint_write_is_raised(tmp_path):
    from zoobot.finetune.checkpoint_writer import DelayedCheckpointIO

    plugin = DelayedCheckpointIO()
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the checkpoint folder should be")
    plugin.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, blocker / "best.ckpt")
    with pytest.raises((OSError, RuntimeError)):
        plugin.teardown()
