"""supervised_batch: the finetuning models accept this project's batches and galaxy-datasets' (Zoobot 2.0, 2.9)."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from zoobot.batches import supervised_batch
from zoobot.data import GalaxyDataset, get_transforms
from zoobot.finetune import FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree
from zoobot.schemas import Schema

IMAGES = torch.rand(4, 3, 32, 32)


def test_zoobot_29_dict_batch_reads_the_label_col():
    batch = {
        "id_str": ["a", "b", "c", "d"],
        "image": IMAGES,
        "ring": torch.tensor([0, 1, 1, 0]),
        "other": torch.tensor([5.0, 6.0, 7.0, 8.0]),
    }
    out = supervised_batch(batch, ["ring"])
    assert out["image"] is IMAGES
    assert out["label"].dtype == torch.float32 and out["label"].tolist() == [[0.0], [1.0], [1.0], [0.0]]


def test_zoobot_29_tree_batch_stacks_the_answer_columns_in_the_models_order():
    batch = {"image": IMAGES, "q_b": torch.tensor([1, 2, 3, 4]), "q_a": torch.tensor([9, 8, 7, 6])}
    assert supervised_batch(batch, ["q_a", "q_b"])["label"].tolist() == [[9, 1], [8, 2], [7, 3], [6, 4]]


def test_zoobot_20_tuple_batches():
    one_column = supervised_batch((IMAGES, torch.tensor([0.0, 1.0, 2.0, 1.0])), ["label"])
    assert one_column["image"] is IMAGES and one_column["label"].shape == (4, 1)
    tree = supervised_batch((IMAGES, torch.arange(12).reshape(4, 3)), ["a", "b", "c"])
    assert tree["label"].shape == (4, 3) and tree["label"][1].tolist() == [3.0, 4.0, 5.0]


@pytest.mark.parametrize(
    "batch", [IMAGES, [IMAGES], (IMAGES, torch.zeros(4)), {"image": IMAGES, "id_str": list("abcd")}]
)
def test_prediction_batches_give_the_images(batch):
    assert supervised_batch(batch, ["label"], with_labels=False) == {"image": IMAGES}


def test_cached_features_pass_through():
    features = torch.rand(4, 8)
    out = supervised_batch({"features": features, "label": torch.ones(4, 2)}, ["x", "y"])
    assert out["features"] is features and out["label"].shape == (4, 2)


def test_missing_labels_say_which_columns():
    with pytest.raises(ValueError, match=r"no labels for \['ring'\]"):
        supervised_batch({"image": IMAGES, "label_other": torch.zeros(4)}, ["ring"])
    with pytest.raises(ValueError, match="2 label columns"):
        supervised_batch({"image": IMAGES, "label": torch.zeros(4, 3)}, ["a", "b"])
    with pytest.raises(ValueError, match="no 'image'"):
        supervised_batch({"pixels": IMAGES}, ["a"])


def test_this_projects_batches_have_both_forms(make_catalog, tiny_schema_pairs):
    schema = Schema(*tiny_schema_pairs)
    catalog = make_catalog(n=4, size=32, task="tree")
    dataset = GalaxyDataset(catalog, schema.label_cols, get_transforms(32), input_size=32)
    batch = next(iter(DataLoader(dataset, batch_size=4)))
    assert batch["label"].shape == (4, 4)
    for k, col in enumerate(schema.label_cols):
        assert batch[col].shape == (4,) and torch.equal(batch[col], batch["label"][:, k])
    assert torch.equal(supervised_batch(batch, schema.label_cols)["label"], batch["label"])


def test_a_label_column_called_label_among_several_is_that_column(make_catalog):
    catalog = make_catalog(n=4, size=32, task="classification")
    catalog["second"] = 7.0
    batch = next(
        iter(DataLoader(GalaxyDataset(catalog, ["second", "label"], get_transforms(32), input_size=32), batch_size=4))
    )
    assert batch["label"].shape == (4,)  # the column, as galaxy-datasets would give it
    assert supervised_batch(batch, ["second", "label"])["label"][:, 0].tolist() == [7.0] * 4


def test_label_columns_named_like_batch_keys_are_refused(make_catalog):
    catalog = make_catalog(n=4, size=32, task="classification").rename(columns={"label": "image"})
    with pytest.raises(ValueError, match="Rename the column"):
        GalaxyDataset(catalog, ["image"])


class _Zoobot29Batches(torch.utils.data.Dataset):
    """What galaxy-datasets 0.0.25's CatalogDataset yields: id_str, image, then each label column."""

    def __init__(self, columns: dict[str, list]):
        self.columns = columns

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {"id_str": f"gal_{i}", "image": IMAGES[i], **{k: v[i] for k, v in self.columns.items()}}


@pytest.mark.parametrize("kind", ["classifier", "regressor", "tree"])
def test_models_train_on_galaxy_datasets_batches(kind, tiny_schema_pairs):
    common = dict(name="test_convnext", learning_rate=1e-3)
    if kind == "classifier":
        model = FinetuneableZoobotClassifier(num_classes=2, label_col="ring", **common)
        columns = {"ring": [0, 1, 1, 0]}
    elif kind == "regressor":
        model = FinetuneableZoobotRegressor(label_col="size", **common)
        columns = {"size": [0.1, 0.5, 0.2, 0.9]}
    else:
        schema = Schema(*tiny_schema_pairs)
        model = FinetuneableZoobotTree(schema=schema, **common)
        columns = {col: [3, 1, 0, 2] for col in schema.label_cols}
    dicts = DataLoader(_Zoobot29Batches(columns), batch_size=2)
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, dicts)
    assert trainer.global_step == 2
    labels = torch.tensor(list(zip(*columns.values(), strict=True)), dtype=torch.float32)
    tuples = DataLoader(torch.utils.data.TensorDataset(IMAGES, labels.squeeze(1)), batch_size=2)
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, tuples)
    assert trainer.global_step == 2
    assert model.predict_step(IMAGES, 0).shape[0] == 4
