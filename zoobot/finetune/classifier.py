"""Finetuning for classification: binary, multi-class, or multi-label (several 0/1 label columns)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import torchmetrics as tm
from torchmetrics.wrappers import ClasswiseWrapper

from zoobot.finetune.base import FinetuneableZoobotAbstract
from zoobot.finetune.settings import FinetuneArgumentError

__all__ = ["FinetuneableZoobotClassifier"]


class FinetuneableZoobotClassifier(FinetuneableZoobotAbstract):
    """Finetune for classification: binary, multi-class, or multi-label (several label columns).

    Single-label: the batch label is a class index ``0..num_classes-1``; cross-entropy loss.
    Multi-label: give several ``label_cols`` (each 0/1); binary cross-entropy per column.

    Args:
        num_classes: number of classes (single-label). For multi-label, the number of label columns.
        label_col: the class-index column (single-label).
        label_smoothing: cross-entropy label smoothing (single-label).
        class_weights: one loss weight per class (or per label column).
        run_linear_sanity_check: as in Zoobot 2.9, before training fit a logistic regression on the frozen
            encoder's features of the train split and log its accuracy on train and val
            (``finetuning/linear_eval/train``, ``finetuning/linear_eval/val``): a floor the finetuned model
            should beat (single-label only).
        label_cols: several 0/1 columns for multi-label classification.
        **kwargs: the shared arguments, see :class:`~zoobot.finetune.settings.FinetuneArgs`.
    """

    ZOOBOT_METRICS = {"accuracy": "acc"}
    # Per-class precision and recall on training batches (dropout on, augmented) add nothing to the held-out
    # ones and four numbers an epoch for two classes, each a Lightning log call (benchmarks/run.py, head-only).
    HELD_OUT_METRICS = ("precision", "recall")
    class_names: list[str]
    """The classes' names, when a run set them (predictions then name the classes)."""

    def __init__(
        self,
        num_classes: int | None = None,
        label_col: str = "label",
        label_smoothing: float = 0.0,
        class_weights: list[float] | None = None,
        run_linear_sanity_check: bool = False,
        label_cols: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.multilabel = label_cols is not None and len(label_cols) > 1
        if label_cols is not None and self.multilabel:
            if num_classes is not None and num_classes != len(label_cols):
                raise FinetuneArgumentError(
                    f"Multi-label classification with {len(label_cols)} label_cols needs num_classes="
                    f"{len(label_cols)} (or leave num_classes out), not {num_classes}."
                )
            num_classes = len(label_cols)
        if num_classes is None or num_classes < 2:
            raise FinetuneArgumentError(
                f"num_classes must be 2 or more for classification, got {num_classes}. For a yes/no "
                f"label use num_classes=2."
            )
        if class_weights is not None and len(class_weights) != num_classes:
            raise FinetuneArgumentError(
                f"class_weights has {len(class_weights)} values but there are {num_classes} classes."
            )
        if run_linear_sanity_check and self.multilabel:
            raise FinetuneArgumentError(
                "run_linear_sanity_check fits one class per galaxy; it does not apply to multi-label classification."
            )
        self.num_classes = num_classes
        self.label_cols = list(label_cols) if label_cols else [label_col]
        self.label_smoothing = label_smoothing
        self.run_linear_sanity_check = run_linear_sanity_check
        super().__init__(**kwargs)
        self.hparams.update(
            num_classes=num_classes,
            class_weights=[float(w) for w in class_weights] if class_weights is not None else None,
        )
        weights = torch.as_tensor(class_weights, dtype=torch.float32) if class_weights is not None else None
        self.class_weights: torch.Tensor | None
        self.register_buffer("class_weights", weights)

    def output_dim(self) -> int:
        return self.num_classes

    def zoobot_task_hparams(self) -> dict[str, Any]:
        return {
            "num_classes": self.num_classes,
            "label_col": self.label_cols[0],
            "label_smoothing": self.label_smoothing,
            "class_weights": self.hparams.get("class_weights"),
            "run_linear_sanity_check": self.run_linear_sanity_check,
        }

    def on_train_start(self) -> None:
        if self.run_linear_sanity_check:
            self.linear_sanity_check()

    def linear_sanity_check(self) -> dict[str, float]:
        """Accuracy of a logistic regression on the frozen encoder's features (train and val splits), logged as
        ``finetuning/linear_eval/train`` and ``finetuning/linear_eval/val``, as in Zoobot 2.9.

        Returns:
            ``{'train': accuracy, 'val': accuracy}`` (val only when the datamodule has a val split).
        """
        from sklearn.linear_model import LogisticRegression

        datamodule: Any = getattr(self.trainer, "datamodule", None)
        if datamodule is None:
            raise FinetuneArgumentError("run_linear_sanity_check needs the datamodule passed to trainer.fit.")
        splits = {"train": datamodule.train_dataloader()}
        if getattr(datamodule, "val_catalog", True) is not None:
            splits["val"] = datamodule.val_dataloader()
        features: dict[str, list[np.ndarray]] = {name: [] for name in splits}
        labels: dict[str, list[np.ndarray]] = {name: [] for name in splits}
        was_training = self.encoder.training
        self.encoder.eval()
        with torch.no_grad():
            for name, loader in splits.items():
                for batch in loader:
                    images, batch_labels = self.batch_to_supervised_tuple(batch)
                    found = (
                        batch["features"]
                        if isinstance(batch, dict) and "features" in batch
                        else self.encoder(torch.as_tensor(images).to(self.device))
                    )
                    features[name].append(found.float().cpu().numpy())
                    labels[name].append(self.targets_from_labels(batch_labels).cpu().numpy())
        self.encoder.train(was_training)
        x = {name: np.concatenate(values) for name, values in features.items()}
        y = {name: np.concatenate(values) for name, values in labels.items()}
        model = LogisticRegression(max_iter=200).fit(x["train"], y["train"])
        scores = {name: float((model.predict(x[name]) == y[name]).mean()) for name in x}
        for name, score in scores.items():
            self.log(f"finetuning/linear_eval/{name}", score)
        return scores

    def default_output_names(self) -> list[str]:
        return list(self.label_cols) if self.multilabel else [str(k) for k in range(self.num_classes)]

    def build_metrics(self) -> tm.MetricCollection:
        names = self.default_output_names()
        if self.multilabel:
            kw: dict[str, Any] = {"task": "multilabel", "num_labels": self.num_classes}
        else:
            kw = {"task": "multiclass", "num_classes": self.num_classes}
        return tm.MetricCollection(
            {
                "accuracy": tm.Accuracy(**kw, average="micro"),
                "f1": tm.F1Score(**kw, average="macro"),
                "precision": ClasswiseWrapper(tm.Precision(**kw, average=None), labels=names, prefix="precision_"),
                "recall": ClasswiseWrapper(tm.Recall(**kw, average=None), labels=names, prefix="recall_"),
            },
            compute_groups=False,
        )

    def targets_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        if self.multilabel:
            return labels.float()
        targets = labels.reshape(labels.shape[0], -1)[:, 0]
        if (
            torch.isnan(targets).any()
            or (targets < 0).any()
            or (targets >= self.num_classes).any()
            or (targets != targets.round()).any()
        ):
            bad = targets[
                torch.isnan(targets) | (targets < 0) | (targets >= self.num_classes) | (targets != targets.round())
            ]
            raise ValueError(
                f"Class labels must be whole numbers 0..{self.num_classes - 1}; found {bad[:5].tolist()}. "
                f"Check the label column, or num_classes."
            )
        return targets.long()

    def compute_loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.multilabel:
            return F.binary_cross_entropy_with_logits(outputs, targets, weight=self.class_weights)
        return F.cross_entropy(outputs, targets, weight=self.class_weights, label_smoothing=self.label_smoothing)

    def loss_weight(self, targets: torch.Tensor) -> torch.Tensor | None:
        """A class-weighted cross-entropy is a mean weighted by each galaxy's class weight."""
        if self.class_weights is None or self.multilabel:
            return None
        return self.class_weights[targets].sum()

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        metrics.update(self.outputs_to_predictions(outputs), targets.long() if self.multilabel else targets)

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(B, num_classes)`` (softmax; sigmoid per column for multi-label)."""
        return torch.sigmoid(outputs) if self.multilabel else F.softmax(outputs, dim=1)

    def prediction_columns(
        self, predictions: np.ndarray, names: Sequence[str] | None = None, id_str: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Zoobot's columns (one probability per class), ``id_str`` (when given), then ``predicted_class``.

        ``names``: one per class, the probability columns' names (Zoobot's ``label_cols``). A single name
        for a binary classifier gives one column, the probability of class 1 (as Zoobot's README's
        ``label_cols=['ring']`` means); for more classes, ``<name>_<k>``. Default: the class names the
        model knows (``class_names``, set by a run), else ``<label_col>_<k>``
        (:func:`zoobot.prediction_table.default_class_columns`). ``predicted_class`` is the name of the
        most probable class's column (for the single binary column: the class's name where the model knows
        it, else ``<name>_0`` / ``<name>_1``).
        Multi-label: one probability column per label column, then ``predicted_<col>`` (0/1) each.
        """
        from zoobot.prediction_table import class_name_array, default_class_columns, zoobot_table

        if self.multilabel:
            cols = list(names) if names is not None else list(self.label_cols)
            self._check_names(cols, self.num_classes)
            extras = {f"predicted_{col}": (predictions[:, k] >= 0.5).astype(int) for k, col in enumerate(cols)}
            return zoobot_table({col: predictions[:, k] for k, col in enumerate(cols)}, id_str, extras)
        defaults = default_class_columns(self.num_classes, self.label_cols[0], getattr(self, "class_names", None))
        predicted = predictions.argmax(axis=1)
        if names is not None and len(names) == 1 and self.num_classes == 2:
            # The classes' names where the model knows them, else the column's: ring_0 / ring_1.
            known = getattr(self, "class_names", None)
            classes = defaults if known is not None else default_class_columns(2, names[0])
            return zoobot_table(
                {names[0]: predictions[:, 1]}, id_str, {"predicted_class": class_name_array(classes, predicted)}
            )
        if names is not None and len(names) == 1:
            names = [f"{names[0]}_{k}" for k in range(self.num_classes)]
        cols = list(names) if names is not None else defaults
        self._check_names(cols, self.num_classes)
        return zoobot_table(
            {col: predictions[:, k] for k, col in enumerate(cols)},
            id_str,
            {"predicted_class": class_name_array(cols, predicted)},
        )
