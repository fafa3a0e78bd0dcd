"""Finetuning on Galaxy Zoo-style vote counts over a decision tree (Dirichlet-multinomial loss)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torchmetrics as tm
from torch import nn

from zoobot.finetune.base import FinetuneableZoobotAbstract
from zoobot.finetune.heads import get_pytorch_dirichlet_head
from zoobot.finetune.settings import FinetuneArgumentError

__all__ = ["FinetuneableZoobotTree", "as_schema"]


class FinetuneableZoobotTree(FinetuneableZoobotAbstract):
    """Finetune on Galaxy Zoo-style vote counts over a decision tree (Dirichlet-multinomial loss).

    The head predicts one Dirichlet concentration per answer, in (1, 101): Zoobot's head (dropout, then linear
    and ``sigmoid * 100 + 1``), so ``forward`` returns concentrations, as Zoobot's does.

    Args:
        schema: the decision tree (``zoobot.schemas.Schema``, or its ``to_dict()``).
        **kwargs: the shared arguments, see :class:`~zoobot.finetune.settings.FinetuneArgs`.
    """

    def __init__(
        self,
        schema: Any,
        **kwargs: Any,
    ) -> None:
        from zoobot.losses import CustomMultiQuestionLoss

        self.schema = as_schema(schema)
        self.label_cols = list(self.schema.label_cols)
        self.question_index_groups = [tuple(g) for g in self.schema.question_index_groups]
        super().__init__(**kwargs)
        self.hparams.update(schema=self.schema.to_dict())
        self.loss_fn = CustomMultiQuestionLoss(self.question_index_groups)

    def output_dim(self) -> int:
        return len(self.label_cols)

    def build_head(self) -> nn.Module:
        return get_pytorch_dirichlet_head(
            self.encoder_dim, self.output_dim(), test_time_dropout=False, dropout_rate=self.settings.head_dropout_prob
        )

    def zoobot_task_hparams(self) -> dict[str, Any]:
        # Pickled as zoobot.shared.schemas.Schema(question_answer_pairs, dependencies): real Zoobot rebuilds its own.
        return {"schema": self.schema}

    def default_output_names(self) -> list[str]:
        return list(self.label_cols)

    def build_metrics(self) -> tm.MetricCollection:
        return tm.MetricCollection({f"vote_fraction_mae_{q.text}": tm.MeanMetric() for q in self.schema.questions})

    def targets_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.float()

    def compute_loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(outputs, targets).mean()

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        from zoobot.losses import expected_vote_fractions

        fractions = expected_vote_fractions(outputs, self.question_index_groups)
        for question, (start, end) in zip(self.schema.questions, self.question_index_groups, strict=False):
            counts = targets[:, start : end + 1]
            totals = counts.sum(dim=1, keepdim=True)
            asked = (totals[:, 0] > 0).float()
            true = counts / totals.clamp(min=1)
            error = (fractions[:, start : end + 1] - true).abs().mean(dim=1)
            metrics[f"vote_fraction_mae_{question.text}"].update(error, asked)

    def _log_epoch_metrics(self, stage: str) -> None:
        # Questions nobody was asked this epoch have no error: leave them out of the mean.
        metrics = self._stage_metrics(stage)
        if stage in self._stages_updated:
            values = {k: v for k, v in metrics.compute().items() if not torch.isnan(v)}
            if values:
                self.log_dict(values)
                self.log(f"{stage}_vote_fraction_mae", torch.stack(list(values.values())).mean())
            self._stages_updated.discard(stage)
        metrics.reset()

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Dirichlet concentrations ``(B, n_answers)`` in (1, 101) (what the head outputs)."""
        return outputs

    def prediction_columns(
        self, predictions: np.ndarray, names: Sequence[str] | None = None, id_str: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The Dirichlet concentrations under the bare answer names (Zoobot's columns), ``id_str`` (when
        given), then per answer Zoobot's summary: ``<answer>_fraction`` (expected vote fraction), the 90%
        interval ``<answer>_90pc-lower`` / ``<answer>_90pc-upper`` and ``<answer>_proportion-asked``
        (:func:`zoobot.tree_summary.summary_columns`). ``names`` replace the answer names."""
        from zoobot.prediction_table import zoobot_table
        from zoobot.tree_summary import summary_columns

        cols = list(names) if names else list(self.label_cols)
        self._check_names(cols, len(self.label_cols))
        summary = summary_columns(predictions, self.schema, cols)
        return zoobot_table(
            {c: predictions[:, k] for k, c in enumerate(cols)},
            id_str,
            {c: summary[c].to_numpy() for c in summary.columns},
        )


def as_schema(schema: Any) -> Any:
    """A ``Schema`` from a Schema or its dict form."""
    from zoobot.schemas import Schema

    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, Mapping):
        return Schema.from_dict(schema)
    raise FinetuneArgumentError(
        f"schema must be a zoobot.schemas.Schema (e.g. from zoobot.trees.get_schema) or its dict, "
        f"got {type(schema).__name__}."
    )
