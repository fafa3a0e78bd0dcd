"""Where a model comes from when it is not built here: the encoder inside any checkpoint (this package's or
Zoobot 2.x's, Zoobot's ``load_pretrained_zoobot``), the architecture arguments it was saved with, and finetuned
checkpoints on the Hugging Face Hub (Zoobot's ``download_from_name``; works offline from the local cache).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoobot.finetune.base import FinetuneableZoobotAbstract
from zoobot.finetune.checkpoints import EXTRAS_KEY, _detect_class, _known_classes, read_checkpoint
from zoobot.finetune.settings import FinetuneArgumentError

if TYPE_CHECKING:
    from torch import nn

    from zoobot.encoders import EncoderCard

__all__ = [
    "encoder_from_checkpoint",
    "checkpoint_model_args",
    "load_pretrained_zoobot",
    "download_from_name",
    "download_finetuned",
]


def encoder_from_checkpoint(path: str | Path) -> tuple[nn.Module, EncoderCard]:
    """The encoder of any checkpoint this package or Zoobot 2.x wrote, with its card (Zoobot's
    ``load_pretrained_zoobot``, for every task).

    Raises:
        zoobot.encoders.EncoderUnavailableError: the checkpoint holds no encoder of either.
    """
    from zoobot.encoders import EncoderUnavailableError
    from zoobot.finetune.encoder_source import build_encoder

    try:
        checkpoint = read_checkpoint(path)
    except FinetuneArgumentError as err:
        raise EncoderUnavailableError(str(err)) from err
    saved = (checkpoint.get(EXTRAS_KEY) or {}).get("hyper_parameters") or checkpoint.get("hyper_parameters") or {}
    if saved.get("encoder_card") is not None:
        encoder, card, _ = build_encoder({}, None, saved.get("timm_kwargs") or {}, saved["encoder_card"])
        encoder.load_state_dict(
            {k.removeprefix("encoder."): v for k, v in checkpoint["state_dict"].items() if k.startswith("encoder.")}
        )
        return encoder, card
    if _detect_class(checkpoint) is None:
        raise EncoderUnavailableError(
            f"{path} was not written by this package nor by Zoobot 2.x (it has no encoder card and no finetuning "
            "hyperparameters). Pass an encoder directory, a Hub name, or a checkpoint of this package or Zoobot."
        )
    model = FinetuneableZoobotAbstract.load_from_checkpoint(path, map_location="cpu")
    return model.encoder, model.card


def checkpoint_model_args(path: str | Path) -> dict[str, Any]:
    """The timm architecture arguments (``dims``, ``depths``, ...) of the encoder a checkpoint holds: this package's
    encoder card, or the ``timm_kwargs`` Zoobot 2.x saved (over a Hub encoder's ``config.json``). Empty for the
    architecture's defaults.

    So a model finetuned from ``checkpoint_loc=`` (e.g. a Zoobot 2.0 ``ZoobotTree`` with ``timm_kwargs``) saves the
    architecture it really has, and reloads.
    """
    from zoobot.finetune.encoder_source import MODEL_ARGS_KEY, source_model_args

    checkpoint = read_checkpoint(path)
    saved = (checkpoint.get(EXTRAS_KEY) or {}).get("hyper_parameters") or checkpoint.get("hyper_parameters") or {}
    card = saved.get("encoder_card")
    name = saved.get("name")
    if card is not None:
        base = dict(card.get(MODEL_ARGS_KEY) or {})
    elif isinstance(name, str) and name.startswith(("hf_hub:", "hf-hub:")):
        base = source_model_args(name)
    else:  # an architecture name (Zoobot 2.x from scratch): its defaults, changed only by timm_kwargs
        base = {}
    extra = {k: v for k, v in dict(saved.get("timm_kwargs") or {}).items() if k != "in_chans"}
    return {**base, **extra}


def load_pretrained_zoobot(checkpoint_loc: str | Path) -> nn.Module:
    """The encoder of a checkpoint (Zoobot's name): any task's, written by this package or by Zoobot 2.x."""
    return encoder_from_checkpoint(checkpoint_loc)[0]


def download_from_name(class_name: str, hub_name: str, local_files_only: bool = False) -> str:
    """The local path of ``<class_name>.ckpt`` from the Hub repo ``hub_name`` (downloaded, or from the cache).

    As in Zoobot: ``download_from_name('FinetuneableZoobotClassifier', 'mwalmsley/zoobot-finetuned-is_tidal')``.
    A leading ``hf_hub:`` is dropped. Works offline (``HF_HUB_OFFLINE=1``) when the file is in the cache;
    ``local_files_only`` looks in the cache only.
    """
    from huggingface_hub import hf_hub_download

    repo_id = hub_name.split(":", 1)[1] if hub_name.startswith(("hf_hub:", "hf-hub:")) else hub_name
    return hf_hub_download(repo_id=repo_id, filename=f"{class_name}.ckpt", local_files_only=local_files_only)


def download_finetuned(name: str, cls: type[FinetuneableZoobotAbstract] = FinetuneableZoobotAbstract) -> str:
    """The local path of the finetuned checkpoint a Hub repo holds (``<ClassName>.ckpt``).

    ``cls``'s own file is tried first, then every other finetuning class's, so the base class finds any task.
    Once the Hub cannot be reached (offline, or no network), the other files are looked for in the local
    cache only: each asked of an unreachable Hub cost about 25 s of retries (two minutes for a mistyped name).

    Raises:
        FinetuneArgumentError: the repo (or, offline, the local cache) holds none of them.
    """
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    names = [cls.__name__] + [c for c in _known_classes() if c not in (cls.__name__, "FinetuneableZoobotAbstract")]
    unreachable = False
    for class_name in names:
        try:
            return download_from_name(class_name, name, local_files_only=unreachable)
        except LocalEntryNotFoundError:  # not in the cache, and the Hub not reached (a subclass of the next)
            unreachable = True
        except EntryNotFoundError:  # the repo has no such file
            continue
        except RepositoryNotFoundError as err:
            raise FinetuneArgumentError(f"No Hugging Face repo called {name!r} ({err}). Check the name.") from err
    raise FinetuneArgumentError(
        f"The Hugging Face repo {name!r} holds no finetuned model ({', '.join(n + '.ckpt' for n in names[:4])}), or "
        "it is not in the local Hugging Face cache while offline. Check the name, or download it once with a network "
        "connection."
    )
