"""What each ``zoobot`` subcommand does: a handler per subcommand, taking the parsed arguments and returning the
exit status; each calls the library functions the app uses."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zoobot.shards import is_shard_folder

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
