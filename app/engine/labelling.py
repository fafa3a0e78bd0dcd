"""The engine's labelling loop (issue #18): which galaxies to label next, the labels given in the app, the
catalog with them added, and the next run started from the previous run's weights.

Everything lives in the session's ``labelling/`` folder: ``suggestions.csv`` (the ranked galaxies, from
:func:`zoobot.active_learning.suggest_galaxies`, computed as a job), ``labels.csv`` (the labels given so
far, one row per galaxy: ``id_str``, ``file_loc`` and the run's label columns) and one
``catalog_round_<k>.csv`` per :func:`add_labels` (the previous run's catalog with the new labels: a new
file, so nothing done before is lost; it also becomes the session's working catalog)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from app.engine.core import AppInputError, Engine
from app.engine.training import current_run, submit_training
from app.jobs import Job, JobContext
from app.run_notes import write_note
from zoobot import defaults
from zoobot.runs import RunConfig, RunFolder, copy_atomic, write_atomic

SUGGESTIONS_FILE = "suggestions.csv"
SUGGESTIONS_INFO_FILE = "suggestions.json"
LABELS_FILE = "labels.csv"
POOLS = ("run", "data")
"""Where the galaxies to rank come from: the rows without labels of the run's catalog, or of the catalog now
loaded on the Data tab."""
N_SAMPLES = defaults.SUGGEST_SAMPLES
"""Draws of the model per galaxy when ranking (Laplace posterior or Monte Carlo dropout)."""
DEFAULT_POSTERIOR = "default"
"""The library's choice of posterior for the strategy (:func:`zoobot.active_learning.default_posterior`)."""


def labelling_dir(engine: Engine, session_id: str) -> Path:
    """The session's ``labelling/`` folder (created if missing)."""
    path = engine.store.session_dir(session_id) / "labelling"
    path.mkdir(exist_ok=True)
    return path


def finished_run(engine: Engine, session_id: str) -> RunFolder:
    """The session's current run, if it has a finetuned model.

    Raises:
        AppInputError: No run, not the session's, or not finished.
    """
    folder = current_run(engine, session_id)
    if not folder.has_model():
        raise AppInputError(f"Run {folder.name} has no finetuned model yet: wait for it to finish, or open another.")
    return folder


def pool_catalog(engine: Engine, session_id: str, folder: RunFolder, pool: str) -> pd.DataFrame:
    """The catalog whose unlabelled rows are ranked: the run's own, or the session's working catalog."""
    from zoobot.runs import load_run_catalog

    if pool == "run":
        return load_run_catalog(folder.read_config())
    if pool == "data":
        return engine.catalog(session_id)
    raise AppInputError(f"Choose where the galaxies come from: one of {', '.join(POOLS)}.")


def submit_suggestions(
    engine: Engine,
    session_id: str,
    strategy: str,
    n: int,
    pool: str,
    posterior: str = DEFAULT_POSTERIOR,
    include_labelled: bool = False,
) -> Job:
    """Rank the pool's galaxies without labels by what a label would teach the run's model, as a job
    (``N_SAMPLES`` draws each, from ``posterior``: ``'laplace'``, ``'dropout'`` or ``'default'``, the
    library's choice for the strategy), and keep the top ``n`` in ``suggestions.csv``. With
    ``include_labelled`` the galaxies that already have labels are ranked too (to see the ranking on a
    catalog that is all labelled, such as the demo survey)."""
    from zoobot.active_learning import POSTERIORS, STRATEGIES, unlabelled_rows

    if strategy not in STRATEGIES:
        raise AppInputError(f"Choose a way to pick galaxies: one of {', '.join(STRATEGIES)}.")
    if posterior not in (DEFAULT_POSTERIOR, *POSTERIORS):
        raise AppInputError(
            f"Choose where the model's draws come from: one of {DEFAULT_POSTERIOR}, {', '.join(POSTERIORS)}."
        )
    if not isinstance(n, (int, float)) or not 1 <= n <= 200:
        raise AppInputError("Show between 1 and 200 galaxies.")
    folder = finished_run(engine, session_id)
    config = folder.read_config()
    catalog = pool_catalog(engine, session_id, folder, pool)
    if not include_labelled and not unlabelled_rows(catalog, config.label_cols).any():
        where = "the run's catalog" if pool == "run" else "the catalog loaded on the Data tab"
        raise AppInputError(
            f"Every galaxy in {where} already has a label for {', '.join(config.label_cols[:3])}: there is "
            "nothing to rank. Load a catalog of galaxies without labels on the Data tab and pick it here, "
            "or tick 'Rank labelled galaxies too' to see which of these the model would have asked about."
        )
    out = labelling_dir(engine, session_id)

    def job(ctx: JobContext) -> Path:
        from zoobot.active_learning import Posterior, suggest_galaxies
        from zoobot.uncertainty.acquisition import Strategy

        which = "galaxy" if include_labelled else "galaxy without labels"
        draws = N_SAMPLES if strategy != "random" else 2  # random: only the captions' mean predictions
        if strategy == "random":
            ctx.report(f"Predicting each {which}, then drawing {int(n)} at random")
        else:
            ctx.report(f"Drawing the model {draws} times for each {which}")
        table = suggest_galaxies(
            folder.path,
            catalog,
            n=int(n),
            strategy=cast(Strategy, strategy),  # checked above
            n_samples=draws,
            only_unlabelled=not include_labelled,
            posterior=None if posterior == DEFAULT_POSTERIOR else cast(Posterior, posterior),  # checked above
        )
        write_atomic(out / SUGGESTIONS_FILE, table.to_csv(index=False))
        info = {"run_dir": str(folder.path), "strategy": strategy, "pool": pool, "n_pool": int(len(catalog))}
        info["include_labelled"] = include_labelled
        info["posterior"] = table["posterior"].iloc[0] if strategy != "random" and len(table) else None
        write_atomic(out / SUGGESTIONS_INFO_FILE, json.dumps(info))
        return out / SUGGESTIONS_FILE

    return engine.manager.submit("suggest", session_id, job, lane="explore")


def suggestions(engine: Engine, session_id: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The last ranked galaxies and how they were picked (``run_dir``, ``strategy``, ``pool``), or None."""
    folder = labelling_dir(engine, session_id)
    path, info = folder / SUGGESTIONS_FILE, folder / SUGGESTIONS_INFO_FILE
    if not path.is_file() or not info.is_file():
        return None
    try:
        return pd.read_csv(path, dtype={"id_str": str}), json.loads(info.read_text())
    except (OSError, ValueError):
        return None


def answer_choices(config: RunConfig) -> list[tuple[str, str]]:
    """The one-click answers for the run's task: ``(label shown, value)``: a classifier's classes, or the
    first question's answers of a tree (one volunteer's vote). Empty for regression (type a number)."""
    from zoobot.prediction_table import default_class_columns

    if config.task == "classification":
        names = default_class_columns(len(config.class_names), config.label_cols[0], config.class_names)
        return [(str(name), str(k)) for k, name in enumerate(names)]
    if config.task == "tree":
        return [(a.short_text, a.text) for a in first_question(config).answers]
    return []


def first_question(config: RunConfig) -> Any:
    """A tree run's first question (:class:`zoobot.schemas.Question`): the one a click answers."""
    from zoobot.runs import resolve_schema

    return resolve_schema(config.schema).questions[0]


def read_labels(engine: Engine, session_id: str) -> pd.DataFrame:
    """The labels given so far (``id_str``, ``file_loc`` and label columns); empty before the first."""
    path = labelling_dir(engine, session_id) / LABELS_FILE
    if not path.is_file():
        return pd.DataFrame({"id_str": pd.Series(dtype=str), "file_loc": pd.Series(dtype=str)})
    return pd.read_csv(path, dtype={"id_str": str})


def _write_labels(engine: Engine, session_id: str, labels: pd.DataFrame) -> None:
    write_atomic(labelling_dir(engine, session_id) / LABELS_FILE, labels.to_csv(index=False))


def _label_row(config: RunConfig, answer: Any) -> dict[str, float]:
    """One galaxy's label columns for a clicked answer (or a typed number, for regression)."""
    if config.task == "classification":
        return {config.label_cols[0]: float(int(answer))}
    if config.task == "regression":
        if not isinstance(answer, (int, float)) or not np.isfinite(answer):
            raise AppInputError(f"Type a number for {config.label_cols[0]}.")
        return {config.label_cols[0]: float(answer)}
    if answer not in config.label_cols:
        raise AppInputError(f"'{answer}' is not an answer of this tree; click one of the answer buttons.")
    return {col: float(col == answer) for col in config.label_cols}  # one vote; other questions not asked


def give_label(engine: Engine, session_id: str, id_str: str, file_loc: str, answer: Any) -> pd.DataFrame:
    """Keep one galaxy's label (a second answer replaces the first); returns every label given so far."""
    config = finished_run(engine, session_id).read_config()
    if config.task == "classification" and str(answer) not in {v for _, v in answer_choices(config)}:
        raise AppInputError("Click one of the class buttons.")
    row = {"id_str": str(id_str), "file_loc": str(file_loc), **_label_row(config, answer)}
    labels = read_labels(engine, session_id)
    labels = pd.concat([labels[labels["id_str"] != str(id_str)], pd.DataFrame([row])], ignore_index=True)
    _write_labels(engine, session_id, labels)
    return labels


def upload_labels(engine: Engine, session_id: str, path: str) -> pd.DataFrame:
    """Add labels from a CSV with ``id_str`` and the run's label column(s) (a classifier's classes by name or
    number). Galaxies must be among the suggested ones or in the pool catalogs; returns every label so far."""
    from zoobot.catalog import read_catalog

    config = finished_run(engine, session_id).read_config()
    try:
        table = read_catalog(path)
    except (OSError, ValueError) as err:
        raise AppInputError(f"Could not read the labels file: {err}") from err
    missing = [c for c in ("id_str", *config.label_cols) if c not in table.columns]
    if missing:
        raise AppInputError(
            f"The labels file needs the columns id_str and {', '.join(config.label_cols)}; it lacks "
            f"{', '.join(missing[:5])}."
        )
    table = table[["id_str", *config.label_cols]].dropna(subset=config.label_cols, how="all").copy()
    table["id_str"] = table["id_str"].astype(str)
    if config.task == "classification":
        number = {name: value for name, value in answer_choices(config)}
        column = config.label_cols[0]
        values = table[column].map(lambda v: number.get(str(v), _whole(v)))
        unknown = sorted({v for v in values if v not in number.values()})
        if unknown:
            raise AppInputError(
                f"Unknown class(es) {', '.join(unknown[:5])}: use {', '.join(number)} (or their numbers)."
            )
        table[column] = values.astype(int).astype(float)
    known = _known_galaxies(engine, session_id, config)
    table = table.merge(known, on="id_str", how="left")
    if table["file_loc"].isna().any():
        lost = table.loc[table["file_loc"].isna(), "id_str"].head(3).tolist()
        raise AppInputError(
            f"{int(table['file_loc'].isna().sum())} galaxies of the labels file are in no catalog here "
            f"(e.g. {', '.join(lost)}); label galaxies of the run's catalog or the one on the Data tab."
        )
    labels = read_labels(engine, session_id)
    labels = pd.concat([labels[~labels["id_str"].isin(table["id_str"])], table], ignore_index=True)
    _write_labels(engine, session_id, labels)
    return labels


def _whole(value: Any) -> str:
    """A class number as text (``1.0`` -> ``'1'``), anything else as written."""
    if isinstance(value, (int, float, np.number)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _known_galaxies(engine: Engine, session_id: str, config: RunConfig) -> pd.DataFrame:
    """``id_str`` and ``file_loc`` of every galaxy of the run's catalog and the working catalog."""
    from zoobot.runs import load_run_catalog

    parts = [load_run_catalog(config)[["id_str", "file_loc"]]]
    with contextlib.suppress(AppInputError):  # no working catalog: the run's is enough
        parts.append(engine.catalog(session_id)[["id_str", "file_loc"]])
    known = pd.concat(parts, ignore_index=True).astype({"id_str": str, "file_loc": str})
    return known.drop_duplicates("id_str")


def add_labels(engine: Engine, session_id: str) -> Path:
    """The run's catalog with the labels given here (rows it has updated, new galaxies added), saved as a new
    ``catalog_round_<k>.csv`` and made the session's working catalog; the labels given are then cleared.
    A tree's votes are added to the votes a galaxy already has (one click is one more volunteer); a
    classifier's or regressor's label replaces the one it had."""
    from zoobot.runs import load_run_catalog

    folder = finished_run(engine, session_id)
    config = folder.read_config()
    labels = read_labels(engine, session_id)
    if labels.empty:
        raise AppInputError("No labels given yet: click an answer under a suggested galaxy, or upload labels.")
    missing = [c for c in config.label_cols if c not in labels.columns]
    if missing:
        raise AppInputError(
            "The labels given are for another task; start again with this run's galaxies (or open the run "
            "they were given for)."
        )
    catalog, again = merge_labels(load_run_catalog(config), labels, config.label_cols, config.task)
    out = labelling_dir(engine, session_id)
    k = 1 + sum(1 for _ in out.glob("catalog_round_*.csv"))
    path = write_atomic(out / f"catalog_round_{k}.csv", catalog.to_csv(index=False))
    engine.replace_catalog(session_id, catalog)
    given = f"{len(labels) - again} new label{'s' if len(labels) - again != 1 else ''}"
    if again:
        given += f", {again} with votes added" if config.task == "tree" else f", {again} labelled again"
    engine.store.update_state(session_id, catalog_name=f"catalog round {k} ({given})")
    (out / LABELS_FILE).unlink()
    return path


def merge_labels(
    catalog: pd.DataFrame, labels: pd.DataFrame, label_cols: list[str], task: str
) -> tuple[pd.DataFrame, int]:
    """``catalog`` with ``labels`` (``id_str``, ``file_loc``, the label columns) in it, and how many of its
    galaxies already had a label. A tree's votes are added to the votes a galaxy has (a click is one more
    volunteer, and the votes it had stay); a class or a number replaces the one it had. Galaxies the catalog
    lacks are added as rows."""
    catalog = catalog.copy()
    catalog["id_str"] = catalog["id_str"].astype(str)
    indexed = labels.set_index("id_str")
    present = catalog["id_str"].isin(indexed.index)
    known_cols = [c for c in label_cols if c in catalog]
    again = int(catalog.loc[present, known_cols].notna().any(axis=1).sum()) if known_cols else 0
    for col in label_cols:
        if col not in catalog:
            catalog[col] = np.nan
        given = catalog.loc[present, "id_str"].map(indexed[col]).to_numpy(dtype=np.float64)
        if task == "tree":
            before = catalog.loc[present, col].to_numpy(dtype=np.float64)
            given = np.where(np.isnan(given), before, np.where(np.isnan(before), given, before + given))
        catalog.loc[present, col] = given
    new_rows = labels[~labels["id_str"].isin(catalog["id_str"])][["id_str", "file_loc", *label_cols]]
    catalog = pd.concat([catalog, new_rows], ignore_index=True)
    if task == "classification":  # classes stay whole numbers (written 1, not 1.0) once none is missing
        for col in label_cols:
            values = catalog[col]
            if pd.api.types.is_float_dtype(values) and values.notna().all() and (values % 1 == 0).all():
                catalog[col] = values.astype("int64")
    return catalog, again


def start_next_round(engine: Engine, session_id: str, continue_from_previous: bool = True) -> Job:
    """Train the next round: the previous run's settings on the session's working catalog (with the labels
    added), starting from the previous run's weights (``RunConfig.init_from``), or, with
    ``continue_from_previous=False``, from the pretrained encoder with a fresh head (on the synthetic
    survey, a fresh head every round needed fewer labels: ``benchmarks/active_learning.py``)."""
    from zoobot.catalog import validate_catalog
    from zoobot.runs import resolve_schema

    previous = finished_run(engine, session_id)
    running = engine.manager.latest(session_id, "train")
    if running is not None and running.active:
        raise AppInputError("You already have a run queued or training; wait for it to finish, or stop it.")
    catalog_path = engine.state(session_id).catalog_path
    if not catalog_path or not Path(catalog_path).is_file():
        raise AppInputError("Add your labels to the catalog first.")
    config = previous.read_config()
    schema = resolve_schema(config.schema) if config.task == "tree" else None
    report = validate_catalog(
        engine.catalog(session_id),
        label_cols=config.label_cols,
        task=config.task,
        schema=schema,
        check_images=False,
        raise_on_error=False,
    )
    if not report.ok:
        raise AppInputError("The catalog's labels have problems: " + " ".join(p.message for p in report.errors))
    folder = RunFolder(engine.store.new_run_dir(session_id, config.task))
    copy_atomic(catalog_path, folder.catalog_path)
    values = {**config.to_dict(), "catalog": str(folder.catalog_path), "run_dir": str(folder.path)}
    values.update(init_from=str(previous.path) if continue_from_previous else None, normalisation=None)
    nxt = RunConfig.from_dict(values)
    folder.write_config(nxt)
    # The Runs table names the catalog as the Data tab does ("catalog round 1 (...)"), not the run's copy.
    write_note(folder.path, catalog_name=engine.state(session_id).catalog_name)
    return submit_training(engine, session_id, nxt)
