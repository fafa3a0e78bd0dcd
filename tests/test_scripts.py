"""The asset builders in scripts/ run end to end: the demo encoder's pretraining and the README's grid."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent


def test_pretraining_records_each_epochs_own_losses(tmp_path: Path) -> None:
    from zoobot.survey import make_survey

    make_survey(n=48, size=32, seed=0, out_dir=tmp_path / "survey")
    done = subprocess.run(
        [
            sys.executable,
            "scripts/pretrain_demo_encoder.py",
            "--survey",
            str(tmp_path / "survey"),
            "--out",
            str(tmp_path / "run"),
            "--epochs",
            "2",
            "--architecture",
            "test_resnet",
            "--input-size",
            "32",
            "--batch-size",
            "8",
            "--num-workers",
            "0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "pretraining.json").read_text())
    history = record["history"]
    assert [row["epoch"] for row in history] == [0, 1]
    # every row has its own epoch's train and validation loss, as Lightning's log has them
    log = pd.read_csv(tmp_path / "run" / "csv_logs" / "version_0" / "metrics.csv")
    for column in ("train_loss", "val_loss"):
        logged = log.dropna(subset=[column]).groupby("epoch")[column].last()
        assert [row[column] for row in history] == pytest.approx(logged.tolist())
    assert record["best_epoch"] in (0, 1) and record["settings"]["architecture_name"] == "test_resnet"


def test_survey_grid_has_one_labelled_tile_per_morphology(tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    done = subprocess.run(
        [sys.executable, "scripts/make_survey_grid.py", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with Image.open(out) as grid:
        # 30 tiles of 128 px under a 16 px label, six to a row, in a 256-colour palette
        assert grid.size == (6 * 128, 5 * (128 + 16)) and grid.mode == "P"
