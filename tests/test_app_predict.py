"""The Predict tab: a finished run's model, or an uploaded finetuned checkpoint, applied to a zip of images,
a single image or a catalog, as a job; the table and a CSV to download; plain words when something is missing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from app_sessions import new_engine

from app.engine import Engine
from app.runs import new_session_id
from app.tabs import predict
from zoobot.runs import RunConfig, RunFolder


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


def _model_run(engine: Engine, sid: str, catalog_csv: str) -> RunFolder:
    """A run folder with an exported (untrained) two-class test_convnext model, as a finished run leaves it."""
    from zoobot.runs import export_model
    from zoobot.runs.pipeline import build_model

    folder = RunFolder(engine.store.new_run_dir(sid, "classification"))
    config = RunConfig(
        task="classification",
        catalog=catalog_csv,
        label_cols=["label"],
        run_dir=str(folder.path),
        encoder="test_convnext",
        image_size=32,
    )
    folder.write_config(config)
    export_model(build_model(config, 2), config, folder.model_dir)
    return folder


def _finish(engine: Engine, sid: str) -> dict:
    engine.manager.wait(engine.manager.latest(sid, "predict").id, timeout=120)
    return predict.poll_prediction(engine, sid)


def test_a_runs_model_predicts_a_zip_of_images(engine, make_catalog, tmp_path):
    catalog = make_catalog(n=5, size=32)
    sid = new_session_id()
    folder = _model_run(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    listed = predict.list_models(engine, sid)["run"]
    assert listed.value == str(folder.path)
    archive = tmp_path / "new_galaxies.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for loc in catalog.file_loc:
            out.write(loc, f"cutouts/{Path(loc).name}")
    started = predict.start_prediction(engine, sid, str(folder.path), None, None, [str(archive)])
    assert started["timer"].active
    shown = _finish(engine, sid)
    assert "Predicted 5 galaxies" in shown["status"]
    assert sorted(shown["table"]["id_str"]) == sorted(Path(loc).stem for loc in catalog.file_loc)
    table = pd.read_csv(shown["download"])
    assert len(table) == 5 and "predicted_class" in table
    # The same columns as zoobot predict writes; file_loc as inside the user's zip, never a server path.
    assert list(table.columns).index("file_loc") > list(table.columns).index("id_str")
    assert sorted(table["file_loc"]) == sorted(f"cutouts/{Path(loc).name}" for loc in catalog.file_loc)


def test_an_uploaded_checkpoint_predicts_one_image(engine, make_catalog, tmp_path):
    import lightning as L

    from zoobot.finetune import FinetuneableZoobotClassifier

    model = FinetuneableZoobotClassifier(num_classes=2, name="test_convnext")
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, accelerator="cpu")
    trainer.strategy.connect(model)
    trainer.save_checkpoint(tmp_path / "finetuned.ckpt")
    image = make_catalog(n=1, size=32).file_loc[0]
    sid = new_session_id()
    predict.start_prediction(engine, sid, None, str(tmp_path / "finetuned.ckpt"), None, [image])
    shown = _finish(engine, sid)
    assert "Predicted 1 galaxy." in shown["status"] and list(shown["table"]["id_str"]) == [Path(image).stem]
    assert f"Predicted class: **{shown['table']['predicted_class'].iloc[0]}**" in shown["status"]


@pytest.mark.parametrize(
    "run, model_file, images, message",
    [
        (None, None, ["x.png"], "Choose a finished run, upload a finetuned checkpoint"),
        ("/nowhere", None, None, "Upload what to predict"),
    ],
)
def test_missing_model_or_galaxies_are_named(engine, run, model_file, images, message):
    with pytest.raises(gr.Error, match=message):
        predict.start_prediction(engine, new_session_id(), run, model_file, None, images)


def test_a_missing_image_is_named_by_its_path_in_the_upload(engine, make_catalog, tmp_path):
    catalog = make_catalog(n=3, size=32)
    sid = new_session_id()
    folder = _model_run(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    table = tmp_path / "new.csv"
    pd.DataFrame({"id_str": ["a", "b"], "file_loc": [Path(catalog.file_loc[0]).name, "lost/missing.png"]}).to_csv(
        table, index=False
    )
    predict.start_prediction(engine, sid, str(folder.path), None, str(table), [catalog.file_loc[0]])
    shown = _finish(engine, sid)
    assert "failed" in shown["status"] and "missing.png" in shown["status"]
    assert str(engine.store.root) not in shown["status"]


def test_a_published_tree_model_gives_vote_fractions_for_every_galaxy(engine, tmp_path, monkeypatch):
    """A Zoobot model named on the Hub (here from the offline cache) predicts a zip of images with no training."""
    import huggingface_hub.constants as hf_constants

    fixtures = Path(__file__).parent / "fixtures" / "zoobot" / "2.9"
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(fixtures / "hf_home" / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    archive = tmp_path / "galaxies.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for image in sorted((fixtures / "images").glob("*.png"))[:4]:
            out.write(image, image.name)
    sid = new_session_id()
    with pytest.raises(gr.Error, match="owner/name"):
        predict.start_prediction(engine, sid, None, None, None, [str(archive)], "not a model name")
    started = predict.start_prediction(
        engine, sid, None, None, None, [str(archive)], "zoobot-fixtures/zoobot-finetuned-test_tree"
    )
    assert "published model" in started["status"]
    shown = _finish(engine, sid)
    assert "Predicted 4 galaxies" in shown["status"], shown["status"]
    table = pd.read_csv(shown["download"])
    fractions = table[[c for c in table.columns if c.endswith("_fraction")]]
    assert len(table) == 4 and fractions.shape[1] >= 3 and fractions.notna().all().all()
