"""RunProgress, the Lightning callback that writes a run's progress.json and metrics.csv."""

from __future__ import annotations

from zoobot.runs import RunFolder


def test_time_left_is_measured_after_the_first_batch_so_start_up_does_not_inflate_it(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import torch

    from zoobot.runs import progress as progress_module

    clock = {"now": 0.0}
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock["now"])
    callback = progress_module.RunProgress(RunFolder(tmp_path), stop_event=None)
    trainer = SimpleNamespace(
        num_training_batches=10,
        max_epochs=2,
        global_step=0,
        current_epoch=0,
        strategy=SimpleNamespace(root_device=torch.device("cpu")),
        should_stop=False,
    )
    callback.on_fit_start(trainer, None)
    assert RunFolder(tmp_path).read_progress()["eta_s"] is None
    clock["now"] = 30.0  # start-up and the first batch: 30 s, once
    trainer.global_step = 1
    callback.on_train_batch_end(trainer, None, None, None, 0)
    assert RunFolder(tmp_path).read_progress()["eta_s"] is None  # one batch tells nothing about the rate yet
    clock["now"] = 34.0  # then 1 s per batch
    trainer.global_step = 5
    callback.on_train_batch_end(trainer, None, None, None, 4)
    progress = RunFolder(tmp_path).read_progress()
    assert progress["eta_s"] == 15.0  # 15 batches left at 1 s each (counting start-up, it said 102 s)
    assert progress["elapsed_s"] == 34.0


def test_each_epochs_row_is_written_once_its_metrics_are_logged_and_a_stop_request_is_honoured(tmp_path):
    import threading
    from types import SimpleNamespace

    import torch

    from zoobot.runs import RunProgress

    stop = threading.Event()
    folder = RunFolder(tmp_path)
    callback = RunProgress(folder, stop_event=stop)
    trainer = SimpleNamespace(
        num_training_batches=4,
        max_epochs=3,
        global_step=4,
        current_epoch=0,
        strategy=SimpleNamespace(root_device=torch.device("cpu")),
        should_stop=False,
        sanity_checking=False,
        is_global_zero=True,
        callback_metrics={"val_loss": torch.tensor(0.5), "train_loss_step": torch.tensor(9.0)},
    )
    callback.on_fit_start(trainer, None)
    callback.on_train_epoch_end(trainer, None)
    assert folder.read_metrics() is None  # not before the model has logged the epoch's train metrics
    trainer.callback_metrics["train_loss_epoch"] = torch.tensor(0.75)
    trainer.current_epoch = 1
    callback.on_train_epoch_start(trainer, None)
    metrics = folder.read_metrics()
    assert metrics.to_dict("records") == [{"epoch": 0, "val_loss": 0.5, "train_loss": 0.75}]
    assert folder.read_progress()["device"] == "CPU" and folder.read_progress()["total_steps"] == 12
    stop.set()
    callback.on_train_batch_end(trainer, None, None, None, 0)
    assert trainer.should_stop


def test_a_head_only_runs_feature_pass_has_its_own_progress_and_time_left(tmp_path, monkeypatch):
    from zoobot.runs import progress as progress_module
    from zoobot.runs.folder import FEATURES_STAGE

    clock = {"now": 0.0}
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock["now"])
    callback = progress_module.RunProgress(RunFolder(tmp_path), stop_event=None)
    callback.on_features(0, 200)
    clock["now"] = 10.0
    callback.on_features(50, 200)  # 50 galaxies in 10 s: 150 left take 30 s
    progress = RunFolder(tmp_path).read_progress()
    assert progress["stage"] == FEATURES_STAGE and progress["step"] == 50 and progress["total_steps"] == 200
    assert progress["eta_s"] == 30.0


def test_the_feature_pass_reports_every_batch_to_a_listener(make_catalog):
    import torch

    from zoobot.data import CatalogDataModule

    catalog = make_catalog(n=10, size=32)
    module = CatalogDataModule(label_cols=["label"], catalog=catalog, batch_size=4, input_size=32, num_workers=0)
    module.setup("fit")
    heard: list[tuple[int, int]] = []
    module.cache_features(torch.nn.Flatten(), splits=("train", "val"), on_batch=lambda d, t: heard.append((d, t)))
    total = len(module.train_catalog) + len(module.val_catalog)
    assert heard[-1] == (total, total) and all(t == total for _, t in heard) and len(heard) > 1
