"""zoobot.shared.load_predictions / save_predictions against the files real Zoobot 2.0.1 and 2.9.0 wrote.

``tests/fixtures/zoobot/<version>/load_predictions.json`` records what Zoobot's own functions returned on
those files (columns, dtypes, values, errors); the functions here must return the same.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zoobot.schemas import Schema
from zoobot.shared import load_predictions, save_predictions

FIXTURES = Path(__file__).parent / "fixtures" / "zoobot"
V20 = FIXTURES / "2.0" / "predictions"
V29 = FIXTURES / "2.9" / "predictions"


def recorded(version: str) -> dict:
    return json.loads((FIXTURES / version / "load_predictions.json").read_text())


def fixture_schema() -> Schema:
    tree = json.loads((FIXTURES / "2.9" / "manifest.json").read_text())["tree_schema"]
    return Schema(tree["question_answer_pairs"], tree["dependencies"])


def assert_frame_like(frame: pd.DataFrame, expected: dict, rtol: float = 1e-6) -> None:
    """Same columns, dtypes and values as a frame described by make_fixtures.describe_frame."""
    assert [str(c) for c in frame.columns] == expected["columns"]
    assert [str(d) for d in frame.dtypes] == expected["dtypes"]
    rows = json.loads(frame.to_json(orient="values", double_precision=15))
    assert len(rows) == len(expected["rows"])
    for got, want in zip(rows, expected["rows"], strict=True):
        for a, b in zip(got, want, strict=True):
            if isinstance(b, float):
                assert a == pytest.approx(b, rel=rtol, abs=1e-12)
            else:
                assert a == b


HDF5_FILES = sorted(p.name for p in V20.glob("*.hdf5"))


@pytest.mark.parametrize("name", HDF5_FILES)
def test_load_hdf5s_reads_zoobot_20_files(name):
    want = recorded("2.0")[f"load_hdf5s({name})"]
    galaxy_id_df, predictions, label_cols = load_predictions.load_hdf5s([str(V20 / name)])
    assert_frame_like(galaxy_id_df, want["galaxy_id_df"])
    assert list(predictions.shape) == want["predictions"]["shape"]
    assert str(predictions.dtype) == want["predictions"]["dtype"]
    np.testing.assert_array_equal(predictions, np.asarray(want["predictions"]["values"], dtype=predictions.dtype))
    assert [str(c) for c in label_cols] == want["label_cols"]


@pytest.mark.parametrize("name", HDF5_FILES)
def test_single_forward_pass_hdf5s_to_df_as_zoobot(name):
    want = recorded("2.0")[f"single_forward_pass_hdf5s_to_df({name})"]
    if "error" in want:
        with pytest.raises(ValueError) as error:
            load_predictions.single_forward_pass_hdf5s_to_df([str(V20 / name)])
        assert f"ValueError: {error.value}" == want["error"]
    else:
        assert_frame_like(load_predictions.single_forward_pass_hdf5s_to_df([str(V20 / name)]), want)


def test_load_hdf5s_several_files_and_a_single_path(caplog):
    galaxy_id_df, predictions, _ = load_predictions.load_hdf5s([str(V20 / "tree_n1.hdf5")] * 2)
    assert len(galaxy_id_df) == 12 and predictions.shape == (12, 7, 1)
    with caplog.at_level(logging.WARNING):
        single = load_predictions.load_hdf5s(str(V20 / "tree_n1.hdf5"))
    assert "single hdf5 loc" in caplog.text and single[1].shape == (6, 7, 1)
    with pytest.raises(ValueError, match="do not match first label columns"):
        load_predictions.load_hdf5s([str(V20 / "tree_n1.hdf5"), str(V20 / "classifier_n1.hdf5")])
    with pytest.raises(ValueError, match="does not exist"):
        load_predictions.load_hdf5s([str(V20 / "absent.hdf5")])


def test_prediction_hdf5_to_summary_parquet_writes_zoobots_tables(tmp_path):
    want = recorded("2.0")["prediction_hdf5_to_summary_parquet(tree_n1.hdf5, tree_summary.parquet, schema)"]
    shutil.copy(V20 / "tree_n1.hdf5", tmp_path)
    friendly, advanced = load_predictions.prediction_hdf5_to_summary_parquet(
        str(tmp_path / "tree_n1.hdf5"), str(tmp_path / "tree_summary.parquet"), fixture_schema()
    )
    # 2.0 wrote no CSV (2.9 does, and so does this project)
    assert set(want["files_written"]) < {p.name for p in tmp_path.glob("tree_summary*")}
    for name in want["files_written"]:
        assert_frame_like(pd.read_parquet(tmp_path / name), want["files"][name])
    assert_frame_like(advanced, want["files"]["tree_summary_advanced.parquet"])
    assert_frame_like(friendly, want["files"]["tree_summary_friendly.parquet"])


def test_prediction_csv_to_summary_parquet_as_zoobot_29(tmp_path):
    want = recorded("2.9")["prediction_csv_to_summary_parquet(pd.read_csv(tree.csv), tree_summary.parquet, schema)"]
    frames = load_predictions.prediction_csv_to_summary_parquet(
        pd.read_csv(V29 / "tree.csv"), str(tmp_path / "tree_summary.parquet"), fixture_schema()
    )
    for frame, expected in zip(frames, want["returns"], strict=True):
        assert_frame_like(frame, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == want["files_written"]
    for name in want["files_written"]:
        path = tmp_path / name
        assert_frame_like(
            pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path), want["files"][name]
        )


@pytest.mark.parametrize("name", [n for n in HDF5_FILES if n != "representations.hdf5"])
def test_save_predictions_rewrites_zoobot_20_files(name, tmp_path):
    """predictions_to_hdf5 / predictions_to_csv on what load_hdf5s read give Zoobot's files back."""
    galaxy_id_df, predictions, label_cols = load_predictions.load_hdf5s([str(V20 / name)])
    save_predictions.predictions_to_hdf5(predictions, galaxy_id_df["id_str"], label_cols, str(tmp_path / name))
    again = load_predictions.load_hdf5s([str(tmp_path / name)])
    np.testing.assert_array_equal(again[1], predictions)
    assert again[1].dtype == predictions.dtype and list(again[2]) == list(label_cols)
    assert list(again[0]["id_str"]) == list(galaxy_id_df["id_str"])
    csv_name = name.replace(".hdf5", ".csv")
    save_predictions.predictions_to_csv(predictions, galaxy_id_df["id_str"], label_cols, str(tmp_path / csv_name))
    assert (tmp_path / csv_name).read_text() == (V20 / csv_name).read_text()


def test_save_predictions_defaults_and_errors(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert save_predictions.get_default_label_cols(np.zeros((2, 3))) == ["feat_0", "feat_1", "feat_2"]
    assert "feat_0" in caplog.text
    row = save_predictions.prediction_to_row(np.array([[0.25, 0.5], [1.0, 2.0]]), "gal", ["a", "b"])
    assert row == {"id_str": "gal", "a_pred": "[0.25, 0.5]", "b_pred": "[1.0, 2.0]"}
    assert save_predictions.prediction_to_row(np.array([[0.25], [1.0]]), "g", ["a", "b"])["b_pred"] == 1.0
    with pytest.raises(ValueError, match="must end in .hdf5"):
        save_predictions.predictions_to_hdf5(np.zeros((1, 1, 1)), ["a"], ["x"], str(tmp_path / "p.h5"))
    with pytest.raises(ValueError, match="must end in .csv"):
        save_predictions.predictions_to_csv(np.zeros((1, 1)), ["a"], ["x"], str(tmp_path / "p.txt"))
