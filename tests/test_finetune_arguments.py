"""The arguments every finetuning class shares: declared once, accepted and recorded by each class, checked."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from pathlib import Path

import lightning as L
import pytest

from zoobot import defaults
from zoobot.finetune import (
    FINETUNE_CLASSES,
    SHARED_ARGUMENTS,
    FinetuneableZoobotClassifier,
    FinetuneableZoobotRegressor,
    FinetuneableZoobotTree,
    FinetuneArgs,
    FinetuneArgumentError,
    get_trainer,
    load_finetuned,
)
from zoobot.schemas import Schema

ENCODER = "test_convnext"
TASK_ARGUMENTS = {
    FinetuneableZoobotClassifier: {"num_classes": 3},
    FinetuneableZoobotRegressor: {"loss": "mae"},
    FinetuneableZoobotTree: {"schema": Schema({"q": ["a", "b"]}, {"q": None})},
}
# A value other than the default for each shared argument that can be given on its own with name=.
GIVEN = {
    "channels": 1,
    "training_mode": "head_only",
    "layer_decay": 0.5,
    "learning_rate": 3e-4,
    "weight_decay": 0.01,
    "head_dropout_prob": 0.2,
    "scheduler_kwargs": {"warmup_epochs": 1},
    "freeze_norm_stats": True,
    "prog_bar": False,
    "seed": 7,
}


def test_the_task_classes_declare_none_of_the_shared_arguments_themselves():
    for cls in FINETUNE_CLASSES:
        own = set(inspect.signature(cls.__init__).parameters)
        assert not own & set(SHARED_ARGUMENTS), cls.__name__
        assert inspect.signature(cls.__init__).parameters["kwargs"].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize("cls", FINETUNE_CLASSES, ids=lambda c: c.__name__)
def test_every_class_shows_every_shared_argument_with_its_type_and_default(cls):
    parameters = inspect.signature(cls).parameters
    for field in dataclasses.fields(FinetuneArgs):
        parameter = parameters[field.name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default == field.default and parameter.annotation == field.type
    assert next(iter(parameters)) == next(iter(TASK_ARGUMENTS[cls]))  # the class's own arguments come first
    assert "kwargs" not in parameters


def test_shared_defaults_come_from_zoobot_defaults():
    args = FinetuneArgs()
    assert args.learning_rate == defaults.LEARNING_RATE["full"] == 1e-4
    assert args.weight_decay == defaults.WEIGHT_DECAY and args.seed == defaults.SEED
    model = FinetuneableZoobotRegressor(name=ENCODER)
    assert model.training_mode == defaults.CLASS_TRAINING_MODE
    assert model.settings.layer_decay == defaults.LAYER_DECAY
    assert model.settings.head_dropout_prob == defaults.HEAD_DROPOUT_PROB
    assert inspect.signature(get_trainer).parameters["patience"].default == defaults.PATIENCE


@pytest.mark.parametrize("cls", FINETUNE_CLASSES, ids=lambda c: c.__name__)
def test_every_class_accepts_and_records_every_shared_argument(cls):
    model = cls(**TASK_ARGUMENTS[cls], name=ENCODER, **GIVEN)
    for recorded in (model.hparams, model.hparams_initial):  # checkpoints; what loggers write
        assert {name for name in SHARED_ARGUMENTS if name != "encoder"} <= set(recorded)
    assert "encoder" not in model.hparams  # the module itself lives in the state dict
    assert {name: model.hparams[name] for name in GIVEN} == GIVEN
    assert model.learning_rate == 3e-4 and model.card.channels == 1 and model.settings.head_dropout_prob == 0.2
    default = cls(**TASK_ARGUMENTS[cls], name=ENCODER)
    for name in SHARED_ARGUMENTS:
        if name not in (
            "encoder",
            "encoder_card",
            "name",
            "training_mode",
            "layer_decay",
            "head_dropout_prob",
            "freeze_norm_stats",
        ):  # the last four are stored resolved
            assert default.hparams[name] == getattr(FinetuneArgs(), name), name


@pytest.mark.parametrize("cls", FINETUNE_CLASSES, ids=lambda c: c.__name__)
def test_an_unknown_keyword_is_a_type_error_naming_the_closest_argument(cls):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'learning_rat' \(did you mean 'learning_rate'"):
        cls(**TASK_ARGUMENTS[cls], name=ENCODER, learning_rat=1e-3)
    with pytest.raises(TypeError, match=f"{cls.__name__}\\(\\) got an unexpected keyword argument 'colour'"):
        cls(**TASK_ARGUMENTS[cls], name=ENCODER, colour=True)


def test_a_misspelt_task_argument_is_a_type_error_before_the_class_checks_its_own():
    with pytest.raises(TypeError, match="did you mean 'num_classes'"):
        FinetuneableZoobotClassifier(name=ENCODER, num_clases=2)  # not "num_classes must be 2 or more"
    with pytest.raises(TypeError, match="too many positional arguments"):
        FinetuneableZoobotRegressor("mse", False, "label", None, ENCODER)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"layer_decay": 0.0}, "layer_decay must be above 0 and at most 1, got 0.0"),
        ({"layer_decay": 1.5}, "layer_decay must be above 0 and at most 1, got 1.5"),
        ({"lr_decay": -0.1}, "layer_decay must be above 0 and at most 1"),
        ({"head_dropout_prob": 1.0}, "head_dropout_prob must be at least 0 and below 1, got 1.0"),
        ({"head_dropout_prob": -0.5}, "head_dropout_prob must be at least 0 and below 1"),
    ],
)
def test_out_of_range_settings_name_the_allowed_range(kwargs, message):
    warns = pytest.warns(DeprecationWarning) if "lr_decay" in kwargs else contextlib.nullcontext()
    with warns, pytest.raises(FinetuneArgumentError, match=message):
        FinetuneableZoobotRegressor(name=ENCODER, **kwargs)
    assert issubclass(FinetuneArgumentError, ValueError)


def test_shared_arguments_survive_a_checkpoint(tmp_path: Path):
    model = FinetuneableZoobotClassifier(
        num_classes=2,
        name=ENCODER,
        learning_rate=3e-4,
        weight_decay=0.01,
        head_dropout_prob=0.2,
        layer_decay=0.6,
        seed=7,
    )
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, accelerator="cpu")
    trainer.strategy.connect(model)
    trainer.save_checkpoint(tmp_path / "model.ckpt")
    reloaded = load_finetuned(tmp_path / "model.ckpt")
    assert type(reloaded) is FinetuneableZoobotClassifier
    assert reloaded.learning_rate == 3e-4 and reloaded.weight_decay == 0.01
    assert reloaded.settings.head_dropout_prob == 0.2 and reloaded.settings.layer_decay == 0.6
    assert reloaded.hparams["seed"] == 7 and dict(reloaded.hparams) == dict(model.hparams)


def test_zoobot_2_0_argument_names_warn_by_default_at_the_users_own_line(tmp_path: Path):
    # Python hides a plain DeprecationWarning raised inside a library: a Zoobot script would never see it.
    import subprocess
    import sys

    script = tmp_path / "old_script.py"
    script.write_text(
        "from zoobot.pytorch.training import finetune\n"
        "model = finetune.FinetuneableZoobotClassifier(name='test_convnext', num_classes=2, lr_decay=0.5)\n"
    )
    shown = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stderr
    assert f"{script}:2: ZoobotDeprecationWarning: lr_decay is deprecated; use layer_decay instead." in shown
