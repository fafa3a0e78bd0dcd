"""A run's finetuned model on disk: :func:`export_model` writes it, :func:`load_run_model` reads it back.

The model is stored as safetensors weights beside the run's ``config.yaml``, so it loads without
pickle: the config rebuilds the model, then the weights fill it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zoobot.runs.config import ConfigError, RunConfig
from zoobot.runs.folder import RunFolder
from zoobot.runs.pipeline import build_model

if TYPE_CHECKING:
    import lightning as L


def export_model(model: L.LightningModule, config: RunConfig, directory: Path) -> Path:
    """Write the finetuned weights (safetensors) and the run config beside them.

    Args:
        model: the finetuned model.
        config: the run's config (what rebuilds the model).
        directory: where to write; a run writes into its ``model/`` folder.

    Returns:
        ``directory``.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / RunFolder.MODEL_WEIGHTS_FILE))
    config.to_yaml(directory / RunFolder.CONFIG_FILE)
    return directory


def load_run_model(path: str | Path) -> L.LightningModule:
    """Load a finetuned model exported by a run, without pickle.

    Args:
        path: the run folder, its ``model/`` folder, or the app's ``finetuned_model.zip`` download
            (read in memory; nothing is extracted).

    Raises:
        ConfigError: ``path`` holds no finetuned model, or its config does not read.
    """
    from safetensors.torch import load, load_file

    path = Path(path)
    weights_name, config_name = RunFolder.MODEL_WEIGHTS_FILE, RunFolder.CONFIG_FILE
    if path.suffix == ".zip" and path.is_file():
        import zipfile

        with zipfile.ZipFile(path) as archive:
            members = {Path(name).name: name for name in archive.namelist()}
            if not {weights_name, config_name} <= members.keys():
                raise ConfigError(f"{path} is not a finetuned model download: it needs "
                                  f"{weights_name} and {config_name}.")
            config = RunConfig.from_yaml(archive.read(members[config_name]).decode())
            state = load(archive.read(members[weights_name]))
    else:
        run = RunFolder(path)
        directory = run.model_dir if run.model_dir.is_dir() else path
        if not (directory / weights_name).is_file():
            raise ConfigError(
                f"No finetuned model found in {path}: give a run folder, its {RunFolder.MODEL_DIR}/ folder, or "
                "the app's finetuned_model.zip."
            )
        config = RunConfig.from_yaml(directory / config_name)
        state = load_file(str(directory / weights_name))
    model = build_model(config, len(config.class_names) or None)
    model.load_state_dict(state)
    model.eval()
    return model
