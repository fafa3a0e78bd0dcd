"""What finetuning logs each epoch, and how: the weighted mean loss and the metrics once per epoch, and the
checkpoint files written behind training only while they are still wanted."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

import zoobot.data
from zoobot.data import CatalogDataModule
from zoobot.finetune import FinetuneableZoobotClassifier, get_trainer
from zoobot.finetune.checkpoint_writer import DelayedCheckpointIO


@pytest.fixture(autouse=True)
def _evaluation_in_batches_of_four(monkeypatch):
    """Cached features are evaluated in batches of up to FEATURE_EVAL_ROWS: here 4, the batch size."""
    monkeypatch.setattr(zoobot.data, "FEATURE_EVAL_ROWS", 4)


def _classifier_run(
    make_catalog, tmp_path, model_class=FinetuneableZoobotClassifier, model_kwargs=None, **trainer_kwargs
):
    torch.manual_seed(0)
    catalog = make_catalog(n=30, size=32, task="classification", n_classes=3)
    model = model_class(
        num_classes=3,
        name="test_convnext",
        training_mode="head_only",
        learning_rate=1e-3,
        prog_bar=False,
        **(model_kwargs or {}),
    )
    # 30 galaxies, 10 for validation in batches of 4: 4 + 4 + 2, so an unweighted mean of batches would differ.
    datamodule = CatalogDataModule(
        label_cols=["label"],
        catalog=catalog,
        batch_size=4,
        num_workers=0,
        card=model.card,
        input_size=32,
        train_fraction=0.5,
        val_fraction=1 / 3,
        test_fraction=1 / 6,
    )
    trainer = get_trainer(
        tmp_path / "run", accelerator="cpu", enable_progress_bar=False, logger=False, **trainer_kwargs
    )
    return model, datamodule, trainer


def _count_logs(model) -> list[str]:
    names: list[str] = []
    log = model.log

    def counting_log(name, *args, **kwargs):
        names.append(name)
        return log(name, *args, **kwargs)

    model.log = counting_log
    return names


def test_the_epoch_loss_is_the_mean_over_galaxies_logged_once_an_epoch(make_catalog, tmp_path):
    model, datamodule, trainer = _classifier_run(make_catalog, tmp_path, max_epochs=2)
    names = _count_logs(model)
    trainer.fit(model, datamodule)
    # Once per stage and epoch, not once per batch (3 train batches and 3 val batches an epoch).
    fit_epochs = 2
    assert names.count("train_loss") == fit_epochs
    assert names.count("val_loss") == fit_epochs + 1  # the sanity check's validation logs it too
    assert names.count("finetuning/val_loss") == names.count("val_loss")
    # Per-class precision and recall for the held-out galaxies only; accuracy and F1 for both stages.
    assert {n for n in names if n.startswith(("train_", "val_"))} == {
        *(f"{stage}_{metric}" for stage in ("train", "val") for metric in ("loss", "accuracy", "f1")),
        *(f"val_{metric}_{k}" for metric in ("precision", "recall") for k in range(3)),
    }

    names.clear()
    logged = trainer.validate(model, datamodule, verbose=False)[0]
    assert names.count("val_loss") == 1
    # The loss and accuracy over every validation galaxy, each galaxy weighing the same.
    val = datamodule.val_dataloader()
    model.eval()
    with torch.no_grad():
        batches = [model.batch_to_supervised_tuple(batch) for batch in val]
        features = torch.cat([inputs for inputs, _ in batches])
        labels = torch.cat([targets for _, targets in batches])
        outputs = model.head(features)
        targets = model.targets_from_labels(labels)
    assert [len(inputs) for inputs, _ in batches] == [4, 4, 2]
    assert logged["val_loss"] == pytest.approx(float(F.cross_entropy(outputs, targets)), rel=1e-5)
    accuracy = float((outputs.argmax(dim=1) == targets).float().mean())
    assert logged["val_accuracy"] == pytest.approx(accuracy)


def test_a_class_weighted_loss_is_the_same_weighted_mean_over_every_galaxy_however_batched(make_catalog, tmp_path):
    weights = [1.0, 5.0, 0.2]
    model, datamodule, trainer = _classifier_run(
        make_catalog, tmp_path, model_kwargs={"class_weights": weights}, max_epochs=1
    )
    trainer.fit(model, datamodule)
    in_fours = trainer.validate(model, datamodule, verbose=False)[0]["val_loss"]
    val = datamodule.val_dataloader()
    model.eval()
    with torch.no_grad():
        batches = [model.batch_to_supervised_tuple(batch) for batch in val]
        outputs = model.head(torch.cat([inputs for inputs, _ in batches]))
        targets = model.targets_from_labels(torch.cat([labels for _, labels in batches]))
    assert [len(inputs) for inputs, _ in batches] == [4, 4, 2]
    assert len(set(targets.tolist())) > 1  # the weights matter
    expected = float(F.cross_entropy(outputs, targets, weight=torch.tensor(weights)))
    assert in_fours == pytest.approx(expected, rel=1e-5)


class _GroupedMetricsClassifier(FinetuneableZoobotClassifier):
    """torchmetrics' default collection, with compute groups (the classifier's own has none)."""

    def build_metrics(self):
        import torchmetrics as tm

        kw = {"task": "multiclass", "num_classes": self.num_classes, "average": "macro"}
        return tm.MetricCollection({"accuracy": tm.Accuracy(**kw), "precision": tm.Precision(**kw)})


def test_held_out_metrics_leave_a_collection_with_compute_groups_working(make_catalog, tmp_path):
    model, datamodule, trainer = _classifier_run(make_catalog, tmp_path, _GroupedMetricsClassifier, max_epochs=1)
    names = _count_logs(model)
    trainer.fit(model, datamodule)
    assert "train_accuracy" in names and "val_precision" in names and "train_precision" not in names


def test_a_run_stopped_at_max_steps_still_logs_its_last_epoch(make_catalog, tmp_path):
    # 15 training galaxies in batches of 4: 4 steps an epoch, so the 6th step ends the run mid-epoch.
    model, datamodule, trainer = _classifier_run(make_catalog, tmp_path, max_epochs=3, max_steps=6)
    names = _count_logs(model)
    trainer.fit(model, datamodule)
    assert trainer.global_step == 6
    assert names.count("train_loss") == 2
    assert torch.isfinite(trainer.callback_metrics["train_loss"])
    assert "train_accuracy" in trainer.callback_metrics


def _written(plugin: DelayedCheckpointIO, monkeypatch) -> list[str]:
    written: list[str] = []
    save = DelayedCheckpointIO.__mro__[1].save_checkpoint

    def spy(self, checkpoint, path, storage_options=None):
        written.append(str(path))
        return save(self, checkpoint, path, storage_options)

    monkeypatch.setattr(DelayedCheckpointIO.__mro__[1], "save_checkpoint", spy)
    return written


def test_a_checkpoint_removed_before_its_write_is_never_written(tmp_path, monkeypatch):
    plugin = DelayedCheckpointIO(delay_s=30.0)
    written = _written(plugin, monkeypatch)
    state = {"state_dict": {"w": torch.ones(3)}}
    plugin.save_checkpoint(state, tmp_path / "0.ckpt")
    state["state_dict"]["w"] += 1  # training goes on: the file keeps the weights of when it was asked
    plugin.save_checkpoint(state, tmp_path / "1.ckpt")
    plugin.remove_checkpoint(tmp_path / "0.ckpt")
    start = time.monotonic()
    plugin.teardown()  # writes what is still wanted now, without waiting out the delay
    assert time.monotonic() - start < 10
    assert written == [str(tmp_path / "1.ckpt")]
    assert [p.name for p in tmp_path.iterdir()] == ["1.ckpt"]
    assert torch.equal(torch.load(tmp_path / "1.ckpt", weights_only=True)["state_dict"]["w"], torch.full((3,), 2.0))
    # After teardown (fit is over), a save is written at once.
    plugin.save_checkpoint(state, tmp_path / "after.ckpt")
    deadline = time.monotonic() + 10
    while not (tmp_path / "after.ckpt").is_file() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (tmp_path / "after.ckpt").is_file()


def test_a_copy_reuses_the_memory_of_a_dropped_or_written_one_and_holds_its_own_weights(tmp_path):
    plugin = DelayedCheckpointIO(delay_s=30.0)
    weights = torch.arange(6.0).reshape(2, 3)
    plugin.save_checkpoint({"state_dict": {"w": weights, "step": 1}}, tmp_path / "0.ckpt")
    first = plugin._waiting[0].checkpoint["state_dict"]["w"]
    plugin.remove_checkpoint(tmp_path / "0.ckpt")  # beaten: its copy is never written, its memory is reused
    weights += 10
    plugin.save_checkpoint({"state_dict": {"w": weights, "step": 2}}, tmp_path / "1.ckpt")
    second = next(op for op in plugin._waiting if op.kind == "save").checkpoint["state_dict"]["w"]
    assert second.data_ptr() == first.data_ptr()
    weights += 10  # training goes on after the save
    # A tensor of another layout gets memory of its own.
    plugin.save_checkpoint({"state_dict": {"w": weights.t(), "step": 3}}, tmp_path / "2.ckpt")
    plugin.teardown()
    one = torch.load(tmp_path / "1.ckpt", weights_only=True)["state_dict"]
    two = torch.load(tmp_path / "2.ckpt", weights_only=True)["state_dict"]
    assert torch.equal(one["w"], torch.arange(6.0).reshape(2, 3) + 10) and one["step"] == 2
    assert torch.equal(two["w"], (torch.arange(6.0).reshape(2, 3) + 20).t()) and two["step"] == 3
    assert not (tmp_path / "0.ckpt").exists()
    assert plugin._spare == []  # teardown gives the memory back


def test_teardown_gives_the_copies_memory_back_even_after_a_failed_write(tmp_path):
    plugin = DelayedCheckpointIO(delay_s=30.0)
    plugin.save_checkpoint({"w": torch.ones(4)}, tmp_path / "0.ckpt")
    plugin.remove_checkpoint(tmp_path / "0.ckpt")  # dropped: its copy becomes the spare
    (tmp_path / "file").write_text("not a folder")
    plugin.save_checkpoint({"w": torch.ones(4)}, tmp_path / "file" / "1.ckpt")  # cannot be written
    with pytest.raises(OSError):
        plugin.teardown()
    assert plugin._spare == []


def test_waiting_checkpoints_are_written_after_their_delay_and_before_loading(tmp_path, monkeypatch):
    plugin = DelayedCheckpointIO(delay_s=0.2)
    written = _written(plugin, monkeypatch)
    plugin.save_checkpoint({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "a.ckpt")
    deadline = time.monotonic() + 10
    while not written and time.monotonic() < deadline:
        time.sleep(0.01)
    assert written == [str(tmp_path / "a.ckpt")]  # nobody asked: written once its delay had passed

    slow = DelayedCheckpointIO(delay_s=30.0)
    slow.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, tmp_path / "b.ckpt")
    loaded = slow.load_checkpoint(tmp_path / "b.ckpt")  # loading writes what waits first
    assert torch.equal(loaded["state_dict"]["w"], torch.ones(2))
    slow.remove_checkpoint(tmp_path / "b.ckpt")
    slow.teardown()
    assert not (tmp_path / "b.ckpt").exists()


def test_loaders_without_a_length_log_every_batch_into_the_same_epoch_mean(tmp_path):
    """A loader whose length is unknown (an iterable dataset, a stream) gets the loss logged at every batch,
    which Lightning still averages over the epoch's galaxies."""

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            generator = torch.Generator().manual_seed(0)
            for _ in range(10):
                yield torch.rand(3, 32, 32, generator=generator), torch.tensor(0)

    def loader():
        return torch.utils.data.DataLoader(Stream(), batch_size=4)

    model = FinetuneableZoobotClassifier(num_classes=2, name="test_convnext", learning_rate=1e-3, prog_bar=False)
    names = _count_logs(model)
    trainer = get_trainer(tmp_path / "run", max_epochs=1, accelerator="cpu", enable_progress_bar=False, logger=False)
    trainer.fit(model, loader(), loader())
    assert names.count("train_loss") == 3  # batches of 4, 4 and 2
    assert torch.isfinite(trainer.callback_metrics["train_loss"])
    assert torch.isfinite(trainer.callback_metrics["val_loss"])


def test_a_batch_goes_to_the_device_with_its_identifiers_left_as_they_are():
    model = FinetuneableZoobotClassifier(name="test_convnext", num_classes=2, training_mode="head_only")
    ids = ["a", "b"]
    batch = {"features": torch.ones(2, 3), "id_str": ids, "label": torch.zeros(2, 1), "extra": [torch.ones(1)]}
    moved = model.transfer_batch_to_device(batch, torch.device("meta"), 0)
    assert moved["id_str"] is ids
    assert moved["features"].is_meta and moved["label"].is_meta and moved["extra"][0].is_meta
    images, labels = model.transfer_batch_to_device((torch.ones(2, 3), torch.zeros(2)), torch.device("meta"), 0)
    assert images.is_meta and labels.is_meta  # other batches: Lightning's own move
    from collections import OrderedDict

    ordered = model.transfer_batch_to_device(OrderedDict(features=torch.ones(2)), torch.device("meta"), 0)
    assert type(ordered) is OrderedDict and ordered["features"].is_meta  # a dict subclass keeps its type
