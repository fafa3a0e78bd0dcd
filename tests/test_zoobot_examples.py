"""Zoobot 2.x's own examples and guides, the lines of them that once failed here (each test embeds them).

The whole examples run with ``scripts/zoobot_fixtures/run_zoobot_examples.py`` (see the README, "Coming from
Zoobot 2.x"); these tests keep the fixes offline and fast. Real Zoobot is never imported.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from zoobot.pytorch.training import finetune

FIXTURES = Path(__file__).parent / "fixtures" / "zoobot"


def save(model: torch.nn.Module, path: Path) -> Path:
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, accelerator="cpu")
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path, weights_only=True)
    return path


def test_finetuned_from_a_zoobot_checkpoint_loc_reloads(tmp_path):
    # finetune_multiclass_classification.py, with a ZoobotTree real Zoobot 2.0 trained from scratch (its
    # ConvNeXt has non-default dims, given by timm_kwargs) as the pretrained checkpoint
    checkpoint_loc = str(FIXTURES / "2.0" / "checkpoints" / "zoobot_tree.ckpt")
    model = finetune.FinetuneableZoobotClassifier(checkpoint_loc=checkpoint_loc, num_classes=4, n_blocks=1)
    best_checkpoint = save(model, tmp_path / "0.ckpt")
    finetuned_model = finetune.FinetuneableZoobotClassifier.load_from_checkpoint(best_checkpoint)

    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval()(images), finetuned_model.eval()(images))
    assert finetuned_model.encoder_model_args == {"dims": [8, 8, 16, 16], "depths": [1, 1, 1, 1]}


def test_galaxy_datasets_resize_after_crop(make_catalog):
    # finetune_counts_full_tree.py and the loading_data guide, with this package's CatalogDataModule as
    # galaxy-datasets' GalaxyDataModule
    from zoobot.data import CatalogDataModule as GalaxyDataModule

    catalog = make_catalog(n=8, size=32, task="classification")
    with pytest.warns(DeprecationWarning, match="use input_size"):
        datamodule = GalaxyDataModule(
            label_cols=["label"], train_catalog=catalog, batch_size=4, num_workers=0, resize_after_crop=40
        )
    datamodule.setup()
    assert next(iter(datamodule.train_dataloader()))["image"].shape == (4, 3, 40, 40)
    with pytest.raises(ValueError, match="disagree"):
        GalaxyDataModule(label_cols=["label"], train_catalog=catalog, resize_after_crop=40, input_size=64)


def test_example_runner_extracts_guide_blocks_and_refuses_stale_substitutions(monkeypatch):
    import importlib.util
    import sys

    script = Path(__file__).parents[1] / "scripts" / "zoobot_fixtures" / "run_zoobot_examples.py"
    spec = importlib.util.spec_from_file_location("run_zoobot_examples", script)
    runner = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, runner)  # its dataclasses look their module up there
    spec.loader.exec_module(runner)

    rst = "Text\n\n.. code-block:: python\n\n    a = 1\n    if a:\n        b = 2\n\nMore text\n"
    assert runner.python_blocks(rst) == ["a = 1\nif a:\n    b = 2\n"]
    example = runner.Example("x", "x.py", substitutions=[("'/Users/user'", "'here'", "user path")])
    assert runner.substitute("d = '/Users/user'", example) == "d = 'here'"
    with pytest.raises(ValueError, match="the example changed"):
        runner.substitute("d = '/elsewhere'", example)
