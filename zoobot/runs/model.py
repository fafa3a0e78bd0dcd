"""A run's finetuned model on disk: :func:`export_model` writes it, :func:`load_run_model` reads it back;
:func:`load_finetuned_model` loads any finetuned model a user may hold.

A run's model is stored as safetensors weights beside the run's ``config.yaml``, so it loads without
pickle: the config rebuilds the model, then the weights fill it. :func:`load_finetuned_model` also reads
Lightning checkpoints (this package's and Zoobot 2.x's) and finetuned models on the Hugging Face Hub, for the
command line's and the app's prediction.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from zoobot.runs.config import ConfigError, RunConfig
from zoobot.runs.folder import RunFolder
from zoobot.runs.pipeline import build_model

if TYPE_CHECKING:
    import lightning as L

# A Hugging Face repo name: owner/name (letters, digits, '-', '_', '.').
_HUB_NAME = re.compile(r"^(hf[_-]hub:)?[A-Za-z0-9][\w.-]*/[\w.-]+$")


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
                raise ConfigError(
                    f"{path} is not a finetuned model download: it needs {weights_name} and {config_name}."
                )
            config = RunConfig.from_yaml(archive.read(members[config_name]).decode())
            state = load(archive.read(members[weights_name]))
    else:
        run = RunFolder(path)
        directory = run.model_dir if run.model_dir.is_dir() else path
        if not (directory / weights_name).is_file():
            raise ConfigError(_no_model_here(run))
        config = RunConfig.from_yaml(directory / config_name)
        state = load_file(str(directory / weights_name))
    from zoobot.finetune.checkpoints import translate_state_dict

    model = build_model(config, len(config.class_names) or None)
    model.load_state_dict(translate_state_dict(model, state))
    model.eval()
    return model


def _no_model_here(run: RunFolder) -> str:
    """Why a folder has no finetuned model, in words: a run still training or one that failed says so."""
    progress = run.read_progress()
    checkpoints = sorted(run.path.glob("checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)
    latest = f" or its latest checkpoint, {checkpoints[-1].relative_to(run.path.parent)}," if checkpoints else ""
    status = progress.get("status")
    if status == "running":
        epoch = f" (epoch {progress['epoch']} of {progress['max_epochs']})" if progress.get("max_epochs") else ""
        return (
            f"Run {run.path} has not finished{epoch}: its finetuned model is written when it ends (a run that "
            f"was killed never writes it). Wait for it,{latest} or give another run."
        )
    if status == "failed":
        why = f": {str(progress['error']).rstrip('. ')}" if progress.get("error") else ""
        return f"Run {run.path} failed without a finetuned model{why}. Start it again, or give another run."
    return (
        f"No finetuned model found in {run.path}: give a run folder, its {RunFolder.MODEL_DIR}/ folder, or "
        "the app's finetuned_model.zip."
    )


def load_finetuned_model(source: str | Path) -> L.LightningModule:
    """Any finetuned model, in eval mode on the CPU, for predicting: the one loader for the CLI and the app.

    Args:
        source: a run folder, its ``model/`` folder, the app's ``finetuned_model.zip`` download, a ``.ckpt``
            checkpoint (written by this package or by Zoobot 2.0 / 2.9), or a Hugging Face repo holding a finetuned
            Zoobot model (``<ClassName>.ckpt``), e.g. ``'mwalmsley/zoobot-finetuned-is_tidal'`` or
            ``'hf_hub:owner/name'`` (from the local cache when offline).

    Raises:
        ConfigError: ``source`` is none of these.
        zoobot.finetune.FinetuneArgumentError: a checkpoint or Hub repo that holds no finetuned model (or an unsafe
            checkpoint).
    """
    from zoobot.finetune import FinetuneArgumentError, download_finetuned, load_finetuned

    path = Path(source).expanduser()
    if path.is_dir() or path.suffix == ".zip":
        return load_run_model(path)
    if path.is_file():
        return load_finetuned(path)
    if _HUB_NAME.match(str(source)):
        try:
            return load_finetuned(download_finetuned(str(source)))
        except FinetuneArgumentError as err:  # a mistyped local path reads as a Hub name too: say both
            raise FinetuneArgumentError(f"There is no file or folder {source} here ({Path.cwd()}). {err}") from err
    raise ConfigError(
        f"No finetuned model found at {source}: give a run folder, its {RunFolder.MODEL_DIR}/ folder, the app's "
        "finetuned_model.zip, a .ckpt checkpoint (this package's or Zoobot 2.x's), or a Hugging Face repo such as "
        "mwalmsley/zoobot-finetuned-is_tidal."
    )
