"""Write checkpoints with THIS project (not real Zoobot), for real Zoobot 2.9 to load: the other direction of #17.

Run with this project's environment, from the repository root:

    PYTHONPATH=$PWD python scripts/zoobot_fixtures/make_project_checkpoints.py --out tests/fixtures/zoobot/2.9

It finetunes one epoch per task on the fixture images with this project's ``get_trainer`` (so the files are
what its ``ModelCheckpoint`` writes), with the fixture's tiny Hub encoder ``hf_hub:zoobot-fixtures/zoobot-encoder-
test_convnext`` read from ``<out>/hf_home`` offline, and trains a ``ZoobotTree`` from scratch. It writes
``<out>/project_checkpoints/{classifier,regressor,tree,zoobot_tree}.ckpt`` and this project's own outputs on
``<out>/input.npy`` (``project_checkpoints/outputs/<task>_forward.npy``, ``..._encoder.npy``).

Then real Zoobot 2.9 loads them and records its outputs (``make_fixtures.py --load-project``), which the project's
tests compare against.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ENCODER_NAME = "hf_hub:zoobot-fixtures/zoobot-encoder-test_convnext"
TREE_PAIRS = {
    "smooth-or-featured": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on": ["_yes", "_no"],
    "has-spiral-arms": ["_yes", "_no"],
}
TREE_DEPENDENCIES = {
    "smooth-or-featured": None,
    "disk-edge-on": "smooth-or-featured_featured-or-disk",
    "has-spiral-arms": "disk-edge-on_no",
}
SEED = 42


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the Zoobot 2.9 fixture folder, e.g. tests/fixtures/zoobot/2.9")
    out = Path(parser.parse_args().out).resolve()
    os.environ["HF_HOME"] = str(out / "hf_home")  # read when huggingface_hub is imported
    os.environ["HF_HUB_OFFLINE"] = "1"
    import lightning as L
    import numpy as np
    import pandas as pd
    import torch

    from zoobot.data import CatalogDataModule
    from zoobot.finetune import (
        FinetuneableZoobotClassifier,
        FinetuneableZoobotRegressor,
        FinetuneableZoobotTree,
        get_trainer,
    )
    from zoobot.schemas import Schema
    from zoobot.scratch import ZoobotTree

    torch.set_num_threads(1)
    catalog = pd.read_csv(out / "catalog.csv")
    catalog["file_loc"] = [str(out / f) for f in catalog["file_loc"]]
    schema = Schema(TREE_PAIRS, TREE_DEPENDENCIES)
    folder = out / "project_checkpoints"
    (folder / "outputs").mkdir(parents=True, exist_ok=True)
    x = torch.from_numpy(np.load(out / "input.npy"))
    common = {"name": ENCODER_NAME, "learning_rate": 1e-3, "seed": SEED, "prog_bar": False}
    tasks = {
        "classifier": (
            lambda: FinetuneableZoobotClassifier(
                num_classes=3, label_col="label", class_weights=[1.0, 2.0, 1.0], **common
            ),
            ["label"],
        ),
        "regressor": (
            lambda: FinetuneableZoobotRegressor(label_col="target", unit_interval=True, **common),
            ["target"],
        ),
        "tree": (lambda: FinetuneableZoobotTree(schema=schema, **common), schema.label_cols),
        "zoobot_tree": (
            lambda: ZoobotTree(
                question_answer_pairs=TREE_PAIRS,
                dependencies=TREE_DEPENDENCIES,
                architecture_name="test_convnext",
                input_size=64,
                timm_kwargs={"dims": [8, 8, 16, 16], "depths": [1, 1, 1, 1]},
                seed=SEED,
                prog_bar=False,
            ),
            schema.label_cols,
        ),
    }
    for task, (build, label_cols) in tasks.items():
        L.seed_everything(SEED, workers=True, verbose=False)
        model = build()
        datamodule = CatalogDataModule(
            label_cols=label_cols,
            train_catalog=catalog.iloc[:8],
            val_catalog=catalog.iloc[8:],
            batch_size=4,
            num_workers=0,
            card=model.card,
            input_size=64,
            augment=False,
        )
        with tempfile.TemporaryDirectory() as work:
            trainer = get_trainer(
                work,
                max_epochs=1,
                accelerator="cpu",
                devices=1,
                logger=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                deterministic=True,
            )
            trainer.fit(model, datamodule)
            (folder / f"{task}.ckpt").write_bytes(Path(trainer.checkpoint_callback.best_model_path).read_bytes())
        model.eval()
        with torch.no_grad():
            np.save(folder / "outputs" / f"{task}_forward.npy", model(x).numpy())
            np.save(folder / "outputs" / f"{task}_encoder.npy", model.encoder(x).numpy())
        print(f"wrote {folder / (task + '.ckpt')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
