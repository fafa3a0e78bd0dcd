"""Write (and verify) small fixtures with the REAL Zoobot 2.x library, for this project's compatibility tests.

Run this with the python of a virtual environment where real Zoobot is installed (never this project's venv; the
project's own tests must never import real Zoobot). See README.md beside this file for how the two environments
were built and the exact versions used:

    /work/zb29/bin/python scripts/zoobot_fixtures/make_fixtures.py --out tests/fixtures/zoobot/2.9
    /work/zb20/bin/python scripts/zoobot_fixtures/make_fixtures.py --out tests/fixtures/zoobot/2.0
    # after both exist: what each real version does with the other version's checkpoints
    /work/zb29/bin/python scripts/zoobot_fixtures/make_fixtures.py --out tests/fixtures/zoobot/2.9 \
        --cross-check tests/fixtures/zoobot/2.0
    /work/zb20/bin/python scripts/zoobot_fixtures/make_fixtures.py --out tests/fixtures/zoobot/2.0 \
        --cross-check tests/fixtures/zoobot/2.9
    # reload everything with real Zoobot and compare with the recorded outputs (max abs diff)
    /work/zb29/bin/python scripts/zoobot_fixtures/make_fixtures.py --out tests/fixtures/zoobot/2.9 --verify
    # the other direction: real Zoobot loads checkpoints THIS project wrote (make_project_checkpoints.py, run first)
    /work/zb29/bin/python scripts/zoobot_fixtures/make_fixtures.py --out tests/fixtures/zoobot/2.9 --load-project
    # the signatures of the names users call (signatures.json)
    /work/zb29/bin/python scripts/zoobot_fixtures/make_fixtures.py --out tests/fixtures/zoobot/2.9 --signatures

What is written under ``--out`` (all seeded, so a rerun in the same environment gives the same bytes):

- ``images/`` twelve 64x64 RGB PNG "galaxies" and ``catalog.csv`` (id_str, file_loc relative to ``--out``, labels);
- ``input.npy``: a fixed (2, 3, 64, 64) float32 input in [0, 1];
- ``checkpoints/``: Lightning checkpoints written by real Zoobot: one finetuned model per task (classifier,
  regressor, tree) made by ``get_trainer`` + ``trainer.fit`` for one epoch, one classifier built on an in-memory
  encoder, and one ``ZoobotTree`` trained from scratch by ``train_default_zoobot_from_scratch``;
- ``outputs/``: each model's eval-mode output on ``input.npy`` (``*_forward.npy``) and its encoder's features;
- ``predictions/``: the files ``predict_on_catalog.predict`` writes for each task (CSV, and HDF5 where supported),
  with ``load_predictions.json`` (beside ``predictions/``) describing what ``zoobot.shared.load_predictions``
  returns for them;
- ``hf_home/hub/``: an offline Hugging Face cache with a tiny encoder in the format of the published
  ``mwalmsley/zoobot-encoder-*`` repos and one finetuned model per task in the format of the published
  ``mwalmsley/zoobot-finetuned-*`` repos, under the made-up owner ``zoobot-fixtures``;
- ``schemas.json`` (every named schema in ``zoobot.shared.schemas``), ``checkpoint_summary.json`` (state_dict keys
  and shapes, hyper_parameters and their types), ``manifest.json`` (versions, settings, logged metric names,
  behaviours observed) and, with ``--cross-check``, ``cross_version_loading.json``;
- with ``--signatures``: ``signatures.json``, the parameters of every name users call (see ``USER_FACING``);
- with ``--load-project``: ``project_checkpoints/real_zoobot_outputs/`` and ``real_zoobot_loading.json``, what real
  Zoobot does with the checkpoints this project wrote there.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy imports happen inside functions, after the Hugging Face variables are set
    import numpy as np
    import pandas as pd

OWNER = "zoobot-fixtures"
ENCODER_REPO = f"{OWNER}/zoobot-encoder-test_convnext"
ENCODER_SAFETENSORS_REPO = f"{OWNER}/zoobot-encoder-test_convnext_safetensors"
ENCODER_NAME = f"hf_hub:{ENCODER_REPO}"
ARCHITECTURE = "test_convnext"
ENCODER_ARGS = {"dims": [8, 8, 16, 16], "depths": [1, 1, 1, 1]}
IMAGE_SIZE = 64
N_IMAGES = 12
N_PREDICT = 6  # predict on the first six images: batches of 4 and 2 (a batch of 1 breaks the regressor's squeeze)
BATCH_SIZE = 4
NUM_CLASSES = 3
SEED = 42
TOLERANCE = 1e-5
TREE_PAIRS = {
    "smooth-or-featured": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on": ["_yes", "_no"],
    "has-spiral-arms": ["_yes", "_no"],
}
TREE_DEPENDENCIES = {
    "smooth-or-featured": None,
    "disk-edge-on": "smooth-or-featured_featured-or-disk",
    "has-spiral-arms": "disk-edge-on_no",
}
CLASS_NAMES = {
    "classifier": "FinetuneableZoobotClassifier",
    "classifier_inmemory_encoder": "FinetuneableZoobotClassifier",
    "regressor": "FinetuneableZoobotRegressor",
    "tree": "FinetuneableZoobotTree",
}
FINETUNED_REPOS = {task: f"{OWNER}/zoobot-finetuned-test_{task}" for task in ("classifier", "regressor", "tree")}
PACKAGES = [
    "zoobot",
    "torch",
    "torchvision",
    "timm",
    "lightning",
    "pytorch-lightning",
    "torchmetrics",
    "galaxy-datasets",
    "huggingface_hub",
    "safetensors",
    "pandas",
    "numpy",
    "h5py",
    "pillow",
    "albumentations",
    "pyro-ppl",
    "omegaconf",
    "scikit-learn",
    "scipy",
    "pyarrow",
    "setuptools",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        required=True,
        help="fixture folder for this Zoobot version, e.g. tests/fixtures/zoobot/2.9",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="reload the fixtures with real Zoobot and compare outputs",
    )
    parser.add_argument(
        "--cross-check",
        metavar="OTHER_DIR",
        help="load another version's checkpoints with this one",
    )
    parser.add_argument(
        "--signatures",
        action="store_true",
        help="record the signatures of the names Zoobot's README, docs and examples call (signatures.json)",
    )
    parser.add_argument(
        "--load-project",
        action="store_true",
        help="load the checkpoints this project wrote into <out>/project_checkpoints (make_project_checkpoints.py) "
        "and record what real Zoobot outputs",
    )
    args = parser.parse_args()
    out = Path(args.out).resolve()
    # Hugging Face reads these when imported, so they are set before timm or huggingface_hub is imported.
    os.environ["HF_HOME"] = str(out / "hf_home")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE"):
        os.environ.pop(variable, None)
    import torch

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="zoobot_fixture_run_"))
    cwd = os.getcwd()
    os.chdir(work)  # Lightning writes logs relative to the working directory
    try:
        if args.cross_check:
            return cross_check(out, Path(cwd, args.cross_check).resolve())
        if args.load_project:
            return load_project(out)
        if args.signatures:
            return record_signatures(out)
        if args.verify:
            return verify(out)
        generate(out, work)
        return verify(out)
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# Which Zoobot is this? Decided from signatures, not version strings, so a 2.0.x or 2.9.x patch release works too.
# ---------------------------------------------------------------------------------------------------------------


class Api:
    """The parts of real Zoobot (and its Lightning package) this script calls, for the installed version."""

    def __init__(self) -> None:
        from zoobot.pytorch.predictions import predict_on_catalog
        from zoobot.pytorch.training import finetune

        self.finetune = finetune
        self.predict_on_catalog = predict_on_catalog
        self.version = importlib.metadata.version("zoobot")
        self.legacy = "n_samples" in inspect.signature(predict_on_catalog.predict).parameters  # 2.0.x
        self.pl = importlib.import_module("pytorch_lightning" if self.legacy else "lightning.pytorch")

    def finetune_class(self, task: str):
        return getattr(self.finetune, CLASS_NAMES[task])

    def seed(self, seed: int = SEED) -> None:
        self.pl.seed_everything(seed, workers=True)


def versions() -> dict[str, str | None]:
    found = {}
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    found["python"] = sys.version.split()[0]
    return found


# ---------------------------------------------------------------------------------------------------------------
# Data: images, catalog, fixed input
# ---------------------------------------------------------------------------------------------------------------


def make_images(out: Path) -> pd.DataFrame:
    """Twelve seeded 64x64 RGB galaxies (round, elongated, ringed) with labels for every task."""
    import numpy as np
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(SEED)
    (out / "images").mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] - (IMAGE_SIZE - 1) / 2
    rows = []
    for n in range(N_IMAGES):
        kind = n % NUM_CLASSES
        angle = rng.uniform(0, np.pi)
        axis_ratio = (1.0, 0.35, 0.9)[kind] * rng.uniform(0.85, 1.0)
        u = xx * np.cos(angle) + yy * np.sin(angle)
        v = (-xx * np.sin(angle) + yy * np.cos(angle)) / axis_ratio
        radius = np.hypot(u, v) / rng.uniform(5, 9)
        light = np.exp(-(radius**1.2))
        if kind == 2:
            light = light + 0.6 * np.exp(-((radius - 2.2) ** 2) / 0.15)
        tint = rng.uniform(0.7, 1.0, size=3)
        pixels = light[..., None] * tint + rng.normal(0, 0.02, size=(IMAGE_SIZE, IMAGE_SIZE, 3))
        pixels = (np.clip(pixels / pixels.max(), 0, 1) * 255).round().astype(np.uint8)
        file_loc = f"images/gal_{n:03d}.png"
        Image.fromarray(pixels, mode="RGB").save(out / file_loc, optimize=True)
        votes = vote_counts(rng, kind)
        rows.append(
            {
                "id_str": f"gal_{n:03d}",
                "file_loc": file_loc,
                "label": kind,
                "target": round(float(axis_ratio), 4),
                **votes,
            }
        )
    catalog = pd.DataFrame(rows)
    catalog.to_csv(out / "catalog.csv", index=False)
    return catalog


def vote_counts(rng, kind: int) -> dict[str, int]:
    """Volunteer votes consistent with TREE_PAIRS/TREE_DEPENDENCIES: a follow-up question's votes sum to the votes
    for the answer it follows."""
    total = 10
    p_first = [(0.8, 0.15, 0.05), (0.1, 0.85, 0.05), (0.3, 0.65, 0.05)][kind]
    smooth, featured, artifact = rng.multinomial(total, p_first)
    edge_on_yes, edge_on_no = rng.multinomial(featured, (0.7, 0.3) if kind == 1 else (0.1, 0.9))
    spiral_yes, spiral_no = rng.multinomial(edge_on_no, (0.6, 0.4))
    values = [
        smooth,
        featured,
        artifact,
        edge_on_yes,
        edge_on_no,
        spiral_yes,
        spiral_no,
    ]
    return dict(zip(label_cols_of_tree(), (int(v) for v in values), strict=True))


def label_cols_of_tree() -> list[str]:
    return [question + answer for question, answers in TREE_PAIRS.items() for answer in answers]


def absolute_catalog(out: Path):
    import pandas as pd

    catalog = pd.read_csv(out / "catalog.csv")
    catalog["file_loc"] = [str(out / loc) for loc in catalog["file_loc"]]
    return catalog


def pixels_over_255(out: Path, catalog) -> np.ndarray:
    """The preprocessing used for every prediction here: PIL RGB -> float32 / 255, channels first."""
    import numpy as np
    from PIL import Image

    images = [np.asarray(Image.open(out / loc).convert("RGB"), dtype=np.float32) / 255.0 for loc in catalog["file_loc"]]
    return np.stack(images).transpose(0, 3, 1, 2)


# ---------------------------------------------------------------------------------------------------------------
# The offline Hugging Face cache
# ---------------------------------------------------------------------------------------------------------------


def write_hub_repo(out: Path, repo_id: str, files: dict[str, bytes], missing: tuple[str, ...] = ()) -> str:
    """Lay files out as huggingface_hub's cache does: models--owner--name/{refs/main, snapshots/<commit>/...}.

    ``missing`` lists files a download recorded as absent (``.no_exist``), as a real cache of a repo without
    ``model.safetensors`` has. The commit hash is made up but stable: the sha1 of the files' names and bytes.
    """
    digest = hashlib.sha1()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name])
    commit = digest.hexdigest()
    repo_dir = out / "hf_home" / "hub" / ("models--" + repo_id.replace("/", "--"))
    shutil.rmtree(repo_dir, ignore_errors=True)
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name, content in files.items():
        (snapshot / name).write_bytes(content)
    for name in missing:
        marker = repo_dir / ".no_exist" / commit / name
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_bytes(b"")
    return commit


def model_card(repo_id: str) -> bytes:
    return (
        "---\ntags:\n- image-classification\n- timm\nlibrary_name: timm\nlicense: apache-2.0\n---\n"
        f"# Model card for {repo_id.split('/')[-1]}\n\n"
        "Tiny random-weight test encoder written by scripts/zoobot_fixtures/make_fixtures.py, laid out like the\n"
        "published Zoobot encoders (timm config.json + weights). Not a trained model.\n"
    ).encode()


def write_encoders(out: Path, work: Path) -> None:
    """A tiny timm ConvNeXt saved by timm's own ``save_for_hf``: pytorch_model.bin (as published) and safetensors."""
    import timm
    import torch
    from timm.models import save_for_hf

    torch.manual_seed(SEED)
    encoder = timm.create_model(ARCHITECTURE, num_classes=0, **ENCODER_ARGS)
    with torch.no_grad():  # move every weight (e.g. layer scale starts at 1e-6) so each layer shows in the output
        for parameter in encoder.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    for repo_id, serialization, weights, missing in (
        (ENCODER_REPO, False, "pytorch_model.bin", ("model.safetensors",)),
        (ENCODER_SAFETENSORS_REPO, True, "model.safetensors", ()),
    ):
        folder = work / repo_id.replace("/", "--")
        save_for_hf(encoder, folder, model_args=ENCODER_ARGS, safe_serialization=serialization)
        files = {name: (folder / name).read_bytes() for name in ("config.json", weights)}
        files["README.md"] = model_card(repo_id)
        write_hub_repo(out, repo_id, files, missing)


# ---------------------------------------------------------------------------------------------------------------
# Finetuning and training from scratch, as a user of each version would
# ---------------------------------------------------------------------------------------------------------------


def datamodule(api: Api, catalog, label_cols: list[str]):
    """Train on images 0-7, validate on 8-11, with the deterministic pixels/255 transform."""
    train, val = (
        catalog.iloc[:8].reset_index(drop=True),
        catalog.iloc[8:].reset_index(drop=True),
    )
    common = {
        "label_cols": label_cols,
        "train_catalog": train,
        "val_catalog": val,
        "batch_size": BATCH_SIZE,
        "num_workers": 0,
    }
    if api.legacy:
        from galaxy_datasets.pytorch.galaxy_datamodule import GalaxyDataModule

        return GalaxyDataModule(custom_albumentation_transform=albumentations_pixels_over_255(), **common)
    from galaxy_datasets.pytorch.galaxy_datamodule import CatalogDataModule

    transform = torchvision_pixels_over_255()
    return CatalogDataModule(train_transform=transform, test_transform=transform, **common)


def albumentations_pixels_over_255():
    import albumentations as A

    return A.Compose([A.ToFloat(max_value=255.0, always_apply=True)])


def torchvision_pixels_over_255():
    """galaxy-datasets' fast_view_config at 64 px: center crop (a no-op at 64 px), PIL -> tensor, / 255."""
    from galaxy_datasets import transforms

    config = transforms.fast_view_config()
    config.output_size = IMAGE_SIZE
    return transforms.get_galaxy_transform(config)


def task_settings(api: Api, task: str, encoder=None) -> tuple[dict, list[str]]:
    """Constructor kwargs and label columns for each task, in each version's spelling."""
    from zoobot.shared.schemas import Schema

    common = {"learning_rate": 1e-3, "seed": SEED, "prog_bar": False}
    common.update({"encoder": encoder} if encoder is not None else {"name": ENCODER_NAME})
    common.update({"n_blocks": 2} if api.legacy else {"training_mode": "full"})
    if task.startswith("classifier"):
        kwargs = {
            "num_classes": NUM_CLASSES,
            **({} if api.legacy else {"label_col": "label"}),
        }
        return {**common, **kwargs}, ["label"]
    if task == "regressor":
        kwargs = {
            "loss": "mse",
            "unit_interval": False,
            **({} if api.legacy else {"label_col": "target"}),
        }
        return {**common, **kwargs}, ["target"]
    schema = Schema(TREE_PAIRS, TREE_DEPENDENCIES)
    return {**common, "schema": schema}, schema.label_cols


def fit(api: Api, task: str, catalog, save_dir: Path):
    """One epoch of finetuning with ``finetune.get_trainer``, as the docs do it; returns the trainer and kwargs."""
    import timm

    api.seed()
    encoder = None
    if task == "classifier_inmemory_encoder":
        encoder = timm.create_model(ENCODER_NAME, pretrained=True, num_classes=0)
    kwargs, label_cols = task_settings(api, task, encoder)
    model = api.finetune_class(task)(**kwargs)
    trainer = api.finetune.get_trainer(
        str(save_dir),
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=api.pl.loggers.CSVLogger(str(save_dir)),
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        log_every_n_steps=1,
        default_root_dir=str(save_dir),
    )
    trainer.fit(model, datamodule(api, catalog, label_cols))
    return trainer, kwargs


def finetune_task(api: Api, out: Path, work: Path, task: str, catalog) -> dict:
    """Finetune one epoch and keep the checkpoint that get_trainer's ModelCheckpoint wrote."""
    save_dir = work / task
    trainer, kwargs = fit(api, task, catalog, save_dir)
    best = Path(trainer.checkpoint_callback.best_model_path)
    target = out / "checkpoints" / f"{task}.ckpt"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(best, target)
    metrics_csv = next(save_dir.rglob("metrics.csv"))
    return {
        "checkpoint": target.relative_to(out).as_posix(),
        "checkpoint_name_written_by_get_trainer": best.name,
        "logged_metrics": sorted(trainer.logged_metrics),
        "callback_metrics": sorted(trainer.callback_metrics),
        "metrics_csv_columns": metrics_csv.read_text().splitlines()[0].split(","),
        "callbacks": [type(callback).__name__ for callback in trainer.callbacks],
        "constructor_kwargs": {k: describe(v) for k, v in kwargs.items()},
    }


def train_from_scratch(api: Api, out: Path, work: Path, catalog) -> dict:
    """A tiny ``ZoobotTree`` through the real ``train_default_zoobot_from_scratch`` (CPU, one epoch)."""
    from zoobot.pytorch.training import train_with_pytorch_lightning as twpl
    from zoobot.shared.schemas import Schema

    api.seed()
    schema = Schema(TREE_PAIRS, TREE_DEPENDENCIES)
    kwargs = {
        "save_dir": str(work / "from_scratch"),
        "schema": schema,
        "catalog": catalog,
        "epochs": 1,
        "patience": 1,
        "architecture_name": ARCHITECTURE,
        "timm_kwargs": dict(ENCODER_ARGS),
        "batch_size": BATCH_SIZE,
        "gpus": 0,
        "num_workers": 1,
        "prefetch_factor": 2,
        "random_state": SEED,
    }
    if api.legacy:
        kwargs.update(color=True, resize_after_crop=IMAGE_SIZE)
    else:
        from galaxy_datasets import transforms

        config = transforms.minimal_view_config()
        config.output_size = IMAGE_SIZE
        kwargs.update(transform_cfg=config)
    _, trainer = twpl.train_default_zoobot_from_scratch(**kwargs)
    best = Path(trainer.checkpoint_callback.best_model_path)
    target = out / "checkpoints" / "zoobot_tree.ckpt"
    shutil.copyfile(best, target)
    metrics_csv = next((work / "from_scratch").rglob("metrics.csv"))
    return {
        "checkpoint": target.relative_to(out).as_posix(),
        "checkpoint_name_written": best.name,
        "metrics_csv_columns": metrics_csv.read_text().splitlines()[0].split(","),
        "logged_metrics": sorted(trainer.logged_metrics),
        "callbacks": [type(callback).__name__ for callback in trainer.callbacks],
        "call": {k: describe(v) for k, v in kwargs.items() if k not in ("catalog", "save_dir")},
    }


# ---------------------------------------------------------------------------------------------------------------
# Outputs on the fixed input, predictions, load_predictions
# ---------------------------------------------------------------------------------------------------------------


def load_checkpoint(api: Api, out: Path, task: str):
    import timm

    path = out / "checkpoints" / f"{task}.ckpt"
    if task == "zoobot_tree":
        from zoobot.pytorch.estimators import define_model

        return define_model.ZoobotTree.load_from_checkpoint(str(path), map_location="cpu")
    extra = loading_kwargs(task)
    if task == "classifier_inmemory_encoder":  # the encoder is never saved as a hyperparameter: pass it again
        extra["encoder"] = timm.create_model(ENCODER_NAME, pretrained=True, num_classes=0)
    return api.finetune_class(task).load_from_checkpoint(str(path), map_location="cpu", **extra)


def loading_kwargs(task: str) -> dict:
    """A tree checkpoint pickles a zoobot Schema in its hyperparameters, which torch>=2.6's default
    ``weights_only=True`` refuses (see manifest.json "observed"), so it is loaded with ``weights_only=False``."""
    return {"weights_only": False} if task == "tree" else {}


def model_outputs(api: Api, out: Path) -> dict[str, np.ndarray]:
    """Every model's eval-mode output on input.npy, loaded the ways a Zoobot user loads them."""
    import numpy as np
    import timm
    import torch

    from zoobot.pytorch.training import representations

    x = torch.from_numpy(np.load(out / "input.npy"))
    results = {}

    def run(name: str, module) -> None:
        module.eval()
        with torch.no_grad():
            results[name] = module(x).numpy()

    for task in CLASS_NAMES:
        model = load_checkpoint(api, out, task)
        run(f"{task}_forward", model)
        run(f"{task}_encoder", model.encoder)
    tree = load_checkpoint(api, out, "zoobot_tree")
    run("zoobot_tree_encoder", tree.encoder)  # its head uses test-time dropout, so only the encoder is recorded
    run(
        "hub_encoder_timm",
        timm.create_model(ENCODER_NAME, pretrained=True, num_classes=0),
    )
    run(
        "hub_encoder_safetensors_timm",
        timm.create_model(f"hf_hub:{ENCODER_SAFETENSORS_REPO}", pretrained=True, num_classes=0),
    )
    run(
        "hub_encoder_zoobot_encoder",
        representations.ZoobotEncoder.load_from_name(ENCODER_NAME),
    )
    run(
        "load_pretrained_zoobot_encoder",
        api.finetune.load_pretrained_zoobot(str(out / "checkpoints" / "zoobot_tree.ckpt")),
    )
    for task, repo_id in FINETUNED_REPOS.items():
        model = api.finetune_class(task).load_from_name(repo_id, map_location="cpu", **loading_kwargs(task))
        run(f"hub_finetuned_{task}_load_from_name", model)
    return results


def predict_all(api: Api, out: Path, catalog, folder: Path) -> dict:
    """predict_on_catalog.predict for each task, writing into ``folder``; returns what was called."""
    import numpy as np
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    predict_catalog = catalog.iloc[:N_PREDICT][["id_str", "file_loc"]].reset_index(drop=True)
    trainer_kwargs = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_progress_bar": False,
    }
    label_cols = {
        "classifier": [f"class_{n}" for n in range(NUM_CLASSES)],
        "regressor": ["target"],
        "tree": label_cols_of_tree(),
    }
    written = {}
    for task, cols in label_cols.items():
        model = load_checkpoint(api, out, task)
        if api.legacy:
            datamodule_kwargs = {
                "custom_albumentation_transform": albumentations_pixels_over_255(),
                "batch_size": BATCH_SIZE,
                "num_workers": 0,
            }
            for n_samples in (1, 2):
                for suffix in ("csv", "hdf5"):
                    name = f"{task}_n{n_samples}.{suffix}"
                    api.predict_on_catalog.predict(
                        predict_catalog,
                        model,
                        n_samples=n_samples,
                        label_cols=cols,
                        save_loc=str(folder / name),
                        datamodule_kwargs=datamodule_kwargs,
                        trainer_kwargs=trainer_kwargs,
                    )
                    written[name] = {
                        "task": task,
                        "n_samples": n_samples,
                        "label_cols": cols,
                    }
        else:
            name = f"{task}.csv"
            api.predict_on_catalog.predict(
                predict_catalog,
                model,
                save_loc=str(folder / name),
                label_cols=cols,
                inference_transform=torchvision_pixels_over_255(),
                datamodule_kwargs={"batch_size": BATCH_SIZE, "num_workers": 0},
                trainer_kwargs=trainer_kwargs,
            )
            written[name] = {"task": task, "label_cols": cols}
        model.eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(pixels_over_255(out, predict_catalog))).numpy()
        if task == "classifier":
            logits = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        np.save(folder / f"{task}_expected.npy", logits.astype(np.float32))
    representations = predict_representations(api, folder, predict_catalog, trainer_kwargs)
    return {"files": written, "representations": representations}


def predict_representations(api: Api, folder: Path, predict_catalog, trainer_kwargs: dict) -> dict:
    """The representations recipe of the docs: ZoobotEncoder + predict_on_catalog.predict."""
    from zoobot.pytorch.training import representations

    model = representations.ZoobotEncoder.load_from_name(ENCODER_NAME)
    cols = [f"feat_{n}" for n in range(ENCODER_ARGS["dims"][-1])]
    try:
        if api.legacy:
            name = "representations.hdf5"
            api.predict_on_catalog.predict(
                predict_catalog,
                model,
                n_samples=1,
                label_cols=cols,
                save_loc=str(folder / name),
                datamodule_kwargs={
                    "custom_albumentation_transform": albumentations_pixels_over_255(),
                    "batch_size": BATCH_SIZE,
                    "num_workers": 0,
                },
                trainer_kwargs=trainer_kwargs,
            )
        else:
            name = "representations.csv"
            api.predict_on_catalog.predict(
                predict_catalog,
                model,
                save_loc=str(folder / name),
                label_cols=cols,
                inference_transform=torchvision_pixels_over_255(),
                datamodule_kwargs={"batch_size": BATCH_SIZE, "num_workers": 0},
                trainer_kwargs=trainer_kwargs,
            )
        return {"file": f"predictions/{name}", "label_cols": cols}
    except Exception as error:  # noqa: BLE001 - recorded, not hidden: a behaviour of the real library
        return {
            "error": f"{type(error).__name__}: {error}",
            "where": traceback.format_exc().splitlines()[-3].strip(),
        }


def observe(api: Api, out: Path, catalog) -> dict:
    """Behaviours of the real library that a compatible reimplementation has to know about, recorded as seen."""
    import pandas as pd

    seen = {}

    def attempt(label: str, call) -> None:
        try:
            result = call()
            seen[label] = "ok" if result is None else f"ok: {result}"
        except Exception as error:  # noqa: BLE001 - the failure is the observation, recorded in the manifest
            first_line = re.sub(r"\x1b\[[0-9;]*m", "", str(error).strip().splitlines()[0])
            seen[label] = f"{type(error).__name__}: {first_line}"

    tree = out / "checkpoints" / "tree.ckpt"
    attempt(
        "FinetuneableZoobotTree.load_from_checkpoint(tree.ckpt) with the default weights_only",
        lambda: type(api.finetune_class("tree").load_from_checkpoint(str(tree), map_location="cpu")).__name__,
    )
    attempt(
        "finetune.load_pretrained_zoobot(tree.ckpt) (a FinetuneableZoobotTree checkpoint)",
        lambda: type(api.finetune.load_pretrained_zoobot(str(tree))).__name__,
    )
    attempt(
        "finetune.load_pretrained_zoobot(classifier.ckpt)",
        lambda: type(api.finetune.load_pretrained_zoobot(str(out / "checkpoints" / "classifier.ckpt"))).__name__,
    )
    if not api.legacy:
        model = load_checkpoint(api, out, "classifier")
        save_loc = Path.cwd() / "classifier_predictions.hdf5"

        def predict_to_hdf5() -> str:
            api.predict_on_catalog.predict(
                catalog.iloc[:N_PREDICT][["id_str", "file_loc"]],
                model,
                save_loc=str(save_loc),
                label_cols=[f"class_{n}" for n in range(NUM_CLASSES)],
                inference_transform=torchvision_pixels_over_255(),
                datamodule_kwargs={"batch_size": BATCH_SIZE, "num_workers": 0},
                trainer_kwargs={
                    "accelerator": "cpu",
                    "logger": False,
                    "enable_progress_bar": False,
                },
            )
            return (
                "file starts with "
                + repr(save_loc.read_bytes()[:40])
                + "; read_csv columns "
                + str(list(pd.read_csv(save_loc).columns))
            )

        attempt("predict(..., save_loc='x.hdf5') in 2.9", predict_to_hdf5)
    return seen


def describe_load_predictions(api: Api, out: Path) -> dict:
    """Call zoobot.shared.load_predictions on the prediction files and describe exactly what comes back."""
    import pandas as pd

    from zoobot.shared import load_predictions
    from zoobot.shared.schemas import Schema

    folder = out / "predictions"
    schema = Schema(TREE_PAIRS, TREE_DEPENDENCIES)
    report = {}
    for path in sorted(folder.glob("*.hdf5")):
        galaxy_id_df, predictions, label_cols = load_predictions.load_hdf5s([str(path)])
        report[f"load_hdf5s({path.name})"] = {
            "galaxy_id_df": describe_frame(galaxy_id_df),
            "predictions": {
                "shape": list(predictions.shape),
                "dtype": str(predictions.dtype),
                "values": predictions.tolist(),
            },
            "label_cols": [str(c) for c in label_cols],
        }
        try:
            frame = load_predictions.single_forward_pass_hdf5s_to_df([str(path)])
            report[f"single_forward_pass_hdf5s_to_df({path.name})"] = describe_frame(frame)
        except ValueError as error:  # real behaviour for several forward passes: recorded, not hidden
            report[f"single_forward_pass_hdf5s_to_df({path.name})"] = {"error": f"ValueError: {error}"}
    summary = folder / "tree_summary.parquet"
    if api.legacy:
        friendly_advanced = load_predictions.prediction_hdf5_to_summary_parquet(
            str(folder / "tree_n1.hdf5"), str(summary), schema
        )
        call = "prediction_hdf5_to_summary_parquet(tree_n1.hdf5, tree_summary.parquet, schema)"
    else:
        frame = pd.read_csv(folder / "tree.csv")
        friendly_advanced = load_predictions.prediction_csv_to_summary_parquet(frame, str(summary), schema)
        call = "prediction_csv_to_summary_parquet(pd.read_csv(tree.csv), tree_summary.parquet, schema)"
    report[call] = {
        "returns": None if friendly_advanced is None else [describe_frame(f) for f in friendly_advanced],
        "files_written": sorted(p.name for p in folder.glob("tree_summary*")),
        "files": {
            p.name: describe_frame(pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p))
            for p in sorted(folder.glob("tree_summary*"))
        },
    }
    for path in sorted(folder.glob("*.csv")):
        if not path.name.startswith("tree_summary"):
            report[f"pandas.read_csv({path.name})"] = describe_frame(pd.read_csv(path))
    return report


def describe_frame(frame) -> dict:
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(d) for d in frame.dtypes],
        "rows": json.loads(frame.to_json(orient="values", double_precision=15)),
    }


def describe(value):
    """A JSON-able account of a hyperparameter: its Python type, and its value when that is plain data."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return {"type": type(value).__name__, "value": list(value)}
    if isinstance(value, dict):
        return {
            "type": "dict",
            "value": {str(k): describe(v) for k, v in value.items()},
        }
    module = type(value).__module__
    text = {"type": f"{module}.{type(value).__qualname__}"}
    if hasattr(value, "question_answer_pairs"):
        text["question_answer_pairs"] = value.question_answer_pairs
        text["dependencies"] = value.dependencies
        text["label_cols"] = list(value.label_cols)
    return text


def summarise_checkpoints(out: Path) -> dict:
    import torch

    summary = {}
    for path in sorted((out / "checkpoints").glob("*.ckpt")):
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        summary[path.name] = {
            "top_level_keys": list(checkpoint),
            "pytorch-lightning_version": checkpoint.get("pytorch-lightning_version"),
            "epoch": checkpoint.get("epoch"),
            "global_step": checkpoint.get("global_step"),
            "hparams_name": checkpoint.get("hparams_name"),
            "hyper_parameters": {k: describe(v) for k, v in checkpoint.get("hyper_parameters", {}).items()},
            "state_dict": {k: list(v.shape) for k, v in checkpoint["state_dict"].items()},
            "size_bytes": path.stat().st_size,
        }
    return summary


def dump_schemas() -> dict:
    from zoobot.shared import schemas

    found = {}
    for name, value in sorted(vars(schemas).items()):
        if isinstance(value, schemas.Schema):
            found[name] = {
                "question_answer_pairs": value.question_answer_pairs,
                "dependencies": value.dependencies,
                "label_cols": list(value.label_cols),
                "questions": [
                    {
                        "text": q.text,
                        "answers": [a.text for a in q.answers],
                        "start_index": q.start_index,
                        "end_index": q.end_index,
                        "asked_after": None if q.asked_after is None else q.asked_after.text,
                    }
                    for q in value.questions
                ],
                "question_index_groups": [list(g) for g in value.question_index_groups],
            }
    return found


# ---------------------------------------------------------------------------------------------------------------
# Generate, verify, cross-check
# ---------------------------------------------------------------------------------------------------------------


def generate(out: Path, work: Path) -> None:
    import numpy as np
    import torch

    for child in ("images", "checkpoints", "outputs", "predictions", "hf_home"):
        shutil.rmtree(out / child, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    write_encoders(out, work)
    api = Api()
    api.seed()
    make_images(out)
    catalog = absolute_catalog(out)
    torch.manual_seed(SEED)
    np.save(out / "input.npy", torch.rand(2, 3, IMAGE_SIZE, IMAGE_SIZE).numpy())

    finetuning = {task: finetune_task(api, out, work, task, catalog) for task in CLASS_NAMES}
    from_scratch = train_from_scratch(api, out, work, catalog)
    for task, repo_id in FINETUNED_REPOS.items():
        checkpoint = (out / "checkpoints" / f"{task}.ckpt").read_bytes()
        write_hub_repo(out, repo_id, {f"{CLASS_NAMES[task]}.ckpt": checkpoint})

    (out / "outputs").mkdir(exist_ok=True)
    for name, array in model_outputs(api, out).items():
        np.save(out / "outputs" / f"{name}.npy", array.astype(np.float32))
    predictions = predict_all(api, out, catalog, out / "predictions")
    observed = observe(api, out, catalog)
    write_json(out / "load_predictions.json", describe_load_predictions(api, out))
    write_json(out / "checkpoint_summary.json", summarise_checkpoints(out))
    write_json(out / "schemas.json", dump_schemas(), indent=None)  # large (gz_evo has 100+ answers): kept compact
    write_json(
        out / "manifest.json",
        {
            "zoobot_version": api.version,
            "api": "2.0 (n_samples, pytorch_lightning, GalaxyDataModule)"
            if api.legacy
            else "2.9 (inference_transform, lightning, CatalogDataModule)",
            "versions": versions(),
            "encoder": {
                "hub_repo": ENCODER_REPO,
                "hub_repo_safetensors": ENCODER_SAFETENSORS_REPO,
                "architecture": ARCHITECTURE,
                "model_args": ENCODER_ARGS,
            },
            "finetuned_hub_repos": {
                task: {"repo_id": repo, "filename": f"{CLASS_NAMES[task]}.ckpt"}
                for task, repo in FINETUNED_REPOS.items()
            },
            "tree_schema": {
                "question_answer_pairs": TREE_PAIRS,
                "dependencies": TREE_DEPENDENCIES,
                "label_cols": label_cols_of_tree(),
            },
            "images": {
                "count": N_IMAGES,
                "size": IMAGE_SIZE,
                "train_rows": "0-7",
                "val_rows": "8-11",
                "predict_rows": f"0-{N_PREDICT - 1}",
            },
            "preprocessing": "PIL RGB image -> float32 / 255, CHW; no mean/std normalisation",
            "input": "input.npy: torch.manual_seed(42); torch.rand(2, 3, 64, 64)",
            "finetuning": finetuning,
            "from_scratch": from_scratch,
            "predictions": predictions,
            "observed": observed,
            "tolerance": TOLERANCE,
        },
    )


def verify(out: Path) -> int:
    """Reload every fixture with the installed real Zoobot and compare with what was recorded.

    Three comparisons, each as a max abs diff scaled by the largest expected magnitude (Dirichlet concentrations
    reach 100): the recorded eval-mode outputs; prediction files written again now vs the committed ones; and the
    committed prediction files vs the model's own forward pass on pixels/255 (softmax for the classifier).
    """
    import numpy as np

    api = Api()
    manifest = json.loads((out / "manifest.json").read_text())
    if manifest["zoobot_version"] != api.version:
        print(f"warning: fixtures were written by zoobot {manifest['zoobot_version']}, verifying with {api.version}")
    failures = []

    def check(label: str, got, expected) -> None:
        got, expected = (
            np.asarray(got, dtype=np.float64),
            np.asarray(expected, dtype=np.float64),
        )
        if got.shape != expected.shape:
            print(f"FAIL shape {got.shape} != {expected.shape}  {label}")
            failures.append(label)
            return
        diff = float(np.max(np.abs(got - expected)))
        status = "ok" if diff <= TOLERANCE * max(1.0, float(np.max(np.abs(expected)))) else "FAIL"
        print(f"{status:4} max abs diff {diff:.3g}  {label}")
        if status == "FAIL":
            failures.append(label)

    for name, array in model_outputs(api, out).items():
        check(f"outputs/{name}.npy", array, np.load(out / "outputs" / f"{name}.npy"))

    again = Path.cwd() / "predictions_again"
    catalog = absolute_catalog(out)
    predict_all(api, out, catalog, again)
    for path in sorted(again.glob("*.csv")) + sorted(again.glob("*.hdf5")):
        committed = out / "predictions" / path.name
        ids_now, values_now = read_prediction_file(path)
        ids_then, values_then = read_prediction_file(committed)
        if ids_now != ids_then:
            print(f"FAIL id_str differ  predictions/{path.name}")
            failures.append(path.name)
        check(
            f"predictions/{path.name} written again vs committed",
            values_now,
            values_then,
        )
    for task in ("classifier", "regressor", "tree"):
        expected = np.load(out / "predictions" / f"{task}_expected.npy")
        names = [f"{task}_n1.csv", f"{task}_n1.hdf5"] if api.legacy else [f"{task}.csv"]
        for name in names:
            _, values = read_prediction_file(out / "predictions" / name)
            check(
                f"predictions/{name} vs forward on pixels/255",
                values.reshape(expected.shape),
                expected,
            )
    print("verified" if not failures else f"{len(failures)} check(s) failed: {failures}")
    return 1 if failures else 0


def read_prediction_file(path: Path) -> tuple[list[str], np.ndarray]:
    """id_str and values of a prediction file in either version's layout (JSON lists in 2.0 CSVs expanded)."""
    import h5py
    import numpy as np
    import pandas as pd

    if path.suffix == ".hdf5":
        with h5py.File(path, "r") as f:
            return list(f["id_str"].asstr()[:]), f["predictions"][:]
    frame = pd.read_csv(path)
    ids = [str(i) for i in frame["id_str"]]
    columns = [c for c in frame.columns if c != "id_str"]
    values = [[json.loads(v) if isinstance(v, str) else v for v in frame[c]] for c in columns]
    return ids, np.asarray(values, dtype=np.float64).swapaxes(0, 1)


def cross_check(out: Path, other: Path) -> int:
    """What this real Zoobot does with the other version's checkpoints: load_from_checkpoint, then state_dict."""
    import numpy as np
    import torch

    api = Api()
    other_manifest = json.loads((other / "manifest.json").read_text())
    x = torch.from_numpy(np.load(other / "input.npy"))
    report = {
        "loading_version": api.version,
        "checkpoints_written_by": other_manifest["zoobot_version"],
    }
    for task in CLASS_NAMES:
        path = other / "checkpoints" / f"{task}.ckpt"
        cls = api.finetune_class(task)
        entry = {}
        extra = loading_kwargs(task)
        if task == "classifier_inmemory_encoder":
            import timm

            extra["encoder"] = timm.create_model(ENCODER_NAME, pretrained=True, num_classes=0)
        try:
            model = cls.load_from_checkpoint(str(path), map_location="cpu", **extra)
            entry["load_from_checkpoint"] = "ok"
            model.eval()
            with torch.no_grad():
                entry["max_abs_diff_vs_writer"] = float(
                    np.max(np.abs(model(x).numpy() - np.load(other / "outputs" / f"{task}_forward.npy")))
                )
        except Exception as error:  # noqa: BLE001 - the failure is the observation, recorded in the report
            entry["load_from_checkpoint"] = f"{type(error).__name__}: {error}"
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        accepted = accepted_kwargs(cls)
        entry["hparams_not_accepted_by_this_version"] = sorted(set(checkpoint["hyper_parameters"]) - accepted)
        kwargs, _ = task_settings(api, task, extra.get("encoder"))
        api.seed()
        fresh = cls(**kwargs)
        result = fresh.load_state_dict(checkpoint["state_dict"], strict=False)
        entry["state_dict_into_fresh_model"] = {
            "missing_keys": list(result.missing_keys),
            "unexpected_keys": list(result.unexpected_keys),
        }
        fresh.eval()
        with torch.no_grad():
            entry["state_dict_route_max_abs_diff_vs_writer"] = float(
                np.max(np.abs(fresh(x).numpy() - np.load(other / "outputs" / f"{task}_forward.npy")))
            )
        report[f"{task}.ckpt"] = entry
    write_json(out / "cross_version_loading.json", report)
    print(json.dumps(report, indent=1))
    return 0


USER_FACING = {
    "zoobot.pytorch.training.finetune": [
        "FinetuneableZoobotAbstract",
        "FinetuneableZoobotClassifier",
        "FinetuneableZoobotRegressor",
        "FinetuneableZoobotTree",
        "LinearHead",
        "cross_entropy_loss",
        "mse_loss",
        "l1_loss",
        "dirichlet_loss",
        "load_pretrained_zoobot",
        "get_trainer",
        "download_from_name",
        "freeze_batchnorm_layers",
    ],
    "zoobot.pytorch.training.representations": ["ZoobotEncoder"],
    "zoobot.pytorch.training.train_with_pytorch_lightning": [
        "train_default_zoobot_from_scratch",
        "get_default_callbacks",
    ],
    "zoobot.pytorch.training.losses": [
        "CustomMultiQuestionLoss",
        "calculate_multiquestion_loss",
        "dirichlet_loss",
        "get_dirichlet_neg_log_prob",
        "log_prob",
    ],
    "zoobot.pytorch.estimators.define_model": [
        "ZoobotTree",
        "get_pytorch_encoder",
        "get_pytorch_dirichlet_head",
        "get_encoder_dim",
        "get_dirichlet_loss_func",
        "dirichlet_loss",
        "schema_to_campaigns",
    ],
    "zoobot.pytorch.estimators.efficientnet_custom": ["custom_top_dirichlet", "ScaledSigmoid"],
    "zoobot.pytorch.estimators.custom_layers": ["PermaDropout"],
    "zoobot.shared.schemas": ["Schema", "Question", "Answer"],
}
"""The names (per module) that Zoobot's README, docs guides and examples import or call, for ``--signatures``."""


def describe_parameters(function) -> list[dict]:
    """Each parameter's name, kind and default (repr), as ``inspect.signature`` shows them."""
    return [
        {
            "name": p.name,
            "kind": p.kind.name,
            "default": None if p.default is inspect.Parameter.empty else repr(p.default),
            "required": p.default is inspect.Parameter.empty,
        }
        for p in inspect.signature(function).parameters.values()
        if p.name != "self"
    ]


def record_signatures(out: Path) -> int:
    """Write ``signatures.json``: for each user-facing name that this version has, its parameters (classes: their
    ``__init__``), the classmethods ``load_from_name`` and, for ``Schema``, its public attributes."""
    import importlib

    record: dict = {"zoobot_version": importlib.metadata.version("zoobot"), "names": {}}
    for module_name, names in USER_FACING.items():
        module = importlib.import_module(module_name)
        for name in names:
            if not hasattr(module, name):
                continue
            member = getattr(module, name)
            entry: dict = {"kind": "class" if inspect.isclass(member) else "function"}
            entry["parameters"] = describe_parameters(member.__init__ if inspect.isclass(member) else member)
            if inspect.isclass(member) and "load_from_name" in vars(member):
                entry["load_from_name"] = describe_parameters(member.load_from_name)
            if inspect.isclass(member) and name in ("Schema", "Question", "Answer"):
                entry["attributes"] = sorted(a for a in vars(member) if not a.startswith("_"))
            record["names"][f"{module_name}.{name}"] = entry
    schemas = importlib.import_module("zoobot.shared.schemas")
    record["named_schemas"] = sorted(n for n, v in vars(schemas).items() if isinstance(v, schemas.Schema))
    write_json(out / "signatures.json", record)
    print(f"recorded {len(record['names'])} names")
    return 0


PROJECT_CLASSES = {
    "classifier": "FinetuneableZoobotClassifier",
    "regressor": "FinetuneableZoobotRegressor",
    "tree": "FinetuneableZoobotTree",
    "zoobot_tree": "ZoobotTree",
}


def load_project(out: Path) -> int:
    """Load the checkpoints this project wrote (``<out>/project_checkpoints``, by make_project_checkpoints.py) with
    real Zoobot's own ``load_from_checkpoint``; write its outputs on input.npy to
    ``project_checkpoints/real_zoobot_outputs/`` and a report (``real_zoobot_loading.json``)."""
    import numpy as np
    import torch

    from zoobot.pytorch.estimators import define_model

    api = Api()
    folder = out / "project_checkpoints"
    written = folder / "real_zoobot_outputs"
    written.mkdir(exist_ok=True)
    x = torch.from_numpy(np.load(out / "input.npy"))
    report: dict = {"loading_version": api.version}
    for task, class_name in PROJECT_CLASSES.items():
        path = folder / f"{task}.ckpt"
        cls = define_model.ZoobotTree if task == "zoobot_tree" else getattr(api.finetune, class_name)
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        entry = {"hparams_not_accepted": sorted(set(checkpoint["hyper_parameters"]) - accepted_kwargs(cls))}
        try:
            model = cls.load_from_checkpoint(str(path), map_location="cpu", **loading_kwargs(task))
        except Exception as error:  # noqa: BLE001 - the failure is the observation, recorded in the report
            entry["load_from_checkpoint"] = f"{type(error).__name__}: {error}"
            report[f"{task}.ckpt"] = entry
            continue
        entry["load_from_checkpoint"] = "ok"
        entry["class"] = f"{type(model).__module__}.{type(model).__name__}"
        if task == "tree":
            entry["schema_class"] = f"{type(model.schema).__module__}.{type(model.schema).__name__}"
            entry["schema_label_cols"] = list(model.schema.label_cols)
        model.eval()
        with torch.no_grad():
            outputs = {"forward": model(x).numpy(), "encoder": model.encoder(x).numpy()}
        for kind, values in outputs.items():
            np.save(written / f"{task}_{kind}.npy", values)
            project = np.load(folder / "outputs" / f"{task}_{kind}.npy")
            entry[f"{kind}_max_abs_diff_vs_project"] = float(np.max(np.abs(values - project)))
        report[f"{task}.ckpt"] = entry
    write_json(folder / "real_zoobot_loading.json", report)
    print(json.dumps(report, indent=1))
    ok = all(
        isinstance(e, dict)
        and e.get("load_from_checkpoint") == "ok"
        and not e["hparams_not_accepted"]
        and e["forward_max_abs_diff_vs_project"] <= TOLERANCE
        for e in report.values()
        if isinstance(e, dict)
    )
    return 0 if ok else 1


def accepted_kwargs(cls) -> set[str]:
    names = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            names |= {p for p in inspect.signature(klass.__init__).parameters if p not in ("self", "super_kwargs")}
        if klass.__name__ in ("FinetuneableZoobotAbstract", "ZoobotTree"):
            break
    return names


def write_json(path: Path, data, indent: int | None = 1) -> None:
    path.write_text(json.dumps(data, indent=indent, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
