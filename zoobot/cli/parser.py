"""The ``zoobot`` command's arguments: one subparser per subcommand, defaults and ranges from
:mod:`zoobot.defaults`, each subparser pointing at its handler in :mod:`zoobot.cli.commands`."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable

from zoobot import defaults
from zoobot.cli.commands import (
    _calibrate,
    _finetune,
    _list_encoders,
    _list_schemas,
    _make_survey,
    _merge_shards,
    _predict,
    _pretrain,
    _representations,
    _suggest,
    _template_catalog,
)
from zoobot.shards import SHARD_ROWS

DESCRIPTION = (
    "The zoobot command: headless finetuning, prediction, calibration, what to label next, representations, surveys."
)


def _command(commands: argparse._SubParsersAction, name: str, handler: Callable[..., int]) -> argparse.ArgumentParser:
    """The subcommand ``name`` running ``handler``, whose docstring gives its help: the first line for
    ``zoobot --help``, the rest (if any) for ``zoobot <name> --help``."""
    summary, _, details = (inspect.getdoc(handler) or "").partition("\n\n")  # no docstrings under python -OO
    parser = commands.add_parser(name, help=summary, description=details or None)
    parser.set_defaults(func=handler)
    return parser


def _add_catalog_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", required=True, help="catalog CSV or Parquet with id_str, file_loc")


def _add_batch_size_arg(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    """``--batch-size`` for inference: ``default``, or None for the machine's."""
    machine = f": the machine's, {defaults.PREDICT_BATCH_SIZE} on a CPU, more on a GPU"
    said = machine if default is None else f" {default}"
    parser.add_argument("--batch-size", type=int, default=default, help=f"galaxies per batch (default{said})")


def _add_device_args(parser: argparse.ArgumentParser, devices: bool = False) -> None:
    parser.add_argument(
        "--accelerator",
        default="auto",
        choices=["auto", "cpu", "gpu", "cuda", "mps"],
        help="where to run (default: auto, a GPU when there is one)",
    )
    parser.add_argument(
        "--num-workers",
        type=int,
        default=None,
        help="data-loading worker processes (default: the machine's: training 1 on 2 CPU cores, up to 8 per "
        "GPU; prediction on a CPU decodes in threads of this process instead, unless this is given)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads on a CPU (default: every core this process may use)"
    )
    if devices:
        parser.add_argument("--devices", default="auto", help="devices per node, e.g. 4; more than one trains with DDP")


def _add_shard_args(parser: argparse.ArgumentParser) -> None:
    """Survey scale (issue #21): ``--out FOLDER/`` writes Parquet shards, resumable, on several devices."""
    parser.add_argument(
        "--shard-rows",
        type=int,
        default=SHARD_ROWS,
        help=f"with --out FOLDER/: catalog rows per Parquet shard (default {SHARD_ROWS}); the catalog is read "
        "in chunks, finished shards are skipped when the command runs again (resume after a kill)",
    )
    parser.add_argument(
        "--devices", default="1", help="with --out FOLDER/: processes (GPUs) per node, started by Lightning (default 1)"
    )
    parser.add_argument("--num-nodes", type=int, default=1, help="with --out FOLDER/: machines (default 1)")


def _add_uncertainty_commands(commands: argparse._SubParsersAction) -> None:
    """``zoobot calibrate`` and ``zoobot suggest`` (issue #18)."""
    from zoobot.active_learning import POSTERIORS
    from zoobot.uncertainty import STRATEGIES

    calibrate = _command(commands, "calibrate", _calibrate)
    calibrate.add_argument("--model", required=True, help="the run folder")
    calibrate.add_argument("--n-samples", type=int, default=1, help="Monte Carlo dropout passes (default 1)")
    calibrate.add_argument("--seed", type=int, default=0, help="seeds the dropout masks (default 0)")
    _add_device_args(calibrate)

    suggest = _command(commands, "suggest", _suggest)
    suggest.add_argument(
        "--model", required=True, help="a run folder (its calibration is applied), a .ckpt file or a Hugging Face repo"
    )
    _add_catalog_arg(suggest)
    suggest.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    suggest.add_argument("--n", type=int, default=50, help="how many galaxies (default 50)")
    suggest.add_argument(
        "--strategy",
        default="bald",
        choices=list(STRATEGIES),
        help="bald (the model's samples disagree), entropy (uncertain for any reason) or random (default bald)",
    )
    suggest.add_argument(
        "--n-samples",
        type=int,
        default=defaults.SUGGEST_SAMPLES,
        help=f"draws of the head per galaxy (Laplace or dropout; default {defaults.SUGGEST_SAMPLES})",
    )
    suggest.add_argument(
        "--posterior",
        choices=list(POSTERIORS),
        default=None,
        help="where the draws come from: laplace (a last-layer Laplace posterior fitted on the run's training "
        "galaxies, or the catalog's labelled rows for a checkpoint) or dropout (Monte Carlo dropout); default "
        "laplace for bald, dropout for entropy",
    )
    suggest.add_argument("--question", help="trees: rank by this question only (default: all questions)")
    suggest.add_argument(
        "--n-volunteers", type=int, default=40, help="trees: volunteers who would classify each galaxy (default 40)"
    )
    suggest.add_argument("--include-labelled", action="store_true", help="rank galaxies that have labels too")
    suggest.add_argument(
        "--selection",
        choices=["top", "power"],
        default="top",
        help="'top': the N best scores (default); 'power': N drawn with chance proportional to score**power, "
        "so a batch does not fill up with near-copies of one kind of galaxy",
    )
    suggest.add_argument("--power", type=float, default=1.0, help="the exponent for --selection power (default 1)")
    suggest.add_argument("--seed", type=int, default=0, help="seeds the draws and 'random' (default 0)")
    _add_batch_size_arg(suggest, default=defaults.PREDICT_BATCH_SIZE)
    _add_device_args(suggest)


def _allowed(name: str) -> str:
    """A setting's allowed range in words, from :mod:`zoobot.defaults`."""
    return defaults.SETTINGS[name].allowed


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``zoobot`` command."""
    parser = argparse.ArgumentParser(
        prog="zoobot", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    finetune = _command(commands, "finetune", _finetune)
    finetune.add_argument("--config", required=True, help="path to the run's config.yaml")
    finetune.add_argument("--run-dir", help="write outputs here instead of the config's run_dir")
    finetune.add_argument("--max-epochs", type=int, help=f"override the config's max_epochs ({_allowed('max_epochs')})")
    finetune.add_argument("--batch-size", type=int, help=f"override the config's batch_size ({_allowed('batch_size')})")
    finetune.add_argument(
        "--init-from",
        metavar="RUN",
        help="warm start: begin from a previous run's finetuned model (its folder, model/ folder, "
        "finetuned_model.zip or a .ckpt): encoder and head when the outputs match, else the encoder only",
    )
    finetune.add_argument("--num-nodes", type=int, default=1, help="machines to train on (default 1)")
    _add_device_args(finetune, devices=True)

    predict = _command(commands, "predict", _predict)
    predict.add_argument(
        "--model",
        required=True,
        help="a run folder, its model/ folder, finetuned_model.zip, a .ckpt file, or a Hugging Face "
        "repo such as mwalmsley/zoobot-finetuned-is_tidal",
    )
    _add_catalog_arg(predict)
    predict.add_argument(
        "--out",
        required=True,
        help="output file (.csv, .parquet or .hdf5), or a folder (FOLDER/) for Parquet shards: any catalog size",
    )
    _add_batch_size_arg(predict)
    predict.add_argument(
        "--n-samples",
        type=int,
        default=1,
        help="passes per galaxy; above 1 the head's dropout is on (Monte Carlo dropout) and the "
        "table gains the spread across passes (default 1)",
    )
    predict.add_argument(
        "--n-volunteers",
        type=int,
        default=None,
        help="trees: volunteers per question for the predictive interval (default: the catalog's "
        "vote counts, where it has them)",
    )
    predict.add_argument(
        "--image-size", type=int, default=None, help="side in px images are resized to (default: the encoder's)"
    )
    predict.add_argument(
        "--no-calibration",
        action="store_true",
        help="a run folder's model: predict without its calibration correction (applied by default)",
    )
    _add_device_args(predict)
    _add_shard_args(predict)

    _add_uncertainty_commands(commands)

    reps = _command(commands, "representations", _representations)
    source = reps.add_mutually_exclusive_group()
    source.add_argument(
        "--encoder", default="demo", help="encoder: 'demo', hf_hub:owner/name, a folder or a timm name (default demo)"
    )
    source.add_argument("--model", help="use the encoder of a finetuned model instead (as for predict --model)")
    _add_catalog_arg(reps)
    reps.add_argument(
        "--out", required=True, help="output file (.csv or .parquet), or a folder (FOLDER/) for Parquet shards"
    )
    reps.add_argument("--pca", type=int, default=None, help="reduce to this many PCA components")
    reps.add_argument("--umap", action="store_true", help="add 2-D UMAP coordinates umap_x, umap_y")
    _add_batch_size_arg(reps)
    reps.add_argument("--seed", type=int, default=defaults.SEED, help=f"UMAP random seed (default {defaults.SEED})")
    _add_device_args(reps)
    _add_shard_args(reps)

    merge = _command(commands, "merge-shards", _merge_shards)
    merge.add_argument("folder", help="the shard folder")
    merge.add_argument("--out", required=True, help="output file (.parquet or .csv)")

    survey = _command(commands, "make-survey", _make_survey)
    survey.add_argument("--n", type=int, default=1000, help="number of galaxies (default 1000)")
    survey.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    survey.add_argument("--out", required=True, help="output folder")
    survey.add_argument("--seed", type=int, default=0, help="random seed; same seed, same survey")
    survey.add_argument("--format", default="png", choices=["png", "jpg"], help="image format")
    survey.add_argument(
        "--overwrite", action="store_true", help="replace a survey already in --out (otherwise refused)"
    )
    survey.add_argument(
        "--resume",
        action="store_true",
        help="finish a survey in --out that was cut short: keep its whole images, draw the missing ones",
    )

    template = _command(commands, "template-catalog", _template_catalog)
    template.add_argument(
        "--out", default="catalog_template.csv", help="the CSV to write (default catalog_template.csv)"
    )

    pretrain = _command(commands, "pretrain", _pretrain)
    pretrain.add_argument("--catalog", required=True, help="catalog with the tree's vote columns")
    pretrain.add_argument("--schema", default="decals_dr5", help="named tree (default decals_dr5)")
    pretrain.add_argument("--architecture", default="convnext_atto", help="timm architecture")
    pretrain.add_argument("--out", required=True, help="output folder (checkpoints, and the encoder in OUT/encoder)")
    pretrain.add_argument("--image-size", type=int, default=128, help="input side in px (default 128)")
    pretrain.add_argument("--batch-size", type=int, default=64, help="galaxies per step (default 64)")
    pretrain.add_argument("--epochs", type=int, default=30, help="most epochs (default 30)")
    pretrain.add_argument(
        "--patience", type=int, default=5, help="epochs without validation improvement before stopping (default 5)"
    )
    pretrain.add_argument("--learning-rate", type=float, default=1e-3, help="AdamW learning rate")
    pretrain.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _add_device_args(pretrain, devices=True)

    _command(commands, "encoders", _list_encoders)
    _command(commands, "schemas", _list_schemas)
    return parser
