"""Does the demo encoder transfer? Finetune for ``ring`` on a held-out survey, pretrained vs random init.

The demo encoder was pretrained on the DR5 vote counts of one synthetic survey (seed 1), where
``ring`` is not a question. Here a second survey (seed 2, never seen in pretraining) supplies the
labels:

- label pool: its first 1500 galaxies; for ``n`` labels, ``n`` galaxies are drawn from the pool
  (seeded, nested: the 50 are among the 200, which are among the 1000), 80% train and 20%
  validation (early stopping and best checkpoint on validation loss);
- test: its last 1000 galaxies;
- every cell is repeated for ``--seeds`` seeds (default 3): each seed draws its own labelled
  galaxies and initialises its own head (and, for random init, its own encoder). With 160 training
  galaxies one draw can move a cell by several points, so the table gives the mean and the spread.

Each cell is one :class:`zoobot.finetune.FinetuneableZoobotClassifier` (2 classes, ``label_col='ring'``)
with ``name='demo'`` (pretrained) or the demo's timm architecture by name (``'resnet10t'``: the
same architecture, random initialisation), trained ``head_only`` (linear probe on frozen features) or ``full``;
test accuracy comes from :func:`zoobot.predict.predict_on_catalog`. Only the public library API is used.

    zoobot make-survey --n 2500 --size 128 --seed 2 --out data/transfer_survey
    python benchmarks/transfer.py --survey data/transfer_survey

prints a markdown table (mean ± standard deviation over the seeds) and writes
``benchmarks/results/transfer.json`` with every run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch

from zoobot.catalog import read_catalog
from zoobot.data import CatalogDataModule
from zoobot.encoders import get_encoder_card, load_encoder
from zoobot.finetune import FinetuneableZoobotClassifier, get_trainer, load_finetuned
from zoobot.predict import predict_on_catalog

POOL_SIZE = 1500
TEST_SIZE = 1000
VAL_FRACTION = 0.2
SEEDS = 3
# The random-init arm is the demo card's own architecture (filled in by main()).
ENCODERS = {"pretrained": "demo", "random init": ""}
MODES = ("head_only", "full")
# Per mode: optimiser and schedule. Full finetuning of the pretrained encoder uses Zoobot's
# layer-wise lr decay (keeps the lower layers near their pretrained weights) and keeps its
# batch-norm statistics (the library's default for pretrained encoders, freeze_norm_stats); a
# random encoder has nothing to keep, so every layer trains at the full rate and its statistics update.
HEAD_ONLY = {"learning_rate": 1e-2, "max_epochs": 100, "patience": 15}
# The epoch caps are high enough that random init, which learns slowest, stops early rather than
# being cut off (at 30 epochs it was still improving with 200 labels).
FULL = {
    "learning_rate": 1e-3,
    "layer_decay": {"pretrained": 0.75, "random init": 1.0},
    "max_epochs": {50: 60, 200: 60, 1000: 30},
    "patience": 10,
    "warmup_epochs": 1,
}
BATCH_SIZE = 32
NUM_WORKERS = 1


def inference_throughput(source: str, input_size: int, batch_size: int = 64, repeats: int = 7) -> float:
    """Images per second of a pure encoder forward pass (eval, no grad), the median of ``repeats`` batches."""
    encoder, card = load_encoder(source)
    encoder.eval()
    images = torch.randn(batch_size, card.channels, input_size, input_size)
    seconds = []
    with torch.no_grad():
        encoder(images)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            encoder(images)
            seconds.append(time.perf_counter() - start)
    return batch_size / float(np.median(seconds))


def label_splits(catalog: pd.DataFrame, n_labels: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_labels`` galaxies from the label pool (nested across ``n_labels``), split 80% train / 20% val."""
    order = np.random.default_rng(seed).permutation(POOL_SIZE)[:n_labels]
    n_val = max(1, round(VAL_FRACTION * n_labels))
    chosen = catalog.iloc[order]
    return chosen.iloc[n_val:].reset_index(drop=True), chosen.iloc[:n_val].reset_index(drop=True)


def run_cell(
    catalog: pd.DataFrame,
    test: pd.DataFrame,
    n_labels: int,
    arm: str,
    mode: str,
    input_size: int,
    work_dir: Path,
    seed: int,
) -> dict[str, Any]:
    """Train one classifier and measure its test accuracy."""
    started = time.time()
    train, val = label_splits(catalog, n_labels, seed)
    L.seed_everything(seed, workers=True, verbose=False)
    if mode == "head_only":
        model = FinetuneableZoobotClassifier(
            num_classes=2,
            label_col="ring",
            name=ENCODERS[arm],
            training_mode="head_only",
            learning_rate=HEAD_ONLY["learning_rate"],
            prog_bar=False,
            seed=seed,
        )
        max_epochs, patience = HEAD_ONLY["max_epochs"], HEAD_ONLY["patience"]
    else:
        max_epochs, patience = FULL["max_epochs"][n_labels], FULL["patience"]
        model = FinetuneableZoobotClassifier(
            num_classes=2,
            label_col="ring",
            name=ENCODERS[arm],
            training_mode="full",
            learning_rate=FULL["learning_rate"],
            layer_decay=FULL["layer_decay"][arm],
            scheduler_kwargs={"warmup_epochs": FULL["warmup_epochs"], "max_epochs": max_epochs},
            prog_bar=False,
            seed=seed,
        )
    datamodule = CatalogDataModule(
        label_cols=["ring"],
        train_catalog=train,
        val_catalog=val,
        batch_size=BATCH_SIZE,
        num_workers=NUM_WORKERS,
        input_size=input_size,
        card=model.card,
        seed=seed,
    )
    save_dir = work_dir / f"{n_labels}_{arm.replace(' ', '_')}_{mode}_seed{seed}"
    trainer = get_trainer(
        save_dir,
        max_epochs=max_epochs,
        patience=patience,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
    )
    trainer.fit(model, datamodule)
    best = load_finetuned(trainer.checkpoint_callback.best_model_path)
    predictions = predict_on_catalog(
        test,
        best,
        label_cols=["ring"],
        input_size=input_size,
        batch_size=64,
        num_workers=NUM_WORKERS,
        accelerator="cpu",
    )
    # label_cols=["ring"] on a binary classifier: one column, P(ring); the predicted class is 1 above 0.5
    predicted = (predictions["ring"].to_numpy() > 0.5).astype(int)
    accuracy = float((predicted == test["ring"].to_numpy()).mean())
    return {
        "n_labels": n_labels,
        "n_train": len(train),
        "n_val": len(val),
        "encoder": arm,
        "mode": mode,
        "seed": seed,
        "test_accuracy": accuracy,
        "epochs_run": trainer.current_epoch,
        "minutes": round((time.time() - started) / 60, 2),
    }


def markdown_table(cells: list[dict[str, Any]], labels: list[int]) -> str:
    """Test accuracy (%) per label count (rows) and encoder/mode (columns): mean ± sd over seeds."""
    columns = [(arm, mode) for mode in MODES for arm in ENCODERS]
    names = {"head_only": "head only", "full": "full finetune"}
    lines = [
        "| labels | " + " | ".join(f"{arm}, {names[mode]}" for arm, mode in columns) + " |",
        "|---:|" + "---:|" * len(columns),
    ]
    for n in labels:
        row = []
        for arm, mode in columns:
            found = [
                100 * c["test_accuracy"]
                for c in cells
                if c["n_labels"] == n and c["encoder"] == arm and c["mode"] == mode
            ]
            if not found:
                row.append("-")
            elif len(found) == 1:
                row.append(f"{found[0]:.1f}")
            else:
                row.append(f"{np.mean(found):.1f} ± {np.std(found, ddof=1):.1f}")
        lines.append(f"| {n} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--survey", type=Path, required=True, help="the held-out survey folder")
    parser.add_argument("--labels", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results" / "transfer.json")
    parser.add_argument(
        "--seeds",
        type=int,
        default=SEEDS,
        help="repeat every cell with seeds 0..SEEDS-1 (label draw and initialisation)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    bad = [n for n in args.labels if n not in FULL["max_epochs"]]
    if bad:
        raise SystemExit(f"--labels {bad}: choose from {sorted(FULL['max_epochs'])}.")
    if args.seeds < 1:
        raise SystemExit(f"--seeds {args.seeds}: give 1 or more.")

    torch.set_num_threads(args.threads)
    catalog = read_catalog(args.survey / "catalog.csv")
    pool, test = catalog.iloc[:POOL_SIZE], catalog.iloc[-TEST_SIZE:].reset_index(drop=True)
    demo_card = get_encoder_card("demo")
    input_size = demo_card.input_size[1]
    ENCODERS["random init"] = demo_card.architecture
    majority = int(pool["ring"].mode()[0])
    summary: dict[str, Any] = {
        "survey": str(args.survey),
        "pool": f"first {POOL_SIZE} galaxies",
        "test": f"last {TEST_SIZE} galaxies",
        "test_ring_rate": float(test["ring"].mean()),
        "majority_class_accuracy": float((test["ring"] == majority).mean()),
        "encoders": dict(ENCODERS),
        "input_size": input_size,
        "seeds": list(range(args.seeds)),
        "val_fraction": VAL_FRACTION,
        "batch_size": BATCH_SIZE,
        "head_only": HEAD_ONLY,
        "full": {**FULL, "max_epochs": {str(k): v for k, v in FULL["max_epochs"].items()}},
        "machine": f"{platform.machine()} CPU, {args.threads} torch threads, no GPU",
        "cells": [],
    }
    load_before = os.getloadavg()[0]
    summary["inference_images_per_second"] = round(inference_throughput("demo", input_size), 1)
    summary["inference_note"] = (
        f"pure forward, batch 64, {args.threads} torch threads, {input_size} px; "
        f"1-minute load average {load_before:.1f} on this shared machine"
    )
    print(
        f"demo encoder inference: {summary['inference_images_per_second']} images/s ({summary['inference_note']})",
        flush=True,
    )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for n in args.labels:
            for mode in MODES:
                for arm in ENCODERS:
                    for seed in range(args.seeds):
                        cell = run_cell(pool, test, n, arm, mode, input_size, Path(work), seed)
                        print(json.dumps(cell), flush=True)
                        summary["cells"].append(cell)
                        args.results.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"\nring base rate in the test set: {100 * summary['test_ring_rate']:.1f}%; "
        f"majority class (no ring) accuracy: {100 * summary['majority_class_accuracy']:.1f}%\n"
    )
    print(markdown_table(summary["cells"], args.labels))


if __name__ == "__main__":
    main()
