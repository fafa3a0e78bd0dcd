"""The names Zoobot 2.x users call: same arguments and defaults as real 2.0 and 2.9 (recorded in
``tests/fixtures/zoobot/<version>/signatures.json`` by the real library), and the same behaviour where it matters."""

from __future__ import annotations

import importlib
import inspect
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from zoobot.finetune import FinetuneArgumentError

FIXTURES = Path(__file__).parent / "fixtures" / "zoobot"

# Where a default differs on purpose, and why (everything else must match real Zoobot exactly).
MUTABLE = "Zoobot's {} default is None here (no shared mutable default); None means {}"
RESOLVED = "None here, resolved to Zoobot's value when neither it nor its other name is given"
DIFFERENT_DEFAULTS = {
    ("*", "timm_kwargs"): MUTABLE,
    ("*", "scheduler_params"): MUTABLE,
    ("FinetuneableZoobotAbstract", "training_mode"): RESOLVED,
    ("FinetuneableZoobotAbstract", "layer_decay"): RESOLVED,
    ("FinetuneableZoobotAbstract", "head_dropout_prob"): RESOLVED,
    ("FinetuneableZoobotAbstract", "lr_decay"): RESOLVED,
    ("FinetuneableZoobotAbstract", "dropout_prob"): RESOLVED,
    ("FinetuneableZoobotAbstract", "n_blocks"): "2.0's 0 (head only) is 2.9's training_mode='full' here",
    ("FinetuneableZoobotAbstract", "always_train_batchnorm"): RESOLVED,
    ("FinetuneableZoobotAbstract", "cosine_schedule"): RESOLVED,
    ("FinetuneableZoobotAbstract", "warmup_epochs"): RESOLVED,
    ("FinetuneableZoobotAbstract", "max_cosine_epochs"): RESOLVED,
    ("FinetuneableZoobotAbstract", "max_learning_rate_reduction_factor"): RESOLVED,
    ("FinetuneableZoobotAbstract", "from_scratch"): RESOLVED,
    ("LinearHead", "dropout_prob"): "2.0's name of head_dropout_prob (default 0.5)",
    ("train_default_zoobot_from_scratch", "gpus"): "None picks the accelerator; Zoobot's 2 fails without GPUs",
    ("train_default_zoobot_from_scratch", "nodes"): "None: num_nodes (1)",
    ("train_default_zoobot_from_scratch", "random_state"): "None: seed (42)",
    ("train_default_zoobot_from_scratch", "color"): "2.0's; None: channels (3; 2.0's color=False was 1 channel)",
    ("train_default_zoobot_from_scratch", "resize_after_crop"): "2.0's; None: input_size (224)",
}
# 2.0's defaults that 2.9 changed: this package follows 2.9 (checked against 2.9's record).
FOLLOWS_2_9 = {
    ("ZoobotTree", "architecture_name"): "2.9's convnext_nano, not 2.0's efficientnet_b0",
    ("ZoobotTree", "channels"): "2.9's 3, not 2.0's 1",
    ("ZoobotTree", "test_time_dropout"): "2.9's False, not 2.0's True",
    ("get_pytorch_encoder", "architecture_name"): "2.9's convnext_nano, not 2.0's efficientnet_b0",
    ("get_pytorch_encoder", "channels"): "2.9's 3, not 2.0's 1",
}
# Parameters spelt differently on purpose.
DIFFERENT_PARAMETERS = {
    ("Question", "*"): "a dataclass built by Schema (text, answers, asked_after), not built by users",
    ("Answer", "*"): "a dataclass built by Schema (text, index, question, next_questions), not built by users",
    ("get_dirichlet_neg_log_prob", "*"): "takes 2.0's and 2.9's argument orders (*args), tested below",
    ("get_dirichlet_loss_func", "question_index_groups"): "2.0's name: the one argument takes 2.0's or 2.9's",
}
# Functions whose positional order differs from Zoobot's past the first arguments.
ORDER_CHECKED_UP_TO = {"train_default_zoobot_from_scratch": 2}


def recorded(version: str) -> dict:
    return json.loads((FIXTURES / version / "signatures.json").read_text())


def our_parameters(member: object) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(member).parameters)


@pytest.mark.parametrize("version", ["2.0", "2.9"])
def test_every_name_exists_with_zoobots_arguments_and_defaults(version):
    for qualified, entry in recorded(version)["names"].items():
        module_name, name = qualified.rsplit(".", 1)
        member = getattr(importlib.import_module(module_name), name)  # the name exists on the same import path
        ours = our_parameters(member)
        if "load_from_name" in entry:
            assert list(our_parameters(member.load_from_name))[:1] == ["name"], qualified
        theirs = [p for p in entry["parameters"] if p["kind"] not in ("VAR_KEYWORD", "VAR_POSITIONAL")]
        for parameter in theirs:
            key = parameter["name"]
            if (name, "*") in DIFFERENT_PARAMETERS or (name, key) in DIFFERENT_PARAMETERS:
                continue
            assert key in ours, f"{qualified}: no argument {key!r}"
            if parameter["required"] or (version == "2.0" and (name, key) in FOLLOWS_2_9):
                continue  # required there (here it may have a default), or changed by 2.9
            default = ours[key].default
            if (name, key) in DIFFERENT_DEFAULTS or ("*", key) in DIFFERENT_DEFAULTS:
                assert default is None, f"{qualified}({key})"
                continue
            assert default is not inspect.Parameter.empty and repr(default) == parameter["default"], (
                f"{qualified}({key}): {default!r} here, {parameter['default']} in Zoobot {version}"
            )
        if entry["kind"] == "function" and (name, "*") not in DIFFERENT_PARAMETERS:
            positional = [p["name"] for p in theirs if p["kind"] == "POSITIONAL_OR_KEYWORD"]
            positional = positional[: ORDER_CHECKED_UP_TO.get(name, len(positional))]
            if not any((name, p) in DIFFERENT_PARAMETERS for p in positional):
                assert list(ours)[: len(positional)] == positional, f"{qualified}: positional order"


def test_defaults_left_as_none_resolve_to_zoobots():
    from zoobot.pytorch.training import finetune

    model = finetune.FinetuneableZoobotRegressor(name="test_convnext")
    assert model.training_mode == "full" and model.settings.layer_decay == 0.75
    assert model.settings.head_dropout_prob == 0.5 and model.settings.scheduler_kwargs is None
    assert model.learning_rate == 1e-4 and model.weight_decay == 0.05 and model.hparams["seed"] == 42


def test_schema_has_zoobots_attributes_and_every_named_schema_of_2_9():
    from zoobot.shared import schemas

    schema = schemas.decals_dr5_ortho_schema
    for attribute in (
        "question_answer_pairs",
        "dependencies",
        "label_cols",
        "questions",
        "question_index_groups",
        "named_index_groups",
        "get_answer",
        "get_question",
        "joint_p",
        "answers",
    ):
        assert hasattr(schema, attribute), attribute
    for version in ("2.0", "2.9"):
        for name in recorded(version)["names"]["zoobot.shared.schemas.Schema"]["attributes"]:
            assert hasattr(schemas.Schema, name), name
    expected = json.loads((FIXTURES / "2.9" / "schemas.json").read_text())
    assert sorted(expected) == recorded("2.9")["named_schemas"]
    for name, tree in expected.items():
        ours = getattr(schemas, name)
        assert ours.question_answer_pairs == tree["question_answer_pairs"], name
        assert ours.label_cols == tree["label_cols"], name
        assert [list(g) for g in ours.question_index_groups] == tree["question_index_groups"], name
        # Zoobot keeps the whole shared dependencies dict; the schema's own questions must agree with it
        assert all(tree["dependencies"][q] == parent for q, parent in ours.dependencies.items()), name
        assert [q.asked_after.text if q.asked_after else None for q in ours.questions] == [
            q["asked_after"] for q in tree["questions"]
        ], name


def test_linear_head_takes_both_names_of_its_dropout():
    from zoobot.pytorch.training.finetune import LinearHead

    assert LinearHead(4, 3, head_dropout_prob=0.2).dropout.p == 0.2
    with pytest.warns(DeprecationWarning, match="head_dropout_prob"):
        assert LinearHead(4, 3, dropout_prob=0.3).dropout.p == 0.3
    with pytest.raises(ValueError, match="disagree"):
        LinearHead(4, 3, head_dropout_prob=0.2, dropout_prob=0.3)
    assert LinearHead(4, 1)(torch.rand(5, 4)).shape == (5,)  # one output: the axis is dropped, as in Zoobot


def test_loss_functions_with_each_versions_argument_order():
    from zoobot.losses import dirichlet_multinomial_nll
    from zoobot.pytorch.estimators import define_model
    from zoobot.pytorch.training import finetune, losses

    torch.manual_seed(0)
    concentrations = 1 + 100 * torch.rand(4, 5)
    counts = torch.randint(0, 10, (4, 5)).float()
    expected = dirichlet_multinomial_nll(concentrations[:, :2], counts[:, :2])
    assert torch.equal(losses.get_dirichlet_neg_log_prob(concentrations[:, :2], counts[:, :2]), expected)  # 2.9
    assert torch.equal(
        losses.get_dirichlet_neg_log_prob(counts[:, :2], counts[:, :2].sum(1), concentrations[:, :2]), expected
    )  # 2.0
    assert torch.equal(losses.dirichlet_loss(counts[:, :2], concentrations[:, :2]), expected)  # 2.0, per question
    with pytest.raises(ValueError, match="total_count"):
        losses.get_dirichlet_neg_log_prob(counts[:, :2], counts[:, :2].sum(1) + 1, concentrations[:, :2])
    assert torch.allclose(losses.log_prob(concentrations[:, :2], counts[:, :2]), -expected)

    pairs = {"q1": ["_a", "_b"], "q2": ["_x", "_y", "_z"]}
    groups = [(0, 1), (2, 4)]
    per_question = losses.calculate_multiquestion_loss(counts, concentrations, groups)  # 2.0
    assert per_question.shape == (4, 2) and torch.equal(per_question[:, 0], expected)
    loss = losses.CustomMultiQuestionLoss(pairs, losses.get_dirichlet_neg_log_prob)  # 2.9
    columns = dict(zip(["q1_a", "q1_b", "q2_x", "q2_y", "q2_z"], counts.T, strict=True))
    assert torch.equal(loss(concentrations, columns), per_question) and torch.equal(
        loss(concentrations, counts), per_question
    )
    assert torch.equal(define_model.get_dirichlet_loss_func(pairs)(concentrations, columns), per_question)
    assert torch.equal(define_model.get_dirichlet_loss_func(groups)(concentrations, counts), per_question)
    assert torch.equal(
        define_model.dirichlet_loss(concentrations, counts, groups, sum_over_questions=True), per_question.sum(1)
    )
    assert torch.equal(finetune.dirichlet_loss(concentrations, counts, groups), per_question.sum(1).mean())
    with pytest.raises(ValueError, match="NaN or infinite"):
        losses.calculate_multiquestion_loss(counts, concentrations * float("nan"), groups)
    assert finetune.cross_entropy_loss(torch.rand(3, 2), torch.tensor([0, 1, 1])).shape == (3,)
    assert finetune.mse_loss(torch.rand(3), torch.rand(3)).shape == (3,)


def test_zoobot_tree_as_zoobots_own_test_builds_it():
    """Zoobot's tests/pytorch/test_define_model.py, with a tiny architecture instead of the default."""
    from zoobot.pytorch.estimators import define_model
    from zoobot.shared import schemas

    schema = schemas.decals_dr8_ortho_schema
    model = define_model.ZoobotTree(
        output_dim=12,
        question_answer_pairs=schema.question_answer_pairs,
        dependencies=schema.dependencies,
        architecture_name="test_convnext",
    )
    assert model.head[1][0].out_features == 12 and model.schema == schema
    assert sorted(model.zoobot_hparams()) == sorted(
        p["name"] for p in recorded("2.9")["names"]["zoobot.pytorch.estimators.define_model.ZoobotTree"]["parameters"]
    )
    concentrations = define_model.get_pytorch_dirichlet_head(8, 3, True, 0.5).eval()(torch.rand(2, 8))
    assert ((concentrations > 1) & (concentrations < 101)).all()
    assert define_model.schema_to_campaigns(schema)[:2] == ["dr8", "dr8"]
    assert define_model.get_encoder_dim(define_model.get_pytorch_encoder("test_convnext", channels=1)) == 64


def test_zoobots_hub_tests_on_the_fixture_cache(monkeypatch):
    """Zoobot's tests/test_from_hub.py, on the committed offline cache and its tiny models."""
    import huggingface_hub.constants as hf_constants
    import timm
    from huggingface_hub import hf_hub_download

    from zoobot.pytorch.training import finetune

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(FIXTURES / "2.9" / "hf_home" / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    model = timm.create_model("hf_hub:zoobot-fixtures/zoobot-encoder-test_convnext", pretrained=True)
    assert model(torch.rand(1, 3, 224, 224)).shape == (1, 16)
    loc = hf_hub_download(
        repo_id="zoobot-fixtures/zoobot-finetuned-test_classifier", filename="FinetuneableZoobotClassifier.ckpt"
    )
    model = finetune.FinetuneableZoobotClassifier.load_from_checkpoint(loc, map_location="cpu")
    assert model(torch.rand(1, 3, 224, 224)).shape == (1, 3)
    model = finetune.FinetuneableZoobotClassifier.load_from_name(
        "zoobot-fixtures/zoobot-finetuned-test_classifier", map_location="cpu"
    )
    assert model(torch.rand(1, 3, 224, 224)).shape == (1, 3)


def test_get_trainer_as_zoobots_logs_both_names_and_a_subclass_from_the_docs_trains(make_catalog, tmp_path):
    import lightning as L

    from zoobot.data import CatalogDataModule
    from zoobot.pytorch.training import finetune

    class FinetuneableZoobotCustomRegression(finetune.FinetuneableZoobotAbstract):
        """As Zoobot's advanced_finetuning guide shows: own arguments, head and loss."""

        def __init__(self, foo: int, **super_kwargs):
            super().__init__(**super_kwargs)
            self.foo = foo
            self.loss = torch.nn.SmoothL1Loss()
            self.head = torch.nn.Sequential(torch.nn.Linear(self.encoder_dim, 1))

    catalog = make_catalog(n=12, size=32, task="classification", n_classes=2)
    L.seed_everything(0)
    for model, expected in [
        (
            finetune.FinetuneableZoobotClassifier(name="test_convnext", num_classes=2, run_linear_sanity_check=True),
            ["finetuning/val_acc", "finetuning/train_acc", "finetuning/linear_eval/val", "lr-AdamW/pg1"],
        ),
        (FinetuneableZoobotCustomRegression(foo=3, name="test_convnext"), []),
    ]:
        datamodule = CatalogDataModule(
            label_cols=["label"],
            catalog=catalog,
            batch_size=4,
            num_workers=0,
            card=model.card,
            input_size=32,
            train_fraction=0.5,
            val_fraction=0.5,
            test_fraction=0.0,
        )
        save_dir = tmp_path / type(model).__name__
        trainer = finetune.get_trainer(
            save_dir, max_epochs=1, accelerator="cpu", enable_progress_bar=False, num_sanity_val_steps=0
        )  # any Trainer argument, as with Zoobot
        assert trainer.num_sanity_val_steps == 0
        trainer.fit(model, datamodule)
        logged = trainer.callback_metrics
        for name in ["finetuning/train_loss", "finetuning/val_loss", "val_loss", *expected]:
            assert name in logged, name
        assert (save_dir / "checkpoints" / "0.ckpt").is_file()  # Zoobot's <save_dir>/checkpoints/{epoch}.ckpt
        reloaded = type(model).load_from_checkpoint(save_dir / "checkpoints" / "0.ckpt")
        x = torch.rand(2, 3, 32, 32)
        with torch.no_grad():
            assert torch.allclose(reloaded.eval()(x), model.eval()(x))
    assert reloaded.foo == 3


def test_train_from_scratch_with_zoobots_arguments(make_catalog, tiny_schema_pairs, tmp_path):
    from zoobot.pytorch.training.train_with_pytorch_lightning import train_default_zoobot_from_scratch
    from zoobot.schemas import Schema

    schema = Schema(*tiny_schema_pairs)
    catalog = make_catalog(n=10, size=32, task="tree")
    common = {"architecture_name": "test_convnext", "batch_size": 4, "num_workers": 0, "epochs": 1}
    with pytest.raises(FinetuneArgumentError, match="transform_cfg cannot apply"):
        train_default_zoobot_from_scratch(tmp_path, schema, catalog=catalog, transform_cfg={"greyscale": True})
    with pytest.raises(FinetuneArgumentError, match="gpus=1 and accelerator='cpu'"):
        train_default_zoobot_from_scratch(tmp_path, schema, catalog=catalog, gpus=1, accelerator="cpu")
    with pytest.raises(ValueError, match=r"crop_scale_bounds must be \(low, high\)"):
        train_default_zoobot_from_scratch(tmp_path, schema, catalog=catalog, crop_scale_bounds=(0.9, 0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # color is 2.0's
        model, trainer = train_default_zoobot_from_scratch(
            tmp_path / "run",
            schema,
            catalog=catalog,
            gpus=0,
            nodes=1,
            random_state=7,
            color=True,
            resize_after_crop=32,
            crop_scale_bounds=(0.5, 0.9),
            enable_progress_bar=False,
            **common,
        )
    assert model.card.input_size == (3, 32, 32) and model.hparams["seed"] == 7
    assert trainer.datamodule.crop_scale_bounds == (0.5, 0.9)  # the training crop as asked
    import pandas as pd

    logged = pd.read_csv(next((tmp_path / "run" / "csv_logs").rglob("metrics.csv")))
    assert {"train/supervised_loss", "validation/supervised_loss", "test/supervised_loss"} <= set(logged.columns)
    best = Path(trainer.checkpoint_callback.best_model_path)
    assert best.parent == tmp_path / "run" / "checkpoints" and best.name.startswith("epoch=0-step=")
    assert trainer.checkpoint_callback.monitor == "validation/supervised_loss"


def test_zoobot_encoder_wraps_any_encoder_and_predicts_on_dict_batches():
    from zoobot.pytorch.training.representations import ZoobotEncoder
    from zoobot.scratch import get_pytorch_encoder

    encoder = ZoobotEncoder(get_pytorch_encoder("test_convnext"))
    images = torch.rand(3, 3, 32, 32)
    features = encoder.predict_step({"image": images, "id_str": ["a", "b", "c"]}, 0)
    assert features.shape == (3, 64) and torch.equal(features, encoder([images]))
    table = encoder.prediction_columns(np.asarray(features.detach()))
    assert list(table.columns)[:2] == ["feat_0", "feat_1"] and encoder.card.mean == (0.0, 0.0, 0.0)


def test_zoobot_1_names_say_what_replaced_them():
    with pytest.raises(ImportError, match="became FinetuneableZoobotClassifier"):
        from zoobot.pytorch.training.finetune import FinetunedZoobotLightningModule  # noqa: F401
    with pytest.raises(ImportError, match=r"load_pretrained_zoobot\(checkpoint_loc\)"):
        from zoobot.pytorch.training.finetune import load_encoder  # noqa: F401
    with pytest.raises(ImportError, match="encoders are timm models"):
        from zoobot.pytorch.estimators.define_model import get_plain_pytorch_zoobot_model  # noqa: F401
    with pytest.raises(ImportError, match="TensorFlow version, removed in Zoobot 2.0"):
        importlib.import_module("zoobot.tensorflow")
    finetune = importlib.import_module("zoobot.pytorch.training.finetune")
    assert not hasattr(finetune, "no_such_name")  # other names: a plain AttributeError
