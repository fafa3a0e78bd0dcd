"""The ``zoobot`` command: headless finetuning, prediction, calibration, what to label next, representations, surveys.

Every subcommand calls the same library functions the app uses, so a run started in the app can be
re-run here from its ``config.yaml`` (on a GPU cluster too)::

    zoobot finetune --config runs/my-run/config.yaml --accelerator gpu --devices 4 --num-nodes 2
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from zoobot import defaults
from zoobot.shards import SHARD_ROWS, is_shard_folder

EXIT_USER_ERROR = 2


def _finetune(args: argparse.Namespace) -> int:
    from zoobot.runs import RunConfig, RunFolder, rerun_command, run_finetune

    config = RunConfig.from_yaml(args.config)
    if args.run_dir:
        config.run_dir = args.run_dir
    overrides = {
        "max_epochs": args.max_epochs,
        "batch_size": args.batch_size,
        "num_workers": args.num_workers,
        "init_from": args.init_from,
        "torch_threads": args.threads,
    }
    for name, value in overrides.items():
        if value is not None:
            setattr(config, name, value)
    result = run_finetune(
        config, accelerator=args.accelerator, devices=_devices(args.devices), num_nodes=args.num_nodes
    )
    print(f"Run {result.status}: outputs in {result.run_dir}")
    if result.test_metrics.get("summary"):
        print(result.test_metrics["summary"])  # the score beside its baseline, and any warning
    started = RunFolder(result.run_dir).read_progress().get("warm_start")
    if started:
        print(f"Started from the previous model: {started}")
    print(json.dumps(_headline(result.test_metrics), indent=2))
    _print_calibration(result.run_dir)
    folder = RunFolder(result.run_dir)
    print(f"To re-run it (also in {folder.path / folder.RERUN_FILE}): {rerun_command(folder.config_path)}")
    return 0


def _print_calibration(run_dir: Path) -> None:
    """The run's calibration report in a few lines, when it has one (issue #18)."""
    from zoobot.runs import RunFolder
    from zoobot.uncertainty import format_calibration

    report = RunFolder(run_dir).read_calibration()
    if report:
        print(format_calibration(report))


def _calibrate(args: argparse.Namespace) -> int:
    from zoobot.uncertainty import calibrate_run, format_calibration

    report = calibrate_run(
        args.model, n_samples=args.n_samples, seed=args.seed, num_workers=args.num_workers, accelerator=args.accelerator
    )
    print(format_calibration(report))
    print(f"Wrote {Path(report['run_dir']) / 'calibration.json'}")
    return 0


def _suggest(args: argparse.Namespace) -> int:
    from zoobot.active_learning import suggest_galaxies
    from zoobot.catalog import read_catalog

    catalog = read_catalog(args.catalog)
    table = suggest_galaxies(
        args.model,
        catalog,
        n=args.n,
        strategy=args.strategy,
        n_samples=args.n_samples,
        question=args.question,
        n_volunteers=args.n_volunteers,
        only_unlabelled=not args.include_labelled,
        seed=args.seed,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        accelerator=args.accelerator,
        selection=args.selection,
        power=args.power,
    )
    _write_table(table, Path(args.out))
    print(f"Wrote the {len(table)} galaxies to label next ({args.strategy}) to {args.out}")
    return 0


def _headline(metrics: dict) -> dict:
    keys = (
        "split",
        "n",
        "accuracy",
        "majority_accuracy",
        "rmse",
        "baseline_rmse",
        "mae",
        "r2",
        "mean_vote_fraction_mae",
        "baseline_mean_vote_fraction_mae",
        "test_loss",
    )
    return {k: metrics[k] for k in keys if k in metrics}


def _devices(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _predict(args: argparse.Namespace) -> int:
    from zoobot.catalog import read_catalog
    from zoobot.predict import PREDICTION_SUFFIXES, predict_on_catalog, write_table
    from zoobot.prediction_table import add_catalog_columns, model_class_names, model_label_cols
    from zoobot.runs import load_finetuned_model

    if is_shard_folder(args.out):
        return _predict_shards(args)
    out = Path(args.out)
    if out.suffix.lower() not in PREDICTION_SUFFIXES:
        raise ValueError(f"--out {out} must end in .csv, .parquet or .hdf5.")
    model = load_finetuned_model(args.model)
    catalog = read_catalog(args.catalog)
    predictions = predict_on_catalog(
        catalog,
        model,
        save_loc=out if out.suffix.lower() == ".hdf5" else None,  # HDF5: Zoobot's columns only
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        accelerator=args.accelerator,
        input_size=args.image_size,
        **_uncertainty_options(args),
    )
    if out.suffix.lower() != ".hdf5":
        # As a run's predictions.csv and the app write them: file_loc and the catalog's labels as catalog_<col>.
        predictions = add_catalog_columns(predictions, catalog, model_label_cols(model), model_class_names(model))
        write_table(predictions, out)
    print(f"Wrote predictions for {len(predictions)} galaxies to {args.out}")
    return 0


def _predict_shards(args: argparse.Namespace) -> int:
    """``predict --out FOLDER/``: any catalog size, Parquet shards, resumable, one process per device."""
    from zoobot.runs import load_finetuned_model
    from zoobot.shards import launch_processes, predict_to_shards

    rank, world = launch_processes(args.accelerator, _count(args.devices), args.num_nodes)
    model = load_finetuned_model(args.model)
    done = predict_to_shards(
        args.catalog,
        model,
        args.out,
        shard_rows=args.shard_rows,
        rank=rank,
        world_size=world,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        accelerator=args.accelerator,
        input_size=args.image_size,
        **_uncertainty_options(args),
    )
    print(_shards_message(done))
    return 0


def _shards_message(done) -> str:
    return (
        f"Process {done.rank + 1} of {done.world_size}: wrote {done.written} shards, {done.skipped} were already "
        f"finished, of the catalog's {done.n_shards}, in {done.out_dir}; join them with zoobot merge-shards "
        f"{done.out_dir} --out FILE.parquet"
    )


def _count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"--devices must be a whole number >= 1 when writing shards, not {value!r}.")
    return int(value)


def _merge_shards(args: argparse.Namespace) -> int:
    from zoobot.shards import merge_shards

    path = merge_shards(args.folder, args.out)
    print(f"Merged the shards of {args.folder} into {path}")
    return 0


def _uncertainty_options(args: argparse.Namespace) -> dict:
    """``predict``'s Monte Carlo passes, volunteers, and a run folder's calibration correction (issue #18)."""
    from zoobot.runs import RunFolder

    model_path = Path(args.model).expanduser()
    calibration = RunFolder(model_path).read_calibration() if model_path.is_dir() else None
    return {"n_samples": args.n_samples, "n_volunteers": args.n_volunteers, "calibration": calibration}


def _representations(args: argparse.Namespace) -> int:
    from zoobot.catalog import read_catalog
    from zoobot.representations import compute_umap, get_representations

    if is_shard_folder(args.out):
        return _representations_shards(args)
    encoder = _encoder(args)
    catalog = read_catalog(args.catalog)
    features = get_representations(
        catalog, encoder, batch_size=args.batch_size, num_workers=args.num_workers, pca_components=args.pca
    )
    if args.umap:
        feature_cols = [c for c in features.columns if c != "id_str"]
        coords = compute_umap(features[feature_cols].to_numpy(), seed=args.seed)
        features["umap_x"], features["umap_y"] = coords[:, 0], coords[:, 1]
    _write_table(features, Path(args.out))
    print(f"Wrote {len(features)} representations to {args.out}")
    return 0


def _encoder(args: argparse.Namespace):
    """``--model``'s finetuned model (its encoder is used), else ``--encoder``'s source."""
    if args.model:
        from zoobot.runs import load_finetuned_model

        return load_finetuned_model(args.model)
    return args.encoder


def _representations_shards(args: argparse.Namespace) -> int:
    """``representations --out FOLDER/``: as ``predict --out FOLDER/``."""
    from zoobot.shards import launch_processes, representations_to_shards

    if args.pca is not None or args.umap:
        raise ValueError(
            "--pca and --umap need every representation at once: write the shards, join them with "
            "zoobot merge-shards, then reduce the merged file (or a sample of it)."
        )
    rank, world = launch_processes(args.accelerator, _count(args.devices), args.num_nodes)
    done = representations_to_shards(
        args.catalog,
        _encoder(args),
        args.out,
        shard_rows=args.shard_rows,
        rank=rank,
        world_size=world,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        accelerator=args.accelerator,
    )
    print(_shards_message(done))
    return 0


def _write_table(table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)


def _make_survey(args: argparse.Namespace) -> int:
    from zoobot.survey import make_survey

    catalog = make_survey(
        n=args.n, size=args.size, out_dir=args.out, seed=args.seed, image_format=args.format, overwrite=args.overwrite
    )
    print(f"Wrote {len(catalog)} galaxies and their catalog to {args.out}")
    return 0


def _template_catalog(args: argparse.Namespace) -> int:
    from zoobot.catalog import describe_template_columns, write_template_catalog

    path = write_template_catalog(args.out)
    print(f"Wrote a template catalog to {path}. Its columns:")
    print(describe_template_columns())
    print("Keep id_str, file_loc and your task's label columns; read it with zoobot.catalog.read_catalog.")
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from zoobot.catalog import read_catalog
    from zoobot.scratch import train_default_zoobot_from_scratch
    from zoobot.trees import get_schema

    catalog = read_catalog(args.catalog)
    train_default_zoobot_from_scratch(
        save_dir=args.out,
        schema=get_schema(args.schema),
        catalog=catalog,
        architecture_name=args.architecture,
        input_size=args.image_size,
        batch_size=args.batch_size,
        epochs=args.epochs,
        patience=args.patience,
        accelerator=args.accelerator,
        devices=_devices(args.devices),
        seed=args.seed,
        learning_rate=args.learning_rate,
        num_workers=args.num_workers,
    )
    print(f"Encoder written to {Path(args.out) / 'encoder'}; load it with load_encoder('{Path(args.out) / 'encoder'}')")
    return 0


def _list_encoders(args: argparse.Namespace) -> int:
    from zoobot.encoders import list_encoders

    for card in list_encoders():
        size = "x".join(str(s) for s in card.input_size[1:])
        print(f"{card.name:24s} {card.source:48s} {card.n_params / 1e6:6.1f}M params  {size} px")
    return 0


def _list_schemas(args: argparse.Namespace) -> int:
    from zoobot.trees import describe_schema, list_schemas

    for name in list_schemas():
        print(f"{name:24s} {describe_schema(name)}")
    return 0


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
        help="data-loading processes (default: the machine's, e.g. 1 on 2 CPU cores, up to 8 per GPU)",
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
    from zoobot.uncertainty import STRATEGIES

    calibrate = commands.add_parser(
        "calibrate",
        help="measure how far to trust a finished run's uncertainties, and correct them",
        description="Fit a calibration correction on a finished run's validation galaxies and report it before and "
        "after on its test galaxies; writes the run's calibration.json (every run writes one with one pass).",
    )
    calibrate.add_argument("--model", required=True, help="the run folder")
    calibrate.add_argument("--n-samples", type=int, default=1, help="Monte Carlo dropout passes (default 1)")
    calibrate.add_argument("--seed", type=int, default=0, help="seeds the dropout masks (default 0)")
    _add_device_args(calibrate)
    calibrate.set_defaults(func=_calibrate)

    suggest = commands.add_parser(
        "suggest",
        help="rank a catalog's unlabelled galaxies: which to label next",
        description="Score every galaxy without a label by how much a label would teach the model (Monte Carlo "
        "dropout; random, predictive entropy or BALD) and write the top N, best first, with their predictions "
        "and why each was picked.",
    )
    suggest.add_argument(
        "--model", required=True, help="a run folder (its calibration is applied), a .ckpt file or a Hugging Face repo"
    )
    suggest.add_argument("--catalog", required=True, help="catalog CSV or Parquet with id_str, file_loc")
    suggest.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    suggest.add_argument("--n", type=int, default=50, help="how many galaxies (default 50)")
    suggest.add_argument(
        "--strategy",
        default="bald",
        choices=list(STRATEGIES),
        help="bald (the passes disagree), entropy (uncertain for any reason) or random (default bald)",
    )
    suggest.add_argument("--n-samples", type=int, default=20, help="Monte Carlo dropout passes (default 20)")
    suggest.add_argument("--question", help="trees: rank by this question only (default: all questions)")
    suggest.add_argument(
        "--n-volunteers", type=float, default=40, help="trees: volunteers who would classify each galaxy (default 40)"
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
    suggest.add_argument("--seed", type=int, default=0, help="seeds the dropout masks and 'random' (default 0)")
    suggest.add_argument(
        "--batch-size",
        type=int,
        default=defaults.PREDICT_BATCH_SIZE,
        help=f"galaxies per batch (default {defaults.PREDICT_BATCH_SIZE})",
    )
    _add_device_args(suggest)
    suggest.set_defaults(func=_suggest)


def _allowed(name: str) -> str:
    """A setting's allowed range in words, from :mod:`zoobot.defaults`."""
    return defaults.SETTINGS[name].allowed


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``zoobot`` command."""
    parser = argparse.ArgumentParser(
        prog="zoobot", description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    finetune = commands.add_parser(
        "finetune",
        help="run a finetuning job from a run config (as exported by the app)",
        description="Finetune a pretrained encoder as described by a run config YAML file "
        "(the app writes one into each run folder). Writes checkpoints, metrics, test metrics, "
        "predictions for every catalog row and the finetuned model into the run folder.",
    )
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
    finetune.set_defaults(func=_finetune)

    predict = commands.add_parser(
        "predict",
        help="predict a catalog with a finetuned model",
        description="Predict every galaxy of a catalog with a finetuned model: one finetuned by a run, a checkpoint "
        "(this package's or Zoobot 2.x's), or a finetuned Zoobot model on the Hugging Face Hub.",
    )
    predict.add_argument(
        "--model",
        required=True,
        help="a run folder, its model/ folder, finetuned_model.zip, a .ckpt file, or a Hugging Face "
        "repo such as mwalmsley/zoobot-finetuned-is_tidal",
    )
    predict.add_argument("--catalog", required=True, help="catalog CSV or Parquet with id_str, file_loc")
    predict.add_argument(
        "--out",
        required=True,
        help="output file (.csv, .parquet or .hdf5), or a folder (FOLDER/) for Parquet shards: any catalog size",
    )
    predict.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"galaxies per batch (default: the machine's, {defaults.PREDICT_BATCH_SIZE} on a CPU, more on a GPU)",
    )
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
    _add_device_args(predict)
    _add_shard_args(predict)
    predict.set_defaults(func=_predict)

    _add_uncertainty_commands(commands)

    reps = commands.add_parser(
        "representations",
        help="one embedding per galaxy, optionally with UMAP coordinates",
        description="Compute an encoder's representation of every galaxy in a catalog.",
    )
    source = reps.add_mutually_exclusive_group()
    source.add_argument(
        "--encoder", default="demo", help="encoder: 'demo', hf_hub:owner/name, a folder or a timm name (default demo)"
    )
    source.add_argument("--model", help="use the encoder of a finetuned model instead (as for predict --model)")
    reps.add_argument("--catalog", required=True, help="catalog CSV or Parquet with id_str, file_loc")
    reps.add_argument(
        "--out", required=True, help="output file (.csv or .parquet), or a folder (FOLDER/) for Parquet shards"
    )
    reps.add_argument("--pca", type=int, default=None, help="reduce to this many PCA components")
    reps.add_argument("--umap", action="store_true", help="add 2-D UMAP coordinates umap_x, umap_y")
    reps.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"galaxies per batch (default: the machine's, {defaults.PREDICT_BATCH_SIZE} on a CPU, more on a GPU)",
    )
    reps.add_argument("--seed", type=int, default=defaults.SEED, help=f"UMAP random seed (default {defaults.SEED})")
    _add_device_args(reps)
    _add_shard_args(reps)
    reps.set_defaults(func=_representations)

    merge = commands.add_parser(
        "merge-shards",
        help="join a folder of prediction or representation shards into one file",
        description="Join the Parquet shards that predict/representations --out FOLDER/ wrote into one file, "
        "in catalog order, one shard in memory at a time; refused while a shard is missing.",
    )
    merge.add_argument("folder", help="the shard folder")
    merge.add_argument("--out", required=True, help="output file (.parquet or .csv)")
    merge.set_defaults(func=_merge_shards)

    survey = commands.add_parser(
        "make-survey",
        help="render a synthetic galaxy survey with simulated volunteer votes",
        description="Render synthetic galaxies with known morphology and Galaxy Zoo DECaLS DR5 "
        "volunteer votes; writes images and catalog.csv into --out.",
    )
    survey.add_argument("--n", type=int, default=1000, help="number of galaxies (default 1000)")
    survey.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    survey.add_argument("--out", required=True, help="output folder")
    survey.add_argument("--seed", type=int, default=0, help="random seed; same seed, same survey")
    survey.add_argument("--format", default="png", choices=["png", "jpg"], help="image format")
    survey.add_argument(
        "--overwrite", action="store_true", help="replace a survey already in --out (otherwise refused)"
    )
    survey.set_defaults(func=_make_survey)

    template = commands.add_parser(
        "template-catalog",
        help="write a small template catalog CSV to start your own from",
        description="Write a template catalog: five example galaxies with id_str, file_loc and one column of "
        "each kind of label (class numbers, class names, a number, volunteer vote counts), and print what "
        "each column means.",
    )
    template.add_argument(
        "--out", default="catalog_template.csv", help="the CSV to write (default catalog_template.csv)"
    )
    template.set_defaults(func=_template_catalog)

    pretrain = commands.add_parser(
        "pretrain",
        help="train an encoder from scratch on Galaxy Zoo vote counts",
        description="Train a timm architecture from scratch with a Dirichlet head over a Galaxy Zoo "
        "tree (as the demo encoder was). Writes checkpoints and the encoder folder into --out.",
    )
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
    pretrain.set_defaults(func=_pretrain)

    encoders = commands.add_parser("encoders", help="list the known pretrained encoders")
    encoders.set_defaults(func=_list_encoders)
    schemas = commands.add_parser("schemas", help="list the named Galaxy Zoo decision trees")
    schemas.set_defaults(func=_list_schemas)
    return parser


def _apply_machine_settings(args: argparse.Namespace) -> None:
    """Torch threads from the machine (:mod:`zoobot.machine`) or ``--threads``, for commands that compute."""
    if not hasattr(args, "threads"):
        return
    from zoobot.machine import choose_settings, machine_facts

    accelerator = "auto" if args.accelerator == "mps" else args.accelerator
    choose_settings(machine_facts(), accelerator=accelerator, devices=1, torch_threads=args.threads).apply_threads()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zoobot`` console script."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        _apply_machine_settings(args)
        return handler(args)
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped early: not an error
        sys.stderr.close()
        return 0
    except ValueError as err:  # every user-facing error of the library is a ValueError subclass
        print(f"zoobot {args.command}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
