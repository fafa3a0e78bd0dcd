"""Run Zoobot 2.x's own examples, tests and docs-guide code blocks against THIS package, offline, on tiny data.

    python scripts/zoobot_fixtures/run_zoobot_examples.py /path/to/zoobot            # a checkout or a bare git dir
    python scripts/zoobot_fixtures/run_zoobot_examples.py /path/to/zoobot --only finetune_binary

Zoobot's files are read from the given checkout (or ``git show HEAD:<path>`` of a bare repository) and run
unchanged, in a subprocess each, with this package first on ``PYTHONPATH`` and ``HF_HUB_OFFLINE=1``. What the
runner puts around them, and only that, is substitution of data and hardware (never of a Zoobot call):

- a stand-in ``galaxy_datasets`` package (``stubs/``): ``demo_rings``, ``galaxy_mnist``, ``gz_decals_5`` and
  ``demo_gz_candels`` return small catalogs of this package's synthetic survey (``zoobot make-survey``) instead of
  downloading; ``GalaxyDataModule`` *is* :class:`zoobot.data.CatalogDataModule` (what this package offers instead);
- a Hugging Face cache (``HF_HOME``) holding the repos the examples name, with stand-in weights: the real
  architectures (``convnext_nano``, ``efficientnet_b0``) randomly initialised, ``zoobot-finetuned-is_tidal`` = the
  classifier checkpoint real Zoobot 2.9 wrote in ``tests/fixtures/zoobot/2.9``, its head cut to 2 classes;
- a ``sitecustomize`` that caps every Lightning ``Trainer`` at ``--max-epochs`` (default 1) and moves GPU requests
  to the CPU when there is no GPU;
- the per-example line substitutions in :data:`EXAMPLES` (user paths marked TODO in the examples, Weights & Biases,
  the 5000-galaxy debug subsample), each with its reason; and, for guides, the context their fragments assume.

Prints a Markdown table (also written to ``<workdir>/results.md``); exits 1 if any example failed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "zoobot"


@dataclass
class Example:
    """One Zoobot file to run, with the lines substituted and why."""

    name: str
    path: str
    kind: str = "script"  # script | pytest | guide
    substitutions: list[tuple[str, str, str]] = field(default_factory=list)  # (old, new, reason)
    context: dict[int, str] = field(default_factory=dict)  # guide: code run before block i (-1: after the last)
    skip_blocks: dict[int, str] = field(default_factory=dict)  # guide: block index -> why it is not run
    files: dict[str, Path] = field(default_factory=dict)  # stand-in files the example expects, by relative path
    timeout: int = 900
    outside_scope: tuple[str, str] | None = None  # (text in the error, why it is not this package's to fix)


def _paths(*pairs: tuple[str, str]) -> list[tuple[str, str, str]]:
    return [(old, new, "user path marked TODO") for old, new in pairs]


MINIMAL = _paths(("data_dir = 'TODO'", "data_dir = 'data'"), ("save_dir = 'TODO'", "save_dir = 'results'")) + [
    ("debug = True", "debug = False", "debug subsamples 5000 galaxies; the stand-in survey has tens")
]

GUIDE_IMPORTS = """
import os
from galaxy_datasets import demo_rings
from galaxy_datasets.pytorch.galaxy_datamodule import GalaxyDataModule
from zoobot.pytorch.training import finetune
from zoobot.pytorch.predictions import predict_on_catalog
"""

EXAMPLES = [
    Example("test_define_model.py", "tests/pytorch/test_define_model.py", "pytest"),
    Example("test_from_hub.py", "tests/test_from_hub.py", "pytest"),
    Example(
        "finetune_binary_classification.py",
        "zoobot/pytorch/examples/finetuning/finetune_binary_classification.py",
        substitutions=_paths(
            ("'/Users/user/repos/zoobot'", "'zoobot_dir'"),
            ("'/Users/user/repos/galaxy-datasets/roots/demo_rings'", "'data'"),
        )
        + [("trainer_kwargs={'accelerator': 'gpu'}", "trainer_kwargs={'accelerator': 'cpu'}", "no GPU here")],
    ),
    Example(
        "finetune_multiclass_classification.py",
        "zoobot/pytorch/examples/finetuning/finetune_multiclass_classification.py",
        substitutions=_paths(
            ("'/home/walml/repos/zoobot'", "'zoobot_dir'"),
            ("'/home/walml/repos/galaxy-datasets/roots/galaxy_mnist'", "'data'"),
        )
        + [("num_workers= 8", "num_workers= 2", "2 CPU cores here")],
        # stand-in for the pretrained checkpoint: a ZoobotTree that real Zoobot 2.0 trained from scratch
        files={
            "zoobot_dir/data/pretrained_models/pytorch/effnetb0_greyscale_224px.ckpt": FIXTURES
            / "2.0"
            / "checkpoints"
            / "zoobot_tree.ckpt"
        },
    ),
    Example(
        "finetune_counts_full_tree.py",
        "zoobot/pytorch/examples/finetuning/finetune_counts_full_tree.py",
        substitutions=_paths(
            ("'/Users/user/repos'", "'repos'"),
            ("'/Users/user/repos/galaxy-datasets/roots/demo_gz_candels'", "'data'"),
        )
        + [
            (
                "logger = WandbLogger(project='finetune', name='full_tree_example')",
                "logger = None",
                "Weights & Biases is an online service (the example says 'can do logger=None')",
            )
        ],
    ),
    Example(
        "get_representations.py",
        "zoobot/pytorch/examples/representations/get_representations.py",
        substitutions=_paths(
            ("'/Users/user/repos/galaxy-datasets/roots/demo_rings'", "'data'"),
            ("'/Users/user/repos/zoobot/results/pytorch/representations/example'", "'results'"),
        ),
    ),
    Example(
        "minimal_example.py",
        "zoobot/pytorch/examples/train_from_scratch/minimal_example.py",
        substitutions=MINIMAL,
        outside_scope=(
            "unexpected keyword argument 'resize_size'",
            "real Zoobot 2.0 and 2.9 refuse it too: `resize_size` was renamed `resize_after_crop` in Nov 2022",
        ),
    ),
    Example(
        "minimal_example.py, resize_after_crop",
        "zoobot/pytorch/examples/train_from_scratch/minimal_example.py",
        substitutions=MINIMAL
        + [("resize_size=resize_size", "resize_after_crop=resize_size", "Zoobot 2.x's name for the argument")],
    ),
    Example(
        "guides/finetuning.rst",
        "docs/guides/finetuning.rst",
        "guide",
        context={
            0: GUIDE_IMPORTS + "save_dir = 'results'\n",
            5: "best_checkpoint = trainer.checkpoint_callback.best_model_path\n",
            -1: "assert finetuned_model(__import__('torch').rand(1, 3, 224, 224)).shape == (1, 2)\n",
        },
        substitutions=_paths(("'/Users/user/repos/galaxy-datasets/roots/demo_rings'", "'data'")),
    ),
    Example(
        "guides/advanced_finetuning.rst",
        "docs/guides/advanced_finetuning.rst",
        "guide",
        skip_blocks={
            0: "omits num_classes, which real Zoobot 2.0 and 2.9 require too (TypeError there); this package "
            "says 'num_classes must be 2 or more'",
        },
        context={
            0: GUIDE_IMPORTS + "from zoobot.pytorch.training.finetune import FinetuneableZoobotClassifier\n",
            2: (
                "from zoobot.pytorch.training.representations import ZoobotEncoder  # the block uses it unimported\n"
                "catalog, _ = demo_rings(root='data', download=True, train=True)\n"
                "label_cols = [f'feat_{n}' for n in range(640)]\n"
                "save_loc = 'representations.hdf5'\n"
                "datamodule_kwargs = {'batch_size': 8}\n"
                "trainer_kwargs = {'accelerator': 'cpu'}\n"
            ),
            3: (
                "import torch\n"
                "from zoobot.pytorch.training.finetune import FinetuneableZoobotAbstract\n"
                "torch.nn.SomeCrazyLoss = torch.nn.MSELoss  # the guide's placeholder names\n"
                "my_crazy_head = torch.nn.Linear(640, 1)\n"
            ),
            -1: (
                "name = 'hf_hub:mwalmsley/zoobot-encoder-convnext_nano'\n"
                "custom = FinetuneableZoobotCustomRegression(foo=1, name=name)\n"
                "assert custom(torch.rand(2, 3, 224, 224)).shape == (2, 1)\n"
            ),
        },
    ),
    Example(
        "guides/how_the_code_fits_together.rst",
        "docs/guides/how_the_code_fits_together.rst",
        "guide",
        skip_blocks={
            0: "pseudo-code (FinetuneableZoobotTree(...)); finetune_counts_full_tree.py runs it",
            1: "pseudo-code (needs block 0); predict_on_catalog runs it in the examples",
        },
    ),
    Example(
        "guides/loading_data.rst",
        "docs/guides/loading_data.rst",
        "guide",
        context={
            0: (
                "from galaxy_datasets import demo_rings\n"
                "catalog, _ = demo_rings(root='data', download=True, train=True)\n"
                "catalog['is_cool_galaxy'] = catalog['ring']\n"
                "train_catalog, val_catalog, test_catalog = catalog[:16], catalog[16:24], catalog[24:]\n"
                "batch_size = 8\n"
            ),
            -1: (
                "datamodule.setup()\n"
                "batch = next(iter(datamodule.train_dataloader()))\n"
                "print({k: getattr(v, 'shape', v) for k, v in batch.items()} if isinstance(batch, dict) else batch)\n"
            ),
        },
    ),
    Example(
        "guides/training_on_vote_counts.rst",
        "docs/guides/training_on_vote_counts.rst",
        "guide",
        context={-1: "print(schema.label_cols)\n"},
    ),
]


# ---------------------------------------------------------------- reading Zoobot's files


def read_zoobot_file(source: Path, path: str) -> str:
    """``path`` from a Zoobot checkout, or from ``HEAD`` of a bare git repository."""
    if (source / path).is_file():
        return (source / path).read_text()
    done = subprocess.run(["git", "-C", str(source), "show", f"HEAD:{path}"], capture_output=True, text=True)
    if done.returncode != 0:
        raise FileNotFoundError(f"{path} is neither in the checkout {source} nor in its git HEAD: {done.stderr}")
    return done.stdout


def python_blocks(rst: str) -> list[str]:
    """The ``.. code-block:: python`` blocks of an .rst file, dedented."""
    blocks = []
    lines = rst.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                body.append(lines[i])
                i += 1
            blocks.append(textwrap.dedent("\n".join(body)).strip() + "\n")
        else:
            i += 1
    return blocks


# ---------------------------------------------------------------- the stand-ins


STUB_DATASETS = '''"""Stand-in for galaxy-datasets (by run_zoobot_examples.py): local synthetic data, no download."""
import numpy as np
import pandas as pd

SURVEY = {survey!r}


def _catalog(train, rows=None):
    catalog = pd.read_csv(SURVEY + "/catalog.csv")
    catalog["file_loc"] = SURVEY + "/" + catalog["file_loc"]
    half = len(catalog) * 2 // 3
    catalog = catalog[:half] if train else catalog[half:]
    return catalog.reset_index(drop=True), None


def demo_rings(root=None, train=True, download=False):
    catalog, _ = _catalog(train)
    return catalog, ["ring"]


def galaxy_mnist(root=None, train=True, download=False):
    catalog, _ = _catalog(train)
    catalog["label"] = catalog["bar"]  # 0-2 of galaxy_mnist's 0-3
    return catalog, ["label"]


def gz_decals_5(root=None, train=True, download=False):
    catalog, _ = _catalog(train)  # the survey's votes are GZ DECaLS DR5's
    return catalog, None


def _votes_for(schema_name, catalog):
    from zoobot.shared import schemas

    schema = getattr(schemas, schema_name)
    rng = np.random.default_rng(0)
    for question in schema.questions:
        total = rng.integers(0, 12, size=len(catalog))
        split = rng.dirichlet(np.ones(len(question.answers)), size=len(catalog))
        for i, answer in enumerate(question.answers):
            catalog[answer.text] = np.floor(total * split[:, i])
    return catalog
'''

STUB_CANDELS = """from galaxy_datasets import _catalog, _votes_for


def demo_gz_candels(root=None, train=True, download=False):
    catalog, _ = _catalog(train)
    return _votes_for("gz_candels_ortho_schema", catalog), None
"""

STUB_DATAMODULE = '''"""galaxy-datasets' GalaxyDataModule: here, this package's CatalogDataModule."""
from zoobot.data import CatalogDataModule as GalaxyDataModule  # noqa: F401
'''

SITECUSTOMIZE = '''"""By run_zoobot_examples.py: caps Lightning Trainers' epochs; the CPU when there is no GPU."""
import functools
import os


def _cap(trainer_cls):
    init = trainer_cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        import torch

        cap = int(os.environ["ZBEX_MAX_EPOCHS"])
        if kwargs.get("max_epochs") in (None, -1) or kwargs["max_epochs"] > cap:
            kwargs["max_epochs"] = cap
        if not torch.cuda.is_available() and kwargs.get("accelerator") in ("gpu", "cuda"):
            kwargs["accelerator"] = "cpu"
        return init(self, *args, **kwargs)

    trainer_cls.__init__ = __init__


if os.environ.get("ZBEX_MAX_EPOCHS"):
    import lightning.pytorch
    import pytorch_lightning

    _cap(lightning.pytorch.Trainer)
    _cap(pytorch_lightning.Trainer)
'''


def write_stubs(stubs: Path, survey: Path) -> None:
    package = stubs / "galaxy_datasets"
    (package / "pytorch").mkdir(parents=True, exist_ok=True)
    (package / "shared").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(STUB_DATASETS.format(survey=str(survey)))
    (package / "pytorch" / "__init__.py").write_text("")
    (package / "pytorch" / "galaxy_datamodule.py").write_text(STUB_DATAMODULE)
    (package / "shared" / "__init__.py").write_text("")
    (package / "shared" / "demo_gz_candels.py").write_text(STUB_CANDELS)
    (stubs / "sitecustomize.py").write_text(SITECUSTOMIZE)


def add_hub_repo(hf_home: Path, repo_id: str, files: dict[str, Path]) -> None:
    """Put ``files`` into the Hugging Face cache as repo ``repo_id`` (what a download would have written)."""
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        shutil.copy(path, snapshot / name)


def write_hub_cache(hf_home: Path, scratch: Path) -> None:
    import timm
    from timm.models._hub import save_for_hf

    shutil.copytree(FIXTURES / "2.9" / "hf_home" / "hub", hf_home / "hub", dirs_exist_ok=True)
    for architecture in ("convnext_nano", "efficientnet_b0"):
        folder = scratch / architecture
        save_for_hf(timm.create_model(architecture, pretrained=False, num_classes=0), str(folder))
        add_hub_repo(
            hf_home, f"mwalmsley/zoobot-encoder-{architecture}", {p.name: p for p in folder.iterdir() if p.is_file()}
        )
    is_tidal = {"FinetuneableZoobotClassifier.ckpt": _binary(scratch)}
    add_hub_repo(hf_home, "mwalmsley/zoobot-finetuned-is_tidal", is_tidal)


def _binary(scratch: Path) -> Path:
    """Real Zoobot 2.9's 3-class fixture checkpoint, its head cut to the 2 classes ``is_tidal`` has."""
    import torch

    hub = FIXTURES / "2.9" / "hf_home" / "hub"
    path = next(hub.glob("models--zoobot-fixtures--zoobot-finetuned-test_classifier/snapshots/*/*.ckpt"))
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)  # our own fixture, written by real Zoobot
    checkpoint["hyper_parameters"]["num_classes"] = 2
    for key in ("head.linear.weight", "head.linear.bias"):
        checkpoint["state_dict"][key] = checkpoint["state_dict"][key][:2].clone()
    out = scratch / "is_tidal.ckpt"
    torch.save(checkpoint, out)
    return out


def prepare(workdir: Path, n: int, size: int) -> dict[str, str]:
    """Survey, stubs and Hub cache in ``workdir`` (reused when already there); the environment to run in."""
    from zoobot.survey import make_survey

    survey = workdir / "survey"
    if not (survey / "catalog.csv").is_file():
        make_survey(n=n, size=size, out_dir=survey, seed=0, overwrite=True)
    write_stubs(workdir / "stubs", survey)
    hf_home = workdir / "hf_home"
    if not (hf_home / "hub" / "models--mwalmsley--zoobot-finetuned-is_tidal").is_dir():
        write_hub_cache(hf_home, workdir / "scratch")
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(workdir / "stubs"), str(ROOT)]),
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        WANDB_MODE="disabled",
    )
    return env


# ---------------------------------------------------------------- running


def substitute(text: str, example: Example) -> str:
    for old, new, _ in example.substitutions:
        if old not in text:
            raise ValueError(f"{example.name}: {old!r} not found; the example changed, update the runner.")
        text = text.replace(old, new)
    return text


def guide_script(rst: str, example: Example) -> str:
    parts = []
    for i, block in enumerate(python_blocks(rst)):
        parts.append(example.context.get(i, ""))
        if i in example.skip_blocks:
            parts.append(f"# block {i} not run: {example.skip_blocks[i]}\n")
        else:
            parts.append(f"# --- block {i}\n{block}")
    parts.append(example.context.get(-1, ""))
    return "\n".join(parts)


def run_example(source: Path, example: Example, workdir: Path, env: dict[str, str]) -> tuple[str, str, float]:
    """(outcome, last lines of output, seconds)."""
    text = read_zoobot_file(source, example.path)
    if example.kind == "guide":
        if len(example.skip_blocks) == len(python_blocks(text)):
            return "not run: " + "; ".join(example.skip_blocks.values()), "", 0.0
        text = guide_script(text, example)
    text = substitute(text, example)
    folder = workdir / "runs" / re.sub(r"[^A-Za-z0-9_.-]", "_", example.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for relative, stand_in in example.files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(stand_in, folder / relative)
    script = folder / (Path(example.name).stem + ".py")
    script.write_text(text)
    if example.kind == "pytest":
        command = [sys.executable, "-m", "pytest", script.name, "-q", "-p", "no:cacheprovider", "-W", "default"]
    else:
        command = [sys.executable, script.name]
    start = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=folder, env=env, capture_output=True, text=True, timeout=example.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return f"failed: timed out after {example.timeout} s", "", time.monotonic() - start
    seconds = time.monotonic() - start
    output = (done.stdout + done.stderr).strip().splitlines()
    (folder / "output.txt").write_text("\n".join(output))
    if done.returncode != 0:
        if example.outside_scope and any(example.outside_scope[0] in line for line in output):
            return f"fails, outside scope: {example.outside_scope[1]}", "\n".join(output[-3:]), seconds
        return f"failed (exit {done.returncode})", "\n".join(output[-15:]), seconds
    outcome = "runs unchanged" if not example.substitutions and example.kind != "guide" else "runs"
    if example.skip_blocks:
        outcome += "; not run: " + "; ".join(f"block {i}: {why}" for i, why in example.skip_blocks.items())
    return outcome, "\n".join(output[-3:]), seconds


def describe(example: Example) -> str:
    notes = [f"`{old}` -> `{new}` ({why})" for old, new, why in example.substitutions]
    notes += [
        f"stand-in `{Path(relative).name}`: `{path.relative_to(ROOT)}`" for relative, path in example.files.items()
    ]
    if example.kind == "guide" and example.context:
        notes.append("context the fragments assume (imports, a catalog)")
    return "; ".join(notes) or "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoobot", type=Path, help="a Zoobot checkout, or its bare git directory")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/zbex"), help="scratch folder (default /tmp/zbex)")
    parser.add_argument("--only", help="run only the examples whose name contains this")
    parser.add_argument("--n", type=int, default=36, help="galaxies in the stand-in survey (default 36)")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels (default 32)")
    parser.add_argument("--max-epochs", type=int, default=1, help="cap on every Trainer's epochs (default 1)")
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    env = prepare(args.workdir, args.n, args.size)
    env["ZBEX_MAX_EPOCHS"] = str(args.max_epochs)
    rows = ["| Zoobot file | outcome | substituted (data, paths, hardware) | seconds |", "| --- | --- | --- | --- |"]
    failed = False
    for example in EXAMPLES:
        if args.only and args.only not in example.name:
            continue
        outcome, tail, seconds = run_example(args.zoobot, example, args.workdir, env)
        failed |= outcome.startswith("failed")
        print(f"== {example.name}: {outcome} ({seconds:.0f} s)\n{tail}\n", flush=True)
        rows.append(f"| `{example.path}` | {outcome} | {describe(example)} | {seconds:.0f} |")
    table = "\n".join(rows)
    (args.workdir / "results.md").write_text(table + "\n")
    print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
