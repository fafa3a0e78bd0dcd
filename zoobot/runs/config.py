"""One run, one YAML file: :class:`RunConfig`, the configuration shared by the app, the CLI and Python.

The app writes a :class:`RunConfig` into each run's folder; ``zoobot finetune --config RUN.yaml``
reads the same file and runs exactly the same job, on a laptop or a GPU cluster. Example::

    task: classification
    catalog: /data/my_catalog.csv
    label_cols: [ring]
    run_dir: runs/ring-finetune
    encoder: demo
    training_mode: head_only
    max_epochs: 10

Every default and allowed range comes from :mod:`zoobot.defaults`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from zoobot import defaults
from zoobot.tasks import TASKS, Task

TRAINING_MODES: tuple[str, ...] = ("head_only", "full")
PATH_SETTINGS = ("catalog", "run_dir")
"""Settings that are paths: in a config file, relative ones are relative to the file's folder."""
LOCAL_OR_HUB_SETTINGS = ("init_from",)
"""Settings that are a local path or a Hugging Face repo name: a path is written relative to the config
file's folder, as :data:`PATH_SETTINGS` are; a name that is not a local path is left as it is."""

logger = logging.getLogger(__name__)

# The numeric settings checked against zoobot.defaults, in the order their errors are reported.
_CHECKED = (
    "max_epochs",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "layer_decay",
    "patience",
    "train_fraction",
    "val_fraction",
    "test_fraction",
    "seed",
)
_MIN_IMAGE_SIZE = 16


class ConfigError(ValueError):
    """A run configuration that cannot be run; the message says what to change."""


@dataclass
class RunConfig:
    """Everything needed to re-run one finetuning job.

    Args:
        task: ``'classification'``, ``'regression'`` or ``'tree'`` (Galaxy Zoo vote counts).
        catalog: path to the catalog (CSV or Parquet) with ``id_str``, ``file_loc`` and labels.
            Relative ``file_loc`` are resolved against the catalog's folder.
        label_cols: the target column(s); for trees, every answer column of the schema (left out of a config
            file or dict: the schema's answers).
        run_dir: folder where the run writes its outputs.
        schema: tree tasks only: a named Galaxy Zoo tree (see ``zoobot.trees.list_schemas()``)
            or a schema dict (``Schema.to_dict()``).
        encoder: encoder source: a registry name (``'demo'``), ``hf_hub:owner/name``, a local
            encoder folder or checkpoint, or a timm architecture (random init).
        training_mode: ``'head_only'`` (fast: frozen encoder, features computed once) or
            ``'full'`` (finetune every layer, with layer-wise learning-rate decay).
        max_epochs: most epochs to train; training stops earlier when validation loss stalls.
        learning_rate: peak learning rate (of the head; encoder layers get less with layer decay);
            ``None`` (default) takes the training mode's default (1e-3 head only, 1e-4 full), which
            the run records in its ``config.yaml``.
        batch_size: galaxies per step.
        image_size: side in pixels the images are resized to; ``None`` uses the encoder's.
        weight_decay: AdamW weight decay.
        layer_decay: learning-rate factor per encoder block, counted down from the head.
        patience: epochs without validation improvement before early stopping.
        train_fraction: share of labelled rows used to train.
        val_fraction: share used to pick the best epoch.
        test_fraction: share held out for the test metrics.
        seed: seed for the split and the training.
        num_workers: data-loading processes (0 loads in the training process); ``None`` (default): the
            machine's choice (:mod:`zoobot.machine`).
        torch_threads: threads the encoder computes with on a CPU; ``None`` (default): the machine's.
        regression_loss: ``'mse'`` or ``'mae'`` (regression only).
        unit_interval: regression only: squash predictions into (0, 1) with a sigmoid, for fractions
            such as bulge-to-total; ``None`` (default) turns it on when every target lies in [0, 1].
        class_names: classification only: a name per class index (filled in from the data).
        init_from: warm start: a previous finetuned model to start from instead of the pretrained encoder
            alone: a run folder (the usual case: the last round of labelling), its ``model/`` folder,
            ``finetuned_model.zip`` or a ``.ckpt`` checkpoint. Encoder and head are loaded when the task
            and outputs match, the encoder only otherwise (:func:`zoobot.runs.warm_start`). ``None``
            (default): start from ``encoder``.
        normalisation: written by the run, a record rather than a setting: the ``mean`` and ``std`` the
            images were normalised with after scaling pixels to [0, 1], from the encoder's card
            (``{'mean': [0.0, 0.0, 0.0], 'std': [1.0, 1.0, 1.0]}``: none, as Zoobot feeds its encoders).
        machine: written by the run, a record rather than a setting: the machine settings it ran with
            (:class:`zoobot.machine.MachineSettings`: threads, workers, precision, devices, strategy, ...)
            and the machine's facts.
    """

    task: Task
    catalog: str
    label_cols: list[str]
    run_dir: str
    schema: str | dict | None = None
    encoder: str = "demo"
    training_mode: Literal["head_only", "full"] = defaults.RUN_TRAINING_MODE
    max_epochs: int = defaults.MAX_EPOCHS
    learning_rate: float | None = None
    batch_size: int = defaults.BATCH_SIZE
    image_size: int | None = None
    weight_decay: float = defaults.WEIGHT_DECAY
    layer_decay: float = defaults.LAYER_DECAY
    patience: int = defaults.PATIENCE
    train_fraction: float = defaults.TRAIN_FRACTION
    val_fraction: float = defaults.VAL_FRACTION
    test_fraction: float = defaults.TEST_FRACTION
    seed: int = defaults.SEED
    num_workers: int | None = None
    torch_threads: int | None = None
    regression_loss: Literal["mse", "mae"] = "mse"
    unit_interval: bool | None = None
    class_names: list[str] = field(default_factory=list)
    init_from: str | None = None
    normalisation: dict[str, list[float]] | None = None
    machine: dict[str, Any] | None = None

    @property
    def effective_learning_rate(self) -> float:
        """The learning rate the run trains at: ``learning_rate``, or the training mode's default."""
        if self.learning_rate is not None:
            return self.learning_rate
        return defaults.learning_rate_for(self.training_mode)

    def validate(self) -> None:
        """Check the values make sense together; raise :class:`ConfigError` if not."""
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}.")
        if self.training_mode not in TRAINING_MODES:
            raise ConfigError(f"training_mode must be 'head_only' or 'full', not {self.training_mode!r}.")
        if not self.label_cols:
            raise ConfigError("No target column chosen: set label_cols to the column(s) to learn.")
        if self.task == "tree" and self.schema is None:
            raise ConfigError(
                "A tree task needs a schema: a named Galaxy Zoo tree (e.g. 'decals_dr5') or a schema dict."
            )
        for name in _CHECKED:
            value = getattr(self, name)
            if name == "learning_rate" and value is None:
                continue  # the training mode's default
            _check_setting(name, value)
        if self.unit_interval not in (None, True, False):
            raise ConfigError(f"unit_interval must be true, false or left out (automatic), not {self.unit_interval!r}.")
        if self.image_size is not None:
            if isinstance(self.image_size, (int, float)) and self.image_size < _MIN_IMAGE_SIZE:
                raise ConfigError(f"image_size {self.image_size} is too small; use at least {_MIN_IMAGE_SIZE} px.")
            _check_setting("image_size", self.image_size)
        if self.init_from is not None:
            if not isinstance(self.init_from, str) or not self.init_from.strip():
                raise ConfigError(
                    f"init_from must be the path of a previous run folder or checkpoint, not {self.init_from!r}."
                )
            if Path(self.init_from).expanduser().resolve() == Path(self.run_dir).expanduser().resolve():
                raise ConfigError(
                    "init_from is this run's own folder; give the previous run's folder, or a new run_dir."
                )
        for name, least in (("num_workers", 0), ("torch_threads", 1)):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
                raise ConfigError(
                    f"{name} is {value!r}; it must be a whole number from {least} up, or left out for the machine's."
                )
        fractions = (self.train_fraction, self.val_fraction, self.test_fraction)
        if abs(sum(fractions) - 1.0) > 1e-6:
            raise ConfigError(f"train/val/test fractions add up to {sum(fractions):.3f}; they must add up to 1.")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the settings (what is written to YAML)."""
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | Path | None = None, relative_to: str | Path | None = None) -> str:
        """The config as YAML text; also written to ``path`` when given.

        Args:
            path: the file to write.
            relative_to: write ``catalog``, ``run_dir`` and a local ``init_from`` relative to this folder;
                default: the folder of ``path`` when one is given (:meth:`from_yaml` resolves them against
                the file's folder, so a run folder's ``config.yaml`` still runs from any folder, and after
                the folder moves to another machine with the files it names).
        """
        if relative_to is None and path is not None:
            relative_to = Path(path).parent
        values = self.to_dict()
        if relative_to is not None:
            base = Path(relative_to).resolve()
            local = [name for name in LOCAL_OR_HUB_SETTINGS if values.get(name) and _is_local(values[name])]
            for name in (*PATH_SETTINGS, *local):
                values[name] = Path(os.path.relpath(Path(values[name]).expanduser().resolve(), base)).as_posix()
        text = yaml.safe_dump(values, sort_keys=False)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Build from a dict, naming any unknown or missing setting in the error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Unknown setting(s) in the run config: {', '.join(unknown)}. "
                f"Known settings: {', '.join(sorted(known))}."
            )
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        if values.get("task") == "tree" and "label_cols" not in values and values.get("schema") is not None:
            values = {**values, "label_cols": list(resolve_schema(values["schema"]).label_cols)}  # every answer
        missing = [name for name in required if name not in values]
        if missing:
            raise ConfigError(f"The run config is missing: {', '.join(missing)}.")
        values = dict(values)
        if isinstance(values["label_cols"], str):
            values["label_cols"] = [values["label_cols"]]
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> RunConfig:
        """Read a config from a YAML file path, or from YAML text.

        In a file, a relative ``catalog``, ``run_dir`` or local ``init_from`` is relative to the file's
        folder (as a run folder's ``config.yaml`` writes them), so ``zoobot finetune --config
        runs/ring/config.yaml`` works from any folder and on any machine the run folder is copied to. A
        ``catalog`` or ``init_from`` found only relative to the working directory (configs written before
        this rule) is read from there, with a warning; an ``init_from`` found in neither place is a
        Hugging Face repo name. In YAML text, relative paths are relative to the working directory.
        """
        text = str(path_or_text)
        candidate = Path(text)
        base: Path | None = None
        if "\n" not in text and candidate.suffix in (".yaml", ".yml", ".json"):
            if not candidate.is_file():
                raise ConfigError(f"Run config file {text} does not exist.")
            text = candidate.read_text()
            base = candidate.parent
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"The run config is not valid YAML: {err}") from err
        if not isinstance(values, dict):
            raise ConfigError("The run config must be a YAML mapping of setting: value.")
        if base is not None:
            values = _resolve_paths(values, base)
        return cls.from_dict(values)


# Settings a config written before paths were relative to its folder may give relative to the working
# directory: where the config's folder has no such file, one found there is read from there, with a warning.
_WORKING_DIR_FALLBACK = {"catalog": Path.is_file, "init_from": Path.exists}


def _resolve_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """``values`` with relative path settings made relative to ``base`` (the config file's folder); a local-
    or-hub setting found in neither place stays as written (a Hugging Face repo name)."""
    values = dict(values)
    for name in (*PATH_SETTINGS, *LOCAL_OR_HUB_SETTINGS):
        value = values.get(name)
        if not isinstance(value, str) or not value or Path(value).expanduser().is_absolute():
            continue
        resolved = os.path.normpath(base / value)
        found_here = Path(resolved).exists()
        fallback = _WORKING_DIR_FALLBACK.get(name)
        if not found_here and fallback is not None and fallback(Path(value)):
            logger.warning(
                "%s %s is relative to the working directory, not to the config's folder %s; write it relative "
                "to the config file's folder (or absolute) so the config runs from anywhere.",
                name,
                value,
                base,
            )
        elif found_here or name in PATH_SETTINGS:
            values[name] = resolved
    return values


def _is_local(value: str) -> bool:
    """Whether a local-or-hub setting names a file or folder here (else it is a Hugging Face repo name)."""
    return Path(value).expanduser().exists()


def rerun_command(config_path: str | Path) -> str:
    """The headless command that re-runs a saved run (add ``--devices``/``--num-nodes`` on a cluster).

    The re-run writes into a new folder beside the original run, so the original stays intact.
    """
    config_path = Path(config_path)
    run_dir = config_path.parent
    return f"zoobot finetune --config {config_path} --run-dir {run_dir.parent / (run_dir.name + '-rerun')}"


def _check_setting(name: str, value: Any) -> None:
    """Raise :class:`ConfigError` naming the setting and its range unless ``zoobot.defaults`` allows ``value``."""
    setting = defaults.SETTINGS[name]
    try:
        setting.check(value)
    except defaults.SettingError:
        raise ConfigError(_refusal(setting, value)) from None


def _refusal(setting: defaults.Setting, value: Any) -> str:
    """Why ``value`` is refused for ``setting``, in words that name the setting and its range."""
    name, allowed = setting.name, setting.allowed
    hint = ""
    if name == "learning_rate":
        hint = (
            f"; try {_power(defaults.learning_rate_for('head_only'))} for head-only or "
            f"{_power(defaults.learning_rate_for('full'))} for full finetuning"
        )
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return f"{name} is {value!r}, not a number; it must be {allowed}{hint}."
    if value <= setting.low if setting.low_open else value < setting.low:
        must = f"{'above' if setting.low_open else 'at least'} {_plain(setting.low)}"
    elif value >= setting.high if setting.high_open else value > setting.high:
        must = f"{'below' if setting.high_open else 'at most'} {_plain(setting.high)}"
    else:
        return f"{name} {value} is not a whole number; it must be {allowed}{hint}."
    return f"{name} {value} is outside its range ({allowed}): {name} must be {must}{hint}."


def _plain(bound: float) -> str:
    """A bound as people write it: ``1000``, ``0.5``."""
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def _power(value: float) -> str:
    """A learning rate as people write it: ``1e-3``."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def resolve_schema(schema: str | dict | None) -> Any:
    """A Schema from a registry name or a schema dict."""
    from zoobot.schemas import Schema
    from zoobot.trees import get_schema

    if schema is None:
        raise ConfigError("A tree task needs a schema.")
    if isinstance(schema, str):
        return get_schema(schema)
    return Schema.from_dict(schema)
