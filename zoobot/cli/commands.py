"""What each ``zoobot`` subcommand does: a handler per subcommand, taking the parsed arguments and returning the
exit status; each calls the library functions the app uses.

A handler's docstring is its subcommand's help (:func:`zoobot.cli.parser.build_parser` reads it): the first
line for ``zoobot --help``, the rest for ``zoobot COMMAND --help``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoobot.shards import is_shard_folder

EXIT_USER_ERROR = 2


def _finetune(args: argparse.Namespace) -> int:
    """run a finetuning job from a run config (as exported by the app)

    Finetune a pretrained encoder as described by a run config YAML file (the app writes one into each run
    folder). Writes checkpoints, metrics, test metrics, predictions for every catalog row and the finetuned
    model into the run folder.
    """
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
    """measure how far to trust a finished run's uncertainties, and correct them

    Fit a calibration correction on a finished run's validation galaxies and report it before and after on its
    test galaxies; writes the run's calibration.json (every run writes one with one pass).
    """
    from zoobot.runs import RunFolder
    from zoobot.uncertainty import calibrate_run, format_calibration

    report = calibrate_run(args.model, n_samples=args.n_samples, seed=args.seed, **_device_options(args))
    print(format_calibration(report))
    path = RunFolder(report["run_dir"]).calibration_path_for(args.n_samples)
    used = "predictions with one pass" if args.n_samples == 1 else f"predictions with --n-samples {args.n_samples}"
    print(f"Wrote {path}: its correction is applied to the run's {used}.")
    return 0


def _suggest(args: argparse.Namespace) -> int:
    """rank a catalog's unlabelled galaxies: which to label next

    Score every galaxy without a label by how much a label would teach the model (draws from a last-layer
    Laplace posterior or Monte Carlo dropout; random, predictive entropy or BALD) and write the top N, best
    first, with their predictions and why each was picked.
    """
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
        **_device_options(args),
        selection=args.selection,
        power=args.power,
        posterior=args.posterior,
    )
    _write_table(table, Path(args.out))
    drawn = f", {table['posterior'].iloc[0]} posterior" if args.strategy != "random" and len(table) else ""
    print(f"Wrote the {len(table)} galaxies to label next ({args.strategy}{drawn}) to {args.out}")
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


def _device_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--accelerator`` and ``--num-workers`` as the library's functions take them."""
    return {"accelerator": args.accelerator, "num_workers": args.num_workers}


def _devices(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _predict(args: argparse.Namespace) -> int:
    """predict a catalog with a finetuned model

    Predict every galaxy of a catalog with a finetuned model: one finetuned by a run, a checkpoint (this
    package's or Zoobot 2.x's), or a finetuned Zoobot model on the Hugging Face Hub.
    """
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
        **_device_options(args),
        **_predict_options(args),
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
    from zoobot.shards import predict_to_shards

    return _write_shards(args, predict_to_shards, lambda: load_finetuned_model(args.model), _predict_options(args))


def _write_shards(
    args: argparse.Namespace, write: Callable[..., Any], load_model: Callable[[], Any], options: dict[str, Any]
) -> int:
    """Start this node's processes (one per device), then let each write its share of the shards with ``write``
    (``predict_to_shards`` or ``representations_to_shards``) and the model ``load_model`` gives."""
    from zoobot.shards import launch_processes

    rank, world = launch_processes(args.accelerator, _count(args.devices), args.num_nodes)
    done = write(
        args.catalog,
        load_model(),
        args.out,
        shard_rows=args.shard_rows,
        rank=rank,
        world_size=world,
        batch_size=args.batch_size,
        **_device_options(args),
        **options,
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
    """join a folder of prediction or representation shards into one file

    Join the Parquet shards that predict/representations --out FOLDER/ wrote into one file, in catalog order,
    one shard in memory at a time; refused while a shard is missing.
    """
    from zoobot.shards import merge_shards

    path = merge_shards(args.folder, args.out)
    print(f"Merged the shards of {args.folder} into {path}")
    return 0


def _predict_options(args: argparse.Namespace) -> dict[str, Any]:
    """What ``predict`` passes on whether it writes one file or shards: the image size, the Monte Carlo
    passes, volunteers, and a run folder's calibration correction (issue #18)."""
    from zoobot.runs import RunFolder

    model_path = Path(args.model).expanduser()
    calibration = None
    if model_path.is_dir() and not args.no_calibration:  # fitted to as many passes, else the one-pass one
        run = RunFolder(model_path)
        calibration = run.read_calibration(args.n_samples) or run.read_calibration()
    return {
        "input_size": args.image_size,
        "n_samples": args.n_samples,
        "n_volunteers": args.n_volunteers,
        "calibration": calibration,
    }


def _representations(args: argparse.Namespace) -> int:
    """one embedding per galaxy, optionally with UMAP coordinates

    Compute an encoder's representation of every galaxy in a catalog.
    """
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
    from zoobot.shards import representations_to_shards

    if args.pca is not None or args.umap:
        raise ValueError(
            "--pca and --umap need every representation at once: write the shards, join them with "
            "zoobot merge-shards, then reduce the merged file (or a sample of it)."
        )
    return _write_shards(args, representations_to_shards, lambda: _encoder(args), {})


def _write_table(table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)


def _make_survey(args: argparse.Namespace) -> int:
    """render a synthetic galaxy survey with simulated volunteer votes

    Render synthetic galaxies with known morphology and Galaxy Zoo DECaLS DR5 volunteer votes; writes images
    and catalog.csv into --out.
    """
    from zoobot.survey import make_survey

    catalog = make_survey(
        n=args.n,
        size=args.size,
        out_dir=args.out,
        seed=args.seed,
        image_format=args.format,
        overwrite=args.overwrite,
        resume=args.resume,
    )
    print(f"Wrote {len(catalog)} galaxies and their catalog to {args.out}")
    return 0


def _template_catalog(args: argparse.Namespace) -> int:
    """write a small template catalog CSV to start your own from

    Write a template catalog: five example galaxies with id_str, file_loc and one column of each kind of label
    (class numbers, class names, a number, volunteer vote counts), and print what each column means.
    """
    from zoobot.catalog import describe_template_columns, write_template_catalog

    path = write_template_catalog(args.out)
    print(f"Wrote a template catalog to {path}. Its columns:")
    print(describe_template_columns())
    print("Keep id_str, file_loc and your task's label columns; read it with zoobot.catalog.read_catalog.")
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    """train an encoder from scratch on Galaxy Zoo vote counts

    Train a timm architecture from scratch with a Dirichlet head over a Galaxy Zoo tree (as the demo encoder
    was). Writes checkpoints and the encoder folder into --out.
    """
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
        devices=_devices(args.devices),
        seed=args.seed,
        learning_rate=args.learning_rate,
        **_device_options(args),
    )
    print(f"Encoder written to {Path(args.out) / 'encoder'}; load it with load_encoder('{Path(args.out) / 'encoder'}')")
    return 0


def _list_encoders(args: argparse.Namespace) -> int:
    """list the known pretrained encoders"""
    from zoobot.encoders import list_encoders

    for card in list_encoders():
        size = "x".join(str(s) for s in card.input_size[1:])
        print(f"{card.name:24s} {card.source:48s} {card.n_params / 1e6:6.1f}M params  {size} px")
    return 0


def _list_schemas(args: argparse.Namespace) -> int:
    """list the named Galaxy Zoo decision trees"""
    from zoobot.trees import describe_schema, list_schemas

    for name in list_schemas():
        print(f"{name:24s} {describe_schema(name)}")
    return 0
