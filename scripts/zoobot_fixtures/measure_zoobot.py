"""Zoobot 2.9.0's side of ``benchmarks/vs_zoobot.py``: one process, run with the Python of a venv holding
real Zoobot (see this folder's README), measuring the tasks it is given and printing them as JSON.

    python scripts/zoobot_fixtures/measure_zoobot.py --measure zoobot predict,head_only,full '<job JSON>'
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any


def _read(path: str) -> Any:
    import pandas as pd

    return pd.read_csv(path, dtype={"id_str": str})


def measure_zoobot(task: str, job: dict[str, Any]) -> dict[str, float]:
    """Zoobot 2.9.0, as its docs use it."""
    import timm
    import torch
    from galaxy_datasets import transforms
    from galaxy_datasets.pytorch.galaxy_datamodule import CatalogDataModule

    from zoobot.pytorch.predictions import predict_on_catalog
    from zoobot.pytorch.training import finetune

    if job["threads"]:
        torch.set_num_threads(job["threads"])
    config = transforms.minimal_view_config()
    config.output_size = job["size"]
    transform = transforms.get_galaxy_transform(config)
    # Training augments, as this project does by default: galaxy-datasets' default view (affine, flips, erasing).
    train_config = transforms.default_view_config()
    train_config.output_size = job["size"]
    train_transform = transforms.get_galaxy_transform(train_config)
    # The split is the driver's (benchmarks/vs_zoobot.py write_split): both tools read the same files.
    catalog, train, val = (_read(job[key]) for key in ("catalog", "train_catalog", "val_catalog"))
    encoder = timm.create_model(job["architecture"], pretrained=False, num_classes=0)
    workers = {} if job["workers"] is None else {"num_workers": job["workers"]}
    mode = "full" if task == "full" else "head_only"
    model = finetune.FinetuneableZoobotClassifier(
        encoder=encoder, num_classes=2, label_col="label", training_mode=mode, learning_rate=1e-3, prog_bar=False
    )
    start = time.perf_counter()
    if task == "predict":
        with tempfile.TemporaryDirectory() as tmp:
            predict_on_catalog.predict(
                catalog,
                model,
                save_loc=f"{tmp}/predictions.csv",
                label_cols=["p0", "p1"],
                inference_transform=transform,
                datamodule_kwargs={"batch_size": job["batch_size"], **workers},
                trainer_kwargs={"accelerator": "cpu", "devices": 1, "logger": False, "enable_progress_bar": False},
            )
        return {"images": len(catalog), "wall_s": time.perf_counter() - start}
    datamodule = CatalogDataModule(
        label_cols=["label"],
        train_catalog=train,
        val_catalog=val,
        train_transform=train_transform,
        test_transform=transform,
        batch_size=job["batch_size"],
        **workers,
    )
    with tempfile.TemporaryDirectory() as tmp:
        from lightning.pytorch.loggers import CSVLogger

        trainer = finetune.get_trainer(  # both tools log metrics to CSV (Zoobot's learning-rate monitor needs a logger)
            tmp,
            max_epochs=job["epochs"] if task == "head_only" else 1,
            accelerator="cpu",
            devices=1,
            logger=CSVLogger(tmp),
            enable_progress_bar=False,
            patience=1000,
        )
        start = time.perf_counter()
        trainer.fit(model, datamodule)
    return {"images": len(train), "wall_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", nargs=3, metavar=("TOOL", "TASKS", "JOB"), required=True)
    _, tasks, job = parser.parse_args().measure
    print(json.dumps({task: measure_zoobot(task, json.loads(job)) for task in tasks.split(",")}))


if __name__ == "__main__":
    main()
