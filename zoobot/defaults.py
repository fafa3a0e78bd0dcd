"""Every finetuning default and its allowed range, in one place.

The finetuning classes, :class:`zoobot.runs.RunConfig`, the ``zoobot`` command and the app's forms
all read their defaults and their range checks from here, so they cannot disagree.

Two deliberate choices:

- The learning rate depends on the training mode. Fully finetuning a pretrained encoder takes
  Zoobot's 1e-4 (the finetuning classes' default, as in Zoobot 2.x); training only a linear head on
  the frozen encoder's features takes 1e-3, since nothing pretrained can be spoiled and the head
  starts from scratch. :func:`learning_rate_for` gives the one for a mode.
- Runs (the app and ``zoobot finetune``) train the head only by default, the fast mode on a CPU;
  the finetuning classes keep Zoobot's ``training_mode='full'`` default so Zoobot scripts behave
  as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

TrainingMode = Literal["full", "head_only"]

LEARNING_RATE: dict[str, float] = {"full": 1e-4, "head_only": 1e-3}
"""Default learning rate per training mode."""

CLASS_TRAINING_MODE: TrainingMode = "full"
"""The finetuning classes' default mode (Zoobot 2.x's)."""

RUN_TRAINING_MODE: TrainingMode = "head_only"
"""The default mode of a run started from the app or a run config."""


class SettingError(ValueError):
    """A number outside its allowed range; the message names the setting and the range."""


@dataclass(frozen=True)
class Setting:
    """One numeric setting: its default, its allowed range and the words that explain it.

    Attributes:
        name: the argument / config key, e.g. ``'max_epochs'``.
        label: a short label for forms and messages, e.g. ``'Epochs (at most)'``.
        default: the default value (``None``: decided elsewhere, e.g. by the training mode).
        low: smallest allowed value.
        high: largest allowed value.
        whole: whether the value is a whole number.
        low_open: ``low`` itself is not allowed (e.g. a learning rate above 0).
        high_open: ``high`` itself is not allowed (e.g. a dropout probability below 1).
        help: one sentence for a newcomer: what the setting does.
    """

    name: str
    label: str
    default: float | None
    low: float
    high: float
    whole: bool = False
    low_open: bool = False
    high_open: bool = False
    help: str = ""

    @property
    def allowed(self) -> str:
        """The range in words, e.g. ``'a whole number from 1 to 1000'`` or ``'above 0 and at most 0.5'``."""
        low, high = _number(self.low), _number(self.high)
        if self.low_open or self.high_open:
            lower = f"above {low}" if self.low_open else f"at least {low}"
            upper = f"below {high}" if self.high_open else f"at most {high}"
            span = f"{lower} and {upper}"
        else:
            span = f"from {low} to {high}"
        return f"{'a whole number ' if self.whole else ''}{span}"

    def check(self, value: float | None) -> float:
        """The value, if allowed (whole numbers rounded).

        Raises:
            SettingError: the value is missing, not a number or outside the range.
        """
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise SettingError(f"'{self.label}' ({self.name}) is empty or not a number: enter {self.allowed}.")
        too_low = value <= self.low if self.low_open else value < self.low
        too_high = value >= self.high if self.high_open else value > self.high
        if too_low or too_high:
            raise SettingError(f"'{self.label}' ({self.name}) is {value:g}; it must be {self.allowed}.")
        if self.whole:
            if value != round(value):
                raise SettingError(f"'{self.label}' ({self.name}) is {value:g}; it must be {self.allowed}.")
            return float(round(value))
        return float(value)


def _number(value: float) -> str:
    """A bound as people write it: ``1000``, ``2147483647``, ``0.5``, ``1e-07``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _settings(*settings: Setting) -> dict[str, Setting]:
    return {s.name: s for s in settings}


SETTINGS: dict[str, Setting] = _settings(
    Setting(
        "max_epochs",
        "Epochs (at most)",
        10,
        1,
        1000,
        whole=True,
        help="How many times training goes through your labelled galaxies at most; it stops earlier "
        "when the validation loss stops improving.",
    ),
    Setting(
        "learning_rate",
        "Learning rate",
        None,
        0,
        0.5,
        low_open=True,
        help="How big each training step is: 1e-3 for the head only, 1e-4 for full finetuning. "
        "Lower it if the loss jumps about; raise it if the loss hardly moves.",
    ),
    Setting(
        "batch_size",
        "Batch size",
        32,
        1,
        1024,
        whole=True,
        help="Galaxies per training step; lower it if you run out of memory.",
    ),
    Setting(
        "image_size",
        "Image size (px; 0 = the encoder's own)",
        0,
        0,
        1024,
        whole=True,
        help="Side in pixels the images are resized to; 0 uses the size the encoder was trained at.",
    ),
    Setting(
        "weight_decay",
        "Weight decay",
        0.05,
        0,
        1,
        help="AdamW weight decay: pulls weights towards zero, against overfitting.",
    ),
    Setting(
        "layer_decay",
        "Layer decay (full finetune)",
        0.75,
        0,
        1,
        low_open=True,
        help="Full finetuning: each encoder block below the top learns this much slower than the one above.",
    ),
    Setting(
        "head_dropout_prob",
        "Head dropout",
        0.5,
        0,
        1,
        high_open=True,
        help="Share of features dropped at random before the head during training.",
    ),
    Setting(
        "patience",
        "Early-stopping patience (epochs)",
        10,
        1,
        1000,
        whole=True,
        help="Epochs without a better validation loss before training stops.",
    ),
    Setting(
        "train_fraction",
        "Train fraction",
        0.7,
        0,
        1,
        low_open=True,
        high_open=True,
        help="Share of the labelled galaxies the model learns from.",
    ),
    Setting(
        "val_fraction",
        "Validation fraction",
        0.15,
        0,
        1,
        low_open=True,
        high_open=True,
        help="Share of the labelled galaxies used to pick the best epoch and stop early.",
    ),
    Setting(
        "test_fraction",
        "Test fraction",
        0.15,
        0,
        1,
        high_open=True,
        help="Share of the labelled galaxies held out to measure the finished model.",
    ),
    Setting(
        "seed",
        "Seed",
        42,
        0,
        2**31 - 1,
        whole=True,
        help="Same seed, same split and same training: runs can be repeated exactly.",
    ),
)
"""The numeric finetuning settings by name."""


def default(name: str) -> float:
    """The default of a numeric setting that has one (as an int for whole numbers)."""
    setting = SETTINGS[name]
    if setting.default is None:
        raise KeyError(f"{name} has no single default; see zoobot.defaults")
    return int(setting.default) if setting.whole else float(setting.default)


def check(name: str, value: float | None) -> float:
    """``SETTINGS[name].check(value)``: the value, or a :class:`SettingError` naming the range."""
    return SETTINGS[name].check(value)


def learning_rate_for(training_mode: str) -> float:
    """The default learning rate for ``'full'`` or ``'head_only'`` training."""
    return LEARNING_RATE[training_mode]


MAX_EPOCHS = int(default("max_epochs"))
BATCH_SIZE = int(default("batch_size"))
PREDICT_BATCH_SIZE = 64
"""Galaxies per batch when predicting or computing representations (no gradients: twice the training batch)."""
WEIGHT_DECAY = default("weight_decay")
LAYER_DECAY = default("layer_decay")
HEAD_DROPOUT_PROB = default("head_dropout_prob")
PATIENCE = int(default("patience"))
TRAIN_FRACTION = default("train_fraction")
VAL_FRACTION = default("val_fraction")
TEST_FRACTION = default("test_fraction")
SEED = int(default("seed"))
SUGGEST_SAMPLES = 100
"""Draws of the head per galaxy when choosing what to label next (``suggest_galaxies``, ``zoobot suggest``,
the app's Label next tab). Mutual information from 20 draws ranked galaxies noisily: on the synthetic
survey BALD needed 267 ring labels to match random's 400 with 20 draws, 239 with 100
(``benchmarks/active_learning.py``, 10 repetitions each, 2026-12-03)."""
