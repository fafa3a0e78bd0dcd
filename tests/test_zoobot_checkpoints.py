"""Checkpoints both ways with real Zoobot 2.0 and 2.9, against the fixtures the real library wrote.

``tests/fixtures/zoobot/{2.0,2.9}`` hold checkpoints, Hugging Face repos (an offline cache) and outputs recorded
by real Zoobot (``scripts/zoobot_fixtures/make_fixtures.py``); ``2.9/project_checkpoints`` holds checkpoints this
project wrote and what real Zoobot 2.9 output after loading them. Real Zoobot is never imported here.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from zoobot.finetune import (
    EXTRAS_KEY,
    FinetuneableZoobotAbstract,
    FinetuneableZoobotClassifier,
    FinetuneableZoobotRegressor,
    FinetuneableZoobotTree,
    FinetuneArgumentError,
    UnsafeCheckpointError,
    download_finetuned,
    load_finetuned,
    read_checkpoint,
)
from zoobot.finetune.encoder_module import ZoobotEncoder
from zoobot.finetune.sources import load_pretrained_zoobot
from zoobot.runs import ConfigError, load_finetuned_model
from zoobot.schemas import Schema
from zoobot.scratch import ZoobotTree

FIXTURES = Path(__file__).parent / "fixtures" / "zoobot"
VERSIONS = ["2.0", "2.9"]
TASKS = {
    "classifier": FinetuneableZoobotClassifier,
    "regressor": FinetuneableZoobotRegressor,
    "tree": FinetuneableZoobotTree,
}
# float32 round-off: relative to the values (a tree's concentrations run to ~100) and absolute near zero.
RTOL, ATOL = 1e-5, 1e-5
TREE = Schema(
    {
        "smooth-or-featured": ["_smooth", "_featured-or-disk", "_artifact"],
        "disk-edge-on": ["_yes", "_no"],
        "has-spiral-arms": ["_yes", "_no"],
    },
    {
        "smooth-or-featured": None,
        "disk-edge-on": "smooth-or-featured_featured-or-disk",
        "has-spiral-arms": "disk-edge-on_no",
    },
)


def use_hub_cache(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """Point huggingface_hub at ``cache``, offline (it reads the environment only when imported)."""
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(params=VERSIONS)
def zoobot(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One real-Zoobot fixture folder, with its offline Hugging Face cache in use."""
    folder = FIXTURES / request.param
    use_hub_cache(monkeypatch, folder / "hf_home" / "hub")
    return folder


def outputs(module: torch.nn.Module, folder: Path) -> np.ndarray:
    module.eval()
    with torch.no_grad():
        return module(torch.from_numpy(np.load(folder / "input.npy"))).numpy()


def assert_same(actual: np.ndarray, expected_file: Path) -> None:
    expected = np.load(expected_file)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("task", TASKS)
def test_zoobot_checkpoints_reproduce_zoobots_outputs(zoobot, task):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 2.0's names; asserted below
        model = TASKS[task].load_from_checkpoint(zoobot / "checkpoints" / f"{task}.ckpt")
        any_task = load_finetuned(zoobot / "checkpoints" / f"{task}.ckpt")
    assert type(model) is TASKS[task] and type(any_task) is TASKS[task]
    assert_same(outputs(model, zoobot), zoobot / "outputs" / f"{task}_forward.npy")
    assert_same(outputs(model.encoder, zoobot), zoobot / "outputs" / f"{task}_encoder.npy")
    assert_same(outputs(any_task, zoobot), zoobot / "outputs" / f"{task}_forward.npy")
    if task == "tree":  # Zoobot's pickled Schema, rebuilt without running pickled code
        assert model.schema == TREE


def test_zoobot_2_0_names_are_translated_with_a_deprecation_warning(monkeypatch):
    use_hub_cache(monkeypatch, FIXTURES / "2.0" / "hf_home" / "hub")
    with pytest.warns(DeprecationWarning) as caught:
        model = FinetuneableZoobotClassifier.load_from_checkpoint(FIXTURES / "2.0" / "checkpoints" / "classifier.ckpt")
    messages = " ".join(str(w.message) for w in caught)
    for old in ("n_blocks", "lr_decay", "dropout_prob", "cosine_schedule=False"):
        assert old in messages
    assert model.settings.n_blocks == 2 and model.settings.layer_decay == 0.75


def test_in_memory_encoder_checkpoint_takes_the_encoder_again(zoobot):
    path = zoobot / "checkpoints" / "classifier_inmemory_encoder.ckpt"
    encoder = ZoobotEncoder.load_from_name("hf_hub:zoobot-fixtures/zoobot-encoder-test_convnext").encoder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(FinetuneArgumentError, match="No encoder given"):
            FinetuneableZoobotClassifier.load_from_checkpoint(path)
        model = FinetuneableZoobotClassifier.load_from_checkpoint(path, encoder=encoder)
    assert_same(outputs(model, zoobot), zoobot / "outputs" / "classifier_inmemory_encoder_forward.npy")


def test_zoobot_tree_checkpoints_and_their_encoder(zoobot):
    path = zoobot / "checkpoints" / "zoobot_tree.ckpt"
    model = ZoobotTree.load_from_checkpoint(path)
    assert type(model) is ZoobotTree and model.schema == TREE
    assert_same(outputs(model.encoder, zoobot), zoobot / "outputs" / "zoobot_tree_encoder.npy")
    assert type(FinetuneableZoobotTree.load_from_checkpoint(path)) is ZoobotTree  # a ZoobotTree is a tree model
    encoder = load_pretrained_zoobot(path)
    assert_same(outputs(encoder, zoobot), zoobot / "outputs" / "load_pretrained_zoobot_encoder.npy")


@pytest.mark.parametrize("task", TASKS)
def test_finetuned_models_from_the_hub_by_name(zoobot, task):
    repo = f"zoobot-fixtures/zoobot-finetuned-test_{task}"
    expected = zoobot / "outputs" / f"hub_finetuned_{task}_load_from_name.npy"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert_same(outputs(TASKS[task].load_from_name(repo, map_location="cpu"), zoobot), expected)
        assert_same(outputs(FinetuneableZoobotAbstract.load_from_name(f"hf_hub:{repo}"), zoobot), expected)
        assert_same(outputs(load_finetuned_model(repo), zoobot), expected)


def test_zoobot_encoder_from_the_hub(zoobot):
    encoder = ZoobotEncoder.load_from_name("hf_hub:zoobot-fixtures/zoobot-encoder-test_convnext")
    assert_same(outputs(encoder, zoobot), zoobot / "outputs" / "hub_encoder_zoobot_encoder.npy")
    features = encoder.predict_step({"image": torch.from_numpy(np.load(zoobot / "input.npy"))}, 0)
    assert features.shape == (2, 16)
    assert list(encoder.prediction_columns(features.detach().numpy()).columns) == [f"feat_{i}" for i in range(16)]


# --- the other direction: checkpoints this project writes ---

PROJECT = FIXTURES / "2.9" / "project_checkpoints"
PROJECT_CLASSES = {**TASKS, "zoobot_tree": ZoobotTree}


def zoobot_2_9_accepts(cls: type) -> set[str]:
    """The constructor arguments real Zoobot 2.9 accepts for this class (recorded in signatures.json)."""
    names = json.loads((FIXTURES / "2.9" / "signatures.json").read_text())["names"]
    if cls is ZoobotTree:
        return {p["name"] for p in names["zoobot.pytorch.estimators.define_model.ZoobotTree"]["parameters"]}
    own = names[f"zoobot.pytorch.training.finetune.{cls.__name__}"]["parameters"]
    shared = names["zoobot.pytorch.training.finetune.FinetuneableZoobotAbstract"]["parameters"]
    return {p["name"] for p in own + shared if p["kind"] != "VAR_KEYWORD"} - {"encoder"}


def test_real_zoobot_2_9_loaded_this_projects_checkpoints_with_identical_outputs(monkeypatch):
    use_hub_cache(monkeypatch, FIXTURES / "2.9" / "hf_home" / "hub")
    report = json.loads((PROJECT / "real_zoobot_loading.json").read_text())
    for task, cls in PROJECT_CLASSES.items():
        entry = report[f"{task}.ckpt"]
        assert entry["load_from_checkpoint"] == "ok" and entry["hparams_not_accepted"] == []
        checkpoint = read_checkpoint(PROJECT / f"{task}.ckpt")
        assert set(checkpoint["hyper_parameters"]) <= zoobot_2_9_accepts(cls)
        model = cls.load_from_checkpoint(PROJECT / f"{task}.ckpt")
        assert_same(outputs(model, FIXTURES / "2.9"), PROJECT / "real_zoobot_outputs" / f"{task}_forward.npy")
    assert report["tree.ckpt"]["schema_class"] == "zoobot.shared.schemas.Schema"


def save(model: torch.nn.Module, path: Path) -> Path:
    import lightning as L

    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, accelerator="cpu")
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path, weights_only=True)
    return path


def pickled_classes(path: Path) -> set[str]:
    """The classes and functions a checkpoint's pickle names, besides torch's own and ``OrderedDict``."""
    import pickletools
    import zipfile

    with zipfile.ZipFile(path) as archive:
        data = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    names = {str(arg) for op, arg, _ in pickletools.genops(data) if op.name in ("GLOBAL", "STACK_GLOBAL")}
    return {n for n in names if not n.startswith("torch") and n != "collections OrderedDict"}


@pytest.mark.parametrize("cls", PROJECT_CLASSES.values(), ids=lambda c: c.__name__)
def test_a_saved_checkpoint_holds_only_zoobot_2_9_hyperparameters_and_reloads_exactly(cls, tmp_path):
    kwargs = {
        FinetuneableZoobotClassifier: {"num_classes": 3, "class_weights": [1.0, 2.0, 1.0], "name": "demo"},
        FinetuneableZoobotRegressor: {
            "label_cols": ["a", "b"],
            "unit_interval": True,
            "channels": 1,
            "name": "test_convnext",
        },
        FinetuneableZoobotTree: {"schema": TREE, "name": "test_convnext", "freeze_norm_stats": True},
        ZoobotTree: {"schema": TREE, "architecture_name": "test_convnext", "input_size": 32},
    }[cls]
    model = cls(**kwargs)
    path = save(model, tmp_path / "model.ckpt")
    checkpoint = read_checkpoint(path)
    assert set(checkpoint["hyper_parameters"]) <= zoobot_2_9_accepts(cls)
    assert checkpoint[EXTRAS_KEY]["class"] == cls.__name__
    expected = {"zoobot.shared.schemas Schema"} if cls is FinetuneableZoobotTree else set()
    assert pickled_classes(path) == expected  # what real Zoobot rebuilds its own Schema from
    reloaded = FinetuneableZoobotAbstract.load_from_checkpoint(path)
    assert type(reloaded) is cls and dict(reloaded.hparams) == dict(model.hparams) and reloaded.card == model.card
    x = torch.rand(2, model.card.channels, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), reloaded.eval()(x))


def test_a_missing_path_or_a_folder_is_said_so_not_called_a_damaged_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for load in (
        FinetuneableZoobotClassifier.load_from_checkpoint,
        ZoobotTree.load_from_checkpoint,
        load_pretrained_zoobot,
    ):
        with pytest.raises(
            FileNotFoundError, match=rf"no checkpoint file does/not/exist.ckpt \(looked for from {tmp_path}"
        ):
            load("does/not/exist.ckpt")
    with pytest.raises(FinetuneArgumentError, match=r"is a folder.*It holds checkpoints/classifier.ckpt"):
        FinetuneableZoobotClassifier.load_from_checkpoint(FIXTURES / "2.9")


def test_pickled_code_is_refused_with_a_plain_message(tmp_path):
    torch.save({"state_dict": {}, "hyper_parameters": {"callback": Path("x")}}, tmp_path / "odd.ckpt")
    with pytest.raises(UnsafeCheckpointError, match=r"not a safe checkpoint.*pathlib.*safetensors") as caught:
        load_finetuned(tmp_path / "odd.ckpt")
    assert "weights_only" not in str(caught.value)


def test_unknown_hyperparameters_and_other_tasks_are_refused(zoobot, tmp_path):
    checkpoint = read_checkpoint(zoobot / "checkpoints" / "classifier.ckpt")
    checkpoint["hyper_parameters"]["colour"] = True
    torch.save(checkpoint, tmp_path / "odd.ckpt")
    with pytest.raises(FinetuneArgumentError, match="does not accept.*unexpected keyword argument 'colour'"):
        load_finetuned(tmp_path / "odd.ckpt")
    with pytest.raises(FinetuneArgumentError, match="holds a FinetuneableZoobotTree, not a FinetuneableZoobotClass"):
        FinetuneableZoobotClassifier.load_from_checkpoint(zoobot / "checkpoints" / "tree.ckpt")


def test_this_packages_older_head_keys_are_renamed_with_a_warning(tmp_path):
    model = FinetuneableZoobotClassifier(num_classes=2, name="test_convnext").eval()
    checkpoint = read_checkpoint(save(model, tmp_path / "new.ckpt"))
    checkpoint["state_dict"] = {k.replace("head.linear.", "head.1."): v for k, v in checkpoint["state_dict"].items()}
    torch.save(checkpoint, tmp_path / "old.ckpt")
    with pytest.warns(DeprecationWarning, match="older version of this package"):
        old = load_finetuned(tmp_path / "old.ckpt")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(old(x), model(x))


def test_a_published_encoder_is_rebuilt_from_the_registry_without_the_hub(tmp_path, monkeypatch):
    from zoobot.encoders import EncoderCard, cards

    use_hub_cache(monkeypatch, tmp_path / "empty_cache")  # nothing cached, offline: no download possible
    tiny = EncoderCard(
        name="tiny",
        source="hf_hub:mwalmsley/zoobot-encoder-tiny",
        architecture="test_convnext",
        input_size=(3, 224, 224),
        channels=3,
        mean=(0.0,) * 3,
        std=(1.0,) * 3,
        feature_dim=64,
        n_params=1,
        licence="apache-2.0",
    )
    monkeypatch.setattr(cards, "_published_cards", lambda: [tiny])
    model = FinetuneableZoobotClassifier(num_classes=2, name="test_convnext").eval()
    checkpoint = read_checkpoint(save(model, tmp_path / "model.ckpt"))
    checkpoint["hyper_parameters"]["name"] = tiny.source  # as real Zoobot writes it: the Hub name, no extras
    del checkpoint[EXTRAS_KEY]
    torch.save(checkpoint, tmp_path / "zoobot.ckpt")
    reloaded = load_finetuned(tmp_path / "zoobot.ckpt")
    assert reloaded.card.name == "tiny"
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(reloaded(x), model(x))


def test_any_finetuned_model_source_loads_or_is_explained(monkeypatch, tmp_path):
    use_hub_cache(monkeypatch, FIXTURES / "2.9" / "hf_home" / "hub")
    assert type(load_finetuned_model(FIXTURES / "2.9" / "checkpoints" / "tree.ckpt")) is FinetuneableZoobotTree
    assert type(load_finetuned_model("hf_hub:zoobot-fixtures/zoobot-finetuned-test_tree")) is FinetuneableZoobotTree
    with pytest.raises(ConfigError, match="No finetuned model found at no-such-thing.*Hugging Face repo"):
        load_finetuned_model("no-such-thing")
    with pytest.raises(FinetuneArgumentError, match="holds no finetuned model"):
        load_finetuned_model("zoobot-fixtures/zoobot-encoder-test_convnext")
    # a mistyped run folder reads as a Hub name too: the message says both
    with pytest.raises(FinetuneArgumentError, match=r"There is no file or folder runs/rnig here.*holds no finetuned"):
        load_finetuned_model("runs/rnig")


def test_once_the_hub_cannot_be_reached_the_other_files_are_looked_for_in_the_cache_only(monkeypatch):
    """Each file asked of an unreachable Hub costs about 25 s of retries: only the first is asked of it."""
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    asked: list[tuple[str, bool]] = []

    def unreachable(repo_id, filename, local_files_only=False, **kwargs):
        asked.append((filename, local_files_only))
        raise LocalEntryNotFoundError("the Hub cannot be reached and the file is not in the cache")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    with pytest.raises(FinetuneArgumentError, match="holds no finetuned model"):
        download_finetuned("someone/zoobot-finetuned-ring", FinetuneableZoobotClassifier)
    assert asked[0] == ("FinetuneableZoobotClassifier.ckpt", False)
    assert len(asked) > 2 and all(local for _, local in asked[1:])
