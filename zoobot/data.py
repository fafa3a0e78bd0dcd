"""The Lightning data module: catalog rows -> batches of transformed images and labels.

Batches are dicts (see ``docs/architecture.md``): ``'image'`` float32 ``(B, C, H, W)`` scaled to [0, 1]
then normalised with the encoder's mean/std, ``'id_str'`` list of str, and (absent when predicting) one
float32 ``(B,)`` key per label column, as galaxy-datasets' ``CatalogDataModule`` (Zoobot 2.9) yields,
plus ``'label'`` float32 ``(B, len(label_cols))``, every label column together (unless a label column
is itself called ``'label'``). :func:`zoobot.batches.supervised_batch` reads either form.
After :meth:`CatalogDataModule.cache_features` the train, val and test loaders yield ``'features'``
``(B, D)`` instead of ``'image'``. The datasets behind it are in :mod:`zoobot.datasets`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from zoobot import defaults
from zoobot.datasets import FeatureDataset, GalaxyDataset, labels_array, split_catalog
from zoobot.deprecation import warn_deprecated
from zoobot.inference import (
    RampBatchSampler,
    ThreadedBatches,
    inference_device,
    inference_loader,
    machine_loader,
    reuse_freed_memory,
    run_batches,
    settings_loader,
)
from zoobot.transforms import (
    CROP_RATIO_BOUNDS,
    CROP_SCALE_BOUNDS,
    CardLike,
    Size,
    Transform,
    get_transforms,
    height_width,
)

# get_transforms (zoobot.transforms), the datasets (zoobot.datasets) and the last seven names, the inference
# runtime (zoobot.inference), are still importable from here.
__all__ = [
    "get_transforms",
    "GalaxyDataset",
    "FeatureDataset",
    "CatalogDataModule",
    "split_catalog",
    "RampBatchSampler",
    "ThreadedBatches",
    "inference_device",
    "inference_loader",
    "machine_loader",
    "run_batches",
    "reuse_freed_memory",
]

logger = logging.getLogger(__name__)

FEATURE_EVAL_ROWS = 4096
"""Galaxies a batch of cached features holds in validation and test: this many, or ``batch_size`` where that is
larger (training keeps ``batch_size``)."""


class CatalogDataModule(L.LightningDataModule):
    """Lightning data module over catalogs (galaxy-datasets argument names).

    Give either ``catalog`` (split by ``train/val/test_fraction`` with ``seed``) or any of
    ``train_catalog`` / ``val_catalog`` / ``test_catalog`` / ``predict_catalog``. Rows with a NaN in
    any label column are left out of train/val/test; with ``catalog`` the predict set is the whole
    catalog, so they still get predictions (``unlabelled_catalog`` holds them).

    Image size, channels and normalisation come from the explicit arguments, else from ``card`` (an
    ``EncoderCard``), else 224 px, 3 channels, mean 0, std 1.

    Args:
        label_cols: label columns (vote-count columns for a tree); None for prediction only.
        catalog: one catalog to split.
        train_catalog, val_catalog, test_catalog, predict_catalog: ready-made splits.
        train_fraction, val_fraction, test_fraction: split of ``catalog``'s labelled rows; sum to 1
            (default 0.7, 0.15, 0.15: ``zoobot.defaults``).
        batch_size: galaxies per batch (evaluating cached features reads :data:`FEATURE_EVAL_ROWS` at a time).
        num_workers: data-loading worker processes (0 loads in the main process); default: the
            machine's (:mod:`zoobot.machine`), none for a split of two batches or fewer.
        prefetch_factor: batches each worker loads ahead (ignored when ``num_workers == 0``).
        input_size: image side, ``(H, W)`` or ``(C, H, W)`` fed to the encoder.
        channels: 1 or 3.
        mean, std: per-channel normalisation after scaling to [0, 1].
        augment: random rotations, flips and crops for training.
        seed: seeds the split.
        card: encoder card supplying input size, channels, mean and std not given explicitly.
        train_transform, test_transform: galaxy-datasets' (Zoobot 2.9's) own transforms, instead of this
            module's: each takes a PIL image (as galaxy-datasets gives it) and returns the image tensor;
            ``test_transform`` serves validation, test, prediction and cached features.
        crop_scale_bounds, crop_ratio_bounds: the training crop's share of the area and aspect ratio
            (default Zoobot's, 0.7-0.8 and 0.9-1.1).
        resize_after_crop: galaxy-datasets' (and Zoobot's examples') name for ``input_size``; deprecated here.
        greyscale: Zoobot 2.0's ``GalaxyDataModule`` switch: ``True`` is ``channels=1``, ``False`` ``channels=3``.
        custom_torchvision_transform: Zoobot 2.0's name for the transforms: one for every split, or a
            ``(train, test)`` pair (see ``train_transform``).
        use_memory: galaxy-datasets' deprecated switch; no effect here (images are read as needed, and a
            head-only run keeps the encoder's features in memory instead).
    """

    def __init__(
        self,
        label_cols: Sequence[str] | None = None,
        catalog: pd.DataFrame | None = None,
        train_catalog: pd.DataFrame | None = None,
        val_catalog: pd.DataFrame | None = None,
        test_catalog: pd.DataFrame | None = None,
        predict_catalog: pd.DataFrame | None = None,
        train_fraction: float = defaults.TRAIN_FRACTION,
        val_fraction: float = defaults.VAL_FRACTION,
        test_fraction: float = defaults.TEST_FRACTION,
        batch_size: int = 64,
        num_workers: int | None = None,
        prefetch_factor: int = 4,
        input_size: Size | None = None,
        channels: int | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        augment: bool = True,
        seed: int = defaults.SEED,
        card: CardLike | None = None,
        train_transform: Callable[[Any], Any] | None = None,
        test_transform: Callable[[Any], Any] | None = None,
        crop_scale_bounds: tuple[float, float] = CROP_SCALE_BOUNDS,
        crop_ratio_bounds: tuple[float, float] = CROP_RATIO_BOUNDS,
        resize_after_crop: Size | None = None,
        greyscale: bool | None = None,
        custom_torchvision_transform: Callable[[Any], Any] | Sequence[Callable[[Any], Any]] | None = None,
        use_memory: bool = False,
        custom_albumentation_transform: Any = None,
    ) -> None:
        super().__init__()
        if custom_albumentation_transform is not None:
            raise ValueError(
                "custom_albumentation_transform (albumentations) is not supported: give torchvision transforms "
                "that take a PIL image as train_transform and test_transform, as in Zoobot 2.9."
            )
        if custom_torchvision_transform is not None:
            if train_transform is not None or test_transform is not None:
                raise ValueError("Give custom_torchvision_transform or train_transform/test_transform, not both.")
            warn_deprecated("custom_torchvision_transform is deprecated; use train_transform and test_transform.")
            if isinstance(custom_torchvision_transform, (tuple, list)):
                train_transform, test_transform = custom_torchvision_transform
            else:
                train_transform = test_transform = cast(Callable[[Any], Any], custom_torchvision_transform)
        if greyscale is not None:
            wanted = 1 if greyscale else 3
            if channels is not None and channels != wanted:
                raise ValueError(f"greyscale={greyscale} means {wanted} channel(s), but channels={channels}.")
            warn_deprecated(f"greyscale is deprecated; use channels={wanted}.")
            channels = wanted
        if use_memory:
            warn_deprecated("use_memory has no effect (images are read as needed); leave it out.")
        if resize_after_crop is not None:
            if input_size is not None and height_width(input_size) != height_width(resize_after_crop):
                raise ValueError(f"resize_after_crop={resize_after_crop} and input_size={input_size} disagree.")
            warn_deprecated("resize_after_crop is deprecated; use input_size.")
            input_size = resize_after_crop
        split_given = any(c is not None for c in (train_catalog, val_catalog, test_catalog, predict_catalog))
        if catalog is not None and split_given:
            raise ValueError("Give either catalog (to be split) or train/val/test/predict catalogs, not both.")
        if catalog is None and not split_given:
            raise ValueError(
                "Give a catalog, or at least one of train_catalog, val_catalog, test_catalog, predict_catalog."
            )
        if batch_size < 1 or (num_workers is not None and num_workers < 0):
            raise ValueError(f"batch_size must be >= 1 and num_workers >= 0 (got {batch_size}, {num_workers}).")
        from zoobot.machine import machine_settings

        self.label_cols = list(label_cols) if label_cols else None
        self.batch_size = batch_size
        self.settings = machine_settings()
        self.num_workers_given = num_workers is not None
        self.num_workers = self.settings.num_workers if num_workers is None else num_workers
        self.prefetch_factor = prefetch_factor
        self.augment = augment
        self.seed = seed

        card_size = card.input_size if card is not None else 224
        self.input_size = height_width(input_size if input_size is not None else card_size)
        if channels is None:
            channels = (
                card.channels
                if card is not None
                else (card_size[0] if isinstance(card_size, tuple) and len(card_size) == 3 else 3)
            )
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (greyscale) or 3 (colour), got {channels}.")
        self.channels = channels
        self.mean = tuple(mean if mean is not None else (card.mean if card is not None else (0.0,) * channels))
        self.std = tuple(std if std is not None else (card.std if card is not None else (1.0,) * channels))
        self.crop_scale_bounds, self.crop_ratio_bounds = crop_scale_bounds, crop_ratio_bounds
        self.train_transform, self.test_transform = train_transform, test_transform
        # Validate now rather than on the first batch.
        self._transform(augment=True)

        self.unlabelled_catalog: pd.DataFrame | None = None
        if catalog is not None:
            labelled, unlabelled = self._separate_unlabelled(catalog)
            self.unlabelled_catalog = unlabelled
            self.train_catalog, self.val_catalog, self.test_catalog = split_catalog(
                labelled, train_fraction, val_fraction, test_fraction, seed
            )
            self.predict_catalog: pd.DataFrame | None = catalog.reset_index(drop=True)
        else:
            self.train_catalog = self._labelled_only(train_catalog, "train")
            self.val_catalog = self._labelled_only(val_catalog, "val")
            self.test_catalog = self._labelled_only(test_catalog, "test")
            self.predict_catalog = predict_catalog.reset_index(drop=True) if predict_catalog is not None else None
        self._features: dict[str, FeatureDataset] = {}

    def _separate_unlabelled(self, catalog: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not self.label_cols:
            raise ValueError("Splitting a catalog into train/val/test needs label_cols.")
        labelled = ~np.isnan(labels_array(catalog, self.label_cols)).any(axis=1)
        return catalog[labelled].reset_index(drop=True), catalog[~labelled].reset_index(drop=True)

    def _labelled_only(self, catalog: pd.DataFrame | None, name: str) -> pd.DataFrame | None:
        if catalog is None or not self.label_cols:
            return catalog.reset_index(drop=True) if catalog is not None else None
        labelled, unlabelled = self._separate_unlabelled(catalog)
        if len(unlabelled):
            logger.warning("Leaving %d rows without labels out of the %s catalog.", len(unlabelled), name)
        return labelled

    def _transform(self, augment: bool) -> Transform:
        return get_transforms(
            self.input_size,
            self.channels,
            self.mean,
            self.std,
            augment=augment,
            crop_scale_bounds=self.crop_scale_bounds,
            crop_ratio_bounds=self.crop_ratio_bounds,
        )

    def _dataset(self, catalog: pd.DataFrame, augment: bool, with_labels: bool = True) -> GalaxyDataset:
        given = self.train_transform if augment else self.test_transform
        return GalaxyDataset(
            catalog,
            self.label_cols if with_labels else None,
            given or self._transform(augment),
            self.input_size,
            self.channels,
            pil_images=given is not None,  # galaxy-datasets' transforms take PIL images
        )

    def setup(self, stage: str | None = None) -> None:
        """Build the image datasets for the catalogs this module has."""
        self.train_dataset = self._dataset(self.train_catalog, self.augment) if self.train_catalog is not None else None
        self.val_dataset = self._dataset(self.val_catalog, False) if self.val_catalog is not None else None
        self.test_dataset = self._dataset(self.test_catalog, False) if self.test_catalog is not None else None
        self.predict_dataset = (
            self._dataset(self.predict_catalog, False, with_labels=False) if self.predict_catalog is not None else None
        )

    def _loader(
        self, dataset: Dataset, shuffle: bool, batch_size: int | None = None, num_workers: int | None = None
    ) -> DataLoader:
        batch_size = batch_size or self.batch_size
        if num_workers is not None:
            workers = num_workers
        elif self.num_workers_given:
            workers = self.num_workers
        else:
            workers = min(self.num_workers, self.settings.workers_for(len(dataset), batch_size))  # type: ignore[arg-type]
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=workers,
            pin_memory=self.settings.pin_memory,
            persistent_workers=workers > 0,
            prefetch_factor=self.prefetch_factor if workers > 0 else None,
            worker_init_fn=self.settings.worker_init_fn() if workers > 0 else None,
        )

    def _split_loader(self, name: str, shuffle: bool) -> DataLoader | list:
        if name in self._features:
            # Features live in memory: worker processes would only add start-up cost, and each batch is
            # read in one indexing (one dict per galaxy, collated, cost more than the head's step).
            # Evaluation reads FEATURE_EVAL_ROWS galaxies a batch: its loss and metrics are the same means over
            # galaxies whatever the batching (log_stage), and each batch costs Lightning about half a millisecond.
            return DataLoader(
                _FeatureBatches(self._features[name]),
                batch_size=self.batch_size if name == "train" else max(self.batch_size, FEATURE_EVAL_ROWS),
                shuffle=shuffle,
                num_workers=0,
                collate_fn=_read_as_one_batch,
                pin_memory=self.settings.pin_memory,
            )
        if not hasattr(self, f"{name}_dataset"):
            self.setup()
        dataset = getattr(self, f"{name}_dataset")
        if dataset is None or len(dataset) == 0:
            if name == "train":
                raise ValueError("There is no training data: give a catalog with labelled rows.")
            return []  # Lightning skips a stage with no batches
        return self._loader(dataset, shuffle)

    def train_dataloader(self) -> DataLoader:
        """Training batches, shuffled and augmented (or cached features)."""
        return cast(DataLoader, self._split_loader("train", shuffle=True))  # never empty: that raises

    def val_dataloader(self) -> DataLoader | list:
        """Validation batches (empty list when there is no validation split)."""
        return self._split_loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader | list:
        """Test batches (empty list when there is no test split)."""
        return self._split_loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader | list:
        """Prediction batches: images and id_str, no labels."""
        return self._split_loader("predict", shuffle=False)

    @torch.no_grad()
    def cache_features(
        self,
        encoder: nn.Module,
        device: str | torch.device = "cpu",
        batch_size: int | None = None,
        splits: Sequence[str] = ("train", "val", "test"),
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        """Compute a frozen encoder's features once for the given splits (eval transforms, no augmentation).

        Afterwards those splits' loaders yield ``{'features', 'label', 'id_str'}``. The splits' images
        go through the encoder in one pass (one set of loader workers). The encoder is moved to
        ``device`` and put back into the train/eval mode it was in.

        Args:
            encoder: maps ``(B, C, H, W)`` images to pooled features ``(B, D)``.
            device: where to run the encoder.
            batch_size: images per forward pass; defaults to the module's batch size.
            splits: which of ``'train'``, ``'val'``, ``'test'`` to cache. Fitting needs only train
                and val; a test split read once costs the same either way.
            on_batch: called after each batch with ``(images done, images in all)``.
        """
        catalogs = {name: getattr(self, f"{name}_catalog") for name in splits}
        catalogs = {name: c for name, c in catalogs.items() if c is not None and len(c)}
        if not catalogs:
            return
        dataset = self._dataset(pd.concat(list(catalogs.values()), ignore_index=True), augment=False)
        batch = batch_size or self.batch_size
        given = self.num_workers if self.num_workers_given else None
        pin = torch.device(device).type == "cuda"
        loader = settings_loader(dataset, self.settings, batch, given, self.prefetch_factor, pin_memory=pin)
        was_training = encoder.training
        encoder.to(device).eval()
        try:
            features = run_batches(encoder, loader, torch.device(device), precision="32-true", on_batch=on_batch)
        finally:
            encoder.train(was_training)
        if features.ndim != 2:
            raise ValueError(
                f"The encoder returned features of shape {tuple(features.shape)}; expected pooled (batch, feature_dim)."
            )
        start = 0
        for name, catalog in catalogs.items():
            rows = slice(start, start + len(catalog))
            labels = dataset.labels[rows] if dataset.labels is not None else None
            self._features[name] = FeatureDataset(features[rows], labels, dataset.id_strs[rows], dataset.label_cols)
            start += len(catalog)

    @property
    def features_cached(self) -> bool:
        """True once :meth:`cache_features` has run."""
        return bool(self._features)


class _FeatureBatches(Dataset):
    """Cached features that a loader reads a batch at a time (``__getitems__``)."""

    def __init__(self, features: FeatureDataset) -> None:
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.features[index]

    def __getitems__(self, indices: list[int]) -> dict[str, Any]:
        return self.features.batch(indices)


def _read_as_one_batch(batch: Any) -> Any:
    """The collate function of :class:`_FeatureBatches`: its batches come already collated."""
    return batch
