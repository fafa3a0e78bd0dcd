"""predict writes what real Zoobot writes: the same weights and images give Zoobot 2.9's CSV columns, order,
dtypes and values, and Zoobot 2.0's HDF5 layout, both read back by zoobot.shared.load_predictions.

The models are this project's classes holding the weights of the checkpoints real Zoobot wrote
(``tests/fixtures/zoobot/<version>/checkpoints``), so this tests the prediction format only, not
checkpoint loading.
"""

from __future__ import annotations

import json
import pickle
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import timm
import torch
from torchvision.transforms import v2

from zoobot.finetune import FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree
from zoobot.predict import predict
from zoobot.schemas import Schema
from zoobot.shared import load_predictions

FIXTURES = Path(__file__).parent / "fixtures" / "zoobot"
TRAINER_KWARGS = {"accelerator": "cpu", "devices": 1, "logger": False, "enable_progress_bar": False}
DATAMODULE_KWARGS = {"batch_size": 4, "num_workers": 0}
TASKS = ("classifier", "regressor", "tree")


class _Anything:
    """Stands in for the Zoobot Schema objects pickled in a tree checkpoint's hyperparameters."""

    def __setstate__(self, state):
        self.state = state


class _StateDictUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        return _Anything if module.startswith("zoobot.") else super().find_class(module, name)


def zoobot_state_dict(version: str, task: str, own_keys) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint real Zoobot wrote, head keys renamed where this model names them otherwise
    (``head.linear.*`` / ``head.1.0.*`` -> ``head.1.*``)."""
    pickle_module = types.SimpleNamespace(Unpickler=_StateDictUnpickler, load=pickle.load, __name__="pickle")
    checkpoint = torch.load(
        FIXTURES / version / "checkpoints" / f"{task}.ckpt",
        map_location="cpu",
        weights_only=False,
        pickle_module=pickle_module,
    )
    renames = {"head.linear.": "head.1.", "head.1.0.": "head.1."}
    state = {}
    for key, value in checkpoint["state_dict"].items():
        if key not in own_keys:
            for old, new in renames.items():
                key = new + key.removeprefix(old) if key.startswith(old) else key
        state[key] = value
    return state


def manifest(version: str) -> dict:
    return json.loads((FIXTURES / version / "manifest.json").read_text())


def zoobot_model(version: str, task: str):
    """This project's model for ``task`` with the weights of Zoobot ``version``'s checkpoint."""
    hub = FIXTURES / version / "hf_home" / "hub" / "models--zoobot-fixtures--zoobot-encoder-test_convnext"
    config = json.loads(next(hub.glob("snapshots/*/config.json")).read_text())
    encoder = timm.create_model(config["architecture"], pretrained=False, **config["model_args"])
    if task == "classifier":
        model = FinetuneableZoobotClassifier(num_classes=3, encoder=encoder)
    elif task == "regressor":
        model = FinetuneableZoobotRegressor(label_col="target", encoder=encoder)
    else:
        tree = manifest(version)["tree_schema"]
        model = FinetuneableZoobotTree(
            schema=Schema(tree["question_answer_pairs"], tree["dependencies"]), encoder=encoder
        )
    model.load_state_dict(zoobot_state_dict(version, task, set(model.state_dict())))
    return model.eval()


def predict_catalog(version: str) -> pd.DataFrame:
    catalog = pd.read_csv(FIXTURES / version / "catalog.csv").iloc[:6][["id_str", "file_loc"]]
    catalog["file_loc"] = [str(FIXTURES / version / loc) for loc in catalog["file_loc"]]
    return catalog


def pixels_over_255() -> v2.Compose:
    """The fixtures' preprocessing: the PIL image's pixels / 255, channels first."""
    return v2.Compose([v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)])


def label_cols(version: str, task: str) -> list[str]:
    files = manifest(version)["predictions"]["files"]
    return next(f["label_cols"] for f in files.values() if f["task"] == task)


@pytest.mark.parametrize("task", TASKS)
def test_zoobot_29_predict_csv_columns_order_dtypes_and_values(task, tmp_path):
    cols = label_cols("2.9", task)
    table = predict(
        predict_catalog("2.9"),
        zoobot_model("2.9", task),
        save_loc=str(tmp_path / f"{task}.csv"),
        label_cols=cols,
        inference_transform=pixels_over_255(),
        datamodule_kwargs=DATAMODULE_KWARGS,
        trainer_kwargs=TRAINER_KWARGS,
    )
    theirs = pd.read_csv(FIXTURES / "2.9" / "predictions" / f"{task}.csv")
    ours = pd.read_csv(tmp_path / f"{task}.csv")
    zoobot = list(theirs.columns)
    assert zoobot == [*cols, "id_str"]
    assert list(ours.columns[: len(zoobot)]) == zoobot == list(table.columns[: len(zoobot)])
    assert list(ours.dtypes[: len(zoobot)]) == list(theirs.dtypes)
    assert list(ours["id_str"]) == list(theirs["id_str"])
    np.testing.assert_allclose(ours[cols].to_numpy(), theirs[cols].to_numpy(), rtol=1e-5)
    expected = np.load(FIXTURES / "2.9" / "predictions" / f"{task}_expected.npy")
    np.testing.assert_allclose(table[cols].to_numpy(), expected.reshape(6, -1), rtol=1e-5)
    # Zoobot's values as Zoobot writes them: float32 text
    assert table[cols].dtypes.eq(np.float32).all()
    extras = list(ours.columns[len(zoobot) :])
    if task == "classifier":
        assert extras == ["predicted_class"]
        assert list(ours["predicted_class"]) == [cols[k] for k in theirs[cols].to_numpy().argmax(1)]
    elif task == "regressor":
        assert extras == []
    else:
        assert extras == (
            [c + "_fraction" for c in cols]
            + [c + "_90pc-lower" for c in cols]
            + [c + "_90pc-upper" for c in cols]
            + [c + "_proportion-asked" for c in cols]
        )
        # the extras are Zoobot's own summary of the same concentrations
        _, advanced = load_predictions.prediction_csv_to_summary_parquet(
            theirs, str(tmp_path / "s.parquet"), zoobot_model("2.9", task).schema
        )
        np.testing.assert_allclose(ours[extras].to_numpy(), advanced[extras].to_numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("task", TASKS)
def test_zoobot_20_predict_spelling_writes_zoobots_hdf5(task, tmp_path):
    cols = label_cols("2.0", task)
    ours_loc = str(tmp_path / f"{task}_n1.hdf5")
    # 2.0's positional order: (catalog, model, n_samples, label_cols, save_loc, datamodule_kwargs, trainer_kwargs)
    predict(
        predict_catalog("2.0"),
        zoobot_model("2.0", task),
        1,
        cols,
        ours_loc,
        {**DATAMODULE_KWARGS, "custom_torchvision_transform": pixels_over_255()},
        TRAINER_KWARGS,
    )
    ours = load_predictions.load_hdf5s([ours_loc])
    theirs = load_predictions.load_hdf5s([str(FIXTURES / "2.0" / "predictions" / f"{task}_n1.hdf5")])
    assert ours[1].shape == theirs[1].shape and ours[1].dtype == theirs[1].dtype
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)
    assert list(ours[2]) == list(theirs[2]) == cols
    assert list(ours[0]["id_str"]) == list(theirs[0]["id_str"])
    frame = load_predictions.single_forward_pass_hdf5s_to_df([ours_loc])
    assert list(frame.columns) == [*cols, "id_str", "hdf5_loc"]


@pytest.mark.parametrize("task", TASKS)
def test_zoobot_20_predict_spelling_writes_zoobots_csv_and_every_pass(task, tmp_path):
    # A 2.0 script reads df['<label>_pred']: 2.0's CSV, not 2.9's, and with n_samples=2 each pass's values.
    cols, theirs_dir = label_cols("2.0", task), FIXTURES / "2.0" / "predictions"
    kwargs = dict(
        label_cols=cols,
        datamodule_kwargs={**DATAMODULE_KWARGS, "custom_torchvision_transform": pixels_over_255()},
        trainer_kwargs=TRAINER_KWARGS,
    )
    model = zoobot_model("2.0", task)
    predict(predict_catalog("2.0"), model, n_samples=1, save_loc=str(tmp_path / "n1.csv"), **kwargs)
    ours, theirs = pd.read_csv(tmp_path / "n1.csv"), pd.read_csv(theirs_dir / f"{task}_n1.csv")
    assert list(ours.columns) == list(theirs.columns) == ["id_str", *(c + "_pred" for c in cols)]
    pd.testing.assert_frame_equal(ours, theirs, rtol=1e-5)
    for name in ("n2.csv", "n2.hdf5"):
        table = predict(predict_catalog("2.0"), model, n_samples=2, save_loc=str(tmp_path / name), **kwargs)
    ours_h5 = load_predictions.load_hdf5s([str(tmp_path / "n2.hdf5")])[1]
    theirs_h5 = load_predictions.load_hdf5s([str(theirs_dir / f"{task}_n2.hdf5")])[1]
    assert ours_h5.shape == theirs_h5.shape  # (galaxy, column, pass); a regressor's (galaxy, pass)
    passes = ours_h5 if ours_h5.ndim == 3 else ours_h5[:, None, :]
    np.testing.assert_allclose(passes.mean(axis=-1), table[cols].to_numpy(), rtol=1e-5)
    ours2, theirs2 = pd.read_csv(tmp_path / "n2.csv"), pd.read_csv(theirs_dir / f"{task}_n2.csv")
    assert list(ours2.columns) == list(theirs2.columns)
    first = ours2[cols[0] + "_pred"].iloc[0]
    if task == "regressor":  # 2.0 wrote a regressor's first pass only
        assert float(first) == pytest.approx(passes[0, 0, 0], rel=1e-6)
    else:
        assert json.loads(first) == pytest.approx(list(passes[0, 0]), rel=1e-6)


def test_parquet_holds_the_whole_table_and_unknown_extensions_are_refused(tmp_path):
    model = zoobot_model("2.9", "classifier")
    kwargs = dict(
        label_cols=label_cols("2.9", "classifier"),
        inference_transform=pixels_over_255(),
        datamodule_kwargs=DATAMODULE_KWARGS,
        trainer_kwargs=TRAINER_KWARGS,
    )
    table = predict(predict_catalog("2.9"), model, save_loc=str(tmp_path / "p.parquet"), **kwargs)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p.parquet"), table)
    with pytest.raises(ValueError, match="must end in .csv, .parquet or .hdf5"):
        predict(predict_catalog("2.9"), model, save_loc=str(tmp_path / "p.h5"), **kwargs)
    with pytest.raises(ValueError, match="n_samples must be"):  # several passes are Monte Carlo dropout (#18)
        predict(predict_catalog("2.9"), model, 0, kwargs["label_cols"], str(tmp_path / "p.csv"))
    with pytest.raises(ValueError, match="albumentations"):
        predict(predict_catalog("2.9"), model, datamodule_kwargs={"custom_albumentation_transform": None})
