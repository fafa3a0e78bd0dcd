"""predict_on_catalog and Zoobot's predict: columns per task, file formats, streaming, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from zoobot.finetune import FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree
from zoobot.predict import predict, predict_on_catalog
from zoobot.schemas import Schema

ENCODER = "test_convnext"


@pytest.fixture
def schema(tiny_schema_pairs) -> Schema:
    return Schema(*tiny_schema_pairs)


def _predict(catalog, model, **kwargs):
    return predict_on_catalog(catalog, model, input_size=32, batch_size=4, accelerator="cpu", **kwargs)


def test_classifier_columns_and_csv(make_catalog, tmp_path):
    catalog = make_catalog(n=10, size=32, task="classification", n_classes=3)
    model = FinetuneableZoobotClassifier(num_classes=3, name=ENCODER).eval()
    table = _predict(catalog, model, save_loc=tmp_path / "out" / "preds.csv")
    probs = ["label_0", "label_1", "label_2"]
    assert list(table.columns) == [*probs, "id_str", "predicted_class"]
    assert list(table["id_str"]) == list(catalog["id_str"])
    np.testing.assert_allclose(table[probs].sum(axis=1), 1.0, rtol=1e-5)
    assert (table["predicted_class"] == np.array(probs)[table[probs].to_numpy().argmax(1)]).all()
    written = pd.read_csv(tmp_path / "out" / "preds.csv")
    assert written.shape == table.shape


def test_binary_classifier_with_one_name_gives_p_class_1(make_catalog):
    catalog = make_catalog(n=6, size=32, task="classification")
    model = FinetuneableZoobotClassifier(num_classes=2, name=ENCODER).eval()
    table = _predict(catalog, model, label_cols=["ring"])
    assert list(table.columns) == ["ring", "id_str", "predicted_class"]
    # the class named from the column asked for, not from the model's default label_col ('label_1')
    assert ((table["ring"] > 0.5) == (table["predicted_class"] == "ring_1")).all()
    assert set(table["predicted_class"]) <= {"ring_0", "ring_1"}
    model.class_names = ["smooth", "ringed"]  # classes a run named: those names
    named = _predict(catalog, model, label_cols=["ring"])
    assert ((named["ring"] > 0.5) == (named["predicted_class"] == "ringed")).all()


def test_multiclass_classifier_with_its_label_column_name(make_catalog):
    catalog = make_catalog(n=6, size=32, task="classification", n_classes=3)
    model = FinetuneableZoobotClassifier(num_classes=3, name=ENCODER).eval()
    table = _predict(catalog, model, label_cols=["label"])
    assert list(table.columns) == ["label_0", "label_1", "label_2", "id_str", "predicted_class"]


def test_regressor_columns_and_parquet(make_catalog, tmp_path):
    catalog = make_catalog(n=6, size=32, task="regression")
    model = FinetuneableZoobotRegressor(label_cols=["target", "other"], unit_interval=True, name=ENCODER).eval()
    table = _predict(catalog, model, save_loc=tmp_path / "preds.parquet")
    assert list(table.columns) == ["target", "other", "id_str"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "preds.parquet"), table)


def test_tree_fractions_and_intervals(make_catalog, schema):
    catalog = make_catalog(n=6, size=32, task="tree")
    model = FinetuneableZoobotTree(schema=schema, name=ENCODER).eval()
    table = _predict(catalog, model)
    for col in schema.label_cols:
        for suffix in ("", "_fraction", "_90pc-lower", "_90pc-upper", "_proportion-asked"):
            assert col + suffix in table.columns
        assert (table[col + "_90pc-lower"] <= table[col + "_fraction"]).all()
        assert (table[col + "_fraction"] <= table[col + "_90pc-upper"]).all()
        assert table[col].between(1, 101).all()
    question = ["smooth-or-featured_smooth_fraction", "smooth-or-featured_featured_fraction"]
    np.testing.assert_allclose(table[question].sum(axis=1), 1.0, rtol=1e-5)


def test_predictions_match_a_direct_forward_pass(make_catalog):
    """Streaming in batches gives the same numbers as one big forward pass."""
    from zoobot.data import GalaxyDataset, get_transforms

    catalog = make_catalog(n=7, size=32, task="classification")
    model = FinetuneableZoobotClassifier(num_classes=2, name=ENCODER).eval()
    table = _predict(catalog, model)
    card = model.card
    dataset = GalaxyDataset(catalog, transform=get_transforms(32, card.channels, card.mean, card.std), input_size=32)
    images = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    with torch.no_grad():
        expected = torch.softmax(model(images), dim=1).numpy()
    np.testing.assert_allclose(table[["label_0", "label_1"]].to_numpy(), expected, atol=1e-5)


def test_zoobot_predict_signature(make_catalog, tmp_path):
    catalog = make_catalog(n=5, size=32, task="classification")
    model = FinetuneableZoobotClassifier(num_classes=2, name=ENCODER).eval()
    table = predict(
        catalog,
        model,
        save_loc=str(tmp_path / "p.csv"),
        label_cols=["not_ring", "ring"],
        datamodule_kwargs={"batch_size": 2, "num_workers": 0, "input_size": 32},
        trainer_kwargs={"accelerator": "cpu", "devices": 1},
    )
    assert list(table.columns) == ["not_ring", "ring", "id_str", "predicted_class"]
    assert (tmp_path / "p.csv").is_file()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"save_loc": "preds.txt"}, r"must end in \.csv, \.parquet or \.hdf5"),
        ({"label_cols": ["a", "b", "c"]}, "3 output names"),
        ({"devices": 2}, "one device"),
    ],
)
def test_bad_arguments_raise(make_catalog, kwargs, message):
    catalog = make_catalog(n=3, size=32, task="classification")
    model = FinetuneableZoobotClassifier(num_classes=2, name=ENCODER).eval()
    with pytest.raises(ValueError, match=message):
        _predict(catalog, model, **kwargs)


def test_zoobot_predict_refuses_unknown_options(make_catalog):
    catalog = make_catalog(n=3, size=32, task="classification")
    model = FinetuneableZoobotClassifier(num_classes=2, name=ENCODER).eval()
    with pytest.raises(ValueError, match="unsupported keys"):
        predict(catalog, model, datamodule_kwargs={"shuffle": True})
    with pytest.raises(ValueError, match="n_samples must be"):  # several passes are Monte Carlo dropout (#18)
        predict(catalog, model, n_samples=0)


def test_plain_encoder_is_pointed_to_representations(make_catalog):
    from zoobot.encoders import load_encoder

    catalog = make_catalog(n=3, size=32, task="classification")
    encoder, _ = load_encoder(ENCODER)
    with pytest.raises(ValueError, match="get_representations"):
        _predict(catalog, encoder)


def test_inference_transform_gets_a_pil_image_as_in_zoobot(make_catalog):
    from PIL import Image

    catalog = make_catalog(n=4, size=32, task="classification")
    model = FinetuneableZoobotClassifier(num_classes=2, name=ENCODER).eval()
    seen = []

    def transform(image):
        seen.append((type(image), image.mode, image.size))
        return image  # a PIL image back: scaled to [0, 1] for the encoder

    table = _predict(catalog, model, inference_transform=transform)
    assert seen and all(kind is not None and issubclass(kind, Image.Image) for kind, _, _ in seen)
    assert {(mode, size) for _, mode, size in seen} == {("RGB", (32, 32))}
    default = _predict(catalog, model)  # the encoder's own transform at the images' size: the same numbers
    np.testing.assert_allclose(table[["label_0", "label_1"]], default[["label_0", "label_1"]], atol=1e-5)
