from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from zoobot.data import CatalogDataModule, GalaxyDataset, get_transforms, split_catalog

VOTE_COLS = ["smooth-or-featured_smooth", "smooth-or-featured_featured", "has-bar_yes", "has-bar_no"]


def module(catalog=None, **kwargs):
    defaults = dict(label_cols=["label"], batch_size=4, num_workers=0, input_size=32, seed=1)
    return CatalogDataModule(catalog=catalog, **{**defaults, **kwargs})


def test_splits_are_seeded_disjoint_and_complete(make_catalog):
    df = make_catalog(n=20)
    a, b, c = module(df), module(df), module(df, seed=2)
    ids = [set(part.id_str) for part in (a.train_catalog, a.val_catalog, a.test_catalog)]
    assert [len(s) for s in ids] == [14, 3, 3]  # zoobot.defaults: 0.7 / 0.15 / 0.15
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert set.union(*ids) == set(df.id_str)
    assert list(a.train_catalog.id_str) == list(b.train_catalog.id_str)
    assert list(a.train_catalog.id_str) != list(c.train_catalog.id_str)


@pytest.mark.parametrize("fractions", [(0.5, 0.1, 0.1), (1.2, -0.1, -0.1), (0.0, 0.5, 0.5)])
def test_bad_fractions_refused(make_catalog, fractions):
    with pytest.raises(ValueError, match="add up to 1"):
        split_catalog(make_catalog(n=6), *fractions)


def test_unlabelled_rows_go_to_prediction_not_training(make_catalog):
    df = make_catalog(n=20, n_unlabelled=5)
    dm = module(df)
    unlabelled = set(df.id_str[-5:])
    trained = set(dm.train_catalog.id_str) | set(dm.val_catalog.id_str) | set(dm.test_catalog.id_str)
    assert len(trained) == 15 and not trained & unlabelled
    assert set(dm.unlabelled_catalog.id_str) == unlabelled
    assert set(dm.predict_catalog.id_str) == set(df.id_str)
    dm.setup()
    batch = next(iter(dm.predict_dataloader()))
    assert "label" not in batch and batch["image"].shape == (4, 3, 32, 32)


def test_explicit_catalogs_drop_unlabelled_rows(make_catalog):
    df = make_catalog(n=10, n_unlabelled=3)
    dm = CatalogDataModule(
        label_cols=["label"], train_catalog=df, val_catalog=df.iloc[:4], batch_size=4, num_workers=0, input_size=32
    )
    assert len(dm.train_catalog) == 7 and len(dm.val_catalog) == 4
    assert dm.test_dataloader() == []
    with pytest.raises(ValueError, match="not both"):
        CatalogDataModule(label_cols=["label"], catalog=df, train_catalog=df)


@pytest.mark.parametrize("task, cols", [("classification", ["label"]), ("regression", ["target"]), ("tree", VOTE_COLS)])
@pytest.mark.parametrize("channels", [1, 3])
def test_batch_shapes_and_dtypes(make_catalog, task, cols, channels):
    df = make_catalog(n=12, task=task, image_format="jpg")
    dm = module(df, label_cols=cols, channels=channels, input_size=(24, 32))
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, channels, 24, 32) and batch["image"].dtype == torch.float32
    assert batch["label"].shape == (4, len(cols)) and batch["label"].dtype == torch.float32
    assert isinstance(batch["id_str"], list) and isinstance(batch["id_str"][0], str)


def test_labels_match_catalog_rows(make_catalog):
    df = make_catalog(n=8, task="tree")
    ds = GalaxyDataset(df, VOTE_COLS, input_size=16)
    item = ds[5]
    assert item["id_str"] == df.id_str[5]
    assert item["label"].tolist() == df.loc[5, VOTE_COLS].astype(float).tolist()
    assert item["image"].shape == (3, 16, 16)


def test_eval_is_deterministic_and_augment_is_not(make_catalog):
    df = make_catalog(n=2, size=48)
    ds_eval = GalaxyDataset(df, ["label"], get_transforms(32, augment=False), input_size=32)
    ds_aug = GalaxyDataset(df, ["label"], get_transforms(32, augment=True), input_size=32)
    assert torch.equal(ds_eval[1]["image"], ds_eval[1]["image"])
    torch.manual_seed(0)
    views = [ds_aug[1]["image"] for _ in range(3)]
    assert views[0].shape == (3, 32, 32)
    assert not torch.equal(views[0], views[1]) or not torch.equal(views[1], views[2])


def test_augment_flag_selects_training_transform(make_catalog):
    df = make_catalog(n=10)
    for augment in (True, False):
        dm = module(df, augment=augment)
        dm.setup("fit")
        names = [type(t).__name__ for t in dm.train_dataset.transform.transforms]
        assert ("RandomRotation" in names) is augment
        assert "RandomRotation" not in [type(t).__name__ for t in dm.val_dataset.transform.transforms]


def test_card_sizes_the_transforms(make_catalog):
    card = SimpleNamespace(input_size=(1, 20, 20), channels=1, mean=(0.2,), std=(0.5,))
    dm = module(make_catalog(n=10), input_size=None, card=card)
    dm.setup("fit")
    assert next(iter(dm.val_dataloader()))["image"].shape[1:] == (1, 20, 20)
    assert (dm.input_size, dm.channels, dm.mean, dm.std) == ((20, 20), 1, (0.2,), (0.5,))
    assert module(make_catalog(n=10), input_size=28, card=card).input_size == (28, 28)


class TinyEncoder(nn.Module):
    def __init__(self, dim: int = 5) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, dim, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_cache_features_yields_features(make_catalog):
    df = make_catalog(n=20, n_unlabelled=2)
    dm = module(df, augment=True)
    dm.setup("fit")
    encoder = TinyEncoder().train()
    dm.cache_features(encoder, device="cpu", batch_size=8)
    assert dm.features_cached and encoder.training
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"features", "label", "id_str"}
    assert batch["features"].shape == (4, 5) and batch["label"].shape == (4, 1)
    val = next(iter(dm.val_dataloader()))
    expected = encoder.eval()(dm.val_dataset[0]["image"][None])[0]
    assert torch.allclose(val["features"][0], expected, atol=1e-5)
    test = list(dm.test_dataloader())  # evaluation reads the split's features in one batch, in order
    assert [b["id_str"] for b in test] == [list(dm.test_catalog["id_str"])]
    only = module(df, augment=True)
    only.setup("fit")
    only.cache_features(encoder, splits=("train", "val"))
    assert "image" in next(iter(only.test_dataloader()))  # not cached: read from the images


def test_non_numeric_labels_are_explained(make_catalog):
    df = make_catalog(n=6).assign(label=["a", "b"] * 3)
    with pytest.raises(ValueError, match="must hold numbers"):
        GalaxyDataset(df, ["label"])


def test_workers_load_batches(make_catalog):
    df = make_catalog(n=12)
    dm = module(df, num_workers=1, prefetch_factor=2)
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert loader.persistent_workers and loader.prefetch_factor == 2
    assert np.isfinite(next(iter(loader))["image"].numpy()).all()


@pytest.mark.parametrize("label_cols", [["a"], ["a", "b"], ["label", "b"], []])
def test_a_batch_of_cached_features_is_what_collating_its_items_gives(label_cols):
    from torch.utils.data import default_collate

    from zoobot.datasets import FeatureDataset

    labels = np.arange(12, dtype=np.float32).reshape(6, 2)[:, : len(label_cols)] if label_cols else None
    dataset = FeatureDataset(torch.randn(6, 3), labels, [f"g{i}" for i in range(6)], label_cols)
    indices = [4, 0, 3]
    batch, expected = dataset.batch(indices), default_collate([dataset[i] for i in indices])
    assert batch.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, torch.Tensor):
            assert batch[key].dtype == value.dtype and torch.equal(batch[key], value), key
        else:
            assert batch[key] == value


def test_cached_feature_loaders_give_every_galaxy_once_an_epoch_in_batches(make_catalog):
    dm = module(make_catalog(n=30))
    dm.setup("fit")
    dm.cache_features(TinyEncoder(), device="cpu", splits=("train", "val"))
    torch.manual_seed(0)
    first = list(dm.train_dataloader())
    second = list(dm.train_dataloader())
    ids = [i for b in first for i in b["id_str"]]
    assert sorted(ids) == sorted(dm.train_catalog["id_str"]) and len(set(ids)) == len(ids)
    assert [len(b["id_str"]) for b in first][:-1] == [4] * (len(first) - 1)
    assert all(b["features"].shape == (len(b["id_str"]), 5) for b in first)
    assert ids != [i for b in second for i in b["id_str"]]  # shuffled anew each epoch
    val = [i for b in dm.val_dataloader() for i in b["id_str"]]
    assert val == list(dm.val_catalog["id_str"])  # in catalog order


def test_evaluation_batches_of_cached_features_hold_up_to_feature_eval_rows(make_catalog, monkeypatch):
    import zoobot.data

    dm = module(make_catalog(n=60))
    dm.setup("fit")
    dm.cache_features(TinyEncoder(), device="cpu")
    monkeypatch.setattr(zoobot.data, "FEATURE_EVAL_ROWS", 5)
    for loader, catalog in ((dm.val_dataloader(), dm.val_catalog), (dm.test_dataloader(), dm.test_catalog)):
        batches = [b["id_str"] for b in loader]
        assert [i for b in batches for i in b] == list(catalog["id_str"])
        assert [len(b) for b in batches[:-1]] == [5] * (len(batches) - 1)
    assert {len(b["id_str"]) for b in list(dm.train_dataloader())[:-1]} == {4}  # training keeps its batch size
    monkeypatch.setattr(zoobot.data, "FEATURE_EVAL_ROWS", 2)  # never fewer than the batch size
    assert len(next(iter(dm.val_dataloader()))["id_str"]) == 4


def test_galaxy_datasets_transforms_take_pil_images_train_and_test_each_its_own(make_catalog):
    from PIL import Image
    from torchvision.transforms import v2

    seen: dict[str, set] = {"train": set(), "test": set()}

    def recording(split: str, side: int):
        resize = v2.Compose([v2.PILToTensor(), v2.Resize((side, side))])

        def transform(image):
            seen[split].add(type(image))
            return resize(image)

        return transform

    dm = module(make_catalog(n=12), train_transform=recording("train", 24), test_transform=recording("test", 16))
    dm.setup("fit")
    train, val = next(iter(dm.train_dataloader())), next(iter(dm.val_dataloader()))
    assert train["image"].shape[-2:] == (24, 24) and val["image"].shape[-2:] == (16, 16)
    assert train["image"].dtype == torch.float32 and train["image"].min() >= 0 and train["image"].max() <= 1
    assert seen == {"train": {Image.Image}, "test": {Image.Image}}


def test_zoobot_2_0_data_module_arguments_are_translated_with_a_warning(make_catalog):
    from zoobot import ZoobotDeprecationWarning

    df = make_catalog(n=8)
    with pytest.warns(ZoobotDeprecationWarning, match="greyscale"):
        grey = module(df, greyscale=True)
    grey.setup("fit")
    assert grey.channels == 1 and next(iter(grey.train_dataloader()))["image"].shape[1] == 1
    with pytest.raises(ValueError, match="greyscale=True means 1 channel"):
        module(df, greyscale=True, channels=3)
    train, test = get_transforms(20, augment=True), get_transforms(12)
    with pytest.warns(ZoobotDeprecationWarning, match="custom_torchvision_transform"):
        pair = module(df, custom_torchvision_transform=(train, test))
    assert (pair.train_transform, pair.test_transform) == (train, test)
    with pytest.warns(ZoobotDeprecationWarning, match="use_memory has no effect"):
        module(df, use_memory=True)
    with pytest.raises(ValueError, match="albumentations"):
        module(df, custom_albumentation_transform=object())


def test_the_training_crop_takes_galaxy_datasets_bounds(make_catalog):
    dm = module(make_catalog(n=8), crop_scale_bounds=(0.5, 0.6), crop_ratio_bounds=(0.8, 1.25))
    dm.setup("fit")
    crop = [t for t in dm.train_dataset.transform.transforms if type(t).__name__ == "RandomResizedCrop"][0]
    assert tuple(crop.scale) == (0.5, 0.6) and tuple(crop.ratio) == (0.8, 1.25)
    for bad in ((0.8, 0.7), (0.0, 0.5), (0.5, 1.5)):
        with pytest.raises(ValueError, match="crop_scale_bounds must be"):
            module(make_catalog(n=8), crop_scale_bounds=bad)
