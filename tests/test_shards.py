"""Survey scale (zoobot.shards): Parquet shards, resume after a kill, several processes, merging."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zoobot.cli import main
from zoobot.finetune import FinetuneableZoobotClassifier
from zoobot.predict import predict_on_catalog
from zoobot.representations import get_representations
from zoobot.shards import catalog_chunks, merge_shards, predict_to_shards, representations_to_shards

CHECKPOINT = Path(__file__).parent / "fixtures" / "zoobot" / "2.9" / "project_checkpoints" / "classifier.ckpt"
OPTIONS = dict(input_size=32, batch_size=16, accelerator="cpu", num_workers=0)


class Killed(Exception):
    """Stands for the process being killed part way."""


@pytest.fixture
def survey(make_catalog, tmp_path) -> Path:
    """A catalog file of 300 rows over 12 images (each row its own galaxy), file_loc relative to it."""
    images = make_catalog(n=12, size=32, task="classification")
    rows = pd.DataFrame({"id_str": [f"g{i:04d}" for i in range(300)]})
    rows["file_loc"] = [str(Path(images["file_loc"].iloc[i % 12]).relative_to(tmp_path)) for i in range(300)]
    path = tmp_path / "survey.csv"
    rows.to_csv(path, index=False)
    return path


@pytest.fixture
def model():
    return FinetuneableZoobotClassifier(num_classes=2, name="test_convnext").eval()


def _killer(after: int):
    written = []

    def on_shard(index: int, path: Path) -> None:
        written.append(index)
        if len(written) == after:
            raise Killed

    return on_shard


def test_catalog_is_read_in_chunks_with_paths_against_its_folder(survey):
    chunks = list(catalog_chunks(survey, shard_rows=128))
    assert [len(c) for c in chunks] == [128, 128, 44]
    assert all(Path(loc).is_absolute() and Path(loc).is_file() for c in chunks for loc in c["file_loc"])


def test_a_killed_run_resumes_and_predicts_every_galaxy_exactly_once(survey, model, tmp_path):
    out = tmp_path / "shards"
    with pytest.raises(Killed):
        predict_to_shards(survey, model, out, shard_rows=50, on_shard=_killer(after=3), **OPTIONS)
    assert len(list(out.glob("shard-*.parquet"))) == 3
    assert not list(out.glob("*.tmp*"))  # nothing half written
    with pytest.raises(ValueError, match="no finished process"):
        merge_shards(out, tmp_path / "all.parquet")

    done = predict_to_shards(survey, model, out, shard_rows=50, **OPTIONS)
    assert (done.written, done.skipped, done.n_shards) == (3, 3, 6)
    merged = pd.read_parquet(merge_shards(out, tmp_path / "all.parquet"))
    catalog = pd.read_csv(survey, dtype={"id_str": str})
    assert list(merged["id_str"]) == list(catalog["id_str"])  # each galaxy once, in catalog order
    catalog["file_loc"] = [str(tmp_path / loc) for loc in catalog["file_loc"]]
    whole = predict_on_catalog(catalog, model, **OPTIONS)
    np.testing.assert_allclose(merged[["label_0", "label_1"]], whole[["label_0", "label_1"]], atol=1e-5)
    csv = pd.read_csv(merge_shards(out, tmp_path / "all.csv"), dtype={"id_str": str})
    assert list(csv["id_str"]) == list(catalog["id_str"])


def test_ranks_share_the_shards_and_a_missing_rank_is_named(survey, model, tmp_path):
    out = tmp_path / "shards"
    first = predict_to_shards(survey, model, out, shard_rows=40, rank=0, world_size=2, **OPTIONS)
    assert sorted(int(p.stem[-6:]) for p in out.glob("shard-*.parquet")) == [0, 2, 4, 6]
    with pytest.raises(ValueError, match=r"4 of 8 shards are missing .*\(1, 3, 5, 7\)"):
        merge_shards(out, tmp_path / "all.parquet")
    second = predict_to_shards(survey, model, out, shard_rows=40, rank=1, world_size=2, **OPTIONS)
    assert first.written + second.written == 8 and first.n_shards == second.n_shards == 8
    merged = pd.read_parquet(merge_shards(out, tmp_path / "all.parquet"))
    assert list(merged["id_str"]) == [f"g{i:04d}" for i in range(300)]


def test_a_resume_with_another_shard_size_is_refused(survey, model, tmp_path):
    out = tmp_path / "shards"
    predict_to_shards(survey, model, out, shard_rows=150, **OPTIONS)
    with pytest.raises(ValueError, match="resume with --shard-rows 150"):
        predict_to_shards(survey, model, out, shard_rows=100, **OPTIONS)


def test_representations_take_the_same_path(survey, model, tmp_path):
    out = tmp_path / "features"
    done = representations_to_shards(survey, model, out, shard_rows=128, **OPTIONS)
    assert done.n_shards == 3
    merged = pd.read_parquet(merge_shards(out, tmp_path / "features.parquet"))
    catalog = pd.read_csv(survey, dtype={"id_str": str})
    catalog["file_loc"] = [str(tmp_path / loc) for loc in catalog["file_loc"]]
    whole = get_representations(catalog, model, **OPTIONS)
    assert list(merged.columns) == list(whole.columns)
    np.testing.assert_allclose(merged.drop(columns="id_str"), whole.drop(columns="id_str"), atol=1e-5)


def test_cli_writes_shards_for_a_folder_and_merges_them(survey, tmp_path, capsys):
    out = tmp_path / "shards"
    arguments = ["predict", "--model", str(CHECKPOINT), "--catalog", str(survey), "--out", f"{out}/"]
    assert main([*arguments, "--shard-rows", "100", "--accelerator", "cpu", "--num-workers", "0"]) == 0
    assert "wrote 3 shards, 0 were already finished" in capsys.readouterr().out
    assert main([*arguments, "--shard-rows", "100", "--accelerator", "cpu"]) == 0
    assert "wrote 0 shards, 3 were already finished" in capsys.readouterr().out
    assert main(["merge-shards", str(out), "--out", str(tmp_path / "all.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "all.parquet")) == 300
    assert main(["representations", "--catalog", str(survey), "--out", f"{tmp_path}/f/", "--umap"]) == 2
    assert "--pca and --umap need every representation" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_runs_two_lightning_processes_that_share_the_shards(survey, tmp_path):
    out = tmp_path / "shards"
    command = [sys.executable, "-m", "zoobot.cli", "predict", "--model", str(CHECKPOINT), "--catalog", str(survey)]
    command += ["--out", f"{out}/", "--shard-rows", "50", "--accelerator", "cpu", "--devices", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Process 1 of 2" in done.stdout and "Process 2 of 2" in done.stdout
    merged = pd.read_parquet(merge_shards(out, tmp_path / "all.parquet"))
    assert list(merged["id_str"]) == [f"g{i:04d}" for i in range(300)]
